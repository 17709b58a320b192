/**
 * The network's history as its events tell it: every challenge's outcome, every revealed verdict,
 * every slash and every reward paid into a pool. One `eth_getLogs` per event type over the whole
 * deployment (the SDK's event actions), decoded once and shared by every page.
 *
 * This is the one place that knows which events carry the history: when the contracts change
 * (a new verdict rule, F1-style rewards, jobs), adapt it here.
 */
import { decodeStatus, decodeVerdict, type PoAIClient, type SlashSummary } from "@poai/sdk";
import { getAddress, type Address, type Hex } from "viem";

/** One challenge as its events tell it. */
export interface ChallengeRecord {
  id: Hex;
  trainer: Address;
  round: bigint;
  /** `Submitted` until finalized, then the final status (`Valid`, `Fraud`, `Missed`, …). */
  status: string;
  reportedScoreBps: number | null;
  latency: number | null;
  /** The challenge score (1e18 = 1), once finalized. */
  score: bigint | null;
  medianScoreBps: number | null;
  points: bigint | null;
}

/** One revealed verdict of a committee member. */
export interface RevealRecord {
  id: Hex;
  validator: Address;
  verdict: string;
  segment: number;
  measuredScoreBps: number;
  blockNumber: bigint;
}

export type { SlashRecord, SlashSummary } from "@poai/sdk";

export interface RewardTotalsOf {
  /** Everything paid into the pool: commission plus the delegators' part. */
  amount: bigint;
  commission: bigint;
  count: number;
}

export interface History {
  challenges: Map<Hex, ChallengeRecord>;
  byTrainer: Map<Address, ChallengeRecord[]>;
  byValidator: Map<Address, RevealRecord[]>;
  /** Each slashed operator's slashes with their state (the SDK's `getSlashes`). */
  slashes: Map<Address, SlashSummary>;
  rewards: Map<Address, RewardTotalsOf>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Which parts of the history a page needs (each is one `eth_getLogs`, the slashes five); challenges are always read. */
export interface HistoryParts {
  reveals?: boolean;
  slashes?: boolean;
  rewards?: boolean;
}

const EVERYTHING: Required<HistoryParts> = { reveals: true, slashes: true, rewards: true };

/**
 * Reads and joins the events (by default every part); a deployment without Proof-of-AI contracts
 * has challenge-free history.
 */
export async function loadHistory(client: PoAIClient, parts: HistoryParts = EVERYTHING): Promise<History> {
  const hasChallenges = client.deployment.contracts.challengeManager !== undefined;
  const none = Promise.resolve([]);
  const [submitted, finalized, missed, revealed, slashes, rewarded] = await Promise.all([
    hasChallenges ? client.challenges.getEvents({ eventName: "ResultSubmitted" }) : none,
    hasChallenges ? client.challenges.getEvents({ eventName: "ChallengeFinalized" }) : none,
    hasChallenges ? client.challenges.getEvents({ eventName: "ChallengeMissed" }) : none,
    hasChallenges && parts.reveals ? client.challenges.getEvents({ eventName: "VerdictRevealed" }) : none,
    // paid, held, returned and released slashes (docs/staking.md, "Held slashes")
    parts.slashes ? client.staking.getSlashes() : Promise.resolve(new Map<Address, SlashSummary>()),
    parts.rewards ? client.staking.getEvents({ eventName: "RewardCredited" }) : none,
  ]);

  const challenges = new Map<Hex, ChallengeRecord>();
  const record = (id: Hex, trainer: Address, round: bigint): ChallengeRecord => {
    let c = challenges.get(id);
    if (!c) {
      c = {
        id,
        trainer: getAddress(trainer),
        round,
        status: "Submitted",
        reportedScoreBps: null,
        latency: null,
        score: null,
        medianScoreBps: null,
        points: null,
      };
      challenges.set(id, c);
    }
    return c;
  };
  for (const e of submitted) {
    const c = record(e.args.id, e.args.trainer, e.args.round);
    c.reportedScoreBps = e.args.reportedScoreBps;
    c.latency = e.args.latency;
  }
  for (const e of finalized) {
    const c = record(e.args.id, e.args.trainer, e.args.round);
    c.status = decodeStatus(e.args.status);
    c.score = e.args.score;
    c.medianScoreBps = e.args.medianScoreBps;
    c.points = e.args.trainerPoints;
  }
  for (const e of missed) record(e.args.id, e.args.trainer, e.args.round).status = "Missed";

  const byTrainer = new Map<Address, ChallengeRecord[]>();
  for (const c of challenges.values()) push(byTrainer, c.trainer, c);
  for (const list of byTrainer.values()) list.sort((a, b) => Number(a.round - b.round));

  const byValidator = new Map<Address, RevealRecord[]>();
  for (const e of revealed) {
    push(byValidator, getAddress(e.args.validator), {
      id: e.args.id,
      validator: getAddress(e.args.validator),
      verdict: decodeVerdict(e.args.verdict),
      segment: e.args.segment,
      measuredScoreBps: e.args.measuredScoreBps,
      blockNumber: e.blockNumber,
    });
  }

  const rewards = new Map<Address, RewardTotalsOf>();
  for (const e of rewarded) {
    const operator = getAddress(e.args.operator);
    const r = rewards.get(operator) ?? { amount: 0n, commission: 0n, count: 0 };
    r.amount += e.args.amount;
    r.commission += e.args.commission;
    r.count += 1;
    rewards.set(operator, r);
  }
  return { challenges, byTrainer, byValidator, slashes, rewards };
}

/** Whether a revealed verdict agreed with its challenge's final status. */
export function agreed(reveal: RevealRecord, challenge: ChallengeRecord | undefined): boolean | null {
  if (!challenge || challenge.status === "Submitted") return null;
  const expected =
    challenge.status === "Valid"
      ? "Valid"
      : challenge.status === "Fraud"
        ? "Invalid"
        : challenge.status === "Withheld"
          ? "Unavailable"
          : null;
  return expected === null ? null : reveal.verdict === expected;
}

/** Net total slashed from an operator's pool (held slashes included, returned ones not). */
export function slashedTotal(history: History, operator: Address): bigint {
  return history.slashes.get(operator)?.slashed ?? 0n;
}
