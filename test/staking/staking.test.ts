import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEther, parseSignature, zeroAddress, type Address } from "viem";
import { DEFAULT_PARAMS } from "../../scripts/lib/deploy.js";
import { BURN, DAY, TRAINER, VALIDATOR, balanceDeltas, stakingFixture } from "../fixtures/staking.js";

const E = (n: string | number) => parseEther(String(n));

describe("Staking (unit)", () => {
  let conn: Awaited<ReturnType<typeof network.create>>;
  before(async () => {
    conn = await network.create();
  });

  /** Fixture: trainer A (5,000 self-stake, 10% commission, max 20%), validator V (1,000), delegator D. */
  async function registered() {
    const f = await stakingFixture(conn.viem);
    const [, a, v, dA, dB, stranger, b] = f.wallets;
    await (await f.as(a)).staking.write.register([TRAINER, E(5000), 1000, 2000, "https://a.example", "H100"]);
    await (await f.as(v)).staking.write.register([VALIDATOR, E(1000), 500, 1000, "https://v.example", "CPU"]);
    return { ...f, a, v, dA, dB, stranger, b, A: a.account.address, V: v.account.address };
  }
  const load = () => conn.networkHelpers.loadFixture(registered);
  const nextEpoch = async (epochs = 1) => conn.networkHelpers.time.increase(DAY * epochs);
  const now = async () => BigInt(await conn.networkHelpers.time.latest());

  describe("register", () => {
    it("creates the operator, its pool and its self-stake position, and counts it in its role", async () => {
      const f = await load();
      const op = await f.lens.read.getOperator([f.A]);
      expect(op.role).to.equal(TRAINER);
      expect(op.status).to.equal(1);
      expect(op.active).to.equal(true);
      expect(op.selfStake).to.equal(E(5000));
      expect(op.commissionBps).to.equal(1000);
      expect(op.maxCommissionBps).to.equal(2000);
      expect(op.endpoint).to.equal("https://a.example");
      expect(op.gpuClass).to.equal("H100");
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(E(5000));
      expect(await f.staking.read.roleStake([VALIDATOR])).to.equal(E(1000));
      expect(await f.staking.read.operatorCount()).to.equal(2n);
      expect(await f.staking.read.roleOf([f.A])).to.equal(TRAINER);
    });

    it("emits OperatorRegistered and Delegated", async () => {
      const f = await stakingFixture(conn.viem);
      const w = f.wallets[3];
      const s = (await f.as(w)).staking;
      await conn.viem.assertions.emitWithArgs(
        s.write.register([VALIDATOR, E(600), 100, 300, "u", "g"]),
        f.staking,
        "OperatorRegistered",
        [getAddress(w.account.address), VALIDATOR, 1, E(600), 100, 300, "u", "g"],
      );
    });

    it("rejects an invalid role, a second registration, a too high commission and too little stake", async () => {
      const f = await load();
      const s = (await f.as(f.stranger)).staking;
      const { assertions } = conn.viem;
      await assertions.revertWithCustomErrorWithArgs(
        s.write.register([0, E(5000), 0, 0, "", ""]),
        f.staking,
        "InvalidRole",
        [0],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await f.as(f.a)).staking.write.register([TRAINER, E(5000), 0, 0, "", ""]),
        f.staking,
        "AlreadyRegistered",
        [getAddress(f.A)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        s.write.register([TRAINER, E(5000), 0, 5001, "", ""]),
        f.staking,
        "MaxCommissionTooHigh",
        [5001n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        s.write.register([TRAINER, E(5000), 600, 500, "", ""]),
        f.staking,
        "CommissionAboveMax",
        [600n, 500n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        s.write.register([TRAINER, E(999), 0, 0, "", ""]),
        f.staking,
        "StakeBelowMinimum",
        [E(999), DEFAULT_PARAMS.minTrainerStake],
      );
      await assertions.revertWithCustomErrorWithArgs(
        s.write.register([VALIDATOR, E(499), 0, 0, "", ""]),
        f.staking,
        "StakeBelowMinimum",
        [E(499), DEFAULT_PARAMS.minValidatorStake],
      );
    });

    it("bounds the metadata lengths and names the field", async () => {
      const f = await load();
      const s = (await f.as(f.stranger)).staking;
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.register([TRAINER, E(5000), 0, 0, "x".repeat(257), ""]),
        f.staking,
        "MetadataTooLong",
        ["endpoint", 257n, 256n],
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.register([TRAINER, E(5000), 0, 0, "", "g".repeat(65)]),
        f.staking,
        "MetadataTooLong",
        ["gpuClass", 65n, 64n],
      );
    });
  });

  describe("addStake and updateMetadata", () => {
    it("adds to the self-stake", async () => {
      const f = await load();
      await (await f.as(f.a)).staking.write.addStake([E(250)]);
      expect(await f.staking.read.selfStake([f.A])).to.equal(E(5250));
    });

    it("rejects addStake and updateMetadata from an address that is not an operator", async () => {
      const f = await load();
      const s = (await f.as(f.stranger)).staking;
      const who: [Address] = [getAddress(f.stranger.account.address)];
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.addStake([E(1)]),
        f.staking,
        "NotRegistered",
        who,
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.updateMetadata(["u", "g"]),
        f.staking,
        "NotRegistered",
        who,
      );
    });

    it("updates the metadata and emits MetadataUpdated", async () => {
      const f = await load();
      await conn.viem.assertions.emitWithArgs(
        (await f.as(f.a)).staking.write.updateMetadata(["https://new.example", "H200"]),
        f.staking,
        "MetadataUpdated",
        [getAddress(f.A), "https://new.example", "H200"],
      );
      expect(await f.staking.read.metadataOf([f.A])).to.deep.equal(["https://new.example", "H200"]);
    });
  });

  describe("delegate", () => {
    it("mints shares 1:1 into a fresh pool; the new shares count from the next epoch", async () => {
      const f = await load();
      await (await f.as(f.dA)).staking.write.delegate([f.A, E(3000)]);
      const pos = await f.staking.read.getPosition([f.dA.account.address, f.A]);
      expect(pos.shares).to.equal(E(3000));
      expect(pos.tokens).to.equal(E(3000));
      const pool = await f.staking.read.getPool([f.A]);
      expect(pool.tokens).to.equal(E(8000));
      expect(pool.sharePrice).to.equal(E(1));
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(E(8000));
      // a reward of this epoch goes to the shares that existed when it began: A's only
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      await f.staking.write.settle([f.A, 0n]);
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).claimable).to.equal(0n);
    });

    it("prices new shares at the slashed share price", async () => {
      const f = await load();
      await f.staking.write.slash([f.A, E("0.5"), [], false]);
      await (await f.as(f.dA)).staking.write.delegate([f.A, E(100)]);
      const pos = await f.staking.read.getPosition([f.dA.account.address, f.A]);
      expect(pos.shares).to.equal(E(200));
      expect(pos.tokens).to.equal(E(100));
    });

    it("rejects zero, unknown, jailed and deregistered operators, and missing allowance", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      const { assertions } = conn.viem;
      await assertions.revertWithCustomError(s.write.delegate([f.A, 0n]), f.staking, "ZeroAmount");
      await assertions.revertWithCustomErrorWithArgs(
        s.write.delegate([f.stranger.account.address, E(1)]),
        f.staking,
        "NotRegistered",
        [getAddress(f.stranger.account.address)],
      );
      await f.staking.write.slash([f.A, E("0.1"), [], true]);
      await assertions.revertWithCustomError(s.write.delegate([f.A, E(1)]), f.staking, "OperatorIsJailed");
      await (await f.as(f.v)).staking.write.deregister();
      await assertions.revertWithCustomErrorWithArgs(
        s.write.delegate([f.V, E(1)]),
        f.staking,
        "OperatorDeregisteredError",
        [getAddress(f.V)],
      );
      await (await f.as(f.dB)).token.write.approve([f.staking.address, 0n]);
      await assertions.revertWithCustomError(
        (await f.as(f.dB)).staking.write.delegate([f.V, E(1)]),
        f.token,
        "ERC20InsufficientAllowance",
      );
    });

    it("delegates with an EIP-2612 permit in one transaction, and survives a front-run permit", async () => {
      const f = await load();
      const w = f.dB;
      await (await f.as(w)).token.write.approve([f.staking.address, 0n]);
      const publicClient = await conn.viem.getPublicClient();
      const sign = async (value: bigint) => {
        const nonce = await f.token.read.nonces([w.account.address]);
        const deadline = (await now()) + 3600n;
        const sig = await w.signTypedData({
          domain: {
            name: "PoAI",
            version: "1",
            chainId: await publicClient.getChainId(),
            verifyingContract: f.token.address,
          },
          types: {
            Permit: [
              { name: "owner", type: "address" },
              { name: "spender", type: "address" },
              { name: "value", type: "uint256" },
              { name: "nonce", type: "uint256" },
              { name: "deadline", type: "uint256" },
            ],
          },
          primaryType: "Permit",
          message: { owner: w.account.address, spender: f.staking.address, value, nonce, deadline },
        });
        const { v, r, s } = parseSignature(sig);
        return [deadline, Number(v), r, s] as const;
      };
      const [deadline, v, r, s] = await sign(E(10));
      await (await f.as(w)).staking.write.delegateWithPermit([f.A, E(10), deadline, v, r, s]);
      expect((await f.staking.read.getPosition([w.account.address, f.A])).tokens).to.equal(E(10));

      // Someone submits the permit first: the delegation still goes through on the allowance.
      const p = await sign(E(5));
      await f.token.write.permit([w.account.address, f.staking.address, E(5), p[0], p[1], p[2], p[3]]);
      await (await f.as(w)).staking.write.delegateWithPermit([f.A, E(5), ...p]);
      expect((await f.staking.read.getPosition([w.account.address, f.A])).tokens).to.equal(E(15));
    });
  });

  describe("undelegate, withdraw, cancelUnbonding", () => {
    it("moves shares to an unbonding entry that matures at an epoch boundary after the unbonding period", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(3000)]);
      await s.write.undelegate([f.A, E(1000)]);
      const [entry] = await f.lens.read.getUnbonding([f.dA.account.address, 10n]);
      expect(entry.tokens).to.equal(E(1000));
      expect(getAddress(entry.operator)).to.equal(getAddress(f.A));
      const genesis = await f.staking.read.genesis();
      const t = await now();
      const minMaturity = t + BigInt(DEFAULT_PARAMS.unbondingPeriod);
      expect(BigInt(entry.maturity) >= minMaturity).to.equal(true);
      expect(BigInt(entry.maturity) < minMaturity + BigInt(DAY)).to.equal(true);
      expect((BigInt(entry.maturity) - genesis) % BigInt(DAY)).to.equal(0n);
      expect((await f.staking.read.getPool([f.A])).unbondingTokens).to.equal(E(1000));
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(E(7000));
    });

    it("merges undelegations from one pool in one epoch into one entry", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(3000)]);
      await s.write.undelegate([f.A, E(1000)]);
      await s.write.undelegate([f.A, E(500)]);
      const entries = await f.lens.read.getUnbonding([f.dA.account.address, 10n]);
      expect(entries.length).to.equal(1);
      expect(entries[0].tokens).to.equal(E(1500));
      await nextEpoch();
      await s.write.undelegate([f.A, E(500)]);
      expect((await f.lens.read.getUnbonding([f.dA.account.address, 10n])).length).to.equal(2);
    });

    it("pays matured entries only, oldest first, at most maxEntries per call", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(3000)]);
      await s.write.undelegate([f.A, E(100)]);
      await nextEpoch();
      await s.write.undelegate([f.A, E(200)]);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.withdraw([10n]),
        f.staking,
        "NothingToWithdraw",
        [getAddress(f.dA.account.address)],
      );
      await nextEpoch(8);
      expect(
        await balanceDeltas(f.token, [f.dA.account.address], () => s.write.withdraw([1n])),
      ).to.deep.equal([E(100)]);
      expect(
        await balanceDeltas(f.token, [f.dA.account.address], () => s.write.withdraw([10n])),
      ).to.deep.equal([E(200)]);
      await conn.viem.assertions.revertWithCustomError(
        s.write.withdraw([10n]),
        f.staking,
        "NothingToWithdraw",
      );
      expect((await f.staking.read.getPool([f.A])).unbondingTokens).to.equal(0n);
    });

    it("rejects zero shares, more shares than held, and unknown operators", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(10)]);
      await conn.viem.assertions.revertWithCustomError(
        s.write.undelegate([f.A, 0n]),
        f.staking,
        "ZeroAmount",
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.undelegate([f.A, E(11)]),
        f.staking,
        "InsufficientShares",
        [E(10), E(11)],
      );
      await conn.viem.assertions.revertWithCustomError(
        s.write.undelegate([f.stranger.account.address, 1n]),
        f.staking,
        "NotRegistered",
      );
    });

    it("keeps an active operator's self-stake at the minimum; deregistering releases all of it", async () => {
      const f = await load();
      const s = (await f.as(f.a)).staking;
      await s.write.undelegate([f.A, E(4000)]);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.undelegate([f.A, 1n]),
        f.staking,
        "StakeBelowMinimum",
        [E(1000) - 1n, E(1000)],
      );
      await conn.viem.assertions.emitWithArgs(s.write.deregister(), f.staking, "OperatorDeregistered", [
        getAddress(f.A),
      ]);
      expect(await f.staking.read.selfStake([f.A])).to.equal(0n);
      expect(await f.staking.read.isActive([f.A])).to.equal(false);
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(0n);
      const entries = await f.lens.read.getUnbonding([f.A, 10n]);
      expect(entries.reduce((t, e) => t + e.tokens, 0n)).to.equal(E(5000));
      await conn.viem.assertions.revertWithCustomError(
        s.write.deregister(),
        f.staking,
        "OperatorDeregisteredError",
      );
    });

    it("lets delegators of a deregistered operator leave", async () => {
      const f = await load();
      await (await f.as(f.dA)).staking.write.delegate([f.A, E(300)]);
      await (await f.as(f.a)).staking.write.deregister();
      await (await f.as(f.dA)).staking.write.undelegate([f.A, E(300)]);
      await nextEpoch(9);
      expect(
        await balanceDeltas(f.token, [f.dA.account.address], async () =>
          (await f.as(f.dA)).staking.write.withdraw([5n]),
        ),
      ).to.deep.equal([E(300)]);
    });

    it("cancels an unbonding entry back into the pool, leaving a hole that withdraw skips", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(1000)]);
      await s.write.undelegate([f.A, E(100)]);
      await nextEpoch();
      await s.write.undelegate([f.A, E(200)]);
      await conn.viem.assertions.emitWithArgs(
        s.write.cancelUnbonding([0n]),
        f.staking,
        "UnbondingCancelled",
        [getAddress(f.dA.account.address), getAddress(f.A), 0n, E(100)],
      );
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).tokens).to.equal(E(800));
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.cancelUnbonding([0n]),
        f.staking,
        "UnbondingEntryNotFound",
        [getAddress(f.dA.account.address), 0n],
      );
      await nextEpoch(8);
      expect(
        await balanceDeltas(f.token, [f.dA.account.address], () => s.write.withdraw([10n])),
      ).to.deep.equal([E(200)]);
    });

    it("refuses to cancel into a jailed pool", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(1000)]);
      await s.write.undelegate([f.A, E(100)]);
      await f.staking.write.slash([f.A, E("0.1"), [], true]);
      await conn.viem.assertions.revertWithCustomError(
        s.write.cancelUnbonding([0n]),
        f.staking,
        "OperatorIsJailed",
      );
    });
  });

  describe("rewards", () => {
    /** Credits `operator`'s pool with every ended epoch (no distributor: an ended epoch is closed). */
    const credit = (f: Awaited<ReturnType<typeof load>>, operator: Address) =>
      f.staking.write.settle([operator, maxUint256]);

    it("takes the epoch's commission, then shares the rest by the shares that existed when the epoch began", async () => {
      const f = await load();
      await (await f.as(f.dA)).staking.write.delegate([f.A, E(15000)]);
      await nextEpoch();
      await conn.viem.assertions.emitWithArgs(
        f.staking.write.notifyReward([f.A, E(1000)]),
        f.staking,
        "RewardNotified",
        [getAddress(f.A), 1n, E(1000)],
      );
      expect(await f.staking.read.poolRewardAt([f.A, 1n])).to.equal(E(1000));
      // nothing is credited while the epoch runs
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).claimable).to.equal(0n);
      await nextEpoch();
      await conn.viem.assertions.emitWithArgs(credit(f, f.A), f.staking, "RewardCredited", [
        getAddress(f.A),
        1n,
        E(1000),
        E(100),
      ]);
      expect(await f.staking.read.poolRewardAt([f.A, 1n])).to.equal(0n);
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).claimable).to.equal(E(675));
      expect((await f.staking.read.getPosition([f.A, f.A])).claimable).to.equal(E(325)); // 100 + 225
      const pool = await f.staking.read.getPool([f.A]);
      expect([pool.commission, pool.creditedThrough]).to.deep.equal([E(100), 2n]);
    });

    it("returns a reward of an epoch that began with no shares to the distributor's carry (dust)", async () => {
      const f = await load(); // A registered in epoch 0: its pool had no shares when epoch 0 began
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      await credit(f, f.A);
      expect(await f.staking.read.rewardDust()).to.equal(E(90));
      expect((await f.staking.read.getPosition([f.A, f.A])).claimable).to.equal(E(10)); // the commission
    });

    it("takes rewards from anyone, for a jailed or deregistered pool too, and refuses zero and unknown pools", async () => {
      const f = await load();
      const { assertions } = conn.viem;
      await assertions.revertWithCustomError(
        f.staking.write.notifyReward([f.A, 0n]),
        f.staking,
        "ZeroAmount",
      );
      await assertions.revertWithCustomError(
        f.staking.write.notifyReward([f.stranger.account.address, 1n]),
        f.staking,
        "NotRegistered",
      );
      await f.token.write.transfer([f.stranger.account.address, E(10)]);
      await (await f.as(f.stranger)).token.write.approve([f.staking.address, maxUint256]);
      await (await f.as(f.stranger)).staking.write.notifyReward([f.A, E(1)]);
      await f.staking.write.slash([f.A, E("0.1"), [], true]);
      await f.staking.write.notifyReward([f.A, E(1)]);
      await (await f.as(f.v)).staking.write.deregister();
      await f.staking.write.notifyReward([f.V, E(1)]);
      expect(await f.staking.read.poolRewardAt([f.A, 0n])).to.equal(E(2));
    });

    it("claims, claims from many pools, compounds, and refuses to pay nothing", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(5000)]);
      await s.write.delegate([f.V, E(1000)]);
      await nextEpoch();
      await f.staking.write.notifyReward([f.A, E(100)]); // dA: 90 * 1/2 = 45
      await f.staking.write.notifyReward([f.V, E(100)]); // dA: 95 * 1/2 = 47.5
      await nextEpoch();
      expect(await balanceDeltas(f.token, [f.dA.account.address], () => s.write.claim([f.A]))).to.deep.equal([
        E(45),
      ]);
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.claim([f.A]),
        f.staking,
        "NothingToClaim",
        [getAddress(f.dA.account.address), getAddress(f.A)],
      );
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      expect(
        await balanceDeltas(f.token, [f.dA.account.address], () => s.write.claimMany([[f.A, f.V]])),
      ).to.deep.equal([E("92.5")]);
      await conn.viem.assertions.revertWithCustomError(
        s.write.claimMany([[f.A, f.V]]),
        f.staking,
        "NothingToClaim",
      );
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      await s.write.compound([f.A]);
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).tokens).to.equal(E(5045));
      await conn.viem.assertions.revertWithCustomError(s.write.compound([f.A]), f.staking, "NothingToClaim");
    });

    it("keeps an undelegated share's part of the epoch it left in, and nothing after", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(5000)]);
      await nextEpoch();
      await s.write.undelegate([f.A, E(5000)]); // in epoch 1: its shares began epoch 1 in the pool
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      await f.staking.write.notifyReward([f.A, E(100)]);
      await nextEpoch();
      await credit(f, f.A);
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).claimable).to.equal(E(45));
      expect((await f.staking.read.getPosition([f.A, f.A])).claimable).to.equal(E(155)); // 10 + 45 + 100
    });

    it("credits at most MAX_CREDIT_EPOCHS epochs per transaction, and the rest with the next", async () => {
      const f = await load();
      const max = await f.staking.read.MAX_CREDIT_EPOCHS();
      await conn.networkHelpers.time.increase(DAY * (Number(max) + 3));
      expect(await f.staking.simulate.settle([f.A, maxUint256]).then((r) => r.result)).to.equal(max);
      await credit(f, f.A);
      expect((await f.staking.read.getPool([f.A])).creditedThrough).to.equal(max);
      await credit(f, f.A);
      expect((await f.staking.read.getPool([f.A])).creditedThrough).to.equal(
        await f.staking.read.currentEpoch(),
      );
    });
  });

  describe("commission", () => {
    it("applies a decrease from the next epoch and an increase from the first epoch after the delay", async () => {
      const f = await load();
      const s = (await f.as(f.a)).staking;
      await s.write.setCommission([800]);
      expect(await f.staking.read.commissionOf([f.A])).to.equal(1000); // this epoch keeps its rate
      expect(await f.staking.read.commissionAt([f.A, 1n])).to.equal(800);
      // a new request replaces the one not in force yet
      await s.write.setCommission([1300]);
      expect(await f.staking.read.commissionAt([f.A, 1n])).to.equal(1000);
      const view = await f.lens.read.getOperator([f.A]);
      expect(view.pendingCommissionBps).to.equal(1300);
      const from = (BigInt(view.commissionEffectiveAt) - (await f.staking.read.genesis())) / BigInt(DAY);
      expect(
        BigInt(view.commissionEffectiveAt) >= (await now()) + BigInt(DEFAULT_PARAMS.commissionDelay),
      ).to.equal(true);
      expect(await f.staking.read.commissionAt([f.A, from - 1n])).to.equal(1000);
      expect(await f.staking.read.commissionAt([f.A, from])).to.equal(1300);
      await conn.networkHelpers.time.increaseTo(view.commissionEffectiveAt);
      expect(await f.staking.read.commissionOf([f.A])).to.equal(1300);
      // the history stays: epoch 0 keeps 10%
      expect(await f.staking.read.commissionAt([f.A, 0n])).to.equal(1000);
    });

    it("bounds the rate by the immutable maximum and each change by maxCommissionChangeBps", async () => {
      const f = await load();
      const s = (await f.as(f.a)).staking;
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setCommission([2001]),
        f.staking,
        "CommissionAboveMax",
        [2001n, 2000n],
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setCommission([1501]),
        f.staking,
        "CommissionChangeTooLarge",
        [1000n, 1501n, 500n],
      );
      await conn.viem.assertions.revertWithCustomError(
        (await f.as(f.stranger)).staking.write.setCommission([1]),
        f.staking,
        "NotRegistered",
      );
    });
  });

  describe("slash, jail, unjail", () => {
    it("takes the fraction from active and unbonding stake, pays reporters and burns the rest", async () => {
      const f = await load();
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(5000)]);
      await s.write.undelegate([f.A, E(2000)]);
      const r1 = f.wallets[8].account.address;
      const r2 = f.wallets[9].account.address;
      // active 8,000 and unbonding 2,000; 10% = 1,000; fee 10% = 100 split 50/50; 900 burned
      expect(
        await balanceDeltas(f.token, [r1, r2, BURN, f.staking.address], () =>
          f.staking.write.slash([f.A, E("0.1"), [r1, r2], false]),
        ),
      ).to.deep.equal([E(50), E(50), E(900), -E(1000)]);
      const pool = await f.staking.read.getPool([f.A]);
      expect(pool.tokens).to.equal(E(7200));
      expect(pool.unbondingTokens).to.equal(E(1800));
      expect((await f.staking.read.getPosition([f.dA.account.address, f.A])).tokens).to.equal(E(2700));
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(E(7200));
    });

    it("jails: out of the role total and not active, unjail after the cool-down", async () => {
      const f = await load();
      await conn.viem.assertions.emit(f.staking.write.slash([f.A, E("0.1"), [], true]), f.staking, "Jailed");
      expect(await f.staking.read.isActive([f.A])).to.equal(false);
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(0n);
      const s = (await f.as(f.a)).staking;
      await conn.viem.assertions.revertWithCustomError(s.write.unjail(), f.staking, "JailCooldownActive");
      await conn.networkHelpers.time.increase(DEFAULT_PARAMS.jailCooldown);
      await conn.viem.assertions.emitWithArgs(s.write.unjail(), f.staking, "Unjailed", [getAddress(f.A)]);
      expect(await f.staking.read.isActive([f.A])).to.equal(true);
      expect(await f.staking.read.roleStake([TRAINER])).to.equal(E(4500));
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.unjail(),
        f.staking,
        "OperatorNotJailed",
        [getAddress(f.A)],
      );
    });

    it("keeps an operator jailed while its self-stake is below the minimum", async () => {
      const f = await load();
      await f.staking.write.slash([f.V, E("0.5"), [], true]); // 1,000 -> 500: exactly the minimum
      await f.staking.write.slash([f.V, E("0.1"), [], false]); // -> 450
      await conn.networkHelpers.time.increase(DEFAULT_PARAMS.jailCooldown);
      const s = (await f.as(f.v)).staking;
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        s.write.unjail(),
        f.staking,
        "StakeBelowMinimum",
        [E(450), E(500)],
      );
      await s.write.addStake([E(50)]);
      await s.write.unjail();
      expect(await f.staking.read.isActive([f.V])).to.equal(true);
    });

    it("rejects zero and too large fractions, too many reporters, unknown operators and unauthorised callers", async () => {
      const f = await load();
      const { assertions } = conn.viem;
      await assertions.revertWithCustomError(
        f.staking.write.slash([f.A, 0n, [], false]),
        f.staking,
        "ZeroAmount",
      );
      await assertions.revertWithCustomErrorWithArgs(
        f.staking.write.slash([f.A, E("0.51"), [], false]),
        f.staking,
        "SlashFractionTooHigh",
        [E("0.51"), E("0.5")],
      );
      const many = Array.from({ length: 17 }, () => f.A);
      await assertions.revertWithCustomErrorWithArgs(
        f.staking.write.slash([f.A, E("0.1"), many, false]),
        f.staking,
        "TooManyReporters",
        [17n, 16n],
      );
      await assertions.revertWithCustomError(
        f.staking.write.slash([zeroAddress, E("0.1"), [], false]),
        f.staking,
        "NotRegistered",
      );
      await assertions.revertWithCustomError(
        (await f.as(f.stranger)).staking.write.slash([f.A, E("0.1"), [], false]),
        f.staking,
        "AccessManagedUnauthorized",
      );
    });
  });

  describe("governance parameters", () => {
    it("updates within bounds and emits ParamsUpdated", async () => {
      const f = await load();
      const next = { ...DEFAULT_PARAMS, unbondingPeriod: 3 * DAY };
      await conn.viem.assertions.emit(f.staking.write.setParams([next]), f.staking, "ParamsUpdated");
      expect((await f.staking.read.params()).unbondingPeriod).to.equal(3 * DAY);
    });

    it("rejects every out-of-bounds field by name, and unauthorised callers", async () => {
      const f = await load();
      const cases: [keyof typeof DEFAULT_PARAMS, bigint | number][] = [
        ["minTrainerStake", 0n],
        ["minValidatorStake", 0n],
        ["unbondingPeriod", 0],
        ["unbondingPeriod", 366 * DAY],
        ["jailCooldown", 366 * DAY],
        ["commissionDelay", 91 * DAY],
        ["maxCommissionChangeBps", 0],
        ["maxCommissionChangeBps", 5001],
        ["finderFeeBps", 5001],
        ["maxSlashFraction", 0n],
        ["maxSlashFraction", E(1) + 1n],
      ];
      for (const [name, value] of cases) {
        await conn.viem.assertions.revertWithCustomError(
          f.staking.write.setParams([{ ...DEFAULT_PARAMS, [name]: value }]),
          f.staking,
          "InvalidParameter",
        );
        const err = await f.staking.simulate
          .setParams([{ ...DEFAULT_PARAMS, [name]: value }])
          .catch((e: Error) => e);
        expect(String(err)).to.contain(name);
      }
      await conn.viem.assertions.revertWithCustomError(
        (await f.as(f.stranger)).staking.write.setParams([DEFAULT_PARAMS]),
        f.staking,
        "AccessManagedUnauthorized",
      );
    });

    it("rejects a zero epoch length at deployment", async () => {
      const f = await load();
      await conn.viem.assertions.revertWithCustomError(
        conn.viem.deployContract("Staking", [f.token.address, f.manager.address, 0n, DEFAULT_PARAMS], {
          libraries: f.libraries,
        }),
        f.staking,
        "InvalidParameter",
      );
    });
  });

  describe("epochs and stake checkpoints", () => {
    it("reports each operator's and each role's stake at the start of past epochs", async () => {
      const f = await load();
      const e0 = await f.staking.read.currentEpoch();
      expect(await f.staking.read.epochStart([e0 + 1n])).to.equal(
        (await f.staking.read.genesis()) + (e0 + 1n) * BigInt(DAY),
      );
      const s = (await f.as(f.dA)).staking;
      await s.write.delegate([f.A, E(1000)]); // epoch e0: 5,000 -> 6,000
      await nextEpoch(); // e0 + 1 starts with 6,000
      await s.write.delegate([f.A, E(1000)]); // -> 7,000
      await nextEpoch(3); // e0 + 2 .. e0 + 4 start with 7,000
      await f.staking.write.slash([f.A, E("0.5"), [], false]); // e0 + 4: -> 3,500
      await nextEpoch();
      expect(await f.staking.read.stakeAt([f.A, e0])).to.equal(0n); // registered during e0
      expect(await f.staking.read.stakeAt([f.A, e0 + 1n])).to.equal(E(6000));
      expect(await f.staking.read.stakeAt([f.A, e0 + 2n])).to.equal(E(7000));
      expect(await f.staking.read.stakeAt([f.A, e0 + 4n])).to.equal(E(7000));
      expect(await f.staking.read.stakeAt([f.A, e0 + 5n])).to.equal(E(3500));
      expect(await f.staking.read.stakeAt([f.A, e0 + 100n])).to.equal(E(3500));
      expect(await f.staking.read.roleStakeAt([TRAINER, e0 + 1n])).to.equal(E(6000));
      expect(await f.staking.read.roleStakeAt([TRAINER, e0 + 5n])).to.equal(E(3500));
      expect(await f.staking.read.roleStakeAt([VALIDATOR, e0 + 5n])).to.equal(E(1000));
    });

    it("answers every past epoch of a long history: the last two checkpoints directly, older ones by search", async () => {
      // The stake changes in some epochs and not in others, so that a history of 9 checkpoints
      // has gaps: each epoch asked lands before, on or between checkpoints, at the newest two
      // (read directly) and further back (a binary search).
      const f = await load();
      const e0 = await f.staking.read.currentEpoch();
      const s = (await f.as(f.dA)).staking;
      const startOf = new Map<bigint, bigint>(); // epoch -> A's stake at its start
      let stake = E(5000);
      startOf.set(e0, 0n); // registered during e0
      const changes = [1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1]; // 1: the stake changes in that epoch
      let e = e0;
      for (const [i, change] of changes.entries()) {
        if (change) {
          await s.write.delegate([f.A, E(100 + i)]);
          stake += E(100 + i);
        }
        await nextEpoch();
        e += 1n;
        startOf.set(e, stake);
      }
      for (const [epoch, expected] of startOf)
        expect(await f.staking.read.stakeAt([f.A, epoch]), `stakeAt(A, e0 + ${epoch - e0})`).to.equal(
          expected,
        );
      expect(await f.staking.read.stakeAt([f.A, e + 50n])).to.equal(stake);
    });
  });

  describe("StakingLens", () => {
    it("paginates operators", async () => {
      const f = await load();
      expect((await f.lens.read.getOperators([0n, 1n])).map((o) => getAddress(o.operator))).to.deep.equal([
        getAddress(f.A),
      ]);
      expect((await f.lens.read.getOperators([1n, 10n])).map((o) => getAddress(o.operator))).to.deep.equal([
        getAddress(f.V),
      ]);
      expect(await f.lens.read.getOperators([5n, 10n])).to.deep.equal([]);
      expect((await f.lens.read.getOperator([f.stranger.account.address])).status).to.equal(0);
    });
  });
});
