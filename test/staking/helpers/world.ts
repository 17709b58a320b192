import { network } from "hardhat";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import { maxUint256, parseEther, type Abi, type Address } from "viem";
import { deployStaking, type DeployOptions, type StakingParams } from "../../../scripts/lib/deploy.js";

export type Connection = Awaited<ReturnType<typeof network.create>>;
export type Viem = Connection["viem"];
export type Wallet = Awaited<ReturnType<Viem["getWalletClients"]>>[number];
export type StakingContract = ContractReturnType<"Staking">;
export type TokenContract = ContractReturnType<"PoAIToken">;

/** One account with its own bound contract instances. */
export type Actor = {
  wallet: Wallet;
  address: Address;
  staking: StakingContract;
  token: TokenContract;
};

export type WorldOptions = DeployOptions & {
  /** Number of funded actors (wallets 1..n; wallet 0 is the admin, slasher, rewarder and governor). */
  actors?: number;
  /** Tokens each actor receives and approves to Staking. */
  fund?: bigint;
};

/**
 * A deployed staking layer on `conn` with `actors` funded accounts that approved Staking for
 * everything, plus the admin (deployer, who holds every AccessManager role and the rest of the supply).
 */
export async function deployWorld(conn: Connection, options: WorldOptions = {}) {
  const { viem } = conn;
  const wallets = await viem.getWalletClients();
  const d = await deployStaking(viem, options);
  const admin = wallets[0];
  const fund = options.fund ?? parseEther("1000000");
  const bind = async (w: Wallet): Promise<Actor> => ({
    wallet: w,
    address: w.account.address,
    staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
    token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
  });
  const actors: Actor[] = [];
  for (const w of wallets.slice(1, 1 + (options.actors ?? 8))) {
    const a = await bind(w);
    if (fund > 0n) await d.token.write.transfer([a.address, fund]);
    await a.token.write.approve([d.staking.address, maxUint256]);
    actors.push(a);
  }
  const adminActor = await bind(admin);
  await adminActor.token.write.approve([d.staking.address, maxUint256]);
  const genesis = await d.staking.read.genesis();
  const errorAbi = [...d.staking.abi, ...d.token.abi] as Abi;
  return { ...d, conn, viem, wallets, admin: adminActor, actors, genesis, bind, errorAbi };
}

export type World = Awaited<ReturnType<typeof deployWorld>>;

/** Reads the governance parameters as the `StakingParams` shape `setParams` takes. */
export async function readParams(staking: StakingContract): Promise<StakingParams> {
  const p = await staking.read.params();
  return {
    minTrainerStake: p.minTrainerStake,
    minValidatorStake: p.minValidatorStake,
    unbondingPeriod: Number(p.unbondingPeriod),
    jailCooldown: Number(p.jailCooldown),
    commissionDelay: Number(p.commissionDelay),
    maxCommissionChangeBps: Number(p.maxCommissionChangeBps),
    finderFeeBps: Number(p.finderFeeBps),
    maxSlashFraction: p.maxSlashFraction,
  };
}
