import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeAbiParameters, getAddress, type Address, type Hash, type Hex } from "viem";
import { encodeInferenceInput, infer } from "../../sdk/src/compute/index.js";
import { classifierConsumerAbi, type DeliveryArgs } from "../../sdk/src/index.js";
import {
  HttpContainer,
  InferenceNode,
  PoAIModelContainer,
  type ContainerDelivery,
  type ContainerJob,
  type DeliveryRecord,
  type ResolvedPipeline,
  type ServedContainer,
} from "../../sdk/src/node/index.js";
import {
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
} from "../sdk/inference-fixture.js";

/** A node whose container lies: every output is the model's with one score moved. */
class LyingNode extends InferenceNode {
  static weights: Int16Array;
  protected override async runContainer(c: ResolvedPipeline, job: ContainerJob): Promise<ContainerDelivery> {
    const honest = await super.runContainer(c, job);
    const input = Int8Array.from(Buffer.from(job.input.slice(2), "hex"), (v) => (v << 24) >> 24);
    return { ...honest, output: wrongOutput(LyingNode.weights, input) };
  }
}

/** A node that dies right after its delivery is sent, before it records the transaction. */
class CrashAfterSend extends InferenceNode {
  static crashes = 0;
  protected override async sendDelivery(args: DeliveryArgs): Promise<Hash> {
    const hash = await super.sendDelivery(args);
    CrashAfterSend.crashes++;
    throw new Error(`crash after sending ${hash}`);
  }
}

/** A node that dies once its output is on disk, before anything is sent. */
class CrashAfterRun extends InferenceNode {
  protected override onOutputPersisted(_d: DeliveryRecord): void {
    throw new Error("crash after the output was stored");
  }
}

describe("inference node end to end", function () {
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;
  let dir: string;
  const nodes: InferenceNode[] = [];
  let runs = 0;

  before(async () => {
    net = await connectInference();
  });
  beforeEach(async () => {
    f = await net.load();
    dir = mkdtempSync(path.join(tmpdir(), "poai-inference-"));
    runs = 0;
    LyingNode.weights = f.model.weights;
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The built-in container serving the registered model, counting its runs. */
  async function modelContainer(): Promise<ServedContainer> {
    const container = await PoAIModelContainer.load({
      id: MODEL,
      widths: MODEL_SPEC.widths,
      checkpoint: f.model.checkpoint,
      weightsHash: f.model.weightsHash,
    });
    const run = container.run.bind(container);
    container.run = (job) => {
      runs++;
      return run(job);
    };
    return { container, acceptedPayments: { [f.d.token.address]: PRICE } };
  }

  async function startNode<N extends typeof InferenceNode>(
    Kind: N,
    trainer: number,
    containers: ServedContainer[],
    db = `node-${trainer}.sqlite`,
  ): Promise<InstanceType<N>> {
    const node = (await Kind.create({
      client: f.client(trainer),
      databasePath: path.join(dir, db),
      containers,
      paymentWallet: f.nodeWallets[trainer - 1]!,
      logLevel: "silent",
    })) as InstanceType<N>;
    nodes.push(node);
    return node;
  }

  /** The dApp asks the ClassifierConsumer for `input`; returns the subscription id. */
  async function classify(input: Int8Array, verifier: Address = ETH): Promise<number> {
    const dapp = f.wallets[4]!;
    await f.classifier.write.setPayment([f.d.token.address, PRICE, f.dappWallet, verifier], {
      account: dapp.account,
    });
    const hash = await dapp.writeContract({
      address: f.classifier.address,
      abi: classifierConsumerAbi,
      functionName: "classify",
      args: [encodeInferenceInput(input)],
      account: dapp.account,
      chain: dapp.chain,
    });
    const receipt = await f.client(4).waitForTransaction(hash);
    return f.client(4).inference.subscriptionIdFromLogs({ logs: receipt.logs });
  }

  const fulfilled = async (id: number) =>
    (await f.client(5).inference.getEvents({ eventName: "SubscriptionFulfilled", args: { id } })).length;

  it("a classification is delivered by the built-in container, stored by the consumer, paid and recorded as usage; fees reach the RewardDistributor", async () => {
    const node = await startNode(InferenceNode, 2, [await modelContainer()]);
    const input = vector(12, -7, 33, 0, 5, -64, 90, 1);
    const id = await classify(input);
    const nodeWalletBefore = await f.d.token.read.balanceOf([f.nodeWallets[1]!]);
    await node.tick();

    const answer = await f.classifier.read.answers([id]);
    expect(answer).to.deep.equal([true, infer(MODEL_SPEC, f.model.weights, input).label, f.address(2)]);
    expect(node.delivery(id, 1)?.state).to.equal("delivered");
    expect(node.delivery(id, 1)?.output).to.equal(modelOutput(f.model.weights, input));
    const c = f.client(5);
    const epoch = await c.inference.getUsageEpoch();
    expect(await c.inference.getUsage({ node: f.address(2), containerId: MODEL })).to.deep.equal({
      epoch,
      deliveries: 1n,
      pendingFees: PRICE,
    });
    // Paid in the staking token: a usage fee for the pools, not a transfer to the node wallet.
    expect(await f.d.token.read.balanceOf([f.nodeWallets[1]!])).to.equal(nodeWalletBefore);
    const totalBefore = await f.d.distributor.read.totalFees();
    await f.mined(c, c.inference.flushUsageFees({ node: f.address(2), containerId: MODEL }));
    expect((await f.d.distributor.read.totalFees()) - totalBefore).to.equal(PRICE);
    const feeEpoch = await f.d.staking.read.currentEpoch();
    expect((await f.d.staking.read.poolRewardAt([f.address(2), feeEpoch])) > 0n).to.equal(true);
    expect((await f.d.staking.read.poolRewardAt([f.address(1), feeEpoch])) > 0n).to.equal(true);

    // Another tick sends nothing more.
    await node.tick();
    expect(await fulfilled(id)).to.equal(1);
    expect(runs).to.equal(1);
    const status = (await (await fetch(`${node.serverUrl}/status`)).json()) as {
      deliveries: Record<string, number>;
    };
    expect(status.deliveries.delivered).to.equal(1);
    const metrics = await (await fetch(`${node.serverUrl}/metrics`)).text();
    expect(metrics).to.match(/poai_inference_deliveries_total\{result="delivered"\} 1/);
  });

  it("a lying node's verified delivery is proven wrong with the model's checkpoint: slashed, the consumer refunded", async () => {
    const liar = await startNode(LyingNode, 3, [await modelContainer()]);
    const input = vector(1, 2, 3, 4, 5, 6, 7, 8);
    const id = await classify(input, f.inf.verifier.address);
    const walletBefore = await f.d.token.read.balanceOf([f.dappWallet]);
    await liar.tick();
    expect(liar.delivery(id, 1)?.state).to.equal("delivered");

    // A watcher reads the recorded delivery, recomputes it and disputes.
    const watcher = f.client(5);
    const [req] = await watcher.inference.getVerifierEvents({ eventName: "OutputVerificationRequested" });
    const a = req!.args as {
      subscriptionId: number;
      interval: number;
      node: Address;
      containerId: Hex;
      input: Hex;
      output: Hex;
    };
    expect(a.containerId).to.equal(MODEL_ID);
    expect(a.output).to.equal(wrongOutput(f.model.weights, input));
    const stakeBefore = (await watcher.staking.getOperator({ operator: f.address(3) })).selfStake;
    await f.mined(
      watcher,
      watcher.inference.disputeOutput({
        subscriptionId: a.subscriptionId,
        interval: a.interval,
        node: a.node,
        containerId: a.containerId,
        input: a.input,
        output: a.output,
        checkpoint: f.model.checkpoint,
      }),
    );
    expect(
      (await watcher.inference.getOutputVerification({ subscriptionId: id, interval: 1, node: f.address(3) }))
        .status,
    ).to.equal("invalid");
    const after = await watcher.staking.getOperator({ operator: f.address(3) });
    expect(after.selfStake < stakeBefore).to.equal(true);
    // Refunded the payment and paid the node's collateral.
    expect((await f.d.token.read.balanceOf([f.dappWallet])) - walletBefore).to.equal(PRICE);
    // The lying node is jailed: it no longer serves.
    const id2 = await classify(vector(0, 0, 0, 0, 0, 0, 0, 1), f.inf.verifier.address);
    await liar.tick();
    expect(liar.delivery(id2, 1)).to.equal(undefined);
    expect(liar.status().activeTrainer).to.equal(false);
  });

  it("serves a recurring subscription for each of its intervals", async () => {
    const node = await startNode(InferenceNode, 2, [await modelContainer()]);
    const features = vector(5, -5, 10, -10, 20, -20, 40, -40);
    const owner = f.wallets[4]!.account;
    await f.predictor.write.setFeatures([encodeInferenceInput(features)], { account: owner });
    await f.predictor.write.start([3, 60, f.d.token.address, PRICE, f.dappWallet, ETH], { account: owner });
    const id = Number(await f.predictor.read.subscriptionId());
    // A recurring subscription starts one period after its creation (Infernet's activeAt).
    await node.tick();
    expect(node.delivery(id, 1)).to.equal(undefined);
    await net.networkHelpers.time.increase(60);
    for (let interval = 1; interval <= 3; interval++) {
      await node.tick();
      expect(node.delivery(id, interval)?.state, `interval ${interval}`).to.equal("delivered");
      const rotated = Int8Array.from({ length: 8 }, (_, i) => features[(i + interval) % 8]!);
      expect(await f.predictor.read.predictions([interval])).to.equal(modelOutput(f.model.weights, rotated));
      await net.networkHelpers.time.increase(60);
    }
    await node.tick();
    expect(node.subscription(id)?.state).to.equal("completed");
    expect(await fulfilled(id)).to.equal(3);
    const usage = await f.client(5).inference.getUsage({ node: f.address(2), containerId: MODEL });
    expect([usage.epoch, usage.deliveries]).to.deep.equal([await f.client(5).inference.getUsageEpoch(), 3n]);
  });

  it("a crash after sending resumes without a second delivery or a second run", async () => {
    const crashing = await startNode(CrashAfterSend, 2, [await modelContainer()]);
    const id = await classify(vector(9, 8, 7, 6, 5, 4, 3, 2));
    await crashing.tick().catch(() => undefined);
    expect(CrashAfterSend.crashes).to.equal(1);
    expect(crashing.delivery(id, 1)?.state).to.equal("sending");
    await crashing.stop();
    const restarted = await startNode(InferenceNode, 2, [await modelContainer()]);
    await restarted.tick();
    expect(restarted.delivery(id, 1)?.state).to.equal("delivered");
    expect(await fulfilled(id)).to.equal(1);
    expect(runs).to.equal(1);
  });

  it("a crash between running and delivering delivers the stored output once, without running again", async () => {
    const crashing = await startNode(CrashAfterRun, 2, [await modelContainer()]);
    const input = vector(-1, -2, -3, -4, 4, 3, 2, 1);
    const id = await classify(input);
    await crashing.tick().catch(() => undefined);
    expect(crashing.delivery(id, 1)?.state).to.equal("ran");
    expect(await fulfilled(id)).to.equal(0);
    await crashing.stop();
    const restarted = await startNode(InferenceNode, 2, [await modelContainer()]);
    await restarted.tick();
    await restarted.tick();
    expect(await fulfilled(id)).to.equal(1);
    expect(runs).to.equal(1);
    expect((await f.classifier.read.answers([id]))[1]).to.equal(
      infer(MODEL_SPEC, f.model.weights, input).label,
    );
  });

  it("serves an Infernet container over HTTP", async () => {
    const seen: unknown[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: string };
        seen.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            raw_input: "",
            processed_input: "",
            raw_output: "2a".repeat(4),
            processed_output: "",
            proof: "",
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const consumer = await net.viem.deployContract("TestCallbackConsumer", [
        f.inf.registry.address,
        f.address(6),
      ]);
      await consumer.write.setRecord([true]);
      const node = await startNode(InferenceNode, 2, [
        { container: new HttpContainer({ id: "http-echo", url }) },
      ]);
      await consumer.write.requestCompute(["http-echo", "0xabcd", 1, ETH, 0n, ETH, ETH]);
      await node.tick();
      expect(seen).to.have.length(1);
      expect(await consumer.read.received()).to.equal(1n);
      expect(getAddress(await consumer.read.lastNode())).to.equal(f.address(2));
      const [id] = [Number(await consumer.read.lastSubscriptionId())];
      const out = node.delivery(id, 1)!.output!;
      const [raw] = decodeAbiParameters([{ type: "bytes" }, { type: "bytes" }], out);
      expect(raw).to.equal("0x2a2a2a2a");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
