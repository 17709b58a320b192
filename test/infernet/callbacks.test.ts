/**
 * Callbacks, recurring intervals, redundancy, the lazy Inbox, cancellation and who may deliver:
 * Infernet v1.1.0's semantics, and PoAI's rule that only active trainers deliver.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs, zeroAddress } from "viem";
import {
  DAY,
  E,
  containerHash,
  deployInfernetWorld,
  ETH,
  MODEL,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

describe("Infernet coordinator: callbacks, intervals, inbox", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const revert = (p: Promise<unknown>, c: { abi: readonly unknown[] }, name: string, args: unknown[]) =>
    conn.viem.assertions.revertWithCustomErrorWithArgs(p, c as never, name, args);
  const free = [ETH, 0n, zeroAddress, zeroAddress] as const;

  it("delivers a free callback request to the consumer and counts the interval", async () => {
    const w = await load();
    await w.consumer.write.setRecord([true]);
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(7), 1, ...free]));
    expect(await w.consumer.read.getContainerInputs([id, 1, 0, zeroAddress])).to.equal(word(7));
    const sub = await w.coordinator.read.getSubscription([id]);
    expect(sub.owner).to.equal(getAddress(w.consumer.address));
    expect([sub.frequency, sub.period, sub.redundancy, sub.lazy]).to.deep.equal([1, 0, 1, false]);
    expect(sub.containerId).to.equal(containerHash(MODEL));
    expect(sub.activeAt).to.equal(Number(await w.latest()));
    const [T] = w.trainers;
    const tx = await T!.coordinator.write.deliverCompute([
      id,
      1,
      word(7),
      word(3),
      "0x01",
      T!.nodeWallet.address,
    ]);
    const logs = parseEventLogs({ abi: w.coordinator.abi, logs: (await w.receipt(tx)).logs });
    const fulfilled = logs.find((l) => l.eventName === "SubscriptionFulfilled");
    expect(fulfilled?.args).to.deep.equal({ id, node: T!.address });
    expect(await w.consumer.read.lastOutputWord()).to.equal(word(3));
    expect(await w.consumer.read.lastInput()).to.equal(word(7));
    expect(await w.consumer.read.lastProof()).to.equal("0x01");
    expect(await w.consumer.read.lastNode()).to.equal(T!.address);
    expect(await w.consumer.read.lastRedundancy()).to.equal(1);
    expect(await w.consumer.read.lastContainerId()).to.equal(`0x${"0".repeat(64)}`);
    expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(1);
    expect(await w.coordinator.read.nodeResponded([id, 1, T!.address])).to.equal(true);
    expect(await w.coordinator.read.nodeResponded([id, 1, w.trainers[1]!.address])).to.equal(false);
  });

  it("accepts one delivery per interval at redundancy 1 and refuses the next node", async () => {
    const w = await load();
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
    const [A, B] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    await revert(
      B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]),
      w.coordinator,
      "IntervalCompleted",
      [id, 1, 1],
    );
    await revert(
      A!.coordinator.write.deliverCompute([id, 2, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "IntervalMismatch",
      [id, 2, 1],
    );
    await revert(
      A!.coordinator.write.deliverCompute([999, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionNotFound",
      [999],
    );
  });

  it("refuses deliveries from validators, unregistered accounts and jailed trainers, naming the node", async () => {
    const w = await load();
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
    for (const who of [w.validator, w.outsider]) {
      await revert(
        who.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]),
        w.coordinator,
        "NodeNotActiveTrainer",
        [who.address],
      );
    }
    const [A] = w.trainers;
    await w.staking.write.slash([A!.address, E("0.01"), [], true]);
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "NodeNotActiveTrainer",
      [A!.address],
    );
    await revert(
      A!.inbox.write.write([containerHash(MODEL), "0x", word(1), "0x"]),
      w.inbox,
      "NodeNotActiveTrainer",
      [A!.address],
    );
  });

  it("runs a recurring subscription interval by interval, once per node, until its frequency", async () => {
    const w = await load();
    await w.subConsumer.write.setRecord([true]);
    const period = 60;
    const id = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, 3, period, 1, false, ...free]),
    );
    const sub = await w.coordinator.read.getSubscription([id]);
    const [A, B] = w.trainers;
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionNotActive",
      [id, sub.activeAt],
    );
    for (let interval = 1; interval <= 3; interval++) {
      await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt + (interval - 1) * period);
      expect(await w.subConsumer.read.getContainerInputs([id, interval, 0, zeroAddress])).to.not.equal("0x");
      const node = interval % 2 === 1 ? A! : B!;
      await node.coordinator.write.deliverCompute([
        id,
        interval,
        "0x",
        word(interval),
        "0x",
        node.nodeWallet.address,
      ]);
      expect(await w.subConsumer.read.lastInterval()).to.equal(interval);
      expect(await w.subConsumer.read.lastOutputWord()).to.equal(word(interval));
      expect(await w.coordinator.read.getSubscriptionInterval([sub.activeAt, period])).to.equal(interval);
    }
    await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt + 3 * period);
    await revert(
      A!.coordinator.write.deliverCompute([id, 4, "0x", word(4), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionCompleted",
      [id, 4, 3],
    );
    expect(await w.subConsumer.read.received()).to.equal(3n);
  });

  it("stores lazy outputs in the Inbox and hands the consumer a pointer it can read back", async () => {
    const w = await load();
    await w.subConsumer.write.setRecord([true]);
    const id = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, 2, 0, 1, true, ...free]),
    );
    const [A] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, word(5), word(6), "0xbeef", A!.nodeWallet.address]);
    expect(await w.subConsumer.read.lastContainerId()).to.equal(containerHash(MODEL));
    expect(await w.subConsumer.read.lastIndex()).to.equal(0n);
    expect(await w.subConsumer.read.lastInput()).to.equal("0x");
    expect(await w.subConsumer.read.lastOutputWord()).to.equal(`0x${"0".repeat(64)}`);
    const item = await w.inbox.read.read([containerHash(MODEL), A!.address, 0n]);
    expect([item.subscriptionId, item.interval, item.input, item.output, item.proof]).to.deep.equal([
      id,
      1,
      word(5),
      word(6),
      "0xbeef",
    ]);
    expect(item.timestamp).to.equal(Number(await w.latest()));
    // a node may write a response outside any subscription
    await A!.inbox.write.write([containerHash(MODEL), "0x", word(9), "0x"]);
    expect(await w.inbox.read.count([containerHash(MODEL), A!.address])).to.equal(2n);
    const free2 = await w.inbox.read.read([containerHash(MODEL), A!.address, 1n]);
    expect([free2.subscriptionId, free2.interval, free2.output]).to.deep.equal([0, 0, word(9)]);
    await revert(w.inbox.read.read([containerHash(MODEL), A!.address, 2n]), w.inbox, "InboxItemNotFound", [
      containerHash(MODEL),
      A!.address,
      2n,
    ]);
    await revert(
      A!.inbox.write.writeViaCoordinator([containerHash(MODEL), A!.address, id, 1, "0x", "0x", "0x"]),
      w.inbox,
      "NotCoordinator",
      [A!.address],
    );
  });

  it("stops deliveries once the owner cancels, and only the owner may cancel", async () => {
    const w = await load();
    const id = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, 5, 0, 1, false, ...free]),
    );
    await revert(
      w.outsider.coordinator.write.cancelSubscription([id]),
      w.coordinator,
      "NotSubscriptionOwner",
      [id, w.outsider.address, getAddress(w.subConsumer.address)],
    );
    // A consumer cancelling a subscription it does not own gets the coordinator's error unchanged.
    await revert(
      w.subConsumer.write.cancelComputeSubscription([id + 1000]),
      w.coordinator,
      "NotSubscriptionOwner",
      [id + 1000, getAddress(w.subConsumer.address), zeroAddress],
    );
    await w.subConsumer.write.cancelComputeSubscription([id]);
    expect((await w.coordinator.read.getSubscription([id])).activeAt).to.equal(2 ** 32 - 1);
    const [A] = w.trainers;
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionNotActive",
      [id, 2 ** 32 - 1],
    );
  });

  it("refuses rawReceiveCompute from anyone but the coordinator", async () => {
    const w = await load();
    await revert(
      w.consumer.write.rawReceiveCompute([1, 1, 1, w.outsider.address, "0x", "0x", "0x", word(0), 0n], {
        account: w.outsider.wallet.account,
      }),
      w.consumer,
      "NotCoordinator",
      [w.outsider.address],
    );
  });

  it("rejects subscriptions without frequency or redundancy, and paid ones without a factory wallet", async () => {
    const w = await load();
    await revert(
      w.subConsumer.write.createComputeSubscription([MODEL, 0, 0, 1, false, ...free]),
      w.coordinator,
      "InvalidSubscription",
      ["frequency", 0n],
    );
    await revert(
      w.subConsumer.write.createComputeSubscription([MODEL, 1, 0, 0, false, ...free]),
      w.coordinator,
      "InvalidSubscription",
      ["redundancy", 0n],
    );
    await revert(
      w.subConsumer.write.createComputeSubscription([
        MODEL,
        1,
        0,
        1,
        false,
        ETH,
        E(1),
        w.outsider.address,
        zeroAddress,
      ]),
      w.coordinator,
      "InvalidWallet",
      [w.outsider.address],
    );
  });

  it("records usage per model, node and epoch for every accepted delivery", async () => {
    const w = await load();
    const [A, B] = w.trainers;
    const epoch = await w.coordinator.read.currentEpoch();
    expect(epoch).to.equal(await w.staking.read.currentEpoch());
    for (const node of [A!, B!, A!]) {
      const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
      await node.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", node.nodeWallet.address]);
    }
    expect(await w.coordinator.read.usage([containerHash(MODEL), epoch])).to.deep.equal([3n, 0n]);
    expect(await w.coordinator.read.nodeUsage([A!.address, epoch])).to.deep.equal([2n, 0n]);
    expect(await w.coordinator.read.nodeUsage([B!.address, epoch])).to.deep.equal([1n, 0n]);
    await conn.networkHelpers.time.increase(DAY);
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
    await B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]);
    expect(await w.coordinator.read.usage([containerHash(MODEL), epoch + 1n])).to.deep.equal([1n, 0n]);
    expect(await w.coordinator.read.usage([containerHash(MODEL), epoch])).to.deep.equal([3n, 0n]);
  });
});
