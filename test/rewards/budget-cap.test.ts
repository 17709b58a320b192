import { expect } from "chai";
import { network } from "hardhat";
import { maxUint256, parseEther, parseEventLogs } from "viem";
import { deployStaking } from "../../scripts/lib/deploy.js";

/**
 * Points are read when a pool is credited. If an epoch's points stop adding up after its close
 * (points earned late, once governance lengthened the challenge windows), the naive share
 * budget * points / total pays out more than the budget, from other epochs' money. Credits take
 * remaining budget * points / remaining points, and all that is left when the points reach what
 * is left: a role's credits never exceed its budget, whatever the points say.
 */
describe("RewardDistributor: credits never exceed an epoch's budget", () => {
  it("gives the role's whole budget once when points add up to more than the total, and nothing after", async () => {
    const { viem, networkHelpers } = await network.create();
    const [admin, a, b] = await viem.getWalletClients();
    const s = await deployStaking(viem, { epochLength: 3600 });
    const oracle = await viem.deployContract("PointsOracle");
    const emission = parseEther("1000");
    const params = {
      gammaBps: 0,
      protocolCutBps: 0,
      nodeFeeBps: 7000,
      royaltyBps: 2000,
      noticeEpochs: 2,
      treasury: admin.account.address,
    };
    const distributor = await viem.deployContract("RewardDistributor", [
      s.staking.address,
      oracle.address,
      s.manager.address,
      emission,
      params,
    ]);
    await s.staking.write.setRewardDistributor([distributor.address]);
    for (const w of [a, b]) {
      await s.token.write.transfer([w.account.address, parseEther("10000")]);
      const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
      await token.write.approve([s.staking.address, maxUint256]);
      const staking = await viem.getContractAt("Staking", s.staking.address, { client: { wallet: w } });
      await staking.write.register([1, parseEther("5000"), 500, 2000, "http://127.0.0.1:1", "H100"]);
    }
    await s.token.write.approve([distributor.address, maxUint256]);
    await distributor.write.fund([parseEther("5000")]);

    // The epoch after the registrations is over and final, with every earlier one: each trainer
    // holds all of the role's points (they add up to twice the total).
    const registered = await s.staking.read.currentEpoch();
    const epoch = registered + 1n;
    await networkHelpers.time.increase(3 * 3600);
    for (let e = await distributor.read.nextEpochToClose(); e <= epoch; e++)
      await oracle.write.setFinal([e, true]);
    await oracle.write.setTotal([epoch, 1, 100n]);
    await oracle.write.setPoints([epoch, a.account.address, 100n]);
    await oracle.write.setPoints([epoch, b.account.address, 100n]);
    await distributor.write.closeEpochs([50n]);
    const budget = (await distributor.read.getEpoch([epoch])).trainerBudget;
    expect(budget > 0n).to.equal(true);
    expect(await s.staking.read.epochBudget([epoch, 1])).to.deep.equal([budget, 100n]);

    const client = await viem.getPublicClient();
    const credited = async (operator: `0x${string}`) => {
      const hash = await distributor.write.settle([operator, epoch]);
      const logs = (await client.getTransactionReceipt({ hash })).logs;
      return parseEventLogs({ abi: s.staking.abi, logs, eventName: "RewardCredited" })
        .filter((l) => l.args.epoch === epoch)
        .map((l) => l.args.amount);
    };
    expect(await credited(a.account.address)).to.deep.equal([budget]);
    // Nothing is left of the trainers' budget for b: it is credited nothing, not paid from elsewhere.
    expect(await credited(b.account.address)).to.deep.equal([]);
    expect(await s.staking.read.epochBudget([epoch, 1])).to.deep.equal([0n, 0n]);
    // Staking holds the stake, the budget it was funded and nothing else.
    const stake = parseEther("10000");
    expect(await s.token.read.balanceOf([s.staking.address])).to.equal(stake + budget);
    const reserve = await distributor.read.reserve();
    const carry = await distributor.read.carry();
    expect(await s.token.read.balanceOf([distributor.address])).to.equal(reserve + carry);
    expect(await distributor.read.totalForwarded()).to.equal(budget);
  });
});
