/**
 * The dashboard's HTTP server: the built single-page app, its configuration, and a JSON-RPC
 * bridge to the chain.
 *
 * - `GET /api/config`: the deployment's address book, the chain id, whether it is a local devnet.
 * - `POST /rpc`: JSON-RPC (single calls and batches) passed to the chain: an upstream node's URL
 *   (`poai dashboard --rpc …`) or an in-process chain's EIP-1193 provider (`npm run devnet --
 *   --dashboard`). Only reads and `eth_sendRawTransaction` (a transaction the page signed) pass:
 *   the bridge never signs, never moves a chain's clock, and never touches an unlocked account.
 * - Anything else: the file of that path in `dist/`, else `index.html` (client-side routes).
 *
 * It listens on 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import type { PoAIDeployment } from "@poai/sdk";

export const DIST_DIR = path.resolve(import.meta.dirname, "..", "dist");

/** The only JSON-RPC methods the bridge passes on. */
export const ALLOWED_RPC_METHODS: ReadonlySet<string> = new Set([
  "eth_chainId",
  "net_version",
  "web3_clientVersion",
  "eth_blockNumber",
  "eth_call",
  "eth_estimateGas",
  "eth_getLogs",
  "eth_getBalance",
  "eth_getCode",
  "eth_getStorageAt",
  "eth_getTransactionCount",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
  "eth_sendRawTransaction",
]);

/** Largest request body the bridge reads. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Most calls in one batch. */
export const MAX_BATCH = 2000;

/** An EIP-1193 provider (an in-process chain's). */
export interface Eip1193Like {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
}

export type ChainEndpoint = { url: string } | { provider: Eip1193Like };

export interface DashboardServerOptions {
  deployment: PoAIDeployment;
  chainId: number;
  chain: ChainEndpoint;
  /** Where the chain is, in words, for the page's header (default: the URL, or "in-process chain"). */
  chainLabel?: string;
  /** Offer Hardhat's dev accounts in the delegator view (default: chain id 31337). */
  devnet?: boolean;
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
  distDir?: string;
}

export interface DashboardServer {
  url: string;
  port: number;
  /** JSON-RPC traffic so far: HTTP requests to `/rpc` and the calls they carried. */
  stats: { rpcRequests: number; rpcCalls: number };
  close(): Promise<void>;
}

interface RpcCall {
  jsonrpc: "2.0";
  id: string | number | null;
  method: string;
  params?: unknown;
}

type RpcAnswer =
  | { jsonrpc: "2.0"; id: RpcCall["id"]; result: unknown }
  | { jsonrpc: "2.0"; id: RpcCall["id"]; error: { code: number; message: string; data?: unknown } };

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
};

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function rpcError(id: RpcCall["id"], code: number, message: string, data?: unknown): RpcAnswer {
  return { jsonrpc: "2.0", id, error: { code, message, ...(data !== undefined && { data }) } };
}

/** Checks one call's shape; returns an error answer for a bad or disallowed one. */
function checkCall(call: unknown): { call: RpcCall } | { answer: RpcAnswer } {
  if (typeof call !== "object" || call === null || Array.isArray(call))
    return { answer: rpcError(null, -32600, "invalid request: a JSON-RPC call must be an object") };
  const c = call as Partial<RpcCall>;
  const id = typeof c.id === "string" || typeof c.id === "number" ? c.id : null;
  if (typeof c.method !== "string")
    return {
      answer: rpcError(id, -32600, `invalid request: method must be a string, got ${jsonText(c.method)}`),
    };
  if (!ALLOWED_RPC_METHODS.has(c.method))
    return {
      answer: rpcError(id, -32601, `method ${c.method} is not available through the dashboard's bridge`),
    };
  if (c.params !== undefined && !Array.isArray(c.params))
    return { answer: rpcError(id, -32602, `invalid params of ${c.method}: an array is expected`) };
  return {
    call: { jsonrpc: "2.0", id, method: c.method, ...(c.params !== undefined && { params: c.params }) },
  };
}

/** An EIP-1193 provider's error as a JSON-RPC error object (revert data kept, so the page decodes it). */
function providerError(id: RpcCall["id"], err: unknown): RpcAnswer {
  const e = err as { code?: unknown; message?: unknown; data?: unknown };
  const code = typeof e.code === "number" ? e.code : -32603;
  const message = typeof e.message === "string" ? e.message : String(err);
  return rpcError(id, code, message, e.data);
}

/** Sends `calls` to the chain; the answers come back in the order of `calls`. */
async function forward(endpoint: ChainEndpoint, calls: RpcCall[]): Promise<RpcAnswer[]> {
  if ("url" in endpoint) {
    // Numbered here, so answers pair with calls whatever ids the page chose (a node may reorder a batch).
    const res = await fetch(endpoint.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls.map((c, i) => ({ ...c, id: i }))),
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok) throw new Error(`the chain's RPC at ${endpoint.url} answered HTTP ${res.status}`);
    const body = (await res.json()) as unknown;
    // Some nodes answer a one-call batch with a bare object.
    const answers = (Array.isArray(body) ? body : [body]) as RpcAnswer[];
    const byIndex = new Map(answers.map((a) => [a.id, a]));
    return calls.map((c, i) => {
      const a = byIndex.get(i);
      return a ? { ...a, id: c.id } : rpcError(c.id, -32603, "the chain gave no answer to this call");
    });
  }
  return Promise.all(
    calls.map(async (call): Promise<RpcAnswer> => {
      try {
        const result = await endpoint.provider.request({
          method: call.method,
          ...(call.params !== undefined && { params: call.params }),
        });
        return { jsonrpc: "2.0", id: call.id, result: result ?? null };
      } catch (err) {
        return providerError(call.id, err);
      }
    }),
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, {
    "content-type": type,
    "content-length": String(Buffer.byteLength(body)),
    ...SECURITY_HEADERS,
    ...extra,
  });
  res.end(body);
}

/** Starts the server; `close()` stops it. */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const distDir = options.distDir ?? DIST_DIR;
  const indexFile = path.join(distDir, "index.html");
  try {
    await stat(indexFile);
  } catch {
    throw new Error(`the dashboard is not built: ${indexFile} is missing (ensureDashboardBuilt builds it)`);
  }
  const config = jsonText({
    deployment: { ...options.deployment, deployBlock: options.deployment.deployBlock?.toString() },
    chainId: options.chainId,
    devnet: options.devnet ?? options.chainId === 31337,
    chainLabel: options.chainLabel ?? ("url" in options.chain ? options.chain.url : "in-process chain"),
  });
  const stats = { rpcRequests: 0, rpcCalls: 0 };
  const files = new Map<string, { raw: Buffer; gzip: Buffer | undefined; type: string }>();

  async function file(urlPath: string) {
    const cached = files.get(urlPath);
    if (cached) return cached;
    const resolved = path.resolve(distDir, `.${decodeURIComponent(urlPath)}`);
    if (!resolved.startsWith(distDir + path.sep)) return undefined;
    let raw: Buffer;
    try {
      if (!(await stat(resolved)).isFile()) return undefined;
      raw = await readFile(resolved);
    } catch {
      return undefined;
    }
    const type = TYPES[path.extname(resolved)] ?? "application/octet-stream";
    const entry = {
      raw,
      gzip: raw.length > 1024 && /text|json|svg/.test(type) ? gzipSync(raw) : undefined,
      type,
    };
    files.set(urlPath, entry);
    return entry;
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, urlPath: string) {
    let entry = urlPath === "/" ? undefined : await file(urlPath);
    const isAsset = entry !== undefined && urlPath.startsWith("/assets/");
    if (!entry) {
      if (urlPath.startsWith("/assets/")) return send(res, 404, "not found\n", "text/plain; charset=utf-8");
      entry = await file("/index.html");
      if (!entry) return send(res, 500, "the dashboard is not built\n", "text/plain; charset=utf-8");
    }
    const gzip = entry.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    send(res, 200, gzip ? entry.gzip! : entry.raw, entry.type, {
      "cache-control": isAsset ? "public, max-age=31536000, immutable" : "no-cache",
      ...(gzip && { "content-encoding": "gzip", vary: "accept-encoding" }),
    });
  }

  async function serveRpc(req: IncomingMessage, res: ServerResponse) {
    stats.rpcRequests++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req));
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      const message =
        status === 413 ? `request body above ${MAX_BODY_BYTES} bytes` : "parse error: the body is not JSON";
      return send(res, status, jsonText(rpcError(null, -32700, message)), "application/json");
    }
    const batch = Array.isArray(parsed);
    const items = batch ? (parsed as unknown[]) : [parsed];
    if (items.length === 0 || items.length > MAX_BATCH)
      return send(
        res,
        400,
        jsonText(rpcError(null, -32600, `a batch must hold 1 to ${MAX_BATCH} calls, got ${items.length}`)),
        "application/json",
      );
    stats.rpcCalls += items.length;
    const checked = items.map(checkCall);
    const calls = checked.flatMap((c) => ("call" in c ? [c.call] : []));
    let answers: RpcAnswer[] = [];
    try {
      answers = calls.length ? await forward(options.chain, calls) : [];
    } catch (err) {
      return send(res, 502, jsonText(rpcError(null, -32603, (err as Error).message)), "application/json");
    }
    let next = 0;
    const out = checked.map((c) => ("answer" in c ? c.answer : answers[next++]!));
    // Event logs make large answers (megabytes for a busy network): compressed when the page accepts it.
    const text = jsonText(batch ? out : out[0]);
    if (text.length > 8192 && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")))
      return send(res, 200, gzipSync(text, { level: 1 }), "application/json", {
        "content-encoding": "gzip",
        vary: "accept-encoding",
      });
    send(res, 200, text, "application/json");
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const done = (p: Promise<void>) =>
      p.catch((err: unknown) => {
        if (!res.headersSent)
          send(res, 500, `internal error: ${(err as Error).message}\n`, "text/plain; charset=utf-8");
        else res.destroy();
      });
    if (url.pathname === "/rpc") {
      if (req.method !== "POST")
        return send(res, 405, "POST JSON-RPC here\n", "text/plain; charset=utf-8", { allow: "POST" });
      return void done(serveRpc(req, res));
    }
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "method not allowed\n", "text/plain; charset=utf-8", { allow: "GET, HEAD" });
    if (url.pathname === "/api/config")
      return send(res, 200, config, "application/json", { "cache-control": "no-cache" });
    void done(serveFile(req, res, url.pathname));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const shown = address.includes(":") ? `[${address}]` : address === "0.0.0.0" ? "127.0.0.1" : address;
  return {
    url: `http://${shown}:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
