/**
 * `poai trainer run`, `poai validator run` and `poai inference run`: the trainer daemon and the
 * inference node (`@poai/node`) and the validator daemon (`@poai/node/verifier`) as long-running
 * processes. Each checks that its key is registered in the right role before it starts (the
 * inference node's is a trainer's), works until SIGINT or SIGTERM, then stops cleanly (the tick in
 * progress finishes, the database is closed) and exits 0.
 */
import { readFile } from "node:fs/promises";
import { formatPoai, PoAIInputError, roleName } from "@poai/sdk";
import {
  ContainerError,
  HttpContainer,
  InferenceNode,
  PoAIModelContainer,
  TrainerDaemon,
  translateInfernetConfig,
  type InferenceApiOptions,
  type InferenceContainer,
  type LogLevel,
  type ServedContainer,
  type TranslatedInfernetConfig,
} from "@poai/node";
import { ValidatorDaemon } from "@poai/node/verifier";
import { getAddress, zeroAddress, type Address } from "viem";
import {
  OperatorCommandError,
  parseAddress,
  requireOperator,
  signer,
  type CommandResult,
} from "./commands.js";
import type { CliConfig } from "./config.js";
import { openSession, type CliIo, type CommonOptions, type Session } from "./session.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

export interface TrainerRunOptions extends CommonOptions {
  database?: string;
  host?: string;
  port?: number;
  publicEndpoint?: string;
  registerEndpoint?: boolean;
  claimJobs?: boolean;
  disputes?: boolean;
  gpuClass?: string;
  backend?: "js" | "wasm" | "cuda" | "auto";
  retentionSeconds?: number;
  progress?: "auto" | "bar" | "log" | "off";
  pollMs?: number;
  stuckAfterMs?: number;
  logLevel?: LogLevel;
}

export interface ValidatorRunOptions extends CommonOptions {
  database?: string;
  host?: string;
  port?: number;
  backend?: "js" | "wasm" | "cuda" | "auto";
  fetchTimeoutMs?: number;
  fetchAttempts?: number;
  auditBudgetMs?: number;
  scanBlockRange?: number;
  fromBlock?: number;
  beacon?: boolean;
  finalize?: boolean;
  reportMissed?: boolean;
  disputes?: boolean;
  pollMs?: number;
  stuckAfterMs?: number;
  logLevel?: LogLevel;
}

export interface InferenceRunOptions extends CommonOptions {
  database?: string;
  host?: string;
  port?: number;
  paymentWallet?: string;
  lagBlocks?: number;
  pollMs?: number;
  stuckAfterMs?: number;
  logLevel?: LogLevel;
  /** `<containerId>=<checkpoint file>`: the built-in container of a registered model (repeatable). */
  model?: string[];
  /** `<containerId>=<url>`: an Infernet container over HTTP (repeatable). */
  container?: string[];
  /** An infernet-node config.json: its containers, REST API and chain settings. */
  infernetConfig?: string;
  /** Serve the REST API on this port (and `apiHost`). */
  apiPort?: number;
  apiHost?: string;
  /** `false` (`--no-disputes`): open no dispute of a wrong output (games already opened are played). */
  disputes?: boolean;
  /** Recompute other nodes' deliveries of the served models and dispute the wrong ones. */
  watchDeliveries?: boolean;
  disputeMode?: "auto" | "game" | "whole";
}

/** Resolves on SIGINT / SIGTERM (or the test's stop signal). */
function stopped(io: CliIo): Promise<string> {
  if (io.stopSignal) return io.stopSignal.then(() => "stop");
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

async function checkRole(session: Session, role: 1 | 2, idle = "it earns nothing"): Promise<string[]> {
  const me = signer(session.client);
  const op = await requireOperator(session.client, me);
  if (op.role !== roleName(role))
    fail(`${me} is registered as a ${op.role}, not a ${roleName(role)}: run the ${op.role} daemon`);
  if (op.status === 2) fail(`${me} has deregistered: it is due no work`);
  const warnings: string[] = [];
  if (op.jailed)
    warnings.push(
      `warning: ${me} is jailed until ${new Date(op.jailedUntil * 1000).toISOString()}; ${idle} until \`poai unjail\``,
    );
  else if (!op.active)
    warnings.push(
      `warning: ${me} is inactive (self-stake ${formatPoai(op.selfStake)} below the minimum); ${idle} until it is active`,
    );
  return warnings;
}

function announce(io: CliIo, json: boolean | undefined, lines: string[], data: Record<string, unknown>) {
  if (json) io.stdout(JSON.stringify({ ok: true, event: "started", ...data }) + "\n");
  else for (const line of lines) io.stderr(line + "\n");
}

export async function trainerRun(
  opts: TrainerRunOptions,
  config: CliConfig,
  io: CliIo,
): Promise<CommandResult> {
  const c = { ...config.trainer, ...defined(opts) };
  if (!c.database)
    fail("--database <file> is required: the SQLite file of the trainer's runs and checkpoints");
  const session = await openSession(opts, config, io, true);
  const warnings = await checkRole(session, 1);
  const daemon = await (io.trainerDaemon ?? TrainerDaemon).create({
    client: session.client,
    databasePath: c.database!,
    ...(c.host !== undefined && { host: c.host }),
    ...(c.port !== undefined && { port: c.port }),
    ...(c.publicEndpoint !== undefined && { publicEndpoint: c.publicEndpoint }),
    ...(c.registerEndpoint !== undefined && { registerEndpoint: c.registerEndpoint }),
    ...(c.claimJobs !== undefined && { claimJobs: c.claimJobs }),
    ...(c.disputes !== undefined && { disputes: c.disputes }),
    ...(c.gpuClass !== undefined && { gpuClass: c.gpuClass }),
    ...(c.backend !== undefined && { backend: c.backend }),
    ...(c.retentionSeconds !== undefined && { retentionSeconds: c.retentionSeconds }),
    ...(c.progress !== undefined && { progress: c.progress }),
    ...(c.logLevel !== undefined && { logLevel: c.logLevel }),
    ...(config.trainer?.confirmations !== undefined && { confirmations: config.trainer.confirmations }),
    ...(config.trainer?.rpcAttempts !== undefined && { rpcAttempts: config.trainer.rpcAttempts }),
    ...(config.trainer?.replayBudgetBytes !== undefined && {
      replayBudgetBytes: config.trainer.replayBudgetBytes,
    }),
  });
  daemon.startLoop({
    pollMs: c.pollMs ?? 5_000,
    ...(c.stuckAfterMs !== undefined && { stuckAfterMs: c.stuckAfterMs }),
  });
  const info = {
    daemon: "trainer",
    address: daemon.address,
    url: daemon.serverUrl,
    endpoint: daemon.endpoint,
    database: c.database,
    chainId: session.chainId,
  };
  announce(
    io,
    opts.json,
    [
      ...warnings,
      `trainer ${daemon.address} running: status ${daemon.serverUrl}/status, checkpoints at ${daemon.endpoint}`,
    ],
    info,
  );
  const signal = await stopped(io);
  await daemon.stop();
  return { lines: [`trainer stopped (${signal})`], data: { ...info, event: "stopped", signal } };
}

export async function validatorRun(
  opts: ValidatorRunOptions,
  config: CliConfig,
  io: CliIo,
): Promise<CommandResult> {
  const c = { ...config.validator, ...defined(opts) };
  if (!c.database)
    fail("--database <file> is required: the SQLite file of the validator's verdicts and salts");
  const session = await openSession(opts, config, io, true);
  const warnings = await checkRole(session, 2);
  const daemon = await ValidatorDaemon.create({
    client: session.client,
    dbPath: c.database!,
    ...(c.host !== undefined && { host: c.host }),
    ...(c.port !== undefined && { port: c.port }),
    ...(c.backend !== undefined && { backend: c.backend }),
    ...(c.fetchTimeoutMs !== undefined && { fetchTimeoutMs: c.fetchTimeoutMs }),
    ...(c.fetchAttempts !== undefined && { fetchAttempts: c.fetchAttempts }),
    ...(c.auditBudgetMs !== undefined && { auditBudgetMs: c.auditBudgetMs }),
    ...(c.stuckAfterMs !== undefined && { stuckAfterMs: c.stuckAfterMs }),
    ...(c.scanBlockRange !== undefined && { scanBlockRange: c.scanBlockRange }),
    ...(c.fromBlock !== undefined && { fromBlock: BigInt(c.fromBlock) }),
    ...(c.beacon !== undefined && { beacon: c.beacon }),
    ...(c.finalize !== undefined && { finalize: c.finalize }),
    ...(c.reportMissed !== undefined && { reportMissed: c.reportMissed }),
    ...(c.disputes !== undefined && { disputes: c.disputes }),
    ...(c.logLevel !== undefined && { logLevel: c.logLevel }),
    ...(config.validator?.rpcAttempts !== undefined && { rpcAttempts: config.validator.rpcAttempts }),
    ...(config.validator?.replayBudgetBytes !== undefined && {
      replayBudgetBytes: config.validator.replayBudgetBytes,
    }),
    ...(config.validator?.operationSamples !== undefined && {
      operationSamples: config.validator.operationSamples,
    }),
  });
  daemon.startLoop({ pollMs: c.pollMs ?? 5_000 });
  const info = {
    daemon: "validator",
    address: daemon.validator,
    url: daemon.url,
    database: c.database,
    chainId: session.chainId,
  };
  announce(
    io,
    opts.json,
    [...warnings, `validator ${daemon.validator} running: status ${daemon.url}/status`],
    info,
  );
  const signal = await stopped(io);
  await daemon.stop();
  return { lines: [`validator stopped (${signal})`], data: { ...info, event: "stopped", signal } };
}

/** Where one served container comes from: a flag or an entry of `inference.containers`. */
interface ContainerSource {
  id: string;
  /** Names the source in errors: `--model poai-classifier=final.ckpt`, `inference.containers[0]`. */
  from: string;
  checkpoint?: string;
  url?: string;
  timeoutMs?: number;
  acceptedPayments?: Record<string, string | number | bigint>;
  allowedConsumers?: string[];
  allowedDelegateAddresses?: string[];
  allowedIps?: string[];
  external?: boolean;
  generatesProofs?: boolean;
  bearer?: string;
  headers?: Record<string, string>;
  description?: string;
  maxResponseBytes?: number;
  maxDeliveryBytes?: number;
  redirects?: "none" | "same-origin" | "any";
  failOnErrorStatus?: boolean;
}

/** `<containerId>=<value>` of a repeatable flag. */
function splitPair(flag: string, spec: string, what: string): [string, string] {
  const at = spec.indexOf("=");
  const id = at > 0 ? spec.slice(0, at) : "";
  const value = at > 0 ? spec.slice(at + 1) : "";
  if (id === "" || value === "" || id.includes(","))
    fail(`--${flag} must be <containerId>=<${what}> (an id without commas), got ${JSON.stringify(spec)}`);
  return [id, value];
}

/**
 * The containers to serve: `inference.containers` of the config, then the flags. A flag naming a
 * container of the config replaces where it comes from (the command line wins) and keeps its filters.
 */
function containerSources(
  opts: InferenceRunOptions,
  config: CliConfig,
  infernet: TranslatedInfernetConfig | undefined,
): ContainerSource[] {
  const sources: ContainerSource[] = [];
  (infernet?.containers ?? []).forEach((c, i) => {
    const { generatesProof, ...rest } = c;
    sources.push({
      ...rest,
      generatesProofs: generatesProof,
      from: `infernet config containers[${i}] (${c.id})`,
    });
  });
  (config.inference?.containers ?? []).forEach((c, i) => {
    if (config.inference!.containers!.slice(0, i).some((s) => s.id === c.id))
      fail(`config inference.containers[${i}].id: container ${JSON.stringify(c.id)} is listed twice`);
    const at = sources.findIndex((s) => s.id === c.id);
    const source = { ...c, from: `inference.containers[${i}] (${c.id})` };
    if (at < 0) sources.push(source);
    else sources[at] = source;
  });
  const flagged = new Set<string>();
  const add = (flag: "model" | "container", spec: string) => {
    const [id, value] = splitPair(flag, spec, flag === "model" ? "checkpoint file" : "url");
    if (flagged.has(id)) fail(`container ${JSON.stringify(id)} is given twice on the command line`);
    flagged.add(id);
    const from = `--${flag} ${spec}`;
    const source = flag === "model" ? { checkpoint: value } : { url: value };
    const i = sources.findIndex((s) => s.id === id);
    if (i < 0) sources.push({ id, from, ...source });
    else {
      const { checkpoint: _c, url: _u, ...filters } = sources[i]!;
      sources[i] = { ...filters, id, from, ...source };
    }
  };
  for (const spec of opts.model ?? []) add("model", spec);
  for (const spec of opts.container ?? []) add("container", spec);
  return sources;
}

/** Opens one container: a registered model's checkpoint (checked against its weightsHash) or an HTTP one. */
async function openContainer(
  session: Session,
  s: ContainerSource,
  warnings: string[],
): Promise<InferenceContainer> {
  try {
    if (s.url !== undefined)
      return new HttpContainer({
        id: s.id,
        url: s.url,
        ...(s.timeoutMs !== undefined && { timeoutMs: s.timeoutMs }),
        ...(s.generatesProofs !== undefined && { generatesProof: s.generatesProofs }),
        ...(s.bearer !== undefined && { bearer: s.bearer }),
        ...(s.headers !== undefined && { headers: s.headers }),
        ...(s.description !== undefined && { description: s.description }),
        ...(s.maxResponseBytes !== undefined && { maxResponseBytes: s.maxResponseBytes }),
        ...(s.maxDeliveryBytes !== undefined && { maxDeliveryBytes: s.maxDeliveryBytes }),
        ...(s.redirects !== undefined && { redirects: s.redirects }),
        ...(s.failOnErrorStatus !== undefined && { failOnErrorStatus: s.failOnErrorStatus }),
      });
    const model = await session.client.inference.getModel({ containerId: s.id });
    if (model.trainer === zeroAddress)
      fail(
        `${s.from}: model ${JSON.stringify(s.id)} is not registered in the ModelRegistry ${session.deployment.contracts.modelRegistry} (its trainer registers it first)`,
      );
    if (!model.active)
      warnings.push(
        `warning: model ${JSON.stringify(s.id)} is deactivated in the ModelRegistry; the Coordinator refuses its deliveries`,
      );
    return await PoAIModelContainer.load({
      id: s.id,
      widths: model.widths,
      checkpoint: { path: s.checkpoint! },
      weightsHash: model.weightsHash,
    });
  } catch (err) {
    if (err instanceof ContainerError) fail(`${s.from}: ${err.message}`);
    throw err;
  }
}

export async function inferenceRun(
  opts: InferenceRunOptions,
  config: CliConfig,
  io: CliIo,
): Promise<CommandResult> {
  const infernetFile = opts.infernetConfig ?? config.inference?.infernetConfig;
  let infernet: TranslatedInfernetConfig | undefined;
  if (infernetFile !== undefined) {
    let text: string;
    try {
      text = await readFile(infernetFile, "utf8");
    } catch {
      return fail(`--infernet-config ${infernetFile}: no such file`);
    }
    try {
      infernet = translateInfernetConfig(text);
    } catch (err) {
      if (err instanceof PoAIInputError) fail(`infernet config ${infernetFile}: ${err.message}`);
      throw err;
    }
    for (const note of infernet.notes) io.stderr(`note: infernet config ${note}\n`);
    if (config.rpc === undefined && infernet.rpc !== undefined) config = { ...config, rpc: infernet.rpc };
  }
  const { containers: _containers, api: _api, infernetConfig: _i, ...fromConfig } = config.inference ?? {};
  const c = {
    ...(infernet?.lagBlocks !== undefined && { lagBlocks: infernet.lagBlocks }),
    ...(infernet?.pollMs !== undefined && { pollMs: infernet.pollMs }),
    ...(infernet?.paymentWallet !== undefined && { paymentWallet: infernet.paymentWallet }),
    ...fromConfig,
    ...defined(opts),
  };
  const apiConfig = config.inference?.api;
  const api: InferenceApiOptions | undefined =
    infernet || apiConfig || opts.apiPort !== undefined
      ? {
          ...infernet?.api,
          ...apiConfig,
          ...(opts.apiHost !== undefined && { host: opts.apiHost }),
          ...(opts.apiPort !== undefined && { port: opts.apiPort }),
        }
      : undefined;
  if (!c.database)
    fail(
      "--database <file> is required: the SQLite file of the inference node's subscriptions and deliveries",
    );
  const paymentWallet =
    opts.paymentWallet !== undefined
      ? parseAddress("payment-wallet", opts.paymentWallet)
      : c.paymentWallet !== undefined
        ? getAddress(c.paymentWallet)
        : undefined;
  const sources = containerSources(opts, config, infernet);
  if (sources.length === 0)
    fail(
      "no container to serve: give --model <containerId>=<checkpoint file> (a registered model), --container <containerId>=<url> (an Infernet container) or inference.containers in the --config file",
    );
  const session = await openSession(opts, config, io, true);
  for (const [key, name] of [
    ["coordinator", "Coordinator"],
    ["modelRegistry", "ModelRegistry"],
  ] as const) {
    if (session.deployment.contracts[key] === undefined)
      fail(
        `the address book ${session.deploymentFile} has no ${name} (contracts.${key}): deploy the inference marketplace and pass its address book with --deployment`,
      );
  }
  const warnings = await checkRole(session, 1, "it delivers nothing");
  const served: ServedContainer[] = [];
  for (const s of sources) {
    const container = await openContainer(session, s, warnings);
    served.push({
      container,
      ...(s.acceptedPayments !== undefined && {
        acceptedPayments: Object.fromEntries(
          Object.entries(s.acceptedPayments).map(([token, amount]) => [token, BigInt(amount)]),
        ),
      }),
      ...(s.allowedConsumers !== undefined && {
        allowedConsumers: s.allowedConsumers.map((a) => getAddress(a) as Address),
      }),
      ...(s.allowedDelegateAddresses !== undefined && {
        allowedDelegateAddresses: s.allowedDelegateAddresses.map((a) => getAddress(a) as Address),
      }),
      ...(s.allowedIps !== undefined && { allowedIps: s.allowedIps }),
      ...(s.external !== undefined && { external: s.external }),
    });
  }
  const node = await InferenceNode.create({
    client: session.client,
    databasePath: c.database!,
    containers: served,
    ...(paymentWallet !== undefined && { paymentWallet }),
    ...(c.host !== undefined && { host: c.host }),
    ...(c.port !== undefined && { port: c.port }),
    ...(c.lagBlocks !== undefined && { lagBlocks: c.lagBlocks }),
    ...(c.logLevel !== undefined && { logLevel: c.logLevel }),
    ...(config.inference?.fromBlock !== undefined && { fromBlock: config.inference.fromBlock }),
    ...(config.inference?.maxAttempts !== undefined && { maxAttempts: config.inference.maxAttempts }),
    ...(config.inference?.confirmations !== undefined && {
      confirmations: config.inference.confirmations,
    }),
    ...(config.inference?.rpcAttempts !== undefined && { rpcAttempts: config.inference.rpcAttempts }),
    ...(config.inference?.concurrency !== undefined && { concurrency: config.inference.concurrency }),
    ...(infernet?.batchSize !== undefined && { batchSize: infernet.batchSize }),
    ...(api !== undefined && { api }),
    ...(opts.disputes === false && { disputes: false }),
    ...(opts.watchDeliveries === true && { watchDeliveries: true }),
    ...(opts.disputeMode !== undefined && { disputeMode: opts.disputeMode }),
  });
  node.startLoop({
    pollMs: c.pollMs ?? 5_000,
    ...(opts.stuckAfterMs !== undefined && { stuckAfterMs: opts.stuckAfterMs }),
  });
  const info = {
    daemon: "inference",
    address: node.address,
    url: node.serverUrl,
    database: c.database,
    chainId: session.chainId,
    api: node.apiUrl ?? null,
    containers: served.map((s) => ({
      id: s.container.id,
      kind: s.container instanceof PoAIModelContainer ? "model" : "http",
    })),
    paymentWallet: paymentWallet ?? null,
  };
  announce(
    io,
    opts.json,
    [
      ...warnings,
      `inference node ${node.address} running: ${served.map((s) => s.container.id).join(", ")}; status ${node.serverUrl}/status${node.apiUrl ? `; REST API ${node.apiUrl}` : ""}`,
    ],
    info,
  );
  const signal = await stopped(io);
  await node.stop();
  return { lines: [`inference node stopped (${signal})`], data: { ...info, event: "stopped", signal } };
}

/** The options actually given (commander leaves the others undefined). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
