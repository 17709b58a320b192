/**
 * The judgment engine's arithmetic (`contracts/libraries/Judgment.sol`), for UIs and daemons that
 * want to show or predict an outcome before `finalize` runs. Integer arithmetic throughout, so the
 * results equal the contract's.
 */
import { PoAIInputError } from "../errors.js";
import { checkUint } from "../validate.js";
import { VERDICT, decodeVerdict, type VerdictName } from "./enums.js";
import { checkSmallUint } from "./validate.js";

/** 1e18: a challenge score of 1. */
export const WAD = 10n ** 18n;

/** The inputs of `Judgment.score`. */
export interface ChallengeScoreInput {
  /** Stake-weighted median of the committee's measured scores (basis points). */
  medianScoreBps: number;
  /** The score the trainer reported with its result (basis points). */
  reportedScoreBps: number;
  /** Seconds from the round's start to the submission (`ChallengeView.latency`). */
  latency: bigint | number;
  /**
   * Seconds the trainer had: `min(spec.responseDeadline, floor(epochLength / 2) - 1)`
   * (`RoundWindows.deadlineSpan`).
   */
  deadlineSpan: bigint | number;
  /** The spec's band of honest accuracies (basis points). */
  minScoreBps: number;
  maxScoreBps: number;
  /** `ChallengeParams.maxDeviationBps`. */
  maxDeviationBps: number;
}

/**
 * The score (1e18 = 1) a valid challenge earns, as `Judgment.score`: zero when the median is
 * outside the spec's band or the reported score deviates from it by `maxDeviationBps` or more;
 * otherwise `deviationFactor · latencyFactor`, where
 * `deviationFactor = (maxDeviation - |reported - median|) / maxDeviation` and
 * `latencyFactor = 1 - latency / (2 · deadlineSpan)` (so a result at the deadline still earns half).
 */
export function challengeScore(input: ChallengeScoreInput): bigint {
  const median = BigInt(checkSmallUint("medianScoreBps", input.medianScoreBps, 0, 0xffff));
  const reported = BigInt(checkSmallUint("reportedScoreBps", input.reportedScoreBps, 0, 0xffff));
  let latency = checkUint("latency", input.latency);
  const span = checkUint("deadlineSpan", input.deadlineSpan);
  const minScore = BigInt(checkSmallUint("minScoreBps", input.minScoreBps, 0, 0xffff));
  const maxScore = BigInt(checkSmallUint("maxScoreBps", input.maxScoreBps, 0, 0xffff));
  const maxDeviation = BigInt(checkSmallUint("maxDeviationBps", input.maxDeviationBps, 1, 0xffff));
  if (median < minScore || median > maxScore) return 0n;
  const deviation = reported > median ? reported - median : median - reported;
  if (deviation >= maxDeviation) return 0n;
  const deviationFactor = ((maxDeviation - deviation) * WAD) / maxDeviation;
  if (latency > span) latency = span;
  const latencyFactor = span === 0n ? WAD : WAD - (latency * WAD) / (2n * span);
  return (deviationFactor * latencyFactor) / WAD;
}

/** The points a trainer earns for a challenge: `stake · score / 1e18` (stake at the challenge's round). */
export function trainerPoints(stake: bigint, score: bigint): bigint {
  return (checkUint("stake", stake) * checkUint("score", score)) / WAD;
}

/** The unit of vote weights: a member holding all the validators' stake weighs `2^32 - 1`. */
export const WEIGHT_ONE = 2n ** 32n - 1n;

/**
 * The weight of a committee member's vote, and the points an agreeing reveal earns:
 * `max(1, floor(stake · (2^32 - 1) / totalStake))` with both stakes at the audit round. Every
 * member of one round shares the denominator, so weights compare like stakes.
 */
export function voteWeight(stake: bigint, totalStake: bigint): bigint {
  const total = checkUint("totalStake", totalStake, 1n);
  const w = (checkUint("stake", stake) * WEIGHT_ONE) / total;
  return w > 0n ? w : 1n;
}

/** One revealed verdict with its `voteWeight` (`weight == 0`: not revealed). */
export interface Vote {
  verdict: VerdictName | 0 | 1 | 2 | 3;
  measuredScoreBps: number;
  weight: bigint;
}

/** What `Judgment.tally` concludes. */
export interface TallyOutcome {
  /** The verdict with a quorum, or `None` when there is none. */
  verdict: VerdictName;
  /** Lower stake-weighted median of the `Valid` votes' scores (0 unless the verdict is `Valid`). */
  medianScoreBps: number;
  revealedStake: bigint;
  reveals: number;
}

function verdictValue(v: Vote["verdict"], field: string): number {
  if (typeof v === "number") return VERDICT[decodeVerdict(v)];
  if (typeof v === "string" && v in VERDICT) return VERDICT[v];
  throw new PoAIInputError(field, v, '"None", "Valid", "Invalid" or "Unavailable" (or 0..3)');
}

/**
 * `Judgment.tally`: the first verdict (in the order Valid, Invalid, Unavailable) that holds at
 * least `quorumBps` of the revealed stake, among at least `minReveals` reveals; for `Valid`, the
 * lower stake-weighted median of the valid votes' measured scores.
 */
export function tallyVotes(votes: readonly Vote[], quorumBps: number, minReveals: number): TallyOutcome {
  const quorum = BigInt(checkSmallUint("quorumBps", quorumBps, 0, 10_000));
  const stake = [0n, 0n, 0n, 0n];
  const valid: { score: number; weight: bigint }[] = [];
  let revealedStake = 0n;
  let reveals = 0;
  votes.forEach((v, i) => {
    const weight = checkUint(`votes[${i}].weight`, v.weight);
    if (weight === 0n) return;
    const verdict = verdictValue(v.verdict, `votes[${i}].verdict`);
    const score = checkSmallUint(`votes[${i}].measuredScoreBps`, v.measuredScoreBps, 0, 0xffff);
    stake[verdict]! += weight;
    revealedStake += weight;
    reveals++;
    if (verdict === VERDICT.Valid) valid.push({ score, weight });
  });
  const outcome: TallyOutcome = { verdict: "None", medianScoreBps: 0, revealedStake, reveals };
  if (reveals < minReveals || revealedStake === 0n) return outcome;
  for (const v of [VERDICT.Valid, VERDICT.Invalid, VERDICT.Unavailable]) {
    if (stake[v]! * 10_000n >= quorum * revealedStake) {
      outcome.verdict = decodeVerdict(v);
      break;
    }
  }
  if (outcome.verdict === "Valid") {
    // Stable sort by score, as the contract's insertion sort: equal scores keep their order.
    valid.sort((a, b) => a.score - b.score);
    let acc = 0n;
    for (const v of valid) {
      acc += v.weight;
      if (acc * 2n >= stake[VERDICT.Valid]!) {
        outcome.medianScoreBps = v.score;
        break;
      }
    }
  }
  return outcome;
}

/**
 * `Judgment.agrees`: whether a reveal earns its validator accuracy points: the same verdict as the
 * outcome and, for `Valid`, a measured score within `toleranceBps` of the median.
 */
export function voteAgrees(vote: Vote, outcome: TallyOutcome, toleranceBps: number): boolean {
  if (vote.weight === 0n || outcome.verdict === "None") return false;
  if (verdictValue(vote.verdict, "vote.verdict") !== VERDICT[outcome.verdict]) return false;
  if (outcome.verdict !== "Valid") return true;
  return Math.abs(vote.measuredScoreBps - outcome.medianScoreBps) <= toleranceBps;
}
