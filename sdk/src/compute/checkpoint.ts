/**
 * Checkpoints: the canonical encoding, its hash, and the checks applied to checkpoint bytes that
 * come from elsewhere (a trainer's storage, a remote node).
 *
 * Encoding (engine version 1), `8 + 2 · parameterCount` bytes:
 * - step: uint64, little-endian;
 * - every parameter in canonical order (layer 0 weights row-major `[outputs][inputs]`, layer 0
 *   biases, layer 1 weights, ...): int16, little-endian, in [-32767, 32767].
 * Checkpoint hash = keccak256(encoding), computed by `keccak256Bytes` (WebAssembly once loaded).
 */
import type { Hex } from "viem";
import { PARAMETER_LIMIT } from "./backend.js";
import { keccak256Bytes } from "./keccak.js";
import { modelLayout, validateSpec, type TrainingSpec } from "./spec.js";

/** The parameters of a run after `step` SGD steps. */
export interface Checkpoint {
  readonly step: number;
  /** Parameters in canonical order. */
  readonly weights: Int16Array;
}

/** Thrown for checkpoint bytes or values that do not fit the spec; names the field and value. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
}

function checkStep(spec: TrainingSpec, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0 || step > spec.steps || step % spec.checkpointInterval !== 0) {
    throw new CheckpointError(
      `step must be a multiple of checkpointInterval ${spec.checkpointInterval} in 0..${spec.steps}, got ${step}`,
    );
  }
}

/** Whether this platform stores typed arrays little-endian (every mainstream one does). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkParameters(weights: Int16Array, expected: number): void {
  if (!(weights instanceof Int16Array) || weights.length !== expected) {
    const got = weights instanceof Int16Array ? weights.length : String(weights);
    throw new CheckpointError(`weights must be an Int16Array of ${expected} parameters, got ${got}`);
  }
  const at = weights.indexOf(-PARAMETER_LIMIT - 1);
  if (at >= 0) throw new CheckpointError(`weights[${at}] must be in -32767..32767, got -32768`);
}

/** The canonical little-endian bytes of a checkpoint. */
export function encodeCheckpoint(spec: TrainingSpec, checkpoint: Checkpoint): Uint8Array {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  checkStep(s, checkpoint.step);
  checkParameters(checkpoint.weights, layout.parameterCount);
  const bytes = new Uint8Array(layout.checkpointBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, checkpoint.step >>> 0, true);
  view.setUint32(4, Math.floor(checkpoint.step / 2 ** 32), true);
  const w = checkpoint.weights;
  if (LITTLE_ENDIAN) bytes.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 8);
  else for (let i = 0; i < w.length; i++) view.setInt16(8 + 2 * i, w[i], true);
  return bytes;
}

/** keccak256 of the canonical encoding. */
export function checkpointHash(spec: TrainingSpec, checkpoint: Checkpoint): Hex {
  return keccak256Bytes(encodeCheckpoint(spec, checkpoint));
}

/**
 * Parses checkpoint bytes received from elsewhere: checks the size against the spec, the step,
 * the parameter range and, when given, the hash.
 * @throws CheckpointError naming what is wrong and the offending value.
 */
export function decodeCheckpoint(spec: TrainingSpec, bytes: Uint8Array, expectedHash?: Hex): Checkpoint {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  if (!(bytes instanceof Uint8Array) || bytes.length !== layout.checkpointBytes) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : String(bytes);
    throw new CheckpointError(`checkpoint must be ${layout.checkpointBytes} bytes for this spec, got ${got}`);
  }
  if (expectedHash !== undefined) {
    const hash = keccak256Bytes(bytes);
    if (hash.toLowerCase() !== expectedHash.toLowerCase()) {
      throw new CheckpointError(`checkpoint hash must be ${expectedHash}, got ${hash}`);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  if (high !== 0) {
    throw new CheckpointError(`step must be at most ${s.steps}, got ${(BigInt(high) << 32n) | BigInt(low)}`);
  }
  const step = low;
  checkStep(s, step);
  const weights = new Int16Array(layout.parameterCount);
  if (LITTLE_ENDIAN) new Uint8Array(weights.buffer).set(bytes.subarray(8));
  else for (let i = 0; i < weights.length; i++) weights[i] = view.getInt16(8 + 2 * i, true);
  checkParameters(weights, layout.parameterCount);
  return { step, weights };
}
