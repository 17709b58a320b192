/**
 * An independent bigint model of the PoAI judgment, written from the protocol rules rather than
 * from the Solidity. Committee members weigh in with their stake at the audit round as a fraction
 * of the validator role's stake then (units of 2^-32; all members of a round share the
 * denominator); a verdict holds when it has at least `quorumBps` of the revealed stake among at
 * least `minReveals` reveals; the median is the lower stake-weighted median of the Valid reveals'
 * measured scores; a valid challenge scores `latencyFactor x deviationFactor` (1e18 = 1), zero
 * outside the spec's score band.
 */
import { Verdict, WAD, BPS } from "./world.js";

/** A validator's weight in a committee: 1 = 2^-32 of the validator role's stake at the audit round. */
export const WEIGHT_ONE = 2n ** 32n - 1n;

/** The weight of `stake` out of the validator role's `roleStake`, rounded down, at least 1. */
export function weightOf(stake: bigint, roleStake: bigint): bigint {
  const w = (stake * WEIGHT_ONE) / roleStake;
  return w === 0n ? 1n : w;
}

/** One committee member's reveal (`weight` 0: committed but did not reveal). */
export type Ballot = { verdict: number; scoreBps: number; weight: bigint };

export type Outcome = { verdict: number; medianScoreBps: number; revealedStake: bigint; reveals: number };

/** The lower stake-weighted median: the smallest score whose cumulative weight reaches half. */
export function weightedMedian(ballots: Ballot[]): number {
  const valid = ballots
    .filter((b) => b.weight > 0n && b.verdict === Verdict.Valid)
    .sort((a, b) => a.scoreBps - b.scoreBps);
  const total = valid.reduce((s, b) => s + b.weight, 0n);
  let acc = 0n;
  for (const b of valid) {
    acc += b.weight;
    if (2n * acc >= total) return b.scoreBps;
  }
  return 0;
}

export function tally(ballots: Ballot[], quorumBps: number, minReveals: number): Outcome {
  const revealed = ballots.filter((b) => b.weight > 0n);
  const revealedStake = revealed.reduce((s, b) => s + b.weight, 0n);
  const o: Outcome = { verdict: Verdict.None, medianScoreBps: 0, revealedStake, reveals: revealed.length };
  if (revealed.length < minReveals || revealedStake === 0n) return o;
  for (const v of [Verdict.Valid, Verdict.Invalid, Verdict.Unavailable]) {
    const stake = revealed.filter((b) => b.verdict === v).reduce((s, b) => s + b.weight, 0n);
    // stake / revealedStake >= quorumBps / 10_000
    if (stake * BPS >= BigInt(quorumBps) * revealedStake) {
      o.verdict = v;
      break;
    }
  }
  if (o.verdict === Verdict.Valid) o.medianScoreBps = weightedMedian(ballots);
  return o;
}

/**
 * The score of a valid challenge, 1e18 = 1.
 * latency factor = 1 - latency / (2 span); deviation factor = (maxDev - |reported - median|) / maxDev;
 * both floored to 1e-18 as fixed-point numbers, their product floored again.
 */
export function challengeScore(a: {
  medianScoreBps: number;
  reportedScoreBps: number;
  latency: bigint;
  span: bigint;
  minScoreBps: number;
  maxScoreBps: number;
  maxDeviationBps: number;
}): bigint {
  if (a.medianScoreBps < a.minScoreBps || a.medianScoreBps > a.maxScoreBps) return 0n;
  const deviation = BigInt(Math.abs(a.reportedScoreBps - a.medianScoreBps));
  const maxDev = BigInt(a.maxDeviationBps);
  if (deviation >= maxDev) return 0n;
  const deviationFactor = ((maxDev - deviation) * WAD) / maxDev;
  const latency = a.latency > a.span ? a.span : a.latency;
  const latencyFactor = a.span === 0n ? WAD : WAD - (latency * WAD) / (2n * a.span);
  return (deviationFactor * latencyFactor) / WAD;
}

/** Whether a reveal earns accuracy points: same verdict as a quorum, and for Valid a score within tolerance. */
export function agrees(b: Ballot, o: Outcome, toleranceBps: number): boolean {
  if (b.weight === 0n || o.verdict === Verdict.None || b.verdict !== o.verdict) return false;
  if (o.verdict !== Verdict.Valid) return true;
  return Math.abs(b.scoreBps - o.medianScoreBps) <= toleranceBps;
}

/** Status of a challenge after finalization, from the tally. */
export function statusOf(o: Outcome): number {
  switch (o.verdict) {
    case Verdict.Valid:
      return 2;
    case Verdict.Invalid:
      return 3;
    case Verdict.Unavailable:
      return 4;
    default:
      return 5;
  }
}
