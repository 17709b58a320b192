import { expect } from "chai";
import { network } from "hardhat";
import { createPoAIClient, type PoAIClient } from "@poai/sdk";
import { parseEther } from "viem";
import { toAddressBook } from "../../scripts/lib/address-book.js";
import * as cmd from "../../scripts/cli/commands.js";
import { DAY, stakingFixture } from "../fixtures/staking.js";

describe("operator commands", () => {
  it("run the operator and delegator life cycle and explain every mistake", async () => {
    const { viem, networkHelpers } = await network.create();
    const f = await stakingFixture(viem);
    const publicClient = await viem.getPublicClient();
    const book = toAddressBook("test", await publicClient.getChainId(), 0n, f);
    const clientOf = (i: number): PoAIClient =>
      createPoAIClient({ publicClient, walletClient: f.wallets[i], deployment: book });
    const [admin, operator, delegator] = [clientOf(0), clientOf(1), clientOf(2)];
    const A = f.wallets[1].account.address;
    const rejects = async (p: Promise<unknown>, message: string) => {
      const err = await p.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, `expected an error containing "${message}"`).to.be.instanceOf(cmd.OperatorCommandError);
      expect(err!.message).to.contain(message);
    };

    await rejects(
      cmd.register(operator, {
        role: "miner",
        stake: parseEther("2000"),
        commissionBps: 500,
        maxCommissionBps: 2000,
        endpoint: "",
        gpuClass: "",
      }),
      "--role must be trainer or validator",
    );
    await rejects(
      cmd.register(operator, {
        role: "trainer",
        stake: parseEther("10"),
        commissionBps: 500,
        maxCommissionBps: 2000,
        endpoint: "",
        gpuClass: "",
      }),
      "below the trainer minimum 1,000 POAI",
    );
    const out = await cmd.register(operator, {
      role: "trainer",
      stake: parseEther("2000"),
      commissionBps: 500,
      maxCommissionBps: 2000,
      endpoint: "http://127.0.0.1:7101",
      gpuClass: "H100",
    });
    expect(out.lines.at(-1)).to.match(/^registered 0x[0-9a-fA-F]{40} as trainer with 2,000 POAI/);
    await rejects(
      cmd.register(operator, {
        role: "trainer",
        stake: parseEther("2000"),
        commissionBps: 500,
        maxCommissionBps: 2000,
        endpoint: "",
        gpuClass: "",
      }),
      "already registered",
    );

    await rejects(
      cmd.delegate(delegator, { operator: f.wallets[5].account.address, amount: parseEther("1") }),
      "is not a registered operator",
    );
    await rejects(
      cmd.delegate(delegator, { operator: A, amount: parseEther("2000000") }),
      "is above your balance 1,000,000 POAI",
    );
    await cmd.delegate(delegator, { operator: A, amount: parseEther("500") });
    expect(
      (await delegator.staking.getPosition({ owner: f.wallets[2].account.address, operator: A })).tokens,
    ).to.equal(parseEther("500"));

    await rejects(cmd.setCommission(operator, { commissionBps: 2500 }), "above your maximum 20%");
    await rejects(
      cmd.setCommission(operator, { commissionBps: 1500 }),
      "larger than the 5% allowed per change",
    );
    await rejects(cmd.unjail(operator), "is not jailed");
    await rejects(cmd.claim(delegator, {}), "nothing to claim");

    await networkHelpers.time.increase(DAY);
    await f.staking.write.notifyReward([A, parseEther("100")]);
    await rejects(cmd.claim(delegator, {}), "nothing to claim"); // the epoch that earned it is running
    await networkHelpers.time.increase(DAY);
    const claimed = await cmd.claim(delegator, {});
    expect(claimed.lines[0]).to.match(/^claimed 19 POAI from 1 pool/); // 95 * 500 / 2500

    await rejects(
      cmd.undelegate(delegator, { operator: A, amount: parseEther("600") }),
      "is above your stake 500 POAI",
    );
    await cmd.undelegate(delegator, { operator: A, amount: parseEther("200") });
    await rejects(cmd.withdraw(delegator, {}), "nothing has matured yet");
    await networkHelpers.time.increase(9 * DAY);
    expect((await cmd.withdraw(delegator, {})).lines[0]).to.match(/^withdrew 1 matured entry \(200 POAI\)/);

    const status = await cmd.status(admin, { address: A });
    expect(status.lines.join("\n")).to.contain("trainer, active");
    expect(status.lines.join("\n")).to.contain(
      "pool stake 2,300 POAI, self-stake 2,000 POAI, commission 5% (max 20%)",
    );

    expect(() => cmd.parseAmount("amount", "1.2.3")).to.throw("--amount must be a positive POAI amount");
    expect(() => cmd.parseAmount("amount", "0")).to.throw("--amount must be greater than zero");
    expect(() => cmd.parsePercent("rate", "101")).to.throw("--rate must be at most 100");
    expect(() => cmd.parseAddress("operator", "0x12")).to.throw("--operator must be an address");
  });
});
