import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEther, type Address } from "viem";
import { createPoAIClient } from "@poai/sdk";
import { DeployError, deployWithIgnition, resolveNetworkParameters } from "../../scripts/lib/ignition.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { STAKING_SELECTORS } from "../../ignition/modules/Staking.js";
import { CHALLENGE_SELECTORS, REGISTRY_SELECTORS } from "../../ignition/modules/Challenges.js";
import { REWARD_COORDINATOR_SELECTORS, REWARD_GOVERNOR_SELECTORS } from "../../ignition/modules/Rewards.js";

describe("Ignition deployment", () => {
  it("deploys the whole suite in-process with the network's parameters and wires every role as deploy.ts does", async () => {
    const connection = await network.create();
    const [deployer] = await connection.viem.getWalletClients();
    const admin = getAddress(deployer.account.address);
    const params = resolveNetworkParameters(
      {
        PoAIStaking: { epochLength: 3600, minTrainerStake: "2000000000000000000000n" },
        PoAIRewards: { gammaBps: 1500 },
      },
      admin,
    );
    const book = await deployWithIgnition(connection, { parameters: params, network: "test" });
    expect(book.chainId).to.equal(31337);
    expect(book.parameters!.epochLength).to.equal("3600");
    expect(book.parameters!.commitWindow).to.equal("900"); // a quarter epoch
    expect(book.parameters!.gammaBps).to.equal("1500");
    const c = book.contracts;
    const publicClient = await connection.viem.getPublicClient();
    const client = createPoAIClient({ publicClient, deployment: book });
    const sp = await client.staking.getParams();
    expect(sp.minTrainerStake).to.equal(parseEther("2000"));
    expect(sp.minValidatorStake).to.equal(parseEther("500"));
    expect(await client.staking.epochStart({ epoch: 1n })).to.equal(
      (await client.staking.epochStart({ epoch: 0n })) + 3600n,
    );
    expect((await client.challenges.getChallengeParams()).commitWindow).to.equal(900);
    expect((await client.rewards.getRewardParams()).gammaBps).to.equal(1500);

    const manager = await connection.viem.getContractAt("PoAIAccessManager", c.accessManager);
    const roleOf = (target: Address, selector: `0x${string}`) =>
      manager.read.getTargetFunctionRole([target, selector]);
    expect(await roleOf(c.staking, STAKING_SELECTORS.slash)).to.equal(ROLES.SLASHER);
    expect(await roleOf(c.staking, STAKING_SELECTORS.slashAt)).to.equal(ROLES.SLASHER);
    for (const s of [
      STAKING_SELECTORS.setParams,
      STAKING_SELECTORS.addSlashSource,
      STAKING_SELECTORS.removeSlashSource,
      STAKING_SELECTORS.setRewardDistributor,
    ])
      expect(await roleOf(c.staking, s)).to.equal(ROLES.GOVERNOR);
    for (const s of REGISTRY_SELECTORS) expect(await roleOf(c.taskRegistry!, s)).to.equal(ROLES.GOVERNOR);
    for (const s of CHALLENGE_SELECTORS)
      expect(await roleOf(c.challengeManager!, s)).to.equal(ROLES.GOVERNOR);
    for (const s of REWARD_GOVERNOR_SELECTORS)
      expect(await roleOf(c.rewardDistributor!, s)).to.equal(ROLES.GOVERNOR);
    for (const s of REWARD_COORDINATOR_SELECTORS)
      expect(await roleOf(c.rewardDistributor!, s)).to.equal(ROLES.COORDINATOR);
    const has = async (role: bigint, who: Address) => (await manager.read.hasRole([role, who]))[0];
    expect(await has(ROLES.ADMIN, admin)).to.equal(true);
    for (const role of [ROLES.SLASHER, ROLES.GOVERNOR, ROLES.COORDINATOR])
      expect(await has(role, admin), `role ${role} of the deployer`).to.equal(true);
    expect(await has(ROLES.SLASHER, c.challengeManager!)).to.equal(true);
    // the distributor is connected to Staking (it funds closed epochs there): no role needed
    const staking = await connection.viem.getContractAt("Staking", c.staking);
    expect((await staking.read.rewardClock())[0]).to.equal(c.rewardDistributor);
    expect(await has(ROLES.GOVERNOR, c.challengeManager!)).to.equal(false);
  });

  it("deploys over an existing token when the parameters name one", async () => {
    const connection = await network.create();
    const [deployer] = await connection.viem.getWalletClients();
    const token = await connection.viem.deployContract("PlainERC20", [
      deployer.account.address,
      parseEther("5000"),
    ]);
    const params = resolveNetworkParameters(
      { ExternalToken: { address: token.address }, PoAIStaking: { epochLength: 600 } },
      deployer.account.address,
    );
    const book = await deployWithIgnition(connection, { parameters: params, network: "test" });
    expect(book.contracts.token).to.equal(getAddress(token.address));
    expect(book.parameters!.token).to.equal(getAddress(token.address));
    const staking = await connection.viem.getContractAt("Staking", book.contracts.staking);
    expect(getAddress(await staking.read.token())).to.equal(getAddress(token.address));
  });

  it("rejects a parameters file naming the field and the value", () => {
    const admin = "0x0000000000000000000000000000000000000001";
    const bad = (input: unknown, message: string) =>
      expect(() => resolveNetworkParameters(input, admin, "p.json"))
        .to.throw(DeployError)
        .with.property("message")
        .that.contains(message);
    bad(
      { PoAIStaking: { epochLength: "a day" } },
      "p.json: PoAIStaking.epochLength: expected a whole number",
    );
    bad({ PoAIStaking: { epochLength: "a day" } }, 'got "a day"');
    bad(
      { PoAIChallenges: { quorumBps: 70000 } },
      "PoAIChallenges.quorumBps: expected a whole number at most 65535, got 70000",
    );
    bad(
      { PoAIRewards: { treasury: "0x12" } },
      'PoAIRewards.treasury: expected an address (0x followed by 40 hex digits), got "0x12"',
    );
    bad(
      { PoAIStaking: { epochLenght: 60 } },
      "PoAIStaking: expected no other keys (unknown: epochLenght), got epochLenght: 60",
    );
    bad(
      { PoAIToken: {}, ExternalToken: { address: admin } },
      "either PoAIToken (a fresh token) or ExternalToken (an existing one), not both",
    );
  });
});
