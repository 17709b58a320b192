/**
 * The scenarios of Ritual Infernet SDK v1.1.0's own coordinator tests (Coordinator.t.sol,
 * EIP712Coordinator.t.sol, E2E.t.sol), played against PoAI with PoAI's nodes (active trainers):
 * the same requests, the same deliveries, the same errors and the same payment amounts to the wei
 * (protocol fee 511 bps, as there). What the other files already pin (the basic callback, one
 * delivery per node, cancellation by the owner, escrow) is not repeated here.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import {
  containerHash,
  deployInfernetWorld,
  ETH,
  intervalKey,
  MODEL,
  nodeKey,
  revertsWith,
  signDelegateSubscription,
  UINT32_MAX,
  word,
  type Connection,
  type InfernetWorld,
  type SubscriptionArg,
} from "./helpers/world.js";

const FEE_BPS = 511;

describe("Infernet v1.1.0 scenarios", function () {
  this.timeout(300_000);
  let conn: Connection;
  let world: () => Promise<InfernetWorld>;
  let revert: ReturnType<typeof revertsWith>;
  before(async () => {
    conn = await network.create();
    world = () => deployInfernetWorld(conn, { feeBps: FEE_BPS });
    revert = revertsWith(conn);
  });
  const load = () => conn.networkHelpers.loadFixture(world);
  const free = [ETH, 0n, zeroAddress, zeroAddress] as const;
  const request = async (w: InfernetWorld, redundancy = 1) =>
    w.createdId(await w.consumer.write.requestCompute([MODEL, word(1), redundancy, ...free]));
  const subscribe = async (w: InfernetWorld, frequency: number, period: number, lazy = false) =>
    w.createdId(
      await w.subConsumer.write.createComputeSubscription([MODEL, frequency, period, 1, lazy, ...free]),
    );

  describe("Coordinator: subscriptions and intervals", () => {
    it("assigns increasing ids and stores a callback request's fields and inputs as created", async () => {
      const w = await load();
      const first = await w.coordinator.read.id();
      const a = await request(w);
      const b = await request(w, 3);
      expect([a, b]).to.deep.equal([first, first + 1]);
      const s = await w.coordinator.read.getSubscription([b]);
      expect(s).to.deep.equal({
        owner: getAddress(w.consumer.address),
        activeAt: Number(await w.latest()),
        period: 0,
        frequency: 1,
        redundancy: 3,
        containerId: containerHash(MODEL),
        lazy: false,
        verifier: zeroAddress,
        paymentAmount: 0n,
        paymentToken: zeroAddress,
        wallet: zeroAddress,
      });
      expect(await w.consumer.read.getContainerInputs([b, 0, 0, zeroAddress])).to.equal(word(1));
    });

    it("computes each interval as Infernet does, for any time, frequency and period", async () => {
      const w = await load();
      const now = Number(await w.latest());
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 1_000_000 }),
          fc.integer({ min: 0, max: 10_000 }),
          async (elapsed, period) => {
            const activeAt = now - elapsed;
            const expected = period === 0 ? 1 : Math.floor((now - activeAt) / period) + 1;
            expect(await w.coordinator.read.getSubscriptionInterval([activeAt, period])).to.equal(expected);
          },
        ),
        { numRuns: 25 },
      );
    });

    it("refuses a delivery of an interval that is over or not begun (delayed, early)", async () => {
      const w = await load();
      const id = await subscribe(w, 3, 60);
      const s = await w.coordinator.read.getSubscription([id]);
      const [A] = w.trainers;
      await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt + 60);
      await revert(
        A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]),
        w.coordinator,
        "IntervalMismatch",
      );
      await revert(
        A!.coordinator.write.deliverCompute([id, 3, "0x", word(1), "0x", zeroAddress]),
        w.coordinator,
        "IntervalMismatch",
      );
      await A!.coordinator.write.deliverCompute([id, 2, "0x", word(1), "0x", zeroAddress]);
    });

    it("cancels a fulfilled subscription, and cancelling one that does not exist is refused", async () => {
      const w = await load();
      const id = await subscribe(w, 2, 0);
      const [A] = w.trainers;
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]);
      await w.subConsumer.write.cancelComputeSubscription([id]);
      expect((await w.coordinator.read.getSubscription([id])).activeAt).to.equal(UINT32_MAX);
      await revert(
        w.outsider.coordinator.write.cancelSubscription([9999]),
        w.coordinator,
        "NotSubscriptionOwner",
      );
    });
  });

  describe("Coordinator: the Inbox", () => {
    it("stores nothing for eager deliveries, callbacks or subscriptions", async () => {
      const w = await load();
      const [A] = w.trainers;
      for (const id of [await request(w), await subscribe(w, 1, 0)])
        await A!.coordinator.write.deliverCompute([id, 1, word(2), word(3), "0x", zeroAddress]);
      expect(await w.inbox.read.count([containerHash(MODEL), A!.address])).to.equal(0n);
    });

    it("delivers lazy and eager subscriptions to the same consumer, and a lazy one's items accumulate", async () => {
      const w = await load();
      await w.subConsumer.write.setRecord([true]);
      const [A] = w.trainers;
      const lazy = await subscribe(w, 3, 60, true);
      const eager = await subscribe(w, 1, 0);
      const s = await w.coordinator.read.getSubscription([lazy]);
      await A!.coordinator.write.deliverCompute([eager, 1, word(1), word(2), "0x", zeroAddress]);
      expect(await w.subConsumer.read.lastContainerId()).to.equal(`0x${"0".repeat(64)}`);
      for (let interval = 1; interval <= 2; interval++) {
        await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt + (interval - 1) * 60);
        await A!.coordinator.write.deliverCompute([
          lazy,
          interval,
          word(interval),
          word(9),
          "0x",
          zeroAddress,
        ]);
        expect(await w.subConsumer.read.lastIndex()).to.equal(BigInt(interval - 1));
        const item = await w.inbox.read.read([containerHash(MODEL), A!.address, BigInt(interval - 1)]);
        expect([item.subscriptionId, item.interval, item.input]).to.deep.equal([
          lazy,
          interval,
          word(interval),
        ]);
      }
      expect(await w.inbox.read.count([containerHash(MODEL), A!.address])).to.equal(2n);
    });
  });

  describe("Coordinator: the Allowlist pattern", () => {
    async function allowlisted(w: InfernetWorld) {
      const [A] = w.trainers;
      return w.viem.deployContract("TestAllowlistConsumer", [w.registry.address, [A!.address]]);
    }

    it("sets the initial allowlist and updates it", async () => {
      const w = await load();
      const app = await allowlisted(w);
      const [A, B, C] = w.trainers;
      expect(await app.read.isAllowedNode([A!.address])).to.equal(true);
      expect(await app.read.isAllowedNode([B!.address])).to.equal(false);
      await app.write.updateAllowlist([
        [A!.address, B!.address, C!.address],
        [false, true, true],
      ]);
      expect(await Promise.all([A!, B!, C!].map((n) => app.read.isAllowedNode([n.address])))).to.deep.equal([
        false,
        true,
        true,
      ]);
    });

    it("accepts an allowed node across intervals and refuses a node only in the intervals it is not allowed", async () => {
      const w = await load();
      const app = await allowlisted(w);
      const [A, B] = w.trainers;
      const id = await w.createdId(await app.write.subscribe([3, 60, 1]));
      const s = await w.coordinator.read.getSubscription([id]);
      await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt);
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]),
        app,
        "NodeNotAllowed",
      );
      await A!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]);
      await app.write.updateAllowlist([[B!.address], [true]]);
      await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt + 60);
      await B!.coordinator.write.deliverCompute([id, 2, "0x", word(1), "0x", zeroAddress]);
      await app.write.updateAllowlist([[B!.address], [false]]);
      await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt + 120);
      await revert(
        B!.coordinator.write.deliverCompute([id, 3, "0x", word(1), "0x", zeroAddress]),
        app,
        "NodeNotAllowed",
      );
      expect([await app.read.received(), await app.read.lastNode()]).to.deep.equal([2n, B!.address]);
    });

    it("leaves the Inbox untouched when a lazy delivery from an unallowed node is refused", async () => {
      const w = await load();
      const app = await allowlisted(w);
      const [, B] = w.trainers;
      const id = await w.createdId(await app.write.subscribeLazy([1, 0, 1, true]));
      await revert(
        B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]),
        app,
        "NodeNotAllowed",
      );
      expect(
        await w.inbox.read.count([
          keccak256(encodeAbiParameters([{ type: "string" }], ["allowlisted"])),
          B!.address,
        ]),
      ).to.equal(0n);
      expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(0);
    });
  });

  describe("Coordinator: payments, to the wei (protocol fee 511 bps)", () => {
    /** A fresh wallet of a trainer's account (the payer), and the node that serves. */
    async function paying(w: InfernetWorld) {
      const owner = w.trainers[3]!;
      const wallet = await w.createWallet(owner);
      const bob = w.trainers[1]!;
      const as = await wallet.as(owner.wallet);
      return { wallet, as, bob };
    }
    const balance = (w: InfernetWorld, token: Address, who: Address) =>
      token === ETH ? w.publicClient.getBalance({ address: who }) : w.erc20.read.balanceOf([who]);

    for (const [label, amount, fee] of [
      ["ETH", parseEther("1"), parseEther("0.1022")],
      ["an ERC-20", 50_000_000n, 5_110_000n],
    ] as const) {
      it(`pays a callback in ${label} from the wallet at delivery when the request was made before the approval`, async () => {
        const w = await load();
        const token = label === "ETH" ? ETH : getAddress(w.erc20.address);
        const { wallet, as, bob } = await paying(w);
        if (token === ETH) await w.admin.wallet.sendTransaction({ to: wallet.address, value: amount });
        else await w.erc20.write.transfer([wallet.address, 100_000_000n]);
        const id = await w.createdId(
          await w.consumer.write.requestCompute([
            MODEL,
            word(1),
            1,
            token,
            amount,
            wallet.address,
            zeroAddress,
          ]),
        );
        await as.write.approve([w.consumer.address, token, token === ETH ? amount : 90_000_000n]);
        const before = [
          await balance(w, token, bob.nodeWallet.address),
          await balance(w, token, w.feeRecipient),
        ];
        await bob.coordinator.write.deliverCompute([id, 1, word(1), word(2), "0x", bob.nodeWallet.address]);
        expect((await balance(w, token, bob.nodeWallet.address)) - before[0]!).to.equal(amount - fee);
        expect((await balance(w, token, w.feeRecipient)) - before[1]!).to.equal(fee);
        expect(await wallet.read.allowance([w.consumer.address, token])).to.equal(
          token === ETH ? 0n : 90_000_000n - amount,
        );
      });
    }

    it("pays a recurring ERC-20 subscription each interval (4,088,000 to the protocol each time)", async () => {
      const w = await load();
      const { wallet, as, bob } = await paying(w);
      await w.erc20.write.transfer([wallet.address, 100_000_000n]);
      const id = await w.createdId(
        await w.subConsumer.write.createComputeSubscription([
          MODEL,
          2,
          60,
          1,
          false,
          w.erc20.address,
          40_000_000n,
          wallet.address,
          zeroAddress,
        ]),
      );
      await as.write.approve([w.subConsumer.address, w.erc20.address, 90_000_000n]);
      const s = await w.coordinator.read.getSubscription([id]);
      const charlie = w.trainers[2]!;
      const feesBefore = await w.erc20.read.balanceOf([w.feeRecipient]);
      for (const [i, node] of [bob, charlie].entries()) {
        await conn.networkHelpers.time.setNextBlockTimestamp(s.activeAt + i * 60);
        await node.coordinator.write.deliverCompute([id, i + 1, "0x", word(1), "0x", bob.nodeWallet.address]);
      }
      expect(await w.erc20.read.balanceOf([wallet.address])).to.equal(20_000_000n);
      expect((await w.erc20.read.balanceOf([w.feeRecipient])) - feesBefore).to.equal(2n * 4_088_000n);
      expect(await wallet.read.allowance([w.subConsumer.address, w.erc20.address])).to.equal(10_000_000n);
    });

    it("refuses a delivery the wallet does not allow: no allowance, or a partial one, with Infernet's error", async () => {
      const w = await load();
      const { wallet, as, bob } = await paying(w);
      await w.admin.wallet.sendTransaction({ to: wallet.address, value: parseEther("1") });
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          parseEther("1"),
          wallet.address,
          zeroAddress,
        ]),
      );
      const deliver = () =>
        bob.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", bob.nodeWallet.address]);
      await revert(deliver(), as, "InsufficientAllowance");
      await as.write.approve([w.consumer.address, ETH, parseEther("1") - 1n]);
      await revert(deliver(), as, "InsufficientAllowance");
    });

    it("refuses a verified delivery the node's wallet cannot back: not approved, or short of the collateral", async () => {
      const w = await load();
      await w.optimistic.write.setFee([ETH, true, 0n]);
      const bob = w.trainers[1]!;
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          word(1),
          1,
          ETH,
          parseEther("1"),
          w.consumerWallet.address,
          w.optimistic.address,
        ]),
      );
      const nodeWallet = await bob.nodeWallet.as(bob.wallet);
      await nodeWallet.write.approve([bob.address, ETH, 0n]);
      const deliver = () =>
        bob.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", bob.nodeWallet.address]);
      await revert(deliver(), nodeWallet, "InsufficientAllowance");
      await nodeWallet.write.approve([bob.address, ETH, maxUint256]);
      await nodeWallet.write.withdraw([ETH, await bob.nodeWallet.read.unlockedBalance([ETH])]);
      await revert(deliver(), nodeWallet, "InsufficientFunds");
    });

    it("pays a verified delivery even after the subscription was cancelled, and serves other subscriptions meanwhile", async () => {
      const w = await load();
      await w.optimistic.write.setFee([ETH, true, parseEther("0.1")]);
      const [A, B] = w.trainers;
      const verified = await w.createdId(
        await w.subConsumer.write.createComputeSubscription([
          MODEL,
          1,
          0,
          1,
          true,
          ETH,
          parseEther("1"),
          w.consumerWallet.address,
          w.optimistic.address,
        ]),
      );
      await A!.coordinator.write.deliverCompute([verified, 1, "0x", word(1), "0x", A!.nodeWallet.address]);
      // other subscriptions are served while the proof is pending
      for (const id of [await request(w), await subscribe(w, 1, 0)])
        await B!.coordinator.write.deliverCompute([id, 1, "0x", word(1), "0x", zeroAddress]);
      await w.subConsumer.write.cancelComputeSubscription([verified]);
      const before = await w.publicClient.getBalance({ address: A!.nodeWallet.address });
      await w.optimistic.write.settle([verified, 1, A!.address, true]);
      // 1 ETH - 2 x 5.11% to the protocol - the verifier's 0.1 ETH
      const protocol = (parseEther("1") * 2n * BigInt(FEE_BPS)) / 10_000n;
      expect((await w.publicClient.getBalance({ address: A!.nodeWallet.address })) - before).to.equal(
        parseEther("1") - protocol - parseEther("0.1"),
      );
      await revert(
        w.optimistic.write.settle([verified, 1, B!.address, true]),
        w.coordinator,
        "ProofRequestNotFound",
      );
    });
  });

  describe("EIP712Coordinator", () => {
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

    it("refuses a new signature from a replaced signer, keeps what the old one created, and ignores other terms under a used nonce", async () => {
      const w = await load();
      const sub = await subFor(w);
      const expiry = Number(await w.latest()) + 1800;
      const old = await signDelegateSubscription(w, w.delegatee, 0, expiry, sub);
      const id = await w.createdId(
        await w.outsider.coordinator.write.createSubscriptionDelegatee([0, expiry, sub, old.v, old.r, old.s]),
      );
      // the same nonce with other terms (a new signature) returns the subscription first created
      const other = await signDelegateSubscription(w, w.delegatee, 0, expiry, { ...sub, redundancy: 5 });
      const { result } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
        0,
        expiry,
        { ...sub, redundancy: 5 },
        other.v,
        other.r,
        other.s,
      ]);
      expect(result).to.equal(id);
      expect((await w.coordinator.read.getSubscription([id])).redundancy).to.equal(1);
      // an existing subscription is found with any signature, even an empty one
      const { result: found } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
        0,
        0,
        sub,
        0,
        `0x${"0".repeat(64)}`,
        `0x${"0".repeat(64)}`,
      ]);
      expect(found).to.equal(id);
      await w.consumer.write.setSigner([w.outsider.address]);
      const fresh = await signDelegateSubscription(w, w.delegatee, 1, expiry, sub);
      await revert(
        w.outsider.coordinator.write.createSubscriptionDelegatee([1, expiry, sub, fresh.v, fresh.r, fresh.s]),
        w.coordinator,
        "SignerMismatch",
      );
    });

    it("takes nonces in any order and remembers the highest", async () => {
      const w = await load();
      const sub = await subFor(w);
      const expiry = Number(await w.latest()) + 1800;
      const create = async (nonce: number) => {
        const sig = await signDelegateSubscription(w, w.delegatee, nonce, expiry, sub);
        const { result } = await w.outsider.coordinator.simulate.createSubscriptionDelegatee([
          nonce,
          expiry,
          sub,
          sig.v,
          sig.r,
          sig.s,
        ]);
        await w.outsider.coordinator.write.createSubscriptionDelegatee([
          nonce,
          expiry,
          sub,
          sig.v,
          sig.r,
          sig.s,
        ]);
        return result;
      };
      const ten = await create(10);
      expect(await w.coordinator.read.maxSubscriberNonce([w.consumer.address])).to.equal(10);
      const one = await create(1);
      expect(one).to.equal(ten + 1);
      expect(await w.coordinator.read.maxSubscriberNonce([w.consumer.address])).to.equal(10);
      expect(await create(10)).to.equal(ten);
    });

    it("lets the owner cancel a delegated subscription, and delivers a lazy one atomically into the Inbox", async () => {
      const w = await load();
      const [A] = w.trainers;
      const sub = await subFor(w, { owner: getAddress(w.subConsumer.address), lazy: true });
      const expiry = Number(await w.latest()) + 1800;
      const sig = await signDelegateSubscription(w, w.delegatee, 0, expiry, sub);
      await A!.coordinator.write.deliverComputeDelegatee([
        0,
        expiry,
        sub,
        sig.v,
        sig.r,
        sig.s,
        1,
        word(1),
        word(2),
        word(3),
        zeroAddress,
      ]);
      const id = (await w.coordinator.read.id()) - 1;
      const item = await w.inbox.read.read([containerHash(MODEL), A!.address, 0n]);
      expect([item.subscriptionId, item.interval, item.input, item.output, item.proof]).to.deep.equal([
        id,
        1,
        word(1),
        word(2),
        word(3),
      ]);
      expect(await w.coordinator.read.nodeResponded([nodeKey(id, 1, A!.address)])).to.equal(true);
      await w.subConsumer.write.cancelComputeSubscription([id]);
      expect((await w.coordinator.read.getSubscription([id])).activeAt).to.equal(UINT32_MAX);
    });

    it("creates nothing when an unallowed node delivers a delegated subscription atomically; an allowed node can", async () => {
      const w = await load();
      const [A, B] = w.trainers;
      const app = await w.viem.deployContract("TestAllowlistConsumer", [w.registry.address, [A!.address]]);
      await app.write.setSigner([w.delegatee.account.address]);
      const sub = await subFor(w, {
        owner: getAddress(app.address),
        containerId: containerHash("allowlisted"),
      });
      const expiry = Number(await w.latest()) + 1800;
      const sig = await signDelegateSubscription(w, w.delegatee, 0, expiry, sub);
      const args = [0, expiry, sub, sig.v, sig.r, sig.s, 1, "0x", word(1), "0x", zeroAddress] as const;
      const next = await w.coordinator.read.id();
      await revert(B!.coordinator.write.deliverComputeDelegatee([...args]), app, "NodeNotAllowed");
      expect(await w.coordinator.read.id()).to.equal(next);
      await A!.coordinator.write.deliverComputeDelegatee([...args]);
      expect([await w.coordinator.read.id(), await app.read.received()]).to.deep.equal([next + 1, 1n]);
    });
  });

  describe("end to end, as Infernet's BalanceScale example", () => {
    const SECRET = keccak256(toHex("prover"));
    const inputs = [1n, 5n, 2n, 2n] as const;
    const encoded = encodeAbiParameters([{ type: "int256[4]" }], [inputs]);
    const inputHash = keccak256(encoded);
    const proofOf = (prediction: bigint, hash: Hex = inputHash) =>
      encodeAbiParameters(
        [{ type: "int256" }, { type: "bytes32" }],
        [
          prediction,
          keccak256(
            encodeAbiParameters(
              [{ type: "bytes32" }, { type: "int256" }, { type: "bytes32" }],
              [hash, prediction, SECRET],
            ),
          ),
        ],
      );

    for (const lazy of [false, true]) {
      it(`pushes inputs, delivers with a proof the consumer checks (${lazy ? "lazy" : "eager"}), and refuses wrong inputs and proofs`, async () => {
        const w = await load();
        // about 600k gas of proof checking in the callback, as a zk verifier takes
        const checker = await w.viem.deployContract("TestProofChecker", [SECRET, 15_000n]);
        const app = await w.viem.deployContract("TestPredictionConsumer", [
          w.registry.address,
          checker.address,
        ]);
        const id = await w.createdId(await app.write.initiatePrediction([[...inputs], lazy]));
        expect(await app.read.getContainerInputs([id, 0, 0, zeroAddress])).to.equal(encoded);
        const [A, B] = w.trainers;
        const input = encodeAbiParameters([{ type: "bytes32" }], [inputHash]);
        const wrongInput = encodeAbiParameters([{ type: "bytes32" }], [keccak256("0x")]);
        await revert(
          B!.coordinator.write.deliverCompute(
            [id, 1, wrongInput, toHex("any"), proofOf(0n, keccak256("0x")), zeroAddress],
            {
              gas: 3_000_000n,
            },
          ),
          app,
          "InputsIncorrect",
        );
        await revert(
          B!.coordinator.write.deliverCompute(
            [id, 1, input, toHex("any"), proofOf(1n, keccak256("0x01")), zeroAddress],
            {
              gas: 3_000_000n,
            },
          ),
          app,
          "ProofIncorrect",
        );
        const tx = await A!.coordinator.write.deliverCompute(
          [id, 1, input, toHex("really,any,response,here"), proofOf(0n), zeroAddress],
          { gas: 3_000_000n },
        );
        expect((await w.receipt(tx)).gasUsed > 600_000n).to.equal(true);
        expect(await app.read.predictions([id])).to.equal(0n);
        expect(await w.inbox.read.count([containerHash("prediction"), A!.address])).to.equal(lazy ? 1n : 0n);
      });
    }
  });
});
