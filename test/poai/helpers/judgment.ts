/**
 * An independent bigint model of the PoAI judgment, written from the protocol rules rather than
 * from the Solidity. Committee members weigh in with their stake at the challenge's round as a
 * fraction of the validator role's stake then (units of 2^-32; all members share the
 * denominator); an accusation (an Invalid reveal) is decided by the second phase, anything else by
 * a quorum of the revealed stake (see `tally`); the median is the lower stake-weighted median of
 * the scores of the members that revealed Valid and stood by it; a valid challenge scores
 * `latencyFactor x deviationFactor` (1e18 = 1), zero outside the spec's score band.
 */
import { Verdict, WAD, BPS } from "./world.js";

/** A validator's weight in a committee: 1 = 2^-32 of the validator role's stake at the audit round. */
export const WEIGHT_ONE = 2n ** 32n - 1n;

/** The weight of `stake` out of the validator role's `roleStake`, rounded down, at least 1. */
export function weightOf(stake: bigint, roleStake: bigint): bigint {
  const w = (stake * WEIGHT_ONE) / roleStake;
  return w === 0n ? 1n : w;
}

/**
 * One committee member: its reveal, its second-phase vote (`replay`, default none) and its weight
 * (`weight` 0: committed but did not reveal).
 */
export type Ballot = { verdict: number; replay?: number; scoreBps: number; weight: bigint };

export type Outcome = {
  verdict: number;
  accused: boolean;
  medianScoreBps: number;
  revealedStake: bigint;
  reveals: number;
};

/** The member's standing verdict: its second-phase vote if it cast one, else its reveal. */
const standing = (b: Ballot) => (b.replay && b.replay !== Verdict.None ? b.replay : b.verdict);
/** On the accusation's side: voted Invalid or Unavailable in the second phase, or revealed Invalid and did not vote again. */
const accuses = (b: Ballot) =>
  b.weight > 0n &&
  (b.replay === Verdict.Invalid ||
    b.replay === Verdict.Unavailable ||
    ((b.replay ?? Verdict.None) === Verdict.None && b.verdict === Verdict.Invalid));
/** Its score counts for the median: it revealed Valid and did not vote otherwise later. */
const scores = (b: Ballot) =>
  b.weight > 0n &&
  b.verdict === Verdict.Valid &&
  ((b.replay ?? Verdict.None) === Verdict.None || b.replay === Verdict.Valid);

/** The lower stake-weighted median: the smallest score whose cumulative weight reaches half. */
export function weightedMedian(ballots: Ballot[]): number {
  const valid = ballots.filter(scores).sort((a, b) => a.scoreBps - b.scoreBps);
  const total = valid.reduce((s, b) => s + b.weight, 0n);
  let acc = 0n;
  for (const b of valid) {
    acc += b.weight;
    if (2n * acc >= total) return b.scoreBps;
  }
  return 0;
}

/**
 * The verdict rule of docs/protocol.md: an accusation (an Invalid reveal) is decided by the
 * members that stand on it or voted against it in the second phase (fraud with a quorum of their
 * stake among at least minReveals of them; rejected with a quorum for the defence); otherwise
 * Valid, then Unavailable, with a quorum of the revealed stake among at least minReveals reveals.
 * `None`: the committee cannot decide (it is extended).
 */
export function tally(ballots: Ballot[], quorumBps: number, minReveals: number): Outcome {
  const revealed = ballots.filter((b) => b.weight > 0n);
  const revealedStake = revealed.reduce((s, b) => s + b.weight, 0n);
  const accused = revealed.some((b) => b.verdict === Verdict.Invalid);
  const o: Outcome = {
    verdict: Verdict.None,
    accused,
    medianScoreBps: 0,
    revealedStake,
    reveals: revealed.length,
  };
  if (revealed.length < minReveals) return o;
  const q = BigInt(quorumBps);
  if (accused) {
    const against = revealed.filter(accuses);
    const defence = revealed.filter((b) => !accuses(b) && b.replay === Verdict.Valid);
    if (against.length + defence.length < minReveals) return o;
    const a = against.reduce((s, b) => s + b.weight, 0n);
    const dd = defence.reduce((s, b) => s + b.weight, 0n);
    if (a > 0n && a * BPS >= q * (a + dd)) return { ...o, verdict: Verdict.Invalid };
    if (dd * BPS < q * (a + dd)) return o;
  }
  const stakeOf = (v: number) => revealed.filter((b) => standing(b) === v).reduce((s, b) => s + b.weight, 0n);
  if (stakeOf(Verdict.Valid) * BPS >= q * revealedStake)
    return { ...o, verdict: Verdict.Valid, medianScoreBps: weightedMedian(ballots) };
  if (stakeOf(Verdict.Unavailable) * BPS >= q * revealedStake) return { ...o, verdict: Verdict.Unavailable };
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

/**
 * Whether a member earns accuracy points: on fraud, it stands on the accusation; on withholding,
 * its standing verdict is Unavailable; on a valid run, it revealed Valid, stood by it and measured
 * within the tolerance.
 */
export function agrees(b: Ballot, o: Outcome, toleranceBps: number): boolean {
  if (b.weight === 0n) return false;
  if (o.verdict === Verdict.Invalid) return accuses(b);
  if (o.verdict === Verdict.Unavailable) return standing(b) === Verdict.Unavailable;
  if (o.verdict !== Verdict.Valid || !scores(b)) return false;
  return Math.abs(b.scoreBps - o.medianScoreBps) <= toleranceBps;
}

/** Whether a member is slashed verdictSlash: its standing verdict is Valid on a proven fraud. */
export function vouchedForFraud(b: Ballot, o: Outcome): boolean {
  return b.weight > 0n && o.verdict === Verdict.Invalid && standing(b) === Verdict.Valid;
}

/** Status of a challenge after finalization, from the tally. */
export function statusOf(o: Pick<Outcome, "verdict">): number {
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
