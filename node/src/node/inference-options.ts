/**
 * The inference node's options and their checks. Every option is validated when the node is
 * created, before anything is opened or sent; a bad one is a `PoAIInputError` that names the field
 * and the value.
 */
import {
  encodeAbiParameters,
  getAddress,
  isAddress,
  keccak256,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { BlockList, isIP } from "node:net";
import type { PoAIClient } from "@poai/sdk";
import type { LogLevel, Logger } from "../daemon/index.js";
import { PoAIInputError } from "@poai/sdk";
import type { InferenceApiOptions } from "./api/server.js";
import { chainLookup, type InferenceContainer } from "./containers/index.js";

/** The smallest payment a container accepts, per token (`address(0)`: ETH). */
export type AcceptedPayments = Readonly<Record<string, bigint | number>>;

/** One container the node serves, with its filters (Infernet's per-container config). */
export interface ServedContainer {
  container: InferenceContainer;
  /**
   * Tokens (`"0x000…0"` for ETH) and the least payment per delivery the node accepts in each.
   * Empty or absent: any payment, free subscriptions included. When set, a subscription paying
   * in another token, or less, is ignored.
   */
  acceptedPayments?: AcceptedPayments;
  /** Consumers (subscription owners) the container serves; empty or absent: every consumer. */
  allowedConsumers?: readonly Address[];
  /**
   * Owners whose delegated subscriptions (signed off-chain, posted to `/api/jobs`) the container
   * serves (infernet-node's `allowed_delegate_addresses`); empty or absent: every owner.
   */
  allowedDelegateAddresses?: readonly Address[];
  /** Client IPs or CIDR networks that may post off-chain jobs to it (`allowed_ips`); empty: any. */
  allowedIps?: readonly string[];
  /** Whether the container may come first in a chain or job (infernet-node's `external`); default true. */
  external?: boolean;
}

export interface InferenceNodeOptions {
  /** A PoAI client with a wallet: its account is the node (an active trainer), and signs every delivery. */
  client: PoAIClient;
  /** The SQLite file holding the node's subscriptions and deliveries (`":memory:"` keeps nothing). */
  databasePath: string;
  /** The containers the node runs. A subscription whose `containerId` is none of theirs is ignored. */
  containers: readonly ServedContainer[];
  /**
   * The node's payment wallet (an Infernet `Wallet` from the WalletFactory) that receives payments,
   * passed to `deliverCompute` as `nodeWallet`. Required to serve paying subscriptions.
   */
  paymentWallet?: Address;
  /** Blocks the node stays behind the head before it reads a subscription (reorg safety); default 0. */
  lagBlocks?: number;
  /** Most blocks one event query spans; default 2,000. */
  maxBlockRange?: number;
  /** Subscriptions read per Reader batch call; default 100. */
  batchSize?: number;
  /** Container runs (and sends) tried per interval before the interval is given up; default 3. */
  maxAttempts?: number;
  /** Block to start scanning from on a fresh database; default the deployment block, else 0. */
  fromBlock?: bigint | number;
  /** Check the consumer's payment wallet (a WalletFactory wallet, holding the payment); default true. */
  checkConsumerWallet?: boolean;
  /** Interface of the HTTP status server; default `127.0.0.1`. */
  host?: string;
  /** Port of the HTTP status server; default 0 (any free port). */
  port?: number;
  /** A pino logger; default a new one named `poai-inference`. */
  logger?: Logger;
  /** Level of the default logger; default `$POAI_LOG_LEVEL` or `info`. */
  logLevel?: LogLevel;
  /** Blocks to wait after a delivery is mined; default 1. */
  confirmations?: number;
  /** Attempts of a failing RPC read before the tick fails; default 4. */
  rpcAttempts?: number;
  /** Subscriptions worked on at once in a tick (container runs overlap; sends are one at a time); default 8. */
  concurrency?: number;
  /** Most chains (`"a,b"` orders of the served ids) recognised; default 200,000. */
  maxChains?: number;
  /**
   * Serve infernet-node's REST API (off-chain jobs, delegated subscriptions, `/health`, `/info`,
   * `/resources`) on its own port; absent: not served.
   */
  api?: InferenceApiOptions;
  /**
   * Open disputes of wrong outputs found by `watchDeliveries`; default true. Off
   * (`--no-disputes`), games already opened are still played, and so is the defence of the
   * node's own deliveries (a game it let time out would settle its delivery invalid and slash it).
   */
  disputes?: boolean;
  /**
   * Watch the deliveries other nodes make of the models this node serves with the built-in
   * container (`OutputVerificationRequested` of the PoAIVerifier), recompute each and dispute the
   * wrong ones (`--watch-deliveries`); default false.
   */
  watchDeliveries?: boolean;
  /**
   * How a wrong output is disputed: `auto` (default) the whole-model dispute when the chain
   * estimates it below the cheapest game, else a game; `game` or `whole` always.
   */
  disputeMode?: "auto" | "game" | "whole";
}

/** A container after validation, keyed by its `containerId` hash. */
export interface ResolvedContainer {
  id: string;
  hash: Hex;
  container: InferenceContainer;
  /** Lower-case token address -> least payment. Empty: any payment. */
  acceptedPayments: Map<string, bigint>;
  /** Lower-case consumer addresses. Empty: every consumer. */
  allowedConsumers: Set<string>;
  /** Lower-case owners of delegated subscriptions. Empty: every owner. */
  allowedDelegates: Set<string>;
  /** Client networks allowed to post off-chain jobs; undefined: any client. */
  allowedIps: BlockList | undefined;
  external: boolean;
}

/** The containers a subscription names: one id or a chain `"a,b"`, by its `containerId` hash. */
export interface ResolvedPipeline {
  hash: Hex;
  /** `"a,b"`: the ids joined as the subscription names them. */
  name: string;
  containers: ResolvedContainer[];
}

export interface ResolvedInferenceOptions {
  client: PoAIClient;
  address: Address;
  coordinator: Address;
  databasePath: string;
  containers: Map<string, ResolvedContainer>;
  paymentWallet: Address | undefined;
  lagBlocks: bigint;
  maxBlockRange: bigint;
  batchSize: number;
  maxAttempts: number;
  fromBlock: bigint | undefined;
  checkConsumerWallet: boolean;
  host: string;
  port: number;
  logger: Logger | undefined;
  logLevel: LogLevel | undefined;
  confirmations: number;
  rpcAttempts: number;
  concurrency: number;
  /** Every single container and every chain of containers that answer JSON, by `containerId`. */
  pipelines: Map<Hex, ResolvedPipeline>;
  api: InferenceApiOptions | undefined;
  disputes: boolean;
  watchDeliveries: boolean;
  disputeMode: "auto" | "game" | "whole";
}

const LOG_LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** `keccak256(abi.encode(id))` of a container id string, as subscriptions name containers (Infernet's). */
export function containerIdHash(id: string): Hex {
  return keccak256(encodeAbiParameters([{ type: "string" }], [id]));
}

function int(field: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new PoAIInputError(field, value, `an integer in ${min}..${max}`);
  }
  return v;
}

function address(field: string, value: unknown, allowZero = false): Address {
  if (typeof value !== "string" || !isAddress(value) || (!allowZero && value.toLowerCase() === zeroAddress)) {
    throw new PoAIInputError(field, value, allowZero ? "an address" : "a non-zero address");
  }
  return getAddress(value);
}

function resolveContainer(i: number, served: unknown): ResolvedContainer {
  const field = `containers[${i}]`;
  if (!isObject(served) || !isObject(served.container)) {
    throw new PoAIInputError(field, served, "{ container, acceptedPayments?, allowedConsumers? }");
  }
  const c = served.container as unknown as InferenceContainer;
  if (typeof c.id !== "string" || c.id === "" || c.id.includes(",") || typeof c.run !== "function") {
    throw new PoAIInputError(
      `${field}.container`,
      c.id,
      "a container with a non-empty id (no commas) and a run() method",
    );
  }
  const acceptedPayments = new Map<string, bigint>();
  if (served.acceptedPayments !== undefined) {
    if (!isObject(served.acceptedPayments)) {
      throw new PoAIInputError(
        `${field}.acceptedPayments`,
        served.acceptedPayments,
        "an object token -> least amount",
      );
    }
    for (const [token, amount] of Object.entries(served.acceptedPayments)) {
      const t = address(`${field}.acceptedPayments key`, token, true);
      const ok =
        (typeof amount === "bigint" && amount >= 0n) ||
        (typeof amount === "number" && Number.isSafeInteger(amount) && amount >= 0);
      if (!ok)
        throw new PoAIInputError(`${field}.acceptedPayments[${token}]`, amount, "a whole number of wei >= 0");
      acceptedPayments.set(t.toLowerCase(), BigInt(amount as bigint | number));
    }
  }
  const allowedConsumers = new Set<string>();
  if (served.allowedConsumers !== undefined) {
    if (!Array.isArray(served.allowedConsumers)) {
      throw new PoAIInputError(`${field}.allowedConsumers`, served.allowedConsumers, "an array of addresses");
    }
    served.allowedConsumers.forEach((a: unknown, j) =>
      allowedConsumers.add(address(`${field}.allowedConsumers[${j}]`, a).toLowerCase()),
    );
  }
  const allowedDelegates = new Set<string>();
  if (served.allowedDelegateAddresses !== undefined) {
    if (!Array.isArray(served.allowedDelegateAddresses)) {
      throw new PoAIInputError(
        `${field}.allowedDelegateAddresses`,
        served.allowedDelegateAddresses,
        "an array of addresses",
      );
    }
    served.allowedDelegateAddresses.forEach((a: unknown, j) =>
      allowedDelegates.add(address(`${field}.allowedDelegateAddresses[${j}]`, a).toLowerCase()),
    );
  }
  let allowedIps: BlockList | undefined;
  if (served.allowedIps !== undefined) {
    if (!Array.isArray(served.allowedIps)) {
      throw new PoAIInputError(`${field}.allowedIps`, served.allowedIps, "an array of IPs or CIDR networks");
    }
    if (served.allowedIps.length > 0) allowedIps = new BlockList();
    served.allowedIps.forEach((n: unknown, j) => addNetwork(allowedIps!, `${field}.allowedIps[${j}]`, n));
  }
  const external = served.external ?? true;
  if (typeof external !== "boolean")
    throw new PoAIInputError(`${field}.external`, served.external, "a boolean");
  return {
    id: c.id,
    hash: containerIdHash(c.id),
    container: c,
    acceptedPayments,
    allowedConsumers,
    allowedDelegates,
    allowedIps,
    external,
  };
}

/** Adds an IP or CIDR network (`10.0.0.0/8`, `10.1.2.3/8` as Python's non-strict ip_network) to `list`. */
function addNetwork(list: BlockList, field: string, value: unknown): void {
  const text = typeof value === "string" ? value.trim() : "";
  const [ip, prefix] = text.split("/") as [string, string | undefined];
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (family === 0 || bits < 0 || bits > max) {
    throw new PoAIInputError(field, value, "an IP address or a CIDR network (10.0.0.0/8, ::1/128)");
  }
  list.addSubnet(ip, bits, family === 4 ? "ipv4" : "ipv6");
}

/** Whether `ip` (as a socket reports it; IPv4-mapped IPv6 counts as IPv4) is in `list`. */
export function ipAllowed(list: BlockList | undefined, ip: string): boolean {
  if (list === undefined) return true;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (v4 !== undefined) return list.check(v4, "ipv4");
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6");
}

/** Every served container alone, and every chain of the containers that answer JSON (`call`). */
function resolvePipelines(
  containers: Map<string, ResolvedContainer>,
  maxChains: number,
): Map<Hex, ResolvedPipeline> {
  const out = new Map<Hex, ResolvedPipeline>();
  for (const c of containers.values()) out.set(c.hash, { hash: c.hash, name: c.id, containers: [c] });
  const byId = new Map([...containers.values()].map((c) => [c.id, c]));
  const chainable = [...containers.values()]
    .filter((c) => typeof c.container.call === "function")
    .map((c) => c.id);
  for (const [hash, ids] of chainLookup(chainable, maxChains)) {
    if (ids.length < 2) continue;
    out.set(hash, { hash, name: ids.join(","), containers: ids.map((id) => byId.get(id)!) });
  }
  return out;
}

function resolveApi(api: unknown): InferenceApiOptions | undefined {
  if (api === undefined) return undefined;
  if (!isObject(api)) throw new PoAIInputError("api", api, "an object of REST API options");
  const rate = api.rateLimit;
  if (rate !== undefined && !isObject(rate))
    throw new PoAIInputError("api.rateLimit", rate, "{ requests, periodSeconds }");
  const host = api.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "")
    throw new PoAIInputError("api.host", api.host, "a host to listen on");
  return {
    host,
    port: int("api.port", api.port, 0, 0, 65_535),
    rateLimit: {
      requests: int("api.rateLimit.requests", rate?.requests, 60, 1, 1_000_000),
      periodSeconds: int("api.rateLimit.periodSeconds", rate?.periodSeconds, 60, 1, 86_400),
    },
    maxBodyBytes: int("api.maxBodyBytes", api.maxBodyBytes, 1 << 20, 1024, 1 << 30),
    maxRunningJobs: int("api.maxRunningJobs", api.maxRunningJobs, 1000, 1, 1_000_000),
  };
}

/** Checks the options at the boundary; every error is a `PoAIInputError` naming the field and the value. */
export function resolveInferenceOptions(options: InferenceNodeOptions): ResolvedInferenceOptions {
  if (!isObject(options)) throw new PoAIInputError("options", options, "an object of inference node options");
  const o = options as unknown as Record<string, unknown>;
  const client = o.client;
  if (!isObject(client) || !isObject(client.inference) || !isObject(client.deployment)) {
    throw new PoAIInputError("client", client, "a PoAI client (createPoAIClient)");
  }
  const account = (client.walletClient as { account?: { address?: unknown } } | undefined)?.account;
  if (!isObject(account) || typeof account.address !== "string") {
    throw new PoAIInputError(
      "client.walletClient.account",
      account,
      "a wallet client with an account: the node signs its deliveries",
    );
  }
  const poai = client as unknown as PoAIClient;
  const coordinator = poai.deployment.contracts.coordinator;
  if (coordinator === undefined) {
    throw new PoAIInputError(
      "client.deployment.contracts.coordinator",
      undefined,
      "the Coordinator address (a deployment with the inference contracts)",
    );
  }
  if (typeof o.databasePath !== "string" || o.databasePath.trim() === "") {
    throw new PoAIInputError("databasePath", o.databasePath, 'a file path (or ":memory:")');
  }
  if (!Array.isArray(o.containers) || o.containers.length === 0) {
    throw new PoAIInputError("containers", o.containers, "a non-empty array of containers to serve");
  }
  const containers = new Map<string, ResolvedContainer>();
  o.containers.forEach((served: unknown, i) => {
    const c = resolveContainer(i, served);
    if (containers.has(c.hash))
      throw new PoAIInputError(`containers[${i}].container.id`, c.id, "an id not served twice");
    containers.set(c.hash, c);
  });
  const paymentWallet = o.paymentWallet === undefined ? undefined : address("paymentWallet", o.paymentWallet);
  const fromBlock = o.fromBlock;
  if (
    fromBlock !== undefined &&
    !(
      (typeof fromBlock === "bigint" && fromBlock >= 0n) ||
      (typeof fromBlock === "number" && Number.isSafeInteger(fromBlock) && fromBlock >= 0)
    )
  ) {
    throw new PoAIInputError("fromBlock", fromBlock, "a block number >= 0");
  }
  const checkConsumerWallet = o.checkConsumerWallet ?? true;
  if (typeof checkConsumerWallet !== "boolean")
    throw new PoAIInputError("checkConsumerWallet", o.checkConsumerWallet, "a boolean");
  const host = o.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "")
    throw new PoAIInputError("host", o.host, "a host name or IP address to listen on");
  if (o.logger !== undefined && !(isObject(o.logger) && typeof o.logger.child === "function")) {
    throw new PoAIInputError("logger", o.logger, "a pino logger");
  }
  if (o.logLevel !== undefined && (typeof o.logLevel !== "string" || !LOG_LEVELS.includes(o.logLevel))) {
    throw new PoAIInputError("logLevel", o.logLevel, `one of ${LOG_LEVELS.join(", ")}`);
  }
  return {
    client: poai,
    address: getAddress(account.address),
    coordinator,
    databasePath: o.databasePath,
    containers,
    paymentWallet,
    lagBlocks: BigInt(int("lagBlocks", o.lagBlocks, 0, 0, 10_000)),
    maxBlockRange: BigInt(int("maxBlockRange", o.maxBlockRange, 2_000, 1, 1_000_000)),
    batchSize: int("batchSize", o.batchSize, 100, 1, 1_000),
    maxAttempts: int("maxAttempts", o.maxAttempts, 3, 1, 100),
    fromBlock: fromBlock === undefined ? undefined : BigInt(fromBlock as bigint | number),
    checkConsumerWallet,
    host,
    port: int("port", o.port, 0, 0, 65_535),
    logger: o.logger as Logger | undefined,
    logLevel: o.logLevel as LogLevel | undefined,
    confirmations: int("confirmations", o.confirmations, 1, 1, 64),
    rpcAttempts: int("rpcAttempts", o.rpcAttempts, 4, 1, 100),
    concurrency: int("concurrency", o.concurrency, 8, 1, 256),
    pipelines: resolvePipelines(containers, int("maxChains", o.maxChains, 200_000, 1, 10_000_000)),
    api: resolveApi(o.api),
    disputes: flag("disputes", o.disputes, true),
    watchDeliveries: flag("watchDeliveries", o.watchDeliveries, false),
    disputeMode: disputeMode(o.disputeMode),
  };
}

function flag(field: string, value: unknown, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== "boolean") throw new PoAIInputError(field, value, "a boolean");
  return v;
}

function disputeMode(value: unknown): "auto" | "game" | "whole" {
  const v = value ?? "auto";
  if (v !== "auto" && v !== "game" && v !== "whole")
    throw new PoAIInputError("disputeMode", value, "one of auto, game, whole");
  return v;
}
