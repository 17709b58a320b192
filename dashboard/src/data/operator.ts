/**
 * One operator's page: its record and pool, its stake at the start of each recent epoch, its
 * points per epoch, and its challenges (a trainer's, with every committee member's verdict) or its
 * audits (a validator's verdicts and whether they agreed with the outcome).
 */
import { roleName, type MemberInfo, type OperatorView, type PoAIClient, type PoolView } from "@poai/sdk";
import type { Address, Hex } from "viem";
import { agreed, loadHistory, type ChallengeRecord, type SlashSummary } from "./history.js";
import { operatorState, type OperatorState } from "./network.js";

/** Epochs of stake and points the operator page charts. */
export const HISTORY_EPOCHS = 30;

export interface ChallengeRow extends ChallengeRecord {
  members: MemberInfo[];
}

export interface AuditRow {
  id: Hex;
  trainer: Address | null;
  round: bigint | null;
  verdict: string;
  segment: number;
  measuredScoreBps: number;
  /** The challenge's final status (`Submitted` while open). */
  outcome: string;
  agreed: boolean | null;
}

export interface OperatorDetail {
  view: OperatorView;
  role: "trainer" | "validator" | "none";
  state: OperatorState;
  pool: PoolView;
  epoch: bigint;
  /** Stake of the pool at the start of each epoch, and the operator's points in it; oldest first. */
  epochs: bigint[];
  stake: bigint[];
  points: bigint[];
  challenges: ChallengeRow[];
  audits: AuditRow[];
  slashes: SlashSummary | null;
  rewards: { amount: bigint; commission: bigint; count: number };
}

export async function loadOperator(client: PoAIClient, operator: Address): Promise<OperatorDetail | null> {
  const view = await client.staking.getOperator({ operator });
  if (view.status === 0) return null;
  const address = view.operator;
  const hasChallenges = client.deployment.contracts.challengeManager !== undefined;
  const [pool, epoch, history] = await Promise.all([
    client.staking.getPool({ operator: address }),
    client.staking.currentEpoch(),
    loadHistory(client, { reveals: roleName(view.role) === "validator", slashes: true, rewards: true }),
  ]);
  const first = epoch >= BigInt(HISTORY_EPOCHS - 1) ? epoch - BigInt(HISTORY_EPOCHS - 1) : 0n;
  const epochs: bigint[] = [];
  for (let e = first; e <= epoch; e++) epochs.push(e);
  const role = roleName(view.role);
  const own = role === "trainer" ? (history.byTrainer.get(address) ?? []) : [];
  const [stake, points, members] = await Promise.all([
    Promise.all(epochs.map((e) => client.staking.stakeAt({ operator: address, epoch: e }))),
    hasChallenges
      ? Promise.all(epochs.map((e) => client.challenges.getEpochPoints({ epoch: e, operator: address })))
      : epochs.map(() => 0n),
    Promise.all(own.map((c) => client.challenges.getMembers({ id: c.id }))),
  ]);
  // Epochs before the operator registered read as zero stake: start the chart at its first stake.
  const start = Math.max(
    0,
    stake.findIndex((s) => s > 0n),
  );
  const audits: AuditRow[] = (history.byValidator.get(address) ?? []).map((r) => {
    const c = history.challenges.get(r.id);
    return {
      id: r.id,
      trainer: c?.trainer ?? null,
      round: c?.round ?? null,
      verdict: r.verdict,
      segment: r.segment,
      measuredScoreBps: r.measuredScoreBps,
      outcome: c?.status ?? "Submitted",
      agreed: agreed(r, c),
    };
  });
  return {
    view,
    role,
    state: operatorState(view),
    pool,
    epoch,
    epochs: epochs.slice(start),
    stake: stake.slice(start),
    points: points.slice(start),
    challenges: own.map((c, i) => ({ ...c, members: members[i]! })),
    audits,
    slashes: history.slashes.get(address) ?? null,
    rewards: history.rewards.get(address) ?? { amount: 0n, commission: 0n, count: 0 },
  };
}
