import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs, zeroAddress } from "viem";
import { containerHash, deployInfernetWorld, ETH, MODEL, word, type Connection } from "./helpers/world.js";

describe("Infernet coordinator: callbacks", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => ReturnType<typeof deployInfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);

  it("delivers a free callback request to the consumer and counts the interval", async () => {
    const w = await load();
    await w.consumer.write.setRecord([true]);
    const hash = await w.consumer.write.requestCompute([
      MODEL,
      word(7),
      1,
      ETH,
      0n,
      zeroAddress,
      zeroAddress,
    ]);
    const id = await w.createdId(hash);
    expect(await w.consumer.read.getContainerInputs([id, 1, 0, zeroAddress])).to.equal(word(7));
    const sub = await w.coordinator.read.getSubscription([id]);
    expect(sub.owner).to.equal(getAddress(w.consumer.address));
    expect(sub.frequency).to.equal(1);
    expect(sub.period).to.equal(0);
    expect(sub.containerId).to.equal(containerHash(MODEL));
    const [T] = w.trainers;
    const tx = await T!.coordinator.write.deliverCompute([
      id,
      1,
      word(7),
      word(3),
      "0x",
      T!.nodeWallet.address,
    ]);
    const logs = parseEventLogs({ abi: w.coordinator.abi, logs: (await w.receipt(tx)).logs });
    expect(logs.map((l) => l.eventName)).to.include("SubscriptionFulfilled");
    expect(await w.consumer.read.lastOutputWord()).to.equal(word(3));
    expect(await w.consumer.read.lastNode()).to.equal(T!.address);
    expect(await w.consumer.read.lastRedundancy()).to.equal(1);
    expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(1);
    expect(await w.coordinator.read.nodeResponded([id, 1, T!.address])).to.equal(true);
  });
});
