/**
 * Epoch closes and pool credits on a real network: points come from challenges judged by the
 * ChallengeManager, budgets go to Staking, which credits each pool by itself. Each test pins one
 * behaviour: closes in order once points are final; each pool credited once per epoch with
 * floor(remaining budget x points / remaining points), the role's budget to the wei; nothing for a
 * delegation made after the epoch began; the commission of the epoch that earned it; the first
 * touch after an epoch is final closes and credits it, however late; carries for empty epochs and
 * roles without stake or points; usage fees into the pools of the epoch they are paid in.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Address, Hex } from "viem";
import {
  BPS,
  E,
  deployRewardWorld,
  type Actor,
  type Connection,
  type EpochClosedEvent,
  type RewardWorld,
} from "./helpers/world.js";

const ACC = 10n ** 36n;
const EMISSION = E(1000);

describe("RewardDistributor settlement", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  /**
   * Two trainers (5,000 each) and two validators (2,000 each) at 10% commission; delegator D
   * holds 2,000 in trainer T0's pool since epoch 0; 100,000 funded; emission 1,000 per epoch,
   * gamma 10%, protocol cut 5%. The clock stands in epoch 0.
   */
  async function fixture() {
    const w = await deployRewardWorld(conn, { fund: E(100_000) });
    const [T0, T1] = w.trainers as [Actor, Actor];
    const [V0, V1] = w.validators as [Actor, Actor];
    const [D, F] = w.delegators as [Actor, Actor];
    await D.staking.write.delegate([T0.address, E(2000)]);
    return { ...w, T0, T1, V0, V1, D, F };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;

  const closed = (w: RewardWorld, hash: Hex) =>
    w.events<EpochClosedEvent>(hash, w.distributor, "EpochClosed");
  type Credited = { operator: Address; epoch: bigint; amount: bigint; commission: bigint };
  const credited = async (w: RewardWorld, hash: Hex, epoch?: bigint) =>
    (await w.events<Credited>(hash, w.staking, "RewardCredited")).filter(
      (c) => epoch === undefined || c.epoch === epoch,
    );
  const role = (w: RewardWorld, a: Address) => (w.trainers.some((t) => t.address === a) ? 1 : 2);
  /** What crediting `operator`'s pool with closed `epoch` gives it now: remaining budget x points / remaining points. */
  async function shareOf(w: RewardWorld, operator: Address, epoch: bigint) {
    const [budget, total] = await w.staking.read.epochBudget([epoch, role(w, operator)]);
    const points = await w.challenges.read.epochPoints([epoch, operator]);
    if (points === 0n || budget === 0n) return 0n;
    return points >= total ? budget : (budget * points) / total;
  }
  /** Plays round 1 with every operator honest and closes epochs 0 and 1. */
  async function epochOne(w: W) {
    await w.playRound(w.honestRound(1n));
    await w.toFinal(1n);
    await w.distributor.write.closeEpochs([10n]);
  }

  describe("closing epochs", () => {
    it("closes an epoch only once its points are final, in order, at most maxEpochs at a time", async () => {
      const w = await load();
      const closesAt0 = await w.challenges.read.epochClosesAt([0n]);
      expect(closesAt0).to.equal(w.windows(0n).closes);
      await w.reach(closesAt0 - 60n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.closeEpochs([10n]),
        w.distributor,
        "EpochNotFinal",
        [0n, closesAt0],
      );
      await w.reach(closesAt0);
      expect(await w.challenges.read.isEpochFinal([0n])).to.equal(false);
      await w.reach(w.windows(2n).closes + 1n);
      expect(await w.challenges.read.isEpochFinal([2n])).to.equal(true);

      const { result } = await w.distributor.simulate.closeEpochs([2n]);
      expect(result).to.equal(2n);
      let hash = await w.distributor.write.closeEpochs([2n]);
      expect((await closed(w, hash)).map((e) => e.epoch)).to.deep.equal([0n, 1n]);
      expect(await w.distributor.read.nextEpochToClose()).to.equal(2n);
      hash = await w.distributor.write.closeEpochs([2n]);
      expect((await closed(w, hash)).map((e) => e.epoch)).to.deep.equal([2n]);
      const ep = await w.distributor.read.getEpoch([2n]);
      expect([ep.closed, ep.closedIn]).to.deep.equal([true, await w.currentEpoch()]);
      const [, , closedBefore] = await w.staking.read.rewardClock();
      expect(closedBefore, "each closed epoch is funded in Staking, in order").to.equal(3n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.closeEpochs([2n]),
        w.distributor,
        "EpochNotFinal",
        [3n, await w.challenges.read.epochClosesAt([3n])],
      );
    });

    it("credits nothing of an epoch that is not closed", async () => {
      const w = await load();
      await w.playRound(w.honestRound(1n)); // epoch 1's points are not final yet
      const hash = await w.distributor.write.settle([w.T0.address, 1n]);
      expect(await credited(w, hash, 1n)).to.deep.equal([]);
      expect((await w.staking.read.getPool([w.T0.address])).creditedThrough).to.equal(1n); // epoch 0 only
    });
  });

  describe("crediting", () => {
    it("credits a pool with floor(remaining budget x points / remaining points): commission, then reward-per-share", async () => {
      const w = await load();
      await epochOne(w);
      const amount = await shareOf(w, w.T0.address, 1n);
      expect(amount > 0n).to.equal(true);
      const pool = await w.staking.read.getPool([w.T0.address]);
      const hash = await w.F.distributor.write.settle([w.T0.address, 1n]); // anyone may settle
      const commission = (amount * 1000n) / BPS;
      expect(await credited(w, hash, 1n)).to.deep.equal([
        { operator: w.T0.address, epoch: 1n, amount, commission },
      ]);
      // D holds 2,000 of the pool's 7,000 shares
      const position = await w.staking.read.getPosition([w.D.address, w.T0.address]);
      const delta = ((amount - commission) * ACC) / pool.shares;
      expect(position.claimable).to.equal((position.shares * delta) / ACC);
      const after = await w.staking.read.getPool([w.T0.address]);
      expect([
        after.rewardPerShare - pool.rewardPerShare,
        after.commission,
        after.creditedThrough,
      ]).to.deep.equal([delta, commission, 2n]);
      // the second trainer takes exactly what is left of the role's budget
      const [left] = await w.staking.read.epochBudget([1n, 1]);
      const rest = await credited(w, await w.distributor.write.settle([w.T1.address, 1n]), 1n);
      expect(rest.map((c) => c.amount)).to.deep.equal([left]);
      expect(await w.staking.read.epochBudget([1n, 1])).to.deep.equal([0n, 0n]);
    });

    it("credits a pool's share of an epoch once", async () => {
      const w = await load();
      await epochOne(w);
      await w.distributor.write.settle([w.V0.address, 1n]);
      const pool = await w.staking.read.getPool([w.V0.address]);
      const hash = await w.distributor.write.settle([w.V0.address, 1n]);
      expect(await credited(w, hash)).to.deep.equal([]);
      expect(await w.staking.read.getPool([w.V0.address])).to.deep.equal(pool);
      expect(await w.staking.simulate.settle([w.V0.address, 1n]).then((r) => r.result)).to.equal(0n);
    });

    it("refuses accounts that are not operators", async () => {
      const w = await load();
      await epochOne(w);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([w.D.address, 1n]),
        w.staking,
        "NotRegistered",
        [w.D.address],
      );
    });

    it("closes the final epochs and credits the pool by itself at the first action on it", async () => {
      const w = await load();
      await w.playRound(w.honestRound(1n));
      await w.toFinal(1n); // nobody closes anything
      expect(await w.distributor.read.nextEpochToClose()).to.equal(0n);
      const [budgetBefore] = await w.staking.read.epochBudget([1n, 1]);
      expect(budgetBefore).to.equal(0n);
      // D claims: the distributor closes epochs 0 and 1, Staking credits T0's pool, D is paid
      const before = await w.token.read.balanceOf([w.D.address]);
      const hash = await w.D.staking.write.claim([w.T0.address]);
      expect(await w.distributor.read.nextEpochToClose()).to.equal(2n);
      const [c] = await credited(w, hash, 1n);
      const pool = (await w.staking.read.getPool([w.T0.address])).shares;
      const expected = (E(2000) * (((c!.amount - c!.commission) * ACC) / pool)) / ACC;
      expect((await w.token.read.balanceOf([w.D.address])) - before).to.equal(expected);
      expect(await w.events(hash, w.distributor, "EpochClosed")).to.have.length(2);
    });

    it("gives nothing of an epoch to a delegation made after the epoch began", async () => {
      const w = await load();
      await epochOne(w); // the clock is in epoch 2
      const amount = await shareOf(w, w.T0.address, 1n);
      // F delegates ten times the pool (its delegation credits the pool with epoch 1 first), then
      // waits until its shares count
      await w.F.staking.write.delegate([w.T0.address, E(70_000)]);
      await w.reach(w.start(3n) + 1n);
      await w.distributor.write.settle([w.T0.address, 1n]);
      const commission = (amount * 1000n) / BPS;
      const delta = ((amount - commission) * ACC) / E(7000);
      const d = await w.staking.read.getPosition([w.D.address, w.T0.address]);
      expect(d.claimable, "D earns as if F had not come").to.equal((d.shares * delta) / ACC);
      expect((await w.staking.read.getPosition([w.F.address, w.T0.address])).claimable).to.equal(0n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.F.staking.write.claim([w.T0.address]),
        w.staking,
        "NothingToClaim",
        [w.F.address, w.T0.address],
      );
    });

    it("applies the commission of the epoch that earned the reward: a raise never reaches an earlier epoch", async () => {
      // (This pinned the opposite before: an epoch earned at 10% and settled after a raise paid 15%.)
      const w = await load();
      await w.T0.staking.write.setCommission([1500]); // an increase: from the first epoch 3 days away
      await w.T1.staking.write.setCommission([500]); // a decrease: from the next epoch
      const view = await w.lens.read.getOperator([w.T0.address]);
      const rise = (BigInt(view.commissionEffectiveAt) - w.genesis) / w.epochLength;
      expect(rise >= 3n).to.equal(true);
      await w.playRounds([w.honestRound(1n), w.honestRound(rise)]);
      await w.toFinal(rise);
      await w.distributor.write.closeEpochs([20n]);
      const commissions = async (op: Actor) => {
        const out = new Map<bigint, { amount: bigint; commission: bigint }>();
        for (const c of await credited(w, await w.distributor.write.settle([op.address, rise])))
          out.set(c.epoch, c);
        return out;
      };
      const t1 = await commissions(w.T1);
      expect(t1.get(1n)!.commission).to.equal((t1.get(1n)!.amount * 500n) / BPS);
      const t0 = await commissions(w.T0);
      expect(t0.get(1n)!.commission, "epoch 1 earned at 10%").to.equal((t0.get(1n)!.amount * 1000n) / BPS);
      expect(t0.get(rise)!.commission, "the raise applies from its epoch on").to.equal(
        (t0.get(rise)!.amount * 1500n) / BPS,
      );
    });

    it("credits every role's whole budget whatever the order of the pools, each pool's part within a wei", async () => {
      /** One history: deposits, two rounds (T1 commits fraud in the second), a usage fee, closes. */
      async function history(c: Connection) {
        const w = await deployRewardWorld(c, { fund: E(100_000) });
        const [T0, T1] = w.trainers as [Actor, Actor];
        const [D, F] = w.delegators as [Actor, Actor];
        await D.staking.write.delegate([T0.address, E(2000)]);
        await F.staking.write.delegate([w.validators[1]!.address, E(3000)]);
        await w.playRounds([
          {
            round: 1n,
            trainers: [
              { trainer: T0, behaviour: "honest", latency: 900, reportedScoreBps: 8100 },
              { trainer: T1, behaviour: "honest", latency: 4000, reportedScoreBps: 7850 },
            ],
            auditors: w.validators,
          },
          {
            round: 2n,
            trainers: [
              { trainer: T0, behaviour: "honest", latency: 300 },
              { trainer: T1, behaviour: "fraud" },
            ],
            auditors: w.validators,
          },
        ]);
        await w.distributor.write.notifyUsage([T0.address, T1.address, E(500)]);
        await w.toFinal(2n);
        await w.distributor.write.closeEpochs([10n]);
        return w;
      }
      const a = await history(await network.create());
      const b = await history(await network.create());
      const run = async (w: RewardWorld, reversed: boolean) => {
        const ops = reversed ? [...w.operators].reverse() : w.operators;
        const paid = new Map<string, bigint>();
        for (const o of ops)
          for (const c of await credited(w, await w.distributor.write.settle([o.address, 2n])))
            paid.set(`${o.address}:${c.epoch}`, c.amount);
        return paid;
      };
      const paidA = await run(a, false);
      const paidB = await run(b, true);
      expect([...paidB.keys()].sort()).to.deep.equal([...paidA.keys()].sort());
      for (const [k, v] of paidA) {
        const d = v > paidB.get(k)! ? v - paidB.get(k)! : paidB.get(k)! - v;
        expect(d <= 1n, `${k}: ${v} vs ${paidB.get(k)}`).to.equal(true);
      }
      for (const w of [a, b])
        for (const e of [1n, 2n])
          for (const r of [1, 2]) expect(await w.staking.read.epochBudget([e, r])).to.deep.equal([0n, 0n]);
    });
  });

  describe("carry", () => {
    it("carries an empty epoch's budget after the protocol's cut of its emission and pays it in a later epoch with points", async () => {
      const w = await load();
      // Epochs 0 and 1 have no points (nobody is due in round 0; everyone is absent in round 1).
      await w.playRound(w.honestRound(2n));
      await w.toFinal(2n);
      const hash = await w.distributor.write.closeEpochs([10n]);
      const cut = (x: bigint) => (x * 500n) / BPS;
      const c0 = EMISSION - cut(EMISSION);
      const c1 = c0 + EMISSION - cut(EMISSION);
      const [e0, e1, e2] = await closed(w, hash);
      expect(e0).to.deep.equal({
        epoch: 0n,
        budget: EMISSION,
        protocolCut: cut(EMISSION),
        trainerBudget: 0n,
        validatorBudget: 0n,
        carried: c0,
      });
      expect(e1).to.deep.equal({
        epoch: 1n,
        budget: EMISSION + c0,
        protocolCut: cut(EMISSION),
        trainerBudget: 0n,
        validatorBudget: 0n,
        carried: c1,
      });
      expect(e2!.budget).to.equal(EMISSION + c1);
      expect(e2!.carried).to.equal(0n);
      expect(e2!.trainerBudget + e2!.validatorBudget).to.equal(c1 + EMISSION - cut(EMISSION));
      expect(await w.distributor.read.carry()).to.equal(0n);

      let paid = 0n;
      for (const o of w.operators)
        for (const c of await credited(w, await w.distributor.write.settle([o.address, 2n]), 2n))
          paid += c.amount;
      expect(paid, "the whole budget, to the wei").to.equal(e2!.trainerBudget + e2!.validatorBudget);
      expect(await w.distributor.read.totalToProtocol()).to.equal(3n * cut(EMISSION));
      expect(paid + 3n * cut(EMISSION)).to.equal(3n * EMISSION);
    });

    /**
     * No trainer stake counts at the start of epoch 1, yet the trainer earns points in it: the only
     * trainer was jailed in epoch 0 (a slash by the slasher role, as for a fraud judged then) and
     * unjails early in epoch 1; it is due in round 1 (its pool's stake at the round's start meets
     * the minimum) and the validators judge its result valid.
     */
    async function unjailedTrainer(gammaBps: number) {
      const w = await deployRewardWorld(conn, {
        trainers: [E(5000)],
        fund: E(100_000),
        rewards: { gammaBps },
      });
      const T = w.trainers[0]!;
      await w.staking.write.slash([T.address, E("0.01"), [], true]);
      const until = BigInt((await w.staking.read.operatorRecord([T.address])).jailedUntil);
      await w.reach(until > w.start(1n) ? until : w.start(1n));
      await T.staking.write.unjail();
      expect(await w.staking.read.roleStakeAt([1, 1n])).to.equal(0n);
      expect((await w.staking.read.roleStakeAt([2, 1n])) > 0n).to.equal(true);
      await w.playRound({
        round: 1n,
        trainers: [{ trainer: T, behaviour: "honest", latency: 3600 }],
        auditors: w.validators,
      });
      await w.toFinal(1n);
      const [, e1] = await closed(w, await w.distributor.write.closeEpochs([10n]));
      expect((await w.challenges.read.epochTotalPoints([1n, 1])) > 0n).to.equal(true);
      expect((await w.challenges.read.epochTotalPoints([1n, 2])) > 0n).to.equal(true);
      return { w, T, e1: e1!, rest: e1!.trainerBudget + e1!.validatorBudget + e1!.carried };
    }

    it("gives the whole budget to the validators when no trainer stake counts at the epoch's start (gamma 0)", async () => {
      const { w, T, e1, rest } = await unjailedTrainer(0);
      expect(e1).to.include({ trainerBudget: 0n, validatorBudget: rest, carried: 0n });
      expect(await credited(w, await w.distributor.write.settle([T.address, 1n]), 1n)).to.deep.equal([]);
      let paid = 0n;
      for (const v of w.validators) {
        const expected = await shareOf(w, v.address, 1n);
        const [c] = await credited(w, await w.distributor.write.settle([v.address, 1n]), 1n);
        expect(c!.amount).to.equal(expected);
        paid += c!.amount;
      }
      expect(paid).to.equal(rest);
    });

    it("keeps gamma of the budget for a role without stake at the epoch's start, paid by its points", async () => {
      const { w, T, e1, rest } = await unjailedTrainer(1000);
      const validators = (rest * 9000n) / BPS; // R x (gamma + (1 - 2 gamma) x 1)
      expect(e1).to.include({ validatorBudget: validators, trainerBudget: rest - validators, carried: 0n });
      const [c] = await credited(w, await w.distributor.write.settle([T.address, 1n]), 1n);
      expect(c!.amount).to.equal(rest - validators);
    });

    it("carries everything when a role has no stake at the epoch's start and so nobody earns points", async () => {
      // validators that register during epoch 1 have no stake at round 1's start: no committee, no points
      const w = await deployRewardWorld(conn, { validators: [], delegators: 2, fund: E(100_000) });
      await w.reach(w.start(1n) + 60n);
      for (const v of w.delegators) await v.staking.write.register([2, E(2000), 1000, 2000, "", "CPU"]);
      expect(await w.staking.read.roleStakeAt([2, 1n])).to.equal(0n);
      await w.playRound({ ...w.honestRound(1n), auditors: w.delegators });
      await w.toFinal(1n);
      const [, e1] = await closed(w, await w.distributor.write.closeEpochs([10n]));
      expect(e1).to.include({ trainerBudget: 0n, validatorBudget: 0n });
      expect(e1!.carried).to.equal(e1!.budget - e1!.protocolCut);
      expect(await w.distributor.read.carry()).to.equal(e1!.carried);
    });

    it("pays what a trainer earned in the epoch in which it was jailed for an earlier fraud", async () => {
      const w = await load();
      // T1 submits round 2 at its start; its round-1 fraud is judged mid-epoch 2 and jails it;
      // round 2 is still judged valid in epoch 3, so T1 has points in epoch 2.
      await w.playRounds([
        {
          round: 1n,
          trainers: [
            { trainer: w.T0, behaviour: "honest" },
            { trainer: w.T1, behaviour: "fraud" },
          ],
          auditors: w.validators,
        },
        w.honestRound(2n),
      ]);
      expect((await w.staking.read.operatorRecord([w.T1.address])).jailed).to.equal(true);
      expect((await w.challenges.read.epochPoints([2n, w.T1.address])) > 0n).to.equal(true);
      await w.toFinal(2n);
      await w.distributor.write.closeEpochs([10n]);
      const amount = await shareOf(w, w.T1.address, 2n);
      const [c] = await credited(w, await w.distributor.write.settle([w.T1.address, 2n]), 2n);
      expect(c!.amount).to.equal(amount);
      expect(await w.distributor.read.carry()).to.equal(0n);
    });

    it("keeps an epoch's share for a pool nobody touches, however long, and credits it at the first touch", async () => {
      // (Before, an epoch not settled within `settleWindow` epochs expired into the carry: a pool
      // nobody settled for 30 epochs forfeited its earnings.)
      const w = await load();
      await epochOne(w);
      await w.reach(w.start(45n));
      const amount = await shareOf(w, w.T0.address, 1n);
      expect(amount > 0n).to.equal(true);
      const before = await w.token.read.balanceOf([w.D.address]);
      const hash = await w.D.staking.write.claim([w.T0.address]);
      expect((await credited(w, hash, 1n)).map((c) => c.amount)).to.deep.equal([amount]);
      const delta = ((amount - (amount * 1000n) / BPS) * ACC) / E(7000);
      expect((await w.token.read.balanceOf([w.D.address])) - before).to.equal((E(2000) * delta) / ACC);
    });
  });

  describe("usage fees", () => {
    it("splits a fee into the node's fee, the model's royalty and the protocol's part, into the pools for the current epoch", async () => {
      const w = await load();
      const treasury = await w.token.read.balanceOf([w.treasury]);
      const epoch = await w.currentEpoch();
      const hash = await w.distributor.write.notifyUsage([w.V0.address, w.T1.address, E(1000)]);
      expect(await w.events(hash, w.distributor, "UsageFee")).to.deep.equal([
        { node: w.V0.address, modelTrainer: w.T1.address, amount: E(1000), nodeFee: E(700), royalty: E(200) },
      ]);
      expect(await w.events(hash, w.staking, "RewardNotified")).to.deep.equal([
        { operator: w.V0.address, epoch, amount: E(700) },
        { operator: w.T1.address, epoch, amount: E(200) },
      ]);
      expect(await w.token.read.balanceOf([w.treasury])).to.equal(treasury + E(100));
      expect(await w.staking.read.poolRewardAt([w.V0.address, epoch])).to.equal(E(700));
      expect(await w.distributor.read.totalFees()).to.equal(E(1000));
      expect(await w.distributor.read.totalForwarded()).to.equal(E(900));
    });

    it("carries the part of an account that has no pool", async () => {
      const w = await load();
      const hash = await w.distributor.write.notifyUsage([w.T0.address, w.D.address, E(1000)]);
      expect(await w.events(hash, w.distributor, "UsageFeeCarried")).to.deep.equal([
        { operator: w.D.address, amount: E(200) },
      ]);
      expect(await w.distributor.read.carry()).to.equal(E(200));
      expect(await w.token.read.balanceOf([w.distributor.address])).to.equal(
        (await w.distributor.read.reserve()) + E(200),
      );
    });
  });
});
