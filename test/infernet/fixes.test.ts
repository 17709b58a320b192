/**
 * The weaknesses Infernet's audits left open, each with the attack and why Infernet's naive
 * behaviour would fail the test:
 *  (a) a consumer empties its wallet between the request and the delivery (Infernet pays at
 *      delivery from whatever the wallet holds: the node's delivery reverts, its compute is lost);
 *  (b) a node copies another node's output from the mempool on a redundant subscription
 *      (Infernet takes outputs in the clear: the copier is paid without computing);
 *  (c) a consumer's callback burns all gas or reverts (Infernet forwards all gas and bubbles the
 *      revert: the node cannot deliver at all), or a node starves the callback of gas;
 *  (d) a delivery later proven invalid keeps its redundancy slot (Infernet never frees it: the
 *      interval is lost to the consumer).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, maxUint256, parseEventLogs, toHex, zeroAddress, type Hex } from "viem";
import {
  E,
  deployInfernetWorld,
  ETH,
  MODEL,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

const PRICE = E(1);

describe("Infernet coordinator: fixes for the open weaknesses", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { commitWindow: 30n });
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const revert = (p: Promise<unknown>, c: { abi: readonly unknown[] }, name: string, args: unknown[]) =>
    conn.viem.assertions.revertWithCustomErrorWithArgs(p, c as never, name, args);
  const salt = (n: number): Hex => keccak256(toHex(`salt-${n}`));

  describe("(a) escrow: emptying the wallet after a request", () => {
    it("keeps the next interval's payment locked, so the node that serves it is paid", async () => {
      const w = await load();
      const id = await w.createdId(
        await w.subConsumer.write.createComputeSubscription([
          MODEL,
          3,
          60,
          2,
          false,
          w.erc20.address,
          PRICE,
          w.consumerWallet.address,
          zeroAddress,
        ]),
      );
      expect(await w.coordinator.read.escrowOf([id])).to.equal(2n * PRICE);
      // the consumer's owner withdraws everything it can and revokes the allowance
      const unlocked = await w.consumerWallet.read.unlockedBalance([w.erc20.address]);
      await revert(
        w.userWallet.write.withdraw([w.erc20.address, unlocked + 1n]),
        w.userWallet,
        "InsufficientFunds",
        [w.erc20.address, unlocked, unlocked + 1n],
      );
      await w.userWallet.write.withdraw([w.erc20.address, unlocked]);
      await w.approve(w.subConsumer.address, w.erc20.address, 0n);
      // both redundant deliveries of interval 1 are still paid
      const sub = await w.coordinator.read.getSubscription([id]);
      await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt);
      const [A, B] = w.trainers;
      for (const [i, T] of [A!, B!].entries()) {
        await T.coordinator.write.commitCompute([
          id,
          1,
          await w.coordinator.read.computeCommitment([id, 1, T.address, word(1), salt(i)]),
        ]);
      }
      for (const [i, T] of [A!, B!].entries()) {
        const before = await w.erc20.read.balanceOf([T.nodeWallet.address]);
        await T.coordinator.write.revealCompute([id, 1, "0x", word(1), "0x", T.nodeWallet.address, salt(i)]);
        expect((await w.erc20.read.balanceOf([T.nodeWallet.address])) - before).to.equal(PRICE);
      }
      // nothing more could be locked: interval 2 is unfunded, and the nodes can see it before computing
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
    });

    it("fails on the naive behaviour: without escrow the same drain makes the delivery revert", async () => {
      const w = await load();
      // An unfunded subscription (the wallet could not cover it at creation) pays as Infernet does.
      await w.approve(w.consumer.address, ETH, 0n);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          PRICE,
          w.consumerWallet.address,
          zeroAddress,
        ]),
      );
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      await w.approve(w.consumer.address, ETH, maxUint256);
      await w.userWallet.write.withdraw([ETH, await w.consumerWallet.read.unlockedBalance([ETH])]);
      const [A] = w.trainers;
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
        w.userWallet,
        "InsufficientFunds",
        [ETH, 0n, PRICE],
      );
      // fundEscrow locks it once the wallet holds it again; the owner cannot take it back then
      await w.fund(ETH, PRICE);
      await w.outsider.coordinator.write.fundEscrow([id]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      expect(await w.consumerWallet.read.unlockedBalance([ETH])).to.equal(0n);
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    });

    it("returns the escrow to the owner's allowance on cancellation and once the subscription is over", async () => {
      const w = await load();
      const args = [MODEL, 2, 60, 1, false, ETH, PRICE, w.consumerWallet.address, zeroAddress] as const;
      const allowance = () => w.consumerWallet.read.allowance([w.subConsumer.address, ETH]);
      const start = await allowance();
      const id = await w.createdId(await w.subConsumer.write.createComputeSubscription([...args]));
      expect(await allowance()).to.equal(start - PRICE);
      await w.subConsumer.write.cancelComputeSubscription([id]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      expect(await allowance()).to.equal(start);
      expect(await w.consumerWallet.read.lockedBalanceOf([w.subConsumer.address, ETH])).to.equal(0n);

      const id2 = await w.createdId(await w.subConsumer.write.createComputeSubscription([...args]));
      const sub = await w.coordinator.read.getSubscription([id2]);
      const end = BigInt(sub.activeAt) + 2n * 60n;
      await revert(w.outsider.coordinator.write.releaseEscrow([id2]), w.coordinator, "EscrowNotReleasable", [
        id2,
        end,
      ]);
      await conn.networkHelpers.time.increaseTo(end);
      await w.outsider.coordinator.write.releaseEscrow([id2]);
      expect(await w.coordinator.read.escrowOf([id2])).to.equal(0n);
      expect(await allowance()).to.equal(start);
      // a one-time request that nobody served: releasable after the timeout
      const id3 = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          PRICE,
          w.consumerWallet.address,
          zeroAddress,
        ]),
      );
      await conn.networkHelpers.time.increase(7 * 86_400);
      await w.outsider.coordinator.write.releaseEscrow([id3]);
      expect(await w.consumerWallet.read.lockedBalanceOf([w.consumer.address, ETH])).to.equal(0n);
    });
  });

  describe("(b) commit-then-reveal on redundant subscriptions", () => {
    async function redundant(w: InfernetWorld, redundancy = 2) {
      return w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          redundancy,
          ETH,
          PRICE,
          w.consumerWallet.address,
          zeroAddress,
        ]),
      );
    }

    it("refuses a plain delivery, so an output seen in the mempool cannot be delivered by a copier", async () => {
      const w = await load();
      const id = await redundant(w);
      const [, B] = w.trainers;
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(42), "0x", B!.nodeWallet.address]),
        w.coordinator,
        "CommitRequired",
        [id, 2],
      );
    });

    it("binds each commitment to its node: a copier that committed blindly cannot reveal the copied output", async () => {
      const w = await load();
      const id = await redundant(w);
      const [A, B, C] = w.trainers;
      const cA = await w.coordinator.read.computeCommitment([id, 1, A!.address, word(42), salt(1)]);
      await A!.coordinator.write.commitCompute([id, 1, cA]);
      await revert(
        A!.coordinator.write.revealCompute([id, 1, "0x", word(42), "0x", A!.nodeWallet.address, salt(1)]),
        w.coordinator,
        "RevealNotOpen",
        [id, 1, (await w.coordinator.read.intervalState([id, 1])).revealAt],
      );
      // B copies A's commitment itself: it does not open for B
      await B!.coordinator.write.commitCompute([id, 1, cA]);
      expect((await w.coordinator.read.intervalState([id, 1])).committed).to.equal(2);
      await A!.coordinator.write.revealCompute([id, 1, "0x", word(42), "0x", A!.nodeWallet.address, salt(1)]);
      // now A's output and salt are public; B cannot use them, nor commit again, nor can C join
      await revert(
        B!.coordinator.write.revealCompute([id, 1, "0x", word(42), "0x", B!.nodeWallet.address, salt(1)]),
        w.coordinator,
        "CommitmentMismatch",
        [id, 1, B!.address],
      );
      await revert(B!.coordinator.write.commitCompute([id, 1, cA]), w.coordinator, "NodeRespondedAlready", [
        id,
        1,
        B!.address,
      ]);
      await revert(C!.coordinator.write.commitCompute([id, 1, cA]), w.coordinator, "CommitPhaseClosed", [
        id,
        1,
      ]);
      await revert(
        A!.coordinator.write.revealCompute([id, 1, "0x", word(42), "0x", A!.nodeWallet.address, salt(1)]),
        w.coordinator,
        "NodeRespondedAlready",
        [id, 1, A!.address],
      );
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(1);
    });

    it("opens reveals after the commit window when not every slot is committed, and closes commits then", async () => {
      const w = await load();
      const id = await redundant(w, 3);
      const [A, B, C] = w.trainers;
      await A!.coordinator.write.commitCompute([
        id,
        1,
        await w.coordinator.read.computeCommitment([id, 1, A!.address, word(7), salt(1)]),
      ]);
      await B!.coordinator.write.commitCompute([
        id,
        1,
        await w.coordinator.read.computeCommitment([id, 1, B!.address, word(7), salt(2)]),
      ]);
      const st = await w.coordinator.read.intervalState([id, 1]);
      await conn.networkHelpers.time.setNextBlockTimestamp(Number(st.revealAt));
      await A!.coordinator.write.revealCompute([id, 1, "0x", word(7), "0x", A!.nodeWallet.address, salt(1)]);
      await revert(
        C!.coordinator.write.commitCompute([id, 1, keccak256("0x01")]),
        w.coordinator,
        "CommitPhaseClosed",
        [id, 1],
      );
      await B!.coordinator.write.revealCompute([id, 1, "0x", word(7), "0x", B!.nodeWallet.address, salt(2)]);
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(2);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(7));
    });

    it("refuses commitments on subscriptions of redundancy 1", async () => {
      const w = await load();
      const id = await w.createdId(
        await w.consumer.write.requestCompute([MODEL, word(1), 1, ETH, 0n, zeroAddress, zeroAddress]),
      );
      await revert(
        w.trainers[0]!.coordinator.write.commitCompute([id, 1, keccak256("0x01")]),
        w.coordinator,
        "CommitNotRequired",
        [id],
      );
    });
  });

  describe("(c) bounded consumer callbacks", () => {
    for (const mode of [1, 2] as const) {
      it(`keeps the delivery and pays the node when the callback ${mode === 1 ? "reverts" : "burns all its gas"}`, async () => {
        const w = await load();
        await w.consumer.write.setMode([mode, zeroAddress, "0x"]);
        const id = await w.createdId(
          await w.consumer.write.requestCompute([
            MODEL,
            word(1),
            1,
            ETH,
            PRICE,
            w.consumerWallet.address,
            zeroAddress,
          ]),
        );
        const [A] = w.trainers;
        const before = await w.publicClient.getBalance({ address: A!.nodeWallet.address });
        const tx = await A!.coordinator.write.deliverCompute(
          [id, 1, "0x", word(1), "0x", A!.nodeWallet.address],
          {
            gas: 3_000_000n,
          },
        );
        const r = await w.receipt(tx);
        expect(r.status).to.equal("success");
        const names = parseEventLogs({ abi: w.coordinator.abi, logs: r.logs }).map((l) => l.eventName);
        expect(names).to.include("CallbackFailed");
        expect(names).to.include("SubscriptionFulfilled");
        expect((await w.publicClient.getBalance({ address: A!.nodeWallet.address })) - before).to.equal(
          PRICE,
        );
        expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(1);
        // the gas the callback could burn is bounded by callbackGasLimit
        expect(r.gasUsed < (await w.coordinator.read.callbackGasLimit()) + 300_000n).to.equal(true);
      });
    }

    it("refuses a delivery that would starve the callback of its gas (a node cannot make it fail on purpose)", async () => {
      const w = await load();
      const id = await w.createdId(
        await w.consumer.write.requestCompute([MODEL, word(1), 1, ETH, 0n, zeroAddress, zeroAddress]),
      );
      const [A] = w.trainers;
      const limit = await w.coordinator.read.callbackGasLimit();
      const required = limit + limit / 63n + (await w.coordinator.read.CALLBACK_RESERVE());
      let reverted = false;
      try {
        await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address], {
          gas: 400_000n,
        });
      } catch (e) {
        reverted = true;
        expect(String(e)).to.match(/InsufficientCallbackGas/);
      }
      expect(reverted).to.equal(true);
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(0);
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address], {
        gas: required + 200_000n,
      });
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(1));
    });
  });

  describe("(d) invalid deliveries free their slot", () => {
    it("lets another node serve the interval after an invalid verdict, never the invalid node", async () => {
      const w = await load();
      await w.optimistic.write.setFee([ETH, true, 0n]);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          PRICE,
          w.consumerWallet.address,
          w.optimistic.address,
        ]),
      );
      const [A, B] = w.trainers;
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(9), "0x", A!.nodeWallet.address]);
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]),
        w.coordinator,
        "IntervalCompleted",
        [id, 1, 1],
      );
      await w.optimistic.write.settle([id, 1, A!.address, false]);
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(0);
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(9), "0x", A!.nodeWallet.address]),
        w.coordinator,
        "NodeRespondedAlready",
        [id, 1, A!.address],
      );
      await B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]);
      await w.optimistic.write.settle([id, 1, B!.address, true]);
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(1);
      expect(await w.consumerWallet.read.lockedBalanceOf([w.consumer.address, ETH])).to.equal(0n);
    });

    it("reopens one commitment on a redundant interval after reveals opened", async () => {
      const w = await load();
      await w.optimistic.write.setFee([ETH, true, 0n]);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          2,
          ETH,
          PRICE,
          w.consumerWallet.address,
          w.optimistic.address,
        ]),
      );
      const [A, B, C] = w.trainers;
      for (const [i, T] of [A!, B!].entries())
        await T.coordinator.write.commitCompute([
          id,
          1,
          await w.coordinator.read.computeCommitment([id, 1, T.address, word(i), salt(i)]),
        ]);
      for (const [i, T] of [A!, B!].entries())
        await T.coordinator.write.revealCompute([id, 1, "0x", word(i), "0x", T.nodeWallet.address, salt(i)]);
      await revert(
        C!.coordinator.write.commitCompute([id, 1, keccak256("0x01")]),
        w.coordinator,
        "CommitPhaseClosed",
        [id, 1],
      );
      await w.optimistic.write.settle([id, 1, B!.address, false]);
      const st = await w.coordinator.read.intervalState([id, 1]);
      expect([st.delivered, st.committed, st.reopened, st.tainted]).to.deep.equal([1, 1, 1, true]);
      await C!.coordinator.write.commitCompute([
        id,
        1,
        await w.coordinator.read.computeCommitment([id, 1, C!.address, word(0), salt(3)]),
      ]);
      await C!.coordinator.write.revealCompute([id, 1, "0x", word(0), "0x", C!.nodeWallet.address, salt(3)]);
      expect(await w.coordinator.read.redundancyCount([id, 1])).to.equal(2);
    });
  });
});
