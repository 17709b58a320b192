import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeAbiParameters, encodeAbiParameters, keccak256, type Hex } from "viem";
import {
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  inferenceLayout,
} from "../../sdk/src/compute/index.js";
import {
  ContainerError,
  HttpContainer,
  PoAIModelContainer,
  serializeContainerOutput,
  type ContainerInput,
  type ContainerJob,
} from "../../sdk/src/node/containers/index.js";

type Handler = (body: ContainerInput, req: IncomingMessage, res: ServerResponse) => void;

/** An Infernet container on a real HTTP port, answering with `handler`. */
async function startContainer(
  handler: Handler,
): Promise<{ url: string; requests: ContainerInput[]; close(): Promise<void> }> {
  const requests: ContainerInput[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/service_output") {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ContainerInput;
      requests.push(body);
      handler(body, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}

const input = encodeAbiParameters([{ type: "uint256" }], [42n]);
const job: ContainerJob = {
  containerId: "echo",
  subscriptionId: 1,
  interval: 1,
  input,
  requiresProof: false,
};

describe("Infernet HTTP containers", function () {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (handler: Handler) => {
    const s = await startContainer(handler);
    servers.push(s);
    return s;
  };

  it("posts infernet-node's container input and delivers the five-key answer as abi-encoded bytes", async function () {
    const server = await start((body, _req, res) =>
      reply(res, 200, {
        raw_input: body.data,
        processed_input: "",
        raw_output: "0x" + "ab".repeat(32),
        processed_output: "cd",
        proof: null,
      }),
    );
    const container = new HttpContainer({ id: "echo", url: server.url });
    const delivery = await container.run({ ...job, requiresProof: true });
    expect(server.requests).to.deep.equal([
      { source: 0, destination: 0, data: input.slice(2), requires_proof: true },
    ]);
    const [rawInput, processedInput] = decodeAbiParameters(
      [{ type: "bytes" }, { type: "bytes" }],
      delivery.input,
    );
    expect(rawInput).to.equal(input);
    expect(processedInput).to.equal("0x");
    const [rawOutput, processedOutput] = decodeAbiParameters(
      [{ type: "bytes" }, { type: "bytes" }],
      delivery.output,
    );
    expect(rawOutput).to.equal("0x" + "ab".repeat(32));
    expect(processedOutput).to.equal("0xcd");
    expect(delivery.proof).to.equal("0x");
  });

  it("delivers any other JSON answer as an abi-encoded JSON string", async function () {
    const server = await start((_b, _r, res) => reply(res, 200, { output: "hello, world!" }));
    const delivery = await new HttpContainer({ id: "hello", url: server.url + "/" }).run(job);
    const [text] = decodeAbiParameters([{ type: "string" }], delivery.output);
    expect(JSON.parse(text)).to.deep.equal({ output: "hello, world!" });
    expect(delivery.input).to.equal("0x");
    expect(delivery.proof).to.equal("0x");
  });

  async function failure(promise: Promise<unknown>): Promise<ContainerError> {
    try {
      await promise;
    } catch (err) {
      expect(err).to.be.instanceOf(ContainerError);
      return err as ContainerError;
    }
    throw new Error("expected the container to fail");
  }

  it("fails with a timeout when the container answers too slowly", async function () {
    const server = await start((_b, _r, res) => {
      const timer = setTimeout(() => reply(res, 200, { output: "late" }), 2_000);
      res.on("close", () => clearTimeout(timer));
    });
    const err = await failure(new HttpContainer({ id: "slow", url: server.url, timeoutMs: 100 }).run(job));
    expect(err.kind).to.equal("timeout");
  });

  it("refuses an oversized answer, declared or streamed, and an oversized delivery", async function () {
    const big = { output: "x".repeat(5_000) };
    const declared = await start((_b, _r, res) => reply(res, 200, big));
    let err = await failure(
      new HttpContainer({ id: "big", url: declared.url, maxResponseBytes: 1_000 }).run(job),
    );
    expect(err.kind).to.equal("oversized");
    const streamed = await start((_b, _r, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"output":"');
      res.write("y".repeat(5_000));
      res.end('"}');
    });
    err = await failure(
      new HttpContainer({ id: "big", url: streamed.url, maxResponseBytes: 1_000 }).run(job),
    );
    expect(err.kind).to.equal("oversized");
    const wide = await start((_b, _r, res) =>
      reply(res, 200, {
        raw_input: "",
        processed_input: "",
        raw_output: "00".repeat(600),
        processed_output: "",
        proof: "",
      }),
    );
    err = await failure(new HttpContainer({ id: "wide", url: wide.url, maxDeliveryBytes: 512 }).run(job));
    expect(err.kind).to.equal("oversized");
    expect(err.message).to.match(/output is \d+ bytes/);
  });

  it("refuses malformed answers: not JSON, not an object, fields that are not hex", async function () {
    const answers: unknown[] = [
      "not json at all",
      "[1,2,3]",
      { raw_input: "", processed_input: "", raw_output: "zz", processed_output: "", proof: "" },
      { raw_input: "", processed_input: "", raw_output: 12, processed_output: "", proof: "" },
      { raw_input: "abc", processed_input: "", raw_output: "", processed_output: "", proof: "" },
    ];
    for (const answer of answers) {
      const server = await start((_b, _r, res) => reply(res, 200, answer));
      const err = await failure(new HttpContainer({ id: "bad", url: server.url }).run(job));
      expect(err.kind, JSON.stringify(answer)).to.equal("malformed");
    }
  });

  it("fails on an HTTP error status and on an Infernet error code in the body", async function () {
    const crashed = await start((_b, _r, res) =>
      reply(res, 500, {
        raw_input: "",
        processed_input: "",
        raw_output: "",
        processed_output: "",
        proof: "",
      }),
    );
    let err = await failure(new HttpContainer({ id: "crash", url: crashed.url }).run(job));
    expect(err.kind).to.equal("status");
    expect(err.message).to.include("HTTP 500");
    const coded = await start((_b, _r, res) => reply(res, 200, { code: "500", error: "model not loaded" }));
    err = await failure(new HttpContainer({ id: "coded", url: coded.url }).run(job));
    expect(err.kind).to.equal("status");
  });

  it("fails as unreachable when nothing listens", async function () {
    const server = await start((_b, _r, res) => reply(res, 200, {}));
    const url = server.url;
    await servers.pop()!.close();
    const err = await failure(new HttpContainer({ id: "gone", url }).run(job));
    expect(err.kind).to.equal("unreachable");
  });

  it("refuses bad options with the field and the value", function () {
    expect(() => new HttpContainer({ id: "a,b", url: "http://x" })).to.throw(/id must be/);
    expect(() => new HttpContainer({ id: "a", url: "ftp://x" })).to.throw(/url must be an http/);
    expect(() => new HttpContainer({ id: "a", url: "http://x", timeoutMs: 0 })).to.throw(/timeoutMs must be/);
    expect(() => serializeContainerOutput("c", null)).to.throw(ContainerError);
    const ok: Hex = serializeContainerOutput("c", { a: 1 }).output;
    expect(ok.startsWith("0x")).to.equal(true);
  });
});

describe("the built-in PoAI model container", function () {
  const widths = [8, 16, 4] as const;
  const layout = inferenceLayout([...widths]);
  const weights = new Int16Array(layout.parameterCount).map((_, i) => ((i * 7919) % 601) - 300);
  const bytes = new Uint8Array(8 + 2 * weights.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 200, true);
  weights.forEach((w, i) => view.setInt16(8 + 2 * i, w, true));
  const weightsHash = keccak256(bytes);
  const x = Int8Array.from([5, -3, 100, -128, 0, 7, 64, -1]);

  it("delivers exactly what infer computes, from bytes, a file or a URL", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "poai-model-"));
    const file = path.join(dir, "model.ckpt");
    writeFileSync(file, bytes);
    const server = createServer((_req, res) => res.writeHead(200).end(Buffer.from(bytes)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.ckpt`;
    try {
      const expected = encodeInferenceOutput(infer([...widths], weights, x));
      for (const checkpoint of [bytes, { path: file }, { url }]) {
        const model = await PoAIModelContainer.load({ id: "poai-mlp", widths, checkpoint, weightsHash });
        const delivery = await model.run({ ...job, input: encodeInferenceInput(x) });
        expect(delivery.output).to.equal(expected);
        expect(delivery.input).to.equal(encodeInferenceInput(x));
        expect(delivery.proof).to.equal("0x");
      }
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a checkpoint whose hash is not the model's weightsHash, or of the wrong size, and a wrong-length input", async function () {
    const tampered = bytes.slice();
    tampered[9] ^= 1;
    let err = await PoAIModelContainer.load({ id: "m", widths, checkpoint: tampered, weightsHash }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ContainerError);
    expect((err as ContainerError).message).to.include("weightsHash");
    const short = bytes.slice(0, 100);
    err = await PoAIModelContainer.load({
      id: "m",
      widths,
      checkpoint: short,
      weightsHash: keccak256(short),
    }).catch((e: unknown) => e);
    expect((err as ContainerError).kind).to.equal("malformed");
    const model = await PoAIModelContainer.load({ id: "m", widths, checkpoint: bytes, weightsHash });
    err = await model.run({ ...job, input: "0x0102" }).catch((e: unknown) => e);
    expect((err as ContainerError).kind).to.equal("malformed");
  });
});
