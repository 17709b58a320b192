/**
 * The audit of one challenge: what a committee member does between learning its samples and
 * committing its verdict. Used by the validator daemon and by benchmarks.
 *
 * 1. Fetch, from the trainer's checkpoint server, checkpoint 0, checkpoint `s` of every sampled
 *    segment `s` and the final checkpoint, each proven under the committed root
 *    (`fetchCheckpoint`: bounded time and size, Merkle proof of the bytes), and the committed hash
 *    of every segment's end `s + 1` (`fetchCheckpointHash`: a HEAD request, the hash proven under
 *    the root; the bytes are not needed, the replay's hash is compared with it), with bounded retries.
 *    Checkpoints are fetched in the order they are checked, a few ahead of the check
 *    (`FETCH_WINDOW`: bounded concurrency and memory), each once.
 * 2. Check what the proven checkpoints say: checkpoint `i` is at step `i · checkpointInterval`,
 *    checkpoint 0 holds the seed-derived initial parameters, and every sampled segment replays
 *    exactly (re-execute `s → s + 1` and compare with the committed hash).
 * 3. Evaluate the final checkpoint on the seed's evaluation set (engine version 2: the dataset's
 *    committed held-out examples).
 *
 * Engine version 2 (data correctness): before the engine session opens, the training examples
 * every sampled segment reads (`segmentExamples`) and the first `evalSize` held-out examples are
 * fetched from the dataset's sources and proven against the spec's roots (`args.dataset`, a
 * `DatasetFetcher`: every chunk rebuilds its committed root). A trainer that trained on other data
 * reaches another checkpoint hash: its segment does not replay, `Invalid`. The dataset not being
 * available is not the trainer's doing: the audit throws (`DatasetFetchError`) and is retried.
 *
 * One engine session (`openRunSession`) serves the whole audit: the initial parameters, every
 * replay and the evaluation.
 *
 * Verdicts:
 * - `Invalid(segment)`: a proven checkpoint pair does not replay, a proven checkpoint is at the
 *   wrong step or (checkpoint 0) does not hold the initial parameters, or proven bytes do not decode
 *   (`malformed`). Only bytes proven under the trainer's own root count: fraud evidence, which wins
 *   over unavailability (one forged segment is enough, whatever else was withheld).
 * - `Unavailable`: a needed checkpoint could not be had after the retries (unreachable, timeout,
 *   HTTP error, oversized, bytes that are not the committed ones).
 * - `Valid`: everything fetched and replayed; `measuredScoreBps` is the final checkpoint's accuracy.
 *
 * Everything the trainer sends is hostile: no answer it gives makes this function throw, and bytes
 * that are not proven under the root never make a run `Invalid`. The function throws only for its
 * own arguments (a caller's error), when `signal` aborts (its reason), and for an engine failure on
 * checked inputs (not the trainer's doing).
 */
import type { Hex } from "viem";
import {
  checkpointHash,
  modelLayout,
  openRunSession,
  segmentExamples,
  selectBackend,
  validateSeed,
  validateSpec,
  type BackendKind,
  type EngineBackend,
  type RunSession,
  type TrainingSpec,
} from "@poai/sdk/compute";
import {
  CheckpointFetchError,
  fetchCheckpoint,
  fetchCheckpointHash,
  type FetchFailureKind,
  type ProvenCheckpoint,
  type ProvenHash,
} from "../daemon/protocol.js";
import { sleep } from "../daemon/retry.js";
import type { DatasetFetcher } from "../data/fetch.js";

/** A verdict a committee member can reveal. */
export type AuditVerdict = "Valid" | "Invalid" | "Unavailable";

/** What a committee member commits to: the verdict, the failing segment and the measured accuracy. */
export interface Decision {
  verdict: AuditVerdict;
  /** The failing segment of an `Invalid` verdict; 0 otherwise. */
  segment: number;
  /** Accuracy of the final checkpoint in basis points (`Valid`); 0 otherwise. */
  measuredScoreBps: number;
}

/** The outcome of `auditChallenge`: the decision, why, and what it cost. */
export interface AuditResult extends Decision {
  /** One sentence: the evidence behind the verdict. */
  reason: string;
  /** Checkpoints received whole and proven under the root (malformed ones included). */
  checkpointsFetched: number;
  /** Checkpoint hashes received without their bytes (sampled segments' ends) and proven under the root. */
  hashesFetched: number;
  /** Bytes of those checkpoints. */
  bytesFetched: number;
  /** Engine version 2: bytes of dataset chunks downloaded for this audit (0 when all were cached). */
  datasetBytesFetched: number;
  /** Engine version 2: dataset chunks this audit needed (downloaded or from the cache, each proven). */
  datasetChunks: number;
  /** Segments re-executed. */
  segmentsReplayed: number;
  /** Wall-clock milliseconds the audit took. */
  ms: number;
  /** Where those milliseconds went (phases that do not overlap; the rest is bookkeeping). */
  timings: AuditTimings;
  /**
   * A `Valid` segment-replay audit: the final checkpoint it evaluated, proven under the root (what
   * a score game on the run's reported accuracy is played from). Operation-sampling audits never
   * hold it (they check the score from the trainer's evaluation root).
   */
  final?: ProvenCheckpoint;
  /**
   * A `Valid` operation-sampling audit: the trainer's committed predictions (proven under the final
   * leaf's evaluation root), its examples root and that leaf: what a score game on a count that is
   * not theirs is played from.
   */
  committed?: {
    predictions: Int32Array;
    examplesRoot: Hex;
    final: { weightsHash: Hex; parameterRoot: Hex; evalRoot: Hex; proof: Hex[] };
  };
  /** Operation-sampling audits (`auditBySampling`): the samples checked, and the bytes of their answers. */
  samplesChecked?: number;
  answerBytes?: number;
}

/** The parts of an audit's wall-clock time, in milliseconds. */
export interface AuditTimings {
  /** Waiting for checkpoints to arrive, be proven and decode (fetches ahead of need overlap the rest). */
  fetchWaitMs: number;
  /** Opening the engine session and comparing checkpoint 0 with the initial parameters. */
  initialMs: number;
  /** Re-executing the sampled segments and hashing their results. */
  replayMs: number;
  /** Evaluating the final checkpoint. */
  evaluateMs: number;
  /** Engine version 2: fetching and proving the dataset chunks the audit reads. */
  datasetMs: number;
}

/** One failed fetch attempt, as reported to `onFetchFailure`. */
export interface FetchFailure {
  index: number;
  attempt: number;
  kind: FetchFailureKind;
  error: CheckpointFetchError;
}

export interface AuditArgs {
  spec: TrainingSpec;
  /** The challenge's training seed. */
  seed: Hex;
  /** The challenge id (the checkpoint server's key). */
  id: Hex;
  /** The committed result root every checkpoint must be proven under. */
  root: Hex;
  /** The trainer's registered checkpoint endpoint (`metadataOf(trainer).endpoint`). */
  endpoint: string;
  /** Segments to re-execute (`sampleSegments(auditSeed, validator, k, segments)`); duplicates are ignored. */
  samples: readonly number[];
  /** Engine backend or its name; default `"auto"`. */
  backend?: BackendKind | EngineBackend;
  /** Engine version 2 (required there): the fetcher of the spec's dataset (its `ref` must be `spec.dataset`). */
  dataset?: DatasetFetcher;
  /** Budget of one request, headers and body; default 10 s. */
  timeoutMs?: number;
  /** Attempts per checkpoint, the first included; default 3. */
  attempts?: number;
  signal?: AbortSignal;
  /** Called for every failed fetch attempt (metrics, logs). */
  onFetchFailure?: (failure: FetchFailure) => void;
}

/** Default budget of one checkpoint request. */
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** Default attempts per checkpoint. */
export const DEFAULT_FETCH_ATTEMPTS = 3;
/**
 * Checkpoints fetched (in flight or waiting to be checked) at most at once, the ones being checked
 * included: the pair of the segment being replayed and up to two pairs ahead.
 */
export const FETCH_WINDOW = 6;
/** Pause before the second attempt at a checkpoint, doubled for each further one. */
const RETRY_DELAY_MS = 200;
const MAX_RETRY_DELAY_MS = 2_000;

/** A fetch that finished: a proven checkpoint, proven bytes that do not decode, or nothing usable. */
type Fetched =
  | { kind: "proven"; checkpoint: ProvenCheckpoint }
  | { kind: "hash"; proven: ProvenHash }
  | { kind: "malformed"; error: CheckpointFetchError }
  | { kind: "missing"; error: CheckpointFetchError; attempts: number };

/** Fraud evidence: the segment it incriminates and why. */
interface Fraud {
  segment: number;
  reason: string;
}

function argumentError(field: string, value: unknown, expected: string): RangeError {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  return new RangeError(`auditChallenge: ${field} must be ${expected}, got ${shown}`);
}

function checkWhole(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw argumentError(field, value, `an integer in ${min}..${max}`);
  }
  return value;
}

function sameWeights(a: Int16Array, b: Int16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Audits one challenge (see the module comment): fetches and proves the checkpoints the samples
 * need, replays the sampled segments, evaluates the final checkpoint, and returns the verdict with
 * its evidence and cost.
 */
export async function auditChallenge(args: AuditArgs): Promise<AuditResult> {
  const started = performance.now();
  const spec = validateSpec(args.spec);
  const seed = validateSeed(args.seed);
  const layout = modelLayout(spec);
  const segments = layout.checkpointCount - 1;
  if (!Array.isArray(args.samples)) throw argumentError("samples", args.samples, "an array of segments");
  const samples = [
    ...new Set(args.samples.map((s, i) => checkWhole(`samples[${i}]`, s, 0, segments - 1))),
  ].sort((a, b) => a - b);
  const timeoutMs = checkWhole("timeoutMs", args.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, 1, 3_600_000);
  const attempts = checkWhole("attempts", args.attempts ?? DEFAULT_FETCH_ATTEMPTS, 1, 100);
  const backend =
    typeof args.backend === "object" ? args.backend : await selectBackend(args.backend ?? "auto");
  args.signal?.throwIfAborted();

  // Fetches still running when the audit ends (fraud found early) are cancelled.
  const inner = new AbortController();
  const onAbort = () => inner.abort(args.signal?.reason);
  args.signal?.addEventListener("abort", onAbort, { once: true });
  const signal = inner.signal;

  if (spec.version === 2) {
    if (!args.dataset)
      throw argumentError(
        "dataset",
        args.dataset,
        "a DatasetFetcher for the spec's dataset (engine version 2)",
      );
    const ref = spec.dataset!;
    const have = args.dataset.ref;
    if (have.trainRoot.toLowerCase() !== ref.trainRoot || have.evalRoot.toLowerCase() !== ref.evalRoot) {
      throw argumentError(
        "dataset",
        have.trainRoot,
        `the fetcher of the spec's dataset (train root ${ref.trainRoot})`,
      );
    }
  }
  const stats = {
    checkpointsFetched: 0,
    hashesFetched: 0,
    bytesFetched: 0,
    segmentsReplayed: 0,
    datasetBytesFetched: 0,
    datasetChunks: 0,
  };
  const timings: AuditTimings = { fetchWaitMs: 0, initialMs: 0, replayMs: 0, evaluateMs: 0, datasetMs: 0 };
  const result = (decision: Decision, reason: string): AuditResult => ({
    ...decision,
    reason,
    ...stats,
    ms: Math.round(performance.now() - started),
    timings: roundedTimings(timings),
  });
  /** Runs `body`, adding its wall-clock time to `timings[phase]`. */
  const timed = async <T>(phase: keyof AuditTimings, body: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await body();
    } finally {
      timings[phase] += performance.now() - t;
    }
  };

  const fetchOne = async (index: number): Promise<Fetched> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const request = {
          endpoint: args.endpoint,
          id: args.id,
          index,
          spec,
          root: args.root,
          timeoutMs,
          signal,
        };
        if (!needsBytes.has(index)) {
          // The start of its segment may have brought this hash along (one request a segment).
          const start = attempt === 1 ? await held.get(index - 1) : undefined;
          if (start?.kind === "proven" && start.checkpoint.next?.index === index) {
            stats.hashesFetched++;
            return { kind: "hash", proven: start.checkpoint.next };
          }
          const proven = await fetchCheckpointHash(request);
          stats.hashesFetched++;
          return { kind: "hash", proven };
        }
        const checkpoint = await fetchCheckpoint(request);
        stats.checkpointsFetched++;
        stats.bytesFetched += checkpoint.bytes;
        return { kind: "proven", checkpoint };
      } catch (err) {
        if (!(err instanceof CheckpointFetchError)) throw err; // aborted: the caller's signal
        args.onFetchFailure?.({ index, attempt, kind: err.kind, error: err });
        if (err.kind === "malformed") {
          // The bytes are the committed ones: asking again cannot change them.
          stats.checkpointsFetched++;
          stats.bytesFetched += layout.checkpointBytes;
          return { kind: "malformed", error: err };
        }
        if (attempt >= attempts) return { kind: "missing", error: err, attempts: attempt };
        await sleep(Math.min(MAX_RETRY_DELAY_MS, RETRY_DELAY_MS * 2 ** (attempt - 1)), signal);
      }
    }
  };

  // The checks, in order: checkpoint 0, then each sample's pair (ascending), then the final
  // checkpoint. Every needed checkpoint is fetched once, in the order the checks need it, at most
  // FETCH_WINDOW of them held (in flight or fetched) at a time; a checkpoint is let go after the
  // last check that needs it.
  // Checkpoint 0, every segment's start and the final checkpoint are needed whole; a segment's
  // end only as its proven hash (the replay's hash is compared with it), unless another check
  // needs it whole.
  const finalIndex = segments;
  const checks: number[][] = [[0], ...samples.map((s) => [s, s + 1]), [finalIndex]];
  const needsBytes = new Set<number>([0, ...samples, finalIndex]);
  const order: number[] = [];
  const lastCheck = new Map<number, number>();
  checks.forEach((indices, c) =>
    indices.forEach((index) => {
      if (!lastCheck.has(index)) order.push(index);
      lastCheck.set(index, c);
    }),
  );
  const held = new Map<number, Promise<Fetched>>();
  let issued = 0;
  const pump = () => {
    while (issued < order.length && held.size < FETCH_WINDOW) {
      const index = order[issued++];
      const p = fetchOne(index);
      p.catch(() => undefined); // rejected only on abort; awaited (or abandoned) below
      held.set(index, p);
    }
  };
  /** Checkpoint `index` of the current check (fetched in order, so it is held by now). */
  const get = (index: number): Promise<Fetched> => {
    let p = held.get(index);
    if (!p) {
      p = fetchOne(index);
      p.catch(() => undefined);
      held.set(index, p);
    }
    const fetching = p;
    return timed("fetchWaitMs", () => fetching);
  };
  /** Lets go of the checkpoints no check after `check` needs, and fetches further ones. */
  const done = (check: number) => {
    for (const index of checks[check]) if (lastCheck.get(index) === check) held.delete(index);
    pump();
  };

  const missing: string[] = [];
  const noteMissing = (index: number, f: Fetched & { kind: "missing" }) =>
    missing.push(`checkpoint ${index} (${f.error.kind} after ${f.attempts} attempts: ${f.error.message})`);

  /** What a fetched checkpoint proves by itself: fraud, nothing usable, or a usable checkpoint. */
  const inspect = (index: number, segment: number, f: Fetched): Fraud | ProvenCheckpoint | undefined => {
    if (f.kind === "malformed") {
      return { segment, reason: `committed checkpoint ${index} does not decode: ${f.error.message}` };
    }
    if (f.kind === "missing") {
      noteMissing(index, f);
      return undefined;
    }
    if (f.kind === "hash")
      throw new Error(`checkpoint ${index} is needed whole but only its hash was fetched`);
    const step = index * spec.checkpointInterval;
    if (f.checkpoint.checkpoint.step !== step) {
      return {
        segment,
        reason: `committed checkpoint ${index} is at step ${f.checkpoint.checkpoint.step}, not ${step}`,
      };
    }
    return f.checkpoint;
  };
  /** What a segment's end proves: its committed hash (all a replay is compared with), or as `inspect`. */
  const inspectEnd = (index: number, segment: number, f: Fetched): Fraud | ProvenHash | undefined =>
    f.kind === "hash" ? f.proven : inspect(index, segment, f);
  const isFraud = (x: Fraud | ProvenCheckpoint | ProvenHash | undefined): x is Fraud =>
    x !== undefined && "reason" in x;

  let opening: Promise<RunSession> | undefined;
  let engine: RunSession | undefined;
  try {
    pump();
    // Version 2: the examples the sampled segments read and the held-out ones, fetched and proven
    // while the first checkpoints are on their way, before the engine session copies the dataset.
    let data: Awaited<ReturnType<DatasetFetcher["dataset"]>> | undefined;
    if (spec.version === 2) {
      const fetcher = args.dataset!;
      data = await timed("datasetMs", async () => {
        const before = fetcher.stats.bytesFetched;
        const train = samples.flatMap((s) => segmentExamples(spec, seed, s));
        const d = await fetcher.ensureExamples("train", train, signal);
        const evalChunks = d.eval.chunksFor([0, spec.evalSize - 1]);
        const held = Array.from({ length: evalChunks[evalChunks.length - 1] + 1 }, (_, c) => c);
        await fetcher.ensureChunks("eval", held, signal);
        stats.datasetBytesFetched = fetcher.stats.bytesFetched - before;
        stats.datasetChunks = d.train.chunksFor(train).length + held.length;
        return d;
      });
    }
    // The engine session opens while the first checkpoints are on their way.
    opening = openRunSession(spec, seed, { backend, data });
    opening.catch(() => undefined); // awaited below
    let fraud: Fraud | undefined;

    // Checkpoint 0 must be the seed's initial parameters, or every replay starts from a lie.
    const first = inspect(0, 0, await get(0));
    const t = performance.now();
    engine = await opening;
    if (isFraud(first)) fraud = first;
    else if (first) {
      const init = engine.initial;
      if (!sameWeights(first.checkpoint.weights, init.weights)) {
        fraud = {
          segment: 0,
          reason:
            `committed checkpoint 0 (hash ${first.hash}) is not the seed's initial parameters ` +
            `(hash ${checkpointHash(spec, init)})`,
        };
      }
    }
    timings.initialMs += performance.now() - t;
    done(0);

    for (let j = 0; j < samples.length && !fraud; j++) {
      const s = samples[j];
      const from = inspect(s, s, await get(s));
      if (isFraud(from)) {
        fraud = from;
        break;
      }
      const to = inspectEnd(s + 1, s, await get(s + 1));
      if (isFraud(to)) {
        fraud = to;
        break;
      }
      if (from && to) {
        signal.throwIfAborted();
        const session = engine;
        const replay = await timed("replayMs", () =>
          session.verifySegment(s, from.checkpoint, to.hash, { signal }),
        );
        stats.segmentsReplayed++;
        if (!replay.ok) {
          fraud = {
            segment: s,
            reason:
              `segment ${s} does not replay: from committed checkpoint ${s} the engine reaches hash ` +
              `${replay.hash}, the committed checkpoint ${s + 1} has hash ${to.hash}`,
          };
        }
      }
      done(j + 1);
    }

    let last: ProvenCheckpoint | undefined;
    if (!fraud) {
      const f = inspect(finalIndex, segments - 1, await get(finalIndex));
      if (isFraud(f)) fraud = f;
      else last = f;
    }

    if (fraud)
      return result({ verdict: "Invalid", segment: fraud.segment, measuredScoreBps: 0 }, fraud.reason);
    if (missing.length > 0 || !last) {
      const listed = [...new Set(missing)];
      return result(
        { verdict: "Unavailable", segment: 0, measuredScoreBps: 0 },
        `${listed.length} checkpoint(s) could not be had: ${listed.join("; ")}`,
      );
    }
    signal.throwIfAborted();
    const session = engine;
    const score = await timed("evaluateMs", () => session.evaluate(last.checkpoint));
    return {
      ...result(
        { verdict: "Valid", segment: 0, measuredScoreBps: score.accuracyBps },
        `${stats.segmentsReplayed} sampled segment(s) replay exactly; the final checkpoint classifies ` +
          `${score.correct} of ${score.total} evaluation examples (${score.accuracyBps} bps)`,
      ),
      final: last,
    };
  } finally {
    if (engine) engine.close();
    else
      opening?.then(
        (e) => e.close(),
        () => undefined,
      );
    args.signal?.removeEventListener("abort", onAbort);
    inner.abort(new Error("audit finished"));
  }
}

/** An audit's phase times, rounded to whole milliseconds as its result reports them. */
export function roundedTimings(t: AuditTimings): AuditTimings {
  return {
    fetchWaitMs: Math.round(t.fetchWaitMs),
    initialMs: Math.round(t.initialMs),
    replayMs: Math.round(t.replayMs),
    evaluateMs: Math.round(t.evaluateMs),
    datasetMs: Math.round(t.datasetMs),
  };
}
