/**
 * Stateful invariant test of the payment escrow: random sequences of subscriptions (ETH, a plain
 * ERC-20, the staking token; with and without an optimistic verifier; one-time and recurring;
 * redundancy 1 or 2), deliveries by random trainers, verdicts, cancellations, escrow funding and
 * releases, wallet withdrawals and allowance changes, fee flushes and the clock. After every action:
 *  E1 every wallet: balance >= lockedBalance = sum of its spenders' lockedBalanceOf (the consumer's
 *     wallet locks nothing: its escrow is held by the coordinator);
 *  E2 per token, the coordinator holds exactly the escrows of all subscriptions + the held payments
 *     of pending proof requests (+ the pending usage fees, staking token): nothing more, nothing less;
 *  E3 a node wallet's lockedBalanceOf(node, token) = paymentAmount x its pending proof requests;
 *  E4 nothing is lost: per token, the balances of every account the flows can reach add up to what
 *     they held at the start plus what was funded, minus what the wallet owner withdrew.
 * At the end everything is unwound (expire and settle, release, flush) and nothing is left held or
 * locked: nothing is stuck.
 *
 * `POAI_FC_SEED=<seed>` reproduces a run, `POAI_FC_RUNS` changes the number of runs.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEventLogs, zeroAddress, type Address, type Hex } from "viem";
import {
  E,
  containerHash,
  deployInfernetWorld,
  ETH,
  MODEL,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

const RUNS = Number(process.env.POAI_FC_RUNS ?? 6);
const SEED = process.env.POAI_FC_SEED === undefined ? undefined : Number(process.env.POAI_FC_SEED);

type Sub = { id: number; owner: Address; token: Address; amount: bigint; verifier: boolean };
type Pending = {
  id: number;
  interval: number;
  node: Address;
  token: Address;
  amount: bigint;
  escrowed: bigint;
};

type Action =
  | {
      kind: "create";
      recurring: boolean;
      token: number;
      verifier: boolean;
      amount: number;
      redundancy: number;
    }
  | { kind: "deliver"; sub: number; node: number }
  | { kind: "settle"; pending: number; valid: boolean }
  | { kind: "cancel"; sub: number }
  | { kind: "withdraw"; token: number; part: number }
  | { kind: "approve"; token: number; low: boolean }
  | { kind: "fund"; token: number; amount: number }
  | { kind: "fundEscrow"; sub: number }
  | { kind: "release"; sub: number }
  | { kind: "flush"; node: number }
  | { kind: "time"; seconds: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      recurring: fc.boolean(),
      token: fc.nat(2),
      verifier: fc.boolean(),
      amount: fc.integer({ min: 1, max: 5 }),
      redundancy: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("deliver" as const), sub: fc.nat(20), node: fc.nat(3) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("settle" as const), pending: fc.nat(10), valid: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), sub: fc.nat(20) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("withdraw" as const),
      token: fc.nat(2),
      part: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("approve" as const), token: fc.nat(2), low: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("fund" as const),
      token: fc.nat(2),
      amount: fc.integer({ min: 1, max: 10 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fundEscrow" as const), sub: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), sub: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flush" as const), node: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("time" as const), seconds: fc.integer({ min: 1, max: 200 }) }),
  },
);

describe("Infernet payment escrow: stateful invariants", function () {
  this.timeout(900_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { feeBps: 100 });
  });

  it("holds exactly the escrows, locks only collateral and loses nothing across random sequences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 20, maxLength: 35 }), async (actions) => {
        const w = await conn.networkHelpers.loadFixture(world);
        await run(w, actions);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});

async function run(w: InfernetWorld, actions: Action[]) {
  const tokens: Address[] = [ETH, getAddress(w.erc20.address), getAddress(w.token.address)];
  for (const v of [w.optimistic]) for (const t of tokens) await v.write.setFee([t, true, E("0.01")]);
  const subs: Sub[] = [];
  let pending: Pending[] = [];
  const trace: string[] = [];
  const owners = [getAddress(w.consumer.address), getAddress(w.subConsumer.address)];
  const nodes = w.trainers;
  const reach: Address[] = [
    w.consumerWallet.address,
    ...nodes.map((t) => t.nodeWallet.address),
    w.feeRecipient,
    w.verifierWallet,
    getAddress(w.coordinator.address),
    getAddress(w.distributor.address),
    getAddress(w.staking.address),
    w.treasury,
  ];
  const balance = (token: Address, who: Address) =>
    token === ETH
      ? w.publicClient.getBalance({ address: who })
      : token === tokens[1]
        ? w.erc20.read.balanceOf([who])
        : w.token.read.balanceOf([who]);
  const total = async (token: Address) => {
    let sum = 0n;
    for (const a of reach) sum += await balance(token, a);
    return sum;
  };
  const ghost = new Map<Address, bigint>();
  for (const t of tokens) ghost.set(t, await total(t));

  const send = async (label: string, p: () => Promise<Hex>) => {
    try {
      const hash = await p();
      const r = await w.receipt(hash);
      for (const l of parseEventLogs({ abi: w.coordinator.abi, logs: r.logs })) {
        if (l.eventName === "ProofVerificationRequested") {
          const s = subs.find((x) => x.id === l.args.id)!;
          pending.push({
            id: l.args.id,
            interval: l.args.interval,
            node: getAddress(l.args.node),
            token: s.token,
            amount: s.amount,
            escrowed: l.args.escrowed,
          });
        }
        if (l.eventName === "ProofVerified")
          pending = pending.filter(
            (q) =>
              !(q.id === l.args.id && q.interval === l.args.interval && q.node === getAddress(l.args.node)),
          );
      }
      trace.push(`${label} ok`);
      return r;
    } catch (e) {
      trace.push(
        `${label} reverted (${(e instanceof Error ? e.message : String(e)).split("\n")[0]?.slice(0, 80)})`,
      );
      return undefined;
    }
  };
  const interval = async (id: number) => {
    const s = await w.coordinator.read.getSubscription([id]);
    const now = Number(await w.latest()) + 1;
    if (now < s.activeAt) return 1;
    return s.period === 0 ? 1 : Math.floor((now - s.activeAt) / s.period) + 1;
  };

  const model = containerHash(MODEL);
  const pendingFees = async () => {
    let sum = 0n;
    for (const n of nodes) sum += (await w.coordinator.read.usageOf([n.address, model])).pendingFees;
    return sum;
  };
  const check = async () => {
    const where = `\ntrace:\n  ${trace.join("\n  ")}`;
    for (const t of tokens) {
      // E1 (consumer wallet) and E2
      const cw = w.consumerWallet.read;
      for (const o of owners) expect(await cw.lockedBalanceOf([o, t]), `E1 ${o} ${t}${where}`).to.equal(0n);
      expect(await cw.lockedBalance([t]), `E1 consumer wallet ${t}${where}`).to.equal(0n);
      let held = t === tokens[2] ? await pendingFees() : 0n;
      for (const s of subs.filter((x) => x.token === t)) held += await w.coordinator.read.escrowOf([s.id]);
      for (const q of pending.filter((x) => x.token === t)) held += q.escrowed;
      expect(await balance(t, getAddress(w.coordinator.address)), `E2 coordinator ${t}${where}`).to.equal(
        held,
      );
      // E1 and E3 (node wallets)
      for (const n of nodes) {
        const locked = await n.nodeWallet.read.lockedBalanceOf([n.address, t]);
        const expected = pending
          .filter((q) => q.node === n.address && q.token === t)
          .reduce((a, q) => a + q.amount, 0n);
        expect(locked, `E3 ${n.address} ${t}${where}`).to.equal(expected);
        expect(await n.nodeWallet.read.lockedBalance([t]), `E1 node wallet${where}`).to.equal(locked);
        expect((await balance(t, n.nodeWallet.address)) >= locked, `E1 node balance${where}`).to.equal(true);
      }
      // E4
      expect(await total(t), `E4 conservation ${t}${where}`).to.equal(ghost.get(t));
    }
  };

  const pickSub = (i: number) => (subs.length === 0 ? undefined : subs[i % subs.length]);
  for (const a of actions) {
    switch (a.kind) {
      case "create": {
        const token = tokens[a.token]!;
        const amount = E(a.amount) / 10n;
        const verifier = a.verifier ? w.optimistic.address : zeroAddress;
        const r = a.recurring
          ? await send(`create recurring ${token} ${amount} v=${a.verifier}`, () =>
              w.subConsumer.write.createComputeSubscription([
                MODEL,
                3,
                60,
                a.redundancy,
                false,
                token,
                amount,
                w.consumerWallet.address,
                verifier,
              ]),
            )
          : await send(`create callback ${token} ${amount} v=${a.verifier}`, () =>
              w.consumer.write.requestCompute([
                MODEL,
                word(1),
                a.redundancy,
                token,
                amount,
                w.consumerWallet.address,
                verifier,
              ]),
            );
        if (r) {
          const [ev] = parseEventLogs({
            abi: w.coordinator.abi,
            logs: r.logs,
            eventName: "SubscriptionCreated",
          });
          subs.push({
            id: ev!.args.id,
            owner: owners[a.recurring ? 1 : 0]!,
            token,
            amount,
            verifier: a.verifier,
          });
        }
        break;
      }
      case "deliver": {
        const s = pickSub(a.sub);
        if (!s) break;
        const n = nodes[a.node]!;
        const i = await interval(s.id);
        await send(`deliver ${s.id}/${i} by ${a.node}`, () =>
          n.coordinator.write.deliverCompute([s.id, i, "0x", word(i), "0x", n.nodeWallet.address]),
        );
        break;
      }
      case "settle": {
        if (pending.length === 0) break;
        const q = pending[a.pending % pending.length]!;
        await send(`settle ${q.id}/${q.interval} ${q.node} ${a.valid}`, () =>
          w.optimistic.write.settle([q.id, q.interval, q.node, a.valid]),
        );
        break;
      }
      case "cancel": {
        const s = pickSub(a.sub);
        if (!s) break;
        await send(`cancel ${s.id}`, () =>
          s.owner === owners[1]
            ? w.subConsumer.write.cancelComputeSubscription([s.id])
            : w.coordinator.write.cancelSubscription([s.id]),
        );
        break;
      }
      case "withdraw": {
        const t = tokens[a.token]!;
        const amount = (await w.consumerWallet.read.unlockedBalance([t])) / BigInt(a.part);
        const r = await send(`withdraw ${t} ${amount}`, () => w.userWallet.write.withdraw([t, amount]));
        if (r) ghost.set(t, ghost.get(t)! - amount);
        break;
      }
      case "approve": {
        const t = tokens[a.token]!;
        const amount = a.low ? E("0.2") : maxUint256;
        for (const o of owners) await send(`approve ${o} ${t} ${amount}`, () => w.approve(o, t, amount));
        break;
      }
      case "fund": {
        const t = tokens[a.token]!;
        const amount = E(a.amount) / 10n;
        await w.fund(t, amount);
        ghost.set(t, ghost.get(t)! + amount);
        trace.push(`fund ${t} ${amount}`);
        break;
      }
      case "fundEscrow": {
        const s = pickSub(a.sub);
        if (s) await send(`fundEscrow ${s.id}`, () => w.outsider.coordinator.write.fundEscrow([s.id]));
        break;
      }
      case "release": {
        const s = pickSub(a.sub);
        if (s) await send(`release ${s.id}`, () => w.outsider.coordinator.write.releaseEscrow([s.id]));
        break;
      }
      case "flush": {
        const n = nodes[a.node]!;
        await send(`flush ${a.node}`, () => w.outsider.coordinator.write.flushUsageFees([n.address, model]));
        break;
      }
      case "time":
        await w.conn.networkHelpers.time.increase(a.seconds);
        trace.push(`time +${a.seconds}`);
        break;
    }
    await check();
  }

  // Unwind: nothing may stay locked.
  await w.conn.networkHelpers.time.increase(7 * 86_400 + 1);
  for (const q of [...pending])
    await send(`expire ${q.id}`, () =>
      w.outsider.coordinator.write.finalizeProofVerification([q.id, q.interval, q.node, true]),
    );
  for (const s of subs)
    await send(`release ${s.id}`, () => w.outsider.coordinator.write.releaseEscrow([s.id]));
  for (const n of nodes)
    if ((await w.coordinator.read.usageOf([n.address, model])).pendingFees > 0n)
      await send(`flush ${n.address}`, () => w.outsider.coordinator.write.flushUsageFees([n.address, model]));
  await check();
  for (const t of tokens) {
    expect(
      await balance(t, getAddress(w.coordinator.address)),
      `stuck escrow ${t}\n${trace.join("\n")}`,
    ).to.equal(0n);
    for (const n of nodes)
      expect(await n.nodeWallet.read.lockedBalance([t]), "stuck collateral").to.equal(0n);
  }
  expect(await pendingFees()).to.equal(0n);
}
