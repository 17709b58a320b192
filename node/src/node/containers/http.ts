/**
 * An Infernet container over HTTP, spoken to as infernet-node 1.4.0 speaks to it, so a container
 * written for Infernet delivers the same bytes through a PoAI node.
 *
 * The request: `POST {url}/service_output` with the body Python's `json.dumps` writes for
 * `{"source", "destination", "data", "requires_proof"}` (on-chain jobs: `data` is the consumer's
 * `getContainerInputs` bytes as lower-case hex without `0x`), `Content-Type: application/json`,
 * `Authorization: Bearer <token>` when the container has one, and its extra headers.
 *
 * The answer, read as infernet-node reads it (aiohttp's `response.json()`):
 * - any HTTP status: a 500 whose body is JSON is an answer like any other;
 * - the `Content-Type` must match `^application/(x+)?json` (after lower-casing), or the call fails:
 *   a `text/plain` body is refused even if it is JSON;
 * - the body is decoded with the declared charset (UTF-8 by default), stripped of ASCII
 *   whitespace, and an empty body is `None`; it is then parsed by `json.loads`' rules
 *   (`parsePythonJson`).
 *
 * Serializing it for `deliverCompute` (`serializeContainerOutput`):
 * - an answer that is not a JSON object fails (infernet-node never delivers it);
 * - a `code` key that is neither null nor the string `"200"` fails (a numeric 200 fails too);
 * - an answer with all of `raw_input`, `processed_input`, `raw_output`, `processed_output` and
 *   `proof` delivers `input = abi.encode(bytes, bytes)` of the first two, `output =
 *   abi.encode(bytes, bytes)` of the next two and `proof`, each field read by Python's
 *   `bytes.fromhex` (pairs of hex digits, either case, ASCII whitespace between pairs, no `0x`)
 *   or null for empty;
 * - any other object delivers `output = abi.encode(string(repr(answer)))`, empty input and proof.
 *
 * Where PoAI stays stricter, for the node operator's safety (each a per-container option):
 * answers are capped (`maxResponseBytes`, 1 MiB) and so are delivered fields (`maxDeliveryBytes`,
 * 32 KiB); redirects are followed (at most 10, as aiohttp) only to the container's own origin
 * unless `redirects: "any"`, and never carry the bearer token or extra headers to another origin.
 */
import { encodeAbiParameters, type Hex } from "viem";
import { BodyReadError, readBody, startDeadline, type Deadline } from "../../daemon/body.js";
import { parsePythonJson, pythonJsonDumps, pythonRepr, toPyValue, type PyValue } from "./python-json.js";
import {
  ContainerError,
  JOB_LOCATION,
  type ContainerCall,
  type ContainerDelivery,
  type ContainerInput,
  type ContainerJob,
  type InferenceContainer,
} from "./types.js";

/** The keys of an answer that carries its own input, output and proof bytes. */
export const RESPONSE_KEYS = [
  "raw_input",
  "processed_input",
  "raw_output",
  "processed_output",
  "proof",
] as const;

/** Which redirects a container may answer with: none, to its own origin, or anywhere. */
export type RedirectPolicy = "none" | "same-origin" | "any";

export interface HttpContainerOptions {
  /** The container id string (as in the subscription and in infernet-node's config). */
  id: string;
  /** Base URL of the container; jobs go to `{url}/service_output`. */
  url: string;
  /** Whole-request budget, answer included; default 180 s (infernet-node's). */
  timeoutMs?: number;
  /** Budget of a streaming job; default 60 s (infernet-node's). */
  streamTimeoutMs?: number;
  /** Largest answer body read, in bytes; default 1 MiB (infernet-node has no cap). */
  maxResponseBytes?: number;
  /** Largest `output` (and `input`, `proof`) to deliver on chain, in bytes; default 32 KiB (infernet-node has no cap). */
  maxDeliveryBytes?: number;
  /** Whether the container produces proofs (infernet-node's `generates_proofs`); default false. */
  generatesProof?: boolean;
  /** Sent as `Authorization: Bearer <bearer>` (infernet-node's `bearer`). */
  bearer?: string;
  /** Extra request headers (an API key, for instance). */
  headers?: Record<string, string>;
  /** Redirects followed; default `same-origin` (infernet-node follows any). */
  redirects?: RedirectPolicy;
  /** Refuse answers with a non-2xx status; default false (infernet-node delivers them). */
  failOnErrorStatus?: boolean;
  /** What the container does (infernet-node's `description`, shown by `/info`). */
  description?: string;
}

const MAX_REDIRECTS = 10;
/** aiohttp's `response.json()` content-type test, applied to the lower-cased header. */
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+?\+)?json/;

function checkPositive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ContainerError(
      "malformed",
      "options",
      `${field} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Python's `bytes.fromhex`: pairs of hex digits (either case), ASCII whitespace allowed between
 * pairs and around them, nothing else (`0x` is refused). Undefined when it refuses the text.
 */
export function bytesFromHex(text: string): Hex | undefined {
  let out = "0x";
  let i = 0;
  const space = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
  const hexDigit = (c: number) =>
    (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
  for (;;) {
    while (i < text.length && space(text.charCodeAt(i))) i++;
    if (i >= text.length) return out.toLowerCase() as Hex;
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if (!hexDigit(a) || !hexDigit(b)) return undefined;
    out += text[i]! + text[i + 1]!;
    i += 2;
  }
}

/**
 * The `deliverCompute` bytes of a container's parsed answer, as infernet-node serializes it.
 * @throws ContainerError (`malformed`, `status`) for an answer infernet-node does not deliver.
 */
export function serializeContainerOutput(container: string, answer: PyValue | object): ContainerDelivery {
  const value: PyValue = answer instanceof Map ? answer : toPyValue(answer);
  if (!(value instanceof Map)) {
    throw new ContainerError(
      "malformed",
      container,
      `the answer must be a JSON object, got ${pythonRepr(value).slice(0, 120)}`,
    );
  }
  const code = value.get("code");
  if (code !== undefined && code !== null && code !== "200") {
    throw new ContainerError("status", container, `the answer carries error code ${pythonRepr(code)}`);
  }
  if (RESPONSE_KEYS.every((k) => value.has(k))) {
    const fields = {} as Record<(typeof RESPONSE_KEYS)[number], Hex>;
    for (const key of RESPONSE_KEYS) {
      const raw = value.get(key)!;
      const hex = raw === null ? "0x" : typeof raw === "string" ? bytesFromHex(raw) : undefined;
      if (hex === undefined) {
        throw new ContainerError(
          "malformed",
          container,
          `${key} must be hex digits (bytes.fromhex: no 0x) or null, got ${pythonRepr(raw).slice(0, 120)}`,
        );
      }
      fields[key] = hex;
    }
    const pair = [{ type: "bytes" }, { type: "bytes" }] as const;
    return {
      input: encodeAbiParameters(pair, [fields.raw_input, fields.processed_input]),
      output: encodeAbiParameters(pair, [fields.raw_output, fields.processed_output]),
      proof: fields.proof,
    };
  }
  return {
    input: "0x",
    output: encodeAbiParameters([{ type: "string" }], [pythonRepr(value)]),
    proof: "0x",
  };
}

/** Checks the size of each delivered field against `max` bytes. */
export function checkDeliverySize(
  container: string,
  delivery: ContainerDelivery,
  max: number,
): ContainerDelivery {
  for (const key of ["input", "output", "proof"] as const) {
    const bytes = (delivery[key].length - 2) / 2;
    if (bytes > max) {
      throw new ContainerError(
        "oversized",
        container,
        `${key} is ${bytes} bytes, more than the ${max} the node delivers`,
      );
    }
  }
  return delivery;
}

/** Decodes an answer body as aiohttp does: the declared charset, else UTF-8; strict. */
function decodeBody(container: string, bytes: Uint8Array, contentType: string): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
  if (charset === undefined || ["utf-8", "utf8", "u8", "utf"].includes(charset)) {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new ContainerError("malformed", container, "the answer is not valid UTF-8");
    }
  }
  if (["ascii", "us-ascii", "646"].includes(charset)) {
    if (bytes.some((b) => b > 0x7f))
      throw new ContainerError("malformed", container, "the answer is not ASCII");
    return Buffer.from(bytes).toString("latin1");
  }
  if (["latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1"].includes(charset)) {
    return Buffer.from(bytes).toString("latin1");
  }
  throw new ContainerError(
    "malformed",
    container,
    `the answer's charset ${charset} is not supported (UTF-8, ASCII or Latin-1)`,
  );
}

/** An Infernet-compatible container reached over HTTP. */
export class HttpContainer implements InferenceContainer {
  readonly id: string;
  readonly url: string;
  readonly generatesProof: boolean;
  readonly timeoutMs: number;
  readonly streamTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxDeliveryBytes: number;
  readonly redirects: RedirectPolicy;
  readonly failOnErrorStatus: boolean;
  readonly description: string;
  private readonly headers: Record<string, string>;

  constructor(options: HttpContainerOptions) {
    if (typeof options?.id !== "string" || options.id === "" || options.id.includes(",")) {
      throw new ContainerError(
        "malformed",
        "options",
        `id must be a non-empty string without commas, got ${JSON.stringify(options?.id)}`,
      );
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ContainerError(
        "malformed",
        options.id,
        `url must be an http(s) URL, got ${JSON.stringify(options.url)}`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ContainerError(
        "malformed",
        options.id,
        `url must be an http(s) URL, got ${JSON.stringify(options.url)}`,
      );
    }
    const redirects = options.redirects ?? "same-origin";
    if (!["none", "same-origin", "any"].includes(redirects)) {
      throw new ContainerError(
        "malformed",
        options.id,
        `redirects must be none, same-origin or any, got ${JSON.stringify(options.redirects)}`,
      );
    }
    if (
      options.bearer !== undefined &&
      (typeof options.bearer !== "string" || /[\r\n]/.test(options.bearer))
    ) {
      throw new ContainerError("malformed", options.id, "bearer must be a token string on one line");
    }
    this.id = options.id;
    this.url = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    this.generatesProof = options.generatesProof ?? false;
    this.timeoutMs = checkPositive("timeoutMs", options.timeoutMs, 180_000);
    this.streamTimeoutMs = checkPositive("streamTimeoutMs", options.streamTimeoutMs, 60_000);
    this.maxResponseBytes = checkPositive("maxResponseBytes", options.maxResponseBytes, 1 << 20);
    this.maxDeliveryBytes = checkPositive("maxDeliveryBytes", options.maxDeliveryBytes, 32 * 1024);
    this.redirects = redirects;
    this.failOnErrorStatus = options.failOnErrorStatus ?? false;
    this.description = options.description ?? "";
    this.headers = {
      ...options.headers,
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
    };
  }

  /** The request body infernet-node posts for an on-chain job. */
  static requestBody(job: Pick<ContainerJob, "input" | "requiresProof">): ContainerInput {
    return {
      source: JOB_LOCATION.onchain,
      destination: JOB_LOCATION.onchain,
      data: job.input.slice(2),
      requires_proof: job.requiresProof,
    };
  }

  /** The exact bytes infernet-node (aiohttp's `json=`) posts for `input`. */
  static requestText(input: Omit<ContainerCall, "signal">): string {
    return pythonJsonDumps(
      new Map<string, PyValue>([
        ["source", BigInt(input.source)],
        ["destination", BigInt(input.destination)],
        ["data", input.data],
        ["requires_proof", input.requiresProof],
      ]),
    );
  }

  async run(job: ContainerJob): Promise<ContainerDelivery> {
    const answer = await this.call({
      source: JOB_LOCATION.onchain,
      destination: JOB_LOCATION.onchain,
      data: job.input.slice(2).toLowerCase(),
      requiresProof: job.requiresProof,
      ...(job.signal && { signal: job.signal }),
    });
    return checkDeliverySize(this.id, serializeContainerOutput(this.id, answer), this.maxDeliveryBytes);
  }

  async call(input: ContainerCall): Promise<PyValue> {
    const endpoint = `${this.url}/service_output`;
    // The deadline covers the answer and its body, and no garbage collection can detach it from
    // the read (`startDeadline`).
    const deadline = startDeadline(this.timeoutMs, {
      what: endpoint,
      ...(input.signal && { signal: input.signal }),
    });
    try {
      const response = await this.request(endpoint, "POST", HttpContainer.requestText(input), deadline);
      const bytes = await this.readBody(response, endpoint, deadline);
      if (this.failOnErrorStatus && (response.status < 200 || response.status > 299)) {
        throw new ContainerError(
          "status",
          this.id,
          `${endpoint} answered HTTP ${response.status}: ${Buffer.from(bytes.slice(0, 200)).toString("utf8")}`,
        );
      }
      const contentType = (response.headers.get("content-type") ?? "").toLowerCase();
      if (!JSON_CONTENT_TYPE.test(contentType)) {
        throw new ContainerError(
          "malformed",
          this.id,
          `${endpoint} answered with content type ${JSON.stringify(contentType)}, not JSON (application/json)`,
        );
      }
      const text = decodeBody(this.id, bytes, contentType).replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "");
      if (text === "") return null;
      try {
        return parsePythonJson(text);
      } catch (err) {
        throw new ContainerError(
          "malformed",
          this.id,
          `${endpoint} answered with invalid JSON (${(err as Error).message}): ${text.slice(0, 200)}`,
        );
      }
    } catch (err) {
      return this.fail(err, endpoint, input.signal, deadline);
    } finally {
      deadline.clear();
    }
  }

  async *stream(input: ContainerCall): AsyncIterable<Uint8Array> {
    const endpoint = `${this.url}/service_output`;
    const deadline = startDeadline(this.streamTimeoutMs, {
      what: endpoint,
      ...(input.signal && { signal: input.signal }),
    });
    // infernet-node posts a streaming job without `requires_proof`.
    const body = pythonJsonDumps(
      new Map<string, PyValue>([
        ["source", BigInt(input.source)],
        ["destination", BigInt(input.destination)],
        ["data", input.data],
      ]),
    );
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const response = await this.request(endpoint, "POST", body, deadline);
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel().catch(() => undefined);
        throw new ContainerError("status", this.id, `${endpoint} answered HTTP ${response.status}`);
      }
      reader = response.body?.getReader();
      const current = reader;
      deadline.onExpire(() => void current?.cancel().catch(() => undefined));
      let received = 0;
      while (reader) {
        const { done, value } = await deadline.race(reader.read());
        if (done) break;
        received += value.length;
        if (received > this.maxResponseBytes) {
          throw new ContainerError(
            "oversized",
            this.id,
            `${endpoint} streamed more than ${this.maxResponseBytes} bytes`,
          );
        }
        yield value;
      }
    } catch (err) {
      await reader?.cancel().catch(() => undefined);
      this.fail(err, endpoint, input.signal, deadline);
    } finally {
      deadline.clear();
    }
  }

  async resources(modelId?: string, signal?: AbortSignal): Promise<PyValue> {
    const query = modelId === undefined ? "" : `?model_id=${encodeURIComponent(modelId)}`;
    const endpoint = `${this.url}/service-resources${query}`;
    const deadline = startDeadline(Math.min(this.timeoutMs, 30_000), {
      what: endpoint,
      ...(signal && { signal }),
    });
    try {
      const response = await this.request(endpoint, "GET", undefined, deadline);
      const bytes = await this.readBody(response, endpoint, deadline);
      if (response.status < 200 || response.status > 299) {
        throw new ContainerError("status", this.id, `${endpoint} answered HTTP ${response.status}`);
      }
      return parsePythonJson(decodeBody(this.id, bytes, response.headers.get("content-type") ?? "").trim());
    } catch (err) {
      return this.fail(err, endpoint, signal, deadline);
    } finally {
      deadline.clear();
    }
  }

  private fail(err: unknown, endpoint: string, outer: AbortSignal | undefined, deadline: Deadline): never {
    if (err instanceof ContainerError) throw err;
    if (outer?.aborted) throw outer.reason;
    if (err instanceof BodyReadError && err.kind === "oversized") {
      throw new ContainerError("oversized", this.id, err.message);
    }
    if (deadline.expired) {
      throw new ContainerError(
        "timeout",
        this.id,
        `no complete answer from ${endpoint} within ${deadline.ms} ms`,
      );
    }
    if (err instanceof Error && err.name === "PyJsonError") {
      throw new ContainerError("malformed", this.id, `${endpoint}: ${err.message}`);
    }
    throw new ContainerError(
      "unreachable",
      this.id,
      `${endpoint}: ${(err as Error)?.message ?? String(err)}`,
      {
        cause: err,
      },
    );
  }

  /**
   * Sends one request, following redirects as the policy allows: 301 and 302 after a POST, and 303,
   * become a GET without a body (aiohttp's rule); 307 and 308 repeat the method and body.
   */
  private async request(
    endpoint: string,
    method: "GET" | "POST",
    body: string | undefined,
    deadline: Deadline,
  ): Promise<Response> {
    const origin = new URL(endpoint).origin;
    let url = endpoint;
    let headers: Record<string, string> = {
      ...(body !== undefined && { "content-type": "application/json" }),
      accept: "application/json",
      ...this.headers,
    };
    for (let hop = 0; ; hop++) {
      const response = await deadline.race(
        fetch(url, {
          method,
          signal: deadline.signal,
          redirect: "manual",
          headers,
          ...(body !== undefined && { body }),
        }),
      );
      if (![301, 302, 303, 307, 308].includes(response.status)) return response;
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get("location");
      if (location === null) return response;
      const next = new URL(location, url);
      if (this.redirects === "none") {
        throw new ContainerError(
          "redirect",
          this.id,
          `${url} redirected to ${next.href}; redirects are refused`,
        );
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new ContainerError("redirect", this.id, `${url} redirected to ${next.href}, not http(s)`);
      }
      if (this.redirects === "same-origin" && next.origin !== origin) {
        throw new ContainerError(
          "redirect",
          this.id,
          `${url} redirected to another origin (${next.href}); allow it with redirects: "any"`,
        );
      }
      if (hop + 1 >= MAX_REDIRECTS) {
        throw new ContainerError(
          "redirect",
          this.id,
          `more than ${MAX_REDIRECTS} redirects from ${endpoint}`,
        );
      }
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === "POST")
      ) {
        method = "GET";
        body = undefined;
        const { "content-type": _ct, ...rest } = headers;
        headers = rest;
      }
      if (next.origin !== origin) {
        // Credentials stay with the container's own origin.
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => ["content-type", "accept"].includes(k.toLowerCase())),
        );
      }
      url = next.href;
    }
  }

  /** The whole body within the request's deadline and `maxResponseBytes` (`readBody`). */
  private async readBody(response: Response, endpoint: string, deadline: Deadline): Promise<Uint8Array> {
    return readBody(response, { deadline, maxBytes: this.maxResponseBytes, what: endpoint });
  }
}
