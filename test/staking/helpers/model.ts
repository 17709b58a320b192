import { expect } from "chai";
import type { Address } from "viem";
import type { StakingParams } from "../../../scripts/lib/deploy.js";
import { BURN_ADDRESS, MAX_SHARES_PER_TOKEN, TRAINER, VALIDATOR, toTokens } from "./shareMath.js";
import { readParams, type World } from "./world.js";

/**
 * A full read of the Staking state the invariant tests reason about, taken between two actions,
 * plus the ghost accounting the tests keep themselves (what they notified, claimed, burned).
 */

export type PoolSnap = {
  tokens: bigint;
  shares: bigint;
  unbondingTokens: bigint;
  rewardPerShare: bigint;
  creditedThrough: bigint;
  commission: bigint;
};

export type OpSnap = {
  address: Address;
  id: number;
  role: number;
  status: number; // 1 Active, 2 Deregistered
  jailed: boolean;
  counted: boolean;
  jailedUntil: bigint;
  maxCommissionBps: number;
  commissionNow: number;
  active: boolean;
  pool: PoolSnap;
};

export type PosSnap = { shares: bigint; tokens: bigint; claimable: bigint };
export type EntrySnap = {
  index: bigint;
  operatorId: number;
  maturity: bigint;
  exitEpoch: bigint;
  shares: bigint;
};
export type CohortSnap = { tokens: bigint; shares: bigint };
export type QueueSnap = { head: bigint; tail: bigint; entries: EntrySnap[] };

export type Snap = {
  now: bigint;
  epoch: bigint;
  params: StakingParams;
  ops: Map<Address, OpSnap>;
  byId: Map<number, Address>;
  pos: Map<string, PosSnap>;
  queues: Map<Address, QueueSnap>;
  /** Unbonding cohorts `${operatorId}:${exitEpoch}` that some live entry holds shares of. */
  cohorts: Map<string, CohortSnap>;
  /** Rewards added to pools for epochs not credited yet, and the rewards nobody could earn. */
  pendingRewards: bigint;
  rewardDust: bigint;
  balance: bigint;
  burnBalance: bigint;
  /** Slashes held through their dispute window (`heldTokens`). */
  held: bigint;
  roleStake: Map<number, bigint>;
};

export const posKey = (owner: Address, operator: Address) => `${owner}:${operator}`;
export const EMPTY_POS: PosSnap = { shares: 0n, tokens: 0n, claimable: 0n };
export const cohortKey = (operatorId: number, exitEpoch: bigint) => `${operatorId}:${exitEpoch}`;

/** Ghost accounting: what the test itself sent to and saw leave the reward side of Staking. */
export type Ghost = {
  notified: bigint;
  claimed: bigint; // claimed and compounded rewards
  slashBurned: bigint;
  finderFees: bigint;
  /** held slashes not returned or released yet */
  held: bigint;
  credits: bigint; // pool credits of an epoch with a reward (see `dustAllowance`)
  positionActions: bigint; // successful actions that settle a position (see `dustAllowance`)
};

/** Commission entries of an operator: each rate applies from its epoch on. */
export type CommissionModel = { from: bigint; bps: number }[];

export type EpochRecord = { stakes: Map<Address, bigint>; role: Map<number, bigint> };

export class Model {
  snap!: Snap;
  ghost: Ghost = {
    notified: 0n,
    claimed: 0n,
    slashBurned: 0n,
    finderFees: 0n,
    held: 0n,
    credits: 0n,
    positionActions: 0n,
  };
  /** Epochs each pool was given rewards for (`notifyReward`). */
  rewarded = new Map<Address, Set<bigint>>();
  commission = new Map<Address, CommissionModel>();
  /** Stake of every candidate operator and of each role, observed at the start of each epoch. */
  epochs = new Map<bigint, EpochRecord>();
  /** Largest reward dust seen and the allowance at that moment (reported with POAI_FC_STATS=1). */
  maxGap = { gap: 0n, allowance: 0n };
  /** Latest maturity each owner's queue ever held. */
  newestMaturity = new Map<Address, bigint>();
  /** Human-readable trace of the run, printed when a check fails. */
  trace: string[] = [];

  constructor(
    readonly candidates: Address[],
    readonly owners: Address[],
  ) {}

  pos(owner: Address, operator: Address): PosSnap {
    return this.snap.pos.get(posKey(owner, operator)) ?? EMPTY_POS;
  }

  queue(owner: Address): QueueSnap {
    return this.snap.queues.get(owner) ?? { head: 0n, tail: 0n, entries: [] };
  }

  /** The commission rate of `epoch` according to the model of epoch-aligned changes. */
  commissionAt(operator: Address, epoch: bigint): number {
    const h = this.commission.get(operator) ?? [];
    let bps = h[0]?.bps ?? 0; // the rate at registration applies to everything before it too
    for (const x of h) if (x.from <= epoch) bps = x.bps;
    return bps;
  }

  minStake(role: number): bigint {
    return role === TRAINER ? this.snap.params.minTrainerStake : this.snap.params.minValidatorStake;
  }
}

/**
 * Reads the state. Queues are re-read only for `refresh` owners (an owner's queue changes only by
 * its own actions), or for every owner when `refresh` is "all"; the others come from `prev`.
 */
export async function readSnap(
  w: World,
  m: Model,
  refresh: Iterable<Address> | "all",
  prev?: Snap,
): Promise<Snap> {
  const s = w.staking.read;
  const block = await w.conn.viem.getPublicClient().then((c) => c.getBlock());
  const now = block.timestamp;
  const epochLength = BigInt(w.epochLength);
  const epoch = (now - w.genesis) / epochLength;
  const params = prev?.params ?? (await readParams(w.staking));
  const ops = new Map<Address, OpSnap>();
  const byId = new Map<number, Address>();
  for (const a of m.candidates) {
    const r = await s.operatorRecord([a]);
    if (r.status === 0) continue;
    const p = await s.getPool([a]);
    ops.set(a, {
      address: a,
      id: r.id,
      role: r.role,
      status: r.status,
      jailed: r.jailed,
      counted: r.counted,
      jailedUntil: BigInt(r.jailedUntil),
      maxCommissionBps: r.maxCommissionBps,
      commissionNow: await s.commissionOf([a]),
      active: await s.isActive([a]),
      pool: {
        tokens: p.tokens,
        shares: p.shares,
        unbondingTokens: p.unbondingTokens,
        rewardPerShare: p.rewardPerShare,
        creditedThrough: p.creditedThrough,
        commission: p.commission,
      },
    });
    byId.set(r.id, a);
  }
  const pos = new Map<string, PosSnap>();
  for (const owner of m.owners) {
    for (const op of ops.keys()) {
      const v = await s.getPosition([owner, op]);
      if (v.shares !== 0n || v.claimable !== 0n) pos.set(posKey(owner, op), { ...v });
    }
  }
  const queues = new Map<Address, QueueSnap>(prev?.queues ?? []);
  const toRefresh = refresh === "all" ? m.owners : [...refresh];
  for (const owner of toRefresh) {
    const [head, tail] = await s.queueBounds([owner]);
    const entries: EntrySnap[] = [];
    for (let i = head; i < tail; i++) {
      const e = await s.unbondingEntry([owner, i]);
      entries.push({
        index: i,
        operatorId: e.operatorId,
        maturity: BigInt(e.maturity),
        exitEpoch: BigInt(e.exitEpoch),
        shares: e.shares,
      });
    }
    queues.set(owner, { head, tail, entries });
  }
  const roleStake = new Map<number, bigint>([
    [TRAINER, await s.roleStake([TRAINER])],
    [VALIDATOR, await s.roleStake([VALIDATOR])],
  ]);
  // Every cohort a live entry holds shares of (slashes change them for everybody, so all are re-read).
  const cohorts = new Map<string, CohortSnap>();
  for (const q of queues.values()) {
    for (const e of q.entries) {
      if (e.shares === 0n) continue;
      const k = cohortKey(e.operatorId, e.exitEpoch);
      if (cohorts.has(k)) continue;
      const [tokens, shares] = await s.cohortOf([byId.get(e.operatorId) as Address, e.exitEpoch]);
      cohorts.set(k, { tokens, shares });
    }
  }
  let pendingRewards = 0n;
  for (const [op, epochs] of m.rewarded) {
    const from = ops.get(op)?.pool.creditedThrough ?? 0n;
    for (const e of epochs) if (e >= from) pendingRewards += await s.poolRewardAt([op, e]);
  }
  return {
    cohorts,
    pendingRewards,
    rewardDust: await s.rewardDust(),
    now,
    epoch,
    params,
    ops,
    byId,
    pos,
    queues,
    balance: await w.token.read.balanceOf([w.staking.address]),
    burnBalance: await w.token.read.balanceOf([BURN_ADDRESS]),
    held: await w.staking.read.heldTokens(),
    roleStake,
  };
}

/** Value of an unbonding entry at its cohort's current price. */
export function entryTokens(snap: Snap, e: EntrySnap): bigint {
  const c = snap.cohorts.get(cohortKey(e.operatorId, e.exitEpoch));
  if (c === undefined || e.shares === 0n) return 0n;
  return toTokens(e.shares, c.shares, c.tokens);
}

/**
 * Rewards still owed by the accounting (notified − claimed) may exceed what positions can claim,
 * plus the rewards waiting for their epoch's credit and the dust nobody could earn, by rounding
 * only. Each rounding is at most one wei and always in the contract's favour:
 *  - a credit raises the accumulator by floor(rest x 1e36 / shares): the pool's shares are owed
 *    at most one wei less than `rest` (for pools of under 1e36 shares);
 *  - each `mulDiv` that turns accumulator growth into a position's earnings rounds down: < 1 wei
 *    per stretch between two of its share changes; a settlement walks at most four stretches and an
 *    action settles a position at most twice (compound: take, then stake);
 *  - a position's earnings not settled yet are read with the same floors: < 4 wei per position.
 */
export function dustAllowance(m: Model): bigint {
  return m.ghost.credits + 8n * m.ghost.positionActions + 4n * BigInt(m.snap.pos.size);
}

/** Checks every invariant that must hold between any two actions. */
export function checkInvariants(m: Model): void {
  const s = m.snap;
  const g = m.ghost;
  const where = () => `after: ${m.trace.slice(-1)[0] ?? "setup"}`;
  let poolTokens = 0n;
  let unbondingTokens = 0n;
  for (const op of s.ops.values()) {
    const p = op.pool;
    poolTokens += p.tokens;
    unbondingTokens += p.unbondingTokens;
    // I2: a pool with shares keeps a positive share price, at least 1e-9 token per share.
    if (p.shares !== 0n) {
      expect(
        p.tokens * MAX_SHARES_PER_TOKEN >= p.shares,
        `I2 price floor of ${op.address} ${where()}`,
      ).to.equal(true);
    } else {
      expect(p.tokens, `empty pool holds tokens ${where()}`).to.equal(0n);
    }
    // No donation or rounding can push a share above one token: rules out share inflation.
    expect(p.tokens <= p.shares, `share price above 1 in ${op.address} ${where()}`).to.equal(true);

    // Shares and tokens of the positions add up to the pool (floors lose < 1 wei per position).
    let shares = 0n;
    let tokens = 0n;
    let n = 0n;
    for (const owner of m.owners) {
      const v = m.pos(owner, op.address);
      shares += v.shares;
      tokens += v.tokens;
      if (v.shares !== 0n) n++;
    }
    expect(shares, `Σ position shares of ${op.address} ${where()}`).to.equal(p.shares);
    expect(
      tokens <= p.tokens && p.tokens - tokens <= n,
      `Σ position tokens of ${op.address} ${where()}`,
    ).to.equal(true);

    // Unbonding entries add up to their cohorts, and the cohorts to the pool's unbonding total.
    const cohortShares = new Map<string, bigint>();
    let ubTokens = 0n;
    let entries = 0n;
    for (const q of s.queues.values()) {
      for (const e of q.entries) {
        if (e.shares === 0n || e.operatorId !== op.id) continue;
        const k = cohortKey(e.operatorId, e.exitEpoch);
        cohortShares.set(k, (cohortShares.get(k) ?? 0n) + e.shares);
        ubTokens += entryTokens(s, e);
        entries++;
      }
    }
    let cohortTokens = 0n;
    for (const [k, sum] of cohortShares) {
      const c = s.cohorts.get(k)!;
      expect(sum, `Σ entry shares of cohort ${k} ${where()}`).to.equal(c.shares);
      // I2 for cohorts: a positive price, at least 1e-9 token per share; never above one token
      expect(c.tokens * MAX_SHARES_PER_TOKEN >= c.shares, `I2 floor of cohort ${k} ${where()}`).to.equal(
        true,
      );
      expect(c.tokens <= c.shares, `cohort ${k} price above 1 ${where()}`).to.equal(true);
      cohortTokens += c.tokens;
    }
    expect(cohortTokens, `Σ cohorts of ${op.address} ${where()}`).to.equal(p.unbondingTokens);
    expect(
      ubTokens <= p.unbondingTokens && p.unbondingTokens - ubTokens <= entries,
      `Σ entry tokens of ${op.address} ${where()}`,
    ).to.equal(true);

    // Views agree with the record.
    const self = m.pos(op.address, op.address).tokens;
    expect(op.active, `isActive of ${op.address} ${where()}`).to.equal(
      op.status === 1 && !op.jailed && self >= m.minStake(op.role),
    );
    expect(op.counted, `counted of ${op.address} ${where()}`).to.equal(op.active);
    expect(op.commissionNow, `commission of ${op.address} ${where()}`).to.equal(
      m.commissionAt(op.address, s.epoch),
    );
  }

  // I1: token conservation, exact: every token that entered is in a pool, an unbonding cohort, a
  // held slash or owed as reward; slashes left through the burn address and the reporters.
  const owed = g.notified - g.claimed;
  expect(s.held, `held slashes ${where()}`).to.equal(g.held);
  expect(s.balance, `I1 balance == pools + unbonding + held + owed rewards ${where()}`).to.equal(
    poolTokens + unbondingTokens + g.held + owed,
  );
  expect(s.burnBalance, `burned == slash burns ${where()}`).to.equal(g.slashBurned);

  // Rewards: what positions can claim (commission included), the rewards waiting for their epoch's
  // credit and the dust nobody could earn never exceed what is owed; the difference is bounded
  // rounding dust.
  let claimable = 0n;
  for (const v of s.pos.values()) claimable += v.claimable;
  const carry = s.pendingRewards + s.rewardDust;
  const gap = owed - claimable - carry;
  expect(
    gap >= 0n,
    `Σ claimable + pending + dust (${claimable + carry}) exceeds owed rewards (${owed}) ${where()}`,
  ).to.equal(true);
  expect(
    gap <= dustAllowance(m),
    `reward dust ${gap} above allowance ${dustAllowance(m)} ${where()}`,
  ).to.equal(true);
  if (gap > m.maxGap.gap) m.maxGap = { gap, allowance: dustAllowance(m) };

  // Role totals are the sum of the counted (registered, unjailed, at least the minimum self-stake) pools.
  for (const role of [TRAINER, VALIDATOR]) {
    let sum = 0n;
    for (const op of s.ops.values()) if (op.counted && op.role === role) sum += op.pool.tokens;
    expect(s.roleStake.get(role), `roleStake(${role}) ${where()}`).to.equal(sum);
  }

  // Queues: live entries in maturity order (what lets `withdraw` stop at the first immature one).
  for (const [owner, q] of s.queues) {
    let last = 0n;
    for (const e of q.entries) {
      if (e.shares === 0n) continue;
      expect(e.maturity >= last, `queue of ${owner} out of maturity order ${where()}`).to.equal(true);
      last = e.maturity;
    }
  }
}
