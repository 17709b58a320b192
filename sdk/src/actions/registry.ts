/**
 * TaskRegistry actions: the training specs PoAI challenges run. Governance registers a spec with
 * the parameters its judgment needs, then activates or retires it; a change of the active set
 * takes effect at the next round. Anyone reads specs, their parameters, and the spec a challenge
 * of a round trains.
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash.
 */
import { encodeFunctionData, type Address, type ContractFunctionReturnType, type Hash, type Hex } from "viem";
import { readContract } from "viem/actions";
import { taskRegistryAbi } from "../abi/index.js";
import { TrainingSpecError, validateSpec, type TrainingSpec } from "../compute/spec.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { checkBytes32, checkRound, checkSmallUint } from "../poai/validate.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { currentEpoch } from "./staking.js";

/** What the judgment engine needs to know about a spec (the `SpecParams` struct). */
export type SpecParams = ContractFunctionReturnType<typeof taskRegistryAbi, "view", "specParams">;

/** Longest response deadline a spec may have (`TaskRegistry.MAX_DEADLINE`, 30 days). */
export const MAX_RESPONSE_DEADLINE = 30 * 24 * 3600;

/** The TaskRegistry address of the deployment, or a `PoAIInputError` naming the missing field. */
export function taskRegistryAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.taskRegistry;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.taskRegistry",
      undefined,
      "the TaskRegistry address (this deployment has no Proof-of-AI contracts)",
    );
  }
  return address;
}

/** A spec the engine can run, as the contract's struct; refused with a `PoAIInputError` naming `spec.<field>`. */
function checkSpec(spec: unknown): TrainingSpec {
  try {
    return validateSpec(spec as TrainingSpec);
  } catch (err) {
    if (err instanceof TrainingSpecError) {
      const field = err.field === "spec" ? "spec" : `spec.${err.field}`;
      throw new PoAIInputError(field, err.value, `a runnable training spec (${err.message})`);
    }
    throw err;
  }
}

/** Judgment parameters within the contract's bounds. */
function checkSpecParams(params: unknown): SpecParams {
  if (typeof params !== "object" || params === null) {
    throw new PoAIInputError(
      "params",
      params,
      "an object { responseDeadline, minScoreBps, maxScoreBps, auditSamples }",
    );
  }
  const p = params as Record<string, unknown>;
  const responseDeadline = checkSmallUint(
    "params.responseDeadline",
    p.responseDeadline,
    1,
    MAX_RESPONSE_DEADLINE,
  );
  const maxScoreBps = checkSmallUint("params.maxScoreBps", p.maxScoreBps, 0, 10_000);
  const minScoreBps = checkSmallUint("params.minScoreBps", p.minScoreBps, 0, maxScoreBps);
  const auditSamples = checkSmallUint("params.auditSamples", p.auditSamples, 1, 256);
  return { responseDeadline, minScoreBps, maxScoreBps, auditSamples };
}

function sendRegistry(
  ctx: PoAIContext,
  functionName: string,
  data: Hex,
  options: WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: taskRegistryAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

// =================================================================================================
// Writes (governance; each returns the transaction hash)
// =================================================================================================

/**
 * Stores `spec` with its judgment `params` (the governor's role). Its id is `specId(spec)` from
 * `@poai/sdk/compute`, the same `keccak256(abi.encode(spec))` the contract computes. The spec is
 * checked with the engine's `validateSpec` first, so a spec no node could run is never registered.
 */
export async function registerSpec(
  ctx: PoAIContext,
  args: { spec: TrainingSpec; params: SpecParams } & WriteOptions,
): Promise<Hash> {
  const spec = checkSpec(args.spec);
  const params = checkSpecParams(args.params);
  const data = encodeFunctionData({
    abi: taskRegistryAbi,
    functionName: "registerSpec",
    args: [spec, params],
  });
  return sendRegistry(ctx, "registerSpec", data, args);
}

/** Replaces a registered spec's judgment parameters (they apply to judgments made from then on). */
export async function setSpecParams(
  ctx: PoAIContext,
  args: { specId: Hex; params: SpecParams } & WriteOptions,
): Promise<Hash> {
  const specId = checkBytes32("specId", args.specId);
  const params = checkSpecParams(args.params);
  const data = encodeFunctionData({
    abi: taskRegistryAbi,
    functionName: "setSpecParams",
    args: [specId, params],
  });
  return sendRegistry(ctx, "setSpecParams", data, args);
}

/** Adds a registered spec to the active set from the next round on. */
export async function activateSpec(ctx: PoAIContext, args: { specId: Hex } & WriteOptions): Promise<Hash> {
  const specId = checkBytes32("specId", args.specId);
  const data = encodeFunctionData({ abi: taskRegistryAbi, functionName: "activate", args: [specId] });
  return sendRegistry(ctx, "activate", data, args);
}

/** Removes a spec from the active set from the next round on. */
export async function retireSpec(ctx: PoAIContext, args: { specId: Hex } & WriteOptions): Promise<Hash> {
  const specId = checkBytes32("specId", args.specId);
  const data = encodeFunctionData({ abi: taskRegistryAbi, functionName: "retire", args: [specId] });
  return sendRegistry(ctx, "retire", data, args);
}

// =================================================================================================
// Reads
// =================================================================================================

/** The training spec stored under `specId`, in the SDK's `TrainingSpec` shape (reverts `UnknownSpec`). */
export async function getSpec(ctx: PoAIContext, args: { specId: Hex }): Promise<TrainingSpec> {
  const specId = checkBytes32("specId", args.specId);
  const address = taskRegistryAddress(ctx);
  const s = await read(address, "getSpec", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "getSpec",
      args: [specId],
    }),
  );
  return {
    version: s.version,
    widths: [...s.widths],
    batchSize: s.batchSize,
    steps: s.steps,
    checkpointInterval: s.checkpointInterval,
    lrShift: s.lrShift,
    evalSize: s.evalSize,
  };
}

/** The judgment parameters of `specId`: response deadline, score band, audit samples per member. */
export async function getSpecParams(ctx: PoAIContext, args: { specId: Hex }): Promise<SpecParams> {
  const specId = checkBytes32("specId", args.specId);
  const address = taskRegistryAddress(ctx);
  return read(address, "specParams", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "specParams",
      args: [specId],
    }),
  );
}

/** Whether `specId` is registered. */
export async function isSpecRegistered(ctx: PoAIContext, args: { specId: Hex }): Promise<boolean> {
  const specId = checkBytes32("specId", args.specId);
  const address = taskRegistryAddress(ctx);
  return read(address, "isRegistered", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "isRegistered",
      args: [specId],
    }),
  );
}

/**
 * The specs active in `round` (default: the current round). Fixed once the round has started;
 * for the next round it shows the set as changed so far. Reverts `NoActiveSpec` before any set exists.
 */
export async function getActiveSpecs(
  ctx: PoAIContext,
  args: { round?: bigint | number } = {},
): Promise<readonly Hex[]> {
  const round = args.round === undefined ? await currentEpoch(ctx) : checkRound("round", args.round);
  const address = taskRegistryAddress(ctx);
  return read(address, "activeSpecsAt", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "activeSpecsAt",
      args: [round],
    }),
  );
}

/** The spec a challenge of `round` with `seed` trains: `activeSpecsAt(round)[seed mod n]`. */
export async function getSpecFor(
  ctx: PoAIContext,
  args: { round: bigint | number; seed: Hex },
): Promise<Hex> {
  const round = checkRound("round", args.round);
  const seed = checkBytes32("seed", args.seed);
  const address = taskRegistryAddress(ctx);
  return read(address, "specFor", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "specFor",
      args: [round, seed],
    }),
  );
}
