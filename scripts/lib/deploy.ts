/**
 * The scripted deployment of the tests, the benchmarks and the in-process devnet: the
 * DEVELOPMENT FAST PATH. The deployer holds every role it needs to drive a network by hand
 * (ADMIN, GOVERNOR, SLASHER, COORDINATOR) with no delay, and there is no timelock. Never
 * for a chain with other people's stake on it: `poai deploy` (Hardhat Ignition,
 * `scripts/lib/ignition.ts`) hands ADMIN and GOVERNOR to the `PoAITimelock`, gives SLASHER and
 * COORDINATOR to contracts only and leaves the deployer with nothing.
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { parseEther, toFunctionSelector, type Address } from "viem";
import { ROLES } from "./roles.js";

export type StakingParams = {
  minTrainerStake: bigint;
  minValidatorStake: bigint;
  unbondingPeriod: number;
  jailCooldown: number;
  commissionDelay: number;
  maxCommissionChangeBps: number;
  finderFeeBps: number;
  maxSlashFraction: bigint;
};

export type DeployOptions = {
  /** Seconds per epoch (immutable). */
  epochLength?: number;
  params?: Partial<StakingParams>;
  /** Use this token instead of deploying a fresh PoAIToken. */
  token?: Address;
  /** Total supply of a fresh PoAIToken, minted to the deployer. */
  supply?: bigint;
  /** Accounts granted the slasher / governor roles (defaults: the deployer). */
  slasher?: Address;
  governor?: Address;
};

export const DEFAULT_PARAMS: StakingParams = {
  minTrainerStake: parseEther("1000"),
  minValidatorStake: parseEther("500"),
  unbondingPeriod: 7 * 24 * 3600,
  jailCooldown: 24 * 3600,
  commissionDelay: 3 * 24 * 3600,
  maxCommissionChangeBps: 500,
  finderFeeBps: 1000,
  maxSlashFraction: parseEther("0.5"),
};

/** Staking's linked libraries (its cold paths), deployed once per Staking. */
export const STAKING_LIBRARIES = ["StakingOperators", "StakingPools", "StakingSlashing"] as const;

/** Staking's functions and the role that may call them. */
export const STAKING_GUARDED: readonly [string, bigint][] = [
  ["slash(address,uint256,address[],bool)", ROLES.SLASHER],
  ["slash(address,uint256,address[],bool,uint256)", ROLES.SLASHER],
  ["slashTo(address,uint256,uint256,address,uint256)", ROLES.SLASHER],
  ["pardon(address)", ROLES.SLASHER],
  ["slashHeld(address,uint256,address[],bool,uint256,bytes32)", ROLES.SLASHER],
  ["returnHeld(address,bytes32,address)", ROLES.SLASHER],
  ["lockHolds(address,bytes32)", ROLES.SLASHER],
  ["setParams((uint128,uint128,uint40,uint40,uint40,uint16,uint16,uint64))", ROLES.GOVERNOR],
  ["addSlashSource(address)", ROLES.GOVERNOR],
  ["removeSlashSource(address)", ROLES.GOVERNOR],
  ["setRewardDistributor(address)", ROLES.GOVERNOR],
];

/** Whether a contract's ABI has `slashWindow()`, i.e. Staking can register it as a slash-window source. */
export function hasSlashWindow(abi: readonly unknown[]): boolean {
  return abi.some((x) => {
    const f = x as { type?: string; name?: string };
    return f.type === "function" && f.name === "slashWindow";
  });
}

/**
 * Deploys the staking layer (AccessManager, token, Staking with its libraries, StakingLens) and
 * wires the roles: `slash` to the slasher; `setParams`, the slash-window sources and the reward
 * distributor to the governor (each the deployer unless given: the development fast path).
 */
export async function deployStaking(viem: HardhatViemHelpers, options: DeployOptions = {}) {
  const [deployer] = await viem.getWalletClients();
  const admin = deployer.account.address;
  const manager = await viem.deployContract("PoAIAccessManager", [admin]);
  const token = options.token
    ? await viem.getContractAt("PoAIToken", options.token)
    : await viem.deployContract("PoAIToken", [admin, options.supply ?? parseEther("1000000000")]);
  const params = { ...DEFAULT_PARAMS, ...options.params };
  const epochLength = BigInt(options.epochLength ?? 24 * 3600);
  const libraries: Record<string, Address> = {};
  for (const name of STAKING_LIBRARIES) libraries[name] = (await viem.deployContract(name)).address;
  const staking = await viem.deployContract(
    "Staking",
    [token.address, manager.address, epochLength, params],
    {
      libraries,
    },
  );
  const lens = await viem.deployContract("StakingLens", [staking.address]);

  const selector = (sig: string) => toFunctionSelector(sig);
  for (const [sig, role] of STAKING_GUARDED) {
    await manager.write.setTargetFunctionRole([staking.address, [selector(sig)], role]);
  }
  await manager.write.grantRole([ROLES.SLASHER, options.slasher ?? admin, 0]);
  await manager.write.grantRole([ROLES.GOVERNOR, options.governor ?? admin, 0]);
  return { manager, token, staking, lens, params, epochLength, libraries };
}

export type StakingDeployment = Awaited<ReturnType<typeof deployStaking>>;

export type ChallengeParams = {
  commitWindow: number;
  revealWindow: number;
  finalizeGrace: number;
  replayWindow: number;
  committeeSize: number;
  quorumBps: number;
  minReveals: number;
  maxDeviationBps: number;
  scoreToleranceBps: number;
  maxMisses: number;
  maxExtensions: number;
  fraudSlash: bigint;
  withholdSlash: bigint;
  missSlash: bigint;
  verdictSlash: bigint;
  beaconSlash: bigint;
  poolSeats: number;
};

/**
 * Challenge parameters for an epoch of `epochLength` seconds: the commit, reveal and grace windows
 * are a quarter epoch each, the second phase (replay votes) the first half of the grace window.
 */
export function defaultChallengeParams(epochLength: number): ChallengeParams {
  const quarter = Math.floor(epochLength / 4);
  return {
    commitWindow: quarter,
    revealWindow: quarter,
    finalizeGrace: quarter,
    replayWindow: Math.max(1, Math.floor(quarter / 2)),
    committeeSize: 3,
    quorumBps: 5001, // a majority of the voting stake decides: no third of a committee can veto
    minReveals: 2,
    maxDeviationBps: 500,
    scoreToleranceBps: 0, // the engine is exact: an honest validator measures the same accuracy
    maxMisses: 3,
    maxExtensions: 3, // a committee of 3 drawn from many validators has < 2 members about once in 5 rounds
    fraudSlash: parseEther("0.5"),
    withholdSlash: parseEther("0.05"),
    missSlash: parseEther("0.01"),
    verdictSlash: parseEther("0.05"),
    beaconSlash: parseEther("0.02"),
    // a round's committees are drawn from a pool of validators holding ~30 seats each (never
    // fewer than 2 x max(committeeSize, minReveals) members): each validator's fixed cost a round
    // is shared by ~30 verdicts however many validators there are (docs/protocol.md, "The
    // committee pool")
    poolSeats: 30,
  };
}

/** Beacon contributors per round (at most, and the expected number drawn): see `RandomnessBeacon`. */
export const BEACON_CONTRIBUTORS = 32;

export type PoAIDeployOptions = Omit<DeployOptions, "slasher"> & {
  challenge?: Partial<ChallengeParams>;
  /** Beacon contributors per round; default `BEACON_CONTRIBUTORS`. */
  beaconContributors?: number;
};

/**
 * Deploys the staking layer and the Proof-of-AI layer (TaskRegistry, RandomnessBeacon,
 * ChallengeManager). The ChallengeManager is Staking's slasher; the governor registers specs and
 * sets parameters.
 */
export async function deployPoAI(viem: HardhatViemHelpers, options: PoAIDeployOptions = {}) {
  const [deployer] = await viem.getWalletClients();
  const base = await deployStaking(viem, { ...options, slasher: deployer.account.address });
  const { manager, staking } = base;
  const registry = await viem.deployContract("TaskRegistry", [staking.address, manager.address]);
  const beacon = await viem.deployContract("RandomnessBeacon", [
    staking.address,
    BigInt(options.beaconContributors ?? BEACON_CONTRIBUTORS),
  ]);
  const challengeParams = { ...defaultChallengeParams(Number(base.epochLength)), ...options.challenge };
  const challengeParamsLibrary = await viem.deployContract("ChallengeParams");
  const challengeColdLibrary = await viem.deployContract("ChallengeCold");
  const challenges = await viem.deployContract(
    "ChallengeManager",
    [staking.address, registry.address, beacon.address, manager.address, challengeParams],
    {
      libraries: {
        ChallengeParams: challengeParamsLibrary.address,
        ChallengeCold: challengeColdLibrary.address,
      },
    },
  );
  const selector = (sig: string) => toFunctionSelector(sig);
  await manager.write.setTargetFunctionRole([
    registry.address,
    [
      selector(
        "registerSpec((uint16,uint32[],uint32,uint32,uint32,uint8,uint32),(uint32,uint16,uint16,uint16))",
      ),
      selector("setSpecParams(bytes32,(uint32,uint16,uint16,uint16))"),
      selector("activate(bytes32)"),
      selector("retire(bytes32)"),
    ],
    ROLES.GOVERNOR,
  ]);
  await manager.write.setTargetFunctionRole([
    challenges.address,
    [
      selector(
        "setParams((uint32,uint32,uint32,uint32,uint16,uint16,uint16,uint16,uint16,uint16,uint16,uint64,uint64,uint64,uint64,uint64,uint16))",
      ),
    ],
    ROLES.GOVERNOR,
  ]);
  // a dispute game granted DISPUTES overrules a verdict it proved wrong
  await manager.write.setTargetFunctionRole([
    challenges.address,
    [selector("overrule(bytes32)")],
    ROLES.DISPUTES,
  ]);
  await manager.write.grantRole([ROLES.SLASHER, challenges.address, 0]);
  if (hasSlashWindow(challenges.abi)) await staking.write.addSlashSource([challenges.address]);
  return { ...base, registry, beacon, challenges, challengeParams };
}

export type PoAIDeployment = Awaited<ReturnType<typeof deployPoAI>>;

export type RewardParams = {
  gammaBps: number;
  protocolCutBps: number;
  nodeFeeBps: number;
  royaltyBps: number;
  noticeEpochs: number;
  treasury: Address;
};

export type NetworkDeployOptions = PoAIDeployOptions & {
  /** Emission per epoch in token wei. */
  emission?: bigint;
  rewards?: Partial<RewardParams>;
  /** Account allowed to report usage fees (the inference coordinator); default the deployer. */
  coordinator?: Address;
};

/**
 * Deploys the whole network: staking, Proof-of-AI and the RewardDistributor, connected to Staking
 * (it funds each closed epoch there; Staking credits the pools by themselves).
 */
export async function deployNetwork(viem: HardhatViemHelpers, options: NetworkDeployOptions = {}) {
  const [deployer] = await viem.getWalletClients();
  const admin = deployer.account.address;
  const base = await deployPoAI(viem, options);
  const rewardParams: RewardParams = {
    gammaBps: 1000,
    protocolCutBps: 500,
    nodeFeeBps: 7000,
    royaltyBps: 2000,
    noticeEpochs: 2,
    treasury: admin,
    ...options.rewards,
  };
  const emission = options.emission ?? parseEther("1000");
  const distributor = await viem.deployContract("RewardDistributor", [
    base.staking.address,
    base.challenges.address,
    base.manager.address,
    emission,
    rewardParams,
  ]);
  const selector = (sig: string) => toFunctionSelector(sig);
  await base.manager.write.setTargetFunctionRole([
    distributor.address,
    [selector("setEmission(uint256)"), selector("setParams((uint16,uint16,uint16,uint16,uint16,address))")],
    ROLES.GOVERNOR,
  ]);
  await base.manager.write.setTargetFunctionRole([
    distributor.address,
    [selector("notifyUsage(address,address,uint256)")],
    ROLES.COORDINATOR,
  ]);
  await base.staking.write.setRewardDistributor([distributor.address]);
  await base.manager.write.grantRole([ROLES.COORDINATOR, options.coordinator ?? admin, 0]);
  return { ...base, distributor, rewardParams, emission };
}

export type NetworkDeployment = Awaited<ReturnType<typeof deployNetwork>>;
