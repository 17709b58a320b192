/**
 * A brute-force ghost of the reward side of PoAI: it knows, for every epoch, each pool's shares
 * when the epoch began, each position's shares when the epoch began, the commission rate of the
 * epoch, what the pool earned in the epoch (its part of its role's budget, plus the rewards added
 * to it for the epoch), and from those alone computes what each position is owed, epoch by epoch,
 * with no accumulator and no notion of pending changes. The contracts are checked against it.
 *
 * Rounding rules it applies (those of `StakingRewards`):
 *  - a role's budget goes to its pools in the order they are credited, each taking
 *    floor(remaining budget x points / remaining points), the last one what is left;
 *  - the operator takes floor(amount x commission / 1e4) of its pool's amount of an epoch;
 *  - the rest raises the pool's reward per share by inc = floor(rest x 1e36 / sharesAtStart); when
 *    inc is 0 (or the pool had no shares) the rest is dust, returned to the distributor's carry;
 *  - a position earns sharesAtStart(position) x inc / 1e36 per epoch; the contract floors once per
 *    stretch between two settlements of the position, so it pays at most one wei less than the
 *    exact sum per floor it took (at most two per settlement, plus those of a view).
 */
import type { Address } from "viem";

export const ACC = 10n ** 36n;
export const BPS = 10_000n;

export const posKey = (owner: Address, operator: Address) => `${owner}:${operator}` as const;

/** One pool's credit of one epoch, as the contract reported it and the ghost checked it. */
export type Credit = { amount: bigint; commission: bigint; inc: bigint; dust: bigint };

export class RewardGhost {
  /** Shares of each position when each epoch began (missing: 0). */
  readonly sharesAt = new Map<bigint, Map<string, bigint>>();
  /** Shares of each pool when each epoch began. */
  readonly poolSharesAt = new Map<bigint, Map<Address, bigint>>();
  /** Rewards added to a pool for an epoch (donations, usage fees). */
  readonly poolRewards = new Map<string, bigint>();
  /** Commission history per operator: `from` epoch and rate, in order. */
  readonly commission = new Map<Address, { from: bigint; bps: bigint }[]>();
  /** Points per (epoch, operator) and per (epoch, role), as the points source holds them. */
  readonly points = new Map<string, bigint>();
  readonly totals = new Map<string, bigint>();
  /** What is left of each closed epoch's role budget and points (funded in Staking). */
  readonly remaining = new Map<string, { budget: bigint; points: bigint }>();
  /** Each pool's credits, by epoch. */
  readonly credits = new Map<string, Credit>();
  /** Epochs each pool has been credited with (all epochs below `frontier`). */
  readonly frontier = new Map<Address, bigint>();
  /** What each position took out (claims and compounds) and how many times it was settled. */
  readonly paid = new Map<string, bigint>();
  readonly settles = new Map<string, number>();
  /** Dust the contract should have set aside (pools without shares, rests too small). */
  dust = 0n;

  constructor(
    readonly roleOf: Map<Address, number>,
    readonly owners: Address[],
  ) {}

  recordEpochStart(epoch: bigint, pools: Map<Address, bigint>, positions: Map<string, bigint>) {
    this.poolSharesAt.set(epoch, new Map(pools));
    this.sharesAt.set(epoch, new Map(positions));
  }

  register(operator: Address, epoch: bigint, bps: bigint) {
    this.commission.set(operator, [{ from: epoch, bps }]);
    this.frontier.set(operator, epoch);
  }

  /** The rate that applies to `epoch` (the last entry from at or before it). */
  rateAt(operator: Address, epoch: bigint): bigint {
    const h = this.commission.get(operator) ?? [];
    let bps = h[0]?.bps ?? 0n;
    for (const x of h) if (x.from <= epoch) bps = x.bps;
    return bps;
  }

  /** A commission request made in `epoch` taking effect from `from`: it replaces one not in force. */
  requestCommission(operator: Address, epoch: bigint, from: bigint, bps: bigint) {
    const h = this.commission.get(operator)!;
    if (h[h.length - 1]!.from > epoch) h.pop();
    h.push({ from, bps });
  }

  addPoolReward(operator: Address, epoch: bigint, amount: bigint) {
    const k = `${operator}:${epoch}`;
    this.poolRewards.set(k, (this.poolRewards.get(k) ?? 0n) + amount);
  }

  fund(epoch: bigint, role: number, budget: bigint, points: bigint) {
    if (budget !== 0n) this.remaining.set(`${epoch}:${role}`, { budget, points });
  }

  /**
   * The credit the ghost expects for `operator`'s pool in `epoch` (and takes the role's part out
   * of what is left of the budget). Called in the order the contract credits pools.
   */
  credit(operator: Address, epoch: bigint): Credit {
    const role = this.roleOf.get(operator)!;
    let amount = 0n;
    const r = this.remaining.get(`${epoch}:${role}`);
    const p = this.points.get(`${epoch}:${operator}`) ?? 0n;
    if (r !== undefined && r.budget !== 0n && p !== 0n) {
      const share = p >= r.points ? r.budget : (r.budget * p) / r.points;
      if (p >= r.points) this.remaining.set(`${epoch}:${role}`, { budget: 0n, points: 0n });
      else this.remaining.set(`${epoch}:${role}`, { budget: r.budget - share, points: r.points - p });
      amount += share;
    }
    amount += this.poolRewards.get(`${operator}:${epoch}`) ?? 0n;
    this.poolRewards.delete(`${operator}:${epoch}`);
    const commission = (amount * this.rateAt(operator, epoch)) / BPS;
    const rest = amount - commission;
    const shares = this.poolSharesAt.get(epoch)?.get(operator) ?? 0n;
    let inc = shares === 0n ? 0n : (rest * ACC) / shares;
    let dust = 0n;
    if (inc === 0n) {
      dust = rest;
      inc = 0n;
    }
    const c = { amount, commission, inc, dust };
    this.credits.set(`${operator}:${epoch}`, c);
    this.dust += dust;
    this.frontier.set(operator, epoch + 1n);
    return c;
  }

  /** Σ over the credited epochs of the position's shares at each epoch's start x inc, scaled by 1e36. */
  exactEarned(owner: Address, operator: Address): bigint {
    let sum = 0n;
    const to = this.frontier.get(operator) ?? 0n;
    for (let e = 0n; e < to; e++) {
      const c = this.credits.get(`${operator}:${e}`);
      if (c === undefined || c.inc === 0n) continue;
      sum += (this.sharesAt.get(e)?.get(posKey(owner, operator)) ?? 0n) * c.inc;
    }
    return sum;
  }

  /** The operator's commission over its credited epochs. */
  commissionEarned(operator: Address): bigint {
    let sum = 0n;
    for (const [k, c] of this.credits) if (k.startsWith(`${operator}:`)) sum += c.commission;
    return sum;
  }

  touch(owner: Address, operator: Address) {
    const k = posKey(owner, operator);
    this.settles.set(k, (this.settles.get(k) ?? 0) + 1);
  }

  pay(owner: Address, operator: Address, amount: bigint) {
    const k = posKey(owner, operator);
    this.paid.set(k, (this.paid.get(k) ?? 0n) + amount);
  }
}
