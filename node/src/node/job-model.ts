/**
 * `fetchJobModel`: a completed job's model, downloaded from the winning trainer's checkpoint server
 * and proven against the chain before it is handed back (Node: it speaks HTTP to the trainer).
 */
import { zeroHash, type Address, type Hex } from "viem";
import {
  challengeId,
  getChallenge,
  getJob,
  getModel,
  getOperator,
  getSpec,
  PoAIInputError,
  type PoAIContext,
} from "@poai/sdk";
import { encodeCheckpoint, keccak256Bytes, type TrainingSpec } from "@poai/sdk/compute";
import { fetchCheckpoint } from "../daemon/protocol.js";
import { PoAIModelContainer } from "./containers/poai-model.js";

/** A completed job's model, proven: the final checkpoint's bytes, hash and Merkle proof under the run's root. */
export interface JobModel {
  jobId: bigint;
  spec: TrainingSpec;
  /** The winning run (its challenge id) and its committed root. */
  challengeId: Hex;
  root: Hex;
  trainer: Address;
  index: number;
  weightsHash: Hex;
  /** Root of the checkpoint's byte tree (the third word of its leaf). */
  parameterRoot: Hex;
  /**
   * The fourth word of its leaf: the run's evaluation root for a run audited by operation sampling
   * (docs/verifier.md, "The score"), zero otherwise; `registerJobModel` takes it as it is.
   */
  evalRoot: Hex;
  proof: readonly Hex[];
  /** The checkpoint encoding (`encodeCheckpoint(spec, ...)`): what the ModelRegistry's weights hash is of. */
  bytes: Uint8Array;
}

/**
 * Fetches completed job `jobId`'s model from the winning trainer's checkpoint server (its endpoint
 * in Staking, or `endpoint`) and proves it: the bytes must hash to the leaf of the final checkpoint
 * under the run's root on chain, and, once the model is registered, to its weights hash. Throws
 * `PoAIInputError` for a job that is not completed, `CheckpointFetchError` for a server whose
 * answer does not prove out.
 */
export async function fetchJobModel(
  ctx: PoAIContext,
  args: { jobId: bigint | number; endpoint?: string; timeoutMs?: number },
): Promise<JobModel> {
  const job = await getJob(ctx, args);
  if (job.state !== "Completed") {
    throw new PoAIInputError("jobId", args.jobId, `a completed job (job ${job.id} is ${job.state})`);
  }
  const id = challengeId(job.winner, job.winnerRound);
  const [challenge, spec] = await Promise.all([
    getChallenge(ctx, { id }),
    getSpec(ctx, { specId: job.specId }),
  ]);
  const endpoint = args.endpoint ?? (await getOperator(ctx, { operator: job.winner })).endpoint;
  const index = spec.steps / spec.checkpointInterval;
  const proven = await fetchCheckpoint({
    endpoint,
    id,
    index,
    spec,
    root: challenge.resultRoot,
    ...(args.timeoutMs !== undefined && { timeoutMs: args.timeoutMs }),
  });
  const bytes = encodeCheckpoint(spec, proven.checkpoint);
  const weightsHash = keccak256Bytes(bytes);
  if (weightsHash !== proven.hash)
    throw new Error(`checkpoint re-encoding changed its hash (${proven.hash})`);
  if (job.containerId !== zeroHash) {
    const model = await getModel(ctx, { containerId: job.containerId });
    if (model.weightsHash.toLowerCase() !== weightsHash.toLowerCase()) {
      throw new Error(
        `job ${job.id}'s registered weights hash ${model.weightsHash} is not the proven ${weightsHash}`,
      );
    }
  }
  return {
    jobId: job.id,
    spec,
    challengeId: id,
    root: challenge.resultRoot,
    trainer: job.winner,
    index,
    weightsHash,
    parameterRoot: proven.parameterRoot,
    evalRoot: proven.stepRoot,
    proof: proven.proof,
    bytes,
  };
}

/** The ModelRegistry's container id of job `jobId`'s model. */
export const jobContainerId = (jobId: bigint | number): string => `job/${BigInt(jobId)}`;

/**
 * The built-in container that serves completed job `jobId`'s model as `job/<jobId>` (what an
 * inference node sells): the checkpoint fetched from the winning trainer and proven by
 * `fetchJobModel` (under the run's root and against the registered weights hash). Throws
 * `PoAIInputError` for a job whose model is not registered yet (`poai job fetch --register`).
 */
export async function loadJobModelContainer(
  ctx: PoAIContext,
  args: { jobId: bigint | number; endpoint?: string; timeoutMs?: number },
): Promise<PoAIModelContainer> {
  const job = await getJob(ctx, args);
  if (job.state === "Completed" && job.containerId === zeroHash) {
    throw new PoAIInputError(
      "jobId",
      args.jobId,
      `a job whose model is registered (job ${job.id}'s model is not: \`poai job fetch --job ${job.id} --register\`)`,
    );
  }
  const model = await fetchJobModel(ctx, args);
  return PoAIModelContainer.load({
    id: jobContainerId(model.jobId),
    widths: model.spec.widths,
    checkpoint: model.bytes,
    weightsHash: model.weightsHash,
  });
}
