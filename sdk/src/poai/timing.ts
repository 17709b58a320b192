/**
 * The timeline of a round, as the contracts compute it. All times are unix seconds (bigint).
 *
 * ```
 * round r                                   round r + 1 (+ extension)
 * |-- beacon(r+1) commits --|-- reveals --|-- verdict commits --|-- reveals --|-- replay --|-- grace --|
 * start                     cap           commitStart           revealStart   revealEnd   replayEnd   closesAt
 *   results due by deadline = min(start + spec.responseDeadline, cap)
 * ```
 *
 * - a result is accepted while `now <= deadline`;
 * - `reportMissed` works while `deadline < now <= closesAt`;
 * - verdict commits while `commitStart <= now < commitEnd`, reveals while
 *   `revealStart <= now < revealEnd` (`revealStart == commitEnd`); the last reveal judges the
 *   challenge at once when nobody revealed `Invalid`;
 * - after an `Invalid` reveal, second-phase votes while `revealEnd <= now < replayEnd` (the
 *   replay window is the start of the grace window);
 * - `finalize` works from `revealEnd` (from `replayEnd` after an `Invalid` reveal), and earns
 *   epoch points only while `now <= closesAt`;
 * - a committee that cannot decide is extended: its audit windows move one round later
 *   (`extension` rounds in all), and so does the epoch its points go to.
 */
import { PoAIInputError } from "../errors.js";
import { checkUint } from "../validate.js";

type Seconds = bigint | number;

/** The challenge manager's windows (`ChallengeParams`), plus a spec's response deadline if known. */
export interface RoundWindowParams {
  commitWindow: Seconds;
  revealWindow: Seconds;
  finalizeGrace: Seconds;
  /** Second-phase votes after the reveal window; default 0 (no second-phase window shown). */
  replayWindow?: Seconds;
  /** The spec's `responseDeadline`; without it `deadline` is the cap. */
  responseDeadline?: Seconds;
  /** Rounds the challenge's committee was extended by (`ChallengeInfo.extension`); default 0. */
  extension?: Seconds;
}

/** Every boundary of round `round`'s challenges. */
export interface RoundWindows {
  round: bigint;
  /** The round starts (and its beacon value is ready). */
  start: bigint;
  /** The next round starts. */
  end: bigint;
  /**
   * No result is accepted after this, whatever the spec says: the end of the commit phase of the
   * beacon value that fixes the audit seeds (`beacon.commitDeadline(round + 1)`).
   */
  submissionDeadlineCap: bigint;
  /** Results are due at the latest at this time (inclusive). */
  deadline: bigint;
  /** `deadline - start`: the span the latency factor is measured against. */
  deadlineSpan: bigint;
  /** The round whose start opens the committee's windows: `round + 1 + extension`. */
  auditRound: bigint;
  /** Committee members commit verdicts in `[commitStart, commitEnd)`. */
  commitStart: bigint;
  commitEnd: bigint;
  /** … and reveal them in `[revealStart, revealEnd)`; `finalize` works from `revealEnd`. */
  revealStart: bigint;
  revealEnd: bigint;
  /** After an `Invalid` reveal, second-phase votes in `[revealEnd, replayEnd)`; `finalize` from `replayEnd`. */
  replayEnd: bigint;
  /**
   * After this the challenge earns no points any more (`epochClosesAt(auditRound - 1)`: the
   * round's own epoch, or a later one for an extended committee).
   */
  closesAt: bigint;
}

/** The commit and reveal phases of the beacon value of `round` (built during round `round - 1`). */
export interface BeaconWindows {
  round: bigint;
  /** Commits in `[commitStart, commitEnd)`; none for round 0, whose value can only be sealed. */
  commitStart: bigint;
  commitEnd: bigint;
  /** Reveals in `[revealStart, readyAt)`. */
  revealStart: bigint;
  /** The value is ready from the start of `round`. */
  readyAt: bigint;
}

function checkEpochLength(epochLength: Seconds): bigint {
  const length = checkUint("epochLength", epochLength);
  if (length === 0n) throw new PoAIInputError("epochLength", epochLength, "a positive number of seconds");
  return length;
}

/** The start of `round`: `genesis + round · epochLength`. */
export function roundStart(genesis: Seconds, epochLength: Seconds, round: Seconds): bigint {
  return checkUint("genesis", genesis) + checkUint("round", round) * checkEpochLength(epochLength);
}

/** The round that contains `timestamp` (`Staking.currentEpoch` at that time). */
export function roundAt(genesis: Seconds, epochLength: Seconds, timestamp: Seconds): bigint {
  const g = checkUint("genesis", genesis);
  const t = checkUint("timestamp", timestamp);
  return t < g ? 0n : (t - g) / checkEpochLength(epochLength);
}

/**
 * The windows of round `round`'s challenges from the deployment's `genesis` and `epochLength`
 * (`Staking.epochStart(0)`, `epochStart(1) - epochStart(0)`) and the challenge parameters.
 */
export function roundWindows(
  genesis: Seconds,
  epochLength: Seconds,
  round: Seconds,
  params: RoundWindowParams,
): RoundWindows {
  const length = checkEpochLength(epochLength);
  const r = checkUint("round", round);
  const start = roundStart(genesis, length, r);
  const end = start + length;
  const cap = start + length / 2n - 1n; // the last second before the next beacon value's reveals open
  let deadline = cap;
  if (params.responseDeadline !== undefined) {
    const due = start + checkUint("params.responseDeadline", params.responseDeadline);
    if (due < cap) deadline = due;
  }
  const extension = checkUint("params.extension", params.extension ?? 0);
  const commitStart = end + extension * length;
  const commitEnd = commitStart + checkUint("params.commitWindow", params.commitWindow);
  const revealEnd = commitEnd + checkUint("params.revealWindow", params.revealWindow);
  return {
    round: r,
    start,
    end,
    submissionDeadlineCap: cap,
    deadline,
    deadlineSpan: deadline - start,
    auditRound: r + 1n + extension,
    commitStart,
    commitEnd,
    revealStart: commitEnd,
    revealEnd,
    replayEnd: revealEnd + checkUint("params.replayWindow", params.replayWindow ?? 0),
    closesAt: revealEnd + checkUint("params.finalizeGrace", params.finalizeGrace),
  };
}

/** The phases of the beacon value of `round`: commits in the first half of round `round - 1`, reveals in the second. */
export function beaconWindows(genesis: Seconds, epochLength: Seconds, round: Seconds): BeaconWindows {
  const length = checkEpochLength(epochLength);
  const r = checkUint("round", round);
  const readyAt = roundStart(genesis, length, r);
  if (r === 0n) return { round: r, commitStart: 0n, commitEnd: 0n, revealStart: 0n, readyAt };
  const commitStart = readyAt - length;
  const commitEnd = commitStart + length / 2n;
  return { round: r, commitStart, commitEnd, revealStart: commitEnd, readyAt };
}

/** Where a beacon value stands at a time: contributions open, reveals open, or ready. */
export type BeaconPhaseName = "pending" | "commit" | "reveal" | "ready";

/** The phase of the beacon value of `round` at `timestamp`. */
export function beaconPhaseAt(windows: BeaconWindows, timestamp: Seconds): BeaconPhaseName {
  const t = checkUint("timestamp", timestamp);
  if (t >= windows.readyAt) return "ready";
  if (windows.round === 0n || t < windows.commitStart) return "pending";
  return t < windows.commitEnd ? "commit" : "reveal";
}
