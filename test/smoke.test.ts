import { expect } from "chai";
import { network } from "hardhat";

describe("PoAIToken", () => {
  it("mints the fixed supply to the holder at deployment", async () => {
    const { viem } = await network.create();
    const [holder] = await viem.getWalletClients();
    const token = await viem.deployContract("PoAIToken", [holder.account.address, 10n ** 27n]);
    expect(await token.read.totalSupply()).to.equal(10n ** 27n);
    expect(await token.read.balanceOf([holder.account.address])).to.equal(10n ** 27n);
  });
});
