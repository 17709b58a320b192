/**
 * What node operators and delegators do, as plain functions over a PoAI SDK client: the `poai`
 * command line (`main.ts`) parses its options and calls these; tests call them directly. Each one
 * checks what a person can get wrong (not registered, jailed, amount above the balance or the
 * allowance, nothing matured, nothing to claim…) before anything is signed and says it plainly;
 * a revert that still happens arrives as the SDK's decoded `PoAIContractError`.
 *
 * A command works out the transactions it needs (an approval, then the action) and hands them to
 * `execute` (`send.ts`): a dry run prints them, a person in a terminal confirms them, then they are
 * sent in order. The last argument, `gate`, carries `--yes`, `--dry-run` and the prompt; without
 * it a command sends without asking (as a library call does).
 *
 * Every command returns the lines a person reads and the same facts as data (`--json`).
 */
import {
  challengeId,
  poaiTokenAbi,
  sharesForAmount,
  stakingAbi,
  type OperatorView,
  type PoAIClient,
} from "@poai/sdk";
import { isAddress, getAddress, parseUnits, type Address, type Hash } from "viem";
import { getBlock } from "viem/actions";
import { iso, percent, poai, points as formatPoints, when } from "./format.js";
import { execute, sender, type PlannedCall, type TxGate } from "./send.js";

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

/** Parses a 32-byte value (a spec id, a salt): 0x and 64 hex digits. */
export function parseBytes32(field: string, value: string): `0x${string}` {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value))
    fail(`--${field} must be 32 bytes as hex (0x and 64 hex digits), got ${JSON.stringify(value)}`);
  return value.toLowerCase() as `0x${string}`;
}

/** The signing account; fails when there is no key. */
export function signer(client: PoAIClient): Address {
  return sender(client);
}

export async function chainTime(client: PoAIClient): Promise<bigint> {
  return (await getBlock(client.publicClient)).timestamp;
}

/** The operator record of `operator`; fails when it never registered. */
export async function requireOperator(client: PoAIClient, operator: Address): Promise<OperatorView> {
  const view = await client.staking.getOperator({ operator });
  if (view.status === 0) fail(`${operator} is not a registered operator (register first: poai register)`);
  return view;
}

const staking = (client: PoAIClient, functionName: string, args: readonly unknown[], summary: string) =>
  ({
    contract: "Staking",
    to: client.deployment.contracts.staking,
    abi: stakingAbi,
    functionName,
    args,
    action: functionName === "setCommission" ? "commission" : functionName,
    summary,
  }) satisfies PlannedCall;

/** `PoAIToken.approve(spender, amount)`. */
export function approval(client: PoAIClient, spender: Address, amount: bigint, what: string): PlannedCall {
  return {
    contract: "PoAIToken",
    to: client.deployment.contracts.token,
    abi: poaiTokenAbi,
    functionName: "approve",
    args: [spender, amount],
    action: "approve",
    summary: `approved ${poai(amount)} for ${what}`,
    authorizes: [spender],
  };
}

/**
 * Checks the balance, then the allowance of `spender` (default Staking): plans an approval of
 * `amount` when it is short and `approve` is on (the default), fails otherwise.
 */
export async function fundsFor(
  client: PoAIClient,
  owner: Address,
  amount: bigint,
  approve: boolean,
  spender: { address: Address; name: string } = {
    address: client.deployment.contracts.staking,
    name: "staking",
  },
): Promise<PlannedCall[]> {
  const balance = await client.token.getBalance({ owner });
  if (balance < amount) fail(`amount ${poai(amount)} is above your balance ${poai(balance)}`);
  const allowance = await client.token.getAllowance({ owner, spender: spender.address });
  if (allowance >= amount) return [];
  if (!approve)
    fail(
      `your allowance for ${spender.name === "staking" ? "Staking" : spender.name} is ${poai(allowance)}, below the amount ${poai(amount)}: approve it first, or run without --no-approve`,
    );
  return [approval(client, spender.address, amount, spender.name)];
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

export async function register(
  client: PoAIClient,
  args: RegisterArgs,
  gate: TxGate = {},
): Promise<CommandResult> {
  const role = args.role;
  if (role !== "trainer" && role !== "validator")
    return fail(`--role must be trainer or validator, got ${JSON.stringify(role)}`);
  if (args.commissionBps > args.maxCommissionBps) {
    fail(
      `--commission ${percent(args.commissionBps)} is above --max-commission ${percent(args.maxCommissionBps)}`,
    );
  }
  const me = sender(client, gate);
  const existing = await client.staking.getOperator({ operator: me });
  if (existing.status !== 0) fail(`${me} is already registered as a ${existing.role}`);
  const params = await client.staking.getParams();
  const minimum = role === "trainer" ? params.minTrainerStake : params.minValidatorStake;
  if (args.stake < minimum) fail(`--stake ${poai(args.stake)} is below the ${role} minimum ${poai(minimum)}`);
  const calls = await fundsFor(client, me, args.stake, args.approve ?? true);
  calls.push(
    staking(
      client,
      "register",
      [
        role === "trainer" ? 1 : 2,
        args.stake,
        args.commissionBps,
        args.maxCommissionBps,
        args.endpoint,
        args.gpuClass,
      ],
      `registered ${me} as ${role} with ${poai(args.stake)}`,
    ),
  );
  return execute(client, gate, calls, {
    action: "register",
    data: { operator: me, role, stake: args.stake },
  });
}

export async function stake(
  client: PoAIClient,
  args: { amount: bigint; approve?: boolean },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  await requireOperator(client, me);
  const calls = await fundsFor(client, me, args.amount, args.approve ?? true);
  calls.push(staking(client, "addStake", [args.amount], `added ${poai(args.amount)} of self-stake`));
  return execute(client, gate, calls, { action: "stake", data: { operator: me, amount: args.amount } });
}

export async function delegate(
  client: PoAIClient,
  args: { operator: Address; amount: bigint; approve?: boolean },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const op = await requireOperator(client, args.operator);
  if (op.status !== 1) fail(`${args.operator} has deregistered and takes no delegation`);
  if (op.jailed) fail(`${args.operator} is jailed (until ${iso(op.jailedUntil)}) and takes no delegation`);
  const calls = await fundsFor(client, me, args.amount, args.approve ?? true);
  calls.push(
    staking(
      client,
      "delegate",
      [args.operator, args.amount],
      `delegated ${poai(args.amount)} to ${args.operator}`,
    ),
  );
  return execute(client, gate, calls, {
    action: "delegate",
    data: { owner: me, operator: args.operator, amount: args.amount },
  });
}

export async function undelegate(
  client: PoAIClient,
  args: { operator: Address; amount?: bigint; all?: boolean },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  await requireOperator(client, args.operator);
  if (!args.all && args.amount === undefined) fail("give --amount <POAI> or --all");
  if (args.all && args.amount !== undefined) fail("give --amount <POAI> or --all, not both");
  const pos = await client.staking.getPosition({ owner: me, operator: args.operator });
  if (pos.shares === 0n) fail(`you have no stake with ${args.operator}`);
  if (!args.all && args.amount! > pos.tokens)
    fail(`--amount ${poai(args.amount!)} is above your stake ${poai(pos.tokens)} with ${args.operator}`);
  const shares = args.all
    ? pos.shares
    : sharesForAmount(args.amount!, await client.staking.getPool({ operator: args.operator }), pos);
  const amount = args.all ? pos.tokens : args.amount!;
  return execute(
    client,
    gate,
    [
      staking(
        client,
        "undelegate",
        [args.operator, shares],
        `undelegated ${poai(amount)} from ${args.operator}; it unbonds for the unbonding period`,
      ),
    ],
    { action: "undelegate", data: { owner: me, operator: args.operator, amount } },
  );
}

export async function withdraw(
  client: PoAIClient,
  args: { maxEntries?: number },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const entries = await client.staking.getUnbonding({ owner: me, limit: 100 });
  const now = await chainTime(client);
  const matured = entries.filter((e) => BigInt(e.maturity) <= now);
  if (matured.length === 0) {
    const next = entries[0];
    fail(
      next
        ? `nothing has matured yet: the next entry (${poai(next.tokens)}) is withdrawable at ${when(next.maturity, now)}`
        : "you have no unbonding entries",
    );
  }
  const amount = matured.reduce((t, e) => t + e.tokens, 0n);
  return execute(
    client,
    gate,
    [
      staking(
        client,
        "withdraw",
        [BigInt(args.maxEntries ?? 50)],
        `withdrew ${matured.length} matured entr${matured.length === 1 ? "y" : "ies"} (${poai(amount)})`,
      ),
    ],
    { action: "withdraw", data: { owner: me, entries: matured.length, amount } },
  );
}

/** Every operator ever registered, in registration order. */
export async function allOperators(client: PoAIClient): Promise<Address[]> {
  const all: Address[] = [];
  for await (const op of client.staking.iterateOperators({ pageSize: 100 }))
    all.push(getAddress(op.operator));
  return all;
}

/** Claims from the given pools, or from every pool where the sender has something to claim. */
export async function claim(
  client: PoAIClient,
  args: { operators?: Address[] },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
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
  return execute(
    client,
    gate,
    [
      staking(
        client,
        "claimMany",
        [operators],
        `claimed ${poai(total)} from ${operators.length} pool${operators.length === 1 ? "" : "s"}`,
      ),
    ].map((c) => ({ ...c, action: "claim" })),
    { action: "claim", data: { owner: me, operators, amount: total } },
  );
}

/** Restakes the claimable rewards of one pool into it (more shares instead of tokens). */
export async function compound(
  client: PoAIClient,
  args: { operator: Address },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const op = await requireOperator(client, args.operator);
  if (op.jailed)
    fail(`${args.operator} is jailed (until ${iso(op.jailedUntil)}): claim instead of compounding`);
  if (op.status !== 1) fail(`${args.operator} has deregistered: claim instead of compounding`);
  const pos = await client.staking.getPosition({ owner: me, operator: args.operator });
  if (pos.claimable === 0n) fail(`nothing to compound: you have no rewards in ${args.operator}'s pool`);
  return execute(
    client,
    gate,
    [
      staking(
        client,
        "compound",
        [args.operator],
        `compounded ${poai(pos.claimable)} into ${args.operator}'s pool`,
      ),
    ],
    { action: "compound", data: { owner: me, operator: args.operator, amount: pos.claimable } },
  );
}

export async function setCommission(
  client: PoAIClient,
  args: { commissionBps: number },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const op = await requireOperator(client, me);
  if (args.commissionBps > op.maxCommissionBps)
    fail(`commission ${percent(args.commissionBps)} is above your maximum ${percent(op.maxCommissionBps)}`);
  const params = await client.staking.getParams();
  const change = Math.abs(args.commissionBps - op.commissionBps);
  if (change > params.maxCommissionChangeBps)
    fail(
      `a change from ${percent(op.commissionBps)} to ${percent(args.commissionBps)} is larger than the ${percent(params.maxCommissionChangeBps)} allowed per change`,
    );
  const delayed = args.commissionBps > op.commissionBps;
  return execute(
    client,
    gate,
    [
      staking(
        client,
        "setCommission",
        [args.commissionBps],
        `commission ${percent(op.commissionBps)} -> ${percent(args.commissionBps)}, effective ${delayed ? `from the first epoch after the ${params.commissionDelay}s delay` : "from the next epoch"}`,
      ),
    ],
    {
      action: "commission",
      data: {
        operator: me,
        from: op.commissionBps,
        to: args.commissionBps,
        delaySeconds: delayed ? params.commissionDelay : 0,
      },
    },
  );
}

export async function unjail(client: PoAIClient, gate: TxGate = {}): Promise<CommandResult> {
  const me = sender(client, gate);
  const op = await requireOperator(client, me);
  if (!op.jailed) fail(`${me} is not jailed`);
  const now = await chainTime(client);
  if (BigInt(op.jailedUntil) > now)
    fail(
      `${me} is jailed until ${iso(op.jailedUntil)}: the cool-down ends in ${BigInt(op.jailedUntil) - now} s`,
    );
  const params = await client.staking.getParams();
  const minimum = op.role === "trainer" ? params.minTrainerStake : params.minValidatorStake;
  if (op.selfStake < minimum)
    fail(
      `your self-stake ${poai(op.selfStake)} is below the ${op.role} minimum ${poai(minimum)}: add ${poai(minimum - op.selfStake)} with poai stake first`,
    );
  return execute(client, gate, [staking(client, "unjail", [], `unjailed ${me}`)], {
    action: "unjail",
    data: { operator: me },
  });
}

/** Sends POAI to another address (for example to fund an operator key on a devnet). */
export async function transfer(
  client: PoAIClient,
  args: { to: Address; amount: bigint },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const balance = await client.token.getBalance({ owner: me });
  if (balance < args.amount) fail(`amount ${poai(args.amount)} is above your balance ${poai(balance)}`);
  return execute(
    client,
    gate,
    [
      {
        contract: "PoAIToken",
        to: client.deployment.contracts.token,
        abi: poaiTokenAbi,
        functionName: "transfer",
        args: [args.to, args.amount],
        action: "transfer",
        summary: `sent ${poai(args.amount)} to ${args.to}`,
      },
    ],
    { action: "transfer", data: { from: me, to: args.to, amount: args.amount } },
  );
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
  const now = await chainTime(client);
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
    lines.push(`operator ${who}: ${op.role}, ${state}`);
    lines.push(
      `  pool stake ${poai(op.totalStake)}, self-stake ${poai(op.selfStake)}, commission ${percent(op.commissionBps)} (max ${percent(op.maxCommissionBps)})`,
    );
    if (op.pendingCommissionBps > 0)
      lines.push(`  commission -> ${percent(op.pendingCommissionBps)} at ${iso(op.commissionEffectiveAt)}`);
    lines.push(`  endpoint ${op.endpoint || "-"}, GPU ${op.gpuClass || "-"}`);
    const pool = await client.staking.getPool({ operator: who });
    lines.push(`  pool: ${poai(pool.tokens)} staked, ${poai(pool.unbondingTokens)} unbonding`);
    data.operator = { ...op, state };
    data.pool = pool;
    if (c.challengeManager) {
      const recent: Record<string, unknown>[] = [];
      const from = epoch >= BigInt(rounds) ? epoch - BigInt(rounds) + 1n : 0n;
      for (let r = epoch; r >= from; r--) {
        const points = await client.challenges.getEpochPoints({ epoch: r, operator: who });
        if (op.role === "trainer") {
          const ch = await client.challenges.getChallenge({ id: challengeId(who, r) });
          if (ch.status === "None" && points === 0n) continue;
          recent.push({ round: r, status: ch.status, reportedScoreBps: ch.reportedScoreBps, points });
          lines.push(
            `  round ${r}: challenge ${ch.status}${ch.reportedScoreBps ? `, reported ${percent(ch.reportedScoreBps)}` : ""}, ${formatPoints(op.role, points)}`,
          );
        } else if (points > 0n) {
          recent.push({ round: r, points });
          lines.push(`  round ${r}: audits worth ${formatPoints(op.role, points)}`);
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
      `rewards: ${poai(rewards.claimable)} claimable${op.status !== 0 ? `, pool: ${poai(rewards.unsettled)} of closed epochs and ${poai(rewards.pendingFees)} of fees not credited yet` : ""}`,
    );
  }
  const positions = all.length ? await client.staking.getPositions({ owner: who, operators: all }) : [];
  const held = positions
    .map((p, i) => ({ ...p, operator: all[i]! }))
    .filter((p) => p.shares > 0n || p.claimable > 0n);
  for (const p of held)
    lines.push(`position in ${p.operator}: ${poai(p.tokens)} staked, ${poai(p.claimable)} claimable`);
  data.positions = held;
  const unbonding = await client.staking.getUnbonding({ owner: who, limit: 100 });
  for (const e of unbonding) {
    lines.push(
      `unbonding #${e.index}: ${poai(e.tokens)} from ${e.operator}, withdrawable ${when(e.maturity, now)}`,
    );
  }
  data.unbonding = unbonding;
  data.balance = await client.token.getBalance({ owner: who });
  lines.push(`balance ${poai(data.balance as bigint)}`);
  if (op.status === 0 && held.length === 0 && unbonding.length === 0)
    lines.push(`${who} has no operator record, positions or unbonding entries`);
  return { lines, data };
}
