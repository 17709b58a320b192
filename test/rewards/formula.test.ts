/**
 * The reward formula against an independent bigint computation:
 *
 *   R = emission - floor(emission x protocolCutBps / 1e4) + carry     (the cut applies to fresh emission only)
 *   validators = floor(R x (gamma x (St + Sv) + (1e4 - 2 gamma) x Sv) / (1e4 x (St + Sv)))
 *   trainers = R - validators (nothing when St + Sv = 0); a role without points has its part carried
 *   operator = floor(remaining role budget x operator points / remaining role points), in the order
 *              the pools are credited; the last pool of a role takes exactly what is left
 *
 * with St, Sv the role stakes at the epoch's start: the `validatorShare` view over random budgets,
 * stakes and gammas, then real epochs with random stakes, points, gammas and cuts closed and
 * credited on-chain.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import {
  BPS,
  E,
  MEASURED_BPS,
  deployRewardWorld,
  flockValidatorShare,
  type Connection,
  type EpochClosedEvent,
  type RoundPlan,
} from "./helpers/world.js";

describe("RewardDistributor formula", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  it("splits a budget between the roles by FLock's formula, rounded down for the validators", async () => {
    const w = await deployRewardWorld(conn);
    const amount = fc.bigInt({ min: 0n, max: 10n ** 30n });
    const stake = fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 30n }));
    for (const gamma of [0, 1, 1000, 3333, 4999, 5000]) {
      await w.distributor.write.setParams([{ ...(await w.distributor.read.params()), gammaBps: gamma }]);
      await fc.assert(
        fc.asyncProperty(amount, stake, stake, async (budget, st, sv) => {
          const v = await w.distributor.read.validatorShare([budget, st, sv]);
          expect(v).to.equal(flockValidatorShare(budget, st, sv, BigInt(gamma)));
          expect(v <= budget).to.equal(true);
          // each role keeps at least gamma of the budget (rounded down) when both have stake
          if (st > 0n && sv > 0n) {
            expect(v >= (budget * BigInt(gamma)) / BPS).to.equal(true);
            expect(budget - v >= (budget * BigInt(gamma)) / BPS).to.equal(true);
          }
        }),
        { numRuns: 40 },
      );
      // the edges: no stake at all, one role alone
      expect(await w.distributor.read.validatorShare([E(100), 0n, 0n])).to.equal(0n);
      expect(await w.distributor.read.validatorShare([E(100), E(5), 0n])).to.equal(
        (E(100) * BigInt(gamma)) / BPS,
      );
      expect(await w.distributor.read.validatorShare([E(100), 0n, E(5)])).to.equal(
        (E(100) * (BPS - BigInt(gamma))) / BPS,
      );
    }
  });

  it("closes and credits epochs with random stakes and points exactly as the independent computation says", async () => {
    const stakes = (lo: number, hi: number) =>
      fc.array(fc.integer({ min: lo, max: hi }), { minLength: 1, maxLength: 4 });
    const trainerPlan = fc.record({
      behaviour: fc.constantFrom("honest", "honest", "honest", "absent"),
      latency: fc.integer({ min: 1800, max: 6 * 3600 - 60 }), // results land in latency order, a second apart at least
      reported: fc.integer({ min: MEASURED_BPS - 600, max: MEASURED_BPS + 600 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          trainers: stakes(2000, 20_000),
          validators: stakes(500, 5000),
          stakelessTrainers: fc.boolean(),
          gammaBps: fc.integer({ min: 0, max: 5000 }),
          protocolCutBps: fc.integer({ min: 0, max: 2000 }),
          emission: fc.integer({ min: 1, max: 5000 }),
          plans: fc.array(trainerPlan, { minLength: 4, maxLength: 4 }),
          auditors: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        }),
        async (c) => {
          const trainerStakes = c.trainers.map((x) => E(x));
          const validatorStakes = c.validators.map((x) => E(x));
          const w = await deployRewardWorld(conn, {
            trainers: trainerStakes,
            validators: validatorStakes,
            delegators: 0,
            emission: E(c.emission),
            rewards: { gammaBps: c.gammaBps, protocolCutBps: c.protocolCutBps },
            fund: E(100_000),
          });
          const validators = w.validators;
          if (c.stakelessTrainers) {
            // every trainer jailed in epoch 0 (uncounted at epoch 1's start) and unjailed early in
            // epoch 1: no trainer stake counts for the split, yet they are due in round 1 and earn points
            for (const t of w.trainers) await w.staking.write.slash([t.address, E("0.01"), [], true]);
            for (const t of w.trainers) {
              const until = BigInt((await w.staking.read.operatorRecord([t.address])).jailedUntil);
              await w.reach(until > w.start(1n) ? until : w.start(1n));
              await t.staking.write.unjail();
            }
          }
          const plan: RoundPlan = {
            round: 1n,
            trainers: w.trainers.map((trainer, i) => ({
              trainer,
              behaviour: c.plans[i]!.behaviour as "honest" | "absent",
              latency: c.plans[i]!.latency,
              reportedScoreBps: c.plans[i]!.reported,
            })),
            auditors: validators.filter((_, i) => c.auditors[i]),
          };
          await w.playRound(plan);
          await w.toFinal(1n);
          const hash = await w.distributor.write.closeEpochs([10n]);
          const [e0, e1] = await w.events<EpochClosedEvent>(hash, w.distributor, "EpochClosed");

          // the independent computation
          const emission = E(c.emission);
          const cut = (x: bigint) => (x * BigInt(c.protocolCutBps)) / BPS;
          expect(e0).to.deep.equal({
            epoch: 0n,
            budget: emission,
            protocolCut: cut(emission),
            trainerBudget: 0n,
            validatorBudget: 0n,
            carried: emission - cut(emission),
          });
          const st = c.stakelessTrainers ? 0n : trainerStakes.reduce((s, x) => s + x, 0n);
          const sv = validatorStakes.reduce((s, x) => s + x, 0n);
          expect(await w.staking.read.roleStakeAt([1, 1n])).to.equal(st);
          expect(await w.staking.read.roleStakeAt([2, 1n])).to.equal(sv);
          const points = new Map<string, bigint>();
          for (const o of [...w.trainers, ...validators])
            points.set(o.address, await w.challenges.read.epochPoints([1n, o.address]));
          const sum = (xs: { address: string }[]) => xs.reduce((s, o) => s + points.get(o.address)!, 0n);
          const trainerPoints = sum(w.trainers);
          const validatorPoints = sum(validators);
          expect(await w.challenges.read.epochTotalPoints([1n, 1])).to.equal(trainerPoints);
          expect(await w.challenges.read.epochTotalPoints([1n, 2])).to.equal(validatorPoints);

          const budget = emission + e0!.carried;
          const R = emission - cut(emission) + e0!.carried;
          let v = flockValidatorShare(R, st, sv, BigInt(c.gammaBps));
          let t = R - v;
          let carried = 0n;
          if (trainerPoints === 0n) [carried, t] = [carried + t, 0n];
          if (validatorPoints === 0n) [carried, v] = [carried + v, 0n];
          expect(e1).to.deep.equal({
            epoch: 1n,
            budget,
            protocolCut: cut(emission),
            trainerBudget: t,
            validatorBudget: v,
            carried,
          });
          if (trainerPoints > 0n && validatorPoints > 0n)
            expect(await w.distributor.read.validatorShare([R, st, sv])).to.equal(v);
          expect(await w.staking.read.epochBudget([1n, 1])).to.deep.equal(
            t === 0n ? [0n, 0n] : [t, trainerPoints],
          );
          expect(await w.staking.read.epochBudget([1n, 2])).to.deep.equal(
            v === 0n ? [0n, 0n] : [v, validatorPoints],
          );

          for (const [role, group, roleBudget, total] of [
            [1, w.trainers, t, trainerPoints],
            [2, validators, v, validatorPoints],
          ] as const) {
            let left = roleBudget;
            let pointsLeft = total;
            for (const o of group) {
              const p = points.get(o.address)!;
              const expected =
                p === 0n || left === 0n ? 0n : p >= pointsLeft ? left : (left * p) / pointsLeft;
              const credits = await w.events<{ epoch: bigint; amount: bigint }>(
                await w.distributor.write.settle([o.address, 1n]),
                w.staking,
                "RewardCredited",
              );
              expect(credits.filter((x) => x.epoch === 1n).map((x) => x.amount)).to.deep.equal(
                expected === 0n ? [] : [expected],
              );
              if (expected !== 0n) {
                left -= expected;
                pointsLeft -= p;
              }
              expect(await w.staking.read.epochBudget([1n, role])).to.deep.equal(
                left === 0n ? [0n, 0n] : [left, pointsLeft],
              );
            }
            expect(left, `role ${role}: the whole budget is credited, to the wei`).to.equal(0n);
          }
        },
      ),
      { numRuns: 16 },
    );
  });
});
