/**
 * Score games on the in-process chain (docs/disputes.md, "Score games"), shared by
 * `test/disputes/score-game.test.ts` and `bench/disputes-score.ts`: a synthetic engine version 2
 * dataset and a model of fixed pseudo-random weights ({@link scoreModel}); the parties' sources (the
 * honest evaluation, a trainer that forges predictions with output scores to match, a source that
 * counts other predictions than it proves); and a jobs world with a score game ({@link scoreWorld}) in
 * which one trainer's job run is submitted, judged Valid and disputed, both parties played by the
 * SDK's `scoreMove` and `inferenceMove`, every move's gas recorded.
 */
import { zeroAddress, keccak256, toHex, type Address, type Hex } from "viem";
import {
  EvalTrace,
  ScoreEvidence,
  SCORE_PHASES,
  countingOther,
  deriveKey,
  encodeCheckpoint,
  evalRootOf,
  modelLayout,
  scoreMove,
  type DatasetData,
  type ScoreGameView,
  type ScoreSource,
  type TrainingSpec,
} from "../../../sdk/src/compute/index.js";
import {
  ForgedInference,
  InferenceStates,
  inferenceGameView,
  inferenceMove,
  type InferenceSource,
} from "../../../sdk/src/compute/state/inference-game.js";
import { commit } from "../../../sdk/src/compute/merkle.js";
import { Status, type Connection } from "../../poai/helpers/world.js";
import { attempt } from "../../staking/helpers/revert.js";
import { SEED, syntheticDataset, v2Spec } from "../../engine/datasets.js";
import { deployJobsWorld } from "../../jobs/helpers/jobs-world.js";

/** The shape of a score-game model and its held-out set. */
export interface ScoreShape {
  features: number;
  hidden: number[];
  classes: number;
  evalSize: number;
  /** Examples per dataset chunk (example proofs cross chunks when it is below `evalSize`). */
  chunkExamples?: number;
}

/** A model of fixed pseudo-random weights over a synthetic dataset, its honest evaluation and forgeries. */
export function scoreModel(shape: ScoreShape) {
  const data: DatasetData = syntheticDataset(
    64,
    shape.evalSize,
    shape.features,
    shape.classes,
    11,
    shape.chunkExamples,
  );
  const spec: TrainingSpec = v2Spec(data, {
    hidden: shape.hidden,
    batchSize: 4,
    steps: 20,
    checkpointInterval: 10,
    lrShift: 4,
    evalSize: shape.evalSize,
  });
  const key = deriveKey(spec, SEED);
  let state = 12345;
  const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const weights = Int16Array.from(
    { length: modelLayout(spec).parameterCount },
    () => Math.floor(rand() * 4000) - 2000,
  );
  const checkpoint = encodeCheckpoint(spec, { step: spec.steps, weights });
  const trace = new EvalTrace(spec, key, weights, data);
  const honest = new ScoreEvidence(trace, data.eval);
  const widths = spec.widths;
  const L = widths.length - 1;
  const statesOf = (e: number) => new InferenceStates(widths, checkpoint, honest.inference(e).input);
  const argmax = (y: Uint8Array) => {
    let best = 0;
    for (let c = 1; c < y.length; c++) if ((y[c] << 24) >> 24 > (y[best] << 24) >> 24) best = c;
    return best;
  };
  const forgeries = new Map<number, ForgedInference>();
  /** A forgery of one activation bit that makes wrong example `e`'s output scores pick its label. */
  const forgeryOf = (e: number): ForgedInference | undefined => {
    if (forgeries.has(e)) return forgeries.get(e);
    const states = statesOf(e);
    for (let slot = L + 1; slot >= 2; slot--)
      for (let byte = 0; byte < widths[slot - 1]; byte++)
        for (let bit = 0; bit < 8; bit++) {
          const f = new ForgedInference(states, { slot, byte, bit, cut: 0, delta: 0n });
          if (argmax(new Uint8Array(f.y.buffer)) === honest.labels[e]) {
            forgeries.set(e, f);
            return f;
          }
        }
    return undefined;
  };
  const examples = [...Array(shape.evalSize).keys()];
  /** Wrong examples (the model's prediction is not the label) a one-bit forgery turns right. */
  const forgeable = (count: number) => {
    const out: number[] = [];
    for (const e of examples) {
      if (out.length === count) break;
      if (honest.predictions[e] !== honest.labels[e] && forgeryOf(e)) out.push(e);
    }
    return out;
  };
  /** A trainer that commits the label as its prediction for `forged`, with forged output scores. */
  const forger = (forged: number[]): Pick<Party, "source" | "inference"> => {
    const map = new Map(forged.map((e) => [e, honest.labels[e]]));
    const lying = new (class extends EvalTrace {
      protected override predict(e: number, best: number): number {
        return map.get(e) ?? best;
      }
    })(spec, key, weights, data);
    const ev = new ScoreEvidence(lying, data.eval);
    const source: ScoreSource = {
      predictions: ev.predictions,
      labels: ev.labels,
      predictionsRoot: ev.predictionsRoot,
      examplesRoot: ev.examplesRoot,
      predictionProof: (e) => ev.predictionProof(e),
      exampleProof: (e) => ev.exampleProof(e),
      inference: (e) => {
        const f = map.has(e) ? forgeryOf(e) : undefined;
        const own = ev.inference(e);
        return f ? { input: own.input, output: new Uint8Array(f.y.buffer) } : own;
      },
    };
    return { source, inference: (e) => (map.has(e) ? forgeryOf(e)! : statesOf(e)) };
  };
  /** A source that counts `predictions` but proves (and commits) the honest ones. */
  const countingAs = (predictions: Int32Array): ScoreSource => countingOther(honest, predictions);
  /** The honest predictions with `changed` examples made right (or, with `wrong`, wrong). */
  const flipped = (changed: number[], wrong = false): Int32Array => {
    const p = Int32Array.from(honest.predictions);
    for (const e of changed) p[e] = wrong ? (honest.labels[e] + 1) % shape.classes : honest.labels[e];
    return p;
  };
  return {
    data,
    spec,
    key,
    weights,
    checkpoint,
    trace,
    honest,
    statesOf,
    forgeable,
    forger,
    countingAs,
    flipped,
    wrongExamples: () => examples.filter((e) => honest.predictions[e] !== honest.labels[e]),
    rightExamples: () => examples.filter((e) => honest.predictions[e] === honest.labels[e]),
    bps: (correct: number) => Math.floor((correct * 10_000) / shape.evalSize),
  };
}

export type ScoreModel = ReturnType<typeof scoreModel>;

type JobsWorld = Awaited<ReturnType<typeof deployJobsWorld>>;
type Actor = JobsWorld["trainers"][number];

/** One side of a game: who plays it, its evaluation and its forward pass of each example. */
export interface Party {
  who: Actor;
  source: ScoreSource;
  inference: (e: number) => InferenceSource;
}

/** A played move: the game, the function and its gas. */
export interface PlayedMove {
  game: "score" | "inference";
  functionName: string;
  by: "trainer" | "challenger";
  gas: bigint;
}

/**
 * A jobs world with a score game, a job over `model.spec` claimed by one trainer whose run round
 * has begun (deadline room for a second attempt), and the steps of a dispute.
 */
export async function scoreWorld(conn: Connection, model: ScoreModel) {
  const w = await deployJobsWorld(conn, { scoreGame: {} });
  const claimRound = ((await w.latest()) - w.genesis) / w.epochLength + 1n;
  const deadline = (await w.jobs.read.judgedBy([claimRound])) + 6n * w.epochLength;
  const { jobId } = await w.post({ trainers: 1, minAccuracyBps: 1000, deadline }, w.owner, {
    spec: model.spec,
  });
  await w.to(w.start(claimRound));
  await w.claimAll(jobId, w.trainers);
  const job = await w.jobs.read.getJob([jobId]);
  const trainer = w.trainers.find((t) => t.address === job.assigned[0])!;
  const runRound = claimRound + 1n;
  await w.to(w.start(runRound));
  await w.beaconCommit(runRound + 1n, w.validators);
  const id = w.id(trainer, runRound);
  const scoreGame = w.scoreGame!;
  const inner = w.scoreInference!;
  const moveTimeout = Number(w.scoreArgs!.moveTimeout);
  const abi = [...scoreGame.abi, ...inner.abi, ...w.jobs.abi, ...w.challenges.abi, ...w.staking.abi];
  const outcome = async (p: Promise<unknown>) => {
    const o = await attempt(p, abi);
    return o.ok ? "ok" : [o.error, o.args];
  };
  const gameAs = (who: Actor) =>
    conn.viem.getContractAt("ScoreGame", scoreGame.address, { client: { wallet: who.wallet } });
  const innerAs = (who: Actor) =>
    conn.viem.getContractAt("InferenceDisputeGame", inner.address, { client: { wallet: who.wallet } });
  const gasOf = async (hash: Hex) =>
    (await conn.viem.getPublicClient()).waitForTransactionReceipt({ hash }).then((r) => r.gasUsed);

  /** The trainer submits a run whose final checkpoint is the model's, reporting `reported`; the
   *  committee judges it Valid (median `median`). With `evalRoot`, the final leaf commits it. */
  async function submitAndJudge(reported: number, evalRoot?: Hex, median = reported) {
    const run = {
      checkpointHashes: [
        keccak256(toHex("checkpoint 0")),
        keccak256(toHex("checkpoint 1")),
        keccak256(model.checkpoint),
      ],
      parameterRoots: [keccak256(toHex("root 0")), keccak256(toHex("root 1")), model.trace.parameterRoot],
      ...(evalRoot && { stepRoots: [keccak256(toHex("step 0")), keccak256(toHex("step 1")), evalRoot] }),
    };
    const tree = commit(run);
    await trainer.cm.write.submitResult([runRound, tree.root, reported]);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [[id, w.valid(median)]]);
    if ((await w.challenges.read.getChallenge([id])).status !== Status.Valid)
      throw new Error("the run was not judged Valid");
    return {
      weightsHash: keccak256(model.checkpoint),
      parameterRoot: model.trace.parameterRoot,
      evalRoot: evalRoot ?? (`0x${"00".repeat(32)}` as Hex),
      proof: tree.proof(2),
    };
  }
  type Final = Awaited<ReturnType<typeof submitAndJudge>>;

  /** `challenger` opens a game on the run; returns its id and the opening's gas. */
  async function open(challenger: Actor, final: Final) {
    const gas = await gasOf(await (await gameAs(challenger)).write.open([id, final]));
    return { gameId: await scoreGame.read.gameCount(), gas };
  }

  async function viewOf(gameId: bigint): Promise<ScoreGameView & { mover: Address; inferenceId: bigint }> {
    const g = await scoreGame.read.gameOf([gameId]);
    const proven = await scoreGame.getEvents.ExampleProven({ id: gameId }, { fromBlock: 0n });
    return {
      id: gameId,
      phase: SCORE_PHASES[g.phase],
      lo: g.lo,
      hi: g.hi,
      count: g.count,
      left: g.left,
      evalSize: g.evalSize,
      prediction: g.prediction,
      output: proven.at(-1)?.args.output,
      mover: await scoreGame.read.moverOf([gameId]),
      inferenceId: g.inferenceId,
    };
  }

  const send = async (
    contract: Awaited<ReturnType<typeof gameAs>> | Awaited<ReturnType<typeof innerAs>>,
    functionName: string,
    args: readonly unknown[],
  ) => {
    const fn = (contract.write as unknown as Record<string, (a: readonly unknown[]) => Promise<Hex>>)[
      functionName
    ];
    const sent = await attempt(fn(args), abi);
    return sent.ok
      ? { ok: true as const, gas: await gasOf(sent.hash!) }
      : { ok: false as const, error: sent.error };
  };

  /**
   * Plays game `gameId` until it resolves. A party with no move, or whose move the contract
   * refuses, stays silent: the other claims `timeout` once the deadline has passed.
   */
  async function play(gameId: bigint, trainerParty: Party, challenger: Party) {
    const refused: string[] = [];
    const moves: PlayedMove[] = [];
    const by = (p: Party) => (p === trainerParty ? ("trainer" as const) : ("challenger" as const));
    for (let n = 0; n < 200; n++) {
      const v = await viewOf(gameId);
      if (v.phase === "Resolved") break;
      if (v.phase === "Inference") {
        await playInner(v.inferenceId, v.lo, trainerParty, challenger, moves);
        continue;
      }
      const party =
        v.mover.toLowerCase() === trainerParty.who.address.toLowerCase() ? trainerParty : challenger;
      const move = scoreMove(v, party.source);
      const sent = move
        ? await send(await gameAs(party.who), move.functionName, move.args)
        : { ok: false as const, error: "silent" };
      if (sent.ok) {
        moves.push({ game: "score", functionName: move!.functionName, by: by(party), gas: sent.gas });
        continue;
      }
      refused.push(`${move?.functionName ?? "none"}: ${sent.error}`);
      await conn.networkHelpers.time.increase(moveTimeout + 1);
      const other = party === trainerParty ? challenger : trainerParty;
      const t = await send(await gameAs(other.who), "timeout", [gameId]);
      if (t.ok) moves.push({ game: "score", functionName: "timeout", by: by(other), gas: t.gas });
    }
    const g = await scoreGame.read.gameOf([gameId]);
    return { winner: g.winner.toLowerCase(), refused, moves, inferenceId: g.inferenceId, example: g.lo };
  }

  async function playInner(
    gameId: bigint,
    example: number,
    trainerParty: Party,
    challenger: Party,
    moves: PlayedMove[],
  ) {
    let roots: Hex[] | undefined;
    let leaf: Hex | undefined;
    const by = (p: Party) => (p === trainerParty ? ("trainer" as const) : ("challenger" as const));
    for (let n = 0; n < 80; n++) {
      const mover = await inner.read.moverOf([gameId]);
      if (mover === zeroAddress) return;
      const view = inferenceGameView(gameId, await inner.read.gameOf([gameId]), { roots, leaf });
      const party =
        mover.toLowerCase() === trainerParty.who.address.toLowerCase() ? trainerParty : challenger;
      let sent: { ok: boolean; gas?: bigint } = { ok: false };
      let name = "";
      try {
        const move = inferenceMove(view, party.inference(example));
        name = move.functionName;
        if (move.functionName === "postState") roots = move.args[1];
        if (move.functionName === "revealLeaf") leaf = move.args[1];
        sent = await send(await innerAs(party.who), move.functionName, move.args);
      } catch {
        // no move this party can make (its source agrees with what it would dispute): silence
      }
      if (sent.ok) {
        moves.push({ game: "inference", functionName: name, by: by(party), gas: sent.gas! });
        continue;
      }
      await conn.networkHelpers.time.increase(moveTimeout + 1);
      const other = party === trainerParty ? challenger : trainerParty;
      const t = await send(await innerAs(other.who), "timeout", [gameId]);
      if (t.ok) moves.push({ game: "inference", functionName: "timeout", by: by(other), gas: t.gas });
      return;
    }
    throw new Error("the inference game did not end");
  }

  const honestParty = (who: Actor): Party => ({ who, source: model.honest, inference: model.statesOf });
  const settle = async () => outcome(w.jobsOf(w.bystander).then((j) => j.write.settle([jobId])));
  const pastWindow = async () => {
    await w.to((await scoreGame.read.openUntil([id])) + 1n);
  };

  return {
    ...w,
    jobId,
    trainer,
    runRound,
    id,
    scoreGame,
    inner,
    moveTimeout,
    outcome,
    gameAs,
    innerAs,
    submitAndJudge,
    open,
    viewOf,
    play,
    honestParty,
    settle,
    pastWindow,
    evalRootOf,
  };
}

export type ScoreWorld = Awaited<ReturnType<typeof scoreWorld>>;
