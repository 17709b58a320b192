/**
 * RandomnessBeacon: who may contribute, commit-reveal integrity, the penalty record for reveals
 * that never came, and the value of a round: a RANDAO mix fixed from the round's start, sealed
 * from the chain only when nobody contributed, different for every round. Bounded contributors:
 * at most `maxContributors` a round, drawn by stake from the previous round's value with stakes
 * fixed before that value could be computed; a drawn contributor that withholds is still slashed.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, toHex, zeroHash, type Address, type Hex } from "viem";
import { isSelected } from "../../sdk/src/poai/sortition.js";
import { E, VALIDATOR, deployWorld, type Actor, type Connection, type World } from "./helpers/world.js";

const R = 2n; // the round whose value is built during round 1

/** The RANDAO step of a commit or a reveal, as the contract mixes it (the hash's low 224 bits). */
const mix = (acc: Hex, word: Hex, randao: Hex): Hex =>
  toHex(
    BigInt(
      keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
          [acc, word, BigInt(randao)],
        ),
      ),
    ) &
      ((1n << 224n) - 1n),
    { size: 32 },
  );

describe("RandomnessBeacon", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  /** Four validators of 1,000, a trainer and a stranger; the clock is at the start of round 1. */
  async function fixture() {
    const w = await deployWorld(conn, { validators: [E(1000), E(1000), E(1000), E(1000)] });
    await w.to(w.start(R - 1n));
    return w;
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  const commitmentOf = (w: World, v: Actor, secret: Hex, round = R) =>
    w.beacon.read.commitmentOf([secret, v.address, round]);
  const word = (n: number): Hex => keccak256(toHex(`secret-${n}`));

  describe("contributions", () => {
    it("takes commitments only from active validators", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      const [T] = w.trainers;
      const [X] = w.outsiders;
      await w.staking.write.slash([V1.address, 1n, [], true]); // jailed
      await V2.staking.write.deregister();
      for (const a of [T, X, V1, V2]) {
        await assertions().revertWithCustomErrorWithArgs(
          a.beacon.write.commit([R, await commitmentOf(w, a, word(1))]),
          w.beacon,
          "NotActiveValidator",
          [a.address],
        );
      }
      await assertions().emitWithArgs(
        V0.beacon.write.commit([R, await commitmentOf(w, V0, word(1))]),
        w.beacon,
        "Committed",
        [R, V0.address],
      );
      expect(await w.beacon.read.participation([R])).to.deep.equal([1, 0]);
    });

    it("takes one commitment per validator and round", async () => {
      const w = await load();
      const [V0] = w.validators;
      await V0.beacon.write.commit([R, await commitmentOf(w, V0, word(1))]);
      await assertions().revertWithCustomErrorWithArgs(
        V0.beacon.write.commit([R, await commitmentOf(w, V0, word(2))]),
        w.beacon,
        "AlreadyCommitted",
        [R, V0.address],
      );
    });

    it("refuses commitments that collide with its own markers (none, revealed, missed)", async () => {
      // A commitment of 0 could be repeated; 1 or 2 would read as already revealed or already
      // reported, so a validator could commit, never reveal, and never be reported.
      const w = await load();
      const [V0] = w.validators;
      for (const c of [zeroHash, toHex(1n, { size: 32 }), toHex(2n, { size: 32 })]) {
        await assertions().revertWithCustomErrorWithArgs(
          V0.beacon.write.commit([R, c]),
          w.beacon,
          "InvalidCommitment",
          [R, c],
        );
      }
      expect(await w.beacon.read.participation([R])).to.deep.equal([0, 0]);
    });

    it("opens a commitment only with its own secret, validator and round", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      const c0 = await commitmentOf(w, V0, word(0));
      await V0.beacon.write.commit([R, c0]);
      await V1.beacon.write.commit([R, c0]); // a copy of V0's commitment
      await V2.beacon.write.commit([R, await commitmentOf(w, V2, word(2), R + 1n)]); // made for another round
      await w.to(w.beaconCommitEnd(R));
      await assertions().revertWithCustomErrorWithArgs(
        V0.beacon.write.reveal([R, word(9)]),
        w.beacon,
        "RevealMismatch",
        [R, V0.address],
      );
      await assertions().revertWithCustomErrorWithArgs(
        V1.beacon.write.reveal([R, word(0)]),
        w.beacon,
        "RevealMismatch",
        [R, V1.address],
      );
      await assertions().revertWithCustomErrorWithArgs(
        V2.beacon.write.reveal([R, word(2)]),
        w.beacon,
        "RevealMismatch",
        [R, V2.address],
      );
      await assertions().emitWithArgs(V0.beacon.write.reveal([R, word(0)]), w.beacon, "Revealed", [
        R,
        V0.address,
      ]);
      await assertions().revertWithCustomErrorWithArgs(
        V0.beacon.write.reveal([R, word(0)]),
        w.beacon,
        "NoCommitment",
        [R, V0.address],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.validators[3].beacon.write.reveal([R, word(3)]),
        w.beacon,
        "NoCommitment",
        [R, w.validators[3].address],
      );
      expect(await w.beacon.read.participation([R])).to.deep.equal([3, 1]);
      expect(await w.beacon.read.contributionOf([R, V0.address])).to.deep.equal([true, true]);
      expect(await w.beacon.read.contributionOf([R, V1.address])).to.deep.equal([true, false]);
      expect(await w.beacon.read.contributionOf([R, w.validators[3].address])).to.deep.equal([false, false]);
    });

    it("lets a validator jailed after its commitment still reveal it", async () => {
      const w = await load();
      const [V0] = w.validators;
      await V0.beacon.write.commit([R, await commitmentOf(w, V0, word(0))]);
      await w.staking.write.slash([V0.address, 1n, [], true]);
      await w.to(w.beaconCommitEnd(R));
      await V0.beacon.write.reveal([R, word(0)]);
    });
  });

  describe("missed reveals", () => {
    it("records each validator that committed and did not reveal, once per round", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      const [X] = w.outsiders;
      await w.beaconCommit(R, [V0, V1]);
      await w.beaconReveal(R, [V0]);
      // not before the round starts: the reveal phase is still open
      await assertions().revertWithCustomErrorWithArgs(
        X.beacon.write.reportMissedReveal([R, V1.address]),
        w.beacon,
        "BeaconNotReady",
        [R, w.start(R)],
      );
      await w.at(w.start(R));
      await assertions().emitWithArgs(
        X.beacon.write.reportMissedReveal([R, V1.address]),
        w.beacon,
        "MissedReveal",
        [R, V1.address, 1n],
      );
      expect(await w.beacon.read.missedReveals([V1.address])).to.equal(1n);
      for (const v of [V1, V0, V2]) {
        await assertions().revertWithCustomErrorWithArgs(
          X.beacon.write.reportMissedReveal([R, v.address]),
          w.beacon,
          "RevealNotMissed",
          [R, v.address],
        );
      }
      expect(await w.beacon.read.missedReveals([V0.address])).to.equal(0n);
      // a reported commitment cannot be revealed any more (and the reveal phase is over anyway)
      expect(await w.beacon.read.contributionOf([R, V1.address])).to.deep.equal([true, false]);
      // the counter accumulates over rounds
      await V1.beacon.write.commit([R + 1n, await commitmentOf(w, V1, word(5), R + 1n)]);
      await w.to(w.start(R + 1n));
      await X.beacon.write.reportMissedReveal([R + 1n, V1.address]);
      expect(await w.beacon.read.missedReveals([V1.address])).to.equal(2n);
    });
    it("keeps a withheld reveal on record when the validator's next commitment takes its slot", async () => {
      const w = await load();
      const [V0, V1] = w.validators;
      const [X] = w.outsiders;
      await w.beaconCommit(R, [V0, V1]);
      await w.beaconReveal(R, [V0]); // V1 withholds, and nobody reports it before its next commitment
      await w.to(w.start(R));
      for (const v of [V0, V1])
        await v.beacon.write.commit([R + 1n, await commitmentOf(w, v, word(9), R + 1n)]);
      expect(await w.beacon.read.contributionOf([R, V1.address])).to.deep.equal([true, false]);
      // a revealed contribution older than the latest commitment is no longer on record (its events are)
      expect(await w.beacon.read.contributionOf([R, V0.address])).to.deep.equal([false, false]);
      expect(await w.beacon.read.contributionOf([R + 1n, V1.address])).to.deep.equal([true, false]);
      await assertions().emitWithArgs(
        X.beacon.write.reportMissedReveal([R, V1.address]),
        w.beacon,
        "MissedReveal",
        [R, V1.address, 1n],
      );
      for (const v of [V1, V0]) {
        await assertions().revertWithCustomErrorWithArgs(
          X.beacon.write.reportMissedReveal([R, v.address]),
          w.beacon,
          "RevealNotMissed",
          [R, v.address],
        );
      }
      expect(await w.beacon.read.contributionOf([R, V1.address])).to.deep.equal([true, false]);
      // the next commitment is its own: revealed, it is no miss; the reported one stays reported
      await w.to(w.beaconCommitEnd(R + 1n));
      await V1.beacon.write.reveal([R + 1n, word(9)]);
      expect(await w.beacon.read.contributionOf([R + 1n, V1.address])).to.deep.equal([true, true]);
      await w.to(w.start(R + 1n));
      for (const round of [R, R + 1n]) {
        await assertions().revertWithCustomErrorWithArgs(
          X.beacon.write.reportMissedReveal([round, V1.address]),
          w.beacon,
          "RevealNotMissed",
          [round, V1.address],
        );
      }
      await X.beacon.write.reportMissedReveal([R + 1n, V0.address]); // V0 withheld this one
      expect(await w.beacon.read.missedReveals([V1.address])).to.equal(1n);
      expect(await w.beacon.read.missedReveals([V0.address])).to.equal(1n);
    });
  });

  describe("round values", () => {
    it("is the RANDAO mix of the round's commitments and reveals, fixed from the round's start", async () => {
      const w = await load();
      const vs = w.validators.slice(0, 3);
      let acc: Hex = zeroHash;
      for (const [i, v] of vs.entries()) {
        const c = await commitmentOf(w, v, word(i));
        const block = await w.blockOf(await v.beacon.write.commit([R, c]));
        acc = mix(acc, c, block.mixHash);
      }
      await w.to(w.beaconCommitEnd(R));
      for (const [i, v] of vs.entries()) {
        const block = await w.blockOf(await v.beacon.write.reveal([R, word(i)]));
        acc = mix(acc, word(i), block.mixHash);
      }
      const expected = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [acc, R]));
      await w.to(w.start(R) - 1n);
      expect(await w.beacon.read.isReady([R])).to.equal(false);
      await assertions().revertWithCustomErrorWithArgs(
        w.beacon.read.valueOf([R]),
        w.beacon,
        "BeaconNotReady",
        [R, w.start(R)],
      );
      await w.to(w.start(R));
      expect(await w.beacon.read.isReady([R])).to.equal(true);
      expect(await w.beacon.read.valueOf([R])).to.equal(expected);
      // nothing changes it any more: a late reveal, a seal, later rounds' activity, time
      await assertions().revertWithCustomError(
        w.validators[3].beacon.write.reveal([R, word(3)]),
        w.beacon,
        "NotInRevealPhase",
      );
      const sealed = await w.beacon.write.seal([R]);
      expect(await w.events(sealed, w.beacon, "Sealed")).to.deep.equal([]);
      expect((await w.beacon.simulate.seal([R])).result).to.equal(expected);
      await w.validators[0].beacon.write.commit([
        R + 1n,
        await commitmentOf(w, w.validators[0], word(7), R + 1n),
      ]);
      await w.to(w.start(R + 5n));
      expect(await w.beacon.read.valueOf([R])).to.equal(expected);
    });

    it("counts a round with commitments but no reveal as contributed (no seal)", async () => {
      const w = await load();
      const [V0] = w.validators;
      const c = await commitmentOf(w, V0, word(0));
      const block = await w.blockOf(await V0.beacon.write.commit([R, c]));
      await w.to(w.start(R));
      const acc = mix(zeroHash, c, block.mixHash);
      expect(await w.beacon.read.valueOf([R])).to.equal(
        keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [acc, R])),
      );
      expect(await w.events(await w.beacon.write.seal([R]), w.beacon, "Sealed")).to.deep.equal([]);
    });

    it("seals a round nobody contributed to once, from the round's start, and never changes it", async () => {
      const w = await load();
      await assertions().revertWithCustomErrorWithArgs(w.beacon.write.seal([R]), w.beacon, "BeaconNotReady", [
        R,
        w.start(R),
      ]);
      await w.to(w.start(R) + 10n);
      // ready in time, but without contribution the value does not exist until someone seals it
      await assertions().revertWithCustomErrorWithArgs(
        w.beacon.read.valueOf([R]),
        w.beacon,
        "BeaconNotReady",
        [R, w.start(R)],
      );
      const hash = await w.beacon.write.seal([R]);
      const [e] = await w.events(hash, w.beacon, "Sealed");
      expect(e.round).to.equal(R);
      const value = e.value as Hex;
      expect(await w.beacon.read.valueOf([R])).to.equal(value);
      const again = await w.beacon.write.seal([R]);
      expect(await w.events(again, w.beacon, "Sealed")).to.deep.equal([]);
      await w.to(w.start(R + 3n));
      expect(await w.beacon.read.valueOf([R])).to.equal(value);
      expect((await w.beacon.simulate.seal([R])).result).to.equal(value);
    });

    it("gives every round a different value", async () => {
      const w = await load();
      const [V0, V1] = w.validators;
      const values: Hex[] = [];
      for (let r = R; r < R + 4n; r++) {
        // rounds R and R + 2 get the same contributor pattern, R + 1 and R + 3 none
        if ((r - R) % 2n === 0n) {
          await w.beaconCommit(r, [V0, V1]);
          await w.beaconReveal(r, [V0, V1]);
        }
        await w.to(w.start(r));
        await w.beacon.write.seal([r]);
        values.push(await w.beacon.read.valueOf([r]));
      }
      expect(new Set(values).size).to.equal(values.length);
    });
  });
  describe("bounded contributors", () => {
    /** One validator of 100,000 (always drawn) and three of 1,000 (drawn with p ≈ 0.31 each). */
    async function unequal() {
      const w = await deployWorld(conn, { validators: [E(100_000), E(1000), E(1000), E(1000)] });
      await w.to(w.start(1n));
      return w;
    }
    const loadUnequal = () => conn.networkHelpers.loadFixture(unequal);
    const valueOf = (acc: Hex, round: bigint) =>
      keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [acc, round]));

    it("draws each round's contributors by stake from the previous value, with stakes fixed before it, and refuses the undrawn", async () => {
      const w = await loadUnequal();
      const [V0, ...small] = w.validators;
      // Round 2: nobody contributed to round 1, so every active validator is drawn.
      for (const v of w.validators) expect(await w.beacon.read.isDrawn([2n, v.address])).to.equal(true);
      // V0 alone builds the value of round 2; the test follows the accumulator off chain.
      let acc: Hex = zeroHash;
      const c2 = await commitmentOf(w, V0, word(20), 2n);
      acc = mix(acc, c2, (await w.blockOf(await V0.beacon.write.commit([2n, c2]))).mixHash);
      await w.to(w.beaconCommitEnd(2n));
      acc = mix(acc, word(20), (await w.blockOf(await V0.beacon.write.reveal([2n, word(20)]))).mixHash);

      let drawnSeen = 0;
      let undrawnSeen = 0;
      let moved: Actor | undefined;
      let movedChecked = false;
      for (let r = 3n; r < 12n && !(drawnSeen > 0 && undrawnSeen > 0 && movedChecked); r++) {
        // Every reveal of round r - 1 is in: its value is computable here, before round r - 1
        // starts. The draw of round r uses stakes at the start of round r - 2, which nothing
        // done now can change.
        const value = valueOf(acc, r - 1n);
        const seed = keccak256(
          encodeAbiParameters(
            [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
            [value, w.beacon.address, r],
          ),
        );
        const total = await w.staking.read.roleStakeAt([VALIDATOR, r - 2n]);
        const drawOf = async (a: Address) =>
          isSelected(seed, a, await w.staking.read.stakeAt([a, r - 2n]), total, 32n);
        let movedNow: Actor | undefined;
        if (moved === undefined) {
          for (const v of small) {
            if (!(await drawOf(v.address))) {
              // an undrawn validator that sees the coming value adds more stake than everyone
              // else's: with stakes read at r - 1 it would be drawn for certain
              await v.staking.write.addStake([E(500_000)]);
              moved = movedNow = v;
              break;
            }
          }
        }
        await w.to(w.start(r - 1n));
        if (movedNow) {
          const after = await w.staking.read.stakeAt([movedNow.address, r - 1n]);
          expect(32n * after >= (await w.staking.read.roleStakeAt([VALIDATOR, r - 1n]))).to.equal(true);
          expect(await w.beacon.read.isDrawn([r, movedNow.address])).to.equal(false);
          movedChecked = true;
        }
        acc = zeroHash;
        const contributors: Actor[] = [];
        for (const [i, v] of w.validators.entries()) {
          const drawn = await drawOf(v.address);
          expect(await w.beacon.read.isDrawn([r, v.address])).to.equal(drawn);
          const c = await commitmentOf(w, v, word(100 + i), r);
          if (!drawn) {
            undrawnSeen++;
            await assertions().revertWithCustomErrorWithArgs(
              v.beacon.write.commit([r, c]),
              w.beacon,
              "NotDrawn",
              [r, v.address],
            );
            continue;
          }
          if (v !== V0) drawnSeen++;
          acc = mix(acc, c, (await w.blockOf(await v.beacon.write.commit([r, c]))).mixHash);
          contributors.push(v);
        }
        await w.to(w.beaconCommitEnd(r));
        for (const v of contributors) {
          const secret = word(100 + w.validators.indexOf(v));
          acc = mix(acc, secret, (await w.blockOf(await v.beacon.write.reveal([r, secret]))).mixHash);
        }
      }
      expect(drawnSeen).to.be.greaterThan(0);
      expect(undrawnSeen).to.be.greaterThan(0);
      expect(movedChecked).to.equal(true);
    });

    it("still slashes a drawn contributor that commits and withholds its reveal", async () => {
      const w = await loadUnequal();
      const [V0, V1] = w.validators;
      const [X] = w.outsiders;
      await w.beaconCommit(2n, [V0, V1]);
      await w.beaconReveal(2n, [V0, V1]);
      await w.to(w.start(2n));
      // round 3 is drawn (round 2 had contributions); V0's stake makes it drawn for certain
      const drawn = [];
      for (const v of w.validators) if (await w.beacon.read.isDrawn([3n, v.address])) drawn.push(v);
      expect(drawn).to.include(V0);
      await w.beaconCommit(3n, drawn);
      await w.beaconReveal(3n, drawn.slice(1)); // V0 withholds
      await w.to(w.start(3n));
      const hash = await X.cm.write.reportBeaconWithholding([3n, V0.address]);
      expect(await w.events(hash, w.challenges, "BeaconWithholdingSlashed")).to.deep.equal([
        { round: 3n, validator: V0.address, reporter: X.address, fraction: w.cp.beaconSlash },
      ]);
    });

    it("takes at most maxContributors commitments a round, and bounds maxContributors", async () => {
      const w = await load();
      const [V0, V1, V2] = w.validators;
      for (const bad of [0n, 257n]) {
        await assertions().revertWithCustomErrorWithArgs(
          conn.viem.deployContract("RandomnessBeacon", [w.staking.address, bad]),
          w.beacon,
          "InvalidMaxContributors",
          [bad, 1n, 256n],
        );
      }
      expect(await w.beacon.read.maxContributors()).to.equal(32n);
      const two = await conn.viem.deployContract("RandomnessBeacon", [w.staking.address, 2n]);
      const as = (v: Actor) =>
        conn.viem.getContractAt("RandomnessBeacon", two.address, { client: { wallet: v.wallet } });
      for (const v of [V0, V1]) await (await as(v)).write.commit([R, await commitmentOf(w, v, word(1))]);
      await assertions().revertWithCustomErrorWithArgs(
        (await as(V2)).write.commit([R, await commitmentOf(w, V2, word(1))]),
        two,
        "BeaconFull",
        [R, 2n],
      );
      expect(await two.read.participation([R])).to.deep.equal([2, 0]);
    });
  });
});
