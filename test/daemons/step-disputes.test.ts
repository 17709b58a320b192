/**
 * A sampling validator disputes by itself (node/src/disputes/, docs/disputes.md "A game at a
 * sampled step"): the daemon spec is audited by operation sampling (replay budget 0); a trainer
 * that trains every step at half the spec's learning rate (every parameter update of its committed
 * step states is wrong, and they are consistent with each other) is cleared by two colluding
 * members against the honest member's `Invalid`. The honest validator's daemon kept the failed
 * sample's answer during its audit, opens a game at that step (`openBoundAtStep`) and plays it from
 * the kept answer alone (killed after storing its first move and restarted on its database); the
 * trainer's daemon defends from its step states. The chain re-executes the update: the forger and
 * both colluders are slashed, the honest validator not.
 *
 * Then data games (docs/disputes.md, "Data games"): an engine version 2 spec, one trainer training
 * every operation right on examples of its own (every feature changed) and one on labels of its
 * own, both cleared by the colluders; the honest validator's audit refutes a sample of each (the
 * step's committed X or LBL root is not the examples' its key selects), and it opens and wins both
 * games by itself, after a restart, proving the examples under the dataset's training root.
 */
import { expect } from "chai";
import path from "node:path";
import { bytesToHex, parseEther, type Address, type Hex } from "viem";
import {
  challengeId,
  disputeGameAbi,
  getDispute,
  nextDisputeMove,
  openStepDispute,
  sendDisputeMove,
  type PoAIClient,
  type PoAIContractError,
} from "../../sdk/src/index.js";
import {
  DatasetData,
  RunStates,
  SampledStep,
  decodeCheckpoint,
  deriveKey,
  stepDataBytes,
  stepDataContext,
  validateSeed,
  type Checkpoint,
  type ExampleRows,
  type SampleAnswer,
  type StepDispute,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { fetchCheckpointHash } from "../../node/src/daemon/protocol.js";
import { fetchSampleAnswers } from "../../node/src/daemon/samples.js";
import { serveDatasets, type DatasetServer } from "../../node/src/data/index.js";
import { TrainerDaemon } from "../../node/src/node/index.js";
import type { RunRecord } from "../../node/src/node/trainer-store.js";
import { ValidatorDaemon } from "../../node/src/verifier/index.js";
import type { MoveRecord } from "../../node/src/disputes/index.js";
import { ColludingValidator } from "../../scripts/lib/adversaries.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { daemonWorld, withDisputeGame, DAEMON_SPEC_PARAMS, type DaemonWorld } from "../fixtures/daemons.js";
import { syntheticDataset, v2Spec } from "../engine/datasets.js";

const ROUND = 1n;
const BOND = parseEther("10");
const SLASH = parseEther("0.1");

class Killed extends Error {}

/** Trains (and commits, and answers samples from) every step at half the spec's learning rate. */
class HalfRateTrainer extends TrainerDaemon {
  private states(spec: TrainingSpec, seed: Hex, weights: Int16Array, first: number, data?: DatasetData) {
    const key = deriveKey(spec, validateSeed(seed));
    return new RunStates({ ...spec, lrShift: spec.lrShift + 1 }, key, weights, first, data);
  }

  protected override async trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    _signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    const first = index * spec.checkpointInterval;
    const run = this.states(spec, seed, from.weights, first, data);
    const last = run.tensors(first + spec.checkpointInterval - 1).encodings;
    return decodeCheckpoint(spec, last[last.length - 1]);
  }

  protected override async disputeSource(run: RunRecord, segment: number) {
    const stored = this.store.checkpoint(run.id, segment)!;
    const data = await this.datasets.forSpec(run.spec, run.specId);
    const from = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    return this.states(run.spec, run.trainingSeed, from.weights, segment * run.spec.checkpointInterval, data);
  }
}

class KillableValidator extends ValidatorDaemon {
  get player() {
    return this.disputes.player;
  }
}

describe("daemons: a sampling validator opens and wins a game at the sampled step by itself", function () {
  this.timeout(300_000);
  let w: DaemonWorld;
  let game: Address;
  let clientOf: (op: { wallet: DaemonWorld["admin"]["wallet"] }) => PoAIClient;
  let forger: HalfRateTrainer;
  let honest: KillableValidator;
  let honestDb = "";
  const colluders: ColludingValidator[] = [];
  const stakeBefore = new Map<Address, bigint>();
  const errors: string[] = [];
  const stakeOf = async (a: Address) =>
    (await w.admin.client.staking.getOperator({ operator: a })).totalStake;
  const validatorOptions = (i: number) => ({
    client: clientOf(w.validators[i]),
    dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
    backend: "js" as const,
    fetchTimeoutMs: 2_000,
    fetchAttempts: 2,
    logLevel: "silent" as const,
    replayBudgetBytes: 0,
    operationSamples: 32,
  });

  before(async () => {
    w = await daemonWorld({ trainers: 1, validators: 3 });
    ({ game, clientOf } = await withDisputeGame(w, { moveTimeout: 600n, bond: BOND, slashFraction: SLASH }));
    const [trainer] = w.trainers;
    forger = await HalfRateTrainer.create({
      client: clientOf(trainer),
      databasePath: path.join(w.tempDir("forger"), "trainer.db"),
      backend: "js",
      progress: "off",
      logLevel: "silent",
      replayBudgetBytes: 0,
    });
    for (const i of w.validators.keys()) {
      if (i === 0) {
        const options = validatorOptions(0);
        honestDb = options.dbPath;
        honest = await KillableValidator.create(options);
      } else {
        const v = await ColludingValidator.create(validatorOptions(i));
        v.friends.add(trainer.address.toLowerCase());
        colluders.push(v);
      }
    }
    for (const op of [...w.trainers, ...w.validators]) stakeBefore.set(op.address, await stakeOf(op.address));
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers: [forger],
      validators: [honest, ...colluders],
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const d of [forger, honest, ...colluders]) await d?.stop();
    w?.cleanup();
  });

  const id = () => challengeId(w.trainers[0].address, ROUND);

  it("the colluding majority clears the forger; the honest member's sampling audit found it Invalid", async () => {
    expect(errors).to.deep.equal([]);
    expect((await w.admin.client.challenges.getChallenge({ id: id() })).status).to.equal("Valid");
    const members = await w.admin.client.challenges.getMembers({ id: id() });
    const mine = members.find((m) => m.validator.toLowerCase() === w.validators[0].address.toLowerCase())!;
    expect(mine.verdict).to.equal("Invalid");
  });

  it("the validator opens the game at the sampled step by itself: no step bisection, the trainer's committed state posted", async () => {
    const opens = honest.status().disputes!.opens;
    expect(opens).to.have.length(1);
    expect(opens[0]).to.deep.include({ challengeId: id(), status: "opened" });
    const view = await getDispute(clientOf(w.validators[0]), { id: 1n });
    expect(view.hi - view.lo).to.equal(1);
    const events = (eventName: "StepRootPosted" | "StepStatePosted") =>
      w.publicClient.getContractEvents({ address: game, abi: disputeGameAbi, eventName, fromBlock: 0n });
    expect(await events("StepRootPosted")).to.have.length(0);
    // the opening posted the committed state; nobody posted another
    expect(await events("StepStatePosted")).to.have.length(1);
  });

  it("plays it from the kept answer, across a restart, and wins: the forger and both colluders slashed, the verdict overruled", async () => {
    let moves = 0;
    let killed = 0;
    honest.player.hooks = {
      afterPersist: (m: MoveRecord) => {
        if (++moves === 1) {
          killed++;
          throw new Killed(`killed after persisting move ${m.move} (${m.functionName})`);
        }
      },
    };
    for (let i = 0; i < 60; i++) {
      if ((await getDispute(clientOf(w.validators[0]), { id: 1n })).phase === "Resolved") break;
      await forger.tick();
      const before = killed;
      await honest.tick(); // the dispute step fails alone (logged)
      if (killed > before) {
        // a restart on the same database: the answer it plays from comes from its disk
        await honest.stop();
        honest = await KillableValidator.create({ ...validatorOptions(0), dbPath: honestDb });
      }
    }
    expect(killed).to.equal(1);
    const view = await getDispute(clientOf(w.validators[0]), { id: 1n });
    expect(view.phase).to.equal("Resolved");
    expect(view.winner).to.equal(w.validators[0].address);
    const [resolved] = await w.publicClient.getContractEvents({
      address: game,
      abi: disputeGameAbi,
      eventName: "GameResolved",
      fromBlock: 0n,
    });
    // a parameter update re-executed on chain (Θ_out's fold finish), not a timeout
    expect(resolved.args.reason).to.equal("fold finish");
    expect((await stakeOf(w.trainers[0].address)) < stakeBefore.get(w.trainers[0].address)!).to.equal(true);
    for (const op of w.validators.slice(1))
      expect((await stakeOf(op.address)) < stakeBefore.get(op.address)!).to.equal(true);
    expect(await stakeOf(w.validators[0].address)).to.equal(stakeBefore.get(w.validators[0].address));
    expect((await w.admin.client.challenges.getChallenge({ id: id() })).status).to.equal("Fraud");
  });
});

/** Trains (and commits, and answers from) training examples of its own: `substitute`'s. */
abstract class SubstitutingTrainer extends TrainerDaemon {
  abstract substitute(train: ExampleRows): ExampleRows;

  private own(data: DatasetData): DatasetData {
    return new DatasetData(data.manifest, { rows: { train: this.substitute(data.train), eval: data.eval } });
  }

  protected override trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    return super.trainSegment(spec, seed, index, from, signal, this.own(data!));
  }

  protected override async disputeSource(run: RunRecord, segment: number, signal?: AbortSignal) {
    const stored = this.store.checkpoint(run.id, segment)!;
    const data = await this.datasets.forSpec(run.spec, run.specId, signal);
    const from = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    const key = deriveKey(run.spec, validateSeed(run.trainingSeed));
    return new RunStates(run.spec, key, from.weights, from.step, this.own(data!));
  }
}

/** Every training example's features changed (their sign flipped, -128 kept), the labels kept. */
class OwnFeaturesTrainer extends SubstitutingTrainer {
  substitute(train: ExampleRows): ExampleRows {
    return { ...train, inputs: train.inputs.map((v) => (v === -128 ? v : -v || 1)) };
  }
}

/** Every training example's label moved to the next class, the features kept. */
class OwnLabelsTrainer extends SubstitutingTrainer {
  substitute(train: ExampleRows): ExampleRows {
    return { ...train, labels: train.labels.map((l) => (l + 1) % 3) };
  }
}

describe("daemons: a sampling validator overrules a committee that cleared runs trained on examples of their own (engine version 2)", function () {
  this.timeout(300_000);
  let w: DaemonWorld;
  let server: DatasetServer;
  let dataset: DatasetData;
  let game: Address;
  let clientOf: (op: { wallet: DaemonWorld["admin"]["wallet"] }) => PoAIClient;
  let honest: ValidatorDaemon;
  let honestDb = "";
  const trainers: TrainerDaemon[] = [];
  const colluders: ColludingValidator[] = [];
  const stakeBefore = new Map<Address, bigint>();
  const errors: string[] = [];
  const stakeOf = async (a: Address) =>
    (await w.admin.client.staking.getOperator({ operator: a })).totalStake;
  const validatorOptions = (i: number) => ({
    client: clientOf(w.validators[i]),
    dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
    backend: "js" as const,
    fetchTimeoutMs: 2_000,
    fetchAttempts: 2,
    logLevel: "silent" as const,
    replayBudgetBytes: 0,
    operationSamples: 4,
  });

  before(async () => {
    // 150 features (two leaves of a features tree), 3 classes, chunks of 16 examples
    dataset = syntheticDataset(64, 16, 150, 3, 7, 16);
    server = await serveDatasets([
      {
        manifest: dataset.manifest,
        chunk: async (root) => {
          for (const part of [dataset.train, dataset.eval]) {
            const c = part.chunkRoots.indexOf(root.toLowerCase() as Hex);
            if (c >= 0) return part.chunkBytes(c);
          }
          return undefined;
        },
      },
    ]);
    const spec = v2Spec(dataset, {
      hidden: [4],
      batchSize: 4,
      steps: 20,
      checkpointInterval: 10,
      lrShift: 2,
      evalSize: 16,
    });
    w = await daemonWorld({
      trainers: 3,
      validators: 3,
      spec,
      specParams: { ...DAEMON_SPEC_PARAMS, auditSamples: 3 },
      datasetSources: [...server.sources.values()],
    });
    ({ game, clientOf } = await withDisputeGame(w, { moveTimeout: 600n, bond: BOND, slashFraction: SLASH }));
    for (const [i, Class] of [OwnFeaturesTrainer, OwnLabelsTrainer, TrainerDaemon].entries())
      trainers.push(
        await Class.create({
          client: clientOf(w.trainers[i]),
          databasePath: path.join(w.tempDir(`trainer-${i}`), "trainer.db"),
          backend: "js",
          progress: "off",
          logLevel: "silent",
          replayBudgetBytes: 0,
        }),
      );
    const options = validatorOptions(0);
    honestDb = options.dbPath;
    honest = await ValidatorDaemon.create(options);
    for (const i of [1, 2]) {
      const v = await ColludingValidator.create(validatorOptions(i));
      for (const t of w.trainers.slice(0, 2)) v.friends.add(t.address.toLowerCase());
      colluders.push(v);
    }
    for (const op of [...w.trainers, ...w.validators]) stakeBefore.set(op.address, await stakeOf(op.address));
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers,
      validators: [honest, ...colluders],
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const d of [...trainers, honest, ...colluders]) await d?.stop();
    await server?.close();
    w?.cleanup();
  });

  it("the colluders clear both runs against the honest member's Invalid; it opens a data game on each by itself", async () => {
    expect(errors).to.deep.equal([]);
    for (const t of w.trainers.slice(0, 2)) {
      const id = challengeId(t.address, ROUND);
      expect((await w.admin.client.challenges.getChallenge({ id })).status).to.equal("Valid");
      const members = await w.admin.client.challenges.getMembers({ id });
      const mine = members.find((m) => m.validator.toLowerCase() === w.validators[0].address.toLowerCase())!;
      expect(mine.verdict).to.equal("Invalid");
    }
    // the next tick sees both challenges ended Valid and opens a game on each
    for (let i = 0; i < 3 && honest.status().disputes!.opens.length < 2; i++) await honest.tick();
    expect(honest.status().disputes!.opens.map((o) => o.status)).to.deep.equal(["opened", "opened"]);
  });

  it("plays both from the kept answers and data after a restart and wins: each trainer and both colluders slashed, the verdicts overruled", async () => {
    // a restart on the same database: the games are played from the evidence on its disk
    await honest.stop();
    honest = await ValidatorDaemon.create({ ...validatorOptions(0), dbPath: honestDb });
    const view = (id: bigint) => getDispute(clientOf(w.validators[0]), { id });
    for (let i = 0; i < 60; i++) {
      if ((await view(1n)).phase === "Resolved" && (await view(2n)).phase === "Resolved") break;
      for (const t of trainers) await t.tick();
      await honest.tick();
    }
    const resolved = await w.publicClient.getContractEvents({
      address: game,
      abi: disputeGameAbi,
      eventName: "GameResolved",
      fromBlock: 0n,
    });
    expect(resolved).to.have.length(2);
    const slots = new Map<string, number>();
    for (const id of [1n, 2n]) {
      const v = await view(id);
      expect(v.phase).to.equal("Resolved");
      expect(v.winner).to.equal(w.validators[0].address);
      slots.set(v.defender.toLowerCase(), v.slot);
    }
    // an example's feature (X) and an example's label (LBL), each re-executed on chain from the
    // example the run's key selects, proven under the dataset's training root
    expect(slots.get(w.trainers[0].address.toLowerCase())).to.equal(1);
    expect(slots.get(w.trainers[1].address.toLowerCase())).to.equal(3);
    expect(resolved.map((r) => r.args.reason)).to.deep.equal(["element", "element"]);
    for (const op of [...w.trainers.slice(0, 2), ...w.validators.slice(1)])
      expect((await stakeOf(op.address)) < stakeBefore.get(op.address)!, op.address).to.equal(true);
    expect(await stakeOf(w.validators[0].address)).to.equal(stakeBefore.get(w.validators[0].address));
    for (const t of w.trainers.slice(0, 2))
      expect(
        (await w.admin.client.challenges.getChallenge({ id: challengeId(t.address, ROUND) })).status,
      ).to.equal("Fraud");
  });

  /**
   * An outsider opens a data game on the honest trainer's run, naming slot `slot` of step 14 wrong
   * (its data there the run's with byte `at` changed), and plays it; the trainer's daemon defends
   * by itself. Returns the game and the first move of the challenger the chain refused.
   */
  async function accuseHonest(gameId: bigint, slot: number, at: number) {
    const trainer = w.trainers[2];
    const id = challengeId(trainer.address, ROUND);
    const c = await w.admin.client.challenges.getChallenge({ id });
    expect(c.status).to.equal("Valid");
    const operator = await w.admin.client.staking.getOperator({ operator: trainer.address });
    const request = { endpoint: operator.endpoint, id, spec: w.spec, root: c.resultRoot, timeoutMs: 5_000 };
    const [start, end] = [
      await fetchCheckpointHash({ ...request, index: 1 }),
      await fetchCheckpointHash({ ...request, index: 2 }),
    ];
    const sample = { step: 4, slot: 4, byte: 0 };
    const { answers } = await fetchSampleAnswers({ ...request, segment: 1, samples: [sample] });
    const answer = answers[0] as SampleAnswer;
    const key = deriveKey(w.spec, c.seed);
    const step = w.spec.checkpointInterval + sample.step;
    const bytes = stepDataBytes(w.spec, key, step, dataset);
    bytes.get(slot)![at] ^= 0x01;
    const context = stepDataContext(w.spec, key, dataset);
    const dispute: StepDispute = {
      fraud: "data",
      sample,
      answer,
      state: answer.state,
      ...(answer.next && { next: answer.next }),
      data: {
        slot,
        key,
        bytes: [1, 2, 3].map((k) => bytesToHex(bytes.get(k) ?? new Uint8Array(0))),
        examples: Array.from({ length: w.spec.batchSize }, (_, r) => context.exampleProof!(step, r)),
      },
    };
    const accuser = clientOf(w.admin);
    await w.d.token.write.approve([game, BOND]);
    const leaf = (p: typeof start) => ({
      hash: p.hash,
      parameterRoot: p.parameterRoot,
      stepRoot: p.stepRoot,
      proof: p.proof,
    });
    await w.publicClient.waitForTransactionReceipt({
      hash: await openStepDispute(accuser, {
        challengeId: id,
        segment: 1,
        start: leaf(start),
        end: leaf(end),
        dispute,
      }),
    });
    const challenger = new SampledStep(w.spec, dispute);
    let refused = "";
    for (let i = 0; i < 40 && !refused; i++) {
      const view = await getDispute(accuser, { id: gameId });
      if (view.phase === "Resolved") break;
      const move = await nextDisputeMove(accuser, view, challenger, w.admin.address);
      if (!move) await trainers[2].tick();
      else
        try {
          await w.publicClient.waitForTransactionReceipt({ hash: await sendDisputeMove(accuser, move) });
        } catch (err) {
          refused = `${move.functionName}: ${(err as PoAIContractError).errorName}`;
        }
    }
    const reason = async () =>
      (
        await w.publicClient.getContractEvents({
          address: game,
          abi: disputeGameAbi,
          eventName: "GameResolved",
          args: { id: gameId },
          fromBlock: 0n,
        })
      )[0]?.args.reason;
    return { view: () => getDispute(accuser, { id: gameId }), refused, reason };
  }

  it("the honest trainer's daemon wins a data game against a challenger that names its labels wrong: the label re-executed from the proven example", async () => {
    const trainer = w.trainers[2];
    // LBL[1] of step 14 (bytes 4..7), the challenger's label one more
    const g = await accuseHonest(3n, 3, 4);
    expect(g.refused).to.equal("");
    const view = await g.view();
    expect([view.phase, view.winner, view.slot]).to.deep.equal(["Resolved", trainer.address, 3]);
    expect(await g.reason()).to.equal("element");
    expect(await stakeOf(trainer.address)).to.equal(stakeBefore.get(trainer.address));
  });

  it("and one that names a feature wrong: its feature's leaf is not under the example's features root, and the trainer claims the timeout", async () => {
    const trainer = w.trainers[2];
    // X[2][140] of step 14: down the X tree (5 leaves) to the changed feature, which the chain reads
    // from the example the run's key selects; the challenger's leaf of it is refused
    const g = await accuseHonest(4n, 1, 2 * 150 + 140);
    expect(g.refused).to.equal("pickElement: BadProof");
    await w.advanceTo((await g.view()).deadline + 1n);
    await trainers[2].tick(); // the trainer's daemon claims the game once the deadline passed
    const view = await g.view();
    expect([view.phase, view.winner, view.slot]).to.deep.equal(["Resolved", trainer.address, 1]);
    expect(await g.reason()).to.equal("timeout");
    expect(await stakeOf(trainer.address)).to.equal(stakeBefore.get(trainer.address));
  });
});
