import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import {
  EvalTrace,
  ScoreEvidence,
  SCORE_PHASES,
  countCorrect,
  deriveKey,
  encodeCheckpoint,
  evalRootOf,
  modelLayout,
  scoreMove,
  type ScoreGameView,
  type ScoreSource,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import {
  ForgedInference,
  INFERENCE_PHASES,
  InferenceStates,
  inferenceMove,
  type InferenceGameView,
  type InferenceSource,
} from "../../sdk/src/compute/state/inference-game.js";
import { commit } from "../../sdk/src/compute/merkle.js";
import { Status, type Connection } from "../poai/helpers/world.js";
import { attempt } from "../staking/helpers/revert.js";
import { syntheticDataset, v2Spec, SEED } from "../engine/datasets.js";
import { JobState, deployJobsWorld, type JobsWorld } from "../jobs/helpers/jobs-world.js";

/**
 * ScoreGame on the in-process chain (docs/disputes.md, "Score games"): a job run's reported
 * held-out accuracy disputed by bisection over the held-out examples down to one example, whose
 * committed prediction and label are proven on chain and whose output scores an inference game
 * decides. Both parties are played by the SDK's `scoreMove` (and `inferenceMove` inside); the
 * honest side wins whoever lies, the loser's bond goes to the winner, a disproven run's trainer is
 * slashed and the run does not count for its job, and the JobRegistry settles only once a run's
 * window has passed with no game pending.
 *
 * Dataset: 64 training and 48 held-out synthetic examples of 8 features and 4 classes, in chunks of
 * 16 (so example proofs cross chunks); the model 8-8-4 with fixed pseudo-random weights: its
 * accuracy is what it is (about a quarter), and the trainer reports it or lies.
 */
const DATA = syntheticDataset(64, 48, 8, 4, 11, 16);
const SPEC: TrainingSpec = v2Spec(DATA, {
  hidden: [8],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 48,
});
const KEY = deriveKey(SPEC, SEED);
const WEIGHTS = (() => {
  let state = 12345;
  const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Int16Array.from(
    { length: modelLayout(SPEC).parameterCount },
    () => Math.floor(rand() * 4000) - 2000,
  );
})();
const CHECKPOINT = encodeCheckpoint(SPEC, { step: SPEC.steps, weights: WEIGHTS });
const TRUE = new EvalTrace(SPEC, KEY, WEIGHTS, DATA);
const HONEST = new ScoreEvidence(TRUE, DATA.eval);
const L = SPEC.widths.length - 1;
const WIDTHS = SPEC.widths;
const statesOf = (e: number) => new InferenceStates(WIDTHS, CHECKPOINT, HONEST.inference(e).input);
const argmax = (y: Uint8Array) => {
  let best = 0;
  for (let c = 1; c < y.length; c++) if ((y[c] << 24) >> 24 > (y[best] << 24) >> 24) best = c;
  return best;
};

/** Forgeries of one activation bit that make a wrong example's output scores pick its label. */
function forgeriesToLabel(): Map<number, ForgedInference> {
  const out = new Map<number, ForgedInference>();
  for (let e = 0; e < SPEC.evalSize; e++) {
    if (HONEST.predictions[e] === HONEST.labels[e]) continue;
    const honest = statesOf(e);
    search: for (let slot = L + 1; slot >= 2; slot--)
      for (let byte = 0; byte < WIDTHS[slot - 1]; byte++)
        for (let bit = 0; bit < 8; bit++) {
          const f = new ForgedInference(honest, { slot, byte, bit, cut: 0, delta: 0n });
          if (argmax(new Uint8Array(f.y.buffer)) === HONEST.labels[e]) {
            out.set(e, f);
            break search;
          }
        }
  }
  return out;
}
const FORGEABLE = forgeriesToLabel();

/** A trainer that commits the label as its prediction for `forged` examples, with forged scores. */
function forger(forged: number[]): { source: ScoreSource; inference: (e: number) => InferenceSource } {
  const map = new Map(forged.map((e) => [e, HONEST.labels[e]]));
  const trace = new (class extends EvalTrace {
    protected override predict(e: number, best: number): number {
      return map.get(e) ?? best;
    }
  })(SPEC, KEY, WEIGHTS, DATA);
  const ev = new ScoreEvidence(trace, DATA.eval);
  const source: ScoreSource = {
    predictions: ev.predictions,
    labels: ev.labels,
    predictionsRoot: ev.predictionsRoot,
    examplesRoot: ev.examplesRoot,
    predictionProof: (e) => ev.predictionProof(e),
    exampleProof: (e) => ev.exampleProof(e),
    inference: (e) => {
      const f = map.has(e) ? FORGEABLE.get(e) : undefined;
      const honest = ev.inference(e);
      return f ? { input: honest.input, output: new Uint8Array(f.y.buffer) } : honest;
    },
  };
  return { source, inference: (e) => (map.has(e) ? FORGEABLE.get(e)! : statesOf(e)) };
}

/** A source whose predictions (and so counts) are `predictions`, its proofs the honest ones. */
function countingAs(predictions: Int32Array): ScoreSource {
  return {
    predictions,
    labels: HONEST.labels,
    predictionsRoot: HONEST.predictionsRoot,
    examplesRoot: HONEST.examplesRoot,
    predictionProof: (e) => HONEST.predictionProof(e),
    exampleProof: (e) => HONEST.exampleProof(e),
    inference: (e) => HONEST.inference(e),
  };
}

/** The predictions with `examples` turned into correct ones (or, `wrong`, into wrong ones). */
function flipped(examples: number[], wrong = false): Int32Array {
  const p = Int32Array.from(HONEST.predictions);
  for (const e of examples) p[e] = wrong ? (HONEST.labels[e] + 1) % 4 : HONEST.labels[e];
  return p;
}
const bps = (correct: number) => Math.floor((correct * 10_000) / SPEC.evalSize);
const wrongExamples = () =>
  [...Array(SPEC.evalSize).keys()].filter((e) => HONEST.predictions[e] !== HONEST.labels[e]);
const rightExamples = () =>
  [...Array(SPEC.evalSize).keys()].filter((e) => HONEST.predictions[e] === HONEST.labels[e]);

describe("ScoreGame: one honest party disputes a job run's reported accuracy", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
    expect(statesOf(0).tensors.roots[0]).to.equal(TRUE.parameterRoot);
    expect(FORGEABLE.size).to.be.greaterThan(2);
  });

  /** A job over SPEC claimed by one trainer, whose run round has begun. */
  async function fixture() {
    const w = await deployJobsWorld(conn, { scoreGame: {} });
    // room for a second attempt after the first run's window
    const claimRound = ((await w.latest()) - w.genesis) / w.epochLength + 1n;
    const deadline = (await w.jobs.read.judgedBy([claimRound])) + 6n * w.epochLength;
    const { jobId } = await w.post({ trainers: 1, minAccuracyBps: 1000, deadline }, w.owner, { spec: SPEC });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const job = await w.jobs.read.getJob([jobId]);
    const trainer = w.trainers.find((t) => t.address === job.assigned[0])!;
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    return { ...w, jobId, trainer, runRound, id: w.id(trainer, runRound) };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;
  type Actor = W["trainer"];

  const abiOf = (w: W) => [
    ...w.scoreGame!.abi,
    ...w.scoreInference!.abi,
    ...w.jobs.abi,
    ...w.challenges.abi,
    ...w.staking.abi,
  ];
  const outcome = async (w: W, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : [o.error, o.args];
  };
  const gameAs = (w: W, who: Actor) =>
    conn.viem.getContractAt("ScoreGame", w.scoreGame!.address, { client: { wallet: who.wallet } });
  const innerAs = (w: W, who: Actor) =>
    conn.viem.getContractAt("InferenceDisputeGame", w.scoreInference!.address, {
      client: { wallet: who.wallet },
    });

  /** The trainer submits a run whose final checkpoint is WEIGHTS, reporting `reported`; the committee
   *  judges it Valid (median `median`). With `sampling`, the final leaf commits `evalRoot`. */
  async function submitAndJudge(w: W, reported: number, evalRoot?: Hex, median = reported) {
    const hashes = [0, 1].map((i) => keccak256(toHex(`checkpoint ${i}`)));
    const run = {
      checkpointHashes: [...hashes, keccak256(CHECKPOINT)],
      parameterRoots: [keccak256(toHex("root 0")), keccak256(toHex("root 1")), TRUE.parameterRoot],
      ...(evalRoot && { stepRoots: [keccak256(toHex("step 0")), keccak256(toHex("step 1")), evalRoot] }),
    };
    const tree = commit(run);
    await w.trainer.cm.write.submitResult([w.runRound, tree.root, reported]);
    await w.beaconReveal(w.runRound + 1n, w.validators);
    await w.judge(w.runRound, [[w.id, w.valid(median)]]);
    expect((await w.challenges.read.getChallenge([w.id])).status).to.equal(Status.Valid);
    return {
      weightsHash: keccak256(CHECKPOINT),
      parameterRoot: TRUE.parameterRoot,
      evalRoot: evalRoot ?? (`0x${"00".repeat(32)}` as Hex),
      proof: tree.proof(2),
    };
  }

  async function open(w: W, challenger: Actor, final: Awaited<ReturnType<typeof submitAndJudge>>) {
    await (await gameAs(w, challenger)).write.open([w.id, final]);
    return w.scoreGame!.read.gameCount();
  }

  async function viewOf(w: W, id: bigint): Promise<ScoreGameView & { mover: Address; inferenceId: bigint }> {
    const g = await w.scoreGame!.read.gameOf([id]);
    const proven = await w.scoreGame!.getEvents.ExampleProven({ id }, { fromBlock: 0n });
    return {
      id,
      phase: SCORE_PHASES[g.phase],
      lo: g.lo,
      hi: g.hi,
      count: g.count,
      left: g.left,
      evalSize: g.evalSize,
      prediction: g.prediction,
      output: proven.at(-1)?.args.output,
      mover: await w.scoreGame!.read.moverOf([id]),
      inferenceId: g.inferenceId,
    };
  }

  type Party = { who: Actor; source: ScoreSource; inference: (e: number) => InferenceSource };
  /**
   * Plays game `id` until it resolves or a party has no move (it stays silent: the other claims
   * `timeout` once the deadline passes). A move the contract refuses counts as silence.
   */
  async function play(w: W, id: bigint, trainer: Party, challenger: Party) {
    const refused: string[] = [];
    for (let moves = 0; moves < 200; moves++) {
      const v = await viewOf(w, id);
      if (v.phase === "Resolved") break;
      if (v.phase === "Inference") {
        await playInner(w, v.inferenceId, v.lo, trainer, challenger);
        continue;
      }
      const party = v.mover.toLowerCase() === trainer.who.address.toLowerCase() ? trainer : challenger;
      const move = scoreMove(v, party.source);
      const sent = move
        ? await attempt(
            (
              (await gameAs(w, party.who)).write[move.functionName] as (a: readonly unknown[]) => Promise<Hex>
            )(move.args),
            abiOf(w),
          )
        : { ok: false as const, error: "silent" };
      if (sent.ok) continue;
      refused.push(`${move?.functionName ?? "none"}: ${sent.error}`);
      await conn.networkHelpers.time.increase(Number(w.scoreArgs!.moveTimeout) + 1);
      const other = party === trainer ? challenger : trainer;
      await (await gameAs(w, other.who)).write.timeout([id]);
    }
    const g = await w.scoreGame!.read.gameOf([id]);
    return { winner: g.winner.toLowerCase(), refused };
  }

  async function playInner(w: W, id: bigint, example: number, trainer: Party, challenger: Party) {
    let roots: Hex[] | undefined;
    let leaf: Hex | undefined;
    for (let moves = 0; moves < 80; moves++) {
      const mover = await w.scoreInference!.read.moverOf([id]);
      if (mover === zeroAddress) return;
      const g = await w.scoreInference!.read.gameOf([id]);
      const view: InferenceGameView = {
        id,
        phase: INFERENCE_PHASES[g.phase],
        slot: g.slot,
        height: g.height,
        node: g.node,
        offset: g.offset,
        cLo: g.cLo,
        cHi: g.cHi,
        left: g.left,
        right: g.right,
        accLo: g.accLo,
        accHi: g.accHi,
        pending: g.pending,
        roots,
        leaf,
      };
      const party = mover.toLowerCase() === trainer.who.address.toLowerCase() ? trainer : challenger;
      let sent: { ok: boolean } = { ok: false };
      try {
        const move = inferenceMove(view, party.inference(example));
        if (move.functionName === "postState") roots = move.args[1];
        if (move.functionName === "revealLeaf") leaf = move.args[1];
        sent = await attempt(
          ((await innerAs(w, party.who)).write[move.functionName] as (a: readonly unknown[]) => Promise<Hex>)(
            move.args,
          ),
          abiOf(w),
        );
      } catch {
        // no move this party can make (its source agrees with what it would dispute): silence
      }
      if (sent.ok) continue;
      await conn.networkHelpers.time.increase(Number(w.scoreArgs!.moveTimeout) + 1);
      const other = party === trainer ? challenger : trainer;
      await (await innerAs(w, other.who)).write.timeout([id]);
      return;
    }
    throw new Error("the inference game did not end");
  }

  const settle = async (w: W) =>
    outcome(
      w,
      w.jobsOf(w.bystander).then((j) => j.write.settle([w.jobId])),
    );
  const pastWindow = async (w: W) => {
    await w.to((await w.scoreGame!.read.openUntil([w.id])) + 1n);
  };
  const honestParty = (who: Actor): Party => ({ who, source: HONEST, inference: statesOf });

  it("convicts a trainer whose committed predictions are not its model's: bisection to one example, the inference game refutes its scores, the trainer is slashed and the run does not count", async () => {
    const w = await load();
    const lies = [...FORGEABLE.keys()].slice(0, 3);
    const f = forger(lies);
    const reported = bps(countCorrect(f.source, 0, SPEC.evalSize));
    expect(reported).to.be.greaterThan(TRUE.accuracyBps);
    const evalRoot = evalRootOf(f.source.predictionsRoot, f.source.examplesRoot);
    const final = await submitAndJudge(w, reported, evalRoot, reported);
    // The job waits for the window: its only run's accuracy may still be disputed.
    const until = await w.scoreGame!.read.openUntil([w.id]);
    expect(await settle(w)).to.deep.equal(["ScoreUnderDispute", [w.jobId, w.id, until]]);

    const [honestValidator, colluder] = w.validators;
    // A colluding challenger opens first and abandons its game: the trainer wins it, which protects
    // nothing (games on one run are independent).
    const thrown = await open(w, colluder, final);
    const t = { who: w.trainer, ...f };
    const asTrainer = await gameAs(w, w.trainer);
    for (const phase of ["Count", "Split"] as const) {
      const v = await viewOf(w, thrown);
      expect(v.phase).to.equal(phase);
      const move = scoreMove(v, f.source)!;
      await (asTrainer.write[move.functionName] as (a: readonly unknown[]) => Promise<Hex>)(move.args);
    }
    expect(await w.scoreGame!.read.standing([w.id])).to.deep.equal([1, false]);
    await conn.networkHelpers.time.increase(Number(w.scoreArgs!.moveTimeout) + 1);
    await asTrainer.write.timeout([thrown]);
    expect((await w.scoreGame!.read.gameOf([thrown])).winner).to.equal(w.trainer.address);
    expect(await w.scoreGame!.read.standing([w.id])).to.deep.equal([0, false]);

    const stake = (await w.staking.read.getPool([w.trainer.address])).tokens;
    const before = await w.token.read.balanceOf([honestValidator.address]);
    const id = await open(w, honestValidator, final);
    // while the game runs the job cannot settle, even past the window
    const { winner, refused } = await play(w, id, t, honestParty(honestValidator));
    expect(refused).to.deep.equal([]);
    expect(winner).to.equal(honestValidator.address.toLowerCase());
    const g = await w.scoreGame!.read.gameOf([id]);
    expect(lies).to.include(g.lo);
    expect(g.inferenceId).to.not.equal(0n);
    expect((await w.scoreInference!.read.gameOf([g.inferenceId])).winner).to.equal(honestValidator.address);
    expect(await w.scoreGame!.read.standing([w.id])).to.deep.equal([0, true]);
    // both games' bonds: the challenger's back with the trainer's, in each game
    // (with the finder's fee of the trainer's slash on top)
    expect(
      (await w.token.read.balanceOf([honestValidator.address])) >=
        before + w.scoreArgs!.bond + w.scoreArgs!.inferenceBond,
    ).to.equal(true);
    expect((await w.staking.read.getPool([w.trainer.address])).tokens < stake).to.equal(true);
    // The disproven run does not count: the job is re-assigned (its deadline allows another attempt).
    await pastWindow(w);
    expect(await settle(w)).to.equal("ok");
    const job = await w.jobs.read.getJob([w.jobId]);
    expect(job.state).to.equal(JobState.Open);
    expect(job.attempt).to.equal(2);
  });

  it("convicts a trainer whose count is not what its own committed predictions give: it cannot prove the one example the bisection reaches", async () => {
    const w = await load();
    // honest predictions committed (a run audited by segment replay: no evaluation root in the
    // final leaf, the trainer posts its predictions root with its count), but two more counted
    const inflated = countingAs(flipped(wrongExamples().slice(0, 2)));
    const reported = bps(countCorrect(inflated, 0, SPEC.evalSize));
    const final = await submitAndJudge(w, reported, undefined, TRUE.accuracyBps);
    const [v] = w.validators;
    const id = await open(w, v, final);
    const { winner, refused } = await play(
      w,
      id,
      { who: w.trainer, source: inflated, inference: statesOf },
      honestParty(v),
    );
    expect(winner).to.equal(v.address.toLowerCase());
    expect(refused).to.have.length(1);
    expect(refused[0]).to.match(/^proveExample: CountNotProven/);
    expect((await w.scoreGame!.read.standing([w.id]))[1]).to.equal(true);
    const g = await w.scoreGame!.read.gameOf([id]);
    expect(g.inferenceId).to.equal(0n);
  });

  it("lets an honest trainer win against a challenger whose evaluation is wrong, and completes the job with the reported accuracy once the window has passed", async () => {
    const w = await load();
    const reported = TRUE.accuracyBps;
    // the committee's median understates the run: with a score game the reported accuracy counts
    const final = await submitAndJudge(w, reported, TRUE.root, 500);
    const [, , liar] = w.validators;
    // the liar believes two right examples wrong, and disputes the prediction it reaches
    const wrongBelief = flipped(rightExamples().slice(0, 2), true);
    const liarParty: Party = {
      who: liar,
      source: countingAs(wrongBelief),
      inference: (e) => new ForgedInference(statesOf(e), { slot: L + 1, byte: 0, bit: 0, cut: 0, delta: 0n }),
    };
    const stake = (await w.staking.read.getPool([w.trainer.address])).tokens;
    const trainerBefore = await w.token.read.balanceOf([w.trainer.address]);
    const id = await open(w, liar, final);
    const { winner } = await play(w, id, honestParty(w.trainer), liarParty);
    expect(winner).to.equal(w.trainer.address.toLowerCase());
    const g = await w.scoreGame!.read.gameOf([id]);
    expect(g.inferenceId).to.not.equal(0n);
    expect((await w.scoreInference!.read.gameOf([g.inferenceId])).winner).to.equal(w.trainer.address);
    expect(await w.scoreGame!.read.standing([w.id])).to.deep.equal([0, false]);
    expect((await w.staking.read.getPool([w.trainer.address])).tokens).to.equal(stake);
    expect(await w.token.read.balanceOf([w.trainer.address])).to.equal(
      trainerBefore + w.scoreArgs!.bond + w.scoreArgs!.inferenceBond,
    );
    const until = await w.scoreGame!.read.openUntil([w.id]);
    expect(await settle(w)).to.deep.equal(["ScoreUnderDispute", [w.jobId, w.id, until]]);
    await pastWindow(w);
    expect(await outcome(w, (await gameAs(w, liar)).write.open([w.id, final]))).to.deep.equal([
      "WindowClosed",
      [w.id, until],
    ]);
    expect(await settle(w)).to.equal("ok");
    const job = await w.jobs.read.getJob([w.jobId]);
    expect(job.state).to.equal(JobState.Completed);
    expect(job.winnerScoreBps).to.equal(reported);
  });

  it("refuses games no one can decide and moves out of turn, naming the value", async () => {
    const w = await load();
    const final = await submitAndJudge(w, TRUE.accuracyBps, TRUE.root);
    const [v, other] = w.validators;
    const as = await gameAs(w, v);
    expect(await outcome(w, (await gameAs(w, w.trainer)).write.open([w.id, final]))).to.deep.equal([
      "NotDisputable",
      [w.id, "the trainer's own run"],
    ]);
    expect(
      await outcome(w, as.write.open([w.id, { ...final, evalRoot: HONEST.predictionsRoot }])),
    ).to.deep.equal(["FinalLeafNotProven", [w.id, 2n]]);
    const stranger = w.id.replace(/.$/, "f") as Hex;
    expect(await outcome(w, as.write.open([stranger, final]))).to.deep.equal([
      "NotDisputable",
      [stranger, "not a judged job run"],
    ]);
    const id = await open(w, v, final);
    const t = await gameAs(w, w.trainer);
    expect(
      await outcome(
        w,
        (await gameAs(w, other)).write.postCount([id, 1, HONEST.predictionsRoot, HONEST.examplesRoot]),
      ),
    ).to.deep.equal(["NotYourMove", [other.address, w.trainer.address]]);
    // a count other than the reported accuracy's, and predictions other than the committed ones
    expect(
      await outcome(
        w,
        t.write.postCount([id, TRUE.correct + 1, HONEST.predictionsRoot, HONEST.examplesRoot]),
      ),
    ).to.deep.equal(["CountNotReported", [id, BigInt(TRUE.correct + 1), BigInt(TRUE.accuracyBps)]]);
    expect(
      await outcome(w, t.write.postCount([id, TRUE.correct, keccak256(toHex("other")), HONEST.examplesRoot])),
    ).to.deep.equal(["EvalRootMismatch", [id]]);
    expect(
      await outcome(w, t.write.postCount([id, TRUE.correct, HONEST.predictionsRoot, HONEST.examplesRoot])),
    ).to.equal("ok");
    // a split that does not fit the range
    expect(await outcome(w, t.write.split([id, SPEC.evalSize]))).to.deep.equal([
      "BadSplit",
      [id, BigInt(SPEC.evalSize)],
    ]);
    // the deadline: nobody claims it early, the party to move loses after it
    expect((await outcome(w, as.write.timeout([id])))[0]).to.equal("DeadlineNotPassed");
    await conn.networkHelpers.time.increase(Number(w.scoreArgs!.moveTimeout) + 1);
    expect(await outcome(w, t.write.split([id, 0]))).to.deep.equal([
      "DeadlinePassed",
      [id, (await w.scoreGame!.read.gameOf([id])).deadline],
    ]);
    await as.write.timeout([id]);
    expect((await w.scoreGame!.read.gameOf([id])).winner).to.equal(v.address);
    expect((await outcome(w, as.write.timeout([id])))[0]).to.equal("WrongPhase");
  });

  it("property: the honest side wins whatever the trainer forges or the challenger believes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([...FORGEABLE.keys()], { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.subarray(wrongExamples(), { minLength: 1, maxLength: 3 }),
        async (lies, trainerLies, beliefs) => {
          const w = await load();
          const [v] = w.validators;
          if (trainerLies) {
            const f = forger(lies);
            const reported = bps(countCorrect(f.source, 0, SPEC.evalSize));
            const final = await submitAndJudge(w, reported);
            const id = await open(w, v, final);
            const { winner } = await play(w, id, { who: w.trainer, ...f }, honestParty(v));
            expect(winner).to.equal(v.address.toLowerCase());
          } else {
            const final = await submitAndJudge(w, TRUE.accuracyBps);
            const id = await open(w, v, final);
            const belief = countingAs(flipped(beliefs));
            const { winner } = await play(w, id, honestParty(w.trainer), {
              who: v,
              source: belief,
              inference: (e) =>
                new ForgedInference(statesOf(e), { slot: 2, byte: 1, bit: 3, cut: 0, delta: 0n }),
            });
            expect(winner).to.equal(w.trainer.address.toLowerCase());
          }
        },
      ),
      { numRuns: 4, seed: 17 },
    );
  });
});
