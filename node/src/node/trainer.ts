/**
 * The trainer daemon: answers the trainer's Proof-of-AI challenge every round and serves the
 * checkpoints the validators audit.
 *
 * Each `tick()` reads the chain's time (the latest block's timestamp, never the wall clock) and:
 * 1. for the current round, seals the beacon if nobody contributed to it, derives the challenge
 *    (`getDueChallenge`: due, seed, spec, deadline), reads the spec from the TaskRegistry and
 *    records the run, or records why there is nothing to do (no active spec, not due);
 * 2. trains every unfinished run segment by segment, writing each checkpoint to SQLite as it comes
 *    (a restart resumes from the last one written, bit for bit), commits to the checkpoints
 *    (Merkle root), evaluates the final checkpoint and submits root and score before the deadline,
 *    recording `submitting` before it sends and checking the chain after a restart, so a result is
 *    never sent twice; a run whose deadline passed is marked missed and nothing is sent;
 * 3. defends the dispute games opened against its runs (`../disputes/defender.ts`: the disputed
 *    segment's states recomputed from the stored checkpoint, every move stored before it is sent),
 *    and the score games opened on its job runs' reported accuracy (`../disputes/score.ts`: its
 *    evaluation of the stored final checkpoint over the dataset's held-out part);
 * 4. prunes the checkpoints of rounds whose points are final (`closesAt`, plus `retentionSeconds`),
 *    but not of a run still inside the dispute window or with a game in progress.
 *
 * An engine version 2 spec trains on its dataset, fetched from the sources the TaskRegistry lists
 * (every chunk checked against the spec's roots; `trainer-datasets.ts`) and cached beside the
 * database.
 *
 * One HTTP server carries the checkpoint protocol (`../daemon/protocol.ts`), the datasets the
 * daemon holds (`/v1/datasets/…`, so a trainer is a dataset source too) and `/healthz`,
 * `/status`, `/metrics`. At start the daemon publishes the server's public URL as the trainer's
 * endpoint in Staking, where validators look it up: only once that URL reaches this very daemon,
 * and never over another live daemon of the same key (it refuses to start instead). At every tick
 * it checks that Staking still holds its endpoint; when it changed, it says so (error log,
 * `/status`, `/healthz` not ok) and re-publishes its own unless another live daemon serves the new
 * one.
 *
 * The protected hooks (`trainingSeed`, `initialCheckpoint`, `trainSegment`, `reportScore`,
 * `serveCheckpoint`, `mayStillSubmit`, `sendResult`, `onCheckpointPersisted`, `disputeSource`,
 * `scoreEvidence`) hold the honest
 * behaviour; a subclass can change one step (tests build dishonest trainers this way).
 */
import { randomUUID } from "node:crypto";
import { keccak256, type Address, type Hash, type Hex } from "viem";
import { getBlock, getTransactionCount, getTransactionReceipt } from "viem/actions";
import { Registry } from "prom-client";
import type { ChallengeInfo, DueChallenge } from "@poai/sdk";
import { OPERATOR_STATUS, type OperatorView } from "@poai/sdk";
import type { PoAIClient } from "@poai/sdk";
import {
  auditModeFor,
  commit,
  decodeCheckpoint,
  deriveKey,
  encodeCheckpoint,
  evaluate,
  modelLayout,
  probeCuda,
  replaySegment,
  RunStates,
  specId,
  validateSeed,
  validateSpec,
  type Checkpoint,
  type DatasetData,
  type EngineBackend,
  ScoreEvidence,
  type EvalTrace,
  type RunCommitment,
  type StateSource,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { DefenderDisputes } from "../disputes/defender.js";
import { DisputeStore } from "../disputes/store.js";
import { ScoreDisputes, type ScoreEvidenceOf } from "../disputes/score.js";
import { TrainerDatasets } from "./trainer-datasets.js";
import {
  DaemonLoop,
  checkpointRoutes,
  sampleRoutes,
  evalSampleRoutes,
  createLogger,
  createProgress,
  serve,
  standardRoutes,
  withRetry,
  type CheckpointSource,
  type HealthProbe,
  type Logger,
  type RunInfo,
  type RunningServer,
  type ServedCheckpoint,
} from "../daemon/index.js";
import { PoAIContractError, PoAIInputError, isPoAIContractError } from "@poai/sdk";
import { roundAt } from "@poai/sdk";
import { ENDPOINT_PROBE_MS, whoServes } from "./endpoint.js";
import { claimJobs, isJobRun } from "./trainer-jobs.js";
import { trainerMetrics, type TrainerMetrics } from "./trainer-metrics.js";
import {
  resolveTrainerOptions,
  type ResolvedTrainerOptions,
  type TrainerDaemonOptions,
} from "./trainer-options.js";
import { TrainerStore, type RunRecord, type RunState } from "./trainer-store.js";
import {
  EvalTraces,
  answerEvaluation,
  answerSamples,
  evaluationTrace,
  segmentStepRoot,
} from "./trainer-samples.js";

// --- status -------------------------------------------------------------------------------------

/** One run as `status()` reports it. */
export interface RunSummary {
  id: Hex;
  round: bigint;
  specId: Hex;
  seed: Hex;
  state: RunState;
  /** Checkpoints on disk / in a complete run. */
  checkpoints: number;
  totalCheckpoints: number;
  root: Hex | null;
  measuredScoreBps: number | null;
  reportedScoreBps: number | null;
  deadline: bigint;
  closesAt: bigint;
  txHash: Hex | null;
  error: string | null;
  pruned: boolean;
}

/** What `status()` (and `GET /status`) reports. */
export interface TrainerStatus {
  address: Address;
  /** This daemon process's random id: tells it from another daemon of the same key. */
  instanceId: string;
  /** The HTTP server's own URL, and the endpoint published for validators. */
  serverUrl: string;
  endpoint: string;
  /**
   * The endpoint Staking holds for this trainer at the last check (null before it, or when the
   * daemon does not publish), and why it is not this daemon's, if it is not: another live daemon
   * of the same key serves it, or it changed and this daemon has not re-published yet.
   */
  publishedEndpoint: string | null;
  endpointProblem: string | null;
  /** The last times the published endpoint changed under this daemon, newest first (at most 10). */
  endpointChanges: { at: string; from: string; to: string; action: "republished" | "conflict" }[];
  backend: string;
  /** Chain time and round at the last tick; null before the first. */
  chainTime: bigint | null;
  round: bigint | null;
  /** Why the daemon has nothing to do in `round` (no active spec, not due), or null. */
  idle: { round: bigint; reason: string } | null;
  /** The run of the current round, if the trainer is due one. */
  currentRun: RunSummary | null;
  /** The latest submitted runs, newest first. */
  lastSubmissions: RunSummary[];
  /** The last failed tick: when (ISO time) and why. */
  lastError: { at: string; message: string } | null;
  /** Dispute games against this trainer's runs (`deadlineNear` flags a late turn). */
  disputes: ReturnType<DefenderDisputes["status"]>;
  /** Score games on this trainer's job runs' reported accuracy (and the inference games they host). */
  scoreGames: ReturnType<ScoreDisputes["status"]>;
  ticks: number;
  stopped: boolean;
}

// --- the daemon ---------------------------------------------------------------------------------

/** The daemon refuses to start: its endpoint is another live daemon's, or does not reach it. */
export class EndpointError extends Error {
  override readonly name = "EndpointError";
}

/** What `create` hands the constructor. Build daemons with `TrainerDaemon.create`. */
export interface TrainerInit {
  options: ResolvedTrainerOptions;
  store: TrainerStore;
  log: Logger;
  genesis: bigint;
  epochLength: bigint;
}

type Stage = "chain" | "challenge" | "jobs" | "training" | "submission" | "pruning" | "http";

/** A result to send: what `sendResult` receives. */
export interface ResultToSend {
  id: Hex;
  round: bigint;
  root: Hex;
  reportedScoreBps: number;
}

const COMMITMENT_CACHE = 8;

export class TrainerDaemon extends DaemonLoop {
  protected override readonly log: Logger;
  /** The trainer's address (the client's account). */
  readonly address: Address;
  /** This daemon's Prometheus registry (served at `/metrics`). */
  readonly metrics: Registry;
  protected readonly client: PoAIClient;
  protected readonly backend: EngineBackend;
  protected readonly store: TrainerStore;
  protected readonly options: ResolvedTrainerOptions;
  protected readonly genesis: bigint;
  protected readonly epochLength: bigint;
  private readonly m: TrainerMetrics;
  private server: RunningServer | undefined;
  private publicEndpoint = "";
  private chain: { now: bigint; round: bigint } | null = null;
  private idle: { round: bigint; reason: string; settled: boolean } | null = null;
  private lastError: { at: string; message: string } | null = null;
  private ticks = 0;
  private stage: Stage = "chain";
  private closed = false;
  private readonly commitments = new Map<Hex, RunCommitment>();
  private readonly evalTraces = new EvalTraces();
  /** This process's random id, served at `/status` (`whoServes` compares it). */
  readonly instanceId: string = randomUUID();
  private publishedEndpoint: string | null = null;
  private endpointProblem: string | null = null;
  private readonly endpointChanges: TrainerStatus["endpointChanges"] = [];

  /**
   * Starts a trainer daemon: validates the options, opens the database, starts the HTTP server and
   * publishes its endpoint. Call `tick()` (or `startLoop()`) to work, `stop()` to shut down.
   * Subclasses get an instance of their own class.
   */
  static async create<D extends TrainerDaemon>(
    this: new (init: TrainerInit) => D,
    options: TrainerDaemonOptions,
  ): Promise<D> {
    // "auto" considers CUDA only after a probe (loads the driver once per process; never throws).
    if (options.backend === undefined || options.backend === "auto") await probeCuda();
    const o = resolveTrainerOptions(options);
    const base =
      o.logger ?? createLogger("poai-trainer", o.logLevel === undefined ? {} : { level: o.logLevel });
    const log = base.child({ trainer: o.address });
    const round0 = await withRetry(() => o.client.challenges.getRoundWindows({ round: 0 }), {
      attempts: o.rpcAttempts,
      retryable: (err) => !isPoAIContractError(err) && !(err instanceof PoAIInputError),
    });
    const store = new TrainerStore(o.databasePath, {
      trainer: o.address,
      chainId: o.client.deployment.chainId,
      challengeManager: o.client.deployment.contracts.challengeManager!,
    });
    let daemon: D | undefined;
    try {
      daemon = new this({
        options: o,
        store,
        log,
        genesis: round0.start,
        epochLength: round0.end - round0.start,
      });
      await daemon.open();
      return daemon;
    } catch (err) {
      if (daemon) await daemon.release();
      else store.close();
      throw err;
    }
  }

  /** Use `TrainerDaemon.create` (it opens the server and publishes the endpoint). */
  constructor(init: TrainerInit) {
    super();
    this.options = init.options;
    this.client = init.options.client;
    this.address = init.options.address;
    this.backend = init.options.backend;
    this.store = init.store;
    this.log = init.log;
    this.genesis = init.genesis;
    this.epochLength = init.epochLength;
    this.metrics = new Registry();
    this.m = trainerMetrics(this.metrics, () => this.store);
    this.datasets = new TrainerDatasets({
      client: this.client,
      sources: init.options.datasetSources,
      cacheDir: init.options.datasetCacheDir,
      timeoutMs: init.options.datasetTimeoutMs,
      onFailure: (f) => this.log.warn({ url: f.url, kind: f.kind }, `dataset source failed: ${f.message}`),
    });
    this.disputes = new DefenderDisputes({
      client: this.client,
      trainer: this.address,
      store: new DisputeStore(this.store.db),
      log: this.log.child({ part: "disputes" }),
      ownsRun: (id) => {
        const run = this.store.run(id.toLowerCase() as Hex);
        return run !== undefined && !run.pruned;
      },
      sourceOf: async (id, segment, signal) => {
        const run = this.store.run(id.toLowerCase() as Hex);
        if (!run) throw new Error(`no run ${id} to defend`);
        return this.disputeSource(run, segment, signal);
      },
      defend: init.options.disputes,
      rootOf: (id) => {
        const run = this.store.run(id.toLowerCase() as Hex);
        return run === undefined || run.pruned ? undefined : run.root;
      },
    });
    this.scores = new ScoreDisputes({
      client: this.client,
      account: this.address,
      role: "defender",
      store: new DisputeStore(this.store.db, "score"),
      inner: new DisputeStore(this.store.db, "score_inference"),
      log: this.log.child({ part: "score-games" }),
      ownsRun: (id) => {
        const run = this.store.run(id.toLowerCase() as Hex);
        return run !== undefined && !run.pruned;
      },
      evidenceOf: async (id, signal) => {
        const run = this.store.run(id.toLowerCase() as Hex);
        if (!run || run.pruned) return undefined;
        return this.scoreEvidence(run, signal);
      },
    });
  }

  /** The dispute games against this trainer's runs (docs/disputes.md, "Daemons"). */
  protected readonly disputes: DefenderDisputes;

  /** The score games on this trainer's job runs' reported accuracy (docs/disputes.md, "Score games"). */
  protected readonly scores: ScoreDisputes;

  /** The datasets of the version 2 specs this daemon trains (fetched, checked, cached, served). */
  protected readonly datasets: TrainerDatasets;

  /** `/healthz` probes: the chain, the database, and the published endpoint being this daemon's. */
  protected override healthProbes(): Record<string, HealthProbe> {
    return {
      ...super.healthProbes(),
      endpoint: () => {
        if (this.endpointProblem !== null) throw new Error(this.endpointProblem);
      },
    };
  }

  /** The HTTP server's own URL (`http://host:port`). */
  get serverUrl(): string {
    return this.server?.url ?? "";
  }

  /** The endpoint validators fetch checkpoints from (`publicEndpoint`, default the server's URL). */
  get endpoint(): string {
    return this.publicEndpoint;
  }

  private async open(): Promise<void> {
    const source: CheckpointSource = {
      run: (id) => this.runInfo(id),
      checkpoint: async (id, index) => {
        const served = await this.serveCheckpoint(id, index);
        if (served) {
          this.m.servedCheckpoints.inc();
          this.m.servedBytes.inc(served.bytes.length);
        }
        return served;
      },
    };
    this.server = await serve(
      [
        ...checkpointRoutes(source),
        ...sampleRoutes({
          run: (id) => this.runInfo(id),
          spec: (id) => this.store.run(id)?.spec,
          answer: async (id, segment, samples) => {
            const run = this.store.run(id);
            if (!run || this.closed || this.store.checkpoint(run.id, segment) === undefined) return undefined;
            const started = performance.now();
            const source = await this.disputeSource(run, segment);
            const answers = answerSamples(source, run.spec, segment, samples);
            this.log.debug(
              { id, segment, samples: samples.length, ms: Math.round(performance.now() - started) },
              "sample answers served",
            );
            return answers;
          },
        }),
        ...evalSampleRoutes({
          run: (id) => this.runInfo(id),
          spec: (id) => this.store.run(id)?.spec,
          answer: async (id, samples) => {
            const run = this.store.run(id);
            if (!run || this.closed || run.root === null) return undefined;
            const started = performance.now();
            const trace = await this.evalTraces.get(run.id, () => this.finalEvaluationTrace(run));
            const answers = answerEvaluation(trace, samples);
            this.log.debug(
              { id, examples: samples.length, ms: Math.round(performance.now() - started) },
              "evaluation samples answered",
            );
            return answers;
          },
        }),
        ...this.datasets.routes(),
        ...standardRoutes(() => this.status(), this.metrics, this),
      ],
      {
        host: this.options.host,
        port: this.options.port,
        onError: (err) => {
          this.m.errors.inc({ stage: "http" });
          this.log.error({ err }, "HTTP handler failed");
        },
      },
    );
    this.publicEndpoint = this.options.publicEndpoint ?? this.server.url;
    this.log.info(
      {
        server: this.server.url,
        endpoint: this.publicEndpoint,
        backend: this.backend.kind,
        database: this.options.databasePath,
      },
      "trainer daemon started",
    );
    if (this.options.registerEndpoint) await this.claimEndpoint();
  }

  /**
   * Before publishing: the public endpoint must reach this very daemon (its `/status` answers with
   * this process's `instanceId`), and the endpoint Staking holds must not be served by another
   * live daemon of the same key. Either failure refuses the start, before anything is sent, so a
   * second daemon never takes a live endpoint and a daemon never publishes a URL it does not serve.
   */
  private async claimEndpoint(): Promise<void> {
    const op = await this.rpc(() => this.client.staking.getOperator({ operator: this.address }));
    if (op.status === OPERATOR_STATUS.None) {
      this.log.warn({ endpoint: this.publicEndpoint }, "not a registered operator: endpoint not published");
      return;
    }
    const ours = this.publicEndpoint;
    if (op.endpoint !== ours && op.endpoint !== "") {
      const holder = await whoServes(op.endpoint);
      if (holder?.address === this.address && holder.instanceId !== this.instanceId) {
        throw new EndpointError(
          `another trainer daemon of ${this.address} is live at its published endpoint ${op.endpoint} ` +
            `(its /status answers, instance ${holder.instanceId}): stop it before starting another one ` +
            "with the same key, or start this one with --no-register-endpoint",
        );
      }
    }
    const self = await whoServes(ours);
    if (self?.instanceId !== this.instanceId) {
      throw new EndpointError(
        self
          ? `the public endpoint ${ours} reaches another trainer daemon (instance ${self.instanceId}), not this one: ` +
              "give this daemon's own public URL with --public-endpoint"
          : `the public endpoint ${ours} does not reach this daemon (its /status did not answer within ` +
              `${ENDPOINT_PROBE_MS} ms): validators could not fetch its checkpoints; give the URL that reaches ` +
              "this server with --public-endpoint, or publish it yourself and pass --no-register-endpoint",
      );
    }
    await this.publishEndpoint(op);
  }

  /** Publishes the endpoint (and GPU class) in Staking when the registered one differs. */
  private async publishEndpoint(op: OperatorView): Promise<void> {
    const gpuClass = this.options.gpuClass ?? op.gpuClass;
    this.publishedEndpoint = op.endpoint;
    if (op.endpoint === this.publicEndpoint && op.gpuClass === gpuClass) {
      this.log.info({ endpoint: op.endpoint }, "endpoint already registered");
      return;
    }
    const hash = await this.client.staking.updateMetadata({ endpoint: this.publicEndpoint, gpuClass });
    await this.client.waitForTransaction(hash, { confirmations: this.options.confirmations });
    this.publishedEndpoint = this.publicEndpoint;
    this.log.info(
      { endpoint: this.publicEndpoint, previous: op.endpoint, gpuClass, tx: hash },
      "endpoint registered",
    );
  }

  /**
   * At every tick: the endpoint Staking holds is still this daemon's. When it changed, the daemon
   * says so loudly (an error log, `/status`'s `endpointProblem` and `endpointChanges`, `/healthz`
   * not ok) and, unless another live daemon of the same key serves the new one, re-publishes its
   * own: it is the one serving. It never takes the endpoint back from a live daemon.
   */
  private async watchEndpoint(signal: AbortSignal): Promise<void> {
    if (!this.options.registerEndpoint) return;
    const op = await this.rpc(() => this.client.staking.getOperator({ operator: this.address }));
    if (op.status === OPERATOR_STATUS.None) return;
    this.publishedEndpoint = op.endpoint;
    const ours = this.publicEndpoint;
    if (op.endpoint === ours) {
      if (this.endpointProblem !== null) {
        this.log.info({ endpoint: ours }, "the published endpoint is this daemon's again");
        this.endpointProblem = null;
      }
      return;
    }
    const note = (action: "republished" | "conflict") => {
      this.endpointChanges.unshift({ at: new Date().toISOString(), from: ours, to: op.endpoint, action });
      this.endpointChanges.splice(10);
    };
    const holder = await whoServes(op.endpoint, signal);
    if (holder?.address === this.address && holder.instanceId !== this.instanceId) {
      const problem =
        `the published endpoint is ${op.endpoint}, served by another trainer daemon of ${this.address} ` +
        `(instance ${holder.instanceId}); this daemon serves ${ours}, which validators no longer audit: ` +
        "stop one of the two";
      if (this.endpointProblem !== problem) {
        note("conflict");
        this.log.error({ published: op.endpoint, ours, other: holder.instanceId }, problem);
      }
      this.endpointProblem = problem;
      return;
    }
    this.endpointProblem =
      `the published endpoint changed to ${op.endpoint}, which does not serve this trainer; ` +
      `re-publishing this daemon's ${ours}`;
    this.log.error({ published: op.endpoint, ours }, this.endpointProblem);
    note("republished");
    await this.publishEndpoint(op);
    this.endpointProblem = null;
  }
  protected override async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.server?.close();
    this.store.close();
    this.log.info("trainer daemon stopped");
  }

  // --- the round's work --------------------------------------------------------------------------

  protected override async work(signal: AbortSignal): Promise<void> {
    if (this.closed) throw new Error("the trainer daemon is stopped");
    this.ticks++;
    try {
      await this.pass(signal);
    } catch (err) {
      if (!signal.aborted) {
        this.m.errors.inc({ stage: this.stage });
        this.lastError = { at: new Date().toISOString(), message: (err as Error)?.message ?? String(err) };
      }
      throw err;
    }
  }

  private async pass(signal: AbortSignal): Promise<void> {
    this.stage = "chain";
    this.progress("chain");
    const now = await this.chainTime();
    const round = roundAt(this.genesis, this.epochLength, now);
    this.chain = { now, round };
    this.m.currentRound.set(Number(round));
    this.progress("endpoint");
    await this.watchEndpoint(signal);
    await this.openRound(round, now);
    await this.claimJobs(round);
    // One run's failure (a corrupt row, an RPC error) holds up neither the others nor pruning;
    // the tick still fails afterwards, so the loop backs off and retries.
    let failure: { error: unknown; stage: Stage } | undefined;
    for (const run of this.store.unfinishedRuns()) {
      signal.throwIfAborted();
      this.progress(`run ${run.id} (${run.state})`);
      try {
        await this.advance(run, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        this.log.error({ err: error, round: run.round, id: run.id, state: run.state }, "run failed");
        failure ??= { error, stage: this.stage };
      }
    }
    this.progress("disputes");
    try {
      await this.disputes.step(signal);
    } catch (error) {
      if (signal.aborted) throw error;
      this.log.error({ err: error }, "dispute games failed; retried at the next tick");
      failure ??= { error, stage: this.stage };
    }
    // Score games: found from the chain (a cursor in the database), one move each per tick.
    this.progress("score games");
    try {
      await this.scores.scan();
      await this.scores.play(signal);
    } catch (error) {
      if (signal.aborted) throw error;
      this.log.error({ err: error }, "score games failed; retried at the next tick");
      failure ??= { error, stage: this.stage };
    }
    this.stage = "pruning";
    this.progress("pruning");
    await this.prune(now);
    if (failure) {
      this.stage = failure.stage;
      throw failure.error;
    }
  }

  /**
   * Claims a paid job for the next round when this round is its claim round (`trainer-jobs.ts`).
   * A failure is logged and retried next tick; it never holds up the runs.
   */
  private async claimJobs(round: bigint): Promise<void> {
    if (!this.options.claimJobs || this.client.deployment.contracts.jobRegistry === undefined) return;
    if (this.jobsDoneFor === round) return;
    this.stage = "jobs";
    try {
      // Held: one read per tick (a better draw may still take the place; then claim again).
      const r = await claimJobs(this.client, { trainer: this.address, round });
      for (const x of r.refused)
        this.log.debug({ round, jobId: x.jobId, reason: x.reason }, "job not claimed");
      if (r.claimed) this.log.info({ round, jobId: r.claimed.jobId, tx: r.claimed.hash }, "job claimed");
      // Holding nothing after a pass: nothing claimable, or outranked everywhere, which stays so
      // within the round (places only fill, draws are fixed).
      if (r.held === 0n) this.jobsDoneFor = round;
    } catch (err) {
      this.log.warn({ err, round }, "job claiming failed; retried next tick");
    }
  }

  private jobsDoneFor: bigint | undefined;

  /** Records the run of `round` (or why there is none) unless this was done already. */
  private async openRound(round: bigint, now: bigint): Promise<void> {
    if (this.store.runOfRound(round) !== undefined) return;
    if (this.idle?.round === round && this.idle.settled) return;
    this.stage = "challenge";
    // Cheap reads first: no beacon is sealed for a round the trainer has nothing to do in.
    const specs = await this.rpc(() => this.client.registry.getActiveSpecs({ round })).catch((err) => {
      if (isPoAIContractError(err, "NoActiveSpec")) return [];
      throw err;
    });
    if (specs.length === 0) {
      this.setIdle(round, `no training spec is active in round ${round} (NoActiveSpec)`, true);
      return;
    }
    const ineligible = await this.ineligibility();
    if (ineligible !== undefined) {
      this.setIdle(round, ineligible, false); // may change within the round (unjail, stake): asked again next tick
      return;
    }
    const due = await this.dueChallenge(round);
    if (due === undefined) return;
    if (!due.due) {
      const reason = `${this.address} had less than the trainer minimum stake at the start of round ${round}`;
      this.setIdle(round, reason, true);
      return;
    }
    const spec = validateSpec(await this.rpc(() => this.client.registry.getSpec({ specId: due.specId })));
    if (specId(spec).toLowerCase() !== due.specId.toLowerCase()) {
      throw new Error(`the TaskRegistry returned spec ${specId(spec)} for spec id ${due.specId}`);
    }
    const windows = await this.rpc(() =>
      this.client.challenges.getRoundWindows({ round, specId: due.specId }),
    );
    const base = {
      id: due.id,
      round,
      specId: due.specId,
      spec,
      seed: due.seed,
      trainingSeed: this.trainingSeed(due),
      deadline: due.deadline,
      closesAt: windows.closesAt,
      checkpointCount: modelLayout(spec).checkpointCount,
    };
    this.idle = null;
    const fields = { round, id: due.id, specId: due.specId, deadline: due.deadline };
    if (due.status === "Missed") {
      this.store.insertRun({ ...base, state: "missed", error: "the challenge was reported missed on chain" });
      this.log.warn(fields, "challenge already reported missed");
    } else if (due.status === "None" && !this.mayStillSubmit(now, due.deadline)) {
      const reason = `the deadline ${due.deadline} passed (chain time ${now}) before the daemon saw the round`;
      this.store.insertRun({ ...base, state: "missed", error: reason });
      this.m.missed.inc();
      this.log.warn(
        { ...fields, now },
        "deadline passed without a submission: run marked missed, nothing sent",
      );
    } else {
      this.store.insertRun(base);
      this.log.info(
        { ...fields, seed: due.seed, segments: base.checkpointCount - 1, status: due.status },
        "challenge due",
      );
    }
  }

  /** `getDueChallenge`, sealing the round's beacon first when nobody contributed to it. */
  private async dueChallenge(round: bigint): Promise<DueChallenge | undefined> {
    const read = () =>
      this.rpc(() => this.client.challenges.getDueChallenge({ trainer: this.address, round }));
    try {
      try {
        return await read();
      } catch (err) {
        if (!isPoAIContractError(err, "BeaconNotReady")) throw err;
        const hash = await this.client.beacon.ensureBeacon({ round });
        if (hash !== undefined) {
          await this.client.waitForTransaction(hash, { confirmations: this.options.confirmations });
          this.log.info({ round, tx: hash }, "sealed the round's beacon (no contributions)");
        }
        return await read();
      }
    } catch (err) {
      if (!isPoAIContractError(err, "NoActiveSpec")) throw err;
      this.setIdle(round, `no training spec is active in round ${round} (NoActiveSpec)`, true);
      return undefined;
    }
  }

  /** Why the account cannot be due a challenge now (role, registration, jail, self-stake), if it cannot. */
  private async ineligibility(): Promise<string | undefined> {
    const op = await this.rpc(() => this.client.staking.getOperator({ operator: this.address }));
    const who = this.address;
    if (op.status === OPERATOR_STATUS.None)
      return `${who} is not a registered operator (register it as a trainer)`;
    if (op.role !== "trainer") return `${who} is registered as a ${op.role}, not a trainer`;
    if (op.status === OPERATOR_STATUS.Deregistered) return `${who} deregistered`;
    if (op.jailed) return `${who} is jailed until ${op.jailedUntil}`;
    if (!op.active) return `${who} is not active: its self-stake is below the trainer minimum`;
    return undefined;
  }

  /** Records why there is nothing to do in `round`; `settled`: the reason holds for the whole round. */
  private setIdle(round: bigint, reason: string, settled: boolean): void {
    const changed = this.idle?.round !== round || this.idle.reason !== reason;
    this.idle = { round, reason, settled };
    if (changed) this.log.info({ round }, `nothing to do this round: ${reason}`);
  }

  /** Moves one unfinished run on: reconcile a submission, train, submit. */
  private async advance(record: RunRecord, signal: AbortSignal): Promise<void> {
    let run = record;
    if (run.state === "submitting") {
      this.stage = "submission";
      run = await this.reconcile(run);
      if (run.state !== "trained") return;
    }
    if (run.state === "training") {
      this.stage = "training";
      const now = await this.chainTime();
      if (!this.mayStillSubmit(now, run.deadline)) {
        const onChain = await this.rpc(() => this.client.challenges.getChallenge({ id: run.id }));
        // A result already on chain (sent by an earlier installation): keep training, to serve it.
        if (onChain.status === "None" || onChain.status === "Missed") {
          this.markMissed(
            run,
            `the deadline ${run.deadline} passed (chain time ${now}) before training finished`,
          );
          return;
        }
      }
      run = await this.train(run, signal);
    }
    if (run.state === "trained") {
      this.stage = "submission";
      await this.submit(run);
    }
  }

  /** Trains `run` from its last stored checkpoint to the end; commits and evaluates it. */
  private async train(run: RunRecord, signal: AbortSignal): Promise<RunRecord> {
    const spec = run.spec;
    const segments = run.checkpointCount - 1;
    const fields = { round: run.round, id: run.id, specId: run.specId };
    const started = performance.now();
    let checkpoint: Checkpoint;
    let index: number;
    const last = this.store.lastCheckpoint(run.id);
    if (last === undefined) {
      checkpoint = await this.initialCheckpoint(spec, run.trainingSeed);
      index = 0;
      await this.persist(run, 0, checkpoint);
      this.log.info({ ...fields, segments, backend: this.backend.kind }, "training started");
    } else {
      checkpoint = decodeCheckpoint(spec, last.bytes, last.hash);
      index = last.index;
      this.log.info({ ...fields, segments, from: index, backend: this.backend.kind }, "training resumed");
    }
    const data = await this.datasets.forSpec(spec, run.specId, signal);
    const progress = createProgress(`round ${run.round} training`, segments, {
      logger: this.log,
      mode: this.options.progress,
      fields,
    });
    try {
      progress.update(index);
      for (; index < segments; index++) {
        signal.throwIfAborted();
        checkpoint = await this.trainSegment(spec, run.trainingSeed, index, checkpoint, signal, data);
        await this.persist(run, index + 1, checkpoint);
        progress.update(index + 1);
      }
    } finally {
      progress.stop();
    }
    this.m.trainingSeconds.observe((performance.now() - started) / 1000);
    const hashes = this.store.checkpointHashes(run.id);
    if (hashes.length !== run.checkpointCount) {
      throw new Error(
        `run ${run.id} has ${hashes.length} checkpoints on disk, expected ${run.checkpointCount}`,
      );
    }
    await this.commitStepRoots(run, signal);
    await this.commitEvaluationRoot(run, checkpoint, data);
    const commitment = commit({
      checkpointHashes: hashes,
      parameterRoots: this.store.parameterRoots(run.id),
      stepRoots: this.store.stepRoots(run.id),
    });
    this.remember(run.id, commitment);
    const score = await evaluate(spec, run.seed, checkpoint, { backend: this.backend, data });
    const reported = this.reportScore(score.accuracyBps);
    this.m.measuredScore.set(score.accuracyBps);
    const trained = this.store.updateRun(run.id, {
      state: "trained",
      root: commitment.root,
      measuredScoreBps: score.accuracyBps,
      reportedScoreBps: reported,
    });
    this.log.info(
      {
        ...fields,
        checkpoints: hashes.length,
        root: commitment.root,
        measuredScoreBps: score.accuracyBps,
        reportedScoreBps: reported,
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      },
      "training finished",
    );
    return trained;
  }

  /**
   * For a spec audited by operation sampling (`auditModeFor` under `replayBudgetBytes`), computes
   * and stores the step-state root of every segment not stored yet (a restart resumes at the first
   * missing one): the engine's steps traced from the stored checkpoints. A segment-replay spec
   * commits zero step roots and skips this.
   */
  private async commitStepRoots(run: RunRecord, signal: AbortSignal): Promise<void> {
    if (auditModeFor(run.spec, this.options.replayBudgetBytes).mode !== "operation-sampling") return;
    const segments = run.checkpointCount - 1;
    const started = performance.now();
    let computed = 0;
    for (let index = 0; index < segments; index++) {
      if (this.store.stepRoot(run.id, index) !== undefined) continue;
      signal.throwIfAborted();
      const source = await this.disputeSource(run, index, signal);
      this.store.setStepRoot(run.id, index, segmentStepRoot(source, run.spec, index));
      computed++;
    }
    if (computed > 0)
      this.log.info(
        {
          round: run.round,
          id: run.id,
          segments: computed,
          seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
        },
        "step-state roots committed (operation-sampling audit mode)",
      );
  }

  /**
   * For a spec audited by operation sampling, computes the evaluation trace of the final
   * parameters and stores its root as the final checkpoint's step root (docs/verifier.md, "The
   * score"), unless stored already: validators check the score from it without the final
   * checkpoint. A segment-replay spec keeps zero there.
   */
  private async commitEvaluationRoot(run: RunRecord, final: Checkpoint, data?: DatasetData): Promise<void> {
    if (auditModeFor(run.spec, this.options.replayBudgetBytes).mode !== "operation-sampling") return;
    const index = run.checkpointCount - 1;
    if (this.store.stepRoot(run.id, index) !== undefined) return;
    const started = performance.now();
    const trace = await this.evalTraces.get(run.id, () => this.evaluationTrace(run, final.weights, data));
    this.store.setStepRoot(run.id, index, trace.root);
    this.log.info(
      {
        round: run.round,
        id: run.id,
        examples: run.spec.evalSize,
        seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      },
      "evaluation root committed (operation-sampling audit mode)",
    );
  }

  /** The evaluation trace of a trained run's stored final checkpoint (what evaluation samples are answered from). */
  private async finalEvaluationTrace(run: RunRecord): Promise<EvalTrace> {
    const index = run.checkpointCount - 1;
    const stored = this.store.checkpoint(run.id, index);
    if (!stored)
      throw new Error(`run ${run.id} has no final checkpoint ${index} to answer evaluation samples from`);
    const final = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    return this.evaluationTrace(run, final.weights, await this.datasets.forSpec(run.spec, run.specId));
  }

  /** Writes checkpoint `index` (its canonical bytes and hash), then calls `onCheckpointPersisted`. */
  private async persist(run: RunRecord, index: number, checkpoint: Checkpoint): Promise<void> {
    const step = index * run.spec.checkpointInterval;
    if (checkpoint.step !== step) {
      throw new Error(
        `checkpoint ${index} of run ${run.id} must be at step ${step}, got step ${checkpoint.step}`,
      );
    }
    const bytes = encodeCheckpoint(run.spec, checkpoint);
    const hash = keccak256(bytes);
    this.store.putCheckpoint(run.id, { index, hash, bytes });
    this.progress(`run ${run.id} checkpoint ${index}`);
    this.m.checkpoints.inc();
    this.log.debug({ round: run.round, id: run.id, index, hash }, "checkpoint written");
    await this.onCheckpointPersisted(index);
  }

  /** Submits a trained run unless the chain already has it or the deadline passed. */
  private async submit(record: RunRecord): Promise<void> {
    let run = record;
    const onChain = await this.rpc(() => this.client.challenges.getChallenge({ id: run.id }));
    if (onChain.status !== "None") {
      this.adopt(run, onChain);
      return;
    }
    const now = await this.chainTime();
    if (!this.mayStillSubmit(now, run.deadline)) {
      this.markMissed(
        run,
        `the deadline ${run.deadline} passed (chain time ${now}) before the result was sent`,
      );
      return;
    }
    const nonce = await this.rpc(() =>
      getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
    );
    // Recorded before sending: after a crash, the next tick asks the chain instead of sending again.
    run = this.store.updateRun(run.id, {
      state: "submitting",
      submitNonce: nonce,
      txHash: null,
      error: null,
    });
    const result = { id: run.id, round: run.round, root: run.root!, reportedScoreBps: run.reportedScoreBps! };
    this.log.info({ ...result, deadline: run.deadline, now, nonce }, "submitting result");
    let hash: Hash;
    try {
      hash = await this.sendResult(result);
    } catch (err) {
      // Refused before anything was sent (simulation or input check); anything else may have been
      // sent, and the next tick finds out from the chain.
      if (err instanceof PoAIContractError || err instanceof PoAIInputError) return this.refused(run, err);
      throw err;
    }
    run = this.store.updateRun(run.id, { txHash: hash });
    this.log.info({ round: run.round, id: run.id, tx: hash }, "result sent");
    await this.confirm(run, hash);
  }

  private async confirm(run: RunRecord, hash: Hash): Promise<void> {
    let block: bigint;
    try {
      block = (await this.client.waitForTransaction(hash, { confirmations: this.options.confirmations }))
        .blockNumber;
    } catch (err) {
      if (err instanceof PoAIContractError) return this.refused(run, err);
      throw err;
    }
    this.store.updateRun(run.id, { state: "submitted", error: null });
    this.m.submissions.inc({ result: "submitted" });
    this.log.info(
      {
        round: run.round,
        id: run.id,
        root: run.root,
        reportedScoreBps: run.reportedScoreBps,
        tx: hash,
        block,
      },
      "result submitted",
    );
  }

  /**
   * After a restart in `submitting`: the chain says whether the result landed. Returns the run in
   * `trained` when nothing was sent (or it was dropped), so that it is sent again while allowed.
   */
  private async reconcile(run: RunRecord): Promise<RunRecord> {
    const onChain = await this.rpc(() => this.client.challenges.getChallenge({ id: run.id }));
    if (onChain.status !== "None") {
      this.adopt(run, onChain);
      return this.store.run(run.id)!;
    }
    if (run.txHash !== null) {
      const hash = run.txHash;
      const receipt = await getTransactionReceipt(this.client.publicClient, { hash }).catch(() => undefined);
      if (receipt?.status === "reverted") {
        try {
          await this.client.waitForTransaction(hash);
        } catch (err) {
          if (err instanceof PoAIContractError) {
            await this.refused(run, err);
            return this.store.run(run.id)!;
          }
          throw err;
        }
      }
    }
    const [mined, pending] = await this.rpc(() =>
      Promise.all([
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "latest" }),
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
      ]),
    );
    if (run.submitNonce !== null && mined <= run.submitNonce && pending > run.submitNonce) {
      this.log.info(
        { round: run.round, id: run.id, tx: run.txHash, nonce: run.submitNonce },
        "submission pending; waiting for it",
      );
      return run;
    }
    this.log.warn(
      { round: run.round, id: run.id, tx: run.txHash, nonce: run.submitNonce },
      "the result is not on chain and nothing is pending: it was never sent, or was dropped",
    );
    return this.store.updateRun(run.id, { state: "trained", txHash: null });
  }

  /** Takes the chain's record of a challenge this daemon has a run for. */
  private adopt(run: RunRecord, onChain: ChallengeInfo): void {
    const fields = { round: run.round, id: run.id, status: onChain.status };
    if (onChain.status === "Missed") {
      this.store.updateRun(run.id, { state: "missed", error: "the challenge was reported missed on chain" });
      this.log.warn(fields, "challenge reported missed on chain");
      return;
    }
    const ours = run.root?.toLowerCase();
    const theirs = onChain.resultRoot.toLowerCase();
    const error =
      ours === theirs
        ? null
        : `the chain holds root ${onChain.resultRoot}, this daemon's run has root ${run.root}`;
    this.store.updateRun(run.id, { state: "submitted", error });
    if (run.state === "submitting") this.m.submissions.inc({ result: "submitted" });
    if (error) this.log.error({ ...fields, root: run.root, chainRoot: onChain.resultRoot }, error);
    else this.log.info({ ...fields, root: run.root }, "result found on chain");
  }

  /** The chain refused the result; nothing landed. Never thrown: the daemon goes on. */
  private async refused(run: RunRecord, err: PoAIContractError | PoAIInputError): Promise<void> {
    const errorName = err instanceof PoAIContractError ? err.errorName : "PoAIInputError";
    if (errorName === "AlreadySubmitted") {
      // Another sender (an earlier process with the same key) was first: take the chain's record.
      this.adopt(run, await this.rpc(() => this.client.challenges.getChallenge({ id: run.id })));
      return;
    }
    const late = errorName === "DeadlinePassed" || errorName === "WrongRound";
    this.store.updateRun(run.id, { state: late ? "missed" : "rejected", error: err.message });
    if (late) this.m.missed.inc();
    else this.m.submissions.inc({ result: "rejected" });
    this.log.error(
      { round: run.round, id: run.id, errorName, error: err.message, root: run.root },
      "the chain refused the result",
    );
  }

  private markMissed(run: RunRecord, reason: string): void {
    this.store.updateRun(run.id, { state: "missed", error: reason });
    this.m.missed.inc();
    this.log.warn(
      { round: run.round, id: run.id, deadline: run.deadline },
      `deadline passed without a submission: run marked missed, nothing sent (${reason})`,
    );
  }

  /**
   * Deletes the checkpoints of runs whose round's points are final (plus the retention), but for
   * paid jobs' runs: those are kept, since the job's owner fetches the model from them.
   */
  private async prune(now: bigint): Promise<void> {
    for (const run of this.store.prunableRuns(now - this.options.retentionSeconds)) {
      if (!(await this.disputes.mayPrune(run.id, run.closesAt, now))) continue;
      if (this.scores.live(run.id)) continue;
      if (await isJobRun(this.client, { trainer: this.address, round: run.round })) {
        this.store.keep(run.id);
        this.log.info(
          { round: run.round, id: run.id },
          "run kept: a paid job's run, whose owner fetches the model from this server",
        );
        continue;
      }
      this.store.prune(run.id);
      this.commitments.delete(run.id);
      this.m.pruned.inc();
      this.log.info(
        { round: run.round, id: run.id, closesAt: run.closesAt, state: run.state },
        "run pruned: its round's points are final",
      );
    }
  }

  // --- serving ---------------------------------------------------------------------------------

  private runInfo(id: Hex): RunInfo | "pruned" | undefined {
    if (this.closed) return undefined;
    const run = this.store.run(id);
    if (run === undefined) return undefined;
    if (run.pruned) return "pruned";
    if (run.root === null) return undefined;
    return {
      id: run.id,
      round: run.round.toString(),
      specId: run.specId,
      root: run.root,
      checkpoints: run.checkpointCount,
    };
  }

  /** The commitment of a trained run (cached for a few runs). */
  protected commitmentOf(id: Hex): RunCommitment {
    const key = id.toLowerCase() as Hex;
    const cached = this.commitments.get(key);
    if (cached) return cached;
    const commitment = commit({
      checkpointHashes: this.store.checkpointHashes(key),
      parameterRoots: this.store.parameterRoots(key),
      stepRoots: this.store.stepRoots(key),
    });
    this.remember(key, commitment);
    return commitment;
  }

  private remember(id: Hex, commitment: RunCommitment): void {
    const key = id.toLowerCase() as Hex;
    this.commitments.delete(key);
    this.commitments.set(key, commitment);
    while (this.commitments.size > COMMITMENT_CACHE)
      this.commitments.delete(this.commitments.keys().next().value!);
  }

  // --- hooks (the honest trainer) ------------------------------------------------------------------

  /** Hook: the seed the run is trained from. Honest: the challenge seed. */
  protected trainingSeed(due: DueChallenge): Hex {
    return due.seed;
  }

  /** Hook: checkpoint 0, the engine's seed-derived initial weights. */
  protected async initialCheckpoint(spec: TrainingSpec, seed: Hex): Promise<Checkpoint> {
    const session = await this.backend.open(spec, deriveKey(spec, validateSeed(seed)));
    try {
      return { step: 0, weights: await session.getWeights() };
    } finally {
      session.close();
    }
  }

  /**
   * Hook: trains segment `index`, from checkpoint `index` to checkpoint `index + 1` (on `data`, the
   * spec's dataset, for engine version 2). Honest: `replaySegment` on the daemon's backend.
   */
  protected trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    return replaySegment(spec, seed, index, from, { backend: this.backend, signal, data });
  }

  /** Hook: the score to report for the accuracy the daemon measured (basis points). Honest: the measured one. */
  protected reportScore(measuredBps: number): number {
    return measuredBps;
  }

  /** Hook: checkpoint `index` of challenge `id` as the server sends it. Honest: the stored bytes, their hash and proof. */
  protected serveCheckpoint(
    id: Hex,
    index: number,
  ): ServedCheckpoint | undefined | Promise<ServedCheckpoint | undefined> {
    if (this.closed) return undefined;
    const stored = this.store.checkpoint(id, index);
    if (stored === undefined) return undefined;
    const commitment = this.commitmentOf(id);
    const nextHash = this.store.checkpointHash(id, index + 1);
    return {
      bytes: stored.bytes,
      hash: stored.hash,
      parameterRoot: commitment.parameterRoots[index],
      stepRoot: commitment.stepRoots[index],
      proof: commitment.proof(index),
      ...(nextHash !== undefined && {
        next: {
          hash: nextHash,
          parameterRoot: commitment.parameterRoots[index + 1],
          stepRoot: commitment.stepRoots[index + 1],
          proof: commitment.proof(index + 1),
        },
      }),
    };
  }

  /** Hook: whether a result may still be sent at chain time `now`. Honest: `now <= deadline`. */
  protected mayStillSubmit(now: bigint, deadline: bigint): boolean {
    return now <= deadline;
  }

  /** Hook: sends the result (`submitResult`) and returns the transaction hash. */
  protected sendResult(result: ResultToSend): Promise<Hash> {
    return this.client.challenges.submitResult({
      round: result.round,
      resultRoot: result.root,
      reportedScoreBps: result.reportedScoreBps,
    });
  }

  /**
   * Hook: the states of segment `segment` of `run` that the trainer defends a dispute with.
   * Honest: the engine's steps from the stored checkpoint `segment` (the run as trained).
   */
  protected async disputeSource(run: RunRecord, segment: number, signal?: AbortSignal): Promise<StateSource> {
    const stored = this.store.checkpoint(run.id, segment);
    if (!stored) throw new Error(`run ${run.id} has no checkpoint ${segment} to defend its segment with`);
    const checkpoint = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    const data = await this.datasets.forSpec(run.spec, run.specId, signal);
    const key = deriveKey(run.spec, validateSeed(run.trainingSeed));
    return new RunStates(run.spec, key, checkpoint.weights, checkpoint.step, data);
  }

  /**
   * Hook: the evaluation trace of the final parameters `weights` of `run` (on `data`, engine
   * version 2), whose root the final leaf commits for an operation-sampling spec and from which
   * evaluation samples are answered. Honest: the forward pass of every evaluation example of the
   * challenge's seed.
   */
  protected evaluationTrace(run: RunRecord, weights: Int16Array, data?: DatasetData): EvalTrace {
    return evaluationTrace(run.spec, deriveKey(run.spec, validateSeed(run.seed)), weights, data);
  }

  /**
   * Hook: what the trainer defends a score game on `run`'s reported accuracy with (engine version
   * 2, a job run): its evaluation of the stored final checkpoint over the dataset's held-out part
   * (`ScoreEvidence`, the predictions whose count it reported) and that checkpoint's bytes (the
   * inner inference game's model). Recomputed after a restart from the checkpoint in SQLite.
   */
  protected async scoreEvidence(run: RunRecord, signal?: AbortSignal): Promise<ScoreEvidenceOf> {
    const index = run.checkpointCount - 1;
    const stored = this.store.checkpoint(run.id, index);
    if (!stored) throw new Error(`run ${run.id} has no final checkpoint ${index} to defend its score with`);
    const final = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    const data = await this.datasets.forSpec(run.spec, run.specId, signal);
    if (!data) throw new Error(`run ${run.id}: a score game needs an engine version 2 spec`);
    const trace = await this.evalTraces.get(run.id, () => this.evaluationTrace(run, final.weights, data));
    return { source: new ScoreEvidence(trace, data.eval), checkpoint: stored.bytes };
  }

  /** Hook: called once checkpoint `index` is on disk. Honest: nothing. */
  protected onCheckpointPersisted(_index: number): void | Promise<void> {}

  // --- reads ----------------------------------------------------------------------------------

  /** The chain's time: the latest block's timestamp. */
  protected async chainTime(): Promise<bigint> {
    const block = await this.rpc(() => getBlock(this.client.publicClient, { blockTag: "latest" }));
    return block.timestamp;
  }

  /** An RPC read with bounded retries (contract reverts and input errors are not retried). */
  protected rpc<T>(read: () => Promise<T>): Promise<T> {
    return withRetry(read, {
      attempts: this.options.rpcAttempts,
      retryable: (err) => !isPoAIContractError(err) && !(err instanceof PoAIInputError),
      onRetry: (err, attempt, delayMs) =>
        this.log.warn(
          { err: (err as Error)?.message ?? String(err), attempt, delayMs },
          "RPC read failed; retrying",
        ),
    });
  }

  // --- status ---------------------------------------------------------------------------------

  private summary(run: RunRecord): RunSummary {
    return {
      id: run.id,
      round: run.round,
      specId: run.specId,
      seed: run.seed,
      state: run.state,
      checkpoints: this.store.checkpointCount(run.id),
      totalCheckpoints: run.checkpointCount,
      root: run.root,
      measuredScoreBps: run.measuredScoreBps,
      reportedScoreBps: run.reportedScoreBps,
      deadline: run.deadline,
      closesAt: run.closesAt,
      txHash: run.txHash,
      error: run.error,
      pruned: run.pruned,
    };
  }

  /** Where the daemon stands (also served at `GET /status`). */
  status(): TrainerStatus {
    const open = !this.closed && this.store.db.isOpen;
    const round = this.chain?.round ?? null;
    const current = open && round !== null ? this.store.runOfRound(round) : undefined;
    return {
      address: this.address,
      instanceId: this.instanceId,
      serverUrl: this.serverUrl,
      endpoint: this.publicEndpoint,
      publishedEndpoint: this.publishedEndpoint,
      endpointProblem: this.endpointProblem,
      endpointChanges: [...this.endpointChanges],
      backend: this.backend.kind,
      chainTime: this.chain?.now ?? null,
      round,
      idle: this.idle !== null && this.idle.round === round ? { round, reason: this.idle.reason } : null,
      currentRun: current ? this.summary(current) : null,
      lastSubmissions: open ? this.store.recentRuns(["submitted"], 5).map((r) => this.summary(r)) : [],
      lastError: this.lastError,
      disputes: this.disputes.status(),
      scoreGames: this.scores.status(),
      ticks: this.ticks,
      stopped: this.closed,
    };
  }
}
