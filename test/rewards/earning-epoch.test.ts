/**
 * Regressions of the rewards-timing flaws: a reward is priced at the epoch that earned it. Each
 * test states the naive code it catches; each failed on the code that split a reward by the pool
 * as it stood when someone called `settle` / `settleFees` (up to 30 epochs later), at the
 * commission in force at that moment, and carried the share of an operator jailed at that moment.
 *
 * World: two trainers (5,000 each) and two validators (2,000 each) at 10% commission (at most 20%);
 * delegator D holds 2,000 in trainer T0's pool since epoch 0; 100,000 funded; emission 1,000 per
 * epoch. Points come from real challenges judged by the ChallengeManager.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Address, Hex } from "viem";
import { BPS, E, deployRewardWorld, type Actor, type Connection, type RewardWorld } from "./helpers/world.js";

const ACC = 10n ** 36n;

type Credited = { operator: Address; epoch: bigint; amount: bigint; commission: bigint };

describe("Rewards are priced at the epoch that earned them (regressions)", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployRewardWorld(conn, { fund: E(100_000) });
    const [T0, T1] = w.trainers as [Actor, Actor];
    const [D, J] = w.delegators as [Actor, Actor];
    await D.staking.write.delegate([T0.address, E(2000)]);
    return { ...w, T0, T1, D, J };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  const credited = (w: RewardWorld, hash: Hex) => w.events<Credited>(hash, w.staking, "RewardCredited");
  /** What `shares` of a pool earn from one credit of `amount` at `commissionBps` shared by `poolShares`. */
  const partOf = (amount: bigint, commissionBps: bigint, poolShares: bigint, shares: bigint) => {
    const rest = amount - (amount * commissionBps) / BPS;
    return (shares * ((rest * ACC) / poolShares)) / ACC;
  };
  /** `operator`'s first credit from closed `epoch` of its role: remaining budget x points / remaining points. */
  async function firstCredit(w: RewardWorld, operator: Address, role: number, epoch: bigint) {
    const [budget, total] = await w.staking.read.epochBudget([epoch, role]);
    const points = await w.challenges.read.epochPoints([epoch, operator]);
    return points >= total ? budget : (budget * points) / total;
  }

  it("gives a delegator nothing of an epoch earned before its shares existed (just-in-time delegation)", async () => {
    // Catches: splitting epoch 1's reward by the pool's shares at settlement time, so that J,
    // delegating after epoch 1 was earned and settling it itself once eligible, took ~90% of it.
    const w = await load();
    await w.playRound(w.honestRound(1n)); // T0 earns in epoch 1; the clock is in epoch 2
    await w.J.staking.write.delegate([w.T0.address, E(70_000)]); // ten times the pool, after the fact
    await w.reach(w.start(3n) + 60n); // J's shares count now, epoch 1 is long final
    await w.distributor.write.closeEpochs([10n]);
    const amount = await firstCredit(w, w.T0.address, 1, 1n);
    expect(amount > 0n).to.equal(true);

    // J touches the pool first: that credits it; J is owed nothing of epoch 1.
    const before = await w.token.read.balanceOf([w.J.address]);
    await w.viem.assertions.revertWithCustomErrorWithArgs(
      w.J.staking.write.claim([w.T0.address]),
      w.staking,
      "NothingToClaim",
      [w.J.address, w.T0.address],
    );
    const hash = await w.J.staking.write.refreshPosition([w.J.address, w.T0.address]);
    expect((await credited(w, hash)).filter((c) => c.epoch === 1n)).to.deep.equal([
      { operator: w.T0.address, epoch: 1n, amount, commission: (amount * 1000n) / BPS },
    ]);
    expect((await w.staking.read.getPosition([w.J.address, w.T0.address])).claimable).to.equal(0n);
    expect(await w.token.read.balanceOf([w.J.address])).to.equal(before);
    // D holds 2,000 of the 7,000 shares that existed when epoch 1 began
    const d = await w.staking.read.getPosition([w.D.address, w.T0.address]);
    expect(d.claimable).to.equal(partOf(amount, 1000n, E(7000), E(2000)));
  });

  it("pays a delegator that left after earning what its shares earned up to its exit", async () => {
    // Catches: pricing at settlement time, where D, undelegated before anybody settled epoch 1,
    // held no shares any more and got nothing of it.
    const w = await load();
    await w.playRound(w.honestRound(1n)); // the clock is in epoch 2
    const shares = (await w.staking.read.getPosition([w.D.address, w.T0.address])).shares;
    await w.D.staking.write.undelegate([w.T0.address, shares]); // D leaves before anybody settles
    await w.reach(w.start(3n) + 60n);
    await w.distributor.write.closeEpochs([10n]);
    const amount = await firstCredit(w, w.T0.address, 1, 1n);
    const before = await w.token.read.balanceOf([w.D.address]);
    await w.D.staking.write.claim([w.T0.address]);
    const paid = (await w.token.read.balanceOf([w.D.address])) - before;
    expect(paid).to.equal(partOf(amount, 1000n, E(7000), E(2000)));
    expect(paid > 0n).to.equal(true);
    // and nothing more: its shares left in epoch 2, they earn nothing after it
    await w.playRound(w.honestRound(3n));
    await w.reach(w.start(5n));
    await w.viem.assertions.revertWithCustomErrorWithArgs(
      w.D.staking.write.claim([w.T0.address]),
      w.staking,
      "NothingToClaim",
      [w.D.address, w.T0.address],
    );
  });

  it("applies to each epoch the commission in force in it: a raise never reaches epochs earned before it", async () => {
    // Catches: taking the commission in force at settlement, which turned epoch 1's 10% into 15%
    // once a raise requested after epoch 1 was earned had taken effect.
    const w = await load();
    await w.staking.write.setParams([{ ...(await w.staking.read.params()), commissionDelay: 0 }]);
    await w.playRound(w.honestRound(1n)); // epoch 1 earned at 10%; the clock is in epoch 2
    await w.T0.staking.write.setCommission([1500]); // in force from epoch 3
    expect(await w.staking.read.commissionAt([w.T0.address, 1n])).to.equal(1000);
    expect(await w.staking.read.commissionAt([w.T0.address, 3n])).to.equal(1500);
    await w.playRound(w.honestRound(3n)); // epoch 3 earned at 15%
    await w.reach(w.windows(3n).closes + 1n);
    await w.distributor.write.closeEpochs([10n]);
    const hash = await w.D.staking.write.refreshPosition([w.D.address, w.T0.address]);
    const byEpoch = new Map((await credited(w, hash)).map((c) => [c.epoch, c]));
    const e1 = byEpoch.get(1n)!;
    const e3 = byEpoch.get(3n)!;
    expect(e1.commission, "epoch 1 at 10%").to.equal((e1.amount * 1000n) / BPS);
    expect(e3.commission, "epoch 3 at 15%").to.equal((e3.amount * 1500n) / BPS);
    const d = await w.staking.read.getPosition([w.D.address, w.T0.address]);
    expect(d.claimable).to.equal(
      partOf(e1.amount, 1000n, E(7000), E(2000)) + partOf(e3.amount, 1500n, E(7000), E(2000)),
    );
  });

  it("pays an operator jailed after it earned what it earned (no forfeiture by a griefer-timed settle)", async () => {
    // Catches: carrying the share of an operator that is jailed when its epoch is settled, so that
    // anybody settling T1's honest epoch 1 during a later, unrelated jail made it forfeit.
    const w = await load();
    await w.playRound(w.honestRound(1n)); // T1 earns in epoch 1; the clock is in epoch 2
    await w.staking.write.slash([w.T1.address, E("0.01"), [], true]); // jailed in epoch 2
    expect((await w.staking.read.operatorRecord([w.T1.address])).jailed).to.equal(true);
    await w.reach(w.start(3n) + 60n);
    await w.distributor.write.closeEpochs([10n]);
    const amount = await firstCredit(w, w.T1.address, 1, 1n);
    expect(amount > 0n).to.equal(true);
    const hash = await w.D.distributor.write.settle([w.T1.address, 1n]); // anyone, during the jail
    expect((await credited(w, hash)).filter((c) => c.epoch === 1n)).to.deep.equal([
      { operator: w.T1.address, epoch: 1n, amount, commission: (amount * 1000n) / BPS },
    ]);
    const own = await w.staking.read.getPosition([w.T1.address, w.T1.address]);
    // T1 alone held its pool's 5,000 shares: commission plus the whole rest, to the rounding
    expect(own.claimable).to.equal((amount * 1000n) / BPS + partOf(amount, 1000n, E(5000), E(5000)));
    const before = await w.token.read.balanceOf([w.T1.address]);
    await w.T1.staking.write.claim([w.T1.address]); // claimable while jailed
    expect((await w.token.read.balanceOf([w.T1.address])) - before).to.equal(own.claimable);
  });

  it("shares a usage fee by the shares of the epoch it was paid in, not of a later settlement", async () => {
    // Catches: keeping fees in `pendingFees` until someone called `settleFees`, so that a
    // delegator that arrived after the fee, once eligible, took most of it.
    const w = await load();
    await w.reach(w.start(1n) + 60n);
    await w.distributor.write.notifyUsage([w.T0.address, w.T1.address, E(1000)]); // 700 for T0's pool in epoch 1
    await w.J.staking.write.delegate([w.T0.address, E(70_000)]);
    await w.reach(w.start(3n) + 60n);
    await w.viem.assertions.revertWithCustomErrorWithArgs(
      w.J.staking.write.claim([w.T0.address]),
      w.staking,
      "NothingToClaim",
      [w.J.address, w.T0.address],
    );
    const hash = await w.D.staking.write.refreshPosition([w.D.address, w.T0.address]);
    const e1 = (await credited(w, hash)).find((c) => c.epoch === 1n)!;
    expect(e1.amount >= E(700), "epoch 1 includes the node fee").to.equal(true);
    expect((await w.staking.read.getPosition([w.D.address, w.T0.address])).claimable).to.equal(
      partOf(e1.amount, 1000n, E(7000), E(2000)),
    );
  });

  it("cuts the protocol's share from fresh emission only, never again from the carry", async () => {
    // Catches: taking protocolCutBps of (emission + carry) at every close, which cut the carried
    // part of an empty epoch a second time (and again at every later close).
    const w = await load();
    await w.playRound(w.honestRound(2n)); // epochs 0 and 1 have no points: their budgets carry
    await w.reach(w.windows(2n).closes + 1n);
    const hash = await w.distributor.write.closeEpochs([10n]);
    type Closed = {
      epoch: bigint;
      budget: bigint;
      protocolCut: bigint;
      trainerBudget: bigint;
      validatorBudget: bigint;
      carried: bigint;
    };
    const [e0, e1, e2] = await w.events<Closed>(hash, w.distributor, "EpochClosed");
    const cut = E(50); // 5% of the fresh 1,000 of each epoch
    expect([e0!.protocolCut, e1!.protocolCut, e2!.protocolCut]).to.deep.equal([cut, cut, cut]);
    expect(e0!.carried).to.equal(E(950));
    expect(e1!.carried).to.equal(E(1900));
    expect(e2!.trainerBudget + e2!.validatorBudget + e2!.carried).to.equal(E(2850));
    expect(await w.distributor.read.totalToProtocol()).to.equal(3n * cut);
  });
});
