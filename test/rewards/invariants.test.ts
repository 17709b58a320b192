/**
 * Stateful invariant runs of the reward layer (fast-check): many operators and delegators, random
 * orders of delegate / undelegate / claim / compound / refresh / settle / commission changes /
 * slash and jail / unjail / donations / usage fees / points / epoch finality / closes / time, over
 * many epochs, checked after every action against a brute-force ghost (`helpers/ghost.ts`) that
 * computes every position's entitlement epoch by epoch from the shares that began each epoch:
 *
 *  - every pool credit the contract reports (epoch, amount, commission) is the ghost's, to the wei,
 *    in the order the pools were credited;
 *  - every position's credited rewards (claimable + taken) are the ghost's exact sum, less at most
 *    one wei per floor the contract took (two per settlement of the position, four in a view);
 *    the operator's commission is the ghost's to the wei;
 *  - conservation in the distributor, to the wei: funded + fees + returned = forwarded + protocol
 *    + reserve + carry, and it holds exactly reserve + carry;
 *  - Staking holds its pools' stake plus what it was funded, less what it paid and returned; once
 *    every pool is credited, every role budget of a closed epoch is credited in full.
 *
 * Points come from a points-source double (`PointsOracle`) the run writes, so an epoch costs a few
 * transactions; the real ChallengeManager's points are covered by the other reward tests. Epochs
 * become final at most one epoch after they end (the shipped windows' finality delay).
 * `POAI_FC_SEED=<n>` replays a run; `POAI_FC_RUNS` changes the number of runs.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import {
  getAddress,
  maxUint256,
  parseEther,
  parseEventLogs,
  toFunctionSelector,
  type Address,
  type Hex,
} from "viem";
import { deployStaking } from "../../scripts/lib/deploy.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { attempt, outcomeName } from "../staking/helpers/revert.js";
import { ACC, BPS, RewardGhost, posKey } from "./helpers/ghost.js";

const E = (n: number | string) => parseEther(String(n));
const DAY = 86_400n;
const RUNS = Number(process.env.POAI_FC_RUNS ?? 3);
const SEED = process.env.POAI_FC_SEED === undefined ? 0x7e5a1 : Number(process.env.POAI_FC_SEED);
const N_OPS = 4; // trainer, trainer, validator, validator
const N_DELEGATORS = 4;

type Conn = Awaited<ReturnType<typeof network.create>>;

async function world(conn: Conn) {
  const { viem } = conn;
  const wallets = await viem.getWalletClients();
  const s = await deployStaking(viem, {
    epochLength: Number(DAY),
    params: { unbondingPeriod: Number(3n * DAY), jailCooldown: Number(DAY), commissionDelay: Number(DAY) },
  });
  const oracle = await viem.deployContract("PointsOracle");
  const admin = wallets[0]!.account.address;
  const distributor = await viem.deployContract("RewardDistributor", [
    s.staking.address,
    oracle.address,
    s.manager.address,
    E(1000),
    {
      gammaBps: 1500,
      protocolCutBps: 700,
      nodeFeeBps: 6000,
      royaltyBps: 2500,
      noticeEpochs: 1,
      treasury: admin,
    },
  ]);
  await s.staking.write.setRewardDistributor([distributor.address]);
  await s.manager.write.setTargetFunctionRole([
    distributor.address,
    [toFunctionSelector("notifyUsage(address,address,uint256)")],
    ROLES.COORDINATOR,
  ]);
  await s.manager.write.grantRole([ROLES.COORDINATOR, admin, 0]);
  await s.token.write.approve([distributor.address, maxUint256]);
  await s.token.write.approve([s.staking.address, maxUint256]);
  await distributor.write.fund([E(1_000_000)]);
  const actors = [];
  for (const w of wallets.slice(1, 1 + N_OPS + N_DELEGATORS)) {
    await s.token.write.transfer([w.account.address, E(1_000_000)]);
    const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
    await token.write.approve([s.staking.address, maxUint256]);
    actors.push({
      address: getAddress(w.account.address),
      staking: await viem.getContractAt("Staking", s.staking.address, { client: { wallet: w } }),
    });
  }
  const ops = actors.slice(0, N_OPS);
  const roles = [1, 1, 2, 2];
  const stakes = [E(3000), E(6000), E(1500), E(2500)];
  const rates = [1000, 500, 0, 2000];
  for (const [i, op] of ops.entries())
    await op.staking.write.register([roles[i]!, stakes[i]!, rates[i]!, 3000, "", ""]);
  const genesis = await s.staking.read.genesis();
  return { ...s, oracle, distributor, actors, ops, roles, rates, genesis, admin };
}

type World = Awaited<ReturnType<typeof world>>;

class Run {
  readonly ghost: RewardGhost;
  readonly trace: string[] = [];
  readonly owners: Address[];
  final = -1n; // highest epoch marked final
  constructor(
    readonly conn: Conn,
    readonly w: World,
  ) {
    this.owners = w.actors.map((a) => a.address);
    this.ghost = new RewardGhost(new Map(w.ops.map((o, i) => [o.address, w.roles[i]!])), this.owners);
    for (const [i, o] of w.ops.entries()) this.ghost.register(o.address, 0n, BigInt(w.rates[i]!));
    this.ghost.recordEpochStart(0n, new Map(), new Map()); // nothing was staked when epoch 0 began
  }

  async now() {
    return BigInt(await this.conn.networkHelpers.time.latest());
  }
  async epoch() {
    return ((await this.now()) - this.w.genesis) / DAY;
  }

  /** Shares of every pool and position now. */
  async shares() {
    const pools = new Map<Address, bigint>();
    const positions = new Map<string, bigint>();
    for (const o of this.w.ops) {
      pools.set(o.address, (await this.w.staking.read.getPool([o.address])).shares);
      for (const a of this.owners)
        positions.set(posKey(a, o.address), (await this.w.staking.read.getPosition([a, o.address])).shares);
    }
    return { pools, positions };
  }

  fail(message: string): never {
    if (process.env.DEBUG_GHOST) {
      for (const [k, c] of this.ghost.credits) console.log("credit", k, c);
      for (const [e, m] of this.ghost.sharesAt)
        console.log(
          "sharesAt",
          e,
          [...m].filter(([, v]) => v !== 0n),
        );
      for (const [e, m] of this.ghost.poolSharesAt) console.log("poolSharesAt", e, [...m]);
      console.log("commission", [...this.ghost.commission]);
    }
    throw new Error(`${message}\ntrace:\n  ${this.trace.slice(-40).join("\n  ")}`);
  }

  /** Sends a transaction; checks its outcome and every credit it made against the ghost. */
  async send(label: string, tx: () => Promise<Hex>, expected: string | ((o: string) => boolean) = "ok") {
    const outcome = await attempt(tx(), [
      ...this.w.staking.abi,
      ...this.w.distributor.abi,
      ...this.w.token.abi,
    ]);
    const name = outcomeName(outcome);
    this.trace.push(`${label} -> ${name}`);
    const okay = typeof expected === "string" ? name === expected : expected(name);
    if (!okay)
      this.fail(`${label}: expected ${String(expected)}, got ${name} ${outcome.ok ? "" : outcome.message}`);
    if (!outcome.ok || outcome.hash === undefined) return undefined;
    const client = await this.conn.viem.getPublicClient();
    const receipt = await client.getTransactionReceipt({ hash: outcome.hash });
    const own = (a: Address) => receipt.logs.filter((l) => l.address.toLowerCase() === a.toLowerCase());
    // Closes and funds, in order; then credits, in the order the contract made them.
    for (const ev of parseEventLogs({ abi: this.w.staking.abi, logs: own(this.w.staking.address) })) {
      if (ev.eventName === "EpochFunded") {
        const a = ev.args;
        this.ghost.fund(a.epoch, 1, a.trainerBudget, a.trainerPoints);
        this.ghost.fund(a.epoch, 2, a.validatorBudget, a.validatorPoints);
      }
      if (ev.eventName === "RewardCredited") {
        const a = ev.args;
        const expectedCredit = this.ghost.credit(getAddress(a.operator), a.epoch);
        if (a.amount !== expectedCredit.amount || a.commission !== expectedCredit.commission)
          this.fail(
            `${label}: credit of ${a.operator} for epoch ${a.epoch} is ${a.amount}/${a.commission}, the ghost says ${expectedCredit.amount}/${expectedCredit.commission}`,
          );
      }
    }
    // Pools credited with nothing in an epoch emit nothing: bring the ghost's frontier along.
    for (const o of this.w.ops) {
      const through = (await this.w.staking.read.getPool([o.address])).creditedThrough;
      for (let e = this.ghost.frontier.get(o.address)!; e < through; e++)
        if (!this.ghost.credits.has(`${o.address}:${e}`)) this.ghost.credit(o.address, e);
    }
    return receipt;
  }

  /** Every position's credited rewards against the ghost; conservation in the distributor and Staking. */
  async check(where: string) {
    const { w, ghost } = this;
    for (const o of w.ops) {
      const pool = await w.staking.read.getPool([o.address]);
      expect(pool.creditedThrough, `${where}: frontier of ${o.address}`).to.equal(
        ghost.frontier.get(o.address),
      );
      for (const a of this.owners) {
        const k = posKey(a, o.address);
        // the operator's view includes its credited commission, and what it took included it too
        const view = (await w.staking.read.getPosition([a, o.address])).claimable;
        const chain = view + (ghost.paid.get(k) ?? 0n);
        const exact = ghost.exactEarned(a, o.address);
        const commission = a === o.address ? ghost.commissionEarned(o.address) : 0n;
        const owed = exact / ACC + commission;
        const floors = BigInt(2 * (ghost.settles.get(k) ?? 0) + 4);
        if (chain > owed || owed - chain > floors)
          this.fail(`${where}: ${k} got ${chain}, the ghost says ${owed} (within ${floors} wei below)`);
      }
    }
    const d = w.distributor.read;
    const [funded, fees, returned, forwarded, protocol, reserve, carry] = await Promise.all([
      d.totalFunded(),
      d.totalFees(),
      d.totalReturned(),
      d.totalForwarded(),
      d.totalToProtocol(),
      d.reserve(),
      d.carry(),
    ]);
    expect(funded + fees + returned, `${where}: distributor conservation`).to.equal(
      forwarded + protocol + reserve + carry,
    );
    expect(
      await w.token.read.balanceOf([w.distributor.address]),
      `${where}: distributor holds reserve + carry`,
    ).to.equal(reserve + carry);
  }
}

async function claim(run: Run, actor: World["actors"][number], op: World["ops"][number], compound: boolean) {
  const { w, ghost } = run;
  const before = await w.token.read.balanceOf([actor.address]);
  const receipt = await run.send(
    `${compound ? "compound" : "claim"} ${actor.address.slice(0, 6)} from ${op.address.slice(0, 6)}`,
    () => (compound ? actor.staking.write.compound([op.address]) : actor.staking.write.claim([op.address])),
    (o) => o === "ok" || o === "NothingToClaim" || (compound && o === "OperatorIsJailed"),
  );
  if (receipt === undefined) return;
  ghost.touch(actor.address, op.address);
  const [ev] = parseEventLogs({ abi: w.staking.abi, logs: receipt.logs, eventName: "Compounded" });
  const amount = compound ? ev!.args.amount : (await w.token.read.balanceOf([actor.address])) - before;
  ghost.pay(actor.address, op.address, amount);
}

async function undelegate(run: Run, actor: World["actors"][number], op: World["ops"][number], r: number[]) {
  const { w, ghost } = run;
  const held = (await w.staking.read.getPosition([actor.address, op.address])).shares;
  const shares = r[2]! % 3 === 0 ? held : (held * BigInt(1 + (r[2]! % 9000))) / 10_000n + 1n;
  await run.send(`undelegate ${actor.address.slice(0, 6)} from ${op.address.slice(0, 6)} ${shares}`, () =>
    actor.staking.write.undelegate([op.address, shares > held ? held : shares]),
  );
  ghost.touch(actor.address, op.address);
}

/** One random step. `r` is a fresh integer for each choice. */
async function step(run: Run, kind: number, r: number[]) {
  const { w, ghost } = run;
  const pick = <T>(xs: readonly T[], i: number) => xs[r[i]! % xs.length]!;
  const epoch = await run.epoch();
  const op = pick(w.ops, 0);
  const actor = pick(w.actors, 1);
  switch (kind) {
    case 0: {
      // delegate (a delegator, or an operator to its own pool)
      const amount = E(1 + (r[2]! % 3000));
      const jailed = (await w.staking.read.operatorRecord([op.address])).jailed;
      const self = actor.address === op.address;
      await run.send(
        `delegate ${actor.address.slice(0, 6)} -> ${op.address.slice(0, 6)} ${amount}`,
        () => actor.staking.write.delegate([op.address, amount]),
        jailed && !self ? "OperatorIsJailed" : "ok",
      );
      if (!jailed || self) ghost.touch(actor.address, op.address);
      break;
    }
    case 1: {
      // undelegate part or all of a delegator's position (mostly one that exists)
      const pairs: [typeof actor, typeof op][] = [];
      for (const a of w.actors.slice(N_OPS))
        for (const o of w.ops)
          if ((await w.staking.read.getPosition([a.address, o.address])).shares !== 0n) pairs.push([a, o]);
      if (pairs.length === 0) return;
      const [actor1, op1] = pairs[r[0]! % pairs.length]!;
      return undelegate(run, actor1, op1, r);
    }
    case 2:
    case 3: {
      // claim or compound, mostly on a position that exists
      const compound = kind === 3;
      if (r[4]! % 4 !== 0) {
        const held: [typeof actor, typeof op][] = [];
        for (const a of w.actors)
          for (const o of w.ops)
            if ((await w.staking.read.getPosition([a.address, o.address])).shares !== 0n) held.push([a, o]);
        const [a1, o1] = held[r[0]! % held.length]!;
        return claim(run, a1, o1, compound);
      }
      return claim(run, actor, op, compound);
    }
    case 4: {
      // someone refreshes a position, or settles a pool (through the distributor)
      if (r[2]! % 2 === 0) {
        await run.send(`refresh ${actor.address.slice(0, 6)} in ${op.address.slice(0, 6)}`, () =>
          pick(w.actors, 3).staking.write.refreshPosition([actor.address, op.address]),
        );
        ghost.touch(actor.address, op.address);
      } else {
        await run.send(`settle ${op.address.slice(0, 6)}`, () =>
          w.distributor.write.settle([op.address, maxUint256 - 1n]),
        );
      }
      break;
    }
    case 5: {
      // commission change (at most +-5 points per request, within the operator's 30% maximum)
      const cur = BigInt(await w.staking.read.commissionOf([op.address]));
      const next = cur + BigInt((r[2]! % 1001) - 500);
      if (next < 0n || next > 3000n) return;
      const now = (await run.now()) + 1n;
      const from =
        next <= cur
          ? epoch + 1n
          : (() => {
              const first = (now + DAY - w.genesis + DAY - 1n) / DAY;
              return first > epoch + 1n ? first : epoch + 1n;
            })();
      await run.conn.networkHelpers.time.setNextBlockTimestamp(now);
      await run.send(`setCommission ${op.address.slice(0, 6)} ${cur} -> ${next}`, () =>
        w.ops.find((o) => o.address === op.address)!.staking.write.setCommission([Number(next)]),
      );
      ghost.requestCommission(op.address, epoch, from, next);
      break;
    }
    case 6: {
      // a donation, or a usage fee for a node and a model trainer
      const amount = r[2]! % 5 === 0 ? BigInt(1 + (r[3]! % 1000)) : E(1 + (r[3]! % 500));
      if (r[2]! % 2 === 0) {
        await run.send(`notifyReward ${op.address.slice(0, 6)} ${amount}`, () =>
          w.staking.write.notifyReward([op.address, amount]),
        );
        ghost.addPoolReward(op.address, epoch, amount);
      } else {
        const trainer = pick(w.ops, 4);
        await run.send(
          `notifyUsage ${op.address.slice(0, 6)} / ${trainer.address.slice(0, 6)} ${amount}`,
          () => w.distributor.write.notifyUsage([op.address, trainer.address, amount]),
        );
        const nodeFee = (amount * 6000n) / BPS;
        const royalty = (amount * 2500n) / BPS;
        if (op.address === trainer.address) ghost.addPoolReward(op.address, epoch, nodeFee + royalty);
        else {
          ghost.addPoolReward(op.address, epoch, nodeFee);
          ghost.addPoolReward(trainer.address, epoch, royalty);
        }
      }
      break;
    }
    case 7: {
      // points of the current epoch (the test double): some operators earn, the totals add up
      // (or, now and then, to less than the sum: points earned after a close)
      for (const [i, o] of w.ops.entries()) {
        const p = r[i % r.length]! % 3 === 0 ? 0n : BigInt(1 + (r[(i + 1) % r.length]! % 1_000_000));
        await w.oracle.write.setPoints([epoch, o.address, p]);
        ghost.points.set(`${epoch}:${o.address}`, p);
      }
      for (const role of [1, 2]) {
        let total = 0n;
        for (const [i, o] of w.ops.entries())
          if (w.roles[i] === role) total += ghost.points.get(`${epoch}:${o.address}`)!;
        if (r[5]! % 7 === 0) total = total / 2n;
        await w.oracle.write.setTotal([epoch, role, total]);
      }
      run.trace.push(`points for epoch ${epoch}`);
      break;
    }
    case 8: {
      // slash (sometimes jailing), or an unjail attempt
      const record = await w.staking.read.operatorRecord([op.address]);
      if (r[2]! % 3 === 0 && record.jailed) {
        const now = await run.now();
        const self = await w.staking.read.selfStake([op.address]);
        const min = w.roles[w.ops.indexOf(op)] === 1 ? E(1000) : E(500);
        const expected =
          now + 1n < BigInt(record.jailedUntil)
            ? "JailCooldownActive"
            : self < min
              ? "StakeBelowMinimum"
              : "ok";
        await run.send(`unjail ${op.address.slice(0, 6)}`, () => op.staking.write.unjail(), expected);
      } else {
        await run.send(`slash ${op.address.slice(0, 6)}`, () =>
          w.staking.write.slash([op.address, E("0.05"), [], r[2]! % 4 === 0, epoch]),
        );
      }
      break;
    }
    default: {
      // time: within the epoch, or to a later one; epochs become final at most one epoch after
      // they end; sometimes an explicit close
      const next = r[2]! % 3 === 0 ? epoch : epoch + 1n;
      const target = run.w.genesis + next * DAY + BigInt(600 + (r[3]! % 40_000));
      const now = await run.now();
      if (target > now) {
        const { pools, positions } = await run.shares();
        for (let e = epoch + 1n; e <= (target - run.w.genesis) / DAY; e++)
          ghost.recordEpochStart(e, pools, positions);
        await run.conn.networkHelpers.time.increaseTo(target);
      }
      const current = await run.epoch();
      if (current > epoch && r[5]! % 3 !== 0)
        await step(run, 7, [r[1]!, r[3]!, r[0]!, r[2]!, r[4]!, r[5]! + 1]);
      const upTo = current - 1n - BigInt(r[4]! % 2);
      for (let e = run.final + 1n; e <= upTo; e++) await w.oracle.write.setFinal([e, true]);
      if (upTo > run.final) run.final = upTo;
      run.trace.push(`time -> epoch ${current}, final through ${run.final}`);
      if (
        r[5]! % 4 === 0 &&
        (await w.oracle.read.isEpochFinal([await w.distributor.read.nextEpochToClose()]))
      )
        await run.send("closeEpochs", () => w.distributor.write.closeEpochs([10n]));
    }
  }
}

/** With POAI_FC_STATS=1: how often each action ended in each outcome. */
const stats = new Map<string, number>();

describe("Reward invariants against a brute-force ghost (stateful, random orders)", function () {
  this.timeout(900_000);
  let conn: Conn;
  before(async () => {
    conn = await network.create();
  });
  after(() => {
    if (process.env.POAI_FC_STATS === "1")
      console.log(
        [...stats]
          .sort()
          .map(([k, v]) => `${String(v).padStart(5)} ${k}`)
          .join("\n"),
      );
  });

  it("credits every pool and every position exactly what the ghost computes epoch by epoch, and conserves every token", async () => {
    const fixture = () => world(conn);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ kind: fc.nat({ max: 11 }), r: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }) }),
          {
            minLength: 50,
            maxLength: 70,
          },
        ),
        async (steps) => {
          const w = await conn.networkHelpers.loadFixture(fixture);
          const run = new Run(conn, w);
          // the self-stakes were delegated in epoch 0: they count from epoch 1
          for (const s of steps) {
            await step(run, s.kind, s.r);
            await run.check(run.trace[run.trace.length - 1] ?? "start");
          }
          // Every epoch ends and becomes final; everybody claims; every pool is credited.
          const last = await run.epoch();
          await step(run, 9, [0, 0, 1, 0, 0, 1]);
          await step(run, 9, [0, 0, 1, 0, 0, 1]);
          for (let e = run.final + 1n; e < last + 2n; e++) await w.oracle.write.setFinal([e, true]);
          for (const o of w.ops)
            await run.send(`settle ${o.address.slice(0, 6)}`, () =>
              w.distributor.write.settle([o.address, last + 1n]),
            );
          for (const a of w.actors)
            for (const o of w.ops) {
              const before = await w.token.read.balanceOf([a.address]);
              const rec = await run.send(
                `claim ${a.address.slice(0, 6)} from ${o.address.slice(0, 6)}`,
                () => a.staking.write.claim([o.address]),
                (x) => x === "ok" || x === "NothingToClaim",
              );
              if (rec === undefined) continue;
              run.ghost.touch(a.address, o.address);
              run.ghost.pay(a.address, o.address, (await w.token.read.balanceOf([a.address])) - before);
            }
          await run.check("after everybody claimed");
          for (const t of run.trace) {
            const k = t.replace(/0x[0-9a-fA-F]+|\d+/g, "").replace(/\s+/g, " ");
            stats.set(k, (stats.get(k) ?? 0) + 1);
          }
          stats.set("credits", (stats.get("credits") ?? 0) + run.ghost.credits.size);
          // Every closed epoch's role budgets went to the pools in full.
          for (const [k, v] of run.ghost.remaining)
            expect(v.budget, `budget left of ${k} once every pool was credited`).to.equal(0n);
          for (let e = 0n; e < (await w.distributor.read.nextEpochToClose()); e++)
            for (const role of [1, 2])
              expect(await w.staking.read.epochBudget([e, role])).to.deep.equal([0n, 0n]);
          // the dust: returned to the distributor's carry at its closes, or waiting in Staking
          expect((await w.staking.read.rewardDust()) + (await w.distributor.read.totalReturned())).to.equal(
            run.ghost.dust,
          );
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
