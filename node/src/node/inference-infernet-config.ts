/**
 * infernet-node 1.4.0's `config.json`, translated into the inference node's options so an
 * operator reuses the file they have. Read losslessly (`accepted_payments` amounts above 2^53
 * stay exact); every field is checked and an error names it.
 *
 * | infernet-node | PoAI |
 * |---|---|
 * | `containers[].id`, `url`, `bearer`, `description` | an `HttpContainer` with that id, URL, bearer token, description |
 * | `containers[].port` (no `url`) | the container at `http://localhost:<port>` (PoAI does not start images: run it yourself) |
 * | `containers[].external`, `generates_proofs` | `external`, `generatesProof` |
 * | `containers[].accepted_payments` | `acceptedPayments` (token -> least amount) |
 * | `containers[].allowed_addresses`, `allowed_delegate_addresses`, `allowed_ips` | `allowedConsumers`, `allowedDelegateAddresses`, `allowedIps` |
 * | `server.port`, `server.rate_limit.{num_requests, period}` | the REST API on `0.0.0.0:<port>`, its rate limit |
 * | `chain.rpc_url` | the RPC, unless `--rpc` or the CLI config names one |
 * | `chain.trail_head_blocks` | `lagBlocks` |
 * | `chain.wallet.payment_address` | `paymentWallet` |
 * | `chain.snapshot_sync.batch_size`, `sync_period` | `batchSize`, the poll interval |
 *
 * Not taken, each with a note: `chain.wallet.private_key` (PoAI reads keys from
 * `$POAI_PRIVATE_KEY` or the Hardhat keystore, never from a file), `chain.registry_address` (the
 * address book names the contracts), `chain.wallet.max_gas_limit` and `allowed_sim_errors` (a
 * delivery is sent only when its simulation passes), `snapshot_sync.starting_sub_id` and `sleep`,
 * container `image`, `command`, `env`, `volumes`, `gpu`, and `docker`, `redis`, `log`,
 * `manage_containers`, `forward_stats`, `startup_wait`. `chain.enabled: false` is refused: a PoAI
 * node always serves the chain.
 */
import { getAddress, isAddress, type Address } from "viem";
import { PoAIInputError } from "@poai/sdk";
import type { InferenceApiOptions } from "./api/server.js";
import { parsePythonJson, type PyDict, type PyValue } from "./containers/index.js";

export interface InfernetContainerConfig {
  id: string;
  url: string;
  bearer?: string;
  description: string;
  external: boolean;
  generatesProof: boolean;
  acceptedPayments: Record<string, bigint>;
  allowedConsumers: Address[];
  allowedDelegateAddresses: Address[];
  allowedIps: string[];
}

export interface TranslatedInfernetConfig {
  containers: InfernetContainerConfig[];
  api: InferenceApiOptions;
  rpc?: string;
  lagBlocks?: number;
  paymentWallet?: Address;
  batchSize?: number;
  pollMs?: number;
  /** What was not taken, and why. */
  notes: string[];
}

const dict = (field: string, v: PyValue | undefined): PyDict => {
  if (v === undefined || v === null) return new Map();
  if (!(v instanceof Map)) throw new PoAIInputError(field, v, "an object");
  return v;
};
const str = (field: string, v: PyValue | undefined, fallback?: string): string => {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string") throw new PoAIInputError(field, v, "a string");
  return v;
};
const bool = (field: string, v: PyValue | undefined, fallback: boolean): boolean => {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new PoAIInputError(field, v, "true or false");
  return v;
};
/** An int, or a string of digits (pydantic reads "3000" as 3000). */
const int = (
  field: string,
  v: PyValue | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number => {
  if (v === undefined) return fallback;
  const n =
    typeof v === "bigint"
      ? v
      : typeof v === "string" && /^\d+$/.test(v.trim())
        ? BigInt(v.trim())
        : undefined;
  if (n === undefined || n < 0n || n > BigInt(max))
    throw new PoAIInputError(field, v, `an integer in 0..${max}`);
  return Number(n);
};
const seconds = (field: string, v: PyValue | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !(n > 0) || n > 86_400)
    throw new PoAIInputError(field, v, "seconds in (0, 86400]");
  return n;
};
const addresses = (field: string, v: PyValue | undefined): Address[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new PoAIInputError(field, v, "an array of addresses");
  return v.map((a, i) => {
    if (typeof a !== "string" || !isAddress(a, { strict: false })) {
      throw new PoAIInputError(`${field}[${i}]`, a, "an address");
    }
    return getAddress(a);
  });
};

/** Translates the text of an infernet-node `config.json`. @throws PoAIInputError naming the field */
export function translateInfernetConfig(text: string): TranslatedInfernetConfig {
  let root: PyValue;
  try {
    root = parsePythonJson(text);
  } catch (err) {
    throw new PoAIInputError("config.json", text.slice(0, 40), `JSON (${(err as Error).message})`);
  }
  const cfg = dict("config", root);
  const notes: string[] = [];
  const ignore = (field: string, why: string) => notes.push(`${field} is not used: ${why}`);
  for (const key of ["docker", "redis", "log", "forward_stats", "startup_wait", "manage_containers"]) {
    if (cfg.has(key)) ignore(key, "PoAI reaches containers by URL and keeps its state and logs itself");
  }
  const rawContainers = cfg.get("containers") ?? [];
  if (!Array.isArray(rawContainers)) throw new PoAIInputError("containers", rawContainers, "an array");
  const containers = rawContainers.map((raw, i): InfernetContainerConfig => {
    const f = `containers[${i}]`;
    const c = dict(f, raw);
    const id = str(`${f}.id`, c.get("id"));
    const url = str(`${f}.url`, c.get("url"), "");
    const port = int(`${f}.port`, c.get("port"), 3000, 65_535);
    for (const key of ["image", "command", "env", "volumes", "gpu"]) {
      if (c.has(key) && c.get(key) !== "" && c.get(key) !== false) {
        ignore(
          `${f}.${key}`,
          `PoAI does not start images; run container ${id} and reach it at ${url || `http://localhost:${port}`}`,
        );
      }
    }
    const payments = dict(`${f}.accepted_payments`, c.get("accepted_payments"));
    const acceptedPayments: Record<string, bigint> = {};
    for (const [token, amount] of payments) {
      if (!isAddress(token, { strict: false }))
        throw new PoAIInputError(`${f}.accepted_payments key`, token, "a token address");
      if (typeof amount !== "bigint" || amount < 0n) {
        throw new PoAIInputError(`${f}.accepted_payments[${token}]`, amount, "a whole amount >= 0");
      }
      acceptedPayments[getAddress(token)] = amount;
    }
    const ips = c.get("allowed_ips") ?? [];
    if (!Array.isArray(ips) || !ips.every((x) => typeof x === "string")) {
      throw new PoAIInputError(`${f}.allowed_ips`, ips, "an array of IPs or networks");
    }
    const bearer = str(`${f}.bearer`, c.get("bearer"), "");
    return {
      id,
      url: url || `http://localhost:${port}`,
      ...(bearer !== "" && { bearer }),
      description: str(`${f}.description`, c.get("description"), ""),
      external: bool(`${f}.external`, c.get("external"), true),
      generatesProof: bool(`${f}.generates_proofs`, c.get("generates_proofs"), false),
      acceptedPayments,
      allowedConsumers: addresses(`${f}.allowed_addresses`, c.get("allowed_addresses")),
      allowedDelegateAddresses: addresses(
        `${f}.allowed_delegate_addresses`,
        c.get("allowed_delegate_addresses"),
      ),
      allowedIps: ips as string[],
    };
  });
  const server = dict("server", cfg.get("server"));
  const rate = dict("server.rate_limit", server.get("rate_limit"));
  const api: InferenceApiOptions = {
    host: "0.0.0.0",
    port: int("server.port", server.get("port"), 4000, 65_535),
    rateLimit: {
      requests: int("server.rate_limit.num_requests", rate.get("num_requests"), 60, 1_000_000),
      periodSeconds: int("server.rate_limit.period", rate.get("period"), 60, 86_400),
    },
  };
  const chain = dict("chain", cfg.get("chain"));
  if (chain.has("enabled") && !bool("chain.enabled", chain.get("enabled"), false)) {
    throw new PoAIInputError("chain.enabled", false, "true: a PoAI inference node always serves the chain");
  }
  const out: TranslatedInfernetConfig = { containers, api, notes };
  if (chain.has("rpc_url")) out.rpc = str("chain.rpc_url", chain.get("rpc_url"));
  out.lagBlocks = int("chain.trail_head_blocks", chain.get("trail_head_blocks"), 1, 10_000);
  if (chain.has("registry_address")) ignore("chain.registry_address", "the address book names the contracts");
  const wallet = dict("chain.wallet", chain.get("wallet"));
  if (wallet.has("private_key")) {
    ignore(
      "chain.wallet.private_key",
      "PoAI reads the key from $POAI_PRIVATE_KEY or the Hardhat keystore, never from a file",
    );
  }
  const payment = wallet.get("payment_address");
  if (payment !== undefined && payment !== null && payment !== "") {
    out.paymentWallet = addresses("chain.wallet.payment_address", [payment])[0];
  }
  for (const key of ["max_gas_limit", "allowed_sim_errors"]) {
    if (wallet.has(key)) ignore(`chain.wallet.${key}`, "a delivery is sent only when its simulation passes");
  }
  const sync = dict("chain.snapshot_sync", chain.get("snapshot_sync"));
  if (sync.has("batch_size"))
    out.batchSize = Math.min(
      1000,
      Math.max(1, int("chain.snapshot_sync.batch_size", sync.get("batch_size"), 100)),
    );
  const period = seconds("chain.snapshot_sync.sync_period", sync.get("sync_period"));
  if (period !== undefined) out.pollMs = Math.max(1, Math.round(period * 1000));
  for (const key of ["starting_sub_id", "sleep"]) {
    if (sync.has(key))
      ignore(`chain.snapshot_sync.${key}`, "PoAI scans SubscriptionCreated events from its cursor");
  }
  return out;
}
