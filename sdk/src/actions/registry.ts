/**
 * TaskRegistry actions: the training specs PoAI challenges run. Governance registers a spec with
 * the parameters its judgment needs (an engine version 2 spec with its dataset and the URLs the
 * dataset can be fetched from), then activates or retires it; a change of the active set takes
 * effect at the next round. Anyone reads specs (with their datasets), their parameters, dataset
 * sources, and the spec a challenge of a round trains.
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
/** Most dataset source URLs of a spec (`TaskRegistry.MAX_DATASET_SOURCES`) and the longest (`MAX_SOURCE_LENGTH`, bytes). */
export const MAX_DATASET_SOURCES = 8;
export const MAX_SOURCE_LENGTH = 256;

/** Dataset source URLs: http(s), at most `MAX_DATASET_SOURCES` of at most `MAX_SOURCE_LENGTH` bytes. */
function checkSources(sources: unknown): string[] {
  if (!Array.isArray(sources) || sources.length > MAX_DATASET_SOURCES) {
    throw new PoAIInputError(
      "sources",
      sources,
      `an array of at most ${MAX_DATASET_SOURCES} dataset source URLs`,
    );
  }
  return sources.map((source: unknown, i) => {
    const expected = `an http(s) URL of at most ${MAX_SOURCE_LENGTH} bytes`;
    if (typeof source !== "string" || new TextEncoder().encode(source).length > MAX_SOURCE_LENGTH) {
      throw new PoAIInputError(`sources[${i}]`, source, expected);
    }
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new PoAIInputError(`sources[${i}]`, source, expected);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new PoAIInputError(`sources[${i}]`, source, expected);
    return source.replace(/\/+$/, "");
  });
}

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
 * `@poai/sdk/compute`, the same id the contract computes. The spec is checked with the engine's
 * `validateSpec` first, so a spec no node could run is never registered. An engine version 2 spec
 * (with `spec.dataset`) goes through `registerDatasetSpec` with `sources`, the base URLs its
 * dataset can be fetched from (`manifest.json`, `chunks/<root>` under each).
 */
export async function registerSpec(
  ctx: PoAIContext,
  args: { spec: TrainingSpec; params: SpecParams; sources?: readonly string[] } & WriteOptions,
): Promise<Hash> {
  const spec = checkSpec(args.spec);
  const params = checkSpecParams(args.params);
  const { dataset, ...fields } = spec;
  if (dataset !== undefined) {
    const sources = checkSources(args.sources ?? []);
    const data = encodeFunctionData({
      abi: taskRegistryAbi,
      functionName: "registerDatasetSpec",
      args: [fields, dataset, params, sources],
    });
    return sendRegistry(ctx, "registerDatasetSpec", data, args);
  }
  if (args.sources !== undefined && args.sources.length > 0) {
    throw new PoAIInputError("sources", args.sources, "no dataset sources: a version 1 spec has no dataset");
  }
  const data = encodeFunctionData({
    abi: taskRegistryAbi,
    functionName: "registerSpec",
    args: [fields, params],
  });
  return sendRegistry(ctx, "registerSpec", data, args);
}

/** Replaces the dataset source URLs of a registered version 2 spec (reverts `NotADatasetSpec` for version 1). */
export async function setDatasetSources(
  ctx: PoAIContext,
  args: { specId: Hex; sources: readonly string[] } & WriteOptions,
): Promise<Hash> {
  const specId = checkBytes32("specId", args.specId);
  const sources = checkSources(args.sources);
  const data = encodeFunctionData({
    abi: taskRegistryAbi,
    functionName: "setDatasetSources",
    args: [specId, sources],
  });
  return sendRegistry(ctx, "setDatasetSources", data, args);
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

/**
 * The training spec stored under `specId`, in the SDK's `TrainingSpec` shape, with its `dataset`
 * for a version 2 spec (reverts `UnknownSpec`).
 */
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
  const base = {
    version: s.version,
    widths: [...s.widths],
    batchSize: s.batchSize,
    steps: s.steps,
    checkpointInterval: s.checkpointInterval,
    lrShift: s.lrShift,
    evalSize: s.evalSize,
  };
  if (s.version === 1) return base;
  const d = await read(address, "getDataset", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "getDataset",
      args: [specId],
    }),
  );
  return {
    ...base,
    dataset: {
      trainRoot: d.trainRoot.toLowerCase() as Hex,
      trainCount: d.trainCount,
      evalRoot: d.evalRoot.toLowerCase() as Hex,
      evalCount: d.evalCount,
      features: d.features,
      classes: d.classes,
    },
  };
}

/** The dataset source URLs of a version 2 spec (empty for version 1; reverts `UnknownSpec`). */
export async function getDatasetSources(ctx: PoAIContext, args: { specId: Hex }): Promise<readonly string[]> {
  const specId = checkBytes32("specId", args.specId);
  const address = taskRegistryAddress(ctx);
  return read(address, "datasetSources", () =>
    readContract(ctx.publicClient, {
      address,
      abi: taskRegistryAbi,
      functionName: "datasetSources",
      args: [specId],
    }),
  );
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
