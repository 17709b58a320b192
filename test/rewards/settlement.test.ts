/**
 * Epoch closes and settlements of the RewardDistributor on a real network: points come from
 * challenges judged by the ChallengeManager, shares go into Staking pools. Each test pins one
 * behaviour: closes in order once points are final; each operator's floor(budget x points / total)
 * paid once into its pool, whatever the order; nothing for a delegation made in the epoch of the
 * settlement; the commission in force at settlement; carries for empty epochs, roles without stake
 * and jailed operators; expiry only after the settle window counted from the close; usage fees.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress, type Address, type Hex } from "viem";
import {
  BPS,
  DAY,
  E,
  deployRewardWorld,
  type Actor,
  type Connection,
  type EpochClosedEvent,
  type RewardWorld,
  type SettledEvent,
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
  const settled = (w: RewardWorld, hash: Hex) => w.events<SettledEvent>(hash, w.distributor, "Settled");
  const role = (w: RewardWorld, a: Address) => (w.trainers.some((t) => t.address === a) ? 1 : 2);
  /** floor(role budget x points / role points) of `operator` in closed epoch `epoch`, from reads. */
  async function shareOf(w: RewardWorld, operator: Address, epoch: bigint) {
    const ep = await w.distributor.read.getEpoch([epoch]);
    const r = role(w, operator);
    const points = await w.challenges.read.epochPoints([epoch, operator]);
    const total = await w.challenges.read.epochTotalPoints([epoch, r]);
    return ((r === 1 ? ep.trainerBudget : ep.validatorBudget) * points) / total;
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
      expect([ep.closed, ep.expired, ep.closedIn]).to.deep.equal([true, false, await w.currentEpoch()]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.closeEpochs([2n]),
        w.distributor,
        "EpochNotFinal",
        [3n, await w.challenges.read.epochClosesAt([3n])],
      );
    });

    it("refuses to settle an epoch that is not closed", async () => {
      const w = await load();
      await w.playRound(w.honestRound(1n));
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([w.T0.address, 1n]),
        w.distributor,
        "EpochNotClosed",
        [1n],
      );
      expect(await w.distributor.read.pendingSettlement([w.T0.address, 1n])).to.equal(0n);
    });
  });

  describe("settling", () => {
    it("pays an operator floor(role budget x points / role points) into its pool: commission, then reward-per-share", async () => {
      const w = await load();
      await epochOne(w);
      const amount = await shareOf(w, w.T0.address, 1n);
      expect(amount > 0n).to.equal(true);
      expect(await w.distributor.read.pendingSettlement([w.T0.address, 1n])).to.equal(amount);
      const pool = await w.staking.read.getPool([w.T0.address]);
      const stakingBefore = await w.token.read.balanceOf([w.staking.address]);

      const hash = await w.F.distributor.write.settle([w.T0.address, 1n]); // anyone may settle
      expect(await settled(w, hash)).to.deep.equal([
        { epoch: 1n, operator: w.T0.address, amount, paid: true },
      ]);
      const [notified] = await w.events<{ amount: bigint; commission: bigint }>(
        hash,
        w.staking,
        "RewardNotified",
      );
      const commission = (amount * 1000n) / BPS;
      expect(notified).to.include({ amount, commission });
      expect(await w.token.read.balanceOf([w.staking.address])).to.equal(stakingBefore + amount);
      // D holds 2,000 of the pool's 7,000 shares, all eligible
      const position = await w.staking.read.getPosition([w.D.address, w.T0.address]);
      const delta = ((amount - commission) * ACC) / pool.shares;
      expect(position.claimable).to.equal((position.shares * delta) / ACC);
      expect(await w.distributor.read.isSettled([w.T0.address, 1n])).to.equal(true);
      expect(await w.distributor.read.pendingSettlement([w.T0.address, 1n])).to.equal(0n);
      expect(await w.distributor.read.totalForwarded()).to.equal(amount);
    });

    it("pays an operator's share of an epoch at most once", async () => {
      const w = await load();
      await epochOne(w);
      await w.distributor.write.settle([w.V0.address, 1n]);
      const before = await w.token.read.balanceOf([w.staking.address]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([w.V0.address, 1n]),
        w.distributor,
        "AlreadySettled",
        [1n, w.V0.address],
      );
      expect(await w.token.read.balanceOf([w.staking.address])).to.equal(before);
    });

    it("refuses accounts that are not operators and operators without points", async () => {
      const w = await load();
      await epochOne(w);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([w.D.address, 1n]),
        w.distributor,
        "NotAnOperator",
        [w.D.address],
      );
      // epoch 0 has no points (the spec is active from round 1): its budget was carried
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([w.T0.address, 0n]),
        w.distributor,
        "NothingToSettle",
        [0n, w.T0.address],
      );
    });

    it("gives nothing of an epoch to a delegation made in the epoch in which it is settled", async () => {
      const w = await load();
      await epochOne(w); // the clock is in epoch 2
      // F delegates ten times the pool right before the settlement, in the same epoch
      await w.F.staking.write.delegate([w.T0.address, E(70_000)]);
      const pool = await w.staking.read.getPool([w.T0.address]);
      expect(pool.pendingShares > 0n).to.equal(true);
      const amount = await shareOf(w, w.T0.address, 1n);
      await w.distributor.write.settle([w.T0.address, 1n]);

      const commission = (amount * 1000n) / BPS;
      const delta = ((amount - commission + pool.rewardCarry) * ACC) / (pool.shares - pool.pendingShares);
      const d = await w.staking.read.getPosition([w.D.address, w.T0.address]);
      expect(d.claimable, "D earns as if F had not come").to.equal((d.shares * delta) / ACC);
      expect((await w.staking.read.getPosition([w.F.address, w.T0.address])).claimable).to.equal(0n);
      // still nothing once F's shares are eligible: that reward was shared before
      await w.reach(w.start(3n) + 1n);
      expect((await w.staking.read.getPosition([w.F.address, w.T0.address])).claimable).to.equal(0n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.F.staking.write.claim([w.T0.address]),
        w.staking,
        "NothingToClaim",
        [w.F.address, w.T0.address],
      );
    });

    it("applies the commission in force when the share is settled", async () => {
      const w = await load();
      await w.T0.staking.write.setCommission([1500]); // an increase: in force after the 3-day delay
      await w.T1.staking.write.setCommission([500]); // a decrease: in force at once
      const rise = BigInt((await w.staking.read.operatorRecord([w.T0.address])).commissionEffectiveAt);
      const round1 = w.honestRound(1n);
      const round2 = w.honestRound(2n, [w.T0]);
      await w.submitResults(round1);
      await w.commitVerdicts(round1);
      await w.submitResults(round2);
      await w.revealVerdicts(round1);
      await w.finalizeRound(round1);
      await w.toFinal(1n);
      await w.distributor.write.closeEpochs([10n]);
      expect((await w.latest()) < rise).to.equal(true);

      const commissionOf = async (hash: Hex) =>
        (await w.events<{ amount: bigint; commission: bigint }>(hash, w.staking, "RewardNotified"))[0]!;
      let n = await commissionOf(await w.distributor.write.settle([w.T1.address, 1n]));
      expect(n.commission).to.equal((n.amount * 500n) / BPS);
      n = await commissionOf(await w.distributor.write.settle([w.T0.address, 1n]));
      expect(n.commission, "the increase is not in force yet").to.equal((n.amount * 1000n) / BPS);

      await w.commitVerdicts(round2);
      await w.revealVerdicts(round2);
      await w.finalizeRound(round2);
      await w.toFinal(2n);
      await w.distributor.write.closeEpochs([10n]);
      expect((await w.latest()) >= rise).to.equal(true);
      n = await commissionOf(await w.distributor.write.settle([w.T0.address, 2n]));
      expect(n.commission, "an epoch earned at 10% settled at 15%").to.equal((n.amount * 1500n) / BPS);
    });

    it("gives every party the same total whatever the order of the settlements", async () => {
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
      const jobs: [Address, bigint][] = [];
      for (const e of [1n, 2n]) for (const o of a.operators) jobs.push([o.address, e]);
      for (const w of [a, b])
        for (const e of [1n, 2n])
          for (const o of w.operators)
            expect(await w.challenges.read.epochPoints([e, o.address])).to.equal(
              await a.challenges.read.epochPoints([e, o.address]),
            );

      const run = async (w: RewardWorld, reversed: boolean) => {
        const order = reversed ? [...jobs].reverse() : jobs;
        const paid = new Map<string, SettledEvent>();
        for (const [o, e] of order) {
          if ((await w.distributor.read.pendingSettlement([o, e])) === 0n) continue;
          for (const ev of await settled(w, await w.distributor.write.settle([o, e])))
            paid.set(`${o}:${e}`, ev);
        }
        const fees = [w.trainers[0]!.address, w.trainers[1]!.address];
        for (const o of reversed ? [...fees].reverse() : fees) await w.distributor.write.settleFees([o]);
        return paid;
      };
      const paidA = await run(a, false);
      const paidB = await run(b, true);
      expect(Object.fromEntries(paidB)).to.deep.equal(Object.fromEntries(paidA));
      expect(
        [...paidA.values()].some((e) => !e.paid),
        "the jailed trainer's share was carried",
      ).to.equal(true);

      const snapshot = async (w: RewardWorld) => {
        const out: Record<string, bigint> = {
          carry: await w.distributor.read.carry(),
          forwarded: await w.distributor.read.totalForwarded(),
        };
        for (const owner of [...w.operators, ...w.delegators])
          for (const op of w.operators)
            out[`${owner.address}:${op.address}`] = (
              await w.staking.read.getPosition([owner.address, op.address])
            ).claimable;
        for (const op of w.operators)
          out[`carry ${op.address}`] = (await w.staking.read.getPool([op.address])).rewardCarry;
        return out;
      };
      expect(await snapshot(b)).to.deep.equal(await snapshot(a));
    });
  });

  describe("carry", () => {
    it("carries an empty epoch's budget after the protocol's cut and pays it in a later epoch with points", async () => {
      const w = await load();
      // Epochs 0 and 1 have no points (nobody is due in round 0; everyone is absent in round 1).
      await w.playRound(w.honestRound(2n));
      await w.toFinal(2n);
      const hash = await w.distributor.write.closeEpochs([10n]);
      const cut = (x: bigint) => (x * 500n) / BPS;
      const b0 = EMISSION;
      const c0 = b0 - cut(b0);
      const b1 = EMISSION + c0;
      const c1 = b1 - cut(b1);
      const b2 = EMISSION + c1;
      const [e0, e1, e2] = await closed(w, hash);
      expect(e0).to.deep.equal({
        epoch: 0n,
        budget: b0,
        protocolCut: cut(b0),
        trainerBudget: 0n,
        validatorBudget: 0n,
        carried: c0,
      });
      expect(e1).to.deep.equal({
        epoch: 1n,
        budget: b1,
        protocolCut: cut(b1),
        trainerBudget: 0n,
        validatorBudget: 0n,
        carried: c1,
      });
      expect(e2!.budget).to.equal(b2);
      expect(e2!.carried).to.equal(0n);
      expect(e2!.trainerBudget + e2!.validatorBudget).to.equal(b2 - cut(b2));
      expect(await w.distributor.read.carry()).to.equal(0n);

      let paid = 0n;
      for (const o of w.operators)
        for (const ev of await settled(w, await w.distributor.write.settle([o.address, 2n])))
          paid += ev.amount;
      const left = e2!.trainerBudget + e2!.validatorBudget - paid;
      expect(left >= 0n && left < 4n, `rounding dust ${left}`).to.equal(true);
      expect(await w.distributor.read.totalToProtocol()).to.equal(cut(b0) + cut(b1) + cut(b2));
      expect(paid + left + cut(b0) + cut(b1) + cut(b2)).to.equal(3n * EMISSION);
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
      return { w, T, e1: e1!, rest: e1!.budget - e1!.protocolCut };
    }

    it("gives the whole budget to the validators when no trainer stake counts at the epoch's start (gamma 0)", async () => {
      const { w, T, e1, rest } = await unjailedTrainer(0);
      expect(e1).to.include({ trainerBudget: 0n, validatorBudget: rest, carried: 0n });
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settle([T.address, 1n]),
        w.distributor,
        "NothingToSettle",
        [1n, T.address],
      );
      for (const v of w.validators) {
        const ev = await settled(w, await w.distributor.write.settle([v.address, 1n]));
        expect(ev[0]!.amount).to.equal(await shareOf(w, v.address, 1n));
      }
    });

    it("keeps gamma of the budget for a role without stake at the epoch's start, paid by its points", async () => {
      const { w, T, e1, rest } = await unjailedTrainer(1000);
      const validators = (rest * 9000n) / BPS; // R x (gamma + (1 - 2 gamma) x 1)
      expect(e1).to.include({ validatorBudget: validators, trainerBudget: rest - validators, carried: 0n });
      const ev = await settled(w, await w.distributor.write.settle([T.address, 1n]));
      expect(ev).to.deep.equal([{ epoch: 1n, operator: T.address, amount: rest - validators, paid: true }]);
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
      expect(e1).to.include({
        trainerBudget: 0n,
        validatorBudget: 0n,
        carried: e1!.budget - e1!.protocolCut,
      });
      expect(await w.distributor.read.carry()).to.equal(e1!.carried);
    });

    it("carries the share of an operator jailed before its settlement (paid = false) into the next epoch's budget", async () => {
      const w = await load();
      await w.playRounds([
        w.honestRound(1n), // T1 earns points in epoch 1
        {
          round: 2n,
          trainers: [
            { trainer: w.T0, behaviour: "honest" },
            { trainer: w.T1, behaviour: "fraud" },
          ],
          auditors: w.validators,
        },
      ]); // the fraud is judged in epoch 3: T1 is slashed and jailed
      expect((await w.staking.read.operatorRecord([w.T1.address])).jailed).to.equal(true);
      await w.distributor.write.closeEpochs([10n]); // epochs 0 and 1

      const amount = await shareOf(w, w.T1.address, 1n);
      expect(await w.distributor.read.pendingSettlement([w.T1.address, 1n])).to.equal(amount);
      const pool = await w.staking.read.getPool([w.T1.address]);
      const own = await w.staking.read.getPosition([w.T1.address, w.T1.address]);
      const hash = await w.distributor.write.settle([w.T1.address, 1n]);
      expect(await settled(w, hash)).to.deep.equal([
        { epoch: 1n, operator: w.T1.address, amount, paid: false },
      ]);
      expect(await w.events(hash, w.staking, "RewardNotified")).to.deep.equal([]);
      expect((await w.staking.read.getPool([w.T1.address])).rewardPerShare).to.equal(pool.rewardPerShare);
      expect((await w.staking.read.getPosition([w.T1.address, w.T1.address])).claimable).to.equal(
        own.claimable,
      );
      expect(await w.distributor.read.carry()).to.equal(amount);
      expect(await w.distributor.read.isSettled([w.T1.address, 1n])).to.equal(true);
      // the others' shares are unchanged
      const t0 = await shareOf(w, w.T0.address, 1n);
      expect((await settled(w, await w.distributor.write.settle([w.T0.address, 1n])))[0]!.amount).to.equal(
        t0,
      );

      // the carry joins epoch 2's budget, paid to the operators with points in epoch 2
      await w.toFinal(2n);
      const [e2] = await closed(w, await w.distributor.write.closeEpochs([10n]));
      expect(e2!.budget).to.equal(EMISSION + amount);
      expect(e2!.carried).to.equal(0n);
      expect(await w.distributor.read.carry()).to.equal(0n);
      expect(await w.challenges.read.epochPoints([2n, w.T1.address])).to.equal(0n);
    });

    it("carries the share a trainer earned in the epoch in which it was jailed", async () => {
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
      const jailed = await w.staking.getEvents.Jailed({ operator: w.T1.address }, { fromBlock: 0n });
      const jailedAt = (await w.publicClient.getBlock({ blockNumber: jailed[0]!.blockNumber })).timestamp;
      expect(jailedAt > w.start(2n) && jailedAt < w.start(3n)).to.equal(true);
      const points = await w.challenges.read.epochPoints([2n, w.T1.address]);
      expect(points > 0n).to.equal(true);
      await w.toFinal(2n);
      await w.distributor.write.closeEpochs([10n]);

      const amount = await shareOf(w, w.T1.address, 2n);
      const hash = await w.distributor.write.settle([w.T1.address, 2n]);
      expect(await settled(w, hash)).to.deep.equal([
        { epoch: 2n, operator: w.T1.address, amount, paid: false },
      ]);
      expect(await w.distributor.read.carry()).to.equal(amount);
      // not stuck: the next epoch closed takes it (after its own emission)
      await w.toFinal(3n);
      const [e3] = await closed(w, await w.distributor.write.closeEpochs([10n]));
      expect(e3!.budget).to.equal(EMISSION + amount);
    });
  });

  describe("expiry", () => {
    it("expires an epoch only after its settle window, returning what was not settled (dust included) to the carry", async () => {
      const w = await load();
      await w.distributor.write.setParams([{ ...(await w.distributor.read.params()), settleWindow: 2 }]);
      await epochOne(w); // closed in epoch 2
      expect((await w.distributor.read.getEpoch([1n])).closedIn).to.equal(2n);
      const t0 = (await settled(w, await w.distributor.write.settle([w.T0.address, 1n])))[0]!.amount;
      const v0 = (await settled(w, await w.distributor.write.settle([w.V0.address, 1n])))[0]!.amount;
      for (const e of [2n, 3n, 4n]) {
        await w.reach(w.start(e) + BigInt(DAY / 2));
        await w.viem.assertions.revertWithCustomErrorWithArgs(
          w.distributor.write.expire([1n]),
          w.distributor,
          "SettleWindowOpen",
          [1n, 4n],
        );
      }
      await w.distributor.write.settle([w.T1.address, 1n]); // still possible on the window's last epoch
      await w.reach(w.start(5n));
      const ep = await w.distributor.read.getEpoch([1n]);
      expect(ep.validatorSettled).to.equal(v0);
      expect(ep.trainerSettled > t0).to.equal(true);
      const left = ep.trainerBudget - ep.trainerSettled + ep.validatorBudget - ep.validatorSettled;
      const carry = await w.distributor.read.carry();
      const hash = await w.D.distributor.write.expire([1n]); // permissionless
      expect(await w.events(hash, w.distributor, "EpochExpired")).to.deep.equal([
        { epoch: 1n, carried: left },
      ]);
      expect(await w.distributor.read.carry()).to.equal(carry + left);
      expect((await w.distributor.read.getEpoch([1n])).expired).to.equal(true);
      expect(await w.distributor.read.pendingSettlement([w.V1.address, 1n])).to.equal(0n);

      for (const call of [w.distributor.write.settle([w.V1.address, 1n]), w.distributor.write.expire([1n])])
        await w.viem.assertions.revertWithCustomErrorWithArgs(call, w.distributor, "EpochExpiredError", [1n]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.expire([7n]),
        w.distributor,
        "EpochNotClosed",
        [7n],
      );
    });

    it("gives an epoch closed late its whole settle window", async () => {
      const w = await load();
      await w.distributor.write.setParams([{ ...(await w.distributor.read.params()), settleWindow: 2 }]);
      await w.playRound(w.honestRound(1n));
      await w.reach(w.start(6n) + 60n); // nobody closed epochs 0..4 until epoch 6
      await w.distributor.write.closeEpochs([10n]);
      expect((await w.distributor.read.getEpoch([1n])).closedIn).to.equal(6n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.expire([1n]),
        w.distributor,
        "SettleWindowOpen",
        [1n, 8n],
      );
      await w.reach(w.start(8n) + 60n);
      const ev = await settled(w, await w.distributor.write.settle([w.T0.address, 1n]));
      expect(ev[0]!.paid).to.equal(true);
      await w.reach(w.start(9n));
      await w.distributor.write.expire([1n]);
    });
  });

  describe("usage fees", () => {
    it("splits a fee into the node's fee, the model's royalty and the protocol's part, and pays the first two on settleFees", async () => {
      const w = await load();
      const treasury = await w.token.read.balanceOf([w.treasury]);
      const hash = await w.distributor.write.notifyUsage([w.V0.address, w.T1.address, E(1000)]);
      expect(await w.events(hash, w.distributor, "UsageFee")).to.deep.equal([
        { node: w.V0.address, modelTrainer: w.T1.address, amount: E(1000), nodeFee: E(700), royalty: E(200) },
      ]);
      expect(await w.token.read.balanceOf([w.treasury])).to.equal(treasury + E(100));
      expect(await w.distributor.read.pendingFees([w.V0.address])).to.equal(E(700));
      expect(await w.distributor.read.totalFees()).to.equal(E(1000));

      const paid = await w.D.distributor.write.settleFees([w.T1.address]);
      expect(await w.events(paid, w.distributor, "FeesSettled")).to.deep.equal([
        { operator: w.T1.address, amount: E(200), paid: true },
      ]);
      const [n] = await w.events<{ operator: Address; amount: bigint }>(paid, w.staking, "RewardNotified");
      expect(n).to.include({ operator: w.T1.address, amount: E(200) });
      expect(await w.distributor.read.pendingFees([w.T1.address])).to.equal(0n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settleFees([w.T1.address]),
        w.distributor,
        "NothingToSettle",
        [0n, w.T1.address],
      );
    });

    it("carries the fees of an account Staking does not pay (not an operator, or jailed)", async () => {
      const w = await load();
      await w.distributor.write.notifyUsage([w.T0.address, w.D.address, E(1000)]);
      const hash = await w.distributor.write.settleFees([w.D.address]);
      expect(await w.events(hash, w.distributor, "FeesSettled")).to.deep.equal([
        { operator: w.D.address, amount: E(200), paid: false },
      ]);
      expect(await w.distributor.read.carry()).to.equal(E(200));
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.settleFees([zeroAddress]),
        w.distributor,
        "NothingToSettle",
        [0n, zeroAddress],
      );
    });
  });
});
