import type { Hash, TransactionReceipt } from "viem";
import * as beaconActions from "./actions/beacon.js";
import * as challengeActions from "./actions/challenges.js";
import * as coordinatorActions from "./actions/coordinator.js";
import * as inboxActions from "./actions/inbox.js";
import * as modelActions from "./actions/models.js";
import * as outputVerifierActions from "./actions/output-verifier.js";
import * as walletActions from "./actions/wallet.js";
import * as registryActions from "./actions/registry.js";
import * as rewardActions from "./actions/rewards.js";
import * as stakingActions from "./actions/staking.js";
import * as slashActions from "./actions/slashes.js";
import * as tokenActions from "./actions/token.js";
import type { PoAIContext } from "./context.js";
import { parseDeployment, type PoAIDeployment } from "./deployment.js";
import {
  DeploymentChecker,
  attachChecker,
  guardClient,
  verifyDeployment,
  type ContractKey,
  type DeploymentReport,
} from "./deployment-check.js";
import { PoAIInputError, deploymentErrorIn } from "./errors.js";
import { waitForTransaction, type WaitOptions } from "./transaction.js";

/** `action(ctx, ...rest)` becomes `action(...rest)`. */
type Bound<F> = F extends (ctx: PoAIContext, ...rest: infer A) => infer R ? (...rest: A) => R : never;
type BoundActions<T> = { [K in keyof T]: Bound<T[K]> };

function bindActions<T extends Record<string, (ctx: PoAIContext, ...rest: never[]) => unknown>>(
  ctx: PoAIContext,
  actions: T,
): BoundActions<T> {
  const out: Partial<Record<keyof T, unknown>> = {};
  for (const key of Object.keys(actions) as (keyof T)[]) {
    const action = actions[key];
    out[key] = (...rest: never[]) => surfaceDeploymentErrors(action(ctx, ...rest));
  }
  return out as BoundActions<T>;
}

/**
 * An action's result with a failed address-book check surfacing as the `PoAIDeploymentError`
 * itself (viem wraps what its transport throws): promises and async iterators are unwrapped,
 * anything else is returned as it is.
 */
function surfaceDeploymentErrors<R>(result: R): R {
  const raise = (err: unknown): never => {
    throw deploymentErrorIn(err) ?? err;
  };
  if (result instanceof Promise) return result.catch(raise) as R;
  if (
    typeof result === "object" &&
    result !== null &&
    Symbol.asyncIterator in result &&
    typeof (result as unknown as AsyncIterator<unknown>).next === "function"
  ) {
    const inner = result as unknown as AsyncGenerator<unknown, unknown, unknown>;
    return (async function* () {
      try {
        return yield* inner;
      } catch (err) {
        raise(err);
      }
    })() as R;
  }
  return result;
}

const staking = {
  register: stakingActions.register,
  addStake: stakingActions.addStake,
  delegate: stakingActions.delegate,
  delegateWithPermit: stakingActions.delegateWithPermit,
  undelegate: stakingActions.undelegate,
  undelegateAmount: stakingActions.undelegateAmount,
  withdraw: stakingActions.withdraw,
  cancelUnbonding: stakingActions.cancelUnbonding,
  claim: stakingActions.claim,
  claimMany: stakingActions.claimMany,
  compound: stakingActions.compound,
  setCommission: stakingActions.setCommission,
  unjail: stakingActions.unjail,
  releaseHeldSlash: stakingActions.releaseHeldSlash,
  getHeldSlash: stakingActions.getHeldSlash,
  getSlashes: slashActions.getSlashes,
  getSlashSummary: slashActions.getSlashSummary,
  deregister: stakingActions.deregister,
  updateMetadata: stakingActions.updateMetadata,
  getPool: stakingActions.getPool,
  getPosition: stakingActions.getPosition,
  getPositions: stakingActions.getPositions,
  getUnbonding: stakingActions.getUnbonding,
  getOperator: stakingActions.getOperator,
  getOperators: stakingActions.getOperators,
  getOperatorCount: stakingActions.getOperatorCount,
  iterateOperators: stakingActions.iterateOperators,
  isActive: stakingActions.isActive,
  getParams: stakingActions.getParams,
  currentEpoch: stakingActions.currentEpoch,
  epochStart: stakingActions.epochStart,
  stakeAt: stakingActions.stakeAt,
  roleStakeAt: stakingActions.roleStakeAt,
  getSharesForAmount: stakingActions.getSharesForAmount,
  watchDelegations: stakingActions.watchDelegations,
  watchSlashes: stakingActions.watchSlashes,
  watchRewards: stakingActions.watchRewards,
};

const token = {
  getBalance: tokenActions.getTokenBalance,
  getAllowance: tokenActions.getTokenAllowance,
  transfer: tokenActions.transfer,
  approve: tokenActions.approve,
  signPermit: tokenActions.signPermit,
};

const challenges = {
  getDueChallenge: challengeActions.getDueChallenge,
  ensureBeacon: beaconActions.ensureBeacon,
  submitResult: challengeActions.submitResult,
  reportMissed: challengeActions.reportMissed,
  getChallenge: challengeActions.getChallenge,
  getMembers: challengeActions.getChallengeMembers,
  isCommitteeMember: challengeActions.isCommitteeMember,
  checkCommittee: challengeActions.checkCommittee,
  canJoinCommittee: challengeActions.canJoinCommittee,
  getAuditSeed: challengeActions.getAuditSeed,
  prepareVerdict: challengeActions.prepareVerdict,
  commitVerdict: challengeActions.commitVerdict,
  revealVerdict: challengeActions.revealVerdict,
  commitVerdicts: challengeActions.commitVerdicts,
  revealVerdicts: challengeActions.revealVerdicts,
  replayVote: challengeActions.replayVote,
  replayVotes: challengeActions.replayVotes,
  getCommittee: challengeActions.getCommittee,
  reportBeaconWithholding: challengeActions.reportBeaconWithholding,
  getSlashWindow: challengeActions.getSlashWindow,
  finalize: challengeActions.finalizeChallenge,
  getEpochPoints: challengeActions.getEpochPoints,
  getEpochTotals: challengeActions.getEpochTotals,
  epochClosesAt: challengeActions.epochClosesAt,
  getChallengeParams: challengeActions.getChallengeParams,
  getMisses: challengeActions.getMisses,
  getRoundWindows: challengeActions.getRoundWindows,
  watchFinalizations: challengeActions.watchFinalizations,
};

const beacon = {
  prepareBeaconCommit: beaconActions.prepareBeaconCommit,
  commitBeacon: beaconActions.commitBeacon,
  revealBeacon: beaconActions.revealBeacon,
  reportMissedReveal: beaconActions.reportMissedReveal,
  getBeaconValue: beaconActions.getBeaconValue,
  sealBeacon: beaconActions.sealBeacon,
  ensureBeacon: beaconActions.ensureBeacon,
  getBeaconPhase: beaconActions.getBeaconPhase,
  getBeaconContribution: beaconActions.getBeaconContribution,
  getBeaconCommitters: beaconActions.getBeaconCommitters,
  isBeaconContributor: beaconActions.isBeaconContributor,
};

const registry = {
  registerSpec: registryActions.registerSpec,
  setSpecParams: registryActions.setSpecParams,
  activateSpec: registryActions.activateSpec,
  retireSpec: registryActions.retireSpec,
  getSpec: registryActions.getSpec,
  getDatasetSources: registryActions.getDatasetSources,
  setDatasetSources: registryActions.setDatasetSources,
  getSpecParams: registryActions.getSpecParams,
  isSpecRegistered: registryActions.isSpecRegistered,
  getActiveSpecs: registryActions.getActiveSpecs,
  getSpecFor: registryActions.getSpecFor,
};

const rewards = {
  fundRewards: rewardActions.fundRewards,
  setEmission: rewardActions.setEmission,
  closeEpochs: rewardActions.closeEpochs,
  settle: rewardActions.settle,
  settleMany: rewardActions.settleMany,
  getEpochReport: rewardActions.getEpochReport,
  getPendingSettlement: rewardActions.getPendingSettlement,
  getPendingRewards: rewardActions.getPendingRewards,
  getRewardParams: rewardActions.getRewardParams,
  getRewardTotals: rewardActions.getRewardTotals,
};

const inference = {
  createSubscription: coordinatorActions.createSubscription,
  cancelSubscription: coordinatorActions.cancelSubscription,
  deliverCompute: coordinatorActions.deliverCompute,
  simulateDeliverCompute: coordinatorActions.simulateDeliverCompute,
  signSubscription: coordinatorActions.signSubscription,
  delegatedSubscriptionTypedData: coordinatorActions.delegatedSubscriptionTypedData,
  createSubscriptionDelegatee: coordinatorActions.createSubscriptionDelegatee,
  deliverComputeDelegatee: coordinatorActions.deliverComputeDelegatee,
  commitCompute: coordinatorActions.commitCompute,
  revealCompute: coordinatorActions.revealCompute,
  simulateCommitOrReveal: coordinatorActions.simulateCommitOrReveal,
  getIntervalState: coordinatorActions.getIntervalState,
  getCommitment: coordinatorActions.getCommitment,
  getEscrow: coordinatorActions.getEscrow,
  fundEscrow: coordinatorActions.fundEscrow,
  flushUsageFees: coordinatorActions.flushUsageFees,
  getSubscription: coordinatorActions.getSubscription,
  getSubscriptionCount: coordinatorActions.getSubscriptionCount,
  getCurrentInterval: coordinatorActions.getCurrentInterval,
  getRedundancyCount: coordinatorActions.getRedundancyCount,
  hasNodeResponded: coordinatorActions.hasNodeResponded,
  readSubscriptions: coordinatorActions.readSubscriptions,
  readRedundancyCounts: coordinatorActions.readRedundancyCounts,
  getContainerInputs: coordinatorActions.getContainerInputs,
  subscriptionIdFromLogs: coordinatorActions.subscriptionIdFromLogs,
  watchDeliveries: coordinatorActions.watchDeliveries,
  createWallet: walletActions.createWallet,
  walletFromLogs: walletActions.walletFromLogs,
  isValidWallet: walletActions.isValidWallet,
  depositEth: walletActions.depositEth,
  depositToken: walletActions.depositToken,
  approveSpender: walletActions.approveSpender,
  withdrawFromWallet: walletActions.withdrawFromWallet,
  getWalletBalance: walletActions.getWalletBalance,
  getWalletAllowance: walletActions.getWalletAllowance,
  getInboxItem: inboxActions.getInboxItem,
  getUsageEpoch: coordinatorActions.getUsageEpoch,
  getUsage: coordinatorActions.getUsage,
  getSubscriptionOptions: coordinatorActions.getSubscriptionOptions,
  getPendingUsageFees: coordinatorActions.getPendingUsageFees,
  getProofRequest: coordinatorActions.getProofRequest,
  registerModel: modelActions.registerModel,
  registerTrainedModel: modelActions.registerTrainedModel,
  deactivateModel: modelActions.deactivateModel,
  getModel: modelActions.getModel,
  isModelActive: modelActions.isModelActive,
  getModelEvents: modelActions.getModelRegistryEvents,
  parseModelEvents: modelActions.parseModelRegistryEvents,
  disputeOutput: outputVerifierActions.disputeOutput,
  finalizeOutput: outputVerifierActions.finalizeOutput,
  getOutputVerification: outputVerifierActions.getOutputVerification,
  getOutputVerifierParams: outputVerifierActions.getOutputVerifierParams,
  getOutputVerifierFee: outputVerifierActions.getOutputVerifierFee,
  getVerifierEvents: outputVerifierActions.getOutputVerifierEvents,
  parseVerifierEvents: outputVerifierActions.parseOutputVerifierEvents,
  watchVerifierEvents: outputVerifierActions.watchOutputVerifierEvents,
};

/** Generic Coordinator event actions, bound by hand so that `eventName` still narrows the events. */
interface CoordinatorEventActions {
  getEvents<N extends coordinatorActions.CoordinatorEventName>(
    args: Parameters<typeof coordinatorActions.getCoordinatorEvents<N>>[1],
  ): Promise<coordinatorActions.CoordinatorEvent<N>[]>;
  parseEvents<N extends coordinatorActions.CoordinatorEventName = coordinatorActions.CoordinatorEventName>(
    args: Parameters<typeof coordinatorActions.parseCoordinatorEvents<N>>[1],
  ): coordinatorActions.CoordinatorEvent<N>[];
  watchEvents<N extends coordinatorActions.CoordinatorEventName = coordinatorActions.CoordinatorEventName>(
    args: Parameters<typeof coordinatorActions.watchCoordinatorEvents<N>>[1],
  ): () => void;
}

/** Generic actions, bound by hand so that `eventName` still narrows the events. */
interface StakingEventActions {
  getEvents<N extends stakingActions.StakingEventName>(
    args: Parameters<typeof stakingActions.getStakingEvents<N>>[1],
  ): Promise<stakingActions.StakingEvent<N>[]>;
  parseEvents<N extends stakingActions.StakingEventName = stakingActions.StakingEventName>(
    args: Parameters<typeof stakingActions.parseStakingEvents<N>>[1],
  ): stakingActions.StakingEvent<N>[];
  watchEvents<N extends stakingActions.StakingEventName = stakingActions.StakingEventName>(
    args: Parameters<typeof stakingActions.watchStakingEvents<N>>[1],
  ): () => void;
}

/** Generic challenge event actions, bound by hand so that `eventName` still narrows the events. */
interface ChallengeEventActions {
  getEvents<N extends challengeActions.ChallengeEventName>(
    args: Parameters<typeof challengeActions.getChallengeEvents<N>>[1],
  ): Promise<challengeActions.ChallengeEvent<N>[]>;
  parseEvents<N extends challengeActions.ChallengeEventName = challengeActions.ChallengeEventName>(
    args: Parameters<typeof challengeActions.parseChallengeEvents<N>>[1],
  ): challengeActions.ChallengeEvent<N>[];
  watchEvents<N extends challengeActions.ChallengeEventName = challengeActions.ChallengeEventName>(
    args: Parameters<typeof challengeActions.watchChallengeEvents<N>>[1],
  ): () => void;
}

/** Generic reward event actions, bound by hand so that `eventName` still narrows the events. */
interface RewardEventActions {
  getEvents<N extends rewardActions.RewardEventName>(
    args: Parameters<typeof rewardActions.getRewardEvents<N>>[1],
  ): Promise<rewardActions.RewardEvent<N>[]>;
  parseEvents<N extends rewardActions.RewardEventName = rewardActions.RewardEventName>(
    args: Parameters<typeof rewardActions.parseRewardEvents<N>>[1],
  ): rewardActions.RewardEvent<N>[];
  watchEvents<N extends rewardActions.RewardEventName = rewardActions.RewardEventName>(
    args: Parameters<typeof rewardActions.watchRewardEvents<N>>[1],
  ): () => void;
}

/** The staking actions bound to one context. */
export type PoAIStakingActions = BoundActions<typeof staking> & StakingEventActions;
/** The token actions bound to one context. */
export type PoAITokenActions = BoundActions<typeof token>;
/** The Proof-of-AI challenge actions bound to one context. */
export type PoAIChallengeActions = BoundActions<typeof challenges> & ChallengeEventActions;
/** The randomness beacon actions bound to one context. */
export type PoAIBeaconActions = BoundActions<typeof beacon>;
/** The training-spec registry actions bound to one context. */
export type PoAIRegistryActions = BoundActions<typeof registry>;
/** The reward distributor actions bound to one context. */
export type PoAIRewardActions = BoundActions<typeof rewards> & RewardEventActions;

/** The inference marketplace actions bound to one context. */
export type PoAIInferenceActions = BoundActions<typeof inference> & CoordinatorEventActions;

/** Everything an app needs, bound to one chain, one deployment and (optionally) one wallet. */
export interface PoAIClient extends Readonly<PoAIContext> {
  staking: PoAIStakingActions;
  token: PoAITokenActions;
  /**
   * Proof-of-AI challenges: due challenges, results, committees, verdicts, judgment, epoch points.
   * Needs `deployment.contracts.challengeManager` (and `randomnessBeacon` for the beacon reads).
   */
  challenges: PoAIChallengeActions;
  /** The randomness beacon: contributions, values, phases. Needs `deployment.contracts.randomnessBeacon`. */
  beacon: PoAIBeaconActions;
  /** Training specs. Needs `deployment.contracts.taskRegistry`. */
  registry: PoAIRegistryActions;
  /**
   * Rewards: funding, emission changes, epoch closes, settlements, usage fees, expiry, reports and
   * events. Needs `deployment.contracts.rewardDistributor` (and `challengeManager` for epoch reports).
   */
  rewards: PoAIRewardActions;
  /**
   * The inference marketplace: subscriptions (direct and EIP-712 delegated), deliveries, payment
   * wallets, the Inbox, Reader batch reads, usage per model, node and epoch, Coordinator events,
   * the ModelRegistry and PoAIVerifier disputes. Needs `deployment.contracts.coordinator` (and
   * `reader`, `walletFactory`, `inbox`, `modelRegistry`, `poaiVerifier` for those parts).
   */
  inference: PoAIInferenceActions;
  /** Waits for a write's receipt; throws a `PoAIContractError` if it reverted. */
  waitForTransaction(hash: Hash, options?: WaitOptions): Promise<TransactionReceipt>;
  /**
   * Checks the address book (or `contracts` of it) against the chain now: the chain id, contract
   * code at every address, and the cheap reads that tell each contract apart. The client also
   * runs these checks by itself, once, before it first reads or writes each contract.
   * @throws PoAIDeploymentError naming the field that does not match (an RPC error as it is).
   */
  verifyDeployment(options?: { contracts?: readonly ContractKey[] }): Promise<DeploymentReport>;
}

/** Parameters of `createPoAIClient`; `deployment` may be the raw JSON (it is validated). */
export interface CreatePoAIClientParameters extends Omit<PoAIContext, "deployment"> {
  deployment: PoAIDeployment | unknown;
  /**
   * Check each contract of the address book against the chain before the client first reads it
   * (chain id, code, the book's contract: see `verifyDeployment`); default true. Writes are always
   * checked.
   */
  checkDeployment?: boolean;
}

/**
 * Binds every action to a viem public client, an optional wallet client and a deployment:
 *
 * ```ts
 * const poai = createPoAIClient({ publicClient, walletClient, deployment });
 * const hash = await poai.staking.delegate({ operator, amount: parsePoai("100") });
 * await poai.waitForTransaction(hash);
 * ```
 *
 * Throws a `PoAIInputError` when the deployment is malformed or belongs to another chain than a
 * client's `chain`. The client then checks, once, that the RPC's chain is the book's and that each
 * contract holds the code the book says, before it first reads or writes that contract: an action
 * on a book of another chain or deployment rejects with a `PoAIDeploymentError` naming the field,
 * and nothing is sent. `client.publicClient` is the given client behind that check.
 */
export function createPoAIClient(params: CreatePoAIClientParameters): PoAIClient {
  const deployment = parseDeployment(params.deployment);
  for (const [field, client] of [
    ["publicClient", params.publicClient],
    ["walletClient", params.walletClient],
  ] as const) {
    const chainId = client?.chain?.id;
    if (chainId !== undefined && chainId !== deployment.chainId) {
      throw new PoAIInputError(
        `${field}.chain.id`,
        chainId,
        `the deployment's chain id ${deployment.chainId}`,
      );
    }
  }
  // Reads of a contract of the book wait for its check (once); writes are always checked.
  const checker = new DeploymentChecker(deployment, params.publicClient, params.walletClient);
  const ctx: PoAIContext = {
    publicClient:
      (params.checkDeployment ?? true) ? guardClient(params.publicClient, checker) : params.publicClient,
    ...(params.walletClient !== undefined && { walletClient: params.walletClient }),
    deployment,
  };
  attachChecker(ctx, checker);
  return {
    ...ctx,
    staking: {
      ...bindActions(ctx, staking),
      getEvents: (args) => surfaceDeploymentErrors(stakingActions.getStakingEvents(ctx, args)),
      parseEvents: (args) => stakingActions.parseStakingEvents(ctx, args),
      watchEvents: (args) => stakingActions.watchStakingEvents(ctx, args),
    },
    token: bindActions(ctx, token),
    challenges: {
      ...bindActions(ctx, challenges),
      getEvents: (args) => surfaceDeploymentErrors(challengeActions.getChallengeEvents(ctx, args)),
      parseEvents: (args) => challengeActions.parseChallengeEvents(ctx, args),
      watchEvents: (args) => challengeActions.watchChallengeEvents(ctx, args),
    },
    beacon: bindActions(ctx, beacon),
    registry: bindActions(ctx, registry),
    rewards: {
      ...bindActions(ctx, rewards),
      getEvents: (args) => surfaceDeploymentErrors(rewardActions.getRewardEvents(ctx, args)),
      parseEvents: (args) => rewardActions.parseRewardEvents(ctx, args),
      watchEvents: (args) => rewardActions.watchRewardEvents(ctx, args),
    },
    inference: {
      ...bindActions(ctx, inference),
      getEvents: (args) => surfaceDeploymentErrors(coordinatorActions.getCoordinatorEvents(ctx, args)),
      parseEvents: (args) => coordinatorActions.parseCoordinatorEvents(ctx, args),
      watchEvents: (args) => coordinatorActions.watchCoordinatorEvents(ctx, args),
    },
    waitForTransaction: (hash, options) => waitForTransaction(ctx, hash, options),
    verifyDeployment: (options) => verifyDeployment(ctx, options),
  };
}
