import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, type Hex } from "viem";
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
