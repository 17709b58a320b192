import { expect } from "chai";
import fc from "fast-check";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex, hexToBytes, type Hex } from "viem";
import {
  CommitmentError,
  byteTreeRoot,
  checkpointLeaf,
  commit,
  commitCheckpoints,
  encodeCheckpoint,
  train,
  verifyCheckpointProof,
} from "../../sdk/src/compute/index.js";
import { deployProbe } from "./probe.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;
const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b) as Hex);

describe("engine: checkpoint commitments", () => {
  it("proves every checkpoint of a run under the root, and nothing else", async () => {
    const run = await train(
      {
        version: 1,
        widths: [6, 5, 3],
        batchSize: 4,
        steps: 14,
        checkpointInterval: 2,
        lrShift: 3,
        evalSize: 8,
      },
      `0x${"11".repeat(32)}`,
    );
    const c = commit(run);
    expect(c.leaves.length).to.equal(run.checkpointHashes.length);
    run.checkpointHashes.forEach((hash, i) => {
      const root = run.parameterRoots[i];
      expect(c.leaves[i]).to.equal(checkpointLeaf(i, hash, root));
      expect(verifyCheckpointProof(c.root, i, hash, root, c.proof(i))).to.equal(true);
      // The leaf binds the index: the same hash and proof do not pass as another checkpoint.
      expect(verifyCheckpointProof(c.root, i + 1, hash, root, c.proof(i))).to.equal(false);
      const j = (i + 1) % run.checkpointHashes.length;
      expect(verifyCheckpointProof(c.root, i, run.checkpointHashes[j], root, c.proof(i))).to.equal(false);
      // ... and the parameter root: a checkpoint cannot be proven with another one's root.
      expect(verifyCheckpointProof(c.root, i, hash, run.parameterRoots[j], c.proof(i))).to.equal(false);
    });
    expect(() => c.proof(run.checkpointHashes.length)).to.throw(
      CommitmentError,
      `got ${run.checkpointHashes.length}`,
    );
  });

  // Catches a leaf that leaves the step-state root out (an operation-sampling trainer could then
  // build its step states after learning the samples) and a verifier that ignores it.
  it("commits each segment's step-state root in its start leaf: another step root is not proven", () => {
    const h = (b: string): Hex => `0x${b.repeat(32)}`;
    const hashes = [h("01"), h("02"), h("03")];
    const roots = [h("11"), h("12"), h("13")];
    const steps = [h("21"), h("22"), h("00")];
    const c = commit({ checkpointHashes: hashes, parameterRoots: roots, stepRoots: steps });
    expect(c.stepRoots).to.deep.equal(steps);
    expect(commit({ checkpointHashes: hashes, parameterRoots: roots }).root).to.not.equal(c.root);
    for (let i = 0; i < 3; i++) {
      expect(c.leaves[i]).to.equal(checkpointLeaf(i, hashes[i], roots[i], steps[i]));
      expect(verifyCheckpointProof(c.root, i, hashes[i], roots[i], c.proof(i), steps[i])).to.equal(true);
      expect(verifyCheckpointProof(c.root, i, hashes[i], roots[i], c.proof(i), h("99"))).to.equal(false);
    }
    // omitted, the step root is zero: a segment-replay run's leaves
    expect(verifyCheckpointProof(c.root, 2, hashes[2], roots[2], c.proof(2))).to.equal(true);
    expect(verifyCheckpointProof(c.root, 0, hashes[0], roots[0], c.proof(0))).to.equal(false);
    expect(() =>
      commit({ checkpointHashes: hashes, parameterRoots: roots, stepRoots: steps.slice(1) }),
    ).to.throw(CommitmentError, "stepRoots must list one root per checkpoint (3), got 2");
    // the final checkpoint starts no segment: its word is the run's evaluation root, proven alike
    const evaluated = commit({
      checkpointHashes: hashes,
      parameterRoots: roots,
      stepRoots: [h("21"), h("22"), h("23")],
    });
    expect(
      verifyCheckpointProof(evaluated.root, 2, hashes[2], roots[2], evaluated.proof(2), h("23")),
    ).to.equal(true);
    expect(verifyCheckpointProof(evaluated.root, 2, hashes[2], roots[2], evaluated.proof(2))).to.equal(false);
  });

  it("commits each checkpoint's parameter root: the root of its byte tree, the dispute game's Θ slot", async () => {
    const spec = {
      version: 1,
      widths: [6, 5, 3],
      batchSize: 4,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 3,
      evalSize: 8,
    } as const;
    const bytes: Uint8Array[] = [];
    const run = await train(spec, `0x${"12".repeat(32)}`, {
      onCheckpoint: ({ checkpoint }) => void bytes.push(encodeCheckpoint(spec, checkpoint)),
    });
    expect(run.parameterRoots).to.deep.equal(bytes.map((b) => byteTreeRoot(b)));
    expect(commitCheckpoints(bytes).root).to.equal(commit(run).root);
  });

  it("rejects checkpoint lists that are empty, hold malformed hashes or miss parameter roots", () => {
    const zero: Hex = `0x${"00".repeat(32)}`;
    expect(() => commit({ checkpointHashes: [], parameterRoots: [] })).to.throw(CommitmentError);
    expect(() => commit({ checkpointHashes: [zero, "0x1234"], parameterRoots: [zero, zero] })).to.throw(
      CommitmentError,
      "checkpointHashes[1] must be a 32-byte hex string, got 0x1234",
    );
    expect(() => commit({ checkpointHashes: [zero, zero], parameterRoots: [zero] })).to.throw(
      CommitmentError,
      "parameterRoots must list one root per checkpoint (2), got 1",
    );
    expect(() => commit({ checkpointHashes: [zero], parameterRoots: ["0x12"] })).to.throw(
      CommitmentError,
      "parameterRoots[0] must be a 32-byte hex string, got 0x12",
    );
  });

  it("judges every proof exactly as OpenZeppelin's StandardMerkleTree.verify, tampered ones included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(hashArb, hashArb, hashArb), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom("none", "sibling", "drop", "extra", "root", "index", "step"),
        (pairs, pick, at, flip, tamper) => {
          const hashes = pairs.map((p) => p[0]);
          const roots = pairs.map((p) => p[1]);
          const steps = pairs.map((p, k) => (k === pairs.length - 1 ? ZERO : p[2]));
          const c = commit({ checkpointHashes: hashes, parameterRoots: roots, stepRoots: steps });
          const i = pick % hashes.length;
          let proof = c.proof(i);
          let root = c.root;
          let index = i;
          const flipByte = (h: Hex, k: number): Hex => {
            const b = hexToBytes(h);
            b[k % 32] ^= flip || 1;
            return bytesToHex(b);
          };
          if (tamper === "sibling" && proof.length > 0)
            proof = proof.map((p, k) => (k === at % proof.length ? flipByte(p, at) : p));
          if (tamper === "drop") proof = proof.slice(0, -1);
          if (tamper === "extra") proof = [...proof, hashes[at % hashes.length]];
          if (tamper === "root") root = flipByte(root, at);
          if (tamper === "index") index = (i + 1 + (at % 3)) % (hashes.length + 2);
          const step = tamper === "step" ? flipByte(steps[i], at) : steps[i];
          const expected = StandardMerkleTree.verify(
            root,
            ["uint32", "bytes32", "bytes32", "bytes32"],
            [index, hashes[i], roots[i], step],
            proof,
          );
          expect(verifyCheckpointProof(root, index, hashes[i], roots[i], proof, step)).to.equal(expected);
          if (tamper === "none") expect(expected).to.equal(true);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
    const h: Hex = `0x${"22".repeat(32)}`;
    const r: Hex = `0x${"44".repeat(32)}`;
    const c = commit({ checkpointHashes: [h, `0x${"33".repeat(32)}`], parameterRoots: [r, r] });
    expect(verifyCheckpointProof(c.root, 0, h, r, c.proof(0))).to.equal(true);
    expect(verifyCheckpointProof(c.root, 0, h, r, ["0x1234"])).to.equal(false);
    expect(verifyCheckpointProof(c.root, -1, h, r, c.proof(0))).to.equal(false);
    expect(verifyCheckpointProof("0xzz" as Hex, 0, h, r, c.proof(0))).to.equal(false);
    expect(verifyCheckpointProof(c.root, 0, h, "0x44" as Hex, c.proof(0))).to.equal(false);
  });

  it("verifies proofs on chain with OpenZeppelin's MerkleProof and the documented leaf", async () => {
    const probe = await deployProbe();
    const samples = fc.sample(fc.array(fc.tuple(hashArb, hashArb), { minLength: 1, maxLength: 40 }), {
      numRuns: 8,
      seed: 3,
    });
    for (const pairs of samples) {
      const hashes = pairs.map((p) => p[0]);
      const roots = pairs.map((p) => p[1]);
      const steps = hashes.map((x, k) => (k === hashes.length - 1 ? ZERO : roots[(k + 1) % roots.length]));
      const c = commit({ checkpointHashes: hashes, parameterRoots: roots, stepRoots: steps });
      for (const i of new Set([0, hashes.length - 1, Math.floor(hashes.length / 2)])) {
        const args = [c.proof(i), c.root, i, hashes[i], roots[i], steps[i]];
        expect(await probe.read("verifyCheckpoint", args)).to.equal(true);
        expect(
          await probe.read("verifyCheckpoint", [c.proof(i), c.root, i + 1, hashes[i], roots[i], steps[i]]),
        ).to.equal(false);
        expect(
          await probe.read("verifyCheckpoint", [c.proof(i), c.root, i, hashes[i], hashes[i], steps[i]]),
        ).to.equal(false);
        expect(
          await probe.read("verifyCheckpoint", [c.proof(i), c.root, i, hashes[i], roots[i], hashes[i]]),
        ).to.equal(false);
      }
    }
  });
});
