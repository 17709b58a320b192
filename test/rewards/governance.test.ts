/**
 * Funding and governance of the RewardDistributor: anyone funds the emission reserve; the
 * governor changes the emission (bounded, in force only after `noticeEpochs`, never retroactively)
 * and the parameters (each bounded; a bad one is named); only the coordinator reports usage fees;
 * an epoch takes its emission from the reserve, or what is left of it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { zeroAddress } from "viem";
import { ROLES } from "../../scripts/lib/roles.js";
import {
  BPS,
  E,
  MAX_EMISSION_PER_EPOCH,
  deployRewardWorld,
  type Connection,
  type EpochClosedEvent,
} from "./helpers/world.js";

const EMISSION = E(1000);

describe("RewardDistributor funding and governance", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  /** Default network (emission 1,000, notice 2 epochs, window 30, gamma 10%, cut 5%); the clock in epoch 0. */
  const fixture = () => deployRewardWorld(conn);
  const load = () => conn.networkHelpers.loadFixture(fixture);

  describe("funding", () => {
    it("lets anyone add to the reserve", async () => {
      const w = await load();
      const [D] = w.delegators;
      await D!.token.write.approve([w.distributor.address, E(500)]);
      const hash = await D!.distributor.write.fund([E(500)]);
      expect(await w.events(hash, w.distributor, "Funded")).to.deep.equal([
        { from: D!.address, amount: E(500) },
      ]);
      expect(await w.distributor.read.reserve()).to.equal(E(500));
      expect(await w.distributor.read.totalFunded()).to.equal(E(500));
      expect(await w.token.read.balanceOf([w.distributor.address])).to.equal(E(500));
      await w.viem.assertions.revertWithCustomError(
        w.distributor.write.fund([0n]),
        w.distributor,
        "ZeroAmount",
      );
    });

    it("takes each epoch's emission from the reserve, or what is left of it", async () => {
      const w = await load();
      await w.distributor.write.fund([E(1500)]);
      await w.toFinal(2n);
      const hash = await w.distributor.write.closeEpochs([10n]);
      const budgets = (await w.events<EpochClosedEvent>(hash, w.distributor, "EpochClosed")).map(
        (e) => e.budget,
      );
      // no points: everything but the protocol's cut of the fresh emission is carried
      const afterCut = (take: bigint) => take - (take * 500n) / BPS;
      const b0 = E(1000);
      const b1 = E(500) + afterCut(E(1000));
      const b2 = afterCut(E(1000)) + afterCut(E(500)); // the reserve is empty: no fresh emission
      expect(budgets).to.deep.equal([b0, b1, b2]);
      expect(await w.distributor.read.reserve()).to.equal(0n);
      await w.distributor.write.fund([E(5000)]);
      await w.toFinal(3n);
      const [e3] = await w.events<EpochClosedEvent>(
        await w.distributor.write.closeEpochs([10n]),
        w.distributor,
        "EpochClosed",
      );
      expect(e3!.budget).to.equal(EMISSION + b2);
    });
  });

  describe("emission changes", () => {
    it("apply from noticeEpochs after the request, and only to epochs closed from then on", async () => {
      const w = await load();
      await w.distributor.write.fund([E(100_000)]);
      await w.reach(w.start(1n) + 60n);
      const hash = await w.distributor.write.setEmission([E(2500)]);
      expect(await w.events(hash, w.distributor, "EmissionChangeScheduled")).to.deep.equal([
        { amount: E(2500), fromEpoch: 3n },
      ]);
      expect(await w.distributor.read.emissionFor([2n])).to.equal(EMISSION);
      expect(await w.distributor.read.emissionFor([3n])).to.equal(E(2500));
      expect(await w.distributor.read.emissionPerEpoch()).to.equal(EMISSION);

      await w.toFinal(3n);
      const closed = await w.events<EpochClosedEvent>(
        await w.distributor.write.closeEpochs([10n]),
        w.distributor,
        "EpochClosed",
      );
      const takes: bigint[] = [];
      let carry = 0n;
      for (const e of closed) {
        takes.push(e.budget - carry);
        carry = e.carried;
      }
      expect(takes).to.deep.equal([EMISSION, EMISSION, EMISSION, E(2500)]);
      expect(await w.distributor.read.emissionPerEpoch()).to.equal(E(2500));
      expect(await w.distributor.read.pendingEmissionFrom()).to.equal(0n);
    });

    it("can be replaced before they are in force, not once their first epoch has started", async () => {
      const w = await load();
      await w.distributor.write.setEmission([E(2000)]); // epoch 0: from epoch 2
      await w.reach(w.start(1n) + 60n);
      await w.distributor.write.setEmission([E(3000)]); // epoch 1: replaces it, from epoch 3
      expect(await w.distributor.read.emissionFor([2n])).to.equal(EMISSION);
      expect(await w.distributor.read.emissionFor([3n])).to.equal(E(3000));

      // epoch 3 has started at 3,000: the change stands until epoch 3 is closed
      await w.reach(w.start(3n) + 60n);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.setEmission([E(500)]),
        w.distributor,
        "EmissionChangeInForce",
        [3n, 0n],
      );
      await w.toFinal(2n);
      await w.distributor.write.closeEpochs([10n]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.setEmission([E(500)]),
        w.distributor,
        "EmissionChangeInForce",
        [3n, 3n],
      );
      expect(await w.distributor.read.emissionFor([3n])).to.equal(E(3000));
      await w.toFinal(3n);
      await w.distributor.write.closeEpochs([10n]);
      expect(await w.distributor.read.emissionPerEpoch()).to.equal(E(3000));
      const hash = await w.distributor.write.setEmission([E(500)]);
      expect(await w.events(hash, w.distributor, "EmissionChangeScheduled")).to.deep.equal([
        { amount: E(500), fromEpoch: 6n },
      ]);
    });

    it("are bounded, at deployment too", async () => {
      const w = await load();
      await w.distributor.write.setEmission([MAX_EMISSION_PER_EPOCH]);
      await w.distributor.write.setEmission([0n]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.distributor.write.setEmission([MAX_EMISSION_PER_EPOCH + 1n]),
        w.distributor,
        "InvalidParameter",
        ["emission", MAX_EMISSION_PER_EPOCH + 1n, 0n, MAX_EMISSION_PER_EPOCH],
      );
      const params = await w.distributor.read.params();
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        w.viem.deployContract("RewardDistributor", [
          w.staking.address,
          w.challenges.address,
          w.manager.address,
          MAX_EMISSION_PER_EPOCH + 1n,
          params,
        ]),
        w.distributor,
        "InvalidParameter",
        ["emission", MAX_EMISSION_PER_EPOCH + 1n, 0n, MAX_EMISSION_PER_EPOCH],
      );
    });
  });

  describe("access", () => {
    it("keeps setEmission and setParams to the governor and notifyUsage to the coordinator", async () => {
      const w = await load();
      const [X] = w.delegators;
      const params = await w.distributor.read.params();
      await X!.token.write.approve([w.distributor.address, E(10)]);
      for (const call of [
        X!.distributor.write.setEmission([E(1)]),
        X!.distributor.write.setParams([params]),
        X!.distributor.write.notifyUsage([w.trainers[0]!.address, w.trainers[1]!.address, E(10)]),
      ])
        await w.viem.assertions.revertWithCustomErrorWithArgs(
          call,
          w.distributor,
          "AccessManagedUnauthorized",
          [X!.address],
        );
      // a separate coordinator account may report usage, and only that
      const [, C] = w.delegators;
      await w.manager.write.grantRole([ROLES.COORDINATOR, C!.address, 0]);
      await C!.token.write.approve([w.distributor.address, E(10)]);
      await C!.distributor.write.notifyUsage([w.trainers[0]!.address, w.trainers[1]!.address, E(10)]);
      await w.viem.assertions.revertWithCustomErrorWithArgs(
        C!.distributor.write.setEmission([E(1)]),
        w.distributor,
        "AccessManagedUnauthorized",
        [C!.address],
      );
      await w.viem.assertions.revertWithCustomError(
        w.distributor.write.notifyUsage([w.trainers[0]!.address, w.trainers[1]!.address, 0n]),
        w.distributor,
        "ZeroAmount",
      );
    });

    it("refuses each parameter outside its bounds by name, and records valid ones", async () => {
      const w = await load();
      const p = await w.distributor.read.params();
      const cases: [Partial<typeof p>, string, bigint, bigint, bigint][] = [
        [{ gammaBps: 5001 }, "gammaBps", 5001n, 0n, 5000n],
        [{ protocolCutBps: 2001 }, "protocolCutBps", 2001n, 0n, 2000n],
        [{ nodeFeeBps: 10_001 }, "nodeFeeBps", 10_001n, 0n, 10_000n],
        [{ nodeFeeBps: 7000, royaltyBps: 3001 }, "royaltyBps", 3001n, 0n, 3000n],
        [{ noticeEpochs: 0 }, "noticeEpochs", 0n, 1n, 90n],
        [{ noticeEpochs: 91 }, "noticeEpochs", 91n, 1n, 90n],
        [{ treasury: zeroAddress }, "treasury", 0n, 1n, 2n ** 160n - 1n],
      ];
      for (const [change, name, value, lo, hi] of cases)
        await w.viem.assertions.revertWithCustomErrorWithArgs(
          w.distributor.write.setParams([{ ...p, ...change }]),
          w.distributor,
          "InvalidParameter",
          [name, value, lo, hi],
        );
      const next = {
        ...p,
        gammaBps: 5000,
        protocolCutBps: 2000,
        nodeFeeBps: 0,
        royaltyBps: 10_000,
        noticeEpochs: 90,
      };
      const hash = await w.distributor.write.setParams([next]);
      expect(await w.events(hash, w.distributor, "ParamsUpdated")).to.deep.equal([{ params: next }]);
      expect(await w.distributor.read.params()).to.deep.equal(next);
    });
  });
});
