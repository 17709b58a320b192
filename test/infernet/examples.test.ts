/**
 * The example dApps a developer would copy: a classifier (callback) and a recurring predictor.
 * Each has the access control a production dApp needs, and an outsider is refused everything that
 * spends the dApp's wallet or changes what it asks.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { bytesToHex, getAddress, maxUint256, zeroAddress } from "viem";
import { encodeInferenceOutput } from "../../sdk/src/compute/index.js";
import {
  E,
  containerHash,
  deployInfernetWorld,
  MODEL,
  revertsWith,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

describe("Infernet example consumers", function () {
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
  /** The PoAI model output format (label, then one score per class) with `n` as the label of 4 classes. */
  const label = (n: bigint) =>
    encodeInferenceOutput({
      label: Number(n),
      output: Int8Array.from([0, 1, 2, 3].map((c) => (c === Number(n) ? 90 : -20))),
    });
  const input = bytesToHex(Uint8Array.from([1, -2, 3, 4, 5, 6, 7, 8].map((x) => x & 0xff)));

  async function classifier(w: InfernetWorld) {
    const app = await w.viem.deployContract("ClassifierConsumer", [
      w.registry.address,
      MODEL,
      w.admin.address,
    ]);
    await w.approve(app.address, w.token.address, maxUint256);
    await app.write.setPayment([w.token.address, E(2), w.consumerWallet.address, zeroAddress]);
    const as = (who: InfernetWorld["user"]) =>
      w.viem.getContractAt("ClassifierConsumer", app.address, { client: { wallet: who.wallet } });
    return { app, as };
  }

  it("ClassifierConsumer pays per request in the staking token and stores the first answer", async () => {
    const w = await load();
    const { app, as } = await classifier(w);
    await app.write.setRequester([w.user.address, true]);
    const asUser = await as(w.user);
    const { result: id } = await asUser.simulate.classify([input]);
    await asUser.write.classify([input]);
    expect(await app.read.requester([id])).to.equal(w.user.address);
    expect(await app.read.getContainerInputs([id, 1, 0, zeroAddress])).to.equal(input);
    expect(await w.coordinator.read.escrowOf([id])).to.equal(E(2));
    const [A] = w.trainers;
    await A!.coordinator.write.deliverCompute([id, 1, input, label(3n), "0x", A!.nodeWallet.address]);
    const [answered, value, node] = await app.read.answers([id]);
    expect([answered, value, getAddress(node)]).to.deep.equal([true, 3, A!.address]);
    expect((await w.coordinator.read.usageOf([A!.address, containerHash(MODEL)])).pendingFees).to.equal(E(2));
  });

  it("ClassifierConsumer refuses an outsider's request, so nobody but its requesters spends the dApp's wallet", async () => {
    // Naive code let anyone call classify: every call a paid request out of the dApp's wallet.
    const w = await load();
    const { app, as } = await classifier(w);
    const outsider = await as(w.outsider);
    const before = await w.coordinator.read.id();
    await revert(outsider.write.classify([input]), app, "NotRequester", [w.outsider.address]);
    expect(await w.coordinator.read.id()).to.equal(before);
    await revert(
      outsider.write.setPayment([w.token.address, 0n, w.consumerWallet.address, zeroAddress]),
      app,
      "OwnableUnauthorizedAccount",
      [w.outsider.address],
    );
    await revert(outsider.write.setRequester([w.outsider.address, true]), app, "OwnableUnauthorizedAccount", [
      w.outsider.address,
    ]);
    // a requester the owner removes is refused again; the owner may always request
    await app.write.setRequester([w.user.address, true]);
    await (await as(w.user)).write.classify([input]);
    await app.write.setRequester([w.user.address, false]);
    await revert((await as(w.user)).write.classify([input]), app, "NotRequester", [w.user.address]);
    await app.write.classify([input]);
    // and only the coordinator delivers answers
    await revert(
      outsider.write.rawReceiveCompute([1, 1, 1, w.outsider.address, "0x", label(1n), "0x", word(0), 0n]),
      app,
      "NotCoordinator",
    );
  });

  it("RecurringPredictor asks every period, keeps each interval's prediction, and stops with its escrow back", async () => {
    const w = await load();
    const app = await w.viem.deployContract("RecurringPredictor", [
      w.registry.address,
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
    const walletBefore = await w.erc20.read.balanceOf([w.consumerWallet.address]);
    await app.write.stop();
    expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
    expect((await w.erc20.read.balanceOf([w.consumerWallet.address])) - walletBefore).to.equal(E(1));
    await conn.viem.assertions.revertWithCustomError(app.write.stop(), app, "NotStarted");
  });

  it("RecurringPredictor refuses an outsider: it cannot start, stop or re-aim the subscription", async () => {
    const w = await load();
    const app = await w.viem.deployContract("RecurringPredictor", [
      w.registry.address,
      MODEL,
      w.admin.address,
    ]);
    const outsider = await w.viem.getContractAt("RecurringPredictor", app.address, {
      client: { wallet: w.outsider.wallet },
    });
    const denied = [w.outsider.address];
    await revert(
      outsider.write.start([5, 60, w.erc20.address, E(1), w.consumerWallet.address, zeroAddress]),
      app,
      "OwnableUnauthorizedAccount",
      denied,
    );
    await revert(outsider.write.setFeatures(["0x01"]), app, "OwnableUnauthorizedAccount", denied);
    await app.write.start([5, 60, w.erc20.address, 0n, w.consumerWallet.address, zeroAddress]);
    await revert(outsider.write.stop(), app, "OwnableUnauthorizedAccount", denied);
    await revert(
      outsider.write.rawReceiveCompute([1, 1, 1, w.outsider.address, "0x", "0x01", "0x", word(0), 0n]),
      app,
      "NotCoordinator",
    );
  });
});
