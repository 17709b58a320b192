import { expect } from "chai";
import { getAddress, type Address, type Hex } from "viem";
import { encodeInferenceInput, infer } from "../../sdk/src/compute/index.js";
import {
  PoAIContractError,
  PoAIInputError,
  checkOutput,
  classifierConsumerAbi,
  containerIdOf,
  intervalAt,
  subscriptionPhase,
} from "../../sdk/src/index.js";
import {
  DISPUTE_WINDOW,
  ETH,
  MODEL,
  MODEL_ID,
  MODEL_SPEC,
  PRICE,
  connectInference,
  modelOutput,
  vector,
  wrongOutput,
  type InferenceFixture,
} from "./inference-fixture.js";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

async function contractError(p: Promise<unknown>, name: string): Promise<PoAIContractError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIContractError);
  expect((err as PoAIContractError).errorName).to.equal(name);
  return err as PoAIContractError;
}

async function inputError(p: Promise<unknown> | (() => unknown), field: string): Promise<void> {
  let err: Error;
  if (typeof p === "function") {
    try {
      p();
      throw new Error("expected a throw");
    } catch (e) {
      err = e as Error;
    }
  } else err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIInputError);
  expect((err as PoAIInputError).field).to.equal(field);
}

const INPUT = vector(12, -7, 33, 0, 5, -64, 90, 1);

describe("@poai/sdk inference actions", function () {
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;

  before(async () => {
    net = await connectInference();
  });
  beforeEach(async () => {
    f = await net.load();
  });

  /** The dApp asks the classifier for `input` (paid in the staking token, verified or not). */
  async function classify(input: Int8Array, verified: boolean): Promise<number> {
    const dapp = f.client(4);
    await f.classifier.write.setPayment(
      [f.d.token.address, PRICE, f.dappWallet, verified ? f.inf.verifier.address : ETH],
      { account: f.wallets[4]!.account },
    );
    const hash = await f.wallets[4]!.writeContract({
      address: f.classifier.address,
      abi: classifierConsumerAbi,
      functionName: "classify",
      args: [encodeInferenceInput(input)],
      account: f.wallets[4]!.account,
      chain: f.wallets[4]!.chain,
    });
    const receipt = await dapp.waitForTransaction(hash);
    return dapp.inference.subscriptionIdFromLogs({ logs: receipt.logs });
  }

  /** Trainer `i` delivers `output` for the classification `id`. */
  async function deliver(i: number, id: number, input: Int8Array, output: Hex) {
    const c = f.client(i);
    return f.mined(
      c,
      c.inference.deliverCompute({
        subscriptionId: id,
        interval: 1,
        input: encodeInferenceInput(input),
        output,
        nodeWallet: f.nodeWallets[i - 1]!,
      }),
    );
  }

  describe("models", () => {
    it("reads the registered model under its Infernet container id, by string or hash", async () => {
      const c = f.client(5);
      const byName = await c.inference.getModel({ containerId: MODEL });
      const byHash = await c.inference.getModel({ containerId: MODEL_ID });
      expect(byName).to.deep.equal(byHash);
      expect(byName.trainer).to.equal(f.address(1));
      expect(byName.widths).to.deep.equal(MODEL_SPEC.widths);
      expect(byName.weightsHash).to.equal(f.model.weightsHash);
      expect(byName.active).to.equal(true);
      expect(byName.challengeId).to.match(/^0x0{64}$/);
      // not bound to a challenge: its royalties need (and here have) governance's approval
      expect([byName.approved, byName.royaltyRecipient, byName.generation]).to.deep.equal([
        true,
        f.address(1),
        0,
      ]);
      expect(await c.inference.isModelActive({ containerId: MODEL })).to.equal(true);
      const unknown = await c.inference.getModel({ containerId: "nobody-registered-this" });
      expect(unknown.trainer).to.match(/^0x0{40}$/);
    });

    it("registers, deactivates and refuses a second registration with decoded errors", async () => {
      const c = f.client(2);
      const receipt = await f.mined(
        c,
        c.inference.registerModel({
          containerId: "second-model",
          widths: [8, 4],
          weightsHash: `0x${"ab".repeat(32)}`,
        }),
      );
      const [ev] = c.inference.parseModelEvents({ logs: receipt.logs, eventName: "ModelRegistered" });
      expect((ev!.args as { containerId: Hex }).containerId).to.equal(containerIdOf("second-model"));
      const err = await contractError(
        c.inference.registerModel({
          containerId: "second-model",
          widths: [8, 4],
          weightsHash: `0x${"cd".repeat(32)}`,
        }),
        "ModelAlreadyRegistered",
      );
      expect(err.message).to.contain(containerIdOf("second-model"));
      await contractError(
        f.client(1).inference.deactivateModel({ containerId: "second-model" }),
        "NotModelTrainer",
      );
      await f.mined(c, c.inference.deactivateModel({ containerId: "second-model" }));
      expect(await c.inference.isModelActive({ containerId: "second-model" })).to.equal(false);
      const past = await c.inference.getModelEvents({ eventName: "ModelStatusChanged" });
      expect(past.length).to.be.greaterThanOrEqual(3);
    });

    it("names the field of bad model input before anything is sent", async () => {
      const c = f.client(2);
      await inputError(
        c.inference.registerModel({ containerId: "", widths: [8, 4], weightsHash: f.model.weightsHash }),
        "containerId",
      );
      await inputError(
        c.inference.registerModel({ containerId: "m", widths: [8], weightsHash: f.model.weightsHash }),
        "widths",
      );
      await inputError(
        c.inference.registerModel({ containerId: "m", widths: [8, 0], weightsHash: f.model.weightsHash }),
        "widths[1]",
      );
      await inputError(
        c.inference.registerModel({ containerId: "m", widths: [8, 4], weightsHash: `0x${"0".repeat(64)}` }),
        "weightsHash",
      );
      await inputError(
        c.inference.registerTrainedModel({
          containerId: "m",
          weightsHash: f.model.weightsHash,
          parameterRoot: f.model.weightsHash,
          challengeId: "0x12",
          proof: [],
        }),
        "challengeId",
      );
      await inputError(
        c.inference.registerTrainedModel({
          containerId: "m",
          weightsHash: f.model.weightsHash,
          parameterRoot: "0x34",
          challengeId: `0x${"12".repeat(32)}`,
          proof: [],
        }),
        "parameterRoot",
      );
      // Only an active trainer registers: the dApp is refused by the contract, decoded.
      await contractError(
        f
          .client(4)
          .inference.registerModel({ containerId: "m", widths: [8, 4], weightsHash: f.model.weightsHash }),
        "NotActiveTrainer",
      );
    });
  });

  describe("subscriptions and deliveries", () => {
    it("a paid classification is delivered, read back, and recorded as usage of the model and the node", async () => {
      const id = await classify(INPUT, false);
      const c = f.client(5);
      const sub = await c.inference.getSubscription({ subscriptionId: id });
      expect(sub.owner).to.equal(getAddress(f.classifier.address));
      expect(sub.containerId).to.equal(MODEL_ID);
      expect(sub.paymentAmount).to.equal(PRICE);
      const now = (await f.publicClient.getBlock()).timestamp;
      expect(subscriptionPhase(sub, now)).to.equal("active");
      expect(intervalAt(sub, now)).to.equal(1);
      expect((await c.inference.getCurrentInterval({ subscriptionId: id })).interval).to.equal(1);
      expect(await c.inference.getEscrow({ subscriptionId: id })).to.equal(PRICE);
      const input = await c.inference.getContainerInputs({
        consumer: f.classifier.address,
        subscriptionId: id,
        interval: 1,
        timestamp: now,
        caller: f.address(1),
      });
      expect(input).to.equal(encodeInferenceInput(INPUT));

      const seen: number[] = [];
      const stop = c.inference.watchDeliveries({
        subscriptionId: id,
        pollingInterval: 20,
        onDelivery: (e) => seen.push(Number((e.args as { id: number }).id)),
      });
      const output = modelOutput(f.model.weights, INPUT);
      await c.inference.simulateDeliverCompute({
        subscriptionId: id,
        interval: 1,
        input: encodeInferenceInput(INPUT),
        output,
        nodeWallet: f.nodeWallets[1]!,
        node: f.address(2),
      });
      await deliver(2, id, INPUT, output);
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      expect(seen).to.deep.equal([id]);
      expect(
        await c.inference.hasNodeResponded({ subscriptionId: id, interval: 1, node: f.address(2) }),
      ).to.equal(true);
      expect(await c.inference.getRedundancyCount({ subscriptionId: id, interval: 1 })).to.equal(1);
      const [count] = await c.inference.readRedundancyCounts({ ids: [id], intervals: [1] });
      expect(count).to.equal(1);
      const answer = await f.classifier.read.answers([id]);
      expect(answer[0]).to.equal(true);
      expect(answer[1]).to.equal(infer(MODEL_SPEC, f.model.weights, INPUT).label);
      expect(answer[2]).to.equal(f.address(2));

      const epoch = await c.inference.getUsageEpoch();
      expect(await c.inference.getUsage({ node: f.address(2), containerId: MODEL })).to.deep.equal({
        epoch,
        deliveries: 1n,
        pendingFees: PRICE,
      });
      // The staking-token payment waits for the RewardDistributor, split between node and model trainer.
      expect(await c.inference.getPendingUsageFees({ node: f.address(2), containerId: MODEL })).to.equal(
        PRICE,
      );
      const totalBefore = await f.d.distributor.read.totalFees();
      await f.mined(c, c.inference.flushUsageFees({ node: f.address(2), containerId: MODEL }));
      expect((await f.d.distributor.read.totalFees()) - totalBefore).to.equal(PRICE);
      const p = await f.d.distributor.read.params();
      const feeEpoch = await f.d.staking.read.currentEpoch();
      expect(await f.d.staking.read.poolRewardAt([f.address(2), feeEpoch])).to.equal(
        (PRICE * BigInt(p.nodeFeeBps)) / 10_000n,
      );
      expect(await f.d.staking.read.poolRewardAt([f.address(1), feeEpoch])).to.equal(
        (PRICE * BigInt(p.royaltyBps)) / 10_000n,
      );
      await contractError(
        c.inference.flushUsageFees({ node: f.address(2), containerId: MODEL_ID }),
        "NothingToFlush",
      );
      // A second delivery of a full interval is refused, decoded, before anything is signed.
      await contractError(deliver(3, id, INPUT, output), "IntervalCompleted");
    });

    it("creates, reads and cancels a recurring subscription directly, with its escrow", async () => {
      const dapp = f.client(4);
      const features = vector(1, 2, 3, 4, 5, 6, 7, 8);
      await f.predictor.write.setFeatures([encodeInferenceInput(features)], {
        account: f.wallets[4]!.account,
      });
      await f.predictor.write.start(
        [3, 60, f.d.token.address, PRICE, f.dappWallet, "0x0000000000000000000000000000000000000000"],
        {
          account: f.wallets[4]!.account,
        },
      );
      const id = Number(await f.predictor.read.subscriptionId());
      const sub = await dapp.inference.getSubscription({ subscriptionId: id });
      expect([sub.frequency, sub.period, sub.redundancy]).to.deep.equal([3, 60, 1]);
      const [read] = await dapp.inference.readSubscriptions({ startId: id, endId: id + 1 });
      expect(read!.id).to.equal(id);
      // Interval 2's input is the features rotated by 2.
      const now = (await f.publicClient.getBlock()).timestamp;
      const in2 = await dapp.inference.getContainerInputs({
        consumer: f.predictor.address,
        subscriptionId: id,
        interval: 2,
        timestamp: now,
        caller: f.address(1),
      });
      expect(in2).to.equal(encodeInferenceInput(vector(3, 4, 5, 6, 7, 8, 1, 2)));
      expect(await dapp.inference.getSubscriptionCount()).to.be.greaterThanOrEqual(id);
      await f.predictor.write.stop({ account: f.wallets[4]!.account });
      const cancelled = await dapp.inference.getSubscription({ subscriptionId: id });
      expect(subscriptionPhase(cancelled, now)).to.equal("cancelled");
      // Only the owner may cancel: the dApp account is not the owner (the predictor is).
      await contractError(dapp.inference.cancelSubscription({ subscriptionId: id }), "NotSubscriptionOwner");
    });

    it("creates and cancels a subscription owned by the sender, and names the field of bad subscription input", async () => {
      const c = f.client(5);
      const receipt = await f.mined(
        c,
        c.inference.createSubscription({ containerId: MODEL, frequency: 1, period: 0, redundancy: 1 }),
      );
      const id = c.inference.subscriptionIdFromLogs({ logs: receipt.logs });
      expect((await c.inference.getSubscription({ subscriptionId: id })).owner).to.equal(f.address(5));
      await f.mined(c, c.inference.cancelSubscription({ subscriptionId: id }));
      await inputError(
        c.inference.createSubscription({ containerId: "", frequency: 1, period: 0, redundancy: 1 }),
        "containerId",
      );
      await inputError(
        c.inference.createSubscription({ containerId: MODEL, frequency: 2, period: 0, redundancy: 1 }),
        "period",
      );
      await inputError(
        c.inference.createSubscription({ containerId: MODEL, frequency: 1, period: 0, redundancy: 0 }),
        "redundancy",
      );
      await inputError(
        c.inference.createSubscription({
          containerId: MODEL,
          frequency: 1,
          period: 0,
          redundancy: 1,
          paymentAmount: 1n,
        }),
        "wallet",
      );
      await inputError(c.inference.getSubscription({ subscriptionId: -1 }), "subscriptionId");
      await inputError(c.inference.getUsage({ node: "0x12" as Address, containerId: MODEL }), "node");
    });

    it("a delegated (EIP-712) subscription is created from the consumer signer's signature", async () => {
      const signer = f.client(6);
      const consumer = await net.viem.deployContract("TestSubscriptionConsumer", [
        f.inf.registry.address,
        f.address(6),
      ]);
      const now = Number((await f.publicClient.getBlock()).timestamp);
      const subscription = {
        owner: consumer.address,
        activeAt: now + 10,
        period: 60,
        frequency: 2,
        redundancy: 1,
        containerId: MODEL_ID,
        lazy: false,
        verifier: "0x0000000000000000000000000000000000000000" as Address,
        paymentAmount: 0n,
        paymentToken: "0x0000000000000000000000000000000000000000" as Address,
        wallet: "0x0000000000000000000000000000000000000000" as Address,
      };
      const typed = signer.inference.delegatedSubscriptionTypedData({
        nonce: 1,
        expiry: now + 3600,
        subscription,
      });
      expect(typed.domain.verifyingContract).to.equal(getAddress(f.inf.coordinator.address));
      const signed = await signer.inference.signSubscription({ nonce: 1, expiry: now + 3600, subscription });
      const relayer = f.client(5);
      const receipt = await f.mined(relayer, relayer.inference.createSubscriptionDelegatee({ signed }));
      const id = relayer.inference.subscriptionIdFromLogs({ logs: receipt.logs });
      const sub = await relayer.inference.getSubscription({ subscriptionId: id });
      expect(sub.owner).to.equal(getAddress(consumer.address));
      expect(sub.frequency).to.equal(2);
      // A signature by anyone but the consumer's signer is refused, decoded.
      const forged = await f
        .client(5)
        .inference.signSubscription({ nonce: 2, expiry: now + 3600, subscription });
      await contractError(
        relayer.inference.createSubscriptionDelegatee({ signed: forged }),
        "SignerMismatch",
      );
      // Replaying the same nonce returns the same subscription, not a new one.
      await f.mined(relayer, relayer.inference.createSubscriptionDelegatee({ signed }));
      expect(await relayer.inference.getSubscriptionCount()).to.equal(id);
    });
  });

  describe("verified deliveries and disputes", () => {
    it("a wrong output is proven by a dispute with the checkpoint: the node is slashed, the consumer refunded", async () => {
      const id = await classify(INPUT, true);
      const liar = f.client(3);
      const bad = wrongOutput(f.model.weights, INPUT);
      const walletBefore = await f.d.token.read.balanceOf([f.dappWallet]);
      const receipt = await deliver(3, id, INPUT, bad);
      const [req] = liar.inference.parseVerifierEvents({
        logs: receipt.logs,
        eventName: "OutputVerificationRequested",
      });
      const a = req!.args as { containerId: Hex; input: Hex; output: Hex };
      expect(a.output).to.equal(bad);
      const pending = await liar.inference.getOutputVerification({
        subscriptionId: id,
        interval: 1,
        node: f.address(3),
      });
      expect(pending.status).to.equal("pending");
      expect(pending.deadline).to.equal(
        BigInt((await f.publicClient.getBlock()).timestamp) + BigInt(DISPUTE_WINDOW),
      );
      expect(
        (await liar.inference.getProofRequest({ subscriptionId: id, interval: 1, node: f.address(3) }))
          .consumerEscrowed,
      ).to.equal(PRICE);

      const check = checkOutput({
        widths: MODEL_SPEC.widths,
        checkpoint: f.model.checkpoint,
        input: a.input,
        output: a.output,
        weightsHash: f.model.weightsHash,
      });
      expect(check.correct).to.equal(false);
      expect(check.expected).to.equal(modelOutput(f.model.weights, INPUT));
      // Finalizing inside the window is refused.
      await contractError(
        f.client(5).inference.finalizeOutput({ subscriptionId: id, interval: 1, node: f.address(3) }),
        "DisputeWindowOpen",
      );
      // A dispute with other weights is refused.
      const other = Uint8Array.from(f.model.checkpoint);
      other[10] ^= 1;
      await contractError(
        f.client(5).inference.disputeOutput({
          subscriptionId: id,
          interval: 1,
          node: f.address(3),
          ...a,
          checkpoint: other,
        }),
        "WeightsMismatch",
      );

      const stakeBefore = (await f.client(5).staking.getOperator({ operator: f.address(3) })).selfStake;
      const disputed = await f.mined(
        f.client(5),
        f.client(5).inference.disputeOutput({
          subscriptionId: id,
          interval: 1,
          node: f.address(3),
          ...a,
          checkpoint: f.model.checkpoint,
        }),
      );
      expect(
        f.client(5).inference.parseVerifierEvents({ logs: disputed.logs, eventName: "OutputDisputed" }),
      ).to.have.length(1);
      expect(
        (await liar.inference.getOutputVerification({ subscriptionId: id, interval: 1, node: f.address(3) }))
          .status,
      ).to.equal("invalid");
      expect(
        (await f.client(5).staking.getOperator({ operator: f.address(3) })).selfStake < stakeBefore,
      ).to.equal(true);
      // The consumer's wallet got its payment back plus the node's collateral.
      expect((await f.d.token.read.balanceOf([f.dappWallet])) - walletBefore).to.equal(PRICE);
      await contractError(
        f.client(5).inference.disputeOutput({
          subscriptionId: id,
          interval: 1,
          node: f.address(3),
          ...a,
          checkpoint: f.model.checkpoint,
        }),
        "NotPending",
      );
      const events = await f.client(5).inference.getVerifierEvents({ eventName: "OutputDisputed" });
      expect(events).to.have.length(1);
    });

    it("a correct output cannot be disputed and is finalized after the window, paying the node", async () => {
      const id = await classify(INPUT, true);
      const good = modelOutput(f.model.weights, INPUT);
      await deliver(2, id, INPUT, good);
      const c = f.client(5);
      const key = { subscriptionId: id, interval: 1, node: f.address(2) };
      await contractError(
        c.inference.disputeOutput({
          ...key,
          containerId: MODEL_ID,
          input: encodeInferenceInput(INPUT),
          output: good,
          checkpoint: f.model.checkpoint,
        }),
        "OutputCorrect",
      );
      const epoch = await c.inference.getUsageEpoch();
      expect((await c.inference.getUsage({ node: f.address(2), containerId: MODEL })).deliveries).to.equal(
        0n,
      );
      await net.networkHelpers.time.increase(DISPUTE_WINDOW);
      await f.mined(c, c.inference.finalizeOutput(key));
      expect((await c.inference.getOutputVerification(key)).status).to.equal("valid");
      expect(await c.inference.getUsage({ node: f.address(2), containerId: MODEL })).to.deep.equal({
        epoch,
        deliveries: 1n,
        pendingFees: PRICE,
      });
      expect(await c.inference.getOutputVerifierParams()).to.deep.equal({
        disputeWindow: DISPUTE_WINDOW,
        slashFraction: f.inf.verifierParams.slashFraction,
        jail: true,
      });
      expect(await c.inference.getOutputVerifierFee({ token: f.d.token.address })).to.deep.equal({
        fee: 0n,
        supported: true,
      });
      await inputError(
        () => checkOutput({ widths: [8, 8, 4], checkpoint: new Uint8Array(3), input: "0x", output: "0x" }),
        "checkpoint",
      );
      await inputError(c.inference.finalizeOutput({ ...key, node: "0x1234" as Address }), "node");
    });

    it("a delivery for a deactivated model is refused by the verifier, decoded", async () => {
      const id = await classify(INPUT, true);
      await f.mined(f.client(1), f.client(1).inference.deactivateModel({ containerId: MODEL }));
      await contractError(deliver(2, id, INPUT, modelOutput(f.model.weights, INPUT)), "ModelNotActive");
    });
  });
});
