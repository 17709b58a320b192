import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { toFunctionSelector, zeroAddress, type Address } from "viem";
import { ROLES } from "./roles.js";

export type InfernetDeployOptions = {
  /** The Staking contract: who may deliver, the epoch clock, the staking token. */
  staking: Address;
  /** The PoAIAccessManager; the caller must be its admin (it grants the coordinator its role). */
  accessManager: Address;
  /** Receives staking-token usage fees; without one, staking-token payments go to node wallets. */
  rewardDistributor?: Address;
  /** Names each model's royalty recipient; without one, royalties go to the delivering node. */
  modelRegistry?: Address;
  /** Protocol fee in basis points (charged twice on each payment, once on verifier fees); default 0. */
  feeBps?: number;
  /** Receives the protocol fee; default the deployer. */
  feeRecipient?: Address;
  /** Seconds after an interval's first commitment when its reveals open (commit-reveal); default 60. */
  commitWindow?: bigint;
};

export const DEFAULT_COMMIT_WINDOW = 60n;

/** The Fee's setters governance holds. */
export const FEE_GOVERNOR_SELECTORS = [
  toFunctionSelector("setFee(uint16,address)"),
  toFunctionSelector("updateFee(uint16)"),
] as const;

/**
 * Deploys the inference marketplace (Fee, then the EIP712Coordinator, which creates the Registry,
 * the Inbox, the WalletFactory and the Reader) and wires it: the Fee's setters are the governor's,
 * `notifyUsage` on the reward distributor is the COORDINATOR role's, and the coordinator holds that
 * role.
 */
export async function deployInfernet(viem: HardhatViemHelpers, options: InfernetDeployOptions) {
  const [deployer] = await viem.getWalletClients();
  const manager = await viem.getContractAt("PoAIAccessManager", options.accessManager);
  const fee = await viem.deployContract("Fee", [
    options.accessManager,
    options.feeBps ?? 0,
    options.feeRecipient ?? deployer.account.address,
  ]);
  const coordinator = await viem.deployContract("EIP712Coordinator", [
    options.staking,
    fee.address,
    options.rewardDistributor ?? zeroAddress,
    options.modelRegistry ?? zeroAddress,
    options.commitWindow ?? DEFAULT_COMMIT_WINDOW,
  ]);
  const registry = await viem.getContractAt("Registry", await coordinator.read.registry());
  const inbox = await viem.getContractAt("Inbox", await coordinator.read.inbox());
  const walletFactory = await viem.getContractAt("WalletFactory", await coordinator.read.walletFactory());
  const reader = await viem.getContractAt("Reader", await coordinator.read.reader());

  await manager.write.setTargetFunctionRole([fee.address, [...FEE_GOVERNOR_SELECTORS], ROLES.GOVERNOR]);
  if (options.rewardDistributor) {
    await manager.write.setTargetFunctionRole([
      options.rewardDistributor,
      [toFunctionSelector("notifyUsage(address,address,uint256)")],
      ROLES.COORDINATOR,
    ]);
    await manager.write.grantRole([ROLES.COORDINATOR, coordinator.address, 0]);
  }
  return { fee, coordinator, registry, inbox, walletFactory, reader };
}

export type InfernetDeployment = Awaited<ReturnType<typeof deployInfernet>>;
