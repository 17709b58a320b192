/**
 * Governance of a network deployed by `poai deploy`: no key acts alone or at once. Parameter
 * changes run only through the `PoAITimelock`, at least 2 days after they were scheduled; a slasher
 * added by governance takes effect only after the stake guard, so a delegator who sees it
 * scheduled leaves first; a deployment to a public chain refuses, before anything is sent, to leave
 * an account with a role unless told so explicitly. Real Ignition deployments on the in-process
 * chain.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, parseEther, zeroHash, type Address, type Hex } from "viem";
import { getTransactionCount } from "viem/actions";
import {
  createPoAIClient,
  parseDeployment,
  poaiAccessManagerAbi,
  stakingAbi,
  type PoAIDeployment,
} from "@poai/sdk";
import { runCli } from "../../scripts/cli/main.js";
import { deployWithIgnition, resolveNetworkParameters } from "../../scripts/lib/ignition.js";
import { ROLES, roleHolders } from "../../scripts/lib/roles.js";
import { accountKey } from "../fixtures/hardhat-node.js";

type Connection = Awaited<ReturnType<typeof network.create>>;
const DAY = 86_400n;

async function revertOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as Error).message);
  }
  throw new Error("expected a revert");
}

describe("governance of a deployed network", function () {
  this.timeout(180_000);

  /** Deploys with the timelock taking over, account 1 proposing; returns the book and helpers. */
  async function governed(connection: Connection) {
    const [deployer, proposer] = await connection.viem.getWalletClients();
    const parameters = resolveNetworkParameters(
      {
        PoAIStaking: { epochLength: 3600 },
        PoAIGovernance: { devGovernor: false, proposers: [proposer!.account.address] },
      },
      getAddress(deployer!.account.address),
      { chainId: 31337 },
    );
    const book = await deployWithIgnition(connection, { parameters, network: "test" });
    const c = book.contracts;
    const timelock = await connection.viem.getContractAt("PoAITimelock", c.timelock!, {
      client: { wallet: proposer! },
    });
    /** Schedules `data` on `target` through the timelock (as the proposer); returns how to execute it. */
    const schedule = async (target: Address, data: Hex, salt: Hex = zeroHash) => {
      await timelock.write.schedule([target, 0n, data, zeroHash, salt, 2n * DAY]);
      return () => timelock.write.execute([target, 0n, data, zeroHash, salt]);
    };
    return { book, c, deployer: deployer!, proposer: proposer!, timelock, schedule };
  }

  it("runs a parameter change only through the timelock, and not before 2 days have passed", async () => {
    // Catches the old deployment: the deployer set the slash fraction and the finder's fee itself,
    // at once.
    const connection = await network.create();
    const { book, c, deployer, schedule } = await governed(connection);
    const staking = await connection.viem.getContractAt("Staking", c.staking);
    const params = await staking.read.params();
    const raised = { ...params, maxSlashFraction: parseEther("1"), finderFeeBps: 5000 };
    expect(await revertOf(staking.write.setParams([raised], { account: deployer.account }))).to.contain(
      "AccessManagedUnauthorized",
    );
    const execute = await schedule(
      c.staking,
      encodeFunctionData({ abi: stakingAbi, functionName: "setParams", args: [raised] }),
    );
    await connection.networkHelpers.time.increase(2n * DAY - 10n);
    expect(await revertOf(execute())).to.contain("TimelockUnexpectedOperationState");
    await connection.networkHelpers.time.increase(10n);
    await execute();
    expect((await staking.read.params()).finderFeeBps).to.equal(5000);
    expect(book.parameters!.governance).to.equal("timelock");
  });

  it("refuses a timelock delay under 2 days, at deployment and through updateDelay", async () => {
    const connection = await network.create();
    const [deployer] = await connection.viem.getWalletClients();
    expect(
      await revertOf(
        connection.viem.deployContract("PoAITimelock", [
          DAY,
          [deployer!.account.address],
          [deployer!.account.address],
        ]),
      ),
    ).to.contain("DelayTooShort");
    const { timelock, schedule } = await governed(connection);
    const shorten = await schedule(
      timelock.address,
      encodeFunctionData({ abi: timelock.abi, functionName: "updateDelay", args: [DAY] }),
    );
    await connection.networkHelpers.time.increase(2n * DAY);
    expect(await revertOf(shorten())).to.contain("DelayTooShort"); // the call inside reverts
    expect(await timelock.read.getMinDelay()).to.equal(2n * DAY);
  });

  it("lets a delegator leave before a slasher added by governance can act (the stake guard)", async () => {
    // Catches a guard that is not in force from the deployment on, or shorter than unbonding: the
    // new slasher would take the delegator's unbonding stake.
    const connection = await network.create();
    const { c, book, schedule } = await governed(connection);
    const wallets = await connection.viem.getWalletClients();
    const [operator, delegator, attacker] = [wallets[3]!, wallets[4]!, wallets[5]!];
    const publicClient = await connection.viem.getPublicClient();
    const client = (w: (typeof wallets)[number]) =>
      createPoAIClient({ publicClient, walletClient: w, deployment: book });
    const token = await connection.viem.getContractAt("PoAIToken", c.token);
    for (const w of [operator, delegator])
      await token.write.transfer([w.account.address, parseEther("5000")]);
    const op = client(operator);
    await op.waitForTransaction(await op.token.approve({ amount: parseEther("2000") }));
    await op.waitForTransaction(
      await op.staking.register({
        role: "trainer",
        stake: parseEther("2000"),
        commissionBps: 500,
        maxCommissionBps: 2000,
        endpoint: "",
        gpuClass: "",
      }),
    );
    const d = client(delegator);
    await d.waitForTransaction(await d.token.approve({ amount: parseEther("1000") }));
    await d.waitForTransaction(
      await d.staking.delegate({ operator: operator.account.address, amount: parseEther("1000") }),
    );

    // Governance schedules a new slasher; the delegator sees CallScheduled and undelegates at once.
    const grant = await schedule(
      c.accessManager,
      encodeFunctionData({
        abi: poaiAccessManagerAbi,
        functionName: "grantRole",
        args: [ROLES.SLASHER, attacker.account.address, 0],
      }),
    );
    await d.waitForTransaction(
      await d.staking.undelegate({
        operator: operator.account.address,
        shares: (
          await d.staking.getPosition({
            owner: delegator.account.address,
            operator: operator.account.address,
          })
        ).shares,
      }),
    );
    await connection.networkHelpers.time.increase(2n * DAY);
    await grant();
    const staking = await connection.viem.getContractAt("Staking", c.staking, {
      client: { wallet: attacker },
    });
    const slash = () => staking.write.slash([operator.account.address, parseEther("0.5"), [], false]);
    expect(await revertOf(slash()), "the new slasher is not in force yet").to.contain(
      "AccessManagedUnauthorized",
    );

    // The unbonding period (7 days, to the next epoch boundary) ends before the guard (7 days + 1 epoch).
    const entries = await d.staking.getUnbonding({ owner: delegator.account.address });
    await connection.networkHelpers.time.increaseTo(BigInt(entries[0]!.maturity));
    const before = await d.token.getBalance({ owner: delegator.account.address });
    await d.waitForTransaction(await d.staking.withdraw({}));
    expect((await d.token.getBalance({ owner: delegator.account.address })) - before).to.equal(
      parseEther("1000"),
    );
    expect(await revertOf(slash()), "still not in force when the delegator is out").to.contain(
      "AccessManagedUnauthorized",
    );

    // Only after the guard does the new slasher act, on what stayed.
    await connection.networkHelpers.time.increase(7n * DAY + 3600n);
    await slash();
    const holders = await roleHolders(publicClient, c.accessManager);
    expect(holders.get(ROLES.SLASHER)).to.have.members([
      c.challengeManager,
      c.poaiVerifier,
      c.federatedJobs,
      c.scoreGame,
      getAddress(attacker.account.address),
    ]);
  });

  describe("poai deploy on a public chain", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), "poai-governance-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const deploy = async (
      connection: Connection,
      name: string,
      parameters: unknown,
      extra: string[] = [],
    ) => {
      const file = path.join(dir, `${name}.params.json`);
      writeFileSync(file, JSON.stringify(parameters));
      let out = "";
      let err = "";
      const code = await runCli(
        [
          "deploy",
          "--network",
          name,
          "--parameters",
          file,
          "--deployment",
          path.join(dir, `${name}.json`),
          "--journal",
          path.join(dir, name),
          ...extra,
        ],
        {
          env: { POAI_PRIVATE_KEY: accountKey(0) },
          stdout: (s) => (out += s),
          stderr: (s) => (err += s),
          connection,
        },
      );
      return {
        code,
        out,
        err,
        book: () =>
          parseDeployment(JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8"))) as PoAIDeployment,
      };
    };

    it("refuses, before sending anything, to leave an account with a role; deploys with a contract proposer; deploys with one only when told --unsafe-allow-eoa-roles", async () => {
      // Catches the old `poai deploy`: on any chain, it left the deployer key with every role.
      const connection = await network.create({ override: { chainId: 8453 } });
      const [deployer] = await connection.viem.getWalletClients();
      const me = getAddress(deployer!.account.address);
      const publicClient = await connection.viem.getPublicClient();
      const sent = () => getTransactionCount(publicClient, { address: me });

      const missing = await deploy(connection, "a", { PoAIRewards: { treasury: me } });
      expect(missing.code).to.equal(1);
      expect(missing.err).to.contain("PoAIGovernance.proposers is required on chain 8453");

      const eoa = await deploy(connection, "b", {
        PoAIRewards: { treasury: me },
        PoAIGovernance: { proposers: [me] },
      });
      expect(eoa.code).to.equal(1);
      expect(eoa.err).to.contain(
        `refusing to deploy to chain 8453: it would leave an externally owned account (no contract code) with a role: PoAIGovernance.proposers[0] ${me}`,
      );
      expect(eoa.err).to.contain("--unsafe-allow-eoa-roles");
      expect(await sent(), "nothing was sent").to.equal(0);

      // A contract as the proposer (a multisig's stand-in: any contract holds code).
      const multisig = await connection.viem.deployContract("PlainERC20", [me, 1n]);
      const good = await deploy(connection, "c", {
        PoAIRewards: { treasury: multisig.address },
        PoAIGovernance: { proposers: [multisig.address] },
      });
      expect(good.code, good.err).to.equal(0);
      expect(good.out).to.not.contain("WARNING");
      expect(good.out).to.not.contain("DEVELOPMENT FAST PATH");
      const holders = await roleHolders(publicClient, good.book().contracts.accessManager);
      for (const members of holders.values()) expect(members).to.not.include(me);

      const unsafe = await deploy(
        connection,
        "d",
        { PoAIRewards: { treasury: me }, PoAIGovernance: { proposers: [me] } },
        ["--unsafe-allow-eoa-roles"],
      );
      expect(unsafe.code, unsafe.err).to.equal(0);
      expect(unsafe.out).to.contain(
        `WARNING: PoAIGovernance.proposers[0] ${me} is an account (no contract code)`,
      );
    });
  });
});
