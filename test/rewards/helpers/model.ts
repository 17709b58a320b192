/**
 * A ghost model of the RewardDistributor written from the protocol rules, in bigint arithmetic:
 * the reserve, the emission schedule with its notice, the carry, every closed epoch's budgets and
 * settlements, the pending usage fees, and the totals that flow in (funded, fees) and out (to the
 * Staking pools, to the protocol). Each action first predicts its outcome (a revert by name, or
 * the amounts and events), then applies it. Stakes and points are inputs: they come from Staking
 * and the ChallengeManager, which have their own tests.
 */
import type { Address } from "viem";
import { BPS, expectedClose } from "./world.js";

export const MAX_EMISSION_PER_EPOCH = 10n ** 30n;

export type ModelParams = {
  gammaBps: bigint;
  protocolCutBps: bigint;
  nodeFeeBps: bigint;
  royaltyBps: bigint;
  noticeEpochs: bigint;
  settleWindow: bigint;
};

export type ModelEpoch = {
  trainerBudget: bigint;
  validatorBudget: bigint;
  trainerSettled: bigint;
  validatorSettled: bigint;
  closed: boolean;
  expired: boolean;
  closedIn: bigint;
};

/** What an action is expected to do: revert with `error`, or succeed. */
export type Prediction<T> = { error: string; args?: readonly unknown[] } | { error?: undefined; value: T };

/** The inputs of closing one epoch, read from Staking and the ChallengeManager. */
export type CloseInputs = { st: bigint; sv: bigint; trainerPoints: bigint; validatorPoints: bigint };

export class DistributorModel {
  funded = 0n;
  fees = 0n;
  forwarded = 0n;
  toProtocol = 0n;
  reserve = 0n;
  carry = 0n;
  emission: bigint;
  pendingEmission = 0n;
  pendingFrom = 0n;
  nextToClose: bigint;
  readonly firstEpoch: bigint;
  readonly epochs = new Map<bigint, ModelEpoch>();
  readonly settled = new Set<string>();
  readonly pendingFees = new Map<Address, bigint>();
  params: ModelParams;

  constructor(a: { emission: bigint; firstEpoch: bigint; params: ModelParams }) {
    this.emission = a.emission;
    this.firstEpoch = a.firstEpoch;
    this.nextToClose = a.firstEpoch;
    this.params = { ...a.params };
  }

  /** Rewards held by the distributor: reserve, carry, unsettled budgets of open epochs, pending fees. */
  held(): bigint {
    let held = this.reserve + this.carry;
    for (const ep of this.epochs.values()) held += this.unsettled(ep);
    for (const f of this.pendingFees.values()) held += f;
    return held;
  }

  unsettled(ep: ModelEpoch): bigint {
    if (!ep.closed || ep.expired) return 0n;
    return ep.trainerBudget - ep.trainerSettled + ep.validatorBudget - ep.validatorSettled;
  }

  emissionFor(epoch: bigint): bigint {
    return this.pendingFrom !== 0n && epoch >= this.pendingFrom ? this.pendingEmission : this.emission;
  }

  fund(amount: bigint): Prediction<bigint> {
    if (amount === 0n) return { error: "ZeroAmount" };
    this.reserve += amount;
    this.funded += amount;
    return { value: amount };
  }

  setEmission(amount: bigint, current: bigint): Prediction<{ from: bigint }> {
    if (amount > MAX_EMISSION_PER_EPOCH)
      return { error: "InvalidParameter", args: ["emission", amount, 0n, MAX_EMISSION_PER_EPOCH] };
    if (this.pendingFrom !== 0n && this.pendingFrom <= current)
      return { error: "EmissionChangeInForce", args: [this.pendingFrom, this.nextToClose] };
    const from = current + this.params.noticeEpochs;
    this.pendingEmission = amount;
    this.pendingFrom = from;
    return { value: { from } };
  }

  notifyUsage(
    node: Address,
    modelTrainer: Address,
    amount: bigint,
  ): Prediction<{ nodeFee: bigint; royalty: bigint }> {
    if (amount === 0n) return { error: "ZeroAmount" };
    const nodeFee = (amount * this.params.nodeFeeBps) / BPS;
    const royalty = (amount * this.params.royaltyBps) / BPS;
    this.fees += amount;
    this.pendingFees.set(node, (this.pendingFees.get(node) ?? 0n) + nodeFee);
    this.pendingFees.set(modelTrainer, (this.pendingFees.get(modelTrainer) ?? 0n) + royalty);
    this.toProtocol += amount - nodeFee - royalty;
    return { value: { nodeFee, royalty } };
  }

  /** `payable`: whether Staking takes a reward for the operator now (registered, not jailed). */
  settleFees(operator: Address, payable: boolean): Prediction<{ amount: bigint; paid: boolean }> {
    const amount = this.pendingFees.get(operator) ?? 0n;
    if (amount === 0n) return { error: "NothingToSettle", args: [0n, operator] };
    this.pendingFees.set(operator, 0n);
    this.pay(amount, payable);
    return { value: { amount, paid: payable } };
  }

  /**
   * Closes epochs `nextToClose`, … while they are final (`final(e)`) and fewer than `maxEpochs`;
   * `inputs(e)` gives each one's role stakes and total points.
   */
  closeEpochs(
    maxEpochs: bigint,
    current: bigint,
    final: (e: bigint) => boolean,
    inputs: (e: bigint) => CloseInputs,
  ): Prediction<ReturnType<typeof expectedClose>[]> {
    const out: (ReturnType<typeof expectedClose> & { epoch: bigint })[] = [];
    let e = this.nextToClose;
    const staged = {
      reserve: this.reserve,
      carry: this.carry,
      emission: this.emission,
      pendingFrom: this.pendingFrom,
    };
    while (BigInt(out.length) < maxEpochs && final(e)) {
      if (staged.pendingFrom !== 0n && e >= staged.pendingFrom) {
        staged.emission = this.pendingEmission;
        staged.pendingFrom = 0n;
      }
      const x = inputs(e);
      const c = expectedClose({
        emission: staged.emission,
        reserve: staged.reserve,
        carry: staged.carry,
        protocolCutBps: this.params.protocolCutBps,
        gammaBps: this.params.gammaBps,
        ...x,
      });
      staged.reserve -= c.take;
      staged.carry = c.carried;
      out.push({ ...c, epoch: e });
      e++;
    }
    if (out.length === 0) return { error: "EpochNotFinal" };
    Object.assign(this, staged);
    for (const c of out) {
      this.toProtocol += c.protocolCut;
      this.epochs.set(c.epoch, {
        trainerBudget: c.trainerBudget,
        validatorBudget: c.validatorBudget,
        trainerSettled: 0n,
        validatorSettled: 0n,
        closed: true,
        expired: false,
        closedIn: current,
      });
    }
    this.nextToClose = e;
    return { value: out };
  }

  /** What `settle(operator, epoch)` pays: the operator's points' share of its role's budget. */
  share(epoch: bigint, role: "trainer" | "validator", points: bigint, totalPoints: bigint): bigint {
    const ep = this.epochs.get(epoch);
    if (!ep || !ep.closed || ep.expired || points === 0n) return 0n;
    const budget = role === "trainer" ? ep.trainerBudget : ep.validatorBudget;
    return (budget * points) / totalPoints;
  }

  settle(a: {
    operator: Address;
    epoch: bigint;
    role: "trainer" | "validator" | "none";
    points: bigint;
    totalPoints: bigint;
    payable: boolean;
  }): Prediction<{ amount: bigint; paid: boolean }> {
    const ep = this.epochs.get(a.epoch);
    if (!ep || !ep.closed) return { error: "EpochNotClosed", args: [a.epoch] };
    if (ep.expired) return { error: "EpochExpiredError", args: [a.epoch] };
    if (a.role === "none") return { error: "NotAnOperator", args: [a.operator] };
    const key = `${a.epoch}:${a.operator}`;
    if (this.settled.has(key)) return { error: "AlreadySettled", args: [a.epoch, a.operator] };
    const amount = this.share(a.epoch, a.role, a.points, a.totalPoints);
    if (amount === 0n) return { error: "NothingToSettle", args: [a.epoch, a.operator] };
    this.settled.add(key);
    if (a.role === "trainer") ep.trainerSettled += amount;
    else ep.validatorSettled += amount;
    this.pay(amount, a.payable);
    return { value: { amount, paid: a.payable } };
  }

  expire(epoch: bigint, current: bigint): Prediction<bigint> {
    const ep = this.epochs.get(epoch);
    if (!ep || !ep.closed) return { error: "EpochNotClosed", args: [epoch] };
    if (ep.expired) return { error: "EpochExpiredError", args: [epoch] };
    const until = ep.closedIn + this.params.settleWindow;
    if (current <= until) return { error: "SettleWindowOpen", args: [epoch, until] };
    const left = this.unsettled(ep);
    ep.expired = true;
    this.carry += left;
    return { value: left };
  }

  setParams(p: ModelParams): Prediction<ModelParams> {
    const bounds: [keyof ModelParams, bigint, bigint][] = [
      ["gammaBps", 0n, BPS / 2n],
      ["protocolCutBps", 0n, 2000n],
      ["nodeFeeBps", 0n, BPS],
      ["royaltyBps", 0n, BPS - p.nodeFeeBps],
      ["noticeEpochs", 1n, 90n],
      ["settleWindow", 1n, 3650n],
    ];
    for (const [name, lo, hi] of bounds)
      if (p[name] < lo || p[name] > hi) return { error: "InvalidParameter", args: [name, p[name], lo, hi] };
    this.params = { ...p };
    return { value: p };
  }

  private pay(amount: bigint, paid: boolean) {
    if (paid) this.forwarded += amount;
    else this.carry += amount;
  }
}
