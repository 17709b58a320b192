/**
 * The challenge manager's enums, by name. Names are the Solidity names, so a status reads the same
 * in a contract, an event, a log line and a UI.
 */
import { PoAIInputError } from "../errors.js";

/** On-chain values of `IChallengeManager.Verdict`. */
export const VERDICT = { None: 0, Valid: 1, Invalid: 2, Unavailable: 3 } as const;
/** On-chain values of `IChallengeManager.Status`. `Submitted` is open; every later status is final. */
export const CHALLENGE_STATUS = {
  None: 0,
  Submitted: 1,
  Valid: 2,
  Fraud: 3,
  Withheld: 4,
  NoQuorum: 5,
  Missed: 6,
} as const;

/** A verdict name: `None` only appears for members that have not revealed. */
export type VerdictName = keyof typeof VERDICT;
/** A verdict a committee member can reveal. */
export type VerdictInput = Exclude<VerdictName, "None"> | 1 | 2 | 3;
/** A challenge status name. */
export type ChallengeStatusName = keyof typeof CHALLENGE_STATUS;

const VERDICT_NAMES = Object.keys(VERDICT) as VerdictName[];
const STATUS_NAMES = Object.keys(CHALLENGE_STATUS) as ChallengeStatusName[];

/** The name of an on-chain `Verdict` value: `1` -> `"Valid"`. */
export function decodeVerdict(value: number | bigint): VerdictName {
  const name = VERDICT_NAMES[Number(value)];
  if (name === undefined) {
    throw new PoAIInputError("verdict", value, `a Verdict value in 0..${VERDICT_NAMES.length - 1}`);
  }
  return name;
}

/** The name of an on-chain `Status` value: `2` -> `"Valid"`. */
export function decodeStatus(value: number | bigint): ChallengeStatusName {
  const name = STATUS_NAMES[Number(value)];
  if (name === undefined) {
    throw new PoAIInputError("status", value, `a Status value in 0..${STATUS_NAMES.length - 1}`);
  }
  return name;
}

/** True for the statuses a challenge never leaves (every status after `Submitted`). */
export function isFinalStatus(status: ChallengeStatusName): boolean {
  return status !== "None" && status !== "Submitted";
}

/** The on-chain value of a revealable verdict, given by name or value; refuses `None`. */
export function encodeVerdict(verdict: unknown, field = "verdict"): 1 | 2 | 3 {
  if (verdict === "Valid" || verdict === 1) return 1;
  if (verdict === "Invalid" || verdict === 2) return 2;
  if (verdict === "Unavailable" || verdict === 3) return 3;
  throw new PoAIInputError(field, verdict, '"Valid", "Invalid" or "Unavailable" (or 1 / 2 / 3)');
}
