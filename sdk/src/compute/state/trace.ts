/**
 * The full state of one SGD step (every tensor of {@link trainingSlots}) and of one inference, computed
 * by a plain TypeScript step that mirrors the reference backend rule by rule and records what it
 * computes. Its Θ_out is the engine's next parameters, bit for bit (tested against every backend).
 * Browser-safe.
 */
import { concat, keccak256, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import { encodeCheckpoint } from "../checkpoint.js";
import { DOMAIN_TEACHER, philoxBytes, stepExamples, type EngineKey } from "../prng.js";
import {
  BIAS_INPUT,
  PARAMETER_MAX,
  TARGET,
  argmax,
  clamp,
  effectiveLayer,
  example,
  forward,
  gatherRows,
  roundShift,
  teacherWeights,
} from "../reference.js";
import { modelLayout, validateSpec, type ModelLayout, type TrainingSpec } from "../spec.js";
import {
  actSlot,
  backwardBase,
  inferenceSlots,
  lossSlot,
  thetaOutSlot,
  trainingSlots,
  type Slot,
} from "./layout.js";
import { ABSENT_ROOT, ByteTree } from "./tree.js";

/** The tensors of one step (or inference), their encodings and their trees. */
export class StateTensors {
  private readonly trees = new Map<number, ByteTree>();

  constructor(
    readonly slots: readonly Slot[],
    /** Encoding of each slot (empty for an absent one). */
    readonly encodings: readonly Uint8Array[],
    /**
     * Every slot's root when already computed (the wasm tracer hashes each slot as the step
     * computes it); otherwise each root is computed from its encoding when first read.
     */
    private readonly knownRoots?: readonly Hex[],
  ) {}

  tree(slot: number): ByteTree {
    const s = this.slots[slot];
    if (!s?.present) throw new RangeError(`slot ${slot} is not present in this layout`);
    let t = this.trees.get(slot);
    if (!t) {
      t = new ByteTree(this.encodings[slot]);
      this.trees.set(slot, t);
    }
    return t;
  }

  /** Root of every slot, in slot order (absent slots: bytes32(0)). */
  get roots(): Hex[] {
    if (this.knownRoots) return [...this.knownRoots];
    return this.slots.map((s) => (s.present ? this.tree(s.index).root : ABSENT_ROOT));
  }
}

/** The state commitment of a list of slot roots: keccak256 of the roots, concatenated. */
export function stateHash(roots: readonly Hex[]): Hex {
  return keccak256(concat(roots as Hex[]));
}

const i8 = (values: Int32Array): Uint8Array => {
  const out = new Uint8Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = values[k] & 0xff;
  return out;
};

const i32 = (values: Int32Array): Uint8Array => {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  for (let k = 0; k < values.length; k++) view.setInt32(4 * k, values[k], true);
  return out;
};

function transpose(values: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** Everything one SGD step reads and writes, decoded, with the step's slot encodings. */
export interface StepTrace {
  readonly spec: TrainingSpec;
  readonly step: number;
  readonly key: EngineKey;
  readonly layout: ModelLayout;
  readonly theta: Int16Array;
  readonly x: Int32Array;
  /** Version 1: teacher scores [B][C]. */
  readonly teacherScores: Int32Array;
  readonly labels: Int32Array;
  /** Version 2: the dataset example each row reads. */
  readonly examples: Uint32Array;
  /** acts[0] = X, acts[l] = A_l. */
  readonly acts: Int32Array[];
  /** errs[l] = the error at the output of layer l - 1 (E_l; errs[L] = G). Index 0 unused. */
  readonly errs: Int32Array[];
  /** weightT[l] = WT_l (effective weights of layer l transposed), l ≥ 1. */
  readonly weightT: Int32Array[];
  readonly thetaOut: Int16Array;
  readonly tensors: StateTensors;
}

/**
 * The data of step `step`: its batch's inputs and labels, the teacher's scores (engine version 1)
 * and the examples it reads (version 2, from `data`): the X, TS and LBL slots of its state.
 */
export function stepData(
  spec: TrainingSpec,
  key: EngineKey,
  step: number,
  data?: EngineData,
): { x: Int32Array; labels: Int32Array; teacherScores: Int32Array; examples: Uint32Array } {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  const B = s.batchSize;
  const C = layout.classes;
  let x: Int32Array;
  let labels: Int32Array;
  let teacherScores = new Int32Array(0);
  let examples: Uint32Array = new Uint32Array(0);
  if (s.version === 1) {
    const teacher = teacherWeights(layout, key);
    x = new Int32Array(B * layout.inputs);
    labels = new Int32Array(B);
    teacherScores = new Int32Array(B * C);
    for (let r = 0; r < B; r++) {
      const ex = example(layout, key, teacher, step * B + r);
      x.set(ex.x, r * layout.inputs);
      labels[r] = ex.label;
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let i = 0; i < layout.inputs; i++) sum += teacher[c * layout.inputs + i] * ex.x[i];
        teacherScores[r * C + c] = sum;
      }
    }
  } else {
    if (!data) throw new RangeError("an engine version 2 step needs its dataset rows (data)");
    examples = stepExamples(key, data.train.count, B, step);
    ({ x, labels } = gatherRows(data.train, examples));
  }
  return { x, labels, teacherScores, examples };
}

/** The bytes of step `step`'s data slots as its state encodes them: X (1), TS (2, version 1), LBL (3). */
export function stepDataBytes(
  spec: TrainingSpec,
  key: EngineKey,
  step: number,
  data?: EngineData,
): Map<number, Uint8Array> {
  const d = stepData(spec, key, step, data);
  const out = new Map<number, Uint8Array>([
    [1, i8(d.x)],
    [3, i32(d.labels)],
  ]);
  if (spec.version === 1) out.set(2, i32(d.teacherScores));
  return out;
}

/** A step's data: what {@link stepData} gives. */
export type StepData = ReturnType<typeof stepData>;

/**
 * Other data than the run's for a step (tests, benchmarks, demonstrations of data fraud): the
 * data a trainer that substitutes its batches trains step `step` on instead of `honest`.
 */
export type DataSubstitute = (step: number, honest: StepData) => StepData;

/**
 * The state of step `step` of a run of (spec, key) from parameters `theta` (those before the step).
 * Version 2 needs the dataset rows the step reads in `data`. With `substitute`, the step trains on
 * the data it returns, every operation right.
 */
export function traceStep(
  spec: TrainingSpec,
  key: EngineKey,
  theta: Int16Array,
  step: number,
  data?: EngineData,
  substitute?: DataSubstitute,
): StepTrace {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  const L = layout.layers.length;
  const B = s.batchSize;
  const C = layout.classes;
  if (theta.length !== layout.parameterCount)
    throw new RangeError(`theta must hold ${layout.parameterCount} parameters, got ${theta.length}`);

  // Data.
  const honest = stepData(s, key, step, data);
  const { x, labels, teacherScores, examples } = substitute ? substitute(step, honest) : honest;

  // Forward and loss.
  const eff = layout.layers.map((layer) => effectiveLayer(layer, theta));
  const acts = forward(layout, eff, x, B);
  const y = acts[L];
  const g = new Int32Array(B * C);
  for (let r = 0; r < B; r++)
    for (let c = 0; c < C; c++)
      g[r * C + c] = clamp(y[r * C + c] - (c === labels[r] ? TARGET : 0), -127, 127);

  // Backward with the weights of the start of the step, then the update.
  const errs: Int32Array[] = new Array(L + 1);
  errs[L] = g;
  const weightT: Int32Array[] = new Array(L);
  const thetaOut = theta.slice();
  for (let l = L - 1; l >= 0; l--) {
    const layer = layout.layers[l];
    const { inputs: nIn, outputs: nOut } = layer;
    const a = acts[l];
    const err = errs[l + 1];
    if (l > 0) {
      const wt = transpose(eff[l].w, nOut, nIn);
      weightT[l] = wt;
      const next = new Int32Array(B * nIn);
      for (let r = 0; r < B; r++) {
        for (let i = 0; i < nIn; i++) {
          if (a[r * nIn + i] <= 0) continue;
          let e = 0;
          for (let o = 0; o < nOut; o++) e += wt[i * nOut + o] * err[r * nOut + o];
          next[r * nIn + i] = clamp(roundShift(e, layer.backwardShift), -127, 127);
        }
      }
      errs[l] = next;
    }
    const lr = s.lrShift;
    for (let o = 0; o < nOut; o++) {
      let db = 0;
      for (let r = 0; r < B; r++) db += BIAS_INPUT * err[r * nOut + o];
      for (let i = 0; i < nIn; i++) {
        let dw = 0;
        for (let r = 0; r < B; r++) dw += err[r * nOut + o] * a[r * nIn + i];
        const at = layer.weightOffset + o * nIn + i;
        thetaOut[at] = clamp(theta[at] - roundShift(dw, lr), -PARAMETER_MAX, PARAMETER_MAX);
      }
      const at = layer.biasOffset + o;
      thetaOut[at] = clamp(theta[at] - roundShift(db, lr), -PARAMETER_MAX, PARAMETER_MAX);
    }
  }

  // Encodings, in slot order.
  const slots = trainingSlots(s);
  const enc: Uint8Array[] = slots.map(() => new Uint8Array(0));
  enc[0] = thetaBytes(layout, step, theta);
  enc[1] = i8(x);
  if (s.version === 1) enc[2] = i32(teacherScores);
  enc[3] = i32(labels);
  for (let l = 1; l <= L; l++) enc[actSlot(l)] = i8(acts[l]);
  enc[lossSlot(L)] = i8(g);
  for (let l = L - 1; l >= 0; l--) {
    const base = backwardBase(L, l);
    const { inputs: nIn, outputs: nOut } = layout.layers[l];
    enc[base] = i8(transpose(errs[l + 1], B, nOut));
    enc[base + 1] = i8(transpose(acts[l], B, nIn));
    if (l > 0) {
      enc[base + 2] = i8(weightT[l]);
      enc[base + 3] = i8(errs[l]);
    }
  }
  enc[thetaOutSlot(L)] = thetaBytes(layout, step + 1, thetaOut);

  return {
    spec: s,
    step,
    key,
    layout,
    theta,
    x,
    teacherScores,
    labels,
    examples,
    acts,
    errs,
    weightT,
    thetaOut,
    tensors: new StateTensors(slots, enc),
  };
}

/** The parameter encoding of `theta` at `step`: the checkpoint encoding, for any step. */
export function thetaBytes(layout: ModelLayout, step: number, theta: Int16Array): Uint8Array {
  const bytes = new Uint8Array(layout.checkpointBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, step >>> 0, true);
  view.setUint32(4, Math.floor(step / 2 ** 32), true);
  bytes.set(new Uint8Array(theta.buffer, theta.byteOffset, theta.byteLength), 8);
  return bytes;
}

/** The root of the parameter tree of `theta` at `step`. */
export function thetaRoot(layout: ModelLayout, step: number, theta: Int16Array): Hex {
  return new ByteTree(thetaBytes(layout, step, theta)).root;
}

/** The parameter tree of a checkpoint (spec, step, weights). */
export function checkpointTree(spec: TrainingSpec, step: number, weights: Int16Array): ByteTree {
  return new ByteTree(encodeCheckpoint(spec, { step, weights }));
}

/** The forward pass of a model on one input, recorded: the tensors of {@link inferenceSlots}. */
export interface InferenceTrace {
  readonly widths: readonly number[];
  readonly acts: Int32Array[];
  readonly label: number;
  readonly tensors: StateTensors;
}

/**
 * The inference of the model `checkpoint` (the engine's checkpoint encoding of a spec with
 * `widths`) on `input` (int8 values as bytes).
 */
export function traceInference(
  widths: readonly number[],
  checkpoint: Uint8Array,
  input: Uint8Array,
): InferenceTrace {
  const spec: TrainingSpec = {
    version: 1,
    widths: [...widths],
    batchSize: 1,
    steps: 1,
    checkpointInterval: 1,
    lrShift: 0,
    evalSize: 1,
  };
  const layout = modelLayout(spec);
  if (checkpoint.length !== layout.checkpointBytes)
    throw new RangeError(`checkpoint must be ${layout.checkpointBytes} bytes, got ${checkpoint.length}`);
  if (input.length !== widths[0])
    throw new RangeError(`input must be ${widths[0]} bytes, got ${input.length}`);
  const theta = new Int16Array(layout.parameterCount);
  new Uint8Array(theta.buffer).set(checkpoint.subarray(8));
  const x = new Int32Array(input.length);
  for (let i = 0; i < input.length; i++) x[i] = (input[i] << 24) >> 24;
  const eff = layout.layers.map((layer) => effectiveLayer(layer, theta));
  const acts = forward(layout, eff, x, 1);
  const L = layout.layers.length;
  const slots = inferenceSlots(widths);
  const enc = [checkpoint.slice(), input.slice(), ...acts.slice(1).map(i8)];
  return { widths, acts, label: argmax(acts[L], 0, layout.classes), tensors: new StateTensors(slots, enc) };
}

/** Teacher row c (version 1) as int8 values. */
export function teacherRow(key: EngineKey, inputs: number, c: number): Int32Array {
  const bytes = new Uint8Array(inputs);
  philoxBytes(key, DOMAIN_TEACHER, c, bytes);
  const out = new Int32Array(inputs);
  for (let i = 0; i < inputs; i++) out[i] = (bytes[i] << 24) >> 24;
  return out;
}
