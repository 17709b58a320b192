/**
 * The inference node as a drop-in for infernet-node 1.4.0, on the in-process chain with real
 * HTTP containers: the bytes a container written for Infernet lands on chain, consumers that try
 * to stall the node, chained containers, and the REST API spoken to as Infernet's Python client
 * (`infernet_client.NodeClient`) speaks to it.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionData,
  keccak256,
  parseSignature,
  type Hex,
} from "viem";
import { coordinatorAbi, eip712CoordinatorAbi } from "../../sdk/src/abi/index.js";
import { DELEGATEE_SUBSCRIPTION_TYPES } from "../../sdk/src/actions/coordinator.js";
import { HttpContainer, InferenceNode, type ServedContainer } from "../../sdk/src/node/index.js";
import { ETH, connectInference, type InferenceFixture } from "../sdk/inference-fixture.js";

/** Python's repr of the small values these containers see (strings without quotes, ints, bools, dicts). */
function py(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return String(v);
  return `{${Object.entries(v as object)
    .map(([k, x]) => `'${k}': ${py(x)}`)
    .join(", ")}}`;
}

interface Seen {
  url: string;
  body: string;
  json: { source: number; destination: number; data: unknown; requires_proof?: boolean };
}

/**
 * A container answering as Ritual's hello-world does (`{"output": f"hello, world!, your input
 * was: {input}"}`, Python's str() of the request), with a hook to misbehave per request.
 */
async function helloContainer(
  misbehave: (seen: Seen, res: ServerResponse) => boolean | Promise<boolean> = () => false,
) {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (req.url!.endsWith("/service-resources")) {
          res.writeHead(200, { "content-type": "application/json" }).end('{"models": ["hello"]}');
          return;
        }
        const s: Seen = { url: req.url!, body, json: JSON.parse(body) as Seen["json"] };
        seen.push(s);
        if (await misbehave(s, res)) return;
        if (s.json.destination === 2) {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("hello ");
          res.end("stream");
          return;
        }
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ output: `hello, world!, your input was: ${py(s.json)}` }));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const stringOutput = (text: string): Hex => encodeAbiParameters([{ type: "string" }], [text]);

describe("inference node as infernet-node", function () {
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    net = await connectInference();
  });
  beforeEach(async () => {
    f = await net.load();
    dir = mkdtempSync(path.join(tmpdir(), "poai-infernet-"));
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function container(misbehave?: Parameters<typeof helloContainer>[0]) {
    const c = await helloContainer(misbehave);
    cleanup.push(c.close);
    return c;
  }

  async function startNode(
    containers: ServedContainer[],
    extra: Partial<Parameters<typeof InferenceNode.create>[0]> = {},
  ) {
    const node = await InferenceNode.create({
      client: f.client(2),
      databasePath: path.join(dir, "node.sqlite"),
      containers,
      paymentWallet: f.nodeWallets[1]!,
      logLevel: "silent",
      ...extra,
    });
    cleanup.push(() => node.stop());
    return node;
  }

  async function callbackConsumer() {
    const consumer = await net.viem.deployContract("TestCallbackConsumer", [
      f.inf.registry.address,
      f.address(6),
    ]);
    await consumer.write.setRecord([true]);
    return consumer;
  }

  /** A request through a TestCallbackConsumer; returns the subscription id. */
  async function request(
    consumer: { write: { requestCompute: (args: never) => Promise<Hex> } },
    id: string,
    input: Hex,
  ) {
    const hash = await consumer.write.requestCompute([id, input, 1, ETH, 0n, ETH, ETH] as never);
    const receipt = await f.client(4).waitForTransaction(hash);
    return f.client(4).inference.subscriptionIdFromLogs({ logs: receipt.logs });
  }

  /** A subscription owned by a contract without getContainerInputs: every call to it reverts. */
  async function hostileSubscription(id: string): Promise<number> {
    const receiver = await net.viem.deployContract("TestReentrantReceiver", []);
    const hash = await receiver.write.execute([
      f.inf.coordinator.address,
      encodeFunctionData({
        abi: coordinatorAbi,
        functionName: "createSubscription",
        args: [id, 1, 0, 1, false, ETH, 0n, ETH, ETH],
      }),
    ]);
    const receipt = await f.client(4).waitForTransaction(hash);
    return f.client(4).inference.subscriptionIdFromLogs({ logs: receipt.logs });
  }

  /** The output bytes of the transaction that delivered (id, interval): what is on chain. */
  async function deliveredOutput(node: InferenceNode, id: number): Promise<Hex> {
    const tx = await f.publicClient.getTransaction({ hash: node.delivery(id, 1)!.txHash! });
    const call = decodeFunctionData({ abi: coordinatorAbi, data: tx.input });
    expect(call.functionName).to.equal("deliverCompute");
    return (call.args as readonly unknown[])[3] as Hex;
  }

  it("delivers a hello-world answer as the bytes infernet-node delivers: abi.encode(string(str(answer)))", async function () {
    const hello = await container();
    const node = await startNode([{ container: new HttpContainer({ id: "hello-world", url: hello.url }) }]);
    const consumer = await callbackConsumer();
    const id = await request(consumer, "hello-world", "0xabcd");
    await node.tick();
    expect(node.delivery(id, 1)?.state).to.equal("delivered");
    expect(hello.seen[0]!.body).to.equal(
      '{"source": 0, "destination": 0, "data": "abcd", "requires_proof": false}',
    );
    // Python: str({'output': "hello, world!, your input was: {...}"}); double quotes as the value holds '.
    const expected = stringOutput(
      `{'output': "hello, world!, your input was: {'source': 0, 'destination': 0, 'data': 'abcd', 'requires_proof': False}"}`,
    );
    expect(await deliveredOutput(node, id)).to.equal(expected);
    expect(await consumer.read.received()).to.equal(1n);
  });

  it("runs a consumer whose getContainerInputs reverts on empty input, and its failures never fail the tick", async function () {
    // Naive code (the node before this change) never ran such a container: the revert failed
    // every tick past maxAttempts and backed the whole loop off.
    const hello = await container((s, res) => {
      if (s.json.data !== "") return false;
      res.writeHead(200, { "content-type": "text/plain" }).end("no");
      return true;
    });
    const node = await startNode([{ container: new HttpContainer({ id: "hello-world", url: hello.url }) }]);
    const hostile = await hostileSubscription("hello-world");
    const honest = await request(await callbackConsumer(), "hello-world", "0x01");
    for (let tick = 1; tick <= 4; tick++) await node.tick(); // never throws
    expect(node.delivery(honest, 1)?.state).to.equal("delivered");
    const failed = node.delivery(hostile, 1)!;
    expect(failed.state).to.equal("failed");
    expect(failed.attempts).to.equal(3);
    expect(hello.seen.filter((s) => s.json.data === "")).to.have.length(3);
    expect(node.status().lastError).to.equal(null);
  });

  it("a container that hangs for one subscription does not hold up another's delivery", async function () {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let hanging = false;
    const hello = await container(async (s) => {
      if (s.json.data !== "") return false;
      hanging = true;
      await released;
      return false;
    });
    const node = await startNode([{ container: new HttpContainer({ id: "hello-world", url: hello.url }) }]);
    const hostile = await hostileSubscription("hello-world"); // the lower id: served first by naive code
    const honest = await request(await callbackConsumer(), "hello-world", "0x02");
    const tick = node.tick();
    for (let i = 0; i < 500 && node.delivery(honest, 1)?.state !== "delivered"; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(node.delivery(honest, 1)?.state).to.equal("delivered");
    expect(hanging).to.equal(true);
    expect(node.delivery(hostile, 1)?.state).to.equal("running");
    release();
    await tick;
  });

  it("serves a chain named in any order of its ids, with infernet-node's source and destination", async function () {
    const c1 = await container((s, res) => {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ step: "c1", source: s.json.source, destination: s.json.destination }));
      return true;
    });
    const c2 = await container((_s, res) => {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"step": "c2", "n": 12345678901234567890}');
      return true;
    });
    const node = await startNode([
      { container: new HttpContainer({ id: "c1", url: c1.url }) },
      { container: new HttpContainer({ id: "c2", url: c2.url }) },
    ]);
    const id = await request(await callbackConsumer(), "c2,c1", "0xbeef");
    await node.tick();
    expect(node.subscription(id)?.container).to.equal("c2,c1");
    expect(c2.seen[0]!.body).to.equal(
      '{"source": 0, "destination": 1, "data": "beef", "requires_proof": false}',
    );
    expect(c1.seen[0]!.body).to.equal(
      '{"source": 1, "destination": 0, "data": {"step": "c2", "n": 12345678901234567890}, "requires_proof": false}',
    );
    expect(await deliveredOutput(node, id)).to.equal(
      stringOutput("{'step': 'c1', 'source': 1, 'destination': 0}"),
    );
  });

  describe("REST API", function () {
    const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as unknown });
    const post = (url: string, body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("answers Infernet's Python client: health, info, resources, jobs, batches, streams, results by id; kept across restarts", async function () {
      const hello = await container();
      const containers = (): ServedContainer[] => [
        { container: new HttpContainer({ id: "hello-world", url: hello.url, description: "says hello" }) },
        {
          container: new HttpContainer({ id: "private", url: hello.url }),
          allowedIps: ["10.0.0.0/8"],
        },
      ];
      let node = await startNode(containers(), { api: { rateLimit: { requests: 4, periodSeconds: 60 } } });
      const api = node.apiUrl!;
      // NodeClient.health() / get_info() / get_resources()
      expect(await json(await fetch(`${api}/health`))).to.deep.equal({
        status: 200,
        body: { status: "healthy" },
      });
      const info = (await json(await fetch(`${api}/info`))).body as Record<string, unknown>;
      expect(info.containers).to.deep.equal([
        { id: "hello-world", description: "says hello", external: true, image: "" },
        { id: "private", description: "", external: true, image: "" },
      ]);
      expect(info.chain).to.deep.equal({ enabled: true, address: f.address(2) });
      expect(info.pending).to.deep.equal({ offchain: 0, onchain: 0 });
      expect((await json(await fetch(`${api}/resources`))).body).to.deep.equal({
        "hello-world": { models: ["hello"] },
        private: { models: ["hello"] },
      });
      // NodeClient.request_job(JobRequest(containers, data)) then get_job_result_sync(id)
      const created = await json(
        await post(`${api}/api/jobs`, { containers: ["hello-world"], data: { prompt: "hi" } }),
      );
      expect(created.status).to.equal(200);
      const jobId = (created.body as { id: string }).id;
      expect(jobId).to.match(/^[0-9a-f-]{36}$/);
      let results: { status: string }[] = [];
      for (let i = 0; i < 200; i++) {
        results = (await json(await fetch(`${api}/api/jobs?id=${jobId}`))).body as typeof results;
        if (results[0]?.status !== "running") break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(results).to.deep.equal([
        {
          id: jobId,
          status: "success",
          result: {
            container: "hello-world",
            output: {
              output: `hello, world!, your input was: {'source': 1, 'destination': 1, 'data': {'prompt': 'hi'}, 'requires_proof': False}`,
            },
          },
        },
      ]);
      // NodeClient.request_jobs([...]): one result per item, in order; guardian errors in place.
      const batch = await json(
        await post(`${api}/api/jobs/batch`, [
          { containers: ["hello-world", "hello-world"], data: {} },
          { containers: ["nope"], data: {} },
          { containers: ["private"], data: {} },
        ]),
      );
      const [chainJob, unknown, denied] = batch.body as Record<string, unknown>[];
      expect(unknown).to.deep.equal({ error: "Container not supported", params: { container: "nope" } });
      expect(denied).to.deep.equal({
        error: "Container not allowed for address",
        params: { container: "private", address: "127.0.0.1" },
      });
      // A guardian error on /api/jobs is a 405 with error and params (APIError in the client).
      expect(await json(await post(`${api}/api/jobs`, { containers: [], data: {} }))).to.deep.equal({
        status: 405,
        body: { error: "No containers specified", params: {} },
      });
      // NodeClient.request_stream(job): the id on the first line, then the container's bytes.
      const stream = await (
        await post(`${api}/api/jobs/stream`, { containers: ["hello-world"], data: {} })
      ).text();
      const [streamId, streamed] = stream.split("\n");
      expect(streamed).to.equal("hello stream");
      // get_job_results([...], intermediate=True) once the chain is done.
      let chain: Record<string, unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        chain = (await json(await fetch(`${api}/api/jobs?id=${chainJob!.id as string}&intermediate=true`)))
          .body as typeof chain;
        if (chain[0]?.status !== "running") break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(chain[0]!.status).to.equal("success");
      expect(chain[0]!.intermediate_results).to.have.length(1);
      // NodeClient.get_jobs(): this client's ids; the 5th request on a route is over the limit.
      const ids = (await json(await fetch(`${api}/api/jobs`))).body as string[];
      expect(ids).to.have.members([jobId, chainJob!.id, streamId]);
      expect((await json(await fetch(`${api}/api/jobs?pending=true`))).body).to.deep.equal([]);
      for (let i = 0; i < 3; i++) expect((await fetch(`${api}/health`)).status).to.equal(200);
      const limited = await fetch(`${api}/health`);
      expect(limited.status).to.equal(429);
      expect(Number(limited.headers.get("retry-after"))).to.be.greaterThan(0);
      // Results are in the node's SQLite file: a restarted node still answers them.
      await node.stop();
      node = await startNode(containers(), { api: {} });
      const again = (await json(await fetch(`${node.apiUrl}/api/jobs?id=${jobId}`))).body as {
        status: string;
      }[];
      expect(again[0]!.status).to.equal("success");
    });

    it("carries a signed delegated subscription on chain with deliverComputeDelegatee, source 1 to the container; refuses a forged one", async function () {
      const hello = await container();
      const node = await startNode(
        [{ container: new HttpContainer({ id: "hello-world", url: hello.url }) }],
        {
          api: {},
        },
      );
      const consumer = await callbackConsumer(); // its Delegator signer is account 6
      const now = Number((await f.publicClient.getBlock()).timestamp);
      const containerHash = keccak256(encodeAbiParameters([{ type: "string" }], ["hello-world"]));
      const sub = {
        owner: consumer.address,
        activeAt: now,
        period: 0,
        frequency: 1,
        redundancy: 1,
        containerId: containerHash,
        lazy: false,
        verifier: ETH,
        paymentAmount: 0n,
        paymentToken: ETH,
        wallet: ETH,
      };
      // As NodeClient.request_delegated_subscription: EIP-712 signed, r and s as integers.
      const body = async (signerIndex: number, nonce: number) => {
        const signature = await f.wallets[signerIndex]!.signTypedData({
          account: f.wallets[signerIndex]!.account,
          domain: {
            name: "InfernetCoordinator",
            version: "1",
            chainId: f.deployment.chainId,
            verifyingContract: f.inf.coordinator.address,
          },
          types: DELEGATEE_SUBSCRIPTION_TYPES,
          primaryType: "DelegateSubscription",
          message: { nonce, expiry: now + 3600, sub },
        });
        const { r, s, v } = parseSignature(signature);
        return JSON.stringify({
          signature: { nonce, expiry: now + 3600, v: Number(v), r: "R", s: "S" },
          subscription: {
            owner: sub.owner,
            active_at: sub.activeAt,
            period: 0,
            frequency: 1,
            redundancy: 1,
            containers: containerHash.slice(2),
            lazy: false,
            verifier: ETH,
            payment_amount: 0,
            payment_token: ETH,
            wallet: ETH,
          },
          data: { x: 1 },
        })
          .replace('"R"', BigInt(r).toString())
          .replace('"S"', BigInt(s).toString());
      };
      const send = async (text: string) =>
        json(
          await fetch(`${node.apiUrl}/api/jobs`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: text,
          }),
        );
      expect(await send(await body(5, 7))).to.deep.equal({ status: 200, body: {} }); // signed by a stranger
      expect(await send(await body(6, 1))).to.deep.equal({ status: 200, body: {} });
      await node.tick();
      expect(await consumer.read.received()).to.equal(1n);
      expect(hello.seen).to.have.length(1);
      expect(hello.seen[0]!.body).to.equal(
        '{"source": 1, "destination": 0, "data": {"x": 1}, "requires_proof": false}',
      );
      const id = Number(await consumer.read.lastSubscriptionId());
      const tx = await f.publicClient.getTransaction({ hash: node.delivery(id, 1)!.txHash! });
      const delivered = decodeFunctionData({ abi: eip712CoordinatorAbi, data: tx.input });
      expect(delivered.functionName).to.equal("deliverComputeDelegatee");
      expect((delivered.args as readonly unknown[])[8]).to.equal(
        stringOutput(
          `{'output': "hello, world!, your input was: {'source': 1, 'destination': 0, 'data': {'x': 1}, 'requires_proof': False}"}`,
        ),
      );
      // The forged one was refused without a container run or a transaction; later ticks send nothing.
      await node.tick();
      expect(hello.seen).to.have.length(1);
      expect(await consumer.read.received()).to.equal(1n);
    });
  });
});
