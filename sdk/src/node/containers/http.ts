/**
 * An Infernet container over HTTP: the node posts each job to `{url}/service_output` with the JSON
 * body infernet-node sends (`{ source, destination, data, requires_proof }`, the on-chain input as
 * hex without `0x`) and turns the answer into `deliverCompute` bytes the way infernet-node does:
 *
 * - an answer with all of `raw_input`, `processed_input`, `raw_output`, `processed_output` and
 *   `proof` (hex strings, `0x` optional, or null for empty) delivers
 *   `input = abi.encode(bytes raw_input, bytes processed_input)`,
 *   `output = abi.encode(bytes raw_output, bytes processed_output)` and `proof` as it is;
 * - any other JSON object delivers `output = abi.encode(string json)` (the answer as JSON text),
 *   empty input and proof.
 *
 * So an existing Infernet container works unchanged. Everything from the container is treated as
 * hostile: the request is bounded in time, the answer in size, and it must be a JSON object whose
 * fields have the types above; a non-2xx status, or a `code` other than `"200"` in the body (the
 * Infernet convention for a failed job), is a failure.
 */
import { encodeAbiParameters, isHex, type Hex } from "viem";
import { BodyReadError, fetchWithDeadline, readBody, startDeadline } from "../../daemon/body.js";
import {
  ContainerError,
  JOB_LOCATION,
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

export interface HttpContainerOptions {
  /** The container id string (as in the subscription and in infernet-node's config). */
  id: string;
  /** Base URL of the container; jobs go to `{url}/service_output`. */
  url: string;
  /** Whole-request budget, answer included; default 180 s (infernet-node's). */
  timeoutMs?: number;
  /** Largest answer body read, in bytes; default 1 MiB. */
  maxResponseBytes?: number;
  /** Largest `output` (and `input`, `proof`) to deliver on chain, in bytes; default 32 KiB. */
  maxDeliveryBytes?: number;
  /** Whether the container produces proofs (infernet-node's `generates_proofs`); default false. */
  generatesProof?: boolean;
  /** Extra request headers (an API key, for instance). */
  headers?: Record<string, string>;
}

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

/** `"ab12"` or `"0xab12"` (or null / "" for empty) as `0x` hex; undefined when it is not hex. */
function hexField(value: unknown): Hex | undefined {
  if (value === null || value === "") return "0x";
  if (typeof value !== "string") return undefined;
  const h = (value.startsWith("0x") || value.startsWith("0X") ? `0x${value.slice(2)}` : `0x${value}`) as Hex;
  return isHex(h, { strict: true }) && h.length % 2 === 0 ? (h.toLowerCase() as Hex) : undefined;
}

/**
 * The `deliverCompute` bytes of a container's JSON answer, as infernet-node serializes it.
 * @throws ContainerError (`malformed`, `status`) for an answer that is not a valid result.
 */
export function serializeContainerOutput(container: string, answer: unknown): ContainerDelivery {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    throw new ContainerError(
      "malformed",
      container,
      `the answer must be a JSON object, got ${JSON.stringify(answer)?.slice(0, 120)}`,
    );
  }
  const body = answer as Record<string, unknown>;
  if (body.code !== undefined && String(body.code) !== "200") {
    throw new ContainerError(
      "status",
      container,
      `the answer carries error code ${JSON.stringify(body.code)}`,
    );
  }
  if (RESPONSE_KEYS.every((k) => k in body)) {
    const fields = {} as Record<(typeof RESPONSE_KEYS)[number], Hex>;
    for (const key of RESPONSE_KEYS) {
      const hex = hexField(body[key]);
      if (hex === undefined) {
        throw new ContainerError(
          "malformed",
          container,
          `${key} must be a hex string (0x optional) or null, got ${JSON.stringify(body[key])?.slice(0, 120)}`,
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
    output: encodeAbiParameters([{ type: "string" }], [JSON.stringify(body)]),
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

/** An Infernet-compatible container reached over HTTP. */
export class HttpContainer implements InferenceContainer {
  readonly id: string;
  readonly url: string;
  readonly generatesProof: boolean;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxDeliveryBytes: number;
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
    this.id = options.id;
    this.url = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    this.generatesProof = options.generatesProof ?? false;
    this.timeoutMs = checkPositive("timeoutMs", options.timeoutMs, 180_000);
    this.maxResponseBytes = checkPositive("maxResponseBytes", options.maxResponseBytes, 1 << 20);
    this.maxDeliveryBytes = checkPositive("maxDeliveryBytes", options.maxDeliveryBytes, 32 * 1024);
    this.headers = { ...options.headers };
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

  async run(job: ContainerJob): Promise<ContainerDelivery> {
    const endpoint = `${this.url}/service_output`;
    // The deadline covers the answer and its body, and no garbage collection can detach it from
    // the read (`startDeadline`).
    const deadline = startDeadline(this.timeoutMs, {
      what: endpoint,
      ...(job.signal && { signal: job.signal }),
    });
    const fail = (err: unknown): never => {
      deadline.clear();
      if (err instanceof ContainerError) throw err;
      if (job.signal?.aborted) throw job.signal.reason;
      if (err instanceof BodyReadError && err.kind === "oversized")
        throw new ContainerError("oversized", this.id, err.message);
      if (deadline.expired)
        throw new ContainerError(
          "timeout",
          this.id,
          `no complete answer from ${endpoint} within ${this.timeoutMs} ms`,
        );
      throw new ContainerError(
        "unreachable",
        this.id,
        `${endpoint}: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    };
    let response: Response;
    try {
      response = await fetchWithDeadline(
        endpoint,
        {
          method: "POST",
          redirect: "error",
          headers: { "content-type": "application/json", accept: "application/json", ...this.headers },
          body: JSON.stringify(HttpContainer.requestBody(job)),
        },
        deadline,
      );
    } catch (err) {
      return fail(err);
    }
    try {
      const text = Buffer.from(
        await readBody(response, { deadline, maxBytes: this.maxResponseBytes, what: endpoint }),
      ).toString("utf8");
      deadline.clear();
      if (response.status < 200 || response.status > 299) {
        throw new ContainerError(
          "status",
          this.id,
          `${endpoint} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        );
      }
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        throw new ContainerError(
          "malformed",
          this.id,
          `${endpoint} answered with non-JSON: ${text.slice(0, 200)}`,
        );
      }
      return checkDeliverySize(this.id, serializeContainerOutput(this.id, answer), this.maxDeliveryBytes);
    } catch (err) {
      return fail(err);
    }
  }
}
