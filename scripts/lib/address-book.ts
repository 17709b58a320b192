import type { PoAIContracts } from "@poai/sdk";
import type { Address } from "viem";
import type { StakingDeployment } from "./deploy.js";

type Deployed = { readonly address: Address };

/**
 * The address-book entries (`PoAIDeployment.contracts`) of the contracts a deployment holds, by the
 * names `deployStaking` / `deployPoAI` / `deployNetwork` and the Ignition module give them; a layer
 * that was not deployed is left out.
 */
export function contractsOf(d: {
  manager: Deployed;
  token: Deployed;
  staking: Deployed;
  lens: Deployed;
  challenges?: Deployed;
  registry?: Deployed;
  beacon?: Deployed;
  distributor?: Deployed;
  timelock?: Deployed;
  models?: Deployed;
  fee?: Deployed;
  coordinator?: Deployed;
  infernetRegistry?: Deployed;
  inbox?: Deployed;
  walletFactory?: Deployed;
  reader?: Deployed;
  verifier?: Deployed;
  inferenceDisputeGame?: Deployed;
  jobs?: Deployed;
  federated?: Deployed;
  scoreGame?: Deployed;
  scoreInference?: Deployed;
}): PoAIContracts {
  return {
    accessManager: d.manager.address,
    token: d.token.address,
    staking: d.staking.address,
    stakingLens: d.lens.address,
    ...(d.challenges && { challengeManager: d.challenges.address }),
    ...(d.registry && { taskRegistry: d.registry.address }),
    ...(d.beacon && { randomnessBeacon: d.beacon.address }),
    ...(d.distributor && { rewardDistributor: d.distributor.address }),
    ...(d.timelock && { timelock: d.timelock.address }),
    ...(d.coordinator && { coordinator: d.coordinator.address, eip712Coordinator: d.coordinator.address }),
    ...(d.infernetRegistry && { infernetRegistry: d.infernetRegistry.address }),
    ...(d.fee && { fee: d.fee.address }),
    ...(d.inbox && { inbox: d.inbox.address }),
    ...(d.reader && { reader: d.reader.address }),
    ...(d.walletFactory && { walletFactory: d.walletFactory.address }),
    ...(d.models && { modelRegistry: d.models.address }),
    ...(d.verifier && { poaiVerifier: d.verifier.address }),
    ...(d.inferenceDisputeGame && { inferenceDisputeGame: d.inferenceDisputeGame.address }),
    ...(d.jobs && { jobRegistry: d.jobs.address }),
    ...(d.federated && { federatedJobs: d.federated.address }),
    ...(d.scoreGame && { scoreGame: d.scoreGame.address }),
    ...(d.scoreInference && { scoreInferenceGame: d.scoreInference.address }),
  };
}

/**
 * The address book of a staking-layer deployment made by `deployStaking` (tests and benchmarks).
 * `poai deploy` writes the full book of an Ignition deployment (`ignition.ts`); `@poai/node`'s
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
    contracts: contractsOf(d),
    parameters: {
      epochLength: d.epochLength.toString(),
      ...Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, String(v)])),
    },
  };
}
