import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { parseEther, toFunctionSelector, type Address } from "viem";
import { hasSlashWindow } from "./deploy.js";
import { ROLES } from "./roles.js";

/** PoAIVerifier's governance parameters. */
export type VerifierParams = {
  /** Seconds after a delivery during which it can be disputed (60 .. 3 days). */
  disputeWindow: number;
  /** Fraction (1e18 = 100%) of the node's stake slashed for a wrong output (capped by Staking). */
  slashFraction: bigint;
  /** Whether a proven wrong output also jails the node. */
  jail: boolean;
};

export const DEFAULT_VERIFIER_PARAMS: VerifierParams = {
  disputeWindow: 24 * 3600,
  slashFraction: parseEther("0.1"),
  jail: true,
};

const selector = (sig: string) => toFunctionSelector(sig);

type Manager = {
  write: { setTargetFunctionRole: (args: [Address, `0x${string}`[], bigint]) => Promise<unknown> };
};

/** The ModelRegistry's functions governance holds. */
export const MODEL_GOVERNOR_SELECTORS = [
  selector("setActive(bytes32,bool)"),
  selector("setApproved(bytes32,bool)"),
  selector("reassign(bytes32,address)"),
  selector("clear(bytes32)"),
] as const;

/** The PoAIVerifier's functions governance holds. */
export const VERIFIER_GOVERNOR_SELECTORS = [
  selector("setParams((uint32,uint64,bool))"),
  selector("setFee(address,uint256,bool)"),
  selector("setWallet(address)"),
  selector("withdraw(address,address,uint256)"),
  selector("setGame(address)"),
] as const;

/**
 * Deploys the ModelRegistry over a Proof-of-AI deployment; governance (`ROLES.GOVERNOR`) may
 * activate, deactivate, approve, reassign or clear any model.
 */
export async function deployModelRegistry(
  viem: HardhatViemHelpers,
  d: {
    manager: { address: Address } & Manager;
    staking: { address: Address };
    challenges: { address: Address };
  },
) {
  const models = await viem.deployContract("ModelRegistry", [
    d.staking.address,
    d.challenges.address,
    d.manager.address,
  ]);
  await d.manager.write.setTargetFunctionRole([
    models.address,
    [...MODEL_GOVERNOR_SELECTORS],
    ROLES.GOVERNOR,
  ]);
  return models;
}

/**
 * Deploys the PoAIVerifier for `coordinator`: it becomes a Staking slasher (`ROLES.SLASHER`) and a
 * slash-window source of Staking (the unbonding period must outlast its dispute window), and its
 * parameters, fees, fee wallet and stray-funds withdrawal are governance's (`ROLES.GOVERNOR`).
 */
export async function deployPoAIVerifier(
  viem: HardhatViemHelpers,
  d: {
    manager: {
      address: Address;
      write: Manager["write"] & { grantRole: (args: [bigint, Address, number]) => Promise<unknown> };
    };
    staking: { address: Address; write: { addSlashSource: (args: [Address]) => Promise<unknown> } };
    models: { address: Address };
    coordinator: Address;
    wallet: Address;
    params?: Partial<VerifierParams>;
  },
) {
  const params = { ...DEFAULT_VERIFIER_PARAMS, ...d.params };
  const verifier = await viem.deployContract("PoAIVerifier", [
    d.coordinator,
    d.staking.address,
    d.models.address,
    d.manager.address,
    d.wallet,
    params,
  ]);
  await d.manager.write.setTargetFunctionRole([
    verifier.address,
    [...VERIFIER_GOVERNOR_SELECTORS],
    ROLES.GOVERNOR,
  ]);
  await d.manager.write.grantRole([ROLES.SLASHER, verifier.address, 0]);
  if (hasSlashWindow(verifier.abi)) await d.staking.write.addSlashSource([verifier.address]);
  return { verifier, params };
}

/** InferenceDisputeGame's parameters: seconds per move and the bond each party posts. */
export const DEFAULT_INFERENCE_GAME = { moveTimeout: 3600, bond: parseEther("10") };

/**
 * Deploys the bisection game for inference outputs of any model size over `verifier` (its host)
 * and wires it with `setGame` (the caller must hold the verifier's governor role).
 */
export async function deployInferenceGame(
  viem: HardhatViemHelpers,
  d: {
    token: Address;
    verifier: { address: Address; write: { setGame: (args: [Address]) => Promise<unknown> } };
    moveTimeout?: number;
    bond?: bigint;
  },
) {
  const moveTimeout = d.moveTimeout ?? DEFAULT_INFERENCE_GAME.moveTimeout;
  const bond = d.bond ?? DEFAULT_INFERENCE_GAME.bond;
  const game = await viem.deployContract("InferenceDisputeGame", [
    d.token,
    d.verifier.address,
    BigInt(moveTimeout),
    bond,
  ]);
  await d.verifier.write.setGame([game.address]);
  return game;
}
