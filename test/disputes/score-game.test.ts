import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { keccak256, toHex } from "viem";
import { ForgedInference } from "../../sdk/src/compute/state/inference-game.js";
import { countCorrect } from "../../sdk/src/compute/index.js";
import type { Connection } from "../poai/helpers/world.js";
import { JobState } from "../jobs/helpers/jobs-world.js";
import { scoreModel, scoreWorld, type Party } from "./helpers/score-world.js";

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
const M = scoreModel({ features: 8, hidden: [8], classes: 4, evalSize: 48, chunkExamples: 16 });
const L = M.spec.widths.length - 1;

describe("ScoreGame: one honest party disputes a job run's reported accuracy", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
    expect(M.statesOf(0).tensors.roots[0]).to.equal(M.trace.parameterRoot);
    expect(M.forgeable(3)).to.have.length(3);
  });
  const fixture = async () => scoreWorld(conn, M);
  const load = () => conn.networkHelpers.loadFixture(fixture);

  it("convicts a trainer whose committed predictions are not its model's: bisection to one example, the inference game refutes its scores, the trainer is slashed and the run does not count", async () => {
    const w = await load();
    const lies = M.forgeable(3);
    const f = M.forger(lies);
    const reported = M.bps(countCorrect(f.source, 0, M.spec.evalSize));
    expect(reported).to.be.greaterThan(M.trace.accuracyBps);
    const final = await w.submitAndJudge(
      reported,
      w.evalRootOf(f.source.predictionsRoot, f.source.examplesRoot),
    );
    // The job waits for the window: its only run's accuracy may still be disputed.
    const until = await w.scoreGame.read.openUntil([w.id]);
    expect(await w.settle()).to.deep.equal(["ScoreUnderDispute", [w.jobId, w.id, until]]);

    const [honestValidator, colluder] = w.validators;
    const t: Party = { who: w.trainer, ...f };
    // A colluding challenger opens first and abandons its game: the trainer wins it, which protects
    // nothing (games on one run are independent).
    const thrown = (await w.open(colluder, final)).gameId;
    const asTrainer = await w.gameAs(w.trainer);
    await asTrainer.write.postCount([
      thrown,
      countCorrect(f.source, 0, M.spec.evalSize),
      f.source.predictionsRoot,
      f.source.examplesRoot,
    ]);
    expect(await w.scoreGame.read.standing([w.id])).to.deep.equal([1, false]);
    await asTrainer.write.split([thrown, countCorrect(f.source, 0, 24)]);
    await conn.networkHelpers.time.increase(w.moveTimeout + 1);
    await asTrainer.write.timeout([thrown]);
    expect((await w.scoreGame.read.gameOf([thrown])).winner).to.equal(w.trainer.address);
    expect(await w.scoreGame.read.standing([w.id])).to.deep.equal([0, false]);

    const stake = (await w.staking.read.getPool([w.trainer.address])).tokens;
    const before = await w.token.read.balanceOf([honestValidator.address]);
    const { gameId } = await w.open(honestValidator, final);
    const { winner, refused, moves, inferenceId, example } = await w.play(
      gameId,
      t,
      w.honestParty(honestValidator),
    );
    expect(refused).to.deep.equal([]);
    expect(winner).to.equal(honestValidator.address.toLowerCase());
    expect(lies).to.include(example);
    expect(moves.filter((m) => m.game === "inference").length).to.be.greaterThan(2);
    expect((await w.inner.read.gameOf([inferenceId])).winner).to.equal(honestValidator.address);
    expect(await w.scoreGame.read.standing([w.id])).to.deep.equal([0, true]);
    // both games' bonds (with the finder's fee of the trainer's slash on top)
    const after = await w.token.read.balanceOf([honestValidator.address]);
    expect(after >= before + w.scoreArgs!.bond + w.scoreArgs!.inferenceBond).to.equal(true);
    expect((await w.staking.read.getPool([w.trainer.address])).tokens < stake).to.equal(true);
    // The disproven run does not count: the job is re-assigned (its deadline allows another attempt).
    await w.pastWindow();
    expect(await w.settle()).to.equal("ok");
    const job = await w.jobs.read.getJob([w.jobId]);
    expect(job.state).to.equal(JobState.Open);
    expect(job.attempt).to.equal(2);
  });

  it("convicts a trainer whose count is not what its own committed predictions give: it cannot prove the one example the bisection reaches", async () => {
    const w = await load();
    // honest predictions committed (a run audited by segment replay: no evaluation root in the
    // final leaf, the trainer posts its predictions root with its count), but two more counted
    const inflated = M.countingAs(M.flipped(M.wrongExamples().slice(0, 2)));
    const reported = M.bps(countCorrect(inflated, 0, M.spec.evalSize));
    const final = await w.submitAndJudge(reported, undefined, M.trace.accuracyBps);
    const [v] = w.validators;
    const { gameId } = await w.open(v, final);
    const { winner, refused, inferenceId } = await w.play(
      gameId,
      { who: w.trainer, source: inflated, inference: M.statesOf },
      w.honestParty(v),
    );
    expect(winner).to.equal(v.address.toLowerCase());
    expect(refused).to.have.length(1);
    expect(refused[0]).to.match(/^proveExample: CountNotProven/);
    expect((await w.scoreGame.read.standing([w.id]))[1]).to.equal(true);
    expect(inferenceId).to.equal(0n);
  });

  it("lets an honest trainer win against a challenger whose evaluation is wrong, and completes the job with the reported accuracy once the window has passed", async () => {
    const w = await load();
    const reported = M.trace.accuracyBps;
    // the committee's median understates the run: with a score game the reported accuracy counts
    const final = await w.submitAndJudge(reported, M.trace.root, 500);
    const [, , liar] = w.validators;
    // the liar believes two right examples wrong, and disputes the prediction it reaches
    const liarParty: Party = {
      who: liar,
      source: M.countingAs(M.flipped(M.rightExamples().slice(0, 2), true)),
      inference: (e) =>
        new ForgedInference(M.statesOf(e), { slot: L + 1, byte: 0, bit: 0, cut: 0, delta: 0n }),
    };
    const stake = (await w.staking.read.getPool([w.trainer.address])).tokens;
    const trainerBefore = await w.token.read.balanceOf([w.trainer.address]);
    const { gameId } = await w.open(liar, final);
    const { winner, inferenceId } = await w.play(gameId, w.honestParty(w.trainer), liarParty);
    expect(winner).to.equal(w.trainer.address.toLowerCase());
    expect(inferenceId).to.not.equal(0n);
    expect((await w.inner.read.gameOf([inferenceId])).winner).to.equal(w.trainer.address);
    expect(await w.scoreGame.read.standing([w.id])).to.deep.equal([0, false]);
    expect((await w.staking.read.getPool([w.trainer.address])).tokens).to.equal(stake);
    expect(await w.token.read.balanceOf([w.trainer.address])).to.equal(
      trainerBefore + w.scoreArgs!.bond + w.scoreArgs!.inferenceBond,
    );
    const until = await w.scoreGame.read.openUntil([w.id]);
    expect(await w.settle()).to.deep.equal(["ScoreUnderDispute", [w.jobId, w.id, until]]);
    await w.pastWindow();
    expect(await w.outcome((await w.gameAs(liar)).write.open([w.id, final]))).to.deep.equal([
      "WindowClosed",
      [w.id, until],
    ]);
    expect(await w.settle()).to.equal("ok");
    const job = await w.jobs.read.getJob([w.jobId]);
    expect(job.state).to.equal(JobState.Completed);
    expect(job.winnerScoreBps).to.equal(reported);
  });

  it("refuses games no one can decide and moves out of turn, naming the value", async () => {
    const w = await load();
    const final = await w.submitAndJudge(M.trace.accuracyBps, M.trace.root);
    const [v, other] = w.validators;
    const as = await w.gameAs(v);
    expect(await w.outcome((await w.gameAs(w.trainer)).write.open([w.id, final]))).to.deep.equal([
      "NotDisputable",
      [w.id, "the trainer's own run"],
    ]);
    expect(
      await w.outcome(as.write.open([w.id, { ...final, evalRoot: M.honest.predictionsRoot }])),
    ).to.deep.equal(["FinalLeafNotProven", [w.id, 2n]]);
    const stranger = `${w.id.slice(0, -1)}f` as `0x${string}`;
    expect(await w.outcome(as.write.open([stranger, final]))).to.deep.equal([
      "NotDisputable",
      [stranger, "not a judged job run"],
    ]);
    const { gameId: id } = await w.open(v, final);
    const t = await w.gameAs(w.trainer);
    const roots = [M.honest.predictionsRoot, M.honest.examplesRoot] as const;
    expect(await w.outcome((await w.gameAs(other)).write.postCount([id, 1, ...roots]))).to.deep.equal([
      "NotYourMove",
      [other.address, w.trainer.address],
    ]);
    // a count other than the reported accuracy's, and predictions other than the committed ones
    expect(await w.outcome(t.write.postCount([id, M.trace.correct + 1, ...roots]))).to.deep.equal([
      "CountNotReported",
      [id, BigInt(M.trace.correct + 1), BigInt(M.trace.accuracyBps)],
    ]);
    expect(
      await w.outcome(t.write.postCount([id, M.trace.correct, keccak256(toHex("other")), roots[1]])),
    ).to.deep.equal(["EvalRootMismatch", [id]]);
    expect(await w.outcome(t.write.postCount([id, M.trace.correct, ...roots]))).to.equal("ok");
    // a split that does not fit the range
    const n = M.spec.evalSize;
    expect(await w.outcome(t.write.split([id, n]))).to.deep.equal(["BadSplit", [id, BigInt(n)]]);
    // the deadline: nobody claims it early, the party to move loses after it
    expect((await w.outcome(as.write.timeout([id])))[0]).to.equal("DeadlineNotPassed");
    await conn.networkHelpers.time.increase(w.moveTimeout + 1);
    const deadline = (await w.scoreGame.read.gameOf([id])).deadline;
    expect(await w.outcome(t.write.split([id, 0]))).to.deep.equal(["DeadlinePassed", [id, deadline]]);
    await as.write.timeout([id]);
    expect((await w.scoreGame.read.gameOf([id])).winner).to.equal(v.address);
    expect((await w.outcome(as.write.timeout([id])))[0]).to.equal("WrongPhase");
    // the inference game answers its host only
    expect(
      await w.outcome(as.write.onInferenceGameResolved([`0x${"00".repeat(31)}01`, v.address, true])),
    ).to.deep.equal(["NotInferenceGame", [v.address]]);
  });

  it("property: the honest side wins whatever the trainer forges or the challenger believes, and every bond leaves the games", async () => {
    const forgeable = M.forgeable(6);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(forgeable, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.subarray(M.wrongExamples(), { minLength: 1, maxLength: 3 }),
        async (lies, trainerLies, beliefs) => {
          const w = await load();
          const [v] = w.validators;
          if (trainerLies) {
            const f = M.forger(lies);
            const final = await w.submitAndJudge(M.bps(countCorrect(f.source, 0, M.spec.evalSize)));
            const { gameId } = await w.open(v, final);
            const { winner } = await w.play(gameId, { who: w.trainer, ...f }, w.honestParty(v));
            expect(winner).to.equal(v.address.toLowerCase());
          } else {
            const final = await w.submitAndJudge(M.trace.accuracyBps);
            const { gameId } = await w.open(v, final);
            const { winner } = await w.play(gameId, w.honestParty(w.trainer), {
              who: v,
              source: M.countingAs(M.flipped(beliefs)),
              inference: (e) =>
                new ForgedInference(M.statesOf(e), { slot: 2, byte: 1, bit: 3, cut: 0, delta: 0n }),
            });
            expect(winner).to.equal(w.trainer.address.toLowerCase());
          }
          // every bond left both games with their resolution, and no game is pending on the run
          expect(await w.token.read.balanceOf([w.scoreGame.address])).to.equal(0n);
          expect(await w.token.read.balanceOf([w.inner.address])).to.equal(0n);
          expect((await w.scoreGame.read.standing([w.id]))[0]).to.equal(0);
        },
      ),
      { numRuns: 4, seed: 17 },
    );
  });
});
