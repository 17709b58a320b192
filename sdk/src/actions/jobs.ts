/**
 * JobRegistry actions: paid training jobs.
 *
 * - **AI engineers** (job owners): `postJob` (escrows the budget: approve the registry first with
 *   `approveJobBudget`), `cancelJob` (before any trainer claimed it), `getJob` / `listJobs`,
 *   `withdrawJobFunds` (refunds); `fetchJobModel` (`@poai/node`: it speaks HTTP to the
 *   trainer) downloads the winning run's final checkpoint and proves it under the run's root.
 * - **Trainers**: `claimJob` in the job's claim round (the lowest stake-weighted draws hold it;
 *   `getJobPriority` says where the trainer stands); the run round's challenge then trains the
 *   job's spec, like any challenge.
 * - **Anyone**: `settleJob` once the runs are judged (completes, re-assigns or refunds),
 *   `registerJobModel` (binds the completed job's model in the ModelRegistry as `job/<id>`).
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash.
 */
import { encodeFunctionData, zeroHash, type Address, type Hash, type Hex } from "viem";
import { readContract } from "viem/actions";
import { jobRegistryAbi } from "../abi/index.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { TrainingSpecError, validateSpec, type TrainingSpec } from "../compute/spec.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { approveBudget } from "./budget.js";
import { checkAddress, checkAmount, checkBps, checkBytes32 } from "../validate.js";

/** The life of a job, by name. */
export type JobStateName = "None" | "Open" | "Completed" | "Refunded" | "Cancelled";
const JOB_STATES: readonly JobStateName[] = ["None", "Open", "Completed", "Refunded", "Cancelled"];

/** Most independent trainers a job may ask for (JobRegistry.MAX_TRAINERS). */
export const MAX_JOB_TRAINERS = 8;

/** What an owner asks for when posting a job. */
export interface JobTerms {
  /** Independent trainers, 1..8. */
  trainers: number;
  /** The budget's ERC-20 (default: the staking token). */
  token?: Address;
  /** Escrowed at posting, in the token's smallest unit. */
  budget: bigint;
  /** Unix time (seconds) by which a run must be judged, or the budget is refunded. */
  deadline: bigint;
  /** Held-out accuracy (the committee's median, basis points) a run must reach. */
  minAccuracyBps: number;
  /** The owner's share of the model's usage royalties (basis points, at most the registry's bound). */
  ownerRoyaltyBps: number;
}

/** A job as the registry reports it, with its state by name. */
export interface JobInfo {
  id: bigint;
  owner: Address;
  state: JobStateName;
  trainers: number;
  /** 1 for the first assignment, +1 at each re-assignment. */
  attempt: number;
  minAccuracyBps: number;
  ownerRoyaltyBps: number;
  /** Trainers claim the current attempt in this round, and run it in `runRound`. */
  claimRound: bigint;
  runRound: bigint;
  deadline: bigint;
  token: Address;
  budget: bigint;
  specId: Hex;
  /** The current attempt's trainers, best draw first. */
  assigned: readonly Address[];
  /** The trainer whose run completed the job (zero until then), its run round and score. */
  winner: Address;
  winnerRound: bigint;
  winnerScoreBps: number;
  /** The model's container id once registered (zero until then). */
  containerId: Hex;
}

/** The JobRegistry address of the deployment, or a `PoAIInputError` naming the missing field. */
export function jobRegistryAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.jobRegistry;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.jobRegistry",
      undefined,
      "the JobRegistry address (this deployment has no paid jobs)",
    );
  }
  return address;
}

function checkJobId(value: unknown): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return BigInt(value);
  if (typeof value === "bigint" && value > 0n) return value;
  if (typeof value === "string" && /^[1-9][0-9]*$/.test(value)) return BigInt(value);
  throw new PoAIInputError("jobId", value, "a job id (a positive integer)");
}

function checkJobSpec(spec: unknown): TrainingSpec {
  let s: TrainingSpec;
  try {
    s = validateSpec(spec as TrainingSpec);
  } catch (err) {
    if (err instanceof TrainingSpecError) {
      const field = err.field === "spec" ? "spec" : `spec.${err.field}`;
      throw new PoAIInputError(field, err.value, `a runnable training spec (${err.message})`);
    }
    throw err;
  }
  if (s.dataset === undefined) {
    throw new PoAIInputError(
      "spec.dataset",
      undefined,
      "a committed dataset (jobs train engine version 2 specs)",
    );
  }
  return s;
}

function checkSources(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PoAIInputError("sources", value, "at least one base URL the dataset can be fetched from");
  }
  return value.map((s, i) => {
    if (typeof s !== "string" || !/^https?:\/\/\S+$/.test(s)) {
      throw new PoAIInputError(`sources[${i}]`, s, "an http(s) URL");
    }
    return s;
  });
}

function checkTerms(ctx: PoAIContext, terms: unknown) {
  if (typeof terms !== "object" || terms === null) {
    throw new PoAIInputError(
      "terms",
      terms,
      "an object { trainers, budget, deadline, minAccuracyBps, ownerRoyaltyBps, token? }",
    );
  }
  const t = terms as Record<string, unknown>;
  if (
    !Number.isSafeInteger(t.trainers) ||
    (t.trainers as number) < 1 ||
    (t.trainers as number) > MAX_JOB_TRAINERS
  ) {
    throw new PoAIInputError(
      "terms.trainers",
      t.trainers,
      `a number of trainers from 1 to ${MAX_JOB_TRAINERS}`,
    );
  }
  const budget = checkAmount("terms.budget", t.budget);
  if (budget === 0n) throw new PoAIInputError("terms.budget", t.budget, "a positive budget");
  if (typeof t.deadline !== "bigint" || t.deadline <= 0n) {
    throw new PoAIInputError("terms.deadline", t.deadline, "a unix time in seconds (bigint)");
  }
  return {
    trainers: t.trainers as number,
    token: checkAddress("terms.token", t.token ?? ctx.deployment.contracts.token),
    budget,
    deadline: t.deadline,
    minAccuracyBps: checkBps("terms.minAccuracyBps", t.minAccuracyBps),
    ownerRoyaltyBps: checkBps("terms.ownerRoyaltyBps", t.ownerRoyaltyBps),
  };
}

function send(ctx: PoAIContext, functionName: string, data: Hex, options: WriteOptions): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: jobRegistryAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

// =================================================================================================
// Writes
// =================================================================================================

/** Lets the JobRegistry pull `amount` of `token` (default the staking token) for a job's budget. */
export function approveJobBudget(
  ctx: PoAIContext,
  args: { amount: bigint; token?: Address } & WriteOptions,
): Promise<Hash> {
  return approveBudget(ctx, jobRegistryAddress(ctx), args);
}

/**
 * Posts a job: `spec` (engine version 2, with its dataset's roots) trained from the dataset at
 * `sources`, on `terms`. The budget is pulled from the sender (approve first) and escrowed.
 * The job id is in the receipt's `JobPosted` event (`parseJobPosted`), or `getJobCount` after.
 */
export async function postJob(
  ctx: PoAIContext,
  args: { spec: TrainingSpec; sources: readonly string[]; terms: JobTerms } & WriteOptions,
): Promise<Hash> {
  const { dataset, ...fields } = checkJobSpec(args.spec);
  const sources = checkSources(args.sources);
  const terms = checkTerms(ctx, args.terms);
  const data = encodeFunctionData({
    abi: jobRegistryAbi,
    functionName: "postJob",
    args: [{ ...fields, widths: [...fields.widths] }, dataset!, sources, terms],
  });
  return send(ctx, "postJob", data, args);
}

/** The owner takes job `jobId` back before any trainer claimed it; its budget becomes withdrawable. */
export async function cancelJob(
  ctx: PoAIContext,
  args: { jobId: bigint | number } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: jobRegistryAbi,
    functionName: "cancel",
    args: [checkJobId(args.jobId)],
  });
  return send(ctx, "cancel", data, args);
}

/** A trainer claims a place on job `jobId` in its claim round. */
export async function claimJob(
  ctx: PoAIContext,
  args: { jobId: bigint | number } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: jobRegistryAbi,
    functionName: "claim",
    args: [checkJobId(args.jobId)],
  });
  return send(ctx, "claim", data, args);
}

/** Moves job `jobId` on once its runs are judged: completes, re-assigns or refunds it (anyone). */
export async function settleJob(
  ctx: PoAIContext,
  args: { jobId: bigint | number } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: jobRegistryAbi,
    functionName: "settle",
    args: [checkJobId(args.jobId)],
  });
  return send(ctx, "settle", data, args);
}

/**
 * Registers completed job `jobId`'s model (`job/<jobId>` in the ModelRegistry): `weightsHash` is the
 * winning run's final checkpoint hash, `parameterRoot` the root of its byte tree, `evalRoot` the
 * evaluation root its final leaf commits (a run audited by operation sampling; zero or omitted
 * otherwise) and `proof` its Merkle proof under the run's root (anyone; `fetchJobModel` returns
 * all four).
 */
export async function registerJobModel(
  ctx: PoAIContext,
  args: {
    jobId: bigint | number;
    weightsHash: Hex;
    parameterRoot: Hex;
    evalRoot?: Hex;
    proof: readonly Hex[];
  } & WriteOptions,
): Promise<Hash> {
  const jobId = checkJobId(args.jobId);
  const evalRoot = args.evalRoot !== undefined ? checkBytes32("evalRoot", args.evalRoot) : zeroHash;
  const data =
    evalRoot === zeroHash
      ? encodeFunctionData({
          abi: jobRegistryAbi,
          functionName: "registerModel",
          args: [jobId, args.weightsHash, args.parameterRoot, [...args.proof]],
        })
      : encodeFunctionData({
          abi: jobRegistryAbi,
          functionName: "registerModelWithEvalRoot",
          args: [jobId, args.weightsHash, args.parameterRoot, evalRoot, [...args.proof]],
        });
  return send(ctx, "registerModel", data, args);
}

/** Withdraws everything the sender is owed in `token` (refunds, the treasury's share, payments in another ERC-20). */
export async function withdrawJobFunds(
  ctx: PoAIContext,
  args: { token?: Address } & WriteOptions,
): Promise<Hash> {
  const token = checkAddress("token", args.token ?? ctx.deployment.contracts.token);
  const data = encodeFunctionData({ abi: jobRegistryAbi, functionName: "withdraw", args: [token] });
  return send(ctx, "withdraw", data, args);
}

// =================================================================================================
// Reads
// =================================================================================================

/** Job `jobId`, with its state by name (reverts `UnknownJob` for an id never posted). */
export async function getJob(ctx: PoAIContext, args: { jobId: bigint | number }): Promise<JobInfo> {
  const address = jobRegistryAddress(ctx);
  const id = checkJobId(args.jobId);
  const j = await read(address, "getJob", () =>
    readContract(ctx.publicClient, { address, abi: jobRegistryAbi, functionName: "getJob", args: [id] }),
  );
  return {
    id: j.id,
    owner: j.owner,
    state: JOB_STATES[j.state] ?? "None",
    trainers: j.trainers,
    attempt: j.attempt,
    minAccuracyBps: j.minAccuracyBps,
    ownerRoyaltyBps: j.ownerRoyaltyBps,
    claimRound: BigInt(j.claimRound),
    runRound: BigInt(j.runRound),
    deadline: j.deadline,
    token: j.token,
    budget: j.budget,
    specId: j.specId,
    assigned: j.assigned,
    winner: j.winner,
    winnerRound: BigInt(j.winnerRound),
    winnerScoreBps: j.winnerScoreBps,
    containerId: j.containerId,
  };
}

/** How many jobs were ever posted (ids run from 1). */
export async function getJobCount(ctx: PoAIContext): Promise<bigint> {
  const address = jobRegistryAddress(ctx);
  return read(address, "jobCount", () =>
    readContract(ctx.publicClient, { address, abi: jobRegistryAbi, functionName: "jobCount" }),
  );
}

/** Jobs by id, newest first: at most `limit` (default 20), optionally only those of `owner` or in `state`. */
export async function listJobs(
  ctx: PoAIContext,
  args: { owner?: Address; state?: JobStateName; limit?: number } = {},
): Promise<JobInfo[]> {
  const owner = args.owner === undefined ? undefined : checkAddress("owner", args.owner);
  const limit = args.limit ?? 20;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new PoAIInputError("limit", args.limit, "a positive integer");
  const out: JobInfo[] = [];
  for (let id = await getJobCount(ctx); id >= 1n && out.length < limit; id--) {
    const j = await getJob(ctx, { jobId: id });
    if (owner !== undefined && j.owner !== owner) continue;
    if (args.state !== undefined && j.state !== args.state) continue;
    out.push(j);
  }
  return out;
}

/** What `account` may withdraw from the registry in `token` (default the staking token). */
export async function getJobFundsOwed(
  ctx: PoAIContext,
  args: { account: Address; token?: Address },
): Promise<bigint> {
  const address = jobRegistryAddress(ctx);
  const token = checkAddress("token", args.token ?? ctx.deployment.contracts.token);
  const account = checkAddress("account", args.account);
  return read(address, "owed", () =>
    readContract(ctx.publicClient, {
      address,
      abi: jobRegistryAbi,
      functionName: "owed",
      args: [token, account],
    }),
  );
}

/** `trainer`'s draw on job `jobId` in its claim round (lower wins); reverts while the round's beacon is not fixed. */
export async function getJobPriority(
  ctx: PoAIContext,
  args: { jobId: bigint | number; trainer: Address },
): Promise<bigint> {
  const address = jobRegistryAddress(ctx);
  const id = checkJobId(args.jobId);
  const trainer = checkAddress("trainer", args.trainer);
  return read(address, "priorityOf", () =>
    readContract(ctx.publicClient, {
      address,
      abi: jobRegistryAbi,
      functionName: "priorityOf",
      args: [id, trainer],
    }),
  );
}
