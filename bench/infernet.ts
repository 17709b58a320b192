/**
 * Gas of the inference marketplace, row for row the same work as Ritual Infernet SDK v1.1.0 is
 * measured doing (docs/inference.md, "Gas"): EOA nodes that are active trainers; every output a
 * fresh 32-byte word with no zero byte (so the consumer's one SSTORE really changes its slot) and
 * 32-byte inputs with no zero byte; empty proofs; the minimal consumers of
 * contracts/test/InfernetBenchConsumers.sol; payment recipients already holding tokens; protocol fee
 * 1%; the coordinator already served deliveries. "Steady" rows come after the node already
 * delivered the model in the epoch (as every delivery but its first of the day does);
 * `deliverCompute.firstOfEpoch` is the first one of a new epoch, `deliverCompute.firstOfNodeModel`
 * a node's first delivery of the model ever. Each figure is one transaction's
 * gasUsed, except `paidRequestAndDelivery` (the two transactions of one paid request).
 */
import { network } from "hardhat";
import { getAddress, zeroAddress, type Address, type Hash, type Hex } from "viem";
import {
  DAY,
  E,
  ETH,
  MODEL,
  containerHash,
  deployInfernetWorld,
  signDelegateSubscription,
} from "../test/infernet/helpers/world.js";

/**
 * Ritual Infernet SDK v1.1.0 measured in exactly these conditions: its v1.1.0 sources compiled as
 * Infernet builds them (solc 0.8.19, via-IR, 1,000,000 optimizer runs, EVM paris), deployed on the
 * same Hardhat 3 EDR chain, driven by the same consumers (these sources with Infernet's import
 * paths), the same ERC-20 bytecode and the same sequence of transactions as `runInfernetGasBench`.
 */
export const INFERNET_MEASURED: Record<string, [string, number]> = {
  "Coordinator.createSubscription": ["Infernet createSubscription (SubscriptionConsumer)", 109_636],
  "Coordinator.requestCompute": ["Infernet callback _requestCompute", 155_570],
  "Coordinator.deliverCompute.callback": ["Infernet deliverCompute, callback", 99_091],
  "Coordinator.deliverCompute.callbackEmpty": ["Infernet deliverCompute, empty callback", 94_031],
  "Coordinator.deliverCompute.recurring2ndInterval": ["Infernet deliverCompute, eager 2nd interval", 99_192],
  "Coordinator.deliverCompute.lazy2ndInterval": ["Infernet deliverCompute, lazy 2nd interval", 225_673],
  "Coordinator.deliverCompute.firstOfEpoch": ["Infernet deliverCompute, callback (no epochs)", 99_091],
  "Coordinator.deliverCompute.firstOfNodeModel": ["Infernet deliverCompute, callback (no usage)", 99_091],
  "Coordinator.deliverCompute.erc20": ["Infernet deliverCompute, ERC-20 payment", 153_586],
  "Coordinator.deliverCompute.stakingToken": ["Infernet deliverCompute, ERC-20 payment", 153_586],
  "Coordinator.requestCompute.erc20": ["Infernet paid request (ERC-20)", 215_822],
  "Coordinator.paidRequestAndDelivery": ["Infernet paid request + its delivery", 369_408],
  "EIP712Coordinator.deliverComputeDelegatee": ["Infernet deliverComputeDelegatee", 205_883],
  "EIP712Coordinator.createSubscriptionDelegatee": ["Infernet createSubscriptionDelegatee", 145_301],
  "Coordinator.cancelSubscription": ["Infernet cancelSubscription (consumer)", 31_003],
};

let counter = 0;
/** A fresh 32-byte word with no zero byte. */
export function freshWord(): Hex {
  counter += 1;
  const bytes = Array.from({ length: 32 }, (_, i) => ((counter * 37 + i * 11) % 255) + 1);
  return `0x${bytes.map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

export async function runInfernetGasBench(): Promise<Record<string, number>> {
  const conn = await network.create();
  const w = await deployInfernetWorld(conn, { feeBps: 100 });
  const results: Record<string, number> = {};
  const receipt = async (hash: Hash) => {
    const r = await w.receipt(hash);
    if (r.status !== "success") throw new Error(`transaction ${r.transactionHash} reverted`);
    return r;
  };
  const gas = async (hash: Promise<Hash>) => Number((await receipt(await hash)).gasUsed);
  const [A, B] = w.trainers;
  const a = A!;
  const nodeWallet = a.nodeWallet.address;
  const deliver = (id: number, interval: number, n = a) =>
    n.coordinator.write.deliverCompute([id, interval, freshWord(), freshWord(), "0x", nodeWallet]);

  const cb = await w.viem.deployContract("BenchCallbackConsumer", [
    w.registry.address,
    w.delegatee.account.address,
  ]);
  const empty = await w.viem.deployContract("BenchEmptyConsumer", [w.registry.address]);
  const sc = await w.viem.deployContract("BenchSubscriptionConsumer", [w.registry.address]);
  for (const token of [w.erc20.address, w.token.address]) await w.approve(cb.address, token, 2n ** 255n);
  await w.erc20.write.transfer([w.feeRecipient, E(1_000)]);
  const request = (token: Address = ETH, amount = 0n, wallet: Address = zeroAddress) =>
    cb.write.request([freshWord(), token, amount, wallet]);

  // The coordinator has served, and node A has delivered this model in this epoch.
  await deliver(await w.createdId(await request()), 1);
  await B!.coordinator.write.deliverCompute([
    await w.createdId(await request()),
    1,
    freshWord(),
    freshWord(),
    "0x",
    zeroAddress,
  ]);

  await sc.write.subscribe([1, 0, false]);
  results["Coordinator.createSubscription"] = await gas(sc.write.subscribe([2, 60, false]));
  const recurring = Number((await w.coordinator.read.id()) - 1);
  results["Coordinator.requestCompute"] = await gas(request());
  const callback = Number((await w.coordinator.read.id()) - 1);
  results["Coordinator.deliverCompute.callback"] = await gas(deliver(callback, 1));
  const e = await w.createdId(await empty.write.request([freshWord()]));
  results["Coordinator.deliverCompute.callbackEmpty"] = await gas(deliver(e, 1));

  const sub = await w.coordinator.read.getSubscription([recurring]);
  await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt);
  await deliver(recurring, 1);
  await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt + 60);
  results["Coordinator.deliverCompute.recurring2ndInterval"] = await gas(deliver(recurring, 2));

  const lazy = await w.createdId(await sc.write.subscribe([2, 60, true]));
  const lazySub = await w.coordinator.read.getSubscription([lazy]);
  await conn.networkHelpers.time.setNextBlockTimestamp(lazySub.activeAt);
  await deliver(lazy, 1);
  await conn.networkHelpers.time.setNextBlockTimestamp(lazySub.activeAt + 60);
  results["Coordinator.deliverCompute.lazy2ndInterval"] = await gas(deliver(lazy, 2));

  // Paid callbacks (the wallet approved the consumer first, so the request escrows the payment). A
  // busy marketplace: another request's payment is already held when these are made.
  const paid = async (token: Address) => w.createdId(await request(token, E(1), w.consumerWallet.address));
  await paid(w.erc20.address);
  await paid(w.token.address);
  await deliver(await paid(w.erc20.address), 1);
  results["Coordinator.deliverCompute.erc20"] = await gas(deliver(await paid(w.erc20.address), 1));
  const requestHash = await request(w.erc20.address, E(1), w.consumerWallet.address);
  results["Coordinator.requestCompute.erc20"] = Number((await receipt(requestHash)).gasUsed);
  const paidDelivery = await gas(deliver(await w.createdId(requestHash), 1));
  results["Coordinator.paidRequestAndDelivery"] = results["Coordinator.requestCompute.erc20"] + paidDelivery;
  await deliver(await paid(w.token.address), 1);
  results["Coordinator.deliverCompute.stakingToken"] = await gas(deliver(await paid(w.token.address), 1));
  results["Coordinator.flushUsageFees"] = await gas(
    w.coordinator.write.flushUsageFees([a.address, containerHash(MODEL)]),
  );

  // Delegated subscriptions: steady state (the consumer already has a delegated subscription).
  const now = Number(await w.latest());
  const base = {
    owner: getAddress(cb.address),
    activeAt: now,
    period: 0,
    frequency: 1,
    redundancy: 1,
    containerId: containerHash(MODEL),
    lazy: false,
    verifier: zeroAddress,
    paymentAmount: 0n,
    paymentToken: ETH,
    wallet: zeroAddress,
  };
  const expiry = now + 3600;
  const delegated = async (nonce: number) => signDelegateSubscription(w, w.delegatee, nonce, expiry, base);
  const s1 = await delegated(1);
  await a.coordinator.write.deliverComputeDelegatee([
    1,
    expiry,
    base,
    s1.v,
    s1.r,
    s1.s,
    1,
    freshWord(),
    freshWord(),
    "0x",
    zeroAddress,
  ]);
  const s2 = await delegated(2);
  results["EIP712Coordinator.deliverComputeDelegatee"] = await gas(
    a.coordinator.write.deliverComputeDelegatee([
      2,
      expiry,
      base,
      s2.v,
      s2.r,
      s2.s,
      1,
      freshWord(),
      freshWord(),
      "0x",
      zeroAddress,
    ]),
  );
  const s3 = await delegated(3);
  results["EIP712Coordinator.createSubscriptionDelegatee"] = await gas(
    w.outsider.coordinator.write.createSubscriptionDelegatee([3, expiry, base, s3.v, s3.r, s3.s]),
  );
  results["Coordinator.cancelSubscription"] = await gas(sc.write.cancel([lazy]));

  // PoAI only: an optimistic output verifier (payment held, collateral locked), then its verdict.
  await w.optimistic.write.setFee([w.erc20.address, true, E("0.1")]);
  const verified = async () =>
    w.createdId(
      await w.consumer.write.requestCompute([
        MODEL,
        freshWord(),
        1,
        w.erc20.address,
        E(1),
        w.consumerWallet.address,
        w.optimistic.address,
      ]),
    );
  await w.approve(w.consumer.address, w.erc20.address, 2n ** 255n);
  const v1 = await verified();
  await deliver(v1, 1);
  await w.optimistic.write.settle([v1, 1, a.address, true]);
  const v2 = await verified();
  results["Coordinator.deliverCompute.optimisticVerifier"] = await gas(deliver(v2, 1));
  results["Coordinator.finalizeProofVerification.valid"] = await gas(
    w.optimistic.write.settle([v2, 1, a.address, true]),
  );

  // PoAI only: commit-reveal (opt-in), redundancy 2.
  const cr = await w.createdId(
    await w.consumer.write.requestComputeWithOptions([
      MODEL,
      freshWord(),
      2,
      ETH,
      0n,
      zeroAddress,
      zeroAddress,
      { commitReveal: true },
    ]),
  );
  const salt = freshWord();
  const output = freshWord();
  const commitment = (node: Address) => w.coordinator.read.computeCommitment([cr, 1, node, output, salt]);
  results["Coordinator.commitCompute"] = await gas(
    a.coordinator.write.commitCompute([cr, 1, await commitment(a.address)]),
  );
  await B!.coordinator.write.commitCompute([cr, 1, await commitment(B!.address)]);
  results["Coordinator.revealCompute"] = await gas(
    a.coordinator.write.revealCompute([cr, 1, freshWord(), output, "0x", nodeWallet, salt]),
  );

  // A new epoch: node A's first delivery of the model in it.
  await conn.networkHelpers.time.increase(DAY);
  const day = await w.createdId(await request());
  results["Coordinator.deliverCompute.firstOfEpoch"] = await gas(deliver(day, 1));
  // A node's first delivery of the model ever: its usage record for the model is created.
  const first = await w.createdId(await request());
  results["Coordinator.deliverCompute.firstOfNodeModel"] = await gas(deliver(first, 1, w.trainers[2]!));
  return results;
}
