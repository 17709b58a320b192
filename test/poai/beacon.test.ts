/**
 * RandomnessBeacon: who may contribute, commit-reveal integrity, the penalty record for reveals
 * that never came, and the value of a round: a RANDAO mix fixed from the round's start, sealed
 * from the chain only when nobody contributed, different for every round.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, toHex, zeroHash, type Hex } from "viem";
import { E, deployWorld, type Actor, type Connection, type World } from "./helpers/world.js";

const R = 2n; // the round whose value is built during round 1

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
  });

  describe("round values", () => {
    it("is the RANDAO mix of the round's commitments and reveals, fixed from the round's start", async () => {
      const w = await load();
      const vs = w.validators.slice(0, 3);
      let acc: Hex = zeroHash;
      const mix = (x: Hex, y: Hex, randao: Hex) =>
        keccak256(
          encodeAbiParameters(
            [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
            [x, y, BigInt(randao)],
          ),
        );
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
      const acc = keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
          [zeroHash, c, BigInt(block.mixHash)],
        ),
      );
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
});
