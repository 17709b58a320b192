/**
 * `@poai/node/verifier`: the off-chain verifier of Proof-of-AI challenges. `auditChallenge` audits
 * one challenge (fetch and prove checkpoints, replay sampled segments, evaluate), `auditBySampling`
 * audits a spec too large to replay by checking sampled operations; the
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
export { DEFAULT_OPERATION_SAMPLES, auditBySampling, type SamplingAuditArgs } from "./sampling.js";
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
