import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, type Hex } from "viem";
import { deriveKey, modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights, jsBackend } from "../../sdk/src/compute/reference.js";
import { elementAt, FOLD_OPS, trainingSlots, thetaOutSlot } from "../../sdk/src/compute/state/layout.js";
import { decodeArgmax, decodeSum, elementValue, foldOf } from "../../sdk/src/compute/state/ops.js";
import { stateHash, thetaBytes, traceStep } from "../../sdk/src/compute/state/trace.js";
import { ByteTree, LEAF_BYTES, verifyLeafProof } from "../../sdk/src/compute/state/tree.js";

const spec: TrainingSpec = {
  version: 1,
  widths: [20, 70, 5],
  batchSize: 6,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 12,
};
const seed: Hex = `0x${"5eed".repeat(16)}`;

/** The value an element's bytes hold in the slot's encoding. */
function storedValue(bytes: Uint8Array, offset: number, size: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 1) return (bytes[offset] << 24) >> 24;
  if (size === 2) return view.getInt16(offset, true);
  if (size === 4) return view.getInt32(offset, true);
  return Number(view.getBigUint64(offset, true));
}

describe("State layout of a training step", () => {
  const key = deriveKey(spec, seed);
  const layout = modelLayout(spec);

  it("gives the engine's next parameters, bit for bit, step after step", async () => {
    const session = await jsBackend.open(spec, key);
    let theta = initialWeights(layout, key);
    for (let step = 0; step < 4; step++) {
      const trace = traceStep(spec, key, theta, step);
      await session.trainSteps(step, 1);
      const engine = await session.getWeights();
      expect(Buffer.from(trace.thetaOut.buffer).equals(Buffer.from(engine.buffer))).to.equal(true);
      const slot = thetaOutSlot(layout.layers.length);
      expect(bytesToHex(trace.tensors.encodings[slot])).to.equal(
        bytesToHex(thetaBytes(layout, step + 1, engine)),
      );
      theta = engine;
    }
  });

  it("defines every element of every slot by its rule: what the rule gives is what is stored", () => {
    const trace = traceStep(spec, key, initialWeights(layout, key), 2);
    const slots = trainingSlots(spec);
    for (const s of slots) {
      if (!s.present || s.index === 0) continue;
      const bytes = trace.tensors.encodings[s.index];
      for (let offset = 0; offset < s.length;) {
        const ref = elementAt(spec, slots, s.index, offset);
        const value = ref.op === "header" ? 3 : elementValue(trace, key, ref);
        expect(
          storedValue(bytes, ref.offset, ref.size),
          `${s.name} element ${ref.element} (${ref.op})`,
        ).to.equal(value);
        if (FOLD_OPS.has(ref.op)) {
          const fold = foldOf(trace, ref);
          expect(fold.accs.length).to.equal(Math.ceil(ref.K / ref.chunk) + 1);
          if (ref.op === "argmax")
            expect(decodeArgmax(fold.accs[fold.accs.length - 1]).index).to.equal(value);
          else if (ref.op === "teacher")
            expect(Number(decodeSum(fold.accs[fold.accs.length - 1]))).to.equal(value);
        }
        offset = ref.offset + ref.size;
      }
    }
  });

  it("chains steps: a step's Θ_out root is the next step's Θ_in root, and its state hash commits every slot", () => {
    const a = traceStep(spec, key, initialWeights(layout, key), 0);
    const b = traceStep(spec, key, a.thetaOut, 1);
    const L = layout.layers.length;
    expect(a.tensors.roots[thetaOutSlot(L)]).to.equal(b.tensors.roots[0]);
    expect(a.tensors.roots.length).to.equal(6 + 5 * L);
    const roots = [...a.tensors.roots];
    const honest = stateHash(roots);
    roots[3] = roots[4];
    expect(stateHash(roots)).to.not.equal(honest);
  });

  it("proves any leaf of a byte tree in ceil(log2(leaves)) siblings and refuses a changed byte", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 9 * LEAF_BYTES }),
        fc.nat(),
        fc.nat(),
        (bytes, j0, b0) => {
          const tree = new ByteTree(bytes);
          const j = j0 % tree.leafCount;
          const leaf = tree.leaf(j);
          const proof = tree.proof(j);
          expect(proof.length).to.equal(tree.depth);
          expect(verifyLeafProof(tree.root, tree.leafCount, j, leaf, proof)).to.equal(true);
          const bad = leaf.slice();
          bad[b0 % LEAF_BYTES] ^= 1;
          expect(verifyLeafProof(tree.root, tree.leafCount, j, bad, proof)).to.equal(false);
        },
      ),
      { numRuns: 30 },
    );
  });
});
