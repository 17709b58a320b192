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

/**
 * One committee member: its reveal, its second-phase vote (`replay`, default `None`) and its
 * `voteWeight` (`weight == 0`: it did not reveal).
 */
export interface Vote {
  verdict: VerdictName | 0 | 1 | 2 | 3;
  /** Its second-phase vote on the segments the accusers named; `None` (default) when it cast none. */
  replay?: VerdictName | 0 | 1 | 2 | 3;
  measuredScoreBps: number;
  weight: bigint;
}

/** What `Judgment.tally` concludes. */
export interface TallyOutcome {
  /** The committee's verdict, or `None` when it cannot decide (yet): the contract extends it. */
  verdict: VerdictName;
  /** Whether a member revealed `Invalid` (the second phase runs before the judgment). */
  accused: boolean;
  /** Lower stake-weighted median of the scoring votes' scores (0 unless the verdict is `Valid`). */
  medianScoreBps: number;
  revealedStake: bigint;
  reveals: number;
}

function verdictValue(v: Vote["verdict"], field: string): number {
  if (typeof v === "number") return VERDICT[decodeVerdict(v)];
  if (typeof v === "string" && v in VERDICT) return VERDICT[v];
  throw new PoAIInputError(field, v, '"None", "Valid", "Invalid" or "Unavailable" (or 0..3)');
}

interface Member {
  verdict: number;
  replay: number;
  score: number;
  weight: bigint;
}

function member(v: Vote, i: number): Member {
  return {
    verdict: verdictValue(v.verdict, `votes[${i}].verdict`),
    replay: verdictValue(v.replay ?? 0, `votes[${i}].replay`),
    score: checkSmallUint(`votes[${i}].measuredScoreBps`, v.measuredScoreBps, 0, 0xffff),
    weight: checkUint(`votes[${i}].weight`, v.weight),
  };
}

/** The member's standing verdict: its second-phase vote if any, else its reveal. */
const standing = (m: Member) => (m.replay !== VERDICT.None ? m.replay : m.verdict);
/** Whether the member stands on the accusation's side. */
const accuses = (m: Member) =>
  m.weight !== 0n &&
  (m.replay === VERDICT.Invalid ||
    m.replay === VERDICT.Unavailable ||
    (m.replay === VERDICT.None && m.verdict === VERDICT.Invalid));
/** Whether the member's measured score counts for the median. */
const scores = (m: Member) =>
  m.weight !== 0n && m.verdict === VERDICT.Valid && (m.replay === VERDICT.None || m.replay === VERDICT.Valid);

/**
 * `Judgment.tally`, the verdict rule of `docs/protocol.md`:
 * - when a member revealed `Invalid` (the run is accused), the accusation's side is every member
 *   that voted `Invalid` or `Unavailable` in the second phase or revealed `Invalid` without voting
 *   again, the defence every member that voted `Valid` in the second phase; with at least
 *   `minReveals` of them, fraud (`Invalid`) holds with `quorumBps` of their stake, the accusation
 *   fails with `quorumBps` for the defence, and otherwise nothing is decided;
 * - otherwise (or once the accusation failed) `Valid`, then `Unavailable`, wins with `quorumBps`
 *   of the revealed stake, each member counted by its standing verdict, among at least
 *   `minReveals` reveals; for `Valid`, the median is the lower stake-weighted median of the scores
 *   of the members that revealed `Valid` and stood by it.
 */
export function tallyVotes(votes: readonly Vote[], quorumBps: number, minReveals: number): TallyOutcome {
  const quorum = BigInt(checkSmallUint("quorumBps", quorumBps, 0, 10_000));
  const members = votes.map(member);
  let revealedStake = 0n;
  let reveals = 0;
  let accused = false;
  let validStake = 0n;
  let unavailableStake = 0n;
  let against = 0n;
  let defence = 0n;
  let voters = 0;
  for (const m of members) {
    if (m.weight === 0n) continue;
    revealedStake += m.weight;
    reveals++;
    if (m.verdict === VERDICT.Invalid) accused = true;
    const s = standing(m);
    if (s === VERDICT.Valid) validStake += m.weight;
    else if (s === VERDICT.Unavailable) unavailableStake += m.weight;
    if (accuses(m)) {
      against += m.weight;
      voters++;
    } else if (m.replay === VERDICT.Valid) {
      defence += m.weight;
      voters++;
    }
  }
  const outcome: TallyOutcome = { verdict: "None", accused, medianScoreBps: 0, revealedStake, reveals };
  if (reveals < minReveals) return outcome;
  if (accused) {
    if (voters < minReveals) return outcome;
    const voting = against + defence;
    if (against !== 0n && against * 10_000n >= quorum * voting) {
      outcome.verdict = "Invalid";
      return outcome;
    }
    if (defence * 10_000n < quorum * voting) return outcome;
  }
  if (validStake * 10_000n >= quorum * revealedStake) {
    outcome.verdict = "Valid";
    // Stable sort by score, as the contract's insertion sort: equal scores keep their order.
    const list = members.filter(scores).sort((a, b) => a.score - b.score);
    const total = list.reduce((sum, m) => sum + m.weight, 0n);
    let acc = 0n;
    for (const m of list) {
      acc += m.weight;
      if (acc * 2n >= total) {
        outcome.medianScoreBps = m.score;
        break;
      }
    }
  } else if (unavailableStake * 10_000n >= quorum * revealedStake) {
    outcome.verdict = "Unavailable";
  }
  return outcome;
}

/**
 * `Judgment.agrees`: whether a member earns its accuracy points: on fraud, it stands on the
 * accusation's side; on withholding, its standing verdict is `Unavailable`; on a valid run, it
 * revealed `Valid`, stood by it, and measured a score within `toleranceBps` of the median.
 */
export function voteAgrees(vote: Vote, outcome: TallyOutcome, toleranceBps: number): boolean {
  const m = member(vote, 0);
  if (m.weight === 0n) return false;
  if (outcome.verdict === "Invalid") return accuses(m);
  if (outcome.verdict === "Unavailable") return standing(m) === VERDICT.Unavailable;
  if (outcome.verdict !== "Valid" || !scores(m)) return false;
  return Math.abs(m.score - outcome.medianScoreBps) <= toleranceBps;
}

/**
 * `Judgment.vouchedForFraud`: whether the member is slashed `verdictSlash` by the judgment: its
 * standing verdict is `Valid` on a run proven fraudulent.
 */
export function voteVouchedForFraud(vote: Vote, outcome: TallyOutcome): boolean {
  const m = member(vote, 0);
  return m.weight !== 0n && outcome.verdict === "Invalid" && standing(m) === VERDICT.Valid;
}
