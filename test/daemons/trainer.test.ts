import { expect } from "chai";
import { keccak256, toHex, type Hash, type Hex } from "viem";
import { getTransactionCount } from "viem/actions";
import { commit, evaluate, train, type Checkpoint, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { PoAIInputError, createPoAIClient, type PoAIClient } from "../../sdk/src/index.js";
import {
  TrainerDaemon,
  checkpointPath,
  fetchCheckpoint,
  runPath,
  type ResultToSend,
  type TrainerDaemonOptions,
} from "../../node/src/node/index.js";
import { daemonWorld, type DaemonWorld, type Operator } from "../fixtures/daemons.js";
import path from "node:path";

const LOG_LEVEL = (process.env.POAI_LOG_LEVEL as TrainerDaemonOptions["logLevel"]) ?? "silent";

/** An honest trainer with a few test-only handles: counts its work and can be killed like a process. */
class TestTrainer extends TrainerDaemon {
  /** Throw right after this checkpoint is on disk (a crash at that point). */
  crashAfterCheckpoint = -1;
  /** Throw right after `submitResult` was sent ("after"), or instead of sending it ("before"). */
  crashOnSend: "before" | "after" | undefined;
  segmentsTrained = 0;
  resultsSent = 0;

  protected override onCheckpointPersisted(index: number): void {
    if (index === this.crashAfterCheckpoint) throw new Error(`crash after checkpoint ${index}`);
  }

  protected override trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    signal: AbortSignal,
  ): Promise<Checkpoint> {
    this.segmentsTrained++;
    return super.trainSegment(spec, seed, index, from, signal);
  }

  protected override async sendResult(result: ResultToSend): Promise<Hash> {
    if (this.crashOnSend === "before") throw new Error("crash before sending the result");
    const hash = await super.sendResult(result);
    this.resultsSent++;
    if (this.crashOnSend === "after") throw new Error("crash after sending the result");
    return hash;
  }

  /** Closes the server and the database without anything else, as a killed process leaves them. */
  kill(): Promise<void> {
    return this.release();
  }
}

/** A trainer that sends its result whatever the deadline says. */
class LateTrainer extends TestTrainer {
  protected override mayStillSubmit(): boolean {
    return true;
  }
}

/** What an independent run of (spec, seed) commits to and scores. */
async function reference(spec: TrainingSpec, seed: Hex) {
  const run = await train(spec, seed, { backend: "js" });
  const score = await evaluate(spec, seed, run.final, { backend: "js" });
  return { root: commit(run).root, hashes: run.checkpointHashes, scoreBps: score.accuracyBps };
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("trainer daemon", function () {
  let w: DaemonWorld;
  let restore: () => Promise<void>;
  const running: TrainerDaemon[] = [];

  before(async function () {
    w = await daemonWorld({ trainers: 2, validators: 1 });
    const snapshot = await w.networkHelpers.takeSnapshot();
    restore = () => snapshot.restore();
  });
  beforeEach(async function () {
    await restore();
  });
  afterEach(async function () {
    for (const d of running.splice(0)) await d.stop();
  });
  after(function () {
    w?.cleanup();
  });

  const database = (label = "trainer") => path.join(w.tempDir(label), "trainer.sqlite");
  const options = (
    op: { client: PoAIClient },
    databasePath: string,
    extra: Partial<TrainerDaemonOptions> = {},
  ) => ({
    client: op.client,
    databasePath,
    logLevel: LOG_LEVEL,
    progress: "log" as const,
    ...extra,
  });
  async function start<D extends TrainerDaemon>(made: Promise<D>): Promise<D> {
    const d = await made;
    running.push(d);
    return d;
  }
  const due = (t: Operator, round = 1n) => t.client.challenges.getDueChallenge({ trainer: t.address, round });
  const submissions = async (id: Hex) =>
    (await w.admin.client.challenges.getEvents({ eventName: "ResultSubmitted", args: { id } })).length;
  const nonce = (t: Operator) =>
    getTransactionCount(w.publicClient, { address: t.address, blockTag: "latest" });

  describe("a round", function () {
    it("trains its due challenge for round 1 and submits the root and score an independent train + commit + evaluate gives", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();

      const challenge = await due(t);
      const expected = await reference(w.spec, challenge.seed);
      const onChain = await t.client.challenges.getChallenge({ id: challenge.id });
      expect(onChain.status).to.equal("Submitted");
      expect(onChain.resultRoot).to.equal(expected.root);
      expect(onChain.reportedScoreBps).to.equal(expected.scoreBps);
      expect(expected.scoreBps).to.be.greaterThan(2_500); // four classes: it learned, above chance

      const status = d.status();
      expect(status.round).to.equal(1n);
      expect(status.idle).to.equal(null);
      expect(status.currentRun).to.deep.include({
        id: challenge.id,
        state: "submitted",
        root: expected.root,
        measuredScoreBps: expected.scoreBps,
        reportedScoreBps: expected.scoreBps,
        checkpoints: 21,
        totalCheckpoints: 21,
        specId: w.specId,
      });
      expect(status.lastSubmissions.map((r) => r.id)).to.deep.equal([challenge.id]);
      expect(d.segmentsTrained).to.equal(20);
    });

    it("publishes its server's URL as the trainer's endpoint in Staking, keeping the GPU class", async function () {
      const [t] = w.trainers;
      const d = await start(TestTrainer.create(options(t, database())));
      const op = await t.client.staking.getOperator({ operator: t.address });
      expect(d.endpoint).to.equal(d.serverUrl);
      expect(op.endpoint).to.equal(d.serverUrl);
      expect(op.gpuClass).to.equal("CPU");

      // A restart on the same endpoint sends nothing (the endpoint is unchanged).
      const before = await nonce(t);
      const port = Number(new URL(d.serverUrl).port);
      await d.stop();
      running.splice(running.indexOf(d), 1);
      const again = await start(TestTrainer.create(options(t, database(), { port })));
      expect(again.endpoint).to.equal(d.serverUrl);
      expect(await nonce(t), "an unchanged endpoint is not sent again").to.equal(before);

      // A public endpoint that reaches another daemon is refused before anything is sent.
      const elsewhere = await rejection(
        TestTrainer.create(options(t, database(), { publicEndpoint: again.serverUrl + "/" })),
      );
      expect(elsewhere.message).to.match(
        /reaches another trainer daemon \(instance [0-9a-f-]+\), not this one/,
      );
      expect(await nonce(t)).to.equal(before);

      await start(TestTrainer.create(options(t, database(), { registerEndpoint: false })));
      expect((await t.client.staking.getOperator({ operator: t.address })).endpoint).to.equal(
        again.serverUrl,
      );
    });

    it("does nothing more on later ticks of a round it submitted", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();
      const sent = await nonce(t);
      await d.tick();
      await Promise.all([d.tick(), d.tick()]);
      expect(await nonce(t)).to.equal(sent);
      expect(d.segmentsTrained).to.equal(20);
      expect(d.resultsSent).to.equal(1);
    });

    it("gives each trainer its own seed and run", async function () {
      const [a, b] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const da = await start(TestTrainer.create(options(a, database("a"), { backend: "js" })));
      const db = await start(TestTrainer.create(options(b, database("b"), { backend: "wasm" })));
      await Promise.all([da.tick(), db.tick()]);
      const [ca, cb] = await Promise.all([due(a), due(b)]);
      expect(ca.seed).to.not.equal(cb.seed);
      const [ra, rb] = await Promise.all([reference(w.spec, ca.seed), reference(w.spec, cb.seed)]);
      expect((await a.client.challenges.getChallenge({ id: ca.id })).resultRoot).to.equal(ra.root);
      expect((await b.client.challenges.getChallenge({ id: cb.id })).resultRoot).to.equal(rb.root);
    });

    it("runs on its own with startLoop and stops gracefully, closing its server", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      d.startLoop({ pollMs: 20 });
      for (let i = 0; i < 500 && d.status().currentRun?.state !== "submitted"; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(d.status().currentRun?.state).to.equal("submitted");
      await d.stop();
      expect(d.status().stopped).to.equal(true);
      await rejection(fetch(`${d.serverUrl}/healthz`));
      await d.stop(); // idempotent
    });
  });

  describe("checkpoint server", function () {
    it("serves every checkpoint with bytes whose hash is proven under the committed root", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();
      const challenge = await due(t);
      const expected = await reference(w.spec, challenge.seed);
      const { resultRoot } = await t.client.challenges.getChallenge({ id: challenge.id });
      const { endpoint } = await t.client.staking.getOperator({ operator: t.address });

      for (let index = 0; index <= 20; index++) {
        const got = await fetchCheckpoint({
          endpoint,
          id: challenge.id,
          index,
          spec: w.spec,
          root: resultRoot,
        });
        expect(got.hash).to.equal(expected.hashes[index]);
        expect(got.checkpoint.step).to.equal(index * w.spec.checkpointInterval);
      }
      const raw = await fetch(`${endpoint}${checkpointPath(challenge.id, 3)}`);
      const bytes = new Uint8Array(await raw.arrayBuffer());
      expect(raw.status).to.equal(200);
      expect(raw.headers.get("content-type")).to.equal("application/octet-stream");
      expect(raw.headers.get("x-poai-checkpoint-hash")).to.equal(keccak256(bytes));
      expect(keccak256(bytes)).to.equal(expected.hashes[3]);

      const info = await fetch(`${endpoint}${runPath(challenge.id)}`);
      expect(info.status).to.equal(200);
      expect(await info.json()).to.deep.equal({
        id: challenge.id,
        round: "1",
        specId: w.specId,
        root: resultRoot,
        checkpoints: 21,
      });
    });

    it("answers 404 for unknown challenges and indices and 400 for a malformed id", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();
      const { id } = await due(t);
      const status = async (p: string) => (await fetch(`${d.serverUrl}${p}`)).status;
      const unknown = keccak256(toHex("no such challenge"));
      expect(await status(runPath(unknown))).to.equal(404);
      expect(await status(checkpointPath(unknown, 0))).to.equal(404);
      expect(await status(checkpointPath(id, 21))).to.equal(404);
      expect(await status(`/v1/challenges/${id}/checkpoints/-1`)).to.equal(404);
      expect(await status(`/v1/challenges/${id}/checkpoints/abc`)).to.equal(404);
      expect(await status("/v1/challenges/0x1234")).to.equal(400);
      expect(await status("/v1/challenges/not-an-id/checkpoints/0")).to.equal(400);
      expect(await status("/nowhere")).to.equal(404);
    });

    it("does not serve a run before its training finished", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      d.crashAfterCheckpoint = 5;
      await rejection(d.tick());
      const { id } = await due(t);
      expect((await fetch(`${d.serverUrl}${checkpointPath(id, 0)}`)).status).to.equal(404);
      expect((await fetch(`${d.serverUrl}${runPath(id)}`)).status).to.equal(404);
    });

    it("reports its state at /healthz, /status and /metrics", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();
      const { id, seed } = await due(t);
      for (let index = 0; index < 3; index++) {
        const { resultRoot } = await t.client.challenges.getChallenge({ id });
        await fetchCheckpoint({ endpoint: d.endpoint, id, index, spec: w.spec, root: resultRoot });
      }

      const health = await fetch(`${d.serverUrl}/healthz`);
      expect(health.status).to.equal(200);
      expect(await health.json()).to.deep.equal({
        ok: true,
        checks: { chain: { ok: true }, store: { ok: true }, endpoint: { ok: true }, tick: { ok: true } },
      });

      const status = (await (await fetch(`${d.serverUrl}/status`)).json()) as Record<string, unknown>;
      expect(status).to.include({ address: t.address, serverUrl: d.serverUrl, round: "1", idle: null });
      expect(status.currentRun).to.include({ id, seed, state: "submitted", checkpoints: 21 });

      const metrics = await (await fetch(`${d.serverUrl}/metrics`)).text();
      const value = (name: string) => {
        const line = metrics.split("\n").find((l) => l.startsWith(name + " "));
        return line === undefined ? undefined : Number(line.slice(name.length + 1));
      };
      expect(value("poai_trainer_checkpoints_total")).to.equal(21);
      expect(value('poai_trainer_submissions_total{result="submitted"}')).to.equal(1);
      expect(value("poai_trainer_current_round")).to.equal(1);
      expect(value("poai_trainer_served_checkpoints_total")).to.equal(3);
      expect(value("poai_trainer_served_bytes_total")).to.equal(3 * (8 + 2 * (8 * 16 + 16 + 16 * 4 + 4)));
      expect(value("poai_trainer_stored_checkpoints")).to.equal(21);
      expect(value("poai_trainer_training_seconds_count")).to.equal(1);
      expect(value("poai_trainer_missed_total")).to.equal(0);
    });
  });

  describe("crash and resume", function () {
    for (const k of [0, 7, 20]) {
      it(`resumes from checkpoint ${k} after a crash right after it was written and submits the root of an uninterrupted run`, async function () {
        const [t] = w.trainers;
        await w.advanceTo(w.roundStart(1n));
        const file = database();
        const first = await TestTrainer.create(options(t, file));
        first.crashAfterCheckpoint = k;
        expect((await rejection(first.tick())).message).to.equal(`crash after checkpoint ${k}`);
        expect(first.status().currentRun).to.deep.include({ state: "training", checkpoints: k + 1 });
        await first.kill();

        const second = await start(TestTrainer.create(options(t, file)));
        await second.tick();
        expect(second.segmentsTrained, "segments trained after the restart").to.equal(20 - k);
        const challenge = await due(t);
        const expected = await reference(w.spec, challenge.seed);
        const onChain = await t.client.challenges.getChallenge({ id: challenge.id });
        expect(onChain.resultRoot).to.equal(expected.root);
        expect(onChain.reportedScoreBps).to.equal(expected.scoreBps);
        expect(second.status().currentRun).to.deep.include({ state: "submitted", root: expected.root });
      });
    }

    it("does not submit a second time after a crash between sending submitResult and recording it", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const file = database();
      const first = await TestTrainer.create(options(t, file));
      first.crashOnSend = "after";
      await rejection(first.tick());
      expect(first.resultsSent).to.equal(1);
      expect(first.status().currentRun?.state).to.equal("submitting");
      await first.kill();

      const second = await start(TestTrainer.create(options(t, file)));
      const before = await nonce(t);
      await second.tick();
      await second.tick();
      const { id } = await due(t);
      expect(second.resultsSent).to.equal(0);
      expect(await nonce(t), "no transaction after the restart").to.equal(before);
      expect(await submissions(id)).to.equal(1);
      expect(second.status().currentRun?.state).to.equal("submitted");
    });

    it("sends the result once after a crash between recording `submitting` and sending", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const file = database();
      const first = await TestTrainer.create(options(t, file));
      first.crashOnSend = "before";
      await rejection(first.tick());
      expect(first.status().currentRun?.state).to.equal("submitting");
      await first.kill();

      const second = await start(TestTrainer.create(options(t, file)));
      await second.tick();
      const { id, seed } = await due(t);
      expect(second.segmentsTrained).to.equal(0);
      expect(second.resultsSent).to.equal(1);
      expect(await submissions(id)).to.equal(1);
      expect((await t.client.challenges.getChallenge({ id })).resultRoot).to.equal(
        (await reference(w.spec, seed)).root,
      );
      expect(second.status().currentRun?.state).to.equal("submitted");
    });

    it("refuses a database that belongs to another trainer", async function () {
      const [a, b] = w.trainers;
      const file = database();
      await (await TestTrainer.create(options(a, file))).stop();
      const err = await rejection(TestTrainer.create(options(b, file)));
      expect(err.message).to.contain("belongs to trainer");
      expect(err.message).to.contain(a.address.toLowerCase());
    });
  });

  describe("deadlines and due challenges", function () {
    it("marks the run missed and sends nothing when the deadline passed before it saw the round", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.windows(1n).deadline + 1n);
      const d = await start(TestTrainer.create(options(t, database())));
      await d.tick();
      const { id } = await due(t);
      expect((await t.client.challenges.getChallenge({ id })).status).to.equal("None");
      expect(await submissions(id)).to.equal(0);
      expect(d.segmentsTrained).to.equal(0);
      expect(d.resultsSent).to.equal(0);
      const run = d.status().currentRun;
      expect(run).to.deep.include({ state: "missed", checkpoints: 0 });
      expect(run?.error).to.match(/deadline/);
    });

    it("stops a run whose deadline passed while it was down and sends nothing", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const file = database();
      const first = await TestTrainer.create(options(t, file));
      first.crashAfterCheckpoint = 5;
      await rejection(first.tick());
      await first.kill();

      await w.advanceTo(w.windows(1n).deadline + 1n);
      const second = await start(TestTrainer.create(options(t, file)));
      await second.tick();
      expect(second.segmentsTrained).to.equal(0);
      expect(second.resultsSent).to.equal(0);
      expect(second.status().currentRun).to.deep.include({ state: "missed", checkpoints: 6 });
      expect(await submissions((await due(t)).id)).to.equal(0);
    });

    it("logs the chain's refusal of a late result without failing the tick (a trainer that ignores the deadline)", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.windows(1n).deadline + 1n);
      const d = await start(LateTrainer.create(options(t, database())));
      await d.tick();
      const { id } = await due(t);
      expect(d.segmentsTrained).to.equal(20);
      expect((await t.client.challenges.getChallenge({ id })).status).to.equal("None");
      const run = d.status().currentRun;
      expect(run?.state).to.equal("missed");
      expect(run?.error).to.match(/^DeadlinePassed: /);
      await d.tick(); // and does not try again
      expect(d.status().currentRun?.state).to.equal("missed");
    });

    it("does nothing in round 0, before the spec is active, and says why", async function () {
      const [t] = w.trainers;
      const d = await start(TestTrainer.create(options(t, database())));
      const before = await nonce(t);
      await d.tick();
      expect(await nonce(t), "no transaction (no beacon sealed for nothing)").to.equal(before);
      const status = d.status();
      expect(status.round).to.equal(0n);
      expect(status.currentRun).to.equal(null);
      expect(status.idle?.reason).to.match(/no training spec is active in round 0/);
      expect(d.segmentsTrained).to.equal(0);
    });

    it("does nothing for an account that is not a registered trainer, and says why", async function () {
      const wallets = await w.viem.getWalletClients();
      const outsider = createPoAIClient({
        publicClient: w.publicClient,
        walletClient: wallets[wallets.length - 1],
        deployment: w.deployment,
      });
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options({ client: outsider }, database("outsider"))));
      const before = await getTransactionCount(w.publicClient, {
        address: outsider.walletClient!.account!.address,
      });
      await d.tick();
      expect(
        await getTransactionCount(w.publicClient, { address: outsider.walletClient!.account!.address }),
      ).to.equal(before);
      expect(d.status().currentRun).to.equal(null);
      expect(d.status().idle?.reason).to.match(/is not a registered operator/);

      const [v] = w.validators;
      const dv = await start(TestTrainer.create(options(v, database("validator"))));
      await dv.tick();
      expect(dv.status().idle?.reason).to.match(/registered as a validator, not a trainer/);
      expect(d.segmentsTrained + dv.segmentsTrained).to.equal(0);
    });
  });

  describe("pruning", function () {
    it("keeps checkpoints until the round's points are final plus the retention, then answers 410", async function () {
      const [t] = w.trainers;
      await w.advanceTo(w.roundStart(1n));
      const d = await start(TestTrainer.create(options(t, database(), { retentionSeconds: 60 })));
      await d.tick();
      const { id } = await due(t);
      const { closesAt } = w.windows(1n);
      const status = async (p: string) => (await fetch(`${d.serverUrl}${p}`)).status;

      await w.advanceTo(closesAt + 60n);
      await d.tick();
      expect(await status(checkpointPath(id, 20))).to.equal(200);

      await w.advanceTo(closesAt + 61n);
      await d.tick();
      expect(await status(runPath(id))).to.equal(410);
      expect(await status(checkpointPath(id, 0))).to.equal(410);
      const run = d.status().lastSubmissions.find((r) => r.id === id);
      expect(run).to.deep.include({ state: "submitted", pruned: true, checkpoints: 0 });
    });
  });

  describe("options", function () {
    const cases: [string, unknown, string][] = [
      ["port", 70_000, "70000"],
      ["port", 1.5, "1.5"],
      ["backend", "tpu", '"tpu"'],
      ["databasePath", "", '""'],
      ["publicEndpoint", "ftp://example.com", '"ftp://example.com"'],
      ["retentionSeconds", -1, "-1"],
      ["progress", "fancy", '"fancy"'],
      ["logLevel", "loud", '"loud"'],
      ["confirmations", 0, "0"],
      ["registerEndpoint", "yes", '"yes"'],
    ];
    for (const [field, value, shown] of cases) {
      it(`refuses ${field} = ${String(value)} naming the field and the value`, async function () {
        const [t] = w.trainers;
        const err = await rejection(TrainerDaemon.create({ ...options(t, ":memory:"), [field]: value }));
        expect(err).to.be.instanceOf(PoAIInputError);
        expect((err as PoAIInputError).field).to.equal(field);
        expect(err.message).to.contain(field).and.contain(shown);
      });
    }

    it("refuses a client without a wallet account", async function () {
      const client = createPoAIClient({ publicClient: w.publicClient, deployment: w.deployment });
      const err = await rejection(TrainerDaemon.create({ client, databasePath: ":memory:" }));
      expect(err).to.be.instanceOf(PoAIInputError);
      expect((err as PoAIInputError).field).to.equal("client.walletClient.account");
    });
  });
});
