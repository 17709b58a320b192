/**
 * What an operator needs of a running daemon: it is never frozen by one bad audit, a stuck tick
 * shows in `/status` and `/healthz`, `/healthz` fails when the chain or the database cannot be
 * reached, and a trainer's checkpoint endpoint is never taken from (or by) another daemon of the
 * same key without anybody noticing. Real daemons on the in-process chain, real HTTP, real SQLite.
 */
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { createPublicClient, http, type Address, type EIP1193Provider, type Hex } from "viem";
import { getTransactionCount } from "viem/actions";
import { challengeId, createPoAIClient, type PoAIClient, type PreparedVerdict } from "../../sdk/src/index.js";
import { TrainerDaemon, type TrainerDaemonOptions } from "../../node/src/node/index.js";
import {
  ValidatorDaemon,
  type ChallengeToAudit,
  type ValidatorDaemonOptions,
} from "../../node/src/verifier/index.js";
import type { Decision } from "../../node/src/verifier/audit.js";
import { daemonWorld, type DaemonWorld, type Operator } from "../fixtures/daemons.js";

/** `node:sqlite` (loaded once a daemon has opened its database, so without the experimental warning). */
const sqlite = () => createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite");

/** `promise`, or a failure once `ms` passed: a daemon that never returns fails the test instead of hanging it. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls `url` until `done` holds for its JSON (at most ~20 s). */
async function until(
  url: string,
  done: (r: { status: number; body: Record<string, unknown> }) => boolean,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let last: { status: number; body: Record<string, unknown> } | undefined;
  for (let i = 0; i < 200; i++) {
    last = await getJson(url);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never reached the expected state; last answer ${JSON.stringify(last)}`);
}

/**
 * A JSON-RPC server over HTTP in front of the in-process chain: what a daemon meets as its RPC
 * endpoint. `stop()` takes it down (connections refused), `start()` brings it back on its port.
 */
class RpcEndpoint {
  private server: Server | undefined;
  port = 0;
  constructor(private readonly provider: EIP1193Provider) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (async () => {
          const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
            | { id: number; method: string; params?: unknown[] }
            | { id: number; method: string; params?: unknown[] }[];
          const one = async (m: { id: number; method: string; params?: unknown[] }) => {
            try {
              const result = await this.provider.request({
                method: m.method,
                params: m.params,
              } as Parameters<EIP1193Provider["request"]>[0]);
              return { jsonrpc: "2.0", id: m.id, result };
            } catch (err) {
              const e = err as { code?: number; message?: string; data?: unknown };
              return {
                jsonrpc: "2.0",
                id: m.id,
                error: { code: e.code ?? -32603, message: e.message, data: e.data },
              };
            }
          };
          const answer = Array.isArray(message) ? await Promise.all(message.map(one)) : await one(message);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(
            JSON.stringify(answer, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)),
          );
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A validator whose audit of one trainer never ends, whatever its signal says (a hang of any cause). */
class HangingValidator extends ValidatorDaemon {
  hangOn: Address | undefined;
  protected override decide(
    challenge: ChallengeToAudit,
    samples: number[],
    signal: AbortSignal,
  ): Promise<Decision> {
    if (challenge.trainer === this.hangOn) return new Promise<never>(() => undefined);
    return super.decide(challenge, samples, signal);
  }
}

/** A validator that stops, once `stall` is set, right after storing a verdict (a hook that hangs). */
class StallingValidator extends ValidatorDaemon {
  stall: Promise<void> | undefined;
  protected override async onVerdictPersisted(_verdict: PreparedVerdict): Promise<void> {
    if (this.stall) await this.stall;
  }
}

describe("daemon operations", function () {
  this.timeout(180_000);
  let w: DaemonWorld;
  const stops: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    w?.cleanup();
  });

  const trainer = async (t: Operator, extra: Partial<TrainerDaemonOptions> = {}, label = "trainer") => {
    const d = await TrainerDaemon.create({
      client: t.client,
      databasePath: path.join(w.tempDir(label), "trainer.sqlite"),
      backend: "js",
      logLevel: "silent",
      progress: "off",
      ...extra,
    });
    stops.push(() => d.stop());
    return d;
  };

  async function validator<D extends ValidatorDaemon>(
    make: (o: ValidatorDaemonOptions) => Promise<D>,
    v: Operator,
    extra: Partial<ValidatorDaemonOptions> = {},
  ): Promise<D> {
    const d = await make({
      client: v.client,
      dbPath: path.join(w.tempDir("validator"), "validator.db"),
      backend: "js",
      logLevel: "silent",
      fetchTimeoutMs: 2_000,
      fetchAttempts: 1,
      rpcRetryDelayMs: 10,
      reportMissed: false,
      ...extra,
    });
    stops.push(() => d.stop());
    return d;
  }

  /** Both trainers submit their round-1 result through real trainer daemons; returns their challenge ids. */
  async function submitRound1(): Promise<Hex[]> {
    await w.advanceTo(w.roundStart(1n));
    for (const t of w.trainers) await (await trainer(t, {}, `trainer-${t.address.slice(2, 8)}`)).tick();
    const ids = w.trainers.map((t) => challengeId(t.address, 1n));
    for (const id of ids)
      expect((await w.admin.client.challenges.getChallenge({ id })).status).to.equal("Submitted");
    return ids;
  }

  const committed = async (id: Hex, v: Address) =>
    (await w.admin.client.challenges.getEvents({ eventName: "VerdictCommitted", args: { id, validator: v } }))
      .length;

  describe("validator audits", function () {
    it("abandons an audit that hangs at its budget and commits the other trainer's verdict in the same tick", async function () {
      // Catches audits run without a budget before the commits (the naive loop): the hanging audit
      // held the tick forever and no verdict, not even the ones ready, was committed.
      w = await daemonWorld({ trainers: 2, validators: 1 });
      const [idA, idB] = await submitRound1();
      const v = w.validators[0];
      const d = await validator((o) => HangingValidator.create(o), v, { auditBudgetMs: 1_000 });
      d.hangOn = w.trainers[0].address;
      await w.advanceTo(w.windows(1n).commitStart + 60n);
      await within(d.tick(), 30_000, "the validator's tick");
      expect(await committed(idB!, v.address), "the other trainer's verdict").to.equal(1);
      expect(await committed(idA!, v.address), "the hanging audit's").to.equal(0);
      const states = d.status().challenges.states;
      expect(states).to.deep.include({ committed: 1, new: 1 }); // the hung one is tried again next tick
      expect((await getJson(`${d.url}/healthz`)).status).to.equal(200);
    });

    it("reports a stuck tick as stuck in /status and /healthz, and recovers when it moves again", async function () {
      // Catches a /status that shows the last finished tick (ok) and a /healthz that always says ok
      // while the running tick hangs.
      w = await daemonWorld({ trainers: 1, validators: 1 });
      await w.advanceTo(w.roundStart(1n));
      await (await trainer(w.trainers[0])).tick();
      const v = w.validators[0];
      const d = await validator((o) => StallingValidator.create(o), v, { stuckAfterMs: 300 });
      await d.tick(); // a tick that finishes: lastTick ok
      let release!: () => void;
      d.stall = new Promise<void>((resolve) => (release = resolve));
      await w.advanceTo(w.windows(1n).commitStart + 60n);
      const ticking = d.tick();
      const health = await until(`${d.url}/healthz`, (r) => r.status === 503);
      const checks = health.body.checks as Record<string, { ok: boolean; error?: string }>;
      expect(checks.tick!.ok).to.equal(false);
      expect(checks.tick!.error).to.match(
        /no progress for \d+ s \(step: verdict 0x[0-9a-f]{64};.*it is stuck/,
      );
      expect(checks.chain).to.deep.equal({ ok: true });
      const status = (await getJson(`${d.url}/status`)).body;
      expect(status.lastTick).to.include({ ok: true }); // the last finished tick, as before…
      expect(status.tick).to.include({ running: true, stuck: true }); // …and the running one, stuck
      release();
      await within(ticking, 30_000, "the released tick");
      const after = await getJson(`${d.url}/healthz`);
      expect(after.status).to.equal(200);
      expect((await getJson(`${d.url}/status`)).body.tick).to.include({
        running: false,
        stuck: false,
        lastOk: true,
      });
    });
  });

  describe("/healthz", function () {
    it("is not ok, with the reason, while the daemon cannot reach its RPC or write its database", async function () {
      // Catches a /healthz that answers { ok: true } whatever the chain and the database do.
      w = await daemonWorld({ trainers: 1, validators: 1 });
      const rpc = new RpcEndpoint(w.connection.provider as unknown as EIP1193Provider);
      await rpc.start();
      stops.push(() => rpc.stop());
      const v = w.validators[0];
      const publicClient = createPublicClient({
        transport: http(rpc.url, { retryCount: 0, timeout: 2_000 }),
      });
      const client: PoAIClient = createPoAIClient({
        publicClient,
        walletClient: v.wallet,
        deployment: w.deployment,
      });
      const dbPath = path.join(w.tempDir("health"), "validator.db");
      const d = await validator((o) => ValidatorDaemon.create(o), v, { client, dbPath });
      const healthz = `${d.url}/healthz`;
      expect((await getJson(healthz)).status).to.equal(200);

      await rpc.stop();
      const down = await getJson(healthz);
      expect(down.status).to.equal(503);
      const chain = (down.body.checks as Record<string, { ok: boolean; error?: string }>).chain!;
      expect(chain.ok).to.equal(false);
      expect(chain.error).to.be.a("string").and.not.equal("");
      expect((down.body.checks as Record<string, unknown>).store).to.deep.equal({ ok: true });
      await rpc.start();
      expect((await getJson(healthz)).status).to.equal(200);

      // Another process holds the database's write lock: the daemon could not store a verdict.
      const other = new (sqlite().DatabaseSync)(dbPath);
      other.exec("BEGIN IMMEDIATE");
      try {
        const locked = await getJson(healthz);
        expect(locked.status).to.equal(503);
        const store = (locked.body.checks as Record<string, { ok: boolean; error?: string }>).store!;
        expect(store.error).to.match(/cannot take its write lock: .*locked/);
      } finally {
        other.exec("ROLLBACK");
        other.close();
      }
      expect((await getJson(healthz)).status).to.equal(200);

      // The trainer daemon and the inference node run the same probes on their own database.
      const trainerPath = path.join(w.tempDir("health-trainer"), "trainer.sqlite");
      const t = await trainer(w.trainers[0], { registerEndpoint: false, databasePath: trainerPath });
      const trainerDb = new (sqlite().DatabaseSync)(trainerPath);
      trainerDb.exec("BEGIN IMMEDIATE");
      try {
        const locked = await getJson(`${t.serverUrl}/healthz`);
        expect(locked.status).to.equal(503);
        expect((locked.body.checks as Record<string, { ok: boolean }>).store!.ok).to.equal(false);
      } finally {
        trainerDb.exec("ROLLBACK");
        trainerDb.close();
      }
      expect((await getJson(`${t.serverUrl}/healthz`)).status).to.equal(200);
    });
  });

  describe("the trainer's endpoint", function () {
    const endpointOf = async (t: Operator) =>
      (await t.client.staking.getOperator({ operator: t.address })).endpoint;

    it("refuses to start a second daemon of the same key while the first one serves the published endpoint", async function () {
      // Catches the naive start: the second daemon published its own random port and the first one,
      // still serving, was no longer audited (and was judged Unavailable).
      w = await daemonWorld({ trainers: 1, validators: 1 });
      const [t] = w.trainers;
      const first = await trainer(t, {}, "first");
      expect(await endpointOf(t)).to.equal(first.endpoint);
      const nonce = await getTransactionCount(w.publicClient, { address: t.address });
      const err = await trainer(t, {}, "second").then(
        () => new Error("the second daemon started"),
        (e: unknown) => e as Error,
      );
      expect(err.name).to.equal("EndpointError");
      expect(err.message).to.contain(
        `another trainer daemon of ${t.address} is live at its published endpoint ${first.endpoint}`,
      );
      expect(await endpointOf(t)).to.equal(first.endpoint);
      expect(await getTransactionCount(w.publicClient, { address: t.address })).to.equal(nonce);
    });

    it("re-publishes its endpoint when it changed to one nobody serves, and reports (without fighting) a live daemon that took it", async function () {
      // Catches a daemon that never looks at its published endpoint again after publishing it.
      w = await daemonWorld({ trainers: 1, validators: 1 });
      const [t] = w.trainers;
      const d = await trainer(t);
      const send = async (endpoint: string) =>
        t.client.waitForTransaction(await t.client.staking.updateMetadata({ endpoint, gpuClass: "CPU" }));

      await send("http://127.0.0.1:1"); // a dead endpoint (another instance that exited, a mistake)
      await d.tick();
      expect(await endpointOf(t)).to.equal(d.endpoint);
      expect(d.status().endpointChanges[0]).to.include({ to: "http://127.0.0.1:1", action: "republished" });
      expect((await getJson(`${d.serverUrl}/healthz`)).status).to.equal(200);

      const other = await trainer(t, { registerEndpoint: false }, "other"); // live, same key
      await send(other.serverUrl);
      await d.tick();
      expect(await endpointOf(t), "a live daemon's endpoint is not taken back").to.equal(other.serverUrl);
      const health = await getJson(`${d.serverUrl}/healthz`);
      expect(health.status).to.equal(503);
      const endpoint = (health.body.checks as Record<string, { ok: boolean; error?: string }>).endpoint!;
      expect(endpoint.error).to.contain(
        `the published endpoint is ${other.serverUrl}, served by another trainer daemon`,
      );
      const status = (await getJson(`${d.serverUrl}/status`)).body;
      expect(status.publishedEndpoint).to.equal(other.serverUrl);
      expect(status.endpointProblem).to.be.a("string");

      await other.stop();
      await d.tick();
      expect(await endpointOf(t)).to.equal(d.endpoint);
      expect((await getJson(`${d.serverUrl}/healthz`)).status).to.equal(200);
    });
  });
});
