/**
 * Adversarial regression tests for Staking. Each test names the attack, the naive implementation
 * it would succeed against, and why that implementation fails the test.
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  decodeFunctionResult,
  encodeFunctionData,
  maxUint256,
  parseEther,
  parseEventLogs,
  toFunctionSelector,
  zeroHash,
  type Address,
  type Hex,
} from "viem";
import { deployStaking, type StakingParams } from "../../scripts/lib/deploy.js";
import {
  BURN_ADDRESS,
  MAX_SHARES_PER_TOKEN,
  TRAINER,
  VALIDATOR,
  WAD,
  toTokens,
} from "./helpers/shareMath.js";
import { attempt, outcomeName } from "./helpers/revert.js";
import { deployWorld, readParams, type Actor, type Connection, type World } from "./helpers/world.js";

const E = (n: number | string) => parseEther(String(n));
const DAY = 86_400;
const atLeast = (a: bigint, b: bigint, what: string) => expect(a >= b, `${what}: ${a} < ${b}`).to.equal(true);
const atMost = (a: bigint, b: bigint, what: string) => expect(a <= b, `${what}: ${a} > ${b}`).to.equal(true);

describe("Staking adversarial regressions", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  /**
   * Operators A (trainer, 5,000 self-stake, 10% commission, max 20%) and C (validator, 1,000, 5%),
   * an honest delegator H, an attacker X, a victim V and a bystander B. Epochs last a day, unbonding
   * takes 7 days, commission increases wait 3 days, slashes take at most 50%.
   */
  async function base() {
    const w = await deployWorld(conn, { actors: 8 });
    const [A, C, H, X, V, B] = w.actors;
    await A.staking.write.register([TRAINER, E(5000), 1000, 2000, "https://a.example", "H100"]);
    await C.staking.write.register([VALIDATOR, E(1000), 500, 1000, "https://c.example", "CPU"]);
    return { ...w, A, C, H, X, V, B };
  }
  const load = () => conn.networkHelpers.loadFixture(base);
  const time = () => conn.networkHelpers.time;
  const gasOf = async (hash: Hex) =>
    (await (await conn.viem.getPublicClient()).getTransactionReceipt({ hash })).gasUsed;
  const receipt = async (hash: Hex) => (await conn.viem.getPublicClient()).getTransactionReceipt({ hash });
  const balance = (w: World, a: Address) => w.token.read.balanceOf([a]);
  const value = async (w: World, owner: Actor, op: Actor) =>
    (await w.staking.read.getPosition([owner.address, op.address])).tokens;
  const setParams = async (w: World, patch: Partial<StakingParams>) =>
    w.staking.write.setParams([{ ...(await readParams(w.staking)), ...patch }]);

  /** Live unbonding entries of `owner`, valued at their cohort's price. */
  async function entries(w: World, owner: Address) {
    const [head, tail] = await w.staking.read.queueBounds([owner]);
    const out: { index: bigint; maturity: number; tokens: bigint }[] = [];
    for (let i = head; i < tail; i++) {
      const e = await w.staking.read.unbondingEntry([owner, i]);
      if (e.shares === 0n) continue;
      const op = await w.staking.read.operatorAt([BigInt(e.operatorId - 1)]);
      const [tokens, shares] = await w.staking.read.cohortOf([op, BigInt(e.exitEpoch)]);
      out.push({ index: i, maturity: e.maturity, tokens: toTokens(e.shares, shares, tokens) });
    }
    return out;
  }
  /** Credits `operator`'s pool with every ended epoch (no distributor here: an ended epoch is closed). */
  const credit = (w: World, operator: Address) => w.staking.write.settle([operator, maxUint256]);

  // -------------------------------------------------------------------------------------------
  it("keeps undelegated and deregistered stake slashable: unbonding does not escape a pending slash", async () => {
    // Naive implementation: `undelegate` moves the tokens out of the operator's pool into a plain
    // per-owner balance and `slash` cuts only the active pool. A delegator (or the operator, by
    // deregistering) who sees the challenge coming unbonds first and withdraws everything: here H
    // would withdraw 10,000 and A 5,000 instead of half of each.
    const w = await load();
    const { A, H } = w;
    await H.staking.write.delegate([A.address, E(10_000)]);
    await time().increase(DAY);
    const shares = (await w.staking.read.getPosition([H.address, A.address])).shares;
    await H.staking.write.undelegate([A.address, shares]);
    await A.staking.write.deregister();
    // The unbonding period (longer than the dispute window) has not passed: nothing to withdraw yet.
    await conn.viem.assertions.revertWithCustomError(
      H.staking.write.withdraw([10n]),
      w.staking,
      "NothingToWithdraw",
    );

    await w.staking.write.slash([A.address, WAD / 2n, [], true]);
    const pool = await w.staking.read.getPool([A.address]);
    expect(pool.tokens).to.equal(0n);
    expect(pool.unbondingTokens).to.equal(E(7500));

    await time().increase(8 * DAY);
    for (const [who, expected] of [
      [H, E(5000)],
      [A, E(2500)],
    ] as const) {
      const before = await balance(w, who.address);
      await who.staking.write.withdraw([10n]);
      const got = (await balance(w, who.address)) - before;
      expect(got <= expected && expected - got <= 1n, `${who.address} withdrew ${got}`).to.equal(true);
    }
  });

  // -------------------------------------------------------------------------------------------
  it("defeats first-depositor and donation share inflation: a delegation is always worth what was paid, to 1 wei", async () => {
    // Naive implementation: price = token.balanceOf(this) / totalShares (or any pool value that a
    // direct transfer can raise) with shares rounded down. The attacker, first in the pool, donates
    // a large amount straight to the contract: the victim's delegation then mints
    // floor(amount · shares / (tokens + donation)) shares, zero or nearly zero, and the attacker's
    // shares own the victim's tokens. Here the pool's price ignores donations and can never rise
    // above one token per share (tokens ≤ shares), so shares minted are ≥ the amount paid.
    const w = await load();
    const { X, V } = w;
    await X.staking.write.register([VALIDATOR, E(600), 0, 0, "", ""]);
    // Donation straight to the contract: not part of any pool.
    await X.token.write.transfer([w.staking.address, E(100_000)]);
    // Rounding games: many 1-share undelegations from the attacker's own position.
    for (let i = 0; i < 20; i++) await X.staking.write.undelegate([X.address, 1n]);
    const attackerBefore = await value(w, X, X);

    let paid = 0n;
    for (const amount of [1n, 7n, 10n ** 9n + 3n, E("1234.5")]) {
      const before = await value(w, V, X);
      await V.staking.write.delegate([X.address, amount]);
      const got = (await value(w, V, X)) - before;
      paid += amount;
      expect(got >= amount - 1n && got <= amount, `delegated ${amount}, position grew by ${got}`).to.equal(
        true,
      );
    }
    const pool = await w.staking.read.getPool([X.address]);
    expect(pool.tokens <= pool.shares, "share price above one token").to.equal(true);
    atMost(await value(w, X, X), attackerBefore + 1n, "attacker's position after the victim's deposits");
    atLeast(await value(w, V, X), paid - 4n, "victim's position");

    // Same after the pool was slashed down to its price floor (governance allows 100% slashes):
    // the cheapest share is 1e-9 token and a 1-wei delegation still mints 1e9 shares worth 1 wei.
    await setParams(w, { maxSlashFraction: WAD });
    for (let i = 0; i < 3; i++) await w.staking.write.slash([X.address, WAD, [], false]);
    const floor = await w.staking.read.getPool([X.address]);
    atLeast(floor.tokens * MAX_SHARES_PER_TOKEN, floor.shares, "price floor");
    atLeast(floor.tokens, 1n, "tokens left");
    const before = await w.staking.read.getPosition([V.address, X.address]);
    await V.staking.write.delegate([X.address, 1n]);
    const after = await w.staking.read.getPosition([V.address, X.address]);
    atLeast(after.shares - before.shares, MAX_SHARES_PER_TOKEN - 1n, "shares for 1 wei");
    expect(after.tokens - before.tokens).to.equal(1n);
  });

  // -------------------------------------------------------------------------------------------
  it("gives a flash delegation made in the reward's epoch nothing of that reward", async () => {
    // Naive implementation: one reward-per-share accumulator over all shares at notification time.
    // The attacker delegates 950,000 right before `notifyReward` (front-running the reward
    // distributor), takes ~99% of the reward, and undelegates. Here a reward of epoch e goes to the
    // shares that existed when e began, so the attacker's claimable stays 0 and H and A share it.
    const w = await load();
    const { A, H, X } = w;
    await H.staking.write.delegate([A.address, E(1000)]);
    // An unbonding entry the attacker will cancel back into the pool right before the reward.
    await X.staking.write.delegate([A.address, E(50_000)]);
    await time().increase(DAY);
    const xShares = (await w.staking.read.getPosition([X.address, A.address])).shares;
    await X.staking.write.undelegate([A.address, xShares]);
    await time().increase(DAY);

    // Epoch e: the attacker sees the reward coming and piles in through every door.
    await X.staking.write.delegate([A.address, E(900_000)]);
    const [entry] = await entries(w, X.address);
    await X.staking.write.cancelUnbonding([entry.index]);
    await w.staking.write.notifyReward([A.address, E(1000)]);
    await time().increase(DAY);
    await credit(w, A.address);

    expect((await w.staking.read.getPosition([X.address, A.address])).claimable).to.equal(0n);
    const h = (await w.staking.read.getPosition([H.address, A.address])).claimable;
    const a = (await w.staking.read.getPosition([A.address, A.address])).claimable;
    // Commission 100, then 900 split 1,000 : 5,000 between H and A's self-stake.
    expect(h).to.equal(E(150));
    expect(a).to.equal(E(850));
    await conn.viem.assertions.revertWithCustomError(
      X.staking.write.claim([A.address]),
      w.staking,
      "NothingToClaim",
    );

    // Leaving again at once: exactly the principal comes back, after the unbonding period.
    const all = (await w.staking.read.getPosition([X.address, A.address])).shares;
    await X.staking.write.undelegate([A.address, all]);
    await time().increase(9 * DAY);
    const before = await balance(w, X.address);
    await X.staking.write.withdraw([10n]);
    expect((await balance(w, X.address)) - before).to.equal(E(950_000));

    // Control: stake that stays bonded across the boundary does earn the next epoch's reward.
    await X.staking.write.delegate([A.address, E(6000)]);
    await time().increase(DAY);
    await w.staking.write.notifyReward([A.address, E(1000)]);
    await time().increase(DAY);
    await credit(w, A.address);
    // Commission 100, then 900 split 1,000 (H) : 5,000 (A) : 6,000 (X).
    expect((await w.staking.read.getPosition([X.address, A.address])).claimable).to.equal(E(450));
  });

  // -------------------------------------------------------------------------------------------
  it("applies a commission raise requested just before a reward only after commissionDelay", async () => {
    // Naive implementation: `setCommission` takes effect immediately (or is bounded only by the
    // operator's max rate). An operator who sees `notifyReward` in the mempool raises its rate in
    // front of it and takes 15% (or its 20% max) of a reward its delegators expected at 10%. Here a
    // raise applies from the first epoch that starts `commissionDelay` after it (delegators can
    // leave first), never to an epoch already running, and is bounded per request.
    const w = await load();
    const { A, H } = w;
    await H.staking.write.delegate([A.address, E(5000)]);
    await time().increase(DAY);

    const hash = await A.staking.write.setCommission([1500]);
    const [req] = parseEventLogs({
      abi: w.staking.abi,
      logs: (await receipt(hash)).logs,
      eventName: "CommissionChangeRequested",
    });
    const requestedAt = BigInt(await time().latest());
    const effectiveAt = BigInt(req.args.effectiveAt);
    expect(
      effectiveAt >= requestedAt + BigInt(3 * DAY) && effectiveAt < requestedAt + BigInt(4 * DAY),
    ).to.equal(true);
    expect((effectiveAt - w.genesis) % BigInt(DAY)).to.equal(0n); // an epoch boundary
    await w.staking.write.notifyReward([A.address, E(1000)]);

    // No jumping or stacking: the rate in force is still 10% and a change is bounded by 5 points.
    await conn.viem.assertions.revertWithCustomErrorWithArgs(
      A.staking.write.setCommission([2000]),
      w.staking,
      "CommissionChangeTooLarge",
      [1000n, 2000n, 500n],
    );
    await conn.viem.assertions.revertWithCustomErrorWithArgs(
      A.staking.write.setCommission([2100]),
      w.staking,
      "CommissionAboveMax",
      [2100n, 2000n],
    );
    expect(await w.staking.read.commissionOf([A.address])).to.equal(1000);
    await time().increase(DAY);
    const credited = await receipt(await credit(w, A.address));
    const [c1] = parseEventLogs({ abi: w.staking.abi, logs: credited.logs, eventName: "RewardCredited" });
    expect(c1.args.commission).to.equal(E(100));

    // From the epoch the raise applies to, the new rate.
    await time().increaseTo(effectiveAt + 60n);
    expect(await w.staking.read.commissionOf([A.address])).to.equal(1500);
    await w.staking.write.notifyReward([A.address, E(1000)]);
    await time().increase(DAY);
    const later = await receipt(await credit(w, A.address));
    const [c2] = parseEventLogs({ abi: w.staking.abi, logs: later.logs, eventName: "RewardCredited" });
    expect(c2.args.commission).to.equal(E(150));

    // A decrease applies from the next epoch.
    await A.staking.write.setCommission([1200]);
    expect(await w.staking.read.commissionOf([A.address])).to.equal(1500);
    await time().increase(DAY);
    expect(await w.staking.read.commissionOf([A.address])).to.equal(1200);
  });

  // -------------------------------------------------------------------------------------------
  it("lets no sequence of tiny delegate/undelegate cycles extract more than was deposited", async () => {
    // Naive implementation: shares minted or tokens paid rounded up (or to nearest). At a share
    // price of ~0.67 token, delegating 1 wei mints 2 shares worth 2 wei, so each cycle takes a wei
    // from the other delegators; thousands of cycles drain the pool. Here every rounding goes
    // against the caller: the attacker gets back at most what it put in and the honest
    // delegator's position never loses value.
    const w = await load();
    const { A, H, X } = w;
    await H.staking.write.delegate([A.address, E(3000)]);
    await w.staking.write.slash([A.address, WAD / 3n, [], false]); // price ≈ 0.667 token/share
    await time().increase(DAY);
    const honest = await value(w, H, A);
    const poolBefore = await w.staking.read.getPool([A.address]);

    const start = await balance(w, X.address);
    for (let i = 0; i < 60; i++) {
      const amount = BigInt(1 + (i % 7));
      const before = (await w.staking.read.getPosition([X.address, A.address])).shares;
      await X.staking.write.delegate([A.address, amount]);
      const shares = (await w.staking.read.getPosition([X.address, A.address])).shares;
      // Undelegate in single shares half of the time, in one go otherwise.
      if (i % 2 === 0) {
        for (let s = before; s < shares; s++) await X.staking.write.undelegate([A.address, 1n]);
      } else {
        await X.staking.write.undelegate([A.address, shares - before]);
      }
    }
    await time().increase(9 * DAY);
    const [head, tail] = await w.staking.read.queueBounds([X.address]);
    if (tail > head) await X.staking.write.withdraw([1000n]);
    const end = await balance(w, X.address);
    expect(end <= start, `attacker ended with ${end - start} wei more`).to.equal(true);
    atLeast(await value(w, H, A), honest, "honest delegator's position");
    const poolAfter = await w.staking.read.getPool([A.address]);
    expect(
      poolAfter.tokens * poolBefore.shares >= poolBefore.tokens * poolAfter.shares,
      "share price fell",
    ).to.equal(true);
  });

  // -------------------------------------------------------------------------------------------
  it("never lets an attacker's own unbonding spam block a victim's withdraw or raise its gas", async () => {
    // Naive implementation: one global unbonding queue (or a per-operator queue) processed in
    // order, or a withdraw that scans all entries of a pool. An attacker who undelegates dust 150
    // times in front of the victim makes the victim's withdraw pay for (or stop at) the attacker's
    // entries. Here each owner has its own queue, so the victim's withdraw touches only its entry.
    const w = await load();
    const { A, C, V, B, X } = w;
    await V.staking.write.delegate([A.address, E(1000)]);
    await B.staking.write.delegate([A.address, E(1000)]); // keeps A's unbonding pool non-empty
    await X.staking.write.delegate([A.address, E(1000)]);
    await X.staking.write.delegate([C.address, E(1000)]);
    await time().increase(DAY);
    await V.staking.write.undelegate([A.address, E(400)]);
    await B.staking.write.undelegate([A.address, E(400)]);
    const snapshot = await conn.networkHelpers.takeSnapshot();

    await time().increase(8 * DAY);
    const baseline = await gasOf(await V.staking.write.withdraw([10n]));

    await snapshot.restore();
    // 150 entries in the attacker's queue, alternating pools so that none merges with the previous.
    for (let i = 0; i < 150; i++)
      await X.staking.write.undelegate([i % 2 === 0 ? A.address : C.address, E(1)]);
    expect((await w.staking.read.queueBounds([V.address]))[1]).to.equal(1n);
    await time().increase(8 * DAY);
    const before = await balance(w, V.address);
    const spammed = await gasOf(await V.staking.write.withdraw([10n]));
    expect((await balance(w, V.address)) - before).to.equal(E(400));
    expect(spammed, `victim's withdraw cost ${spammed} gas after spam, ${baseline} before`).to.equal(
      baseline,
    );
  });

  // -------------------------------------------------------------------------------------------
  it("withdraws a queue of many matured entries in bounded batches of maxEntries", async () => {
    // Naive implementation: `withdraw()` pays every matured entry in one call. A queue long enough
    // (here grown by the owner itself, or by a contract integrating Staking) no longer fits in a
    // block and the funds are stuck. Here `withdraw(maxEntries)` processes at most `maxEntries`
    // entries, each batch costs about the same, and successive batches drain the queue.
    const w = await load();
    const { A, C, V } = w;
    await V.staking.write.delegate([A.address, E(1000)]);
    await V.staking.write.delegate([C.address, E(1000)]);
    await time().increase(DAY);
    const n = 120;
    for (let i = 0; i < n; i++) await V.staking.write.undelegate([i % 2 === 0 ? A.address : C.address, E(1)]);
    expect((await w.staking.read.queueBounds([V.address]))[1]).to.equal(BigInt(n));
    await time().increase(9 * DAY);

    await conn.viem.assertions.revertWithCustomError(
      V.staking.write.withdraw([0n]),
      w.staking,
      "NothingToWithdraw",
    );
    const gas: bigint[] = [];
    const start = await balance(w, V.address);
    for (let b = 0; b < 3; b++) {
      const r = await receipt(await V.staking.write.withdraw([40n]));
      const [ev] = parseEventLogs({ abi: w.staking.abi, logs: r.logs, eventName: "Withdrawn" });
      expect(ev.args.entries).to.equal(40n);
      gas.push(r.gasUsed);
    }
    expect((await balance(w, V.address)) - start).to.equal(E(n));
    const [lo, hi] = [gas.reduce((a, b) => (a < b ? a : b)), gas.reduce((a, b) => (a > b ? a : b))];
    expect(hi * 100n <= lo * 115n, `batch gas ${gas.join(", ")}`).to.equal(true);
    expect(hi < 40n * 30_000n + 100_000n, `batch of 40 costs ${hi} gas`).to.equal(true);
    await conn.viem.assertions.revertWithCustomError(
      V.staking.write.withdraw([40n]),
      w.staking,
      "NothingToWithdraw",
    );
  });

  // -------------------------------------------------------------------------------------------
  it("keeps a matured entry withdrawable when governance shortens the unbonding period", async () => {
    // Naive implementation: each entry matures at now + the current unbonding period, and
    // `withdraw` pays the queue in order and stops at the first immature entry. After governance
    // shortens the period, a new entry matures before an older one: it is matured but
    // `withdraw` reverts with NothingToWithdraw until the older one matures (breaks I4). Here a
    // new entry never matures before the newest one in its queue, so the queue stays ordered and
    // whatever is matured is paid.
    const w = await load();
    const { A, C, V } = w;
    await V.staking.write.delegate([A.address, E(1000)]);
    await V.staking.write.delegate([C.address, E(1000)]);
    await time().increase(DAY);
    await V.staking.write.undelegate([A.address, E(100)]); // 7-day unbonding
    await setParams(w, { unbondingPeriod: DAY });
    await V.staking.write.undelegate([C.address, E(100)]); // 1-day unbonding
    const list = await entries(w, V.address);
    expect(list.map((e) => e.maturity)).to.deep.equal([...list.map((e) => e.maturity)].sort((a, b) => a - b));
    for (let day = 1; day <= 9; day++) {
      await time().increase(DAY);
      const now = await time().latest();
      const matured = (await entries(w, V.address)).filter((e) => e.maturity <= now);
      if (matured.length === 0) {
        await conn.viem.assertions.revertWithCustomError(
          V.staking.write.withdraw([10n]),
          w.staking,
          "NothingToWithdraw",
        );
        continue;
      }
      const { result } = await V.staking.simulate.withdraw([10n], { account: V.address });
      expect(result, `day ${day}: matured entries pay their value`).to.equal(
        matured.reduce((a, e) => a + e.tokens, 0n),
      );
    }
  });

  // -------------------------------------------------------------------------------------------
  it("returns rewards of an epoch in which nobody held shares of a pool to the distributor's carry, never strands them", async () => {
    // Naive implementation: a reward for a pool with no eligible shares is kept in the pool for
    // later, and nothing else ever touches it. When the operator is jailed and deregisters and its
    // delegators leave, nobody can join the pool again: the reward stays in the contract forever.
    // Here a reward of an epoch that began with no shares in the pool is counted as dust, which
    // the distributor takes back into its carry; the contract keeps only what it owes.
    const w = await load();
    const { H, X } = w;
    await X.staking.write.register([VALIDATOR, E(600), 0, 0, "", ""]);
    await H.staking.write.delegate([X.address, E(400)]);
    await w.staking.write.notifyReward([X.address, E(250)]); // epoch 0 began with no shares in X's pool
    await w.staking.write.slash([X.address, WAD / 10n, [], true]);
    await X.staking.write.deregister();
    const shares = (await w.staking.read.getPosition([H.address, X.address])).shares;
    await H.staking.write.undelegate([X.address, shares]);
    await w.staking.write.notifyReward([X.address, E(50)]); // epoch 0 too
    await time().increase(DAY);
    await w.staking.write.notifyReward([X.address, E(70)]); // epoch 1: the pool has no shares left
    await time().increase(DAY);
    await credit(w, X.address);
    expect(await w.staking.read.rewardDust()).to.equal(E(370));
    expect((await w.staking.read.getPosition([H.address, X.address])).claimable).to.equal(0n);
    await time().increase(9 * DAY);
    await H.staking.write.withdraw([10n]);
    await X.staking.write.withdraw([10n]);
    const a = await w.staking.read.getPool([w.A.address]);
    const c = await w.staking.read.getPool([w.C.address]);
    expect(await balance(w, w.staking.address), "contract holds its pools and the dust it returns").to.equal(
      a.tokens + c.tokens + E(370),
    );
  });

  // -------------------------------------------------------------------------------------------
  describe("reentrancy through a token callback", () => {
    /** Staking deployed with a token whose transfers call back into Staking once armed. */
    async function reentrant() {
      const [admin] = await conn.viem.getWalletClients();
      const rt = await conn.viem.deployContract("ReentrantToken", [admin.account.address, E(1_000_000_000)]);
      const w = await deployWorld(conn, { actors: 3, token: rt.address });
      const [A, V] = w.actors;
      await A.staking.write.register([TRAINER, E(2000), 1000, 2000, "", ""]);
      // The token contract is an account of Staking too, so its re-entrant calls would succeed
      // (it has matured entries and rewards) if the guard did not stop them.
      await rt.write.transfer([rt.address, E(10_000)]);
      await rt.write.approveFromSelf([w.staking.address, maxUint256]);
      const call = (functionName: "delegate" | "undelegate", args: readonly [Address, bigint]) =>
        encodeFunctionData({ abi: w.staking.abi, functionName, args });
      await rt.write.execute([w.staking.address, call("delegate", [A.address, E(1000)])]);
      await V.staking.write.delegate([A.address, E(1000)]);
      await time().increase(DAY);
      await w.staking.write.notifyReward([A.address, E(300)]);
      await rt.write.execute([w.staking.address, call("undelegate", [A.address, E(500)])]);
      await V.staking.write.undelegate([A.address, E(500)]);
      await time().increase(9 * DAY);
      await w.staking.write.settle([A.address, maxUint256]); // the reward's epoch is credited
      return { ...w, rt, A, V };
    }
    const loadRe = () => conn.networkHelpers.loadFixture(reentrant);
    const GUARD = toFunctionSelector("ReentrancyGuardReentrantCall()");

    type R = Awaited<ReturnType<typeof reentrant>>;
    const inner = (r: R): [string, Hex][] => [
      ["withdraw", encodeFunctionData({ abi: r.staking.abi, functionName: "withdraw", args: [10n] })],
      ["claim", encodeFunctionData({ abi: r.staking.abi, functionName: "claim", args: [r.A.address] })],
      ["compound", encodeFunctionData({ abi: r.staking.abi, functionName: "compound", args: [r.A.address] })],
      [
        "delegate",
        encodeFunctionData({ abi: r.staking.abi, functionName: "delegate", args: [r.A.address, 1n] }),
      ],
      [
        "undelegate",
        encodeFunctionData({ abi: r.staking.abi, functionName: "undelegate", args: [r.A.address, 1n] }),
      ],
      [
        "cancelUnbonding",
        encodeFunctionData({ abi: r.staking.abi, functionName: "cancelUnbonding", args: [0n] }),
      ],
    ];
    const outer = (r: R): [string, () => Promise<Hex>, bigint][] => [
      ["withdraw", () => r.V.staking.write.withdraw([10n]), E(500)],
      ["claim", () => r.V.staking.write.claim([r.A.address]), E("67.5")],
      ["delegate", () => r.V.staking.write.delegate([r.A.address, E(10)]), -E(10)],
    ];

    it("reverts withdraw, claim and delegate with ReentrancyGuardReentrantCall when the callback re-enters", async () => {
      // Naive implementation: no reentrancy guard and the transfer before the state update (or a
      // token hook that re-enters between two writes). A malicious token or a hook on a
      // token-like asset re-enters `withdraw` or `claim` and is paid twice.
      const r = await loadRe();
      for (const [outerName, send] of outer(r)) {
        for (const [innerName, data] of inner(r)) {
          const s = await conn.networkHelpers.takeSnapshot();
          await r.rt.write.arm([r.staking.address, data, true]);
          const outcome = await attempt(send(), r.errorAbi);
          expect(outcomeName(outcome), `${outerName} re-entered by ${innerName}`).to.equal(
            "ReentrancyGuardReentrantCall",
          );
          await s.restore();
        }
      }
    });

    it("leaves withdraw, claim and delegate unaffected when the re-entrant call's failure is swallowed", async () => {
      const r = await loadRe();
      for (const [outerName, send, delta] of outer(r)) {
        for (const [innerName, data] of inner(r)) {
          const s = await conn.networkHelpers.takeSnapshot();
          const before = await balance(r, r.V.address);
          const rtBefore = await r.staking.read.getPosition([r.rt.address, r.A.address]);
          await r.rt.write.arm([r.staking.address, data, false]);
          await send();
          const what = `${outerName} <- ${innerName}`;
          expect(await r.rt.read.hookCalls(), what).to.equal(1n);
          expect(await r.rt.read.lastHookOk(), what).to.equal(false);
          expect(await r.rt.read.lastHookReturn(), what).to.equal(GUARD);
          // Exactly the outer effect, once; the token contract's own position is untouched.
          expect((await balance(r, r.V.address)) - before, what).to.equal(delta);
          expect(await r.staking.read.getPosition([r.rt.address, r.A.address]), what).to.deep.equal(rtBefore);
          await s.restore();
        }
      }
      // Control: outside a callback the same calls by the token contract go through.
      const before = await balance(r, r.rt.address);
      await r.rt.write.execute([r.staking.address, inner(r)[0][1]]);
      expect((await balance(r, r.rt.address)) - before).to.equal(E(500));
    });

    it("shows views already updated to a callback during a payout (no read-only reentrancy)", async () => {
      // Naive implementation: transfer first, then update the state. A contract that prices
      // positions from `getPosition` / `queueBounds` during the callback sees rewards or entries
      // that have already been paid.
      const r = await loadRe();
      const s = await conn.networkHelpers.takeSnapshot();
      await r.rt.write.arm([
        r.staking.address,
        encodeFunctionData({
          abi: r.staking.abi,
          functionName: "getPosition",
          args: [r.V.address, r.A.address],
        }),
        false,
      ]);
      await r.V.staking.write.claim([r.A.address]);
      expect(await r.rt.read.lastHookOk()).to.equal(true);
      const pos = decodeFunctionResult({
        abi: r.staking.abi,
        functionName: "getPosition",
        data: await r.rt.read.lastHookReturn(),
      });
      expect(pos.claimable).to.equal(0n);
      await s.restore();
      await r.rt.write.arm([
        r.staking.address,
        encodeFunctionData({ abi: r.staking.abi, functionName: "queueBounds", args: [r.V.address] }),
        false,
      ]);
      await r.V.staking.write.withdraw([10n]);
      const [head, tail] = decodeFunctionResult({
        abi: r.staking.abi,
        functionName: "queueBounds",
        data: await r.rt.read.lastHookReturn(),
      });
      expect(head).to.equal(tail);
    });
  });

  // -------------------------------------------------------------------------------------------
  it("survives 140 maximal slashes (110 at 50%, then 30 at 100%): no overflow, price stays > 0, everybody exits", async () => {
    // Naive implementation: a slash takes the fraction of the pool without a floor. One 100%
    // slash leaves shares with zero tokens (the next delegation divides by zero); a hundred 50%
    // slashes leave a price of 2^-100, so a 1-token delegation mints ~1e48 shares and overflows
    // the uint128 share counters (or the accumulator), bricking delegation, undelegation and
    // claims. Here a slash always leaves ceil(shares / 1e9) tokens: the price stays ≥ 1e-9.
    const w = await load();
    const { A, H, X, V } = w;
    await H.staking.write.delegate([A.address, E(100_000)]);
    await time().increase(DAY);
    let paidIn = E(5000) + E(100_000);
    const exits = new Set<bigint>();
    for (let i = 0; i < 140; i++) {
      // The largest slash governance allows: 50% by default, then 100%.
      if (i === 110) await setParams(w, { maxSlashFraction: WAD });
      await w.staking.write.slash([A.address, i < 110 ? WAD / 2n : WAD, [], false]);
      if (i % 10 === 3) {
        const amount = [1n, E(1000), E(100_000), 999n][((i / 10) % 4) | 0];
        await X.staking.write.delegate([A.address, amount]);
        paidIn += amount;
      }
      if (i % 10 === 6) {
        const shares = (await w.staking.read.getPosition([H.address, A.address])).shares;
        if (shares > 1n) await H.staking.write.undelegate([A.address, shares / 3n]);
        await w.staking.write.notifyReward([A.address, E(10)]);
        exits.add(await w.staking.read.currentEpoch());
      }
      if (i % 20 === 9) {
        await time().increase(DAY);
        await V.staking.write.delegate([A.address, E(10)]);
        paidIn += E(10);
      }
      if (i % 30 === 29) {
        await time().increase(8 * DAY);
        await H.staking.write.withdraw([100n]);
        const c = (await w.staking.read.getPosition([H.address, A.address])).claimable;
        if (c !== 0n) await H.staking.write.claim([A.address]);
      }
      const p = await w.staking.read.getPool([A.address]);
      expect(
        p.tokens * MAX_SHARES_PER_TOKEN >= p.shares && p.tokens > 0n,
        `price floor after slash ${i}`,
      ).to.equal(true);
      for (const x of exits) {
        const [tokens, shares] = await w.staking.read.cohortOf([A.address, x]);
        if (shares !== 0n)
          expect(tokens * MAX_SHARES_PER_TOKEN >= shares, `unbonding floor ${i} (cohort ${x})`).to.equal(
            true,
          );
      }
    }
    // Everybody exits; no call reverts.
    await time().increase(DAY);
    await A.staking.write.deregister();
    for (const who of [H, X, V]) {
      const shares = (await w.staking.read.getPosition([who.address, A.address])).shares;
      if (shares !== 0n) await who.staking.write.undelegate([A.address, shares]);
    }
    await time().increase(9 * DAY);
    let paidOut = 0n;
    for (const who of [A, H, X, V]) {
      const before = await balance(w, who.address);
      const [head, tail] = await w.staking.read.queueBounds([who.address]);
      if (tail > head) await who.staking.write.withdraw([1000n]);
      if ((await w.staking.read.getPosition([who.address, A.address])).claimable !== 0n) {
        await who.staking.write.claim([A.address]);
      }
      paidOut += (await balance(w, who.address)) - before;
    }
    const pool = await w.staking.read.getPool([A.address]);
    expect(pool.tokens + pool.unbondingTokens).to.equal(0n);
    expect(paidOut < paidIn).to.equal(true);
    // What is left is C's pool, the dust of rewards that could not be credited and rounding dust.
    const c = await w.staking.read.getPool([w.C.address]);
    const dust = await w.staking.read.rewardDust();
    atMost((await balance(w, w.staking.address)) - c.tokens - dust, 999n, "left in Staking besides C's pool");
  });

  // -------------------------------------------------------------------------------------------
  it("works with a plain ERC-20 without permit: delegateWithPermit falls back to the allowance", async () => {
    const [admin] = await conn.viem.getWalletClients();
    const plain = await conn.viem.deployContract("PlainERC20", [admin.account.address, E(1_000_000_000)]);
    const w = await deployWorld(conn, { actors: 3, token: plain.address });
    const [A, D, S] = w.actors;
    await A.staking.write.register([TRAINER, E(2000), 1000, 2000, "", ""]);
    const deadline = BigInt(await time().latest()) + 3600n;
    // No permit function on the token: the call fails inside the try and the allowance is used.
    await D.staking.write.delegateWithPermit([A.address, E(1000), deadline, 27, zeroHash, zeroHash]);
    expect(await value(w, D, A)).to.equal(E(1000));
    // Without an allowance the permit fallback cannot help: the token's own error surfaces.
    await S.token.write.approve([w.staking.address, 0n]);
    await conn.viem.assertions.revertWithCustomError(
      S.staking.write.delegateWithPermit([A.address, E(1), deadline, 27, zeroHash, zeroHash]),
      plain,
      "ERC20InsufficientAllowance",
    );
    // The rest of the life cycle with the plain token: reward, claim, slash burn, unbond, withdraw.
    await time().increase(DAY);
    await w.staking.write.notifyReward([A.address, E(300)]);
    await time().increase(DAY);
    const before = await plain.read.balanceOf([D.address]);
    await D.staking.write.claim([A.address]);
    expect((await plain.read.balanceOf([D.address])) - before).to.equal(E(90));
    await w.staking.write.slash([A.address, WAD / 10n, [S.address], false]);
    expect(await plain.read.balanceOf([BURN_ADDRESS])).to.equal(E(270));
    const shares = (await w.staking.read.getPosition([D.address, A.address])).shares;
    await D.staking.write.undelegate([A.address, shares]);
    await time().increase(9 * DAY);
    const b2 = await plain.read.balanceOf([D.address]);
    await D.staking.write.withdraw([10n]);
    expect((await plain.read.balanceOf([D.address])) - b2).to.equal(E(900));
  });

  // -------------------------------------------------------------------------------------------
  describe("access control and parameter bounds", () => {
    async function roles() {
      const wallets = await conn.viem.getWalletClients();
      const [slasher, governor] = wallets.slice(9, 11).map((x) => x.account.address);
      const d = await deployStaking(conn.viem, { slasher, governor });
      const as = async (i: number) =>
        conn.viem.getContractAt("Staking", d.staking.address, { client: { wallet: wallets[i] } });
      return {
        ...d,
        stranger: await as(1),
        slasher: await as(9),
        governor: await as(10),
        wallets,
      };
    }
    const loadRoles = () => conn.networkHelpers.loadFixture(roles);

    it("reverts slash, setParams, the slash sources and the distributor from an unauthorised account with AccessManagedUnauthorized", async () => {
      const r = await loadRoles();
      const params = await readParams(r.staking);
      const op = r.wallets[1].account.address;
      const cases: [string, Address, () => Promise<Hex>][] = [];
      for (const [name, c, who] of [
        ["stranger", r.stranger, 1],
        ["slasher", r.slasher, 9],
        ["governor", r.governor, 10],
      ] as const) {
        const caller = r.wallets[who].account.address;
        if (name !== "slasher") {
          cases.push([`${name}: slash`, caller, () => c.write.slash([op, 1n, [], false])]);
          cases.push([`${name}: slash at`, caller, () => c.write.slash([op, 1n, [], false, 0n])]);
        }
        if (name !== "governor") {
          cases.push([`${name}: setParams`, caller, () => c.write.setParams([params])]);
          cases.push([`${name}: addSlashSource`, caller, () => c.write.addSlashSource([op])]);
          cases.push([`${name}: removeSlashSource`, caller, () => c.write.removeSlashSource([op])]);
          cases.push([`${name}: setRewardDistributor`, caller, () => c.write.setRewardDistributor([op])]);
        }
      }
      for (const [, caller, send] of cases) {
        await conn.viem.assertions.revertWithCustomErrorWithArgs(
          send(),
          r.staking,
          "AccessManagedUnauthorized",
          [caller],
        );
      }
      // The distributor's entry points answer to the connected distributor only (none yet).
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        r.stranger.write.fundEpoch([0n, 1n, 1n, 1n, 1n, 0n]),
        r.staking,
        "NotRewardDistributor",
        [op],
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        r.stranger.write.takeRewardDust(),
        r.staking,
        "NotRewardDistributor",
        [op],
      );
      // The holders of the roles get past the access check (and fail, if at all, on their input).
      await r.governor.write.setParams([params]);
      await conn.viem.assertions.revertWithCustomError(
        r.slasher.write.slash([op, 1n, [], false]),
        r.staking,
        "NotRegistered",
      );
      await conn.viem.assertions.revertWithCustomErrorWithArgs(
        r.governor.write.addSlashSource([op]),
        r.staking,
        "NotASlashWindowSource",
        [op],
      );
    });

    it("reverts setParams with InvalidParameter naming the field for every out-of-bound value", async () => {
      const r = await loadRoles();
      const p = await readParams(r.staking);
      const year = 365 * DAY;
      const cases: [keyof StakingParams, bigint | number, bigint, bigint][] = [
        ["minTrainerStake", 0n, 1n, 10n ** 36n],
        ["minTrainerStake", 10n ** 36n + 1n, 1n, 10n ** 36n],
        ["minValidatorStake", 0n, 1n, 10n ** 36n],
        ["minValidatorStake", 10n ** 36n + 1n, 1n, 10n ** 36n],
        ["unbondingPeriod", 0, 1n, BigInt(year)],
        ["unbondingPeriod", year + 1, 1n, BigInt(year)],
        ["jailCooldown", year + 1, 0n, BigInt(year)],
        ["commissionDelay", 90 * DAY + 1, 0n, BigInt(90 * DAY)],
        ["maxCommissionChangeBps", 0, 1n, 5000n],
        ["maxCommissionChangeBps", 5001, 1n, 5000n],
        ["finderFeeBps", 5001, 0n, 5000n],
        ["maxSlashFraction", 0n, 1n, WAD],
        ["maxSlashFraction", WAD + 1n, 1n, WAD],
      ];
      for (const [field, v, lo, hi] of cases) {
        await conn.viem.assertions.revertWithCustomErrorWithArgs(
          r.governor.write.setParams([{ ...p, [field]: v }]),
          r.staking,
          "InvalidParameter",
          [field, BigInt(v), lo, hi],
        );
      }
      // The bounds themselves are accepted.
      await r.governor.write.setParams([
        {
          ...p,
          unbondingPeriod: year,
          jailCooldown: 0,
          commissionDelay: 90 * DAY,
          maxCommissionChangeBps: 5000,
          finderFeeBps: 5000,
          maxSlashFraction: WAD,
        },
      ]);
    });
  });
});
