/**
 * Reads of the network overview and the operators table, through the SDK's actions. Every read of
 * one screen is issued in the same tick, so the transport batches them (Multicall3 where the
 * deployment names one, JSON-RPC batches otherwise).
 */
import { committeeReplayShare, roleName, type OperatorView, type PoAIClient } from "@poai/sdk";
import { getBlock } from "viem/actions";
import type { Address, Hex } from "viem";
import { loadHistory, slashedTotal, type ChallengeRecord, type History } from "./history.js";

export type OperatorState = "active" | "jailed" | "inactive" | "deregistered";

/** An operator's state in words: jailed, deregistered, below its minimum (inactive) or active. */
export function operatorState(op: Pick<OperatorView, "status" | "jailed" | "active">): OperatorState {
  if (op.status === 2) return "deregistered";
  if (op.jailed) return "jailed";
  return op.active ? "active" : "inactive";
}

/** Every registered operator (deregistered ones included), page by page. */
export async function allOperators(client: PoAIClient): Promise<OperatorView[]> {
  const all: OperatorView[] = [];
  for await (const op of client.staking.iterateOperators({ pageSize: 200 })) all.push(op);
  return all;
}

/** One row of the operators table. */
export interface OperatorRow {
  address: Address;
  role: "trainer" | "validator" | "none";
  state: OperatorState;
  totalStake: bigint;
  selfStake: bigint;
  delegated: bigint;
  commissionBps: number;
  pendingCommissionBps: number;
  /** Outcomes of the operator's last rounds, oldest first: a trainer's challenge statuses, a validator's verdicts. */
  verdicts: { round: bigint | null; outcome: string }[];
  /** Slashes not returned (paid, held or released) and their net amount (the SDK's `SlashSummary`). */
  slashes: number;
  slashed: bigint;
  /** Tokens of `slashed` still held (a verdict that may yet be overruled). */
  held: bigint;
  /** Rewards paid into the pool (commission included) and the operator's commission of them. */
  rewards: bigint;
  commission: bigint;
  endpoint: string;
  gpuClass: string;
}

/** How many recent outcomes the table shows per operator. */
export const RECENT = 10;

function rowOf(op: OperatorView, history: History): OperatorRow {
  const address = op.operator;
  const role = roleName(op.role);
  let verdicts: OperatorRow["verdicts"];
  if (role === "trainer") {
    verdicts = (history.byTrainer.get(address) ?? [])
      .slice(-RECENT)
      .map((c) => ({ round: c.round, outcome: c.status }));
  } else {
    verdicts = (history.byValidator.get(address) ?? []).slice(-RECENT).map((r) => ({
      round: history.challenges.get(r.id)?.round ?? null,
      outcome: r.verdict,
    }));
  }
  const rewards = history.rewards.get(address);
  return {
    address,
    role,
    state: operatorState(op),
    totalStake: op.totalStake,
    selfStake: op.selfStake,
    delegated: op.totalStake > op.selfStake ? op.totalStake - op.selfStake : 0n,
    commissionBps: op.commissionBps,
    pendingCommissionBps: op.pendingCommissionBps,
    verdicts,
    slashes: history.slashes.get(address)?.count ?? 0,
    held: history.slashes.get(address)?.held ?? 0n,
    slashed: slashedTotal(history, address),
    rewards: rewards?.amount ?? 0n,
    commission: rewards?.commission ?? 0n,
    endpoint: op.endpoint,
    gpuClass: op.gpuClass,
  };
}

export async function loadOperators(client: PoAIClient): Promise<OperatorRow[]> {
  const [operators, history] = await Promise.all([allOperators(client), loadHistory(client)]);
  return operators.map((op) => rowOf(op, history));
}

/** A training spec in force and what auditing it costs. */
export interface SpecSummary {
  id: Hex;
  widths: readonly number[];
  steps: number;
  checkpointInterval: number;
  segments: number;
  auditSamples: number;
  responseDeadline: number;
  /**
   * Share of a run the committee re-executes at most: committee size × sampled segments per
   * member / segments (samples may overlap, so the real share is at most this), capped at 1.
   */
  reexecutedShare: number;
}

export interface Overview {
  blockNumber: bigint;
  /** Chain time of the latest block (unix seconds). */
  now: bigint;
  epoch: bigint;
  epochLength: bigint;
  epochEndsAt: bigint;
  operators: { trainers: number; validators: number; active: number; jailed: number };
  /** Stake of the registered operators of each role (pools, self-stake included), now. */
  stake: { trainer: bigint; validator: bigint; delegated: bigint };
  /** Active stake of each role at the start of the current epoch (what sortition and rewards use). */
  activeStake: { trainer: bigint; validator: bigint };
  /** Active role stake at the start of each recent epoch, oldest first. */
  stakeHistory: { epochs: bigint[]; trainer: bigint[]; validator: bigint[] };
  /** `null`: the deployment has no Proof-of-AI contracts. */
  specs: SpecSummary[] | null;
  committeeSize: number | null;
  challenges: Record<string, number>;
  rewards: {
    emissionPerEpoch: bigint;
    funded: bigint;
    paidIntoPools: bigint;
    reserve: bigint;
    balanced: boolean;
  } | null;
}

/** Epochs of role stake the overview charts. */
export const STAKE_EPOCHS = 20;

async function specsOf(
  client: PoAIClient,
  epoch: bigint,
  committee: { committeeSize: number; minReveals: number },
): Promise<SpecSummary[]> {
  let ids: readonly Hex[];
  try {
    ids = await client.registry.getActiveSpecs({ round: epoch });
  } catch (err) {
    // Before governance activates a first spec the registry reverts `NoActiveSpec`.
    if ((err as { errorName?: string }).errorName === "NoActiveSpec") return [];
    throw err;
  }
  return Promise.all(
    ids.map(async (id) => {
      const [spec, params] = await Promise.all([
        client.registry.getSpec({ specId: id }),
        client.registry.getSpecParams({ specId: id }),
      ]);
      const segments = Math.max(1, Math.floor(spec.steps / spec.checkpointInterval));
      return {
        id,
        widths: spec.widths,
        steps: spec.steps,
        checkpointInterval: spec.checkpointInterval,
        segments,
        auditSamples: params.auditSamples,
        responseDeadline: params.responseDeadline,
        reexecutedShare: committeeReplayShare(
          committee.committeeSize,
          params.auditSamples,
          committee.minReveals,
          segments,
        ),
      };
    }),
  );
}

export async function loadOverview(client: PoAIClient): Promise<Overview> {
  const c = client.deployment.contracts;
  // Every read starts as soon as what it depends on is known, so the page waits for as few
  // round trips as the data allows.
  const epochP = client.staking.currentEpoch();
  const committeeP = c.challengeManager ? client.challenges.getChallengeParams() : Promise.resolve(undefined);
  const epochsP = epochP.then((epoch) => {
    const first = epoch >= BigInt(STAKE_EPOCHS - 1) ? epoch - BigInt(STAKE_EPOCHS - 1) : 0n;
    const epochs: bigint[] = [];
    for (let e = first; e <= epoch; e++) epochs.push(e);
    return epochs;
  });
  const [
    block,
    epoch,
    operators,
    history,
    epochs,
    committee,
    specs,
    start,
    next,
    trainerHistory,
    validatorHistory,
    rewardParams,
    totals,
  ] = await Promise.all([
    getBlock(client.publicClient),
    epochP,
    allOperators(client),
    loadHistory(client, {}),
    epochsP,
    committeeP,
    c.taskRegistry
      ? Promise.all([epochP, committeeP]).then(([e, params]) =>
          specsOf(client, e, {
            committeeSize: params?.committeeSize ?? 0,
            minReveals: params?.minReveals ?? 1,
          }),
        )
      : Promise.resolve(null),
    epochP.then((e) => client.staking.epochStart({ epoch: e })),
    epochP.then((e) => client.staking.epochStart({ epoch: e + 1n })),
    epochsP.then((es) =>
      Promise.all(es.map((e) => client.staking.roleStakeAt({ role: "trainer", epoch: e }))),
    ),
    epochsP.then((es) =>
      Promise.all(es.map((e) => client.staking.roleStakeAt({ role: "validator", epoch: e }))),
    ),
    c.rewardDistributor ? client.rewards.getRewardParams() : undefined,
    c.rewardDistributor ? client.rewards.getRewardTotals() : undefined,
  ]);
  const committeeSize = committee?.committeeSize ?? null;

  const live = operators.filter((op) => op.status === 1);
  const sum = (role: 1 | 2) =>
    live.filter((op) => op.roleId === role).reduce((s, op) => s + op.totalStake, 0n);
  const challenges: Record<string, number> = {};
  for (const ch of history.challenges.values()) challenges[ch.status] = (challenges[ch.status] ?? 0) + 1;
  return {
    blockNumber: block.number,
    now: block.timestamp,
    epoch,
    epochLength: next - start,
    epochEndsAt: next,
    operators: {
      trainers: live.filter((op) => op.role === "trainer").length,
      validators: live.filter((op) => op.role === "validator").length,
      active: live.filter((op) => op.active).length,
      jailed: live.filter((op) => op.jailed).length,
    },
    stake: {
      trainer: sum(1),
      validator: sum(2),
      delegated: live.reduce(
        (s, op) => s + (op.totalStake > op.selfStake ? op.totalStake - op.selfStake : 0n),
        0n,
      ),
    },
    activeStake: { trainer: trainerHistory.at(-1) ?? 0n, validator: validatorHistory.at(-1) ?? 0n },
    stakeHistory: { epochs, trainer: trainerHistory, validator: validatorHistory },
    specs,
    committeeSize,
    challenges,
    rewards:
      rewardParams && totals
        ? {
            emissionPerEpoch: rewardParams.emissionPerEpoch,
            funded: totals.totalFunded,
            paidIntoPools: totals.totalForwarded,
            reserve: totals.reserve,
            balanced: totals.balanced,
          }
        : null,
  };
}

export type { ChallengeRecord };
