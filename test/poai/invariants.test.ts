/**
 * Stateful random test of the challenge protocol. fast-check draws a plan of several rounds for
 * four trainers (honest, fraudulent, withholding, absent or late; reporting an accurate or a wrong
 * accuracy), six validators of unequal stake (honest, lazy, silent after committing, lying,
 * measuring slightly off, or honest but whose samples missed the forged segments; contributing to
 * the beacon, withholding its reveal, or not taking part; a withheld reveal reported before or
 * after the withholder's next commitment takes its slot) and a delegator who moves stake between
 * rounds. The actions run in time order on the chain, and a ghost model written from the protocol
 * rules predicts every outcome: which call succeeds or fails with which error, committee
 * membership (sortition recomputed, extended committees included), each judgment (the second
 * phase, quorum, extensions, weighted median, latency and deviation factors, score band) and when
 * it happens (the last reveal, the last second-phase vote, or finalize), every slash (fraud,
 * withholding, a Valid vote standing on a fraud, a withheld beacon reveal), finder's fee and jail,
 * the miss counter (a round spent in jail is never due), and the points.
 *
 * Invariants checked after every action and at the end of each run:
 *  - a challenge is judged at most once, and its status never leaves a final state;
 *  - nothing is slashed without a decided verdict (fraud, withholding), a member's Valid vote
 *    standing on a proven fraud, a withheld beacon reveal, or the maxMisses-th miss: every pool's
 *    tokens equal the model's after every action;
 *  - an honest majority decides: when the members voting on an accusation by the replay's truth
 *    hold a majority of the voting stake among at least minReveals of them, the verdict is the
 *    truth (fraud for a forged run, never fraud for an honest one);
 *  - the points of an epoch equal the sum over the challenges judged by the close of their last
 *    audit round of stake x score (trainers) and weight per agreeing member (validators),
 *    recomputed here;
 *  - each role's epoch total equals the sum of its operators' epoch points.
 *
 * POAI_INVARIANT_RUNS, POAI_INVARIANT_ROUNDS and POAI_INVARIANT_SEED override the number of runs,
 * of rounds per run and the seed.
 */
import { expect } from "chai";
import { network } from "hardhat";
import fc from "fast-check";
import { encodeAbiParameters, keccak256, toHex, type Abi, type Address, type Hex } from "viem";
import {
  agrees,
  challengeScore,
  statusOf,
  tally,
  vouchedForFraud,
  weightOf,
  type Ballot,
} from "./helpers/judgment.js";
import { attempt, outcomeName, type Outcome } from "./helpers/outcome.js";
import {
  BPS,
  BURN_ADDRESS,
  DAY,
  E,
  SPEC,
  Status,
  Verdict,
  WAD,
  ceilDiv,
  deployWorld,
  minOf,
  saltOf,
  type Actor,
  type Connection,
  type SpecParams,
  type Vote,
  type World,
} from "./helpers/world.js";

const RUNS = Number(process.env.POAI_INVARIANT_RUNS ?? 16);
const SEED = Number(process.env.POAI_INVARIANT_SEED ?? 20_261_122);
const ROUNDS = Number(process.env.POAI_INVARIANT_ROUNDS ?? 6); // rounds with challenges; one more audits the last
const L = BigInt(DAY);
const HOUR = 3600n;
const TRAINER_STAKES = [E(5000), E(8000), E(3000), E(12000)];
const VALIDATOR_STAKES = [E(500), E(800), E(1000), E(1500), E(2500), E(4000)];
/** Two active specs: a 6 h deadline with any accuracy, and a 20 h deadline (capped at mid-round) with a band. */
const SPECS: { params: SpecParams }[] = [
  { params: { responseDeadline: 6 * 3600, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 2 } },
  { params: { responseDeadline: 20 * 3600, minScoreBps: 7000, maxScoreBps: 9500, auditSamples: 2 } },
];

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

type TrainerKind = "honest" | "fraud" | "withhold" | "absent" | "late";
type VoteKind = "honest" | "lazy" | "silent" | "liar" | "sloppy" | "missed";
type TrainerPlan = {
  kind: TrainerKind;
  trueScore: number;
  deviation: number;
  latency: number; // fraction of the time the trainer has
  finalizeLate: boolean;
  twice: boolean;
};
type VotePlan = { kind: VoteKind; off: number; segment: number; at: number };
type RoundPlan = {
  trainers: TrainerPlan[];
  votes: VotePlan[][]; // [trainer][validator]
  beacon: ("none" | "commit" | "reveal")[]; // [validator]: "commit" withholds its reveal
  delegations: { to: number; amount: number; at: number }[];
  probeCommittee: boolean;
  doubleFinalize: boolean;
  unjail: boolean;
  /** When the round's withheld beacon reveals are reported: 0 at its start, before any commitment
   * to the next round; later, after the withholders' next commitments took their slots. */
  reportsAt: number;
};

const weighted = <T>(...xs: [T, number][]) =>
  fc.oneof(...xs.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));

const trainerPlan: fc.Arbitrary<TrainerPlan> = fc.record({
  kind: weighted<TrainerKind>(["honest", 50], ["fraud", 12], ["withhold", 10], ["absent", 16], ["late", 12]),
  trueScore: fc.integer({ min: 6000, max: 9800 }),
  deviation: fc.oneof(
    { arbitrary: fc.constant(0), weight: 4 },
    { arbitrary: fc.integer({ min: -300, max: 300 }), weight: 4 },
    { arbitrary: fc.integer({ min: -700, max: 700 }), weight: 2 },
  ),
  latency: fc.double({ min: 0, max: 1, noNaN: true }),
  finalizeLate: fc.constant(false), // drawn with its own weight in the round plan
  twice: fc.boolean(),
});
const votePlan: fc.Arbitrary<VotePlan> = fc.record({
  kind: weighted<VoteKind>(
    ["honest", 48],
    ["lazy", 8],
    ["silent", 8],
    ["liar", 12],
    ["sloppy", 8],
    ["missed", 16],
  ),
  off: fc.integer({ min: -300, max: 300 }).filter((x) => x !== 0),
  segment: fc.integer({ min: 0, max: 9 }),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
});
const roundPlan: fc.Arbitrary<RoundPlan> = fc.record({
  trainers: fc.array(
    fc
      .tuple(trainerPlan, weighted(["on time", 4], ["late", 1]))
      .map(([t, f]) => ({ ...t, finalizeLate: f === "late" })),
    { minLength: 4, maxLength: 4 },
  ),
  votes: fc.array(fc.array(votePlan, { minLength: 6, maxLength: 6 }), { minLength: 4, maxLength: 4 }),
  beacon: fc.array(weighted<"none" | "commit" | "reveal">(["none", 3], ["commit", 1], ["reveal", 4]), {
    minLength: 6,
    maxLength: 6,
  }),
  delegations: fc.array(
    fc.record({
      to: fc.integer({ min: 0, max: 9 }),
      amount: fc.integer({ min: 100, max: 3000 }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    { maxLength: 2 },
  ),
  probeCommittee: fc.boolean(),
  doubleFinalize: fc.boolean(),
  unjail: fc.boolean(),
  reportsAt: fc.oneof(
    { arbitrary: fc.constant(0), weight: 1 },
    { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }), weight: 3 },
  ),
});

// ---------------------------------------------------------------------------------------------
// The ghost model
// ---------------------------------------------------------------------------------------------

type GhostOp = {
  actor: Actor;
  role: 1 | 2;
  tokens: bigint;
  shares: bigint;
  selfShares: bigint;
  jailed: boolean;
  jailedUntil: bigint;
  unjailedAt: bigint;
};
/** `band`: the member's sortition band when it committed (`Sortition.band`; 0 for the first draw). */
type Member = { vote: Vote; plan: VotePlan; revealed: boolean; replay: number; band: bigint };
type GhostChallenge = {
  id: Hex;
  trainer: Actor;
  round: bigint;
  status: number;
  latency: bigint;
  reported: number;
  spec: number;
  members: Member[];
  committed: Set<Address>;
  finalizations: number;
  plan: TrainerPlan;
  votes: VotePlan[];
  extension: bigint;
};

describe("ChallengeManager stateful invariants", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployWorld(conn, {
      trainers: TRAINER_STAKES,
      validators: VALIDATOR_STAKES,
      outsiders: 2,
      // the model draws each committee from every validator (`Sortition.band`): no round pool
      // (`poolSeats` 0); the pool's draw is pinned in attacks.test.ts and test/sdk
      challenge: { committeeSize: 4, maxMisses: 2, poolSeats: 0 },
      specs: SPECS.map((s, i) => ({ spec: { ...SPEC, evalSize: 64 + i }, params: s.params })),
    });
    return w;
  }

  it(`keeps every invariant over ${RUNS} random runs of ${ROUNDS} rounds`, async () => {
    const stats = new Map<string, number>();
    const count = (k: string) => stats.set(k, (stats.get(k) ?? 0) + 1);
    await fc.assert(
      fc.asyncProperty(fc.array(roundPlan, { minLength: ROUNDS, maxLength: ROUNDS }), async (plan) => {
        const w = await conn.networkHelpers.loadFixture(fixture);
        await run(w, plan, count);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // the runs reached every outcome the invariants are about
    for (const k of [
      "status Valid",
      "status Fraud",
      "status Withheld",
      "status Missed",
      "points",
      "jail",
      "judged by a reveal",
      "judged by a second-phase vote",
      "second-phase vote",
      "extended",
      "voucher slashed",
      "withheld beacon slashed",
      "withheld reveal reported after the next commitment",
      "withheld beacon slashed after the next commitment",
    ]) {
      expect(stats.get(k) ?? 0, `runs reached "${k}" (${JSON.stringify([...stats])})`).to.be.greaterThan(0);
    }
    console.log(`      outcomes: ${[...stats].map(([k, v]) => `${k} ${v}`).join(", ")}`);
  });

  async function run(w: World, plan: RoundPlan[], count: (k: string) => void) {
    const [D, X] = w.outsiders; // delegator, reporter
    const abi = [...w.challenges.abi, ...w.staking.abi, ...w.beacon.abi, ...w.registry.abi] as Abi;
    const cp = w.cp;
    const sp = await w.staking.read.params();

    // --- ghost state ----------------------------------------------------------------------
    const ops = new Map<Address, GhostOp>();
    for (const [i, t] of w.trainers.entries()) {
      const s = TRAINER_STAKES[i];
      ops.set(t.address, {
        actor: t,
        role: 1,
        tokens: s,
        shares: s,
        selfShares: s,
        jailed: false,
        jailedUntil: 0n,
        unjailedAt: 0n,
      });
    }
    for (const [i, v] of w.validators.entries()) {
      const s = VALIDATOR_STAKES[i];
      ops.set(v.address, {
        actor: v,
        role: 2,
        tokens: s,
        shares: s,
        selfShares: s,
        jailed: false,
        jailedUntil: 0n,
        unjailedAt: 0n,
      });
    }
    const stakes = new Map<bigint, Map<Address, bigint>>(); // stake at each round's start
    const challenges = new Map<Hex, GhostChallenge>();
    const points = new Map<string, bigint>();
    const misses = new Map<Address, number>();
    const watched: Address[] = [...w.validators.map((v) => v.address), X.address, BURN_ADDRESS];
    const balances = new Map<Address, bigint>();
    for (const a of watched) balances.set(a, await w.token.read.balanceOf([a]));
    const missedReveals = new Map<Address, bigint>();
    const beaconCommits = new Map<bigint, Set<Address>>(); // round -> committed validators
    const beaconReveals = new Map<bigint, Set<Address>>();

    const op = (a: Address) => ops.get(a)!;
    const key = (epoch: bigint, a: Address) => `${epoch}:${a}`;
    const addPoints = (epoch: bigint, a: Address, p: bigint) => {
      if (p === 0n) return;
      points.set(key(epoch, a), (points.get(key(epoch, a)) ?? 0n) + p);
      count("points");
    };
    const selfStake = (o: GhostOp) => (o.shares === 0n ? 0n : (o.selfShares * o.tokens) / o.shares);
    const minStake = (o: GhostOp) => (o.role === 1 ? sp.minTrainerStake : sp.minValidatorStake);
    const active = (o: GhostOp) => !o.jailed && selfStake(o) >= minStake(o);
    const stakeAt = (a: Address, r: bigint) => stakes.get(r)!.get(a)!;
    // Staking counts in its role's total only the stake of active operators (not jailed, self-stake
    // at least the role's minimum), as it was at the round's start.
    const countedAt = new Map<bigint, Set<Address>>();
    const roleStakeAt = (r: bigint) =>
      w.validators.reduce((s, v) => s + (countedAt.get(r)!.has(v.address) ? stakeAt(v.address, r) : 0n), 0n);
    // a round the trainer spent in jail up to its deadline is never due
    const due = (t: Actor, r: bigint) =>
      active(op(t.address)) &&
      stakeAt(t.address, r) >= sp.minTrainerStake &&
      op(t.address).unjailedAt <= deadlineOf(r, specOf(t, r));
    const deadlineOf = (r: bigint, spec: number) => {
      const d = BigInt(SPECS[spec].params.responseDeadline);
      const cap = L / 2n - 1n;
      return w.start(r) + (d < cap ? d : cap);
    };
    const windows = (r: bigint, extension = 0n) => w.windows(r, extension);
    const auditRound = (c: GhostChallenge) => c.round + 1n + c.extension;
    const withheld = new Set<string>(); // `${round}:${validator}` slashed for a withheld beacon reveal

    // what Staking holds of the fraud slashes through their dispute window (`slashHeld`)
    let held = 0n;
    const slash = (
      trainer: Address,
      fraction: bigint,
      reporters: Address[],
      jail: boolean,
      now: bigint,
      hold = false,
    ) => {
      const o = op(trainer);
      const f = minOf(fraction, sp.maxSlashFraction);
      const cut = ceilDiv(o.tokens * f, WAD);
      o.tokens -= cut;
      if (hold) held += cut;
      const each = hold
        ? 0n
        : reporters.length === 0
          ? 0n
          : (cut * BigInt(sp.finderFeeBps)) / BPS / BigInt(reporters.length);
      for (const r of reporters) balances.set(r, balances.get(r)! + each);
      if (!hold)
        balances.set(BURN_ADDRESS, balances.get(BURN_ADDRESS)! + cut - each * BigInt(reporters.length));
      if (jail) {
        o.jailed = true;
        o.jailedUntil = now + BigInt(sp.jailCooldown);
        count("jail");
      }
      count("slash");
    };

    // --- the chain's clock ------------------------------------------------------------------
    let clock = await w.latest();
    /** Runs `write` in a block stamped `t` (or the next free second); returns its outcome and time. */
    const exec = async (t: bigint, write: () => Promise<Hex>) => {
      const at = t > clock ? t : clock + 1n;
      await conn.networkHelpers.time.setNextBlockTimestamp(at);
      const o = await attempt(write, abi);
      if (o.ok) clock = at;
      return { o, at };
    };
    const expectOutcome = (o: Outcome, expected: string, what: string) =>
      expect(outcomeName(o), `${what}: ${o.ok ? "ok" : `${o.error}(${o.args.join(", ")})`}`).to.equal(
        expected,
      );

    /** Pools, balances and the miss counters equal the model's. */
    const checkState = async (what: string) => {
      for (const [a, o] of ops) {
        const pool = await w.staking.read.getPool([a]);
        expect(pool.tokens, `${what}: pool of ${a}`).to.equal(o.tokens);
        expect((await w.staking.read.operatorRecord([a])).jailed, `${what}: jail of ${a}`).to.equal(o.jailed);
      }
      for (const a of watched)
        expect(await w.token.read.balanceOf([a]), `${what}: balance of ${a}`).to.equal(balances.get(a));
      expect(await w.staking.read.heldTokens(), `${what}: held slashes`).to.equal(held);
      for (const t of w.trainers) {
        expect(await w.challenges.read.misses([t.address]), `${what}: misses of ${t.address}`).to.equal(
          BigInt(misses.get(t.address) ?? 0),
        );
      }
    };
    /** On-chain points equal the model's, and each role's total is the sum of its operators' points. */
    const checkPoints = async (epoch: bigint) => {
      const totals = [0n, 0n, 0n];
      for (const [a, o] of ops) {
        const p = await w.challenges.read.epochPoints([epoch, a]);
        expect(p, `points of ${a} in epoch ${epoch}`).to.equal(points.get(key(epoch, a)) ?? 0n);
        totals[o.role] += p;
      }
      expect(await w.challenges.read.epochTotalPoints([epoch, 1]), `trainer total, epoch ${epoch}`).to.equal(
        totals[1],
      );
      expect(
        await w.challenges.read.epochTotalPoints([epoch, 2]),
        `validator total, epoch ${epoch}`,
      ).to.equal(totals[2]);
    };

    /** Sortition from its definition: selected with probability min(1, size x stake / total). */
    const selected = async (c: GhostChallenge, v: Actor) => {
      const value = await w.beacon.read.valueOf([auditRound(c)]);
      const seed = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [value, c.id]));
      const stake = stakeAt(v.address, c.round);
      const total = roleStakeAt(c.round);
      const size = BigInt(cp.committeeSize);
      let mine: boolean;
      if (stake === 0n) mine = false;
      else if (size * stake >= total) mine = true;
      else {
        const draw = BigInt(
          keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [seed, v.address])),
        );
        mine = draw < ((2n ** 256n - 1n) * size * stake) / total;
      }
      expect(await w.challenges.read.isCommitteeMember([c.id, v.address]), "isCommitteeMember").to.equal(
        mine,
      );
      return mine;
    };

    /** `Sortition.band` from its definition: 0 below the first threshold, then slices of one expected member. */
    const bandOf = async (c: GhostChallenge, v: Actor) => {
      const value = await w.beacon.read.valueOf([auditRound(c)]);
      const seed = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [value, c.id]));
      const stake = stakeAt(v.address, c.round);
      const total = roleStakeAt(c.round);
      const size = BigInt(cp.committeeSize);
      const max = 2n ** 256n - 1n;
      if (stake === 0n || total === 0n) return max;
      if (size * stake >= total) return 0n;
      const draw = BigInt(
        keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [seed, v.address])),
      );
      const first = (max * size * stake) / total;
      return draw < first ? 0n : (draw - first) / ((max * stake) / total) + 1n;
    };

    const voteOf = (c: GhostChallenge, v: Actor, p: VotePlan): Vote => {
      const salt = saltOf(v.address, c.id);
      const truth =
        c.plan.kind === "fraud"
          ? Verdict.Invalid
          : c.plan.kind === "withhold"
            ? Verdict.Unavailable
            : Verdict.Valid;
      const valid = (score: number): Vote => ({
        v,
        verdict: Verdict.Valid,
        score: Math.min(10_000, Math.max(0, score)),
        salt,
      });
      switch (p.kind) {
        case "missed": // an honest member whose samples hold no forged segment: Valid, until the second phase
          return truth === Verdict.Invalid
            ? valid(c.plan.trueScore)
            : truth === Verdict.Valid
              ? valid(c.plan.trueScore)
              : { v, verdict: truth, segment: p.segment, salt };
        case "liar":
          return truth === Verdict.Valid
            ? { v, verdict: Verdict.Invalid, segment: p.segment, salt }
            : valid(c.plan.trueScore);
        case "sloppy":
          return truth === Verdict.Valid
            ? valid(c.plan.trueScore + p.off)
            : { v, verdict: truth, segment: p.segment, salt };
        default:
          return truth === Verdict.Valid
            ? valid(c.plan.trueScore)
            : { v, verdict: truth, segment: p.segment, salt };
      }
    };

    // --- actions ------------------------------------------------------------------------------
    type Action = { t: bigint; name: string; run: () => Promise<void> };

    /** The truth of a run, and what a member that replays the named segments votes. */
    const truthOf = (c: GhostChallenge) =>
      c.plan.kind === "fraud"
        ? Verdict.Invalid
        : c.plan.kind === "withhold"
          ? Verdict.Unavailable
          : Verdict.Valid;
    const replayOf = (c: GhostChallenge, m: Member) => {
      const t = truthOf(c);
      if (m.plan.kind === "liar") return t === Verdict.Invalid ? Verdict.Valid : Verdict.Invalid;
      return t; // a withholding trainer does not serve the named segments either: Unavailable
    };
    const accusedNow = (c: GhostChallenge) =>
      c.members.some((m) => m.revealed && m.vote.verdict === Verdict.Invalid);
    /** Every member that revealed has voted in the second phase (an accuser's reveal is its vote). */
    const allVoted = (c: GhostChallenge) =>
      c.members.every((x) => !x.revealed || x.replay !== Verdict.None || x.vote.verdict === Verdict.Invalid);

    const submitAction = (
      t: Actor,
      r: bigint,
      p: TrainerPlan,
      votes: VotePlan[],
      when: bigint,
      attempt2 = false,
    ): Action => ({
      t: when,
      name: `submit ${t.address} r${r}`,
      run: async () => {
        const reported = Math.min(10_000, Math.max(0, p.trueScore + p.deviation));
        const id = w.id(t, r);
        const { o, at } = await exec(when, () =>
          t.cm.write.submitResult([r, keccak256(toHex(`${id}`)), reported]),
        );
        const c = challenges.get(id);
        let expected = "ok";
        if (!due(t, r)) expected = "NotDue";
        else if (c !== undefined) expected = "AlreadySubmitted";
        else if (at > deadlineOf(r, specOf(t, r))) expected = "DeadlinePassed";
        expectOutcome(o, expected, `submit r${r} at +${at - w.start(r)}s${attempt2 ? " (again)" : ""}`);
        if (!o.ok) {
          if (expected === "NotDue" && op(t.address).unjailedAt > w.start(r) && active(op(t.address)))
            count("not due after a jail");
          return;
        }
        misses.set(t.address, 0);
        challenges.set(id, {
          id,
          trainer: t,
          round: r,
          status: Status.Submitted,
          latency: at - w.start(r),
          reported,
          spec: specOf(t, r),
          members: [],
          committed: new Set(),
          finalizations: 0,
          plan: p,
          votes,
          extension: 0n,
        });
        count("submitted");
      },
    });

    const reportAction = (t: Actor, r: bigint, when: bigint): Action => ({
      t: when,
      name: `reportMissed ${t.address} r${r}`,
      run: async () => {
        const id = w.id(t, r);
        const { o, at } = await exec(when, () => X.cm.write.reportMissed([t.address, r]));
        let expected = "ok";
        if (challenges.has(id)) expected = "AlreadySubmitted";
        else if (!due(t, r)) expected = "NotDue";
        else if (at <= deadlineOf(r, specOf(t, r))) expected = "DeadlineNotPassed";
        else if (at > windows(r).closes) expected = "ReportTooLate";
        expectOutcome(o, expected, `reportMissed r${r}`);
        if (!o.ok) return;
        challenges.set(id, {
          id,
          trainer: t,
          round: r,
          status: Status.Missed,
          latency: 0n,
          reported: 0,
          spec: specOf(t, r),
          members: [],
          committed: new Set(),
          finalizations: 0,
          plan: { kind: "absent", trueScore: 0, deviation: 0, latency: 0, finalizeLate: false, twice: false },
          votes: [],
          extension: 0n,
        });
        count("status Missed");
        const n = (misses.get(t.address) ?? 0) + 1;
        if (n >= cp.maxMisses) {
          misses.set(t.address, 0);
          slash(t.address, cp.missSlash, [X.address], true, at);
        } else misses.set(t.address, n);
        await checkState(`after reportMissed r${r}`);
      },
    });

    /**
     * The judgment, in the transaction `hash` at `at`: the model's tally, an extension when the
     * committee cannot decide, or the final status with its points and slashes.
     */
    const judge = async (c: GhostChallenge, at: bigint, hash: Hex, how: string) => {
      const total = roleStakeAt(c.round); // committee stakes are taken at the start of the challenge's round
      const ballots: Ballot[] = c.members.map((m) => ({
        verdict: m.vote.verdict,
        replay: m.replay,
        scoreBps: m.vote.score ?? 0,
        weight: m.revealed ? weightOf(stakeAt(m.vote.v.address, c.round), total) : 0n,
      }));
      const out = tally(ballots, cp.quorumBps, cp.minReveals);
      const what = `judgment (${how}) of a ${c.plan.kind} trainer, ballots ${JSON.stringify(ballots, (_, x) => (typeof x === "bigint" ? `${x}` : x))}`;
      // An honest majority of the voting stake decides an accusation.
      if (out.accused) {
        const voting = ballots
          .map((b, i) => ({ b, kind: c.members[i].plan.kind }))
          .filter(
            ({ b }) =>
              b.weight > 0n &&
              (b.replay === Verdict.Invalid ||
                b.replay === Verdict.Unavailable ||
                b.replay === Verdict.Valid ||
                ((b.replay ?? 0) === 0 && b.verdict === Verdict.Invalid)),
          );
        const stake = voting.reduce((x, { b }) => x + b.weight, 0n);
        const honest = voting.filter(({ kind }) => kind !== "liar").reduce((x, { b }) => x + b.weight, 0n);
        if (voting.length >= cp.minReveals && honest * 2n > stake) {
          if (c.plan.kind === "fraud") {
            expect(out.verdict, `an honest majority convicts a forger: ${what}`).to.equal(Verdict.Invalid);
            count("honest majority convicted");
          } else if (c.plan.kind === "honest") {
            expect(out.verdict, `an honest majority acquits an honest run: ${what}`).to.not.equal(
              Verdict.Invalid,
            );
          }
        }
      }
      if (out.verdict === Verdict.None) {
        const a = auditRound(c);
        let next = a + 1n;
        const current = (at - w.genesis) / L;
        if (current >= next) next = at < w.start(current) + BigInt(cp.commitWindow) ? current : current + 1n;
        if (next - c.round - 1n <= BigInt(cp.maxExtensions)) {
          c.extension = next - c.round - 1n;
          expect(await w.events(hash, w.challenges, "ChallengeExtended"), what).to.deep.equal([
            { id: c.id, auditRound: next },
          ]);
          expect(await w.events(hash, w.challenges, "ChallengeFinalized")).to.deep.equal([]);
          expect((await w.challenges.read.getChallenge([c.id])).extension).to.equal(Number(c.extension));
          count("extended");
          await checkState(`after an extension`);
          return;
        }
      }
      c.finalizations++;
      expect(c.finalizations, "a challenge is judged at most once").to.equal(1);
      const status = statusOf(out);
      let score = 0n;
      if (status === Status.Valid) {
        const p = SPECS[c.spec].params;
        const span = deadlineOf(c.round, c.spec) - w.start(c.round);
        score = challengeScore({
          medianScoreBps: out.medianScoreBps,
          reportedScoreBps: c.reported,
          latency: c.latency,
          span,
          minScoreBps: p.minScoreBps,
          maxScoreBps: p.maxScoreBps,
          maxDeviationBps: cp.maxDeviationBps,
        });
      }
      // points go to the epoch whose close follows the last audit round
      const epoch = auditRound(c) - 1n;
      let trainerPoints = 0n;
      if (at <= windows(c.round, c.extension).closes) {
        trainerPoints = (stakeAt(c.trainer.address, c.round) * score) / WAD;
        addPoints(epoch, c.trainer.address, trainerPoints);
        if (status !== Status.NoQuorum) {
          for (const [i, b] of ballots.entries()) {
            if (agrees(b, out, cp.scoreToleranceBps)) addPoints(epoch, c.members[i].vote.v.address, b.weight);
          }
        }
      } else count("late finalization");
      const [e] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect([e.status, e.score, e.medianScoreBps, e.trainerPoints], what).to.deep.equal([
        status,
        score,
        out.medianScoreBps,
        trainerPoints,
      ]);
      c.status = status;
      count(`status ${Object.keys(Status).find((k) => Status[k as keyof typeof Status] === status)}`);
      count(`judged by ${how}`);
      const slashes = [
        ...(await w.events(hash, w.staking, "Slashed")),
        ...(await w.events(hash, w.staking, "SlashHeld")),
      ];
      // no slash later than slashWindow after the round's start (the stake may have unbonded)
      const slashWindow =
        (1n + BigInt(cp.maxExtensions)) * L +
        BigInt(cp.commitWindow) +
        BigInt(cp.revealWindow) +
        BigInt(cp.finalizeGrace);
      expect(await w.challenges.read.slashWindow()).to.equal(slashWindow);
      if ((status === Status.Fraud || status === Status.Withheld) && at > w.start(c.round) + slashWindow) {
        expect(slashes, "no slash past the slash window").to.deep.equal([]);
        count("judged past the slash window");
      } else if (status === Status.Fraud || status === Status.Withheld) {
        const fraud = status === Status.Fraud;
        const reporters = c.members
          .filter((m, i) =>
            ballots[i].weight === 0n
              ? false
              : fraud
                ? m.vote.verdict === Verdict.Invalid && m.replay !== Verdict.Valid
                : (m.replay !== Verdict.None ? m.replay : m.vote.verdict) === Verdict.Unavailable,
          )
          .map((m) => m.vote.v.address)
          .slice(0, 16);
        slash(c.trainer.address, fraud ? cp.fraudSlash : cp.withholdSlash, reporters, fraud, at, fraud);
        let expected = 1;
        if (fraud) {
          for (const [i, b] of ballots.entries()) {
            if (!vouchedForFraud(b, out)) continue;
            slash(c.members[i].vote.v.address, cp.verdictSlash, [], false, at, true);
            count("voucher slashed");
            expected++;
          }
        }
        expect(slashes, what).to.have.length(expected);
      } else {
        expect(slashes, "no slash without a verdict").to.deep.equal([]);
      }
      expect((await w.challenges.read.getChallenge([c.id])).status).to.equal(status);
      await checkState(`after a judgment`);
      await checkPoints(epoch);
    };

    const commitAction = (c: GhostChallenge, v: Actor, p: VotePlan, when: bigint, probe = false): Action => ({
      t: when,
      name: `commit ${v.address} ${c.id}`,
      run: async () => {
        const vote = voteOf(c, v, p);
        if (c.status !== Status.Submitted && !probe) return;
        const mine = c.status === Status.Submitted ? await selected(c, v) : false;
        if ((!mine || c.committed.has(v.address)) && !probe) return; // an honest validator does not try
        // A probe from outside the first draw may be a top-up band (`TOP_UP_BANDS`): admitted from
        // its part of the commit window on while the bands below hold fewer than minReveals members.
        const band = c.status === Status.Submitted ? await bandOf(c, v) : 0n;
        const lower = c.members.filter((m) => (m.revealed ? 0n : m.band) < band).length;
        const { o, at } = await exec(when, () => w.commitVote(c.id, vote));
        const win = windows(c.round, c.extension);
        const topUps = 6n;
        const bandStart = win.commitStart + (band * (win.revealStart - win.commitStart)) / (topUps + 1n);
        let expected = "ok";
        if (c.status !== Status.Submitted) expected = "ChallengeNotOpen";
        else if (at < win.commitStart || at >= win.revealStart) expected = "OutsideWindow";
        else if (band > topUps) expected = "NotInCommittee";
        else if (at < bandStart) expected = "OutsideWindow";
        else if (c.committed.has(v.address)) expected = "AlreadyCommitted";
        else if (band > 0n && lower >= cp.minReveals) expected = "NotInCommittee";
        expectOutcome(o, expected, `commit${probe ? " (probe)" : ""}`);
        if (!o.ok) {
          if (expected === "NotInCommittee") count("not in committee");
          return;
        }
        c.committed.add(v.address);
        c.members.push({ vote, plan: p, revealed: false, replay: Verdict.None, band });
        if (band > 0n) count("top-up member");
        if (c.extension > 0n) count("extended committee member");
      },
    });

    /** `v` opens its commitment, if it is a member of the committee; the last reveal may judge. */
    const revealAction = (c: GhostChallenge, v: Actor, when: bigint): Action => ({
      t: when,
      name: `reveal ${v.address} ${c.id}`,
      run: async () => {
        const m = c.members.find((x) => x.vote.v === v);
        if (m === undefined || m.revealed) return;
        const { o, at } = await exec(when, () => w.revealVote(c.id, m.vote));
        const win = windows(c.round, c.extension);
        let expected = "ok";
        if (c.status !== Status.Submitted) expected = "ChallengeNotOpen";
        else if (at < win.revealStart || at >= win.revealEnd) expected = "OutsideWindow";
        expectOutcome(o, expected, "reveal");
        if (!o.ok) return;
        m.revealed = true;
        // the last reveal judges, unless an accusation leaves members to vote in the second phase
        if (c.members.every((x) => x.revealed) && (!accusedNow(c) || allVoted(c)))
          await judge(c, at, o.hash, "a reveal");
        else expect(await w.events(o.hash, w.challenges, "ChallengeFinalized")).to.deep.equal([]);
      },
    });

    /** The second phase: a member that revealed replays the named segments and votes. */
    const replayAction = (c: GhostChallenge, v: Actor, when: bigint): Action => ({
      t: when,
      name: `replay ${v.address} ${c.id}`,
      run: async () => {
        const m = c.members.find((x) => x.vote.v === v);
        if (m === undefined || m.vote.verdict === Verdict.Invalid) return; // an accuser's reveal stands
        const vote = replayOf(c, m);
        const named =
          c.members.find((x) => x.revealed && x.vote.verdict === Verdict.Invalid)?.vote.segment ?? 0;
        const { o, at } = await exec(when, () => v.cm.write.replayVote([c.id, vote, named]));
        const win = windows(c.round, c.extension);
        let expected = "ok";
        if (c.status !== Status.Submitted) expected = "ChallengeNotOpen";
        else if (at < win.revealEnd || at >= win.replayEnd) expected = "OutsideWindow";
        else if (!m.revealed) expected = "NotRevealed";
        else if (!accusedNow(c)) expected = "NoAccusation";
        else if (m.replay !== Verdict.None) expected = "AlreadyVoted";
        expectOutcome(o, expected, "second-phase vote");
        if (!o.ok) return;
        m.replay = vote;
        count("second-phase vote");
        if (allVoted(c)) await judge(c, at, o.hash, "a second-phase vote");
        else expect(await w.events(o.hash, w.challenges, "ChallengeFinalized")).to.deep.equal([]);
      },
    });

    const finalizeAction = (c: GhostChallenge, when: bigint, again = false): Action => ({
      t: when,
      name: `finalize ${c.id}${again ? " (again)" : ""}`,
      run: async () => {
        const { o, at } = await exec(when, () => X.cm.write.finalize([c.id]));
        const win = windows(c.round, c.extension);
        let expected = "ok";
        if (c.status !== Status.Submitted) expected = "ChallengeNotOpen";
        else if (at < win.revealEnd) expected = "DeadlineNotPassed";
        else if (accusedNow(c) && !allVoted(c) && at < win.replayEnd) expected = "DeadlineNotPassed";
        expectOutcome(o, expected, `finalize${again ? " (again)" : ""}`);
        if (!o.ok) {
          if (again) count("finalize refused twice");
          return;
        }
        await judge(c, at, o.hash, "finalize");
      },
    });

    /** Slashes a validator that committed to the beacon of `r` and withheld its reveal. */
    const withholdingAction = (v: Address, r: bigint, when: bigint): Action => ({
      t: when,
      name: `report withholding ${v} r${r}`,
      run: async () => {
        const { o, at } = await exec(when, () => X.cm.write.reportBeaconWithholding([r, v]));
        let expected = "ok";
        if (!beaconCommits.get(r)?.has(v) || beaconReveals.get(r)?.has(v)) expected = "RevealNotWithheld";
        else if (at < w.start(r)) expected = "DeadlineNotPassed";
        else if (at > windows(r - 1n).closes) expected = "ReportTooLate";
        else if (withheld.has(`${r}:${v}`)) expected = "WithholdingAlreadySlashed";
        expectOutcome(o, expected, "reportBeaconWithholding");
        if (!o.ok) return;
        withheld.add(`${r}:${v}`);
        slash(v, cp.beaconSlash, [X.address], false, at);
        count("withheld beacon slashed");
        if (beaconCommits.get(r + 1n)?.has(v)) count("withheld beacon slashed after the next commitment");
        await checkState(`after a withholding report`);
      },
    });

    const delegateAction = (to: Actor, amount: bigint, when: bigint): Action => ({
      t: when,
      name: `delegate ${amount} to ${to.address}`,
      run: async () => {
        const o = op(to.address);
        const { o: out } = await exec(when, () => D.staking.write.delegate([to.address, amount]));
        expectOutcome(out, o.jailed ? "OperatorIsJailed" : "ok", "delegate");
        if (!out.ok) return;
        o.shares += (amount * o.shares) / o.tokens;
        o.tokens += amount;
      },
    });

    const unjailAction = (t: Actor, when: bigint): Action => ({
      t: when,
      name: `unjail ${t.address}`,
      run: async () => {
        const o = op(t.address);
        if (!o.jailed) return;
        const { o: out, at } = await exec(when, () => t.staking.write.unjail());
        let expected = "ok";
        if (at < o.jailedUntil) expected = "JailCooldownActive";
        else if (selfStake(o) < sp.minTrainerStake) expected = "StakeBelowMinimum";
        expectOutcome(out, expected, "unjail");
        if (out.ok) {
          o.jailed = false;
          o.unjailedAt = at;
          count("unjailed");
        }
      },
    });

    const beaconCommitAction = (v: Actor, r: bigint, when: bigint): Action => ({
      t: when,
      name: `beacon commit ${v.address} r${r}`,
      run: async () => {
        const c = await w.beacon.read.commitmentOf([w.secretOf(v.address, r), v.address, r]);
        const { o } = await exec(when, () => v.beacon.write.commit([r, c]));
        // a validator slashed below the minimum (a vouched fraud, a withheld reveal) is not active
        expectOutcome(o, active(op(v.address)) ? "ok" : "NotActiveValidator", "beacon commit");
        if (!o.ok) return;
        beaconCommits.get(r)!.add(v.address);
      },
    });
    const beaconRevealAction = (v: Actor, r: bigint, when: bigint): Action => ({
      t: when,
      name: `beacon reveal ${v.address} r${r}`,
      run: async () => {
        const { o } = await exec(when, () => v.beacon.write.reveal([r, w.secretOf(v.address, r)]));
        expectOutcome(o, beaconCommits.get(r)!.has(v.address) ? "ok" : "NoCommitment", "beacon reveal");
        if (!o.ok) return;
        beaconReveals.get(r)!.add(v.address);
      },
    });
    const missedRevealAction = (v: Address, r: bigint, when: bigint): Action => ({
      t: when,
      name: `report missed reveal ${v} r${r}`,
      run: async () => {
        const { o } = await exec(when, () => X.beacon.write.reportMissedReveal([r, v]));
        expectOutcome(o, "ok", "reportMissedReveal");
        missedReveals.set(v, (missedReveals.get(v) ?? 0n) + 1n);
        expect(await w.beacon.read.missedReveals([v])).to.equal(missedReveals.get(v));
        count("missed reveal");
        if (beaconCommits.get(r + 1n)?.has(v)) count("withheld reveal reported after the next commitment");
      },
    });

    /** The spec of `t`'s challenge in round `r`: the active set [A, B] indexed by the seed. */
    const specIndex = new Map<string, number>();
    const specOf = (t: Actor, r: bigint) => specIndex.get(`${t.address}:${r}`)!;

    // --- the rounds ---------------------------------------------------------------------------
    const frac = (a: bigint, b: bigint, x: number) => a + BigInt(Math.floor(Number(b - a) * x));
    for (let k = 0; k <= plan.length; k++) {
      const r = BigInt(k + 1);
      const S = w.start(r);
      const p: RoundPlan | undefined = plan[k];
      // the stakes at the round's start
      stakes.set(r, new Map([...ops].map(([a, o]) => [a, o.tokens])));
      countedAt.set(r, new Set([...ops].filter(([, o]) => active(o)).map(([a]) => a)));
      beaconCommits.set(r + 1n, new Set());
      beaconReveals.set(r + 1n, new Set());
      await exec(S, () => X.beacon.write.seal([r])); // fixes the round's value if nobody contributed
      for (const [a, o] of ops)
        expect(await w.staking.read.stakeAt([a, r]), `stake of ${a} at ${r}`).to.equal(o.tokens);
      const value = await w.beacon.read.valueOf([r]);
      for (const t of w.trainers) {
        const seed = keccak256(
          encodeAbiParameters(
            [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
            [value, t.address, r],
          ),
        );
        specIndex.set(`${t.address}:${r}`, Number(BigInt(seed) % 2n));
      }

      const actions: Action[] = [];
      // silent beacon contributors of this round are reported (counted) and slashed, before or after
      // their commitments to the next round (S + 20 on) replace the withheld ones
      const reports = frac(S, S + L / 2n - 600n, p?.reportsAt ?? 0);
      for (const v of beaconCommits.get(r) ?? []) {
        if (!beaconReveals.get(r)!.has(v)) {
          actions.push(missedRevealAction(v, r, reports + 5n));
          actions.push(withholdingAction(v, r, reports + 6n));
          if (p?.doubleFinalize) actions.push(withholdingAction(v, r, reports + 7n)); // reported twice
        }
      }
      const revealedOne = [...(beaconReveals.get(r) ?? [])][0];
      if (revealedOne !== undefined && p?.probeCommittee)
        actions.push(withholdingAction(revealedOne, r, reports + 8n));
      // the audits of this round: the previous round's challenges, and extended committees
      const audited = [...challenges.values()].filter(
        (c) => c.status === Status.Submitted && auditRound(c) === r,
      );
      const H = (h: bigint) => S + h * HOUR;
      for (const c of audited) {
        const votes = c.votes;
        for (const [vi, v] of w.validators.entries()) {
          const vp = votes[vi];
          if (vp.kind === "lazy") continue;
          actions.push(commitAction(c, v, vp, frac(S + 60n, H(6n) - 300n, vp.at)));
        }
        if (p?.probeCommittee) {
          // every validator tries once more: members are refused as duplicates, others as non-members
          for (const v of w.validators) actions.push(commitAction(c, v, votes[0], H(6n) - 200n, true));
        }
        for (const [vi, v] of w.validators.entries()) {
          const vp = votes[vi];
          if (vp.kind === "lazy" || vp.kind === "silent") continue;
          actions.push(revealAction(c, v, frac(H(6n) + 10n, H(12n) - 300n, vp.at)));
          actions.push(replayAction(c, v, frac(H(12n) + 10n, H(15n) - 300n, vp.at)));
        }
        const fin = c.plan.finalizeLate
          ? frac(H(18n) + 1n, S + L - 400n, votes[0].at)
          : frac(H(15n), H(18n), votes[0].at);
        actions.push(finalizeAction(c, fin));
        if (p?.doubleFinalize) {
          actions.push(finalizeAction(c, H(12n) + 30n, true)); // early: the second phase may still run
          actions.push(finalizeAction(c, fin + 30n, true));
        }
      }
      if (p !== undefined) {
        // this round's challenges
        for (const [ti, t] of w.trainers.entries()) {
          const tp = p.trainers[ti];
          const votes = p.votes[ti];
          const deadline = deadlineOf(r, specOf(t, r));
          if (tp.kind === "absent" || tp.kind === "late") {
            if (tp.kind === "late")
              actions.push(
                submitAction(t, r, tp, votes, deadline + 1n + BigInt(Math.floor(tp.latency * 600))),
              );
            actions.push(reportAction(t, r, frac(deadline + 700n, deadline + 3n * HOUR, tp.latency)));
          } else {
            const when = frac(S + 1n, deadline, tp.latency);
            actions.push(submitAction(t, r, tp, votes, when));
            if (tp.twice) actions.push(submitAction(t, r, tp, votes, when + 20n, true));
            if (tp.twice) actions.push(reportAction(t, r, deadline + 400n)); // a report on a submitted round
          }
          if (p.unjail) actions.push(unjailAction(t, S + 2n * HOUR));
        }
        // the beacon for the next round
        for (const [vi, v] of w.validators.entries()) {
          if (p.beacon[vi] === "none") continue;
          actions.push(beaconCommitAction(v, r + 1n, S + 20n + BigInt(vi)));
          if (p.beacon[vi] === "reveal")
            actions.push(beaconRevealAction(v, r + 1n, S + L / 2n + 60n + BigInt(vi)));
        }
        for (const d of p.delegations) {
          const to = [...w.trainers, ...w.validators][d.to];
          actions.push(delegateAction(to, E(d.amount), frac(S + 30n, S + L - 600n, d.at)));
        }
      }
      actions.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
      for (const a of actions) {
        await a.run();
        expect(clock < w.start(r + 1n), `${a.name} stayed in round ${r}`).to.equal(true);
      }
      await checkState(`end of round ${r}`);
      if (r > 1n) await checkPoints(r - 1n);
      for (const c of challenges.values())
        expect(c.finalizations <= 1, "a challenge is judged at most once").to.equal(true);
    }

    // --- the end of the run -----------------------------------------------------------------
    for (const c of challenges.values()) {
      const onChain = await w.challenges.read.getChallenge([c.id]);
      expect(onChain.status, `status of ${c.id}`).to.equal(c.status);
      expect(c.finalizations <= 1).to.equal(true);
    }
    for (let r = 1n; r <= BigInt(plan.length); r++) await checkPoints(r);
  }
});
