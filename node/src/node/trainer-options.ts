/**
 * The trainer daemon's options and their checks. Every option is validated when the daemon is
 * created, before anything is opened or sent; a bad one is a `PoAIInputError` that names the
 * field and the value.
 */
import { getAddress, type Address } from "viem";
import type { PoAIClient } from "@poai/sdk";
import {
  DEFAULT_REPLAY_BUDGET_BYTES,
  createBackend,
  type BackendKind,
  type EngineBackend,
} from "@poai/sdk/compute";
import type { LogLevel, Logger } from "../daemon/index.js";
import { PoAIInputError } from "@poai/sdk";
import { defaultDatasetCache } from "./trainer-datasets.js";

export type ProgressMode = "auto" | "bar" | "log" | "off";

export interface TrainerDaemonOptions {
  /** A PoAI client with a wallet: its account is the trainer, and signs every transaction. */
  client: PoAIClient;
  /** The SQLite file holding the daemon's runs and checkpoints (created if missing; `":memory:"` keeps nothing). */
  databasePath: string;
  /**
   * Engine backend: `"js"`, `"wasm"`, `"cuda"`, `"auto"` (CUDA where the NVIDIA driver and a device are
   * found, else wasm where WebAssembly SIMD runs; the default) or a backend object.
   */
  backend?: BackendKind | EngineBackend;
  /** Interface the HTTP server listens on; default `127.0.0.1`. */
  host?: string;
  /** Port of the HTTP server; default 0 (any free port). */
  port?: number;
  /** The URL validators reach the server at (behind a proxy, a public host); default the server's own URL. */
  publicEndpoint?: string;
  /** Publish `publicEndpoint` in Staking (`updateMetadata`) at start when it differs; default true. */
  registerEndpoint?: boolean;
  /** GPU class published with the endpoint; default the one already registered. */
  gpuClass?: string;
  /** Seconds to keep a run's checkpoints after its round's points are final; default 0. */
  retentionSeconds?: bigint | number;
  /** Training progress: a bar on a terminal, log lines otherwise (`"auto"`, the default), or `"off"`. */
  progress?: ProgressMode;
  /** A pino logger to write to; default a new one named `poai-trainer`. */
  logger?: Logger;
  /** Level of the default logger; default `$POAI_LOG_LEVEL` or `info`. */
  logLevel?: LogLevel;
  /** Blocks to wait for after a submission is mined; default 1. */
  confirmations?: number;
  /** Attempts of a failing RPC read before the tick fails; default 4. */
  rpcAttempts?: number;
  /** Engine version 2: dataset source URLs asked before the ones the TaskRegistry lists for a spec. */
  datasetSources?: readonly string[];
  /** Engine version 2: where fetched datasets are cached; default `datasets/` beside the database. */
  datasetCacheDir?: string;
  /** Deadline of one dataset request, milliseconds; default 10 000. */
  datasetTimeoutMs?: number;
  /** Claim paid jobs in their claim rounds (when the address book has a JobRegistry); default true. */
  claimJobs?: boolean;
  /**
   * Defend this trainer's runs convicted as Fraud (open the defence, settle it; docs/disputes.md);
   * default true. Games already opened against its runs are played either way.
   */
  disputes?: boolean;
  /**
   * The checkpoint bytes a segment replay may fetch before a spec is audited by operation sampling
   * instead (`auditModeFor`; docs/verifier.md "Audit modes"); default 10 MiB, the validators'
   * default. For an operation-sampling spec the trainer commits every segment's step-state root
   * and answers sample requests. Must match the validators' `replayBudgetBytes`.
   */
  replayBudgetBytes?: number;
}

/** The options after validation, with their defaults. */
export interface ResolvedTrainerOptions {
  client: PoAIClient;
  address: Address;
  databasePath: string;
  backend: EngineBackend;
  host: string;
  port: number;
  publicEndpoint: string | undefined;
  registerEndpoint: boolean;
  gpuClass: string | undefined;
  retentionSeconds: bigint;
  progress: ProgressMode;
  logger: Logger | undefined;
  logLevel: LogLevel | undefined;
  confirmations: number;
  rpcAttempts: number;
  datasetSources: readonly string[];
  datasetCacheDir: string | undefined;
  datasetTimeoutMs: number;
  claimJobs: boolean;
  disputes: boolean;
  replayBudgetBytes: number;
}

const LOG_LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const PROGRESS_MODES: readonly string[] = ["auto", "bar", "log", "off"];
/** `Staking.MAX_ENDPOINT_LENGTH` and `MAX_GPU_CLASS_LENGTH`. */
const MAX_ENDPOINT_BYTES = 256;
const MAX_GPU_CLASS_BYTES = 64;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function checkEndpoint(value: unknown): string {
  const expected = `an http(s) URL of at most ${MAX_ENDPOINT_BYTES} bytes`;
  if (typeof value !== "string" || Buffer.byteLength(value) > MAX_ENDPOINT_BYTES) {
    throw new PoAIInputError("publicEndpoint", value, expected);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PoAIInputError("publicEndpoint", value, expected);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PoAIInputError("publicEndpoint", value, expected);
  }
  return value.replace(/\/+$/, "");
}

/** Checks the options at the boundary; every error is a `PoAIInputError` naming the field and the value. */
export function resolveTrainerOptions(options: TrainerDaemonOptions): ResolvedTrainerOptions {
  if (!isObject(options)) throw new PoAIInputError("options", options, "an object of trainer daemon options");
  const o = options as unknown as Record<string, unknown>;
  const client = o.client;
  if (!isObject(client) || !isObject(client.challenges) || !isObject(client.deployment)) {
    throw new PoAIInputError("client", client, "a PoAI client (createPoAIClient)");
  }
  const account = (client.walletClient as { account?: { address?: unknown } } | undefined)?.account;
  if (!isObject(account) || typeof account.address !== "string") {
    throw new PoAIInputError(
      "client.walletClient.account",
      account,
      "a wallet client with an account: the trainer signs its submissions",
    );
  }
  const poai = client as unknown as PoAIClient;
  if (poai.deployment.contracts.challengeManager === undefined) {
    throw new PoAIInputError(
      "client.deployment.contracts.challengeManager",
      undefined,
      "the ChallengeManager address (a deployment with the Proof-of-AI contracts)",
    );
  }
  if (typeof o.databasePath !== "string" || o.databasePath.trim() === "") {
    throw new PoAIInputError("databasePath", o.databasePath, 'a file path (or ":memory:")');
  }
  let backend: EngineBackend;
  if (o.backend === undefined || typeof o.backend === "string") {
    if (o.backend !== undefined && !["js", "wasm", "cuda", "auto"].includes(o.backend)) {
      throw new PoAIInputError(
        "backend",
        o.backend,
        '"js", "wasm", "cuda", "auto" or an engine backend object',
      );
    }
    backend = createBackend((o.backend ?? "auto") as BackendKind);
  } else if (
    isObject(o.backend) &&
    typeof o.backend.kind === "string" &&
    typeof o.backend.open === "function"
  ) {
    backend = o.backend as unknown as EngineBackend;
  } else {
    throw new PoAIInputError(
      "backend",
      o.backend,
      '"js", "wasm", "cuda", "auto" or an engine backend object',
    );
  }
  const host = o.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "") {
    throw new PoAIInputError("host", o.host, "a host name or IP address to listen on");
  }
  const port = o.port ?? 0;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new PoAIInputError("port", o.port, "a TCP port, an integer in 0..65535 (0: any free port)");
  }
  const publicEndpoint = o.publicEndpoint === undefined ? undefined : checkEndpoint(o.publicEndpoint);
  const registerEndpoint = o.registerEndpoint ?? true;
  if (typeof registerEndpoint !== "boolean") {
    throw new PoAIInputError("registerEndpoint", o.registerEndpoint, "a boolean");
  }
  const gpuClass = o.gpuClass;
  if (
    gpuClass !== undefined &&
    (typeof gpuClass !== "string" || Buffer.byteLength(gpuClass) > MAX_GPU_CLASS_BYTES)
  ) {
    throw new PoAIInputError("gpuClass", gpuClass, `a string of at most ${MAX_GPU_CLASS_BYTES} bytes`);
  }
  const retention = o.retentionSeconds ?? 0n;
  if (
    !(typeof retention === "bigint" || (typeof retention === "number" && Number.isSafeInteger(retention))) ||
    BigInt(retention) < 0n
  ) {
    throw new PoAIInputError("retentionSeconds", o.retentionSeconds, "a whole number of seconds >= 0");
  }
  const progress = o.progress ?? "auto";
  if (typeof progress !== "string" || !PROGRESS_MODES.includes(progress)) {
    throw new PoAIInputError("progress", o.progress, '"auto", "bar", "log" or "off"');
  }
  if (o.logger !== undefined && !(isObject(o.logger) && typeof o.logger.child === "function")) {
    throw new PoAIInputError("logger", o.logger, "a pino logger");
  }
  if (o.logLevel !== undefined && (typeof o.logLevel !== "string" || !LOG_LEVELS.includes(o.logLevel))) {
    throw new PoAIInputError("logLevel", o.logLevel, `one of ${LOG_LEVELS.join(", ")}`);
  }
  const confirmations = o.confirmations ?? 1;
  if (
    typeof confirmations !== "number" ||
    !Number.isInteger(confirmations) ||
    confirmations < 1 ||
    confirmations > 64
  ) {
    throw new PoAIInputError("confirmations", o.confirmations, "an integer in 1..64");
  }
  const rpcAttempts = o.rpcAttempts ?? 4;
  if (
    typeof rpcAttempts !== "number" ||
    !Number.isInteger(rpcAttempts) ||
    rpcAttempts < 1 ||
    rpcAttempts > 100
  ) {
    throw new PoAIInputError("rpcAttempts", o.rpcAttempts, "an integer in 1..100");
  }
  const datasetSources = o.datasetSources ?? [];
  if (!Array.isArray(datasetSources)) {
    throw new PoAIInputError("datasetSources", o.datasetSources, "an array of http(s) URLs");
  }
  datasetSources.forEach((url: unknown, i) => {
    let ok = typeof url === "string";
    try {
      ok &&= ["http:", "https:"].includes(new URL(url as string).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new PoAIInputError(`datasetSources[${i}]`, url, "an http(s) URL");
  });
  if (
    o.datasetCacheDir !== undefined &&
    (typeof o.datasetCacheDir !== "string" || o.datasetCacheDir === "")
  ) {
    throw new PoAIInputError("datasetCacheDir", o.datasetCacheDir, "a directory path");
  }
  const datasetTimeoutMs = o.datasetTimeoutMs ?? 10_000;
  if (typeof datasetTimeoutMs !== "number" || !Number.isInteger(datasetTimeoutMs) || datasetTimeoutMs < 1) {
    throw new PoAIInputError("datasetTimeoutMs", o.datasetTimeoutMs, "a positive integer (milliseconds)");
  }
  if (o.claimJobs !== undefined && typeof o.claimJobs !== "boolean") {
    throw new PoAIInputError("claimJobs", o.claimJobs, "a boolean");
  }
  if (o.disputes !== undefined && typeof o.disputes !== "boolean") {
    throw new PoAIInputError("disputes", o.disputes, "a boolean");
  }
  const replayBudgetBytes = o.replayBudgetBytes ?? DEFAULT_REPLAY_BUDGET_BYTES;
  if (
    typeof replayBudgetBytes !== "number" ||
    !Number.isSafeInteger(replayBudgetBytes) ||
    replayBudgetBytes < 0
  ) {
    throw new PoAIInputError("replayBudgetBytes", o.replayBudgetBytes, "a whole number of bytes >= 0");
  }
  return {
    replayBudgetBytes,
    claimJobs: o.claimJobs ?? true,
    disputes: o.disputes ?? true,
    datasetSources: datasetSources as string[],
    datasetCacheDir: (o.datasetCacheDir as string | undefined) ?? defaultDatasetCache(o.databasePath),
    datasetTimeoutMs,
    client: poai,
    address: getAddress(account.address),
    databasePath: o.databasePath,
    backend,
    host,
    port,
    publicEndpoint,
    registerEndpoint,
    gpuClass: gpuClass as string | undefined,
    retentionSeconds: BigInt(retention as bigint | number),
    progress: progress as ProgressMode,
    logger: o.logger as Logger | undefined,
    logLevel: o.logLevel as LogLevel | undefined,
    confirmations,
    rpcAttempts,
  };
}
