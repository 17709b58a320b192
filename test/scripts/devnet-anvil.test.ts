import { expect } from "chai";
import { network } from "hardhat";
import { parseEther } from "viem";
import {
  ChainClockError,
  PoAIContractError,
  advanceChainTime,
  createPoAIClient,
  httpRequester,
  identifyChainClient,
  latestChainTime,
  parseDeployment,
} from "../../sdk/src/index.js";
import { resolveDevnetOptions } from "../../scripts/lib/devnet/options.js";
import { runDevnet } from "../../scripts/lib/devnet/run.js";
import { createDevnetUi } from "../../scripts/lib/devnet/ui.js";
import { startAnvil } from "../fixtures/anvil.js";

/**
 * The same network on a second EVM client: Foundry's Anvil. Lean on purpose (one epoch, one honest
 * trainer and one forger): enough to show the whole protocol, the forger's conviction included,
 * through separate daemon processes on a client other than Hardhat's.
 */
describe("devnet on Anvil", function () {
  this.timeout(300_000);

  it("plays the network with every daemon as its own OS process against Anvil: the forger is convicted, SDK errors decode", async () => {
    const node = await startAnvil({ lifetimeMs: 5 * 60_000 });
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    try {
      expect(await identifyChainClient(httpRequester(node.url))).to.include({
        name: "anvil",
        devClock: true,
      });
      const options = resolveDevnetOptions({
        epochs: 1,
        trainers: 2,
        cheaters: 1,
        absent: 0,
        validators: 3,
        rpc: node.url,
        inference: false,
      });
      const report = await runDevnet(
        options,
        { ...connection, mode: "multi-process", rpc: node.url },
        createDevnetUi({ json: true, quiet: true }),
      );
      expect(report.mode).to.equal("multi-process");
      expect(
        report.checks.filter((c) => !c.ok),
        JSON.stringify(report.checks),
      ).to.deep.equal([]);
      const honest = report.operators.find((o) => o.behaviour === "honest" && o.role === "trainer")!;
      expect(honest.challenges).to.deep.equal({ Valid: 1 });
      expect(BigInt(honest.rewards.credited) > 0n).to.equal(true);
      const forger = report.operators.find((o) => o.behaviour === "forger")!;
      expect(forger.challenges.Fraud).to.equal(1);
      expect(forger.jailed).to.equal(true);
      expect(BigInt(forger.slashed) > 0n).to.equal(true);
      expect(report.accounting.balanced).to.equal(true);

      // Anvil puts revert bytes at `error.data` (Hardhat at `error.data.data`): the SDK decodes both.
      const publicClient = await connection.viem.getPublicClient();
      const wallets = await connection.viem.getWalletClients();
      const client = createPoAIClient({
        publicClient,
        walletClient: wallets[19],
        deployment: parseDeployment(report.deployment),
      });
      let err: unknown;
      try {
        await client.staking.register({
          role: "trainer",
          stake: parseEther("10"),
          commissionBps: 0,
          maxCommissionBps: 0,
          endpoint: "",
          gpuClass: "",
        });
      } catch (e) {
        err = e;
      }
      expect(err, String(err)).to.be.instanceOf(PoAIContractError);
      expect((err as PoAIContractError).errorName).to.equal("StakeBelowMinimum");

      // Time: moved forward by one method on both clients, never back.
      const rpc = httpRequester(node.url);
      const now = await latestChainTime(rpc);
      expect(await advanceChainTime(rpc, now + 1000n)).to.equal(now + 1000n);
      expect(await advanceChainTime(rpc, now)).to.equal(now + 1000n);
    } finally {
      await connection.close();
      await node.stop();
    }
  });

  it("identifies Hardhat's chain, moves its clock the same way, and names a node whose clock cannot move", async () => {
    const connection = await network.create();
    try {
      expect(await identifyChainClient(connection.provider)).to.include({ name: "hardhat", devClock: true });
      const now = await latestChainTime(connection.provider);
      expect(await advanceChainTime(connection.provider, now + 3600n)).to.equal(now + 3600n);
    } finally {
      await connection.close();
    }
    const publicNode = {
      async request({ method }: { method: string }) {
        if (method === "eth_getBlockByNumber") return { timestamp: "0x10" };
        if (method === "web3_clientVersion") return "Geth/v1.14.0";
        throw new Error(`the method ${method} does not exist/is not available`);
      },
    };
    const err = await advanceChainTime(publicNode, 100n).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ChainClockError);
    expect((err as Error).message)
      .to.contain("Geth/v1.14.0")
      .and.to.contain("to 100");
  });
});
