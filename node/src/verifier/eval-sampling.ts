/**
 * The score check of an operation-sampling audit (docs/verifier.md, "The score"), without the final
 * checkpoint: the final leaf (proven under the run's root, a HEAD request) commits the parameter
 * root of the final checkpoint and the run's evaluation root (`EvalTrace`). The validator
 *
 * 1. draws `evalExamples` evaluation examples from the audit seed (`drawEvalSamples`), each with
 *    `evalHiddenOps` hidden forward elements, and asks the trainer for its predictions and its
 *    answers (`POST …/eval-samples`);
 * 2. proves the predictions under the evaluation root (`checkPredictions`) and checks each sampled
 *    example (`checkEvalSample`): its state under the committed examples root, Θ = the final
 *    parameter root, X = the input row it computes itself from the spec, every output element
 *    and every sampled hidden element by its fold over operands proven under their roots, and the
 *    committed prediction the argmax of the outputs;
 * 3. scores the predictions against the labels it computes itself (engine version 1: the seed's
 *    generated examples; version 2: the dataset's held-out examples, proven against the spec).
 *
 * A zero evaluation root, an answer that is missing, malformed or fails a check is the trainer's
 * fault (`invalid`); answers that could not be had after the retries are `unavailable`. Nothing
 * the trainer sends makes this throw.
 */
import type { Hex } from "viem";
import {
  EvalSampleError,
  NO_STEP_ROOT,
  checkEvalSample,
  checkPredictions,
  drawEvalSamples,
  evalExamples,
  scorePredictions,
  type EngineData,
  type EngineKey,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { CheckpointFetchError, type ProvenHash } from "../daemon/protocol.js";
import { fetchEvalAnswers, MAX_EVAL_SAMPLES_PER_REQUEST } from "../daemon/eval-samples.js";
import { sleep } from "../daemon/retry.js";
import type { FetchFailure } from "./audit.js";

/** Evaluation examples checked per audit by default. */
export const DEFAULT_EVAL_EXAMPLES = 6;
/** Hidden forward elements checked per sampled example by default (every output element always is). */
export const DEFAULT_EVAL_HIDDEN_OPS = 1;

export interface ScoreCheckArgs {
  spec: TrainingSpec;
  key: EngineKey;
  /** Engine version 2: the dataset, its held-out examples loaded. */
  data?: EngineData;
  endpoint: string;
  id: Hex;
  /** The final checkpoint's leaf, proven under the run's root. */
  finalLeaf: ProvenHash;
  auditSeed: Hex;
  examples: number;
  hiddenOps: number;
  timeoutMs: number;
  attempts: number;
  signal?: AbortSignal;
  onFetchFailure?: (failure: FetchFailure) => void;
}

export type ScoreCheck =
  | {
      kind: "score";
      correct: number;
      total: number;
      accuracyBps: number;
      /** The trainer's committed predictions (proven under the evaluation root) and its examples root. */
      predictions: Int32Array;
      examplesRoot: Hex;
      examplesChecked: number;
      answerBytes: number;
      waitMs: number;
      checkMs: number;
    }
  | { kind: "invalid"; reason: string; answerBytes: number; waitMs: number; checkMs: number }
  | { kind: "unavailable"; reason: string; answerBytes: number; waitMs: number; checkMs: number };

const RETRY_DELAY_MS = 200;

/** Checks the score of a run from its evaluation samples (see the module comment). */
export async function checkScoreBySampling(args: ScoreCheckArgs): Promise<ScoreCheck> {
  const { spec, finalLeaf } = args;
  const cost = { answerBytes: 0, waitMs: 0, checkMs: 0 };
  const out = <T extends object>(x: T) => ({
    ...x,
    answerBytes: cost.answerBytes,
    waitMs: Math.round(cost.waitMs),
    checkMs: Math.round(cost.checkMs),
  });
  if (finalLeaf.stepRoot === NO_STEP_ROOT)
    return out({
      kind: "invalid" as const,
      reason: `the final checkpoint ${finalLeaf.index} commits no evaluation root, and its spec is audited by sampling`,
    });
  const commitment = { parameterRoot: finalLeaf.parameterRoot, evalRoot: finalLeaf.stepRoot };
  const samples = drawEvalSamples(spec, args.auditSeed, args.examples, args.hiddenOps);
  let predictions: Int32Array | undefined;
  let examplesRoot: Hex | undefined;
  let checked = 0;
  for (let k = 0; k < samples.length; k += MAX_EVAL_SAMPLES_PER_REQUEST) {
    const batch = samples.slice(k, k + MAX_EVAL_SAMPLES_PER_REQUEST);
    let t = performance.now();
    let got: Awaited<ReturnType<typeof fetchEvalAnswers>> | CheckpointFetchError;
    for (let attempt = 1; ; attempt++) {
      try {
        got = await fetchEvalAnswers({
          endpoint: args.endpoint,
          id: args.id,
          samples: batch,
          evalSize: spec.evalSize,
          timeoutMs: args.timeoutMs,
          ...(args.signal && { signal: args.signal }),
        });
        break;
      } catch (err) {
        if (!(err instanceof CheckpointFetchError)) throw err;
        args.onFetchFailure?.({ index: finalLeaf.index, attempt, kind: err.kind, error: err });
        if (attempt >= args.attempts) {
          got = err;
          break;
        }
        await sleep(RETRY_DELAY_MS * 2 ** (attempt - 1), args.signal);
      }
    }
    cost.waitMs += performance.now() - t;
    if (got instanceof CheckpointFetchError)
      return out({
        kind: "unavailable" as const,
        reason: `the answers to the evaluation samples could not be had (${got.kind}: ${got.message})`,
      });
    cost.answerBytes += got.bytes;
    const answers = got.answers;
    if (answers instanceof Error)
      return out({
        kind: "invalid" as const,
        reason: `evaluation samples: no usable answer: ${answers.message}`,
      });
    t = performance.now();
    try {
      predictions ??= checkPredictions(spec, commitment, answers);
      examplesRoot ??= answers.examplesRoot;
      for (let j = 0; j < batch.length; j++) {
        const sample = batch[j];
        const { x } = evalExamples(spec, args.key, sample.example, 1, args.data);
        checkEvalSample(spec, commitment, answers.examplesRoot, predictions, sample, answers.answers[j], x);
        checked++;
      }
    } catch (err) {
      const message =
        err instanceof EvalSampleError ? err.message : `malformed answer: ${(err as Error).message}`;
      return out({ kind: "invalid" as const, reason: `evaluation sample does not hold: ${message}` });
    } finally {
      cost.checkMs += performance.now() - t;
    }
  }
  if (!predictions) throw new RangeError("checkScoreBySampling: examples must be at least 1");
  const t = performance.now();
  const score = scorePredictions(
    predictions,
    evalExamples(spec, args.key, 0, spec.evalSize, args.data).labels,
  );
  cost.checkMs += performance.now() - t;
  return out({
    kind: "score" as const,
    ...score,
    predictions,
    examplesRoot: examplesRoot!,
    examplesChecked: checked,
  });
}
