/**
 * Evaluation samples over the checkpoint protocol (docs/verifier.md, "Audit modes", "The score"): a
 * validator auditing an operation-sampling spec checks the score from the trainer's committed
 * evaluation trace instead of downloading the final checkpoint.
 *
 *   POST {endpoint}/v1/challenges/{id}/eval-samples
 *       body (JSON, at most MAX_EVAL_REQUEST_BYTES): { "samples": [{ "example", "ops": [{ "slot", "byte" }, …] }, …] }
 *       (1..MAX_EVAL_SAMPLES_PER_REQUEST examples, each `example` in 0..evalSize-1 with at most
 *       MAX_EVAL_OPS hidden forward elements: `slot` an activation A_l of a hidden layer, 2..L, and
 *       `byte` below its width)
 *   -> 200 JSON { "predictions": hex, "examplesRoot", "answers": [EvalSampleAnswer, …] }, one
 *      answer per sample in order (`answerEvalSamples`), leaf indexes as decimal strings; 400
 *      naming the field and value of a bad request, 413 for a larger body, 404 for an unknown
 *      run, 410 once it was pruned.
 *
 * The answers prove themselves against the evaluation root of the final checkpoint's leaf
 * (`checkPredictions`, `checkEvalSample`): the client bounds the answer's time and size and checks
 * its shape.
 */
import { isHex, type Hex } from "viem";
import {
  type ElementAnswer,
  type EvalAnswers,
  type EvalSample,
  type EvalSampleAnswer,
  type TrainingSpec,
} from "@poai/sdk/compute";
import type { Route } from "./http.js";
import { endpointUrl } from "./protocol.js";
import {
  RequestError,
  isWord,
  parseLeafProof,
  parseWords,
  postForAnswer,
  runJsonRoute,
  whole,
  type RunSource,
} from "./samples.js";

/** Examples one request may carry. */
export const MAX_EVAL_SAMPLES_PER_REQUEST = 64;
/** Hidden forward elements one example may carry. */
export const MAX_EVAL_OPS = 16;
/** Largest evaluation request body accepted, in bytes. */
export const MAX_EVAL_REQUEST_BYTES = 16 * 1024;
/** Largest answer body a validator reads besides the predictions, in bytes (JSON, hex; the predictions' 8 hex digits an example come on top). */
export const MAX_EVAL_ANSWER_BYTES = 64 * 2 ** 20;

export function evalSamplesPath(id: Hex): string {
  return `/v1/challenges/${id}/eval-samples`;
}

/** Where the trainer's evaluation route reads runs and answers from. */
export interface EvalSampleSource extends RunSource {
  /** The answers to `samples` of run `id`'s evaluation trace, or undefined when not served. */
  answer(id: Hex, samples: readonly EvalSample[]): Promise<EvalAnswers | undefined>;
}

/** Checks an evaluation request against the run's spec; throws a RequestError naming the field. */
export function parseEvalRequest(spec: TrainingSpec, body: unknown): EvalSample[] {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new RequestError(
      `the body must be a JSON object { samples }, got ${JSON.stringify(body)?.slice(0, 80)}`,
    );
  const list = (body as Record<string, unknown>).samples;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_EVAL_SAMPLES_PER_REQUEST)
    throw new RequestError(
      `samples must be an array of 1..${MAX_EVAL_SAMPLES_PER_REQUEST} examples, got ${Array.isArray(list) ? `${list.length} examples` : JSON.stringify(list)?.slice(0, 80)}`,
    );
  const L = spec.widths.length - 1;
  return list.map((raw: unknown, i: number): EvalSample => {
    const s = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const example = whole(`samples[${i}].example`, s.example, 0, spec.evalSize - 1);
    if (!Array.isArray(s.ops) || s.ops.length > MAX_EVAL_OPS)
      throw new RequestError(
        `samples[${i}].ops must be an array of at most ${MAX_EVAL_OPS} elements, got ${JSON.stringify(s.ops)?.slice(0, 80)}`,
      );
    const ops = s.ops.map((rawOp: unknown, k: number) => {
      const o = (typeof rawOp === "object" && rawOp !== null ? rawOp : {}) as Record<string, unknown>;
      const field = `samples[${i}].ops[${k}]`;
      if (L < 2) throw new RequestError(`${field}: the model has no hidden layer to sample`);
      const slot = whole(`${field}.slot`, o.slot, 2, L);
      const byte = whole(`${field}.byte`, o.byte, 0, spec.widths[slot - 1] - 1);
      return { slot, byte };
    });
    return { example, ops };
  });
}

/** The trainer's evaluation route over `source`. */
export function evalSampleRoutes(source: EvalSampleSource): Route[] {
  return [
    runJsonRoute({
      path: "/v1/challenges/:id/eval-samples",
      maxBytes: MAX_EVAL_REQUEST_BYTES,
      source,
      parse: (spec, _run, body) => parseEvalRequest(spec, body),
      answer: (id, samples) => source.answer(id, samples),
      missing: (id) => `the evaluation trace of ${id} is not available`,
      respond: (answers) => answers,
    }),
  ];
}

// --- client ----------------------------------------------------------------------------------------

function element(v: unknown, what: string): ElementAnswer {
  const e = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  if (!Array.isArray(e.operands) || e.operands.length > 1 << 20)
    throw new Error(`${what}.operands must be an array of leaf proofs`);
  return {
    leaf: parseLeafProof(e.leaf, `${what}.leaf`),
    operands: e.operands.map((p, i) => parseLeafProof(p, `${what}.operands[${i}]`)),
  };
}

/** The shape of one example's answer from JSON (its proofs are `checkEvalSample`'s to check); throws naming the field. */
export function parseEvalSampleAnswer(v: unknown, what: string): EvalSampleAnswer {
  const a = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  const list = (x: unknown, field: string) => {
    if (!Array.isArray(x) || x.length > 1 << 16)
      throw new Error(`${what}.${field} must be an array of elements`);
    return x.map((y, i) => element(y, `${what}.${field}[${i}]`));
  };
  return {
    roots: parseWords(a.roots, `${what}.roots`, 4096),
    proof: parseWords(a.proof, `${what}.proof`, 64),
    outputs: list(a.outputs, "outputs"),
    ops: list(a.ops, "ops"),
  };
}

export interface FetchEvalArgs {
  endpoint: string;
  id: Hex;
  samples: readonly EvalSample[];
  /** The spec's evaluation examples (the predictions' size); default 0. */
  evalSize?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Asks the trainer for its predictions and its answers to `samples` of challenge `id`'s evaluation
 * trace. Returns them shape-checked (`malformed`: why they are unusable, the trainer's fault) and
 * the answer's byte size.
 * @throws SampleFetchError when no answer came (`unreachable`, `timeout`, `status`, `oversized`).
 */
export async function fetchEvalAnswers(
  args: FetchEvalArgs,
): Promise<{ answers: EvalAnswers | Error; bytes: number }> {
  const body = await postForAnswer(
    endpointUrl(args.endpoint, evalSamplesPath(args.id)),
    { samples: args.samples },
    {
      maxBytes: MAX_EVAL_ANSWER_BYTES + 8 * (args.evalSize ?? 0),
      ...(args.timeoutMs !== undefined && { timeoutMs: args.timeoutMs }),
      ...(args.signal && { signal: args.signal }),
    },
  );
  let answers: EvalAnswers | Error;
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new Error("the answer is not JSON");
    }
    const p = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (typeof p.predictions !== "string" || !isHex(p.predictions, { strict: true }))
      throw new Error("predictions must be hex bytes");
    if (!isWord(p.examplesRoot)) throw new Error("examplesRoot must be a 32-byte hex word");
    if (!Array.isArray(p.answers)) throw new Error("answers must be an array");
    const list = p.answers;
    answers = {
      predictions: p.predictions,
      examplesRoot: p.examplesRoot,
      answers: args.samples.map((_, i) => {
        if (i >= list.length) throw new Error(`answers[${i}] is missing`);
        return parseEvalSampleAnswer(list[i], `answers[${i}]`);
      }),
    };
  } catch (err) {
    answers = err as Error;
  }
  return { answers, bytes: body.byteLength };
}
