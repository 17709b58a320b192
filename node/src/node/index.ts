/**
 * `@poai/node`: the trainer daemon (Node only: SQLite, HTTP server) and the daemon runtime it
 * is built on. See docs/daemons.md.
 *
 * ```ts
 * import { TrainerDaemon } from "@poai/node";
 * const trainer = await TrainerDaemon.create({ client, databasePath: "./trainer.sqlite", port: 8600 });
 * trainer.startLoop({ pollMs: 5_000 });
 * process.on("SIGTERM", () => void trainer.stop());
 * ```
 */
export {
  TrainerDaemon,
  type ResultToSend,
  type RunSummary,
  type TrainerInit,
  type TrainerStatus,
  EndpointError,
} from "./trainer.js";
export { ENDPOINT_PROBE_MS, whoServes, type EndpointHolder } from "./endpoint.js";
export {
  resolveTrainerOptions,
  type ProgressMode,
  type ResolvedTrainerOptions,
  type TrainerDaemonOptions,
} from "./trainer-options.js";
export { trainerMetrics, type TrainerMetrics } from "./trainer-metrics.js";
export { claimJobs, getJobAssignment, rankJobs, type JobClaimResult } from "./trainer-jobs.js";
export { fetchJobModel, jobContainerId, loadJobModelContainer, type JobModel } from "./job-model.js";
export {
  TrainerStore,
  UNFINISHED_STATES,
  type NewRun,
  type RunRecord,
  type RunState,
  type RunUpdate,
  type StoredCheckpoint,
} from "./trainer-store.js";
export { InferenceNode, type InferenceInit, type InferenceStatus } from "./inference.js";
export {
  containerIdHash,
  ipAllowed,
  resolveInferenceOptions,
  type AcceptedPayments,
  type InferenceNodeOptions,
  type ResolvedContainer,
  type ResolvedPipeline,
  type ResolvedInferenceOptions,
  type ServedContainer,
} from "./inference-options.js";
export { inferenceMetrics, type InferenceMetrics } from "./inference-metrics.js";
export {
  InferenceStore,
  OPEN_DELIVERY_STATES,
  type DeliveryRecord,
  type DeliveryState,
  type DeliveryUpdate,
  type SubscriptionData,
  type SubscriptionRecord,
  type SubscriptionState,
} from "./inference-store.js";
export * from "./containers/index.js";
export {
  InferenceApi,
  parseRequest,
  type ApiBackend,
  type DelegatedRequest,
  type GuardianError,
  type InferenceApiOptions,
} from "./api/server.js";
export { RateLimiter, type RateDecision, type RateLimit } from "./api/rate-limit.js";
export {
  DelegatedStore,
  JobStore,
  type DelegatedRecord,
  type DelegatedState,
  type JobRecord,
  type JobStatus,
} from "./api/store.js";
export {
  translateInfernetConfig,
  type InfernetContainerConfig,
  type TranslatedInfernetConfig,
} from "./inference-infernet-config.js";
export * from "../daemon/index.js";
export type { ScoreEvidenceOf } from "../disputes/score.js";
export { loadDeployment, readDeploymentFile, type LoadDeploymentOptions } from "./deployment-file.js";
