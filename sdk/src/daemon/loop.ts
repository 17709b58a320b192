/**
 * The life cycle every daemon shares: `start()` runs `tick()` every `pollMs`, one at a time, with
 * bounded exponential backoff after a failure; `tick()` can also be called directly (a test or an
 * orchestrator that drives the chain's clock); `stop()` waits for the running tick and releases
 * what the daemon holds.
 */
import type { Logger } from "./log.js";
import { sleep } from "./retry.js";

export interface LoopOptions {
  /** Pause between ticks; default 2 s. */
  pollMs?: number;
  /** Longest pause after failed ticks; default 60 s. */
  maxBackoffMs?: number;
}

export abstract class DaemonLoop {
  protected abstract readonly log: Logger;
  private running: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** Failures in a row (reset by a successful tick). */
  protected failures = 0;

  /** Does whatever is due at the chain's current time; safe to call again at any point. */
  protected abstract work(signal: AbortSignal): Promise<void>;

  /** Releases the daemon's resources (servers, database) after the loop stopped. */
  protected abstract release(): Promise<void>;

  /** One pass of the daemon's work; concurrent calls share the pass that is running. */
  tick(): Promise<void> {
    if (this.current) return this.current;
    const signal = this.abort?.signal ?? new AbortController().signal;
    this.current = this.work(signal).finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** Runs `tick()` every `pollMs` until `stop()`. Errors are logged and retried with backoff. */
  startLoop(options: LoopOptions = {}): void {
    if (this.running) return;
    const poll = options.pollMs ?? 2_000;
    const maxBackoff = options.maxBackoffMs ?? 60_000;
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

  /** Stops the loop, waits for the tick in progress, then releases resources. Idempotent. */
  async stop(): Promise<void> {
    this.abort?.abort(new Error("daemon stopping"));
    await this.running;
    await this.current?.catch(() => undefined);
    this.running = undefined;
    await this.release();
  }
}
