/**
 * RewardDistributor actions: the money flow of PoAI.
 *
 * - **Treasury**: `fundRewards` adds to the emission reserve (approve the distributor first).
 * - **Governance**: `setEmission` schedules a new emission per epoch, in force `noticeEpochs`
 *   epochs later.
 * - **Anyone**: `closeEpochs` closes the epochs whose points are final (in order): the epoch takes
 *   its emission from the reserve plus the carry, the protocol's cut comes first and FLock's
 *   formula splits the rest between trainers and validators by their stake at the epoch's start.
 *   `settle` then pays one operator's share, `floor(role budget x points / role points)`, into
 *   its Staking pool (commission first, then the pool's reward-per-share); `settleMany` settles a
 *   list. `settleFees` pays an operator's pending usage fees; `expireEpoch` returns what was not
 *   settled within the settle window to the carry. A jailed operator's share (or fees) is carried
 *   into the next epoch instead of paid.
 * - **Reads**: `getEpochReport`, `getPendingSettlement`, `getPendingRewards`, `getRewardParams`,
 *   `getRewardTotals`; events with `getRewardEvents`, `parseRewardEvents`, `watchRewardEvents`.
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash;
 * `waitForTransaction(ctx, hash)` waits for the receipt and decodes an on-chain revert.
 */
import {
  encodeFunctionData,
  isAddressEqual,
  type Address,
  type BlockNumber,
  type BlockTag,
  type ContractEventArgs,
  type ContractEventName,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hash,
  type Hex,
  type Log,
  type ReadContractParameters,
} from "viem";
import { getBlockNumber, readContract } from "viem/actions";
import { challengeManagerAbi, poaiTokenAbi, rewardDistributorAbi, stakingAbi } from "../abi/index.js";
import { requireSigner, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIContractError, PoAIInputError } from "../errors.js";
import {
  getPastContractEvents,
  parseContractLogs,
  watchContractEvents,
  type WatchOptions,
} from "../events.js";
import { checkRound } from "../poai/validate.js";
import { sendContractTransaction, waitForTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkAddressList, checkAmount, checkUint } from "../validate.js";
import { challengeManagerAddress } from "./challenges.js";
import { ROLE, getPositions, type PositionView } from "./staking.js";

// --- types (inferred from the generated ABI) -----------------------------------------------------

/** The distributor's governance parameters (gamma, protocol cut, fee split, notice, settle window, treasury). */
export type RewardParams = ContractFunctionReturnType<typeof rewardDistributorAbi, "view", "params">;
/** One epoch's record as the distributor keeps it. */
export type RewardEpoch = ContractFunctionReturnType<typeof rewardDistributorAbi, "view", "getEpoch">;

/** Largest emission per epoch the distributor accepts (`MAX_EMISSION_PER_EPOCH`). */
export const MAX_EMISSION_PER_EPOCH = 10n ** 30n;

/** One epoch in the distributor, with the inputs its split was computed from; read at one block. */
export interface EpochReport extends RewardEpoch {
  epoch: bigint;
  /** The emission this epoch takes (or took) from the reserve, as scheduled now. */
  emission: bigint;
  /** Budgets not settled yet (0 once expired: the rest went to the carry). */
  unsettled: bigint;
  /** The role stakes at the epoch's start (`S_t`, `S_v` in FLock's formula). */
  trainerStake: bigint;
  validatorStake: bigint;
  /** The roles' total points in the epoch (from the ChallengeManager). */
  trainerPoints: bigint;
  validatorPoints: bigint;
  /** Whether the epoch's points are final (it can be closed once the earlier epochs are). */
  final: boolean;
  /** Unix time after which the epoch's points are final. */
  closesAt: bigint;
  /** The last epoch in which a closed epoch can surely be settled: `closedIn + settleWindow` (0 while open). */
  settleUntil: bigint;
}

/** What settling would pay into the pool of an operator the owner runs, for one epoch. */
export interface PendingSettlement {
  operator: Address;
  epoch: bigint;
  amount: bigint;
}

/** An owner's rewards across pools, and what is still on its way to the pools it runs. */
export interface PendingRewards {
  owner: Address;
  /** The owner's positions in the pools asked for, with `claimable` rewards. */
  positions: (PositionView & { operator: Address })[];
  /** Sum of `claimable` over `positions`: what `claimMany` would pay now. */
  claimable: bigint;
  /**
   * Shares of closed epochs not settled yet into the pool of the operator the owner runs (when it
   * is one of `operators`): settling pays them into the pool (commission, then every delegator's
   * part); for a jailed operator they are carried instead.
   */
  settlements: PendingSettlement[];
  /** Sum of `settlements`. */
  unsettled: bigint;
  /** Usage fees waiting for `settleFees` into the owner's pool. */
  pendingFees: bigint;
}

/** The parameters now in force and the emission schedule. */
export interface RewardParamsView extends RewardParams {
  emissionPerEpoch: bigint;
  /** A scheduled emission change (`null` when none): `amount` per epoch from `fromEpoch` on. */
  pendingEmission: { amount: bigint; fromEpoch: bigint } | null;
  /** The first epoch the distributor closes (the staking epoch at its deployment). */
  firstEpoch: bigint;
}

/** The distributor's accounting, read at one block. */
export interface RewardTotals {
  totalFunded: bigint;
  totalFees: bigint;
  /** Paid into Staking pools. */
  totalForwarded: bigint;
  /** Paid to the treasury (protocol cuts of emissions and usage fees). */
  totalToProtocol: bigint;
  /** Funded emissions not yet taken by an epoch. */
  reserve: bigint;
  /** Unallocated rewards, added to the next closed epoch. */
  carry: bigint;
  /** The distributor's token balance: reserve + carry + unsettled budgets + pending fees. */
  balance: bigint;
  /** Budgets of closed epochs not settled yet, plus pending usage fees: `balance - reserve - carry`. */
  owed: bigint;
  nextEpochToClose: bigint;
  /** Conservation: funded + fees = forwarded + protocol + balance. */
  balanced: boolean;
}

// --- plumbing -------------------------------------------------------------------------------------

/** The RewardDistributor address of the deployment, or a `PoAIInputError` naming the missing field. */
export function rewardDistributorAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.rewardDistributor;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.rewardDistributor",
      undefined,
      "the RewardDistributor address (this deployment has no reward contracts)",
    );
  }
  return address;
}

function sendRewards(
  ctx: PoAIContext,
  functionName: string,
  data: Hex,
  options: WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: rewardDistributorAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

/** Reads one view of the distributor (types inferred from the ABI); a revert becomes a `PoAIContractError`. */
function readRewards<F extends RewardViewName>(
  ctx: PoAIContext,
  functionName: F,
  ...args: ContractFunctionArgs<typeof rewardDistributorAbi, "view", F> extends readonly []
    ? []
    : [ContractFunctionArgs<typeof rewardDistributorAbi, "view", F>]
): Promise<ContractFunctionReturnType<typeof rewardDistributorAbi, "view", F>> {
  const address = rewardDistributorAddress(ctx);
  return read(address, functionName, () =>
    readContract(ctx.publicClient, {
      address,
      abi: rewardDistributorAbi,
      functionName,
      args: args[0],
    } as ReadContractParameters<typeof rewardDistributorAbi, F>),
  ) as Promise<ContractFunctionReturnType<typeof rewardDistributorAbi, "view", F>>;
}

type RewardViewName = ContractFunctionName<typeof rewardDistributorAbi, "view">;

function writeOptions(o: WriteOptions): WriteOptions {
  return o.account !== undefined ? { account: o.account } : {};
}

// =================================================================================================
// Writes (each returns the transaction hash)
// =================================================================================================

/**
 * Adds `amount` (pulled from the sender) to the emission reserve. The sender approves the
 * distributor first: `approve(ctx, { amount, spender: rewardDistributorAddress(ctx) })`.
 */
export async function fundRewards(ctx: PoAIContext, args: { amount: bigint } & WriteOptions): Promise<Hash> {
  const amount = checkAmount("amount", args.amount);
  const data = encodeFunctionData({ abi: rewardDistributorAbi, functionName: "fund", args: [amount] });
  return sendRewards(ctx, "fund", data, args);
}

/**
 * Schedules a new emission per epoch (governance), in force from `currentEpoch + noticeEpochs`.
 * It replaces a scheduled change not in force yet; once a change's first epoch has started, a new
 * one is refused (`EmissionChangeInForce`) until that epoch is closed.
 */
export async function setEmission(ctx: PoAIContext, args: { amount: bigint } & WriteOptions): Promise<Hash> {
  const amount: unknown = args.amount;
  if (typeof amount !== "bigint" || amount < 0n || amount > MAX_EMISSION_PER_EPOCH)
    throw new PoAIInputError(
      "amount",
      amount,
      `a bigint amount per epoch in token wei, from 0 to ${MAX_EMISSION_PER_EPOCH} (e.g. parsePoai("1000"))`,
    );
  const data = encodeFunctionData({ abi: rewardDistributorAbi, functionName: "setEmission", args: [amount] });
  return sendRewards(ctx, "setEmission", data, args);
}

/** Closes up to `maxEpochs` (default 10) epochs whose points are final, oldest first. Permissionless. */
export async function closeEpochs(
  ctx: PoAIContext,
  args: { maxEpochs?: bigint | number } & WriteOptions = {},
): Promise<Hash> {
  const maxEpochs = checkUint("maxEpochs", args.maxEpochs ?? 10, 1n, 1000n);
  const data = encodeFunctionData({
    abi: rewardDistributorAbi,
    functionName: "closeEpochs",
    args: [maxEpochs],
  });
  return sendRewards(ctx, "closeEpochs", data, args);
}

/** Pays `operator`'s share of closed `epoch` into its pool (carried if it is jailed). Permissionless. */
export async function settle(
  ctx: PoAIContext,
  args: { operator: Address; epoch: bigint | number } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const epoch = checkRound("epoch", args.epoch);
  const data = encodeFunctionData({
    abi: rewardDistributorAbi,
    functionName: "settle",
    args: [operator, epoch],
  });
  return sendRewards(ctx, "settle", data, args);
}

/**
 * Settles closed `epoch` for each of `operators` in turn, skipping those with nothing to settle
 * (no points, or already settled). Each transaction is mined before the next is sent; the first
 * one that fails throws its decoded error (those before it stay settled). An epoch that is not
 * closed, or has expired, throws `EpochNotClosed` / `EpochExpiredError` before anything is sent.
 * Returns the hashes of the settlements sent, in order.
 */
export async function settleMany(
  ctx: PoAIContext,
  args: { operators: readonly Address[]; epoch: bigint | number } & WriteOptions,
): Promise<Hash[]> {
  const operators = checkAddressList("operators", args.operators);
  const epoch = checkRound("epoch", args.epoch);
  const contractAddress = rewardDistributorAddress(ctx);
  requireSigner(ctx, "settle", args.account);
  const record = await readRewards(ctx, "getEpoch", [epoch]);
  if (!record.closed || record.expired) {
    const errorName = record.closed ? "EpochExpiredError" : "EpochNotClosed";
    throw new PoAIContractError({ errorName, args: [epoch], contractAddress, functionName: "settle" });
  }
  const hashes: Hash[] = [];
  for (const operator of operators) {
    if ((await getPendingSettlement(ctx, { operator, epoch })) === 0n) continue;
    const hash = await settle(ctx, { operator, epoch, ...writeOptions(args) });
    await waitForTransaction(ctx, hash);
    hashes.push(hash);
  }
  return hashes;
}

/** Pays `operator`'s pending usage fees into its pool (carried if Staking refuses them). Permissionless. */
export async function settleFees(
  ctx: PoAIContext,
  args: { operator: Address } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const data = encodeFunctionData({
    abi: rewardDistributorAbi,
    functionName: "settleFees",
    args: [operator],
  });
  return sendRewards(ctx, "settleFees", data, args);
}

/**
 * Returns to the carry what closed `epoch`'s operators did not settle (rounding dust included),
 * once its settle window (`settleWindow` epochs after the one it was closed in) is over.
 */
export async function expireEpoch(
  ctx: PoAIContext,
  args: { epoch: bigint | number } & WriteOptions,
): Promise<Hash> {
  const epoch = checkRound("epoch", args.epoch);
  const data = encodeFunctionData({ abi: rewardDistributorAbi, functionName: "expire", args: [epoch] });
  return sendRewards(ctx, "expire", data, args);
}

// =================================================================================================
// Reads
// =================================================================================================

/**
 * `epoch` in the distributor (budgets, settled amounts, closed / expired, the emission it takes)
 * with the inputs of its split: the role stakes at its start and the roles' points. One block.
 */
export async function getEpochReport(
  ctx: PoAIContext,
  args: { epoch: bigint | number },
): Promise<EpochReport> {
  const epoch = checkRound("epoch", args.epoch);
  const address = rewardDistributorAddress(ctx);
  const challenges = challengeManagerAddress(ctx);
  const staking = ctx.deployment.contracts.staking;
  const blockNumber = await read(address, "getEpoch", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const rd = { address, abi: rewardDistributorAbi, blockNumber } as const;
  const cm = { address: challenges, abi: challengeManagerAbi, blockNumber } as const;
  const st = { address: staking, abi: stakingAbi, blockNumber } as const;
  const [
    ep,
    emission,
    params,
    trainerStake,
    validatorStake,
    trainerPoints,
    validatorPoints,
    final,
    closesAt,
  ] = await read(address, "getEpoch", () =>
    Promise.all([
      readContract(ctx.publicClient, { ...rd, functionName: "getEpoch", args: [epoch] }),
      readContract(ctx.publicClient, { ...rd, functionName: "emissionFor", args: [epoch] }),
      readContract(ctx.publicClient, { ...rd, functionName: "params" }),
      readContract(ctx.publicClient, { ...st, functionName: "roleStakeAt", args: [ROLE.Trainer, epoch] }),
      readContract(ctx.publicClient, { ...st, functionName: "roleStakeAt", args: [ROLE.Validator, epoch] }),
      readContract(ctx.publicClient, {
        ...cm,
        functionName: "epochTotalPoints",
        args: [epoch, ROLE.Trainer],
      }),
      readContract(ctx.publicClient, {
        ...cm,
        functionName: "epochTotalPoints",
        args: [epoch, ROLE.Validator],
      }),
      readContract(ctx.publicClient, { ...cm, functionName: "isEpochFinal", args: [epoch] }),
      readContract(ctx.publicClient, { ...cm, functionName: "epochClosesAt", args: [epoch] }),
    ]),
  );
  const unsettled =
    ep.closed && !ep.expired
      ? ep.trainerBudget - ep.trainerSettled + (ep.validatorBudget - ep.validatorSettled)
      : 0n;
  return {
    ...ep,
    epoch,
    emission,
    unsettled,
    trainerStake,
    validatorStake,
    trainerPoints,
    validatorPoints,
    final,
    closesAt,
    settleUntil: ep.closed ? ep.closedIn + BigInt(params.settleWindow) : 0n,
  };
}

/** What `settle({ operator, epoch })` would pay now (0: nothing, already settled, not closed or expired). */
export async function getPendingSettlement(
  ctx: PoAIContext,
  args: { operator: Address; epoch: bigint | number },
): Promise<bigint> {
  const operator = checkAddress("operator", args.operator);
  const epoch = checkRound("epoch", args.epoch);
  return readRewards(ctx, "pendingSettlement", [operator, epoch]);
}

/**
 * `owner`'s claimable rewards in the pools of `operators` (one read through Multicall3 when the
 * deployment or chain names one), and, when `owner` runs one of those operators, what is still to
 * be settled into its pool: its share of each closed epoch in `epochs` (default: the last
 * `settleWindow + 1` closed epochs, at most 256) and its pending usage fees.
 */
export async function getPendingRewards(
  ctx: PoAIContext,
  args: { owner: Address; operators: readonly Address[]; epochs?: readonly (bigint | number)[] },
): Promise<PendingRewards> {
  const owner = checkAddress("owner", args.owner);
  const operators = checkAddressList("operators", args.operators);
  const explicit = args.epochs?.map((e, i) => checkRound(`epochs[${i}]`, e));
  rewardDistributorAddress(ctx);
  const positions = await getPositions(ctx, { owner, operators });
  const claimable = positions.reduce((s, p) => s + p.claimable, 0n);
  const runs = operators.some((o) => isAddressEqual(o, owner));
  let settlements: PendingSettlement[] = [];
  let pendingFees = 0n;
  if (runs) {
    let epochs = explicit;
    if (epochs === undefined) {
      const [next, first, params] = await Promise.all([
        readRewards(ctx, "nextEpochToClose"),
        readRewards(ctx, "firstEpoch"),
        readRewards(ctx, "params"),
      ]);
      const back = BigInt(Math.min(params.settleWindow + 1, 256));
      const from = next - back > first ? next - back : first;
      epochs = [];
      for (let e = from; e < next; e++) epochs.push(e);
    }
    const amounts = await Promise.all(
      epochs.map((epoch) => getPendingSettlement(ctx, { operator: owner, epoch })),
    );
    settlements = epochs
      .map((epoch, i) => ({ operator: owner, epoch, amount: amounts[i]! }))
      .filter((s) => s.amount > 0n);
    pendingFees = await readRewards(ctx, "pendingFees", [owner]);
  }
  return {
    owner,
    positions,
    claimable,
    settlements,
    unsettled: settlements.reduce((s, x) => s + x.amount, 0n),
    pendingFees,
  };
}

/** The parameters now in force and the emission schedule. */
export async function getRewardParams(ctx: PoAIContext): Promise<RewardParamsView> {
  const [params, emissionPerEpoch, pendingEmission, pendingEmissionFrom, firstEpoch] = await Promise.all([
    readRewards(ctx, "params"),
    readRewards(ctx, "emissionPerEpoch"),
    readRewards(ctx, "pendingEmission"),
    readRewards(ctx, "pendingEmissionFrom"),
    readRewards(ctx, "firstEpoch"),
  ]);
  return {
    ...params,
    emissionPerEpoch,
    pendingEmission:
      pendingEmissionFrom === 0n ? null : { amount: pendingEmission, fromEpoch: pendingEmissionFrom },
    firstEpoch,
  };
}

/** The distributor's accounting at one block, and whether it balances. */
export async function getRewardTotals(ctx: PoAIContext): Promise<RewardTotals> {
  const address = rewardDistributorAddress(ctx);
  const blockNumber = await read(address, "totalFunded", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const rd = { address, abi: rewardDistributorAbi, blockNumber } as const;
  const [totalFunded, totalFees, totalForwarded, totalToProtocol, reserve, carry, nextEpochToClose, balance] =
    await read(address, "totalFunded", () =>
      Promise.all([
        readContract(ctx.publicClient, { ...rd, functionName: "totalFunded" }),
        readContract(ctx.publicClient, { ...rd, functionName: "totalFees" }),
        readContract(ctx.publicClient, { ...rd, functionName: "totalForwarded" }),
        readContract(ctx.publicClient, { ...rd, functionName: "totalToProtocol" }),
        readContract(ctx.publicClient, { ...rd, functionName: "reserve" }),
        readContract(ctx.publicClient, { ...rd, functionName: "carry" }),
        readContract(ctx.publicClient, { ...rd, functionName: "nextEpochToClose" }),
        readContract(ctx.publicClient, {
          address: ctx.deployment.contracts.token,
          abi: poaiTokenAbi,
          functionName: "balanceOf",
          args: [address],
          blockNumber,
        }),
      ]),
    );
  return {
    totalFunded,
    totalFees,
    totalForwarded,
    totalToProtocol,
    reserve,
    carry,
    balance,
    owed: balance - reserve - carry,
    nextEpochToClose,
    balanced: totalFunded + totalFees === totalForwarded + totalToProtocol + balance,
  };
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a RewardDistributor event. */
export type RewardEventName = ContractEventName<typeof rewardDistributorAbi>;

/** A decoded RewardDistributor event log; `eventName` discriminates `args`. */
export type RewardEvent<N extends RewardEventName = RewardEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof rewardDistributorAbi, K>;
}[N];

/** Indexed-argument filter of event `N`. */
export type RewardEventFilter<N extends RewardEventName> = ContractEventArgs<typeof rewardDistributorAbi, N>;

/** Decodes the RewardDistributor events among `logs` (a receipt's logs, for instance), optionally only `eventName`. */
export function parseRewardEvents<N extends RewardEventName = RewardEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): RewardEvent<N>[] {
  return parseContractLogs({
    address: rewardDistributorAddress(ctx),
    abi: rewardDistributorAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as RewardEvent<N>[];
}

/** Past RewardDistributor events (`fromBlock` defaults to the deployment block, else the genesis block). */
export async function getRewardEvents<N extends RewardEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: RewardEventFilter<N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<RewardEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: rewardDistributorAddress(ctx),
    abi: rewardDistributorAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as RewardEvent<N>[];
}

/**
 * Calls `onEvents` with new RewardDistributor events (every event, or only `eventName`, filtered
 * by indexed `args`: `EpochClosed` by `epoch`, `Settled` by `epoch` and `operator`, …). Returns a
 * function that stops watching. Over HTTP the watcher polls from the block after the current one
 * (or from `fromBlock`); over WebSocket or IPC it subscribes.
 */
export function watchRewardEvents<N extends RewardEventName = RewardEventName>(
  ctx: PoAIContext,
  args: {
    eventName?: N;
    args?: RewardEventFilter<N>;
    onEvents: (events: RewardEvent<N>[]) => void;
  } & WatchOptions,
): () => void {
  return watchContractEvents(ctx, {
    address: rewardDistributorAddress(ctx),
    abi: rewardDistributorAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    onEvents: (logs) => args.onEvents(logs as unknown as RewardEvent<N>[]),
    ...(args.onError !== undefined && { onError: args.onError }),
    ...(args.pollingInterval !== undefined && { pollingInterval: args.pollingInterval }),
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
  });
}
