/**
 * RewardDistributor actions: the money flow of PoAI.
 *
 * - **Treasury**: `fundRewards` adds to the emission reserve (approve the distributor first).
 * - **Governance**: `setEmission` schedules a new emission per epoch, in force `noticeEpochs`
 *   epochs later.
 * - **Nobody has to do anything else.** Once an epoch's points are final, the first action on any
 *   Staking pool (a delegation, an undelegation, a claim) closes it: the epoch takes its emission
 *   from the reserve, the protocol's cut of that emission goes to the treasury, FLock's formula
 *   splits the rest plus the carry between trainers and validators by their stake at the epoch's
 *   start, and each role's budget goes to Staking. Each pool is then credited with its part of
 *   its role's budget by points (commission, then the shares that existed when the epoch began)
 *   the first time it is touched. `closeEpochs` and `settle` / `settleMany` do the same on
 *   purpose (to close or credit ahead of time, or a pool nobody touched for long).
 * - **Usage fees** (`notifyUsage`, the coordinator) go straight to the node's and the model
 *   trainer's pools for the current epoch.
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
import { PoAIInputError } from "../errors.js";
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

/** The distributor's governance parameters (gamma, protocol cut, fee split, notice, treasury). */
export type RewardParams = ContractFunctionReturnType<typeof rewardDistributorAbi, "view", "params">;
/** One epoch's record as the distributor keeps it (budgets funded in Staking, the points they are shared by). */
export type RewardEpoch = ContractFunctionReturnType<typeof rewardDistributorAbi, "view", "getEpoch">;

/** Largest emission per epoch the distributor accepts (`MAX_EMISSION_PER_EPOCH`). */
export const MAX_EMISSION_PER_EPOCH = 10n ** 30n;

/** One epoch in the distributor, with the inputs its split was computed from; read at one block. */
export interface EpochReport extends RewardEpoch {
  epoch: bigint;
  /** The emission this epoch takes (or took) from the reserve, as scheduled now. */
  emission: bigint;
  /** What is left of its role budgets, not credited to a pool yet (pools not touched since it closed). */
  unsettled: bigint;
  /** The role stakes at the epoch's start (`S_t`, `S_v` in FLock's formula). */
  trainerStake: bigint;
  validatorStake: bigint;
  /** Whether the epoch's points are final (it closes once the earlier epochs are closed). */
  final: boolean;
  /** Unix time after which the epoch's points are final. */
  closesAt: bigint;
}

/** What crediting an operator's pool would add to it now for one closed epoch. */
export interface PendingSettlement {
  operator: Address;
  epoch: bigint;
  amount: bigint;
}

/** An owner's rewards across pools, and what its own pool has earned and not been credited yet. */
export interface PendingRewards {
  owner: Address;
  /** The owner's positions in the pools asked for, with `claimable` rewards of every closed epoch. */
  positions: (PositionView & { operator: Address })[];
  /** Sum of `claimable` over `positions`: what `claimMany` would pay now. */
  claimable: bigint;
  /**
   * The closed epochs not credited yet to the pool of the operator the owner runs (when it is one
   * of `operators`), each with its share of its role's budget: the pool's next touch credits them
   * (commission, then every delegator's part; `claimable` already counts the owner's part).
   */
  settlements: PendingSettlement[];
  /** Sum of `settlements`. */
  unsettled: bigint;
  /** Usage fees and other rewards added to the owner's pool for epochs not credited yet. */
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
  /** Epoch budgets and usage fees sent to Staking. */
  totalForwarded: bigint;
  /** Rewards nobody could earn that Staking sent back (they joined the carry). */
  totalReturned: bigint;
  /** Paid to the treasury (protocol cuts of emissions and usage fees). */
  totalToProtocol: bigint;
  /** Funded emissions not yet taken by an epoch. */
  reserve: bigint;
  /** Unallocated rewards, added to the next closed epoch. */
  carry: bigint;
  /** The distributor's token balance: reserve + carry. */
  balance: bigint;
  nextEpochToClose: bigint;
  /** Conservation: funded + fees + returned = forwarded + protocol + reserve + carry, and balance = reserve + carry. */
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

/**
 * Closes up to `maxEpochs` (default 10) epochs whose points are final, oldest first. Permissionless
 * and never needed: the first action on a pool after an epoch is final closes it.
 */
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

/**
 * Credits `operator`'s pool with the closed epochs up to `epoch` it was not credited with yet (at
 * most 64 per transaction), closing the final ones first. Permissionless and never needed (every
 * action on the pool does it); useful to bring a pool nobody touched for long up to date.
 */
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
 * Credits each pool of `operators` up to `epoch` in turn, skipping those already credited that
 * far. Each transaction is mined before the next is sent; the first one that fails throws its
 * decoded error (those before it stay credited). Returns the hashes sent, in order.
 */
export async function settleMany(
  ctx: PoAIContext,
  args: { operators: readonly Address[]; epoch: bigint | number } & WriteOptions,
): Promise<Hash[]> {
  const operators = checkAddressList("operators", args.operators);
  const epoch = checkRound("epoch", args.epoch);
  requireSigner(ctx, "settle", args.account);
  const staking = ctx.deployment.contracts.staking;
  const hashes: Hash[] = [];
  for (const operator of operators) {
    const pool = await read(staking, "getPool", () =>
      readContract(ctx.publicClient, {
        address: staking,
        abi: stakingAbi,
        functionName: "getPool",
        args: [operator],
      }),
    );
    if (pool.creditedThrough > epoch) continue;
    const hash = await settle(ctx, { operator, epoch, ...writeOptions(args) });
    await waitForTransaction(ctx, hash);
    hashes.push(hash);
  }
  return hashes;
}

// =================================================================================================
// Reads
// =================================================================================================

/**
 * `epoch` in the distributor (budgets, points, closed, the emission it takes) with the inputs of
 * its split (the role stakes at its start) and what of its budgets no pool was credited with yet.
 * One block.
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
  const [ep, emission, trainerStake, validatorStake, trainerLeft, validatorLeft, final, closesAt] =
    await read(address, "getEpoch", () =>
      Promise.all([
        readContract(ctx.publicClient, { ...rd, functionName: "getEpoch", args: [epoch] }),
        readContract(ctx.publicClient, { ...rd, functionName: "emissionFor", args: [epoch] }),
        readContract(ctx.publicClient, { ...st, functionName: "roleStakeAt", args: [ROLE.Trainer, epoch] }),
        readContract(ctx.publicClient, { ...st, functionName: "roleStakeAt", args: [ROLE.Validator, epoch] }),
        readContract(ctx.publicClient, { ...st, functionName: "epochBudget", args: [epoch, ROLE.Trainer] }),
        readContract(ctx.publicClient, { ...st, functionName: "epochBudget", args: [epoch, ROLE.Validator] }),
        readContract(ctx.publicClient, { ...cm, functionName: "isEpochFinal", args: [epoch] }),
        readContract(ctx.publicClient, { ...cm, functionName: "epochClosesAt", args: [epoch] }),
      ]),
    );
  return {
    ...ep,
    epoch,
    emission,
    unsettled: trainerLeft[0] + validatorLeft[0],
    trainerStake,
    validatorStake,
    final,
    closesAt,
  };
}

/**
 * What crediting `operator`'s pool now would add to it for closed `epoch`: its share of its role's
 * budget (what is left of it x its points / the points left) plus the rewards added to the pool
 * for that epoch. 0 when the pool is already credited with it, or the epoch is not closed yet.
 */
export async function getPendingSettlement(
  ctx: PoAIContext,
  args: { operator: Address; epoch: bigint | number },
): Promise<bigint> {
  const operator = checkAddress("operator", args.operator);
  const epoch = checkRound("epoch", args.epoch);
  const staking = ctx.deployment.contracts.staking;
  const st = { address: staking, abi: stakingAbi } as const;
  const [pool, clock, role] = await read(staking, "getPool", () =>
    Promise.all([
      readContract(ctx.publicClient, { ...st, functionName: "getPool", args: [operator] }),
      readContract(ctx.publicClient, { ...st, functionName: "rewardClock" }),
      readContract(ctx.publicClient, { ...st, functionName: "roleOf", args: [operator] }),
    ]),
  );
  const closedBefore = clock[2];
  if (role === ROLE.None || epoch < pool.creditedThrough || epoch >= closedBefore) return 0n;
  const [[budget, points], extra, earned] = await read(staking, "epochBudget", () =>
    Promise.all([
      readContract(ctx.publicClient, { ...st, functionName: "epochBudget", args: [epoch, role] }),
      readContract(ctx.publicClient, { ...st, functionName: "poolRewardAt", args: [operator, epoch] }),
      clock[1] === "0x0000000000000000000000000000000000000000"
        ? Promise.resolve(0n)
        : readContract(ctx.publicClient, {
            address: clock[1],
            abi: challengeManagerAbi,
            functionName: "epochPoints",
            args: [epoch, operator],
          }),
    ]),
  );
  const share = budget === 0n || earned === 0n ? 0n : earned >= points ? budget : (budget * earned) / points;
  return share + extra;
}

/**
 * `owner`'s claimable rewards in the pools of `operators`, every closed epoch included (one read
 * through Multicall3 when the deployment or chain names one), and, when `owner` runs one of those
 * operators, what its pool earned in closed epochs it was not credited with yet (`epochs`:
 * default, the last 64 closed epochs) and the rewards added to its pool for epochs not credited.
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
    const staking = ctx.deployment.contracts.staking;
    const st = { address: staking, abi: stakingAbi } as const;
    const [pool, clock, current] = await read(staking, "getPool", () =>
      Promise.all([
        readContract(ctx.publicClient, { ...st, functionName: "getPool", args: [owner] }),
        readContract(ctx.publicClient, { ...st, functionName: "rewardClock" }),
        readContract(ctx.publicClient, { ...st, functionName: "currentEpoch" }),
      ]),
    );
    let epochs = explicit;
    if (epochs === undefined) {
      epochs = [];
      const to = clock[2];
      const from = to - pool.creditedThrough > 64n ? to - 64n : pool.creditedThrough;
      for (let e = from; e < to; e++) epochs.push(e);
    }
    const amounts = await Promise.all(
      epochs.map((epoch) => getPendingSettlement(ctx, { operator: owner, epoch })),
    );
    settlements = epochs
      .map((epoch, i) => ({ operator: owner, epoch, amount: amounts[i]! }))
      .filter((s) => s.amount > 0n);
    const open: bigint[] = [];
    for (let e = pool.creditedThrough; e <= current && open.length < 64; e++) open.push(e);
    const extras = await read(staking, "poolRewardAt", () =>
      Promise.all(
        open.map((e) =>
          readContract(ctx.publicClient, { ...st, functionName: "poolRewardAt", args: [owner, e] }),
        ),
      ),
    );
    pendingFees = extras.reduce((a, x) => a + x, 0n);
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
  const [
    totalFunded,
    totalFees,
    totalForwarded,
    totalReturned,
    totalToProtocol,
    reserve,
    carry,
    nextEpochToClose,
    balance,
  ] = await read(address, "totalFunded", () =>
    Promise.all([
      readContract(ctx.publicClient, { ...rd, functionName: "totalFunded" }),
      readContract(ctx.publicClient, { ...rd, functionName: "totalFees" }),
      readContract(ctx.publicClient, { ...rd, functionName: "totalForwarded" }),
      readContract(ctx.publicClient, { ...rd, functionName: "totalReturned" }),
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
    totalReturned,
    totalToProtocol,
    reserve,
    carry,
    balance,
    nextEpochToClose,
    balanced:
      totalFunded + totalFees + totalReturned === totalForwarded + totalToProtocol + reserve + carry &&
      balance === reserve + carry,
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
 * by indexed `args`: `EpochClosed` by `epoch`, `UsageFee` by `node` and `modelTrainer`, …). Returns a
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
