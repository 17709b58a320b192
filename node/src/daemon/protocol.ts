/**
 * The checkpoint protocol between a trainer's checkpoint server and the validators that audit it.
 *
 *   GET {endpoint}/v1/challenges/{id}                      -> 200 JSON RunInfo
 *   GET {endpoint}/v1/challenges/{id}/checkpoints/{index}  -> 200 application/octet-stream
 *       body:   encodeCheckpoint(spec, checkpoint i), exactly modelLayout(spec).checkpointBytes long
 *       header: x-poai-checkpoint-hash  keccak256 of the body
 *       header: x-poai-parameter-root   the root of the body's byte tree (the leaf's third word)
 *       header: x-poai-step-root        the step-state root of the segment starting here (the
 *               leaf's fourth word; absent: zero, what a run audited by segment replay commits)
 *       header: x-poai-merkle-proof     the leaf's Merkle proof, comma-separated 32-byte hex
 *       header: x-poai-next-checkpoint-hash, x-poai-next-parameter-root, x-poai-next-step-root,
 *               x-poai-next-merkle-proof
 *               (optional) the hash, parameter root, step root and proof of checkpoint index + 1: all a
 *               validator needs of the end of a segment that starts here, so one request serves
 *               a sampled segment
 *   HEAD {endpoint}/v1/challenges/{id}/checkpoints/{index} -> the same headers, no body: what a
 *       validator asks for a checkpoint whose hash it needs but not its bytes (the end of a
 *       sampled segment: the replay's hash is compared with the committed one)
 *   404 for an unknown challenge or index, 410 once the trainer pruned the run.
 *
 * `endpoint` is the URL the trainer registered in Staking (`metadataOf(trainer).endpoint`).
 * The client side treats every byte from the trainer as hostile: it bounds time and size, and
 * accepts a checkpoint only once its bytes hash to a leaf proven under the committed root: the
 * leaf holds both the bytes' keccak256 and the root of their byte tree, each computed from the
 * received bytes, so a checkpoint whose committed parameter root is not its own is refused; and a
 * step root served other than the committed one is refused like a wrong hash (the leaf's proof fails).
 *
 *   POST {endpoint}/v1/challenges/{id}/samples             -> 200 JSON SampleAnswers
 *       body: JSON { segment, samples: [{ step, slot, byte }, …] } (at most MAX_SAMPLES_PER_REQUEST)
 *       the trainer's answers to operation samples of segment `segment` (`answerSample`), checked
 *       by the validator against the step root of the segment's start leaf (node/src/verifier/sampling.ts)
 */
import { isHex, size, zeroHash, type Hex } from "viem";
import {
  CheckpointError,
  decodeCheckpoint,
  keccak256Bytes,
  loadFastKeccak,
  modelLayout,
  verifyCheckpointProof,
  byteTreeRoot,
  type Checkpoint,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { BodyReadError, fetchWithDeadline, readBody, startDeadline, type Deadline } from "./body.js";
import { httpError, json, type Route } from "./http.js";

export const CHECKPOINT_HASH_HEADER = "x-poai-checkpoint-hash";
export const MERKLE_PROOF_HEADER = "x-poai-merkle-proof";
export const PARAMETER_ROOT_HEADER = "x-poai-parameter-root";
export const NEXT_HASH_HEADER = "x-poai-next-checkpoint-hash";
export const NEXT_ROOT_HEADER = "x-poai-next-parameter-root";
export const NEXT_PROOF_HEADER = "x-poai-next-merkle-proof";
export const STEP_ROOT_HEADER = "x-poai-step-root";
export const NEXT_STEP_ROOT_HEADER = "x-poai-next-step-root";
export const CHECKPOINT_CONTENT_TYPE = "application/octet-stream";
/** A proof never needs more siblings than this (trees of at most 2^20 + 1 leaves). */
export const MAX_PROOF_LENGTH = 24;

export function runPath(id: Hex): string {
  return `/v1/challenges/${id}`;
}

export function checkpointPath(id: Hex, index: number): string {
  return `/v1/challenges/${id}/checkpoints/${index}`;
}

/** What a checkpoint server says about one of its runs. */
export interface RunInfo {
  id: Hex;
  round: string;
  specId: Hex;
  root: Hex;
  /** Checkpoints in the run (segments + 1). */
  checkpoints: number;
}

/**
 * One checkpoint as served: its encoded bytes, their hash, the root of their byte tree and the
 * Merkle proof of its leaf.
 */
export interface ServedCheckpoint {
  bytes: Uint8Array;
  hash: Hex;
  parameterRoot: Hex;
  /** The committed step-state root of the segment starting here (absent: zero, none committed). */
  stepRoot?: Hex;
  proof: readonly Hex[];
  /** The hash, parameter root, step root and proof of the next checkpoint (index + 1), where the run has one. */
  next?: { hash: Hex; parameterRoot: Hex; stepRoot?: Hex; proof: readonly Hex[] };
}

/** Where a checkpoint server reads runs from (the trainer daemon's store). */
export interface CheckpointSource {
  /** The run of challenge `id`; `"pruned"` once it was deleted, `undefined` if never held. */
  run(id: Hex): RunInfo | "pruned" | undefined;
  /** Checkpoint `index` of challenge `id`, or `undefined` when it is not served. */
  checkpoint(id: Hex, index: number): ServedCheckpoint | undefined | Promise<ServedCheckpoint | undefined>;
}

const ID = /^0x[0-9a-fA-F]{64}$/;

/** The checkpoint server's routes over `source`. */
export function checkpointRoutes(source: CheckpointSource): Route[] {
  const lookup = (idText: string) => {
    if (!ID.test(idText))
      return httpError(400, `challenge id must be 32-byte hex, got ${idText.slice(0, 80)}`);
    const id = idText.toLowerCase() as Hex;
    const run = source.run(id);
    if (run === "pruned") return httpError(410, `challenge ${id} was pruned after its dispute window`);
    if (run === undefined) return httpError(404, `no run for challenge ${id}`);
    return run;
  };
  return [
    {
      method: "GET",
      path: "/v1/challenges/:id",
      handler: ({ params }) => {
        const run = lookup(params.id);
        return "status" in run ? run : json(200, run);
      },
    },
    {
      method: "GET",
      path: "/v1/challenges/:id/checkpoints/:index",
      handler: async ({ params }) => {
        const run = lookup(params.id);
        if ("status" in run) return run;
        if (!/^\d{1,8}$/.test(params.index) || Number(params.index) >= run.checkpoints) {
          return httpError(
            404,
            `checkpoint index must be in 0..${run.checkpoints - 1}, got ${params.index.slice(0, 20)}`,
          );
        }
        const served = await source.checkpoint(run.id, Number(params.index));
        if (!served) return httpError(404, `checkpoint ${params.index} of ${run.id} is not available`);
        return {
          status: 200,
          headers: {
            "content-type": CHECKPOINT_CONTENT_TYPE,
            [CHECKPOINT_HASH_HEADER]: served.hash,
            [PARAMETER_ROOT_HEADER]: served.parameterRoot,
            ...(served.stepRoot && { [STEP_ROOT_HEADER]: served.stepRoot }),
            [MERKLE_PROOF_HEADER]: served.proof.join(","),
            ...(served.next && {
              [NEXT_HASH_HEADER]: served.next.hash,
              [NEXT_ROOT_HEADER]: served.next.parameterRoot,
              ...(served.next.stepRoot && { [NEXT_STEP_ROOT_HEADER]: served.next.stepRoot }),
              [NEXT_PROOF_HEADER]: served.next.proof.join(","),
            }),
            "cache-control": "public, max-age=31536000, immutable",
          },
          body: served.bytes,
        };
      },
    },
  ];
}

// --- client ----------------------------------------------------------------------------------------

/**
 * Why a checkpoint could not be had. `unproven`: bytes came, but not the committed checkpoint.
 * `malformed`: the bytes are the committed checkpoint, yet not a valid checkpoint of the spec
 * (wrong step, parameters out of range): the trainer committed to garbage, which is evidence of an
 * invalid run rather than of withholding.
 */
export type FetchFailureKind = "unreachable" | "timeout" | "status" | "oversized" | "unproven" | "malformed";

export class CheckpointFetchError extends Error {
  override readonly name = "CheckpointFetchError";
  constructor(
    readonly kind: FetchFailureKind,
    readonly url: string,
    message: string,
  ) {
    super(`${url}: ${message}`);
  }
}

export interface FetchCheckpointArgs {
  /** The trainer's registered endpoint (scheme, host, port, optional base path). */
  endpoint: string;
  id: Hex;
  index: number;
  spec: TrainingSpec;
  /** The committed result root the checkpoint must be proven under. */
  root: Hex;
  /** Whole-request budget, headers and body; default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A checkpoint proven under the committed root. */
export interface ProvenCheckpoint {
  index: number;
  hash: Hex;
  /** Root of the checkpoint's byte tree, computed from the bytes and proven in the leaf. */
  parameterRoot: Hex;
  /** The step-state root proven in the leaf (zero where none is committed). */
  stepRoot: Hex;
  checkpoint: Checkpoint;
  bytes: number;
  /** The leaf's Merkle proof under the root (what the ModelRegistry checks a final checkpoint with). */
  proof: Hex[];
  /**
   * The next checkpoint's hash, when the server sent it and it is proven under the root too
   * (absent otherwise: a malformed or unproven next hash is ignored, never held against the
   * checkpoint itself).
   */
  next?: ProvenHash;
}

/** The step root a response names (`name`: this checkpoint's or the next one's header); zero if absent. */
function parseStepRoot(headers: Headers, name: string, url: string): Hex {
  const text = headers.get(name)?.trim();
  if (text === undefined || text === "") return zeroHash;
  if (!isHex(text, { strict: true }) || size(text) !== 32)
    throw new CheckpointFetchError("unproven", url, `${name} must be 32-byte hex, got ${text.slice(0, 80)}`);
  return text.toLowerCase() as Hex;
}

function parseProof(text: string | null, url: string): Hex[] {
  if (text === null || text.trim() === "") return [];
  if (text.length > MAX_PROOF_LENGTH * 67) {
    throw new CheckpointFetchError(
      "unproven",
      url,
      `${MERKLE_PROOF_HEADER} is ${text.length} characters, longer than any valid proof`,
    );
  }
  return text.split(",").map((part, i) => {
    const h = part.trim();
    if (!isHex(h, { strict: true }) || size(h) !== 32) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `${MERKLE_PROOF_HEADER}[${i}] must be 32-byte hex, got ${h.slice(0, 80)}`,
      );
    }
    return h;
  });
}

/** Joins a registered endpoint and a protocol path (keeps a base path, drops a trailing slash). */
export function endpointUrl(endpoint: string, path: string): string {
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    throw new CheckpointFetchError(
      "unreachable",
      endpoint,
      `endpoint must be an http(s) URL, got ${JSON.stringify(endpoint.slice(0, 200))}`,
    );
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new CheckpointFetchError(
      "unreachable",
      endpoint,
      `endpoint must be an http(s) URL, got protocol ${base.protocol}`,
    );
  }
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${path}`;
}

/**
 * One bounded request for checkpoint `args.index`: a deadline of `timeoutMs` for the answer and its
 * body (`startDeadline`, which no garbage collection can detach from the read); errors come back as
 * CheckpointFetchError. The caller reads the body with `deadline` and clears it.
 */
async function requestCheckpoint(
  args: FetchCheckpointArgs,
  method: "GET" | "HEAD",
): Promise<{ url: string; response: Response; deadline: Deadline; fail: (err: unknown) => never }> {
  const url = endpointUrl(args.endpoint, checkpointPath(args.id, args.index));
  const timeoutMs = args.timeoutMs ?? 10_000;
  const deadline = startDeadline(timeoutMs, { what: url, ...(args.signal && { signal: args.signal }) });
  const fail = (err: unknown): never => {
    deadline.clear();
    if (err instanceof CheckpointFetchError) throw err;
    if (args.signal?.aborted) throw args.signal.reason;
    if (err instanceof BodyReadError) {
      if (err.kind === "oversized") throw new CheckpointFetchError("oversized", url, err.message);
      if (err.kind === "timeout")
        throw new CheckpointFetchError("timeout", url, `no complete answer within ${timeoutMs} ms`);
    }
    if (deadline.expired)
      throw new CheckpointFetchError("timeout", url, `no complete answer within ${timeoutMs} ms`);
    throw new CheckpointFetchError("unreachable", url, (err as Error)?.message ?? String(err));
  };
  let response: Response;
  try {
    response = await fetchWithDeadline(
      url,
      { method, redirect: "error", headers: { accept: CHECKPOINT_CONTENT_TYPE } },
      deadline,
    );
  } catch (err) {
    return fail(err);
  }
  return { url, response, deadline, fail };
}

/**
 * Fetches checkpoint `index` of challenge `id` from the trainer and proves it under `root`.
 * Reads at most the spec's checkpoint size (+1 byte to detect more), within `timeoutMs`.
 * @throws CheckpointFetchError with the failure kind; never anything else for bad remote data.
 */
export async function fetchCheckpoint(args: FetchCheckpointArgs): Promise<ProvenCheckpoint> {
  const layout = modelLayout(args.spec);
  const keccakReady = loadFastKeccak(); // never rejects; loads once, while the request runs
  const { url, response, deadline, fail } = await requestCheckpoint(args, "GET");
  try {
    if (response.status !== 200) {
      throw new CheckpointFetchError("status", url, `answered HTTP ${response.status}`);
    }
    const declared = response.headers.get("content-length");
    if (declared !== null && Number(declared) > layout.checkpointBytes) {
      throw new CheckpointFetchError(
        "oversized",
        url,
        `content-length ${declared} exceeds the spec's ${layout.checkpointBytes} bytes`,
      );
    }
    const proof = parseProof(response.headers.get(MERKLE_PROOF_HEADER), url);
    const stepRoot = parseStepRoot(response.headers, STEP_ROOT_HEADER, url);
    const body = await readBody(response, { deadline, maxBytes: layout.checkpointBytes, what: url });
    const received = body.byteLength;
    if (received !== layout.checkpointBytes) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `body is ${received} bytes, the spec's checkpoints are ${layout.checkpointBytes}`,
      );
    }
    await keccakReady;
    const hash = keccak256Bytes(body);
    // Both words of the leaf come from the bytes received: a checkpoint whose committed
    // parameter root is not its own byte tree's is refused like one whose hash differs.
    const parameterRoot = byteTreeRoot(body);
    if (!verifyCheckpointProof(args.root, args.index, hash, parameterRoot, proof, stepRoot)) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `checkpoint ${args.index} (hash ${hash}, parameter root ${parameterRoot}, step root ${stepRoot}) is not proven under root ${args.root}`,
      );
    }
    let checkpoint: Checkpoint;
    try {
      checkpoint = decodeCheckpoint(args.spec, body);
    } catch (err) {
      if (err instanceof CheckpointError) throw new CheckpointFetchError("malformed", url, err.message);
      throw err;
    }
    const next = provenNext(response.headers, args);
    deadline.clear();
    return {
      index: args.index,
      hash,
      parameterRoot,
      stepRoot,
      checkpoint,
      bytes: received,
      proof,
      ...(next && { next }),
    };
  } catch (err) {
    return fail(err);
  }
}

/** The committed hash and parameter root of one checkpoint, proven under the root without its bytes. */
export interface ProvenHash {
  index: number;
  hash: Hex;
  parameterRoot: Hex;
  /** The step-state root proven in the leaf (zero where none is committed). */
  stepRoot: Hex;
  /** The leaf's Merkle proof under the root. */
  proof: Hex[];
}

/**
 * Asks the trainer for checkpoint `index`'s hash and Merkle proof only (HEAD: the headers of the
 * checkpoint, no body) and proves the hash under `root`. A validator needs no more of a sampled
 * segment's end checkpoint: the replay's hash must equal the committed one.
 * @throws CheckpointFetchError with the failure kind; never anything else for bad remote data.
 */
export async function fetchCheckpointHash(args: FetchCheckpointArgs): Promise<ProvenHash> {
  const layout = modelLayout(args.spec);
  const keccakReady = loadFastKeccak();
  const { url, response, deadline, fail } = await requestCheckpoint(args, "HEAD");
  try {
    await response.body?.cancel().catch(() => undefined);
    if (response.status !== 200) {
      throw new CheckpointFetchError("status", url, `answered HTTP ${response.status}`);
    }
    const declared = response.headers.get("content-length");
    if (declared !== null && Number(declared) > layout.checkpointBytes) {
      throw new CheckpointFetchError(
        "oversized",
        url,
        `content-length ${declared} exceeds the spec's ${layout.checkpointBytes} bytes`,
      );
    }
    const hash = response.headers.get(CHECKPOINT_HASH_HEADER)?.trim() ?? "";
    if (!isHex(hash, { strict: true }) || size(hash) !== 32) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `${CHECKPOINT_HASH_HEADER} must be 32-byte hex, got ${JSON.stringify(hash.slice(0, 80))}`,
      );
    }
    const parameterRoot = response.headers.get(PARAMETER_ROOT_HEADER)?.trim() ?? "";
    if (!isHex(parameterRoot, { strict: true }) || size(parameterRoot) !== 32) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `${PARAMETER_ROOT_HEADER} must be 32-byte hex, got ${JSON.stringify(parameterRoot.slice(0, 80))}`,
      );
    }
    const proof = parseProof(response.headers.get(MERKLE_PROOF_HEADER), url);
    const stepRoot = parseStepRoot(response.headers, STEP_ROOT_HEADER, url);
    await keccakReady;
    if (!verifyCheckpointProof(args.root, args.index, hash, parameterRoot, proof, stepRoot)) {
      throw new CheckpointFetchError(
        "unproven",
        url,
        `checkpoint ${args.index} (hash ${hash}, parameter root ${parameterRoot}, step root ${stepRoot}) is not proven under root ${args.root}`,
      );
    }
    deadline.clear();
    return {
      index: args.index,
      hash: hash.toLowerCase() as Hex,
      parameterRoot: parameterRoot.toLowerCase() as Hex,
      stepRoot,
      proof,
    };
  } catch (err) {
    return fail(err);
  }
}

/** The next checkpoint's hash from a checkpoint response's headers, if sent and proven. */
function provenNext(headers: Headers, args: FetchCheckpointArgs): ProvenHash | undefined {
  const hash = headers.get(NEXT_HASH_HEADER)?.trim();
  if (hash === undefined || !isHex(hash, { strict: true }) || size(hash) !== 32) return undefined;
  const parameterRoot = headers.get(NEXT_ROOT_HEADER)?.trim();
  if (parameterRoot === undefined || !isHex(parameterRoot, { strict: true }) || size(parameterRoot) !== 32)
    return undefined;
  let proof: Hex[];
  let stepRoot: Hex;
  try {
    proof = parseProof(headers.get(NEXT_PROOF_HEADER), "next");
    stepRoot = parseStepRoot(headers, NEXT_STEP_ROOT_HEADER, "next");
  } catch {
    return undefined;
  }
  const index = args.index + 1;
  return verifyCheckpointProof(args.root, index, hash, parameterRoot, proof, stepRoot)
    ? {
        index,
        hash: hash.toLowerCase() as Hex,
        parameterRoot: parameterRoot.toLowerCase() as Hex,
        stepRoot,
        proof,
      }
    : undefined;
}
