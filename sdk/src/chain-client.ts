/**
 * The differences between EVM clients that PoAI meets, handled here and nowhere else.
 *
 * PoAI's contracts, SDK actions and daemons speak plain JSON-RPC, and the network runs unchanged on
 * Hardhat's EDR (in process or `npx hardhat node`), on Foundry's Anvil and on any public node. What
 * differs between clients, and how the SDK copes:
 *
 * - **Time.** A development chain's clock is moved by the caller: both Hardhat and Anvil take
 *   `evm_setNextBlockTimestamp` + `evm_mine`; older or other clients only `evm_increaseTime`. Both
 *   refuse a timestamp at or below the latest block's, so `advanceChainTime` never moves time back
 *   and mines only when the chain is behind. A public chain's clock cannot be moved:
 *   `advanceChainTime` says so by name instead of failing on an unknown method.
 * - **Revert data.** Hardhat puts a revert's bytes at `error.data.data` (an object with `message`
 *   and `data`), Anvil and Geth at `error.data` (a hex string); `toPoAIError` (`errors.ts`) reads
 *   both, so a custom error decodes to the same `PoAIContractError` on every client.
 * - **Gas estimation.** Both clients binary-search `eth_estimateGas` to the least gas that does not
 *   revert; Anvil's accounts start with the same test mnemonic as Hardhat's, but Anvil offers 10 of
 *   them unless started with `--accounts`. Nothing in PoAI pads estimates per client; a daemon sends
 *   what the node estimates.
 *
 * ```ts
 * const info = await identifyChainClient(publicClient); // { name: "anvil", version: "anvil/v1.7.1", ... }
 * if (info.devClock) await advanceChainTime(publicClient, closesAt + 1n);
 * ```
 */

/** Anything with an EIP-1193 `request`: a viem client, a transport's value, Hardhat's provider. */
export interface RpcRequester {
  request(args: { method: string; params?: unknown }): Promise<unknown>;
}

/** The EVM clients PoAI recognises. */
export type ChainClientName = "hardhat" | "anvil" | "geth" | "unknown";

export interface ChainClientInfo {
  name: ChainClientName;
  /** What `web3_clientVersion` answered (empty when the node does not answer it). */
  version: string;
  /** Whether the caller can move the chain's clock (`evm_*` methods): development chains only. */
  devClock: boolean;
}

/** The client a node's `web3_clientVersion` names. */
export function chainClientName(version: string): ChainClientName {
  const v = version.toLowerCase();
  if (v.startsWith("anvil")) return "anvil";
  if (v.includes("hardhat") || v.includes("edr")) return "hardhat";
  if (v.startsWith("geth")) return "geth";
  return "unknown";
}

/** Which client serves `client`, and whether its clock can be moved. */
export async function identifyChainClient(client: RpcRequester): Promise<ChainClientInfo> {
  let version = "";
  try {
    version = String(await client.request({ method: "web3_clientVersion" }));
  } catch {
    // a node may refuse web3_clientVersion: it is then "unknown"
  }
  const name = chainClientName(version);
  return { name, version, devClock: name === "hardhat" || name === "anvil" };
}

/** The latest block's timestamp, in seconds. */
export async function latestChainTime(client: RpcRequester): Promise<bigint> {
  const block = (await client.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
    timestamp: string;
  };
  return BigInt(block.timestamp);
}

/** The chain's clock cannot be moved (a public node, or a client without `evm_*` methods). */
export class ChainClockError extends Error {
  override readonly name = "ChainClockError";
  constructor(
    readonly target: bigint,
    readonly version: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot move the chain's clock to ${target}: the node (${version || "web3_clientVersion not answered"}) ` +
        `has neither evm_setNextBlockTimestamp nor evm_increaseTime; only a development chain ` +
        `(npx hardhat node, anvil) lets the caller set its time`,
      options,
    );
  }
}

/**
 * Mines one block at timestamp `t` unless the chain is already there (time never goes back).
 * Returns the latest block's timestamp afterwards.
 */
export async function advanceChainTime(client: RpcRequester, t: bigint): Promise<bigint> {
  const now = await latestChainTime(client);
  if (now >= t) return now;
  try {
    await client.request({ method: "evm_setNextBlockTimestamp", params: [`0x${t.toString(16)}`] });
  } catch (first) {
    try {
      await client.request({ method: "evm_increaseTime", params: [Number(t - now)] });
    } catch {
      const { version } = await identifyChainClient(client);
      throw new ChainClockError(t, version, { cause: first });
    }
  }
  await client.request({ method: "evm_mine" });
  return latestChainTime(client);
}

/** An `RpcRequester` for a JSON-RPC URL (HTTP POST, one call per request), for scripts without viem. */
export function httpRequester(url: string, timeoutMs = 30_000): RpcRequester {
  let id = 0;
  return {
    async request({ method, params }) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`${method} at ${url}: HTTP ${res.status}`);
      const body = (await res.json()) as { result?: unknown; error?: { message: string } };
      if (body.error) throw new Error(`${method} at ${url}: ${body.error.message}`);
      return body.result;
    },
  };
}
