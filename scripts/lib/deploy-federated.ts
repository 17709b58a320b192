/**
 * Deploys the federated job contract over a network deployment and wires it:
 *
 * | call | who may make it |
 * | --- | --- |
 * | `RewardDistributor.creditFees` (round payments into pools) | `ROLES.JOBS` (granted to FederatedJobs) |
 * | `Staking.slash` (repeated deviation) | `ROLES.SLASHER` (granted to FederatedJobs) |
 * | `FederatedJobs.setSlashFraction` | GOVERNOR |
 *
 * FederatedJobs is added to Staking's slash sources (its `slashWindow()` must fit inside the
 * unbonding period). The deployer must be the AccessManager's admin and hold GOVERNOR (the
 * development fast path of `scripts/lib/deploy.ts`).
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { parseEther, toFunctionSelector, type Address } from "viem";
import { ROLES } from "./roles.js";

/** Default share of stake slashed for `maxStrikes` excluded updates: 5%. */
export const DEFAULT_FED_SLASH_FRACTION = parseEther("0.05");

export const FED_SELECTORS = {
  creditFees: toFunctionSelector("creditFees(address[],uint256[])"),
  setSlashFraction: toFunctionSelector("setSlashFraction(uint256)"),
} as const;

export interface FederatedDeployInput {
  manager: { address: Address };
  staking: { address: Address };
  beacon: { address: Address };
  distributor: { address: Address };
}

export async function deployFederated(
  viem: HardhatViemHelpers,
  d: FederatedDeployInput,
  options: { slashFraction?: bigint } = {},
) {
  const manager = await viem.getContractAt("PoAIAccessManager", d.manager.address);
  const federated = await viem.deployContract("FederatedJobs", [
    d.staking.address,
    d.beacon.address,
    d.distributor.address,
    d.manager.address,
    options.slashFraction ?? DEFAULT_FED_SLASH_FRACTION,
  ]);
  // creditFees is mapped to JOBS by the job deployment; map it here too (idempotent).
  await manager.write.setTargetFunctionRole([d.distributor.address, [FED_SELECTORS.creditFees], ROLES.JOBS]);
  await manager.write.setTargetFunctionRole([
    federated.address,
    [FED_SELECTORS.setSlashFraction],
    ROLES.GOVERNOR,
  ]);
  await manager.write.grantRole([ROLES.JOBS, federated.address, 0]);
  await manager.write.grantRole([ROLES.SLASHER, federated.address, 0]);
  const staking = await viem.getContractAt("Staking", d.staking.address);
  await staking.write.addSlashSource([federated.address]);
  return { federated };
}

export type FederatedDeployment = Awaited<ReturnType<typeof deployFederated>>;
