/**
 * @poai/sdk: typed viem actions for the PoAI network. This entry point is browser-safe; the
 * integer training engine lives at `@poai/sdk/compute`.
 */
export * from "./abi/index.js";
export * from "./actions/beacon.js";
export * from "./actions/challenges.js";
export * from "./actions/committee.js";
export * from "./actions/batch-reads.js";
export * from "./actions/coordinator.js";
export * from "./actions/disputes.js";
export * from "./actions/inbox.js";
export * from "./actions/inference-disputes.js";
export * from "./actions/jobs.js";
export * from "./actions/models.js";
export * from "./actions/output-verifier.js";
export * from "./actions/wallet.js";
export * from "./actions/registry.js";
export * from "./actions/rewards.js";
export * from "./actions/score-games.js";
export * from "./actions/staking.js";
export * from "./actions/slashes.js";
export * from "./actions/token.js";
export * from "./poai/index.js";
export { specId, type TrainingSpec } from "./compute/spec.js";
export { createPoAIClient } from "./client.js";
export {
  ChainClockError,
  advanceChainTime,
  chainClientName,
  httpRequester,
  identifyChainClient,
  latestChainTime,
  type ChainClientInfo,
  type ChainClientName,
  type RpcRequester,
} from "./chain-client.js";
export type {
  CreatePoAIClientParameters,
  PoAIBeaconActions,
  PoAIChallengeActions,
  PoAIClient,
  PoAIInferenceActions,
  PoAIRegistryActions,
  PoAIRewardActions,
  PoAIStakingActions,
  PoAITokenActions,
} from "./client.js";
export type { PoAIContext, WriteOptions } from "./context.js";
export { parseDeployment, poaiDeploymentSchema } from "./deployment.js";
export {
  DeploymentChecker,
  checkerOf,
  ensureTargets,
  guardClient,
  isContractCode,
  verifyDeployment,
  type ContractKey,
  type DeploymentReport,
} from "./deployment-check.js";
export type { PoAIContracts, PoAIDeployment } from "./deployment.js";
export {
  PoAIContractError,
  PoAIDeploymentError,
  PoAIGasFundsError,
  PoAIInputError,
  decodeRevertData,
  describeRevert,
  isPoAIContractError,
  toPoAIError,
} from "./errors.js";
export type {
  PoAIErrorArgs,
  PoAIErrorContext,
  PoAIErrorName,
  PoAIRevertArgs,
  PoAIRevertName,
} from "./errors.js";
export { sendContractTransaction, waitForTransaction } from "./transaction.js";
export type { WaitOptions } from "./transaction.js";
export { POAI_DECIMALS, formatBps, formatFraction, formatPoai, parsePoai } from "./units.js";
export * from "./actions/federated.js";
