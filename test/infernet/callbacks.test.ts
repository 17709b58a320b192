/**
 * Callbacks, recurring intervals, redundancy, the lazy Inbox, cancellation and who may deliver:
 * Infernet v1.1.0's semantics (its errors, reads and events), and PoAI's rule that only active
 * trainers deliver.
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
  intervalKey,
  nodeKey,
  revertsWith,
  UINT32_MAX,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

describe("Infernet coordinator: callbacks, intervals, inbox", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  let revert: ReturnType<typeof revertsWith>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn);
    revert = revertsWith(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const free = [ETH, 0n, zeroAddress, zeroAddress] as const;

  it("delivers a free callback request to the consumer and counts the interval in Infernet's reads", async () => {
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
    expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(1);
    expect(await w.coordinator.read.nodeResponded([nodeKey(id, 1, T!.address)])).to.equal(true);
    expect(await w.coordinator.read.nodeResponded([nodeKey(id, 1, w.trainers[1]!.address)])).to.equal(false);
    expect(await w.reader.read.readRedundancyCountBatch([[id], [1]])).to.deep.equal([1]);
    expect(await w.reader.read.readNodeRespondedBatch([[id, id], [1, 2], T!.address])).to.deep.equal([
      true,
      false,
    ]);
  });

  it("accepts one delivery per interval at redundancy 1 and refuses the next node with Infernet's errors", async () => {
    const w = await load();
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
    const [A, B] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    await revert(
      B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]),
      w.coordinator,
      "IntervalCompleted",
    );
    await revert(
      A!.coordinator.write.deliverCompute([id, 2, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "IntervalMismatch",
    );
    await revert(
      A!.coordinator.write.deliverCompute([999, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionNotFound",
    );
  });

  it("serves redundancy with plain deliverCompute, one delivery per node, as Infernet does", async () => {
    const w = await load();
    await w.consumer.write.setRecord([true]);
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 2, ...free]));
    const [A, B, C] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect(await w.consumer.read.lastRedundancy()).to.equal(1);
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "NodeRespondedAlready",
    );
    await B!.coordinator.write.deliverCompute([id, 1, "0x", word(2), "0x", B!.nodeWallet.address]);
    expect(await w.consumer.read.lastRedundancy()).to.equal(2);
    expect(await w.consumer.read.lastNode()).to.equal(B!.address);
    await revert(
      C!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", C!.nodeWallet.address]),
      w.coordinator,
      "IntervalCompleted",
    );
    expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(2);
    // Commit-reveal is the opt-in: a plain subscription takes no commitment.
    await revert(C!.coordinator.write.commitCompute([id, 1, word(9)]), w.coordinator, "CommitNotRequired", [
      id,
    ]);
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
    );
    // A consumer cancelling a subscription it does not own gets the coordinator's error unchanged.
    await revert(
      w.subConsumer.write.cancelComputeSubscription([id + 1000]),
      w.coordinator,
      "NotSubscriptionOwner",
    );
    await w.subConsumer.write.cancelComputeSubscription([id]);
    expect((await w.coordinator.read.getSubscription([id])).activeAt).to.equal(UINT32_MAX);
    // Cancelling again is harmless and announced again, as in Infernet.
    await w.subConsumer.write.cancelComputeSubscription([id]);
    const [A] = w.trainers;
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "SubscriptionNotActive",
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
    );
  });

  it("creates what Infernet creates and refuses it at delivery: no frequency, no redundancy, a foreign wallet", async () => {
    const w = await load();
    const [A] = w.trainers;
    const zeroFrequency = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, 0, 0, 1, false, ...free]),
    );
    await revert(
      A!.coordinator.write.deliverCompute([zeroFrequency, 1, "0x", word(1), "0x", zeroAddress]),
      w.coordinator,
      "SubscriptionCompleted",
    );
    const zeroRedundancy = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, 1, 0, 0, false, ...free]),
    );
    await revert(
      A!.coordinator.write.deliverCompute([zeroRedundancy, 1, "0x", word(1), "0x", zeroAddress]),
      w.coordinator,
      "IntervalCompleted",
    );
    const foreign = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([
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
    );
    expect(await w.coordinator.read.escrowOf([foreign])).to.equal(0n);
    await revert(
      A!.coordinator.write.deliverCompute([foreign, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      w.coordinator,
      "InvalidWallet",
    );
    // Each stored exactly as created (a free subscription keeps its token and wallet too).
    const withWallet = await w.createdId(
      await w.subConsumer.write.createComputeSubscription([
        MODEL,
        3,
        60,
        2,
        true,
        w.erc20.address,
        0n,
        w.consumerWallet.address,
        w.optimistic.address,
      ]),
    );
    const s = await w.coordinator.read.getSubscription([withWallet]);
    expect([s.frequency, s.period, s.redundancy, s.lazy, s.paymentAmount]).to.deep.equal([
      3,
      60,
      2,
      true,
      0n,
    ]);
    expect([s.paymentToken, s.wallet, s.verifier]).to.deep.equal([
      getAddress(w.erc20.address),
      w.consumerWallet.address,
      getAddress(w.optimistic.address),
    ]);
    expect((await w.coordinator.read.getSubscription([zeroRedundancy])).redundancy).to.equal(0);
  });

  it("records each node's use of each model per epoch in one record, the latest epoch kept", async () => {
    const w = await load();
    const [A, B] = w.trainers;
    const epoch = await w.coordinator.read.currentEpoch();
    expect(epoch).to.equal(await w.staking.read.currentEpoch());
    for (const node of [A!, B!, A!]) {
      const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
      await node.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", node.nodeWallet.address]);
    }
    const model = containerHash(MODEL);
    const usage = async (node: { address: `0x${string}` }) => {
      const u = await w.coordinator.read.usageOf([node.address, model]);
      return [BigInt(u.epoch), u.deliveries, u.pendingFees];
    };
    expect(await usage(A!)).to.deep.equal([epoch, 2, 0n]);
    expect(await usage(B!)).to.deep.equal([epoch, 1, 0n]);
    expect(await w.coordinator.read.deliveriesIn([A!.address, model, epoch])).to.equal(2n);
    await conn.networkHelpers.time.increase(DAY);
    const id = await w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), 1, ...free]));
    await B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]);
    expect(await usage(B!)).to.deep.equal([epoch + 1n, 1, 0n]);
    expect(await w.coordinator.read.deliveriesIn([B!.address, model, epoch + 1n])).to.equal(1n);
    expect(await w.coordinator.read.deliveriesIn([B!.address, model, epoch])).to.equal(0n);
    expect(await w.coordinator.read.deliveriesIn([A!.address, model, epoch])).to.equal(2n);
  });
});
