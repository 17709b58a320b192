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
  pythonRepr,
  runChain,
  serializeContainerOutput,
  type ContainerInput,
  type ContainerJob,
} from "../../node/src/node/containers/index.js";

type Handler = (body: ContainerInput, req: IncomingMessage, res: ServerResponse) => void;

/** An Infernet container on a real HTTP port, answering with `handler`. */
async function startContainer(handler: Handler): Promise<{
  url: string;
  requests: ContainerInput[];
  raw: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}> {
  const requests: ContainerInput[] = [];
  const raw: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      raw.push({ method: req.method!, url: req.url!, headers: req.headers, body: text });
      if (req.method === "POST" && req.url === "/service_output") {
        const body = JSON.parse(text) as ContainerInput;
        requests.push(body);
        handler(body, req, res);
        return;
      }
      handler({} as ContainerInput, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    raw,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType }).end(text);
}

const reprOf = (output: Hex) => decodeAbiParameters([{ type: "string" }], output)[0];

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
        raw_output: "ab".repeat(16) + " \n\t" + "AB".repeat(16),
        processed_output: "cd",
        proof: null,
      }),
    );
    const container = new HttpContainer({ id: "echo", url: server.url, bearer: "s3cret" });
    const delivery = await container.run({ ...job, requiresProof: true });
    expect(server.requests).to.deep.equal([
      { source: 0, destination: 0, data: input.slice(2), requires_proof: true },
    ]);
    // Byte for byte what aiohttp's json= posts, with the bearer token.
    expect(server.raw[0]!.body).to.equal(
      `{"source": 0, "destination": 0, "data": "${input.slice(2)}", "requires_proof": true}`,
    );
    expect(server.raw[0]!.headers["content-type"]).to.equal("application/json");
    expect(server.raw[0]!.headers.authorization).to.equal("Bearer s3cret");
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

  it("delivers any other JSON answer as abi.encode(string(repr(answer)))", async function () {
    const server = await start((_b, _r, res) =>
      reply(
        res,
        200,
        '{"output": "hello, world!", "n": 12345678901234567890, "p": 1.0, "ok": true, "x": null}',
      ),
    );
    const delivery = await new HttpContainer({ id: "hello", url: server.url + "/" }).run(job);
    expect(reprOf(delivery.output)).to.equal(
      "{'output': 'hello, world!', 'n': 12345678901234567890, 'p': 1.0, 'ok': True, 'x': None}",
    );
    expect(delivery.input).to.equal("0x");
    expect(delivery.proof).to.equal("0x");
  });

  it("reads the answer as aiohttp does: a JSON content type, its charset, whitespace and an empty body", async function () {
    const json = await start((_b, _r, res) =>
      reply(res, 200, ' \n{"a": "\u00e9"} \n', "Application/Problem+JSON"),
    );
    expect(reprOf((await new HttpContainer({ id: "j", url: json.url }).run(job)).output)).to.equal(
      "{'a': 'é'}",
    );
    const latin1 = await start((_b, _r, res) => {
      res.writeHead(200, { "content-type": "application/json; charset=iso-8859-1" });
      res.end(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]));
    });
    expect(reprOf((await new HttpContainer({ id: "l", url: latin1.url }).run(job)).output)).to.equal(
      "{'a': 'é'}",
    );
    // JSON sent as text/plain is refused (aiohttp raises ContentTypeError), and so is an empty body (None).
    for (const [body, type] of [
      ['{"a": 1}', "text/plain"],
      ['{"a": 1}', "application/xml"],
      ["", "application/json"],
    ] as const) {
      const server = await start((_b, _r, res) => reply(res, 200, body, type));
      const err = await failure(new HttpContainer({ id: "t", url: server.url }).run(job));
      expect(err.kind, `${type} ${body}`).to.equal("malformed");
    }
  });

  it("follows redirects to its own origin (POST kept on 307, GET after 302), refuses others unless allowed", async function () {
    const target = await start((_b, req, res) => {
      if (req.url === "/moved/service_output") reply(res, 200, { via: req.method! });
      else if (req.url === "/get") reply(res, 200, { via: req.method! });
      else reply(res, 404, {});
    });
    const keep = await start((_b, req, res) => {
      const to = req.url === "/service_output" ? "/moved/service_output" : "/get";
      res.writeHead(307, { location: `${target.url}${to}` }).end();
    });
    // Another origin: refused by default, followed with redirects: "any", without the bearer token.
    let err = await failure(new HttpContainer({ id: "r", url: keep.url }).run(job));
    expect(err.kind).to.equal("redirect");
    const followed = await new HttpContainer({ id: "r", url: keep.url, redirects: "any", bearer: "t" }).run(
      job,
    );
    expect(reprOf(followed.output)).to.equal("{'via': 'POST'}");
    expect(target.raw.at(-1)!.headers.authorization).to.equal(undefined);
    expect(target.raw.at(-1)!.body).to.include('"requires_proof": false');
    // The same origin: a 302 after a POST becomes a GET without a body.
    const self = await start((_b, req, res) => {
      if (req.method === "POST") res.writeHead(302, { location: "/get" }).end();
      else reply(res, 200, { via: req.method!, body: self.raw.at(-1)!.body });
    });
    const got = await new HttpContainer({ id: "s", url: self.url, bearer: "t" }).run(job);
    expect(reprOf(got.output)).to.equal("{'via': 'GET', 'body': ''}");
    expect(self.raw.at(-1)!.headers.authorization).to.equal("Bearer t");
    err = await failure(new HttpContainer({ id: "n", url: self.url, redirects: "none" }).run(job));
    expect(err.kind).to.equal("redirect");
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
      // bytes.fromhex refuses a 0x prefix and a space inside a pair.
      { raw_input: "0xab", processed_input: "", raw_output: "", processed_output: "", proof: "" },
      { raw_input: "a b", processed_input: "", raw_output: "", processed_output: "", proof: "" },
    ];
    for (const answer of answers) {
      const server = await start((_b, _r, res) => reply(res, 200, answer));
      const err = await failure(new HttpContainer({ id: "bad", url: server.url }).run(job));
      expect(err.kind, JSON.stringify(answer)).to.equal("malformed");
    }
  });

  it("delivers an HTTP 500 whose body is JSON (infernet-node ignores the status) unless told to refuse it", async function () {
    const crashed = await start((_b, _r, res) => reply(res, 500, { error: "model not loaded" }));
    const delivered = await new HttpContainer({ id: "crash", url: crashed.url }).run(job);
    expect(reprOf(delivered.output)).to.equal("{'error': 'model not loaded'}");
    const err = await failure(
      new HttpContainer({ id: "crash", url: crashed.url, failOnErrorStatus: true }).run(job),
    );
    expect(err.kind).to.equal("status");
    expect(err.message).to.include("HTTP 500");
  });

  it('fails on an error code in the body unless it is null or the string "200"', async function () {
    for (const [code, delivered] of [
      ['"500"', false],
      ["200", false], // a number is not "200"
      ["null", true],
      ['"200"', true],
    ] as const) {
      const server = await start((_b, _r, res) => reply(res, 200, `{"code": ${code}, "output": "x"}`));
      const run = new HttpContainer({ id: "coded", url: server.url }).run(job);
      if (delivered) {
        expect(reprOf((await run).output)).to.equal(
          `{'code': ${code === "null" ? "None" : "'200'"}, 'output': 'x'}`,
        );
      } else expect((await failure(run)).kind, code).to.equal("status");
    }
  });

  it("chains containers with infernet-node's source and destination, the last answer delivered", async function () {
    const first = await start((body, _r, res) => reply(res, 200, { step: 1, got: body.data as string }));
    const second = await start((body, _r, res) => reply(res, 200, { step: 2, prev: body.data as object }));
    const third = await start((_b, _r, res) => reply(res, 200, { step: 3 }));
    const chain = [first, second, third].map((s, i) => new HttpContainer({ id: `c${i}`, url: s.url }));
    const result = await runChain(chain, {
      source: 0,
      destination: 0,
      data: "abcd",
      requiresProof: false,
    });
    expect(result.ok).to.equal(true);
    const seen = [first, second, third].map((s) => s.requests[0]!);
    expect(seen.map((r) => [r.source, r.destination])).to.deep.equal([
      [0, 1],
      [1, 1],
      [1, 0],
    ]);
    expect(seen[1]!.data).to.deep.equal({ step: 1, got: "abcd" });
    expect(
      pythonRepr(
        result.results[2]!.container === "c2" && "output" in result.results[2]!
          ? result.results[2].output
          : null,
      ),
    ).to.equal("{'step': 3}");
    // A failure ends the chain with the failing container's error.
    const broken = await runChain(
      [chain[0]!, new HttpContainer({ id: "gone", url: "http://127.0.0.1:9" }), chain[2]!],
      {
        source: 1,
        destination: 1,
        data: new Map(),
        requiresProof: false,
      },
    );
    expect(broken.ok).to.equal(false);
    expect(broken.results.map((r) => r.container)).to.deep.equal(["c0", "gone"]);
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
