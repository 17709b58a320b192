/**
 * The inference node on redundant subscriptions: a plain one (Infernet's) is served by each node
 * with `deliverCompute`, one delivery per node; one created with commit-reveal is served by a
 * commitment and then a reveal. And a node never sends a delivery its simulation refuses.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEventLogs, zeroAddress } from "viem";
import { encodeInferenceInput } from "../../sdk/src/compute/index.js";
import { coordinatorAbi } from "../../sdk/src/index.js";
import { InferenceNode, PoAIModelContainer } from "../../sdk/src/node/index.js";
import {
  MODEL,
  MODEL_SPEC,
  connectInference,
  modelOutput,
  vector,
  type InferenceFixture,
} from "./inference-fixture.js";

describe("inference node: redundant subscriptions", function () {
  this.timeout(120_000);
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;
  let dir: string;
  const nodes: InferenceNode[] = [];
  before(async () => {
    net = await connectInference();
  });
  beforeEach(async () => {
    f = await net.load();
    dir = mkdtempSync(path.join(tmpdir(), "poai-redundancy-"));
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(trainer: number) {
    const container = await PoAIModelContainer.load({
      id: MODEL,
      widths: MODEL_SPEC.widths,
      checkpoint: f.model.checkpoint,
      weightsHash: f.model.weightsHash,
    });
    const node = await InferenceNode.create({
      client: f.client(trainer),
      databasePath: path.join(dir, `node-${trainer}.sqlite`),
      containers: [{ container }],
      paymentWallet: f.nodeWallets[trainer - 1]!,
      logLevel: "silent",
    });
    nodes.push(node);
    return node;
  }

  /** A free redundant request of the model by a test consumer, with or without commit-reveal. */
  async function request(commitReveal: boolean) {
    const consumer = await net.viem.deployContract("TestCallbackConsumer", [
      f.inf.registry.address,
      f.address(6),
    ]);
    const input = encodeInferenceInput(vector(3, -1, 4, 1, -5, 9, 2, -6));
    const hash = await consumer.write.requestComputeWithOptions([
      MODEL,
      input,
      2,
      zeroAddress,
      0n,
      zeroAddress,
      zeroAddress,
      { commitReveal },
    ]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    const [ev] = parseEventLogs({
      abi: coordinatorAbi,
      logs: receipt.logs,
      eventName: "SubscriptionCreated",
    });
    return { id: ev!.args.id, consumer };
  }

  const called = async (id: number, name: "deliverCompute" | "commitCompute" | "revealCompute") => {
    const logs = await f.publicClient.getContractEvents({
      address: f.inf.coordinator.address,
      abi: coordinatorAbi,
      eventName: name === "commitCompute" ? "ComputeCommitted" : "SubscriptionFulfilled",
      args: { id },
      fromBlock: 0n,
    });
    return logs.length;
  };

  it("serves a plain redundant subscription with deliverCompute from each node, once per node", async () => {
    const { id, consumer } = await request(false);
    const [a, b, c] = [await start(1), await start(2), await start(3)];
    await a.tick();
    await b.tick();
    expect(await called(id, "deliverCompute")).to.equal(2);
    expect(await called(id, "commitCompute")).to.equal(0);
    // the third node finds the interval full and sends nothing
    await c.tick();
    expect(c.delivery(id, 1)?.state).to.equal("skipped");
    expect(await called(id, "deliverCompute")).to.equal(2);
    expect(await consumer.read.lastOutputWord()).to.not.equal(`0x${"0".repeat(64)}`);
    expect(a.delivery(id, 1)?.state).to.equal("delivered");
    expect(b.delivery(id, 1)?.output).to.equal(
      modelOutput(f.model.weights, vector(3, -1, 4, 1, -5, 9, 2, -6)),
    );
  });

  it("commits, then reveals, on a subscription created with commit-reveal", async () => {
    const { id } = await request(true);
    const [a, b] = [await start(1), await start(2)];
    await a.tick(); // commits
    expect(a.delivery(id, 1)?.state).to.equal("committed");
    await b.tick(); // commits: every slot is committed, reveals open
    await a.tick();
    await b.tick();
    expect(await called(id, "commitCompute")).to.equal(2);
    expect(await called(id, "revealCompute")).to.equal(2);
    expect([a.delivery(id, 1)?.state, b.delivery(id, 1)?.state]).to.deep.equal(["delivered", "delivered"]);
  });

  it("does not send a delivery the consumer would refuse: its simulation reverts", async () => {
    const { id, consumer } = await request(false);
    await consumer.write.setMode([1, zeroAddress, "0x"]); // the callback reverts
    const a = await start(1);
    await a.tick();
    expect(a.delivery(id, 1)?.state).to.equal("skipped");
    expect(a.delivery(id, 1)?.error).to.match(/would revert/);
    expect(await called(id, "deliverCompute")).to.equal(0);
  });
});
