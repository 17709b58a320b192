/**
 * Operation samples over the checkpoint protocol (docs/verifier.md, "Audit modes"): a validator
 * auditing an operation-sampling spec asks the trainer for its answers to samples of one segment.
 *
 *   POST {endpoint}/v1/challenges/{id}/samples
 *       body (JSON, at most MAX_SAMPLE_REQUEST_BYTES): { "segment": s, "samples": [{ "step", "slot", "byte" }, …] }
 *       (1..MAX_SAMPLES_PER_REQUEST samples, each `step` in 0..checkpointInterval-1 of the segment)
 *   -> 200 JSON { "answers": [SampleAnswer, …] }, one per sample in order (`answerSample`), leaf
 *      indexes as decimal strings; 400 naming the field and value of a bad request, 404 for an
 *      unknown run or segment, 410 once the run was pruned.
 *
 * The answers prove themselves: the validator checks each with `checkSample` against the
 * step-state root proven in the segment's start leaf, so the client only bounds the answer's time
 * and size and checks its shape.
 */
import { isHex, size, type Hex } from "viem";
import {
  LEAF_BYTES,
  sampleableSlots,
  trainingSlots,
  type Sample,
  type SampleAnswer,
  type StepStateOpening,
  type TrainingSpec,
} from "@poai/sdk/compute";
import type { LeafProof } from "@poai/sdk/compute";
import { BodyReadError, fetchWithDeadline, readBody, startDeadline } from "./body.js";
import { httpError, json, type Route } from "./http.js";
import { CheckpointFetchError, endpointUrl, type RunInfo } from "./protocol.js";

/** Samples one request may carry. */
export const MAX_SAMPLES_PER_REQUEST = 64;
/** Largest sample request body accepted, in bytes. */
export const MAX_SAMPLE_REQUEST_BYTES = 16 * 1024;
/** Largest answer body a validator reads, in bytes (JSON, hex: about twice the answers' bytes). */
export const MAX_SAMPLE_ANSWER_BYTES = 64 * 2 ** 20;

export function samplesPath(id: Hex): string {
  return `/v1/challenges/${id}/samples`;
}

/** Where the trainer's sample route reads runs and answers from. */
export interface SampleSource {
  run(id: Hex): RunInfo | "pruned" | undefined;
  /** The spec of run `id` (held while the run is). */
  spec(id: Hex): TrainingSpec | undefined;
  /** The answers to `samples` of segment `segment` of run `id`, or undefined when not served. */
  answer(id: Hex, segment: number, samples: readonly Sample[]): Promise<SampleAnswer[] | undefined>;
}

const ID = /^0x[0-9a-fA-F]{64}$/;

/** A bad request: answered 400 with its message (which names the field and the value). */
export class RequestError extends Error {}

/** `value` as an integer in `min..max`; throws a RequestError naming `field` and the value. */
export function whole(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
    throw new RequestError(
      `${field} must be an integer in ${min}..${max}, got ${JSON.stringify(value)?.slice(0, 80)}`,
    );
  return value;
}

/** The runs and specs a trainer's JSON answer route reads. */
export interface RunSource {
  run(id: Hex): RunInfo | "pruned" | undefined;
  /** The spec of run `id` (held while the run is). */
  spec(id: Hex): TrainingSpec | undefined;
}

/**
 * A `POST {path}` route of the trainer that answers a JSON request about run `:id`: 400 for a bad
 * id, 410 for a pruned run, 404 for an unknown one, 413 for a body over `maxBytes`, 400 with the
 * message of a `RequestError` thrown by `parse` (naming the field and the value), 404 with
 * `missing(id, request)` when `answer` has none, else 200 with `respond(answer)` as JSON.
 */
export function runJsonRoute<R, A>(route: {
  path: string;
  maxBytes: number;
  source: RunSource;
  parse: (spec: TrainingSpec, run: RunInfo, body: unknown) => R;
  answer: (id: Hex, request: R) => Promise<A | undefined>;
  missing: (id: Hex, request: R) => string;
  respond: (answer: A) => unknown;
}): Route {
  return {
    method: "POST",
    path: route.path,
    handler: async ({ params, raw }) => {
      if (!ID.test(params.id))
        return httpError(400, `challenge id must be 32-byte hex, got ${params.id.slice(0, 80)}`);
      const id = params.id.toLowerCase() as Hex;
      const run = route.source.run(id);
      if (run === "pruned") return httpError(410, `challenge ${id} was pruned after its dispute window`);
      const spec = route.source.spec(id);
      if (run === undefined || spec === undefined) return httpError(404, `no run for challenge ${id}`);
      let text = "";
      let bytes = 0;
      for await (const chunk of raw) {
        bytes += (chunk as Buffer).length;
        if (bytes > route.maxBytes)
          return httpError(413, `the request body must be at most ${route.maxBytes} bytes`);
        text += (chunk as Buffer).toString("utf8");
      }
      let request: R;
      try {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new RequestError(`the body must be JSON, got ${JSON.stringify(text.slice(0, 80))}`);
        }
        request = route.parse(spec, run, body);
      } catch (err) {
        if (err instanceof RequestError) return httpError(400, err.message);
        throw err;
      }
      const answer = await route.answer(id, request);
      if (answer === undefined) return httpError(404, route.missing(id, request));
      return json(200, route.respond(answer));
    },
  };
}

/** Checks a sample request against the run's spec; throws a RequestError naming the field. */
export function parseSampleRequest(
  spec: TrainingSpec,
  checkpoints: number,
  body: unknown,
): { segment: number; samples: Sample[] } {
  if (typeof body !== "object" || body === null)
    throw new RequestError(`the body must be a JSON object { segment, samples }, got ${typeof body}`);
  const b = body as Record<string, unknown>;
  const segment = whole("segment", b.segment, 0, checkpoints - 2);
  if (!Array.isArray(b.samples) || b.samples.length < 1 || b.samples.length > MAX_SAMPLES_PER_REQUEST)
    throw new RequestError(
      `samples must be an array of 1..${MAX_SAMPLES_PER_REQUEST} samples, got ${Array.isArray(b.samples) ? `${b.samples.length} samples` : JSON.stringify(b.samples)?.slice(0, 80)}`,
    );
  const slots = trainingSlots(spec);
  const allowed = new Set(sampleableSlots(spec));
  const samples = b.samples.map((raw: unknown, i: number): Sample => {
    const s = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const step = whole(`samples[${i}].step`, s.step, 0, spec.checkpointInterval - 1);
    const slot = whole(`samples[${i}].slot`, s.slot, 0, slots.length - 1);
    if (!allowed.has(slot))
      throw new RequestError(
        `samples[${i}].slot must be a slot with a rule (${[...allowed].join(", ")}), got ${slot}`,
      );
    const byte = whole(`samples[${i}].byte`, s.byte, 0, slots[slot].length - 1);
    return { step, slot, byte };
  });
  return { segment, samples };
}

/** The trainer's sample route over `source`. */
export function sampleRoutes(source: SampleSource): Route[] {
  return [
    runJsonRoute({
      path: "/v1/challenges/:id/samples",
      maxBytes: MAX_SAMPLE_REQUEST_BYTES,
      source,
      parse: (spec, run, body) => parseSampleRequest(spec, run.checkpoints, body),
      answer: (id, request) => source.answer(id, request.segment, request.samples),
      missing: (id, request) => `segment ${request.segment} of ${id} is not available`,
      respond: (answers) => ({ answers }),
    }),
  ];
}

// --- client ----------------------------------------------------------------------------------------

/** Why a sample request failed: no answer (`unreachable`, `timeout`, `status`, `oversized`) or a malformed one. */
export class SampleFetchError extends CheckpointFetchError {}

/** A 32-byte hex word. */
export const isWord = (v: unknown): v is Hex =>
  typeof v === "string" && isHex(v, { strict: true }) && size(v) === 32;

/**
 * POSTs `body` as JSON to `url` and returns the 200 answer's bytes, read within `timeoutMs` and
 * `maxBytes` (redirects refused).
 * @throws SampleFetchError when no answer came (`unreachable`, `timeout`, `status`, `oversized`).
 */
export async function postForAnswer(
  url: string,
  body: unknown,
  args: { timeoutMs?: number; signal?: AbortSignal; maxBytes: number },
): Promise<Uint8Array> {
  const timeoutMs = args.timeoutMs ?? 10_000;
  const deadline = startDeadline(timeoutMs, { what: url, ...(args.signal && { signal: args.signal }) });
  try {
    let response: Response;
    try {
      response = await fetchWithDeadline(
        url,
        {
          method: "POST",
          redirect: "error",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(body),
        },
        deadline,
      );
    } catch (err) {
      if (args.signal?.aborted) throw args.signal.reason;
      if (deadline.expired) throw new SampleFetchError("timeout", url, `no answer within ${timeoutMs} ms`);
      throw new SampleFetchError("unreachable", url, (err as Error)?.message ?? String(err));
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBody(response, { deadline, maxBytes: args.maxBytes, what: url });
    } catch (err) {
      if (args.signal?.aborted) throw args.signal.reason;
      if (err instanceof BodyReadError && err.kind === "oversized")
        throw new SampleFetchError("oversized", url, err.message);
      if (deadline.expired || (err instanceof BodyReadError && err.kind === "timeout"))
        throw new SampleFetchError("timeout", url, `no complete answer within ${timeoutMs} ms`);
      throw new SampleFetchError("unreachable", url, (err as Error)?.message ?? String(err));
    }
    if (response.status !== 200)
      throw new SampleFetchError(
        "status",
        url,
        `answered HTTP ${response.status}: ${new TextDecoder().decode(bytes.subarray(0, 200))}`,
      );
    return bytes;
  } finally {
    deadline.clear();
  }
}

/** An array of at most `max` 32-byte hex words from JSON; throws naming `what`. */
export function parseWords(v: unknown, what: string, max: number): Hex[] {
  if (!Array.isArray(v) || v.length > max || !v.every(isWord))
    throw new Error(`${what} must be an array of at most ${max} 32-byte hex words`);
  return v as Hex[];
}

/** A leaf proof from JSON (index as a decimal string; a leaf of `leafBytes` bytes); throws naming `what`. */
export function parseLeafProof(v: unknown, what: string, leafBytes = LEAF_BYTES): LeafProof {
  const p = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof p.index !== "string" || !/^\d{1,15}$/.test(p.index))
    throw new Error(`${what}.index must be a decimal string, got ${JSON.stringify(p.index)?.slice(0, 40)}`);
  if (typeof p.leaf !== "string" || !isHex(p.leaf, { strict: true }) || size(p.leaf) !== leafBytes)
    throw new Error(`${what}.leaf must be ${leafBytes} bytes of hex`);
  return { index: BigInt(p.index), leaf: p.leaf, siblings: parseWords(p.siblings, `${what}.siblings`, 64) };
}

function opening(v: unknown, what: string): StepStateOpening {
  const o = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  return {
    roots: parseWords(o.roots, `${what}.roots`, 4096),
    proof: parseWords(o.proof, `${what}.proof`, 64),
  };
}

/** The shape of one answer from JSON (its proofs are `checkSample`'s to check); throws naming the field. */
export function parseSampleAnswer(v: unknown, what: string): SampleAnswer {
  const a = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  if (!Array.isArray(a.operands) || a.operands.length > 1 << 20)
    throw new Error(`${what}.operands must be an array of leaf proofs`);
  return {
    state: opening(a.state, `${what}.state`),
    ...(a.next !== undefined && { next: opening(a.next, `${what}.next`) }),
    leaf: parseLeafProof(a.leaf, `${what}.leaf`),
    operands: a.operands.map((p, i) => parseLeafProof(p, `${what}.operands[${i}]`)),
  };
}

export interface FetchSamplesArgs {
  endpoint: string;
  id: Hex;
  segment: number;
  samples: readonly Sample[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Asks the trainer for its answers to `samples` of segment `segment` of challenge `id`. Returns the
 * answers (shape-checked, one per sample, in order; `malformed` lists why an answer is unusable:
 * the trainer's fault, never the network's) and the answer's byte size.
 * @throws SampleFetchError when no answer came (`unreachable`, `timeout`, `status`, `oversized`).
 */
export async function fetchSampleAnswers(
  args: FetchSamplesArgs,
): Promise<{ answers: (SampleAnswer | Error)[]; bytes: number }> {
  const body = await postForAnswer(
    endpointUrl(args.endpoint, samplesPath(args.id)),
    { segment: args.segment, samples: args.samples },
    {
      maxBytes: MAX_SAMPLE_ANSWER_BYTES,
      ...(args.timeoutMs !== undefined && { timeoutMs: args.timeoutMs }),
      ...(args.signal && { signal: args.signal }),
    },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    parsed = undefined;
  }
  const list = (parsed as { answers?: unknown } | undefined)?.answers;
  const answers = args.samples.map((_, i): SampleAnswer | Error => {
    if (!Array.isArray(list)) return new Error("the answer is not JSON { answers: [...] }");
    if (i >= list.length) return new Error(`answers[${i}] is missing`);
    try {
      return parseSampleAnswer(list[i], `answers[${i}]`);
    } catch (err) {
      return err as Error;
    }
  });
  return { answers, bytes: body.byteLength };
}
