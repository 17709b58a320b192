/**
 * What node operators and delegators do, as plain functions over a PoAI SDK client. The Hardhat
 * tasks in `tasks.ts` parse the command line and call these; tests call them directly.
 * Each one checks what a person can get wrong before anything is signed and says it plainly.
 */
import {
  formatPoai,
  poaiTokenAbi,
  sendContractTransaction,
  type OperatorView,
  type PoAIClient,
} from "@poai/sdk";
import { encodeFunctionData, isAddress, type Address } from "viem";
import { getBlock } from "viem/actions";

export class OperatorCommandError extends Error {
  override name = "OperatorCommandError";
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

export function parseAddress(field: string, value: string): Address {
  if (!isAddress(value))
    fail(`--${field} must be an address (0x and 40 hex digits), got ${JSON.stringify(value)}`);
  return value as Address;
}

/** Parses a POAI amount such as "1000" or "12.5" (18 decimals). */
export function parseAmount(field: string, value: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(value))
    fail(`--${field} must be a positive POAI amount such as 1000 or 12.5, got ${JSON.stringify(value)}`);
  const [whole, frac = ""] = value.split(".");
  const wei = BigInt(whole) * 10n ** 18n + BigInt(frac.padEnd(18, "0"));
  if (wei === 0n) fail(`--${field} must be greater than zero, got ${value}`);
  return wei;
}

/** Parses a percentage such as "5" or "12.5" into basis points. */
export function parsePercent(field: string, value: string): number {
  if (!/^\d+(\.\d{1,2})?$/.test(value))
    fail(`--${field} must be a percentage such as 5 or 12.5, got ${JSON.stringify(value)}`);
  const bps = Math.round(Number(value) * 100);
  if (bps > 10_000) fail(`--${field} must be at most 100, got ${value}`);
  return bps;
}

async function sender(client: PoAIClient): Promise<Address> {
  const account = client.walletClient?.account;
  if (!account) return fail("no signing account: configure one for this network (keystore or environment)");
  return account.address;
}

async function requireOperator(client: PoAIClient, operator: Address): Promise<OperatorView> {
  const view = await client.staking.getOperator({ operator });
  if (view.status === 0) fail(`${operator} is not a registered operator`);
  return view;
}

/** Checks the balance and approves Staking for `amount` when the allowance is short. */
async function ensureFunds(client: PoAIClient, owner: Address, amount: bigint): Promise<string[]> {
  const balance = await client.token.getBalance({ owner });
  if (balance < amount) fail(`amount ${formatPoai(amount)} is above your balance ${formatPoai(balance)}`);
  const allowance = await client.token.getAllowance({ owner });
  if (allowance >= amount) return [];
  await client.waitForTransaction(await client.token.approve({ amount }));
  return [`approved ${formatPoai(amount)} for staking`];
}

const done = async (client: PoAIClient, hash: `0x${string}`, what: string) => {
  const receipt = await client.waitForTransaction(hash);
  return `${what} (tx ${hash}, block ${receipt.blockNumber}, gas ${receipt.gasUsed})`;
};

export async function register(
  client: PoAIClient,
  args: {
    role: string;
    stake: bigint;
    commissionBps: number;
    maxCommissionBps: number;
    endpoint: string;
    gpuClass: string;
  },
): Promise<string[]> {
  const role = args.role;
  if (role !== "trainer" && role !== "validator")
    return fail(`--role must be trainer or validator, got ${JSON.stringify(role)}`);
  if (args.commissionBps > args.maxCommissionBps) {
    fail(
      `--commission ${args.commissionBps / 100}% is above --max-commission ${args.maxCommissionBps / 100}%`,
    );
  }
  const me = await sender(client);
  const existing = await client.staking.getOperator({ operator: me });
  if (existing.status !== 0) fail(`${me} is already registered as an operator`);
  const params = await client.staking.getParams();
  const minimum = args.role === "trainer" ? params.minTrainerStake : params.minValidatorStake;
  if (args.stake < minimum)
    fail(`--stake ${formatPoai(args.stake)} is below the ${args.role} minimum ${formatPoai(minimum)}`);
  const out = await ensureFunds(client, me, args.stake);
  const hash = await client.staking.register({
    role,
    stake: args.stake,
    commissionBps: args.commissionBps,
    maxCommissionBps: args.maxCommissionBps,
    endpoint: args.endpoint,
    gpuClass: args.gpuClass,
  });
  out.push(await done(client, hash, `registered ${me} as ${args.role} with ${formatPoai(args.stake)}`));
  return out;
}

export async function stake(client: PoAIClient, args: { amount: bigint }): Promise<string[]> {
  const me = await sender(client);
  await requireOperator(client, me);
  const out = await ensureFunds(client, me, args.amount);
  out.push(
    await done(
      client,
      await client.staking.addStake({ amount: args.amount }),
      `added ${formatPoai(args.amount)} of self-stake`,
    ),
  );
  return out;
}

export async function delegate(
  client: PoAIClient,
  args: { operator: Address; amount: bigint },
): Promise<string[]> {
  const me = await sender(client);
  const op = await requireOperator(client, args.operator);
  if (op.status !== 1) fail(`${args.operator} has deregistered and takes no delegation`);
  if (op.jailed) fail(`${args.operator} is jailed and takes no delegation`);
  const out = await ensureFunds(client, me, args.amount);
  out.push(
    await done(
      client,
      await client.staking.delegate({ operator: args.operator, amount: args.amount }),
      `delegated ${formatPoai(args.amount)} to ${args.operator}`,
    ),
  );
  return out;
}

export async function undelegate(
  client: PoAIClient,
  args: { operator: Address; amount?: bigint; all?: boolean },
): Promise<string[]> {
  const me = await sender(client);
  await requireOperator(client, args.operator);
  const pos = await client.staking.getPosition({ owner: me, operator: args.operator });
  if (pos.shares === 0n) fail(`you have no stake with ${args.operator}`);
  if (!args.all && args.amount === undefined) fail("give --amount <POAI> or --all");
  if (!args.all && args.amount! > pos.tokens)
    fail(
      `--amount ${formatPoai(args.amount!)} is above your stake ${formatPoai(pos.tokens)} with ${args.operator}`,
    );
  const hash = args.all
    ? await client.staking.undelegate({ operator: args.operator, shares: pos.shares })
    : await client.staking.undelegateAmount({ operator: args.operator, amount: args.amount! });
  return [
    await done(
      client,
      hash,
      `undelegated ${args.all ? "everything" : `${formatPoai(args.amount!)}`} from ${args.operator}; it unbonds for the unbonding period`,
    ),
  ];
}

export async function withdraw(client: PoAIClient, args: { maxEntries?: number }): Promise<string[]> {
  const me = await sender(client);
  const entries = await client.staking.getUnbonding({ owner: me, limit: 100 });
  const chainNow = (await getBlock(client.publicClient)).timestamp;
  const matured = entries.filter((e) => BigInt(e.maturity) <= chainNow);
  if (matured.length === 0) {
    const next = entries[0];
    fail(
      next
        ? `nothing has matured yet: the next entry (${formatPoai(next.tokens)}) is withdrawable at ${new Date(next.maturity * 1000).toISOString()}`
        : "you have no unbonding entries",
    );
  }
  const hash = await client.staking.withdraw({ maxEntries: args.maxEntries ?? 50 });
  return [
    await done(
      client,
      hash,
      `withdrew ${matured.length} matured entr${matured.length === 1 ? "y" : "ies"} (${formatPoai(matured.reduce((t, e) => t + e.tokens, 0n))})`,
    ),
  ];
}

/** Claims from the given pools, or from every pool where the sender has something to claim. */
export async function claim(client: PoAIClient, args: { operators?: Address[] }): Promise<string[]> {
  const me = await sender(client);
  let operators = args.operators ?? [];
  if (operators.length === 0) {
    const all: Address[] = [];
    for await (const op of client.staking.iterateOperators({ pageSize: 100 })) all.push(op.operator);
    const positions = all.length ? await client.staking.getPositions({ owner: me, operators: all }) : [];
    operators = all.filter((_, i) => positions[i].claimable > 0n);
  }
  if (operators.length === 0) fail("nothing to claim");
  const positions = await client.staking.getPositions({ owner: me, operators });
  const total = positions.reduce((t, p) => t + p.claimable, 0n);
  if (total === 0n) fail("nothing to claim from the given pools");
  const hash = await client.staking.claimMany({ operators });
  return [
    await done(
      client,
      hash,
      `claimed ${formatPoai(total)} from ${operators.length} pool${operators.length === 1 ? "" : "s"}`,
    ),
  ];
}

export async function setCommission(client: PoAIClient, args: { commissionBps: number }): Promise<string[]> {
  const me = await sender(client);
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
  const when = args.commissionBps > op.commissionBps ? `after the ${params.commissionDelay}s delay` : "now";
  return [
    await done(
      client,
      hash,
      `commission ${op.commissionBps / 100}% -> ${args.commissionBps / 100}%, effective ${when}`,
    ),
  ];
}

export async function unjail(client: PoAIClient): Promise<string[]> {
  const me = await sender(client);
  const op = await requireOperator(client, me);
  if (!op.jailed) fail(`${me} is not jailed`);
  return [await done(client, await client.staking.unjail(), `unjailed ${me}`)];
}

export async function status(client: PoAIClient, args: { address?: Address }): Promise<string[]> {
  const who = args.address ?? (await sender(client));
  const out: string[] = [];
  const op = await client.staking.getOperator({ operator: who });
  out.push(`epoch ${await client.staking.currentEpoch()}`);
  if (op.status !== 0) {
    const state = op.jailed
      ? `jailed until ${new Date(op.jailedUntil * 1000).toISOString()}`
      : op.active
        ? "active"
        : op.status === 2
          ? "deregistered"
          : "inactive (self-stake below minimum)";
    out.push(`operator ${who}: ${op.role === 1 ? "trainer" : "validator"}, ${state}`);
    out.push(
      `  pool stake ${formatPoai(op.totalStake)}, self-stake ${formatPoai(op.selfStake)}, commission ${op.commissionBps / 100}% (max ${op.maxCommissionBps / 100}%)`,
    );
    if (op.pendingCommissionBps > 0)
      out.push(
        `  commission -> ${op.pendingCommissionBps / 100}% at ${new Date(op.commissionEffectiveAt * 1000).toISOString()}`,
      );
    out.push(`  endpoint ${op.endpoint || "-"}, GPU ${op.gpuClass || "-"}`);
  }
  const all: Address[] = [];
  for await (const o of client.staking.iterateOperators({ pageSize: 100 })) all.push(o.operator);
  const positions = all.length ? await client.staking.getPositions({ owner: who, operators: all }) : [];
  positions.forEach((p, i) => {
    if (p.shares > 0n || p.claimable > 0n)
      out.push(`position in ${all[i]}: ${formatPoai(p.tokens)} staked, ${formatPoai(p.claimable)} claimable`);
  });
  for (const e of await client.staking.getUnbonding({ owner: who, limit: 100 })) {
    out.push(
      `unbonding #${e.index}: ${formatPoai(e.tokens)} from ${e.operator}, withdrawable at ${new Date(e.maturity * 1000).toISOString()}`,
    );
  }
  if (out.length === 1) out.push(`${who} has no operator record, positions or unbonding entries`);
  return out;
}

/** Sends POAI to another address (for example to fund an operator key on a devnet). */
export async function transfer(client: PoAIClient, args: { to: Address; amount: bigint }): Promise<string[]> {
  const me = await sender(client);
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
  return [await done(client, hash, `sent ${formatPoai(args.amount)} to ${args.to}`)];
}
