/**
 * Gas of the reward layer: funding, closing an epoch, settling operators' shares, and a
 * delegator's claim after 1, 100 and 1,000 reward epochs (constant: O(1)).
 */
import { network } from "hardhat";
import { maxUint256, parseEther } from "viem";
import { deployStaking, type NetworkDeployment } from "../scripts/lib/deploy.js";
import { auditedRound } from "./poai.js";

const DAY = 86_400;

export async function runRewardsGasBench(
  options: { epochs?: number[] } = {},
): Promise<Record<string, number>> {
  const results: Record<string, number> = {};

  // A real round judged by the challenge manager, then the distributor.
  const round = await auditedRound(3, 2, false, true);
  const d = round.d as NetworkDeployment;
  await d.token.write.approve([d.distributor.address, maxUint256]);
  await d.distributor.write.fund([parseEther("1000")]);
  results["RewardDistributor.fund"] = await round.gas(d.distributor.write.fund([parseEther("1000")]));
  const closesAt = await d.challenges.read.epochClosesAt([round.r]);
  await round.networkHelpers.time.increaseTo(closesAt + 1n);
  results["RewardDistributor.closeEpochs.2epochs"] = await round.gas(d.distributor.write.closeEpochs([10n]));
  const [t0, t1] = round.ts.map((w) => w.account.address);
  const [v0, v1] = round.vs.map((w) => w.account.address);
  results["RewardDistributor.settle.first"] = await round.gas(d.distributor.write.settle([t0, round.r]));
  results["RewardDistributor.settle"] = await round.gas(d.distributor.write.settle([t1, round.r]));
  await round.gas(d.distributor.write.settle([v0, round.r]));
  results["RewardDistributor.settle.validator"] = await round.gas(d.distributor.write.settle([v1, round.r]));
  await d.distributor.write.notifyUsage([t0, t1, parseEther("10")]);
  results["RewardDistributor.notifyUsage"] = await round.gas(
    d.distributor.write.notifyUsage([t0, t1, parseEther("10")]),
  );
  results["RewardDistributor.settleFees"] = await round.gas(d.distributor.write.settleFees([t0]));

  // A delegator's claim after 1, 100 and 1,000 epochs of rewards.
  for (const n of options.epochs ?? [1, 100, 1000]) {
    const { viem, networkHelpers } = await network.create();
    const publicClient = await viem.getPublicClient();
    const s = await deployStaking(viem, { epochLength: DAY });
    const [, op, del] = await viem.getWalletClients();
    const as = async (w: typeof op) => ({
      token: await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } }),
      staking: await viem.getContractAt("Staking", s.staking.address, { client: { wallet: w } }),
    });
    for (const w of [op, del]) {
      await s.token.write.transfer([w.account.address, parseEther("10000")]);
      await (await as(w)).token.write.approve([s.staking.address, maxUint256]);
    }
    await s.token.write.approve([s.staking.address, maxUint256]);
    await (await as(op)).staking.write.register([1, parseEther("5000"), 500, 2000, "", ""]);
    await (await as(del)).staking.write.delegate([op.account.address, parseEther("1000")]);
    for (let e = 0; e < n; e++) {
      await networkHelpers.time.increase(DAY);
      await s.staking.write.notifyReward([op.account.address, parseEther("1")]);
    }
    const hash = await (await as(del)).staking.write.claim([op.account.address]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    results[`Staking.claim@${n}epochs`] = Number(receipt.gasUsed);
  }
  return results;
}
