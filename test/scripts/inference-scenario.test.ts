import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEther } from "viem";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import type { DevnetUi, DevnetWorld, WalletClient } from "../../scripts/lib/devnet/run.js";
import {
  SCENARIO_MODEL,
  SCENARIO_PRICE,
  runInferenceScenario,
} from "../../scripts/lib/inference-scenario.js";
import { containerIdOf, createPoAIClient, parseDeployment } from "../../sdk/src/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";

describe("devnet inference scenario", function () {
  this.timeout(120_000);

  it("serves the dApp from the honest trainers' nodes, disputes the rogue node's wrong answer and reports usage, fees and royalties", async () => {
    const connection = await network.create();
    const dataDir = mkdtempSync(path.join(tmpdir(), "poai-inference-scenario-"));
    try {
      const { viem, networkHelpers } = connection;
      const publicClient = await viem.getPublicClient();
      const wallets = await viem.getWalletClients();
      const [admin] = wallets;
      const d = await deployNetwork(viem, { epochLength: 3600 });
      const deployment = parseDeployment({
        chainId: await publicClient.getChainId(),
        deployBlock: 0n,
        contracts: contractsOf(d),
      });
      const behaviours = ["honest", "honest", "absent"];
      const trainers = behaviours.map((behaviour, i) => ({
        name: `trainer ${String.fromCharCode(65 + i)}`,
        wallet: wallets[1 + i]!,
        behaviour,
      }));
      const dapp = wallets[5]!;
      for (const w of [...trainers.map((t) => t.wallet), dapp]) {
        await d.token.write.transfer([w.account.address, parseEther("100000")]);
        const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
        await token.write.approve([d.staking.address, maxUint256]);
      }
      for (const t of trainers) {
        const staking = await viem.getContractAt("Staking", d.staking.address, {
          client: { wallet: t.wallet },
        });
        await staking.write.register([1, parseEther("5000"), 1000, 2000, "http://127.0.0.1:7101", "H100"]);
      }
      const steps: string[] = [];
      const ui: DevnetUi = {
        step: (title, lines = []) => steps.push(title, ...lines),
        progress: () => ({ tick: (detail) => steps.push(detail), stop: () => undefined }),
      };
      const world: DevnetWorld = {
        viem,
        networkHelpers,
        deployed: d,
        deployment,
        wallets,
        admin: admin!,
        trainers,
        dapp,
        clientOf: (w: WalletClient) => createPoAIClient({ publicClient, walletClient: w, deployment }),
        dataDir,
        logLevel: "silent",
        backend: "js",
      };

      const summary = await runInferenceScenario(world, ui);

      // 4 classifications + 1 verified + 3 recurring intervals, each delivered once.
      expect(summary.requests).to.equal(8);
      expect(summary.deliveries).to.equal(8);
      // The rogue node's wrong answer is proven and slashed; its delivery is not paid or counted.
      expect(summary.disputes).to.have.length(1);
      expect(summary.disputes[0]!.outcome).to.contain("proven wrong");
      expect(BigInt(summary.disputes[0]!.slashed) > 0n).to.equal(true);
      const honest = new Set(trainers.slice(0, 2).map((t) => getAddress(t.wallet.account.address)));
      expect(summary.usage.every((u) => honest.has(getAddress(u.node)))).to.equal(true);
      expect(summary.usage.every((u) => u.containerId === containerIdOf(SCENARIO_MODEL))).to.equal(true);
      const delivered = summary.usage.reduce((n, u) => n + u.deliveries, 0);
      expect(delivered).to.equal(7);
      expect(BigInt(summary.payments)).to.equal(SCENARIO_PRICE * 7n);
      // Both honest trainers served; the model's trainer earned royalties in the RewardDistributor.
      expect(new Set(summary.usage.map((u) => getAddress(u.node))).size).to.equal(2);
      const p = await d.distributor.read.params();
      expect(BigInt(summary.royalties)).to.equal((SCENARIO_PRICE * BigInt(p.royaltyBps) * 7n) / 10_000n);
      const modelTrainer = getAddress(trainers[0]!.wallet.account.address);
      // the fees went to the pools for the epoch they were flushed in (credited once it closes)
      const feeEpoch = await d.staking.read.currentEpoch();
      expect((await d.staking.read.poolRewardAt([modelTrainer, feeEpoch])) > 0n).to.equal(true);
      expect(summary.lines.join("\n")).to.contain("disputed with the checkpoint");
      expect(JSON.parse(JSON.stringify(summary))).to.deep.equal(summary);
      expect(steps).to.include("Inference: the dApp's requests are served");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await connection.close();
    }
  });
});
