import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { getAddress, type Address } from "viem";
import { classifierConsumerAbi } from "@poai/sdk";
import { encodeInferenceInput, infer } from "../../sdk/src/compute/index.js";
import { runCli } from "../../scripts/cli/main.js";
import { accountKey } from "../fixtures/hardhat-node.js";
import {
  MODEL,
  MODEL_SPEC,
  connectInference,
  vector,
  type InferenceFixture,
} from "../sdk/inference-fixture.js";

interface Ran {
  code: number;
  out: string;
  err: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jsonLines = (out: string) =>
  out
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("poai inference run", function () {
  this.timeout(120_000);
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;
  let dir: string;
  let book: string;
  let checkpoint: string;
  let wrongCheckpoint: string;

  /**
   * `poai inference run …` in this process on the fixture's chain, signing with account `key`.
   * `stop` ends a daemon that started; by default it stops at once, so a command that should
   * have failed cannot hang the test.
   */
  function inferenceRun(
    key: number,
    args: string[],
    stop: Promise<void> = Promise.resolve(),
    onOut: (text: string) => void = () => undefined,
  ): Promise<Ran> {
    const ran = { code: -1, out: "", err: "" };
    return runCli(["inference", "run", ...args], {
      env: { POAI_PRIVATE_KEY: accountKey(key) },
      stdout: (s) => {
        ran.out += s;
        onOut(ran.out);
      },
      stderr: (s) => (ran.err += s),
      connection: net.connection,
      stopSignal: stop,
    }).then((code) => ({ ...ran, code }));
  }

  function expectError(r: Ran, message: string) {
    expect(r.code, `expected a failure, got:\n${r.out}\n${r.err}`).to.equal(1);
    expect(r.err).to.contain(message);
  }

  const database = (name: string) => path.join(dir, `${name}.db`);

  before(async () => {
    net = await connectInference();
    f = await net.load();
    dir = mkdtempSync(path.join(tmpdir(), "poai-cli-inference-"));
    book = path.join(dir, "book.json");
    writeFileSync(
      book,
      JSON.stringify(f.deployment, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    );
    checkpoint = path.join(dir, "final.ckpt");
    writeFileSync(checkpoint, f.model.checkpoint);
    const wrong = Uint8Array.from(f.model.checkpoint);
    wrong[8] = wrong[8]! ^ 1; // the first parameter, one bit off
    wrongCheckpoint = path.join(dir, "wrong.ckpt");
    writeFileSync(wrongCheckpoint, wrong);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the dApp's classification with a registered model's checkpoint and stops cleanly with exit 0", async () => {
    const config = path.join(dir, "node.json");
    writeFileSync(
      config,
      JSON.stringify({
        inference: {
          pollMs: 50,
          logLevel: "silent",
          containers: [
            // The command line serves this one from the checkpoint; the filter stays.
            { id: MODEL, url: "http://127.0.0.1:9", allowedConsumers: [f.classifier.address] },
            { id: "echo", url: "http://127.0.0.1:9", acceptedPayments: { [f.d.token.address]: "1" } },
          ],
        },
      }),
    );
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    let started!: (event: Record<string, unknown>) => void;
    const startedEvent = new Promise<Record<string, unknown>>((resolve) => (started = resolve));
    const running = inferenceRun(
      2, // a trainer other than the model's: any active trainer may serve it
      [
        "--deployment",
        book,
        "--config",
        config,
        "--database",
        database("node"),
        "--model",
        `${MODEL}=${checkpoint}`,
        "--json",
      ],
      stopSignal,
      (out) => {
        const event = jsonLines(out).find((e) => e.event === "started");
        if (event) started(event);
      },
    );
    const event = await Promise.race([
      startedEvent,
      running.then((r) => {
        throw new Error(`inference run ended before it started (${r.code}):\n${r.err}\n${r.out}`);
      }),
    ]);
    expect(event).to.include({ ok: true, daemon: "inference", address: f.address(2), chainId: 31337 });
    expect(event.containers).to.deep.equal([
      { id: MODEL, kind: "model" },
      { id: "echo", kind: "http" },
    ]);
    const status = (await (await fetch(`${String(event.url)}/status`)).json()) as {
      containers: { id: string }[];
    };
    expect(status.containers.map((c) => c.id)).to.deep.equal([MODEL, "echo"]);

    // The dApp asks for a classification (free: the classifier's payment is unset).
    const input = vector(12, -7, 33, 0, 5, -64, 90, 1);
    const dapp = f.wallets[4]!;
    const hash = await dapp.writeContract({
      address: f.classifier.address,
      abi: classifierConsumerAbi,
      functionName: "classify",
      args: [encodeInferenceInput(input)],
      account: dapp.account,
      chain: dapp.chain,
    });
    const receipt = await f.client(4).waitForTransaction(hash);
    const id = f.client(4).inference.subscriptionIdFromLogs({ logs: receipt.logs });

    let answer: readonly [boolean, number, Address] = [false, 0, f.address(0)];
    for (let i = 0; i < 400 && !answer[0]; i++) {
      answer = await f.classifier.read.answers([id]);
      if (!answer[0]) await sleep(50);
    }
    expect(answer[0], "the classification was not delivered").to.equal(true);
    expect(answer[1]).to.equal(infer(MODEL_SPEC, f.model.weights, input).label);
    expect(getAddress(answer[2])).to.equal(f.address(2));

    stop();
    const r = await running;
    expect(r.code, r.err).to.equal(0);
    const stopped = jsonLines(r.out).at(-1)!;
    expect(stopped).to.include({ ok: true, event: "stopped", signal: "stop", daemon: "inference" });
  });

  it("refuses to start without a container, naming the flags that give one", async () => {
    expectError(
      await inferenceRun(2, ["--deployment", book, "--database", database("none")]),
      "no container to serve: give --model <containerId>=<checkpoint file>",
    );
    expectError(
      await inferenceRun(2, ["--deployment", book, "--database", database("none"), "--model", MODEL]),
      `--model must be <containerId>=<checkpoint file> (an id without commas), got "${MODEL}"`,
    );
    expectError(
      await inferenceRun(2, ["--deployment", book, "--model", `${MODEL}=${checkpoint}`]),
      "--database <file> is required",
    );
  });

  it("refuses a model that is not registered, naming its id", async () => {
    expectError(
      await inferenceRun(2, [
        "--deployment",
        book,
        "--database",
        database("unregistered"),
        "--model",
        `nobody-registered-this=${checkpoint}`,
      ]),
      `--model nobody-registered-this=${checkpoint}: model "nobody-registered-this" is not registered in the ModelRegistry ${f.deployment.contracts.modelRegistry}`,
    );
  });

  it("refuses a checkpoint file that does not hash to the model's weightsHash", async () => {
    const r = await inferenceRun(2, [
      "--deployment",
      book,
      "--database",
      database("wrong"),
      "--model",
      `${MODEL}=${wrongCheckpoint}`,
    ]);
    expectError(r, `--model ${MODEL}=${wrongCheckpoint}: container ${MODEL}: checkpoint hashes to 0x`);
    expect(r.err).to.contain(`the model's weightsHash is ${f.model.weightsHash}`);
  });

  it("refuses an account that is not a registered trainer", async () => {
    expectError(
      await inferenceRun(5, [
        "--deployment",
        book,
        "--database",
        database("outsider"),
        "--model",
        `${MODEL}=${checkpoint}`,
      ]),
      `${f.address(5)} is not a registered operator`,
    );
  });

  it("refuses an address book without the Coordinator or the ModelRegistry, naming the missing contract", async () => {
    for (const [key, name] of [
      ["coordinator", "Coordinator"],
      ["modelRegistry", "ModelRegistry"],
    ] as const) {
      const partial = path.join(dir, `no-${key}.json`);
      const contracts: Record<string, unknown> = { ...f.deployment.contracts };
      delete contracts[key];
      if (key === "coordinator") delete contracts.eip712Coordinator;
      writeFileSync(
        partial,
        JSON.stringify({ ...f.deployment, contracts }, (_k, v: unknown) =>
          typeof v === "bigint" ? v.toString() : v,
        ),
      );
      expectError(
        await inferenceRun(2, [
          "--deployment",
          partial,
          "--database",
          database(`no-${key}`),
          "--model",
          `${MODEL}=${checkpoint}`,
        ]),
        `the address book ${partial} has no ${name} (contracts.${key})`,
      );
    }
  });

  it("explains a bad inference section of the config file", async () => {
    const config = path.join(dir, "bad.json");
    writeFileSync(
      config,
      JSON.stringify({
        inference: { containers: [{ id: MODEL, checkpoint: "a.ckpt", url: "http://x.org" }] },
      }),
    );
    expectError(
      await inferenceRun(2, ["--deployment", book, "--config", config, "--database", database("bad")]),
      "inference.containers.0: expected exactly one of checkpoint",
    );
    writeFileSync(config, JSON.stringify({ inference: { paymentWallet: "0x12" } }));
    expectError(
      await inferenceRun(2, ["--deployment", book, "--config", config, "--database", database("bad")]),
      'inference.paymentWallet: expected an address (0x and 40 hex digits), got "0x12"',
    );
  });

  it("takes containers, the REST API and chain settings from an infernet-node config.json, noting what it does not use", async () => {
    const infernet = path.join(dir, "config.json");
    // infernet-node's sample config, pointed at this chain (amounts read exactly, past 2^53).
    writeFileSync(
      infernet,
      `{
        "log": { "path": "infernet_node.log" },
        "manage_containers": false,
        "server": { "port": 0, "rate_limit": { "num_requests": 100, "period": 100 } },
        "chain": {
          "enabled": true, "trail_head_blocks": 0, "rpc_url": "http://127.0.0.1:8545",
          "registry_address": "0x663F3ad617193148711d28f5334eE4Ed07016602",
          "wallet": { "max_gas_limit": 4000000, "private_key": "0x59c6", "payment_address": "${f.nodeWallets[1]}", "allowed_sim_errors": [] },
          "snapshot_sync": { "sleep": 1.5, "batch_size": 50, "starting_sub_id": 0, "sync_period": 0.05 }
        },
        "redis": { "host": "redis", "port": 6379 },
        "containers": [
          { "id": "hello-world", "image": "ritualnetwork/hello-world-infernet:latest", "url": "http://127.0.0.1:9",
            "bearer": "token", "external": true, "port": "3000", "description": "says hello",
            "allowed_delegate_addresses": [], "allowed_addresses": [], "allowed_ips": ["127.0.0.0/8"],
            "accepted_payments": { "${f.d.token.address}": 1000000000000000000000000001 }, "generates_proofs": false }
        ]
      }`,
    );
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    let started!: (event: Record<string, unknown>) => void;
    const startedEvent = new Promise<Record<string, unknown>>((resolve) => (started = resolve));
    const running = inferenceRun(
      2,
      [
        "--deployment",
        book,
        "--infernet-config",
        infernet,
        "--api-host",
        "127.0.0.1",
        "--database",
        database("infernet"),
        "--json",
      ],
      stopSignal,
      (out) => {
        const event = jsonLines(out).find((e) => e.event === "started");
        if (event) started(event);
      },
    );
    const event = await Promise.race([
      startedEvent,
      running.then((r) => {
        throw new Error(`inference run ended before it started (${r.code}):\n${r.err}\n${r.out}`);
      }),
    ]);
    expect(event.containers).to.deep.equal([{ id: "hello-world", kind: "http" }]);
    expect(event.paymentWallet).to.equal(f.nodeWallets[1]);
    const info = (await (await fetch(`${String(event.api)}/info`)).json()) as Record<string, unknown>;
    expect(info.containers).to.deep.equal([
      { id: "hello-world", description: "says hello", external: true, image: "" },
    ]);
    stop();
    const r = await running;
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.contain(
      "chain.wallet.private_key is not used: PoAI reads the key from $POAI_PRIVATE_KEY",
    );
    expect(r.err).to.contain("containers[0].image is not used: PoAI does not start images");

    writeFileSync(infernet, JSON.stringify({ chain: { enabled: false } }));
    expectError(
      await inferenceRun(2, [
        "--deployment",
        book,
        "--infernet-config",
        infernet,
        "--database",
        database("x"),
      ]),
      "chain.enabled",
    );
  });
});
