/**
 * FederatedJobs actions: federated training jobs (docs/federated.md).
 *
 * - **Owners**: `approveFederatedBudget`, `postFederatedJob` (escrows the budget), `cancelFederatedJob`
 *   (before round 0 opens), `withdrawFederatedFunds` (refunds, payments in another ERC-20).
 * - **Anyone**: `getFederatedJob`, `getFederatedRound` (reads), `finalizeFederatedRound` (closes a
 *   round once its last phase is over), `fixFederatedSeed` (fixes a round's committee seed).
 *
 * The participant and validator steps (train, commit, reveal, score) are `@poai/node/federated`'s
 * `FederatedParticipant` and `FederatedScorer`. Writes validate their arguments, simulate (a revert
 * is decoded into a `PoAIContractError` before anything is signed), send, and return the hash.
 */
import { encodeFunctionData, keccak256, type Address, type Hash, type Hex } from "viem";
import { readContract } from "viem/actions";
import { federatedJobsAbi } from "../abi/index.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { approveBudget } from "./budget.js";
import { checkAddress, checkAmount, checkBps, checkBytes32 } from "../validate.js";

export type FederatedStateName = "None" | "Open" | "Completed" | "Cancelled";
const STATES: readonly FederatedStateName[] = ["None", "Open", "Completed", "Cancelled"];

/** Bounds the contract enforces (FederatedJobs constants). */
export const FEDERATED_LIMITS = {
  maxParticipants: 16,
  maxCommittee: 16,
  maxRounds: 64,
  minPhase: 30,
  /** The contract's `maxPhase()` is an eighth of the epoch; it checks that bound. */
  maxPhase: 2 ** 32 - 1,
  maxCommitteeBps: 5000,
} as const;

export interface FederatedParticipantInput {
  operator: Address;
  /** Merkle root of the participant's private shard (its train part). */
  shardRoot: Hex;
  /** Examples in the shard: its FedAvg weight. */
  samples: number;
}

export interface FederatedTermsInput {
  /** Hash of the round-0 global model (`modelHash` of `@poai/sdk/compute`). */
  initialModel: Hex;
  /** Root of the held-out set the committee scores on (default: 0, the validators' own sets). */
  evalRoot?: Hex;
  token?: Address;
  budget: bigint;
  /** Unix time (seconds) round 0 opens. */
  startAt: bigint;
  /** Seconds per phase (a training round has four). */
  phase: number;
  rounds: number;
  committeeSize: number;
  /** How far below the median score (basis points) an update may score before it is excluded. */
  bandBps: number;
  committeeBps: number;
  maxStrikes: number;
}

export function federatedJobsAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.federatedJobs;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.federatedJobs",
      undefined,
      "the FederatedJobs address (this deployment has no federated jobs)",
    );
  }
  return address;
}

function checkId(value: unknown): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return BigInt(value);
  if (typeof value === "bigint" && value > 0n) return value;
  throw new PoAIInputError("jobId", value, "a federated job id (a positive integer)");
}

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new PoAIInputError(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function checkFedTerms(ctx: PoAIContext, t: FederatedTermsInput, specHash: Hex) {
  if (typeof t !== "object" || t === null) throw new PoAIInputError("terms", t, "the federated job's terms");
  const L = FEDERATED_LIMITS;
  const budget = checkAmount("terms.budget", t.budget);
  if (budget === 0n) throw new PoAIInputError("terms.budget", t.budget, "a positive budget");
  if (typeof t.startAt !== "bigint" || t.startAt <= 0n)
    throw new PoAIInputError("terms.startAt", t.startAt, "a unix time in seconds (bigint)");
  return {
    specHash,
    initialModel: checkBytes32("terms.initialModel", t.initialModel),
    evalRoot:
      t.evalRoot === undefined ? (`0x${"00".repeat(32)}` as Hex) : checkBytes32("terms.evalRoot", t.evalRoot),
    token: checkAddress("terms.token", t.token ?? ctx.deployment.contracts.token),
    budget,
    startAt: t.startAt,
    phase: checkInt("terms.phase", t.phase, L.minPhase, L.maxPhase),
    rounds: checkInt("terms.rounds", t.rounds, 1, L.maxRounds),
    committeeSize: checkInt("terms.committeeSize", t.committeeSize, 1, L.maxCommittee),
    bandBps: checkBps("terms.bandBps", t.bandBps),
    committeeBps: checkInt("terms.committeeBps", t.committeeBps, 0, L.maxCommitteeBps),
    maxStrikes: checkInt("terms.maxStrikes", t.maxStrikes, 1, 255),
  };
}

function send(ctx: PoAIContext, functionName: string, data: Hex, options: WriteOptions): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: federatedJobsAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

/** Lets FederatedJobs pull `amount` of `token` (default the staking token) for a budget. */
export function approveFederatedBudget(
  ctx: PoAIContext,
  args: { amount: bigint; token?: Address } & WriteOptions,
): Promise<Hash> {
  return approveBudget(ctx, federatedJobsAddress(ctx), args);
}

/**
 * Posts a federated job: `spec` (bytes anyone reads the engine spec and initial seed from; its
 * hash is the job's `specHash`), `terms`, and the participants with their shard commitments.
 */
export async function postFederatedJob(
  ctx: PoAIContext,
  args: {
    spec: Hex;
    terms: FederatedTermsInput;
    participants: readonly FederatedParticipantInput[];
  } & WriteOptions,
): Promise<Hash> {
  if (typeof args.spec !== "string" || !/^0x([0-9a-fA-F]{2})+$/.test(args.spec))
    throw new PoAIInputError("spec", args.spec, "the spec as non-empty hex bytes");
  const terms = checkFedTerms(ctx, args.terms, keccak256(args.spec));
  if (!Array.isArray(args.participants) || args.participants.length === 0 || args.participants.length > 16)
    throw new PoAIInputError("participants", args.participants, "1 to 16 participants");
  const participants = args.participants.map((p, i) => ({
    operator: checkAddress(`participants[${i}].operator`, p.operator),
    shardRoot: checkBytes32(`participants[${i}].shardRoot`, p.shardRoot),
    samples: checkInt(`participants[${i}].samples`, p.samples, 1, 2 ** 32 - 1),
  }));
  const data = encodeFunctionData({
    abi: federatedJobsAbi,
    functionName: "postJob",
    args: [args.spec, terms, participants],
  });
  return send(ctx, "postJob", data, args);
}

const simple =
  (functionName: "cancel" | "finalizeRound" | "fixSeed") =>
  async (ctx: PoAIContext, args: { jobId: bigint | number } & WriteOptions): Promise<Hash> =>
    send(
      ctx,
      functionName,
      encodeFunctionData({ abi: federatedJobsAbi, functionName, args: [checkId(args.jobId)] }),
      args,
    );

/** The owner takes its federated job back before round 0 opens; the budget becomes withdrawable. */
export const cancelFederatedJob = simple("cancel");
/** Closes the current round of a federated job once its last phase is over (anyone). */
export const finalizeFederatedRound = simple("finalizeRound");
/** Fixes the committee seed of the current round (anyone; validators call it before `isSelected`). */
export const fixFederatedSeed = simple("fixSeed");

/** Withdraws what the sender is owed in `token` (refunds; payments in a token other than the staking token). */
export async function withdrawFederatedFunds(
  ctx: PoAIContext,
  args: { token?: Address } & WriteOptions,
): Promise<Hash> {
  const token = checkAddress("token", args.token ?? ctx.deployment.contracts.token);
  return send(
    ctx,
    "withdraw",
    encodeFunctionData({ abi: federatedJobsAbi, functionName: "withdraw", args: [token] }),
    args,
  );
}

/** A federated job as the contract reports it, with its state by name. */
export async function getFederatedJob(ctx: PoAIContext, args: { jobId: bigint | number }) {
  const address = federatedJobsAddress(ctx);
  const id = checkId(args.jobId);
  const j = await read(address, "getJob", () =>
    readContract(ctx.publicClient, { address, abi: federatedJobsAbi, functionName: "getJob", args: [id] }),
  );
  return { ...j, state: STATES[j.state] ?? "None" };
}

/** Round `round` of federated job `jobId`: updates (hash, score, included, reward) and committee. */
export async function getFederatedRound(
  ctx: PoAIContext,
  args: { jobId: bigint | number; round: bigint | number },
) {
  const address = federatedJobsAddress(ctx);
  const id = checkId(args.jobId);
  const round = BigInt(
    checkInt("round", typeof args.round === "bigint" ? Number(args.round) : args.round, 0, 64),
  );
  return read(address, "getRound", () =>
    readContract(ctx.publicClient, {
      address,
      abi: federatedJobsAbi,
      functionName: "getRound",
      args: [id, round],
    }),
  );
}
