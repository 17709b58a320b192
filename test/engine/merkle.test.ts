import { expect } from "chai";
import fc from "fast-check";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex, hexToBytes, type Hex } from "viem";
import {
  CommitmentError,
  checkpointLeaf,
  commit,
  train,
  verifyCheckpointProof,
} from "../../sdk/src/compute/index.js";
import { deployProbe } from "./probe.js";

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
      expect(c.leaves[i]).to.equal(checkpointLeaf(i, hash));
      expect(verifyCheckpointProof(c.root, i, hash, c.proof(i))).to.equal(true);
      // The leaf binds the index: the same hash and proof do not pass as another checkpoint.
      expect(verifyCheckpointProof(c.root, i + 1, hash, c.proof(i))).to.equal(false);
      const other = run.checkpointHashes[(i + 1) % run.checkpointHashes.length];
      expect(verifyCheckpointProof(c.root, i, other, c.proof(i))).to.equal(false);
    });
    expect(() => c.proof(run.checkpointHashes.length)).to.throw(
      CommitmentError,
      `got ${run.checkpointHashes.length}`,
    );
  });

  it("rejects checkpoint lists that are empty or hold malformed hashes", () => {
    expect(() => commit({ checkpointHashes: [] })).to.throw(CommitmentError);
    expect(() => commit({ checkpointHashes: [`0x${"00".repeat(32)}`, "0x1234"] })).to.throw(
      CommitmentError,
      "checkpointHashes[1] must be a 32-byte hex string, got 0x1234",
    );
  });

  it("judges every proof exactly as OpenZeppelin's StandardMerkleTree.verify, tampered ones included", () => {
    fc.assert(
      fc.property(
        fc.array(hashArb, { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom("none", "sibling", "drop", "extra", "root", "index"),
        (hashes, pick, at, flip, tamper) => {
          const c = commit({ checkpointHashes: hashes });
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
          const expected = StandardMerkleTree.verify(root, ["uint32", "bytes32"], [index, hashes[i]], proof);
          expect(verifyCheckpointProof(root, index, hashes[i], proof)).to.equal(expected);
          if (tamper === "none") expect(expected).to.equal(true);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
    const c = commit({ checkpointHashes: [`0x${"22".repeat(32)}`, `0x${"33".repeat(32)}`] });
    expect(verifyCheckpointProof(c.root, 0, `0x${"22".repeat(32)}`, ["0x1234"])).to.equal(false);
    expect(verifyCheckpointProof(c.root, -1, `0x${"22".repeat(32)}`, c.proof(0))).to.equal(false);
    expect(verifyCheckpointProof("0xzz" as Hex, 0, `0x${"22".repeat(32)}`, c.proof(0))).to.equal(false);
  });

  it("verifies proofs on chain with OpenZeppelin's MerkleProof and the documented leaf", async () => {
    const probe = await deployProbe();
    const samples = fc.sample(fc.array(hashArb, { minLength: 1, maxLength: 40 }), { numRuns: 8, seed: 3 });
    for (const hashes of samples) {
      const c = commit({ checkpointHashes: hashes });
      for (const i of new Set([0, hashes.length - 1, Math.floor(hashes.length / 2)])) {
        expect(await probe.read("verifyCheckpoint", [c.proof(i), c.root, i, hashes[i]])).to.equal(true);
        expect(await probe.read("verifyCheckpoint", [c.proof(i), c.root, i + 1, hashes[i]])).to.equal(false);
      }
    }
  });
});
