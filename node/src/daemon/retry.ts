/** Bounded retries with exponential backoff, for RPC calls that can fail for a moment. */

export interface RetryOptions {
  /** Attempts in all, the first included; default 4. */
  attempts?: number;
  /** Delay before the second attempt, doubled each time; default 250 ms. */
  baseDelayMs?: number;
  /** Upper bound of one delay; default 5 s. */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt; default: every error. */
  retryable?: (error: unknown) => boolean;
  /** Called before each new attempt. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn` until it resolves or the attempts run out (then rethrows the last error). */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || (options.retryable && !options.retryable(err))) throw err;
      const delay = Math.min(max, base * 2 ** (attempt - 1));
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
