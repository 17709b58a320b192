/**
 * The `js` backend: the readable reference of engine versions 1 and 2, in plain TypeScript.
 * The versions differ only in where examples come from: version 1 generates them from the seed
 * (inputs from Philox, labels from a random linear teacher); version 2 reads them from the
 * committed dataset, the training examples of a step chosen by the keyed permutation of `prng.ts`.
 * Every other backend must reproduce its bits. docs/engine.md describes the same algorithm in prose.
 *
 * Value ranges (the reason no int32 accumulator can overflow, given a valid spec):
 * - inputs x and teacher weights: int8 [-128, 127];
 * - effective weights w: [-127, 127]; hidden activations: [0, 127]; outputs: [-127, 127];
 * - error signals g: [-127, 127]; stored parameters (master weights): [-32767, 32767].
 */
import {
  checkEngineData,
  checkWeights,
  noData,
  type EngineBackend,
  type EngineData,
  type EngineSession,
} from "./backend.js";
import type { ExampleRows } from "./dataset.js";
import {
  DOMAIN_INIT,
  DOMAIN_INPUT,
  DOMAIN_TEACHER,
  philoxBytes,
  stepExamples,
  type EngineKey,
} from "./prng.js";
import { modelLayout, validateSpec, type LayerShape, type ModelLayout, type TrainingSpec } from "./spec.js";

/** Fractional bits of a stored parameter: effective weight = round(parameter / 2^8). */
export const WEIGHT_SHIFT = 8;
/** The activation a bias multiplies: biases act as weights on a constant input of 127. */
export const BIAS_INPUT = 127;
/** Output value the loss pulls the true class towards (the other classes are pulled to 0). */
export const TARGET = 64;
/** Saturation bound of stored parameters. */
export const PARAMETER_MAX = 32_767;

/** round(x / 2^s), halves rounded up: (x + 2^(s-1)) >> s with an arithmetic shift. */
export function roundShift(x: number, s: number): number {
  return s === 0 ? x : (x + (1 << (s - 1))) >> s;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** The int8 weight a stored parameter stands for in the matrix products. */
export function effectiveWeight(parameter: number): number {
  return clamp(roundShift(parameter, WEIGHT_SHIFT), -127, 127);
}

/** Reads bytes as int8. */
function toInt8(bytes: Uint8Array): Int32Array {
  const out = new Int32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] << 24) >> 24;
  return out;
}

/**
 * Checkpoint 0: weight k of layer l = ((byte k of item l in DOMAIN_INIT) >> 1) - 64, stored
 * shifted left by 8 (so the effective weight is exactly that value, in [-64, 63]); biases 0.
 */
export function initialWeights(layout: ModelLayout, key: EngineKey): Int16Array {
  const weights = new Int16Array(layout.parameterCount);
  layout.layers.forEach((layer, l) => {
    const bytes = new Uint8Array(layer.inputs * layer.outputs);
    philoxBytes(key, DOMAIN_INIT, l, bytes);
    for (let k = 0; k < bytes.length; k++) weights[layer.weightOffset + k] = ((bytes[k] >> 1) - 64) * 256;
  });
  return weights;
}

/** Teacher weights `[classes][inputs]`: row c = item c of DOMAIN_TEACHER, as int8. */
export function teacherWeights(layout: ModelLayout, key: EngineKey): Int32Array {
  const teacher = new Int32Array(layout.classes * layout.inputs);
  const bytes = new Uint8Array(layout.inputs);
  for (let c = 0; c < layout.classes; c++) {
    philoxBytes(key, DOMAIN_TEACHER, c, bytes);
    teacher.set(toInt8(bytes), c * layout.inputs);
  }
  return teacher;
}

/** Index of the largest value of `v[offset .. offset + n)`; ties go to the lowest index. */
export function argmax(v: Int32Array, offset: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (v[offset + c] > v[offset + best]) best = c;
  return best;
}

/**
 * Example n: inputs = item n of DOMAIN_INPUT as int8; label = argmax over classes c of
 * sum_i teacher[c][i] · x[i].
 */
export function example(layout: ModelLayout, key: EngineKey, teacher: Int32Array, n: number) {
  const bytes = new Uint8Array(layout.inputs);
  philoxBytes(key, DOMAIN_INPUT, n, bytes);
  const x = toInt8(bytes);
  const scores = new Int32Array(layout.classes);
  for (let c = 0; c < layout.classes; c++) {
    let s = 0;
    for (let i = 0; i < layout.inputs; i++) s += teacher[c * layout.inputs + i] * x[i];
    scores[c] = s;
  }
  return { x, label: argmax(scores, 0, layout.classes) };
}

/** Effective weights of one layer: `[outputs][inputs]` and `[outputs]` biases. */
export function effectiveLayer(layer: LayerShape, params: Int16Array) {
  const w = new Int32Array(layer.inputs * layer.outputs);
  for (let k = 0; k < w.length; k++) w[k] = effectiveWeight(params[layer.weightOffset + k]);
  const b = new Int32Array(layer.outputs);
  for (let o = 0; o < layer.outputs; o++) b[o] = effectiveWeight(params[layer.biasOffset + o]);
  return { w, b };
}

/**
 * Forward pass of `rows` examples held row-major in `input` (`[rows][inputs]`). Returns the
 * activations of every layer, `acts[0] = input`, `acts[L]` = outputs. Layer l:
 * z = sum_i w[o][i] · a[i] + 127 · b[o]; a' = clamp(roundShift(z, forwardShift), 0, 127) for hidden
 * layers (ReLU and saturation in one), clamp(..., -127, 127) for the output layer.
 */
export function forward(
  layout: ModelLayout,
  eff: { w: Int32Array; b: Int32Array }[],
  input: Int32Array,
  rows: number,
): Int32Array[] {
  const acts = [input];
  layout.layers.forEach((layer, l) => {
    const { w, b } = eff[l];
    const a = acts[l];
    const out = new Int32Array(rows * layer.outputs);
    const lo = l === layout.layers.length - 1 ? -127 : 0;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < layer.outputs; o++) {
        let z = BIAS_INPUT * b[o];
        for (let i = 0; i < layer.inputs; i++) z += w[o * layer.inputs + i] * a[r * layer.inputs + i];
        out[r * layer.outputs + o] = clamp(roundShift(z, layer.forwardShift), lo, 127);
      }
    }
    acts.push(out);
  });
  return acts;
}

/** Rows `indices` of a dataset part: inputs `[rows][features]` and labels (engine version 2). */
export function gatherRows(rows: ExampleRows, indices: ArrayLike<number>) {
  const f = rows.features;
  const x = new Int32Array(indices.length * f);
  const labels = new Int32Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const n = indices[r];
    for (let i = 0; i < f; i++) x[r * f + i] = rows.inputs[n * f + i];
    labels[r] = rows.labels[n];
  }
  return { x, labels };
}

class ReferenceSession implements EngineSession {
  readonly layout: ModelLayout;
  private readonly spec: TrainingSpec;
  private readonly key: EngineKey;
  /** Version 1: the teacher; version 2: unused. */
  private readonly teacher: Int32Array;
  /** Version 2: the dataset (undefined: no data, weights only). */
  private readonly data: EngineData | undefined;
  private params: Int16Array;
  private closed = false;

  constructor(spec: TrainingSpec, key: EngineKey, data?: EngineData) {
    this.spec = validateSpec(spec);
    this.key = key;
    this.layout = modelLayout(this.spec);
    this.data = checkEngineData(this.spec, data);
    this.teacher = this.spec.version === 1 ? teacherWeights(this.layout, key) : new Int32Array(0);
    this.params = initialWeights(this.layout, key);
  }

  private live(): void {
    if (this.closed) throw new Error("engine session is closed");
  }

  async getWeights(): Promise<Int16Array> {
    this.live();
    return this.params.slice();
  }

  async setWeights(weights: Int16Array): Promise<void> {
    this.live();
    this.params = checkWeights(this.layout, weights);
  }

  /** The training batch of `step`: inputs `[batchSize][inputs]` and labels. */
  private trainBatch(step: number) {
    const B = this.spec.batchSize;
    if (this.spec.version === 1) return this.batch(step * B, B);
    if (!this.data) throw noData("train");
    return gatherRows(this.data.train, stepExamples(this.key, this.data.train.count, B, step));
  }

  /** Evaluation examples `e .. e + rows - 1`: inputs and labels. */
  private evalBatch(e: number, rows: number) {
    if (this.spec.version === 1) return this.batch(this.spec.steps * this.spec.batchSize + e, rows);
    if (!this.data) throw noData("evaluate");
    return gatherRows(
      this.data.eval,
      Array.from({ length: rows }, (_, r) => e + r),
    );
  }

  /** Version 1: generated examples `first .. first + rows - 1`: inputs `[rows][inputs]` and labels. */
  private batch(first: number, rows: number) {
    const x = new Int32Array(rows * this.layout.inputs);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const ex = example(this.layout, this.key, this.teacher, first + r);
      x.set(ex.x, r * this.layout.inputs);
      labels[r] = ex.label;
    }
    return { x, labels };
  }

  async trainSteps(firstStep: number, count: number): Promise<void> {
    this.live();
    for (let s = firstStep; s < firstStep + count; s++) this.step(s);
  }

  /**
   * One SGD step on the training batch of `step`: version 1 examples `step · batchSize ..
   * step · batchSize + batchSize - 1`, version 2 the dataset examples the permutation picks.
   */
  private step(step: number): void {
    const { layout } = this;
    const rows = this.spec.batchSize;
    const L = layout.layers.length;
    const { x, labels } = this.trainBatch(step);
    const eff = layout.layers.map((layer) => effectiveLayer(layer, this.params));
    const acts = forward(layout, eff, x, rows);

    // Loss gradient (squared error against TARGET · onehot(label)): g = clamp(y - t, -127, 127).
    const classes = layout.classes;
    const y = acts[L];
    let g = new Int32Array(rows * classes);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < classes; c++) {
        const t = c === labels[r] ? TARGET : 0;
        g[r * classes + c] = clamp(y[r * classes + c] - t, -127, 127);
      }
    }

    // Backward, top layer first. All gradients use the weights of the start of the step; a layer's
    // update only touches its own parameters, so it may be applied as soon as its gradient is known.
    for (let l = L - 1; l >= 0; l--) {
      const layer = layout.layers[l];
      const { inputs: nIn, outputs: nOut } = layer;
      const a = acts[l];
      const { w } = eff[l];
      // Weight gradient: dW[o][i] = sum_r g[r][o] · a[r][i]; bias gradient: dB[o] = sum_r 127 · g[r][o].
      const dW = new Int32Array(nOut * nIn);
      const dB = new Int32Array(nOut);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < nOut; o++) {
          const gro = g[r * nOut + o];
          if (gro === 0) continue;
          for (let i = 0; i < nIn; i++) dW[o * nIn + i] += gro * a[r * nIn + i];
          dB[o] += BIAS_INPUT * gro;
        }
      }
      // Error for the layer below: e[r][i] = sum_o w[o][i] · g[r][o]; through the ReLU:
      // g'[r][i] = a[r][i] > 0 ? clamp(roundShift(e, backwardShift), -127, 127) : 0.
      if (l > 0) {
        const next = new Int32Array(rows * nIn);
        const e = new Int32Array(nIn);
        for (let r = 0; r < rows; r++) {
          e.fill(0);
          for (let o = 0; o < nOut; o++) {
            const gro = g[r * nOut + o];
            if (gro === 0) continue;
            for (let i = 0; i < nIn; i++) e[i] += w[o * nIn + i] * gro;
          }
          for (let i = 0; i < nIn; i++) {
            if (a[r * nIn + i] > 0)
              next[r * nIn + i] = clamp(roundShift(e[i], layer.backwardShift), -127, 127);
          }
        }
        g = next;
      }
      // Update: p = clamp(p - roundShift(gradient, lrShift), -32767, 32767).
      const p = this.params;
      const lr = this.spec.lrShift;
      for (let k = 0; k < dW.length; k++) {
        const at = layer.weightOffset + k;
        p[at] = clamp(p[at] - roundShift(dW[k], lr), -PARAMETER_MAX, PARAMETER_MAX);
      }
      for (let o = 0; o < nOut; o++) {
        const at = layer.biasOffset + o;
        p[at] = clamp(p[at] - roundShift(dB[o], lr), -PARAMETER_MAX, PARAMETER_MAX);
      }
    }
  }

  async evaluate(): Promise<number> {
    this.live();
    const { layout } = this;
    if (this.spec.version === 2 && !this.data) throw noData("evaluate");
    const eff = layout.layers.map((layer) => effectiveLayer(layer, this.params));
    const chunk = this.spec.batchSize;
    let correct = 0;
    for (let e = 0; e < this.spec.evalSize; e += chunk) {
      const rows = Math.min(chunk, this.spec.evalSize - e);
      const { x, labels } = this.evalBatch(e, rows);
      const y = forward(layout, eff, x, rows)[layout.layers.length];
      for (let r = 0; r < rows; r++)
        if (argmax(y, r * layout.classes, layout.classes) === labels[r]) correct++;
    }
    return correct;
  }

  close(): void {
    this.closed = true;
  }
}

/** The plain TypeScript backend. */
export const jsBackend: EngineBackend = {
  kind: "js",
  async open(spec: TrainingSpec, key: EngineKey, data?: EngineData): Promise<EngineSession> {
    return new ReferenceSession(spec, key, data);
  },
};
