/**
 * What node operators and delegators do, as plain functions over a PoAI SDK client: the `poai`
 * command line (`main.ts`) parses its options and calls these; tests call them directly. Each one
 * checks what a person can get wrong (not registered, jailed, amount above the balance or the
 * allowance, nothing matured, nothing to claim…) before anything is signed and says it plainly;
 * a revert that still happens arrives as the SDK's decoded `PoAIContractError`.
 *
 * Every command returns the lines a person reads and the same facts as data (`--json`).
 */
import {
  challengeId,
  formatPoai,
  poaiTokenAbi,
  roleName,
  sendContractTransaction,
  type OperatorView,
  type PoAIClient,
} from "@poai/sdk";
import { encodeFunctionData, isAddress, getAddress, parseUnits, type Address, type Hash } from "viem";
import { getBlock } from "viem/actions";

export class OperatorCommandError extends Error {
  override name = "OperatorCommandError";
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

/** What a command did: lines for a person, data for `--json`. */
export interface CommandResult {
  lines: string[];
  data: Record<string, unknown>;
}

/** A mined transaction, as results report it. */
export interface SentTransaction {
  action: string;
  hash: Hash;
  block: bigint;
  gasUsed: bigint;
}

export function parseAddress(field: string, value: string): Address {
  if (!isAddress(value))
    fail(`--${field} must be an address (0x and 40 hex digits), got ${JSON.stringify(value)}`);
  return getAddress(value);
}

/** Parses a POAI amount such as "1000" or "12.5" (18 decimals) into token wei. */
export function parseAmount(field: string, value: string): bigint {
  if (typeof value !== "string" || !/^\d+(\.\d{1,18})?$/.test(value))
    fail(`--${field} must be a positive POAI amount such as 1000 or 12.5, got ${JSON.stringify(value)}`);
  const wei = parseUnits(value, 18);
  if (wei === 0n) fail(`--${field} must be greater than zero, got ${value}`);
  return wei;
}

/** Parses a percentage such as "5" or "12.5" into basis points. */
export function parsePercent(field: string, value: string): number {
  if (typeof value !== "string" || !/^\d+(\.\d{1,2})?$/.test(value))
    fail(`--${field} must be a percentage such as 5 or 12.5, got ${JSON.stringify(value)}`);
  const bps = Number(parseUnits(value, 2));
  if (bps > 10_000) fail(`--${field} must be at most 100, got ${value}`);
  return bps;
}

export function signer(client: PoAIClient): Address {
  const account = client.walletClient?.account;
  if (!account)
    return fail(
      "no signing key: set POAI_PRIVATE_KEY in the environment or store it with `npx hardhat keystore set POAI_PRIVATE_KEY`",
    );
  return getAddress(account.address);
}

async function chainTime(client: PoAIClient): Promise<bigint> {
  return (await getBlock(client.publicClient)).timestamp;
}

const iso = (seconds: number | bigint) => new Date(Number(seconds) * 1000).toISOString();

/** The operator record of `operator`; fails when it never registered. */
export async function requireOperator(client: PoAIClient, operator: Address): Promise<OperatorView> {
  const view = await client.staking.getOperator({ operator });
  if (view.status === 0) fail(`${operator} is not a registered operator (register first: poai register)`);
  return view;
}

/**
 * Checks the balance, then the allowance of Staking: approves `amount` when it is short and
 * `approve` is on (the default), fails otherwise.
 */
async function ensureFunds(
  client: PoAIClient,
  owner: Address,
  amount: bigint,
  approve: boolean,
  txs: SentTransaction[],
): Promise<string[]> {
  const balance = await client.token.getBalance({ owner });
  if (balance < amount) fail(`amount ${formatPoai(amount)} is above your balance ${formatPoai(balance)}`);
  const allowance = await client.token.getAllowance({ owner });
  if (allowance >= amount) return [];
  if (!approve)
    fail(
      `your allowance for Staking is ${formatPoai(allowance)}, below the amount ${formatPoai(amount)}: approve it first, or run without --no-approve`,
    );
  const line = await mined(client, await client.token.approve({ amount }), "approve", txs);
  return [`approved ${formatPoai(amount)} for staking (${line})`];
}

async function mined(client: PoAIClient, hash: Hash, action: string, txs: SentTransaction[]) {
  const receipt = await client.waitForTransaction(hash);
  txs.push({ action, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
  return `tx ${hash}, block ${receipt.blockNumber}, gas ${receipt.gasUsed}`;
}

async function send(
  client: PoAIClient,
  hash: Hash,
  action: string,
  what: string,
  txs: SentTransaction[],
  lines: string[] = [],
  data: Record<string, unknown> = {},
): Promise<CommandResult> {
  lines.push(`${what} (${await mined(client, hash, action, txs)})`);
  return { lines, data: { action, ...data, transactions: txs } };
}

export interface RegisterArgs {
  role: string;
  stake: bigint;
  commissionBps: number;
  maxCommissionBps: number;
  endpoint: string;
  gpuClass: string;
  /** Approve Staking for the stake when the allowance is short; default true. */
  approve?: boolean;
}

export async function register(client: PoAIClient, args: RegisterArgs): Promise<CommandResult> {
  const role = args.role;
  if (role !== "trainer" && role !== "validator")
    return fail(`--role must be trainer or validator, got ${JSON.stringify(role)}`);
  if (args.commissionBps > args.maxCommissionBps) {
    fail(
      `--commission ${args.commissionBps / 100}% is above --max-commission ${args.maxCommissionBps / 100}%`,
    );
  }
  const me = signer(client);
  const existing = await client.staking.getOperator({ operator: me });
  if (existing.status !== 0) fail(`${me} is already registered as a ${roleName(existing.role)}`);
  const params = await client.staking.getParams();
  const minimum = role === "trainer" ? params.minTrainerStake : params.minValidatorStake;
  if (args.stake < minimum)
    fail(`--stake ${formatPoai(args.stake)} is below the ${role} minimum ${formatPoai(minimum)}`);
  const txs: SentTransaction[] = [];
  const lines = await ensureFunds(client, me, args.stake, args.approve ?? true, txs);
  const hash = await client.staking.register({
    role,
    stake: args.stake,
    commissionBps: args.commissionBps,
    maxCommissionBps: args.maxCommissionBps,
    endpoint: args.endpoint,
    gpuClass: args.gpuClass,
  });
  return send(
    client,
    hash,
    "register",
    `registered ${me} as ${role} with ${formatPoai(args.stake)}`,
    txs,
    lines,
    {
      operator: me,
      role,
      stake: args.stake,
    },
  );
}

export async function stake(
  client: PoAIClient,
  args: { amount: bigint; approve?: boolean },
): Promise<CommandResult> {
  const me = signer(client);
  await requireOperator(client, me);
  const txs: SentTransaction[] = [];
  const lines = await ensureFunds(client, me, args.amount, args.approve ?? true, txs);
  const hash = await client.staking.addStake({ amount: args.amount });
  return send(client, hash, "stake", `added ${formatPoai(args.amount)} of self-stake`, txs, lines, {
    operator: me,
    amount: args.amount,
  });
}

export async function delegate(
  client: PoAIClient,
  args: { operator: Address; amount: bigint; approve?: boolean },
): Promise<CommandResult> {
  const me = signer(client);
  const op = await requireOperator(client, args.operator);
  if (op.status !== 1) fail(`${args.operator} has deregistered and takes no delegation`);
  if (op.jailed) fail(`${args.operator} is jailed (until ${iso(op.jailedUntil)}) and takes no delegation`);
  const txs: SentTransaction[] = [];
  const lines = await ensureFunds(client, me, args.amount, args.approve ?? true, txs);
  const hash = await client.staking.delegate({ operator: args.operator, amount: args.amount });
  return send(
    client,
    hash,
    "delegate",
    `delegated ${formatPoai(args.amount)} to ${args.operator}`,
    txs,
    lines,
    {
      owner: me,
      operator: args.operator,
      amount: args.amount,
    },
  );
}

export async function undelegate(
  client: PoAIClient,
  args: { operator: Address; amount?: bigint; all?: boolean },
): Promise<CommandResult> {
  const me = signer(client);
  await requireOperator(client, args.operator);
  if (!args.all && args.amount === undefined) fail("give --amount <POAI> or --all");
  if (args.all && args.amount !== undefined) fail("give --amount <POAI> or --all, not both");
  const pos = await client.staking.getPosition({ owner: me, operator: args.operator });
  if (pos.shares === 0n) fail(`you have no stake with ${args.operator}`);
  if (!args.all && args.amount! > pos.tokens)
    fail(
      `--amount ${formatPoai(args.amount!)} is above your stake ${formatPoai(pos.tokens)} with ${args.operator}`,
    );
  const hash = args.all
    ? await client.staking.undelegate({ operator: args.operator, shares: pos.shares })
    : await client.staking.undelegateAmount({ operator: args.operator, amount: args.amount! });
  const amount = args.all ? pos.tokens : args.amount!;
  return send(
    client,
    hash,
    "undelegate",
    `undelegated ${formatPoai(amount)} from ${args.operator}; it unbonds for the unbonding period`,
    [],
    [],
    { owner: me, operator: args.operator, amount },
  );
}

export async function withdraw(client: PoAIClient, args: { maxEntries?: number }): Promise<CommandResult> {
  const me = signer(client);
  const entries = await client.staking.getUnbonding({ owner: me, limit: 100 });
  const now = await chainTime(client);
  const matured = entries.filter((e) => BigInt(e.maturity) <= now);
  if (matured.length === 0) {
    const next = entries[0];
    fail(
      next
        ? `nothing has matured yet: the next entry (${formatPoai(next.tokens)}) is withdrawable at ${iso(next.maturity)}`
        : "you have no unbonding entries",
    );
  }
  const amount = matured.reduce((t, e) => t + e.tokens, 0n);
  const hash = await client.staking.withdraw({ maxEntries: args.maxEntries ?? 50 });
  return send(
    client,
    hash,
    "withdraw",
    `withdrew ${matured.length} matured entr${matured.length === 1 ? "y" : "ies"} (${formatPoai(amount)})`,
    [],
    [],
    { owner: me, entries: matured.length, amount },
  );
}

async function allOperators(client: PoAIClient): Promise<Address[]> {
  const all: Address[] = [];
  for await (const op of client.staking.iterateOperators({ pageSize: 100 })) all.push(op.operator);
  return all;
}

/** Claims from the given pools, or from every pool where the sender has something to claim. */
export async function claim(client: PoAIClient, args: { operators?: Address[] }): Promise<CommandResult> {
  const me = signer(client);
  let operators = args.operators ?? [];
  if (operators.length === 0) {
    const all = await allOperators(client);
    const positions = all.length ? await client.staking.getPositions({ owner: me, operators: all }) : [];
    operators = all.filter((_, i) => positions[i]!.claimable > 0n);
    if (operators.length === 0) fail("nothing to claim: none of your pools has rewards for you");
  }
  const positions = await client.staking.getPositions({ owner: me, operators });
  const total = positions.reduce((t, p) => t + p.claimable, 0n);
  if (total === 0n) fail("nothing to claim from the given pools");
  const hash = await client.staking.claimMany({ operators });
  return send(
    client,
    hash,
    "claim",
    `claimed ${formatPoai(total)} from ${operators.length} pool${operators.length === 1 ? "" : "s"}`,
    [],
    [],
    { owner: me, operators, amount: total },
  );
}

/** Restakes the claimable rewards of one pool into it (more shares instead of tokens). */
export async function compound(client: PoAIClient, args: { operator: Address }): Promise<CommandResult> {
  const me = signer(client);
  const op = await requireOperator(client, args.operator);
  if (op.jailed)
    fail(`${args.operator} is jailed (until ${iso(op.jailedUntil)}): claim instead of compounding`);
  if (op.status !== 1) fail(`${args.operator} has deregistered: claim instead of compounding`);
  const pos = await client.staking.getPosition({ owner: me, operator: args.operator });
  if (pos.claimable === 0n) fail(`nothing to compound: you have no rewards in ${args.operator}'s pool`);
  const hash = await client.staking.compound({ operator: args.operator });
  return send(
    client,
    hash,
    "compound",
    `compounded ${formatPoai(pos.claimable)} into ${args.operator}'s pool`,
    [],
    [],
    { owner: me, operator: args.operator, amount: pos.claimable },
  );
}

export async function setCommission(
  client: PoAIClient,
  args: { commissionBps: number },
): Promise<CommandResult> {
  const me = signer(client);
  const op = await requireOperator(client, me);
  if (args.commissionBps > op.maxCommissionBps)
    fail(`commission ${args.commissionBps / 100}% is above your maximum ${op.maxCommissionBps / 100}%`);
  const params = await client.staking.getParams();
  const change = Math.abs(args.commissionBps - op.commissionBps);
  if (change > params.maxCommissionChangeBps)
    fail(
      `a change from ${op.commissionBps / 100}% to ${args.commissionBps / 100}% is larger than the ${params.maxCommissionChangeBps / 100}% allowed per change`,
    );
  const hash = await client.staking.setCommission({ commissionBps: args.commissionBps });
  const delayed = args.commissionBps > op.commissionBps;
  return send(
    client,
    hash,
    "commission",
    `commission ${op.commissionBps / 100}% -> ${args.commissionBps / 100}%, effective ${delayed ? `from the first epoch after the ${params.commissionDelay}s delay` : "from the next epoch"}`,
    [],
    [],
    {
      operator: me,
      from: op.commissionBps,
      to: args.commissionBps,
      delaySeconds: delayed ? params.commissionDelay : 0,
    },
  );
}

export async function unjail(client: PoAIClient): Promise<CommandResult> {
  const me = signer(client);
  const op = await requireOperator(client, me);
  if (!op.jailed) fail(`${me} is not jailed`);
  const now = await chainTime(client);
  if (BigInt(op.jailedUntil) > now)
    fail(
      `${me} is jailed until ${iso(op.jailedUntil)}: the cool-down ends in ${BigInt(op.jailedUntil) - now} s`,
    );
  const params = await client.staking.getParams();
  const minimum = op.role === 1 ? params.minTrainerStake : params.minValidatorStake;
  if (op.selfStake < minimum)
    fail(
      `your self-stake ${formatPoai(op.selfStake)} is below the ${roleName(op.role)} minimum ${formatPoai(minimum)}: add ${formatPoai(minimum - op.selfStake)} with poai stake first`,
    );
  return send(client, await client.staking.unjail(), "unjail", `unjailed ${me}`, [], [], { operator: me });
}

/** Sends POAI to another address (for example to fund an operator key on a devnet). */
export async function transfer(
  client: PoAIClient,
  args: { to: Address; amount: bigint },
): Promise<CommandResult> {
  const me = signer(client);
  const balance = await client.token.getBalance({ owner: me });
  if (balance < args.amount)
    fail(`amount ${formatPoai(args.amount)} is above your balance ${formatPoai(balance)}`);
  const data = encodeFunctionData({
    abi: poaiTokenAbi,
    functionName: "transfer",
    args: [args.to, args.amount],
  });
  const hash = await sendContractTransaction(client, {
    to: client.deployment.contracts.token,
    data,
    functionName: "transfer",
  });
  return send(client, hash, "transfer", `sent ${formatPoai(args.amount)} to ${args.to}`, [], [], {
    from: me,
    to: args.to,
    amount: args.amount,
  });
}

/**
 * An address's operator record and pool, its recent challenges (a trainer's results and
 * judgments) or audit points (a validator's), its rewards (claimable, not credited to the pool yet),
 * its positions and its unbonding entries.
 */
export async function status(
  client: PoAIClient,
  args: { address?: Address; rounds?: number },
): Promise<CommandResult> {
  const who = args.address ?? signer(client);
  const rounds = args.rounds ?? 5;
  const lines: string[] = [];
  const data: Record<string, unknown> = { address: who };
  const epoch = await client.staking.currentEpoch();
  data.epoch = epoch;
  lines.push(`epoch ${epoch}`);
  const op = await client.staking.getOperator({ operator: who });
  const c = client.deployment.contracts;
  if (op.status !== 0) {
    const state = op.jailed
      ? `jailed until ${iso(op.jailedUntil)}`
      : op.active
        ? "active"
        : op.status === 2
          ? "deregistered"
          : "inactive (self-stake below minimum)";
    lines.push(`operator ${who}: ${roleName(op.role)}, ${state}`);
    lines.push(
      `  pool stake ${formatPoai(op.totalStake)}, self-stake ${formatPoai(op.selfStake)}, commission ${op.commissionBps / 100}% (max ${op.maxCommissionBps / 100}%)`,
    );
    if (op.pendingCommissionBps > 0)
      lines.push(`  commission -> ${op.pendingCommissionBps / 100}% at ${iso(op.commissionEffectiveAt)}`);
    lines.push(`  endpoint ${op.endpoint || "-"}, GPU ${op.gpuClass || "-"}`);
    const pool = await client.staking.getPool({ operator: who });
    lines.push(
      `  pool: ${formatPoai(pool.tokens)} in ${pool.shares} shares, ${formatPoai(pool.unbondingTokens)} unbonding`,
    );
    data.operator = { ...op, role: roleName(op.role), state };
    data.pool = pool;
    if (c.challengeManager) {
      const recent: Record<string, unknown>[] = [];
      const from = epoch >= BigInt(rounds) ? epoch - BigInt(rounds) + 1n : 0n;
      for (let r = epoch; r >= from; r--) {
        const points = await client.challenges.getEpochPoints({ epoch: r, operator: who });
        if (op.role === 1) {
          const ch = await client.challenges.getChallenge({ id: challengeId(who, r) });
          if (ch.status === "None" && points === 0n) continue;
          recent.push({ round: r, status: ch.status, reportedScoreBps: ch.reportedScoreBps, points });
          lines.push(
            `  round ${r}: challenge ${ch.status}${ch.reportedScoreBps ? `, reported ${ch.reportedScoreBps / 100}%` : ""}, points ${points}`,
          );
        } else if (points > 0n) {
          recent.push({ round: r, points });
          lines.push(`  round ${r}: audit points ${points}`);
        }
        if (r === 0n) break;
      }
      if (recent.length === 0) lines.push(`  no challenges in the last ${rounds} rounds`);
      data.challenges = recent;
    }
  }
  const all = await allOperators(client);
  if (c.rewardDistributor && all.length) {
    const rewards = await client.rewards.getPendingRewards({ owner: who, operators: all });
    data.rewards = {
      claimable: rewards.claimable,
      unsettled: rewards.unsettled,
      settlements: rewards.settlements,
      pendingFees: rewards.pendingFees,
    };
    lines.push(
      `rewards: ${formatPoai(rewards.claimable)} claimable${op.status !== 0 ? `, pool: ${formatPoai(rewards.unsettled)} of closed epochs and ${formatPoai(rewards.pendingFees)} of fees not credited yet` : ""}`,
    );
  }
  const positions = all.length ? await client.staking.getPositions({ owner: who, operators: all }) : [];
  const held = positions
    .map((p, i) => ({ ...p, operator: all[i]! }))
    .filter((p) => p.shares > 0n || p.claimable > 0n);
  for (const p of held)
    lines.push(
      `position in ${p.operator}: ${formatPoai(p.tokens)} staked, ${formatPoai(p.claimable)} claimable`,
    );
  data.positions = held;
  const unbonding = await client.staking.getUnbonding({ owner: who, limit: 100 });
  for (const e of unbonding) {
    lines.push(
      `unbonding #${e.index}: ${formatPoai(e.tokens)} from ${e.operator}, withdrawable at ${iso(e.maturity)}`,
    );
  }
  data.unbonding = unbonding;
  data.balance = await client.token.getBalance({ owner: who });
  lines.push(`balance ${formatPoai(data.balance as bigint)}`);
  if (op.status === 0 && held.length === 0 && unbonding.length === 0)
    lines.push(`${who} has no operator record, positions or unbonding entries`);
  return { lines, data };
}
