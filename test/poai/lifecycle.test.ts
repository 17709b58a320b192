/**
 * The whole life of a Proof-of-AI challenge for every outcome: valid, fraud (an accusation
 * confirmed by the second phase), withholding (Unavailable by quorum), a committee that cannot
 * decide (extended, then NoQuorum), missed, and late. Each test checks the status, the events, the
 * epoch points (trainer: stake at the round's start x score; validators: stake at the challenge's
 * round per agreeing member) and the slashes (active and unbonding stake reduced by the fraction,
 * the finder's fee to the validators that found it, the rest burned, jail on fraud; a Valid vote
 * that stands on a proven fraud slashed verdictSlash).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { agrees, challengeScore, tally, vouchedForFraud, weightOf, type Ballot } from "./helpers/judgment.js";
import {
  BPS,
  BURN_ADDRESS,
  DAY,
  E,
  Status,
  Verdict,
  WAD,
  ceilDiv,
  deployWorld,
  minOf,
  poolOf,
  type Actor,
  type Connection,
  type Vote,
  type World,
} from "./helpers/world.js";

const R = 1n;
const ROOT: Hex = keccak256(toHex("checkpoint merkle root"));
const TRAINER_STAKE = E(6500); // active stake of the trainer's pool at the start of round R
const TRAINER_UNBONDING = E(1500);
const VALIDATOR_STAKES = [E(1000), E(1500), E(2000), E(2500)];
const ROLE_STAKE = E(7000);
/** Each validator's committee weight (and accuracy points per agreeing reveal). */
const WEIGHTS = VALIDATOR_STAKES.map((s) => weightOf(s, ROLE_STAKE));
/** The spec deadline (6 h) binds: it is earlier than the middle of the round. */
const SPAN = 6n * 3600n;

describe("ChallengeManager lifecycle", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  /**
   * One trainer T (6,000 self-stake) whose pool also holds a delegator D's 2,000; each of them
   * moved part of it (1,000 and 500) to unbonding in round 0. Four validators with 1,000, 1,500,
   * 2,000 and 2,500 stake, all on every committee (committeeSize 16). X is a bystander. The clock
   * stands at the start of round 1, the first round the spec is active.
   */
  async function fixture() {
    const w = await deployWorld(conn, {
      challenge: { committeeSize: 16 },
      trainers: [E(6000)],
      validators: VALIDATOR_STAKES,
      outsiders: 2,
    });
    const [T] = w.trainers;
    const [D, X] = w.outsiders;
    await T.staking.write.undelegate([T.address, E(1000)]);
    await D.staking.write.delegate([T.address, E(2000)]);
    await D.staking.write.undelegate([T.address, E(500)]);
    await w.to(w.start(R));
    /**
     * The judgment: the transaction (a last reveal, a last second-phase vote) that judged `id`, or
     * else a finalization by the bystander (finalization is permissionless).
     */
    const finalize = async (id: Hex) => (await w.judged(id)) ?? X.cm.write.finalize([id]);
    return { ...w, T, D, X, V: w.validators, finalize };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;

  const submit = async (w: W, latency: bigint, score: number) => {
    await w.at(w.start(R) + latency);
    await w.T.cm.write.submitResult([R, ROOT, score]);
    return w.id(w.T, R);
  };
  /** The reveals as the judgment sees them: weight = the validator's share of the role's stake at the audit round. */
  const ballots = (
    w: W,
    votes: Vote[],
    revealed: (v: Vote) => boolean = () => true,
    replays: Map<Address, number> = new Map(),
  ): Ballot[] =>
    votes.map((x) => ({
      verdict: x.verdict,
      replay: replays.get(x.v.address),
      scoreBps: x.score ?? 0,
      weight: revealed(x) ? WEIGHTS[w.V.findIndex((v) => v.address === x.v.address)] : 0n,
    }));
  const balances = async (w: World, who: Address[]) =>
    Promise.all(who.map((a) => w.token.read.balanceOf([a])));
  const points = async (w: World, who: Address[]) =>
    Promise.all(who.map((a) => w.challenges.read.epochPoints([R, a])));

  /**
   * Expected slash of the trainer's pool for `fraction`, with the finder's fee split among
   * `reporters`. The offences are in round R or later: the stake that left in round 0 is out of reach.
   */
  const expectedSlash = (fraction: bigint, reporters: number) => {
    const active = ceilDiv(TRAINER_STAKE * fraction, WAD);
    const unbonding = 0n;
    const total = active + unbonding;
    const each = reporters === 0 ? 0n : (total * 1000n) / BPS / BigInt(reporters); // finderFeeBps 1000
    const fee = each * BigInt(reporters);
    return { active, unbonding, each, fee, burned: total - fee };
  };

  async function expectNoSlash(w: W, hash: Hex) {
    expect(await w.events(hash, w.staking, "Slashed")).to.deep.equal([]);
    expect(await poolOf(w, w.T.address)).to.deep.equal({
      tokens: TRAINER_STAKE,
      unbonding: TRAINER_UNBONDING,
    });
    expect(await w.staking.read.isActive([w.T.address])).to.equal(true);
  }

  describe("valid", () => {
    it("scores the trainer by latency and deviation from the stake-weighted median and credits the agreeing validators", async () => {
      const w = await load();
      const { T, V } = w;
      // the validators build the beacon value of round R + 1 while the trainer works
      await w.beaconCommit(R + 1n, V);
      await w.at(w.start(R) + 3600n);
      const submitted = await T.cm.write.submitResult([R, ROOT, 8100]);
      const id = w.id(T, R);
      expect(await w.events(submitted, w.challenges, "ResultSubmitted")).to.deep.equal([
        { id, trainer: T.address, round: R, resultRoot: ROOT, reportedScoreBps: 8100, latency: 3600 },
      ]);
      await w.beaconReveal(R + 1n, V);
      expect(await w.beacon.read.participation([R + 1n])).to.deep.equal([4, 4]);

      const votes: Vote[] = [
        { v: V[0], verdict: Verdict.Valid, score: 8000 },
        { v: V[1], verdict: Verdict.Valid, score: 8000 },
        { v: V[2], verdict: Verdict.Valid, score: 8100 },
        { v: V[3], verdict: Verdict.Valid, score: 7900 },
      ];
      await w.audit(id, R, votes);
      for (const [i, v] of V.entries())
        expect(await w.staking.read.stakeAt([v.address, R])).to.equal(VALIDATOR_STAKES[i]);
      expect(await w.staking.read.roleStakeAt([2, R])).to.equal(ROLE_STAKE);
      const finalized = await w.finalize(id);

      // the model: median of {7900: 2500, 8000: 1000 + 1500, 8100: 2000} is 8000 (lower median at half the stake)
      const o = tally(ballots(w, votes), w.cp.quorumBps, w.cp.minReveals);
      expect(o.verdict).to.equal(Verdict.Valid);
      expect(o.medianScoreBps).to.equal(8000);
      const score = challengeScore({
        medianScoreBps: o.medianScoreBps,
        reportedScoreBps: 8100,
        latency: 3600n,
        span: SPAN,
        minScoreBps: 0,
        maxScoreBps: 10_000,
        maxDeviationBps: w.cp.maxDeviationBps,
      });
      // deviation factor 400/500, latency factor 1 - 3600 / (2 x 21600)
      expect(score).to.equal(733_333_333_333_333_333n);
      expect(await w.staking.read.stakeAt([T.address, R])).to.equal(TRAINER_STAKE);
      const trainerPoints = (TRAINER_STAKE * score) / WAD;

      expect(await w.events(finalized, w.challenges, "ChallengeFinalized")).to.deep.equal([
        {
          id,
          trainer: T.address,
          round: R,
          status: Status.Valid,
          score,
          medianScoreBps: 8000,
          trainerPoints,
        },
      ]);
      const agreeing = votes.filter((x, i) => agrees(ballots(w, votes)[i], o, w.cp.scoreToleranceBps));
      expect(agreeing.map((x) => x.v.address)).to.deep.equal([V[0].address, V[1].address]);
      expect(await points(w, [T.address, ...V.map((v) => v.address)])).to.deep.equal([
        trainerPoints,
        WEIGHTS[0],
        WEIGHTS[1],
        0n,
        0n,
      ]);
      expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(trainerPoints);
      expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(WEIGHTS[0] + WEIGHTS[1]);
      await expectNoSlash(w, finalized);

      const c = await w.challenges.read.getChallenge([id]);
      expect(c.status).to.equal(Status.Valid);
      expect(c.members).to.equal(4);
      expect(c.seed).to.equal(await w.challenges.read.challengeSeed([T.address, R]));
      expect(c.specId).to.equal(w.specIds[0]);
      expect(c.deadline).to.equal(w.start(R) + SPAN);
      const members = await w.challenges.read.getMembers([id]);
      expect(members.map((m) => [m.validator, m.verdict, m.measuredScoreBps, m.revealed])).to.deep.equal(
        votes.map((x) => [x.v.address, x.verdict, x.score, true]),
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([id]),
        w.challenges,
        "ChallengeNotOpen",
        [id, Status.Valid],
      );
    });

    it("weighs the points by the stake the trainer had when the round began, kept with the open challenge and never counted as points before the judgment", async () => {
      // The submission keeps the trainer's stake at the round's start with its challenge, so that
      // the judgment reads no stake. While the challenge is open that field must count as no
      // points (epochPoints, the rewards' input), and a stake that moved after the submission
      // (a delegation, more self-stake) must not change what the run earns.
      const w = await load();
      const { T, D, V } = w;
      const id = await submit(w, 3600n, 9000);
      expect(await w.challenges.read.epochPoints([R, T.address])).to.equal(0n);
      await D.staking.write.delegate([T.address, E(1500)]);
      await T.staking.write.delegate([T.address, E(700)]);
      expect(await w.staking.read.stakeAt([T.address, R])).to.equal(TRAINER_STAKE);
      // (the last reveal judges)
      await w.audit(
        id,
        R,
        V.map((v) => ({ v, verdict: Verdict.Valid, score: 9000 })),
      );
      const [f] = await w.events(await w.finalize(id), w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Valid);
      expect(f.trainerPoints).to.equal((TRAINER_STAKE * (f.score as bigint)) / WAD);
      expect(f.trainerPoints).to.not.equal(0n);
      expect(await w.challenges.read.epochPoints([R, T.address])).to.equal(f.trainerPoints);
      expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(f.trainerPoints);
    });

    it("gives no score outside the spec's accuracy band, but still credits the agreeing validators", async () => {
      const w = await load();
      await w.registry.write.setSpecParams([
        w.specIds[0],
        { responseDeadline: 6 * 3600, minScoreBps: 8500, maxScoreBps: 9500, auditSamples: 2 },
      ]);
      const id = await submit(w, 10n, 8000);
      const votes = w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 8000 }));
      await w.audit(id, R, votes);
      const hash = await w.finalize(id);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f).to.deep.include({ status: Status.Valid, score: 0n, medianScoreBps: 8000, trainerPoints: 0n });
      expect(await w.challenges.read.epochPoints([R, w.T.address])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(
        WEIGHTS[0] + WEIGHTS[1] + WEIGHTS[2] + WEIGHTS[3],
      );
    });

    it("scores a run by the score band and deadline in force when it was submitted, whatever governance sets later", async () => {
      // The band and the deadline are kept with the challenge at submission: the judgment reads no
      // spec. Catches a judgment that reads the spec's parameters in force at the judgment (this
      // change of band would zero the score, this change of deadline would cut its latency factor).
      const w = await load();
      const id = await submit(w, 3600n, 8000);
      await w.registry.write.setSpecParams([
        w.specIds[0],
        { responseDeadline: 2 * 3600, minScoreBps: 8500, maxScoreBps: 9500, auditSamples: 2 },
      ]);
      const votes = w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 8000 }));
      await w.audit(id, R, votes);
      const [f] = await w.events(await w.finalize(id), w.challenges, "ChallengeFinalized");
      const score = challengeScore({
        medianScoreBps: 8000,
        reportedScoreBps: 8000,
        latency: 3600n,
        span: SPAN,
        minScoreBps: 0,
        maxScoreBps: 10_000,
        maxDeviationBps: w.cp.maxDeviationBps,
      });
      expect(score).to.equal(WAD - WAD / 12n); // latency factor 1 - 3600 / (2 x 21600), no deviation
      expect(f).to.deep.include({
        status: Status.Valid,
        score,
        trainerPoints: (TRAINER_STAKE * score) / WAD,
      });
      expect((await w.challenges.read.getChallenge([id])).deadline).to.equal(w.start(R) + SPAN);
    });

    it("gives no score when the reported accuracy is maxDeviation or more away from the median", async () => {
      const w = await load();
      const id = await submit(w, 10n, 8500); // median 8000, maxDeviationBps 500
      await w.audit(
        id,
        R,
        w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 8000 })),
      );
      const [f] = await w.events(await w.finalize(id), w.challenges, "ChallengeFinalized");
      expect(f).to.deep.include({ status: Status.Valid, score: 0n, trainerPoints: 0n });
    });
  });

  describe("fraud (an accusation the second phase confirms)", () => {
    it("turns one member's catch into the committee's verdict: slashes fraudSlash of the offence round's stake (not what left before it) and jails, pays the finder, slashes the member that vouched for the fraud", async () => {
      const w = await load();
      const { T, D, V } = w;
      const id = await submit(w, 100n, 9000);
      // V1 alone sampled a forged segment; the others' samples were clean.
      const votes: Vote[] = [
        { v: V[0], verdict: Verdict.Valid, score: 9000 },
        { v: V[1], verdict: Verdict.Invalid, segment: 3 },
        { v: V[2], verdict: Verdict.Valid, score: 9000 },
        { v: V[3], verdict: Verdict.Valid, score: 9000 },
      ];
      await w.audit(id, R, votes);
      // Under the rule this replaces, 1,500 of 7,000 Invalid was no quorum: the forger went free.
      expect(await w.judged(id)).to.equal(undefined); // an accusation: the second phase comes first
      const c = await w.challenges.read.getChallenge([id]);
      expect([c.status, c.accused, c.replayEnd]).to.deep.equal([
        Status.Submitted,
        true,
        w.windows(R).replayEnd,
      ]);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([id]),
        w.challenges,
        "DeadlineNotPassed",
        [w.windows(R).replayEnd, (await w.latest()) + 1n],
      );
      // Second phase: V2 and V3 replay segment 3 and vote Invalid; V0 vouches for the run (Valid).
      const replays = new Map<Address, number>([
        [V[0].address, Verdict.Valid],
        [V[2].address, Verdict.Invalid],
        [V[3].address, Verdict.Invalid],
      ]);
      expect(
        await w.events(await w.replayVote(id, V[2], Verdict.Invalid, 3), w.challenges, "ReplayVoted"),
      ).to.deep.equal([{ id, validator: V[2].address, verdict: Verdict.Invalid, segment: 3 }]);
      await w.replayVote(id, V[0], Verdict.Valid);
      const who = [...V.map((v) => v.address), BURN_ADDRESS];
      const before = await balances(w, who);
      const delegatorBefore = (await w.staking.read.getPosition([D.address, T.address])).tokens;
      const v0Before = (await w.staking.read.getPool([V[0].address])).tokens;
      // the last member's vote judges: against 1,500 + 2,000 + 2,500 = 6,000 of 7,000
      const hash = await w.replayVote(id, V[3], Verdict.Invalid, 3);
      expect(await w.judged(id)).to.equal(hash);
      const o = tally(ballots(w, votes, undefined, replays), w.cp.quorumBps, w.cp.minReveals);
      expect(o.verdict).to.equal(Verdict.Invalid);

      const s = expectedSlash(minOf(w.cp.fraudSlash, E("0.5")), 1); // the finder: V1, the accuser
      expect(s.active).to.equal(E(3250));
      expect(s.unbonding).to.equal(0n); // the unbonding entry left before the offence's round
      const vouched = ceilDiv(VALIDATOR_STAKES[0] * w.cp.verdictSlash, WAD);
      // both slashes are held in Staking through the dispute window, under the challenge's id
      const releaseAt =
        (await w.blockOf(hash)).timestamp + BigInt((await w.staking.read.params()).unbondingPeriod);
      expect(await w.events(hash, w.staking, "SlashHeld")).to.deep.equal([
        {
          source: getAddress(w.challenges.address),
          key: id,
          operator: T.address,
          offenceEpoch: R,
          fraction: E("0.5"),
          activeAmount: s.active,
          unbondingAmount: s.unbonding,
          finderFee: s.fee,
          releaseAt,
          reporters: [V[1].address],
        },
        {
          source: getAddress(w.challenges.address),
          key: id,
          operator: V[0].address,
          offenceEpoch: R + 1n, // its vote, in the first audit round at the earliest
          fraction: w.cp.verdictSlash,
          activeAmount: vouched,
          unbondingAmount: 0n,
          finderFee: 0n,
          releaseAt,
          reporters: [],
        },
      ]);
      expect(await w.staking.read.heldTokens()).to.equal(s.active + s.unbonding + vouched);
      expect(await w.events(hash, w.challenges, "ValidatorSlashed")).to.deep.equal([
        { id, validator: V[0].address, fraction: w.cp.verdictSlash },
      ]);
      expect((await w.staking.read.getPool([V[0].address])).tokens).to.equal(v0Before - vouched);
      expect(await w.events(hash, w.staking, "Jailed")).to.have.length(1);
      expect(await poolOf(w, T.address)).to.deep.equal({
        tokens: TRAINER_STAKE - s.active,
        unbonding: TRAINER_UNBONDING - s.unbonding,
      });
      // nothing paid or burned yet: the finder's fee and the burn wait for the hold's release
      expect(await balances(w, who)).to.deep.equal(before);
      expect((await w.staking.read.operatorRecord([T.address])).jailed).to.equal(true);
      expect(await w.staking.read.isActive([T.address])).to.equal(false);
      // the delegator loses its pro-rata part
      expect((await w.staking.read.getPosition([D.address, T.address])).tokens).to.equal(
        delegatorBefore / 2n,
      );

      expect(await w.events(hash, w.challenges, "ChallengeFinalized")).to.deep.equal([
        {
          id,
          trainer: T.address,
          round: R,
          status: Status.Fraud,
          score: 0n,
          medianScoreBps: 0,
          trainerPoints: 0n,
        },
      ]);
      // points: the accuser and the members that confirmed it; nothing for the voucher
      const b = ballots(w, votes, undefined, replays);
      expect(b.map((x) => agrees(x, o, 0))).to.deep.equal([false, true, true, true]);
      expect(b.map((x) => vouchedForFraud(x, o))).to.deep.equal([true, false, false, false]);
      expect(await points(w, [T.address, ...V.map((v) => v.address)])).to.deep.equal([
        0n,
        0n,
        WEIGHTS[1],
        WEIGHTS[2],
        WEIGHTS[3],
      ]);
      expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(WEIGHTS[1] + WEIGHTS[2] + WEIGHTS[3]);
      const members = await w.challenges.read.getMembers([id]);
      expect(members.map((m) => [m.verdict, m.replayVerdict, m.weight])).to.deep.equal([
        [Verdict.Valid, Verdict.Valid, Number(WEIGHTS[0])],
        [Verdict.Invalid, Verdict.None, Number(WEIGHTS[1])],
        [Verdict.Valid, Verdict.Invalid, Number(WEIGHTS[2])],
        [Verdict.Valid, Verdict.Invalid, Number(WEIGHTS[3])],
      ]);
      // a jailed trainer is no longer due a challenge (the clock is in round R + 1)
      expect(await w.staking.read.currentEpoch()).to.equal(R + 1n);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        T.cm.write.submitResult([R + 1n, ROOT, 9000]),
        w.challenges,
        "NotDue",
        [T.address, R + 1n],
      );
    });

    it("slashes a member that stays silent in the second phase: its Valid reveal stands for the fraud", async () => {
      const w = await load();
      const { V } = w;
      const id = await submit(w, 100n, 9000);
      await w.audit(id, R, [
        { v: V[0], verdict: Verdict.Valid, score: 9000 },
        { v: V[1], verdict: Verdict.Invalid, segment: 3 },
        { v: V[2], verdict: Verdict.Valid, score: 9000 },
        { v: V[3], verdict: Verdict.Valid, score: 9000 },
      ]);
      await w.replayVote(id, V[2], Verdict.Invalid, 3);
      // V0 and V3 say nothing: the accusation holds 3,500 of the 3,500 voting stake
      await w.to(w.windows(R).replayEnd);
      const hash = await w.finalize(id);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Fraud);
      expect((await w.events(hash, w.challenges, "ValidatorSlashed")).map((e) => e.validator)).to.deep.equal([
        V[0].address,
        V[3].address,
      ]);
    });

    it("pays the finder's fee to at most MAX_REPORTERS, only to accusers", async () => {
      const w = await load();
      expect(await w.challenges.read.MAX_REPORTERS()).to.equal(16n);
      const id = await submit(w, 100n, 9000);
      const before = await balances(
        w,
        w.V.map((v) => v.address),
      );
      // a unanimous committee: all four accuse, nobody is left for a second phase: the last reveal judges
      await w.audit(
        id,
        R,
        w.V.map((v, i) => ({ v, verdict: Verdict.Invalid, segment: i })),
      );
      const judged = await w.finalize(id);
      const [f] = await w.events(judged, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Fraud);
      // the fee waits in the hold until its release, after the dispute window (nobody overruled)
      const [held] = await w.events(judged, w.staking, "SlashHeld");
      const T = held.operator as Address;
      const reporters = held.reporters as Address[];
      const releaseAt = held.releaseAt as bigint;
      const release = (who: Address[]) => w.staking.write.releaseHeld([w.challenges.address, id, T, who]);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(release(reporters), w.staking, "HoldNotDue", [
        w.challenges.address,
        id,
        T,
        releaseAt,
      ]);
      await w.to(releaseAt);
      // the reporters are those of the slash, checked by their hash: a releaser cannot pay itself
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        release([...reporters.slice(1), w.X.address]),
        w.staking,
        "ReportersMismatch",
        [w.challenges.address, id, T],
      );
      await release(reporters);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(release(reporters), w.staking, "NothingHeld", [
        w.challenges.address,
        id,
        T,
      ]);
      expect(await w.staking.read.heldTokens()).to.equal(0n);
      const after = await balances(
        w,
        w.V.map((v) => v.address),
      );
      const s = expectedSlash(E("0.5"), 4);
      expect(after.map((b, i) => b - before[i])).to.deep.equal([s.each, s.each, s.each, s.each]);
    });

    it("acquits a run whose accusation the other members refute: the false accuser loses its points", async () => {
      const w = await load();
      const { V } = w;
      const id = await submit(w, 100n, 9000);
      const votes: Vote[] = [
        { v: V[0], verdict: Verdict.Valid, score: 9000 },
        { v: V[1], verdict: Verdict.Invalid, segment: 3 },
        { v: V[2], verdict: Verdict.Valid, score: 9000 },
        { v: V[3], verdict: Verdict.Valid, score: 9000 },
      ];
      await w.audit(id, R, votes);
      await w.replayVote(id, V[0], Verdict.Valid);
      await w.replayVote(id, V[2], Verdict.Valid);
      const hash = await w.replayVote(id, V[3], Verdict.Valid);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f).to.deep.include({ status: Status.Valid, medianScoreBps: 9000 });
      expect((f.trainerPoints as bigint) > 0n).to.equal(true);
      expect(await w.events(hash, w.staking, "Slashed")).to.deep.equal([]);
      expect(
        await points(
          w,
          V.map((v) => v.address),
        ),
      ).to.deep.equal([WEIGHTS[0], 0n, WEIGHTS[2], WEIGHTS[3]]);
    });
  });

  describe("unavailable by quorum (withholding)", () => {
    it("slashes withholdSlash without jail and pays the Unavailable voters", async () => {
      const w = await load();
      const { T, V } = w;
      const id = await submit(w, 100n, 9000);
      const votes: Vote[] = [
        { v: V[0], verdict: Verdict.Valid, score: 9000 },
        { v: V[1], verdict: Verdict.Unavailable },
        { v: V[2], verdict: Verdict.Unavailable },
        { v: V[3], verdict: Verdict.Unavailable },
      ];
      const who = [...V.map((v) => v.address), BURN_ADDRESS];
      const before = await balances(w, who);
      await w.audit(id, R, votes);
      // no accusation: the last reveal judges
      const hash = await w.finalize(id);
      expect(hash).to.equal(await w.judged(id));
      const s = expectedSlash(w.cp.withholdSlash, 3);
      expect(s.active).to.equal(E(325));
      const [slashed] = await w.events(hash, w.staking, "Slashed");
      expect(slashed).to.deep.equal({
        operator: T.address,
        offenceEpoch: R,
        fraction: w.cp.withholdSlash,
        activeAmount: s.active,
        unbondingAmount: s.unbonding,
        finderFee: s.fee,
        burned: s.burned,
      });
      expect(await w.events(hash, w.staking, "Jailed")).to.deep.equal([]);
      expect(await w.staking.read.isActive([T.address])).to.equal(true);
      expect(await poolOf(w, T.address)).to.deep.equal({
        tokens: TRAINER_STAKE - s.active,
        unbonding: TRAINER_UNBONDING - s.unbonding,
      });
      const after = await balances(w, who);
      expect(after.map((b, i) => b - before[i])).to.deep.equal([0n, s.each, s.each, s.each, s.burned]);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f).to.deep.include({ status: Status.Withheld, score: 0n, trainerPoints: 0n });
      expect(
        await points(
          w,
          V.map((v) => v.address),
        ),
      ).to.deep.equal([0n, WEIGHTS[1], WEIGHTS[2], WEIGHTS[3]]);
    });
  });

  describe("a committee that cannot decide", () => {
    const cases: {
      name: string;
      votes: (V: Actor[]) => Vote[];
      reveal?: (v: Vote, V: Actor[]) => boolean;
      replays?: (V: Actor[]) => [Actor, number][];
    }[] = [
      {
        // the accusation and the defence hold 3,500 of 7,000 each: half is not a majority
        name: "an even split of the second phase",
        votes: (V) => [
          { v: V[0], verdict: Verdict.Valid, score: 9000 },
          { v: V[1], verdict: Verdict.Invalid, segment: 1 },
          { v: V[2], verdict: Verdict.Invalid, segment: 1 },
          { v: V[3], verdict: Verdict.Valid, score: 9000 },
        ],
        replays: (V) => [
          [V[0], Verdict.Valid],
          [V[3], Verdict.Valid],
        ],
      },
      {
        name: "Valid and Unavailable each holding half the revealed stake",
        votes: (V) => [
          { v: V[0], verdict: Verdict.Valid, score: 9000 },
          { v: V[1], verdict: Verdict.Unavailable },
          { v: V[2], verdict: Verdict.Unavailable },
          { v: V[3], verdict: Verdict.Valid, score: 9000 },
        ],
      },
      {
        name: "an accusation from fewer than minReveals reveals",
        votes: (V) => V.map((v) => ({ v, verdict: Verdict.Invalid, segment: 1 })),
        reveal: (x, V) => x.v === V[3],
      },
      { name: "an empty committee", votes: () => [] },
    ];
    for (const c of cases) {
      it(`extends the committee into the next round, slashing nothing and awarding no points, on ${c.name}`, async () => {
        const w = await load();
        const id = await submit(w, 100n, 9000);
        const votes = c.votes(w.V);
        const reveal = (x: Vote) => (c.reveal ? c.reveal(x, w.V) : true);
        if (votes.length === 0) await w.to(w.windows(R).revealEnd);
        else await w.audit(id, R, votes, reveal);
        const replays = new Map<Address, number>();
        for (const [v, verdict] of c.replays?.(w.V) ?? []) {
          await w.replayVote(id, v, verdict);
          replays.set(v.address, verdict);
        }
        expect(tally(ballots(w, votes, reveal, replays), w.cp.quorumBps, w.cp.minReveals).verdict).to.equal(
          Verdict.None,
        );
        const accused = votes.some((x) => reveal(x) && x.verdict === Verdict.Invalid);
        if (accused) await w.reach(w.windows(R).replayEnd);
        const hash = await w.finalize(id);
        expect(await w.events(hash, w.challenges, "ChallengeExtended")).to.deep.equal([
          { id, auditRound: R + 2n },
        ]);
        expect(await w.events(hash, w.challenges, "ChallengeFinalized")).to.deep.equal([]);
        expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(0n);
        expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(0n);
        const ch = await w.challenges.read.getChallenge([id]);
        expect([ch.status, ch.extension, ch.auditRound]).to.deep.equal([Status.Submitted, 1, Number(R + 2n)]);
        expect(ch.commitStart).to.equal(w.start(R + 2n));
        // the open challenge keeps its trainer's stake, which is no points
        expect(await w.challenges.read.epochPoints([R, w.T.address])).to.equal(0n);
        expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(0n);
        expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(0n);
        await expectNoSlash(w, hash);
      });
    }

    it("lets the extended committee decide, crediting the epoch its audit round closes", async () => {
      const w = await load();
      const id = await submit(w, 100n, 9000);
      // nobody audits in round R + 1
      await w.to(w.windows(R).revealEnd);
      await w.finalize(id);
      // the validators drawn for round R + 2 (all of them: committeeSize 16) audit
      const votes = w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 9000 }));
      await w.audit(id, R, votes, undefined, 1n);
      const hash = await w.finalize(id);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f).to.deep.include({ status: Status.Valid, round: R });
      // points go to epoch R + 1, whose close follows the audit round R + 2
      expect(await w.challenges.read.epochPoints([R + 1n, w.T.address])).to.equal(f.trainerPoints);
      expect(await w.challenges.read.epochPoints([R, w.T.address])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R + 1n, 2])).to.equal(
        WEIGHTS[0] + WEIGHTS[1] + WEIGHTS[2] + WEIGHTS[3],
      );
    });

    it("adds up an extended challenge's points and the next round's challenge's, both credited to the same epoch", async () => {
      // The round R + 1 challenge's points are kept in its own slot, the extended round R
      // challenge's in the epoch's mapping: an epochPoints that read only one of the two (or a
      // judgment that overwrote the other) would pay the trainer for one of its runs only.
      const w = await load();
      const id = await submit(w, 100n, 9000);
      await w.at(w.start(R + 1n) + 100n);
      await w.T.cm.write.submitResult([R + 1n, ROOT, 9000]);
      const id2 = w.id(w.T, R + 1n);
      await w.to(w.windows(R).revealEnd);
      await w.finalize(id); // nobody audited: extended into audit round R + 2
      const votes = w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 9000 }));
      const win = w.windows(R + 1n);
      await w.reach(win.commitStart);
      for (const vote of votes) for (const c of [id, id2]) await w.commitVote(c, vote);
      await w.reach(win.revealStart);
      for (const vote of votes) for (const c of [id, id2]) await w.revealVote(c, vote);
      await w.reach(win.revealEnd);
      const [f1] = await w.events(await w.finalize(id), w.challenges, "ChallengeFinalized");
      const [f2] = await w.events(await w.finalize(id2), w.challenges, "ChallengeFinalized");
      expect([f1.status, f2.status]).to.deep.equal([Status.Valid, Status.Valid]);
      expect((f1.trainerPoints as bigint) > 0n && (f2.trainerPoints as bigint) > 0n).to.equal(true);
      const both = (f1.trainerPoints as bigint) + (f2.trainerPoints as bigint);
      expect(await w.challenges.read.epochPoints([R + 1n, w.T.address])).to.equal(both);
      expect(await w.challenges.read.epochTotalPoints([R + 1n, 1])).to.equal(both);
      expect(await w.challenges.read.epochPoints([R, w.T.address])).to.equal(0n);
    });

    it("ends NoQuorum, slashing nothing, after maxExtensions extensions", async () => {
      const w = await load();
      const id = await submit(w, 100n, 9000);
      expect(w.cp.maxExtensions).to.equal(3);
      for (let k = 0n; k < 3n; k++) {
        await w.to(w.windows(R, k).revealEnd);
        expect(await w.events(await w.finalize(id), w.challenges, "ChallengeExtended")).to.deep.equal([
          { id, auditRound: R + 2n + k },
        ]);
      }
      await w.to(w.windows(R, 3n).revealEnd);
      const hash = await w.finalize(id);
      expect(await w.events(hash, w.challenges, "ChallengeFinalized")).to.deep.equal([
        {
          id,
          trainer: w.T.address,
          round: R,
          status: Status.NoQuorum,
          score: 0n,
          medianScoreBps: 0,
          trainerPoints: 0n,
        },
      ]);
      // the stake the open challenge kept is gone with the judgment: no points in any epoch
      for (let e = R; e <= R + 4n; e++)
        expect(await w.challenges.read.epochPoints([e, w.T.address])).to.equal(0n);
      await expectNoSlash(w, hash);
    });
  });

  describe("missed", () => {
    it("records a miss after the deadline, and the maxMisses-th miss in a row slashes missSlash, pays the reporter and jails", async () => {
      const w = await load();
      const { T, X } = w;
      expect(w.cp.maxMisses).to.equal(3);
      for (let k = 1n; k <= 3n; k++) {
        const r = R + k - 1n;
        await w.to(w.submitDeadline(r));
        const id = w.id(T, r);
        const before = await balances(w, [X.address, BURN_ADDRESS]);
        const hash = await X.cm.write.reportMissed([T.address, r]);
        expect(await w.events(hash, w.challenges, "ChallengeMissed")).to.deep.equal([
          { id, trainer: T.address, round: r, misses: k },
        ]);
        const c = await w.challenges.read.getChallenge([id]);
        expect([c.status, c.trainer, BigInt(c.round)]).to.deep.equal([Status.Missed, T.address, r]);
        await conn.viem.assertions.revertWithCustomErrorWithArgs(
          X.cm.write.reportMissed([T.address, r]),
          w.challenges,
          "AlreadySubmitted",
          [id],
        );
        if (k < 3n) {
          expect(await w.challenges.read.misses([T.address])).to.equal(k);
          expect(await w.events(hash, w.staking, "Slashed")).to.deep.equal([]);
          continue;
        }
        expect(await w.challenges.read.misses([T.address])).to.equal(0n);
        const s = expectedSlash(w.cp.missSlash, 1);
        expect(await w.events(hash, w.staking, "Slashed")).to.deep.equal([
          {
            operator: T.address,
            offenceEpoch: r,
            fraction: w.cp.missSlash,
            activeAmount: s.active,
            unbondingAmount: s.unbonding,
            finderFee: s.fee,
            burned: s.burned,
          },
        ]);
        const after = await balances(w, [X.address, BURN_ADDRESS]);
        expect([after[0] - before[0], after[1] - before[1]]).to.deep.equal([s.each, s.burned]);
        expect(await w.staking.read.isActive([T.address])).to.equal(false);
        await w.to(w.start(r + 1n));
      }
      // a missed round earns nothing
      for (let r = R; r < R + 3n; r++) expect(await w.challenges.read.epochTotalPoints([r, 1])).to.equal(0n);
    });

    it("counts only misses in a row: a submission resets the count", async () => {
      const w = await load();
      const { T, X } = w;
      await w.to(w.submitDeadline(R));
      await X.cm.write.reportMissed([T.address, R]);
      expect(await w.challenges.read.misses([T.address])).to.equal(1n);
      await w.at(w.start(R + 1n) + 60n);
      await T.cm.write.submitResult([R + 1n, ROOT, 8000]);
      expect(await w.challenges.read.misses([T.address])).to.equal(0n);
      await w.to(w.submitDeadline(R + 2n));
      await X.cm.write.reportMissed([T.address, R + 2n]);
      expect(await w.challenges.read.misses([T.address])).to.equal(1n);
    });

    it("does not let a report replace a submitted result", async () => {
      const w = await load();
      const { T, X } = w;
      const id = await submit(w, 10n, 8000);
      await w.to(w.submitDeadline(R));
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        X.cm.write.reportMissed([T.address, R]),
        w.challenges,
        "AlreadySubmitted",
        [id],
      );
    });
  });

  describe("late", () => {
    it("refuses a result one second after the deadline; the round is then a miss", async () => {
      const w = await load();
      const { T, X } = w;
      const deadline = w.submitDeadline(R);
      await w.at(deadline + 1n);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        T.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "DeadlinePassed",
        [deadline, deadline + 1n],
      );
      await X.cm.write.reportMissed([T.address, R]);
      expect((await w.challenges.read.getChallenge([w.id(T, R)])).status).to.equal(Status.Missed);
      // and a reported round stays missed
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        T.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "AlreadySubmitted",
        [w.id(T, R)],
      );
    });

    it("judges a challenge finalized after its epoch closed but awards no points", async () => {
      const w = await load();
      const id = await submit(w, 100n, 8000);
      // V3 does not reveal, so the last reveal does not judge
      await w.audit(
        id,
        R,
        w.V.map((v) => ({ v, verdict: Verdict.Valid, score: 8000 })),
        (x) => x.v !== w.V[3],
      );
      const closes = await w.challenges.read.epochClosesAt([R]);
      await w.at(closes + 1n);
      const hash = await w.challenges.write.finalize([id]);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Valid);
      expect((f.score as bigint) > 0n).to.equal(true);
      expect(f.trainerPoints).to.equal(0n);
      expect(await w.events(hash, w.challenges, "LateFinalization")).to.deep.equal([{ id, epoch: R }]);
      expect(await w.challenges.read.epochPoints([R, w.T.address])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R, 1])).to.equal(0n);
      expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(0n);
      expect(await w.challenges.read.isEpochFinal([R])).to.equal(true);
    });

    it("still slashes and jails a fraud finalized after its epoch closed", async () => {
      const w = await load();
      const id = await submit(w, 100n, 8000);
      // V3 does not reveal: the last reveal does not judge
      await w.audit(
        id,
        R,
        w.V.map((v) => ({ v, verdict: Verdict.Invalid, segment: 0 })),
        (x) => x.v !== w.V[3],
      );
      await w.at((await w.challenges.read.epochClosesAt([R])) + DAYS(1));
      const hash = await w.challenges.write.finalize([id]);
      expect(await w.events(hash, w.staking, "SlashHeld")).to.have.length(1);
      expect(await w.staking.read.isActive([w.T.address])).to.equal(false);
      expect(await w.challenges.read.epochTotalPoints([R, 2])).to.equal(0n);
    });

    it("slashes nothing once slashWindow has passed since the round's start: the stake may have unbonded", async () => {
      // A naive judgment that slashes whenever it is finalized reaches stake that left after the
      // unbonding period; this one records the fraud and takes nothing.
      const w = await load();
      const id = await submit(w, 100n, 8000);
      await w.audit(
        id,
        R,
        w.V.map((v) => ({ v, verdict: Verdict.Invalid, segment: 0 })),
        (x) => x.v !== w.V[3],
      );
      const window = await w.challenges.read.slashWindow();
      await w.at(w.start(R) + window + 1n);
      const hash = await w.challenges.write.finalize([id]);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Fraud);
      expect(await w.events(hash, w.staking, "Slashed")).to.deep.equal([]);
    });
  });
});

const DAYS = (n: number) => BigInt(n * DAY);
