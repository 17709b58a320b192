/**
 * The backend interface: what an engine implementation (plain TypeScript, WebAssembly SIMD, CUDA)
 * provides. A backend runs SGD steps and evaluations of one (spec, key) on parameters it holds;
 * everything else (checkpoints, hashes, Merkle commitments) is shared code.
 *
 * Contract, for every backend: from the same (spec, key, parameters, step range) the parameters
 * after `trainSteps` and the count returned by `evaluate` are bit-identical to the `js` backend's.
 */
import type { ExampleRows } from "./dataset.js";
import type { EngineKey } from "./prng.js";
import type { ModelLayout, TrainingSpec } from "./spec.js";

/**
 * The examples of a version 2 run: the dataset's train and eval parts in memory. Rows a run never
 * reads may be left zero (an audit loads only the chunks its segments use); the engine's entry
 * points check that every row a call reads is loaded before they call a backend.
 */
export interface EngineData {
  readonly train: ExampleRows;
  readonly eval: ExampleRows;
}

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
  /**
   * Opens a session holding the seed-derived initial weights (checkpoint 0) of the run. A version 2
   * spec trains and evaluates on `data`; without it, its session only gets and sets weights.
   */
  open(spec: TrainingSpec, key: EngineKey, data?: EngineData): Promise<EngineSession>;
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

/** Thrown when a version 2 session is asked to train or evaluate without the dataset. */
export class DataUnavailableError extends Error {
  override readonly name = "DataUnavailableError";
}

/**
 * Checks the example arrays handed to a backend for a version 2 spec (counts and widths equal the
 * spec's dataset); undefined for a version 1 spec or when no data was given.
 */
export function checkEngineData(spec: TrainingSpec, data: EngineData | undefined): EngineData | undefined {
  if (spec.version === 1) {
    if (data !== undefined)
      throw new DataUnavailableError("a version 1 spec generates its data from the seed: pass no dataset");
    return undefined;
  }
  if (data === undefined) return undefined;
  const ref = spec.dataset!;
  for (const [part, rows, count] of [
    ["train", data.train, ref.trainCount],
    ["eval", data.eval, ref.evalCount],
  ] as const) {
    if (rows.count !== count || rows.features !== ref.features) {
      throw new DataUnavailableError(
        `${part} examples must be ${count} of ${ref.features} features (the spec's dataset), got ${rows.count} of ${rows.features}`,
      );
    }
    if (rows.inputs.length !== count * ref.features || rows.labels.length !== count) {
      throw new DataUnavailableError(
        `${part} arrays must hold ${count} examples of ${ref.features} features`,
      );
    }
  }
  return data;
}

/** The error a version 2 session without data throws from `trainSteps` and `evaluate`. */
export function noData(what: string): DataUnavailableError {
  return new DataUnavailableError(
    `cannot ${what}: this engine version 2 session was opened without the dataset`,
  );
}
