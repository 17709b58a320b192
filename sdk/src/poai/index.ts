/**
 * Pure Proof-of-AI helpers: ids, seeds and commitments as the contracts compute them, committee
 * sortition, segment sampling, the judgment arithmetic and the round timeline. No I/O, no Node
 * built-ins: they run in browsers and daemons alike.
 */
export {
  MAX_AUDIT_SAMPLES,
  MAX_SEGMENTS,
  committeeReplayShare,
  committeeSamples,
  memberSamples,
  ownSamples,
  sampleSegments,
} from "./audit.js";
export {
  CHALLENGE_STATUS,
  VERDICT,
  decodeStatus,
  decodeVerdict,
  encodeVerdict,
  isFinalStatus,
  type ChallengeStatusName,
  type VerdictInput,
  type VerdictName,
} from "./enums.js";
export {
  auditSeed,
  beaconCommitment,
  challengeId,
  challengeSeed,
  newSalt,
  verdictCommitment,
  type VerdictCommitmentInput,
} from "./hashes.js";
export {
  WAD,
  WEIGHT_ONE,
  challengeScore,
  tallyVotes,
  trainerPoints,
  voteAgrees,
  voteVouchedForFraud,
  voteWeight,
  type ChallengeScoreInput,
  type TallyOutcome,
  type Vote,
} from "./judgment.js";
export {
  TOP_UP_BANDS,
  bandCommitStart,
  committeeBand,
  isInPool,
  isSelected,
  poolSeed,
  poolSize,
  selectionProbabilityBps,
  sortitionBand,
  sortitionDraw,
  sortitionThreshold,
} from "./sortition.js";
export {
  beaconPhaseAt,
  beaconWindows,
  roundAt,
  roundStart,
  roundWindows,
  type BeaconPhaseName,
  type BeaconWindows,
  type RoundWindowParams,
  type RoundWindows,
} from "./timing.js";
