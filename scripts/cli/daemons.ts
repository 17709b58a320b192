/**
 * `poai trainer run` and `poai validator run`: the trainer daemon (`@poai/sdk/node`) and the
 * validator daemon (`@poai/sdk/verifier`) as long-running processes. Each checks that its key is
 * registered in the right role before it starts, works until SIGINT or SIGTERM, then stops cleanly
 * (the tick in progress finishes, the database is closed) and exits 0.
 */
import { formatPoai, roleName } from "@poai/sdk";
import { TrainerDaemon, type LogLevel } from "@poai/sdk/node";
import { ValidatorDaemon } from "@poai/sdk/verifier";
import { OperatorCommandError, requireOperator, signer, type CommandResult } from "./commands.js";
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
  gpuClass?: string;
  backend?: "js" | "wasm" | "auto";
  retentionSeconds?: number;
  progress?: "auto" | "bar" | "log" | "off";
  pollMs?: number;
  logLevel?: LogLevel;
}

export interface ValidatorRunOptions extends CommonOptions {
  database?: string;
  host?: string;
  port?: number;
  backend?: "js" | "wasm" | "auto";
  fetchTimeoutMs?: number;
  fetchAttempts?: number;
  scanBlockRange?: number;
  fromBlock?: number;
  beacon?: boolean;
  finalize?: boolean;
  reportMissed?: boolean;
  pollMs?: number;
  logLevel?: LogLevel;
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

async function checkRole(session: Session, role: 1 | 2): Promise<string[]> {
  const me = signer(session.client);
  const op = await requireOperator(session.client, me);
  if (op.role !== role)
    fail(
      `${me} is registered as a ${roleName(op.role)}, not a ${roleName(role)}: run the ${roleName(op.role)} daemon`,
    );
  if (op.status === 2) fail(`${me} has deregistered: it is due no work`);
  const warnings: string[] = [];
  if (op.jailed)
    warnings.push(
      `warning: ${me} is jailed until ${new Date(op.jailedUntil * 1000).toISOString()}; it earns nothing until \`poai unjail\``,
    );
  else if (!op.active)
    warnings.push(`warning: ${me} is inactive (self-stake ${formatPoai(op.selfStake)} below the minimum)`);
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
  const daemon = await TrainerDaemon.create({
    client: session.client,
    databasePath: c.database!,
    ...(c.host !== undefined && { host: c.host }),
    ...(c.port !== undefined && { port: c.port }),
    ...(c.publicEndpoint !== undefined && { publicEndpoint: c.publicEndpoint }),
    ...(c.registerEndpoint !== undefined && { registerEndpoint: c.registerEndpoint }),
    ...(c.gpuClass !== undefined && { gpuClass: c.gpuClass }),
    ...(c.backend !== undefined && { backend: c.backend }),
    ...(c.retentionSeconds !== undefined && { retentionSeconds: c.retentionSeconds }),
    ...(c.progress !== undefined && { progress: c.progress }),
    ...(c.logLevel !== undefined && { logLevel: c.logLevel }),
    ...(config.trainer?.confirmations !== undefined && { confirmations: config.trainer.confirmations }),
    ...(config.trainer?.rpcAttempts !== undefined && { rpcAttempts: config.trainer.rpcAttempts }),
  });
  daemon.startLoop({ pollMs: c.pollMs ?? 5_000 });
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
    ...(c.scanBlockRange !== undefined && { scanBlockRange: c.scanBlockRange }),
    ...(c.fromBlock !== undefined && { fromBlock: BigInt(c.fromBlock) }),
    ...(c.beacon !== undefined && { beacon: c.beacon }),
    ...(c.finalize !== undefined && { finalize: c.finalize }),
    ...(c.reportMissed !== undefined && { reportMissed: c.reportMissed }),
    ...(c.logLevel !== undefined && { logLevel: c.logLevel }),
    ...(config.validator?.rpcAttempts !== undefined && { rpcAttempts: config.validator.rpcAttempts }),
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

/** The options actually given (commander leaves the others undefined). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
