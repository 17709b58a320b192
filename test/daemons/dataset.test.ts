/**
 * Data correctness, end to end: an engine version 2 spec over real MNIST digits (the `mnist`
 * package, built with `poai dataset build`), served by the dataset owner's HTTP server; an honest
 * trainer and one that trains on a single wrong example (one label changed); three validators that
 * fetch and prove the examples of the segments they replay. The honest run is Valid with the
 * held-out accuracy the validators recompute; the other is Fraud.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Address, Hex } from "viem";
import { challengeId, type PoAIClient } from "../../sdk/src/index.js";
import {
  DatasetData,
  evaluate,
  train,
  type Checkpoint,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { directoryDataset, serveDatasets, type DatasetServer } from "../../node/src/data/index.js";
import { TrainerDaemon } from "../../node/src/node/index.js";
import { ValidatorDaemon } from "../../node/src/verifier/index.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { datasetSpec, mnistDataset } from "../../scripts/lib/datasets.js";
import { runCli } from "../../scripts/cli/main.js";
import { daemonWorld, DAEMON_SPEC_PARAMS, type DaemonWorld } from "../fixtures/daemons.js";
import { accountKey } from "../fixtures/hardhat-node.js";

const ROUND = 1n;

/**
 * Trains on the spec's dataset with one training example's label changed: the naive cheat a
 * validator that did not prove the examples it replays with would never see.
 */
class OneWrongExampleTrainer extends TrainerDaemon {
  protected override trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    const labels = data!.train.labels.slice();
    labels[0] = (labels[0] + 1) % data!.manifest.classes;
    const wrong = new DatasetData(data!.manifest, {
      rows: { train: { ...data!.train, inputs: data!.train.inputs, labels }, eval: data!.eval },
    });
    return super.trainSegment(spec, seed, index, from, signal, wrong);
  }
}

describe("daemons: training on one wrong example is convicted (engine version 2, MNIST)", function () {
  this.timeout(300_000);
  let w: DaemonWorld;
  let server: DatasetServer;
  let data: DatasetData;
  let spec: TrainingSpec;
  const trainers: {
    kind: "honest" | "wrong";
    daemon: TrainerDaemon;
    address: Address;
    client: PoAIClient;
  }[] = [];
  const validators: ValidatorDaemon[] = [];
  const errors: string[] = [];

  before(async () => {
    // 20 digits of each class: 160 training and 40 held-out examples. One epoch (160 / 8 = 20
    // steps) per segment, so every segment reads every training example, the wrong one included.
    const dir = path.join(process.cwd(), "cache", "datasets", "mnist-200");
    data = await mnistDataset(dir, 20);
    server = await serveDatasets([await directoryDataset(dir)]);
    spec = datasetSpec(data, { hidden: [32], batchSize: 8, steps: 100, checkpointInterval: 20, lrShift: 3 });
    w = await daemonWorld({
      trainers: 2,
      validators: 3,
      spec,
      specParams: { ...DAEMON_SPEC_PARAMS, auditSamples: 2 },
      datasetSources: [...server.sources.values()],
    });
    for (const [i, kind] of (["honest", "wrong"] as const).entries()) {
      const op = w.trainers[i];
      const Class = kind === "honest" ? TrainerDaemon : OneWrongExampleTrainer;
      const daemon = await Class.create({
        client: op.client,
        databasePath: path.join(w.tempDir(`trainer-${kind}`), "trainer.db"),
        backend: "wasm",
        progress: "off",
        logLevel: "silent",
      });
      trainers.push({ kind, daemon, address: op.address, client: op.client });
    }
    for (const [i, op] of w.validators.entries()) {
      validators.push(
        await ValidatorDaemon.create({
          client: op.client,
          dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
          backend: "wasm",
          fetchTimeoutMs: 2_000,
          fetchAttempts: 2,
          logLevel: "silent",
        }),
      );
    }
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers: trainers.map((t) => t.daemon),
      validators,
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const t of trainers) await t.daemon.stop();
    for (const v of validators) await v.stop();
    await server?.close();
    w?.cleanup();
  });

  const challengeOf = (kind: "honest" | "wrong") => {
    const t = trainers.find((x) => x.kind === kind)!;
    return t.client.challenges.getChallenge({ id: challengeId(t.address, ROUND) });
  };

  it("runs every daemon through the round without a failed tick", () => {
    expect(errors).to.deep.equal([]);
  });

  it("judges the honest run Valid, reporting the held-out accuracy the validators recompute", async () => {
    const t = trainers.find((x) => x.kind === "honest")!;
    const c = await challengeOf("honest");
    expect(c.status).to.equal("Valid");
    const due = await t.client.challenges.getDueChallenge({ trainer: t.address, round: ROUND });
    const run = await train(spec, due.seed, { data });
    const measured = await evaluate(spec, due.seed, run.final, { data });
    expect(c.reportedScoreBps).to.equal(measured.accuracyBps);
    expect(measured.accuracyBps, "held-out accuracy of a 100-step run on 160 digits").to.be.greaterThan(4000);
    const members = await t.client.challenges.getMembers({ id: challengeId(t.address, ROUND) });
    for (const m of members) expect(m.measuredScoreBps).to.equal(measured.accuracyBps);
  });

  it("judges the run trained on one wrong example Fraud: every validator's replay disagrees", async () => {
    const t = trainers.find((x) => x.kind === "wrong")!;
    expect((await challengeOf("wrong")).status).to.equal("Fraud");
    const members = await t.client.challenges.getMembers({ id: challengeId(t.address, ROUND) });
    // Each member audits its share of the committee's samples; a member whose share missed the
    // wrong example replays the accused segment in the second phase and votes Invalid too.
    expect(members.some((m) => m.verdict === "Invalid")).to.equal(true);
    expect(members.map((m) => (m.replayVerdict !== "None" ? m.replayVerdict : m.verdict))).to.deep.equal([
      "Invalid",
      "Invalid",
      "Invalid",
    ]);
    expect((await t.client.staking.getOperator({ operator: t.address })).jailed).to.equal(true);
  });

  it("serves the dataset from the trainer's daemon too, checked against the spec's roots", async () => {
    const t = trainers.find((x) => x.kind === "honest")!;
    const { DatasetFetcher, datasetId } = await import("../../node/src/data/index.js");
    const fetcher = new DatasetFetcher({
      ref: data.ref,
      sources: [`${t.daemon.endpoint}/v1/datasets/${datasetId(data.ref)}`],
    });
    const loaded = await fetcher.loadAll();
    expect(loaded.train.example(5)).to.deep.equal(data.train.example(5));
  });

  it("poai dispute open --challenge replays a version 2 segment on its examples fetched from the dataset's sources", async () => {
    const book = path.join(w.tempDir("book"), "deployment.json");
    writeFileSync(
      book,
      JSON.stringify({ chainId: w.deployment.chainId, deployBlock: "0", contracts: w.deployment.contracts }),
    );
    const cli = async (args: string[]) => {
      let err = "";
      const code = await runCli([...args, "--deployment", book, "--json"], {
        env: { POAI_PRIVATE_KEY: accountKey(9) },
        stdout: () => {},
        stderr: (t) => (err += t),
        connection: w.connection,
      });
      return { code, err };
    };
    // the honest run's segment replays on the examples fetched (TaskRegistry sources, then the
    // trainer's server), each chunk proven: nothing to dispute, and nothing is sent
    const honest = challengeId(trainers.find((x) => x.kind === "honest")!.address, ROUND);
    const r = await cli(["dispute", "open", "--challenge", honest, "--segment", "1"]);
    expect(r.code).to.not.equal(0);
    expect(r.err).to.match(
      /segment 1 of 0x[0-9a-f]{64} replays to the committed parameter root 0x[0-9a-f]{64}: nothing to dispute/,
    );
    // a local copy that is not the spec's dataset is refused, naming it
    const other = await cli([
      "dispute",
      "open",
      "--challenge",
      honest,
      "--segment",
      "1",
      "--dataset",
      w.tempDir("empty"),
    ]);
    expect(other.code).to.not.equal(0);
    expect(other.err).to.match(/--dataset \S+poai-empty\S* is not the spec's dataset: /);
  });
});
