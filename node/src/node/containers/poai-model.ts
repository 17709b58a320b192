/**
 * The built-in container: runs a PoAI-trained integer model exactly (`infer`, the engine's own
 * forward pass), so every output it delivers is the one `IntegerMLP.forward` recomputes on chain.
 *
 * A job's input is the consumer's `getContainerInputs` bytes: the int8 input vector, one byte per
 * input (`encodeInferenceInput`). The delivery is `input` = those bytes, `output` =
 * `encodeInferenceOutput` (the label as uint32, then the output vector), `proof` empty.
 *
 * The weights come from a checkpoint (the engine's canonical encoding: step as uint64 LE, then
 * every parameter as int16 LE) given as bytes, a file or an http(s) URL, and are accepted only if
 * their keccak256 is the model's `weightsHash` (given, or read from the ModelRegistry).
 */
import { readFile, stat } from "node:fs/promises";
import { keccak256, type Hex } from "viem";
import { BodyReadError, fetchBody } from "../../daemon/body.js";
import { decodeInferenceInput, encodeInferenceOutput, infer, inferenceLayout } from "@poai/sdk/compute";
import {
  ContainerError,
  type ContainerDelivery,
  type ContainerJob,
  type InferenceContainer,
} from "./types.js";

/** Where the checkpoint bytes come from. */
export type CheckpointLocation = Uint8Array | { path: string } | { url: string; timeoutMs?: number };

export interface PoAIModelContainerOptions {
  /** The container id string; the model is registered under `keccak256(abi.encode(id))`. */
  id: string;
  /** Layer widths: inputs, hidden..., classes. */
  widths: readonly number[];
  /** The checkpoint bytes, a file, or an http(s) URL. */
  checkpoint: CheckpointLocation;
  /** keccak256 of the checkpoint bytes the model must have (the ModelRegistry's `weightsHash`). */
  weightsHash: Hex;
  /** Largest checkpoint read from a URL, in bytes; default the model's size. */
  maxCheckpointBytes?: number;
}

async function loadBytes(id: string, location: CheckpointLocation, expected: number): Promise<Uint8Array> {
  if (location instanceof Uint8Array) return location;
  if (typeof location === "object" && location !== null && "path" in location) {
    try {
      // A file larger than the model is refused before it is read (a wrong path to a big file).
      const size = (await stat(location.path)).size;
      if (size > expected)
        throw new ContainerError(
          "oversized",
          id,
          `checkpoint ${location.path} is ${size} bytes, larger than the model's ${expected}`,
        );
      return new Uint8Array(await readFile(location.path));
    } catch (err) {
      if (err instanceof ContainerError) throw err;
      throw new ContainerError(
        "failed",
        id,
        `cannot read checkpoint ${location.path}: ${(err as Error).message}`,
      );
    }
  }
  if (typeof location === "object" && location !== null && "url" in location) {
    const timeoutMs = location.timeoutMs ?? 60_000;
    let fetched: { response: Response; body: Uint8Array };
    try {
      fetched = await fetchBody(location.url, { deadlineMs: timeoutMs, maxBytes: expected });
    } catch (err) {
      if (err instanceof BodyReadError && err.kind === "oversized")
        throw new ContainerError(
          "oversized",
          id,
          `checkpoint ${location.url} is larger than ${expected} bytes`,
        );
      if (err instanceof BodyReadError && err.kind === "timeout")
        throw new ContainerError("timeout", id, `checkpoint ${location.url}: ${err.message}`);
      throw new ContainerError(
        "unreachable",
        id,
        `cannot fetch checkpoint ${location.url}: ${(err as Error).message}`,
      );
    }
    if (fetched.response.status !== 200)
      throw new ContainerError(
        "status",
        id,
        `checkpoint ${location.url} answered HTTP ${fetched.response.status}`,
      );
    return fetched.body;
  }
  throw new ContainerError("failed", id, "checkpoint must be bytes, { path } or { url }");
}

/** The parameters of checkpoint bytes of a model of `widths` (any step). */
export function checkpointParameters(id: string, widths: readonly number[], bytes: Uint8Array): Int16Array {
  const layout = inferenceLayout(widths);
  const size = 8 + 2 * layout.parameterCount;
  if (bytes.length !== size) {
    throw new ContainerError(
      "malformed",
      id,
      `checkpoint must be ${size} bytes for widths [${widths.join(", ")}], got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const weights = new Int16Array(layout.parameterCount);
  for (let i = 0; i < weights.length; i++) {
    const w = view.getInt16(8 + 2 * i, true);
    if (w === -32768)
      throw new ContainerError(
        "malformed",
        id,
        `checkpoint parameter ${i} must be in -32767..32767, got -32768`,
      );
    weights[i] = w;
  }
  return weights;
}

export class PoAIModelContainer implements InferenceContainer {
  readonly generatesProof = false;
  readonly inputs: number;
  readonly classes: number;

  private constructor(
    readonly id: string,
    readonly widths: readonly number[],
    readonly weightsHash: Hex,
    private readonly weights: Int16Array,
    /** The checkpoint encoding the weights were read from (its keccak256 is `weightsHash`). */
    readonly checkpoint: Uint8Array,
  ) {
    const layout = inferenceLayout(widths);
    this.inputs = layout.inputs;
    this.classes = layout.classes;
  }

  /**
   * Loads and checks the checkpoint. Throws a `ContainerError` when it cannot be read, does not fit
   * the widths, or hashes to anything but `weightsHash`.
   */
  static async load(options: PoAIModelContainerOptions): Promise<PoAIModelContainer> {
    const id = options.id;
    if (typeof id !== "string" || id === "" || id.includes(",")) {
      throw new ContainerError(
        "failed",
        "options",
        `id must be a non-empty string without commas, got ${JSON.stringify(id)}`,
      );
    }
    let layout;
    try {
      layout = inferenceLayout(options.widths);
    } catch (err) {
      throw new ContainerError("failed", id, `widths: ${(err as Error).message}`);
    }
    const size = 8 + 2 * layout.parameterCount;
    const bytes = await loadBytes(id, options.checkpoint, options.maxCheckpointBytes ?? size);
    const hash = keccak256(bytes);
    if (hash.toLowerCase() !== String(options.weightsHash).toLowerCase()) {
      throw new ContainerError(
        "malformed",
        id,
        `checkpoint hashes to ${hash}, the model's weightsHash is ${options.weightsHash}`,
      );
    }
    return new PoAIModelContainer(
      id,
      [...options.widths],
      hash,
      checkpointParameters(id, options.widths, bytes),
      bytes,
    );
  }

  /** The model's answer to one input vector (what `run` delivers), for callers that want it directly. */
  compute(input: Hex): Hex {
    return encodeInferenceOutput(infer(this.widths, this.weights, decodeInferenceInput(input, this.inputs)));
  }

  async run(job: ContainerJob): Promise<ContainerDelivery> {
    let output: Hex;
    try {
      output = this.compute(job.input);
    } catch (err) {
      throw new ContainerError(
        "malformed",
        this.id,
        `input ${job.input.slice(0, 80)}: ${(err as Error).message}`,
      );
    }
    return { input: job.input, output, proof: "0x" };
  }
}
