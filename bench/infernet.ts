/**
 * Gas of the inference marketplace, in the conditions of the Infernet anchors (ANCHORS.md): nodes
 * are EOAs (active trainers), 32-byte input and output, empty proof, consumers whose callback does
 * one SSTORE of bytes32(output) into an already-nonzero slot, the coordinator has already served a
 * delivery in this epoch for this model and node (usage slots warm), payment recipients already
 * hold tokens. Each figure is one transaction's gasUsed.
 */
import { network } from "hardhat";
import { getAddress, zeroAddress, type Hash } from "viem";
import {
  E,
  ETH,
  MODEL,
  containerHash,
  deployInfernetWorld,
  signDelegateSubscription,
  word,
} from "../test/infernet/helpers/world.js";

/** Ritual Infernet SDK v1.1.0, measured as ANCHORS.md describes. */
export const INFERNET_ANCHORS: Record<string, [string, number]> = {
  "Coordinator.createSubscription": ["Infernet createSubscription (SubscriptionConsumer)", 111_289],
  "Coordinator.requestCompute": ["Infernet callback _requestCompute", 156_869],
  "Coordinator.deliverCompute.callback": ["Infernet deliverCompute, callback", 98_886],
  "Coordinator.deliverCompute.callbackEmpty": ["Infernet deliverCompute, empty callback", 93_823],
  "Coordinator.deliverCompute.recurring2ndInterval": ["Infernet deliverCompute, eager 2nd interval", 98_925],
  "Coordinator.deliverCompute.lazy2ndInterval": ["Infernet deliverCompute, lazy 2nd interval", 225_415],
  "Coordinator.deliverCompute.erc20": ["Infernet deliverCompute, ERC20 payment", 153_413],
  "Coordinator.deliverCompute.stakingToken": ["Infernet deliverCompute, ERC20 payment", 153_413],
  "EIP712Coordinator.deliverComputeDelegatee": ["Infernet deliverComputeDelegatee", 205_844],
  "EIP712Coordinator.createSubscriptionDelegatee": ["Infernet createSubscriptionDelegatee", 145_264],
  "Coordinator.cancelSubscription": ["Infernet cancelSubscription (consumer)", 30_939],
};

export async function runInfernetGasBench(): Promise<Record<string, number>> {
  const conn = await network.create();
  const w = await deployInfernetWorld(conn, { feeBps: 100 });
  const results: Record<string, number> = {};
  const gas = async (hash: Promise<Hash>) => {
    const r = await w.receipt(await hash);
    if (r.status !== "success") throw new Error(`transaction ${r.transactionHash} reverted`);
    return Number(r.gasUsed);
  };
  const [A, B] = w.trainers;
  const a = A!;
  const free = [ETH, 0n, zeroAddress, zeroAddress] as const;
  const deliver = (id: number, interval: number, n = a, nodeWallet: `0x${string}` = n.nodeWallet.address) =>
    n.coordinator.write.deliverCompute([id, interval, word(1), word(interval + 1), "0x", nodeWallet]);

  const cb = await w.viem.deployContract("BenchCallbackConsumer", [
    w.coordinator.address,
    w.delegatee.account.address,
  ]);
  const sc = await w.viem.deployContract("BenchSubscriptionConsumer", [w.coordinator.address]);
  for (const token of [w.erc20.address, w.token.address]) await w.approve(cb.address, token, 2n ** 255n);

  // Warm-up: one delivery of the model by node A in this epoch, consumer slots nonzero.
  const warm = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
  await deliver(warm, 1);
  const warmSub = await w.createdId(
    await w.subConsumer.write.createComputeSubscription([MODEL, 1, 0, 1, false, ...free]),
  );
  await deliver(warmSub, 1);

  await sc.write.subscribe([1, 0, false]);
  results["Coordinator.createSubscription"] = await gas(sc.write.subscribe([2, 60, false]));
  const recurring = Number((await w.coordinator.read.id()) - 1);
  results["Coordinator.requestCompute"] = await gas(cb.write.request([word(1), ETH, 0n, zeroAddress]));
  const callback = Number((await w.coordinator.read.id()) - 1);
  results["Coordinator.deliverCompute.callback"] = await gas(deliver(callback, 1));

  // An EOA-owned request: the callback costs nothing.
  const eoa = await w.createdId(
    await w.outsider.coordinator.write.createSubscription([MODEL, 1, 0, 1, false, ...free]),
  );
  results["Coordinator.deliverCompute.callbackEmpty"] = await gas(deliver(eoa, 1));

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

  // Paid callbacks (escrow locked at the request), recipients already holding tokens.
  const paid = async (token: `0x${string}`, verifier: `0x${string}` = zeroAddress) =>
    verifier === zeroAddress
      ? w.createdId(await cb.write.request([word(1), token, E(1), w.consumerWallet.address]))
      : w.createdId(
          await w.consumer.write.requestCompute([
            MODEL,
            word(1),
            1,
            token,
            E(1),
            w.consumerWallet.address,
            verifier,
          ]),
        );
  await deliver(await paid(w.erc20.address), 1);
  results["Coordinator.deliverCompute.erc20"] = await gas(deliver(await paid(w.erc20.address), 1));
  await deliver(await paid(w.token.address), 1);
  results["Coordinator.deliverCompute.stakingToken"] = await gas(deliver(await paid(w.token.address), 1));
  results["Coordinator.flushUsageFees"] = await gas(
    w.coordinator.write.flushUsageFees([a.address, a.address]),
  );
  results["Coordinator.requestCompute.erc20Escrow"] = await gas(
    cb.write.request([word(1), w.erc20.address, E(1), w.consumerWallet.address]),
  );

  // Optimistic (output) verifier: escrow + collateral, then the verdict.
  await w.optimistic.write.setFee([w.erc20.address, true, E("0.1")]);
  const v1 = await paid(w.erc20.address, w.optimistic.address);
  await deliver(v1, 1);
  await w.optimistic.write.settle([v1, 1, a.address, true]);
  const v2 = await paid(w.erc20.address, w.optimistic.address);
  results["Coordinator.deliverCompute.optimisticVerifier"] = await gas(deliver(v2, 1));
  results["Coordinator.finalizeProofVerification.valid"] = await gas(
    w.optimistic.write.settle([v2, 1, a.address, true]),
  );

  // Redundancy 2: commit, then reveal.
  const red = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 2, ...free]));
  const salt = word(99);
  results["Coordinator.commitCompute"] = await gas(
    a.coordinator.write.commitCompute([
      red,
      1,
      await w.coordinator.read.computeCommitment([red, 1, a.address, word(2), salt]),
    ]),
  );
  await B!.coordinator.write.commitCompute([
    red,
    1,
    await w.coordinator.read.computeCommitment([red, 1, B!.address, word(2), salt]),
  ]);
  results["Coordinator.revealCompute"] = await gas(
    a.coordinator.write.revealCompute([red, 1, word(1), word(2), "0x", a.nodeWallet.address, salt]),
  );

  // Delegated subscriptions: steady state (the consumer already has a delegated subscription).
  const base = {
    owner: getAddress(cb.address),
    activeAt: Number(await w.latest()),
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
  const expiry = Number(await w.latest()) + 3600;
  const s0 = await signDelegateSubscription(w, w.delegatee, 1, expiry, base);
  await a.coordinator.write.deliverComputeDelegatee([
    1,
    expiry,
    base,
    s0.v,
    s0.r,
    s0.s,
    1,
    word(1),
    word(2),
    "0x",
    zeroAddress,
  ]);
  const s1 = await signDelegateSubscription(w, w.delegatee, 2, expiry, base);
  results["EIP712Coordinator.deliverComputeDelegatee"] = await gas(
    a.coordinator.write.deliverComputeDelegatee([
      2,
      expiry,
      base,
      s1.v,
      s1.r,
      s1.s,
      1,
      word(1),
      word(2),
      "0x",
      zeroAddress,
    ]),
  );
  const s2 = await signDelegateSubscription(w, w.delegatee, 3, expiry, base);
  results["EIP712Coordinator.createSubscriptionDelegatee"] = await gas(
    w.outsider.coordinator.write.createSubscriptionDelegatee([3, expiry, base, s2.v, s2.r, s2.s]),
  );

  results["Coordinator.cancelSubscription"] = await gas(sc.write.cancel([lazy]));
  return results;
}
