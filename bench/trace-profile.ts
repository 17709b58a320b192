/**
 * Where a trainer's step-state roots spend their time, at the three sizes of BENCH=sampling-audit
 * (batch 32, 4 steps from the initial parameters), one process, one core:
 * - reference (TypeScript): `traceStep` (the trace and its slot encodings), then the slot roots
 *   from `new ByteTree(bytes, true)` (one hash-wasm call per leaf and per node), and of that the
 *   leaf hashes alone;
 * - wasm tracer: the training steps alone (the wasm backend), the tracer with the slots hashed in
 *   linear memory, and the byte tree roots of the same encodings hashed alone by the kernels.
 *
 *   npx tsx bench/trace-profile.ts          (prints one JSON line per size; writes nothing)
 */
import { bytesToHex } from "viem";
import { deriveKey, modelLayout, type TrainingSpec } from "../sdk/src/compute/index.js";
import { keccak256Raw, loadFastKeccak } from "../sdk/src/compute/keccak.js";
import { initialWeights } from "../sdk/src/compute/reference.js";
import { traceStepsWasm } from "../sdk/src/compute/state/fast-trace.js";
import { traceStep } from "../sdk/src/compute/state/trace.js";
import { ByteTree, LEAF_BYTES } from "../sdk/src/compute/state/tree.js";
import { wasmBackend, wasmByteTreeRoot } from "../sdk/src/compute/wasm/backend.js";

const STEPS = 4;
await loadFastKeccak();
for (const widths of [
  [64, 128, 128, 10],
  [256, 768, 512, 10],
  [1024, 1024, 1024, 10],
]) {
  const spec: TrainingSpec = {
    version: 1,
    widths,
    batchSize: 32,
    steps: STEPS,
    checkpointInterval: 2,
    lrShift: 4,
    evalSize: 256,
  };
  const key = deriveKey(spec, `0x${"11".repeat(32)}`);
  const start = initialWeights(modelLayout(spec), key);
  const ms = (f: () => void) => {
    const t = performance.now();
    f();
    return Math.round(performance.now() - t);
  };

  // reference: trace, then hash
  let traceMs = 0;
  let treeMs = 0;
  let leafMs = 0;
  let bytes = 0;
  let theta = start;
  const referenceRoots: string[] = [];
  for (let s = 0; s < STEPS; s++) {
    let trace!: ReturnType<typeof traceStep>;
    traceMs += ms(() => (trace = traceStep(spec, key, theta, s)));
    const encodings = trace.tensors.encodings;
    treeMs += ms(() => {
      for (const e of encodings) if (e.length) referenceRoots.push(new ByteTree(e, true).root);
    });
    leafMs += ms(() => {
      for (const e of encodings)
        for (let j = 0; j + LEAF_BYTES <= e.length; j += LEAF_BYTES)
          keccak256Raw(e.subarray(j, j + LEAF_BYTES));
    });
    for (const e of encodings) bytes += e.length;
    theta = trace.thetaOut;
  }

  // wasm: training alone, the tracer, and the kernels' hashing of the same encodings alone
  const session = await wasmBackend.open(spec, key);
  await session.setWeights(start);
  const t = performance.now();
  await session.trainSteps(0, STEPS);
  const trainMs = Math.round(performance.now() - t);
  session.close();
  const kept: Uint8Array[][] = [];
  traceStepsWasm(spec, key, start, 0, STEPS, true, (_, __, e) => void kept.push(e!));
  const tracerMs = ms(() => traceStepsWasm(spec, key, start, 0, STEPS, false, () => {}));
  const wasmRoots: string[] = [];
  const wasmHashMs = ms(() => {
    for (const step of kept)
      for (const e of step) if (e.length) wasmRoots.push(bytesToHex(wasmByteTreeRoot(e)));
  });
  if (wasmRoots.join() !== referenceRoots.join())
    throw new Error("the kernels' roots are not the reference's");
  console.log(
    JSON.stringify({
      widths,
      stepBytes: bytes / STEPS,
      reference: { traceMs, treeMs, ofWhichLeafHashMs: leafMs },
      wasm: { trainMs, tracerMs, hashAloneMs: wasmHashMs },
    }),
  );
}
