/** The example dApps a developer would copy: a classifier (callback) and a recurring predictor. */
import { expect } from "chai";
import { network } from "hardhat";
import { bytesToHex, getAddress, maxUint256, zeroAddress } from "viem";
import { encodeInferenceOutput } from "../../sdk/src/compute/index.js";
import { E, deployInfernetWorld, MODEL, type Connection, type InfernetWorld } from "./helpers/world.js";

describe("Infernet example consumers", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  /** The PoAI model output format (label, then one score per class) with `n` as the label of 4 classes. */
  const label = (n: bigint) =>
    encodeInferenceOutput({
      label: Number(n),
      output: Int8Array.from([0, 1, 2, 3].map((c) => (c === Number(n) ? 90 : -20))),
    });

  it("ClassifierConsumer pays per request in the staking token and stores the first answer", async () => {
    const w = await load();
    const app = await w.viem.deployContract("ClassifierConsumer", [
      w.coordinator.address,
      MODEL,
      w.admin.address,
    ]);
    await w.approve(app.address, w.token.address, maxUint256);
    await app.write.setPayment([w.token.address, E(2), w.consumerWallet.address, zeroAddress]);
    const input = bytesToHex(Uint8Array.from([1, -2, 3, 4, 5, 6, 7, 8].map((x) => x & 0xff)));
    const asUser = await w.viem.getContractAt("ClassifierConsumer", app.address, {
      client: { wallet: w.user.wallet },
    });
    const { result: id } = await asUser.simulate.classify([input]);
    await asUser.write.classify([input]);
    expect(await app.read.requester([id])).to.equal(w.user.address);
    expect(await app.read.getContainerInputs([id, 1, 0, zeroAddress])).to.equal(input);
    expect(await w.coordinator.read.escrowOf([id])).to.equal(E(2));
    const [A] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, input, label(3n), "0x", zeroAddress]);
    const [answered, value, node] = await app.read.answers([id]);
    expect([answered, value, getAddress(node)]).to.deep.equal([true, 3, A!.address]);
    expect(await w.coordinator.read.pendingUsageFees([A!.address, A!.address])).to.equal(E(2));
  });

  it("RecurringPredictor asks every period, keeps each interval's prediction, and stops with its escrow back", async () => {
    const w = await load();
    const app = await w.viem.deployContract("RecurringPredictor", [
      w.coordinator.address,
      MODEL,
      w.admin.address,
    ]);
    await w.approve(app.address, w.erc20.address, maxUint256);
    const features = Uint8Array.from([1, 2, 3, -4 & 0xff, 5]);
    await app.write.setFeatures([bytesToHex(features)]);
    await app.write.start([5, 60, w.erc20.address, E(1), w.consumerWallet.address, zeroAddress]);
    const id = await app.read.subscriptionId();
    const sub = await w.coordinator.read.getSubscription([id]);
    // Interval 2's input: the features rotated left by 2.
    expect(await app.read.getContainerInputs([id, 2, 0, zeroAddress])).to.equal(
      bytesToHex(Uint8Array.from([3, -4 & 0xff, 5, 1, 2])),
    );
    const [A, B] = w.trainers;
    for (const [i, T] of [A!, B!].entries()) {
      await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt + i * 60);
      await T.coordinator.write.deliverCompute([
        id,
        i + 1,
        "0x",
        label(BigInt(i)),
        "0x",
        T.nodeWallet.address,
      ]);
      expect(await app.read.predictions([i + 1])).to.equal(label(BigInt(i)));
    }
    expect(await app.read.lastInterval()).to.equal(2);
    expect(await w.coordinator.read.escrowOf([id])).to.equal(E(1));
    await app.write.stop();
    expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
    expect(await w.consumerWallet.read.lockedBalanceOf([app.address, w.erc20.address])).to.equal(0n);
    await conn.viem.assertions.revertWithCustomError(app.write.stop(), app, "NotStarted");
  });
});
