/**
 * A small HTTP server for the daemons: the trainer's checkpoint server and every daemon's
 * `/healthz`, `/status` and `/metrics`. Routes are matched on method and path; a handler that
 * throws answers 500 without taking the daemon down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { HealthReport, TickState } from "./loop.js";

export interface HttpRequest {
  method: string;
  path: string;
  /** The path's `:name` parameters, URI-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  raw: IncomingMessage;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

export interface Route {
  method: "GET" | "POST";
  /** A path such as `/v1/challenges/:id/checkpoints/:index`. */
  path: string;
  handler: HttpHandler;
}

export interface RunningServer {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  };
}

export function httpError(status: number, message: string): HttpReply {
  return json(status, { error: message });
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = path
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

/** What `standardRoutes` needs of the daemon loop: its health and its tick's watchdog. */
export interface Watched {
  health(): Promise<HealthReport>;
  tickState(): TickState;
}

/**
 * Routes every daemon serves: `/healthz` (200 `{ ok: true, checks }` when the daemon reaches its
 * chain and its store and its tick is not stuck, 503 with every failed check's reason
 * otherwise), `/status` (the daemon's status as JSON, with the running tick's `tick` state) and
 * `/metrics` (Prometheus). Without `daemon`, `/healthz` only says the server answers.
 */
export function standardRoutes(status: () => unknown, registry: Registry, daemon?: Watched): Route[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      handler: async () => {
        if (!daemon) return json(200, { ok: true });
        const report = await daemon.health();
        return json(report.ok ? 200 : 503, report);
      },
    },
    {
      method: "GET",
      path: "/status",
      handler: () => {
        const value = status();
        if (!daemon || typeof value !== "object" || value === null) return json(200, value);
        return json(200, { ...value, tick: daemon.tickState() });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      handler: async () => ({
        status: 200,
        headers: { "content-type": registry.contentType },
        body: await registry.metrics(),
      }),
    },
  ];
}

/** Starts a server on `host:port` (port 0: any free port) and resolves once it listens. */
export async function serve(
  routes: readonly Route[],
  options: { host?: string; port?: number; onError?: (error: unknown) => void } = {},
): Promise<RunningServer> {
  const compiled = routes.map((r) => ({ ...r, ...compile(r.path) }));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      let reply: HttpReply;
      try {
        const url = new URL(req.url ?? "/", "http://localhost");
        const method = req.method ?? "GET";
        const match = compiled.map((r) => ({ r, m: r.regex.exec(url.pathname) })).filter((x) => x.m !== null);
        const route = match.find((x) => x.r.method === method || (method === "HEAD" && x.r.method === "GET"));
        if (!route) {
          reply = match.length
            ? httpError(405, `${method} is not allowed on ${url.pathname}`)
            : httpError(404, `no route ${url.pathname}`);
        } else {
          const params: Record<string, string> = {};
          route.r.names.forEach((name, i) => (params[name] = decodeURIComponent(route.m![i + 1])));
          reply = await route.r.handler({
            method,
            path: url.pathname,
            params,
            query: url.searchParams,
            raw: req,
          });
        }
      } catch (err) {
        options.onError?.(err);
        reply = httpError(500, "internal error");
      }
      const body =
        reply.body === undefined
          ? undefined
          : typeof reply.body === "string"
            ? Buffer.from(reply.body)
            : reply.body;
      res.writeHead(reply.status, { ...reply.headers, "content-length": String(body?.length ?? 0) });
      res.end(req.method === "HEAD" ? undefined : body);
    })();
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
