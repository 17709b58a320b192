/**
 * Read-only views that help choose and follow operators (no key needed):
 *
 * - `poai operators`: every operator with its stake, commission, state, recent verdicts, slashes
 *   and an APR estimate for delegators;
 * - `poai portfolio [--address A]`: an address's positions across pools with claimable rewards,
 *   its unbonding entries and when each can be withdrawn.
 *
 * The APR estimate is what a delegator's tokens earned in the pool over the last `--epochs` epochs
 * (the rewards paid into the pool, less the operator's commission, over the pool's tokens now),
 * scaled to a year. It is a look back, not a promise: points, stake and emission change.
 */
import { decodeStatus, decodeVerdict, stakingAbi, type OperatorView, type PoAIClient } from "@poai/sdk";
import { getAddress, type Abi, type Address } from "viem";
import { getBlock, readContract } from "viem/actions";
import {
  OperatorCommandError,
  allOperators,
  chainTime,
  parseAddress,
  signer,
  type CommandResult,
} from "./commands.js";
import { iso, percent, poai, table, when } from "./format.js";
import { int, type CommandKit } from "./kit.js";

const YEAR = 365n * 86_400n;

/** What `poai operators` shows of one operator. */
export interface OperatorSummary {
  operator: Address;
  role: string;
  state: string;
  totalStake: bigint;
  selfStake: bigint;
  delegated: bigint;
  commissionBps: number;
  pendingCommissionBps: number;
  endpoint: string;
  gpuClass: string;
  /** The last verdicts: a trainer's judged challenges, a validator's revealed verdicts (oldest first). */
  recent: string[];
  /** Slashes not returned (paid, held or released) and their net amount (the SDK's `getSlashes`). */
  slashes: number;
  slashed: bigint;
  /** Of `slashed`, what a slash still holds (a verdict that may yet be overruled). */
  held: bigint;
  /** Slashed tokens returned whole (overruled verdicts): not in `slashed`. */
  returned: bigint;
  /** Rewards paid into the pool for its delegators over the window (commission excluded). */
  rewardsToDelegators: bigint;
  /** Delegators' APR over the window in basis points; null without stake or history. */
  aprBps: number | null;
}

function stateOf(op: OperatorView): string {
  return op.jailed ? "jailed" : op.status === 2 ? "deregistered" : op.active ? "active" : "inactive";
}

interface LogWithArgs {
  blockNumber: bigint;
  args: Record<string, unknown>;
  eventName?: string;
}

/** Block timestamps, read once per block. */
function blockTimes(client: PoAIClient) {
  const cache = new Map<bigint, Promise<bigint>>();
  return (block: bigint) => {
    if (!cache.has(block))
      cache.set(
        block,
        getBlock(client.publicClient, { blockNumber: block }).then((b) => b.timestamp),
      );
    return cache.get(block)!;
  };
}

/** Every operator with its stake, commission, state, recent verdicts, slashes and APR estimate. */
export async function operators(
  client: PoAIClient,
  args: { recent?: number; epochs?: number; role?: string },
): Promise<CommandResult> {
  const recent = args.recent ?? 5;
  const window = BigInt(args.epochs ?? 7);
  const views: OperatorView[] = [];
  for await (const op of client.staking.iterateOperators({ pageSize: 100 }))
    if (!args.role || op.role === args.role) views.push(op);
  const now = await chainTime(client);
  const epochLength = await readContract(client.publicClient, {
    address: client.deployment.contracts.staking,
    abi: stakingAbi,
    functionName: "epochLength",
  });
  // The window, but no earlier than the deployment: a young network is not averaged over time it did not exist.
  const born =
    client.deployment.deployBlock !== undefined
      ? (await getBlock(client.publicClient, { blockNumber: client.deployment.deployBlock })).timestamp
      : 0n;
  const start = now > window * epochLength ? now - window * epochLength : 0n;
  const since = start > born ? start : born;
  const time = blockTimes(client);

  // Verdicts and misses from the ChallengeManager's events, slashes and rewards from Staking's.
  const verdicts = new Map<string, { round: bigint; text: string }[]>();
  const push = (who: string, round: bigint, text: string) =>
    verdicts.set(who, [...(verdicts.get(who) ?? []), { round, text }]);
  if (client.deployment.contracts.challengeManager) {
    const [finalized, missed, revealed] = await Promise.all([
      client.challenges.getEvents({ eventName: "ChallengeFinalized" }),
      client.challenges.getEvents({ eventName: "ChallengeMissed" }),
      client.challenges.getEvents({ eventName: "VerdictRevealed" }),
    ]);
    for (const e of finalized as unknown as LogWithArgs[])
      push(
        getAddress(e.args.trainer as Address),
        e.args.round as bigint,
        decodeStatus(e.args.status as number),
      );
    for (const e of missed as unknown as LogWithArgs[])
      push(getAddress(e.args.trainer as Address), e.args.round as bigint, "Missed");
    for (const e of revealed as unknown as LogWithArgs[]) {
      const v = decodeVerdict(e.args.verdict as number);
      push(
        getAddress(e.args.validator as Address),
        e.blockNumber,
        v === "Invalid" ? `Invalid@${e.args.segment as number}` : v,
      );
    }
  }
  // paid, held, returned and released slashes (a returned hold, an overruled conviction, is no slash)
  const slashes = await client.staking.getSlashes();
  // Rewards into pools: `RewardCredited` where Staking credits pools per epoch, else `RewardNotified`.
  const credited = (stakingAbi as Abi).some((x) => x.type === "event" && x.name === "RewardCredited");
  const rewardEvents = (await client.staking.getEvents({
    eventName: (credited ? "RewardCredited" : "RewardNotified") as "RewardNotified",
  })) as unknown as LogWithArgs[];
  const earned = new Map<string, bigint>();
  for (const e of rewardEvents) {
    if ((await time(e.blockNumber)) < since) continue;
    const who = getAddress(e.args.operator as Address);
    const toPool = (e.args.amount as bigint) - ((e.args.commission as bigint | undefined) ?? 0n);
    earned.set(who, (earned.get(who) ?? 0n) + toPool);
  }
  const covered = now - since; // seconds the window really spans (less on a young network)

  const rows: OperatorSummary[] = views.map((op) => {
    const who = getAddress(op.operator);
    const slash = slashes.get(who) ?? { count: 0, slashed: 0n, held: 0n, returned: 0n };
    const toDelegators = earned.get(who) ?? 0n;
    const aprBps =
      op.totalStake > 0n && covered > 0n && rewardEvents.length > 0
        ? Number((toDelegators * YEAR * 10_000n) / (op.totalStake * covered))
        : null;
    return {
      operator: who,
      role: op.role,
      state: stateOf(op),
      totalStake: op.totalStake,
      selfStake: op.selfStake,
      delegated: op.totalStake > op.selfStake ? op.totalStake - op.selfStake : 0n,
      commissionBps: op.commissionBps,
      pendingCommissionBps: op.pendingCommissionBps,
      endpoint: op.endpoint,
      gpuClass: op.gpuClass,
      recent: (verdicts.get(who) ?? [])
        .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0))
        .slice(-recent)
        .map((v) => v.text),
      slashes: slash.count,
      slashed: slash.slashed,
      held: slash.held,
      returned: slash.returned,
      rewardsToDelegators: toDelegators,
      aprBps,
    };
  });
  const header = [
    "operator",
    "role",
    "state",
    "stake",
    "self",
    "commission",
    `last ${recent} verdicts`,
    "slashed",
    "APR",
  ];
  const lines = rows.length
    ? [
        ...table([
          header,
          ...rows.map((r) => [
            r.operator,
            r.role,
            r.state,
            poai(r.totalStake),
            poai(r.selfStake),
            `${percent(r.commissionBps)}${r.pendingCommissionBps ? ` -> ${percent(r.pendingCommissionBps)}` : ""}`,
            r.recent.length ? r.recent.join(" ") : "-",
            slashCell(r),
            r.aprBps === null ? "-" : percent(r.aprBps),
          ]),
        ]),
        `APR: what delegators earned over the last ${window} epochs (${iso(since)} on), scaled to a year; a look back, not a promise`,
      ]
    : ["no operator is registered yet"];
  return { lines, data: { chainTime: now, windowEpochs: window, operators: rows } };
}

/** An operator's slashes in the table: `2x 500 POAI (250 POAI held)`, `-` when never slashed. */
function slashCell(r: OperatorSummary): string {
  const notes = [
    ...(r.held > 0n ? [`${poai(r.held)} held`] : []),
    ...(r.returned > 0n ? [`${poai(r.returned)} returned`] : []),
  ];
  const head = r.slashes ? `${r.slashes}x ${poai(r.slashed)}` : "-";
  return notes.length ? `${head} (${notes.join(", ")})` : head;
}

/** An address's positions across pools, claimable rewards, and unbonding entries with their dates. */
export async function portfolio(client: PoAIClient, args: { address?: Address }): Promise<CommandResult> {
  const who = args.address ?? signer(client);
  const now = await chainTime(client);
  const all = await allOperators(client);
  const positions = all.length ? await client.staking.getPositions({ owner: who, operators: all }) : [];
  const views = new Map<string, OperatorView>();
  const held = [];
  for (const [i, p] of positions.entries()) {
    if (p.shares === 0n && p.claimable === 0n) continue;
    const operator = all[i]!;
    const op = await client.staking.getOperator({ operator });
    views.set(operator, op);
    const pool = await client.staking.getPool({ operator });
    held.push({
      operator,
      role: op.role,
      state: stateOf(op),
      commissionBps: op.commissionBps,
      tokens: p.tokens,
      shares: p.shares,
      shareOfPoolBps: pool.shares > 0n ? Number((p.shares * 10_000n) / pool.shares) : 0,
      claimable: p.claimable,
    });
  }
  const unbonding = (await client.staking.getUnbonding({ owner: who, limit: 100 })).map((e) => ({
    index: e.index,
    operator: getAddress(e.operator),
    tokens: e.tokens,
    maturity: BigInt(e.maturity),
    withdrawable: BigInt(e.maturity) <= now,
  }));
  const balance = await client.token.getBalance({ owner: who });
  const staked = held.reduce((t, p) => t + p.tokens, 0n);
  const claimable = held.reduce((t, p) => t + p.claimable, 0n);
  const unbondingTotal = unbonding.reduce((t, e) => t + e.tokens, 0n);
  const withdrawable = unbonding.filter((e) => e.withdrawable).reduce((t, e) => t + e.tokens, 0n);
  const lines = [`portfolio of ${who} at ${iso(now)}`];
  if (held.length)
    lines.push(
      ...table([
        ["pool", "role", "state", "commission", "staked", "share of pool", "claimable"],
        ...held.map((p) => [
          p.operator,
          p.role,
          p.state,
          percent(p.commissionBps),
          poai(p.tokens),
          percent(p.shareOfPoolBps),
          poai(p.claimable),
        ]),
      ]),
    );
  else lines.push("no positions");
  for (const e of unbonding)
    lines.push(
      `unbonding #${e.index}: ${poai(e.tokens)} from ${e.operator}, ${e.withdrawable ? `withdrawable now (since ${iso(e.maturity)}): poai withdraw` : `withdrawable ${when(e.maturity, now)}`}`,
    );
  lines.push(
    `total: ${poai(staked)} staked, ${poai(claimable)} claimable${claimable > 0n ? " (poai claim)" : ""}, ${poai(unbondingTotal)} unbonding (${poai(withdrawable)} withdrawable), ${poai(balance)} in the wallet`,
  );
  const jailed = held.filter((p) => p.state === "jailed");
  if (jailed.length)
    lines.push(
      `note: ${jailed.map((p) => p.operator).join(", ")} ${jailed.length === 1 ? "is" : "are"} jailed: ${jailed.length === 1 ? "it earns" : "they earn"} nothing until unjailed`,
    );
  return {
    lines,
    data: {
      address: who,
      chainTime: now,
      positions: held,
      unbonding,
      totals: { staked, claimable, unbonding: unbondingTotal, withdrawable, balance },
    },
  };
}

export function registerViewCommands(kit: CommandKit): void {
  kit
    .sub("operators", "Every operator: stake, commission, state, recent verdicts, slashes, an APR estimate")
    .option("--role <role>", "only trainers or only validators")
    .option("--recent <n>", "verdicts to show per operator", int("recent", 1, 100), 5)
    .option("--epochs <n>", "epochs the APR estimate looks back over", int("epochs", 1, 3650), 7)
    .action(async (o) =>
      kit.run(o, async (config) => {
        if (o.role !== undefined && o.role !== "trainer" && o.role !== "validator")
          throw new OperatorCommandError(
            `--role must be trainer or validator, got ${JSON.stringify(o.role)}`,
          );
        const s = await kit.session(o, config, false);
        return operators(s.client, { recent: o.recent, epochs: o.epochs, ...(o.role && { role: o.role }) });
      }),
    );
  kit
    .sub("portfolio", "Your positions across pools, claimable rewards, unbonding entries and their dates")
    .option("--address <address>", "address to show (default: the signer)")
    .action(async (o) =>
      kit.run(o, async (config) => {
        const s = await kit.session(o, config, o.address === undefined);
        return portfolio(s.client, {
          ...(o.address !== undefined && { address: parseAddress("address", o.address) }),
        });
      }),
    );
}
