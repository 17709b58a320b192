/**
 * Per-client, per-route rate limits by the generic cell rate algorithm, as infernet-node's REST
 * server applies them (quart-rate-limiter): a limit of `requests` per `periodSeconds` lets a client
 * send a burst of `requests`, then one every `periodSeconds / requests`. Each route has its own
 * budget per client. The client is the connection's address (infernet-node reads the first
 * `X-Forwarded-For` entry, which a client can forge; PoAI does not).
 */
export interface RateLimit {
  /** Requests allowed per period (infernet-node's `num_requests`); default 60. */
  requests: number;
  /** The period in seconds (infernet-node's `period`); default 60. */
  periodSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Headers for the answer: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, and `Retry-After` when refused. */
  headers: Record<string, string>;
}

export class RateLimiter {
  /** key -> theoretical arrival time, in ms. */
  private readonly tat = new Map<string, number>();
  private readonly inverseMs: number;
  private readonly periodMs: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.periodMs = limit.periodSeconds * 1000;
    this.inverseMs = this.periodMs / limit.requests;
  }

  /** Counts one request of `client` on `route` unless it is over the limit. */
  take(route: string, client: string): RateDecision {
    const key = `${route} ${client}`;
    const now = this.now();
    const tat = Math.max(this.tat.get(key) ?? now, now);
    const maxInterval = this.periodMs - this.inverseMs;
    if (tat - now > maxInterval) {
      const retry = Math.trunc((tat - maxInterval - now) / 1000);
      return { allowed: false, headers: { ...this.headers(tat - now), "retry-after": String(retry) } };
    }
    const next = tat + this.inverseMs;
    this.tat.set(key, next);
    if (this.tat.size > 100_000) this.prune(now);
    return { allowed: true, headers: this.headers(next - now) };
  }

  private headers(separationMs: number): Record<string, string> {
    return {
      "ratelimit-limit": String(this.limit.requests),
      "ratelimit-remaining": String(Math.max(0, Math.trunc((this.periodMs - separationMs) / this.inverseMs))),
      "ratelimit-reset": String(Math.trunc(separationMs / 1000)),
    };
  }

  private prune(now: number): void {
    for (const [k, t] of this.tat) if (t <= now) this.tat.delete(k);
  }
}
