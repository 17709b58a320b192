import { expect } from "chai";
import { network } from "hardhat";
import { maxUint256, parseEther } from "viem";
import { deployStaking } from "../../scripts/lib/deploy.js";
import { ROLES } from "../../scripts/lib/roles.js";

/**
 * Points are read at settlement. If an epoch's points stop adding up after its close (points
 * earned late, once governance lengthened the challenge windows), the naive share
 * budget * points / total pays out more than the budget, from other epochs' money, and `expire`
 * then underflows. Settlements are capped at what is left of the role's budget.
 */
describe("RewardDistributor: settlements never exceed an epoch's budget", () => {
  it("caps the shares of points that add up to more than the total, and still expires the epoch", async () => {
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
      settleWindow: 1,
      treasury: admin.account.address,
    };
    const distributor = await viem.deployContract("RewardDistributor", [
      s.staking.address,
      oracle.address,
      s.manager.address,
      emission,
      params,
    ]);
    await s.manager.write.grantRole([ROLES.REWARDER, distributor.address, 0]);
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

    await distributor.write.settle([a.account.address, epoch]);
    // Nothing is left of the trainers' budget for b: its settlement is refused, not paid from elsewhere.
    await viem.assertions.revertWithCustomErrorWithArgs(
      distributor.write.settle([b.account.address, epoch]),
      distributor,
      "NothingToSettle",
      [epoch, b.account.address],
    );
    const after = await distributor.read.getEpoch([epoch]);
    expect(after.trainerSettled).to.equal(after.trainerBudget);
    expect(await distributor.read.totalForwarded()).to.equal(budget);
    const reserve = await distributor.read.reserve();
    const carry = await distributor.read.carry();
    expect(await s.token.read.balanceOf([distributor.address])).to.equal(reserve + carry);

    // The epoch expires after its settle window without underflow.
    await networkHelpers.time.increase(3 * 3600);
    await distributor.write.expire([epoch]);
    expect((await distributor.read.getEpoch([epoch])).expired).to.equal(true);
  });
});
