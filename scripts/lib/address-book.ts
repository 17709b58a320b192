import type { StakingDeployment } from "./deploy.js";

/**
 * The address book of a staking-layer deployment made by `deployStaking` (tests and benchmarks).
 * `poai deploy` writes the full book of an Ignition deployment (`ignition.ts`); `@poai/sdk/node`'s
 * `loadDeployment` / `readDeploymentFile` read books from disk.
 */
export function toAddressBook(
  network: string,
  chainId: number,
  deployBlock: bigint,
  d: Pick<StakingDeployment, "manager" | "token" | "staking" | "lens" | "params" | "epochLength">,
) {
  return {
    chainId,
    network,
    deployBlock: deployBlock.toString(),
    contracts: {
      accessManager: d.manager.address,
      token: d.token.address,
      staking: d.staking.address,
      stakingLens: d.lens.address,
    },
    parameters: {
      epochLength: d.epochLength.toString(),
      ...Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, String(v)])),
    },
  };
}
