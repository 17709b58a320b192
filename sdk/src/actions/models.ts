/**
 * The ModelRegistry: PoAI-trained models the inference marketplace serves. A model is registered
 * under a container id (the keccak256 of the Infernet container id string, as subscriptions name
 * containers) by an active trainer, with its layer widths and the keccak256 of its checkpoint
 * encoding (the weights), so that any delivered output can be recomputed exactly (PoAIVerifier).
 * `registerTrainedModel` also proves that the weights are the final checkpoint of one of the
 * trainer's own challenges that the committee judged valid. Only such a model (or one governance
 * approves) earns usage royalties; governance may also reassign or clear a record. A model whose
 * dispute could need more than `MAX_DISPUTE_GAS` (16.7M gas) is refused (`disputeGasBound`).
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash.
 */
import {
  encodeFunctionData,
  keccak256,
  type Address,
  type BlockNumber,
  type BlockTag,
  type ContractEventArgs,
  type ContractEventName,
  type Hash,
  type Hex,
  type Log,
} from "viem";
import { readContract } from "viem/actions";
import { modelRegistryAbi } from "../abi/index.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { getPastContractEvents, parseContractLogs } from "../events.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkContainerKey, checkString } from "../validate.js";
import { containerIdOf } from "./coordinator.js";

/** A registered model (`trainer == address(0)`: none under that container id). */
export interface ModelView {
  /** The keccak256 of the container id string. */
  containerId: Hex;
  /** Registered the model (or was given it by governance); address(0): none. */
  trainer: Address;
  /** keccak256 of the checkpoint encoding (engine version 1). */
  weightsHash: Hex;
  /** Inputs, hidden..., classes. */
  widths: number[];
  /** Deliveries of an inactive model are refused. */
  active: boolean;
  /** The valid challenge whose final checkpoint the weights are proven to be (zero: not bound). */
  challengeId: Hex;
  /** Governance approved its royalties (a model bound to a challenge needs no approval). */
  approved: boolean;
  /** Bumped each time governance clears the id and it is registered again. */
  generation: number;
  /** Who receives its usage royalties now (`trainerOf`): address(0) when it earns none. */
  royaltyRecipient: Address;
}

/** The most gas a dispute of a registered model may need (ModelRegistry.MAX_DISPUTE_GAS). */
export const MAX_DISPUTE_GAS = 16_700_000n;

/** Longest container id string the registry accepts. */
export const MAX_MODEL_ID_LENGTH = 256;

/** The ModelRegistry address of the deployment, or a `PoAIInputError` naming the missing field. */
export function modelRegistryAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.modelRegistry;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.modelRegistry",
      undefined,
      "the ModelRegistry address (inference verification contracts)",
    );
  }
  return address;
}

function opts(o: WriteOptions): WriteOptions {
  return o.account !== undefined ? { account: o.account } : {};
}

function checkModelId(value: unknown): string {
  const id = checkString("containerId", value);
  if (id === "" || new TextEncoder().encode(id).length > MAX_MODEL_ID_LENGTH) {
    throw new PoAIInputError("containerId", value, `a container id of 1 to ${MAX_MODEL_ID_LENGTH} bytes`);
  }
  return id;
}

function checkBytes32(
  field: string,
  value: unknown,
  what = "32 bytes as hex (0x followed by 64 hex digits)",
): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new PoAIInputError(field, value, what);
  }
  return value.toLowerCase() as Hex;
}

function checkWeightsHash(value: unknown): Hex {
  const hash = checkBytes32("weightsHash", value, "the keccak256 of the checkpoint bytes (32 bytes as hex)");
  if (/^0x0{64}$/.test(hash)) throw new PoAIInputError("weightsHash", value, "a non-zero checkpoint hash");
  return hash;
}

/** A model's container id: the bytes32 hash, or the id string (hashed as the Coordinator hashes it). */
function modelKey(value: unknown): Hex {
  return checkContainerKey("containerId", value) ?? containerIdOf(checkModelId(value));
}

function checkWidths(value: unknown): number[] {
  if (!Array.isArray(value) || value.length < 2) {
    throw new PoAIInputError("widths", value, "layer widths: inputs, hidden..., classes (at least 2)");
  }
  return value.map((w, i) => {
    if (!Number.isSafeInteger(w) || w < 1 || w > 2 ** 32 - 1)
      throw new PoAIInputError(`widths[${i}]`, w, "a positive integer width");
    return w as number;
  });
}

/** The keccak256 of checkpoint bytes: the `weightsHash` a model is registered with. Pure. */
export function weightsHashOf(checkpoint: Uint8Array): Hex {
  if (!(checkpoint instanceof Uint8Array) || checkpoint.length === 0) {
    throw new PoAIInputError("checkpoint", checkpoint, "the checkpoint's encoded bytes");
  }
  return keccak256(checkpoint);
}

// =================================================================================================
// Writes
// =================================================================================================

/**
 * Registers a model served by the sender (an active trainer) under `containerId` (the id string;
 * the registry stores its Infernet hash), with its layer widths and checkpoint hash.
 */
export async function registerModel(
  ctx: PoAIContext,
  args: { containerId: string; widths: readonly number[]; weightsHash: Hex } & WriteOptions,
): Promise<Hash> {
  const id = checkModelId(args.containerId);
  const widths = checkWidths(args.widths);
  const data = encodeFunctionData({
    abi: modelRegistryAbi,
    functionName: "registerModel",
    args: [id, widths, checkWeightsHash(args.weightsHash)],
  });
  return sendContractTransaction(ctx, {
    to: modelRegistryAddress(ctx),
    data,
    functionName: "registerModel",
    ...opts(args),
  });
}

/**
 * Registers the final checkpoint of the sender's valid challenge `challengeId` as a model: `proof`
 * is the Merkle proof of the leaf `(steps / checkpointInterval, weightsHash, parameterRoot, evalRoot)`
 * in the challenge's `resultRoot` (`RunCommitment.proof` of the final index; `parameterRoot` is
 * `byteTreeRoot` of the checkpoint bytes; `evalRoot` the final leaf's step word, the run's evaluation
 * root for a spec audited by operation sampling, `RunCommitment.stepRoots` of the final index, zero
 * or omitted otherwise); the widths are the challenge spec's.
 */
export async function registerTrainedModel(
  ctx: PoAIContext,
  args: {
    containerId: string;
    weightsHash: Hex;
    parameterRoot: Hex;
    challengeId: Hex;
    proof: readonly Hex[];
    /** The final leaf's step word: the run's evaluation root (operation-sampling specs); default zero. */
    evalRoot?: Hex;
  } & WriteOptions,
): Promise<Hash> {
  const id = checkModelId(args.containerId);
  if (!Array.isArray(args.proof)) {
    throw new PoAIInputError("proof", args.proof, "the final checkpoint's Merkle proof (bytes32[])");
  }
  const proof = args.proof.map((p, i) => checkBytes32(`proof[${i}]`, p));
  const weightsHash = checkWeightsHash(args.weightsHash);
  const parameterRoot = checkBytes32("parameterRoot", args.parameterRoot);
  const challengeId = checkBytes32("challengeId", args.challengeId);
  const evalRoot = args.evalRoot === undefined ? undefined : checkBytes32("evalRoot", args.evalRoot);
  const sampled = evalRoot !== undefined && BigInt(evalRoot) !== 0n;
  const data = sampled
    ? encodeFunctionData({
        abi: modelRegistryAbi,
        functionName: "registerTrainedModelWithEvalRoot",
        args: [id, weightsHash, parameterRoot, evalRoot, challengeId, proof],
      })
    : encodeFunctionData({
        abi: modelRegistryAbi,
        functionName: "registerTrainedModel",
        args: [id, weightsHash, parameterRoot, challengeId, proof],
      });
  return sendContractTransaction(ctx, {
    to: modelRegistryAddress(ctx),
    data,
    functionName: sampled ? "registerTrainedModelWithEvalRoot" : "registerTrainedModel",
    ...opts(args),
  });
}

/** Stops deliveries of the sender's model `containerId` (the id string or its hash). */
export async function deactivateModel(
  ctx: PoAIContext,
  args: { containerId: string | Hex } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: modelRegistryAbi,
    functionName: "deactivate",
    args: [modelKey(args.containerId)],
  });
  return sendContractTransaction(ctx, {
    to: modelRegistryAddress(ctx),
    data,
    functionName: "deactivate",
    ...opts(args),
  });
}

/**
 * Approves (or withdraws approval of) the royalties of model `containerId` (the id string or its
 * hash) that is not bound to a valid challenge. Governance only (the AccessManager's GOVERNOR).
 */
export async function approveModel(
  ctx: PoAIContext,
  args: { containerId: string | Hex; approved?: boolean } & WriteOptions,
): Promise<Hash> {
  const approved = args.approved ?? true;
  if (typeof approved !== "boolean") throw new PoAIInputError("approved", args.approved, "a boolean");
  const data = encodeFunctionData({
    abi: modelRegistryAbi,
    functionName: "setApproved",
    args: [modelKey(args.containerId), approved],
  });
  return sendContractTransaction(ctx, {
    to: modelRegistryAddress(ctx),
    data,
    functionName: "setApproved",
    ...opts(args),
  });
}

// =================================================================================================
// Reads
// =================================================================================================

/** The model registered under `containerId` (the id string or its hash); `trainer` zero if none. */
export async function getModel(
  ctx: PoAIContext,
  args: { containerId: string | Hex; blockNumber?: bigint },
): Promise<ModelView> {
  const containerId = modelKey(args.containerId);
  const address = modelRegistryAddress(ctx);
  const at = args.blockNumber !== undefined ? { blockNumber: args.blockNumber } : {};
  const [m, royaltyRecipient] = await Promise.all([
    read(address, "getModel", () =>
      readContract(ctx.publicClient, {
        address,
        abi: modelRegistryAbi,
        functionName: "getModel",
        args: [containerId],
        ...at,
      }),
    ),
    read(address, "trainerOf", () =>
      readContract(ctx.publicClient, {
        address,
        abi: modelRegistryAbi,
        functionName: "trainerOf",
        args: [containerId],
        ...at,
      }),
    ),
  ]);
  return {
    containerId,
    trainer: m.trainer,
    weightsHash: m.weightsHash,
    widths: m.widths.map(Number),
    active: m.active,
    challengeId: m.challengeId,
    approved: m.approved,
    generation: Number(m.generation),
    royaltyRecipient,
  };
}

/**
 * The most gas a dispute of an output of a model of `widths` could need (the registry refuses a
 * model above `MAX_DISPUTE_GAS`).
 */
export async function getDisputeGasBound(
  ctx: PoAIContext,
  args: { widths: readonly number[] },
): Promise<bigint> {
  const widths = checkWidths(args.widths);
  const address = modelRegistryAddress(ctx);
  return read(address, "disputeGasBound", () =>
    readContract(ctx.publicClient, {
      address,
      abi: modelRegistryAbi,
      functionName: "disputeGasBound",
      args: [widths],
    }),
  );
}

/** Whether `containerId` (the id string or its hash) is registered and takes deliveries. */
export async function isModelActive(ctx: PoAIContext, args: { containerId: string | Hex }): Promise<boolean> {
  const containerId = modelKey(args.containerId);
  const address = modelRegistryAddress(ctx);
  return read(address, "isActive", () =>
    readContract(ctx.publicClient, {
      address,
      abi: modelRegistryAbi,
      functionName: "isActive",
      args: [containerId],
    }),
  );
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a ModelRegistry event. */
export type ModelRegistryEventName = ContractEventName<typeof modelRegistryAbi>;

/** A decoded ModelRegistry event log; `eventName` discriminates `args`. */
export type ModelRegistryEvent<N extends ModelRegistryEventName = ModelRegistryEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof modelRegistryAbi, K>;
}[N];

/** Decodes the ModelRegistry events among `logs`, optionally only `eventName`. */
export function parseModelRegistryEvents<N extends ModelRegistryEventName = ModelRegistryEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): ModelRegistryEvent<N>[] {
  return parseContractLogs({
    address: modelRegistryAddress(ctx),
    abi: modelRegistryAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as ModelRegistryEvent<N>[];
}

/** Past ModelRegistry events (`fromBlock` defaults to the deployment block). */
export async function getModelRegistryEvents<N extends ModelRegistryEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: ContractEventArgs<typeof modelRegistryAbi, N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<ModelRegistryEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: modelRegistryAddress(ctx),
    abi: modelRegistryAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as ModelRegistryEvent<N>[];
}
