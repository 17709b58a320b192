/**
 * ChallengeManager actions: the Proof-of-AI challenge lifecycle.
 *
 * - **Trainers**: `getDueChallenge` (seed, spec and deadline of the round's challenge; call
 *   `ensureBeacon` first when nobody contributed to the round's beacon), `submitResult`.
 * - **Validators**: `checkCommittee` (the sortition computed off-chain from reads; it agrees with
 *   the contract's `isCommitteeMember`; a member's samples are `ownSamples`, from the audit seed and
 *   its own address), `getCommittee` (every member of a committee), `prepareVerdict` → persist →
 *   `commitVerdict`, then
 *   `revealVerdict` with the same prepared verdict; after an `Invalid` reveal, `replayVote` on the
 *   named segments (`namedSegments`).
 * - **Anyone**: `finalizeChallenge`, `reportMissed`, `reportBeaconWithholding`, challenge state
 *   (`getChallenge`, `getChallengeMembers`, decoded status and verdict names), epoch points,
 *   parameters (`getSlashWindow`), events.
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash;
 * `waitForTransaction(ctx, hash)` waits for the receipt and decodes an on-chain revert.
 *
 * A verdict's salt must outlive the process that committed it, or the verdict can never be
 * revealed (and the validator earns nothing). Build the commitment first, persist it, then send:
 *
 * ```ts
 * const prepared = prepareVerdict(ctx, { id, verdict: "Valid", measuredScoreBps: 8125 });
 * await store.put(prepared.id, JSON.stringify(prepared)); // durable write (fsync) BEFORE sending
 * await waitForTransaction(ctx, (await commitVerdict(ctx, prepared)).hash);
 * // … after a restart, in the reveal window:
 * await waitForTransaction(ctx, await revealVerdict(ctx, JSON.parse(await store.get(id))));
 * ```
 */
import {
  encodeFunctionData,
  getAddress,
  type Address,
  type BlockNumber,
  type BlockTag,
  type ContractEventArgs,
  type ContractEventName,
  type ContractFunctionReturnType,
  type Hash,
  type Hex,
  type Log,
} from "viem";
import { getBlockNumber, readContract, simulateContract } from "viem/actions";
import { challengeManagerAbi, randomnessBeaconAbi, stakingAbi } from "../abi/index.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError, isPoAIContractError } from "../errors.js";
import {
  decodeStatus,
  decodeVerdict,
  encodeVerdict,
  isFinalStatus,
  type ChallengeStatusName,
  type VerdictInput,
  type VerdictName,
} from "../poai/enums.js";
import { auditSeed, challengeId, newSalt, verdictCommitment } from "../poai/hashes.js";
import { committeeBand, isInPool, poolSize, selectionProbabilityBps } from "../poai/sortition.js";
import { roundWindows, type RoundWindows } from "../poai/timing.js";
import { checkBytes32, checkRound, checkSmallUint } from "../poai/validate.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress } from "../validate.js";
import { randomnessBeaconAddress } from "./beacon.js";
import { getSpecParams } from "./registry.js";
import { ROLE, currentEpoch, iterateOperators } from "./staking.js";
import {
  getPastContractEvents,
  parseContractLogs,
  watchContractEvents,
  type WatchOptions,
} from "../events.js";

// --- types (inferred from the generated ABI) -----------------------------------------------------

/** The challenge manager's governance parameters (windows, committee size, quorum, slashes). */
export type ChallengeParams = ContractFunctionReturnType<typeof challengeManagerAbi, "view", "params">;

type RawChallenge = ContractFunctionReturnType<typeof challengeManagerAbi, "view", "getChallenge">;
type RawMember = ContractFunctionReturnType<typeof challengeManagerAbi, "view", "getMembers">[number];

/**
 * A challenge as the contract reports it, with its status by name. `seed`, `specId` and
 * `deadline` are zero until a result is submitted (or the challenge is reported missed); the
 * window times are always filled in.
 */
export type ChallengeInfo = Omit<RawChallenge, "status"> & {
  status: ChallengeStatusName;
  /** True once the status can no longer change (anything after `Submitted`). */
  final: boolean;
};

/**
 * A committee slot of a challenge, with its verdicts by name. Until the member reveals, the
 * contract keeps only its commitment and weight: `revealed` is false, `validator` is the zero
 * address and `verdict` is `None` (the `VerdictCommitted` events name the members that
 * committed). `replayVerdict` is the member's second-phase vote (`None` until it casts one).
 */
export type MemberInfo = Omit<RawMember, "verdict" | "replayVerdict"> & {
  verdict: VerdictName;
  replayVerdict: VerdictName;
};

/** The committee of a challenge in its current audit round, as the sortition draws it. */
export interface Committee {
  id: Hex;
  /** The challenge's round (stakes are read at its start) and its current audit round. */
  round: bigint;
  auditRound: bigint;
  auditSeed: Hex;
  committeeSize: number;
  /** The validators' total stake at the start of `round`. */
  totalStake: bigint;
  /**
   * Every validator the sortition selects, sorted by address (what the earlier split of the samples,
   * `memberSamples`, ranked by; the validator daemon draws its own share, `ownSamples`).
   */
  members: Address[];
}

/** The challenge `trainer` is due in `round`. */
export interface DueChallenge {
  trainer: Address;
  round: bigint;
  /** `challengeId(trainer, round)`. */
  id: Hex;
  /** Whether the trainer owes a result (active trainer, minimum stake at the round's start). */
  due: boolean;
  /** The training seed: `keccak256(abi.encode(beacon(round), trainer, round))`. */
  seed: Hex;
  /** The spec to train: `specFor(round, seed)`. */
  specId: Hex;
  /** The result is accepted until this time (unix seconds, inclusive). */
  deadline: bigint;
  /** `None` while nothing was submitted; `Submitted` afterwards; a final status later. */
  status: ChallengeStatusName;
}

/** The outcome of the off-chain committee check, with every input it used. */
export interface CommitteeCheck {
  id: Hex;
  validator: Address;
  /** The challenge's round (0 for an unknown id, as on-chain) and status. */
  round: bigint;
  status: ChallengeStatusName;
  /** `round + 1 + extension`: the round whose beacon value draws the committee (stakes: at `round`). */
  auditRound: bigint;
  auditSeed: Hex;
  /** Whether the account is registered as a validator (only validators are ever selected). */
  isValidator: boolean;
  /** `stakeAt(validator, round)` and `roleStakeAt(Validator, round)`: stakes at the start of the challenge's round. */
  stake: bigint;
  totalStake: bigint;
  committeeSize: number;
  /** The fewest revealed verdicts that decide a challenge (`ownSamples` splits the samples by it). */
  minReveals: number;
  /** Chance of selection in basis points: `min(1, committeeSize · stake / totalStake)`. */
  probabilityBps: number;
  /**
   * The audit round's committee pool (`poolSize`; 0 when there is no pool) and whether the
   * validator is in it (`isInPool`): outside it, it holds no seat in the round's committees.
   */
  poolSize: bigint;
  inPool: boolean;
  /** In the committee's first draw (`isCommitteeMember`). */
  selected: boolean;
  /**
   * The validator's sortition band (`committeeBand`; `null` outside the round's pool): `0` when `selected`; `1` to `TOP_UP_BANDS`
   * when it may top up a committee short of `minReveals` members (`canJoinCommittee` says whether
   * the chain admits it now); `null` when it has no stake.
   */
  band: bigint | null;
}

/** Totals of one epoch's points, and whether they are final. */
export interface EpochTotals {
  epoch: bigint;
  trainer: bigint;
  validator: bigint;
  /** After this time no challenge of the epoch earns points any more. */
  closesAt: bigint;
  final: boolean;
}

/**
 * A verdict ready to commit: everything `revealVerdict` needs later, and the commitment.
 * JSON-serialisable (strings and numbers only), so it can be stored as is.
 */
export interface PreparedVerdict {
  id: Hex;
  validator: Address;
  verdict: Exclude<VerdictName, "None">;
  segment: number;
  measuredScoreBps: number;
  salt: Hex;
  commitment: Hex;
}

/** What a committee member decides about a challenge. */
export interface VerdictArgs {
  id: Hex;
  verdict: VerdictInput;
  /** The failing segment of an `Invalid` verdict; default 0 (ignored for the other verdicts). */
  segment?: number;
  /** The evaluation accuracy the member measured, in basis points. */
  measuredScoreBps: number;
}

// --- plumbing -------------------------------------------------------------------------------------

/** The ChallengeManager address of the deployment, or a `PoAIInputError` naming the missing field. */
export function challengeManagerAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.challengeManager;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.challengeManager",
      undefined,
      "the ChallengeManager address (this deployment has no Proof-of-AI contracts)",
    );
  }
  return address;
}

function sendChallenges(
  ctx: PoAIContext,
  functionName: string,
  data: Hex,
  options: WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: challengeManagerAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

function sender(ctx: PoAIContext, action: string, options: WriteOptions): Address {
  return senderAddress(requireSigner(ctx, action, options.account).account);
}

const VERDICT_NAME = { 1: "Valid", 2: "Invalid", 3: "Unavailable" } as const;

// =================================================================================================
// Trainers
// =================================================================================================

/**
 * The challenge `trainer` is due in `round` (default: the current round): whether it is due, its
 * seed, the spec to train and the deadline, and whether a result is already in. Throws the
 * decoded `BeaconNotReady` while the round's beacon value is not fixed: before the round starts,
 * or when nobody contributed to it and it was not sealed yet (`ensureBeacon` seals it).
 */
export async function getDueChallenge(
  ctx: PoAIContext,
  args: { trainer: Address; round?: bigint | number },
): Promise<DueChallenge> {
  const trainer = checkAddress("trainer", args.trainer);
  const round = args.round === undefined ? await currentEpoch(ctx) : checkRound("round", args.round);
  const address = challengeManagerAddress(ctx);
  const id = challengeId(trainer, round);
  const blockNumber = await read(address, "dueChallenge", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const at = { address, abi: challengeManagerAbi, blockNumber } as const;
  const [[due, seed, specId, deadline], challenge] = await Promise.all([
    read(address, "dueChallenge", () =>
      readContract(ctx.publicClient, { ...at, functionName: "dueChallenge", args: [trainer, round] }),
    ),
    read(address, "getChallenge", () =>
      readContract(ctx.publicClient, { ...at, functionName: "getChallenge", args: [id] }),
    ),
  ]);
  return { trainer, round, id, due, seed, specId, deadline, status: decodeStatus(challenge.status) };
}

/**
 * Commits the sender's result for `round` (default: the current round; it must be the current
 * one): the Merkle root over its checkpoints (`commit(run).root` from `@poai/sdk/compute`) and the
 * evaluation accuracy it measured, in basis points. Due by `getDueChallenge(...).deadline`.
 */
export async function submitResult(
  ctx: PoAIContext,
  args: { round?: bigint | number; resultRoot: Hex; reportedScoreBps: number } & WriteOptions,
): Promise<Hash> {
  const resultRoot = checkBytes32("resultRoot", args.resultRoot);
  const reportedScoreBps = checkSmallUint("reportedScoreBps", args.reportedScoreBps, 0, 10_000);
  if (args.round === undefined) requireSigner(ctx, "submitResult", args.account);
  const round = args.round === undefined ? await currentEpoch(ctx) : checkRound("round", args.round);
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "submitResult",
    args: [round, resultRoot, reportedScoreBps],
  });
  return sendChallenges(ctx, "submitResult", data, args);
}

/**
 * Reports that `trainer` submitted nothing for `round` by the deadline (anyone may, until the
 * round's epoch closes). Repeated misses jail the trainer, and the reporter earns the finder's fee.
 */
export async function reportMissed(
  ctx: PoAIContext,
  args: { trainer: Address; round: bigint | number } & WriteOptions,
): Promise<Hash> {
  const trainer = checkAddress("trainer", args.trainer);
  const round = checkRound("round", args.round);
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "reportMissed",
    args: [trainer, round],
  });
  return sendChallenges(ctx, "reportMissed", data, args);
}

// =================================================================================================
// Validators
// =================================================================================================

function checkVerdict(args: VerdictArgs) {
  return {
    id: checkBytes32("id", args.id),
    verdict: encodeVerdict(args.verdict),
    segment: checkSmallUint("segment", args.segment ?? 0, 0, 0xffff_ffff),
    measuredScoreBps: checkSmallUint("measuredScoreBps", args.measuredScoreBps, 0, 10_000),
  };
}

/**
 * Builds the sender's (or `validator`'s) commitment to a verdict, with a fresh random salt (or the
 * one given). Nothing is sent. **Persist the result before calling `commitVerdict` with it**: the
 * salt is the only way to reveal the verdict later.
 */
export function prepareVerdict(
  ctx: PoAIContext,
  args: VerdictArgs & { salt?: Hex; validator?: Address } & WriteOptions,
): PreparedVerdict {
  const v = checkVerdict(args);
  const salt = args.salt === undefined ? newSalt() : checkBytes32("salt", args.salt);
  const validator =
    args.validator !== undefined
      ? checkAddress("validator", args.validator)
      : sender(ctx, "a verdict commitment", args);
  const prepared = { ...v, verdict: VERDICT_NAME[v.verdict], salt, validator };
  return { ...prepared, commitment: verdictCommitment(prepared) };
}

/** A sent verdict commitment: the prepared verdict and the transaction hash. */
export type CommittedVerdict = PreparedVerdict & { hash: Hash };

/**
 * Joins the committee of challenge `id` with a commitment to a verdict (in the commit window at the
 * start of the next round; the sender must be selected: see `checkCommittee`). Pass a
 * `PreparedVerdict` that is already persisted. Without `salt` a fresh one is drawn and returned:
 * then the caller must store it before the reveal window, and a crash before it does loses the
 * reveal, so prefer `prepareVerdict` → persist → `commitVerdict(prepared)`.
 */
export async function commitVerdict(
  ctx: PoAIContext,
  args: VerdictArgs & { salt?: Hex; validator?: Address; commitment?: Hex } & WriteOptions,
): Promise<CommittedVerdict> {
  const from = sender(ctx, "commitVerdict", args);
  if (args.validator !== undefined && checkAddress("validator", args.validator) !== from) {
    throw new PoAIInputError(
      "validator",
      args.validator,
      `the sending account ${from} (the verdict was prepared for another one)`,
    );
  }
  const prepared = prepareVerdict(ctx, { ...args, validator: from });
  if (args.commitment !== undefined && checkBytes32("commitment", args.commitment) !== prepared.commitment) {
    throw new PoAIInputError(
      "commitment",
      args.commitment,
      `the commitment of these verdict fields, ${prepared.commitment} (the prepared verdict was altered)`,
    );
  }
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "commitVerdict",
    args: [prepared.id, prepared.commitment],
  });
  const hash = await sendChallenges(ctx, "commitVerdict", data, args);
  return { ...prepared, hash };
}

/**
 * Opens the sender's commitment in the reveal window (right after the commit window). Takes the
 * persisted `PreparedVerdict` (or the same fields and the salt).
 */
export async function revealVerdict(
  ctx: PoAIContext,
  args: VerdictArgs & { salt: Hex; validator?: Address } & WriteOptions,
): Promise<Hash> {
  const v = checkVerdict(args);
  const salt = checkBytes32("salt", args.salt);
  if (args.validator !== undefined) {
    const from = sender(ctx, "revealVerdict", args);
    if (checkAddress("validator", args.validator) !== from) {
      throw new PoAIInputError(
        "validator",
        args.validator,
        `the sending account ${from} (the verdict was prepared for another one)`,
      );
    }
  }
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "revealVerdict",
    args: [v.id, v.verdict, v.segment, v.measuredScoreBps, salt],
  });
  return sendChallenges(ctx, "revealVerdict", data, args);
}

/**
 * Commits several persisted verdicts (on challenges of the same or different rounds) in one
 * transaction (`commitVerdicts`); each needs its `salt`, so that nothing unrecoverable is sent.
 * Returns the transaction hash and the verdicts as committed.
 */
export async function commitVerdicts(
  ctx: PoAIContext,
  args: {
    verdicts: readonly (VerdictArgs & { salt: Hex; validator?: Address; commitment?: Hex })[];
  } & WriteOptions,
): Promise<{ hash: Hash; verdicts: PreparedVerdict[] }> {
  if (!Array.isArray(args.verdicts) || args.verdicts.length === 0) {
    throw new PoAIInputError("verdicts", args.verdicts, "a non-empty array of prepared verdicts");
  }
  const from = sender(ctx, "commitVerdicts", args);
  const verdicts = args.verdicts.map((v, i) => {
    if (v.salt === undefined)
      throw new PoAIInputError(`verdicts[${i}].salt`, v.salt, "the persisted salt (see prepareVerdict)");
    if (v.validator !== undefined && checkAddress(`verdicts[${i}].validator`, v.validator) !== from) {
      throw new PoAIInputError(`verdicts[${i}].validator`, v.validator, `the sending account ${from}`);
    }
    const prepared = prepareVerdict(ctx, { ...v, validator: from });
    if (
      v.commitment !== undefined &&
      checkBytes32(`verdicts[${i}].commitment`, v.commitment) !== prepared.commitment
    ) {
      throw new PoAIInputError(
        `verdicts[${i}].commitment`,
        v.commitment,
        `the commitment of these verdict fields, ${prepared.commitment}`,
      );
    }
    return prepared;
  });
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "commitVerdicts",
    args: [verdicts.map((v) => v.id), verdicts.map((v) => v.commitment)],
  });
  return { hash: await sendChallenges(ctx, "commitVerdicts", data, args), verdicts };
}

/** Reveals several committed verdicts in one transaction (`revealVerdicts`), e.g. the persisted `PreparedVerdict`s. */
export async function revealVerdicts(
  ctx: PoAIContext,
  args: { verdicts: readonly (VerdictArgs & { salt: Hex })[] } & WriteOptions,
): Promise<Hash> {
  if (!Array.isArray(args.verdicts) || args.verdicts.length === 0) {
    throw new PoAIInputError("verdicts", args.verdicts, "a non-empty array of prepared verdicts");
  }
  const list = args.verdicts.map((v, i) => ({
    ...checkVerdict(v),
    salt: checkBytes32(`verdicts[${i}].salt`, v.salt),
  }));
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "revealVerdicts",
    args: [
      list.map((v) => v.id),
      list.map((v) => v.verdict),
      list.map((v) => v.segment),
      list.map((v) => v.measuredScoreBps),
      list.map((v) => v.salt),
    ],
  });
  return sendChallenges(ctx, "revealVerdicts", data, args);
}

/**
 * Whether `validator` is in the committee of challenge `id`, as the contract decides it
 * (`isCommitteeMember`). Throws the decoded `BeaconNotReady` before the audit round starts.
 */
export async function isCommitteeMember(
  ctx: PoAIContext,
  args: { id: Hex; validator: Address },
): Promise<boolean> {
  const id = checkBytes32("id", args.id);
  const validator = checkAddress("validator", args.validator);
  const address = challengeManagerAddress(ctx);
  return read(address, "isCommitteeMember", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "isCommitteeMember",
      args: [id, validator],
    }),
  );
}

/**
 * Whether `validator` is in the committee of challenge `id`, computed off-chain with the SDK's
 * `committeeBand` from the raw inputs (the audit round's beacon value, the account's role, its and
 * the validators' total stake at the challenge's round, the committee size and the audit round's
 * pool size), all read at one block. It
 * agrees with `isCommitteeMember` and shows why. Throws the decoded `BeaconNotReady` before the
 * audit round starts.
 */
export async function checkCommittee(
  ctx: PoAIContext,
  args: { id: Hex; validator: Address },
): Promise<CommitteeCheck> {
  const id = checkBytes32("id", args.id);
  const validator = checkAddress("validator", args.validator);
  const address = challengeManagerAddress(ctx);
  const beacon = randomnessBeaconAddress(ctx);
  const staking = ctx.deployment.contracts.staking;
  const blockNumber = await read(address, "getChallenge", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const [challenge, params] = await Promise.all([
    read(address, "getChallenge", () =>
      readContract(ctx.publicClient, {
        address,
        abi: challengeManagerAbi,
        functionName: "getChallenge",
        args: [id],
        blockNumber,
      }),
    ),
    read(address, "params", () =>
      readContract(ctx.publicClient, {
        address,
        abi: challengeManagerAbi,
        functionName: "params",
        blockNumber,
      }),
    ),
  ]);
  const round = BigInt(challenge.round);
  const auditRound = BigInt(challenge.auditRound);
  const stakingAt = { address: staking, abi: stakingAbi, blockNumber } as const;
  const [value, role, stake, totalStake, submissions] = await Promise.all([
    read(beacon, "valueOf", () =>
      readContract(ctx.publicClient, {
        address: beacon,
        abi: randomnessBeaconAbi,
        functionName: "valueOf",
        args: [auditRound],
        blockNumber,
      }),
    ),
    read(staking, "roleOf", () =>
      readContract(ctx.publicClient, { ...stakingAt, functionName: "roleOf", args: [validator] }),
    ),
    read(staking, "stakeAt", () =>
      readContract(ctx.publicClient, {
        ...stakingAt,
        functionName: "stakeAt",
        args: [validator, round],
      }),
    ),
    read(staking, "roleStakeAt", () =>
      readContract(ctx.publicClient, {
        ...stakingAt,
        functionName: "roleStakeAt",
        args: [ROLE.Validator, round],
      }),
    ),
    read(address, "submissions", () =>
      readContract(ctx.publicClient, {
        address,
        abi: challengeManagerAbi,
        functionName: "submissions",
        args: [auditRound - 1n],
        blockNumber,
      }),
    ),
  ]);
  const seed = auditSeed(value, id);
  const size = poolSize(params.committeeSize, params.minReveals, params.poolSeats, submissions);
  const isValidator = role === ROLE.Validator;
  const band = isValidator
    ? committeeBand(value, id, validator, stake, totalStake, params.committeeSize, size)
    : null;
  return {
    id,
    validator,
    round,
    status: decodeStatus(challenge.status),
    auditRound,
    auditSeed: seed,
    isValidator,
    stake,
    totalStake,
    committeeSize: params.committeeSize,
    minReveals: params.minReveals,
    probabilityBps: isValidator ? selectionProbabilityBps(stake, totalStake, params.committeeSize) : 0,
    poolSize: size,
    inPool: isValidator && isInPool(value, validator, stake, totalStake, size),
    selected: band === 0n,
    band,
  };
}

/**
 * Whether the chain would admit `validator` into the committee of challenge `id` now: its commit
 * (`commitVerdict`) simulated from its address. A top-up band (`CommitteeCheck.band` of 1 or more)
 * is admitted only from its part of the commit window on and while the bands below hold fewer than
 * `minReveals` members, so a top-up member asks this before auditing. Refusals come back as the
 * decoded contract error's name (`NotInCommittee`, `OutsideWindow`, `AlreadyCommitted`, …).
 */
export async function canJoinCommittee(
  ctx: PoAIContext,
  args: { id: Hex; validator: Address },
): Promise<{ admitted: true } | { admitted: false; errorName: string; message: string }> {
  const id = checkBytes32("id", args.id);
  const validator = checkAddress("validator", args.validator);
  const address = challengeManagerAddress(ctx);
  try {
    await read(address, "commitVerdict", () =>
      simulateContract(ctx.publicClient, {
        address,
        abi: challengeManagerAbi,
        functionName: "commitVerdict",
        // any commitment: only the admission is checked
        args: [id, `0x${"11".repeat(32)}`],
        account: validator,
      }),
    );
    return { admitted: true };
  } catch (err) {
    if (!isPoAIContractError(err)) throw err;
    return { admitted: false, errorName: err.errorName, message: err.message };
  }
}

/** The audit seed of challenge `id` as the contract computes it (`BeaconNotReady` before the audit round). */
export async function getAuditSeed(ctx: PoAIContext, args: { id: Hex }): Promise<Hex> {
  const id = checkBytes32("id", args.id);
  const address = challengeManagerAddress(ctx);
  return read(address, "auditSeed", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "auditSeed",
      args: [id],
    }),
  );
}

/** A second-phase vote: the verdict on the segments the accusers named. */
export interface ReplayVoteArgs {
  id: Hex;
  /** `Invalid` (a named segment does not replay), `Unavailable` (not served) or `Valid`. */
  verdict: VerdictInput;
  /** The named segment that does not replay (for `Invalid`); default 0. */
  segment?: number;
}

function checkReplay(args: ReplayVoteArgs, field = "") {
  return {
    id: checkBytes32(`${field}id`, args.id),
    verdict: encodeVerdict(args.verdict, `${field}verdict`),
    segment: checkSmallUint(`${field}segment`, args.segment ?? 0, 0, 0xffff_ffff),
  };
}

/**
 * The second phase: after a member revealed `Invalid`, every member that revealed replays the
 * named segments (`namedSegments(await getChallengeMembers(...))`) and votes in the replay window
 * (`[revealEnd, replayEnd)`). The vote replaces the sender's reveal in the judgment; a `Valid`
 * vote that stands on a proven fraud is slashed `verdictSlash`.
 */
export async function replayVote(ctx: PoAIContext, args: ReplayVoteArgs & WriteOptions): Promise<Hash> {
  const v = checkReplay(args);
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "replayVote",
    args: [v.id, v.verdict, v.segment],
  });
  return sendChallenges(ctx, "replayVote", data, args);
}

/** Several second-phase votes in one transaction (`replayVotes`). */
export async function replayVotes(
  ctx: PoAIContext,
  args: { votes: readonly ReplayVoteArgs[] } & WriteOptions,
): Promise<Hash> {
  if (!Array.isArray(args.votes) || args.votes.length === 0) {
    throw new PoAIInputError("votes", args.votes, "a non-empty array of second-phase votes");
  }
  const list = args.votes.map((v, i) => checkReplay(v, `votes[${i}].`));
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "replayVotes",
    args: [list.map((v) => v.id), list.map((v) => v.verdict), list.map((v) => v.segment)],
  });
  return sendChallenges(ctx, "replayVotes", data, args);
}

/**
 * The segments the revealed `Invalid` verdicts of a committee name (each once, in committee
 * order): what every member replays in the second phase.
 */
export function namedSegments(
  members: readonly Pick<MemberInfo, "revealed" | "verdict" | "segment">[],
): number[] {
  const out: number[] = [];
  for (const m of members) {
    if (m.revealed && m.verdict === "Invalid" && !out.includes(m.segment)) out.push(m.segment);
  }
  return out;
}

/**
 * The committee of challenge `id` in its current audit round: every validator the sortition
 * selects from the audit seed, with stakes at the start of the challenge's round, sorted by
 * address, all read at one block. Reads every registered operator (paginated) and each
 * validator's stake: call it once per challenge, not per tick. Throws the decoded
 * `BeaconNotReady` before the audit round starts.
 */
export async function getCommittee(ctx: PoAIContext, args: { id: Hex }): Promise<Committee> {
  const id = checkBytes32("id", args.id);
  const address = challengeManagerAddress(ctx);
  const staking = ctx.deployment.contracts.staking;
  const blockNumber = await read(address, "getChallenge", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const at = { address, abi: challengeManagerAbi, blockNumber } as const;
  const [challenge, params, seed] = await Promise.all([
    read(address, "getChallenge", () =>
      readContract(ctx.publicClient, { ...at, functionName: "getChallenge", args: [id] }),
    ),
    read(address, "params", () => readContract(ctx.publicClient, { ...at, functionName: "params" })),
    read(address, "auditSeed", () =>
      readContract(ctx.publicClient, { ...at, functionName: "auditSeed", args: [id] }),
    ),
  ]);
  const round = BigInt(challenge.round);
  const auditRound = BigInt(challenge.auditRound);
  const stakingAt = { address: staking, abi: stakingAbi, blockNumber } as const;
  const beacon = randomnessBeaconAddress(ctx);
  const [totalStake, value, submissions] = await Promise.all([
    read(staking, "roleStakeAt", () =>
      readContract(ctx.publicClient, {
        ...stakingAt,
        functionName: "roleStakeAt",
        args: [ROLE.Validator, round],
      }),
    ),
    read(beacon, "valueOf", () =>
      readContract(ctx.publicClient, {
        address: beacon,
        abi: randomnessBeaconAbi,
        functionName: "valueOf",
        args: [auditRound],
        blockNumber,
      }),
    ),
    read(address, "submissions", () =>
      readContract(ctx.publicClient, { ...at, functionName: "submissions", args: [auditRound - 1n] }),
    ),
  ]);
  const size = poolSize(params.committeeSize, params.minReveals, params.poolSeats, submissions);
  const validators: Address[] = [];
  for await (const op of iterateOperators(ctx)) {
    if (op.roleId === ROLE.Validator) validators.push(getAddress(op.operator));
  }
  const stakes = await Promise.all(
    validators.map((v) =>
      read(staking, "stakeAt", () =>
        readContract(ctx.publicClient, { ...stakingAt, functionName: "stakeAt", args: [v, round] }),
      ),
    ),
  );
  const members = validators
    .filter((v, i) => committeeBand(value, id, v, stakes[i]!, totalStake, params.committeeSize, size) === 0n)
    .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  return {
    id,
    round,
    auditRound,
    auditSeed: seed,
    committeeSize: params.committeeSize,
    totalStake,
    members,
  };
}

/**
 * Reports that `validator` committed to the beacon of `round` and withheld its reveal: the
 * challenge manager slashes it `beaconSlash` and pays the sender the finder's fee. From the start
 * of `round` until `epochClosesAt(round - 1)`.
 */
export async function reportBeaconWithholding(
  ctx: PoAIContext,
  args: { round: bigint | number; validator: Address } & WriteOptions,
): Promise<Hash> {
  const round = checkRound("round", args.round);
  const validator = checkAddress("validator", args.validator);
  const data = encodeFunctionData({
    abi: challengeManagerAbi,
    functionName: "reportBeaconWithholding",
    args: [round, validator],
  });
  return sendChallenges(ctx, "reportBeaconWithholding", data, args);
}

/**
 * The longest time (seconds) from the start of an offence's round to the last moment the
 * challenge manager can still slash for it (`slashWindow()`); Staking's unbonding period must
 * outlast it.
 */
export async function getSlashWindow(ctx: PoAIContext): Promise<bigint> {
  const address = challengeManagerAddress(ctx);
  return read(address, "slashWindow", () =>
    readContract(ctx.publicClient, { address, abi: challengeManagerAbi, functionName: "slashWindow" }),
  );
}

// =================================================================================================
// Judgment
// =================================================================================================

/**
 * Judges challenge `id` once its reveal window is over (after its second phase when a member
 * revealed `Invalid`); a committee that cannot decide is extended into the next round instead
 * (the status stays `Submitted`). Permissionless. The last member to reveal judges the challenge
 * already when nobody revealed `Invalid`: then this reverts `ChallengeNotOpen`.
 */
export async function finalizeChallenge(ctx: PoAIContext, args: { id: Hex } & WriteOptions): Promise<Hash> {
  const id = checkBytes32("id", args.id);
  const data = encodeFunctionData({ abi: challengeManagerAbi, functionName: "finalize", args: [id] });
  return sendChallenges(ctx, "finalize", data, args);
}

// =================================================================================================
// Reads
// =================================================================================================

/** Challenge `id`, with its status by name. An id nobody submitted for reads back with status `None`. */
export async function getChallenge(ctx: PoAIContext, args: { id: Hex }): Promise<ChallengeInfo> {
  const id = checkBytes32("id", args.id);
  const address = challengeManagerAddress(ctx);
  const c = await read(address, "getChallenge", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "getChallenge",
      args: [id],
    }),
  );
  const status = decodeStatus(c.status);
  return { ...c, status, final: isFinalStatus(status) };
}

/** The committee members of challenge `id` in commit order, with their verdicts by name. */
export async function getChallengeMembers(ctx: PoAIContext, args: { id: Hex }): Promise<MemberInfo[]> {
  const id = checkBytes32("id", args.id);
  const address = challengeManagerAddress(ctx);
  const members = await read(address, "getMembers", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "getMembers",
      args: [id],
    }),
  );
  return members.map((m) => ({
    ...m,
    verdict: decodeVerdict(m.verdict),
    replayVerdict: decodeVerdict(m.replayVerdict),
  }));
}

/** `operator`'s points in `epoch` (trainer: stake × score; validator: stake per agreeing verdict). */
export async function getEpochPoints(
  ctx: PoAIContext,
  args: { epoch: bigint | number; operator: Address },
): Promise<bigint> {
  const epoch = checkRound("epoch", args.epoch);
  const operator = checkAddress("operator", args.operator);
  const address = challengeManagerAddress(ctx);
  return read(address, "epochPoints", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "epochPoints",
      args: [epoch, operator],
    }),
  );
}

/** The trainers' and the validators' total points in `epoch`, read at one block, and whether they are final. */
export async function getEpochTotals(
  ctx: PoAIContext,
  args: { epoch: bigint | number },
): Promise<EpochTotals> {
  const epoch = checkRound("epoch", args.epoch);
  const address = challengeManagerAddress(ctx);
  const blockNumber = await read(address, "epochTotalPoints", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const at = { address, abi: challengeManagerAbi, blockNumber } as const;
  const [trainer, validator, closesAt, final] = await read(address, "epochTotalPoints", () =>
    Promise.all([
      readContract(ctx.publicClient, {
        ...at,
        functionName: "epochTotalPoints",
        args: [epoch, ROLE.Trainer],
      }),
      readContract(ctx.publicClient, {
        ...at,
        functionName: "epochTotalPoints",
        args: [epoch, ROLE.Validator],
      }),
      readContract(ctx.publicClient, { ...at, functionName: "epochClosesAt", args: [epoch] }),
      readContract(ctx.publicClient, { ...at, functionName: "isEpochFinal", args: [epoch] }),
    ]),
  );
  return { epoch, trainer, validator, closesAt, final };
}

/** After this time (unix seconds) no challenge of `epoch` earns points any more. */
export async function epochClosesAt(ctx: PoAIContext, args: { epoch: bigint | number }): Promise<bigint> {
  const epoch = checkRound("epoch", args.epoch);
  const address = challengeManagerAddress(ctx);
  return read(address, "epochClosesAt", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "epochClosesAt",
      args: [epoch],
    }),
  );
}

/** The challenge parameters now in force. */
export async function getChallengeParams(ctx: PoAIContext): Promise<ChallengeParams> {
  const address = challengeManagerAddress(ctx);
  return read(address, "params", () =>
    readContract(ctx.publicClient, { address, abi: challengeManagerAbi, functionName: "params" }),
  );
}

/** Rounds in a row `trainer` has missed (reset by a submission and when the misses jail it). */
export async function getMisses(ctx: PoAIContext, args: { trainer: Address }): Promise<bigint> {
  const trainer = checkAddress("trainer", args.trainer);
  const address = challengeManagerAddress(ctx);
  return read(address, "misses", () =>
    readContract(ctx.publicClient, {
      address,
      abi: challengeManagerAbi,
      functionName: "misses",
      args: [trainer],
    }),
  );
}

/**
 * The timeline of `round`'s challenges (see `roundWindows`): submission deadline, verdict commit
 * and reveal windows, the close of its points. With `specId`, `deadline` is that spec's.
 */
export async function getRoundWindows(
  ctx: PoAIContext,
  args: { round: bigint | number; specId?: Hex; extension?: bigint | number },
): Promise<RoundWindows> {
  const round = checkRound("round", args.round);
  const address = challengeManagerAddress(ctx);
  const at = { address, abi: challengeManagerAbi } as const;
  const [genesis, epochLength, params, spec] = await Promise.all([
    read(address, "genesis", () => readContract(ctx.publicClient, { ...at, functionName: "genesis" })),
    read(address, "epochLength", () =>
      readContract(ctx.publicClient, { ...at, functionName: "epochLength" }),
    ),
    getChallengeParams(ctx),
    args.specId === undefined ? undefined : getSpecParams(ctx, { specId: args.specId }),
  ]);
  return roundWindows(genesis, epochLength, round, {
    ...params,
    ...(spec !== undefined && { responseDeadline: spec.responseDeadline }),
    ...(args.extension !== undefined && { extension: checkRound("extension", args.extension) }),
  });
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a ChallengeManager event (`ResultSubmitted`, `VerdictCommitted`, `VerdictRevealed`, `ChallengeFinalized`, `ChallengeMissed`, …). */
export type ChallengeEventName = ContractEventName<typeof challengeManagerAbi>;

/** A decoded ChallengeManager event log; `eventName` discriminates `args`. */
export type ChallengeEvent<N extends ChallengeEventName = ChallengeEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof challengeManagerAbi, K>;
}[N];

/** Indexed-argument filter of event `N` (`id`, `trainer`, `round`, `validator`, …). */
export type ChallengeEventFilter<N extends ChallengeEventName> = ContractEventArgs<
  typeof challengeManagerAbi,
  N
>;

/** Decodes the ChallengeManager events among `logs` (a receipt's logs, for instance), optionally only `eventName`. */
export function parseChallengeEvents<N extends ChallengeEventName = ChallengeEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): ChallengeEvent<N>[] {
  return parseContractLogs({
    address: challengeManagerAddress(ctx),
    abi: challengeManagerAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as ChallengeEvent<N>[];
}

/** Past ChallengeManager events (`fromBlock` defaults to the deployment block, else the genesis block). */
export async function getChallengeEvents<N extends ChallengeEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: ChallengeEventFilter<N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<ChallengeEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: challengeManagerAddress(ctx),
    abi: challengeManagerAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as ChallengeEvent<N>[];
}

/**
 * Calls `onEvents` with new ChallengeManager events (every event, or only `eventName`, filtered by
 * indexed `args`). Returns a function that stops watching. Over HTTP the watcher polls from the
 * block after the current one (or from `fromBlock`); over WebSocket or IPC it subscribes.
 */
export function watchChallengeEvents<N extends ChallengeEventName = ChallengeEventName>(
  ctx: PoAIContext,
  args: {
    eventName?: N;
    args?: ChallengeEventFilter<N>;
    onEvents: (events: ChallengeEvent<N>[]) => void;
  } & WatchOptions,
): () => void {
  return watchContractEvents(ctx, {
    address: challengeManagerAddress(ctx),
    abi: challengeManagerAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    onEvents: (logs) => args.onEvents(logs as unknown as ChallengeEvent<N>[]),
    ...(args.onError !== undefined && { onError: args.onError }),
    ...(args.pollingInterval !== undefined && { pollingInterval: args.pollingInterval }),
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
  });
}

/** Watches `ChallengeFinalized` events, optionally of one `trainer` and/or one `round`. */
export function watchFinalizations(
  ctx: PoAIContext,
  args: {
    trainer?: Address;
    round?: bigint | number;
    onFinalized: (event: ChallengeEvent<"ChallengeFinalized">) => void;
  } & WatchOptions,
): () => void {
  const filter = {
    ...(args.trainer !== undefined && { trainer: checkAddress("trainer", args.trainer) }),
    ...(args.round !== undefined && { round: checkRound("round", args.round) }),
  };
  return watchChallengeEvents(ctx, {
    eventName: "ChallengeFinalized",
    args: filter,
    onEvents: (events) => events.forEach((e) => args.onFinalized(e)),
    ...(args.onError !== undefined && { onError: args.onError }),
    ...(args.pollingInterval !== undefined && { pollingInterval: args.pollingInterval }),
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
  });
}
