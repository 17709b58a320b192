import { expect } from "chai";
import { network } from "hardhat";
import type { Address } from "viem";
import { getDispute, openBoundDispute, timeoutDispute } from "../../sdk/src/actions/disputes.js";
import { deriveKey, specId } from "../../sdk/src/compute/index.js";
import { claimData } from "../../sdk/src/compute/state/game.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { E, SPEC, Status, Verdict } from "../poai/helpers/world.js";
import {
  BOND,
  DISPUTE_WINDOW,
  MOVE_TIMEOUT,
  R,
  SLASH,
  committedRunsWorld,
  interval,
  leafOf,
  openBound,
  play,
  refusal,
  stakeOf,
} from "./helpers/committed-runs.js";

/**
 * Games bound to a challenge (DisputeGame.openBound): the claim is the committed run's, so the
 * trainer cannot refuse it, and a game won against the trainer overrules the committee that
 * cleared it. One world: two trainers (a forger and an honest one) judged Valid by a colluding
 * (or merely wrong) committee of three in round 1, on the world's spec 8-8-4 (10 steps a segment).
 */
async function fixture() {
  const base = await committedRunsWorld(await network.create());
  const { w, forged, fair } = base;
  // the committee votes Valid on both runs
  const votes = w.validators.map((v) => ({ v, verdict: Verdict.Valid, score: 5000 }));
  const win = w.windows(R);
  await w.reach(win.commitStart);
  for (const run of [forged, fair]) for (const vote of votes) await w.commitVote(run.id, vote);
  await w.reach(win.revealStart);
  for (const run of [forged, fair]) for (const vote of votes) await w.revealVote(run.id, vote);
  await w.reach(win.revealEnd);
  for (const run of [forged, fair]) {
    if ((await w.challenges.read.getChallenge([run.id])).status === Status.Submitted)
      await w.outsiders[0].cm.write.finalize([run.id]);
    expect((await w.challenges.read.getChallenge([run.id])).status).to.equal(Status.Valid);
  }
  return { ...base, challenger: w.outsiders[0] };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

describe("DisputeGame: games bound to a challenge overrule the committee", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });

  it("reads the claim from the chain: the spec, the segment's steps, the committed roots, the trainer as defender", async () => {
    const id = await openBound(f, f.challenger, f.fair, 1);
    const view = await getDispute(f.ctxOf(f.challenger), { id });
    expect(view.defender).to.equal(f.honestTrainer.address);
    expect(view.challengeId).to.equal(f.fair.id);
    expect([view.lo, view.hi]).to.deep.equal([interval, 2 * interval]);
    // no acceptance: the trainer moves first, its stake at risk
    expect(view.phase).to.equal("StepMid");
    expect(view.bond).to.equal(BOND);
    const g = await f.game.read.gameOf([id]);
    expect(g.loRoot).to.equal(f.fair.commitment.parameterRoots[1]);
    expect(g.hiRoot).to.equal(f.fair.commitment.parameterRoots[2]);
    expect(g.spec.widths).to.deep.equal([...SPEC.widths]);
    // the run's data: the key of the challenge's spec and seed
    const c = await f.w.challenges.read.getChallenge([f.fair.id]);
    expect(c.specId).to.equal(specId(SPEC));
    expect(g.data.key).to.equal(claimData(SPEC, deriveKey(SPEC, c.seed)).key);
    expect(g.epoch).to.equal(R);
  });

  it("refuses a claim that is not the run's: a leaf not under the root, another index, a segment past the run, an unjudged challenge", async () => {
    const c = f.ctxOf(f.challenger);
    const run = f.fair;
    const leaf = (i: number) => leafOf(run.commitment, run.hashes, i);
    const err = refusal;
    // the end leaf of another run (the forger's end root) is not under this run's root
    const other = leafOf(f.forged.commitment, f.forged.hashes, 2);
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 1, start: leaf(1), end: other })),
    ).to.deep.equal(["CheckpointNotProven", [run.id, 2n]]);
    // checkpoint 0's leaf offered as checkpoint 1's
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 1, start: leaf(0), end: leaf(2) })),
    ).to.deep.equal(["CheckpointNotProven", [run.id, 1n]]);
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 2, start: leaf(2), end: leaf(2) })),
    ).to.deep.equal(["SegmentOutOfRange", [2n, 2n]]);
    const unknown = f.w.id(f.challenger, R);
    expect(
      await err(openBoundDispute(c, { challengeId: unknown, segment: 0, start: leaf(0), end: leaf(1) })),
    ).to.deep.equal(["NotDisputable", [unknown, Status.None]]);
    // the trainer cannot dispute its own run
    expect(
      await err(
        openBoundDispute(f.ctxOf(f.honestTrainer), {
          challengeId: run.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["InvalidClaim", ["defender"]]);
  });

  it("an honest trainer wins a bound game against a wrong challenger and takes its bond; nobody is slashed", async () => {
    const id = await openBound(f, f.challenger, f.fair, 1);
    // the challenger replays the forger's run as if it were this trainer's: it disputes a correct segment
    const wrong = new ForgedRun(f.fair.honest, { step: 15, slot: 5, byte: 1, bit: 0, parameter: 2 });
    const before = await f.w.token.read.balanceOf([f.honestTrainer.address]);
    const stake = await stakeOf(f, f.honestTrainer.address);
    const { winner } = await play(f, id, [f.honestTrainer, f.fair.honest], [f.challenger, wrong]);
    expect(winner).to.equal(f.honestTrainer.address);
    expect(await f.w.token.read.balanceOf([f.honestTrainer.address])).to.equal(before + BOND);
    expect(await stakeOf(f, f.honestTrainer.address)).to.equal(stake);
    expect(await f.game.getEvents.CommitteeOverruled({ id })).to.have.length(0);
  });

  it("a colluding committee that cleared a forger is overruled: the forger and every member that voted Valid are slashed", async () => {
    const id = await openBound(f, f.challenger, f.forged, 1);
    const members = f.w.validators.map((v) => v.address);
    const before = await Promise.all(members.map((m) => stakeOf(f, m)));
    const forgerStake = await stakeOf(f, f.forger.address);
    const points = (a: Address) => f.w.challenges.read.epochPoints([R, a]);
    const memberPoints = await Promise.all(members.map(points));
    expect(await points(f.forger.address)).to.not.equal(0n);
    const { winner, moves } = await play(
      f,
      id,
      [f.forger, f.forged.claimed],
      [f.challenger, f.forged.honest],
    );
    expect(winner).to.equal(f.challenger.address);
    expect(moves).to.be.below(40);
    expect((await f.game.getEvents.DefenderSlashed({ id }))[0].args.offenceEpoch).to.equal(R);
    expect(await stakeOf(f, f.forger.address)).to.equal(forgerStake - (forgerStake * SLASH) / E(1));
    const overruled = await f.game.getEvents.CommitteeOverruled({ id });
    expect(overruled[0].args).to.deep.include({ challengeId: f.forged.id, membersSlashed: 3n });
    const after = await Promise.all(members.map((m) => stakeOf(f, m)));
    after.forEach((s, i) => expect(s < before[i], `member ${i} slashed`).to.equal(true));
    // the verdict's points follow the proven result (ChallengeManager.overrule): the forger loses
    // its points and each member the weight it earned for this verdict (it keeps the honest run's);
    // the status is Fraud. Without the hook a cleared forger kept the rewards of its forgery.
    expect(await f.w.challenges.read.getChallenge([f.forged.id])).to.deep.include({ status: Status.Fraud });
    expect(await points(f.forger.address)).to.equal(0n);
    const kept = await Promise.all(members.map(points));
    kept.forEach((p, i) => expect(p * 2n).to.equal(memberPoints[i]));
    // once overruled, the challenge is settled: no second game slashes anyone again (a naive game
    // would let every further challenger slash the forger and the committee once more)
    const leaf = (i: number) => leafOf(f.forged.commitment, f.forged.hashes, i);
    expect(
      await refusal(
        openBoundDispute(f.ctxOf(f.w.outsiders[0]), {
          challengeId: f.forged.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["AlreadyOverruled", [f.forged.id]]);
  });

  it("a bound trainer that does not defend loses by timeout and is slashed, but a timeout overrules no committee", async () => {
    const id = await openBound(f, f.challenger, f.fair, 0);
    const stake = await stakeOf(f, f.honestTrainer.address);
    const members = await Promise.all(f.w.validators.map((v) => stakeOf(f, v.address)));
    await f.w.networkHelpers.time.increase(Number(MOVE_TIMEOUT) + 1);
    await f.w.receipt(await timeoutDispute(f.ctxOf(f.challenger), { id }));
    expect((await getDispute(f.ctxOf(f.challenger), { id })).winner).to.equal(f.challenger.address);
    expect((await stakeOf(f, f.honestTrainer.address)) < stake).to.equal(true);
    expect(await Promise.all(f.w.validators.map((v) => stakeOf(f, v.address)))).to.deep.equal(members);
    expect(await f.game.getEvents.CommitteeOverruled({ id })).to.have.length(0);
    // a second silent game on the same challenge pays the bonds but slashes the trainer no more
    const again = await openBound(f, f.challenger, f.fair, 1);
    const slashedOnce = await stakeOf(f, f.honestTrainer.address);
    await f.w.networkHelpers.time.increase(Number(MOVE_TIMEOUT) + 1);
    await f.w.receipt(await timeoutDispute(f.ctxOf(f.challenger), { id: again }));
    expect(await stakeOf(f, f.honestTrainer.address)).to.equal(slashedOnce);
    expect(await f.game.getEvents.DefenderSlashed({ id: again })).to.have.length(0);
  });

  it("closes the dispute window disputeWindow seconds after the challenge's points close", async () => {
    const c = await f.w.challenges.read.getChallenge([f.fair.id]);
    const closes = (await f.w.challenges.read.epochClosesAt([BigInt(c.auditRound)])) + DISPUTE_WINDOW;
    await f.w.reach(closes + 1n);
    const leaf = (i: number) => leafOf(f.fair.commitment, f.fair.hashes, i);
    expect(
      await refusal(
        openBoundDispute(f.ctxOf(f.challenger), {
          challengeId: f.fair.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["DisputeWindowClosed", [f.fair.id, closes]]);
  });
});
