/**
 * The inference node's REST API: infernet-node 1.4.0's routes, request and answer shapes, so a
 * web2 caller (Infernet's Python client `NodeClient`, or plain HTTP) uses a PoAI node as it uses
 * an Infernet node.
 *
 * | route | answer |
 * |---|---|
 * | `GET /health` | `{"status": "healthy"}` |
 * | `GET /info` | `{"version", "containers": [{id, description, external, image}], "pending": {"offchain", "onchain"}, "chain": {"enabled", "address"}}` |
 * | `GET /resources[?model_id=]` | each container's `/service-resources` answer, by container id (those that answered) |
 * | `POST /api/jobs` | a job `{containers, data, requires_proof?}`: `{"id"}`; a delegated subscription `{subscription, signature, data}`: `{}` |
 * | `POST /api/jobs/batch` | a list of either: a list of `{"id"}`, `{}` or `{"error", "params"}`, in order |
 * | `POST /api/jobs/stream` | a job: the id and a newline, then the first container's streamed answer |
 * | `GET /api/jobs?id=…&id=…[&intermediate=true]` | the caller's jobs: `[{"id", "status", "result", "intermediate_results"?}]`, finished ones first |
 * | `GET /api/jobs[?pending=true\|false]` | the caller's job ids, running ones first |
 *
 * A request refused by a container's restrictions answers 405 `{"error", "params"}` with
 * infernet-node's messages ("Container not supported", "First container must be external",
 * "Container does not generate proof", "Container not allowed for address"). Every route is rate
 * limited per client address (`rateLimit`, 60 requests per 60 s by default, as infernet-node);
 * over it, 429 with `Retry-After`. Results are kept in the node's SQLite file.
 *
 * Where PoAI is stricter: a malformed body is a 400 (infernet-node answers 500), a body over
 * `maxBodyBytes` a 413, more than `maxRunningJobs` jobs at once a 503; the body cannot choose the
 * job's id or the client address (infernet-node lets `id` and `ip` keys override them); a batch
 * item that does not parse gets its own error instead of failing the whole batch.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../daemon/index.js";
import {
  JOB_LOCATION,
  PyJsonError,
  parsePythonJson,
  pythonJsonDumps,
  runChain,
  toPyValue,
  type ChainStep,
  type PyDict,
  type PyValue,
} from "../containers/index.js";
import { ipAllowed, type ResolvedContainer } from "../inference-options.js";
import { RateLimiter, type RateLimit } from "./rate-limit.js";
import type { JobRecord, JobStore } from "./store.js";

export interface InferenceApiOptions {
  /** Interface to listen on; default `127.0.0.1` (infernet-node listens on every interface). */
  host?: string;
  /** Port; default 0 (any free port; infernet-node's default is 4000). */
  port?: number;
  /** Requests per period per client and route; default 60 per 60 s. */
  rateLimit?: Partial<RateLimit>;
  /** Largest request body, in bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** Most off-chain jobs running at once; default 1,000. */
  maxRunningJobs?: number;
}

/** A request refused by a container's restrictions (infernet-node's `GuardianError`). */
export interface GuardianError {
  error: string;
  params: Record<string, unknown>;
}

/** A parsed `{subscription, signature, data}` request. */
export interface DelegatedRequest {
  subscription: {
    owner: string;
    activeAt: number;
    period: number;
    frequency: number;
    redundancy: number;
    containers: string;
    lazy: boolean;
    verifier: string;
    paymentAmount: bigint;
    paymentToken: string;
    wallet: string;
  };
  signature: { nonce: number; expiry: number; v: number; r: bigint; s: bigint };
  data: PyDict;
  requiresProof: boolean;
}

/** What the API needs from the node. */
export interface ApiBackend {
  /** The served containers by id. */
  containers: Map<string, ResolvedContainer>;
  jobs: JobStore;
  log: Logger;
  /** The node's account. */
  address: string;
  version: string;
  /** On-chain work in progress (open deliveries and delegated subscriptions). */
  pendingOnchain(): number;
  /** Filters and records a delegated subscription (its signature is checked later, on chain). */
  acceptDelegated(request: DelegatedRequest, client: string): GuardianError | undefined;
}

type Parsed =
  | { type: "job"; containers: string[]; data: PyDict; requiresProof: boolean }
  | ({ type: "delegated" } & DelegatedRequest);

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isInt = (v: PyValue | undefined): v is bigint => typeof v === "bigint";

/** Parses a job or delegated-subscription request as infernet-node's message types accept them. */
export function parseRequest(body: PyValue): Parsed {
  if (!(body instanceof Map)) throw new BadRequest(400, "the request must be a JSON object");
  const requiresProof = body.get("requires_proof") ?? false;
  if (typeof requiresProof !== "boolean" && requiresProof !== null) {
    throw new BadRequest(400, "requires_proof must be a boolean");
  }
  const containers = body.get("containers");
  const data = body.get("data");
  if (Array.isArray(containers) && containers.every((c) => typeof c === "string") && data instanceof Map) {
    return { type: "job", containers: containers as string[], data, requiresProof: requiresProof === true };
  }
  const sub = body.get("subscription");
  const sig = body.get("signature");
  if (sub instanceof Map && sig instanceof Map && data instanceof Map) {
    const int = (m: PyDict, k: string, max: bigint): number => {
      const v = m.get(k);
      if (!isInt(v) || v < 0n || v > max) throw new BadRequest(400, `${k} must be an integer in 0..${max}`);
      return Number(v);
    };
    const str = (m: PyDict, k: string): string => {
      const v = m.get(k);
      if (typeof v !== "string") throw new BadRequest(400, `subscription.${k} must be a string`);
      return v;
    };
    const big = (m: PyDict, k: string): bigint => {
      const v = m.get(k);
      if (!isInt(v) || v < 0n || v >= 2n ** 256n) throw new BadRequest(400, `${k} must be a uint256`);
      return v;
    };
    const lazy = sub.get("lazy");
    if (typeof lazy !== "boolean") throw new BadRequest(400, "subscription.lazy must be a boolean");
    return {
      type: "delegated",
      subscription: {
        owner: str(sub, "owner"),
        activeAt: int(sub, "active_at", 2n ** 32n - 1n),
        period: int(sub, "period", 2n ** 32n - 1n),
        frequency: int(sub, "frequency", 2n ** 32n - 1n),
        redundancy: int(sub, "redundancy", 2n ** 16n - 1n),
        containers: str(sub, "containers"),
        lazy,
        verifier: str(sub, "verifier"),
        paymentAmount: big(sub, "payment_amount"),
        paymentToken: str(sub, "payment_token"),
        wallet: str(sub, "wallet"),
      },
      signature: {
        nonce: int(sig, "nonce", 2n ** 32n - 1n),
        expiry: int(sig, "expiry", 2n ** 32n - 1n),
        v: int(sig, "v", 255n),
        r: big(sig, "r"),
        s: big(sig, "s"),
      },
      data,
      requiresProof: requiresProof === true,
    };
  }
  throw new BadRequest(
    400,
    "expected a job {containers: [ids], data: {…}} or a delegated subscription {subscription, signature, data: {…}}",
  );
}

/** The client address as a socket reports it, IPv4-mapped IPv6 written as IPv4. */
function clientOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? "";
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

/** infernet-node's `JobResult` of a stored job. */
function jobResult(job: JobRecord, intermediate: boolean): PyDict {
  const step = (s: ChainStep): PyValue =>
    toPyValue("output" in s ? { container: s.container, output: s.output } : s);
  const done = job.status !== "running";
  const m = new Map<string, PyValue>([
    ["id", job.id],
    ["status", job.status],
    ["result", done && job.results.length > 0 ? step(job.results[job.results.length - 1]!) : null],
  ]);
  if (intermediate) m.set("intermediate_results", (done ? job.results.slice(0, -1) : []).map(step));
  return m;
}

export class InferenceApi {
  private readonly limiter: RateLimiter;
  private readonly running = new Map<string, AbortController>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly maxBodyBytes: number;
  private readonly maxRunningJobs: number;
  private constructor(
    private readonly backend: ApiBackend,
    private readonly server: Server,
    readonly url: string,
    options: InferenceApiOptions,
    limiter: RateLimiter,
  ) {
    this.limiter = limiter;
    this.maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
    this.maxRunningJobs = options.maxRunningJobs ?? 1000;
  }

  /** Starts the API and runs again the jobs a previous run left running. */
  static async start(backend: ApiBackend, options: InferenceApiOptions = {}): Promise<InferenceApi> {
    const limiter = new RateLimiter({
      requests: options.rateLimit?.requests ?? 60,
      periodSeconds: options.rateLimit?.periodSeconds ?? 60,
    });
    const ref: { api?: InferenceApi } = {};
    const server = createServer((req, res) => void ref.api?.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 0; // streaming answers last as long as the container streams
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port, address } = server.address() as AddressInfo;
    const host = address.includes(":") ? `[${address}]` : address;
    const api = new InferenceApi(backend, server, `http://${host}:${port}`, options, limiter);
    ref.api = api;
    for (const job of backend.jobs.running()) {
      if (job.stream)
        backend.jobs.finish(job.id, "failed", [
          { container: job.containers[0] ?? "", error: "the node restarted during the stream" },
        ]);
      else api.launch(job);
    }
    return api;
  }

  /** Stops serving; jobs still running are aborted and run again at the next start. */
  async close(): Promise<void> {
    for (const c of this.running.values()) c.abort(new Error("the inference node is stopping"));
    await Promise.allSettled([...this.tasks]);
    await new Promise<void>((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Off-chain jobs running now. */
  get runningJobs(): number {
    return this.running.size;
  }

  private send(res: ServerResponse, status: number, value: PyValue, headers: Record<string, string> = {}) {
    // Quart's jsonify: sorted keys, compact, ASCII, a trailing newline.
    const body = pythonJsonDumps(value, { sortKeys: true, separators: [",", ":"] }) + "\n";
    res.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const client = clientOf(req);
    const routes: Record<string, () => Promise<[number, PyValue] | void>> = {
      "GET /health": async () => [200, toPyValue({ status: "healthy" })],
      "GET /info": async () => [200, this.info()],
      "GET /resources": async () => [
        200,
        await this.resources(url.searchParams.get("model_id") ?? undefined),
      ],
      "POST /api/jobs": async () => this.create(await this.body(req, true), client),
      "POST /api/jobs/batch": async () => this.batch(await this.body(req, false), client),
      "POST /api/jobs/stream": async () => this.stream(await this.body(req, true), client, res),
      "GET /api/jobs": async () => [200, this.read(url.searchParams, client)],
    };
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const route = routes[`${method === "HEAD" ? "GET" : method} ${path}`];
    try {
      if (!route) {
        const known = Object.keys(routes).some((k) => k.endsWith(` ${path}`));
        this.send(
          res,
          known ? 405 : 404,
          toPyValue({ error: known ? `${method} is not allowed on ${path}` : `no route ${path}` }),
        );
        return;
      }
      const limit = this.limiter.take(`${method} ${path}`, client);
      if (!limit.allowed) {
        this.send(res, 429, toPyValue({ error: "rate limit exceeded" }), limit.headers);
        return;
      }
      const out = await route();
      if (out) this.send(res, out[0], out[1], limit.headers);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof BadRequest) {
        this.send(res, err.status, toPyValue({ error: err.message }));
        return;
      }
      this.backend.log.error({ err, route: `${method} ${path}` }, "REST API request failed");
      this.send(res, 500, toPyValue({ error: `internal error: ${(err as Error)?.message ?? String(err)}` }));
    }
  }

  /** Reads and parses a JSON body (`json.loads` rules), bounded in size. */
  private async body(req: IncomingMessage, requireJsonType: boolean): Promise<PyValue> {
    const type = (req.headers["content-type"] ?? "").toLowerCase();
    if (requireJsonType && !/^application\/(?:[\w.+-]+\+)?json\b/.test(type)) {
      req.resume();
      throw new BadRequest(400, "the body must be JSON (Content-Type: application/json)");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBodyBytes)
        throw new BadRequest(413, `the body is larger than ${this.maxBodyBytes} bytes`);
      chunks.push(chunk);
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      throw new BadRequest(400, "the body is not UTF-8");
    }
    try {
      return parsePythonJson(text);
    } catch (err) {
      if (err instanceof PyJsonError) throw new BadRequest(400, `the body is not JSON: ${err.message}`);
      throw err;
    }
  }

  private info(): PyValue {
    const counts = this.backend.jobs.counts();
    return toPyValue({
      version: this.backend.version,
      containers: [...this.backend.containers.values()].map((c) => ({
        id: c.id,
        description: (c.container as { description?: string }).description ?? "",
        external: c.external,
        image: "",
      })),
      pending: { offchain: counts.running, onchain: this.backend.pendingOnchain() },
      chain: { enabled: true, address: this.backend.address },
    });
  }

  private async resources(modelId: string | undefined): Promise<PyValue> {
    const out = new Map<string, PyValue>();
    const entries = [...this.backend.containers.values()].filter((c) => c.container.resources);
    const answers = await Promise.all(
      entries.map((c) =>
        c.container.resources!(modelId).catch((err: unknown) => {
          this.backend.log.warn(
            { container: c.id, err: (err as Error)?.message },
            "service-resources failed",
          );
          return undefined;
        }),
      ),
    );
    entries.forEach((c, i) => {
      if (answers[i] !== undefined) out.set(c.id, answers[i]);
    });
    return out;
  }

  /** infernet-node's guardian for an off-chain job. */
  private guardJob(
    job: { containers: string[]; requiresProof: boolean },
    client: string,
  ): GuardianError | undefined {
    if (job.containers.length === 0) return { error: "No containers specified", params: {} };
    for (const id of job.containers) {
      if (!this.backend.containers.has(id))
        return { error: "Container not supported", params: { container: id } };
    }
    const first = this.backend.containers.get(job.containers[0]!)!;
    if (!first.external)
      return { error: "First container must be external", params: { first_container: first.id } };
    const last = this.backend.containers.get(job.containers[job.containers.length - 1]!)!;
    if (job.requiresProof && !last.container.generatesProof) {
      return { error: "Container does not generate proof", params: { container: last.id } };
    }
    for (const id of job.containers) {
      if (!ipAllowed(this.backend.containers.get(id)!.allowedIps, client)) {
        return { error: "Container not allowed for address", params: { container: id, address: client } };
      }
    }
    for (const id of job.containers) {
      if (typeof this.backend.containers.get(id)!.container.call !== "function") {
        return { error: "Container does not answer off-chain jobs", params: { container: id } };
      }
    }
    return undefined;
  }

  /** One parsed request: a job id, `{}` for a delegated subscription, or a guardian error. */
  private submit(parsed: Parsed, client: string): { id: string } | Record<string, never> | GuardianError {
    if (parsed.type === "delegated") {
      return this.backend.acceptDelegated(parsed, client) ?? {};
    }
    const refused = this.guardJob(parsed, client);
    if (refused) return refused;
    if (this.running.size >= this.maxRunningJobs) {
      throw new BadRequest(503, `${this.running.size} jobs are running: try again later`);
    }
    const job = {
      id: randomUUID(),
      client,
      containers: parsed.containers,
      data: parsed.data,
      requiresProof: parsed.requiresProof,
      stream: false,
    };
    this.backend.jobs.add(job);
    this.launch({ ...job, status: "running", results: [], createdAt: Date.now(), updatedAt: Date.now() });
    return { id: job.id };
  }

  private create(body: PyValue, client: string): [number, PyValue] {
    const out = this.submit(parseRequest(body), client);
    if ("error" in out) return [405, toPyValue(out)];
    return [200, toPyValue(out)];
  }

  private batch(body: PyValue, client: string): [number, PyValue] {
    if (!Array.isArray(body)) throw new BadRequest(400, "Expected a list");
    return [
      200,
      body.map((item) => {
        try {
          return toPyValue(this.submit(parseRequest(item), client));
        } catch (err) {
          if (err instanceof BadRequest) return toPyValue({ error: err.message, params: {} });
          throw err;
        }
      }),
    ];
  }

  /** Runs a job's containers in the background and stores the results. */
  private launch(job: JobRecord): void {
    const abort = new AbortController();
    this.running.set(job.id, abort);
    const task = (async () => {
      try {
        const chain = await runChain(
          job.containers.map((id) => this.backend.containers.get(id)!.container),
          {
            source: JOB_LOCATION.offchain,
            destination: JOB_LOCATION.offchain,
            data: job.data,
            requiresProof: job.requiresProof,
            signal: abort.signal,
          },
        );
        this.backend.jobs.finish(job.id, chain.ok ? "success" : "failed", chain.results);
      } catch (err) {
        if (!abort.signal.aborted) {
          this.backend.jobs.finish(job.id, "failed", [
            { container: job.containers[0] ?? "", error: (err as Error)?.message ?? String(err) },
          ]);
        }
      } finally {
        this.running.delete(job.id);
      }
    })();
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private async stream(
    body: PyValue,
    client: string,
    res: ServerResponse,
  ): Promise<[number, PyValue] | void> {
    const parsed = parseRequest(body);
    if (parsed.type !== "job")
      return [405, toPyValue({ error: "Streaming only supported for OffchainJob requests." })];
    const refused = this.guardJob(parsed, client);
    if (refused) return [405, toPyValue(refused)];
    const container = this.backend.containers.get(parsed.containers[0]!)!;
    if (!container.container.stream) {
      return [405, toPyValue({ error: "Container does not stream", params: { container: container.id } })];
    }
    const id = randomUUID();
    this.backend.jobs.add({
      id,
      client,
      containers: parsed.containers,
      data: parsed.data,
      requiresProof: parsed.requiresProof,
      stream: true,
    });
    const abort = new AbortController();
    res.on("close", () => abort.abort(new Error("the client went away")));
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.write(`${id}\n`);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of container.container.stream({
        source: JOB_LOCATION.offchain,
        destination: JOB_LOCATION.stream,
        data: parsed.data,
        requiresProof: parsed.requiresProof,
        signal: abort.signal,
      })) {
        chunks.push(Buffer.from(chunk));
        res.write(chunk);
      }
      this.backend.jobs.finish(id, "success", [
        { container: container.id, output: toPyValue({ output: Buffer.concat(chunks).toString("utf8") }) },
      ]);
    } catch (err) {
      this.backend.jobs.finish(id, "failed", [
        { container: container.id, error: (err as Error)?.message ?? String(err) },
      ]);
    }
    res.end();
  }

  private read(query: URLSearchParams, client: string): PyValue {
    const ids = query.getAll("id");
    if (ids.length === 0) {
      const pending = query.get("pending");
      return this.backend.jobs.ids(
        client,
        pending === "true" ? true : pending === "false" ? false : undefined,
      );
    }
    const intermediate = query.get("intermediate") === "true";
    const found = ids
      .map((id) => this.backend.jobs.get(id))
      .filter((j): j is JobRecord => j !== undefined && j.client === client);
    // infernet-node answers finished jobs first, then running ones.
    return [
      ...found.filter((j) => j.status !== "running"),
      ...found.filter((j) => j.status === "running"),
    ].map((j) => jobResult(j, intermediate));
  }
}
