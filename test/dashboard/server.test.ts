/**
 * The dashboard's server and the commands that start it, without a browser: the JSON-RPC bridge
 * passes reads and signed transactions and nothing else (no signing with the node's accounts, no
 * clock moves), keeps revert data so the page decodes contract errors, serves the app and its
 * configuration without leaving `dist/`; `poai dashboard` and `npm run devnet -- --dashboard`
 * start it on a chain and stop on a signal; the jobs page lists jobs only behind its check.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { createPoAIClient, parseDeployment, PoAIContractError, type PoAIDeployment } from "@poai/sdk";
import { createPublicClient, http, parseEther, type Address } from "viem";
import { ensureDashboardBuilt, isDashboardBuilt } from "../../dashboard/server/build.js";
import { startDashboardServer, type DashboardServer } from "../../dashboard/server/server.js";
import { jobRows, loadJobs } from "../../dashboard/src/data/jobs.js";
import { runCli } from "../../scripts/cli/main.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import { keepAlive } from "../../scripts/lib/devnet/keep-alive.js";
import { parseDevnetArgs } from "../../scripts/lib/devnet/options.js";
import type { DevnetReport } from "../../scripts/lib/devnet/report.js";
import { addressBookJson } from "../../scripts/lib/ignition.js";
import { accountAddress } from "../fixtures/hardhat-node.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

async function rpc(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("dashboard server", function () {
  this.timeout(300_000);
  let connection: Connection;
  let deployment: PoAIDeployment;
  let server: DashboardServer;
  let dir: string;

  before(async () => {
    await ensureDashboardBuilt({ log: (line) => console.log(`      ${line}`) });
    connection = await network.create();
    const d = await deployNetwork(connection.viem, { epochLength: 3600 });
    const publicClient = await connection.viem.getPublicClient();
    deployment = parseDeployment({
      chainId: publicClient.chain.id,
      deployBlock: 0n,
      contracts: contractsOf(d),
    });
    server = await startDashboardServer({
      deployment,
      chainId: publicClient.chain.id,
      chain: { provider: connection.provider },
    });
    dir = mkdtempSync(path.join(tmpdir(), "poai-dashboard-"));
  });

  after(async () => {
    await server?.close();
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is built, and knows it is up to date", () => {
    expect(isDashboardBuilt()).to.equal(true);
  });

  it("passes reads and batches to the chain", async () => {
    const one = await rpc(server.url, { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
    expect(one.json).to.deep.equal({ jsonrpc: "2.0", id: 1, result: "0x7a69" });
    const batch = await rpc(server.url, [
      { jsonrpc: "2.0", id: 7, method: "eth_blockNumber", params: [] },
      { jsonrpc: "2.0", id: 8, method: "eth_chainId" },
    ]);
    const answers = batch.json as { id: number; result: string }[];
    expect(answers.map((a) => a.id)).to.deep.equal([7, 8]);
    expect(answers[1]!.result).to.equal("0x7a69");
  });

  it("bridges to an upstream node over HTTP, each answer paired with its call", async () => {
    // The upstream here is another bridge: a JSON-RPC endpoint over HTTP, like `hardhat node`.
    const relay = await startDashboardServer({
      deployment,
      chainId: 31337,
      chain: { url: `${server.url}/rpc` },
    });
    try {
      const r = await rpc(relay.url, [
        { jsonrpc: "2.0", id: "b", method: "eth_chainId" },
        { jsonrpc: "2.0", id: 7, method: "evm_mine" },
        { jsonrpc: "2.0", id: "a", method: "eth_getBalance", params: [accountAddress(0), "latest"] },
      ]);
      const [chainId, refused, balance] = r.json as {
        id: unknown;
        result?: string;
        error?: { code: number };
      }[];
      expect(chainId).to.deep.equal({ jsonrpc: "2.0", id: "b", result: "0x7a69" });
      expect(refused!.id).to.equal(7);
      expect(refused!.error!.code).to.equal(-32601);
      expect(balance!.id).to.equal("a");
      expect(BigInt(balance!.result!) > 0n).to.equal(true);
    } finally {
      await relay.close();
    }
  });

  it("refuses what would sign with the node's accounts or move its clock, naming the method", async () => {
    // A bridge that forwarded everything would let any page spend the unlocked dev accounts.
    const from = accountAddress(0);
    for (const [method, params] of [
      ["eth_sendTransaction", [{ from, to: from, value: "0x1" }]],
      ["eth_sign", [from, "0x00"]],
      ["hardhat_setBalance", [from, "0x0"]],
      ["evm_increaseTime", [3600]],
      ["evm_mine", []],
    ] as const) {
      const blockBefore = await connection.provider.request({ method: "eth_blockNumber" });
      const r = await rpc(server.url, { jsonrpc: "2.0", id: 3, method, params });
      expect(r.json).to.deep.equal({
        jsonrpc: "2.0",
        id: 3,
        error: { code: -32601, message: `method ${method} is not available through the dashboard's bridge` },
      });
      expect(await connection.provider.request({ method: "eth_blockNumber" })).to.equal(blockBefore);
    }
    // In a batch, only the refused call fails.
    const mixed = (
      await rpc(server.url, [
        { jsonrpc: "2.0", id: 1, method: "eth_chainId" },
        { jsonrpc: "2.0", id: 2, method: "personal_sign", params: [] },
      ])
    ).json as { id: number; result?: string; error?: { code: number } }[];
    expect(mixed[0]!.result).to.equal("0x7a69");
    expect(mixed[1]!.error!.code).to.equal(-32601);
  });

  it("answers malformed requests with a JSON-RPC error that says what is wrong", async () => {
    const bad = await rpc(server.url, "{not json");
    expect(bad.status).to.equal(400);
    expect((bad.json as { error: { message: string } }).error.message).to.contain("not JSON");
    const empty = await rpc(server.url, []);
    expect((empty.json as { error: { message: string } }).error.message).to.equal(
      "a batch must hold 1 to 2000 calls, got 0",
    );
    const noMethod = await rpc(server.url, { jsonrpc: "2.0", id: 1, method: 5 });
    expect((noMethod.json as { error: { message: string } }).error.message).to.equal(
      "invalid request: method must be a string, got 5",
    );
    const get = await fetch(`${server.url}/rpc`);
    expect(get.status).to.equal(405);
  });

  it("keeps a revert's data, so a page's SDK decodes the contract error", async () => {
    // A bridge that dropped the JSON-RPC error's data would leave the page a bare "execution reverted".
    const publicClient = createPublicClient({ transport: http(`${server.url}/rpc`) });
    const client = createPoAIClient({ publicClient, deployment });
    const err = await client.registry.getSpec({ specId: `0x${"ab".repeat(32)}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PoAIContractError);
    expect((err as PoAIContractError).errorName).to.equal("UnknownSpec");
  });

  it("serves the app, its configuration, and nothing outside dist/", async () => {
    const config = (await (await fetch(`${server.url}/api/config`)).json()) as {
      chainId: number;
      devnet: boolean;
      deployment: { contracts: Record<string, Address> };
    };
    expect(config.chainId).to.equal(31337);
    expect(config.devnet).to.equal(true);
    expect(parseDeployment(config.deployment).contracts).to.deep.equal(deployment.contracts);
    const index = await fetch(`${server.url}/operators/0x0000000000000000000000000000000000000001`);
    expect(index.status).to.equal(200);
    expect(await index.text()).to.contain('<div id="app">');
    expect(index.headers.get("content-security-policy")).to.contain("default-src 'self'");
    for (const escape of ["/../package.json", "/..%2Fpackage.json", "/assets/..%2F..%2Fpackage.json"]) {
      const res = await fetch(`${server.url}${escape}`);
      const text = await res.text();
      expect(text, escape).to.not.contain('"workspaces"');
    }
    expect((await fetch(`${server.url}/assets/missing.js`)).status).to.equal(404);
    const html = await (await fetch(server.url)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${server.url}${script}`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).to.equal(200);
    expect(js.headers.get("cache-control")).to.contain("immutable");
    expect(js.headers.get("content-type")).to.contain("text/javascript");
  });

  it("`poai dashboard` serves a deployment on its chain until stopped, and says where", async () => {
    const book = path.join(dir, "deployment.json");
    writeFileSync(book, addressBookJson(deployment));
    let out = "";
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    // Over --rpc (the server's own bridge is a JSON-RPC endpoint of this chain).
    const running = runCli(["dashboard", "--rpc", `${server.url}/rpc`, "--deployment", book], {
      env: {},
      stdout: (s) => (out += s),
      stderr: () => {},
      stopSignal,
    });
    const deadline = Date.now() + 60_000;
    while (!/at (http:\/\/\S+)/.test(out) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const url = /PoAI dashboard at (http:\/\/\S+) \(chain 31337/.exec(out)![1]!;
    const config = (await (await fetch(`${url}/api/config`)).json()) as { chainId: number };
    expect(config.chainId).to.equal(31337);
    const through = await rpc(url, { jsonrpc: "2.0", id: 1, method: "eth_chainId" });
    expect((through.json as { result: string }).result).to.equal("0x7a69");
    stop();
    expect(await running).to.equal(0);
    expect(out).to.contain("dashboard stopped");
    await fetch(`${url}/api/config`).then(
      () => expect.fail("the server still answers after the stop"),
      () => undefined,
    );
  });

  it("`poai dashboard` names a bad port or a missing deployment", async () => {
    let err = "";
    const io = { env: {}, stdout: () => {}, stderr: (s: string) => (err += s), connection };
    expect(await runCli(["dashboard", "--port", "99999"], io)).to.not.equal(0);
    expect(err).to.contain('--port must be an integer in 0..65535, got "99999"');
    err = "";
    expect(await runCli(["dashboard", "--deployment", path.join(dir, "none.json")], io)).to.equal(1);
    expect(err).to.contain("no deployment at");
    const taken = path.join(dir, "book.json");
    writeFileSync(taken, addressBookJson(deployment));
    err = "";
    expect(
      await runCli(["dashboard", "--deployment", taken, "--port", String(server.port)], {
        ...io,
        stopSignal: Promise.resolve(),
      }),
    ).to.equal(1);
    expect(err).to.contain(`--port ${server.port}: the port is in use`);
  });

  it("`npm run devnet -- --dashboard` keeps the chain up and serves it until the signal", async () => {
    const options = parseDevnetArgs(["--dashboard", "--dashboard-port", "0"], {});
    expect(options.keepAlive).to.equal(true);
    expect(parseDevnetArgs(["--keep-alive"], {})).to.include({ keepAlive: true, dashboard: false });
    expect(() => parseDevnetArgs(["--dashboard-port", "70000"], {})).to.throw(/--dashboard-port/);
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const report = {
      chainId: 31337,
      deployment: { chainId: 31337, deployBlock: "0", contracts: { ...deployment.contracts } },
    } as unknown as DevnetReport;
    const serving = keepAlive(options, report, connection.provider, (l) => lines.push(l), stopped);
    const deadline = Date.now() + 60_000;
    while (!lines.some((l) => l.includes("http://")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const url = /(http:\/\/\S+)/.exec(lines.find((l) => l.includes("http://"))!)![1]!;
    const r = await rpc(url, { jsonrpc: "2.0", id: 1, method: "eth_chainId" });
    expect((r.json as { result: string }).result).to.equal("0x7a69");
    stop();
    await serving;
    expect(lines.at(-1)).to.contain("Ctrl-C stops it");
  });

  it("lists jobs only when the deployment names a registry and the SDK can read it", async () => {
    const client = createPoAIClient({ publicClient: await connection.viem.getPublicClient(), deployment });
    expect(await loadJobs(client)).to.deep.equal({
      available: false,
      reason: "This deployment has no job registry in its address book.",
    });
    const withRegistry = createPoAIClient({
      publicClient: await connection.viem.getPublicClient(),
      deployment: {
        ...deployment,
        contracts: { ...deployment.contracts, jobRegistry: deployment.contracts.token },
      },
    });
    const noReader = await loadJobs(withRegistry, {});
    expect(noReader.available).to.equal(false);
    expect((noReader as { reason: string }).reason).to.contain("has no getJobs read yet");
    // An SDK with a jobs read: the page lists what it returns, a page object or an array.
    const listed = await loadJobs(withRegistry, {
      getJobs: async () => ({ jobs: [{ id: 1n, owner: accountAddress(1), budget: parseEther("5") }] }),
    });
    expect(listed).to.deep.equal({
      available: true,
      registry: deployment.contracts.token,
      jobs: [{ id: 1n, owner: accountAddress(1), budget: parseEther("5") }],
    });
    expect(jobRows([7])).to.deep.equal([{ index: 0, value: 7 }]);
  });
});
