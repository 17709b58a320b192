/**
 * Shared set-up of the SDK tests: the staking layer on the in-process chain, funded wallets, and
 * a PoAI client per wallet.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { network } from "hardhat";
import { getAddress, parseEther, type Address, type Hash, type Hex } from "viem";
import { deployStaking } from "../../scripts/lib/deploy.js";
import {
  createPoAIClient,
  parseDeployment,
  type PoAIClient,
  type PoAIDeployment,
} from "../../sdk/src/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";

export const FUNDS = parseEther("100000");

/** One connection to the in-process chain for a whole test file; `loadFixture` snapshots it. */
export async function connect() {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function deployFixture() {
    const d = await deployStaking(viem);
    const publicClient = await viem.getPublicClient();
    const wallets = await viem.getWalletClients();
    const deployment: PoAIDeployment = parseDeployment({
      chainId: await publicClient.getChainId(),
      deployBlock: 0n,
      contracts: contractsOf(d),
    });
    for (const w of wallets.slice(1, 8)) await d.token.write.transfer([w.account.address, FUNDS]);
    /** A client that signs with wallet `i` (0 is the deployer: slasher and rewarder). */
    const client = (i: number): PoAIClient =>
      createPoAIClient({ publicClient, walletClient: wallets[i]!, deployment });
    const address = (i: number): Address => getAddress(wallets[i]!.account.address);
    return { d, publicClient, wallets, deployment, client, address };
  }

  return {
    connection,
    viem,
    networkHelpers,
    provider: connection.provider,
    load: () => networkHelpers.loadFixture(deployFixture),
  };
}

export type Fixture = Awaited<ReturnType<Awaited<ReturnType<typeof connect>>["load"]>>;

/** Sends through `send`, waits for the receipt with `client`, and returns the receipt. */
export async function mined(client: PoAIClient, send: Promise<Hash>) {
  return client.waitForTransaction(await send);
}

/** Approves the staking contract and registers wallet `i` as an operator. */
export async function registerOperator(
  f: Fixture,
  i: number,
  options: {
    role?: "trainer" | "validator";
    stake?: bigint;
    commissionBps?: number;
    maxCommissionBps?: number;
  } = {},
) {
  const c = f.client(i);
  const stake = options.stake ?? parseEther("2000");
  await mined(c, c.token.approve({ amount: stake }));
  await mined(
    c,
    c.staking.register({
      role: options.role ?? "trainer",
      stake,
      commissionBps: options.commissionBps ?? 1000,
      maxCommissionBps: options.maxCommissionBps ?? 2000,
      endpoint: `https://node${i}.example`,
      gpuClass: "H100",
    }),
  );
  return f.address(i);
}

/** Creation bytecode of Multicall3, as viem ships it (viem keeps it internal, so it is read from its sources). */
export function multicall3Bytecode(): Hex {
  const viemDir = path.dirname(createRequire(import.meta.url).resolve("viem/package.json"));
  const source = readFileSync(path.join(viemDir, "_esm", "constants", "contracts.js"), "utf8");
  const match = /multicall3Bytecode = ['"](0x[0-9a-fA-F]+)['"]/.exec(source);
  if (!match) throw new Error("Multicall3 bytecode not found in viem");
  return match[1] as Hex;
}
