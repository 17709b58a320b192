/**
 * `@poai/node/disputes`: the daemons' dispute games (docs/disputes.md, "Daemons"). The
 * {@link DisputePlayer} plays one game for one role, every move on disk before it is sent;
 * `ChallengerDisputes` opens and plays a validator's bound games, `DefenderDisputes` finds and
 * defends the games against a trainer's runs, `ConvictionDefence` opens and settles the defence
 * of a run convicted as Fraud; `InferenceDisputes` defends an inference node's deliveries and
 * disputes other nodes' wrong outputs; `DisputeStore` holds them in the daemon's database;
 * `disputeDataset` and `disputeReplay` give any party (the command line too) the replay of a run,
 * with the dataset examples an engine version 2 run reads.
 */
export {
  DEFAULT_DEADLINE_WARN_SECONDS,
  DisputePlayer,
  INFERENCE_GAME,
  TRAINING_GAME,
  inferenceStateKey,
  stateKey,
  type GameKind,
  type PlayedView,
  type DisputePlayerOptions,
  type GameStatus,
  type PlayOutcome,
  type PlayerHooks,
  type TrainingSource,
} from "./player.js";
export { ChallengerDisputes, type ChallengerOptions, type DisputeCandidate } from "./challenger.js";
export { DefenderDisputes, type DefenderOptions } from "./defender.js";
export { openBoundGame } from "./open.js";
export {
  ScoreDisputes,
  hostedInferenceKind,
  scoreGameKind,
  scoreStateKey,
  type ScoreDisputesOptions,
  type ScoreEvidenceOf,
} from "./score.js";
export { decodeStepEvidence, encodeStepEvidence } from "./evidence.js";
export {
  disputeDataset,
  disputeReplay,
  heldOutDataset,
  trainerDatasetUrl,
  type DisputeDatasetOptions,
  type HeldOutDatasetOptions,
} from "./data.js";
export { ConvictionDefence, type DefenceOptions, type DefensibleRun } from "./defence.js";
export {
  INFERENCE_GAME_TABLES,
  InferenceDisputes,
  WHOLE_MODEL_MAX_GAS,
  type DisputeMode,
  type HeldModel,
  type InferenceDisputeHooks,
  type InferenceDisputesOptions,
  type RecordedDelivery,
  type WatchRecord,
  type WatchStatus,
} from "./inference.js";
export {
  DEFENCE_TABLES,
  DISPUTE_TABLES,
  INFERENCE_DISPUTE_TABLES,
  SCORE_DISPUTE_TABLES,
  disputeTables,
  type DisputePrefix,
  type DefenceRecord,
  type DefenceStatus,
  DisputeStore,
  type DisputeRole,
  type GameRecord,
  type GameState,
  type MoveRecord,
  type MoveStatus,
  type OpenRecord,
} from "./store.js";
