/**
 * A round's committee pool: each audit round's committees are drawn from a stake-weighted random
 * pool of validators sized so that a member holds about `poolSeats` seats (never fewer than
 * `2 · max(committeeSize, minReveals)` members), and a validator's overall chance of a seat stays
 * `committeeSize · stake / totalStake`. Pinned here: the contract and the SDK draw the same pool
 * and the same bands; a validator outside the pool is refused every committee of the round; a
 * committee its first draw left short is topped up from the pool; and, over many rounds of the
 * SDK's mirror, the seat probability and the pool's size are what the definition says.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, maxUint256, toHex, type Address, type Hex } from "viem";
import { committeeBand, isInPool, poolSize } from "../../sdk/src/poai/sortition.js";
import { E, Status, Verdict, deployWorld, type Actor, type Connection } from "./helpers/world.js";

const R = 1n;
const ROOT: Hex = keccak256(toHex("root"));
const word = (label: string, i: number): Hex =>
  keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint256" }], [label, BigInt(i)]));

describe("a round's committee pool", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  it("draws the same pool size and the same bands in the contract and the SDK", async () => {
    const harness = await conn.viem.deployContract("SortitionHarness");
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b) as Address);
    await fc.assert(
      fc.asyncProperty(
        bytes32,
        bytes32,
        address,
        fc.bigInt({ min: 0n, max: 2n ** 100n }),
        fc.bigInt({ min: 1n, max: 2n ** 100n }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 20_000 }),
        async (value, id, member, s, extra, committeeSize, minReveals, seats, challenges) => {
          const total = s + extra; // a member's stake is part of the total
          const size = await harness.read.poolSize([
            BigInt(committeeSize),
            BigInt(minReveals),
            BigInt(seats),
            BigInt(challenges),
          ]);
          expect(size).to.equal(poolSize(committeeSize, minReveals, seats, challenges));
          const band = await harness.read.committeeBand([
            value,
            id,
            member,
            s,
            total,
            BigInt(committeeSize),
            size,
          ]);
          const mirrored = committeeBand(value, id, member, s, total, committeeSize, size);
          expect(
            mirrored ?? maxUint256,
            `${value} ${id} ${member} ${s}/${total} c ${committeeSize} pool ${size}`,
          ).to.equal(band);
        },
      ),
      { numRuns: 25, seed: 20_261_207 },
    );
  });

  // The naive pool that draws the committee from the pool with the member's own stake share again
  // (`band(seed, member, stake, total, committeeSize)` inside the pool) gives a pool member
  // `poolSize · stake / total` times too few seats overall; one that draws the pool uniformly
  // (not by stake) gives every validator the same share. Either fails the per-validator check.
  it("keeps each validator's overall chance of a seat at committeeSize · stake / total (SDK mirror, 1,500 rounds)", () => {
    const committeeSize = 3;
    const stakes = Array.from({ length: 30 }, (_, i) => BigInt(i + 1)); // 1..30: 24 and more are always in the pool
    const total = stakes.reduce((a, b) => a + b, 0n); // 465
    const members = stakes.map((_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address);
    const size = poolSize(committeeSize, 2, 30, 200); // 20
    expect(size).to.equal(20n);
    const rounds = 1_500;
    const seats = stakes.map(() => 0);
    const served = stakes.map(() => 0);
    let poolMembers = 0;
    for (let r = 0; r < rounds; r++) {
      const value = word("beacon", r);
      const id = word("challenge", r);
      for (const [i, m] of members.entries()) {
        if (!isInPool(value, m, stakes[i], total, size)) continue;
        served[i]++;
        poolMembers++;
        if (committeeBand(value, id, m, stakes[i], total, committeeSize, size) === 0n) seats[i]++;
      }
    }
    // the pool: min(1, size · stake / total) for each validator
    const expectedPool = stakes.reduce(
      (a, s) => a + Math.min(1, (Number(size) * Number(s)) / Number(total)),
      0,
    );
    expect(poolMembers / rounds).to.be.closeTo(expectedPool, 0.25);
    // each validator's seats: Binomial(rounds, committeeSize · stake / total), within 4.5 sigma, and
    // a chi-square over the 30 validators below its 99.9% quantile for 30 degrees of freedom (59.7)
    let chi2 = 0;
    for (const [i, s] of stakes.entries()) {
      const p = (committeeSize * Number(s)) / Number(total);
      const mean = rounds * p;
      const sigma = Math.sqrt(rounds * p * (1 - p));
      expect(
        Math.abs(seats[i] - mean),
        `validator of stake ${s}: ${seats[i]} seats, ${mean} expected`,
      ).to.be.below(4.5 * sigma);
      chi2 += (seats[i] - mean) ** 2 / (mean * (1 - p));
      // a validator always in the pool serves every round; the others by their stake
      if (size * s >= total) expect(served[i]).to.equal(rounds);
    }
    expect(chi2).to.be.below(59.7);
  });

  describe("on chain", () => {
    /**
     * Twelve validators of 1,000, committees of 2 (minReveals 2), three challenges of round 1: the
     * pool of round 2 is `max(2 · max(2, 2), ceil(2 · 3 / 30))` = 4 members expected, each drawn
     * with probability 4/12.
     */
    async function pooled() {
      const w = await deployWorld(conn, {
        challenge: { committeeSize: 2 },
        trainers: [E(5000), E(5000), E(5000)],
        validators: Array.from({ length: 12 }, () => E(1000)),
      });
      await w.to(w.start(R));
      for (const t of w.trainers) await t.cm.write.submitResult([R, ROOT, 8000]);
      await w.to(w.windows(R).commitStart);
      await w.beacon.write.seal([R + 1n]);
      return w;
    }

    // The naive commit that draws each committee from every validator (no pool check) admits an
    // outsider whose own band is low; one that tops up from every validator admits an outsider
    // into a short committee. Either fails here.
    it("refuses every committee of the round to a validator outside its pool, and tops up a short committee from the pool", async () => {
      const w = await conn.networkHelpers.loadFixture(pooled);
      const params = await w.challenges.read.params();
      expect(params.poolSeats).to.equal(30);
      expect(await w.challenges.read.submissions([R])).to.equal(3n);
      const size = poolSize(params.committeeSize, params.minReveals, params.poolSeats, 3);
      expect(size).to.equal(4n);
      const value = await w.beacon.read.valueOf([R + 1n]);
      const total = await w.staking.read.roleStakeAt([2, R]); // Role.Validator
      expect(total).to.equal(E(12_000));
      const inPool = w.validators.filter((v) => isInPool(value, v.address, E(1000), total, size));
      const outside = w.validators.filter((v) => !inPool.includes(v));
      expect(outside.length, "some validator is outside the pool").to.be.greaterThan(0);
      expect(inPool.length, "the pool is not empty").to.be.greaterThan(0);
      const ids = w.trainers.map((t) => w.id(t, R));
      const bandOf = (id: Hex, v: Actor) => committeeBand(value, id, v.address, E(1000), total, 2, size);

      // one check a round: outside the pool, no band in any committee, refused whenever it tries
      for (const id of ids) {
        for (const v of w.validators) {
          expect(await w.challenges.read.isCommitteeMember([id, v.address]), "isCommitteeMember").to.equal(
            bandOf(id, v) === 0n,
          );
        }
        for (const v of outside) {
          expect(bandOf(id, v)).to.equal(null);
          await assertions().revertWithCustomErrorWithArgs(
            w.commitVote(id, { v, verdict: Verdict.Valid, score: 8000 }),
            w.challenges,
            "NotInCommittee",
            [id, v.address],
          );
        }
      }

      // inside the pool, band by band as the commit window opens: a top-up only while short
      const { commitStart, revealStart: commitEnd } = w.windows(R);
      const minReveals = Number(params.minReveals);
      const topUps = await w.challenges.read.TOP_UP_BANDS();
      const admitted = ids.map(() => [] as Actor[]);
      for (let band = 0n; band <= topUps; band++) {
        await w.reach(commitStart + (band * (commitEnd - commitStart)) / (topUps + 1n));
        for (const [c, id] of ids.entries()) {
          const lower = admitted[c].length;
          for (const v of inPool) {
            if (bandOf(id, v) !== band) continue;
            const vote = { v, verdict: Verdict.Valid, score: 8000 };
            if (band === 0n || lower < minReveals) {
              await w.commitVote(id, vote);
              admitted[c].push(v);
            } else {
              await assertions().revertWithCustomErrorWithArgs(
                w.commitVote(id, vote),
                w.challenges,
                "NotInCommittee",
                [id, v.address],
              );
            }
          }
        }
      }
      // every pool member has a band of the pool's slices (one expected member each): a committee
      // fills up to minReveals whenever the pool holds that many
      for (const [c, id] of ids.entries()) {
        for (const v of inPool) expect(bandOf(id, v)! <= topUps, "a pool member's band").to.equal(true);
        expect(admitted[c].length).to.be.at.least(Math.min(minReveals, inPool.length));
        expect((await w.challenges.read.getChallenge([id])).members).to.equal(admitted[c].length);
      }
      if (inPool.length >= minReveals) {
        await w.reach(w.windows(R).revealStart);
        for (const [c, id] of ids.entries()) {
          for (const v of admitted[c]) await w.revealVote(id, { v, verdict: Verdict.Valid, score: 8000 });
          const challenge = await w.challenges.read.getChallenge([id]);
          expect(challenge.status).to.equal(Status.Valid);
          expect(challenge.extension).to.equal(0);
        }
      }
    });
  });
});
