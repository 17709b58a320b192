/**
 * The network as separate OS processes: given an RPC URL and a deployment file, starts trainer and
 * validator daemons and inference nodes as their own processes (`poai trainer run` /
 * `poai validator run` / `poai inference run`, whose containers come in the spec's `args`, e.g.
 * `["--model", "poai-classifier=final.ckpt"]`), each with its own key, SQLite file and port; waits until each serves `/status`; and stops them cleanly
 * (SIGTERM: the tick in progress finishes, the database closes, the process exits 0).
 *
 * On a chain whose clock the caller controls (`hardhat node`), `DaemonProcess.tick()` is a barrier
 * rather than a call: it resolves once the process has completed a tick of its own at the chain's
 * current time or later, so `driveRounds` (`daemon-network.ts`) plays rounds through the processes
 * exactly as it does through in-process daemons, with `advanceChainTo` moving the clock
 * (`evm_setNextBlockTimestamp` + `evm_mine`, or `evm_increaseTime` where the former is missing).
 *
 * ```ts
 * const fleet = await startDaemonProcesses({ rpc, deployment: "deployments/localhost.json", dataDir,
 *   daemons: [{ role: "trainer", key: k1 }, { role: "validator", key: k2 }] });
 * await driveRounds({ windows, advanceTo: (t) => advanceChainTo(rpc, t),
 *   trainers: fleet.trainers, validators: fleet.validators, from: 1n, to: 1n });
 * await fleet.stop();
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { toHex, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { advanceChainTime, httpRequester, latestChainTime } from "@poai/sdk";
import type { Tickable } from "./daemon-network.js";

const POAI_BIN = path.resolve(import.meta.dirname, "../cli/poai.js");

export type DaemonRole = "trainer" | "validator" | "inference";

export interface DaemonProcessSpec {
  role: DaemonRole;
  /** The key the process signs with (given to it as `POAI_PRIVATE_KEY`, never on its command line). */
  key: `0x${string}`;
  /** Name in logs and file names; default `<role>-<n>`. */
  label?: string;
  /** SQLite file; default `<dataDir>/<label>.db`. */
  database?: string;
  /** Port of its HTTP server; default a free one. */
  port?: number;
  /** More `poai … run` options (e.g. `["--backend", "js"]`; an inference node's `--model` / `--container`). */
  args?: string[];
  /**
   * Entry script run instead of the `poai` launcher, with the same arguments (a launcher that runs
   * the CLI with another daemon class, such as the devnet's forging trainer).
   */
  script?: string;
}

export interface MultiprocessOptions {
  /** JSON-RPC endpoint every process connects to. */
  rpc: string;
  /** Address book file (`deployments/<network>.json`). */
  deployment: string;
  /** Where the databases and logs go (`<label>.db`, `<label>.log`). */
  dataDir: string;
  daemons: readonly DaemonProcessSpec[];
  /** Pause between a daemon's ticks; default 250 ms. */
  pollMs?: number;
  /** Daemon log level; default `warn`. */
  logLevel?: string;
  /** How long a process may take to serve `/status`; default 60 s. */
  healthTimeoutMs?: number;
  /** Longest wait of one `tick()` barrier; default 120 s. */
  tickTimeoutMs?: number;
  /** Extra environment for the processes. */
  env?: NodeJS.ProcessEnv;
}

/** The public test mnemonic of Hardhat's default accounts (`npx hardhat node`). */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of Hardhat's default account `index`: what a daemon process on `hardhat node` signs with. */
export function hardhatAccountKey(index: number): Hex {
  return toHex(mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);
}

/** Address of Hardhat's default account `index`. */
export function hardhatAccountAddress(index: number): Address {
  return mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index }).address;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The latest block's timestamp. */
export async function chainTime(rpc: string): Promise<bigint> {
  return latestChainTime(httpRequester(rpc));
}

/**
 * Mines a block at `t` unless the chain is already there (time never goes back); the clients'
 * differences are the SDK's `advanceChainTime`.
 */
export async function advanceChainTo(rpc: string, t: bigint): Promise<void> {
  await advanceChainTime(httpRequester(rpc), t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The completed tick a status shows: its chain time and whether it succeeded. */
interface TickMark {
  chainTime: bigint | undefined;
  ticks: number;
  ok: boolean;
  error: string | undefined;
}

function tickMark(role: DaemonRole, s: Record<string, unknown>): TickMark {
  if (role === "validator") {
    const last = s.lastTick as { ok: boolean; chainTime: string; error?: string } | undefined;
    return {
      chainTime: last ? BigInt(last.chainTime) : undefined,
      ticks: 0,
      ok: last?.ok ?? false,
      error: last?.error,
    };
  }
  const lastError = s.lastError as { message: string } | null;
  return {
    chainTime: s.chainTime === null || s.chainTime === undefined ? undefined : BigInt(String(s.chainTime)),
    ticks: Number(s.ticks ?? 0),
    ok: true,
    error: lastError?.message,
  };
}

/** One daemon process. */
export class DaemonProcess implements Tickable {
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly role: DaemonRole,
    readonly label: string,
    /** `http://127.0.0.1:<port>`: `/status`, `/metrics` (a trainer's checkpoints, an inference node's `/subscriptions`). */
    readonly url: string,
    readonly database: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
    private readonly rpc: string,
    private readonly tickTimeoutMs: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines of the process's output. */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** `GET /status`. */
  async status(): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.url}/status`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${this.label}: /status answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Resolves once `/status` answers; fails if the process exits first or `timeoutMs` passes. */
  async waitHealthy(timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.label} exited with ${this.exitCode}:\n${this.logTail()}`);
      try {
        return await this.status();
      } catch {
        // not serving yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `${this.label} did not serve ${this.url}/status in ${timeoutMs} ms:\n${this.logTail()}`,
        );
      await sleep(200);
    }
  }

  /**
   * Waits until the process has completed a tick that began at the chain's current time or later
   * (its own loop runs the tick; this only watches `/status`).
   */
  async tick(): Promise<void> {
    const t = await chainTime(this.rpc);
    const deadline = Date.now() + this.tickTimeoutMs;
    let seenAt: number | undefined; // the tick count when a tick at >= t was first seen (not a validator)
    let last: TickMark | undefined;
    for (;;) {
      if (!this.running) throw new Error(`${this.label} exited with ${this.exitCode}:\n${this.logTail()}`);
      const mark = tickMark(this.role, await this.status().catch(() => ({})));
      last = mark;
      if (mark.chainTime !== undefined && mark.chainTime >= t) {
        if (this.role === "validator" && mark.ok) return;
        if (this.role !== "validator") {
          // A trainer's or an inference node's `chainTime` is set when a tick starts: the next
          // tick starting means that one ended.
          if (seenAt === undefined) seenAt = mark.ticks;
          else if (mark.ticks > seenAt) return;
        }
      }
      if (Date.now() > deadline)
        throw new Error(
          `${this.label} completed no tick at chain time ${t} in ${this.tickTimeoutMs} ms (last: ${last.chainTime ?? "none"}${last.error ? `, error: ${last.error}` : ""}):\n${this.logTail()}`,
        );
      await sleep(100);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves to the exit code (0 for a clean stop). */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Daemon processes started together. */
export class DaemonFleet {
  constructor(readonly daemons: readonly DaemonProcess[]) {}

  get trainers(): DaemonProcess[] {
    return this.daemons.filter((d) => d.role === "trainer");
  }

  get validators(): DaemonProcess[] {
    return this.daemons.filter((d) => d.role === "validator");
  }

  get inferenceNodes(): DaemonProcess[] {
    return this.daemons.filter((d) => d.role === "inference");
  }

  /** Stops every process (in parallel) and returns their exit codes by label. */
  async stop(): Promise<Record<string, number | null>> {
    const codes = await Promise.all(this.daemons.map((d) => d.stop()));
    return Object.fromEntries(this.daemons.map((d, i) => [d.label, codes[i]!]));
  }
}

/** Starts every daemon of `o.daemons` as its own process and waits until each serves `/status`. */
export async function startDaemonProcesses(o: MultiprocessOptions): Promise<DaemonFleet> {
  mkdirSync(o.dataDir, { recursive: true });
  const counts: Record<DaemonRole, number> = { trainer: 0, validator: 0, inference: 0 };
  const started: DaemonProcess[] = [];
  try {
    for (const spec of o.daemons) {
      const label = spec.label ?? `${spec.role}-${++counts[spec.role]}`;
      const port = spec.port ?? (await freePort());
      const database = spec.database ?? path.join(o.dataDir, `${label}.db`);
      const logFile = path.join(o.dataDir, `${label}.log`);
      const args = [
        spec.script ?? POAI_BIN,
        spec.role,
        "run",
        "--rpc",
        o.rpc,
        "--deployment",
        o.deployment,
        "--database",
        database,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--poll-ms",
        String(o.pollMs ?? 250),
        "--log-level",
        o.logLevel ?? "warn",
        ...(spec.role === "trainer" ? ["--progress", "off"] : []),
        ...(spec.args ?? []),
      ];
      const log = openSync(logFile, "a");
      const child = spawn(process.execPath, args, {
        env: { ...process.env, ...o.env, POAI_PRIVATE_KEY: spec.key },
        stdio: ["ignore", log, log],
      });
      closeSync(log);
      started.push(
        new DaemonProcess(
          spec.role,
          label,
          `http://127.0.0.1:${port}`,
          database,
          logFile,
          child,
          o.rpc,
          o.tickTimeoutMs ?? 120_000,
        ),
      );
    }
    await Promise.all(started.map((d) => d.waitHealthy(o.healthTimeoutMs ?? 60_000)));
  } catch (err) {
    await Promise.all(started.map((d) => d.stop(5_000)));
    throw err;
  }
  return new DaemonFleet(started);
}
