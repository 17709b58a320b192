/**
 * Forward-only inference of an engine version 1 model, and the byte formats an output travels in
 * on chain. `infer` is the same forward pass as training (`reference.ts`): an output is a pure
 * function of (widths, parameters, input), so anyone can recompute a delivered output exactly, and
 * `IntegerMLP.forward` (contracts/libraries/IntegerMLP.sol) recomputes it on chain bit for bit.
 *
 * On-chain formats (see docs/inference-verification.md):
 * - **input**: the int8 input vector as raw bytes, `widths[0]` bytes, byte i = x[i] as two's
 *   complement (`encodeInferenceInput`);
 * - **output**: `4 + classes` bytes: the predicted label as a big-endian uint32, then the output
 *   vector y (one int8 per class, two's complement) (`encodeInferenceOutput`). The label is
 *   `argmax_c y[c]`, ties to the lowest class.
 */
import { bytesToHex, hexToBytes, isHex, type Hex } from "viem";
import type { Checkpoint } from "./checkpoint.js";
import { argmax, effectiveLayer, forward } from "./reference.js";
import { modelLayout, validateSpec, type ModelLayout, type TrainingSpec } from "./spec.js";

/** Thrown for an input, output or parameter vector that does not fit the model; names the value. */
export class InferenceError extends Error {
  override readonly name = "InferenceError";
}

/** What a model computes for one input. */
export interface InferenceResult {
  /** The output layer: one value in [-127, 127] per class. */
  readonly output: Int8Array;
  /** `argmax_c output[c]`, ties to the lowest class. */
  readonly label: number;
}

/** Bytes of the label prefix of an encoded output. */
export const OUTPUT_LABEL_BYTES = 4;

/**
 * The layout of a model given by its widths alone (inference needs no training parameters).
 * @throws TrainingSpecError naming the offending width.
 */
export function inferenceLayout(model: TrainingSpec | readonly number[]): ModelLayout {
  const spec: TrainingSpec = Array.isArray(model)
    ? { version: 1, widths: model, batchSize: 1, steps: 1, checkpointInterval: 1, lrShift: 0, evalSize: 1 }
    : validateSpec(model as TrainingSpec);
  return modelLayout(spec);
}

/**
 * Runs the model on one input: `model` is a spec or its widths, `weights` a checkpoint or its
 * parameters (canonical order), `input` the int8 input vector.
 * @throws InferenceError when the parameter count or the input length does not fit the widths.
 */
export function infer(
  model: TrainingSpec | readonly number[],
  weights: Checkpoint | Int16Array,
  input: Int8Array,
): InferenceResult {
  const layout = inferenceLayout(model);
  const params = weights instanceof Int16Array ? weights : weights?.weights;
  if (!(params instanceof Int16Array) || params.length !== layout.parameterCount) {
    const got = params instanceof Int16Array ? params.length : String(params);
    throw new InferenceError(`weights must hold ${layout.parameterCount} parameters, got ${got}`);
  }
  if (!(input instanceof Int8Array) || input.length !== layout.inputs) {
    const got = input instanceof Int8Array ? input.length : String(input);
    throw new InferenceError(`input must be an Int8Array of ${layout.inputs} values, got ${got}`);
  }
  const eff = layout.layers.map((layer) => effectiveLayer(layer, params));
  const acts = forward(layout, eff, Int32Array.from(input), 1);
  const y = acts[layout.layers.length];
  return { output: Int8Array.from(y), label: argmax(y, 0, layout.classes) };
}

function bytesOf(field: string, value: Hex | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string" && isHex(value, { strict: true })) return hexToBytes(value);
  throw new InferenceError(`${field} must be hex or bytes, got ${String(value)}`);
}

/** The on-chain input bytes: x[i] as one two's-complement byte each. */
export function encodeInferenceInput(input: Int8Array): Hex {
  if (!(input instanceof Int8Array))
    throw new InferenceError(`input must be an Int8Array, got ${String(input)}`);
  return bytesToHex(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
}

/**
 * Parses on-chain input bytes; with `inputs`, checks the length.
 * @throws InferenceError naming the length.
 */
export function decodeInferenceInput(bytes: Hex | Uint8Array, inputs?: number): Int8Array {
  const b = bytesOf("input", bytes);
  if (inputs !== undefined && b.length !== inputs) {
    throw new InferenceError(`input must be ${inputs} bytes, got ${b.length}`);
  }
  return Int8Array.from(b, (v) => (v << 24) >> 24);
}

/** The on-chain output bytes: uint32 label (big-endian), then y as int8 bytes. */
export function encodeInferenceOutput(result: InferenceResult): Hex {
  const { output, label } = result;
  if (!(output instanceof Int8Array) || output.length < 2) {
    throw new InferenceError(
      `output must be an Int8Array of at least 2 classes, got ${String(output?.length)}`,
    );
  }
  if (!Number.isSafeInteger(label) || label < 0 || label >= output.length) {
    throw new InferenceError(`label must be an integer in 0..${output.length - 1}, got ${label}`);
  }
  const bytes = new Uint8Array(OUTPUT_LABEL_BYTES + output.length);
  new DataView(bytes.buffer).setUint32(0, label, false);
  bytes.set(new Uint8Array(output.buffer, output.byteOffset, output.byteLength), OUTPUT_LABEL_BYTES);
  return bytesToHex(bytes);
}

/**
 * Parses on-chain output bytes; with `classes`, checks the length. Checks that the label is in
 * range (it does not check that it is the argmax: `infer` decides what is correct).
 * @throws InferenceError naming the length or the label.
 */
export function decodeInferenceOutput(bytes: Hex | Uint8Array, classes?: number): InferenceResult {
  const b = bytesOf("output", bytes);
  const n = b.length - OUTPUT_LABEL_BYTES;
  if (n < 2 || (classes !== undefined && n !== classes)) {
    const want = classes === undefined ? "at least 6" : String(OUTPUT_LABEL_BYTES + classes);
    throw new InferenceError(
      `output must be ${want} bytes (a 4-byte label, then one byte per class), got ${b.length}`,
    );
  }
  const label = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, false);
  if (label >= n) throw new InferenceError(`output label must be in 0..${n - 1}, got ${label}`);
  const output = Int8Array.from(b.subarray(OUTPUT_LABEL_BYTES), (v) => (v << 24) >> 24);
  return { output, label };
}
