/**
 * The engine's entry points: train a run, replay one segment of it, evaluate parameters, or open a
 * run session that does the latter two many times on one backend session (an audit).
 * All of them take the backend as an option (default `"auto"`: CUDA where the NVIDIA driver loads
 * and a device exists, else wasm where WebAssembly SIMD runs, else js); every backend gives the
 * same bits. All of them load the WebAssembly Keccak-256 (`loadFastKeccak`) before they hash.
 */
import type { Hex } from "viem";
import { DataUnavailableError, type EngineBackend, type EngineData, type EngineSession } from "./backend.js";
import { checkpointHash, CheckpointError, encodeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { byteTreeRoot } from "./state/tree.js";
import { DatasetData } from "./dataset.js";
import { keccak256Bytes, loadFastKeccak } from "./keccak.js";
import { deriveKey, stepExamples, validateSeed, type EngineKey } from "./prng.js";
import { jsBackend } from "./reference.js";
import { macsPerStep, modelLayout, specId, validateSpec, type TrainingSpec } from "./spec.js";
import { cudaBackend, cudaProbeResult, probeCuda } from "./cuda/backend.js";
import { wasmBackend, wasmSupported } from "./wasm/backend.js";

export type BackendKind = "js" | "wasm" | "cuda" | "auto";

/**
 * A backend by name. `"cuda"` loads the driver on its first `open` (and fails there, with one line,
 * where CUDA is unavailable). `"auto"` picks CUDA once a probe ({@link selectBackend}, or any engine
 * entry point given `"auto"`) has found a device, else wasm where WebAssembly SIMD runs, else js;
 * this function itself never loads the driver, so before a probe `"auto"` is wasm or js.
 */
export function createBackend(kind: BackendKind = "auto"): EngineBackend {
  switch (kind) {
    case "js":
      return jsBackend;
    case "wasm":
      return wasmBackend;
    case "cuda":
      return cudaBackend;
    case "auto":
      if (cudaProbeResult()?.available) return cudaBackend;
      return wasmSupported() ? wasmBackend : jsBackend;
    default:
      throw new Error(`backend must be "js", "wasm", "cuda" or "auto", got ${String(kind)}`);
  }
}

/**
 * A backend by name, probing for CUDA first when `kind` is `"auto"` (once per process: loads the
 * driver and the kernels; a missing driver or device just means no CUDA).
 */
export async function selectBackend(kind: BackendKind = "auto"): Promise<EngineBackend> {
  if (kind === "auto") await probeCuda();
  return createBackend(kind);
}

export interface EngineOptions {
  /** A backend or its name; default `"auto"`. */
  readonly backend?: EngineBackend | BackendKind;
  /**
   * Engine version 2: the spec's dataset (required to train, replay or evaluate; a `DatasetData` is
   * checked against the spec's roots and counts, and every example a call reads must be loaded).
   * Version 1 takes none.
   */
  readonly data?: DatasetData;
}

/** The example arrays a backend gets for (spec, options.data), after checking them against the spec. */
function engineData(spec: TrainingSpec, data: DatasetData | undefined): EngineData | undefined {
  if (spec.version === 1) {
    if (data !== undefined) {
      throw new DataUnavailableError("a version 1 spec generates its data from the seed: pass no dataset");
    }
    return undefined;
  }
  if (data === undefined) return undefined;
  if (!(data instanceof DatasetData)) {
    throw new DataUnavailableError("data must be a DatasetData (see @poai/sdk/compute dataset.ts)");
  }
  const want = spec.dataset!;
  const have = data.ref;
  for (const field of ["trainRoot", "trainCount", "evalRoot", "evalCount", "features", "classes"] as const) {
    if (String(have[field]).toLowerCase() !== String(want[field]).toLowerCase()) {
      throw new DataUnavailableError(
        `the dataset's ${field} ${String(have[field])} is not the spec's ${String(want[field])}`,
      );
    }
  }
  return data;
}

/** Throws unless `data` is given for a version 2 spec (for `what`). */
function requireData(
  spec: TrainingSpec,
  data: DatasetData | undefined,
  what: string,
): DatasetData | undefined {
  if (spec.version === 2 && data === undefined) {
    throw new DataUnavailableError(
      `cannot ${what}: an engine version 2 spec needs its dataset (option data)`,
    );
  }
  return data;
}

/**
 * The distinct training examples (indices into the dataset's train part, ascending) that steps
 * `firstStep .. firstStep + count - 1` of a version 2 run of (spec, seed) read: what a validator
 * fetches and proves before it replays a segment.
 */
export function trainingExamples(spec: TrainingSpec, seed: Hex, firstStep: number, count: number): number[] {
  const s = validateSpec(spec);
  if (s.version !== 2)
    throw new DataUnavailableError(`only an engine version 2 spec reads a dataset, got version ${s.version}`);
  return examplesOf(s, deriveKey(s, validateSeed(seed)), firstStep, count);
}

function examplesOf(s: TrainingSpec, key: EngineKey, firstStep: number, count: number): number[] {
  const seen = new Set<number>();
  for (let step = firstStep; step < firstStep + count; step++) {
    for (const n of stepExamples(key, s.dataset!.trainCount, s.batchSize, step)) seen.add(n);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The training examples segment `index` of a version 2 run reads (see {@link trainingExamples}). */
export function segmentExamples(spec: TrainingSpec, seed: Hex, index: number): number[] {
  const s = validateSpec(spec);
  return trainingExamples(s, seed, index * s.checkpointInterval, s.checkpointInterval);
}

/** Throws unless the training examples of the steps are loaded in `data`. */
function checkTrainingCoverage(
  s: TrainingSpec,
  key: EngineKey,
  data: DatasetData | undefined,
  first: number,
  count: number,
): void {
  if (!data || data.train.complete) return;
  for (const n of examplesOf(s, key, first, count)) {
    if (!data.train.has(n)) {
      throw new DataUnavailableError(
        `training example ${n} (chunk ${data.train.chunkOf(n)}) of steps ${first}..${first + count - 1} is not loaded`,
      );
    }
  }
}

/** Throws unless the first `evalSize` evaluation examples are loaded in `data`. */
function checkEvalCoverage(s: TrainingSpec, data: DatasetData | undefined): void {
  if (!data || data.eval.complete) return;
  for (let c = 0; c <= data.eval.chunkOf(s.evalSize - 1); c++) {
    if (!data.eval.hasChunk(c)) throw new DataUnavailableError(`evaluation chunk ${c} is not loaded`);
  }
}

/** A checkpoint as `train` reports it. */
export interface CheckpointRecord {
  /** Checkpoint index: step / checkpointInterval. */
  readonly index: number;
  readonly checkpoint: Checkpoint;
  readonly hash: Hex;
  /** Root of the checkpoint's byte tree (the parameter root a dispute game bisects from). */
  readonly parameterRoot: Hex;
}

export interface TrainOptions extends EngineOptions {
  /** Called for every checkpoint, checkpoint 0 first; training waits for a returned promise. */
  readonly onCheckpoint?: (record: CheckpointRecord) => void | Promise<void>;
  /** Called after every chunk of steps. */
  readonly onProgress?: (progress: { readonly step: number; readonly steps: number }) => void;
  /** Stops the run between chunks of steps; `train` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** The result of a run: what a trainer commits to, plus the final parameters. */
export interface TrainingRun {
  readonly spec: TrainingSpec;
  readonly seed: Hex;
  readonly specId: Hex;
  /** Hash of every checkpoint, checkpoint 0 first (`steps / checkpointInterval + 1` entries). */
  readonly checkpointHashes: readonly Hex[];
  /** Root of every checkpoint's byte tree, checkpoint 0 first (committed next to its hash). */
  readonly parameterRoots: readonly Hex[];
  /** The last checkpoint (step = steps). */
  readonly final: Checkpoint;
  /** Kind of the backend that ran it. */
  readonly backend: string;
}

/** Accuracy of parameters on the spec's evaluation set. */
export interface EvalScore {
  readonly correct: number;
  readonly total: number;
  /** floor(10000 · correct / total). */
  readonly accuracyBps: number;
}

async function resolveBackend(options?: EngineOptions): Promise<EngineBackend> {
  const choice = options?.backend ?? "auto";
  return typeof choice === "string" ? selectBackend(choice) : choice;
}

/** Steps per backend call: about 2^24 multiply-accumulates, so that aborts and progress stay responsive. */
function chunkSteps(spec: TrainingSpec): number {
  return Math.max(1, Math.min(spec.checkpointInterval, Math.floor(2 ** 24 / macsPerStep(spec))));
}

/** Longest stretch of backend calls without a turn of the event loop. */
const YIELD_MS = 5;

/**
 * Lets the event loop run (I/O, timers, abort handlers) during long synchronous backends:
 * `setImmediate` where it exists (Node: right after pending I/O, no timer delay), else a timer.
 * An audit's checkpoint fetches are answered during these turns while segments replay.
 */
const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === "function"
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

async function withSession<T>(
  spec: TrainingSpec,
  seed: Hex,
  options: EngineOptions | undefined,
  body: (session: EngineSession, backend: EngineBackend, key: EngineKey) => Promise<T>,
): Promise<T> {
  const backend = await resolveBackend(options);
  const key = deriveKey(spec, validateSeed(seed));
  await loadFastKeccak();
  const session = await backend.open(spec, key, engineData(spec, options?.data));
  try {
    return await body(session, backend, key);
  } finally {
    session.close();
  }
}

/**
 * Trains `spec` from `seed`: every checkpoint's hash, reported through `onCheckpoint`, and the
 * final parameters. Memory: one model and one batch; checkpoints are not kept.
 */
export async function train(spec: TrainingSpec, seed: Hex, options: TrainOptions = {}): Promise<TrainingRun> {
  const s = validateSpec(spec);
  const { signal, onCheckpoint, onProgress } = options;
  signal?.throwIfAborted();
  const data = requireData(s, options.data, "train");
  return withSession(s, seed, options, async (session, backend, key) => {
    checkTrainingCoverage(s, key, data, 0, s.steps);
    const hashes: Hex[] = [];
    const parameterRoots: Hex[] = [];
    const chunk = chunkSteps(s);
    let lastYield = Date.now();
    const record = async (step: number): Promise<Checkpoint> => {
      const checkpoint = { step, weights: await session.getWeights() };
      const bytes = encodeCheckpoint(s, checkpoint);
      const hash = keccak256Bytes(bytes);
      const parameterRoot = byteTreeRoot(bytes);
      hashes.push(hash);
      parameterRoots.push(parameterRoot);
      await onCheckpoint?.({ index: step / s.checkpointInterval, checkpoint, hash, parameterRoot });
      return checkpoint;
    };
    let last = await record(0);
    for (let step = 0; step < s.steps;) {
      const count = Math.min(chunk, s.checkpointInterval - (step % s.checkpointInterval));
      await session.trainSteps(step, count);
      step += count;
      onProgress?.({ step, steps: s.steps });
      if (step % s.checkpointInterval === 0) last = await record(step);
      if (Date.now() - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
      signal?.throwIfAborted();
    }
    return {
      spec: s,
      seed,
      specId: specId(s),
      checkpointHashes: hashes,
      parameterRoots,
      final: last,
      backend: backend.kind,
    };
  });
}

/** Checks a segment index and its start parameters; returns the segment's first step and parameters. */
function segmentStart(
  s: TrainingSpec,
  index: number,
  weightsAtIndex: Checkpoint | Int16Array,
): { first: number; weights: Int16Array } {
  const segments = modelLayout(s).checkpointCount - 1;
  if (!Number.isSafeInteger(index) || index < 0 || index >= segments) {
    throw new CheckpointError(`segment index must be in 0..${segments - 1}, got ${index}`);
  }
  const first = index * s.checkpointInterval;
  const weights = weightsAtIndex instanceof Int16Array ? weightsAtIndex : weightsAtIndex.weights;
  if (!(weightsAtIndex instanceof Int16Array) && weightsAtIndex.step !== first) {
    throw new CheckpointError(
      `checkpoint ${index} must be at step ${first}, got step ${weightsAtIndex.step}`,
    );
  }
  return { first, weights };
}

/** Runs the steps of the segment starting at `first` from `weights` on `session`. */
async function replayOn(
  session: EngineSession,
  s: TrainingSpec,
  first: number,
  weights: Int16Array,
  signal: AbortSignal | undefined,
): Promise<Checkpoint> {
  await session.setWeights(weights);
  const chunk = chunkSteps(s);
  let lastYield = Date.now();
  for (let step = first; step < first + s.checkpointInterval;) {
    const count = Math.min(chunk, first + s.checkpointInterval - step);
    await session.trainSteps(step, count);
    step += count;
    if (Date.now() - lastYield >= YIELD_MS) {
      await yieldToEventLoop();
      lastYield = Date.now();
    }
    signal?.throwIfAborted();
  }
  return { step: first + s.checkpointInterval, weights: await session.getWeights() };
}

async function evaluateOn(
  session: EngineSession,
  s: TrainingSpec,
  weights: Checkpoint | Int16Array,
): Promise<EvalScore> {
  await session.setWeights(weights instanceof Int16Array ? weights : weights.weights);
  const correct = await session.evaluate();
  return { correct, total: s.evalSize, accuracyBps: Math.floor((correct * 10_000) / s.evalSize) };
}

/** The outcome of replaying one segment against the committed hash of its end checkpoint. */
export interface SegmentVerification {
  /** Whether the replayed checkpoint has the expected hash. */
  readonly ok: boolean;
  /** Hash of the replayed checkpoint. */
  readonly hash: Hex;
  /** The replayed checkpoint. */
  readonly checkpoint: Checkpoint;
}

/**
 * Re-executes segment `index` of the run: from checkpoint `index` (its parameters, as a checkpoint
 * or the bare parameter vector) to checkpoint `index + 1`, which it returns. This is what a
 * validator runs for every sampled segment.
 */
export async function replaySegment(
  spec: TrainingSpec,
  seed: Hex,
  index: number,
  weightsAtIndex: Checkpoint | Int16Array,
  options: EngineOptions & { readonly signal?: AbortSignal } = {},
): Promise<Checkpoint> {
  const s = validateSpec(spec);
  const { first, weights } = segmentStart(s, index, weightsAtIndex);
  options.signal?.throwIfAborted();
  const data = requireData(s, options.data, `replay segment ${index}`);
  return withSession(s, seed, options, (session, _backend, key) => {
    checkTrainingCoverage(s, key, data, first, s.checkpointInterval);
    return replayOn(session, s, first, weights, options.signal);
  });
}

/**
 * Replays segment `index` from checkpoint `index` and compares the result with the committed hash
 * of checkpoint `index + 1`.
 */
export async function verifySegment(
  spec: TrainingSpec,
  seed: Hex,
  index: number,
  weightsAtIndex: Checkpoint | Int16Array,
  expectedNextHash: Hex,
  options: EngineOptions & { readonly signal?: AbortSignal } = {},
): Promise<SegmentVerification> {
  const checkpoint = await replaySegment(spec, seed, index, weightsAtIndex, options);
  const hash = checkpointHash(spec, checkpoint);
  return { ok: hash.toLowerCase() === expectedNextHash.toLowerCase(), hash, checkpoint };
}

/** Accuracy of `weights` on the evaluation examples of (spec, seed). */
export async function evaluate(
  spec: TrainingSpec,
  seed: Hex,
  weights: Checkpoint | Int16Array,
  options: EngineOptions = {},
): Promise<EvalScore> {
  const s = validateSpec(spec);
  const data = requireData(s, options.data, "evaluate");
  checkEvalCoverage(s, data);
  return withSession(s, seed, options, (session) => evaluateOn(session, s, weights));
}

/**
 * One backend session of a run (spec, seed), reused by every call: what a validator needs to audit
 * a run (its initial parameters, several segment replays, an evaluation) without opening a session
 * per segment. Each call gives the same bits as the function of the same name; calls run one at a
 * time (a call made while another is running rejects). `close()` releases the session.
 */
export interface RunSession {
  readonly spec: TrainingSpec;
  readonly seed: Hex;
  /** Kind of the backend that runs it. */
  readonly backend: string;
  /** Checkpoint 0: the seed-derived initial parameters (what an honest run starts from). */
  readonly initial: Checkpoint;
  /** `replaySegment(spec, seed, index, weightsAtIndex)` on this session. */
  replaySegment(
    index: number,
    weightsAtIndex: Checkpoint | Int16Array,
    options?: { readonly signal?: AbortSignal },
  ): Promise<Checkpoint>;
  /** `verifySegment(spec, seed, index, weightsAtIndex, expectedNextHash)` on this session. */
  verifySegment(
    index: number,
    weightsAtIndex: Checkpoint | Int16Array,
    expectedNextHash: Hex,
    options?: { readonly signal?: AbortSignal },
  ): Promise<SegmentVerification>;
  /** `evaluate(spec, seed, weights)` on this session. */
  evaluate(weights: Checkpoint | Int16Array): Promise<EvalScore>;
  /** Releases the backend session; later calls reject. Idempotent. */
  close(): void;
}

/** Opens a run session of (spec, seed) on the chosen backend (see `RunSession`). */
export async function openRunSession(
  spec: TrainingSpec,
  seed: Hex,
  options: EngineOptions = {},
): Promise<RunSession> {
  const s = validateSpec(spec);
  const validSeed = validateSeed(seed);
  const backend = await resolveBackend(options);
  const key = deriveKey(s, validSeed);
  const data = options.data;
  await loadFastKeccak();
  const session = await backend.open(s, key, engineData(s, data));
  let initial: Checkpoint;
  try {
    initial = { step: 0, weights: await session.getWeights() };
  } catch (err) {
    session.close();
    throw err;
  }
  let busy = false;
  let closed = false;
  const exclusive = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    if (closed) throw new Error(`run session is closed: cannot ${what}`);
    if (busy) throw new Error(`run session is busy: cannot ${what} while another call runs`);
    busy = true;
    try {
      return await body();
    } finally {
      busy = false;
    }
  };
  const replay = (
    index: number,
    weightsAtIndex: Checkpoint | Int16Array,
    signal: AbortSignal | undefined,
  ): Promise<Checkpoint> => {
    const { first, weights } = segmentStart(s, index, weightsAtIndex);
    signal?.throwIfAborted();
    return exclusive(`replay segment ${index}`, async () => {
      requireData(s, data, `replay segment ${index}`);
      checkTrainingCoverage(s, key, data, first, s.checkpointInterval);
      return replayOn(session, s, first, weights, signal);
    });
  };
  return {
    spec: s,
    seed: validSeed,
    backend: backend.kind,
    initial,
    replaySegment: async (index, weightsAtIndex, opts = {}) => replay(index, weightsAtIndex, opts.signal),
    verifySegment: async (index, weightsAtIndex, expectedNextHash, opts = {}) => {
      const checkpoint = await replay(index, weightsAtIndex, opts.signal);
      const hash = checkpointHash(s, checkpoint);
      return { ok: hash.toLowerCase() === expectedNextHash.toLowerCase(), hash, checkpoint };
    },
    evaluate: async (weights) =>
      exclusive("evaluate", async () => {
        checkEvalCoverage(s, requireData(s, data, "evaluate"));
        return evaluateOn(session, s, weights);
      }),
    close: () => {
      if (closed) return;
      closed = true;
      session.close();
    },
  };
}
