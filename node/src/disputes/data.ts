/**
 * What a party needs to replay an engine version 2 run in a dispute: the dataset examples the
 * disputed steps read, proven against the spec's training root, and the replay built on them. The
 * validator daemon takes them from its audit; the command line (`poai dispute open | play`) gets
 * them here, from a local dataset directory or from the dataset's sources: the ones the
 * TaskRegistry lists for the spec and the trainer's own server (which serves what it trained on).
 * Whatever a source sends is checked against the spec's roots chunk by chunk before use, so asking
 * the disputed trainer costs nothing in trust. Only the chunks the steps read are fetched: an
 * example's proof needs its chunk and the manifest's chunk roots alone.
 */
import type { Hex } from "viem";
import {
  RunStates,
  deriveKey,
  trainingExamples,
  validateSeed,
  type DatasetData,
  type DatasetRef,
  type EngineData,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { DatasetFetcher, datasetId, type SourceFailure } from "../data/fetch.js";
import { readDataset } from "../data/store.js";

/** Where the trainer at `endpoint` serves the dataset `ref` (the trainer daemon's `/v1/datasets/<id>`). */
export function trainerDatasetUrl(endpoint: string, ref: DatasetRef): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/datasets/${datasetId(ref)}`;
}

export interface DisputeDatasetOptions {
  /** An engine version 2 spec. */
  spec: TrainingSpec;
  /** The run's seed: it picks the examples each step reads. */
  seed: Hex;
  /** The disputed steps: `steps` steps from `firstStep`. */
  firstStep: number;
  steps: number;
  /** A local dataset directory (`manifest.json` and `chunks/`, as `poai dataset build` writes it). */
  dir?: string;
  /** Otherwise: the dataset's source URLs, asked in order. */
  sources?: readonly string[];
  /** A disk cache of fetched chunks (content-addressed); none: memory only. */
  cacheDir?: string;
  timeoutMs?: number;
  onFailure?: (failure: SourceFailure) => void;
  signal?: AbortSignal;
}

/**
 * The spec's dataset with every example the disputed steps read loaded and proven: the whole local
 * directory (each chunk checked as it is read, the manifest against the spec), or the chunks those
 * steps read, fetched from the sources.
 * @throws Error naming the directory or the sources when the dataset is not the spec's or cannot be had.
 */
export async function disputeDataset(o: DisputeDatasetOptions): Promise<DatasetData> {
  return loadExamples(o, "train", () => trainingExamples(o.spec, o.seed, o.firstStep, o.steps));
}

/** Where the held-out examples of a score game come from (docs/disputes.md, "Score games"). */
export type HeldOutDatasetOptions = Omit<DisputeDatasetOptions, "seed" | "firstStep" | "steps">;

/**
 * The spec's dataset with its evaluation examples `0 … evalSize − 1` loaded and proven: what a
 * party of a score game evaluates the final checkpoint on and proves an example with.
 * @throws Error naming the directory or the sources when the dataset is not the spec's or cannot be had.
 */
export async function heldOutDataset(o: HeldOutDatasetOptions): Promise<DatasetData> {
  return loadExamples(o, "eval", () => Array.from({ length: o.spec.evalSize }, (_, e) => e));
}

/** The whole local directory, or the chunks holding `examples()` of `part` fetched from the sources. */
async function loadExamples(
  o: HeldOutDatasetOptions,
  part: "train" | "eval",
  examples: () => Iterable<number>,
): Promise<DatasetData> {
  const ref = o.spec.dataset;
  if (o.spec.version !== 2 || !ref)
    throw new RangeError(`only an engine version 2 spec reads a dataset, got version ${o.spec.version}`);
  if (o.dir !== undefined) return readDataset(o.dir, ref);
  const sources = o.sources ?? [];
  if (sources.length === 0)
    throw new RangeError("no source of the spec's dataset: give a local dataset directory");
  const fetcher = new DatasetFetcher({
    ref,
    sources,
    ...(o.cacheDir !== undefined && { cacheDir: o.cacheDir }),
    ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
    ...(o.onFailure && { onFailure: o.onFailure }),
  });
  return fetcher.ensureExamples(part, examples(), o.signal);
}

/**
 * The replay of a run from the parameters `start` at step `firstStep`: the engine's states, and for
 * engine version 2 the proofs of the examples its rows read (`data`, which must hold them).
 */
export function disputeReplay(
  spec: TrainingSpec,
  seed: Hex,
  start: Int16Array,
  firstStep: number,
  data?: EngineData,
): RunStates {
  return new RunStates(spec, deriveKey(spec, validateSeed(seed)), start, firstStep, data);
}
