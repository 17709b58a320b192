/**
 * Shared set-up of the SDK's Proof-of-AI tests: the staking and Proof-of-AI layers on the
 * in-process chain (one-day epochs), funded wallets, a PoAI client per wallet, and helpers to
 * register operators and move through a round's timeline.
 */
import { network } from "hardhat";
import { getAddress, parseEther, type Address, type Hash } from "viem";
import { deployPoAI } from "../../scripts/lib/deploy.js";
import {
  createPoAIClient,
  parseDeployment,
  roundStart,
  type PoAIClient,
  type PoAIDeployment,
  type SpecParams,
  type TrainingSpec,
} from "../../sdk/src/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";

export const DAY = 24 * 3600;
export const FUNDS = parseEther("100000");

/** A small spec of the reference family: 2 segments of 10 steps. */
export const SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
export const SPEC_PARAMS: SpecParams = {
  responseDeadline: 6 * 3600,
  minScoreBps: 5000,
  maxScoreBps: 10_000,
  auditSamples: 2,
};

/** One connection to the in-process chain for a whole test file; `load` restores a snapshot. */
export async function connectPoAI() {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function deployFixture() {
    const d = await deployPoAI(viem, { epochLength: DAY });
    const publicClient = await viem.getPublicClient();
    const wallets = await viem.getWalletClients();
    const deployment: PoAIDeployment = parseDeployment({
      chainId: await publicClient.getChainId(),
      deployBlock: 0n,
      contracts: contractsOf(d),
    });
    for (const w of wallets.slice(1)) await d.token.write.transfer([w.account.address, FUNDS]);
    const genesis = await d.staking.read.genesis();
    /** A client that signs with wallet `i` (0 is the deployer: governor). */
    const client = (i: number): PoAIClient =>
      createPoAIClient({ publicClient, walletClient: wallets[i]!, deployment });
    const address = (i: number): Address => getAddress(wallets[i]!.account.address);
    return { d, publicClient, wallets, deployment, client, address, genesis };
  }

  const f = {
    connection,
    viem,
    networkHelpers,
    load: () => networkHelpers.loadFixture(deployFixture),
  };
  return f;
}

export type PoAIFixture = Awaited<ReturnType<Awaited<ReturnType<typeof connectPoAI>>["load"]>>;

/** Sends through `send`, waits for the receipt with `client`, and returns the receipt. */
export async function mined(client: PoAIClient, send: Promise<Hash>) {
  return client.waitForTransaction(await send);
}

/** Approves and registers wallet `i` as an operator through the SDK. */
export async function registerOperator(
  f: PoAIFixture,
  i: number,
  role: "trainer" | "validator",
  stake: bigint,
): Promise<Address> {
  const c = f.client(i);
  await mined(c, c.token.approve({ amount: stake }));
  await mined(
    c,
    c.staking.register({
      role,
      stake,
      commissionBps: 500,
      maxCommissionBps: 2000,
      endpoint: `https://node${i}.example`,
      gpuClass: role === "trainer" ? "H100" : "CPU",
    }),
  );
  return f.address(i);
}

/** Start (unix seconds) of `round`. */
export function startOf(f: PoAIFixture, round: bigint): bigint {
  return roundStart(f.genesis, DAY, round);
}
