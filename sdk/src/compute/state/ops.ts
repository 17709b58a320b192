/**
 * The one-step rules of the state layout in TypeScript: for an element of a step's (or an
 * inference's) state, the value its rule gives, the accumulators of its fold chunk by chunk, and the
 * byte ranges of the operands each rule reads. `contracts/disputes/OneStepProver.sol` executes the
 * same rules on chain; the differential tests hold the two equal. Browser-safe.
 */
import { type Hex } from "viem";
import { DOMAIN_INPUT, philoxBytes, type EngineKey } from "../prng.js";
import { BIAS_INPUT, PARAMETER_MAX, TARGET, clamp, effectiveWeight, roundShift } from "../reference.js";
import type { ModelLayout, TrainingSpec } from "../spec.js";
import {
  CHUNK,
  CHUNK_I32,
  THETA_HEADER,
  actSlot,
  backwardBase,
  chunkCount,
  inferenceActSlot,
  lossSlot,
  type ElementRef,
} from "./layout.js";
import { teacherRow, type InferenceTrace, type StepTrace } from "./trace.js";

const TWO_256 = 1n << 256n;
const INT128_MIN = -(1n << 127n);

/** An accumulator as the 32-byte word the game stores: a signed sum (two's complement) or an argmax. */
export function encodeSum(sum: number | bigint): Hex {
  let v = BigInt(sum);
  if (v < 0n) v += TWO_256;
  return `0x${v.toString(16).padStart(64, "0")}`;
}

/** An argmax accumulator: (best value as int128) << 128 | index. */
export function encodeArgmax(best: number | bigint, index: number): Hex {
  let b = BigInt(best);
  if (b < 0n) b += 1n << 128n;
  return `0x${((b << 128n) | BigInt(index)).toString(16).padStart(64, "0")}`;
}

/** The argmax accumulator before any element (best = int128 minimum). */
export const ARGMAX_START: Hex = encodeArgmax(INT128_MIN, 0);

export function decodeSum(acc: Hex): bigint {
  const v = BigInt(acc);
  return v >= 1n << 255n ? v - TWO_256 : v;
}

export function decodeArgmax(acc: Hex): { best: bigint; index: number } {
  const v = BigInt(acc);
  let best = v >> 128n;
  if (best >= 1n << 127n) best -= 1n << 128n;
  return { best, index: Number(v & ((1n << 128n) - 1n)) };
}

/** A byte range of one slot that a rule reads. */
export interface OperandRange {
  readonly slot: number;
  readonly offset: number;
  readonly length: number;
}

const thetaAt = (k: number, count = 1): { offset: number; length: number } => ({
  offset: THETA_HEADER + 2 * k,
  length: 2 * count,
});

/** Layer-wise facts both the step rules and the operand ranges need. */
function layerOf(layout: ModelLayout, l: number) {
  const layer = layout.layers[l];
  if (!layer) throw new RangeError(`weight layer must be below ${layout.layers.length}, got ${l}`);
  return layer;
}

/** The slot holding E_l (the error at the output of layer l - 1) of a training step: G for l = L. */
function errSlotOf(L: number, l: number): number {
  return l === L ? lossSlot(L) : backwardBase(L, l) + 3;
}

/** The slot holding A_l of a training step (A_0 = X). */
function actSlotOf(l: number): number {
  return l === 0 ? 1 : actSlot(l);
}

/** Operand ranges of chunk `c` of a fold element (training step, or inference when `inference`). */
export function chunkOperands(
  spec: TrainingSpec,
  layout: ModelLayout,
  ref: ElementRef,
  c: number,
  inference = false,
): OperandRange[] {
  const m = Math.min(ref.chunk, ref.K - c * ref.chunk);
  const k0 = c * ref.chunk;
  const L = layout.layers.length;
  const B = inference ? 1 : spec.batchSize;
  const n = (l: number) => spec.widths[l];
  switch (ref.op) {
    case "teacher":
      return [{ slot: 1, offset: ref.row * n(0) + k0, length: m }];
    case "argmax":
      return [{ slot: 2, offset: 4 * (ref.row * layout.classes + k0), length: 4 * m }];
    case "forward": {
      const j = ref.layer;
      const layer = layerOf(layout, j);
      const source = inference ? (j === 0 ? 1 : inferenceActSlot(j)) : actSlotOf(j);
      return [
        { slot: 0, ...thetaAt(layer.weightOffset + ref.col * layer.inputs + k0, m) },
        { slot: source, offset: ref.row * layer.inputs + k0, length: m },
      ];
    }
    case "backward": {
      const l = ref.layer;
      const base = backwardBase(L, l);
      return [
        { slot: base + 2, offset: ref.col * n(l + 1) + k0, length: m },
        { slot: errSlotOf(L, l + 1), offset: ref.row * n(l + 1) + k0, length: m },
      ];
    }
    case "update-weight": {
      const base = backwardBase(L, ref.layer);
      return [
        { slot: base, offset: ref.row * B + k0, length: m },
        { slot: base + 1, offset: ref.col * B + k0, length: m },
      ];
    }
    case "update-bias":
      return [{ slot: backwardBase(L, ref.layer), offset: ref.row * B + k0, length: m }];
    default:
      throw new RangeError(`${ref.op} is not a fold`);
  }
}

/** Operand ranges of a fold's start (only the forward pass's bias reads one). */
export function initOperands(layout: ModelLayout, ref: ElementRef): OperandRange[] {
  if (ref.op !== "forward") return [];
  const layer = layerOf(layout, ref.layer);
  return [{ slot: 0, ...thetaAt(layer.biasOffset + ref.col) }];
}

/** Operand ranges of a fold's end: the ReLU's activation, or the parameter an update moves. */
export function finOperands(spec: TrainingSpec, layout: ModelLayout, ref: ElementRef): OperandRange[] {
  switch (ref.op) {
    case "backward":
      return [{ slot: actSlot(ref.layer), offset: ref.row * spec.widths[ref.layer] + ref.col, length: 1 }];
    case "update-weight":
    case "update-bias":
      return [{ slot: 0, ...thetaAt(ref.element) }];
    default:
      return [];
  }
}

/** Operand ranges of an element rule (not a fold). */
export function elementOperands(spec: TrainingSpec, layout: ModelLayout, ref: ElementRef): OperandRange[] {
  const L = layout.layers.length;
  const C = layout.classes;
  switch (ref.op) {
    case "loss":
      return [
        { slot: actSlot(L), offset: ref.row * C + ref.col, length: 1 },
        { slot: 3, offset: 4 * ref.row, length: 4 },
      ];
    case "transpose": {
      // ET_l[o][r] = E_l[r][o]; AT_l[i][r] = A_l[r][i]: the slot's row is the source's column.
      if (ref.kind === "err-t") {
        const l = ref.layer;
        return [{ slot: errSlotOf(L, l), offset: ref.col * spec.widths[l] + ref.row, length: 1 }];
      }
      const l = ref.layer;
      return [{ slot: actSlotOf(l), offset: ref.col * spec.widths[l] + ref.row, length: 1 }];
    }
    case "weight-t": {
      const layer = layerOf(layout, ref.layer);
      return [{ slot: 0, ...thetaAt(layer.weightOffset + ref.col * layer.inputs + ref.row) }];
    }
    default:
      return [];
  }
}

/** The value of an element rule, from the trace (what an honest state holds). */
export function elementValue(trace: StepTrace, key: EngineKey, ref: ElementRef): number {
  const { spec, layout } = trace;
  const L = layout.layers.length;
  switch (ref.op) {
    case "padding":
      return 0;
    case "header":
      return trace.step + 1;
    case "input": {
      const bytes = new Uint8Array(spec.widths[0]);
      philoxBytes(key, DOMAIN_INPUT, trace.step * spec.batchSize + ref.row, bytes);
      return (bytes[ref.col] << 24) >> 24;
    }
    case "example-input":
      return trace.x[ref.row * spec.widths[0] + ref.col];
    case "example-label":
      return trace.labels[ref.row];
    case "loss": {
      const C = layout.classes;
      const y = trace.acts[L][ref.row * C + ref.col];
      return clamp(y - (ref.col === trace.labels[ref.row] ? TARGET : 0), -127, 127);
    }
    case "transpose": {
      const l = ref.layer;
      const source = ref.kind === "err-t" ? trace.errs[l] : trace.acts[l];
      return source[ref.col * spec.widths[l] + ref.row];
    }
    case "weight-t": {
      const layer = layout.layers[ref.layer];
      return effectiveWeight(trace.theta[layer.weightOffset + ref.col * layer.inputs + ref.row]);
    }
    default:
      return foldOf(trace, ref).value;
  }
}

/** A fold element's accumulators: `accs[c]` before chunk c (accs[0] the start, the last the end). */
export interface FoldTrace {
  readonly accs: Hex[];
  /** The element's value: the fold's end, finished. */
  readonly value: number;
}

/** The fold of an element of a training step. */
export function foldOf(trace: StepTrace, ref: ElementRef): FoldTrace {
  const { spec, layout } = trace;
  const L = layout.layers.length;
  const n = (l: number) => spec.widths[l];
  const chunks = chunkCount(ref.K, ref.chunk);
  const term: (k: number) => number = (() => {
    switch (ref.op) {
      case "teacher": {
        const T = teacherRow(trace.key, n(0), ref.col);
        return (i: number) => T[i] * trace.x[ref.row * n(0) + i];
      }
      case "forward": {
        const layer = layout.layers[ref.layer];
        const a = trace.acts[ref.layer];
        return (i: number) =>
          effectiveWeight(trace.theta[layer.weightOffset + ref.col * layer.inputs + i]) *
          a[ref.row * layer.inputs + i];
      }
      case "backward": {
        const l = ref.layer;
        const wt = trace.weightT[l];
        const e = trace.errs[l + 1];
        return (o: number) => wt[ref.col * n(l + 1) + o] * e[ref.row * n(l + 1) + o];
      }
      case "update-weight": {
        const l = ref.layer;
        const e = trace.errs[l + 1];
        const a = trace.acts[l];
        return (r: number) => e[r * n(l + 1) + ref.row] * a[r * n(l) + ref.col];
      }
      case "update-bias": {
        const e = trace.errs[ref.layer + 1];
        return (r: number) => BIAS_INPUT * e[r * n(ref.layer + 1) + ref.row];
      }
      default:
        return () => 0;
    }
  })();
  if (ref.op === "argmax") {
    const C = layout.classes;
    const accs: Hex[] = [ARGMAX_START];
    let best = INT128_MIN;
    let index = 0;
    for (let c = 0; c < chunks; c++) {
      for (let k = c * CHUNK_I32; k < Math.min(C, (c + 1) * CHUNK_I32); k++) {
        const v = BigInt(trace.teacherScores[ref.row * C + k]);
        if (v > best) {
          best = v;
          index = k;
        }
      }
      accs.push(encodeArgmax(best, index));
    }
    return { accs, value: index };
  }
  let acc = 0;
  if (ref.op === "forward") {
    const layer = layout.layers[ref.layer];
    acc = BIAS_INPUT * effectiveWeight(trace.theta[layer.biasOffset + ref.col]);
  }
  const accs: Hex[] = [encodeSum(acc)];
  for (let c = 0; c < chunks; c++) {
    for (let k = c * ref.chunk; k < Math.min(ref.K, (c + 1) * ref.chunk); k++) acc += term(k);
    accs.push(encodeSum(acc));
  }
  let value: number;
  switch (ref.op) {
    case "teacher":
      value = acc;
      break;
    case "forward": {
      const layer = layout.layers[ref.layer];
      value = clamp(roundShift(acc, layer.forwardShift), ref.layer === L - 1 ? -127 : 0, 127);
      break;
    }
    case "backward": {
      const l = ref.layer;
      const a = trace.acts[l][ref.row * n(l) + ref.col];
      value = a > 0 ? clamp(roundShift(acc, layout.layers[l].backwardShift), -127, 127) : 0;
      break;
    }
    default:
      value = clamp(trace.theta[ref.element] - roundShift(acc, spec.lrShift), -PARAMETER_MAX, PARAMETER_MAX);
  }
  return { accs, value };
}

/** The fold of A_l[0][o] of an inference, and of its output label (argmax over A_L[0]). */
export function inferenceFold(trace: InferenceTrace, ref: ElementRef, layout: ModelLayout): FoldTrace {
  const L = layout.layers.length;
  const layer = layout.layers[ref.layer];
  const theta = thetaOfInference(trace);
  const a = trace.acts[ref.layer];
  let acc = BIAS_INPUT * effectiveWeight(theta[layer.biasOffset + ref.col]);
  const accs: Hex[] = [encodeSum(acc)];
  for (let c = 0; c < chunkCount(ref.K, CHUNK); c++) {
    for (let i = c * CHUNK; i < Math.min(ref.K, (c + 1) * CHUNK); i++)
      acc += effectiveWeight(theta[layer.weightOffset + ref.col * layer.inputs + i]) * a[i];
    accs.push(encodeSum(acc));
  }
  const value = clamp(roundShift(acc, layer.forwardShift), ref.layer === L - 1 ? -127 : 0, 127);
  return { accs, value };
}

/** The argmax fold over an inference's output y = A_L[0] (chunks of 64 classes). */
export function outputLabelFold(trace: InferenceTrace): FoldTrace {
  const y = trace.acts[trace.acts.length - 1];
  const accs: Hex[] = [ARGMAX_START];
  let best = INT128_MIN;
  let index = 0;
  for (let c = 0; c < chunkCount(y.length, CHUNK); c++) {
    for (let k = c * CHUNK; k < Math.min(y.length, (c + 1) * CHUNK); k++) {
      if (BigInt(y[k]) > best) {
        best = BigInt(y[k]);
        index = k;
      }
    }
    accs.push(encodeArgmax(best, index));
  }
  return { accs, value: index };
}

function thetaOfInference(trace: InferenceTrace): Int16Array {
  const bytes = trace.tensors.encodings[0];
  const theta = new Int16Array((bytes.length - THETA_HEADER) / 2);
  new Uint8Array(theta.buffer).set(bytes.subarray(THETA_HEADER));
  return theta;
}
