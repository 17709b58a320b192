/**
 * Slash history: every slash an operator's pool took, and what became of it, from Staking's events.
 *
 * A slash is either paid at once (`Slashed`: a finder's fee to its reporters, the rest burned or
 * repaid to a wronged party) or held through its dispute window (`SlashHeld`, docs/staking.md
 * "Held slashes"): a held slash is later **returned** whole to the operator when its verdict is
 * overruled (`HeldReturned`) or **released** (`HeldReleased`: fee paid, the rest burned). A returned
 * slash cost the operator nothing; a held one is counted as slashed until it is returned. This is
 * the one reader the dashboard, the `poai` views and the devnet report share.
 */
import {
  getAddress,
  isAddressEqual,
  type Address,
  type BlockNumber,
  type BlockTag,
  type Hash,
  type Hex,
} from "viem";
import type { PoAIContext } from "../context.js";
import { checkAddress } from "../validate.js";
import { getStakingEvents, type StakingEvent } from "./staking.js";

/** What became of a slash: paid at once, held (its window open), returned whole, or released. */
export type SlashState = "paid" | "held" | "returned" | "released";

/** One slash of an operator's pool. */
export interface SlashRecord {
  operator: Address;
  state: SlashState;
  /** Tokens the slash took from the pool (its active stake and unbonding cohorts). */
  amount: bigint;
  /** Fraction of the pool taken (1e18 = 100%). */
  fraction: bigint;
  offenceEpoch: bigint;
  /** Paid (or, for a hold, due) to the reporters. */
  finderFee: bigint;
  /** Burned: for a paid slash what it burned; for a released hold what its release burned; else 0. */
  burned: bigint;
  /** Paid to a wronged party instead of burned (`Staking.slashTo`, the accusers of an overruled conviction). */
  repaid: bigint;
  /** A held slash's source (the contract that holds it), key (a challenge id) and release time. */
  hold?: { source: Address; key: Hex; releaseAt: bigint; reporters: readonly Address[] };
  /** Where the slash was taken. */
  blockNumber: bigint;
  transactionHash: Hash;
  /** Where a hold was returned or released. */
  settledBlock?: bigint;
}

/** An operator's slashes and what they cost it. */
export interface SlashSummary {
  operator: Address;
  /** Oldest first. */
  slashes: SlashRecord[];
  /** Slashes not returned (paid, held or released). */
  count: number;
  /**
   * The net amount slashed: what those took from the pool, less what slashes of others repaid to
   * this operator (`SlashRepaid`). A returned hold is not in it; a held one is (`held` of it).
   */
  slashed: bigint;
  /** Tokens of `slashed` still held (a verdict that may yet be overruled and returned). */
  held: bigint;
  /** Tokens returned whole (overruled verdicts). */
  returned: bigint;
  /** Tokens slashes of others repaid to this operator (an overruled conviction's accusers). */
  recovered: bigint;
}

type Ordered = { blockNumber: bigint; logIndex: number; transactionHash: Hash };
const order = (a: Ordered, b: Ordered) =>
  a.blockNumber !== b.blockNumber ? (a.blockNumber < b.blockNumber ? -1 : 1) : a.logIndex - b.logIndex;

function summaryOf(operator: Address): SlashSummary {
  return { operator, slashes: [], count: 0, slashed: 0n, held: 0n, returned: 0n, recovered: 0n };
}

/**
 * Every slash of `operator` (default: of every operator), with its state, from Staking's
 * `Slashed`, `SlashHeld`, `HeldReturned`, `HeldReleased` and `SlashRepaid` events: one log query
 * per event type, all at once, from `fromBlock` (default: the deployment block). Operators never
 * slashed are absent from the map.
 */
export async function getSlashes(
  ctx: PoAIContext,
  args: { operator?: Address; fromBlock?: BlockNumber | BlockTag; toBlock?: BlockNumber | BlockTag } = {},
): Promise<Map<Address, SlashSummary>> {
  const operator = args.operator === undefined ? undefined : checkAddress("operator", args.operator);
  const range = {
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
    ...(args.toBlock !== undefined && { toBlock: args.toBlock }),
  };
  const by = operator === undefined ? undefined : { operator };
  const [paid, held, returned, released, repaid] = await Promise.all([
    getStakingEvents(ctx, { eventName: "Slashed", ...(by && { args: by }), ...range }),
    getStakingEvents(ctx, { eventName: "SlashHeld", ...(by && { args: by }), ...range }),
    getStakingEvents(ctx, { eventName: "HeldReturned", ...(by && { args: by }), ...range }),
    getStakingEvents(ctx, { eventName: "HeldReleased", ...(by && { args: by }), ...range }),
    getStakingEvents(ctx, {
      eventName: "SlashRepaid",
      ...(operator !== undefined && { args: { beneficiary: operator } }),
      ...range,
    }),
  ]);
  return slashesFromEvents({ paid, held, returned, released, repaid });
}

/**
 * Joins Staking's slash events (as `getSlashes` reads them, or as a caller already holds them) into
 * each operator's slashes. A hold's return or release settles the oldest open hold of its source,
 * key and operator; a hold that took nothing is counted as paid (nothing was held).
 */
export function slashesFromEvents(events: {
  paid: readonly StakingEvent<"Slashed">[];
  held: readonly StakingEvent<"SlashHeld">[];
  returned: readonly StakingEvent<"HeldReturned">[];
  released: readonly StakingEvent<"HeldReleased">[];
  repaid: readonly StakingEvent<"SlashRepaid">[];
}): Map<Address, SlashSummary> {
  const out = new Map<Address, SlashSummary>();
  const of = (who: Address) => {
    const k = getAddress(who);
    let s = out.get(k);
    if (!s) out.set(k, (s = summaryOf(k)));
    return s;
  };
  const records: (SlashRecord & { logIndex: number })[] = [];
  for (const e of events.paid) {
    const a = e.args;
    const amount = a.activeAmount + a.unbondingAmount;
    records.push({
      operator: getAddress(a.operator),
      state: "paid",
      amount,
      fraction: a.fraction,
      offenceEpoch: a.offenceEpoch,
      finderFee: a.finderFee,
      burned: a.burned,
      repaid: amount - a.finderFee - a.burned,
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash,
      logIndex: e.logIndex,
    });
  }
  for (const e of events.held) {
    const a = e.args;
    const amount = a.activeAmount + a.unbondingAmount;
    records.push({
      operator: getAddress(a.operator),
      state: amount === 0n ? "paid" : "held",
      amount,
      fraction: a.fraction,
      offenceEpoch: a.offenceEpoch,
      finderFee: amount === 0n ? 0n : a.finderFee,
      burned: 0n,
      repaid: 0n,
      hold: {
        source: getAddress(a.source),
        key: a.key,
        releaseAt: a.releaseAt,
        reporters: a.reporters.map((r) => getAddress(r)),
      },
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash,
      logIndex: e.logIndex,
    });
  }
  records.sort(order);
  // settle each hold with the first return or release of its target after it
  const ends = [
    ...events.returned.map((e) => ({ e, returned: true as const })),
    ...events.released.map((e) => ({ e, returned: false as const })),
  ].sort((x, y) => order(x.e, y.e));
  for (const { e, returned } of ends) {
    const a = e.args;
    const hold = records.find(
      (r) =>
        r.state === "held" &&
        r.hold !== undefined &&
        isAddressEqual(r.operator, a.operator) &&
        isAddressEqual(r.hold.source, a.source) &&
        r.hold.key === a.key &&
        order(r, e) < 0,
    );
    if (!hold) continue; // its SlashHeld is before `fromBlock`
    hold.settledBlock = e.blockNumber;
    if (returned) {
      hold.state = "returned";
      hold.finderFee = 0n;
    } else {
      const r = e.args as StakingEvent<"HeldReleased">["args"];
      hold.state = "released";
      hold.finderFee = r.finderFee;
      hold.burned = r.burned;
    }
  }
  for (const { logIndex: _, ...r } of records) {
    const s = of(r.operator);
    s.slashes.push(r);
    if (r.state === "returned") {
      s.returned += r.amount;
      continue;
    }
    if (r.state === "held") s.held += r.amount;
    s.count += 1;
    s.slashed += r.amount;
  }
  for (const e of events.repaid) {
    const s = of(e.args.beneficiary);
    s.recovered += e.args.amount;
  }
  for (const s of out.values()) s.slashed = s.slashed > s.recovered ? s.slashed - s.recovered : 0n;
  return out;
}

/** `operator`'s entry of `getSlashes` (an empty summary when it was never slashed). */
export async function getSlashSummary(
  ctx: PoAIContext,
  args: { operator: Address; fromBlock?: BlockNumber | BlockTag; toBlock?: BlockNumber | BlockTag },
): Promise<SlashSummary> {
  const operator = checkAddress("operator", args.operator);
  const all = await getSlashes(ctx, { ...args, operator });
  return all.get(operator) ?? summaryOf(operator);
}
