/**
 * Every deadline of the challenge protocol, exactly at its edge and one second past it: result
 * submission, the committee's commit and reveal windows, finalization, the points of an epoch,
 * missed-round reports, and the beacon's commit and reveal phases. A transaction sent after
 * `at(t)` lands in a block stamped exactly `t`.
 *
 * Timeline (epochs of a day, windows of a quarter): round r starts at S(r); a result for r is due
 * by min(S(r) + spec deadline, S(r) + L/2 - 1); the audit commits in [S(r+1), S(r+1) + L/4),
 * reveals in [S(r+1) + L/4, S(r+1) + L/2), finalizes from S(r+1) + L/2, and earns points until
 * epochClosesAt(r) = S(r+1) + 3L/4 inclusive.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex, type Hex } from "viem";
import {
  DAY,
  E,
  SPEC,
  Status,
  Verdict,
  WAD,
  deployWorld,
  type Actor,
  type Connection,
  type World,
} from "./helpers/world.js";

const R = 1n;
const ROOT: Hex = keccak256(toHex("root"));
const L = BigInt(DAY);

describe("PoAI timing edges", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  /** Three trainers, three validators (all on every committee), a 6 h spec; the clock is in round 0. */
  async function fixture() {
    return deployWorld(conn, { trainers: [E(5000), E(5000), E(5000)] });
  }
  /** The same with a 20 h spec deadline, which the middle of the round caps. */
  async function longSpec() {
    return deployWorld(conn, {
      trainers: [E(5000), E(5000), E(5000)],
      specs: [
        {
          spec: SPEC,
          params: { responseDeadline: 20 * 3600, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 2 },
        },
      ],
    });
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  /** Trainers submit at the start of round R (latency 1, 2, ...) and the clock stays in round R. */
  async function submitted(w: World, trainers: Actor[] = w.trainers) {
    await w.to(w.start(R));
    for (const t of trainers) await t.cm.write.submitResult([R, ROOT, 8000]);
    return trainers.map((t) => w.id(t, R));
  }
  const valid = (v: Actor) => ({ v, verdict: Verdict.Valid, score: 8000 });

  describe("result submission", () => {
    it("opens at the round's start and closes after the spec deadline, inclusive", async () => {
      const w = await load();
      const [T1, T2, T3] = w.trainers;
      const S = w.start(R);
      const deadline = S + 6n * 3600n;
      expect(w.submitDeadline(R)).to.equal(deadline);
      await w.at(S - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        T1.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "WrongRound",
        [R, R - 1n],
      );
      await w.at(S);
      const first = await T1.cm.write.submitResult([R, ROOT, 8000]);
      expect((await w.events(first, w.challenges, "ResultSubmitted"))[0].latency).to.equal(0);
      const [, , , deadlineView] = await w.challenges.read.dueChallenge([T2.address, R]);
      expect(deadlineView).to.equal(deadline);
      await w.at(deadline);
      const last = await T2.cm.write.submitResult([R, ROOT, 8000]);
      expect((await w.events(last, w.challenges, "ResultSubmitted"))[0].latency).to.equal(6 * 3600);
      await w.at(deadline + 1n);
      await assertions().revertWithCustomErrorWithArgs(
        T3.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "DeadlinePassed",
        [deadline, deadline + 1n],
      );
    });

    it("caps a later spec deadline at the last second before the beacon's reveal phase", async () => {
      const w = await conn.networkHelpers.loadFixture(longSpec);
      const [T1, T2] = w.trainers;
      const S = w.start(R);
      const revealPhase = await w.beacon.read.commitDeadline([R + 1n]);
      expect(revealPhase).to.equal(S + L / 2n);
      const cap = revealPhase - 1n;
      await w.to(S);
      await w.beacon.write.seal([R]);
      const [, , , deadlineView] = await w.challenges.read.dueChallenge([T1.address, R]);
      expect(deadlineView).to.equal(cap);
      await w.at(cap);
      await T1.cm.write.submitResult([R, ROOT, 8000]);
      expect((await w.challenges.read.getChallenge([w.id(T1, R)])).deadline).to.equal(cap);
      await w.at(revealPhase);
      await assertions().revertWithCustomErrorWithArgs(
        T2.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "DeadlinePassed",
        [cap, revealPhase],
      );
      // the latency factor runs over the capped span: the last second scores one half
      await w.audit(w.id(T1, R), R, w.validators.map(valid));
      const hash = await w.judged(w.id(T1, R)); // the last reveal judged it
      expect((await w.events(hash!, w.challenges, "ChallengeFinalized"))[0].score).to.equal(WAD / 2n);
    });
  });

  describe("committee windows", () => {
    it("takes commitments from the audit round's start to one second before the commit window ends", async () => {
      const w = await load();
      const [id] = await submitted(w, [w.trainers[0]]);
      const [V0, V1, V2] = w.validators;
      const { commitStart, revealStart } = w.windows(R);
      await w.at(commitStart - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.commitVote(id, valid(V0)),
        w.challenges,
        "OutsideWindow",
        [id, commitStart - 1n, commitStart, revealStart],
      );
      await w.at(commitStart);
      await w.commitVote(id, valid(V0));
      await w.at(revealStart - 1n);
      await w.commitVote(id, valid(V1));
      await w.at(revealStart);
      await assertions().revertWithCustomErrorWithArgs(
        w.commitVote(id, valid(V2)),
        w.challenges,
        "OutsideWindow",
        [id, revealStart, commitStart, revealStart],
      );
      expect((await w.challenges.read.getChallenge([id])).members).to.equal(2);
    });

    it("takes reveals from the commit window's end to one second before the reveal window ends", async () => {
      const w = await load();
      const [id] = await submitted(w, [w.trainers[0]]);
      const [V0, V1, V2] = w.validators;
      const { commitStart, revealStart, revealEnd } = w.windows(R);
      await w.to(commitStart);
      for (const v of w.validators) await w.commitVote(id, valid(v));
      await w.at(revealStart - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.revealVote(id, valid(V0)),
        w.challenges,
        "OutsideWindow",
        [id, revealStart - 1n, revealStart, revealEnd],
      );
      await w.at(revealStart);
      await w.revealVote(id, valid(V0));
      await w.at(revealEnd - 1n);
      await w.revealVote(id, valid(V1));
      await w.at(revealEnd);
      await assertions().revertWithCustomErrorWithArgs(
        w.revealVote(id, valid(V2)),
        w.challenges,
        "OutsideWindow",
        [id, revealEnd, revealStart, revealEnd],
      );
      // the reveal window's end is also the first second of finalization
      await w.challenges.write.finalize([id]);
      const members = await w.challenges.read.getMembers([id]);
      expect(members.map((m) => m.revealed)).to.deep.equal([true, true, false]);
    });

    it("refuses to finalize one second before the reveal window ends", async () => {
      const w = await load();
      const [id] = await submitted(w, [w.trainers[0]]);
      const { revealEnd } = w.windows(R);
      await w.at(revealEnd - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([id]),
        w.challenges,
        "DeadlineNotPassed",
        [revealEnd, revealEnd - 1n],
      );
      await w.at(revealEnd);
      // nobody committed: the committee is extended into the next round
      await w.challenges.write.finalize([id]);
      const c = await w.challenges.read.getChallenge([id]);
      expect([c.status, c.extension]).to.deep.equal([Status.Submitted, 1]);
    });

    it("takes second-phase votes from the reveal window's end to one second before the replay window ends, and finalizes an accused challenge only after it", async () => {
      const w = await load();
      const [id] = await submitted(w, [w.trainers[0]]);
      const [V0, V1, V2] = w.validators;
      const { revealEnd, replayEnd, closes } = w.windows(R);
      expect(replayEnd).to.equal(revealEnd + BigInt(w.cp.replayWindow));
      expect(replayEnd <= closes).to.equal(true);
      const votes = [{ v: V0, verdict: Verdict.Invalid, segment: 1 }, valid(V1), valid(V2)];
      await w.to(w.windows(R).commitStart);
      for (const x of votes) await w.commitVote(id, x);
      await w.to(w.windows(R).revealStart);
      for (const x of votes) await w.revealVote(id, x);
      await w.at(revealEnd - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        V1.cm.write.replayVote([id, Verdict.Invalid, 1]),
        w.challenges,
        "OutsideWindow",
        [id, revealEnd - 1n, revealEnd, replayEnd],
      );
      await w.at(revealEnd);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([id]),
        w.challenges,
        "DeadlineNotPassed",
        [replayEnd, revealEnd],
      );
      await w.at(replayEnd - 1n);
      await w.replayVote(id, V1, Verdict.Invalid, 1);
      await w.at(replayEnd);
      await assertions().revertWithCustomErrorWithArgs(
        V2.cm.write.replayVote([id, Verdict.Invalid, 1]),
        w.challenges,
        "OutsideWindow",
        [id, replayEnd, revealEnd, replayEnd],
      );
      await w.challenges.write.finalize([id]);
      expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Fraud);
    });

    it("awards points to a judgment finalized at epochClosesAt and none one second later", async () => {
      const w = await load();
      const [T1, T2] = w.trainers;
      const [id1, id2] = await submitted(w, [T1, T2]);
      const { commitStart, revealStart, revealEnd, closes } = w.windows(R);
      expect(await w.challenges.read.epochClosesAt([R])).to.equal(closes);
      expect(closes).to.equal(revealEnd + BigInt(w.cp.finalizeGrace));
      await w.to(commitStart);
      for (const id of [id1, id2]) for (const v of w.validators) await w.commitVote(id, valid(v));
      await w.to(revealStart);
      // the last validator keeps its reveal: the challenges stay open until someone finalizes them
      for (const id of [id1, id2])
        for (const v of w.validators.slice(0, -1)) await w.revealVote(id, valid(v));
      await w.to(closes - 1n);
      await w.at(closes);
      const onTime = await w.challenges.write.finalize([id1]);
      expect(await w.challenges.read.isEpochFinal([R])).to.equal(false);
      const pointsOnTime = (await w.events(onTime, w.challenges, "ChallengeFinalized"))[0]
        .trainerPoints as bigint;
      expect(pointsOnTime > 0n).to.equal(true);
      expect(await w.challenges.read.epochPoints([R, T1.address])).to.equal(pointsOnTime);
      await w.at(closes + 1n);
      const late = await w.challenges.write.finalize([id2]);
      expect(await w.challenges.read.isEpochFinal([R])).to.equal(true);
      expect(await w.events(late, w.challenges, "LateFinalization")).to.deep.equal([{ id: id2, epoch: R }]);
      expect(await w.challenges.read.epochPoints([R, T2.address])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(pointsOnTime);
    });
  });

  describe("missed-round reports", () => {
    it("accepts a report from one second after the deadline through epochClosesAt", async () => {
      const w = await load();
      const [T1, T2, T3] = w.trainers;
      const deadline = w.submitDeadline(R);
      const closes = w.windows(R).closes;
      await w.to(w.start(R));
      await w.at(deadline);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([T1.address, R]),
        w.challenges,
        "DeadlineNotPassed",
        [deadline, deadline],
      );
      await w.at(deadline + 1n);
      await w.challenges.write.reportMissed([T1.address, R]);
      await w.at(closes);
      await w.challenges.write.reportMissed([T2.address, R]);
      await w.at(closes + 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([T3.address, R]),
        w.challenges,
        "ReportTooLate",
        [closes, closes + 1n],
      );
      expect((await w.challenges.read.getChallenge([w.id(T3, R)])).status).to.equal(Status.None);
    });

    it("refuses a report for a round that has not started", async () => {
      const w = await load();
      await w.to(w.start(R));
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([w.trainers[0].address, R + 1n]),
        w.beacon,
        "BeaconNotReady",
        [R + 1n, w.start(R + 1n)],
      );
    });
  });

  describe("beacon phases", () => {
    it("takes commitments for round r during the first half of round r - 1", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      const S = w.start(R);
      const mid = S + L / 2n;
      const r = R + 1n;
      const commit = async (v: Actor) =>
        v.beacon.write.commit([
          r,
          await w.beacon.read.commitmentOf([w.secretOf(v.address, r), v.address, r]),
        ]);
      await w.at(S - 1n);
      await assertions().revertWithCustomErrorWithArgs(commit(V0), w.beacon, "NotInCommitPhase", [
        r,
        S - 1n,
        S,
        mid,
      ]);
      await w.at(S);
      await commit(V0);
      await w.at(mid - 1n);
      await commit(V1);
      await w.at(mid);
      await assertions().revertWithCustomErrorWithArgs(commit(V2), w.beacon, "NotInCommitPhase", [
        r,
        mid,
        S,
        mid,
      ]);
      expect(await w.beacon.read.participation([r])).to.deep.equal([2, 0]);
    });

    it("takes reveals during the second half, answers from the next round's start, and reports silence from then", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      const S = w.start(R);
      const mid = S + L / 2n;
      const next = w.start(R + 1n);
      const r = R + 1n;
      await w.to(S);
      await w.beaconCommit(r, w.validators);
      const reveal = (v: Actor) => v.beacon.write.reveal([r, w.secretOf(v.address, r)]);
      await w.at(mid - 1n);
      await assertions().revertWithCustomErrorWithArgs(reveal(V0), w.beacon, "NotInRevealPhase", [
        r,
        mid - 1n,
        mid,
        next,
      ]);
      await w.at(mid);
      await reveal(V0);
      await w.at(next - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.beacon.write.reportMissedReveal([r, V2.address]),
        w.beacon,
        "BeaconNotReady",
        [r, next],
      );
      // the refused report mined nothing: this reveal lands at the round's last second
      await reveal(V1);
      expect(await w.latest()).to.equal(next - 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.beacon.read.valueOf([r]),
        w.beacon,
        "BeaconNotReady",
        [r, next],
      );
      await w.at(next);
      await assertions().revertWithCustomErrorWithArgs(reveal(V2), w.beacon, "NotInRevealPhase", [
        r,
        next,
        mid,
        next,
      ]);
      // the refused reveal mined nothing: the report lands at the round's first second
      await w.beacon.write.reportMissedReveal([r, V2.address]);
      expect(await w.latest()).to.equal(next);
      expect(await w.beacon.read.missedReveals([V2.address])).to.equal(1n);
      expect(await w.beacon.read.isReady([r])).to.equal(true);
      await w.beacon.read.valueOf([r]); // answers
    });
  });
});
