import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEther, zeroAddress, zeroHash, type Address } from "viem";
import { createPoAIClient } from "@poai/sdk";
import { DeployError, deployWithIgnition, resolveNetworkParameters } from "../../scripts/lib/ignition.js";
import { ROLES, accountRoles, roleHolders } from "../../scripts/lib/roles.js";
import { SCORE_GAME_MOVES } from "../../scripts/lib/deploy-disputes.js";
import { STAKING_SELECTORS } from "../../ignition/modules/Staking.js";
import {
  CHALLENGE_SELECTORS,
  OVERRULE_SELECTOR,
  REGISTRY_SELECTORS,
} from "../../ignition/modules/Challenges.js";
import { REWARD_COORDINATOR_SELECTORS, REWARD_GOVERNOR_SELECTORS } from "../../ignition/modules/Rewards.js";

describe("Ignition deployment", () => {
  it("deploys the whole suite with the network's parameters; governance ends with the timelock and the deployer holds no role", async () => {
    // Catches the old wiring: the deployer kept ADMIN, SLASHER, GOVERNOR, REWARDER and COORDINATOR
    // with no delay, so one key could raise the slash fraction and slash in one block.
    const connection = await network.create();
    const [deployer, proposer] = await connection.viem.getWalletClients();
    const admin = getAddress(deployer.account.address);
    const params = resolveNetworkParameters(
      {
        PoAIStaking: { epochLength: 3600, minTrainerStake: "2000000000000000000000n" },
        PoAIRewards: { gammaBps: 1500 },
        PoAIGovernance: { devGovernor: false, proposers: [proposer.account.address] },
      },
      admin,
      { chainId: 31337 },
    );
    expect(params.mode).to.equal("timelock");
    const book = await deployWithIgnition(connection, { parameters: params, network: "test" });
    expect(book.chainId).to.equal(31337);
    expect(book.parameters!.epochLength).to.equal("3600");
    expect(book.parameters!.commitWindow).to.equal("900"); // a quarter epoch
    expect(book.parameters!.gammaBps).to.equal("1500");
    expect(book.parameters!.minDelay).to.equal(String(2 * 86_400));
    expect(book.parameters!.stakeGuardDelay).to.equal(String(7 * 86_400 + 3600)); // unbonding + one epoch
    const c = book.contracts;
    const publicClient = await connection.viem.getPublicClient();
    const client = createPoAIClient({ publicClient, deployment: book });
    await client.verifyDeployment();
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
    expect(await roleOf(c.staking, STAKING_SELECTORS.slashTo)).to.equal(ROLES.SLASHER);
    expect(await roleOf(c.staking, STAKING_SELECTORS.pardon)).to.equal(ROLES.SLASHER);
    expect(await roleOf(c.staking, STAKING_SELECTORS.lockHolds)).to.equal(ROLES.SLASHER);
    // only a dispute game granted DISPUTES overrules a verdict (none is deployed: nobody holds it)
    expect(await roleOf(c.challengeManager!, OVERRULE_SELECTOR)).to.equal(ROLES.DISPUTES);
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

    // Every role's holders, read back from the AccessManager's events.
    const holders = await roleHolders(publicClient, c.accessManager);
    // Holders in address order: the order of grants within one Ignition batch is not fixed.
    const sorted = (xs: (string | undefined)[]) => [...xs].sort();
    expect(
      Object.fromEntries([...holders].filter(([, m]) => m.length > 0).map(([k, m]) => [k, sorted(m)])),
    ).to.deep.equal({
      [String(ROLES.ADMIN)]: [c.timelock],
      [String(ROLES.GOVERNOR)]: [c.timelock],
      // the ChallengeManager (fraud), the PoAIVerifier (a wrong inference output), FederatedJobs
      // (repeated deviation) and the ScoreGame (a disproven reported accuracy)
      [String(ROLES.SLASHER)]: sorted([c.challengeManager, c.poaiVerifier, c.federatedJobs, c.scoreGame]),
      // the Coordinator reports usage fees to the RewardDistributor
      [String(ROLES.COORDINATOR)]: [c.coordinator],
      // the JobRegistry registers job specs and job models, credits job payments, splits royalties
      // and FederatedJobs credits round payments
      [String(ROLES.JOBS)]: sorted([c.jobRegistry, c.federatedJobs]),
    });
    const challenges = await connection.viem.getContractAt("ChallengeManager", c.challengeManager!);
    expect(await challenges.read.jobBoard()).to.equal(c.jobRegistry);
    // the score game decides disputes of the job runs' reported accuracy, its inference game bound
    const jobs = await connection.viem.getContractAt("JobRegistry", c.jobRegistry!);
    expect(await jobs.read.scoreGame()).to.equal(c.scoreGame);
    const scoreGame = await connection.viem.getContractAt("ScoreGame", c.scoreGame!);
    expect(await scoreGame.read.inference()).to.equal(c.scoreInferenceGame);
    // The distributor is connected to Staking (it funds closed epochs there): no role needed.
    const staking = await connection.viem.getContractAt("Staking", c.staking);
    expect((await staking.read.rewardClock())[0]).to.equal(c.rewardDistributor);
    expect(await accountRoles(publicClient, holders)).to.deep.equal([]);
    const has = async (role: bigint, who: Address) => (await manager.read.hasRole([role, who]))[0];
    for (const role of Object.values(ROLES))
      expect(await has(role, admin), `role ${role} of the deployer`).to.equal(false);
    const timelock = await connection.viem.getContractAt("PoAITimelock", c.timelock!);
    expect(await timelock.read.getMinDelay()).to.equal(2n * 86_400n);
    expect(
      await timelock.read.hasRole([await timelock.read.PROPOSER_ROLE(), proposer.account.address]),
    ).to.equal(true);
    expect(await timelock.read.hasRole([await timelock.read.EXECUTOR_ROLE(), zeroAddress])).to.equal(true);
    // The stake guard: a new slasher, or Staking's re-wiring, waits longer than the unbonding period.
    expect(await manager.read.getRoleGrantDelay([ROLES.SLASHER])).to.equal(7 * 86_400 + 3600);
    expect(await manager.read.getTargetAdminDelay([c.staking])).to.equal(7 * 86_400 + 3600);

    // The inference game, deployed over the PoAIVerifier and wired to it: the verifier's slash
    // window (which Staking reads live) covers the longest game and stays under the unbonding period.
    const verifier = await connection.viem.getContractAt("PoAIVerifier", c.poaiVerifier!);
    const game = await connection.viem.getContractAt("InferenceDisputeGame", c.inferenceDisputeGame!);
    expect(getAddress(await verifier.read.game())).to.equal(c.inferenceDisputeGame);
    expect(getAddress(await game.read.host())).to.equal(c.poaiVerifier);
    expect(await game.read.moveTimeout()).to.equal(BigInt(book.parameters!.gameMoveTimeout));
    expect(book.parameters!.gameMoveTimeout).to.equal("3600");
    const window = await verifier.read.slashWindow();
    expect(window >= 3600n + (await game.read.maxDuration())).to.equal(true);
    expect(window < BigInt(sp.unbondingPeriod)).to.equal(true);
    // an opening goes to the game: it is refused only because there is no such delivery (without
    // the wiring: GameNotSet)
    let refusal = "";
    await verifier.simulate.disputeByGame([1, 1, admin, zeroHash, "0x", "0x"]).catch((err: Error) => {
      refusal = err.message;
    });
    expect(refusal).to.match(/NotPending/);
  });

  it("picks a move timeout for the inference game that keeps the verifier's slash window under the unbonding period", () => {
    // a short local unbonding period: epoch 3600 s, unbonding 21600 s, dispute window 8999 s
    const local = resolveNetworkParameters(
      { PoAIStaking: { epochLength: 3600, unbondingPeriod: 21600 } },
      zeroAddress,
      { chainId: 31337 },
    );
    const timeout = BigInt(local.flat.gameMoveTimeout);
    expect(timeout).to.equal((21600n - 3600n - BigInt(local.flat.disputeWindow) - 1n) / 48n);
    expect(3600n + BigInt(local.flat.disputeWindow) + 48n * timeout < 21600n).to.equal(true);
  });

  it("picks score game settings whose slash window Staking's unbonding period outlasts, else a score game that slashes nobody", () => {
    const resolved = (epochLength: number, unbondingPeriod: number) => {
      const r = resolveNetworkParameters({ PoAIStaking: { epochLength, unbondingPeriod } }, zeroAddress, {
        chainId: 31337,
      });
      const f = r.flat;
      const challengeWindow =
        (1n + BigInt(f.maxExtensions)) * BigInt(epochLength) +
        BigInt(f.commitWindow) +
        BigInt(f.revealWindow) +
        BigInt(f.finalizeGrace);
      const window =
        challengeWindow + BigInt(f.scoreOpenWindow) + SCORE_GAME_MOVES * BigInt(f.scoreMoveTimeout);
      return { f, window };
    };
    // one-day epochs, a 7-day unbonding: the defaults (ten minutes a move, half an epoch to open)
    const day = resolved(86_400, 7 * 86_400);
    expect([day.f.scoreMoveTimeout, day.f.scoreOpenWindow, day.f.scoreSlashFraction]).to.deep.equal([
      "600",
      "43200",
      String(10n ** 17n),
    ]);
    expect(day.window < 7n * 86_400n).to.equal(true);
    // a tighter unbonding: shorter moves and window that still fit
    const tight = resolved(3600, 30_000);
    expect(BigInt(tight.f.scoreMoveTimeout) >= 60n && BigInt(tight.f.scoreMoveTimeout) < 600n).to.equal(true);
    expect(tight.window < 30_000n).to.equal(true);
    expect(tight.f.scoreSlashFraction).to.equal(String(10n ** 17n));
    // nothing fits: the score game slashes nobody (its slash window is zero)
    expect(resolved(3600, 21_600).f.scoreSlashFraction).to.equal("0");
  });

  it("keeps the deployer GOVERNOR on a local chain only (the development fast path), nothing else", async () => {
    const connection = await network.create();
    const [deployer] = await connection.viem.getWalletClients();
    const admin = getAddress(deployer.account.address);
    const params = resolveNetworkParameters({ PoAIStaking: { epochLength: 600 } }, admin, { chainId: 31337 });
    expect(params.mode).to.equal("devGovernor");
    const book = await deployWithIgnition(connection, { parameters: params, network: "test" });
    const publicClient = await connection.viem.getPublicClient();
    const holders = await roleHolders(publicClient, book.contracts.accessManager);
    expect(holders.get(ROLES.GOVERNOR)).to.have.members([book.contracts.timelock, admin]);
    expect(holders.get(ROLES.ADMIN)).to.deep.equal([book.contracts.timelock]);
    expect(await accountRoles(publicClient, holders)).to.deep.equal([{ role: "GOVERNOR", account: admin }]);
    expect(book.parameters!.governance).to.equal("devGovernor");
    expect(book.parameters!.proposers).to.equal(admin); // the deployer proposes, locally
    expect(book.parameters!.treasury).to.equal(admin);
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
      { chainId: 31337 },
    );
    const book = await deployWithIgnition(connection, { parameters: params, network: "test" });
    expect(book.contracts.token).to.equal(getAddress(token.address));
    expect(book.parameters!.token).to.equal(getAddress(token.address));
    const staking = await connection.viem.getContractAt("Staking", book.contracts.staking);
    expect(getAddress(await staking.read.token())).to.equal(getAddress(token.address));
  });

  it("rejects a parameters file naming the field and the value", () => {
    const admin = "0x0000000000000000000000000000000000000001";
    const bad = (input: unknown, message: string, chainId = 31337) =>
      expect(() => resolveNetworkParameters(input, admin, { chainId, label: "p.json" }))
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
    // No parameter gives an account a role any more: roles go to contracts and the timelock.
    bad({ PoAIStaking: { slasher: admin } }, "PoAIStaking: expected no other keys (unknown: slasher)");
    bad(
      { PoAIRewards: { coordinator: admin } },
      "PoAIRewards: expected no other keys (unknown: coordinator)",
    );
    bad(
      { PoAIGovernance: { minDelay: 3600 } },
      "PoAIGovernance.minDelay: expected at least 172800 seconds (2 days), got 3600",
    );
    bad(
      { PoAIStaking: { unbondingPeriod: 86_400 }, PoAIGovernance: { stakeGuardDelay: 3600 } },
      "PoAIGovernance.stakeGuardDelay must be at least PoAIStaking.unbondingPeriod (86400 s), got 3600",
    );
    bad({ PoAIGovernance: { proposers: [] } }, "PoAIGovernance.proposers: expected at least one proposer");
    // A public chain: the proposers and the treasury are named, never defaulted to the deployer.
    bad({ PoAIRewards: { treasury: admin } }, "PoAIGovernance.proposers is required on chain 8453", 8453);
    bad({ PoAIGovernance: { proposers: [admin] } }, "PoAIRewards.treasury is required on chain 8453", 8453);
    expect(
      resolveNetworkParameters({}, admin, { chainId: 8453, allowEoaRoles: true }).holders,
    ).to.have.length(1);
  });
});
