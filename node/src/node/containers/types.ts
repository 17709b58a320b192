/**
 * What the inference node hands a container and what it takes back. The shapes follow the
 * Infernet container API (Ritual infernet-node): a job's input goes to a container as
 * `{ source, destination, data, requires_proof }`, and the container's answer becomes the
 * `(input, output, proof)` bytes of `deliverCompute`.
 */
import type { Hex } from "viem";
import type { PyValue } from "./python-json.js";

/** Where a job's data comes from and goes to (Infernet's `JobLocation`). */
export const JOB_LOCATION = { onchain: 0, offchain: 1, stream: 2 } as const;
export type JobLocation = (typeof JOB_LOCATION)[keyof typeof JOB_LOCATION];

/** The JSON body a container receives on `POST /service_output` (Infernet's `ContainerInput`). */
export interface ContainerInput {
  source: JobLocation;
  destination: JobLocation;
  /** On-chain jobs: the consumer's `getContainerInputs` bytes as hex without `0x`, as infernet-node sends them. */
  data: unknown;
  requires_proof: boolean;
}

/** One delivery the node asks a container for. */
export interface ContainerJob {
  /** The container id string (the subscription's `containerId` is `keccak256(abi.encode(id))`). */
  containerId: string;
  subscriptionId: number;
  interval: number;
  /** The consumer's `getContainerInputs(subscriptionId, interval, timestamp, node)`. */
  input: Hex;
  requiresProof: boolean;
  signal?: AbortSignal;
}

/** The bytes of a `deliverCompute` call. */
export interface ContainerDelivery {
  input: Hex;
  output: Hex;
  proof: Hex;
}

/** A compute container the node runs jobs on: an Infernet HTTP container or a built-in one. */
export interface InferenceContainer {
  /** The container id string; subscriptions name `keccak256(abi.encode(id))`. */
  readonly id: string;
  /** Whether the container can produce a proof (a subscription with a verifier needs one). */
  readonly generatesProof: boolean;
  /** Runs one job. Throws a `ContainerError` when the container fails or answers badly. */
  run(job: ContainerJob): Promise<ContainerDelivery>;
  /**
   * Posts one container input and returns the parsed JSON answer (Python's view of it), whatever
   * it holds. Containers with `call` can be chained (`"a,b"`) and serve off-chain jobs.
   */
  call?(input: ContainerCall): Promise<PyValue>;
  /** Streams the answer to an off-chain streaming job (`destination` 2). */
  stream?(input: ContainerCall): AsyncIterable<Uint8Array>;
  /** The container's `/service-resources` answer (`modelId`: whether it serves that model). */
  resources?(modelId?: string, signal?: AbortSignal): Promise<PyValue>;
  /** Releases what the container holds (optional). */
  close?(): Promise<void>;
}

/** One input posted to a container (infernet-node's `ContainerInput`, `data` any JSON value). */
export interface ContainerCall {
  source: JobLocation;
  destination: JobLocation;
  data: PyValue;
  requiresProof: boolean;
  signal?: AbortSignal;
}

/**
 * Why a container produced no delivery: `unreachable` (connection failed), `timeout`, `status`
 * (an error `code` in the body, or a non-2xx answer where the node is told to refuse those),
 * `redirect` (a redirect the node does not follow), `oversized` (more bytes than allowed),
 * `malformed` (not the container API's JSON), `failed` (a built-in container's own failure).
 */
export type ContainerFailureKind =
  "unreachable" | "timeout" | "status" | "redirect" | "oversized" | "malformed" | "failed";

export class ContainerError extends Error {
  override readonly name = "ContainerError";
  constructor(
    readonly kind: ContainerFailureKind,
    readonly container: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`container ${container}: ${message}`, options);
  }
}
