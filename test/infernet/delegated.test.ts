/**
 * EIP712Coordinator: subscriptions signed off-chain by a consumer's delegated signer (an EOA or an
 * ERC-1271 contract), created by anyone or atomically with a node's delivery; nonces, replay, expiry.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, zeroAddress } from "viem";
import {
  E,
  containerHash,
  deployInfernetWorld,
  ETH,
  MODEL,
  intervalKey,
  nodeKey,
  revertsWith,
  signDelegateSubscription,
  word,
  type Connection,
  type InfernetWorld,
  type SubscriptionArg,
} from "./helpers/world.js";

describe("Infernet EIP712Coordinator: delegated subscriptions", function () {
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

  const subFor = async (
    w: InfernetWorld,
    patch: Partial<SubscriptionArg> = {},
  ): Promise<SubscriptionArg> => ({
    owner: getAddress(w.consumer.address),
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
    ...patch,
  });

  it("creates the signed subscription once per (owner, nonce): a replay returns the same id", async () => {
    const w = await load();
    const sub = await subFor(w, { paymentAmount: E(1), wallet: w.consumerWallet.address });
    const expiry = Number(await w.latest()) + 600;
    const { v, r, s } = await signDelegateSubscription(w, w.delegatee, 5, expiry, sub);
    expect(await w.coordinator.read.delegateSubscriptionDigest([5, expiry, sub])).to.not.equal("0x");
    const { result: id } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
      5,
      expiry,
      sub,
      v,
      r,
      s,
    ]);
    await w.outsider.coordinator.write.createSubscriptionDelegatee([5, expiry, sub, v, r, s]);
    const stored = await w.coordinator.read.getSubscription([id]);
    expect(stored).to.deep.equal({ ...sub, verifier: zeroAddress });
    expect(await w.coordinator.read.escrowOf([id])).to.equal(E(1));
    expect(await w.coordinator.read.maxSubscriberNonce([w.consumer.address])).to.equal(5);
    const next = await w.coordinator.read.id();
    const { result: again } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
      5,
      expiry,
      sub,
      v,
      r,
      s,
    ]);
    await w.outsider.coordinator.write.createSubscriptionDelegatee([5, expiry, sub, v, r, s]);
    expect(again).to.equal(id);
    expect(await w.coordinator.read.id()).to.equal(next);
    // a replay stays the same subscription even after the signer changed
    await w.consumer.write.setSigner([w.outsider.address]);
    const { result: third } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
      5,
      expiry,
      sub,
      v,
      r,
      s,
    ]);
    expect(third).to.equal(id);
  });

  it("refuses an expired signature and one not from the owner's signer", async () => {
    const w = await load();
    const sub = await subFor(w);
    const now = Number(await w.latest());
    const expired = await signDelegateSubscription(w, w.delegatee, 1, now + 10, sub);
    await conn.networkHelpers.time.setNextBlockTimestamp(now + 10);
    await revert(
      w.outsider.coordinator.write.createSubscriptionDelegatee([
        1,
        now + 10,
        sub,
        expired.v,
        expired.r,
        expired.s,
      ]),
      w.coordinator,
      "SignatureExpired",
    );
    const forged = await signDelegateSubscription(w, w.outsider.wallet, 2, now + 600, sub);
    await revert(
      w.outsider.coordinator.write.createSubscriptionDelegatee([
        2,
        now + 600,
        sub,
        forged.v,
        forged.r,
        forged.s,
      ]),
      w.coordinator,
      "SignerMismatch",
    );
    // a signature over other terms does not create the tampered subscription
    const good = await signDelegateSubscription(w, w.delegatee, 3, now + 600, sub);
    await revert(
      w.outsider.coordinator.write.createSubscriptionDelegatee([
        3,
        now + 600,
        { ...sub, redundancy: 2 },
        good.v,
        good.r,
        good.s,
      ]),
      w.coordinator,
      "SignerMismatch",
    );
    // a signature that recovers to no address is Infernet's (its ECDSA library's) InvalidSignature
    await revert(
      w.outsider.coordinator.write.createSubscriptionDelegatee([4, now + 600, sub, 29, good.r, good.s]),
      w.coordinator,
      "InvalidSignature",
    );
  });

  it("accepts a contract signer through ERC-1271", async () => {
    const w = await load();
    const signer = await w.viem.deployContract("TestERC1271Signer", [w.delegatee.account.address]);
    await w.consumer.write.setSigner([signer.address]);
    const sub = await subFor(w);
    const expiry = Number(await w.latest()) + 600;
    const { v, r, s } = await signDelegateSubscription(w, w.delegatee, 9, expiry, sub);
    await w.outsider.coordinator.write.createSubscriptionDelegatee([9, expiry, sub, v, r, s]);
    expect(
      await w.coordinator.read.delegateCreatedIds([
        (await import("viem")).keccak256(
          (await import("viem")).encodeAbiParameters(
            [{ type: "address" }, { type: "uint32" }],
            [sub.owner, 9],
          ),
        ),
      ]),
    ).to.not.equal(0);
  });

  it("creates and delivers atomically, and delivers into the existing subscription afterwards", async () => {
    const w = await load();
    const sub = await subFor(w, { frequency: 2, period: 60, activeAt: Number(await w.latest()) });
    const expiry = Number(await w.latest()) + 3600;
    const { v, r, s } = await signDelegateSubscription(w, w.delegatee, 1, expiry, sub);
    const [A, B] = w.trainers;
    await A!.coordinator.write.deliverComputeDelegatee([
      1,
      expiry,
      sub,
      v,
      r,
      s,
      1,
      "0x",
      word(11),
      "0x",
      A!.nodeWallet.address,
    ]);
    expect(await w.consumer.read.lastOutputWord()).to.equal(word(11));
    const id = (await w.coordinator.read.id()) - 1;
    expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(1);
    expect(await w.coordinator.read.nodeResponded([nodeKey(id, 1, A!.address)])).to.equal(true);
    await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt + 60);
    await B!.coordinator.write.deliverComputeDelegatee([
      1,
      expiry,
      sub,
      v,
      r,
      s,
      2,
      "0x",
      word(12),
      "0x",
      B!.nodeWallet.address,
    ]);
    expect(await w.coordinator.read.id()).to.equal(id + 1);
    expect(await w.consumer.read.lastOutputWord()).to.equal(word(12));
    // only active trainers, also on the atomic path: nothing is created when the delivery is refused
    const sig2 = await signDelegateSubscription(w, w.delegatee, 2, expiry, sub);
    await revert(
      w.outsider.coordinator.write.deliverComputeDelegatee([
        2,
        expiry,
        sub,
        sig2.v,
        sig2.r,
        sig2.s,
        2,
        "0x",
        word(1),
        "0x",
        zeroAddress,
      ]),
      w.coordinator,
      "NodeNotActiveTrainer",
      [w.outsider.address],
    );
    expect(await w.coordinator.read.id()).to.equal(id + 1);
  });

  it("delivers a redundant delegated subscription with plain deliveries from two nodes", async () => {
    const w = await load();
    const sub = await subFor(w, { redundancy: 2 });
    const expiry = Number(await w.latest()) + 3600;
    const { v, r, s } = await signDelegateSubscription(w, w.delegatee, 1, expiry, sub);
    const [A, B, C] = w.trainers;
    for (const node of [A!, B!]) {
      await node.coordinator.write.deliverComputeDelegatee([
        1,
        expiry,
        sub,
        v,
        r,
        s,
        1,
        "0x",
        word(3),
        "0x",
        node.nodeWallet.address,
      ]);
    }
    const id = (await w.coordinator.read.id()) - 1;
    expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(2);
    await revert(
      C!.coordinator.write.deliverComputeDelegatee([
        1,
        expiry,
        sub,
        v,
        r,
        s,
        1,
        "0x",
        word(3),
        "0x",
        zeroAddress,
      ]),
      w.coordinator,
      "IntervalCompleted",
    );
  });
});
