/**
 * The operation-sampling audit of one challenge (docs/verifier.md, "Audit modes"): what a committee
 * member does instead of segment replay for a spec whose checkpoints do not fit the replay budget
 * (`auditModeFor`). Its bytes grow with the width and the logarithm of the model, not its size.
 *
 * 1. Checkpoint 0: its committed hash (a HEAD request, proven under the root) must be the hash of
 *    the seed's initial parameters, which the validator computes itself.
 * 2. For every sampled segment `s`: the committed leaves of checkpoints `s` and `s + 1` (HEAD
 *    requests: hash, parameter root, step-state root, proven under the root; no bytes). A zero step
 *    root means the trainer committed no step states for a spec audited by sampling: `Invalid(s)`.
 *    Then `operationSamples` operations of the segment are drawn from the audit seed
 *    (`drawOperationSamples`: unknown to the trainer when it committed), the trainer's answers are
 *    fetched (`POST …/samples`), and each is checked with `checkSample` against the segment's
 *    commitments, every operand of the data slots (X, TS, LBL) against the step's data as the
 *    validator computes it (`stepDataBytes`; engine version 2: the examples fetched and proven
 *    against the dataset's root): any answer that is missing, malformed or fails a check is
 *    `Invalid(s)`. A failed answer the chain can decide (a wrong operation, a broken link between
 *    steps, data that is not the step's: a committed X, TS or LBL root that is not its data's) is
 *    handed to `onDisputable` first: the evidence of a game at that step, with the step's data a
 *    data game is played from (docs/disputes.md, "A game at a sampled step", "Data games").
 * 3. The score, without the final checkpoint (`checkScoreBySampling`, ./eval-sampling.ts): the
 *    final leaf's evaluation root, the trainer's predictions proven under it and scored against
 *    the labels, and sampled evaluation examples checked operation by operation.
 *
 * `Unavailable`: a leaf or the answers could not be had after the retries (the trainer unreachable,
 * an HTTP error). Everything the trainer sends is hostile: nothing it answers makes this throw.
 * The samples are drawn from the audit seed, so a restarted validator draws the same ones and
 * resumes by auditing again: nothing but the verdict needs to be persisted.
 */
import type { Hex } from "viem";
import {
  NO_STEP_ROOT,
  SampleError,
  checkSample,
  checkpointHash,
  deriveKey,
  drawOperationSamples,
  segmentExamples,
  stepDataBytes,
  stepDataContext,
  modelLayout,
  openRunSession,
  selectBackend,
  stepDisputeOf,
  validateSeed,
  validateSpec,
  type RunSession,
  type SampleAnswer,
  type StepDispute,
} from "@poai/sdk/compute";
import { CheckpointFetchError, fetchCheckpointHash, type ProvenHash } from "../daemon/protocol.js";
import { fetchSampleAnswers, MAX_SAMPLES_PER_REQUEST } from "../daemon/samples.js";
import { sleep } from "../daemon/retry.js";
import { DEFAULT_EVAL_EXAMPLES, DEFAULT_EVAL_HIDDEN_OPS, checkScoreBySampling } from "./eval-sampling.js";
import {
  DEFAULT_FETCH_ATTEMPTS,
  DEFAULT_FETCH_TIMEOUT_MS,
  type AuditArgs,
  type AuditResult,
  type Decision,
  roundedTimings,
} from "./audit.js";

/** Operations checked per sampled segment by default. */
export const DEFAULT_OPERATION_SAMPLES = 32;

export interface SamplingAuditArgs extends AuditArgs {
  /** The challenge's audit seed (drawn after the trainer's commitment): the operation samples' source. */
  auditSeed: Hex;
  /** Operations checked per sampled segment (1..1024); default {@link DEFAULT_OPERATION_SAMPLES}. */
  operationSamples?: number;
  /**
   * Called with the evidence of a failed sample the chain can decide (`stepDisputeOf`: a wrong
   * operation, a broken link, a malformed state) before the audit returns `Invalid`: the validator
   * keeps it to open a game at that step if the committee clears the run anyway.
   */
  onDisputable?: (segment: number, dispute: StepDispute) => void;
  /** Evaluation examples checked (1..1024); default `DEFAULT_EVAL_EXAMPLES`. */
  evalExamples?: number;
  /** Hidden forward elements checked per evaluation example (0..16); default `DEFAULT_EVAL_HIDDEN_OPS`. */
  evalHiddenOps?: number;
}

const RETRY_DELAY_MS = 200;

function whole(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
    throw new RangeError(
      `auditBySampling: ${field} must be an integer in ${min}..${max}, got ${String(value)}`,
    );
  return value;
}

/** Audits one challenge by operation sampling (see the module comment). */
export async function auditBySampling(args: SamplingAuditArgs): Promise<AuditResult> {
  const started = performance.now();
  const spec = validateSpec(args.spec);
  const seed = validateSeed(args.seed);
  const auditSeed = validateSeed(args.auditSeed);
  const layout = modelLayout(spec);
  const key = deriveKey(spec, seed);
  const segments = layout.checkpointCount - 1;
  if (!Array.isArray(args.samples))
    throw new RangeError("auditBySampling: samples must be an array of segments");
  const samples = [...new Set(args.samples.map((s, i) => whole(`samples[${i}]`, s, 0, segments - 1)))].sort(
    (a, b) => a - b,
  );
  const perSegment = whole("operationSamples", args.operationSamples ?? DEFAULT_OPERATION_SAMPLES, 1, 1024);
  const timeoutMs = whole("timeoutMs", args.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, 1, 3_600_000);
  const attempts = whole("attempts", args.attempts ?? DEFAULT_FETCH_ATTEMPTS, 1, 100);
  if (spec.version === 2 && !args.dataset)
    throw new RangeError("auditBySampling: dataset must be the spec's DatasetFetcher (engine version 2)");
  const backend =
    typeof args.backend === "object" ? args.backend : await selectBackend(args.backend ?? "auto");
  const signal = args.signal;
  signal?.throwIfAborted();

  const stats = {
    checkpointsFetched: 0,
    hashesFetched: 0,
    bytesFetched: 0,
    samplesChecked: 0,
    answerBytes: 0,
  };
  const timings = { fetchWaitMs: 0, initialMs: 0, replayMs: 0, evaluateMs: 0, datasetMs: 0 };
  const result = (decision: Decision, reason: string): AuditResult => ({
    ...decision,
    reason,
    checkpointsFetched: stats.checkpointsFetched,
    hashesFetched: stats.hashesFetched,
    bytesFetched: stats.bytesFetched,
    datasetBytesFetched: 0,
    datasetChunks: 0,
    segmentsReplayed: 0,
    samplesChecked: stats.samplesChecked,
    answerBytes: stats.answerBytes,
    ms: Math.round(performance.now() - started),
    timings: roundedTimings(timings),
  });
  const invalid = (segment: number, reason: string) =>
    result({ verdict: "Invalid", segment, measuredScoreBps: 0 }, reason);
  const unavailable = (reason: string) =>
    result({ verdict: "Unavailable", segment: 0, measuredScoreBps: 0 }, reason);

  /** `fetch` with the audit's retries; a CheckpointFetchError after the last attempt comes back. */
  const withRetries = async <T>(
    index: number,
    fetch: () => Promise<T>,
  ): Promise<T | CheckpointFetchError> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch();
      } catch (err) {
        if (!(err instanceof CheckpointFetchError)) throw err;
        args.onFetchFailure?.({ index, attempt, kind: err.kind, error: err });
        if (attempt >= attempts || err.kind === "malformed") return err;
        await sleep(RETRY_DELAY_MS * 2 ** (attempt - 1), signal);
      }
    }
  };
  const request = (index: number) => ({
    endpoint: args.endpoint,
    id: args.id,
    index,
    spec,
    root: args.root,
    timeoutMs,
    ...(signal && { signal }),
  });
  const leaf = async (index: number): Promise<ProvenHash | CheckpointFetchError> => {
    const t = performance.now();
    const r = await withRetries(index, () => fetchCheckpointHash(request(index)));
    timings.fetchWaitMs += performance.now() - t;
    if (!(r instanceof CheckpointFetchError)) stats.hashesFetched++;
    return r;
  };
  const missing = (index: number, err: CheckpointFetchError) =>
    unavailable(`checkpoint ${index} could not be had (${err.kind}: ${err.message})`);

  let engine: RunSession | undefined;
  let opening: Promise<RunSession> | undefined;
  try {
    // Version 2: the held-out examples the evaluation reads, proven against the spec's roots.
    let data: Awaited<ReturnType<NonNullable<AuditArgs["dataset"]>["dataset"]>> | undefined;
    if (spec.version === 2) {
      const t = performance.now();
      const fetcher = args.dataset!;
      // the training examples the sampled segments read (their data slots are checked) and the
      // held-out ones the score reads, each chunk proven against the spec's roots
      const train = samples.flatMap((x) => segmentExamples(spec, seed, x));
      data = await fetcher.ensureExamples("train", train, signal);
      const evalChunks = data.eval.chunksFor([0, spec.evalSize - 1]);
      await fetcher.ensureChunks(
        "eval",
        Array.from({ length: evalChunks[evalChunks.length - 1] + 1 }, (_, c) => c),
        signal,
      );
      timings.datasetMs += performance.now() - t;
    }
    opening = openRunSession(spec, seed, { backend, data });
    opening.catch(() => undefined);

    // 1. Checkpoint 0 is the seed's initial parameters.
    const first = await leaf(0);
    let t = performance.now();
    engine = await opening;
    if (first instanceof CheckpointFetchError) return missing(0, first);
    const initial = checkpointHash(spec, engine.initial);
    timings.initialMs += performance.now() - t;
    if (first.hash !== initial.toLowerCase())
      return invalid(
        0,
        `committed checkpoint 0 (hash ${first.hash}) is not the seed's initial parameters (hash ${initial})`,
      );

    // 2. The sampled segments' operations.
    for (const s of samples) {
      const from = s === 0 ? first : await leaf(s);
      if (from instanceof CheckpointFetchError) return missing(s, from);
      const to = await leaf(s + 1);
      if (to instanceof CheckpointFetchError) return missing(s + 1, to);
      if (from.stepRoot === NO_STEP_ROOT)
        return invalid(
          s,
          `checkpoint ${s} commits no step-state root: segment ${s} cannot be sampled, and its spec is audited by sampling`,
        );
      const drawn = drawOperationSamples(spec, auditSeed, s, perSegment);
      const stepData = new Map<number, Map<number, Uint8Array>>();
      const dataOf = (step: number) => {
        let d = stepData.get(step);
        if (!d) stepData.set(step, (d = stepDataBytes(spec, key, step, data)));
        return d;
      };
      const commitment = {
        firstStep: s * spec.checkpointInterval,
        steps: spec.checkpointInterval,
        startRoot: from.parameterRoot,
        endRoot: to.parameterRoot,
        stepStatesRoot: from.stepRoot,
      };
      for (let k = 0; k < drawn.length; k += MAX_SAMPLES_PER_REQUEST) {
        const batch = drawn.slice(k, k + MAX_SAMPLES_PER_REQUEST);
        t = performance.now();
        const got = await withRetries(s, () =>
          fetchSampleAnswers({
            endpoint: args.endpoint,
            id: args.id,
            segment: s,
            samples: batch,
            timeoutMs,
            ...(signal && { signal }),
          }),
        );
        timings.fetchWaitMs += performance.now() - t;
        if (got instanceof CheckpointFetchError)
          return unavailable(
            `the answers to segment ${s}'s samples could not be had (${got.kind}: ${got.message})`,
          );
        stats.answerBytes += got.bytes;
        t = performance.now();
        for (let j = 0; j < batch.length; j++) {
          const sample = batch[j];
          const answer = got.answers[j];
          const where = `sample ${k + j} of segment ${s} (step ${commitment.firstStep + sample.step}, slot ${sample.slot}, byte ${sample.byte})`;
          if (answer instanceof Error) return invalid(s, `${where}: no usable answer: ${answer.message}`);
          try {
            checkSample(spec, commitment, sample, answer as SampleAnswer, dataOf);
          } catch (err) {
            const dispute = stepDisputeOf(
              spec,
              commitment,
              sample,
              answer as SampleAnswer,
              dataOf,
              stepDataContext(spec, key, data),
            );
            if (dispute) args.onDisputable?.(s, dispute);
            const message =
              err instanceof SampleError ? err.message : `malformed answer: ${(err as Error).message}`;
            return invalid(s, `${where} does not hold: ${message}`);
          }
          stats.samplesChecked++;
        }
        timings.replayMs += performance.now() - t;
      }
    }

    // 3. The score, from the final leaf's evaluation root: never the final checkpoint itself.
    const final = await leaf(segments);
    if (final instanceof CheckpointFetchError) return missing(segments, final);
    const score = await checkScoreBySampling({
      spec,
      key,
      ...(data && { data }),
      endpoint: args.endpoint,
      id: args.id,
      finalLeaf: final,
      auditSeed,
      examples: whole("evalExamples", args.evalExamples ?? DEFAULT_EVAL_EXAMPLES, 1, 1024),
      hiddenOps: whole("evalHiddenOps", args.evalHiddenOps ?? DEFAULT_EVAL_HIDDEN_OPS, 0, 16),
      timeoutMs,
      attempts,
      ...(signal && { signal }),
      ...(args.onFetchFailure && { onFetchFailure: args.onFetchFailure }),
    });
    stats.answerBytes += score.answerBytes;
    timings.fetchWaitMs += score.waitMs;
    timings.evaluateMs += score.checkMs;
    if (score.kind === "invalid") return invalid(segments - 1, score.reason);
    if (score.kind === "unavailable") return unavailable(score.reason);
    stats.samplesChecked += score.examplesChecked;
    return {
      ...result(
        { verdict: "Valid", segment: 0, measuredScoreBps: score.accuracyBps },
        `${stats.samplesChecked - score.examplesChecked} sampled operation(s) of ${samples.length} segment(s) hold against the committed ` +
          `step-state roots; ${score.examplesChecked} sampled evaluation example(s) hold against the evaluation root, whose ` +
          `predictions classify ${score.correct} of ${score.total} evaluation examples (${score.accuracyBps} bps)`,
      ),
      committed: {
        predictions: score.predictions,
        examplesRoot: score.examplesRoot,
        final: {
          weightsHash: final.hash,
          parameterRoot: final.parameterRoot,
          evalRoot: final.stepRoot,
          proof: final.proof,
        },
      },
    };
  } finally {
    if (engine) engine.close();
    else
      opening?.then(
        (e) => e.close(),
        () => undefined,
      );
  }
}
