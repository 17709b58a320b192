/**
 * The validator daemon: the off-chain verifier of Proof-of-AI challenges.
 *
 * Every tick, at the chain's time (the latest block's timestamp, never the wall clock), it:
 * 1. takes part in the randomness beacon: in the first half of round `r` it draws a secret for
 *    beacon(r + 1), stores it, then commits; in the second half it reveals it (also after a
 *    restart); it seals the current round's value when nobody contributed to it;
 * 2. scans the challenges' extension and judgment events from a stored block cursor, in bounded
 *    block ranges; once a round's audit round has started (its committee pool known), reads that
 *    round's `ResultSubmitted` events (filtered by round) only when it is in the pool, and records
 *    only the challenges whose committee it may join: its rows and work per round follow its
 *    seats, not the network's challenges;
 * 3. once a challenge's audit round (round + 1, later when its committee was extended) has
 *    started and its commit window is open: checks its committee membership, reads the trainer's
 *    endpoint from Staking, takes its share of the committee's samples (`ownSamples`: drawn from
 *    the audit seed and its own address, nothing about the other members) plus any segment an
 *    earlier member named `Invalid`,
 *    audits (`decide`, by default `auditChallenge`), stores the prepared verdict with its salt,
 *    then commits every ready verdict in one `commitVerdicts` transaction;
 * 4. in the reveal window reveals every committed verdict in one `revealVerdicts` transaction (the
 *    last member's reveal judges the challenge when nobody revealed `Invalid`);
 * 5. the second phase: when a member revealed `Invalid(segment)`, replays every named segment
 *    (`decideReplay`) and votes in the replay window (`replayVotes`), so that one honest catch
 *    convicts;
 * 6. after the windows finalizes every open challenge it saw (another party finalizing first is
 *    fine), which also extends a committee that cannot decide into the next round (the daemon
 *    then audits it again if the new draw selects it), reports the trainers it watches that missed
 *    their deadline (each trainer's deadline is watched by about `MISSED_WATCHERS` validators,
 *    drawn by stake from the round's beacon value: `watchedTrainers`), and reports validators that
 *    withheld a beacon reveal (they are slashed);
 * 7. disputes a challenge it found Invalid that ended Valid anyway (a majority cleared it) with a
 *    game bound to the refuted segment, takes its seat on that segment when the trainer defends a
 *    conviction it voted for, and plays its games to the end (`../disputes/`; the `disputes`
 *    option turns the openings and seats off);
 * 8. disputes a job run's false reported accuracy: a run it judged Valid whose reported accuracy
 *    is not the one it measured gets a score game within the game's window
 *    (`../disputes/score.ts`), played to the end from what the audit kept in the database: its own
 *    evaluation of the final checkpoint (segment replay), or the trainer's committed predictions,
 *    proven under the evaluation root and counted (operation sampling, which never holds the final
 *    checkpoint: it disputes a count that is not the predictions', not a prediction itself).
 *
 * State lives in one SQLite file (`ValidatorStore`): what a crash must not lose (a verdict's salt,
 * a beacon secret) is written before the transaction that depends on it, and after a restart the
 * daemon reads the chain (its `VerdictCommitted` events, `getChallengeMembers`, the beacon's
 * `contributionOf`) before it sends anything again.
 *
 * ```ts
 * const daemon = await ValidatorDaemon.create({ client, dbPath: "validator.db", port: 9102 });
 * daemon.startLoop({ pollMs: 5_000 }); // or call daemon.tick() yourself
 * // … on SIGTERM:
 * await daemon.stop();
 * ```
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  getAddress,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import { getBlock, getTransaction, getTransactionReceipt } from "viem/actions";
import type { PreparedBeaconCommit } from "@poai/sdk";
import type { ChallengeParams, PreparedVerdict } from "@poai/sdk";
import type { PoAIClient } from "@poai/sdk";
import {
  DEFAULT_REPLAY_BUDGET_BYTES,
  CommittedPredictions,
  EvalTrace,
  ScoreEvidence,
  predictionBytes,
  auditModeFor,
  decodeCheckpoint,
  deriveKey,
  encodeCheckpoint,
  validateSeed,
  modelLayout,
  segmentExamples,
  validateSpec,
  type BackendKind,
  type EngineBackend,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { createLogger, type Logger, type LogLevel } from "../daemon/log.js";
import { startDeadline } from "../daemon/body.js";
import { DEFAULT_STUCK_AFTER_MS, DaemonLoop, probeChain, type HealthProbe } from "../daemon/loop.js";
import { serve, standardRoutes, type RunningServer } from "../daemon/http.js";
import { withRetry } from "../daemon/retry.js";
import { MISSED_WATCHERS, committeeBands, mayAudit, watchedTrainers } from "./committee-filter.js";
import { getBeaconContributionsBatch, getChallengesBatch } from "@poai/sdk";
import { PoAIInputError, isPoAIContractError, type PoAIContractError } from "@poai/sdk";
import { ROLE, getRoundCommitteeInputs, type RoundCommitteeInputs } from "@poai/sdk";
import { bandCommitStart, challengeId, decodeStatus, ownSamples } from "@poai/sdk";
import { namedSegments } from "@poai/sdk";
import { beaconWindows, roundAt, roundWindows, type RoundWindows } from "@poai/sdk";
import {
  DEFAULT_FETCH_ATTEMPTS,
  DEFAULT_FETCH_TIMEOUT_MS,
  auditChallenge,
  type AuditResult,
  type Decision,
  type FetchFailure,
} from "./audit.js";
import { DEFAULT_OPERATION_SAMPLES, auditBySampling } from "./sampling.js";
import { ChallengerDisputes, type DisputeCandidate } from "../disputes/challenger.js";
import { ScoreDisputes, type ScoreEvidenceOf } from "../disputes/score.js";
import { ValidatorDatasets, validatorDatasetCache } from "./validator-datasets.js";
import {
  CHALLENGE_STATES,
  ValidatorStore,
  type ChallengeRecord,
  type ChallengeState,
  type ReplayDecision,
  type SubmittedResult,
} from "./validator-store.js";

// =================================================================================================
// Options
// =================================================================================================

export interface ValidatorDaemonOptions {
  /** A PoAI client with a wallet: its account is the validator. */
  client: PoAIClient;
  /** The SQLite file holding the daemon's state (created if missing). One file per validator. */
  dbPath: string;
  /** Engine backend for replays and evaluations, or its name; default `"auto"`. */
  backend?: BackendKind | EngineBackend;
  /** Interface of the status and metrics server; default `127.0.0.1`. */
  host?: string;
  /** Port of the status and metrics server; default 0 (any free port, see `status().url`). */
  port?: number;
  /** Budget of one checkpoint request, headers and body; default 10 s. */
  fetchTimeoutMs?: number;
  /** Attempts per checkpoint; default 3. */
  fetchAttempts?: number;
  /**
   * Budget of one whole audit (fetches, replays, evaluation); default 10 minutes. An audit past it
   * is abandoned and tried again at the next tick while the commit window is open: one audit that
   * hangs never holds back the others or the commits and reveals that are ready.
   */
  auditBudgetMs?: number;
  /**
   * The checkpoint bytes one segment replay may fetch: a spec whose checkpoint is larger is audited
   * by operation sampling (`auditModeFor`; docs/verifier.md "Audit modes"); default 10 MiB. Its
   * trainers must use the same budget (`replayBudgetBytes` of the trainer daemon).
   */
  replayBudgetBytes?: number;
  /** Operations checked per sampled segment in an operation-sampling audit; default 32. */
  operationSamples?: number;
  /** A tick that reports no progress for this long is reported stuck (`/status`, `/healthz`); default 10 minutes. */
  stuckAfterMs?: number;
  /** Attempts of one RPC read (exponential backoff between them); default 4. */
  rpcAttempts?: number;
  /** Pause before the second attempt of an RPC read, doubled each time; default 250 ms. */
  rpcRetryDelayMs?: number;
  /** Blocks per `eth_getLogs` request of the event scan; default 1,000. */
  scanBlockRange?: number;
  /** First block to scan on a fresh database; default the deployment's `deployBlock` (else 0). */
  fromBlock?: bigint;
  /** Take part in the randomness beacon (commit and reveal a secret every round); default true. */
  beacon?: boolean;
  /** Finalize the audited challenges after their reveal window; default true. */
  finalize?: boolean;
  /** Report trainers that missed their deadline; default true. */
  reportMissed?: boolean;
  /** Report validators that committed to the beacon and withheld their reveal; default true. */
  reportWithholding?: boolean;
  /**
   * Open a game bound to a challenge (posting the game's bond) when this validator's own replay
   * found a segment Invalid and the challenge ended Valid, and play it to the end; default true.
   */
  disputes?: boolean;
  /** A pino logger; default one named `poai-validator` at `logLevel`. */
  logger?: Logger;
  /** Level of the default logger; default `$POAI_LOG_LEVEL` or `info`. */
  logLevel?: LogLevel;
  /** Engine version 2: dataset source URLs asked before the registry's and the trainer's. */
  datasetSources?: readonly string[];
  /** Engine version 2: where dataset chunks are cached; default `datasets/` beside the database. */
  datasetCacheDir?: string;
}

const LOG_LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new PoAIInputError(field, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new PoAIInputError(field, value, "true or false");
  return value;
}

/** Options after validation, defaults filled in. */
export interface ResolvedValidatorOptions {
  client: PoAIClient;
  validator: Address;
  dbPath: string;
  datasetSources: readonly string[];
  datasetCacheDir?: string;
  backend: BackendKind | EngineBackend;
  host: string;
  port: number;
  fetchTimeoutMs: number;
  fetchAttempts: number;
  auditBudgetMs: number;
  replayBudgetBytes: number;
  operationSamples: number;
  stuckAfterMs: number;
  rpcAttempts: number;
  rpcRetryDelayMs: number;
  scanBlockRange: number;
  fromBlock: bigint;
  beacon: boolean;
  finalize: boolean;
  reportMissed: boolean;
  reportWithholding: boolean;
  disputes: boolean;
  logger: Logger;
}

/** Checks every option at the boundary; errors name the field and the value. */
export function resolveValidatorOptions(options: ValidatorDaemonOptions): ResolvedValidatorOptions {
  if (typeof options !== "object" || options === null) {
    throw new PoAIInputError("options", options, "an options object");
  }
  const o = options;
  const client = o.client;
  if (typeof client !== "object" || client === null || typeof client.challenges !== "object") {
    throw new PoAIInputError("client", client, "a PoAI client (createPoAIClient)");
  }
  const account = client.walletClient?.account;
  if (!account) {
    throw new PoAIInputError(
      "client.walletClient.account",
      account,
      "a wallet client with an account: the validator signs its commitments",
    );
  }
  if (typeof o.dbPath !== "string" || o.dbPath.trim() === "") {
    throw new PoAIInputError("dbPath", o.dbPath, 'a path to the SQLite file (or ":memory:")');
  }
  const backend = o.backend ?? "auto";
  if (
    !(backend === "js" || backend === "wasm" || backend === "cuda" || backend === "auto") &&
    !(typeof backend === "object" && backend !== null && typeof backend.open === "function")
  ) {
    throw new PoAIInputError("backend", backend, '"js", "wasm", "cuda", "auto" or an engine backend');
  }
  const host = o.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "") {
    throw new PoAIInputError("host", o.host, "a host name or IP address to listen on");
  }
  if (o.logLevel !== undefined && !LOG_LEVELS.includes(o.logLevel)) {
    throw new PoAIInputError("logLevel", o.logLevel, `one of ${LOG_LEVELS.join(", ")}`);
  }
  if (o.logger !== undefined && (typeof o.logger !== "object" || typeof o.logger.info !== "function")) {
    throw new PoAIInputError("logger", o.logger, "a pino logger");
  }
  const fromBlock = o.fromBlock ?? client.deployment.deployBlock ?? 0n;
  if (typeof fromBlock !== "bigint" || fromBlock < 0n) {
    throw new PoAIInputError("fromBlock", o.fromBlock, "a block number (a bigint >= 0)");
  }
  return {
    client,
    validator: getAddress(typeof account === "string" ? account : account.address),
    dbPath: o.dbPath,
    datasetSources: Array.isArray(o.datasetSources) ? [...(o.datasetSources as string[])] : [],
    ...(typeof o.datasetCacheDir === "string" && { datasetCacheDir: o.datasetCacheDir }),
    backend,
    host,
    port: checkInt("port", o.port ?? 0, 0, 65_535),
    fetchTimeoutMs: checkInt("fetchTimeoutMs", o.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, 1, 3_600_000),
    fetchAttempts: checkInt("fetchAttempts", o.fetchAttempts ?? DEFAULT_FETCH_ATTEMPTS, 1, 100),
    auditBudgetMs: checkInt("auditBudgetMs", o.auditBudgetMs ?? DEFAULT_AUDIT_BUDGET_MS, 1, 86_400_000),
    replayBudgetBytes: checkInt(
      "replayBudgetBytes",
      o.replayBudgetBytes ?? DEFAULT_REPLAY_BUDGET_BYTES,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    operationSamples: checkInt("operationSamples", o.operationSamples ?? DEFAULT_OPERATION_SAMPLES, 1, 1024),
    stuckAfterMs: checkInt("stuckAfterMs", o.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS, 1, 86_400_000),
    rpcAttempts: checkInt("rpcAttempts", o.rpcAttempts ?? 4, 1, 100),
    rpcRetryDelayMs: checkInt("rpcRetryDelayMs", o.rpcRetryDelayMs ?? 250, 0, 600_000),
    scanBlockRange: checkInt("scanBlockRange", o.scanBlockRange ?? 1_000, 1, 1_000_000),
    fromBlock,
    beacon: checkBool("beacon", o.beacon ?? true),
    finalize: checkBool("finalize", o.finalize ?? true),
    reportMissed: checkBool("reportMissed", o.reportMissed ?? true),
    reportWithholding: checkBool("reportWithholding", o.reportWithholding ?? true),
    disputes: checkBool("disputes", o.disputes ?? true),
    logger: o.logger ?? createLogger("poai-validator", o.logLevel !== undefined ? { level: o.logLevel } : {}),
  };
}

/** Default budget of one audit: 10 minutes. */
export const DEFAULT_AUDIT_BUDGET_MS = 600_000;

// =================================================================================================
// Types of the hooks and the status
// =================================================================================================

/** A challenge to judge, as `decide` receives it. */
export interface ChallengeToAudit {
  id: Hex;
  trainer: Address;
  round: bigint;
  specId: Hex;
  spec: TrainingSpec;
  /** The training seed. */
  seed: Hex;
  /** The committed result root. */
  root: Hex;
  reportedScoreBps: number;
  /** The trainer's registered checkpoint endpoint. */
  endpoint: string;
  /** The audit seed the samples were drawn from. */
  auditSeed: Hex;
  /** Rounds the committee was extended by (0 for the first committee). */
  extension: number;
}

/** What `/status` serves. */
export interface ValidatorStatus {
  daemon: "validator";
  validator: Address;
  chainId: number;
  /** The status and metrics server, `http://host:port`. */
  url: string | undefined;
  dbPath: string;
  running: boolean;
  lastTick:
    | { ok: boolean; chainTime: string; round: string; block: string; finishedAt: string; error?: string }
    | undefined;
  /** The next block the event scan reads. */
  scanBlock: string | undefined;
  /** Challenges per state, and per final status. */
  challenges: { states: Record<string, number>; statuses: Record<string, number> };
  /** The latest beacon contribution (without its secret). */
  beacon: { round: number; committed: boolean; revealed: boolean } | undefined;
  missedReports: number;
  withholdingReports: number;
  /** Bound dispute games: the openings and the games this validator plays (`deadlineNear` flags a late turn). */
  disputes: ReturnType<ChallengerDisputes["status"]> | undefined;
  /** Score games it opened on job runs' false reported accuracy (and the inference games they host). */
  scoreGames: ReturnType<ScoreDisputes["status"]> | undefined;
  options: {
    backend: string;
    fetchTimeoutMs: number;
    fetchAttempts: number;
    auditBudgetMs: number;
    beacon: boolean;
    finalize: boolean;
    reportMissed: boolean;
    reportWithholding: boolean;
    disputes: boolean;
  };
}

/** What `create` hands the constructor. */
export interface ValidatorInit {
  options: ResolvedValidatorOptions;
  store: ValidatorStore;
  chainId: number;
  genesis: bigint;
  epochLength: bigint;
}

function isAuditResult(d: Decision): d is AuditResult {
  return typeof (d as Partial<AuditResult>).checkpointsFetched === "number";
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// =================================================================================================
// Metrics
// =================================================================================================

function createMetrics(registry: Registry) {
  const m = {
    audits: new Counter({
      name: "poai_validator_audits_total",
      help: "Audits finished, by verdict",
      labelNames: ["verdict"] as const,
      registers: [registry],
    }),
    auditSeconds: new Histogram({
      name: "poai_validator_audit_seconds",
      help: "Time to audit one challenge (fetch, replay, evaluate)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    segmentsReplayed: new Counter({
      name: "poai_validator_segments_replayed_total",
      help: "Segments re-executed",
      registers: [registry],
    }),
    checkpointsFetched: new Counter({
      name: "poai_validator_checkpoints_fetched_total",
      help: "Checkpoints received and proven under their root",
      registers: [registry],
    }),
    bytesFetched: new Counter({
      name: "poai_validator_checkpoint_bytes_fetched_total",
      help: "Bytes of proven checkpoints received",
      registers: [registry],
    }),
    fetchFailures: new Counter({
      name: "poai_validator_fetch_failures_total",
      help: "Failed checkpoint fetch attempts, by kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    commits: new Counter({
      name: "poai_validator_verdict_commits_total",
      help: "Verdict commitments confirmed on chain",
      registers: [registry],
    }),
    reveals: new Counter({
      name: "poai_validator_verdict_reveals_total",
      help: "Verdict reveals confirmed on chain",
      registers: [registry],
    }),
    replays: new Counter({
      name: "poai_validator_replay_votes_total",
      help: "Second-phase votes confirmed on chain, by verdict",
      labelNames: ["verdict"] as const,
      registers: [registry],
    }),
    withholdingReports: new Counter({
      name: "poai_validator_withholding_reports_total",
      help: "Withheld beacon reveals this daemon reported (slashed)",
      registers: [registry],
    }),
    finalizations: new Counter({
      name: "poai_validator_finalizations_total",
      help: "Challenges this daemon finalized",
      registers: [registry],
    }),
    missedReports: new Counter({
      name: "poai_validator_missed_reports_total",
      help: "Missed deadlines this daemon reported",
      registers: [registry],
    }),
    beacon: new Counter({
      name: "poai_validator_beacon_actions_total",
      help: "Beacon commits, reveals and seals confirmed on chain",
      labelNames: ["action"] as const,
      registers: [registry],
    }),
    ticks: new Counter({
      name: "poai_validator_ticks_total",
      help: "Ticks, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: "poai_validator_errors_total",
      help: "Errors handled without failing the tick, by step",
      labelNames: ["step"] as const,
      registers: [registry],
    }),
    chainTime: new Gauge({
      name: "poai_validator_chain_time_seconds",
      help: "Chain time at the last tick",
      registers: [registry],
    }),
    scanBlock: new Gauge({
      name: "poai_validator_scan_block",
      help: "Next block the event scan reads",
      registers: [registry],
    }),
    poolMember: new Gauge({
      name: "poai_validator_pool_member",
      help: "1 when the validator is in the committee pool of the latest audit round it read, else 0 (it holds no seat that round)",
      registers: [registry],
    }),
    poolSize: new Gauge({
      name: "poai_validator_pool_size",
      help: "Expected size of the latest audit round's committee pool (0: no pool, every validator serves)",
      registers: [registry],
    }),
  };
  for (const verdict of ["Valid", "Invalid", "Unavailable"]) m.audits.inc({ verdict }, 0);
  for (const outcome of ["ok", "failed"]) m.ticks.inc({ outcome }, 0);
  return m;
}

type Metrics = ReturnType<typeof createMetrics>;

// =================================================================================================
// The daemon
// =================================================================================================

/** A step's outcome for one challenge: a verdict to store, or a reason to skip it. */
type AuditOutcome =
  | { kind: "verdict"; prepared: PreparedVerdict; summary: Record<string, unknown> }
  | { kind: "skip"; reason: string };

/** The challenge as `decide` receives it: its on-chain record, spec, trainer endpoint and audit seed. */
function auditOf(
  c: ChallengeRecord,
  info: { specId: Hex; seed: Hex; resultRoot: Hex; reportedScoreBps: number | bigint },
  spec: ChallengeToAudit["spec"],
  endpoint: string,
  auditSeed: Hex,
): ChallengeToAudit {
  return {
    id: c.id,
    trainer: c.trainer,
    round: BigInt(c.round),
    specId: info.specId,
    spec,
    seed: info.seed,
    root: info.resultRoot,
    reportedScoreBps: Number(info.reportedScoreBps),
    endpoint,
    auditSeed,
    extension: c.extension,
  };
}

export class ValidatorDaemon extends DaemonLoop {
  protected readonly log: Logger;
  /** The validator's address (the client's account). */
  readonly validator: Address;
  readonly registry = new Registry();
  protected readonly client: PoAIClient;
  protected readonly options: ResolvedValidatorOptions;
  protected readonly store: ValidatorStore;
  protected readonly metrics: Metrics;
  private readonly chainId: number;
  private readonly genesis: bigint;
  private readonly epochLength: bigint;
  private server: RunningServer | undefined;
  private params: ChallengeParams | undefined;
  private readonly specs = new Map<Hex, { spec: TrainingSpec; auditSamples: number }>();
  private readonly sealed = new Set<bigint>();
  /** Rounds known to have (or not) an active spec: `hasActiveSpec`. */
  private readonly specRounds = new Map<bigint, boolean>();
  /** The beacon round this validator was not drawn for (or that was full): no commitment to send. */
  private beaconUndrawn: bigint | undefined;
  /** The latest audit round whose committee pool was reported (logged and in the metrics). */
  private poolRoundLogged = -1n;
  /** Each recent round's draw of the trainers this validator watches (`watched`). */
  private readonly watchDraws = new Map<bigint, { value: Hex; stake: bigint; total: bigint }>();
  /** The watched trainers of each recent round, drawn again when new operators register. */
  private readonly watchLists = new Map<bigint, Address[]>();
  /** Trainer:round pairs whose deadline was not past yet (skip them until it is). */
  private readonly deadlines = new Map<string, bigint>();
  private lastTick: ValidatorStatus["lastTick"];
  private released = false;

  /** Use `ValidatorDaemon.create` (it validates the options, opens the database and the server). */
  constructor(init: ValidatorInit) {
    super();
    this.options = init.options;
    this.client = init.options.client;
    this.validator = init.options.validator;
    this.log = init.options.logger.child({ validator: this.validator });
    this.store = init.store;
    this.chainId = init.chainId;
    this.genesis = init.genesis;
    this.epochLength = init.epochLength;
    this.metrics = createMetrics(this.registry);
    this.stuckAfterMs = init.options.stuckAfterMs;
    this.disputes = new ChallengerDisputes({
      client: this.client,
      validator: this.validator,
      store: this.store.disputes,
      log: this.log.child({ part: "disputes" }),
      enabled: this.options.disputes,
      fetchTimeoutMs: this.options.fetchTimeoutMs,
    });
    this.scores = new ScoreDisputes({
      client: this.client,
      account: this.validator,
      role: "challenger",
      store: this.store.scoreGames,
      inner: this.store.scoreInference,
      log: this.log.child({ part: "score-games" }),
      evidenceOf: (id, signal) => this.scoreEvidenceOf(id, signal),
    });
  }

  /** The bound dispute games this validator opens and plays (docs/disputes.md, "Daemons"). */
  protected readonly disputes: ChallengerDisputes;

  /** The score games it opens on false reported accuracies and plays (docs/disputes.md, "Score games"). */
  protected readonly scores: ScoreDisputes;

  /** Its own evaluation of a run's final checkpoint kept by its audit (held-out part fetched and proven). */
  private async scoreEvidenceOf(
    challengeId: Hex,
    signal?: AbortSignal,
  ): Promise<ScoreEvidenceOf | undefined> {
    const [kept] = this.store.scoreEvidence(challengeId);
    if (!kept) return undefined;
    const ac = signal ?? new AbortController().signal;
    const { spec } = await this.specOf(kept.specId, ac);
    const fetcher = await this.datasets.fetcher(spec, kept.specId, kept.endpoint);
    const all = await fetcher.dataset(signal);
    const data = await fetcher.ensureChunks(
      "eval",
      Array.from({ length: all.eval.chunkCount }, (_, c) => c),
      signal,
    );
    if (kept.committed) {
      // committed predictions only (an operation-sampling audit): no forward pass, no checkpoint
      const bytes = kept.committed.predictions;
      const predictions = new Int32Array(bytes.length / 4);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let e = 0; e < predictions.length; e++) predictions[e] = view.getInt32(4 * e, true);
      return { source: new CommittedPredictions(predictions, kept.committed.examplesRoot, data.eval) };
    }
    const final = decodeCheckpoint(spec, kept.checkpoint, kept.final.weightsHash);
    const trace = new EvalTrace(spec, deriveKey(spec, validateSeed(kept.seed)), final.weights, data);
    return { source: new ScoreEvidence(trace, data.eval), checkpoint: kept.checkpoint };
  }

  /**
   * Validates `options`, opens (or creates) the database, checks that it belongs to this
   * validator, chain and deployment, and starts the status and metrics server. Subclasses get an
   * instance of their own class (`LazyValidator.create(options)`).
   */
  static async create<D extends ValidatorDaemon>(
    this: new (init: ValidatorInit) => D,
    options: ValidatorDaemonOptions,
  ): Promise<D> {
    const resolved = resolveValidatorOptions(options);
    const { client } = resolved;
    const store = ValidatorStore.open(resolved.dbPath);
    let daemon: D | undefined;
    try {
      const chainId = await withRetry(() => client.publicClient.request({ method: "eth_chainId" }), {
        attempts: resolved.rpcAttempts,
        baseDelayMs: resolved.rpcRetryDelayMs,
      }).then((id) => Number(id));
      if (chainId !== client.deployment.chainId) {
        throw new PoAIInputError(
          "client.publicClient",
          chainId,
          `a client of the deployment's chain ${client.deployment.chainId}`,
        );
      }
      const identity: Record<string, string> = {
        validator: resolved.validator,
        chainId: String(chainId),
        challengeManager: String(client.deployment.contracts.challengeManager ?? ""),
      };
      for (const [key, value] of Object.entries(identity)) {
        const stored = store.getMeta(key);
        if (stored === undefined) store.setMeta(key, value);
        else if (stored.toLowerCase() !== value.toLowerCase()) {
          throw new PoAIInputError(
            "dbPath",
            resolved.dbPath,
            `a database of ${key} ${value} (this one belongs to ${key} ${stored}; its salts and secrets are another validator's)`,
          );
        }
      }
      const [genesis, next] = await withRetry(
        () => Promise.all([client.staking.epochStart({ epoch: 0 }), client.staking.epochStart({ epoch: 1 })]),
        { attempts: resolved.rpcAttempts, baseDelayMs: resolved.rpcRetryDelayMs },
      );
      daemon = new this({ options: resolved, store, chainId, genesis, epochLength: next - genesis });
      await daemon.listen();
      daemon.log.info(
        { dbPath: resolved.dbPath, url: daemon.server?.url, chainId },
        "validator daemon ready",
      );
      return daemon;
    } catch (err) {
      await daemon?.server?.close();
      store.close();
      throw err;
    }
  }

  private async listen(): Promise<void> {
    this.server = await serve(
      standardRoutes(() => this.status(), this.registry, this),
      {
        host: this.options.host,
        port: this.options.port,
        onError: (err) => this.log.error({ err }, "status server handler failed"),
      },
    );
  }

  /** Where the daemon stands: served as `/status`. */
  status(): ValidatorStatus {
    const open = this.store.isOpen;
    const beacon = open ? this.store.latestBeacon() : undefined;
    const backend = this.options.backend;
    return {
      daemon: "validator",
      validator: this.validator,
      chainId: this.chainId,
      url: this.server?.url,
      dbPath: this.options.dbPath,
      running: !this.released,
      lastTick: this.lastTick,
      scanBlock: open ? this.store.getMeta("scanBlock") : undefined,
      challenges: open ? this.store.counts() : { states: {}, statuses: {} },
      beacon: beacon && { round: beacon.round, committed: beacon.committed, revealed: beacon.revealed },
      missedReports: open ? this.store.missedReports() : 0,
      withholdingReports: open ? this.store.withholdingReports() : 0,
      disputes: open ? this.disputes.status() : undefined,
      scoreGames: open ? this.scores.status() : undefined,
      options: {
        backend: typeof backend === "string" ? backend : backend.kind,
        fetchTimeoutMs: this.options.fetchTimeoutMs,
        fetchAttempts: this.options.fetchAttempts,
        auditBudgetMs: this.options.auditBudgetMs,
        beacon: this.options.beacon,
        finalize: this.options.finalize,
        reportMissed: this.options.reportMissed,
        reportWithholding: this.options.reportWithholding,
        disputes: this.options.disputes,
      },
    };
  }

  /** The status and metrics server's URL (`http://host:port`). */
  get url(): string | undefined {
    return this.server?.url;
  }

  /** `/healthz` probes: the chain (latest block number) and the database (its write lock). */
  protected override healthProbes(): Record<string, HealthProbe> {
    return {
      chain: () => probeChain(this.client.publicClient),
      store: () => this.store.probe(),
    };
  }

  // --- hooks ------------------------------------------------------------------------------------

  /** The dataset fetchers of engine version 2 audits (created on first use). */
  private datasetsOf?: ValidatorDatasets;
  private get datasets(): ValidatorDatasets {
    const o = this.options;
    this.datasetsOf ??= new ValidatorDatasets({
      client: o.client,
      sources: o.datasetSources,
      cacheDir: o.datasetCacheDir ?? validatorDatasetCache(o.dbPath),
      timeoutMs: this.options.fetchTimeoutMs,
      onFailure: (f) => this.log.warn({ url: f.url, kind: f.kind }, `dataset source failed: ${f.message}`),
    });
    return this.datasetsOf;
  }

  /**
   * Judges one challenge this validator must audit. The default re-executes the sampled segments
   * with `auditChallenge` (the honest audit). A subclass may return any decision: the daemon
   * prepares, stores and commits whatever comes back. An error thrown here is logged and the
   * audit is tried again at the next tick while the commit window is open.
   */
  protected async decide(
    challenge: ChallengeToAudit,
    samples: number[],
    signal: AbortSignal,
  ): Promise<Decision> {
    // Engine version 2: the dataset the replays read, proven against the spec's roots.
    const dataset =
      challenge.spec.version === 2
        ? await this.datasets.fetcher(challenge.spec, challenge.specId, challenge.endpoint)
        : undefined;
    const args = {
      spec: challenge.spec,
      seed: challenge.seed,
      id: challenge.id,
      root: challenge.root,
      endpoint: challenge.endpoint,
      samples,
      backend: this.options.backend,
      ...(dataset && { dataset }),
      timeoutMs: this.options.fetchTimeoutMs,
      attempts: this.options.fetchAttempts,
      signal,
      onFetchFailure: (f: FetchFailure) => {
        this.metrics.fetchFailures.inc({ kind: f.kind });
        this.log.debug(
          { id: challenge.id, index: f.index, attempt: f.attempt, kind: f.kind, err: f.error.message },
          "checkpoint fetch failed",
        );
      },
    };
    // A spec whose checkpoint exceeds the replay budget is audited by operation sampling.
    if (auditModeFor(challenge.spec, this.options.replayBudgetBytes).mode === "operation-sampling")
      return auditBySampling({
        ...args,
        auditSeed: challenge.auditSeed,
        operationSamples: this.options.operationSamples,
        // a wrong operation is kept: the game at its step if the run is cleared anyway
        onDisputable: (segment, dispute) => this.disputes.keepEvidence(challenge.id, segment, dispute),
      });
    return auditChallenge(args);
  }

  /**
   * The second-phase vote on a challenge a member accused: replays the named `segments` (and
   * checks what the audit checks) with `auditChallenge`. `Invalid` names the segment that does not
   * replay, `Unavailable` says the trainer did not serve them, `Valid` that they all replay. A
   * subclass may return any vote; a `Valid` vote that stands on a proven fraud is slashed.
   */
  protected async decideReplay(
    challenge: ChallengeToAudit,
    segments: number[],
    signal: AbortSignal,
  ): Promise<Decision> {
    return this.decide(challenge, segments, signal);
  }

  /**
   * Whether to reveal a committed verdict now (in the reveal window). Default: always. A verdict
   * that is not revealed earns nothing and counts for nothing in the judgment.
   */
  protected shouldReveal(_verdict: PreparedVerdict): boolean {
    return true;
  }

  /**
   * Called once a verdict (with its salt) is stored and before its commitment is sent. Default:
   * nothing. An error thrown here ends the tick before anything is sent, as a crash would; the
   * stored verdict is committed at a later tick (or by the next process on the same database).
   */
  protected onVerdictPersisted(_verdict: PreparedVerdict): void | Promise<void> {}

  /**
   * Called right after a `commitVerdicts` transaction is sent (its hash is already stored), before
   * its receipt. Default: nothing. An error thrown here ends the tick, as a crash after sending
   * would; the daemon then finds the commitment on chain instead of sending it again.
   */
  protected onCommitSent(_hash: Hash, _verdicts: readonly PreparedVerdict[]): void | Promise<void> {}

  // --- the loop ---------------------------------------------------------------------------------

  protected override async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.server?.close();
    this.store.close();
    this.log.info("validator daemon stopped");
  }

  protected override async work(signal: AbortSignal): Promise<void> {
    if (this.released) throw new Error("the validator daemon is stopped");
    let clock: { now: bigint; block: bigint } | undefined;
    try {
      this.progress("chain");
      clock = await this.clock(signal);
      this.params = await this.rpc("params", () => this.client.challenges.getChallengeParams(), signal);
      this.progress("beacon");
      await this.stepBeacon(signal);
      this.progress("scan");
      await this.stepScan(signal);
      // Verdicts already prepared and reveals already due go out before any audit runs: an audit,
      // however long, never holds them back.
      this.progress("commits");
      await this.stepCommits(signal);
      this.progress("reveals");
      await this.stepReveals(signal);
      await this.stepAudits(signal);
      this.progress("commits");
      await this.stepCommits(signal);
      this.progress("replay");
      await this.bestEffort("replay", () => this.stepReplays(signal));
      this.progress("finalize");
      await this.bestEffort("finalize", () => this.stepFinalize(signal));
      this.progress("disputes");
      await this.bestEffort("disputes", () => this.stepDisputes(signal));
      this.progress("score games");
      await this.bestEffort("score games", () => this.stepScoreGames(signal));
      this.progress("missed");
      if (this.options.reportMissed) await this.bestEffort("missed", () => this.stepMissed(signal));
      if (this.options.reportWithholding)
        await this.bestEffort("withholding", () => this.stepWithholding(signal));
      this.metrics.ticks.inc({ outcome: "ok" });
      this.lastTick = this.tickRecord(clock, true);
    } catch (err) {
      this.metrics.ticks.inc({ outcome: "failed" });
      this.lastTick = this.tickRecord(clock, false, errorText(err));
      throw err;
    }
  }

  private tickRecord(clock: { now: bigint; block: bigint } | undefined, ok: boolean, error?: string) {
    return {
      ok,
      chainTime: String(clock?.now ?? ""),
      round: clock ? String(roundAt(this.genesis, this.epochLength, clock.now)) : "",
      block: String(clock?.block ?? ""),
      finishedAt: new Date().toISOString(),
      ...(error !== undefined && { error }),
    };
  }

  /** Runs a step whose failure must not stop the others (it is logged and counted). */
  private async bestEffort(step: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      this.metrics.errors.inc({ step });
      this.log.warn({ err, step }, "step failed; retried at the next tick");
    }
  }

  // --- chain access -----------------------------------------------------------------------------

  /** An RPC read with bounded retries; contract reverts and input errors are not retried. */
  protected rpc<T>(label: string, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(read, {
      attempts: this.options.rpcAttempts,
      baseDelayMs: this.options.rpcRetryDelayMs,
      retryable: (err) =>
        !isPoAIContractError(err) &&
        !(err instanceof PoAIInputError) &&
        !(err instanceof TransactionReceiptNotFoundError) &&
        !(err instanceof TransactionNotFoundError) &&
        !signal?.aborted,
      onRetry: (err, attempt, delayMs) =>
        this.log.warn({ err: errorText(err), label, attempt, delayMs }, "RPC read failed; retrying"),
      ...(signal !== undefined && { signal }),
    });
  }

  /** The latest block's timestamp and number: the daemon's only clock. */
  private async clock(signal?: AbortSignal): Promise<{ now: bigint; block: bigint }> {
    const block = await this.rpc(
      "getBlock",
      () => getBlock(this.client.publicClient, { blockTag: "latest" }),
      signal,
    );
    this.metrics.chainTime.set(Number(block.timestamp));
    return { now: block.timestamp, block: block.number };
  }

  private async now(signal?: AbortSignal): Promise<bigint> {
    return (await this.clock(signal)).now;
  }

  private windows(round: bigint | number, extension = 0): RoundWindows {
    const p = this.params!;
    return roundWindows(this.genesis, this.epochLength, round, {
      commitWindow: p.commitWindow,
      revealWindow: p.revealWindow,
      finalizeGrace: p.finalizeGrace,
      replayWindow: p.replayWindow,
      extension,
    });
  }

  /** Waits for a sent transaction's receipt (a revert surfaces as a `PoAIContractError`). */
  private async mined(hash: Hash, signal?: AbortSignal): Promise<void> {
    await this.rpc(
      "waitForTransaction",
      async () => {
        await this.client.waitForTransaction(hash);
      },
      signal,
    );
  }

  /**
   * Whether a transaction this daemon sent is still waiting to be mined (then nothing is sent in
   * its place). A transaction the node does not know any more was dropped: it may be sent again.
   */
  private async pending(hash: Hash, signal?: AbortSignal): Promise<boolean> {
    const notFound = (err: unknown) =>
      err instanceof TransactionReceiptNotFoundError || err instanceof TransactionNotFoundError;
    try {
      await this.rpc(
        "getTransactionReceipt",
        () => getTransactionReceipt(this.client.publicClient, { hash }),
        signal,
      );
      return false;
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    try {
      const tx = await this.rpc(
        "getTransaction",
        () => getTransaction(this.client.publicClient, { hash }),
        signal,
      );
      return tx.blockNumber === null;
    } catch (err) {
      if (!notFound(err)) throw err;
      return false;
    }
  }

  /** Seals the beacon of `round` when it is ready and nobody contributed to it. */
  private async ensureSealed(round: bigint, signal?: AbortSignal): Promise<void> {
    if (this.sealed.has(round)) return;
    const value = await this.rpc(
      "getBeaconValue",
      () => this.client.beacon.getBeaconValue({ round }),
      signal,
    );
    if (value === null) {
      try {
        const hash = await this.client.beacon.sealBeacon({ round });
        await this.mined(hash, signal);
        this.metrics.beacon.inc({ action: "seal" });
        this.log.info(
          { round: String(round), tx: hash },
          "sealed the beacon of a round nobody contributed to",
        );
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        this.log.debug({ round: String(round), err: err.message }, "beacon seal refused");
        return;
      }
    }
    this.sealed.add(round);
  }

  // --- 1. the randomness beacon -----------------------------------------------------------------

  private async stepBeacon(signal: AbortSignal): Promise<void> {
    const now = await this.now(signal);
    const round = roundAt(this.genesis, this.epochLength, now);
    await this.ensureSealed(round, signal);
    if (!this.options.beacon) return;
    const target = round + 1n;
    const w = beaconWindows(this.genesis, this.epochLength, target);
    const record = this.store.getBeacon(Number(target));
    const contribution = () =>
      this.rpc(
        "getBeaconContribution",
        () => this.client.beacon.getBeaconContribution({ round: target, validator: this.validator }),
        signal,
      );

    if (now >= w.commitStart && now < w.commitEnd) {
      if (record?.committed || this.beaconUndrawn === target) return;
      const onChain = await contribution();
      if (record === undefined) {
        if (onChain.committed) {
          this.log.warn(
            { round: String(target) },
            "committed to this beacon round without a stored secret (another database?): cannot reveal it",
          );
          return;
        }
        const active = await this.rpc(
          "isActive",
          () => this.client.staking.isActive({ operator: this.validator }),
          signal,
        );
        if (!active) {
          this.log.debug({ round: String(target) }, "not an active validator: no beacon contribution");
          return;
        }
        // At most 32 validators contribute to a round, drawn by stake; the draw is final once the
        // commit phase opens, so an undrawn round is remembered and not read again.
        if (this.beaconUndrawn === target) return;
        const drawn = await this.rpc(
          "isBeaconContributor",
          () => this.client.beacon.isBeaconContributor({ round: target, validator: this.validator }),
          signal,
        );
        if (!drawn) {
          this.beaconUndrawn = target;
          this.log.debug({ round: String(target) }, "not drawn to contribute to this beacon round");
          return;
        }
        const prepared = this.client.beacon.prepareBeaconCommit({ round: target });
        this.store.saveBeacon(prepared); // the secret is on disk before the commitment is sent
        await this.commitBeacon(prepared, signal);
      } else if (onChain.committed) {
        this.store.updateBeacon(record.round, { committed: true });
      } else if (!(record.commitTx && (await this.pending(record.commitTx, signal)))) {
        await this.commitBeacon(record, signal);
      }
      return;
    }

    if (now >= w.revealStart && now < w.readyAt && record && !record.revealed) {
      const onChain = await contribution();
      if (!onChain.committed) return; // the commitment never landed: nothing to reveal
      if (!record.committed) this.store.updateBeacon(record.round, { committed: true });
      if (onChain.revealed) {
        this.store.updateBeacon(record.round, { revealed: true });
        return;
      }
      if (record.revealTx && (await this.pending(record.revealTx, signal))) return;
      try {
        const hash = await this.client.beacon.revealBeacon({ round: target, secret: record.secret });
        this.store.updateBeacon(record.round, { revealTx: hash });
        await this.mined(hash, signal);
        this.store.updateBeacon(record.round, { revealed: true });
        this.metrics.beacon.inc({ action: "reveal" });
        this.log.info({ round: String(target), tx: hash }, "revealed the beacon secret");
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        this.log.warn({ round: String(target), err: err.message }, "beacon reveal refused");
      }
    }
  }

  private async commitBeacon(prepared: PreparedBeaconCommit, signal: AbortSignal): Promise<void> {
    try {
      const hash = await this.client.beacon.commitBeacon({
        round: prepared.round,
        commitment: prepared.commitment,
      });
      this.store.updateBeacon(prepared.round, { commitTx: hash });
      await this.mined(hash, signal);
      this.store.updateBeacon(prepared.round, { committed: true });
      this.metrics.beacon.inc({ action: "commit" });
      this.log.info({ round: prepared.round, tx: hash }, "committed to the beacon");
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      if (err.errorName === "AlreadyCommitted") {
        this.store.updateBeacon(prepared.round, { committed: true });
        return;
      }
      // Not drawn, or the round already has its contributors: nothing was committed, nothing to reveal.
      if (err.errorName === "NotDrawn" || err.errorName === "BeaconFull")
        this.beaconUndrawn = BigInt(prepared.round);
      this.log.warn({ round: prepared.round, err: err.message }, "beacon commitment refused");
    }
  }

  // --- 2. the event scan ------------------------------------------------------------------------

  private async stepScan(signal: AbortSignal): Promise<void> {
    const { now, block: latest } = await this.clock(signal);
    const stored = this.store.getMeta("scanBlock");
    let from = stored === undefined ? this.options.fromBlock : BigInt(stored);
    // Every block before the cursor was scanned while the chain was in an earlier round: the cursor
    // is at or before the first block of the current round, where its results begin (stepResults).
    const tickFrom = from;
    this.store.noteRoundBlock(Number(roundAt(this.genesis, this.epochLength, now)), from);
    const range = BigInt(this.options.scanBlockRange);
    const unknown = new Map<Hex, { auditRound: number; block: number }>();
    while (from <= latest) {
      signal.throwIfAborted();
      const to = from + range - 1n < latest ? from + range - 1n : latest;
      const [extensions, judgments] = await Promise.all([
        this.rpc(
          "getLogs ChallengeExtended",
          () =>
            this.client.challenges.getEvents({
              eventName: "ChallengeExtended",
              fromBlock: from,
              toBlock: to,
            }),
          signal,
        ),
        this.rpc(
          "getLogs ChallengeFinalized",
          () =>
            this.client.challenges.getEvents({
              eventName: "ChallengeFinalized",
              fromBlock: from,
              toBlock: to,
            }),
          signal,
        ),
      ]);
      // Extensions are learnt from their events, so that the challenges this validator is not drawn
      // for are not read again every tick (stepFinalize reads them once, at the fallback time).
      for (const e of extensions) {
        const id = e.args.id.toLowerCase() as Hex;
        const c = this.store.getChallenge(id);
        if (c === undefined) {
          // a challenge of a round whose results this validator did not record (outside that
          // round's pool, or drawn for none): the new draw may seat it (stepAudits decides)
          unknown.set(id, { auditRound: Number(e.args.auditRound), block: Number(e.blockNumber) });
          continue;
        }
        if (c.chainStatus !== undefined) continue;
        const extension = Number(e.args.auditRound) - c.round - 1;
        if (extension > c.extension) this.extended(c, extension, Number(e.args.auditRound));
      }
      // Judgments are learnt from their events too: a challenge judged by its last reveal is never
      // read again (stepFinalize's fallback reads only those still open at its time), so that a
      // validator's reads per round follow its seats, not the network's challenges.
      this.store.batch(() => {
        for (const e of judgments) {
          const c = this.store.getChallenge(e.args.id.toLowerCase() as Hex);
          if (c === undefined || c.chainStatus !== undefined) continue;
          this.store.update(c.id, { chainStatus: decodeStatus(e.args.status) });
        }
      });
      // recorded before the cursor moves past their events (a crash in between reads them again)
      await this.recordExtended(unknown, signal);
      unknown.clear();
      from = to + 1n;
      this.store.setMeta("scanBlock", from.toString());
    }
    this.metrics.scanBlock.set(Number(from));
    await this.stepResults({ now, latest, fallbackFrom: tickFrom }, signal);
  }

  /**
   * The results of each round, read once its audit round has started (the pool and the committees
   * are then known): a validator outside the audit round's committee pool reads nothing and records
   * nothing for the round; a member reads the round's `ResultSubmitted` events (filtered by round,
   * from the block noted when the round began) and records only the challenges whose committee it
   * may join (its first band or a top-up band). So its rows, writes and work per round follow its
   * seats, not the network's challenges (docs/scale.md). A round whose audit round is over is
   * passed (its commit window closed); `fallbackFrom` is where a round with no noted block starts
   * (the tick's first unscanned block), `now` and `latest` the tick's clock.
   */
  private async stepResults(
    { now, latest, fallbackFrom }: { now: bigint; latest: bigint; fallbackFrom: bigint },
    signal: AbortSignal,
  ): Promise<void> {
    const current = Number(roundAt(this.genesis, this.epochLength, now));
    const range = BigInt(this.options.scanBlockRange);
    for (let r = Math.max(this.store.resultRound() ?? 0, current - 1); r < current; r++) {
      signal.throwIfAborted();
      const auditRound = BigInt(r + 1);
      let inputs: RoundCommitteeInputs;
      try {
        await this.ensureSealed(auditRound, signal);
        inputs = await this.rpc(
          "getRoundCommitteeInputs",
          () => getRoundCommitteeInputs(this.client, { validator: this.validator, round: r, auditRound }),
          signal,
        );
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        return; // the audit round's beacon is not fixed yet: the next tick reads the round
      }
      this.notePool(auditRound, { size: inputs.poolSize, inPool: inputs.inPool });
      const rows: SubmittedResult[] = [];
      let from = this.store.roundBlock(r) ?? fallbackFrom;
      while (inputs.inPool && from <= latest) {
        signal.throwIfAborted();
        const to = from + range - 1n < latest ? from + range - 1n : latest;
        const events = await this.rpc(
          "getLogs ResultSubmitted",
          () =>
            this.client.challenges.getEvents({
              eventName: "ResultSubmitted",
              args: { round: BigInt(r) },
              fromBlock: from,
              toBlock: to,
            }),
          signal,
        );
        for (const e of events) {
          const id = e.args.id.toLowerCase() as Hex;
          if (!mayAudit(inputs, id)) continue;
          rows.push({
            id,
            trainer: getAddress(e.args.trainer),
            round: r,
            root: e.args.resultRoot,
            reportedScoreBps: Number(e.args.reportedScoreBps),
            block: Number(e.blockNumber),
          });
        }
        from = to + 1n;
      }
      const added = this.store.recordRound(rows, r);
      if (added > 0) this.log.info({ round: r, added }, "new results");
    }
  }

  /** Records the extended challenges this validator never recorded (one batched read). */
  private async recordExtended(
    unknown: Map<Hex, { auditRound: number; block: number }>,
    signal: AbortSignal,
  ): Promise<void> {
    if (unknown.size === 0) return;
    const infos = await this.rpc(
      "getChallenges",
      () => getChallengesBatch(this.client, { ids: [...unknown.keys()] }),
      signal,
    );
    const rows: SubmittedResult[] = [];
    for (const [id, seen] of unknown) {
      const info = infos.get(id);
      if (info === undefined || info.final) continue;
      rows.push({
        id,
        trainer: getAddress(info.trainer),
        round: Number(info.round),
        root: info.resultRoot,
        reportedScoreBps: Number(info.reportedScoreBps),
        block: seen.block,
        extension: Number(info.extension),
      });
    }
    const added = this.store.recordExtended(rows);
    if (added > 0) this.log.info({ added }, "extended challenges recorded");
  }

  /** Says once per audit round whether this validator is in its committee pool. */
  private notePool(auditRound: bigint, pool: { size: bigint; inPool: boolean }): void {
    if (auditRound <= this.poolRoundLogged) return;
    this.poolRoundLogged = auditRound;
    this.metrics.poolMember.set(pool.inPool ? 1 : 0);
    this.metrics.poolSize.set(Number(pool.size));
    this.log.info(
      { auditRound: String(auditRound), poolSize: String(pool.size), inPool: pool.inPool },
      pool.inPool
        ? "in the audit round's committee pool"
        : "not in the audit round's committee pool: no seats",
    );
  }

  // --- 3. audits and commitments ----------------------------------------------------------------

  private async specOf(specId: Hex, signal: AbortSignal) {
    let entry = this.specs.get(specId);
    if (!entry) {
      const [spec, params] = await Promise.all([
        this.rpc("getSpec", () => this.client.registry.getSpec({ specId }), signal),
        this.rpc("getSpecParams", () => this.client.registry.getSpecParams({ specId }), signal),
      ]);
      entry = { spec: validateSpec(spec), auditSamples: Number(params.auditSamples) };
      this.specs.set(specId, entry);
    }
    return entry;
  }

  private async stepAudits(signal: AbortSignal): Promise<void> {
    let now = await this.now(signal);
    // One committee read per round, not per challenge (RPC requests flat in the number of trainers).
    const {
      notSelected: notMine,
      topUps,
      pools,
    } = await committeeBands(
      this.client,
      this.validator,
      this.store.challengesIn(["new"]).filter((c) => {
        const w = this.windows(c.round, c.extension);
        return now >= w.commitStart && now < w.commitEnd;
      }),
      (auditRound) => this.ensureSealed(auditRound, signal),
    );
    // A validator outside a round's committee pool holds no seat that round: said once a round, so
    // that an operator seeing no audits knows why.
    for (const [auditRound, pool] of pools) this.notePool(auditRound, pool);
    // The challenges this validator is not drawn for are settled in one write (one disk sync).
    this.store.batch(() => {
      for (const id of notMine) this.store.update(id, { state: "skipped", note: "not in the committee" });
    });
    for (const c of this.store.challengesIn(["new"])) {
      signal.throwIfAborted();
      const w = this.windows(c.round, c.extension);
      if (now < w.commitStart) continue;
      if (now >= w.commitEnd) {
        this.store.update(c.id, { state: "expired", note: "the commit window closed before the audit" });
        this.log.warn({ id: c.id, round: c.round }, "commit window closed before the audit");
        continue;
      }
      if (notMine.has(c.id)) {
        this.store.update(c.id, { state: "skipped", note: "not in the committee" });
        continue;
      }
      // A top-up band joins only a committee that its lower bands left short, from its part of
      // the commit window on: until then the challenge waits; then the chain says (one call).
      const band = topUps.get(c.id);
      if (band !== undefined) {
        if (now < bandCommitStart(w, band)) continue;
        const admission = await this.rpc(
          "canJoinCommittee",
          () => this.client.challenges.canJoinCommittee({ id: c.id, validator: this.validator }),
          signal,
        );
        if (!admission.admitted) {
          if (admission.errorName === "OutsideWindow" && now < w.commitEnd) continue;
          this.store.update(c.id, {
            state: "skipped",
            note: `top-up band ${band} not admitted: ${admission.errorName}`,
          });
          continue;
        }
        this.log.info({ id: c.id, band }, "tops up a short committee");
      }
      let outcome: AuditOutcome;
      try {
        outcome = await this.audit(c, signal, band);
        this.progress(`verdict ${c.id}`);
      } catch (err) {
        if (signal.aborted) throw err;
        now = await this.now(signal);
        this.store.update(c.id, { failures: c.failures + 1, note: errorText(err).slice(0, 500) });
        this.metrics.errors.inc({ step: "audit" });
        this.log.error({ err, id: c.id }, "audit failed; retried at the next tick");
        continue;
      }
      if (outcome.kind === "skip") {
        this.store.update(c.id, { state: "skipped", note: outcome.reason });
        this.log.info({ id: c.id, reason: outcome.reason }, "challenge skipped");
        continue;
      }
      now = await this.now(signal); // audits take time: judge the next window at the chain's new time
      this.store.saveVerdict(c.id, outcome.prepared, outcome.summary); // salt on disk before sending
      this.log.info(
        {
          id: c.id,
          verdict: outcome.prepared.verdict,
          segment: outcome.prepared.segment,
          measuredScoreBps: outcome.prepared.measuredScoreBps,
          reason: outcome.summary.reason,
        },
        "verdict prepared",
      );
      await this.onVerdictPersisted(outcome.prepared);
    }
  }

  /** Audits one challenge whose commit window is open: committee check, samples, decision. */
  private async audit(c: ChallengeRecord, signal: AbortSignal, topUpBand?: number): Promise<AuditOutcome> {
    const auditRound = BigInt(c.round) + 1n + BigInt(c.extension);
    await this.ensureSealed(auditRound, signal);
    const committee = await this.rpc(
      "checkCommittee",
      () => this.client.challenges.checkCommittee({ id: c.id, validator: this.validator }),
      signal,
    );
    if (committee.status !== "Submitted")
      return { kind: "skip", reason: `the challenge is ${committee.status}` };
    if (!committee.isValidator) return { kind: "skip", reason: "this account is not a validator" };
    const topUp = topUpBand !== undefined && committee.band === BigInt(topUpBand);
    if (!committee.selected && !topUp) {
      return {
        kind: "skip",
        reason: `not in the committee (selection probability ${committee.probabilityBps} bps)`,
      };
    }
    const info = await this.rpc(
      "getChallenge",
      () => this.client.challenges.getChallenge({ id: c.id }),
      signal,
    );
    if (info.extension !== c.extension) {
      this.store.update(c.id, { extension: info.extension });
      return { kind: "skip", reason: `the committee was extended to round ${info.auditRound}: retried then` };
    }
    const { spec, auditSamples } = await this.specOf(info.specId, signal);
    const operator = await this.rpc(
      "getOperator",
      () => this.client.staking.getOperator({ operator: c.trainer }),
      signal,
    );
    const segments = modelLayout(spec).checkpointCount - 1;
    // This member's share of the committee's samples, drawn from the audit seed and its own
    // address (nothing about the other members: work per round follows the seats, not the number
    // of validators), and every segment a member of an earlier round of this challenge named
    // Invalid. A top-up member takes its share like any other: a committee that decides holds at
    // least minReveals members, whose shares add up to the spec's auditSamples.
    const samples = ownSamples(
      committee.auditSeed,
      this.validator,
      auditSamples,
      segments,
      committee.minReveals,
    );
    if (info.accused) {
      const named = namedSegments(
        await this.rpc("getMembers", () => this.client.challenges.getMembers({ id: c.id }), signal),
      );
      for (const s of named) if (!samples.includes(s)) samples.push(s);
    }
    const challenge = auditOf(c, info, spec, operator.endpoint, committee.auditSeed);
    const started = performance.now();
    const decision = await this.withinBudget(
      c.id,
      (budget) => this.decide(challenge, samples, budget),
      signal,
    );
    const seconds = (performance.now() - started) / 1000;
    // A job run's false reported accuracy is disputed once the run is judged (stepScoreGames):
    // a segment-replay audit keeps the final checkpoint it evaluated; an operation-sampling audit
    // keeps the trainer's committed predictions, which count otherwise than it reported (a score
    // game proves that without the final checkpoint).
    if (
      isAuditResult(decision) &&
      decision.verdict === "Valid" &&
      (decision.final || decision.committed) &&
      spec.version === 2 &&
      decision.measuredScoreBps !== info.reportedScoreBps
    ) {
      const f = decision.final;
      const k = decision.committed;
      this.store.keepScoreEvidence({
        challengeId: c.id,
        specId: info.specId,
        seed: info.seed,
        endpoint: operator.endpoint,
        measuredBps: decision.measuredScoreBps,
        reportedBps: info.reportedScoreBps,
        ...(f
          ? {
              checkpoint: encodeCheckpoint(spec, f.checkpoint),
              final: {
                weightsHash: f.hash,
                parameterRoot: f.parameterRoot,
                evalRoot: f.stepRoot,
                proof: f.proof,
              },
            }
          : {
              checkpoint: new Uint8Array(0),
              final: k!.final,
              committed: { predictions: predictionBytes(k!.predictions), examplesRoot: k!.examplesRoot },
            }),
      });
      this.log.warn(
        { id: c.id, measuredScoreBps: decision.measuredScoreBps, reportedScoreBps: info.reportedScoreBps },
        f
          ? "the reported accuracy is not the measured one: final checkpoint kept for a score game"
          : "the reported accuracy is not what the committed predictions give: kept for a score game",
      );
    }
    const prepared = this.client.challenges.prepareVerdict({
      id: c.id,
      verdict: decision.verdict,
      segment: decision.segment,
      measuredScoreBps: decision.measuredScoreBps,
    });
    this.metrics.audits.inc({ verdict: prepared.verdict });
    this.metrics.auditSeconds.observe(seconds);
    const summary: Record<string, unknown> = {
      verdict: prepared.verdict,
      segment: prepared.segment,
      measuredScoreBps: prepared.measuredScoreBps,
      samples,
      band: committee.band === null ? null : Number(committee.band),
      endpoint: operator.endpoint,
      seconds,
    };
    if (isAuditResult(decision)) {
      this.metrics.segmentsReplayed.inc(decision.segmentsReplayed);
      this.metrics.checkpointsFetched.inc(decision.checkpointsFetched);
      this.metrics.bytesFetched.inc(decision.bytesFetched);
      Object.assign(summary, {
        reason: decision.reason,
        checkpointsFetched: decision.checkpointsFetched,
        bytesFetched: decision.bytesFetched,
        segmentsReplayed: decision.segmentsReplayed,
        ms: decision.ms,
      });
    }
    return { kind: "verdict", prepared, summary };
  }

  /**
   * Runs one audit within `auditBudgetMs` (a timer no garbage collection can detach): past it the
   * audit is abandoned (its signal aborted) and an error says so; the challenge is tried again at
   * the next tick while its commit window is open.
   */
  private async withinBudget<T>(
    id: Hex,
    run: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    const ms = this.options.auditBudgetMs;
    const budget = startDeadline(ms, { signal, what: `the audit of ${id}` });
    this.progress(`audit ${id}`, ms + 60_000);
    try {
      return await budget.race(run(budget.signal));
    } catch (err) {
      if (budget.expired)
        throw new Error(`the audit ran past its budget of ${ms} ms and was abandoned`, { cause: err });
      throw err;
    } finally {
      budget.clear();
    }
  }

  /** The hash of this validator's `VerdictCommitted` on challenge `c`, if its commitment is on chain. */
  private async committedOnChain(c: ChallengeRecord, signal: AbortSignal): Promise<Hash | undefined> {
    const events = await this.rpc(
      "getLogs VerdictCommitted",
      () =>
        this.client.challenges.getEvents({
          eventName: "VerdictCommitted",
          args: { id: c.id, validator: this.validator },
          fromBlock: BigInt(c.block),
        }),
      signal,
    );
    return events[0]?.transactionHash ?? undefined;
  }

  private async stepCommits(signal: AbortSignal): Promise<void> {
    const ready: ChallengeRecord[] = [];
    const now = await this.now(signal);
    for (const c of this.store.challengesIn(["prepared"])) {
      const landed = await this.committedOnChain(c, signal);
      if (landed) {
        this.store.update(c.id, { state: "committed", commitTx: landed });
        this.log.info({ id: c.id, tx: landed }, "commitment found on chain");
        continue;
      }
      const w = this.windows(c.round, c.extension);
      if (now >= w.commitEnd) {
        this.store.update(c.id, {
          state: "expired",
          note: "the commit window closed before the commitment landed",
        });
        this.log.warn({ id: c.id }, "commit window closed before the commitment landed");
        continue;
      }
      if (now < w.commitStart) continue;
      if (c.commitTx && (await this.pending(c.commitTx, signal))) continue;
      ready.push(c);
    }
    if (ready.length > 0) await this.sendCommits(ready, signal);
  }

  /** Commits `list` in one transaction; on a revert, one by one (so one bad verdict blocks no other). */
  private async sendCommits(list: ChallengeRecord[], signal: AbortSignal): Promise<void> {
    const verdicts = list.map((c) => c.verdict!);
    let hash: Hash;
    try {
      ({ hash } = await this.client.challenges.commitVerdicts({ verdicts }));
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      return this.commitRefused(list, err, signal);
    }
    for (const c of list) this.store.update(c.id, { commitTx: hash });
    await this.onCommitSent(hash, verdicts);
    try {
      await this.mined(hash, signal);
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      return this.commitRefused(list, err, signal);
    }
    for (const c of list) this.store.update(c.id, { state: "committed" });
    this.metrics.commits.inc(list.length);
    this.log.info(
      { tx: hash, verdicts: list.map((c) => ({ id: c.id, verdict: c.verdict!.verdict })) },
      "verdicts committed",
    );
  }

  private async commitRefused(list: ChallengeRecord[], err: PoAIContractError, signal: AbortSignal) {
    if (list.length > 1) {
      for (const c of list) await this.sendCommits([c], signal);
      return;
    }
    const c = list[0];
    const settle = (state: ChallengeState, note: string) => {
      this.store.update(c.id, { state, note });
      this.log.warn({ id: c.id, err: err.message }, note);
    };
    switch (err.errorName) {
      case "AlreadyCommitted":
        return settle("committed", "the commitment was already on chain");
      case "OutsideWindow":
        if ((await this.now(signal)) >= this.windows(c.round, c.extension).commitEnd)
          return settle("expired", "the commit window closed before the commitment landed");
        break;
      case "NotInCommittee":
      case "NotActiveValidator":
      case "ChallengeNotOpen":
      case "CommitteeFull":
        return settle("skipped", `commitment refused: ${err.message}`);
    }
    this.store.update(c.id, { note: `commitment refused: ${err.message}`.slice(0, 500) });
    this.metrics.errors.inc({ step: "commit" });
    this.log.warn({ id: c.id, err: err.message }, "commitment refused; retried at the next tick");
  }

  // --- 4. reveals -------------------------------------------------------------------------------

  /** Whether this validator's reveal on challenge `id` is on chain (its member record). */
  private async revealedOnChain(id: Hex, signal: AbortSignal): Promise<boolean> {
    const members = await this.rpc("getMembers", () => this.client.challenges.getMembers({ id }), signal);
    return members.some((m) => m.revealed && getAddress(m.validator) === this.validator);
  }

  private async stepReveals(signal: AbortSignal): Promise<void> {
    const ready: ChallengeRecord[] = [];
    const now = await this.now(signal);
    for (const c of this.store.challengesIn(["committed"])) {
      const w = this.windows(c.round, c.extension);
      if (now < w.revealStart) continue;
      if (await this.revealedOnChain(c.id, signal)) {
        this.store.update(c.id, { state: "revealed" });
        this.log.info({ id: c.id }, "reveal found on chain");
        continue;
      }
      if (now >= w.revealEnd) {
        this.store.update(c.id, {
          state: "unrevealed",
          note: "the reveal window closed before a reveal landed",
        });
        this.log.warn({ id: c.id }, "reveal window closed before a reveal landed");
        continue;
      }
      if (c.revealTx && (await this.pending(c.revealTx, signal))) continue;
      if (!this.shouldReveal(c.verdict!)) {
        this.log.debug({ id: c.id }, "reveal held back");
        continue;
      }
      ready.push(c);
    }
    if (ready.length > 0) await this.sendReveals(ready, signal);
  }

  private async sendReveals(list: ChallengeRecord[], signal: AbortSignal): Promise<void> {
    let hash: Hash;
    try {
      hash = await this.client.challenges.revealVerdicts({ verdicts: list.map((c) => c.verdict!) });
      for (const c of list) this.store.update(c.id, { revealTx: hash });
      await this.mined(hash, signal);
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      if (list.length > 1) {
        for (const c of list) await this.sendReveals([c], signal);
        return;
      }
      const c = list[0];
      if (err.errorName === "AlreadyRevealed") {
        this.store.update(c.id, { state: "revealed" });
        return;
      }
      if (err.errorName === "CommitmentMismatch" || err.errorName === "ChallengeNotOpen") {
        this.store.update(c.id, {
          state: "unrevealed",
          note: `reveal refused: ${err.message}`.slice(0, 500),
        });
        this.log.error({ id: c.id, err: err.message }, "reveal refused");
        return;
      }
      this.store.update(c.id, { note: `reveal refused: ${err.message}`.slice(0, 500) });
      this.metrics.errors.inc({ step: "reveal" });
      this.log.warn({ id: c.id, err: err.message }, "reveal refused; retried at the next tick");
      return;
    }
    for (const c of list) this.store.update(c.id, { state: "revealed" });
    this.metrics.reveals.inc(list.length);
    this.log.info({ tx: hash, ids: list.map((c) => c.id) }, "verdicts revealed");
  }

  // --- 5. the second phase ----------------------------------------------------------------------

  /** The challenge as `decide` receives it, from its on-chain record. */
  private async challengeToAudit(
    c: ChallengeRecord,
    info: { specId: Hex; seed: Hex; resultRoot: Hex; reportedScoreBps: number | bigint },
    auditSeed: Hex,
    signal: AbortSignal,
  ): Promise<ChallengeToAudit> {
    const { spec } = await this.specOf(info.specId, signal);
    const operator = await this.rpc(
      "getOperator",
      () => this.client.staking.getOperator({ operator: c.trainer }),
      signal,
    );
    return auditOf(c, info, spec, operator.endpoint, auditSeed);
  }

  /**
   * After a member revealed `Invalid`, every member that revealed something else replays the
   * named segments and votes in the replay window; the votes are stored before they are sent.
   */
  private async stepReplays(signal: AbortSignal): Promise<void> {
    const now = await this.now(signal);
    const ready: { c: ChallengeRecord; decision: ReplayDecision }[] = [];
    for (const c of this.store.challengesIn(["revealed"], { open: true })) {
      signal.throwIfAborted();
      const w = this.windows(c.round, c.extension);
      if (now < w.revealEnd || now >= w.replayEnd) continue;
      if (c.verdict?.verdict === "Invalid") continue; // its accusation stands as its vote
      if (c.replay && c.replayTx && (await this.pending(c.replayTx, signal))) continue;
      const info = await this.rpc(
        "getChallenge",
        () => this.client.challenges.getChallenge({ id: c.id }),
        signal,
      );
      if (info.final || !info.accused || info.extension !== c.extension) continue;
      const members = await this.rpc(
        "getMembers",
        () => this.client.challenges.getMembers({ id: c.id }),
        signal,
      );
      const mine = members.find((m) => m.revealed && getAddress(m.validator) === this.validator);
      if (!mine) continue;
      if (mine.replayVerdict !== "None") {
        this.store.update(c.id, { state: "replayed" });
        continue;
      }
      let decision = c.replay;
      if (!decision) {
        const segments = namedSegments(members);
        const auditSeed = await this.rpc(
          "auditSeed",
          () => this.client.challenges.getAuditSeed({ id: c.id }),
          signal,
        );
        const challenge = await this.challengeToAudit(c, info, auditSeed, signal);
        const d = await this.decideReplay(challenge, segments, signal);
        decision = {
          verdict: d.verdict,
          segment: d.segment,
          segments,
          ...(isAuditResult(d) && { reason: d.reason }),
        };
        this.store.saveReplay(c.id, decision);
        this.log.info(
          { id: c.id, segments, verdict: d.verdict, segment: d.segment },
          "second-phase vote prepared",
        );
        if ((await this.now(signal)) >= w.replayEnd) continue;
      }
      ready.push({ c, decision });
    }
    if (ready.length > 0) await this.sendReplays(ready, signal);
  }

  private async sendReplays(
    list: { c: ChallengeRecord; decision: ReplayDecision }[],
    signal: AbortSignal,
  ): Promise<void> {
    let hash: Hash;
    try {
      hash = await this.client.challenges.replayVotes({
        votes: list.map(({ c, decision }) => ({
          id: c.id,
          verdict: decision.verdict,
          segment: decision.segment,
        })),
      });
      for (const { c } of list) this.store.update(c.id, { replayTx: hash });
      await this.mined(hash, signal);
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      if (list.length > 1) {
        for (const item of list) await this.sendReplays([item], signal);
        return;
      }
      const { c } = list[0];
      if (err.errorName === "AlreadyVoted") {
        this.store.update(c.id, { state: "replayed" });
        return;
      }
      this.store.update(c.id, { note: `second-phase vote refused: ${err.message}`.slice(0, 500) });
      this.metrics.errors.inc({ step: "replay" });
      this.log.warn({ id: c.id, err: err.message }, "second-phase vote refused");
      return;
    }
    for (const { c, decision } of list) {
      this.store.update(c.id, { state: "replayed" });
      this.metrics.replays.inc({ verdict: decision.verdict });
    }
    this.log.info(
      { tx: hash, votes: list.map(({ c, decision }) => ({ id: c.id, verdict: decision.verdict })) },
      "second-phase votes sent",
    );
  }

  // --- 7. bound dispute games -----------------------------------------------------------------

  /**
   * A challenge this validator found Invalid that ended Valid (a majority cleared it) is disputed
   * with a game bound to the segment its replay refuted; one that ended Fraud, once its trainer
   * opened a defence, gets this validator's seat on that segment (the same bound game, opened only
   * when the segment still does not replay); every game is played on
   * (`ChallengerDisputes`: the evidence is checked again and the opening stored before it is sent).
   */
  private async stepDisputes(signal: AbortSignal): Promise<void> {
    if (!this.disputes.enabled) return;
    const refuted = (c: ChallengeRecord): number | undefined =>
      c.replay?.verdict === "Invalid"
        ? c.replay.segment
        : c.verdict?.verdict === "Invalid"
          ? c.verdict.segment
          : undefined;
    const candidate = async (c: ChallengeRecord, segment: number): Promise<DisputeCandidate> => {
      const info = await this.rpc(
        "getChallenge",
        () => this.client.challenges.getChallenge({ id: c.id }),
        signal,
      );
      const { spec } = await this.specOf(info.specId, signal);
      const operator = await this.rpc(
        "getOperator",
        () => this.client.staking.getOperator({ operator: c.trainer }),
        signal,
      );
      const data =
        spec.version === 2
          ? await (
              await this.datasets.fetcher(spec, info.specId, operator.endpoint)
            ).ensureExamples("train", segmentExamples(spec, info.seed, segment), signal)
          : undefined;
      return {
        id: c.id,
        trainer: c.trainer,
        spec,
        seed: info.seed,
        root: info.resultRoot,
        endpoint: operator.endpoint,
        segment,
        ...(data && { data }),
        sampled: auditModeFor(spec, this.options.replayBudgetBytes).mode === "operation-sampling",
      };
    };
    for (const c of this.store.challengesIn(CHALLENGE_STATES)) {
      const segment = refuted(c);
      if (segment === undefined || !this.disputes.pending(c.id)) continue;
      // a conviction it voted for is defended: it takes its seat on the segment it named
      if (c.chainStatus === "Fraud" && !(await this.disputes.defended(c.id))) continue;
      if (c.chainStatus !== "Valid" && c.chainStatus !== "Fraud") continue;
      signal.throwIfAborted();
      this.progress(`dispute ${c.id}`);
      await this.disputes.open(await candidate(c, segment), signal);
    }
    await this.disputes.play(async (id) => {
      const c = this.store.getChallenge(id);
      const segment = c && refuted(c);
      if (!c || segment === undefined)
        throw new Error(`dispute on ${id}: no Invalid verdict of this validator`);
      return candidate(c, segment);
    }, signal);
  }

  /**
   * Opens a score game on every job run judged Valid whose reported accuracy is not the one this
   * validator measured (its audit kept the final checkpoint), while the game's window is open,
   * then plays its score games (one move each per tick, every move stored before it is sent).
   */
  private async stepScoreGames(signal: AbortSignal): Promise<void> {
    if (!this.options.disputes || !(await this.scores.enabled())) return;
    for (const kept of this.store.scoreEvidence()) {
      signal.throwIfAborted();
      if (this.scores.opened(kept.challengeId)) continue;
      const c = this.store.getChallenge(kept.challengeId);
      if (c?.chainStatus !== "Valid") continue;
      const w = await this.scores.window(kept.challengeId);
      if (!w || w.openUntil === 0n || w.now > w.openUntil) continue; // not a job run, or too late
      this.progress(`score game ${kept.challengeId}`);
      await this.scores.open(kept.challengeId, kept.final);
    }
    await this.scores.play(signal);
  }

  // --- 6. finalization, extensions, missed deadlines, withheld beacon reveals -------------------

  private async stepFinalize(signal: AbortSignal): Promise<void> {
    const now = await this.now(signal);
    const states: ChallengeState[] = [
      "committed",
      "revealed",
      "replayed",
      "unrevealed",
      "skipped",
      "expired",
    ];
    // A member looks from the end of the reveal window on; a validator outside the committee only
    // once its fallback finalization is due (extensions reach it through their events, stepScan),
    // so that the challenges it is not drawn for are read once, not every tick.
    const due = this.store.challengesIn(states, { open: true }).filter((c) => {
      const w = this.windows(c.round, c.extension);
      const member = c.state !== "skipped" && c.state !== "expired";
      return now >= (member ? w.revealEnd : w.replayEnd + (w.closesAt - w.replayEnd) / 2n);
    });
    // Every due challenge's state in one batched read (Multicall3), not one request each.
    const infos = await this.rpc(
      "getChallenges",
      () => getChallengesBatch(this.client, { ids: due.map((c) => c.id) }),
      signal,
    );
    // The challenges already judged on chain are recorded in one write (one disk sync).
    const judged = new Set<Hex>();
    this.store.batch(() => {
      for (const c of due) {
        const info = infos.get(c.id.toLowerCase() as Hex);
        if (info === undefined || !info.final || info.extension !== c.extension) continue;
        this.store.update(c.id, { chainStatus: info.status });
        judged.add(c.id);
      }
    });
    for (const id of judged)
      this.log.info({ id, status: infos.get(id.toLowerCase() as Hex)!.status }, "challenge judged");
    for (const c of due) {
      signal.throwIfAborted();
      if (judged.has(c.id)) continue;
      const w = this.windows(c.round, c.extension);
      const member = c.state !== "skipped" && c.state !== "expired";
      let info =
        infos.get(c.id.toLowerCase() as Hex) ??
        (await this.rpc("getChallenge", () => this.client.challenges.getChallenge({ id: c.id }), signal));
      if (info.extension !== c.extension) {
        this.extended(c, info.extension, info.auditRound);
        continue;
      }
      if (!info.final) {
        // After an Invalid reveal the second phase runs first. A validator outside the committee
        // finalizes only when no member did by the middle of the grace window.
        const from = info.accused ? w.replayEnd : w.revealEnd;
        const notBefore = member ? from : w.replayEnd + (w.closesAt - w.replayEnd) / 2n;
        if (now < notBefore) continue;
        if (this.options.finalize) {
          try {
            const hash = await this.client.challenges.finalize({ id: c.id });
            this.store.update(c.id, { finalizeTx: hash });
            await this.mined(hash, signal);
            this.metrics.finalizations.inc();
            this.log.info({ id: c.id, tx: hash }, "challenge finalized");
          } catch (err) {
            if (!isPoAIContractError(err)) throw err;
            // Another party finalized first (ChallengeNotOpen), or the window is not over yet.
            this.log.debug({ id: c.id, err: err.message }, "finalize refused");
          }
          info = await this.rpc(
            "getChallenge",
            () => this.client.challenges.getChallenge({ id: c.id }),
            signal,
          );
          if (info.extension !== c.extension) {
            this.extended(c, info.extension, info.auditRound);
            continue;
          }
        }
      }
      if (info.final) {
        this.store.update(c.id, { chainStatus: info.status });
        this.log.info({ id: c.id, status: info.status }, "challenge judged");
      } else if (!this.options.finalize && now > w.closesAt + this.epochLength) {
        this.store.update(c.id, { chainStatus: "Unfinalized" }); // stop polling it
      }
    }
  }

  /**
   * The committee of `c` could not decide and was extended: validators drawn for the new audit
   * round join it. A validator outside the committee audits again (it may be drawn now); a member
   * that has not revealed may reveal in the new reveal window; the other members' votes stand.
   */
  private extended(c: ChallengeRecord, extension: number, auditRound: number): void {
    const state: ChallengeState =
      c.state === "skipped" || c.state === "expired"
        ? "new"
        : c.state === "unrevealed"
          ? "committed"
          : c.state;
    this.store.update(c.id, { extension, state, note: null });
    this.log.info({ id: c.id, auditRound, state }, "committee extended into a later round");
  }

  /**
   * Reports the validators that committed to the beacon of the current (or the previous) round
   * and withheld their reveal: the challenge manager slashes them `beaconSlash`; this daemon
   * earns the finder's fee. Each contribution is checked once.
   */
  private async stepWithholding(signal: AbortSignal): Promise<void> {
    const now = await this.now(signal);
    const current = roundAt(this.genesis, this.epochLength, now);
    for (let r = current > 1n ? current - 1n : 1n; r <= current; r++) {
      if (now > this.windows(r - 1n).closesAt) continue; // reports close with epoch r - 1
      // Only a validator that committed can withhold: the round's `Committed` events name them (at
      // most the beacon's `maxContributors`), so this reads O(contributors), not every validator.
      const committers = await this.rpc(
        "getBeaconCommitters",
        () => this.client.beacon.getBeaconCommitters({ round: r }),
        signal,
      );
      const unchecked = committers.filter(
        (v) => v !== this.validator && !this.store.withholdingChecked(Number(r), v),
      );
      if (unchecked.length === 0) continue;
      // Their contributions in one batched read (Multicall3), not one request each.
      const contributions = await this.rpc(
        "getBeaconContributions",
        () => getBeaconContributionsBatch(this.client, { round: r, validators: unchecked }),
        signal,
      );
      // Those that revealed are settled in one write (one disk sync). Every one of them committed
      // (its `Committed` event): a committer the beacon no longer answers for revealed and has
      // committed to a later round since (the beacon keeps only withheld commitments apart).
      const settled: { validator: Address; outcome: string }[] = [];
      const withheld: Address[] = [];
      for (const v of unchecked) {
        const contribution = contributions.get(v)!;
        if (contribution.committed && !contribution.revealed) withheld.push(v);
        else settled.push({ validator: v, outcome: "revealed" });
      }
      this.store.recordWithholdingMany(Number(r), settled);
      for (const v of withheld) {
        signal.throwIfAborted();
        try {
          const hash = await this.client.challenges.reportBeaconWithholding({ round: r, validator: v });
          await this.mined(hash, signal);
          this.store.recordWithholding(Number(r), v, "reported", hash);
          this.metrics.withholdingReports.inc();
          this.log.info({ round: String(r), validator: v, tx: hash }, "reported a withheld beacon reveal");
        } catch (err) {
          if (!isPoAIContractError(err)) throw err;
          // WithholdingAlreadySlashed (someone reported first), ReportTooLate: settled either way.
          this.store.recordWithholding(Number(r), v, err.errorName);
          this.log.debug({ round: String(r), validator: v, err: err.message }, "withholding report refused");
        }
      }
    }
  }

  private async stepMissed(signal: AbortSignal): Promise<void> {
    const now = await this.now(signal);
    const round = roundAt(this.genesis, this.epochLength, now);
    let scanned = false;
    for (let r = round > 2n ? round - 2n : 0n; r <= round; r++) {
      const w = this.windows(r);
      if (now <= w.start || now > w.closesAt) continue;
      // A round without an active spec has nothing due: one read instead of one per trainer
      // (what a validator starting on a new network met in every round before activation).
      if (!(await this.hasActiveSpec(r, signal))) continue;
      // Every deadline of the round has passed (a spec's is at most half a round): one check a
      // watched trainer, not one before its deadline and one after.
      if (now < w.start + this.epochLength / 2n) continue;
      if (!scanned) {
        await this.scanOperators(signal);
        scanned = true;
      }
      // Only the trainers this validator watches in the round (about MISSED_WATCHERS validators
      // watch each) with neither a recorded result nor a settled check are looked at: one indexed
      // query, and reads that follow the watched trainers, not the network's.
      const watched = await this.watched(r, signal);
      const toCheck = this.store.trainersToCheck(Number(r), watched);
      if (toCheck.length === 0) continue;
      // The watched challenges' statuses in one batched read: a submitted (or already reported)
      // one is settled without a `getDueChallenge` each.
      const ids = toCheck.map((t) => challengeId(t, r));
      const infos = await this.rpc("getChallenges", () => getChallengesBatch(this.client, { ids }), signal);
      const statusOf = (i: number) => infos.get(ids[i]!.toLowerCase() as Hex)?.status ?? "None";
      this.store.batch(() => {
        for (const [i, trainer] of toCheck.entries())
          if (statusOf(i) !== "None") this.store.recordMissed(trainer, Number(r), statusOf(i));
      });
      for (const [i, trainer] of toCheck.entries()) {
        signal.throwIfAborted();
        if (statusOf(i) !== "None") continue;
        const notBefore = this.deadlines.get(`${trainer}:${r}`);
        if (notBefore !== undefined && now <= notBefore) continue;
        await this.reportIfMissed(trainer, r, now, signal);
      }
    }
  }

  /** The trainers whose deadline of `round` this validator watches (`watchedTrainers`). */
  private async watched(round: bigint, signal: AbortSignal): Promise<Address[]> {
    let draw = this.watchDraws.get(round);
    if (draw === undefined) {
      await this.ensureSealed(round, signal);
      const [value, stake, total] = await Promise.all([
        this.rpc("getBeaconValue", () => this.client.beacon.getBeaconValue({ round }), signal),
        this.rpc(
          "stakeAt",
          () => this.client.staking.stakeAt({ operator: this.validator, epoch: round }),
          signal,
        ),
        this.rpc(
          "roleStakeAt",
          () => this.client.staking.roleStakeAt({ role: "validator", epoch: round }),
          signal,
        ),
      ]);
      if (value === null) return [];
      draw = { value, stake, total };
      this.watchDraws.set(round, draw);
      for (const k of this.watchDraws.keys()) {
        if (k + 3n < round) {
          this.watchDraws.delete(k);
          this.watchLists.delete(k);
        }
      }
    }
    let list = this.watchLists.get(round);
    if (list === undefined) {
      const trainers = this.store.operatorsOf(ROLE.Trainer);
      list = watchedTrainers(draw.value, this.validator, draw.stake, draw.total, trainers, MISSED_WATCHERS);
      this.watchLists.set(round, list);
    }
    return list;
  }

  /**
   * Keeps the registered operators from the `OperatorRegistered` events since the last scan (one
   * `eth_getLogs` per `scanBlockRange` blocks): O(new registrations) a tick, where paging through
   * every operator cost 3 requests per 100 operators, each an O(page) call, every tick.
   */
  private async scanOperators(signal?: AbortSignal): Promise<void> {
    const { block: latest } = await this.clock(signal);
    // From the deployment, whatever `fromBlock` says: every registration counts, however old.
    let from = this.store.operatorScanBlock() ?? this.client.deployment.deployBlock ?? 0n;
    const range = BigInt(this.options.scanBlockRange);
    while (from <= latest) {
      signal?.throwIfAborted();
      const to = from + range - 1n < latest ? from + range - 1n : latest;
      const [registered, deregistered] = await Promise.all([
        this.rpc(
          "getLogs OperatorRegistered",
          () =>
            this.client.staking.getEvents({ eventName: "OperatorRegistered", fromBlock: from, toBlock: to }),
          signal,
        ),
        this.rpc(
          "getLogs OperatorDeregistered",
          () =>
            this.client.staking.getEvents({
              eventName: "OperatorDeregistered",
              fromBlock: from,
              toBlock: to,
            }),
          signal,
        ),
      ]);
      // In chain order; a deregistration leaves the operator without a role (0) until it registers again.
      const rows = [
        ...registered.map((e) => ({ e, role: Number(e.args.role) })),
        ...deregistered.map((e) => ({ e, role: 0 })),
      ]
        .sort((a, b) =>
          a.e.blockNumber === b.e.blockNumber
            ? a.e.logIndex - b.e.logIndex
            : a.e.blockNumber < b.e.blockNumber
              ? -1
              : 1,
        )
        .map(({ e, role }) => ({
          address: getAddress(e.args.operator!),
          role,
          block: Number(e.blockNumber),
        }));
      this.store.addOperators(rows, to + 1n);
      if (rows.length > 0) this.watchLists.clear(); // the trainers changed: draw the watched ones again
      from = to + 1n;
    }
  }

  /** Whether any spec is active in `round` (fixed once the round has started; remembered). */
  private async hasActiveSpec(round: bigint, signal: AbortSignal): Promise<boolean> {
    const known = this.specRounds.get(round);
    if (known !== undefined) return known;
    let active: boolean;
    try {
      const specs = await this.rpc(
        "getActiveSpecs",
        () => this.client.registry.getActiveSpecs({ round }),
        signal,
      );
      active = specs.length > 0;
    } catch (err) {
      if (!isPoAIContractError(err) || err.errorName !== "NoActiveSpec") throw err;
      active = false;
    }
    this.specRounds.set(round, active);
    return active;
  }

  private async reportIfMissed(trainer: Address, round: bigint, now: bigint, signal: AbortSignal) {
    const key = `${trainer}:${round}`;
    const r = Number(round);
    let due;
    try {
      await this.ensureSealed(round, signal);
      due = await this.rpc(
        "getDueChallenge",
        () => this.client.challenges.getDueChallenge({ trainer, round }),
        signal,
      );
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      this.store.recordMissed(trainer, r, err.errorName); // e.g. NoActiveSpec: nothing was due
      return;
    }
    if (!due.due) return this.store.recordMissed(trainer, r, "NotDue");
    if (due.status !== "None") return this.store.recordMissed(trainer, r, due.status);
    if (now <= due.deadline) {
      this.deadlines.set(key, due.deadline);
      return;
    }
    try {
      const hash = await this.client.challenges.reportMissed({ trainer, round });
      await this.mined(hash, signal);
      this.store.recordMissed(trainer, r, "reported", hash);
      this.deadlines.delete(key);
      this.metrics.missedReports.inc();
      this.log.info({ trainer, round: r, tx: hash }, "reported a missed deadline");
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      if (err.errorName === "DeadlineNotPassed") {
        this.deadlines.set(key, due.deadline);
        return;
      }
      // AlreadySubmitted (someone reported first), ReportTooLate, NotDue: settled either way.
      this.store.recordMissed(trainer, r, err.errorName);
      this.log.debug({ trainer, round: r, err: err.message }, "missed report refused");
    }
  }
}
