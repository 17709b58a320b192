/**
 * Staking actions: operators (trainers and validators) register and stake, delegators buy pool
 * shares, unbond, withdraw, claim and compound rewards; reads of pools, positions, operators and
 * stake history; event queries and watchers.
 *
 * Every action is a plain function `action(ctx, args)` over a `PoAIContext`. Writes validate their
 * arguments, simulate the call (a revert is decoded into a `PoAIContractError` before anything is
 * signed), send it and return the transaction hash; `waitForTransaction(ctx, hash)` waits for the
 * receipt and throws a decoded error if the transaction reverted on-chain.
 */
import {
  encodeFunctionData,
  type Account,
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
import { getBlockNumber, multicall, readContract, simulateContract } from "viem/actions";
import { stakingAbi, stakingLensAbi } from "../abi/index.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import {
  getPastContractEvents,
  parseContractLogs,
  watchContractEvents,
  type WatchOptions,
} from "../events.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import {
  checkAddress,
  checkAddressList,
  checkAmount,
  checkBps,
  checkString,
  checkUint,
} from "../validate.js";
import { signPermit } from "./token.js";

// --- types (all inferred from the generated ABIs) -----------------------------------------------

/** A pool's accounting; `sharePrice` is tokens per share scaled by 1e18. */
export type PoolView = ContractFunctionReturnType<typeof stakingAbi, "view", "getPool">;
/**
 * A delegator's (or an operator's own) position in one pool: shares, their value, and what it can
 * claim (every closed epoch included when read with `getPosition` / `getPositions`).
 */
export type PositionView = ContractFunctionReturnType<typeof stakingAbi, "view", "getPosition">;
/** An operator as the StakingLens returns it (`role` as its on-chain number). */
export type RawOperatorView = ContractFunctionReturnType<typeof stakingLensAbi, "view", "getOperator">;
/** A role by name, as `register` takes it; `"none"` for an address that never registered. */
export type OperatorRoleName = "none" | "trainer" | "validator";
/**
 * An operator with its pool totals and metadata. `role` is the role's name (`"trainer"`,
 * `"validator"`, `"none"`), the same word `register` takes; `roleId` is its on-chain value
 * (`ROLE.Trainer`, `ROLE.Validator`, `ROLE.None`).
 */
export interface OperatorView extends Omit<RawOperatorView, "role"> {
  role: OperatorRoleName;
  roleId: number;
}
/** One live entry of an owner's unbonding queue, valued at the current unbonding price. */
export type UnbondingView = ContractFunctionReturnType<typeof stakingLensAbi, "view", "getUnbonding">[number];
/** The governance parameters of the staking contract. */
export type StakingParams = ContractFunctionReturnType<typeof stakingAbi, "view", "params">;

/** On-chain values of the `Role` enum. */
export const ROLE = { None: 0, Trainer: 1, Validator: 2 } as const;
/** On-chain values of the `Status` enum. */
export const OPERATOR_STATUS = { None: 0, Active: 1, Deregistered: 2 } as const;
/** An operator role, by name or by its on-chain value. */
export type OperatorRole = "trainer" | "validator" | typeof ROLE.Trainer | typeof ROLE.Validator;

/** The name of a role, given by its on-chain value (`OperatorView.roleId`) or its name. */
export function roleName(role: number | OperatorRoleName): OperatorRoleName {
  if (role === "trainer" || role === "validator" || role === "none") return role;
  return role === ROLE.Trainer ? "trainer" : role === ROLE.Validator ? "validator" : "none";
}

/** The lens's operator record with the role by name (`role`) and by value (`roleId`). */
function operatorView(raw: RawOperatorView): OperatorView {
  return { ...raw, role: roleName(raw.role), roleId: raw.role };
}

function checkRole(field: string, role: unknown): 1 | 2 {
  if (role === "trainer" || role === ROLE.Trainer) return ROLE.Trainer;
  if (role === "validator" || role === ROLE.Validator) return ROLE.Validator;
  throw new PoAIInputError(field, role, '"trainer" or "validator" (or 1 / 2)');
}

// --- plumbing ---------------------------------------------------------------------------------

function sendStaking(
  ctx: PoAIContext,
  functionName: string,
  data: Hex,
  account: Account | Address | undefined,
) {
  return sendContractTransaction(ctx, { to: ctx.deployment.contracts.staking, data, functionName, account });
}

/** The account a write is sent from (for reads that depend on it). */
function sender(ctx: PoAIContext, action: string, account?: Account | Address): Address {
  return senderAddress(requireSigner(ctx, action, account).account);
}

// =================================================================================================
// Writes (each returns the transaction hash)
// =================================================================================================

export interface RegisterArgs extends WriteOptions {
  role: OperatorRole;
  /** Self-stake in token wei; at least the role's minimum (see `getParams`). The sender must have approved it. */
  stake: bigint;
  /** Commission on the pool's rewards, in basis points. */
  commissionBps: number;
  /** The immutable ceiling of the commission, in basis points. */
  maxCommissionBps: number;
  /** Where the operator serves (checkpoint server, inference endpoint). */
  endpoint: string;
  /** The GPU class it runs, e.g. `"H100"`. */
  gpuClass: string;
}

/** Registers the sender as a trainer or validator with a self-stake (pulled from the sender). */
export async function register(ctx: PoAIContext, args: RegisterArgs): Promise<Hash> {
  const role = checkRole("role", args.role);
  const stake = checkAmount("stake", args.stake);
  const commissionBps = checkBps("commissionBps", args.commissionBps);
  const maxCommissionBps = checkBps("maxCommissionBps", args.maxCommissionBps);
  if (commissionBps > maxCommissionBps) {
    throw new PoAIInputError(
      "commissionBps",
      commissionBps,
      `at most maxCommissionBps (${maxCommissionBps})`,
    );
  }
  const endpoint = checkString("endpoint", args.endpoint);
  const gpuClass = checkString("gpuClass", args.gpuClass);
  const data = encodeFunctionData({
    abi: stakingAbi,
    functionName: "register",
    args: [role, stake, commissionBps, maxCommissionBps, endpoint, gpuClass],
  });
  return sendStaking(ctx, "register", data, args.account);
}

/** Adds `amount` to the sender's self-stake (the sender is an operator and has approved the amount). */
export async function addStake(ctx: PoAIContext, args: { amount: bigint } & WriteOptions): Promise<Hash> {
  const amount = checkAmount("amount", args.amount);
  return sendStaking(
    ctx,
    "addStake",
    encodeFunctionData({ abi: stakingAbi, functionName: "addStake", args: [amount] }),
    args.account,
  );
}

/** Delegates `amount` tokens to `operator`'s pool (approved beforehand). The shares earn from the next epoch. */
export async function delegate(
  ctx: PoAIContext,
  args: { operator: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const amount = checkAmount("amount", args.amount);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "delegate", args: [operator, amount] });
  return sendStaking(ctx, "delegate", data, args.account);
}

/**
 * Delegates without a separate approval: signs an EIP-2612 permit with the wallet client and sends
 * one `delegateWithPermit` transaction. `deadline` defaults to one hour of chain time.
 */
export async function delegateWithPermit(
  ctx: PoAIContext,
  args: { operator: Address; amount: bigint; deadline?: bigint } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const amount = checkAmount("amount", args.amount);
  const permit = await signPermit(ctx, {
    value: amount,
    spender: ctx.deployment.contracts.staking,
    ...(args.deadline !== undefined && { deadline: args.deadline }),
    ...(args.account !== undefined && { account: args.account }),
  });
  const data = encodeFunctionData({
    abi: stakingAbi,
    functionName: "delegateWithPermit",
    args: [operator, amount, permit.deadline, permit.v, permit.r, permit.s],
  });
  return sendStaking(ctx, "delegateWithPermit", data, args.account);
}

/**
 * Moves `shares` of the sender's position in `operator`'s pool to the sender's unbonding queue.
 * They stop earning at once, stay slashable, and can be withdrawn after the unbonding period.
 */
export async function undelegate(
  ctx: PoAIContext,
  args: { operator: Address; shares: bigint } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const shares = checkAmount("shares", args.shares);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "undelegate", args: [operator, shares] });
  return sendStaking(ctx, "undelegate", data, args.account);
}

/**
 * Shares to undelegate to take out at least `amount` tokens, rounded up, and at most all of the
 * position. Pure: the pool and the position are given.
 */
export function sharesForAmount(
  amount: bigint,
  pool: Pick<PoolView, "tokens" | "shares">,
  position: Pick<PositionView, "shares">,
): bigint {
  if (pool.tokens === 0n || pool.shares === 0n) return 0n;
  const shares = (amount * pool.shares + pool.tokens - 1n) / pool.tokens;
  return shares < position.shares ? shares : position.shares;
}

/**
 * Undelegates enough shares to take out `amount` tokens (rounded up, so at least `amount` unless
 * the position is smaller, in which case the whole position).
 */
export async function undelegateAmount(
  ctx: PoAIContext,
  args: { operator: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const amount = checkAmount("amount", args.amount);
  const owner = sender(ctx, "undelegate", args.account);
  const [pool, position] = await Promise.all([
    getPool(ctx, { operator }),
    getPosition(ctx, { owner, operator }),
  ]);
  const shares = sharesForAmount(amount, pool, position);
  if (shares === 0n) throw new PoAIInputError("operator", operator, `a pool in which ${owner} holds shares`);
  return undelegate(ctx, { operator, shares, ...(args.account !== undefined && { account: args.account }) });
}

/** Pays out the sender's matured unbonding entries, oldest first, at most `maxEntries` (default 50). */
export async function withdraw(
  ctx: PoAIContext,
  args: { maxEntries?: bigint | number } & WriteOptions = {},
): Promise<Hash> {
  const maxEntries = checkUint("maxEntries", args.maxEntries ?? 50, 1n);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "withdraw", args: [maxEntries] });
  return sendStaking(ctx, "withdraw", data, args.account);
}

/** Puts the sender's unbonding entry `index` (see `getUnbonding`) back into its pool. */
export async function cancelUnbonding(
  ctx: PoAIContext,
  args: { index: bigint | number } & WriteOptions,
): Promise<Hash> {
  const index = checkUint("index", args.index, 0n, 2n ** 64n - 1n);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "cancelUnbonding", args: [index] });
  return sendStaking(ctx, "cancelUnbonding", data, args.account);
}

/** Transfers the sender's rewards from `operator`'s pool (commission included for the operator itself). */
export async function claim(ctx: PoAIContext, args: { operator: Address } & WriteOptions): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  return sendStaking(
    ctx,
    "claim",
    encodeFunctionData({ abi: stakingAbi, functionName: "claim", args: [operator] }),
    args.account,
  );
}

/** Claims from several pools in one transaction. */
export async function claimMany(
  ctx: PoAIContext,
  args: { operators: readonly Address[] } & WriteOptions,
): Promise<Hash> {
  const operators = checkAddressList("operators", args.operators);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "claimMany", args: [operators] });
  return sendStaking(ctx, "claimMany", data, args.account);
}

/** Re-delegates the sender's rewards from `operator`'s pool into the same pool. */
export async function compound(ctx: PoAIContext, args: { operator: Address } & WriteOptions): Promise<Hash> {
  const operator = checkAddress("operator", args.operator);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "compound", args: [operator] });
  return sendStaking(ctx, "compound", data, args.account);
}

/**
 * Requests a new commission rate for the sender's pool. Rates change at epoch boundaries and apply
 * to the rewards of the epochs from then on: a decrease from the next epoch, an increase from the
 * first epoch that starts at least the commission delay from now. Each request moves the rate by at
 * most `maxCommissionChangeBps`; a request replaces one that is not in force yet.
 */
export async function setCommission(
  ctx: PoAIContext,
  args: { commissionBps: number } & WriteOptions,
): Promise<Hash> {
  const commissionBps = checkBps("commissionBps", args.commissionBps);
  const data = encodeFunctionData({ abi: stakingAbi, functionName: "setCommission", args: [commissionBps] });
  return sendStaking(ctx, "setCommission", data, args.account);
}

/** Ends the sender's jail once its cool-down has passed (its self-stake must still meet the minimum). */
export async function unjail(ctx: PoAIContext, args: WriteOptions = {}): Promise<Hash> {
  return sendStaking(
    ctx,
    "unjail",
    encodeFunctionData({ abi: stakingAbi, functionName: "unjail" }),
    args.account,
  );
}

/**
 * Releases a slash held through its dispute window (`Staking.releaseHeld`, docs/staking.md "Held
 * slashes"), once its `releaseAt` passed: the finder's fee to `reporters` (the list of its
 * `SlashHeld` event) and the rest burned. Anyone may send it; a reporter does, to be paid.
 */
export async function releaseHeldSlash(
  ctx: PoAIContext,
  args: { source: Address; key: Hex; operator: Address; reporters: readonly Address[] } & WriteOptions,
): Promise<Hash> {
  const source = checkAddress("source", args.source);
  const operator = checkAddress("operator", args.operator);
  const reporters = args.reporters.map((r, i) => checkAddress(`reporters[${i}]`, r));
  const data = encodeFunctionData({
    abi: stakingAbi,
    functionName: "releaseHeld",
    args: [source, args.key, operator, reporters],
  });
  return sendStaking(ctx, "releaseHeld", data, args.account);
}

/** A slash `source` holds under `key` for `operator`: its tokens, finder's fee and release time (all 0: none). */
export async function getHeldSlash(
  ctx: PoAIContext,
  args: { source: Address; key: Hex; operator: Address },
): Promise<{ tokens: bigint; fee: bigint; releaseAt: bigint }> {
  const source = checkAddress("source", args.source);
  const operator = checkAddress("operator", args.operator);
  const address = ctx.deployment.contracts.staking;
  const [tokens, fee, releaseAt] = await read(address, "heldSlash", () =>
    readContract(ctx.publicClient, {
      address,
      abi: stakingAbi,
      functionName: "heldSlash",
      args: [source, args.key, operator],
    }),
  );
  return { tokens, fee, releaseAt };
}

/** Leaves the network: the whole self-stake starts unbonding; delegators keep their positions. */
export async function deregister(ctx: PoAIContext, args: WriteOptions = {}): Promise<Hash> {
  return sendStaking(
    ctx,
    "deregister",
    encodeFunctionData({ abi: stakingAbi, functionName: "deregister" }),
    args.account,
  );
}

/** Updates the sender's endpoint URL and GPU class. */
export async function updateMetadata(
  ctx: PoAIContext,
  args: { endpoint: string; gpuClass: string } & WriteOptions,
): Promise<Hash> {
  const endpoint = checkString("endpoint", args.endpoint);
  const gpuClass = checkString("gpuClass", args.gpuClass);
  const data = encodeFunctionData({
    abi: stakingAbi,
    functionName: "updateMetadata",
    args: [endpoint, gpuClass],
  });
  return sendStaking(ctx, "updateMetadata", data, args.account);
}

// =================================================================================================
// Reads
// =================================================================================================

/** `operator`'s pool: tokens, shares, unbonding totals, reward accumulator and share price. */
export async function getPool(ctx: PoAIContext, args: { operator: Address }): Promise<PoolView> {
  const operator = checkAddress("operator", args.operator);
  const address = ctx.deployment.contracts.staking;
  return read(address, "getPool", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "getPool", args: [operator] }),
  );
}

/**
 * `owner`'s position in `operator`'s pool: shares, their value in tokens, and what it can claim
 * now, every closed epoch included (an `eth_call` of `refreshPosition`, which credits the pool and
 * settles the position in a simulation: nothing is sent). An address that is not an operator
 * gives an empty position.
 */
export async function getPosition(
  ctx: PoAIContext,
  args: { owner: Address; operator: Address },
): Promise<PositionView> {
  const owner = checkAddress("owner", args.owner);
  const operator = checkAddress("operator", args.operator);
  const address = ctx.deployment.contracts.staking;
  try {
    const { result } = await simulateContract(ctx.publicClient, {
      address,
      abi: stakingAbi,
      functionName: "refreshPosition",
      args: [owner, operator],
    });
    return result;
  } catch {
    // not an operator (or the node refuses the simulation): the stored position, as credited so far
    return read(address, "getPosition", () =>
      readContract(ctx.publicClient, {
        address,
        abi: stakingAbi,
        functionName: "getPosition",
        args: [owner, operator],
      }),
    );
  }
}

/** The Multicall3 address to batch reads with: the deployment's, else the chain's, else none. */
export function multicallAddressOf(ctx: PoAIContext): Address | undefined {
  return ctx.deployment.contracts.multicall3 ?? ctx.publicClient.chain?.contracts?.multicall3?.address;
}

/**
 * `owner`'s positions in several pools, in the order of `operators`, every closed epoch included
 * (see `getPosition`). One `eth_call` through Multicall3 when the deployment or the chain names
 * one; parallel reads otherwise.
 */
export async function getPositions(
  ctx: PoAIContext,
  args: { owner: Address; operators: readonly Address[] },
): Promise<(PositionView & { operator: Address })[]> {
  const owner = checkAddress("owner", args.owner);
  const operators = checkAddressList("operators", args.operators);
  const address = ctx.deployment.contracts.staking;
  const multicallAddress = multicallAddressOf(ctx);
  let positions: readonly PositionView[];
  if (multicallAddress) {
    // refreshPosition is not a view, but Multicall3 runs it inside this eth_call like any call
    const refreshed = (await read(address, "refreshPosition", () =>
      multicall(ctx.publicClient, {
        multicallAddress,
        allowFailure: true,
        contracts: operators.map((operator) => ({
          address,
          abi: stakingAbi,
          functionName: "refreshPosition",
          args: [owner, operator],
        })),
      } as unknown as Parameters<typeof multicall>[1]),
    )) as readonly { status: "success" | "failure"; result?: PositionView }[];
    positions = await Promise.all(
      refreshed.map((r, i) =>
        r.status === "success" && r.result !== undefined
          ? r.result
          : getPosition(ctx, { owner, operator: operators[i]! }),
      ),
    );
  } else {
    positions = await Promise.all(operators.map((operator) => getPosition(ctx, { owner, operator })));
  }
  return positions.map((p, i) => ({ ...p, operator: operators[i]! }));
}

/** `owner`'s live unbonding entries, oldest first, at most `limit` (default 100). */
export async function getUnbonding(
  ctx: PoAIContext,
  args: { owner: Address; limit?: bigint | number },
): Promise<readonly UnbondingView[]> {
  const owner = checkAddress("owner", args.owner);
  const limit = checkUint("limit", args.limit ?? 100, 1n);
  const address = ctx.deployment.contracts.stakingLens;
  return read(address, "getUnbonding", () =>
    readContract(ctx.publicClient, {
      address,
      abi: stakingLensAbi,
      functionName: "getUnbonding",
      args: [owner, limit],
    }),
  );
}

/** One operator's view; an unregistered address gives `status === OPERATOR_STATUS.None` and `role === "none"`. */
export async function getOperator(ctx: PoAIContext, args: { operator: Address }): Promise<OperatorView> {
  const operator = checkAddress("operator", args.operator);
  const address = ctx.deployment.contracts.stakingLens;
  const raw = await read(address, "getOperator", () =>
    readContract(ctx.publicClient, {
      address,
      abi: stakingLensAbi,
      functionName: "getOperator",
      args: [operator],
    }),
  );
  return operatorView(raw);
}

/** Number of operators ever registered (deregistered ones included). */
export async function getOperatorCount(ctx: PoAIContext): Promise<bigint> {
  const address = ctx.deployment.contracts.staking;
  return read(address, "operatorCount", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "operatorCount" }),
  );
}

/** A page of operators in registration order. */
export interface OperatorPage {
  operators: readonly OperatorView[];
  /** Operators registered in all. */
  total: bigint;
  /** Offset of the next page, or `undefined` after the last one. */
  nextOffset: bigint | undefined;
}

/** Up to `limit` (default 100) operators from `offset` (default 0), read at one block. */
export async function getOperators(
  ctx: PoAIContext,
  args: { offset?: bigint | number; limit?: bigint | number } = {},
): Promise<OperatorPage> {
  const offset = checkUint("offset", args.offset ?? 0);
  const limit = checkUint("limit", args.limit ?? 100, 1n);
  const lens = ctx.deployment.contracts.stakingLens;
  const staking = ctx.deployment.contracts.staking;
  const blockNumber = await read(lens, "getOperators", () =>
    getBlockNumber(ctx.publicClient, { cacheTime: 0 }),
  );
  const [operators, total] = await Promise.all([
    read(lens, "getOperators", () =>
      readContract(ctx.publicClient, {
        address: lens,
        abi: stakingLensAbi,
        functionName: "getOperators",
        args: [offset, limit],
        blockNumber,
      }),
    ),
    read(staking, "operatorCount", () =>
      readContract(ctx.publicClient, {
        address: staking,
        abi: stakingAbi,
        functionName: "operatorCount",
        blockNumber,
      }),
    ),
  ]);
  const next = offset + BigInt(operators.length);
  return {
    operators: operators.map(operatorView),
    total,
    nextOffset: next < total && operators.length > 0 ? next : undefined,
  };
}

/** Every operator, page by page (`pageSize` default 100). */
export async function* iterateOperators(
  ctx: PoAIContext,
  args: { pageSize?: bigint | number } = {},
): AsyncGenerator<OperatorView, void, undefined> {
  let offset: bigint | undefined = 0n;
  while (offset !== undefined) {
    const page: OperatorPage = await getOperators(ctx, { offset, limit: args.pageSize ?? 100 });
    yield* page.operators;
    offset = page.nextOffset;
  }
}

/** True when `operator` is registered, not deregistered, not jailed and meets its role's minimum. */
export async function isActive(ctx: PoAIContext, args: { operator: Address }): Promise<boolean> {
  const operator = checkAddress("operator", args.operator);
  const address = ctx.deployment.contracts.staking;
  return read(address, "isActive", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "isActive", args: [operator] }),
  );
}

/** The staking parameters now in force (minimum stakes, unbonding period, jail cool-down, …). */
export async function getParams(ctx: PoAIContext): Promise<StakingParams> {
  const address = ctx.deployment.contracts.staking;
  return read(address, "params", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "params" }),
  );
}

/** The epoch the chain is in now. */
export async function currentEpoch(ctx: PoAIContext): Promise<bigint> {
  const address = ctx.deployment.contracts.staking;
  return read(address, "currentEpoch", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "currentEpoch" }),
  );
}

/** Start timestamp (seconds) of `epoch`. */
export async function epochStart(ctx: PoAIContext, args: { epoch: bigint | number }): Promise<bigint> {
  const epoch = checkUint("epoch", args.epoch);
  const address = ctx.deployment.contracts.staking;
  return read(address, "epochStart", () =>
    readContract(ctx.publicClient, { address, abi: stakingAbi, functionName: "epochStart", args: [epoch] }),
  );
}

/** Active stake of `operator`'s pool at the start of `epoch`. */
export async function stakeAt(
  ctx: PoAIContext,
  args: { operator: Address; epoch: bigint | number },
): Promise<bigint> {
  const operator = checkAddress("operator", args.operator);
  const epoch = checkUint("epoch", args.epoch);
  const address = ctx.deployment.contracts.staking;
  return read(address, "stakeAt", () =>
    readContract(ctx.publicClient, {
      address,
      abi: stakingAbi,
      functionName: "stakeAt",
      args: [operator, epoch],
    }),
  );
}

/** Total active stake of the unjailed operators of `role` at the start of `epoch`. */
export async function roleStakeAt(
  ctx: PoAIContext,
  args: { role: OperatorRole; epoch: bigint | number },
): Promise<bigint> {
  const role = checkRole("role", args.role);
  const epoch = checkUint("epoch", args.epoch);
  const address = ctx.deployment.contracts.staking;
  return read(address, "roleStakeAt", () =>
    readContract(ctx.publicClient, {
      address,
      abi: stakingAbi,
      functionName: "roleStakeAt",
      args: [role, epoch],
    }),
  );
}

/**
 * Shares the sender (or `owner`) would undelegate to take out `amount` tokens from `operator`'s
 * pool: rounded up, clamped to the position.
 */
export async function getSharesForAmount(
  ctx: PoAIContext,
  args: { operator: Address; amount: bigint; owner: Address },
): Promise<bigint> {
  const operator = checkAddress("operator", args.operator);
  const amount = checkAmount("amount", args.amount);
  const owner = checkAddress("owner", args.owner);
  const [pool, position] = await Promise.all([
    getPool(ctx, { operator }),
    getPosition(ctx, { owner, operator }),
  ]);
  return sharesForAmount(amount, pool, position);
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a Staking event. */
export type StakingEventName = ContractEventName<typeof stakingAbi>;

/** A decoded Staking event log; `eventName` discriminates `args`. */
export type StakingEvent<N extends StakingEventName = StakingEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof stakingAbi, K>;
}[N];

/** Indexed-argument filter of event `N`. */
export type StakingEventFilter<N extends StakingEventName> = ContractEventArgs<typeof stakingAbi, N>;

/** Decodes the Staking events among `logs` (a receipt's logs, for instance), optionally only `eventName`. */
export function parseStakingEvents<N extends StakingEventName = StakingEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): StakingEvent<N>[] {
  return parseContractLogs({
    address: ctx.deployment.contracts.staking,
    abi: stakingAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as StakingEvent<N>[];
}

/** Past Staking events (`fromBlock` defaults to the deployment block, else the genesis block). */
export async function getStakingEvents<N extends StakingEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: StakingEventFilter<N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<StakingEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: ctx.deployment.contracts.staking,
    abi: stakingAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as StakingEvent<N>[];
}

/** Options shared by the watchers. */
export type { WatchOptions } from "../events.js";

/**
 * Calls `onEvents` with new Staking events (every event, or only `eventName`, filtered by indexed
 * `args`). Returns a function that stops watching.
 *
 * Over HTTP the watcher polls from the block after the current one, so it never replays the
 * current block's events (some nodes' filters would); over WebSocket or IPC it subscribes.
 */
export function watchStakingEvents<N extends StakingEventName = StakingEventName>(
  ctx: PoAIContext,
  args: {
    eventName?: N;
    args?: StakingEventFilter<N>;
    onEvents: (events: StakingEvent<N>[]) => void;
  } & WatchOptions,
): () => void {
  return watchContractEvents(ctx, {
    address: ctx.deployment.contracts.staking,
    abi: stakingAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    onEvents: (logs) => args.onEvents(logs as unknown as StakingEvent<N>[]),
    ...(args.onError !== undefined && { onError: args.onError }),
    ...(args.pollingInterval !== undefined && { pollingInterval: args.pollingInterval }),
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
  });
}

/** Watches `Delegated` events, optionally of one `owner` and/or into one `operator`'s pool. */
export function watchDelegations(
  ctx: PoAIContext,
  args: {
    owner?: Address;
    operator?: Address;
    onDelegation: (event: StakingEvent<"Delegated">) => void;
  } & WatchOptions,
): () => void {
  const filter = {
    ...(args.owner !== undefined && { owner: checkAddress("owner", args.owner) }),
    ...(args.operator !== undefined && { operator: checkAddress("operator", args.operator) }),
  };
  return watchStakingEvents(ctx, {
    eventName: "Delegated",
    args: filter,
    onEvents: (events) => events.forEach((e) => args.onDelegation(e)),
    ...watchOptions(args),
  });
}

/** Watches `Slashed` events, optionally of one `operator`. */
export function watchSlashes(
  ctx: PoAIContext,
  args: { operator?: Address; onSlash: (event: StakingEvent<"Slashed">) => void } & WatchOptions,
): () => void {
  return watchStakingEvents(ctx, {
    eventName: "Slashed",
    args: args.operator !== undefined ? { operator: checkAddress("operator", args.operator) } : {},
    onEvents: (events) => events.forEach((e) => args.onSlash(e)),
    ...watchOptions(args),
  });
}

/**
 * Watches `RewardCredited` events (what a pool earned in an epoch, credited to it: the operator's
 * commission and the rest for the shares that began the epoch), optionally of one `operator`.
 */
export function watchRewards(
  ctx: PoAIContext,
  args: { operator?: Address; onReward: (event: StakingEvent<"RewardCredited">) => void } & WatchOptions,
): () => void {
  return watchStakingEvents(ctx, {
    eventName: "RewardCredited",
    args: args.operator !== undefined ? { operator: checkAddress("operator", args.operator) } : {},
    onEvents: (events) => events.forEach((e) => args.onReward(e)),
    ...watchOptions(args),
  });
}

function watchOptions(o: WatchOptions): WatchOptions {
  return {
    ...(o.onError !== undefined && { onError: o.onError }),
    ...(o.pollingInterval !== undefined && { pollingInterval: o.pollingInterval }),
    ...(o.fromBlock !== undefined && { fromBlock: o.fromBlock }),
  };
}
