import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { bytesToHex } from "viem";
import { modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { clamp, effectiveWeight, roundShift } from "../../sdk/src/compute/reference.js";
import { chunkCount, elementAt, trainingSlots, type OpKind } from "../../sdk/src/compute/state/layout.js";
import {
  chunkOperands,
  elementOperands,
  finOperands,
  initOperands,
} from "../../sdk/src/compute/state/ops.js";
import { LEAF_BYTES } from "../../sdk/src/compute/state/tree.js";

/**
 * StepRules (the on-chain one-step rules) against the TypeScript state layout and engine rules:
 * the same element, operands and integer results for random specs, elements and edge values.
 */
const OP_CODES: Partial<Record<OpKind, number>> = {
  padding: 0,
  header: 1,
  loss: 2,
  transpose: 3,
  "weight-t": 4,
  forward: 5,
  backward: 6,
  "update-weight": 7,
  "update-bias": 8,
  teacher: 9,
  argmax: 10,
  input: 11,
  "example-input": 12,
  "example-label": 12,
};

const specArb = fc
  .record({
    // the engine's bounds (spec.ts): every width from 1, but at least 2 classes
    widths: fc
      .tuple(
        fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 150 }),
      )
      .map(([layers, classes]) => [...layers, classes]),
    batchSize: fc.integer({ min: 1, max: 9 }),
    lrShift: fc.integer({ min: 0, max: 8 }),
    version: fc.constant(1 as const),
  })
  .map((r): TrainingSpec => ({ ...r, steps: 4, checkpointInterval: 2, evalSize: 4 }));

describe("StepRules: the on-chain one-step rules equal the engine's", () => {
  let harness: Awaited<ReturnType<typeof deploy>>;
  async function deploy() {
    const { viem } = await network.create();
    return viem.deployContract("StepRulesHarness");
  }
  before(async () => {
    harness = await deploy();
  });
  const onChainSpec = (s: TrainingSpec) => ({
    widths: s.widths,
    batchSize: s.batchSize,
    lrShift: s.lrShift,
    version: s.version,
  });

  it("lays out every slot and names every element, its rule and its operands like the engine", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, fc.nat(), fc.nat(), fc.nat(), async (spec, slot0, offset0, chunk0) => {
        const slots = trainingSlots(spec);
        // every slot with a rule: the data slots X, TS and LBL too
        const candidates = slots.filter((s) => s.present && s.index > 0);
        const slot = candidates[slot0 % candidates.length];
        const padded = Math.ceil(slot.length / LEAF_BYTES) * LEAF_BYTES;
        const offset = offset0 % padded;
        const onChainSlot = await harness.read.slotAt([onChainSpec(spec), BigInt(slot.index)]);
        expect(Number(onChainSlot.length), slot.name).to.equal(slot.length);
        const ref = elementAt(spec, slots, slot.index, offset);
        const chunks = ref.K > 0 ? chunkCount(ref.K, ref.chunk) : 1;
        const chunk = chunk0 % chunks;
        const [e, ranges] = await harness.read.elementAt([
          onChainSpec(spec),
          BigInt(slot.index),
          BigInt(offset),
          BigInt(chunk),
        ]);
        expect(e.op, `${slot.name} @${offset}`).to.equal(OP_CODES[ref.op]);
        expect(Number(e.offset)).to.equal(ref.offset);
        expect(Number(e.size)).to.equal(ref.size);
        if (ref.op === "padding" || ref.op === "header") return;
        const layout = modelLayout(spec);
        expect(Number(e.row)).to.equal(ref.row);
        if (ref.op !== "update-bias") expect(Number(e.col)).to.equal(ref.col);
        expect(Number(e.layer)).to.equal(ref.layer);
        expect(Number(e.K)).to.equal(ref.K);
        const expected =
          ref.K > 0
            ? [
                ...initOperands(layout, ref),
                ...chunkOperands(spec, layout, ref, chunk),
                ...finOperands(spec, layout, ref),
              ]
            : elementOperands(spec, layout, ref);
        expect(ranges.map((r) => [Number(r.slot), Number(r.offset), Number(r.length)])).to.deep.equal(
          expected.map((r) => [r.slot, r.offset, r.length]),
        );
      }),
      { numRuns: 40 },
    );
  });

  it("computes effective weights, dot-product chunks and their requantisation bit for bit", async () => {
    const int16 = fc.oneof(
      fc.integer({ min: -32767, max: 32767 }),
      fc.constantFrom(-32767, 32767, -129, 127, 128, 0),
    );
    const int8 = fc.oneof(fc.integer({ min: -128, max: 127 }), fc.constantFrom(-128, 127, 0));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(int16, int8, int8), { minLength: 1, maxLength: 64 }),
        fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
        fc.integer({ min: 1, max: 4096 }),
        int16,
        fc.integer({ min: 0, max: 12 }),
        async (terms, acc, width, theta, lr) => {
          const params = new Uint8Array(2 * terms.length);
          const view = new DataView(params.buffer);
          terms.forEach(([p], t) => view.setInt16(2 * t, p, true));
          const a = Uint8Array.from(terms.map(([, x]) => x & 0xff));
          const b = Uint8Array.from(terms.map(([, , y]) => y & 0xff));
          let fwd = acc;
          let dot = acc;
          let bias = acc;
          for (const [p, x, y] of terms) {
            fwd += effectiveWeight(p) * x;
            dot += x * y;
            bias += 127 * x;
          }
          expect(
            await harness.read.foldChunk([5, BigInt(acc), [bytesToHex(params), bytesToHex(a)]]),
          ).to.equal(BigInt(fwd));
          expect(await harness.read.foldChunk([6, BigInt(acc), [bytesToHex(a), bytesToHex(b)]])).to.equal(
            BigInt(dot),
          );
          expect(await harness.read.foldChunk([8, BigInt(acc), [bytesToHex(a)]])).to.equal(BigInt(bias));
          expect(await harness.read.effectiveWeight([BigInt(theta)])).to.equal(
            BigInt(effectiveWeight(theta)),
          );

          // finishes: spec widths [width, width, 3]; layer 0 is hidden, layer 1 the output
          const spec = { widths: [width, width, 3], batchSize: 1, lrShift: lr, version: 1 };
          // F = 6 + ceil(log2(n) / 2), the engine's requantisation shift
          const k = (n: number) => {
            let s = 0;
            while (4 ** s < n) s++;
            return 6 + s;
          };
          const hidden = await harness.read.foldFinish([spec, 5, 0n, BigInt(acc), []]);
          expect(hidden).to.equal(BigInt(clamp(roundShift(acc, k(width)), 0, 127)));
          const output = await harness.read.foldFinish([spec, 5, 1n, BigInt(acc), []]);
          expect(output).to.equal(BigInt(clamp(roundShift(acc, k(width)), -127, 127)));
          const act = a[0];
          const backward = await harness.read.foldFinish([
            spec,
            6,
            0n,
            BigInt(acc),
            [bytesToHex(Uint8Array.of(act))],
          ]);
          const signed = (act << 24) >> 24;
          expect(backward).to.equal(BigInt(signed > 0 ? clamp(roundShift(acc, k(width)), -127, 127) : 0));
          const tb = new Uint8Array(2);
          new DataView(tb.buffer).setInt16(0, theta, true);
          const update = await harness.read.foldFinish([spec, 7, 0n, BigInt(acc), [bytesToHex(tb)]]);
          expect(update).to.equal(BigInt(clamp(theta - roundShift(acc, lr), -32767, 32767)));
        },
      ),
      { numRuns: 40 },
    );
  });
});
