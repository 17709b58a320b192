/**
 * Deploys the paid-job layer over a network deployment (`deployNetwork`): the JobRegistry (paid
 * training jobs whose runs are Proof-of-AI challenges), and wires it:
 *
 * | call | who may make it |
 * | --- | --- |
 * | `TaskRegistry.registerJobSpec` | `ROLES.JOBS` |
 * | `RewardDistributor.creditFees`, `setRoyaltySplit` | `ROLES.JOBS` |
 * | `ModelRegistry.registerJobModel` | `ROLES.JOBS` |
 * | `ChallengeManager.setJobBoard`, the job contracts' `setParams`, `JobRegistry.setModelRegistry` / `setScoreGame` | GOVERNOR |
 * | `Staking.slash` (a disproven trainer) | the ScoreGame (`ROLES.SLASHER`, a slash source of Staking) |
 *
 * The ChallengeManager's job board is set to the JobRegistry. Unless `scoreGame: false`, the
 * ScoreGame (with its InferenceDisputeGame) is deployed and set: a run's reported accuracy counts
 * once its window has passed undisproven (docs/disputes.md, "Score games"). The deployer must be the
 * AccessManager's admin and hold GOVERNOR (the development fast path of `scripts/lib/deploy.ts`).
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { toFunctionSelector, zeroAddress, type Address } from "viem";
import { ROLES } from "./roles.js";
import { deployScoreGame, scoreGameArgsFor, type ScoreGameArgs } from "./deploy-disputes.js";

export type JobParams = {
  committeeBps: number;
  protocolBps: number;
  maxOwnerRoyaltyBps: number;
  auditSamples: number;
  responseDeadline: number;
  treasury: Address;
};

/** Job parameters for an epoch of `epochLength` seconds (a run is due by a quarter epoch). */
export function defaultJobParams(epochLength: number, treasury: Address): JobParams {
  return {
    committeeBps: 1000,
    protocolBps: 500,
    maxOwnerRoyaltyBps: 8000,
    auditSamples: 4,
    responseDeadline: Math.max(1, Math.floor(epochLength / 4)),
    treasury,
  };
}

const selector = (sig: string) => toFunctionSelector(sig);

export const JOB_SELECTORS = {
  registerJobSpec: selector(
    "registerJobSpec((uint16,uint32[],uint32,uint32,uint32,uint8,uint32),(bytes32,uint32,bytes32,uint32,uint32,uint32),(uint32,uint16,uint16,uint16),string[])",
  ),
  creditFees: selector("creditFees(address[],uint256[])"),
  setRoyaltySplit: selector("setRoyaltySplit(address,address,address,uint16)"),
  registerJobModel: selector(
    "registerJobModel(string,address,uint32[],bytes32,bytes32,bytes32,uint256,address)",
  ),
  setJobBoard: selector("setJobBoard(address)"),
  jobSetParams: selector("setParams((uint16,uint16,uint16,uint16,uint32,address))"),
  setModelRegistry: selector("setModelRegistry(address)"),
  setScoreGame: selector("setScoreGame(address)"),
} as const;

type Writable = { address: Address; write: Record<string, (...args: never[]) => Promise<unknown>> };

export interface JobsDeployInput {
  manager: { address: Address };
  staking: { address: Address };
  challenges: { address: Address };
  registry: { address: Address };
  beacon: { address: Address };
  distributor: { address: Address };
  epochLength: bigint;
}

export type JobsDeployOptions = {
  /** The ModelRegistry jobs register their models in (default: none until `setModelRegistry`). */
  models?: Address;
  jobs?: Partial<JobParams>;
  /**
   * The score game that lets anyone dispute a run's reported accuracy (docs/disputes.md, "Score
   * games"): settings over `scoreGameArgsFor` the network's epoch, unbonding period and challenge
   * slash window, or `false` for none (then a run's accuracy is its committee's median, which no
   * game can overrule).
   */
  scoreGame?: Partial<ScoreGameArgs> | false;
};

/** Deploys and wires the JobRegistry (see the module comment). */
export async function deployJobs(
  viem: HardhatViemHelpers,
  d: JobsDeployInput,
  options: JobsDeployOptions = {},
) {
  const [deployer] = await viem.getWalletClients();
  const admin = deployer.account.address;
  const manager = await viem.getContractAt("PoAIAccessManager", d.manager.address);
  const jobParams = { ...defaultJobParams(Number(d.epochLength), admin), ...options.jobs };
  const jobs = await viem.deployContract("JobRegistry", [
    d.challenges.address,
    d.distributor.address,
    options.models ?? zeroAddress,
    d.manager.address,
    jobParams,
  ]);
  const S = JOB_SELECTORS;
  const set = (target: Address, selectors: `0x${string}`[], role: bigint) =>
    manager.write.setTargetFunctionRole([target, selectors, role]);
  await set(d.registry.address, [S.registerJobSpec], ROLES.JOBS);
  await set(d.distributor.address, [S.creditFees, S.setRoyaltySplit], ROLES.JOBS);
  if (options.models) await set(options.models, [S.registerJobModel], ROLES.JOBS);
  await set(d.challenges.address, [S.setJobBoard], ROLES.GOVERNOR);
  await set(jobs.address, [S.jobSetParams, S.setModelRegistry, S.setScoreGame], ROLES.GOVERNOR);
  await manager.write.grantRole([ROLES.JOBS, jobs.address, 0]);
  const challenges = await viem.getContractAt("ChallengeManager", d.challenges.address);
  await challenges.write.setJobBoard([jobs.address]);
  let scoreArgs: ScoreGameArgs | undefined;
  if (options.scoreGame !== false) {
    // the settings that fit Staking's unbonding period after the ChallengeManager's slash window
    const staking = await viem.getContractAt("Staking", d.staking.address);
    const unbonding = BigInt((await staking.read.params()).unbondingPeriod);
    const window = await challenges.read.slashWindow();
    scoreArgs = { ...scoreGameArgsFor(d.epochLength, unbonding, window), ...options.scoreGame };
  }
  const score = scoreArgs ? await deployScoreGame(viem, { ...d, jobs }, scoreArgs) : undefined;
  return { jobs, jobParams, scoreArgs, scoreGame: score?.scoreGame, scoreInference: score?.scoreInference };
}

/**
 * Wires a ModelRegistry deployed after the jobs: `registerJobModel` becomes the job contracts'
 * and the JobRegistry registers its models there.
 */
export async function wireJobModels(
  viem: HardhatViemHelpers,
  d: { manager: { address: Address }; jobs: Writable & { address: Address } },
  models: Address,
) {
  const manager = await viem.getContractAt("PoAIAccessManager", d.manager.address);
  await manager.write.setTargetFunctionRole([models, [JOB_SELECTORS.registerJobModel], ROLES.JOBS]);
  const jobs = await viem.getContractAt("JobRegistry", d.jobs.address);
  await jobs.write.setModelRegistry([models]);
}

export type JobsDeployment = Awaited<ReturnType<typeof deployJobs>>;
