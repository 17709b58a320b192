import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { zeroAddress, type Address } from "viem";
import { deployInfernet, type InfernetDeployOptions } from "./deploy-infernet.js";
import { deployModelRegistry, deployPoAIVerifier, type VerifierParams } from "./deploy-verifier.js";
import type { NetworkDeployment } from "./deploy.js";

export type InferenceDeployOptions = Pick<
  InfernetDeployOptions,
  "feeBps" | "feeRecipient" | "commitWindow"
> & {
  /** PoAIVerifier parameters (dispute window, slash fraction, jail); default DEFAULT_VERIFIER_PARAMS. */
  verifier?: Partial<VerifierParams>;
  /** Receives the PoAIVerifier's fees; default the deployer. */
  verifierWallet?: Address;
  /**
   * Tokens (`address(0)`: ETH) the PoAIVerifier accepts and its fee in each; default ETH and the
   * staking token, both free.
   */
  verifierFees?: readonly { token: Address; fee: bigint }[];
};

/**
 * The inference marketplace over a PoAI network deployment: the ModelRegistry, the Infernet
 * contracts (`deployInfernet`: the Coordinator may `notifyUsage` on the RewardDistributor, royalties
 * go to the ModelRegistry's trainers) and the PoAIVerifier (a Staking slasher), its fees set.
 * The deployer must be the AccessManager's admin and hold the governor role. Returns the contracts
 * and the address-book entries an SDK deployment takes.
 */
export async function deployInference(
  viem: HardhatViemHelpers,
  d: Pick<NetworkDeployment, "manager" | "staking" | "challenges" | "distributor" | "token">,
  options: InferenceDeployOptions = {},
) {
  const [deployer] = await viem.getWalletClients();
  const models = await deployModelRegistry(viem, d);
  const infernet = await deployInfernet(viem, {
    staking: d.staking.address,
    accessManager: d.manager.address,
    rewardDistributor: d.distributor.address,
    modelRegistry: models.address,
    ...(options.feeBps !== undefined && { feeBps: options.feeBps }),
    ...(options.feeRecipient !== undefined && { feeRecipient: options.feeRecipient }),
    ...(options.commitWindow !== undefined && { commitWindow: options.commitWindow }),
  });
  const { verifier, params: verifierParams } = await deployPoAIVerifier(viem, {
    manager: d.manager,
    staking: d.staking,
    models,
    coordinator: infernet.coordinator.address,
    wallet: options.verifierWallet ?? deployer.account.address,
    ...(options.verifier !== undefined && { params: options.verifier }),
  });
  const fees = options.verifierFees ?? [
    { token: zeroAddress, fee: 0n },
    { token: d.token.address, fee: 0n },
  ];
  for (const f of fees) await verifier.write.setFee([f.token, f.fee, true]);
  return {
    ...infernet,
    models,
    verifier,
    verifierParams,
    /** The `deployment.contracts` entries of the SDK for these contracts. */
    contracts: {
      coordinator: infernet.coordinator.address,
      eip712Coordinator: infernet.coordinator.address,
      infernetRegistry: infernet.registry.address,
      fee: infernet.fee.address,
      reader: infernet.reader.address,
      inbox: infernet.inbox.address,
      walletFactory: infernet.walletFactory.address,
      modelRegistry: models.address,
      poaiVerifier: verifier.address,
    },
  };
}

export type InferenceDeployment = Awaited<ReturnType<typeof deployInference>>;
