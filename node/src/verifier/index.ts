/**
 * `@poai/node/verifier`: the off-chain verifier of Proof-of-AI challenges. `auditChallenge` audits
 * one challenge (fetch and prove checkpoints, replay sampled segments, evaluate); the
 * `ValidatorDaemon` runs a validator: beacon contributions, audits, verdict commits and reveals,
 * finalizations and missed-deadline reports. See docs/verifier.md.
 */
export {
  DEFAULT_FETCH_ATTEMPTS,
  DEFAULT_FETCH_TIMEOUT_MS,
  auditChallenge,
  type AuditArgs,
  type AuditResult,
  type AuditVerdict,
  type Decision,
  type FetchFailure,
} from "./audit.js";
export {
  ValidatorDaemon,
  resolveValidatorOptions,
  type ChallengeToAudit,
  type ResolvedValidatorOptions,
  type ValidatorDaemonOptions,
  type ValidatorInit,
  type ValidatorStatus,
} from "./validator.js";
export {
  CHALLENGE_STATES,
  ValidatorStore,
  type BeaconRecord,
  type ChallengeRecord,
  type ChallengeState,
} from "./validator-store.js";
