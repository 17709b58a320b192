/**
 * The life cycle every daemon shares: `start()` runs `tick()` every `pollMs`, one at a time, with
 * bounded exponential backoff after a failure; `tick()` can also be called directly (a test or an
 * orchestrator that drives the chain's clock); `stop()` waits for the running tick and releases
 * what the daemon holds.
 *
 * A watchdog follows the tick: the daemon reports progress (`progress(step)`) as it goes, and a
 * tick that has reported nothing for longer than its step allows (`stuckAfterMs`, or the step's
 * own budget) is **stuck**. `tickState()` says so, `/status` shows it and `/healthz` answers 503
 * (`health()`), so a daemon hung on anything (a read, an RPC, a hook) is seen by whoever watches
 * it, instead of the last finished tick being reported as the daemon's state.
 */
import type { Client } from "viem";
import { getBlockNumber } from "viem/actions";
import { startDeadline } from "./body.js";
import type { Logger } from "./log.js";
import { sleep } from "./retry.js";
import { probeDatabase, type Database } from "./sqlite.js";

export interface LoopOptions {
  /** Pause between ticks; default 2 s. */
  pollMs?: number;
  /** Longest pause after failed ticks; default 60 s. */
  maxBackoffMs?: number;
  /** A tick that reports no progress for this long is stuck (see `tickState`); default the daemon's. */
  stuckAfterMs?: number;
}

/** Default of `stuckAfterMs`: 10 minutes without progress. */
export const DEFAULT_STUCK_AFTER_MS = 600_000;
/** How long `stop()` waits for a tick that does not end when aborted. */
export const STOP_GRACE_MS = 30_000;
/** Budget of one health probe (the chain's block number, the database's write lock). */
export const HEALTH_PROBE_MS = 3_000;

/** Where the current tick stands (`/status`'s `tick`). */
export interface TickState {
  /** Whether a tick is running now. */
  running: boolean;
  /** When the running tick started (ISO time), or null. */
  startedAt: string | null;
  /** The step the running tick last reported, or null. */
  step: string | null;
  /** When it reported it (ISO time), or null. */
  progressAt: string | null;
  /** Milliseconds since then (0 when no tick runs). */
  quietMs: number;
  /** How long the current step may stay quiet before the tick counts as stuck. */
  allowedMs: number;
  /** The running tick has been quiet longer than its step allows. */
  stuck: boolean;
  /** When the last tick finished (ISO time), and whether it succeeded. */
  lastFinishedAt: string | null;
  lastOk: boolean | null;
}

/** One check of `/healthz`: ok, or the reason it is not. */
export interface HealthCheck {
  ok: boolean;
  error?: string;
}

/** What `/healthz` serves (status 200 when `ok`, 503 otherwise). */
export interface HealthReport {
  ok: boolean;
  checks: Record<string, HealthCheck>;
}

/** A health probe: resolves when healthy, throws (or rejects) with the reason otherwise. */
export type HealthProbe = () => unknown;

export abstract class DaemonLoop {
  protected abstract readonly log: Logger;
  private running: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** Failures in a row (reset by a successful tick). */
  protected failures = 0;
  /** A tick quiet for this long is stuck (a step may allow itself longer: `progress(step, ms)`). */
  protected stuckAfterMs = DEFAULT_STUCK_AFTER_MS;
  private tickStartedAt: number | undefined;
  private step: { name: string; at: number; allowedMs: number } | undefined;
  private lastFinished: { at: number; ok: boolean } | undefined;

  /** Does whatever is due at the chain's current time; safe to call again at any point. */
  protected abstract work(signal: AbortSignal): Promise<void>;

  /** Releases the daemon's resources (servers, database) after the loop stopped. */
  protected abstract release(): Promise<void>;

  /**
   * Reports that the running tick reached `step` (the watchdog's heartbeat). A step that may
   * legitimately take long (an audit with its own budget) passes how long it may stay quiet.
   */
  protected progress(step: string, allowedMs = this.stuckAfterMs): void {
    this.step = { name: step, at: performance.now(), allowedMs: Math.max(allowedMs, this.stuckAfterMs) };
  }

  /** One pass of the daemon's work; concurrent calls share the pass that is running. */
  tick(): Promise<void> {
    if (this.current) return this.current;
    const signal = this.abort?.signal ?? new AbortController().signal;
    this.tickStartedAt = performance.now();
    this.progress("starting");
    const finish = (ok: boolean) => {
      this.current = undefined;
      this.tickStartedAt = undefined;
      this.step = undefined;
      this.lastFinished = { at: Date.now(), ok };
    };
    this.current = this.work(signal).then(
      () => finish(true),
      (err: unknown) => {
        finish(false);
        throw err;
      },
    );
    return this.current;
  }

  /** Where the current tick stands: running, its step, and whether it is stuck. */
  tickState(): TickState {
    const now = performance.now();
    const wall = Date.now();
    const iso = (at: number) => new Date(wall - (now - at)).toISOString();
    const running = this.tickStartedAt !== undefined;
    const quietMs = running && this.step ? Math.round(now - this.step.at) : 0;
    const allowedMs = this.step?.allowedMs ?? this.stuckAfterMs;
    return {
      running,
      startedAt: running ? iso(this.tickStartedAt!) : null,
      step: running ? (this.step?.name ?? null) : null,
      progressAt: running && this.step ? iso(this.step.at) : null,
      quietMs,
      allowedMs,
      stuck: running && quietMs > allowedMs,
      lastFinishedAt: this.lastFinished ? new Date(this.lastFinished.at).toISOString() : null,
      lastOk: this.lastFinished?.ok ?? null,
    };
  }

  /**
   * The probes `/healthz` runs besides the tick's watchdog, by name. Default: `chain` (the latest
   * block number, when the daemon has a PoAI `client`) and `store` (the database can take its
   * write lock, when the daemon has a `store` with a `db`). A daemon overrides this to add its own.
   */
  protected healthProbes(): Record<string, HealthProbe> {
    const self = this as unknown as {
      client?: { publicClient?: Client };
      store?: { db?: Database };
    };
    const probes: Record<string, HealthProbe> = {};
    const publicClient = self.client?.publicClient;
    if (publicClient) probes.chain = () => probeChain(publicClient);
    const db = self.store?.db;
    if (db) probes.store = () => probeDatabase(db);
    return probes;
  }

  /**
   * Runs every health probe (each within `HEALTH_PROBE_MS`) and the tick's watchdog: ok only when
   * all pass. Served as `/healthz`.
   */
  async health(): Promise<HealthReport> {
    const checks: Record<string, HealthCheck> = {};
    const probes = Object.entries(this.healthProbes());
    await Promise.all(
      probes.map(async ([name, probe]) => {
        const deadline = startDeadline(HEALTH_PROBE_MS, { what: `the ${name} probe` });
        try {
          await deadline.race(Promise.resolve().then(probe));
          checks[name] = { ok: true };
        } catch (err) {
          checks[name] = { ok: false, error: errorLine(err) };
        } finally {
          deadline.clear();
        }
      }),
    );
    const tick = this.tickState();
    checks.tick = tick.stuck
      ? {
          ok: false,
          error: `the tick has reported no progress for ${Math.round(tick.quietMs / 1000)} s (step: ${tick.step}; allowed ${Math.round(tick.allowedMs / 1000)} s): it is stuck`,
        }
      : { ok: true };
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Runs `tick()` every `pollMs` until `stop()`. Errors are logged and retried with backoff. */
  startLoop(options: LoopOptions = {}): void {
    if (this.running) return;
    const poll = options.pollMs ?? 2_000;
    const maxBackoff = options.maxBackoffMs ?? 60_000;
    if (options.stuckAfterMs !== undefined) this.stuckAfterMs = options.stuckAfterMs;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.running = (async () => {
      while (!signal.aborted) {
        try {
          await this.tick();
          this.failures = 0;
        } catch (err) {
          if (signal.aborted) break;
          this.failures++;
          this.log.error({ err, failures: this.failures }, "tick failed");
        }
        const wait =
          this.failures === 0 ? poll : Math.min(maxBackoff, poll * 2 ** Math.min(this.failures, 16));
        await sleep(wait, signal).catch(() => undefined);
      }
    })();
  }

  /**
   * Stops the loop, waits for the tick in progress (it is aborted; at most `STOP_GRACE_MS` for one
   * that is stuck), then releases resources. Idempotent.
   */
  async stop(): Promise<void> {
    this.abort?.abort(new Error("daemon stopping"));
    const current = this.current?.catch(() => undefined);
    const grace = startDeadline(STOP_GRACE_MS, { what: "the tick in progress" });
    try {
      await grace.race(Promise.all([this.running, current]));
    } catch {
      this.log.error(
        { tick: this.tickState() },
        `the tick in progress did not end within ${STOP_GRACE_MS} ms of the stop: releasing anyway`,
      );
    } finally {
      grace.clear();
    }
    this.running = undefined;
    await this.release();
  }
}

/** Asks the chain for its latest block number (no cache): throws when the RPC cannot be reached. */
export async function probeChain(publicClient: Client): Promise<void> {
  await getBlockNumber(publicClient, { cacheTime: 0 });
}

function errorLine(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string } | undefined;
  return String(e?.shortMessage ?? e?.message ?? err).split("\n")[0]!;
}
