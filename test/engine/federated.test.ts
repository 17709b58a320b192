/**
 * Federated engine: the integer FedAvg is exact (equal to a BigInt reference), independent of the
 * order of the updates, the identity on one update or equal updates, and within the range of its
 * inputs; local training from a global model on a shard is deterministic and moves the model;
 * scoring reads the held-out part; the commitments match the contract's encoding.
 */
import { expect } from "chai";
import fc from "fast-check";
import { encodeAbiParameters, keccak256 } from "viem";
import {
  FederatedError,
  fedAvg,
  initialModel,
  localSeed,
  localUpdate,
  modelHash,
  scoreModel,
  updateCommitment,
  weightedMedian,
  type FedUpdate,
} from "../../sdk/src/compute/index.js";
import { syntheticDataset, v2Spec } from "./datasets.js";

/** The rule in BigInt, written independently: round(S / N), ties up. */
function referenceAvg(updates: readonly FedUpdate[]): Int16Array {
  const n = updates.reduce((s, u) => s + BigInt(u.samples), 0n);
  const out = new Int16Array(updates[0].weights.length);
  for (let i = 0; i < out.length; i++) {
    const s = updates.reduce((acc, u) => acc + BigInt(u.samples) * BigInt(u.weights[i]), 0n);
    // floor division for negatives
    const num = 2n * s + n;
    const den = 2n * n;
    let q = num / den;
    if (num % den !== 0n && num < 0n) q -= 1n;
    out[i] = Number(q);
  }
  return out;
}

const updatesArb = (size: number) =>
  fc.array(
    fc.record({
      weights: fc
        .array(fc.integer({ min: -32767, max: 32767 }), { minLength: size, maxLength: size })
        .map((a) => Int16Array.from(a)),
      samples: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
    }),
    { minLength: 1, maxLength: 16 },
  );

describe("federated engine", function () {
  this.timeout(120_000);

  it("averages exactly as the integer rule says, whatever the order, within the inputs' range", () => {
    fc.assert(
      fc.property(updatesArb(7), fc.nat(), (updates, rot) => {
        const avg = fedAvg(updates);
        expect([...avg]).to.deep.equal([...referenceAvg(updates)]);
        const k = rot % updates.length;
        const shuffled = [...updates.slice(k), ...updates.slice(0, k)].reverse();
        expect([...fedAvg(shuffled)]).to.deep.equal([...avg]);
        for (let i = 0; i < avg.length; i++) {
          const col = updates.map((u) => u.weights[i]);
          expect(avg[i]).to.be.within(Math.min(...col), Math.max(...col));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("returns a single update, or equal updates, unchanged, and weighs by shard size", () => {
    const w = Int16Array.from([-32767, -1, 0, 1, 32767]);
    expect([...fedAvg([{ weights: w, samples: 5 }])]).to.deep.equal([...w]);
    expect([
      ...fedAvg([
        { weights: w, samples: 3 },
        { weights: w.slice(), samples: 9 },
      ]),
    ]).to.deep.equal([...w]);
    // 3 * 10 + 1 * 2 = 32 over 4: 8; ties round up: (1 * 1 + 1 * 2) / 2 = 1.5 -> 2, (-1 - 2) / 2 = -1.5 -> -1
    const a = { weights: Int16Array.from([10, 1, -1]), samples: 3 };
    const b = { weights: Int16Array.from([2, 2, -2]), samples: 1 };
    expect([...fedAvg([a, b])]).to.deep.equal([8, 1, -1]);
    expect([...fedAvg([{ ...a, samples: 1 }, b])]).to.deep.equal([6, 2, -1]);
  });

  it("refuses updates it cannot average, naming the field and value", () => {
    const w = Int16Array.from([1, 2]);
    expect(() => fedAvg([])).to.throw(FederatedError, /1\.\.16 updates, got 0/);
    expect(() =>
      fedAvg([
        { weights: w, samples: 1 },
        { weights: Int16Array.from([1]), samples: 1 },
      ]),
    ).to.throw(/updates\[1\]\.weights must be an Int16Array of 2 parameters, got 1/);
    expect(() => fedAvg([{ weights: w, samples: 0 }])).to.throw(/updates\[0\]\.samples .* got 0/);
    expect(() => fedAvg([{ weights: Int16Array.from([0, -32768]), samples: 1 }])).to.throw(/weights\[1\]/);
  });

  it("trains a shard from the global model deterministically, and scores on the held-out part", async () => {
    const shards = [1, 2, 3].map((s) => syntheticDataset(64, 32, 8, 4, s));
    const heldOut = syntheticDataset(16, 64, 8, 4, 9);
    const spec = v2Spec(shards[0], {
      hidden: [6],
      batchSize: 8,
      steps: 8,
      checkpointInterval: 8,
      lrShift: 3,
      evalSize: 32,
    });
    const init = await initialModel(spec, shards[0], localSeed(1n, 0, `0x${"11".repeat(20)}`), {
      backend: "js",
    });
    const updates: FedUpdate[] = [];
    for (const [p, shard] of shards.entries()) {
      const seed = localSeed(1n, 0, `0x${String(p + 1).repeat(40)}`);
      const u = await localUpdate(spec, shard, init, seed, { backend: "js" });
      expect([...(await localUpdate(spec, shard, init, seed, { backend: "js" }))]).to.deep.equal([...u]);
      expect(modelHash(spec, u)).to.not.equal(modelHash(spec, init));
      updates.push({ weights: u, samples: shard.ref.trainCount });
    }
    const global = fedAvg(updates);
    const score = await scoreModel(spec, heldOut, global, { backend: "js" });
    expect(score.total).to.equal(64);
    expect(score.accuracyBps).to.equal(Math.floor((score.correct * 10_000) / 64));
    const wasm = await scoreModel(spec, heldOut, global, { backend: "wasm" });
    expect(wasm).to.deep.equal(score);
  });

  it("encodes commitments as the contract does and takes the contract's weighted median", () => {
    const h = keccak256("0x01");
    const s = keccak256("0x02");
    const a = `0x${"ab".repeat(20)}` as const;
    expect(updateCommitment(3n, 1n, a, h, s)).to.equal(
      keccak256(
        encodeAbiParameters(
          [
            { type: "uint256" },
            { type: "uint256" },
            { type: "address" },
            { type: "bytes32" },
            { type: "bytes32" },
          ],
          [3n, 1n, a, h, s],
        ),
      ),
    );
    // Stakes 5000, 3000, 2000 on scores 8000, 7600, 1000: lower weighted median 7600.
    expect(weightedMedian([8000, 7600, 1000], [5001n, 3001n, 2001n])).to.equal(7600);
    expect(weightedMedian([5, 1], [1n, 1n])).to.equal(1);
    expect(weightedMedian([5, 1], [0n, 0n])).to.equal(0);
  });
});
