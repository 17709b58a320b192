/**
 * The wasm step-state tracer (sdk/src/compute/state/fast-trace.ts) against the TypeScript
 * reference (`traceStep`, the byte trees of tree.ts, viem's keccak256): the roots a trainer commits
 * come from the fast path, so any difference would make an honest trainer's commitment disagree
 * with every validator's and every dispute's states.
 */
import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, keccak256, type Hex } from "viem";
import {
  RunStates,
  deriveKey,
  modelLayout,
  openWasmStepTracer,
  wasmByteTreeRoot,
  wasmKeccak256,
  type EngineData,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import {
  answerSample,
  drawOperationSamples,
  segmentStepRoot,
  stepStatesRoot,
  traceSegment,
} from "../../sdk/src/compute/state/sampling.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import { stateHashesWasm } from "../../sdk/src/compute/state/fast-trace.js";
import { stateHash, traceStep, type StateTensors } from "../../sdk/src/compute/state/trace.js";
import { ABSENT_ROOT, ByteTree, LEAF_BYTES } from "../../sdk/src/compute/state/tree.js";
import { answerSamples, segmentStepRoot as trainerStepRoot } from "../../node/src/node/trainer-samples.js";
import { v2RunArb } from "./arbitraries.js";

const bytesArb = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

/** A small version 1 spec: 1 to 3 weight layers of odd widths, any batch and lrShift. */
const v1RunArb = fc
  .record({
    widths: fc.array(fc.integer({ min: 1, max: 19 }), { minLength: 2, maxLength: 4 }),
    batchSize: fc.integer({ min: 1, max: 11 }),
    checkpointInterval: fc.integer({ min: 1, max: 3 }),
    lrShift: fc.integer({ min: 0, max: 9 }),
  })
  .map(({ widths, batchSize, checkpointInterval, lrShift }) => ({
    spec: {
      version: 1,
      widths: widths.map((w, i) => (i === widths.length - 1 ? Math.max(2, w) : w)),
      batchSize,
      steps: 2 * checkpointInterval,
      checkpointInterval,
      lrShift,
      evalSize: 4,
    } satisfies TrainingSpec as TrainingSpec,
    data: undefined as EngineData | undefined,
  }));

/** Version 2 runs of two segments (segment 1 is traced). */
const v2Runs = v2RunArb(12).map(({ spec, data }) => ({
  spec: { ...spec, steps: 2 * spec.checkpointInterval },
  data: data as EngineData | undefined,
}));

/** Every step of the run's segment 1 by the reference: its states and its end parameters. */
function referenceSegment(spec: TrainingSpec, seed: Hex, data?: EngineData) {
  const key = deriveKey(spec, seed);
  let theta = initialWeights(modelLayout(spec), key);
  const first = spec.checkpointInterval;
  for (let s = 0; s < first; s++) theta = traceStep(spec, key, theta, s, data).thetaOut;
  const start = theta;
  const states: StateTensors[] = [];
  for (let s = first; s < 2 * first; s++) {
    const trace = traceStep(spec, key, theta, s, data);
    states.push(trace.tensors);
    theta = trace.thetaOut;
  }
  return { key, start, states, end: theta };
}

describe("engine: the wasm step-state tracer", () => {
  it("computes keccak256 as viem does, for every length up to three blocks and around the 136-byte rate", () => {
    for (let length = 0; length <= 3 * LEAF_BYTES + 2; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 151 + length * 7) & 0xff);
      expect(bytesToHex(wasmKeccak256(bytes)), `length ${length}`).to.equal(keccak256(bytes));
    }
    fc.assert(
      fc.property(
        fc.integer({ min: LEAF_BYTES - 3, max: 2 * LEAF_BYTES + 3 }).chain(bytesArb),
        (bytes) => bytesToHex(wasmKeccak256(bytes)) === keccak256(bytes),
      ),
      { numRuns: 40 },
    );
  });

  it("hashes byte trees as tree.ts's TypeScript does, root, every node and every proof, around each power of two leaves", () => {
    for (const leaves of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17]) {
      for (const extra of [-1, 0, 1]) {
        const length = Math.max(0, leaves * LEAF_BYTES + extra);
        const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + 5) & 0xff);
        const reference = new ByteTree(bytes, true);
        const fast = new ByteTree(bytes);
        expect(bytesToHex(wasmByteTreeRoot(bytes)), `${length} bytes`).to.equal(reference.root);
        expect(fast.root, `${length} bytes`).to.equal(reference.root);
        for (let j = 0; j < reference.leafCount; j++) expect(fast.proof(j)).to.deep.equal(reference.proof(j));
      }
    }
  });

  it("traces every slot root, state hash and step-state root of the reference, random specs and seeds (versions 1 and 2)", () => {
    fc.assert(
      fc.property(fc.oneof(v1RunArb, v2Runs), bytesArb(32), ({ spec, data }, seedBytes) => {
        const seed = bytesToHex(seedBytes);
        const ref = referenceSegment(spec, seed, data);
        // the reference's roots from the TypeScript byte trees
        const refRoots = ref.states.map((t) =>
          t.slots.map((s) => (s.present ? new ByteTree(t.encodings[s.index], true).root : ABSENT_ROOT)),
        );
        const refHashes = refRoots.map(stateHash);
        // slot by slot, with the encodings the answers are built from
        const fast: StateTensors[] = [];
        const end = traceSegment(spec, ref.key, ref.start, 1, (_, t) => void fast.push(t), data);
        expect(Buffer.from(end.buffer).equals(Buffer.from(ref.end.buffer))).to.equal(true);
        fast.forEach((t, i) => {
          expect(t.roots).to.deep.equal(refRoots[i]);
          t.encodings.forEach((e, slot) =>
            expect(bytesToHex(e), `step ${i} slot ${slot}`).to.equal(
              bytesToHex(ref.states[i].encodings[slot]),
            ),
          );
        });
        // the hashes-only path and the step-state root
        const first = spec.checkpointInterval;
        expect(stateHashesWasm(spec, ref.key, ref.start, first, first, data)).to.deep.equal(refHashes);
        expect(segmentStepRoot(spec, ref.key, ref.start, 1, data)).to.equal(stepStatesRoot(refHashes));
        expect(segmentStepRoot(spec, ref.key, ref.start, 1, data, true)).to.equal(stepStatesRoot(refHashes));
      }),
      { numRuns: 8 },
    );
  });

  it("gives the trainer the same step root and sample answers as the reference states", () => {
    const spec: TrainingSpec = {
      version: 1,
      widths: [12, 20, 4],
      batchSize: 5,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 3,
      evalSize: 4,
    };
    const ref = referenceSegment(spec, `0x${"7a".repeat(32)}`);
    const source = new RunStates(spec, ref.key, ref.start, spec.checkpointInterval);
    const hashes = ref.states.map((t) => stateHash(t.roots));
    expect(trainerStepRoot(source, spec, 1)).to.equal(stepStatesRoot(hashes));
    const samples = drawOperationSamples(spec, `0x${"5b".repeat(32)}`, 1, 6);
    const expected = samples.map((s) => answerSample(spec, ref.states, s));
    expect(answerSamples(source, spec, 1, samples)).to.deep.equal(expected);
  });

  it("refuses steps past the spec's end and a closed tracer", () => {
    const spec: TrainingSpec = {
      version: 1,
      widths: [3, 2],
      batchSize: 2,
      steps: 2,
      checkpointInterval: 1,
      lrShift: 1,
      evalSize: 2,
    };
    const key = deriveKey(spec, `0x${"01".repeat(32)}`);
    expect(() => stateHashesWasm(spec, key, initialWeights(modelLayout(spec), key), 1, 2)).to.throw(
      RangeError,
      "steps 1..2 run past the spec's 2 steps",
    );
    const tracer = openWasmStepTracer(spec, key);
    tracer.close();
    expect(() => tracer.traceStep(0, false)).to.throw("closed");
  });
});
