/**
 * Bounded HTTP reads for the daemons: every request to another party (a trainer's checkpoint
 * server, an Infernet container, a model file or a dataset chunk at a URL) gets a deadline and
 * every body a byte cap.
 *
 * Why not `AbortSignal.timeout` alone: Node's `fetch` (undici) links a request to its `AbortSignal`
 * through a weak reference. Once a garbage collection has run while a body is being read, an abort
 * (the timeout's or the caller's) may no longer reach the read, and a server that sent its headers
 * and then drips or stalls the body holds the reader forever. The deadline here is a plain timer
 * held by the event loop and a closure over the body's reader: when it fires it rejects the read
 * itself and cancels the stream, whatever the garbage collector did. A test forces a collection
 * while a server drips (`test/daemons/body-deadline.test.ts`).
 *
 * ```ts
 * const deadline = startDeadline(10_000, { signal });
 * try {
 *   const response = await fetchWithDeadline(url, { redirect: "error" }, deadline);
 *   const bytes = await readBody(response, { deadline, maxBytes: 1 << 20 });
 * } finally {
 *   deadline.clear();
 * }
 * ```
 */

/** Why a bounded read failed: out of time, too large, or the caller aborted. */
export type BodyFailureKind = "timeout" | "oversized" | "aborted";

export class BodyReadError extends Error {
  override readonly name = "BodyReadError";
  constructor(
    readonly kind: BodyFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A deadline shared by the steps of one request (connect, headers, body). It fires once, from a
 * timer the event loop holds, and then rejects every `race` still pending and runs every
 * `onExpire` callback (cancelling a body reader, aborting the request). `clear()` it when done.
 */
export interface Deadline {
  /** The budget in milliseconds. */
  readonly ms: number;
  /** Whether the deadline fired (not whether the caller aborted). */
  readonly expired: boolean;
  /** Aborted when the deadline fires or the caller's signal aborts: pass it to `fetch` too. */
  readonly signal: AbortSignal;
  /** Milliseconds left (0 once expired). */
  remainingMs(): number;
  /** `promise`, or a `BodyReadError` (`timeout`, `aborted`) as soon as the deadline fires or the caller aborts. */
  race<T>(promise: Promise<T>): Promise<T>;
  /** Runs `cleanup` when the deadline fires or the caller aborts (at once if that already happened). */
  onExpire(cleanup: () => void): void;
  /** Stops the timer and forgets the callbacks; idempotent. */
  clear(): void;
}

/**
 * Starts a deadline of `ms` milliseconds. `signal` (the caller's: a daemon stopping) ends it early
 * with kind `aborted`; `what` names the request in the timeout's message.
 */
export function startDeadline(ms: number, options: { signal?: AbortSignal; what?: string } = {}): Deadline {
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new RangeError(`a deadline must be a whole number of milliseconds >= 1, got ${String(ms)}`);
  }
  const started = performance.now();
  const controller = new AbortController();
  const cleanups = new Set<() => void>();
  const pending = new Set<(err: BodyReadError) => void>();
  let failure: BodyReadError | undefined;
  let expired = false;
  let done = false;

  const fire = (err: BodyReadError) => {
    if (failure || done) return;
    failure = err;
    controller.abort(err);
    for (const reject of [...pending]) reject(err);
    pending.clear();
    for (const cleanup of [...cleanups]) {
      try {
        cleanup();
      } catch {
        // A cleanup (cancelling a stream that already ended) must not stop the others.
      }
    }
    cleanups.clear();
  };
  // Held by the event loop until it fires or `clear()` runs: never unref'd, never weakly held.
  const timer = setTimeout(() => {
    expired = true;
    fire(
      new BodyReadError("timeout", `${options.what ?? "the request"}: no complete answer within ${ms} ms`),
    );
  }, ms);
  const outer = options.signal;
  const onAbort = () => {
    const reason: unknown = outer?.reason;
    fire(
      new BodyReadError(
        "aborted",
        `${options.what ?? "the request"}: aborted (${reason instanceof Error ? reason.message : String(reason)})`,
        { cause: reason },
      ),
    );
  };
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });

  return {
    ms,
    get expired() {
      return expired;
    },
    signal: controller.signal,
    remainingMs: () => (failure ? 0 : Math.max(0, ms - (performance.now() - started))),
    race<T>(promise: Promise<T>): Promise<T> {
      if (failure) {
        promise.catch(() => undefined);
        return Promise.reject(failure);
      }
      return new Promise<T>((resolve, reject) => {
        pending.add(reject);
        promise.then(
          (value) => {
            pending.delete(reject);
            resolve(value);
          },
          (err: unknown) => {
            pending.delete(reject);
            reject(failure ?? err);
          },
        );
      });
    },
    onExpire(cleanup) {
      if (failure) {
        try {
          cleanup();
        } catch {
          // as above
        }
        return;
      }
      if (!done) cleanups.add(cleanup);
    },
    clear() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
      cleanups.clear();
      pending.clear();
    },
  };
}

/**
 * `fetch(url, init)` whose answer (status and headers) must come before `deadline` fires. The
 * request is aborted on expiry (best effort: see the module comment); the returned promise
 * rejects with the deadline's `BodyReadError` in any case.
 */
export async function fetchWithDeadline(
  url: string,
  init: RequestInit,
  deadline: Deadline,
): Promise<Response> {
  const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
  return deadline.race(fetch(url, { ...init, signal }));
}

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes (after decompression); more is a `BodyReadError("oversized")`. */
  maxBytes: number;
  /** The request's deadline (shared with `fetchWithDeadline`), or … */
  deadline?: Deadline;
  /** … a budget of its own for the body, in milliseconds. */
  deadlineMs?: number;
  /** The caller's signal (with `deadlineMs`; a shared `deadline` already has it). */
  signal?: AbortSignal;
  /** Names the request in messages (default: the response's URL). */
  what?: string;
}

/**
 * Reads a response body whole, within the deadline and at most `maxBytes` long. A declared
 * `content-length` above the cap fails before reading; a stream that passes it is cancelled at
 * the first chunk over. On any failure the body is cancelled so the connection is released.
 * @throws BodyReadError (`timeout`, `oversized`, `aborted`); a network error from the stream as it is.
 */
export async function readBody(response: Response, options: ReadBodyOptions): Promise<Uint8Array> {
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a whole number of bytes >= 0, got ${String(maxBytes)}`);
  }
  const what = options.what ?? (response.url || "the response");
  if (!options.deadline && options.deadlineMs === undefined) {
    throw new RangeError("readBody needs a deadline or deadlineMs");
  }
  const own = options.deadline
    ? undefined
    : startDeadline(options.deadlineMs!, { what, ...(options.signal && { signal: options.signal }) });
  const deadline = options.deadline ?? own!;
  const body = response.body;
  try {
    const declared = response.headers.get("content-length");
    if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
      await body?.cancel().catch(() => undefined);
      throw new BodyReadError("oversized", `${what}: content-length ${declared} exceeds ${maxBytes} bytes`);
    }
    if (!body) return new Uint8Array(0);
    const reader = body.getReader();
    deadline.onExpire(() => void reader.cancel().catch(() => undefined));
    const chunks: Uint8Array[] = [];
    let received = 0;
    try {
      for (;;) {
        const { done, value } = await deadline.race(reader.read());
        if (done) break;
        received += value.byteLength;
        if (received > maxBytes) {
          throw new BodyReadError("oversized", `${what}: body exceeds ${maxBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (err) {
      void reader.cancel().catch(() => undefined);
      throw err;
    }
    const only = chunks.length === 1 ? chunks[0]! : undefined;
    // One chunk that is its own buffer is returned as it is; otherwise a fresh, exact copy (no
    // view into a larger buffer reaches a decoder).
    if (only && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only;
    const out = new Uint8Array(received);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  } finally {
    own?.clear();
  }
}

/**
 * GETs `url` and reads its body within `deadlineMs` and `maxBytes`: the whole bounded request in
 * one call (dataset chunks, model files, status pages). Non-2xx answers are returned as they are:
 * check `response.status`.
 */
export async function fetchBody(
  url: string,
  options: { deadlineMs: number; maxBytes: number; signal?: AbortSignal; init?: RequestInit },
): Promise<{ response: Response; body: Uint8Array }> {
  const deadline = startDeadline(options.deadlineMs, {
    what: url,
    ...(options.signal && { signal: options.signal }),
  });
  try {
    const response = await fetchWithDeadline(url, { redirect: "error", ...options.init }, deadline);
    const body = await readBody(response, { deadline, maxBytes: options.maxBytes, what: url });
    return { response, body };
  } finally {
    deadline.clear();
  }
}
