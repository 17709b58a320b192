/**
 * Payments with and without verifiers, in ETH, a plain ERC-20 and the staking token (Infernet
 * v1.1.0's amounts to the wei); the escrow the coordinator holds from the request; the usage fees
 * routed to the reward distributor with the royalty recipient named at flush; the protocol fee.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEventLogs, zeroAddress, type Address, type Hex } from "viem";
import {
  E,
  containerHash,
  deployInfernetWorld,
  ETH,
  MODEL,
  nodeKey,
  revertsWith,
  word,
  type Connection,
  type InfernetWorld,
} from "./helpers/world.js";

const FEE_BPS = 100n; // 2 x 1% of a payment, 1% of a verifier fee
const PRICE = E(1);
const PROTOCOL = (PRICE * FEE_BPS * 2n) / 10_000n;

describe("Infernet coordinator: payments and verification", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  let revert: ReturnType<typeof revertsWith>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { feeBps: Number(FEE_BPS) });
    revert = revertsWith(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const model = containerHash(MODEL);

  async function balanceOf(w: InfernetWorld, token: Address, who: Address) {
    if (token === ETH) return w.publicClient.getBalance({ address: who });
    if (getAddress(token) === getAddress(w.token.address)) return w.token.read.balanceOf([who]);
    return w.erc20.read.balanceOf([who]);
  }
  async function deltas(w: InfernetWorld, token: Address, who: Address[], send: () => Promise<unknown>) {
    const before = await Promise.all(who.map((a) => balanceOf(w, token, a)));
    await send();
    const after = await Promise.all(who.map((a) => balanceOf(w, token, a)));
    return after.map((b, i) => b - before[i]!);
  }
  const request = (w: InfernetWorld, token: Address, verifier: Address = zeroAddress, amount = PRICE) =>
    w.consumer.write.requestCompute([MODEL, word(1), 1, token, amount, w.consumerWallet.address, verifier]);

  for (const [label, pick] of [
    ["ETH", () => ETH],
    ["a plain ERC-20", (w: InfernetWorld) => w.erc20.address],
  ] as const) {
    it(`escrows a payment in ${label} at the request and pays the node's wallet out of it, less the protocol fee`, async () => {
      const w = await load();
      const token = pick(w);
      let id = 0;
      const [fromWallet, toEscrow] = await deltas(
        w,
        token,
        [w.consumerWallet.address, w.coordinator.address],
        async () => {
          id = await w.createdId(await request(w, token));
        },
      );
      expect([fromWallet, toEscrow]).to.deep.equal([-PRICE, PRICE]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      const [A] = w.trainers;
      const [toNode, toFee, fromEscrow] = await deltas(
        w,
        token,
        [A!.nodeWallet.address, w.feeRecipient, w.coordinator.address],
        () => A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
      );
      expect([toNode, toFee, fromEscrow]).to.deep.equal([PRICE - PROTOCOL, PROTOCOL, -PRICE]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
      const u = await w.coordinator.read.usageOf([A!.address, model]);
      expect([u.deliveries, u.pendingFees]).to.deep.equal([1, 0n]);
    });
  }

  it("returns a cancelled escrow to an unlimited allowance without overflowing it", async () => {
    const w = await load();
    const id = await w.createdId(await request(w, ETH));
    expect(await w.consumerWallet.read.allowance([w.consumer.address, ETH])).to.equal(
      2n ** 256n - 1n - PRICE,
    );
    await w.approve(w.consumer.address, ETH, 2n ** 256n - 1n);
    // the consumer contract cancels through the coordinator: impersonate it
    await w.conn.networkHelpers.impersonateAccount(w.consumer.address);
    await w.conn.networkHelpers.setBalance(w.consumer.address, E(1));
    await w.coordinator.write.cancelSubscription([id], { account: w.consumer.address });
    expect(await w.consumerWallet.read.allowance([w.consumer.address, ETH])).to.equal(2n ** 256n - 1n);
    expect(await w.coordinator.read.escrowOf([id])).to.equal(0n);
  });

  it("refuses a payment to a node wallet the factory did not create", async () => {
    const w = await load();
    const id = await w.createdId(await request(w, ETH));
    const [A] = w.trainers;
    await revert(
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.address]),
      w.coordinator,
      "InvalidWallet",
    );
  });

  it("routes staking-token payments to the reward distributor: node and royalty pools, protocol", async () => {
    const w = await load();
    const [A, B] = w.trainers;
    const id = await w.createdId(await request(w, w.token.address));
    const [toNodeWallet, fromCoordinator] = await deltas(
      w,
      w.token.address,
      [A!.nodeWallet.address, w.coordinator.address],
      () => A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
    );
    const fee = PRICE - PROTOCOL;
    // only the protocol fee left: the rest stays here as A's usage fee
    expect([toNodeWallet, fromCoordinator]).to.deep.equal([0n, -PROTOCOL]);
    const u = await w.coordinator.read.usageOf([A!.address, model]);
    expect([u.deliveries, u.pendingFees]).to.deep.equal([1, fee]);

    // the royalty recipient is the one the registry names when the fees are flushed
    await w.models.write.setTrainer([model, B!.address]);
    const p = await w.distributor.read.params();
    const nodeFee = (fee * BigInt(p.nodeFeeBps)) / 10_000n;
    const royalty = (fee * BigInt(p.royaltyBps)) / 10_000n;
    const [toTreasury] = await deltas(w, w.token.address, [w.treasury], () =>
      w.outsider.coordinator.write.flushUsageFees([A!.address, model]),
    );
    expect(toTreasury).to.equal(fee - nodeFee - royalty);
    const epoch = await w.staking.read.currentEpoch();
    // node fee and royalty go to the operators' pools for this epoch (commission + delegators)
    expect(await w.staking.read.poolRewardAt([A!.address, epoch])).to.equal(nodeFee);
    expect(await w.staking.read.poolRewardAt([B!.address, epoch])).to.equal(royalty);
    expect((await w.coordinator.read.usageOf([A!.address, model])).pendingFees).to.equal(0n);
    expect(await w.token.read.balanceOf([w.coordinator.address])).to.equal(0n);
    await revert(
      w.outsider.coordinator.write.flushUsageFees([A!.address, model]),
      w.coordinator,
      "NothingToFlush",
      [A!.address, model],
    );
    expect(await w.distributor.read.totalForwarded()).to.equal(nodeFee + royalty);
  });

  it("pays the royalty to the delivering node when the registry names no recipient for the model", async () => {
    const w = await load();
    const [A] = w.trainers;
    const id = await w.createdId(await request(w, w.token.address));
    await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
    expect((await w.coordinator.read.usageOf([A!.address, model])).pendingFees).to.equal(PRICE - PROTOCOL);
    await w.coordinator.write.flushUsageFees([A!.address, model]);
    const p = await w.distributor.read.params();
    const fee = PRICE - PROTOCOL;
    expect(await w.staking.read.poolRewardAt([A!.address, await w.coordinator.read.currentEpoch()])).to.equal(
      (fee * BigInt(p.nodeFeeBps)) / 10_000n + (fee * BigInt(p.royaltyBps)) / 10_000n,
    );
  });

  it("pays staking-token fees to the node wallet when no reward distributor is wired", async () => {
    const w = await deployInfernetWorld(conn, { feeBps: Number(FEE_BPS), noDistributor: true });
    const [A] = w.trainers;
    const id = await w.createdId(await request(w, w.token.address));
    const [toNode] = await deltas(w, w.token.address, [A!.nodeWallet.address], () =>
      A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
    );
    expect(toNode).to.equal(PRICE - PROTOCOL);
    expect((await w.coordinator.read.usageOf([A!.address, model])).pendingFees).to.equal(0n);
    expect(await w.token.read.balanceOf([w.coordinator.address])).to.equal(0n);
  });

  describe("with a verifier", () => {
    const VFEE = E("0.1");
    const VCUT = (VFEE * FEE_BPS) / 10_000n;
    const ESCROWED = PRICE - PROTOCOL - VFEE;

    async function pending(w: InfernetWorld, token: Address, v: InfernetWorld["optimistic"]) {
      await v.write.setFee([token, true, VFEE]);
      const id = await w.createdId(await request(w, token, v.address));
      const [A] = w.trainers;
      const who = [w.feeRecipient, w.verifierWallet, w.consumerWallet.address, A!.nodeWallet.address];
      const d = await deltas(w, token, who, () =>
        A!.coordinator.write.deliverCompute([id, 1, word(2), word(3), "0xaa", A!.nodeWallet.address]),
      );
      return { id, A: A!, d };
    }

    for (const tokenName of ["ETH", "erc20"] as const) {
      it(`escrows the ${tokenName} payment and the node's collateral until a valid verdict pays the node`, async () => {
        const w = await load();
        const token = tokenName === "ETH" ? ETH : w.erc20.address;
        const { id, A, d } = await pending(w, token, w.optimistic);
        // the consumer paid at the request (escrow); the node's payment is held, its collateral locked
        expect(d).to.deep.equal([PROTOCOL + VCUT, VFEE - VCUT, 0n, 0n]);
        const [expiry, nodeWallet, consumerEscrowed] = await w.coordinator.read.proofRequests([
          nodeKey(id, 1, A.address),
        ]);
        expect([nodeWallet, consumerEscrowed]).to.deep.equal([A.nodeWallet.address, ESCROWED]);
        expect(expiry).to.equal(Number(await w.latest()) + 7 * 86_400);
        expect(await balanceOf(w, token, w.coordinator.address)).to.equal(ESCROWED);
        expect(await A.nodeWallet.read.lockedBalanceOf([A.address, token])).to.equal(PRICE);
        // the output verifier saw what the consumer received
        const last = await w.optimistic.read.last();
        expect([last[3], last[4], last[5], last[6], last[7]]).to.deep.equal([
          containerHash(MODEL),
          word(2),
          word(3),
          "0xaa",
          true,
        ]);
        expect(await w.coordinator.read.usesOutputVerifier([id])).to.equal(true);
        expect((await w.coordinator.read.usageOf([A.address, model])).deliveries).to.equal(0);
        await revert(
          A.coordinator.write.finalizeProofVerification([id, 1, A.address, true]),
          w.coordinator,
          "UnauthorizedVerifier",
        );
        const tx = w.optimistic.write.settle([id, 1, A.address, true]);
        const [toNode] = await deltas(w, token, [A.nodeWallet.address], () => tx);
        expect(toNode).to.equal(ESCROWED);
        const [ev] = parseEventLogs({
          abi: w.coordinator.abi,
          logs: (await w.receipt(await tx)).logs,
          eventName: "ProofVerified",
        });
        expect(ev!.args).to.deep.equal({
          id,
          interval: 1,
          node: A.address,
          active: true,
          verifier: getAddress(w.optimistic.address),
          valid: true,
        });
        expect(await A.nodeWallet.read.lockedBalanceOf([A.address, token])).to.equal(0n);
        expect(await balanceOf(w, token, w.coordinator.address)).to.equal(0n);
        expect((await w.coordinator.read.usageOf([A.address, model])).deliveries).to.equal(1);
        await revert(
          w.optimistic.write.settle([id, 1, A.address, true]),
          w.coordinator,
          "ProofRequestNotFound",
        );
      });
    }

    it("pays the consumer the node's collateral and refunds its escrow on an invalid verdict", async () => {
      const w = await load();
      const { id, A } = await pending(w, w.erc20.address, w.proofVerifier);
      expect(await w.coordinator.read.usesOutputVerifier([id])).to.equal(false);
      const last = await w.proofVerifier.read.last();
      expect([last[6], last[7]]).to.deep.equal(["0xaa", false]);
      const [toConsumer, toNode] = await deltas(
        w,
        w.erc20.address,
        [w.consumerWallet.address, A.nodeWallet.address],
        () => w.proofVerifier.write.settle([id, 1, A.address, false]),
      );
      // the collateral went to the consumer's wallet; the freed slot holds a full payment again: the
      // node's held payment plus what the fees took, drawn back from the wallet
      expect([toConsumer, toNode]).to.deep.equal([ESCROWED, -PRICE]);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      expect(await A.nodeWallet.read.lockedBalanceOf([A.address, w.erc20.address])).to.equal(0n);
    });

    it("lets anyone settle in the node's favour once the proof window has passed", async () => {
      const w = await load();
      const { id, A } = await pending(w, ETH, w.optimistic);
      await conn.networkHelpers.time.increase(7 * 86_400);
      const [toNode] = await deltas(w, ETH, [A.nodeWallet.address], () =>
        w.outsider.coordinator.write.finalizeProofVerification([id, 1, A.address, false]),
      );
      expect(toNode).to.equal(ESCROWED);
    });

    it("routes a verified staking-token payment to the distributor only once it is valid", async () => {
      const w = await load();
      const { id, A } = await pending(w, w.token.address, w.optimistic);
      expect((await w.coordinator.read.usageOf([A.address, model])).pendingFees).to.equal(0n);
      expect(await w.token.read.balanceOf([w.coordinator.address])).to.equal(ESCROWED);
      await w.optimistic.write.settle([id, 1, A.address, true]);
      const u = await w.coordinator.read.usageOf([A.address, model]);
      expect([u.deliveries, u.pendingFees]).to.deep.equal([1, ESCROWED]);
      expect(await w.token.read.balanceOf([w.coordinator.address])).to.equal(ESCROWED);
    });

    it("refuses a token the verifier does not take and a fee above the payment", async () => {
      const w = await load();
      const [A] = w.trainers;
      await w.optimistic.write.setFee([ETH, false, 0n]);
      let id = await w.createdId(await request(w, ETH, w.optimistic.address));
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
        w.coordinator,
        "UnsupportedVerifierToken",
      );
      await w.optimistic.write.setFee([ETH, true, PRICE]);
      id = await w.createdId(await request(w, ETH, w.optimistic.address));
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", A!.nodeWallet.address]),
        w.coordinator,
        "VerifierFeeTooHigh",
        [PRICE, PRICE - PROTOCOL],
      );
    });

    it("settles atomically with the AtomicVerifier: a whitelisted prover's signature pays the node", async () => {
      const w = await load();
      const [A] = w.trainers;
      const prover = w.delegatee;
      const atomic = await w.viem.deployContract("AtomicVerifier", [
        w.coordinator.address,
        w.admin.address,
        w.verifierWallet,
      ]);
      await atomic.write.setProver([prover.account.address, true]);
      await atomic.write.setFee([ETH, true, VFEE]);
      const sign = async (id: number, output: Hex) => {
        const digestArgs = [id, 1, A!.address, (await import("viem")).keccak256(output)] as const;
        const raw = (await import("viem")).keccak256(
          (await import("viem")).encodeAbiParameters(
            [
              { type: "address" },
              { type: "address" },
              { type: "uint32" },
              { type: "uint32" },
              { type: "address" },
              { type: "bytes32" },
            ],
            [atomic.address, w.coordinator.address, ...digestArgs],
          ),
        );
        return prover.signMessage({ account: prover.account, message: { raw } });
      };
      const good = await w.createdId(await request(w, ETH, atomic.address));
      const [toNode] = await deltas(w, ETH, [A!.nodeWallet.address], async () =>
        A!.coordinator.write.deliverCompute([
          good,
          1,
          "0x",
          word(4),
          await sign(good, word(4)),
          A!.nodeWallet.address,
        ]),
      );
      expect(toNode).to.equal(ESCROWED);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(4));
      // a signature over another output is invalid: as in Infernet, the node pays its collateral to
      // the consumer, the held payment returns to the consumer's allowance, the consumer is called
      const bad = await w.createdId(await request(w, ETH, atomic.address));
      const allowanceBefore = await w.consumerWallet.read.allowance([w.consumer.address, ETH]);
      const tx = await A!.coordinator.write.deliverCompute([
        bad,
        1,
        "0x",
        word(5),
        await sign(bad, word(4)),
        A!.nodeWallet.address,
      ]);
      const names = parseEventLogs({ abi: w.coordinator.abi, logs: (await w.receipt(tx)).logs }).map(
        (l) => l.eventName,
      );
      expect(names).to.include.members(["ProofVerified", "SubscriptionFulfilled"]);
      expect(await w.consumer.read.lastOutputWord()).to.equal(word(5));
      expect(
        await w.coordinator.read.redundancyCount([(await import("./helpers/world.js")).intervalKey(bad, 1)]),
      ).to.equal(1);
      expect(await w.consumerWallet.read.allowance([w.consumer.address, ETH])).to.equal(
        allowanceBefore + ESCROWED,
      );
    });
  });
});
