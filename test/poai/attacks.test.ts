/**
 * Adversarial tests of the challenge protocol. Each names the attack and shows the check that
 * stops it: commitments bound to their validator, reveals bound to their commitment, sortition
 * bound to the caller's stake, challenge ids bound to the trainer, results due before the audit
 * seed can be known, final statuses that never reopen, fraud verdicts that no third of a
 * committee can veto, second-phase votes only from members on an accusation, rounds spent in
 * jail never due, and withheld beacon reveals that cost stake.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, toHex, type Hex } from "viem";
import { weightOf } from "./helpers/judgment.js";
import {
  BPS,
  BURN_ADDRESS,
  E,
  SPEC,
  Status,
  TRAINER,
  Verdict,
  WAD,
  ceilDiv,
  deployWorld,
  saltOf,
  type Actor,
  type Connection,
  type Vote,
  type World,
} from "./helpers/world.js";

const R = 1n;
const ROOT: Hex = keccak256(toHex("root"));

describe("ChallengeManager attacks", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  /**
   * Trainers T1, T2; validators V0 (500), V1 (1,000), V2 (1,000), V3 (3,500), V4 (2,000), all on
   * every committee (committeeSize 16: 16 x 500 >= 8,000). The clock is at the start of round 1.
   */
  async function fixture() {
    const w = await deployWorld(conn, {
      challenge: { committeeSize: 16 },
      trainers: [E(5000), E(5000)],
      validators: [E(500), E(1000), E(1000), E(3500), E(2000)],
      outsiders: 2,
    });
    await w.to(w.start(R));
    return w;
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  const submit = async (w: World, t: Actor, score = 8000) => {
    await t.cm.write.submitResult([R, ROOT, score]);
    return w.id(t, R);
  };

  describe("copying another validator's commitment", () => {
    it("gives the copier nothing to reveal: the commitment binds the validator's address", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const [V0, V1, V2, V3] = w.validators;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      const honest: Vote = { v: V3, verdict: Verdict.Invalid, segment: 7 };
      const c = await w.commitment(id, honest);
      await V3.cm.write.commitVerdict([id, c]);
      await V0.cm.write.commitVerdict([id, c]); // the copy
      await w.commitVote(id, { v: V1, verdict: Verdict.Invalid, segment: 7 });
      await w.commitVote(id, { v: V2, verdict: Verdict.Invalid, segment: 7 });
      await w.to(w.windows(R).revealStart);
      await w.revealVote(id, honest);
      // the copier replays the opened values it just saw: they hash with its own address to something else
      await assertions().revertWithCustomErrorWithArgs(
        V0.cm.write.revealVerdict([id, Verdict.Invalid, 7, 0, saltOf(V3.address, id)]),
        w.challenges,
        "CommitmentMismatch",
        [id, V0.address],
      );
      expect(
        await w.challenges.read.verdictCommitment([
          id,
          Verdict.Invalid,
          7,
          0,
          saltOf(V3.address, id),
          V0.address,
        ]),
      ).to.not.equal(c);
      // and it cannot reuse the commitment on another challenge either (the id is bound too)
      expect(
        await w.challenges.read.verdictCommitment([
          w.id(w.trainers[1], R),
          Verdict.Invalid,
          7,
          0,
          saltOf(V3.address, id),
          V3.address,
        ]),
      ).to.not.equal(c);
    });

    it("does not let a copy placed ahead of the original steal its weight and break a fraud verdict", async () => {
      // Without the attack the accusation holds V1 1,000 + V3 3,500 against the defence's V2 1,000
      // + V4 2,000 in the second phase: 60%, fraud. The colluding V0 (500) front-runs V3's
      // commitment with a copy. If V3's reveal were matched to the copy's slot, V3 would count with
      // V0's weight: 1,500 against 3,000, and the accusation would fail.
      const w = await load();
      const [T1] = w.trainers;
      const [V0, V1, V2, V3, V4] = w.validators;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      const victim: Vote = { v: V3, verdict: Verdict.Invalid, segment: 2 };
      const c = await w.commitment(id, victim);
      await V0.cm.write.commitVerdict([id, c]);
      await V3.cm.write.commitVerdict([id, c]);
      const others: Vote[] = [
        { v: V1, verdict: Verdict.Invalid, segment: 2 },
        { v: V2, verdict: Verdict.Valid, score: 8000 },
        { v: V4, verdict: Verdict.Valid, score: 8000 },
      ];
      for (const x of others) await w.commitVote(id, x);
      await w.to(w.windows(R).revealStart);
      for (const x of [victim, ...others]) await w.revealVote(id, x);
      await w.to(w.windows(R).revealEnd);
      await w.replayVote(id, V2, Verdict.Valid);
      // every member that revealed has now voted (the accusers' reveals stand): this vote judges
      const hash = await w.replayVote(id, V4, Verdict.Valid);
      expect(await w.judged(id)).to.equal(hash);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Fraud);
      // the trainer, and the two members that vouched for the run
      expect((await w.events(hash, w.staking, "SlashHeld")).map((e) => e.operator)).to.deep.equal([
        T1.address,
        V2.address,
        V4.address,
      ]);
      // V3 earns its own weight, the copier nothing
      const role = await w.staking.read.roleStakeAt([2, R]);
      expect(await w.challenges.read.epochPoints([R, V3.address])).to.equal(weightOf(E(3500), role));
      expect(await w.challenges.read.epochPoints([R, V0.address])).to.equal(0n);
      const members = await w.challenges.read.getMembers([id]);
      expect(members[0].revealed).to.equal(false); // the copy never opens
      expect(members[1]).to.deep.include({ validator: V3.address, verdict: Verdict.Invalid, revealed: true });
    });
  });

  describe("revealing something other than the commitment", () => {
    it("rejects a reveal that changes the verdict, the segment, the score or the salt", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const [V0] = w.validators;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      const vote: Vote = {
        v: V0,
        verdict: Verdict.Valid,
        segment: 3,
        score: 8000,
        salt: saltOf(V0.address, id, 1n),
      };
      await w.commitVote(id, vote);
      // a second member that reveals later: V0's reveal does not judge the challenge
      await w.commitVote(id, { v: w.validators[1], verdict: Verdict.Valid, score: 8000 });
      await w.to(w.windows(R).revealStart);
      const tampered: Vote[] = [
        { ...vote, verdict: Verdict.Invalid },
        { ...vote, verdict: Verdict.Unavailable },
        { ...vote, segment: 4 },
        { ...vote, score: 8001 },
        { ...vote, salt: saltOf(V0.address, id, 2n) },
      ];
      for (const x of tampered) {
        await assertions().revertWithCustomErrorWithArgs(
          w.revealVote(id, x),
          w.challenges,
          "CommitmentMismatch",
          [id, V0.address],
        );
      }
      await w.revealVote(id, vote);
      await assertions().revertWithCustomErrorWithArgs(
        w.revealVote(id, vote),
        w.challenges,
        "AlreadyRevealed",
        [id, V0.address],
      );
    });

    it("rejects a reveal with no commitment, a None verdict or a score above 100%", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const [V0, V1] = w.validators;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      await w.commitVote(id, { v: V0, verdict: Verdict.Valid, score: 8000 });
      await w.to(w.windows(R).revealStart);
      await assertions().revertWithCustomErrorWithArgs(
        w.revealVote(id, { v: V1, verdict: Verdict.Valid, score: 8000 }),
        w.challenges,
        "CommitmentMismatch",
        [id, V1.address],
      );
      await assertions().revertWithCustomErrorWithArgs(
        V0.cm.write.revealVerdict([id, Verdict.None, 0, 8000, saltOf(V0.address, id)]),
        w.challenges,
        "InvalidVerdict",
        [0],
      );
      await assertions().revertWithCustomErrorWithArgs(
        V0.cm.write.revealVerdict([id, Verdict.Valid, 0, 10_001, saltOf(V0.address, id)]),
        w.challenges,
        "ScoreOutOfRange",
        [10_001n],
      );
    });
  });

  describe("committee membership", () => {
    /** Six validators of 1,000 and committeeSize 1: each is selected with probability 1/6. */
    async function sparse() {
      const w = await deployWorld(conn, {
        // the draw inside a committee, over every validator: no round pool here (`poolSeats` 0;
        // "a round's committee pool" below draws the committees from a pool)
        challenge: { committeeSize: 1, poolSeats: 0 },
        trainers: [E(5000), E(5000), E(5000)],
        validators: Array.from({ length: 6 }, () => E(1000)),
      });
      await w.to(w.start(R));
      for (const t of w.trainers) await t.cm.write.submitResult([R, ROOT, 8000]);
      await w.to(w.windows(R).commitStart);
      await w.beacon.write.seal([R + 1n]);
      return w;
    }

    /** Sortition recomputed from its definition: selected with probability min(1, size x stake / total). */
    const selected = (seed: Hex, member: Hex, stake: bigint, total: bigint, size: bigint) => {
      if (stake === 0n || total === 0n) return false;
      if (size * stake >= total) return true;
      const draw = BigInt(
        keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [seed, member])),
      );
      return draw < ((2n ** 256n - 1n) * size * stake) / total;
    };

    /** `Sortition.band` recomputed from its definition: 0 below the selection threshold, then
     *  slices of one expected member each. */
    const bandOf = (seed: Hex, member: Hex, stake: bigint, total: bigint, size: bigint) => {
      if (size * stake >= total) return 0n;
      const max = 2n ** 256n - 1n;
      const draw = BigInt(
        keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [seed, member])),
      );
      const first = (max * size * stake) / total;
      return draw < first ? 0n : (draw - first) / ((max * stake) / total) + 1n;
    };

    // Regression: with an independent draw (`Sortition.isSelected` alone) a committee of 3
    // expected members has fewer than `minReveals` = 2 in about one challenge in five; such a
    // challenge was extended into a later round and audited again (or finalized by a call when
    // nobody was drawn), though every member was honest and live. The naive commit that admits the
    // first band only fails this test: the top-up commits revert `NotInCommittee`.
    it("tops up a committee its first draw left short, so that honest members decide in the first audit round", async () => {
      const w = await conn.networkHelpers.loadFixture(sparse);
      const value = await w.beacon.read.valueOf([R + 1n]);
      const { commitStart, revealStart } = w.windows(R);
      const commitEnd = revealStart;
      const minReveals = Number((await w.challenges.read.params()).minReveals);
      const committees = w.trainers.map((t) => {
        const id = w.id(t, R);
        const seed = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [value, id]));
        return { id, bands: w.validators.map((v) => bandOf(seed, v.address, E(1000), E(6000), 1n)) };
      });
      let toppedUp = 0;
      let refused = 0;
      const admitted = committees.map(() => [] as typeof w.validators);
      const topUps = await w.challenges.read.TOP_UP_BANDS();
      for (let band = 0n; band <= topUps; band++) {
        await w.reach(commitStart + (band * (commitEnd - commitStart)) / (topUps + 1n));
        for (const [c, { id, bands }] of committees.entries()) {
          const lower = admitted[c].length;
          for (const [i, v] of w.validators.entries()) {
            if (bands[i] !== band) continue;
            const vote = { v, verdict: Verdict.Valid, score: 8000 };
            if (band === 0n || lower < minReveals) {
              await w.commitVote(id, vote);
              admitted[c].push(v);
              if (band > 0n) toppedUp++;
            } else {
              await assertions().revertWithCustomErrorWithArgs(
                w.commitVote(id, vote),
                w.challenges,
                "NotInCommittee",
                [id, v.address],
              );
              refused++;
            }
          }
        }
      }
      expect(toppedUp, "some first draw was short and topped up").to.be.greaterThan(0);
      expect(refused, "some top-up band was refused once the bands below sufficed").to.be.greaterThan(0);
      await w.reach(revealStart);
      for (const [c, { id }] of committees.entries()) {
        expect(admitted[c].length).to.be.at.least(minReveals);
        for (const v of admitted[c]) await w.revealVote(id, { v, verdict: Verdict.Valid, score: 8000 });
        // judged by its last reveal in its first audit round: no extension, no finalize call
        const challenge = await w.challenges.read.getChallenge([id]);
        expect(challenge.status).to.equal(Status.Valid);
        expect(challenge.extension).to.equal(0);
      }
    });

    it("refuses a commitment from a validator the sortition did not select", async () => {
      const w = await conn.networkHelpers.loadFixture(sparse);
      const value = await w.beacon.read.valueOf([R + 1n]);
      let tried = 0;
      for (const t of w.trainers) {
        const id = w.id(t, R);
        const seed = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [value, id]));
        expect(await w.challenges.read.auditSeed([id])).to.equal(seed);
        const members: boolean[] = [];
        for (const v of w.validators) {
          const mine = await w.challenges.read.isCommitteeMember([id, v.address]);
          expect(mine, "isCommitteeMember agrees with the sortition's definition").to.equal(
            selected(seed, v.address, E(1000), E(6000), 1n),
          );
          members.push(mine);
        }
        const out = w.validators.filter((_, i) => !members[i]);
        const inn = w.validators.filter((_, i) => members[i]);
        const now = await w.latest();
        const topUps = await w.challenges.read.TOP_UP_BANDS();
        for (const v of out) {
          // a top-up band is refused until its part of the commit window opens, any other for good
          const band = bandOf(seed, v.address, E(1000), E(6000), 1n);
          const vote = { v, verdict: Verdict.Valid, score: 8000 };
          if (band > topUps) {
            await assertions().revertWithCustomErrorWithArgs(
              w.commitVote(id, vote),
              w.challenges,
              "NotInCommittee",
              [id, v.address],
            );
          } else {
            const { commitStart, revealStart: commitEnd } = w.windows(R);
            const from = commitStart + (band * (commitEnd - commitStart)) / (topUps + 1n);
            expect(from > now, `top-up band ${band} has not opened yet`).to.equal(true);
            await assertions().revertWithCustomError(w.commitVote(id, vote), w.challenges, "OutsideWindow");
          }
          tried++;
        }
        for (const v of inn) await w.commitVote(id, { v, verdict: Verdict.Valid, score: 8000 });
        expect((await w.challenges.read.getChallenge([id])).members).to.equal(inn.length);
      }
      expect(tried > 0, "some validator was left out of some committee").to.equal(true);
    });

    it("refuses trainers and strangers, whatever stake they hold", async () => {
      const w = await load();
      const [T1, T2] = w.trainers;
      const [X] = w.outsiders;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      for (const a of [T2, X]) {
        await assertions().revertWithCustomErrorWithArgs(
          a.cm.write.commitVerdict([id, keccak256(toHex("anything"))]),
          w.challenges,
          "NotActiveValidator",
          [a.address],
        );
        expect(await w.challenges.read.isCommitteeMember([id, a.address])).to.equal(false);
      }
    });

    it("lets a validator commit once per challenge, whatever it commits (no committee stuffing)", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const [V0] = w.validators;
      const id = await submit(w, T1);
      await w.to(w.windows(R).commitStart);
      await V0.cm.write.commitVerdict([id, `0x${"00".repeat(32)}`]);
      for (const c of [`0x${"00".repeat(32)}`, keccak256(toHex("other"))] as Hex[]) {
        await assertions().revertWithCustomErrorWithArgs(
          V0.cm.write.commitVerdict([id, c]),
          w.challenges,
          "AlreadyCommitted",
          [id, V0.address],
        );
      }
      expect((await w.challenges.read.getChallenge([id])).members).to.equal(1);
    });

    it("refuses commitments to a challenge that was never submitted", async () => {
      const w = await load();
      const [, T2] = w.trainers;
      const [V0] = w.validators;
      await w.to(w.windows(R).commitStart);
      const id = w.id(T2, R);
      await assertions().revertWithCustomErrorWithArgs(
        V0.cm.write.commitVerdict([id, keccak256(toHex("c"))]),
        w.challenges,
        "ChallengeNotOpen",
        [id, Status.None],
      );
    });
  });

  describe("trainer submissions", () => {
    it("accepts one result per trainer and round", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const id = await submit(w, T1);
      await assertions().revertWithCustomErrorWithArgs(
        T1.cm.write.submitResult([R, keccak256(toHex("better root")), 9000]),
        w.challenges,
        "AlreadySubmitted",
        [id],
      );
      const c = await w.challenges.read.getChallenge([id]);
      expect([c.resultRoot, c.reportedScoreBps]).to.deep.equal([ROOT, 8000]);
    });

    it("refuses results for a round other than the current one", async () => {
      const w = await load();
      const [T1] = w.trainers;
      for (const r of [R - 1n, R + 1n, 1000n]) {
        await assertions().revertWithCustomErrorWithArgs(
          T1.cm.write.submitResult([r, ROOT, 8000]),
          w.challenges,
          "WrongRound",
          [r, R],
        );
      }
    });

    it("refuses a trainer that was not staked when the round started, until the next round", async () => {
      const w = await load();
      const [X] = w.outsiders;
      await X.staking.write.register([TRAINER, E(5000), 500, 2000, "https://late.example", "H100"]);
      expect(await w.staking.read.stakeAt([X.address, R])).to.equal(0n);
      await assertions().revertWithCustomErrorWithArgs(
        X.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "NotDue",
        [X.address, R],
      );
      // nor can it be reported missed for that round
      await w.to(w.submitDeadline(R) + 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([X.address, R]),
        w.challenges,
        "NotDue",
        [X.address, R],
      );
      await w.to(w.start(R + 1n));
      await X.cm.write.submitResult([R + 1n, ROOT, 8000]);
    });

    it("refuses a trainer whose stake at the round's start is below a raised minimum", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const p = await w.staking.read.params();
      await w.staking.write.setParams([{ ...p, minTrainerStake: E(6000) }]);
      await assertions().revertWithCustomErrorWithArgs(
        T1.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "NotDue",
        [T1.address, R],
      );
    });

    it("refuses validators and strangers", async () => {
      const w = await load();
      for (const a of [w.validators[0], w.outsiders[0]]) {
        await assertions().revertWithCustomErrorWithArgs(
          a.cm.write.submitResult([R, ROOT, 8000]),
          w.challenges,
          "NotDue",
          [a.address, R],
        );
      }
    });

    it("refuses a jailed trainer, and does not count its silence as a miss", async () => {
      const w = await load();
      const [T1] = w.trainers;
      await w.staking.write.slash([T1.address, 1n, [], true]); // the deployer also holds the slasher role
      await assertions().revertWithCustomErrorWithArgs(
        T1.cm.write.submitResult([R, ROOT, 8000]),
        w.challenges,
        "NotDue",
        [T1.address, R],
      );
      await w.to(w.submitDeadline(R) + 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([T1.address, R]),
        w.challenges,
        "NotDue",
        [T1.address, R],
      );
    });

    it("refuses a reported accuracy above 100%", async () => {
      const w = await load();
      await assertions().revertWithCustomErrorWithArgs(
        w.trainers[0].cm.write.submitResult([R, ROOT, 10_001]),
        w.challenges,
        "ScoreOutOfRange",
        [10_001n],
      );
    });

    it("binds the challenge id to the sender: nobody submits for another trainer", async () => {
      const w = await load();
      const [T1, T2] = w.trainers;
      const hash = await T1.cm.write.submitResult([R, ROOT, 8000]);
      // the id packs the trainer (high 160 bits) and the round (low 96)
      const id1 = `0x${T1.address.slice(2).toLowerCase()}${R.toString(16).padStart(24, "0")}` as const;
      expect(await w.challenges.read.challengeId([T1.address, R])).to.equal(id1);
      await assertions().revertWithCustomError(
        w.challenges.read.challengeId([T1.address, 1n << 96n]),
        w.challenges,
        "SafeCastOverflowedUintDowncast",
      );
      const [e] = await w.events(hash, w.challenges, "ResultSubmitted");
      expect([e.id, e.trainer]).to.deep.equal([id1, T1.address]);
      // T2's challenge is untouched, and T2 submits its own
      const id2 = w.id(T2, R);
      expect((await w.challenges.read.getChallenge([id2])).status).to.equal(Status.None);
      await T2.cm.write.submitResult([R, keccak256(toHex("T2 root")), 7000]);
      expect((await w.challenges.read.getChallenge([id1])).resultRoot).to.equal(ROOT);
      expect((await w.challenges.read.getChallenge([id2])).trainer).to.equal(T2.address);
    });
  });

  describe("batched committee calls", () => {
    it("commit and reveal several challenges like single calls, with the same events", async () => {
      const w = await load();
      const [T1, T2] = w.trainers;
      const [V0, V1] = w.validators;
      const ids = [await submit(w, T1), await submit(w, T2)];
      const votes: Vote[] = [
        { v: V0, verdict: Verdict.Valid, segment: 1, score: 8000 },
        { v: V0, verdict: Verdict.Invalid, segment: 4 },
      ];
      await w.to(w.windows(R).commitStart);
      const commitments = [await w.commitment(ids[0], votes[0]), await w.commitment(ids[1], votes[1])];
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        V0.cm.write.commitVerdicts([ids, [commitments[0]]]),
        w.challenges,
        "LengthMismatch",
        [2n, 1n],
      );
      const committed = await V0.cm.write.commitVerdicts([ids, commitments]);
      expect(await w.events(committed, w.challenges, "VerdictCommitted")).to.deep.equal([
        { id: ids[0], validator: V0.address, index: 0 },
        { id: ids[1], validator: V0.address, index: 0 },
      ]);
      await w.commitVote(ids[0], { v: V1, verdict: Verdict.Valid, score: 8000 });
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        V0.cm.write.commitVerdicts([[ids[0]], [commitments[0]]]),
        w.challenges,
        "AlreadyCommitted",
        [ids[0], V0.address],
      );
      await w.to(w.windows(R).revealStart);
      const args = [
        ids,
        votes.map((x) => x.verdict),
        votes.map((x) => x.segment ?? 0),
        votes.map((x) => x.score ?? 0),
        ids.map((id) => saltOf(V0.address, id)),
      ] as const;
      await conn.viem.assertions.revertWithCustomError(
        V0.cm.write.revealVerdicts([args[0], args[1], args[2], args[3], [args[4][0]]]),
        w.challenges,
        "LengthMismatch",
      );
      const revealed = await V0.cm.write.revealVerdicts([args[0], args[1], args[2], args[3], args[4]]);
      expect(await w.events(revealed, w.challenges, "VerdictRevealed")).to.deep.equal([
        { id: ids[0], validator: V0.address, verdict: Verdict.Valid, segment: 1, measuredScoreBps: 8000 },
        { id: ids[1], validator: V0.address, verdict: Verdict.Invalid, segment: 4, measuredScoreBps: 0 },
      ]);
      const single = await w.revealVote(ids[0], { v: V1, verdict: Verdict.Valid, score: 8000 });
      expect(await w.events(single, w.challenges, "VerdictRevealed")).to.deep.equal([
        { id: ids[0], validator: V1.address, verdict: Verdict.Valid, segment: 0, measuredScoreBps: 8000 },
      ]);
      const members = await w.challenges.read.getMembers([ids[1]]);
      const role = await w.staking.read.roleStakeAt([2, R]);
      expect(members).to.deep.equal([
        {
          validator: V0.address,
          verdict: Verdict.Invalid,
          segment: 4,
          measuredScoreBps: 0,
          revealed: true,
          replayVerdict: Verdict.None,
          weight: Number(weightOf(E(500), role)),
        },
      ]);
    });
  });

  describe("finalization", () => {
    it("judges a challenge once; a final status never reopens", async () => {
      const w = await load();
      const [T1, T2] = w.trainers;
      const id = await submit(w, T1);
      await w.to(w.submitDeadline(R) + 1n);
      await w.challenges.write.reportMissed([T2.address, R]);
      // the last reveal judges the challenge
      await w.audit(
        id,
        R,
        w.validators.map((v) => ({ v, verdict: Verdict.Valid, score: 8000 })),
      );
      expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Valid);
      const before = await w.challenges.read.epochPoints([R, T1.address]);
      expect(before > 0n).to.equal(true);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([id]),
        w.challenges,
        "ChallengeNotOpen",
        [id, Status.Valid],
      );
      expect(await w.challenges.read.epochPoints([R, T1.address])).to.equal(before);
      const missed = w.id(T2, R);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([missed]),
        w.challenges,
        "ChallengeNotOpen",
        [missed, Status.Missed],
      );
      const never = w.id(w.outsiders[0], R);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.finalize([never]),
        w.challenges,
        "ChallengeNotOpen",
        [never, Status.None],
      );
    });
  });

  describe("vetoing a fraud verdict", () => {
    /** Two trainers; three validators of equal stake (1,000 each), every one on every committee. */
    async function trio() {
      const w = await deployWorld(conn, { trainers: [E(5000), E(5000)], outsiders: 1 });
      await w.to(w.start(R));
      return w;
    }

    it("convicts on two accusers against one member of equal stake that vouches for the run", async () => {
      // Catches the rule this replaces: a verdict needed quorumBps 6,667 of the revealed stake, so
      // two Invalid reveals against one Valid (66.66%) ended NoQuorum: no slash, no jail, and any
      // member holding a third of a committee's stake (or one lazy validator) blocked every fraud.
      const w = await conn.networkHelpers.loadFixture(trio);
      const [T] = w.trainers;
      const [V0, V1, V2] = w.validators;
      const id = await submit(w, T);
      await w.audit(id, R, [
        { v: V0, verdict: Verdict.Valid, score: 8000 },
        { v: V1, verdict: Verdict.Invalid, segment: 5 },
        { v: V2, verdict: Verdict.Invalid, segment: 5 },
      ]);
      // the voucher stands by its Valid in the second phase: the last vote judges
      const hash = await w.replayVote(id, V0, Verdict.Valid);
      const [f] = await w.events(hash, w.challenges, "ChallengeFinalized");
      expect(f.status).to.equal(Status.Fraud);
      expect(await w.staking.read.isActive([T.address])).to.equal(false);
      expect((await w.events(hash, w.staking, "SlashHeld")).map((e) => e.operator)).to.deep.equal([
        T.address,
        V0.address,
      ]);
    });

    it("charges a lazy member that reveals Valid without auditing: its Valid stands on the proven fraud", async () => {
      const w = await conn.networkHelpers.loadFixture(trio);
      const [T] = w.trainers;
      const [V0, V1, V2] = w.validators;
      const id = await submit(w, T);
      // V0 and V1 commit Valid without replaying anything; V2 catches a forged segment
      await w.audit(id, R, [
        { v: V0, verdict: Verdict.Valid, score: 8000 },
        { v: V1, verdict: Verdict.Valid, score: 8000 },
        { v: V2, verdict: Verdict.Invalid, segment: 9 },
      ]);
      // V1 replays segment 9 and agrees; V0 stays lazy
      await w.replayVote(id, V1, Verdict.Invalid, 9);
      await w.to(w.windows(R).replayEnd);
      const before = (await w.staking.read.getPool([V0.address])).tokens;
      const hash = await w.challenges.write.finalize([id]);
      expect((await w.events(hash, w.challenges, "ChallengeFinalized"))[0].status).to.equal(Status.Fraud);
      expect(await w.events(hash, w.challenges, "ValidatorSlashed")).to.deep.equal([
        { id, validator: V0.address, fraction: w.cp.verdictSlash },
      ]);
      expect((await w.staking.read.getPool([V0.address])).tokens).to.equal(
        before - ceilDiv(before * w.cp.verdictSlash, WAD),
      );
      // V1 changed its vote in time: paid, not slashed
      expect(await w.challenges.read.epochPoints([R, V1.address])).to.not.equal(0n);
      expect(await w.challenges.read.epochPoints([R, V0.address])).to.equal(0n);
    });

    it("takes second-phase votes only from members that revealed, on an accusation, once", async () => {
      const w = await conn.networkHelpers.loadFixture(trio);
      const [T] = w.trainers;
      const [V0, V1, V2] = w.validators;
      const [X] = w.outsiders;
      const id = await submit(w, T);
      const id2 = await submit(w, w.trainers[1]);
      // id: V0 accuses, V1 reveals Valid, V2 never reveals; id2: nobody accuses (V2 stays silent)
      await w.to(w.windows(R).commitStart);
      for (const [c, votes] of [
        [
          id,
          [
            { v: V0, verdict: Verdict.Invalid, segment: 1 },
            { v: V1, verdict: Verdict.Valid, score: 8000 },
            { v: V2, verdict: Verdict.Valid, score: 8000 },
          ],
        ],
        [
          id2,
          [
            { v: V0, verdict: Verdict.Valid, score: 8000 },
            { v: V1, verdict: Verdict.Valid, score: 8000 },
            { v: V2, verdict: Verdict.Valid, score: 8000 },
          ],
        ],
      ] as [Hex, Vote[]][])
        for (const x of votes) await w.commitVote(c, x);
      await w.to(w.windows(R).revealStart);
      await w.revealVote(id, { v: V0, verdict: Verdict.Invalid, segment: 1 });
      await w.revealVote(id, { v: V1, verdict: Verdict.Valid, score: 8000 });
      await w.revealVote(id2, { v: V0, verdict: Verdict.Valid, score: 8000 });
      await w.revealVote(id2, { v: V1, verdict: Verdict.Valid, score: 8000 });
      await w.to(w.windows(R).revealEnd);
      for (const [who, c, error] of [
        [V2, id, "NotRevealed"],
        [X, id, "NotRevealed"],
        [V1, id2, "NoAccusation"],
      ] as [Actor, Hex, "NotRevealed" | "NoAccusation"][]) {
        await assertions().revertWithCustomErrorWithArgs(
          who.cm.write.replayVote([c, Verdict.Invalid, 1]),
          w.challenges,
          error,
          error === "NoAccusation" ? [c] : [c, who.address],
        );
      }
      await assertions().revertWithCustomErrorWithArgs(
        V1.cm.write.replayVote([id, Verdict.None, 0]),
        w.challenges,
        "InvalidVerdict",
        [0],
      );
      // V1's vote is the last one expected (V0's accusation stands, V2 never revealed): it judges
      await w.replayVote(id, V1, Verdict.Invalid, 1);
      expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Fraud);
      await assertions().revertWithCustomErrorWithArgs(
        V1.cm.write.replayVote([id, Verdict.Valid, 0]),
        w.challenges,
        "ChallengeNotOpen",
        [id, Status.Fraud],
      );
    });

    it("refuses a second vote by the same member", async () => {
      const w = await load(); // five validators: the first vote does not complete the phase
      const [T1] = w.trainers;
      const [V0, V1, V2, V3, V4] = w.validators;
      const id = await submit(w, T1);
      await w.audit(id, R, [
        { v: V0, verdict: Verdict.Invalid, segment: 1 },
        ...[V1, V2, V3, V4].map((v) => ({ v, verdict: Verdict.Valid, score: 8000 })),
      ]);
      await w.replayVote(id, V1, Verdict.Invalid, 1);
      await assertions().revertWithCustomErrorWithArgs(
        V1.cm.write.replayVote([id, Verdict.Valid, 0]),
        w.challenges,
        "AlreadyVoted",
        [id, V1.address],
      );
    });
  });

  describe("a round spent in jail", () => {
    it("is never due, though the trainer leaves jail before the round's epoch closes", async () => {
      // Catches the naive `_isDue` that asks only whether the trainer is active now: a trainer
      // jailed through round R's deadline (here by another slasher, as the inference verifier
      // does) and unjailed in round R + 1 was reported missed for R, and could be jailed for it.
      const w = await load();
      const [T1] = w.trainers;
      await w.at(w.start(R) + 60n);
      await w.staking.write.slash([T1.address, 1n, [], true]); // the deployer also holds the slasher role
      const { jailCooldown } = await w.staking.read.params();
      const unjailAt = w.start(R) + 60n + BigInt(jailCooldown);
      expect(unjailAt < (await w.challenges.read.epochClosesAt([R]))).to.equal(true);
      await w.at(unjailAt);
      await T1.staking.write.unjail();
      expect(await w.staking.read.isActive([T1.address])).to.equal(true);
      expect((await w.staking.read.operatorState([T1.address, R])).unjailedAt).to.equal(Number(unjailAt));
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportMissed([T1.address, R]),
        w.challenges,
        "NotDue",
        [T1.address, R],
      );
      await w.beacon.write.seal([R]); // nobody contributed to round R's value
      const [dueR] = await w.challenges.read.dueChallenge([T1.address, R]);
      expect(dueR).to.equal(false);
      // out of jail before round R + 1's deadline: that round is due (a result is still in time)
      await T1.cm.write.submitResult([R + 1n, ROOT, 8000]);
    });

    it("is due when the trainer left jail before its deadline, and then counts as a miss", async () => {
      const w = await load();
      const [T1] = w.trainers;
      const p = await w.staking.read.params();
      await w.staking.write.setParams([{ ...p, jailCooldown: 60 }]);
      await w.at(w.start(R) + 100n);
      await w.staking.write.slash([T1.address, 1n, [], true]);
      await w.at(w.start(R) + 160n);
      await T1.staking.write.unjail();
      await w.to(w.submitDeadline(R) + 1n);
      await w.challenges.write.reportMissed([T1.address, R]);
      expect(await w.challenges.read.misses([T1.address])).to.equal(1n);
    });
  });

  describe("withholding a beacon reveal", () => {
    it("costs the withholder beaconSlash of its stake, once, the reporter paid the finder's fee", async () => {
      // Catches the beacon that only counts a missed reveal: withholding was free, so the last
      // revealer could choose between two values of the next round's seed at no cost.
      const w = await load();
      const [V0, V1] = w.validators;
      const [X] = w.outsiders;
      const r = R + 1n;
      for (const v of [V0, V1])
        await v.beacon.write.commit([
          r,
          await w.beacon.read.commitmentOf([w.secretOf(v.address, r), v.address, r]),
        ]);
      await w.beaconReveal(r, [V1]); // V0 withholds
      // not before the value is fixed
      await assertions().revertWithCustomErrorWithArgs(
        X.cm.write.reportBeaconWithholding([r, V0.address]),
        w.challenges,
        "DeadlineNotPassed",
        [w.start(r), (await w.latest()) + 1n],
      );
      await w.to(w.start(r));
      for (const [who, error] of [
        [V1, "RevealNotWithheld"], // it revealed
        [w.validators[2], "RevealNotWithheld"], // it never committed
      ] as [Actor, "RevealNotWithheld"][]) {
        await assertions().revertWithCustomErrorWithArgs(
          X.cm.write.reportBeaconWithholding([r, who.address]),
          w.challenges,
          error,
          [r, who.address],
        );
      }
      const stake = (await w.staking.read.getPool([V0.address])).tokens;
      const before = await w.token.read.balanceOf([X.address]);
      const burnBefore = await w.token.read.balanceOf([BURN_ADDRESS]);
      const hash = await X.cm.write.reportBeaconWithholding([r, V0.address]);
      const cut = ceilDiv(stake * w.cp.beaconSlash, WAD);
      const fee = (cut * 1000n) / BPS; // finderFeeBps 1,000
      expect(await w.events(hash, w.challenges, "BeaconWithholdingSlashed")).to.deep.equal([
        { round: r, validator: V0.address, reporter: X.address, fraction: w.cp.beaconSlash },
      ]);
      expect((await w.staking.read.getPool([V0.address])).tokens).to.equal(stake - cut);
      expect((await w.token.read.balanceOf([X.address])) - before).to.equal(fee);
      expect((await w.token.read.balanceOf([BURN_ADDRESS])) - burnBefore).to.equal(cut - fee);
      // once per round and validator, whoever reports
      await assertions().revertWithCustomErrorWithArgs(
        V1.cm.write.reportBeaconWithholding([r, V0.address]),
        w.challenges,
        "WithholdingAlreadySlashed",
        [r, V0.address],
      );
      // the beacon's own record of the miss does not stand in the way
      await X.beacon.write.reportMissedReveal([r, V0.address]);
      expect(await w.beacon.read.missedReveals([V0.address])).to.equal(1n);
    });

    it("stays slashable after the withholder's next commitment takes its slot, and a revealed one never is", async () => {
      // Catches a beacon that keeps one commitment a validator and lets the next commitment erase
      // an unrevealed one: a withholder would wipe its offence by committing to the next round.
      const w = await load();
      const [V0, V1] = w.validators;
      const [X] = w.outsiders;
      const r = R + 1n;
      const commit = async (v: Actor, round: bigint) =>
        v.beacon.write.commit([
          round,
          await w.beacon.read.commitmentOf([w.secretOf(v.address, round), v.address, round]),
        ]);
      for (const v of [V0, V1]) await commit(v, r);
      await w.beaconReveal(r, [V1]); // V0 withholds
      await w.to(w.start(r));
      // both commit to the next round (its commit phase is the first half of round r) and reveal it
      for (const v of [V0, V1]) await commit(v, r + 1n);
      expect(await w.beacon.read.contributionOf([r, V0.address])).to.deep.equal([true, false]);
      expect(await w.beacon.read.contributionOf([r + 1n, V0.address])).to.deep.equal([true, false]);
      await w.beaconReveal(r + 1n, [V0, V1]);
      expect(await w.beacon.read.contributionOf([r + 1n, V0.address])).to.deep.equal([true, true]);
      await assertions().revertWithCustomErrorWithArgs(
        X.cm.write.reportBeaconWithholding([r, V1.address]),
        w.challenges,
        "RevealNotWithheld",
        [r, V1.address],
      );
      const stake = (await w.staking.read.getPool([V0.address])).tokens;
      const hash = await X.cm.write.reportBeaconWithholding([r, V0.address]);
      expect(await w.events(hash, w.challenges, "BeaconWithholdingSlashed")).to.deep.equal([
        { round: r, validator: V0.address, reporter: X.address, fraction: w.cp.beaconSlash },
      ]);
      expect((await w.staking.read.getPool([V0.address])).tokens).to.equal(
        stake - ceilDiv(stake * w.cp.beaconSlash, WAD),
      );
      // a withholder that counts its own miss in the beacon and commits again is still slashed
      await w.to(w.start(r + 1n));
      await commit(V1, r + 2n); // and withholds its reveal
      await w.to(w.start(r + 2n));
      await V1.beacon.write.reportMissedReveal([r + 2n, V1.address]);
      await commit(V1, r + 3n);
      expect(await w.beacon.read.contributionOf([r + 2n, V1.address])).to.deep.equal([true, false]);
      await assertions().revertWithCustomErrorWithArgs(
        X.beacon.write.reportMissedReveal([r + 2n, V1.address]),
        w.beacon,
        "RevealNotMissed",
        [r + 2n, V1.address],
      );
      await assertions().emit(
        X.cm.write.reportBeaconWithholding([r + 2n, V1.address]),
        w.challenges,
        "BeaconWithholdingSlashed",
      );
      // the revealed round is not a withholding
      await assertions().revertWithCustomErrorWithArgs(
        X.cm.write.reportBeaconWithholding([r + 1n, V0.address]),
        w.challenges,
        "RevealNotWithheld",
        [r + 1n, V0.address],
      );
    });

    it("is reported until the previous round's epoch closes, and pays no fee to a withholder reporting itself", async () => {
      const w = await load();
      const [V0, V1] = w.validators;
      const r = R + 1n;
      for (const v of [V0, V1])
        await v.beacon.write.commit([
          r,
          await w.beacon.read.commitmentOf([w.secretOf(v.address, r), v.address, r]),
        ]);
      const closes = await w.challenges.read.epochClosesAt([R]);
      await w.at(closes);
      const before = await w.token.read.balanceOf([V0.address]);
      const hash = await V0.cm.write.reportBeaconWithholding([r, V0.address]);
      const [slashed] = await w.events(hash, w.staking, "Slashed");
      expect(slashed.finderFee).to.equal(0n);
      expect(await w.token.read.balanceOf([V0.address])).to.equal(before);
      await w.at(closes + 1n);
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.reportBeaconWithholding([r, V1.address]),
        w.challenges,
        "ReportTooLate",
        [closes, closes + 1n],
      );
    });
  });

  describe("grinding the audit seed by choosing when to submit", () => {
    /**
     * Three validators commit to the beacon of round 2 at the start of round 1; T1..T3 are due in
     * round 1. `deadline` is the spec's response deadline: 6 h binds below mid-round, 20 h is
     * capped by the beacon's reveal phase.
     */
    async function seeded(deadline: number) {
      const w = await deployWorld(conn, {
        trainers: [E(5000), E(5000), E(5000)],
        specs: [
          {
            spec: SPEC,
            params: { responseDeadline: deadline, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 2 },
          },
        ],
      });
      await w.to(w.start(R));
      await w.beaconCommit(R + 1n, w.validators);
      await w.beacon.write.seal([R]);
      return w;
    }
    const short = async function shortDeadline() {
      return seeded(6 * 3600);
    };
    const long = async function longDeadline() {
      return seeded(20 * 3600);
    };

    for (const [name, fx] of [
      ["a spec deadline before mid-round", short],
      ["a spec deadline past mid-round", long],
    ] as const) {
      it(`at every instant a result is accepted the next beacon value is unknown and its reveals have not begun (${name})`, async () => {
        const w0 = await conn.networkHelpers.loadFixture(fx);
        const last = w0.submitDeadline(R, w0.specs[0].params);
        const first = (await w0.latest()) + 1n;
        const revealPhase = await w0.beacon.read.commitDeadline([R + 1n]);
        expect(revealPhase).to.equal(w0.start(R) + w0.epochLength / 2n);
        const instants = [first, first + 1n, (first + last) / 2n, last - 1n, last];
        for (const t of instants) {
          // a result lands at t ...
          let w = await conn.networkHelpers.loadFixture(fx);
          const [T1] = w.trainers;
          await w.at(t);
          await T1.cm.write.submitResult([R, ROOT, 8000]);
          await assertions().revertWithCustomError(
            w.beacon.read.valueOf([R + 1n]),
            w.beacon,
            "BeaconNotReady",
          );
          expect(t < revealPhase, `instant ${t - w.start(R)}s is before the reveal phase`).to.equal(true);
          // ... and at that same instant no beacon reveal for the next round is possible yet
          w = await conn.networkHelpers.loadFixture(fx);
          const V = w.validators[0];
          await w.at(t);
          await assertions().revertWithCustomError(
            V.beacon.write.reveal([R + 1n, w.secretOf(V.address, R + 1n)]),
            w.beacon,
            "NotInRevealPhase",
          );
        }
        // one second after the last accepted instant, results are refused
        const w = await conn.networkHelpers.loadFixture(fx);
        await w.at(last + 1n);
        await assertions().revertWithCustomErrorWithArgs(
          w.trainers[1].cm.write.submitResult([R, ROOT, 8000]),
          w.challenges,
          "DeadlinePassed",
          [last, last + 1n],
        );
      });
    }

    it("gives no choice of audit seed: the seed depends on the beacon and the challenge id, not on the submission time", async () => {
      const seedAfterSubmittingAt = async (when: "first second" | "deadline") => {
        const w = await conn.networkHelpers.loadFixture(short);
        const [T1] = w.trainers;
        if (when === "deadline") await w.at(w.submitDeadline(R));
        await T1.cm.write.submitResult([R, ROOT, 8000]);
        await w.beaconReveal(R + 1n, w.validators);
        await w.to(w.start(R + 1n));
        const id = w.id(T1, R);
        const value = await w.beacon.read.valueOf([R + 1n]);
        const seed = await w.challenges.read.auditSeed([id]);
        const expected = keccak256(
          encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [value, id]),
        );
        expect(seed).to.equal(expected);
        return { value, seed };
      };
      const early = await seedAfterSubmittingAt("first second");
      const late = await seedAfterSubmittingAt("deadline");
      // both runs reveal the same secrets in the same blocks: the same beacon value, the same seed
      if (early.value === late.value) expect(late.seed).to.equal(early.seed);
    });
  });
});
