/**
 * The state layout of a training step and of an inference (docs/disputes.md, "State layout"): the
 * tensors ("slots") whose byte trees commit everything an SGD step reads and writes, in the order in
 * which the step computes them, so that every element's operands live in earlier slots. Each element
 * of a slot is defined by one rule ("op") of the engine, evaluated either at once (an element op) or
 * as a fold over chunks of a contraction (a dot product, an argmax), which is how a dispute reaches
 * a single integer operation. Browser-safe.
 */
import { modelLayout, validateSpec, type ModelLayout, type TrainingSpec } from "../spec.js";

/** Bytes of the step header of a parameter tensor (uint64, little-endian). */
export const THETA_HEADER = 8;
/** Contraction indices per fold chunk for int8 and int16 operands (64 bytes or 128 bytes: ≤ 2 leaves). */
export const CHUNK = 64;
/** Contraction indices per fold chunk for int32 operands (the argmax over teacher scores). */
export const CHUNK_I32 = 32;

export type SlotKind =
  | "theta-in"
  | "x"
  | "teacher"
  | "labels"
  | "act"
  | "loss"
  | "err-t"
  | "act-t"
  | "weight-t"
  | "err"
  | "theta-out";

/** One tensor of the layout. */
export interface Slot {
  readonly index: number;
  readonly kind: SlotKind;
  /**
   * act: l in 1..L (the output of weight layer l - 1; A_L = y); err-t: l in 1..L (transpose of the
   * error at the output of layer l - 1, E_L = the loss gradient); act-t, weight-t, err: l in 0..L-1;
   * 0 otherwise.
   */
  readonly layer: number;
  readonly rows: number;
  readonly cols: number;
  /** 1: int8; 2: int16 parameters after an 8-byte step header; 4: int32 little-endian. */
  readonly elementBytes: 1 | 2 | 4;
  /** Bytes of the encoding (0 for an absent slot). */
  readonly length: number;
  readonly present: boolean;
  /** Short name used in logs and documents: Θ_in, X, TS, LBL, A_1, G, ET_2, AT_1, WT_1, E_1, Θ_out. */
  readonly name: string;
}

function slot(
  index: number,
  kind: SlotKind,
  layer: number,
  rows: number,
  cols: number,
  elementBytes: 1 | 2 | 4,
  present: boolean,
  name: string,
  headerAndParams?: number,
): Slot {
  const length = !present ? 0 : (headerAndParams ?? rows * cols * elementBytes);
  return { index, kind, layer, rows, cols, elementBytes, length, present, name };
}

/** Slots of a training step: 6 + 5L (L weight layers). */
export function trainingSlots(spec: TrainingSpec): Slot[] {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  const L = layout.layers.length;
  const B = s.batchSize;
  const w = s.widths;
  const C = layout.classes;
  const theta = THETA_HEADER + 2 * layout.parameterCount;
  const slots: Slot[] = [
    slot(0, "theta-in", 0, 1, layout.parameterCount, 2, true, "Θ_in", theta),
    slot(1, "x", 0, B, w[0], 1, true, "X"),
    slot(2, "teacher", 0, B, C, 4, s.version === 1, "TS"),
    slot(3, "labels", 0, B, 1, 4, true, "LBL"),
  ];
  for (let l = 1; l <= L; l++) slots.push(slot(slots.length, "act", l, B, w[l], 1, true, `A_${l}`));
  slots.push(slot(slots.length, "loss", 0, B, C, 1, true, "G"));
  for (let l = L - 1; l >= 0; l--) {
    slots.push(slot(slots.length, "err-t", l + 1, w[l + 1], B, 1, true, `ET_${l + 1}`));
    slots.push(slot(slots.length, "act-t", l, w[l], B, 1, true, `AT_${l}`));
    slots.push(slot(slots.length, "weight-t", l, w[l], w[l + 1], 1, l > 0, `WT_${l}`));
    slots.push(slot(slots.length, "err", l, B, w[l], 1, l > 0, `E_${l}`));
  }
  slots.push(slot(slots.length, "theta-out", 0, 1, layout.parameterCount, 2, true, "Θ_out", theta));
  return slots;
}

/** Slots of an inference (one input): Θ, X, A_1 … A_L. */
export function inferenceSlots(widths: readonly number[]): Slot[] {
  const L = widths.length - 1;
  let params = 0;
  for (let l = 0; l < L; l++) params += (widths[l] + 1) * widths[l + 1];
  const slots: Slot[] = [
    slot(0, "theta-in", 0, 1, params, 2, true, "Θ", THETA_HEADER + 2 * params),
    slot(1, "x", 0, 1, widths[0], 1, true, "X"),
  ];
  for (let l = 1; l <= L; l++) slots.push(slot(slots.length, "act", l, 1, widths[l], 1, true, `A_${l}`));
  return slots;
}

/** Index of slot A_l (l in 1..L) of a training step. */
export const actSlot = (l: number) => 3 + l;
/** Index of slot G of a training step with L layers. */
export const lossSlot = (L: number) => 4 + L;
/** Index of the first of the four backward slots of layer l (ET_{l+1}, AT_l, WT_l, E_l). */
export const backwardBase = (L: number, l: number) => 5 + L + 4 * (L - 1 - l);
/** Index of Θ_out of a training step with L layers. */
export const thetaOutSlot = (L: number) => 5 + 5 * L;
/** Index of slot A_l of an inference. */
export const inferenceActSlot = (l: number) => 1 + l;

/** The rule that defines one element of a slot. */
export type OpKind =
  | "padding" // a byte beyond the encoding, in the last leaf: 0
  | "header" // Θ_out's step header: the next step
  | "input" // version 1: X[r][i] = input byte of example s·B + r (Philox)
  | "example-input" // version 2: X[r][i] = feature i of the dataset example the permutation picks
  | "example-label" // version 2: LBL[r] = label of that example
  | "teacher" // fold: TS[r][c] = Σ_i T[c][i] · X[r][i]
  | "argmax" // fold: LBL[r] = argmax_c TS[r][c] (version 1), ties to the lowest c
  | "forward" // fold: A_l[r][o] = requant(127 · b[o] + Σ_i w[o][i] · A_{l-1}[r][i])
  | "loss" // G[r][c] = clamp(Y[r][c] - 64 · [c == LBL[r]], -127, 127)
  | "transpose" // ET_l[o][r] = E_l[r][o] (E_L = G); AT_l[i][r] = A_l[r][i] (A_0 = X)
  | "weight-t" // WT_l[i][o] = eff(θ[layer l weight (o, i)])
  | "backward" // fold: E_l[r][i] = A_l[r][i] > 0 ? clamp(roundShift(Σ_o WT_l[i][o] · E_{l+1}[r][o], G_l)) : 0
  | "update-weight" // fold: θ'[k] = clamp(θ[k] - roundShift(Σ_r ET_{l+1}[o][r] · AT_l[i][r], lr), ±32767)
  | "update-bias"; // fold: θ'[k] = clamp(θ[k] - roundShift(Σ_r 127 · ET_{l+1}[o][r], lr), ±32767)

export const FOLD_OPS: ReadonlySet<OpKind> = new Set([
  "teacher",
  "argmax",
  "forward",
  "backward",
  "update-weight",
  "update-bias",
]);

/** The element a byte of a slot belongs to, and its rule. */
export interface ElementRef {
  readonly slot: number;
  readonly kind: SlotKind;
  /** Element index: parameter index for Θ (header: -1), row-major index otherwise; padding: byte offset. */
  readonly element: number;
  readonly op: OpKind;
  /** Byte offset of the element in the slot's encoding, and its size. */
  readonly offset: number;
  readonly size: number;
  /** Row and column of the element (Θ: layer weight or bias coordinates; see `layer`, `row`, `col`). */
  readonly row: number;
  readonly col: number;
  /** Weight layer of a Θ element or of a forward, backward or transpose element. */
  readonly layer: number;
  /** Fold: contraction length and chunk size. */
  readonly K: number;
  readonly chunk: number;
}

/** Which parameter of a model `k` is: layer, and (o, i) for a weight or (o, -1) for a bias. */
export function parameterAt(layout: ModelLayout, k: number): { layer: number; o: number; i: number } {
  for (let l = 0; l < layout.layers.length; l++) {
    const layer = layout.layers[l];
    if (k < layer.biasOffset) {
      const local = k - layer.weightOffset;
      return { layer: l, o: Math.floor(local / layer.inputs), i: local % layer.inputs };
    }
    if (k < layer.biasOffset + layer.outputs) return { layer: l, o: k - layer.biasOffset, i: -1 };
  }
  throw new RangeError(`parameter index must be below ${layout.parameterCount}, got ${k}`);
}

const fold = (K: number, chunk = CHUNK) => ({ K, chunk });
const none = { K: 0, chunk: 0 };

/**
 * The element at byte `offset` of slot `slotIndex` of a training step (`inference` false) or of an
 * inference, and its rule.
 */
export function elementAt(
  spec: TrainingSpec,
  slots: readonly Slot[],
  slotIndex: number,
  offset: number,
  inference = false,
): ElementRef {
  const s = slots[slotIndex];
  if (s === undefined || !s.present) throw new RangeError(`slot ${slotIndex} is not a tensor of this layout`);
  const layout = modelLayout(spec);
  const B = inference ? 1 : spec.batchSize;
  const base = { slot: slotIndex, kind: s.kind, offset, row: 0, col: 0, layer: 0, ...none };
  if (offset >= s.length) return { ...base, element: offset, op: "padding", size: 1 };
  if (s.elementBytes === 2) {
    if (offset < THETA_HEADER) return { ...base, element: -1, op: "header", offset: 0, size: THETA_HEADER };
    const k = (offset - THETA_HEADER) >> 1;
    const at = { ...base, element: k, offset: THETA_HEADER + 2 * k, size: 2 };
    if (s.kind !== "theta-out") throw new RangeError(`${s.name} is agreed: it has no rule to dispute`);
    const p = parameterAt(layout, k);
    return {
      ...at,
      op: p.i < 0 ? "update-bias" : "update-weight",
      layer: p.layer,
      row: p.o,
      col: p.i,
      ...fold(B),
    };
  }
  const size = s.elementBytes;
  const e = Math.floor(offset / size);
  const row = Math.floor(e / s.cols);
  const col = e % s.cols;
  const at = { ...base, element: e, offset: e * size, size, row, col };
  switch (s.kind) {
    case "x":
      if (inference) throw new RangeError("the input of an inference is agreed: it has no rule to dispute");
      return { ...at, op: spec.version === 1 ? "input" : "example-input" };
    case "teacher":
      return { ...at, op: "teacher", ...fold(spec.widths[0]) };
    case "labels":
      return spec.version === 1
        ? { ...at, op: "argmax", ...fold(layout.classes, CHUNK_I32) }
        : { ...at, op: "example-label" };
    case "act":
      return { ...at, op: "forward", layer: s.layer - 1, ...fold(spec.widths[s.layer - 1]) };
    case "loss":
      return { ...at, op: "loss" };
    case "err-t":
    case "act-t":
      return { ...at, op: "transpose", layer: s.layer };
    case "weight-t":
      return { ...at, op: "weight-t", layer: s.layer };
    case "err":
      return { ...at, op: "backward", layer: s.layer, ...fold(spec.widths[s.layer + 1]) };
    default:
      throw new RangeError(`${s.name} has no element rule`);
  }
}

/** Chunks of a fold of length K. */
export const chunkCount = (K: number, chunk: number) => Math.ceil(K / chunk);
