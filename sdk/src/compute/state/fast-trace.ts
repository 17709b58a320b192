/**
 * The step states of a run at close to training speed: the wasm engine's kernels train each step
 * and, as they compute them, pack every slot of its state (docs/disputes.md, "State layout") and
 * hash its byte tree in linear memory (a Keccak-f[1600] in the kernels, no per-leaf calls, no
 * copies), each slot's tree computed once and Θ_out's root reused as the next step's Θ_in root.
 * `traceStep` (trace.ts) stays the reference and the fallback where WebAssembly with SIMD is
 * unavailable: both give the same roots, state hashes and step-state roots, bit for bit (tested).
 * Browser-safe.
 */
import { bytesToHex, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import { keccak256Raw } from "../keccak.js";
import type { EngineKey } from "../prng.js";
import { validateSpec, type TrainingSpec } from "../spec.js";
import { openWasmStepTracer, wasmSupported } from "../wasm/backend.js";
import { trainingSlots } from "./layout.js";
import { StateTensors } from "./trace.js";

/** Whether the wasm step-state tracer runs here (WebAssembly with SIMD). */
export function fastTraceAvailable(): boolean {
  return wasmSupported();
}

function checkRange(spec: TrainingSpec, start: Int16Array, firstStep: number, count: number): void {
  if (!Number.isSafeInteger(firstStep) || firstStep < 0)
    throw new RangeError(`firstStep must be a whole number of steps, got ${firstStep}`);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`count must be at least one step, got ${count}`);
  if (firstStep + count > spec.steps)
    throw new RangeError(
      `steps ${firstStep}..${firstStep + count - 1} run past the spec's ${spec.steps} steps`,
    );
  void start;
}

/**
 * Steps `firstStep` .. `firstStep + count - 1` of a run of (spec, key) from the parameters `start`
 * (those at `firstStep`), traced by the wasm engine: `onStep(t, roots, encodings)` receives each
 * step's slot roots (32 bytes each, in slot order) and, with `keep`, its slot encodings, valid
 * after the call. Returns the parameters after the last step.
 */
export function traceStepsWasm(
  spec: TrainingSpec,
  key: EngineKey,
  start: Int16Array,
  firstStep: number,
  count: number,
  keep: boolean,
  onStep: (t: number, roots: Uint8Array[], encodings?: Uint8Array[]) => void,
  data?: EngineData,
): Int16Array {
  const s = validateSpec(spec);
  checkRange(s, start, firstStep, count);
  const tracer = openWasmStepTracer(s, key, data);
  try {
    tracer.setWeights(start);
    let thetaIn: Uint8Array | undefined;
    for (let t = 0; t < count; t++) {
      const step = tracer.traceStep(firstStep + t, keep, thetaIn);
      onStep(t, step.roots, step.encodings);
      thetaIn = step.roots[step.roots.length - 1];
    }
    return tracer.weights();
  } finally {
    tracer.close();
  }
}

/**
 * The state hashes (keccak256 of the slot roots, `stateHash`) of steps `firstStep` ..
 * `firstStep + count - 1` from the parameters `start`, traced by the wasm engine.
 */
export function stateHashesWasm(
  spec: TrainingSpec,
  key: EngineKey,
  start: Int16Array,
  firstStep: number,
  count: number,
  data?: EngineData,
): Hex[] {
  const hashes: Hex[] = [];
  const slots = trainingSlots(spec).length;
  const joined = new Uint8Array(32 * slots);
  traceStepsWasm(
    spec,
    key,
    start,
    firstStep,
    count,
    false,
    (_, roots) => {
      roots.forEach((r, i) => joined.set(r, 32 * i));
      hashes.push(bytesToHex(keccak256Raw(joined)));
    },
    data,
  );
  return hashes;
}

/**
 * The states of steps `firstStep` .. `firstStep + count - 1` from `start`, traced by the wasm
 * engine, as {@link StateTensors} holding every slot's encoding and its root (trees for proofs are
 * built from the encodings when first asked for). `onStep(t, tensors)` is called for each step.
 * Returns the parameters after the last step.
 */
export function traceStatesWasm(
  spec: TrainingSpec,
  key: EngineKey,
  start: Int16Array,
  firstStep: number,
  count: number,
  onStep: (t: number, tensors: StateTensors) => void,
  data?: EngineData,
): Int16Array {
  const slots = trainingSlots(spec);
  return traceStepsWasm(
    spec,
    key,
    start,
    firstStep,
    count,
    true,
    (t, roots, encodings) =>
      onStep(
        t,
        new StateTensors(
          slots,
          encodings!,
          roots.map((r, i) => (slots[i].present ? bytesToHex(r) : ZERO)),
        ),
      ),
    data,
  );
}

const ZERO: Hex = `0x${"00".repeat(32)}`;
