/**
 * Regressions of the slashing flaws of the deployment review: a slash took every unbonding entry,
 * including stake that left before the offence's epoch; nothing checked that the unbonding period
 * outlasts the windows in which a slash can still come; and an operator whose self-stake a slash
 * left below the minimum still counted in its role's total stake. Each test states the naive code
 * it catches.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEther, parseEventLogs } from "viem";
import { TRAINER, VALIDATOR } from "./helpers/shareMath.js";
import { deployWorld, readParams, type Connection } from "./helpers/world.js";

const E = (n: number | string) => parseEther(String(n));
const DAY = 86_400;

describe("Staking: slashes stay in their time", function () {
  this.timeout(120_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  /** Trainer A (5,000), validator V (1,000, the 500 minimum twice); H and X delegate to A in epoch 0. */
  async function base() {
    const w = await deployWorld(conn, { actors: 6 });
    const [A, V, H, X] = w.actors;
    await A.staking.write.register([TRAINER, E(5000), 1000, 2000, "", ""]);
    await V.staking.write.register([VALIDATOR, E(1000), 500, 1000, "", ""]);
    await H.staking.write.delegate([A.address, E(6000)]);
    await X.staking.write.delegate([A.address, E(4000)]);
    return { ...w, A, V, H, X };
  }
  const load = () => conn.networkHelpers.loadFixture(base);
  const to = (w: { genesis: bigint }, epoch: number) =>
    conn.networkHelpers.time.increaseTo(w.genesis + BigInt(epoch * DAY) + 60n);

  it("slashes only what was at stake in the offence's epoch: stake that left before it is untouched", async () => {
    // Catches: `slash` cutting the operator's whole unbonding pool, so that H, who left in epoch 1,
    // lost 10% for an offence committed in epoch 2, after it had left (Cosmos slashes only the
    // unbonding entries created after the infraction).
    const w = await load();
    await to(w, 1);
    await w.H.staking.write.undelegate([w.A.address, E(3000)]); // epoch 1
    await to(w, 3);
    await w.X.staking.write.undelegate([w.A.address, E(2000)]); // epoch 3
    const pool = await w.staking.read.getPool([w.A.address]);
    expect(pool.unbondingTokens).to.equal(E(5000));

    const hash = await w.staking.write.slash([w.A.address, E("0.1"), [], false, 2n]); // offence in epoch 2
    const receipt = await (await conn.viem.getPublicClient()).getTransactionReceipt({ hash });
    const [ev] = parseEventLogs({ abi: w.staking.abi, logs: receipt.logs, eventName: "Slashed" });
    expect(ev.args).to.deep.include({
      operator: getAddress(w.A.address),
      offenceEpoch: 2n,
      activeAmount: E(1000), // 10% of the 10,000 still active
      unbondingAmount: E(200), // 10% of what left in epoch 3 only
    });
    expect(await w.staking.read.cohortOf([w.A.address, 1n])).to.deep.equal([E(3000), E(3000)]);
    expect(await w.staking.read.cohortOf([w.A.address, 3n])).to.deep.equal([E(1800), E(2000)]);
    expect((await w.staking.read.getPool([w.A.address])).unbondingTokens).to.equal(E(4800));
    const value = async (who: typeof w.H) => {
      const [, tail] = await w.staking.read.queueBounds([who.address]);
      const e = await w.staking.read.unbondingEntry([who.address, tail - 1n]);
      const [tokens, shares] = await w.staking.read.cohortOf([w.A.address, BigInt(e.exitEpoch)]);
      return (e.shares * tokens) / shares;
    };
    expect(await value(w.H)).to.equal(E(3000));
    expect(await value(w.X)).to.equal(E(1800));

    // An offence in epoch 1 reaches what left in epoch 1 too; one in the future is refused.
    await w.staking.write.slash([w.A.address, E("0.1"), [], false, 1n]);
    expect((await w.staking.read.cohortOf([w.A.address, 1n]))[0]).to.equal(E(2700));
    await conn.viem.assertions.revertWithCustomErrorWithArgs(
      w.staking.write.slash([w.A.address, E("0.1"), [], false, 4n]),
      w.staking,
      "OffenceInFuture",
      [4n, 3n],
    );
    // Withdrawals pay each entry its cohort's value.
    await to(w, 12);
    const before = await w.token.read.balanceOf([w.H.address]);
    await w.H.staking.write.withdraw([10n]);
    expect((await w.token.read.balanceOf([w.H.address])) - before).to.equal(E(2700));
  });

  it("refuses an unbonding period that does not outlast every slash window, when a source is added and when the period changes", async () => {
    // Catches: no check at all, so governance could shorten `unbondingPeriod` (or a contract could
    // lengthen its dispute window) until stake unbonds and is withdrawn before a slash can land.
    const w = await load();
    const week = 7 * DAY;
    const source = await conn.viem.deployContract("SlashWindowSource", [BigInt(2 * DAY)]);
    const late = await conn.viem.deployContract("SlashWindowSource", [BigInt(week)]);
    const { assertions } = conn.viem;
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.addSlashSource([late.address]),
      w.staking,
      "UnbondingTooShort",
      [BigInt(week), getAddress(late.address), BigInt(week)],
    );
    await assertions.emitWithArgs(
      w.staking.write.addSlashSource([source.address]),
      w.staking,
      "SlashSourceAdded",
      [getAddress(source.address), BigInt(2 * DAY)],
    );
    expect(await w.staking.read.slashSources()).to.deep.equal([getAddress(source.address)]);
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.addSlashSource([source.address]),
      w.staking,
      "SlashSourceKnown",
      [getAddress(source.address)],
    );
    const p = await readParams(w.staking);
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.setParams([{ ...p, unbondingPeriod: 2 * DAY }]),
      w.staking,
      "UnbondingTooShort",
      [BigInt(2 * DAY), getAddress(source.address), BigInt(2 * DAY)],
    );
    await w.staking.write.setParams([{ ...p, unbondingPeriod: 2 * DAY + 1 }]);
    // Not a source: an account without code, or a contract without `slashWindow()`.
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.addSlashSource([w.H.address]),
      w.staking,
      "NotASlashWindowSource",
      [getAddress(w.H.address)],
    );
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.addSlashSource([w.token.address]),
      w.staking,
      "NotASlashWindowSource",
      [getAddress(w.token.address)],
    );
    // Removal, then the bound on the list.
    await assertions.emitWithArgs(
      w.staking.write.removeSlashSource([source.address]),
      w.staking,
      "SlashSourceRemoved",
      [getAddress(source.address)],
    );
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.removeSlashSource([source.address]),
      w.staking,
      "SlashSourceUnknown",
      [getAddress(source.address)],
    );
    const max = Number(await w.staking.read.MAX_SLASH_SOURCES());
    for (let i = 0; i < max; i++) {
      const s = await conn.viem.deployContract("SlashWindowSource", [BigInt(i)]);
      await w.staking.write.addSlashSource([s.address]);
    }
    await assertions.revertWithCustomErrorWithArgs(
      w.staking.write.addSlashSource([source.address]),
      w.staking,
      "TooManySlashSources",
      [BigInt(max)],
    );
  });

  it("takes an operator whose self-stake a slash left below the minimum out of its role's total", async () => {
    // Catches: counting every registered, unjailed operator in `roleStake`, so that V, slashed
    // below the minimum self-stake (inactive, never drawn, never due), still weighed in the role's
    // stake that sortition and FLock's split divide by.
    const w = await load();
    await w.staking.write.slash([w.V.address, E("0.5"), [], false]); // 1,000 -> 500: the minimum
    expect(await w.staking.read.roleStake([VALIDATOR])).to.equal(E(500));
    expect((await w.staking.read.operatorRecord([w.V.address])).counted).to.equal(true);
    await w.staking.write.slash([w.V.address, E("0.1"), [], false]); // -> 450
    expect(await w.staking.read.isActive([w.V.address])).to.equal(false);
    expect(await w.staking.read.roleStake([VALIDATOR])).to.equal(0n);
    expect((await w.staking.read.operatorRecord([w.V.address])).counted).to.equal(false);
    await to(w, 1);
    expect(await w.staking.read.roleStakeAt([VALIDATOR, 1n])).to.equal(0n);
    // Back above the minimum: counted again, with the whole pool.
    await w.V.staking.write.addStake([E(50)]);
    expect(await w.staking.read.roleStake([VALIDATOR])).to.equal(E(500));
    expect(await w.staking.read.isActive([w.V.address])).to.equal(true);
  });
});
