import { expect } from "chai";
import { network } from "hardhat";
import { parseEther } from "viem";
import { deployStaking } from "../../scripts/lib/deploy.js";

describe("Staking quick", () => {
  it("registers, delegates, rewards and claims", async () => {
    const { viem, networkHelpers } = await network.create();
    const d = await deployStaking(viem);
    const [admin, op, del] = await viem.getWalletClients();
    for (const w of [op, del]) await d.token.write.transfer([w.account.address, parseEther("100000")]);
    const tok = (w: typeof op) => viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
    const stk = (w: typeof op) => viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } });
    await (await tok(op)).write.approve([d.staking.address, parseEther("100000")]);
    await (await stk(op)).write.register([1, parseEther("2000"), 1000, 2000, "http://x", "H100"]);
    await (await tok(del)).write.approve([d.staking.address, parseEther("100000")]);
    await (await stk(del)).write.delegate([op.account.address, parseEther("3000")]);
    await networkHelpers.time.increase(86400);
    await d.token.write.approve([d.staking.address, parseEther("1000")]);
    await d.staking.write.notifyReward([op.account.address, parseEther("100")]);
    const pos = await d.staking.read.getPosition([del.account.address, op.account.address]);
    const own = await d.staking.read.getPosition([op.account.address, op.account.address]);
    console.log(pos, own);
    expect(pos.claimable).to.equal(parseEther("54"));
    expect(own.claimable).to.equal(parseEther("46"));
    const lens = await d.lens.read.getOperators([0n, 10n]);
    console.log(lens);
    void admin;
  });
});
