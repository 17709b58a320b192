/**
 * The backend interface: what an engine implementation (plain TypeScript, WebAssembly SIMD, CUDA)
 * provides. A backend runs SGD steps and evaluations of one (spec, key) on parameters it holds;
 * everything else (checkpoints, hashes, Merkle commitments) is shared code.
 *
 * Contract, for every backend: from the same (spec, key, parameters, step range) the parameters
 * after `trainSteps` and the count returned by `evaluate` are bit-identical to the `js` backend's.
 */
import type { EngineKey } from "./prng.js";
import type { ModelLayout, TrainingSpec } from "./spec.js";

/** A run context: the parameters of one model plus O(batch · width) scratch memory. */
export interface EngineSession {
  /** The spec's layout (parameter order, shifts). */
  readonly layout: ModelLayout;
  /** A copy of the parameters, canonical order (see docs/engine.md, "Parameters"). */
  getWeights(): Promise<Int16Array>;
  /** Replaces the parameters; `weights.length` must be `layout.parameterCount`. */
  setWeights(weights: Int16Array): Promise<void>;
  /** Runs SGD steps `firstStep .. firstStep + count - 1` on the held parameters. */
  trainSteps(firstStep: number, count: number): Promise<void>;
  /** Number of evaluation examples the held parameters classify correctly. */
  evaluate(): Promise<number>;
  /** Releases the session's memory; the session is unusable afterwards. */
  close(): void;
}

/** An engine implementation. */
export interface EngineBackend {
  /** `"js"`, `"wasm"`, later `"cuda"`. */
  readonly kind: string;
  /** Opens a session holding the seed-derived initial weights (checkpoint 0) of the run. */
  open(spec: TrainingSpec, key: EngineKey): Promise<EngineSession>;
}

/** Thrown when a session receives parameters of the wrong size or out of range. */
export class WeightsError extends Error {
  override readonly name = "WeightsError";
}

/** Largest magnitude of a stored parameter: parameters saturate to [-32767, 32767]. */
export const PARAMETER_LIMIT = 32_767;

/** Checks parameters handed to a session; returns a copy. */
export function checkWeights(layout: ModelLayout, weights: Int16Array): Int16Array {
  if (!(weights instanceof Int16Array) || weights.length !== layout.parameterCount) {
    const got = weights instanceof Int16Array ? weights.length : String(weights);
    throw new WeightsError(
      `weights must be an Int16Array of ${layout.parameterCount} parameters, got ${got}`,
    );
  }
  const index = weights.indexOf(-32_768);
  if (index >= 0) throw new WeightsError(`weights[${index}] must be in -32767..32767, got -32768`);
  return weights.slice();
}
