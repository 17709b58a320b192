/**
 * Re-entrancy attempts on every value-moving path: consumer callbacks, verifiers, hook-bearing
 * payment tokens and ETH recipients call back into the coordinator and the wallets mid-transfer.
 * Each test fails on a coordinator without guards or with effects after interactions: the nested
 * call would deliver twice, settle twice or move escrow that is already spent.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeFunctionData, maxUint256, toFunctionSelector, zeroAddress, type Hex } from "viem";
import {
  E,
  deployInfernetWorld,
  ETH,
  MODEL,
  containerHash,
  intervalKey,
  nodeKey,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

const GUARD = toFunctionSelector("ReentrancyGuardReentrantCall()");
const PRICE = E(1);

describe("Infernet coordinator: re-entrancy", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { feeBps: 100 });
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const selectorOf = (data: Hex) => data.slice(0, 10);

  async function withHookToken(w: InfernetWorld) {
    const hook = await w.viem.deployContract("TestHookToken", [w.admin.address, E(1_000_000)]);
    await hook.write.transfer([w.consumerWallet.address, E(1000)]);
    for (const t of w.trainers) {
      await hook.write.transfer([t.nodeWallet.address, E(1000)]);
      await (await t.nodeWallet.as(t.wallet)).write.approve([t.address, hook.address, maxUint256]);
    }
    await w.approve(w.consumer.address, hook.address, maxUint256);
    await w.optimistic.write.setFee([hook.address, true, 0n]);
    return hook;
  }
  const request = (w: InfernetWorld, token: Hex, verifier: Hex = zeroAddress) =>
    w.consumer.write.requestCompute([MODEL, word(1), 1, token, PRICE, w.consumerWallet.address, verifier]);

  it("a consumer callback cannot re-enter deliverCompute, flushUsageFees or a second delivery", async () => {
    const w = await load();
    const [A] = w.trainers;
    const other = await w.createdId(await request(w, ETH));
    const id = await w.createdId(await request(w, ETH));
    for (const data of [
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "deliverCompute",
        args: [other, 1, "0x", word(1), "0x", A!.nodeWallet.address],
      }),
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "flushUsageFees",
        args: [A!.address, containerHash(MODEL)],
      }),
    ]) {
      const fresh = await w.createdId(await request(w, ETH));
      await w.consumer.write.setMode([3, w.coordinator.address, data]);
      await A!.coordinator.write.deliverCompute([fresh, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
      expect(await w.consumer.read.lastCallOk()).to.equal(false);
      expect(selectorOf(await w.consumer.read.lastCallReturn())).to.equal(GUARD);
    }
    expect(await w.coordinator.read.redundancyCount([intervalKey(other, 1)])).to.equal(0);
    expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(0);
  });

  it("a consumer cancelling or opening a request from its callback leaves the escrow accounting exact", async () => {
    const w = await load();
    const [A] = w.trainers;
    const id = await w.createdId(await request(w, ETH));
    await w.consumer.write.setMode([4, zeroAddress, "0x"]);
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect(await w.consumer.read.requestedInCallback()).to.not.equal(0);
    const pendingId = await w.createdId(await request(w, ETH));
    const cancel = encodeFunctionData({
      abi: w.coordinator.abi,
      functionName: "cancelSubscription",
      args: [pendingId],
    });
    await w.consumer.write.setMode([3, w.coordinator.address, cancel]);
    const id2 = await w.createdId(await request(w, ETH));
    await A!.coordinator.write.deliverCompute([id2, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    // the consumer owns pendingId, so its callback may cancel it: the escrow goes back at once
    expect(await w.consumer.read.lastCallOk()).to.equal(true);
    expect((await w.coordinator.read.getSubscription([pendingId])).activeAt).to.equal(2 ** 32 - 1);
    expect(await w.coordinator.read.escrowOf([pendingId])).to.equal(0n);
    // every wei of ETH the coordinator holds is some subscription's escrow
    let escrows = 0n;
    for (let i = 1; i < (await w.coordinator.read.id()); i++)
      escrows += await w.coordinator.read.escrowOf([i]);
    expect(await w.publicClient.getBalance({ address: w.coordinator.address })).to.equal(escrows);
  });

  it("a hook-bearing payment token cannot re-enter a delivery from inside its payment", async () => {
    const w = await load();
    const hook = await withHookToken(w);
    const [A, B] = w.trainers;
    const other = await w.createdId(await request(w, hook.address));
    const id = await w.createdId(await request(w, hook.address));
    await hook.write.arm([
      w.coordinator.address,
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "deliverCompute",
        args: [other, 1, "0x", word(1), "0x", B!.nodeWallet.address],
      }),
    ]);
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect(await hook.read.hookCalls()).to.equal(1n);
    expect(await hook.read.lastOk()).to.equal(false);
    expect(selectorOf(await hook.read.lastReturn())).to.equal(GUARD);
    expect(await w.coordinator.read.redundancyCount([intervalKey(other, 1)])).to.equal(0);
  });

  it("settlements cannot nest: a token re-entering finalizeProofVerification mid-payment is refused", async () => {
    const w = await load();
    const hook = await withHookToken(w);
    const [A, B] = w.trainers;
    const id1 = await w.createdId(await request(w, hook.address, w.optimistic.address));
    const id2 = await w.createdId(await request(w, hook.address, w.optimistic.address));
    await A!.coordinator.write.deliverCompute([id1, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    await B!.coordinator.write.deliverCompute([id2, 1, "0x", word(1), "0x", B!.nodeWallet.address]);
    await conn.networkHelpers.time.increase(7 * 86_400); // both expired: anyone may settle
    await hook.write.arm([
      w.coordinator.address,
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "finalizeProofVerification",
        args: [id2, 1, B!.address, true],
      }),
    ]);
    await w.outsider.coordinator.write.finalizeProofVerification([id1, 1, A!.address, true]);
    expect(await hook.read.lastOk()).to.equal(false);
    expect(selectorOf(await hook.read.lastReturn())).to.equal(toFunctionSelector("ReentrantSettlement()"));
    expect((await w.coordinator.read.proofRequests([nodeKey(id2, 1, B!.address)]))[0]).to.not.equal(0);
    await w.outsider.coordinator.write.finalizeProofVerification([id2, 1, B!.address, true]);
    expect(await hook.read.balanceOf([w.coordinator.address])).to.equal(0n);
  });

  it("a verifier cannot re-enter deliverCompute from requestProofVerification", async () => {
    const w = await load();
    const [A, B] = w.trainers;
    await w.optimistic.write.setFee([ETH, true, 0n]);
    const other = await w.createdId(await request(w, ETH));
    const id = await w.createdId(await request(w, ETH, w.optimistic.address));
    await w.optimistic.write.setMode([
      3,
      w.coordinator.address,
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "deliverCompute",
        args: [other, 1, "0x", word(1), "0x", B!.nodeWallet.address],
      }),
    ]);
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect(await w.optimistic.read.lastCallOk()).to.equal(false);
    expect(selectorOf(await w.optimistic.read.lastCallReturn())).to.equal(GUARD);
  });

  it("an ETH fee recipient re-entering the coordinator mid-transfer is refused", async () => {
    const w = await load();
    const [A] = w.trainers;
    const evil = await w.viem.deployContract("TestReentrantReceiver");
    await w.fee.write.setFee([100, evil.address]);
    const other = await w.createdId(await request(w, ETH));
    const id = await w.createdId(await request(w, ETH));
    await evil.write.arm([
      w.coordinator.address,
      encodeFunctionData({
        abi: w.coordinator.abi,
        functionName: "deliverCompute",
        args: [other, 1, "0x", word(1), "0x", A!.nodeWallet.address],
      }),
      false,
    ]);
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect(await evil.read.lastOk()).to.equal(false);
    expect(await w.coordinator.read.redundancyCount([intervalKey(other, 1)])).to.equal(0);
  });

  it("a wallet owner re-entering withdraw from its ETH receipt gets nothing more", async () => {
    const w = await load();
    const owner = await w.viem.deployContract("TestReentrantReceiver");
    const { result: walletAddress } = await w.walletFactory.simulate.createWallet([owner.address]);
    await w.walletFactory.write.createWallet([owner.address]);
    await w.admin.wallet.sendTransaction({ to: walletAddress, value: E(2) });
    const wallet = await w.viem.getContractAt("Wallet", walletAddress);
    const withdraw = encodeFunctionData({ abi: wallet.abi, functionName: "withdraw", args: [ETH, E(1)] });
    await owner.write.arm([walletAddress, withdraw, false]);
    await owner.write.execute([walletAddress, withdraw]);
    expect(await owner.read.lastOk()).to.equal(false);
    expect(selectorOf(await owner.read.lastReturn())).to.equal(GUARD);
    expect(await w.publicClient.getBalance({ address: walletAddress })).to.equal(E(1));
  });

  it("only the coordinator moves a wallet's funds", async () => {
    const w = await load();
    for (const data of [
      encodeFunctionData({
        abi: w.userWallet.abi,
        functionName: "cTransfer",
        args: [w.consumer.address, ETH, w.outsider.address, 1n],
      }),
      encodeFunctionData({
        abi: w.userWallet.abi,
        functionName: "cLock",
        args: [w.consumer.address, ETH, 1n],
      }),
      encodeFunctionData({
        abi: w.userWallet.abi,
        functionName: "cUnlock",
        args: [w.consumer.address, ETH, 1n],
      }),
      encodeFunctionData({
        abi: w.userWallet.abi,
        functionName: "cTryTransfer",
        args: [w.consumer.address, ETH, w.outsider.address, 1n],
      }),
      encodeFunctionData({
        abi: w.userWallet.abi,
        functionName: "cRefund",
        args: [w.consumer.address, ETH, 0n],
      }),
    ]) {
      await conn.viem.assertions.revertWithCustomError(
        w.outsider.wallet.sendTransaction({ to: w.consumerWallet.address, data }),
        w.userWallet,
        "NotCoordinator",
      );
    }
  });
});
