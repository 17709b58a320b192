/**
 * What PoAI adds to Infernet's behaviour, each with the attack and the naive code it catches:
 *  (a) a consumer empties its wallet between the request and the delivery (naive: pay at delivery
 *      from whatever the wallet holds, so the node's delivery reverts after it revealed the output);
 *  (b) a node copies another node's output from the mempool on a redundant subscription (the
 *      opt-in defence: commit-reveal); a node commits a marker value to take every slot (naive:
 *      accepting `bytes32(0)`, which leaves the node able to commit again);
 *  (c) a consumer refuses a delivery by reverting (naive: swallowing the revert, so the rejected
 *      delivery stands, is paid and counted, and the honest node is then refused);
 *  (d) a delivery proven invalid after the fact (naive: its slot is never freed, or freed while
 *      another output of the interval stands, so a copier is paid for that output).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, maxUint256, parseEventLogs, toHex, zeroAddress, type Hex } from "viem";
import {
  E,
  containerHash,
  deployInfernetWorld,
  ETH,
  MODEL,
  intervalKey,
  revertsWith,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

const PRICE = E(1);

describe("Infernet coordinator: what PoAI adds", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  let revert: ReturnType<typeof revertsWith>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { commitWindow: 30n });
    revert = revertsWith(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const salt = (n: number): Hex => keccak256(toHex(`salt-${n}`));
  const count = (w: InfernetWorld, id: number, interval = 1) =>
    w.coordinator.read.redundancyCount([intervalKey(id, interval)]);
  const commitReveal = async (
    w: InfernetWorld,
    redundancy: number,
    verifier = zeroAddress as `0x${string}`,
  ) =>
    w.createdId(
      await w.consumer.write.requestComputeWithOptions([
        MODEL,
        word(1),
        redundancy,
        ETH,
        PRICE,
        w.consumerWallet.address,
        verifier,
        { commitReveal: true },
      ]),
    );

  describe("(a) escrow: emptying the wallet after a request", () => {
    it("holds the next interval's payments, so the nodes that serve it are paid", async () => {
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
      expect(await w.erc20.read.balanceOf([w.coordinator.address])).to.equal(2n * PRICE);
      // the consumer's owner withdraws everything and revokes the allowance
      const balance = await w.erc20.read.balanceOf([w.consumerWallet.address]);
      await revert(
        w.userWallet.write.withdraw([w.erc20.address, balance + 1n]),
        w.userWallet,
        "InsufficientFunds",
      );
      await w.userWallet.write.withdraw([w.erc20.address, balance]);
      await w.approve(w.subConsumer.address, w.erc20.address, 0n);
      // both redundant deliveries of interval 1 are still paid
      const sub = await w.coordinator.read.getSubscription([id]);
      await conn.networkHelpers.time.setNextBlockTimestamp(sub.activeAt);
      for (const T of w.trainers.slice(0, 2)) {
        const before = await w.erc20.read.balanceOf([T.nodeWallet.address]);
        await T.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", T.nodeWallet.address]);
        expect((await w.erc20.read.balanceOf([T.nodeWallet.address])) - before).to.equal(PRICE);
      }
      // nothing more could be held: interval 2 is unfunded, and the nodes can see it before computing
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      expect(await w.erc20.read.balanceOf([w.coordinator.address])).to.equal(0n);
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
      );
      // fundEscrow moves it into escrow once the wallet holds it again; the owner cannot take it back
      await w.fund(ETH, PRICE);
      await w.outsider.coordinator.write.fundEscrow([id]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      expect(await w.consumerWallet.read.unlockedBalance([ETH])).to.equal(0n);
      const before = await w.publicClient.getBalance({ address: A!.nodeWallet.address });
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
      expect((await w.publicClient.getBalance({ address: A!.nodeWallet.address })) - before).to.equal(PRICE);
    });

    it("returns the escrow to the wallet, in the owner's allowance, on cancellation and once the subscription is over", async () => {
      const w = await load();
      const args = [MODEL, 2, 60, 1, false, ETH, PRICE, w.consumerWallet.address, zeroAddress] as const;
      const allowance = () => w.consumerWallet.read.allowance([w.subConsumer.address, ETH]);
      const held = () => w.publicClient.getBalance({ address: w.consumerWallet.address });
      const [start, startBalance] = [await allowance(), await held()];
      const id = await w.createdId(await w.subConsumer.write.createComputeSubscription([...args]));
      expect(await allowance()).to.equal(start - PRICE);
      expect(await held()).to.equal(startBalance - PRICE);
      await w.subConsumer.write.cancelComputeSubscription([id]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      expect([await allowance(), await held()]).to.deep.equal([start, startBalance]);

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
      expect([await allowance(), await held()]).to.deep.equal([start, startBalance]);
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
      expect(await w.publicClient.getBalance({ address: w.coordinator.address })).to.equal(0n);
      // the coordinator takes ETH from no one else
      await revert(
        w.outsider.coordinator.write.receiveEscrow({ value: 1n }),
        w.coordinator,
        "UnexpectedEther",
        [w.outsider.address],
      );
      let plain = false;
      try {
        await w.outsider.wallet.sendTransaction({ to: w.coordinator.address, value: 1n });
      } catch {
        plain = true;
      }
      expect(plain).to.equal(true);
    });
  });

  describe("(b) opt-in commit-reveal on redundant subscriptions", () => {
    it("refuses a plain delivery, so an output seen in the mempool cannot be delivered by a copier", async () => {
      const w = await load();
      const id = await commitReveal(w, 2);
      expect(await w.coordinator.read.getSubscriptionOptions([id])).to.deep.equal({ commitReveal: true });
      const [, B] = w.trainers;
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(42), "0x", B!.nodeWallet.address]),
        w.coordinator,
        "CommitRequired",
        [id],
      );
    });

    it("binds each commitment to its node: a copier that committed blindly cannot reveal the copied output", async () => {
      const w = await load();
      const id = await commitReveal(w, 2);
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
      await revert(B!.coordinator.write.commitCompute([id, 1, cA]), w.coordinator, "NodeRespondedAlready");
      await revert(C!.coordinator.write.commitCompute([id, 1, cA]), w.coordinator, "CommitPhaseClosed", [
        id,
        1,
      ]);
      await revert(
        A!.coordinator.write.revealCompute([id, 1, "0x", word(42), "0x", A!.nodeWallet.address, salt(1)]),
        w.coordinator,
        "NodeRespondedAlready",
      );
      expect(await count(w, id)).to.equal(1);
    });

    it("refuses a commitment equal to a marker, so one node cannot commit again and again and take every slot", async () => {
      // Naive code accepted bytes32(0): the node's record stayed "nothing", so it could commit again,
      // filling every slot of the interval alone (and 1 or 2 made it look delivered or invalidated).
      const w = await load();
      const id = await commitReveal(w, 3);
      const [A, B] = w.trainers;
      for (const marker of [0n, 1n, 2n]) {
        const c = toHex(marker, { size: 32 });
        await revert(A!.coordinator.write.commitCompute([id, 1, c]), w.coordinator, "ReservedCommitment", [
          c,
        ]);
      }
      await A!.coordinator.write.commitCompute([id, 1, keccak256("0x01")]);
      await revert(
        A!.coordinator.write.commitCompute([id, 1, keccak256("0x02")]),
        w.coordinator,
        "NodeRespondedAlready",
      );
      expect((await w.coordinator.read.intervalState([id, 1])).committed).to.equal(1);
      // the other slots stay open to honest nodes
      await B!.coordinator.write.commitCompute([id, 1, keccak256("0x03")]);
      expect((await w.coordinator.read.intervalState([id, 1])).committed).to.equal(2);
    });

    it("opens reveals after the commit window when not every slot is committed, and closes commits then", async () => {
      const w = await load();
      await w.consumer.write.setRecord([true]);
      const id = await commitReveal(w, 3);
      const [A, B, C] = w.trainers;
      for (const [i, T] of [A!, B!].entries())
        await T.coordinator.write.commitCompute([
          id,
          1,
          await w.coordinator.read.computeCommitment([id, 1, T.address, word(7), salt(i)]),
        ]);
      const st = await w.coordinator.read.intervalState([id, 1]);
      await conn.networkHelpers.time.setNextBlockTimestamp(Number(st.revealAt));
      await A!.coordinator.write.revealCompute([id, 1, "0x", word(7), "0x", A!.nodeWallet.address, salt(0)]);
      await revert(
        C!.coordinator.write.commitCompute([id, 1, keccak256("0x01")]),
        w.coordinator,
        "CommitPhaseClosed",
        [id, 1],
      );
      await B!.coordinator.write.revealCompute([id, 1, "0x", word(7), "0x", B!.nodeWallet.address, salt(1)]);
      expect(await count(w, id)).to.equal(2);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(7));
      expect(await w.consumer.read.lastRedundancy()).to.equal(2);
    });
  });

  describe("(c) a consumer refuses a delivery by reverting, as in Infernet", () => {
    it("reverts the whole delivery: nothing paid, counted, stored or recorded, and an honest node serves next", async () => {
      // Naive code swallowed the revert: the rejected delivery stood, filled the slot, was paid.
      const w = await load();
      await w.consumer.write.setMode([1, zeroAddress, "0x"]);
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
      const [A, B] = w.trainers;
      const before = await w.publicClient.getBalance({ address: A!.nodeWallet.address });
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
        w.consumer,
        "Refused",
        [id],
      );
      expect(await w.publicClient.getBalance({ address: A!.nodeWallet.address })).to.equal(before);
      expect(await count(w, id)).to.equal(0);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      expect((await w.coordinator.read.usageOf([A!.address, containerHash(MODEL)])).deliveries).to.equal(0);
      await w.consumer.write.setMode([0, zeroAddress, "0x"]);
      await B!.coordinator.write.deliverCompute([id, 1, "0x", word(2), "0x", B!.nodeWallet.address]);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(2));
      expect(await count(w, id)).to.equal(1);
    });

    it("lets an Allowlist consumer refuse other nodes: the allowed node is then served", async () => {
      const w = await load();
      const [A, B] = w.trainers;
      const app = await w.viem.deployContract("TestAllowlistConsumer", [w.registry.address, [A!.address]]);
      const id = await w.createdId(await app.write.subscribe([1, 0, 1]));
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]),
        app,
        "NodeNotAllowed",
      );
      expect(await count(w, id)).to.equal(0);
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]);
      expect([await app.read.received(), await app.read.lastNode()]).to.deep.equal([1n, A!.address]);
      await app.write.updateAllowlist([[B!.address], [true]]);
      expect(await app.read.isAllowedNode([B!.address])).to.equal(true);
    });

    it("gives the callback all the gas the node sends: a 650k-gas callback is served", async () => {
      // Naive code forwarded a fixed callbackGasLimit: a heavier consumer could never be served.
      const w = await load();
      await w.consumer.write.setHeavy([30n]);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([MODEL, word(1), 1, ETH, 0n, zeroAddress, zeroAddress]),
      );
      const [A] = w.trainers;
      const tx = await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress], {
        gas: 2_000_000n,
      });
      const r = await w.receipt(tx);
      expect(r.status).to.equal("success");
      expect(r.gasUsed > 650_000n).to.equal(true);
      expect(await count(w, id)).to.equal(1);
    });
  });

  describe("(d) invalid verdicts after the fact", () => {
    const verified = async (w: InfernetWorld, redundancy = 1) => {
      await w.optimistic.write.setFee([ETH, true, 0n]);
      return w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          redundancy,
          ETH,
          PRICE,
          w.consumerWallet.address,
          w.optimistic.address,
        ]),
      );
    };

    it("frees the slot when no delivery of the interval stands, never for the invalid node or its output", async () => {
      const w = await load();
      const id = await verified(w);
      const [A, B, C] = w.trainers;
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(9), "0x", A!.nodeWallet.address]);
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]),
        w.coordinator,
        "IntervalCompleted",
      );
      const tx = await w.optimistic.write.settle([id, 1, A!.address, false]);
      const names = parseEventLogs({ abi: w.coordinator.abi, logs: (await w.receipt(tx)).logs }).map(
        (l) => l.eventName,
      );
      expect(names).to.include.members(["ProofVerified", "IntervalReopened"]);
      expect(await count(w, id)).to.equal(0);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(9), "0x", A!.nodeWallet.address]),
        w.coordinator,
        "NodeRespondedAlready",
      );
      // the output proven invalid cannot be delivered again by another node
      await revert(
        C!.coordinator.write.deliverCompute([id, 1, "0x", word(9), "0x", C!.nodeWallet.address]),
        w.coordinator,
        "OutputProvenInvalid",
        [id, 1, keccak256(word(9))],
      );
      await B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", B!.nodeWallet.address]);
      await w.optimistic.write.settle([id, 1, B!.address, true]);
      expect(await count(w, id)).to.equal(1);
      expect(await w.publicClient.getBalance({ address: w.coordinator.address })).to.equal(0n);
    });

    it("never reopens a slot while another output of the interval stands: a copier of it is not paid", async () => {
      // Naive code freed B's slot at once: C then committed to A's revealed output and was paid for it.
      const w = await load();
      const id = await commitReveal(w, 2, w.optimistic.address);
      await w.optimistic.write.setFee([ETH, true, 0n]);
      const [A, B, C] = w.trainers;
      const out = [word(5), word(6)];
      for (const [i, T] of [A!, B!].entries())
        await T.coordinator.write.commitCompute([
          id,
          1,
          await w.coordinator.read.computeCommitment([id, 1, T.address, out[i]!, salt(i)]),
        ]);
      for (const [i, T] of [A!, B!].entries())
        await T.coordinator.write.revealCompute([id, 1, "0x", out[i]!, "0x", T.nodeWallet.address, salt(i)]);
      await w.optimistic.write.settle([id, 1, B!.address, false]);
      expect(await count(w, id)).to.equal(2);
      const copy = await w.coordinator.read.computeCommitment([id, 1, C!.address, out[0]!, salt(3)]);
      await revert(C!.coordinator.write.commitCompute([id, 1, copy]), w.coordinator, "CommitPhaseClosed", [
        id,
        1,
      ]);
      // once A's output is proven invalid too, nothing stands: both slots reopen, neither output pays
      await w.optimistic.write.settle([id, 1, A!.address, false]);
      const st = await w.coordinator.read.intervalState([id, 1]);
      expect([st.delivered, st.committed, st.reopened, st.blocked]).to.deep.equal([0, 0, 2, true]);
      await C!.coordinator.write.commitCompute([id, 1, copy]);
      await revert(
        C!.coordinator.write.revealCompute([id, 1, "0x", out[0]!, "0x", C!.nodeWallet.address, salt(3)]),
        w.coordinator,
        "OutputProvenInvalid",
        [id, 1, keccak256(out[0]!)],
      );
    });

    it("keeps the slot on plain redundancy too while another delivery stands", async () => {
      const w = await load();
      const id = await verified(w, 2);
      const [A, B, C] = w.trainers;
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(5), "0x", A!.nodeWallet.address]);
      await B!.coordinator.write.deliverCompute([id, 1, "0x", word(6), "0x", B!.nodeWallet.address]);
      await w.optimistic.write.settle([id, 1, B!.address, false]);
      await revert(
        C!.coordinator.write.deliverCompute([id, 1, "0x", word(5), "0x", C!.nodeWallet.address]),
        w.coordinator,
        "IntervalCompleted",
      );
    });

    it("after an atomic invalid verdict, as Infernet: the consumer is still called back, the payment returns to its allowance", async () => {
      const w = await load();
      await w.consumer.write.setRecord([true]);
      await w.proofVerifier.write.setMode([2, zeroAddress, "0x"]);
      await w.approve(w.consumer.address, ETH, 10n * PRICE);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          PRICE,
          w.consumerWallet.address,
          w.proofVerifier.address,
        ]),
      );
      const allowance = () => w.consumerWallet.read.allowance([w.consumer.address, ETH]);
      const walletBalance = () => w.publicClient.getBalance({ address: w.consumerWallet.address });
      const [a0, b0] = [await allowance(), await walletBalance()];
      const [A] = w.trainers;
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(4), "0x", A!.nodeWallet.address]);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(4));
      expect(await count(w, id)).to.equal(1);
      // the held payment is back in the wallet and the allowance, plus the node's collateral
      expect(await allowance()).to.equal(a0 + PRICE);
      expect((await walletBalance()) - b0).to.equal(2n * PRICE);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      expect(getAddress((await w.coordinator.read.getSubscription([id])).verifier)).to.equal(
        getAddress(w.proofVerifier.address),
      );
    });
  });
});
