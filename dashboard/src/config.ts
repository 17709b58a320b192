/**
 * What the page learns from the server that serves it (`GET /api/config`): the deployment's
 * address book, and whether the chain is a local devnet (dev keys offered). Every chain read goes
 * to the server's `/rpc`, a JSON-RPC bridge to the chain the server was started on.
 */
import { createPoAIClient, parseDeployment, type PoAIClient, type PoAIDeployment } from "@poai/sdk";
import {
  createPublicClient,
  defineChain,
  http,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

export interface DashboardConfig {
  deployment: PoAIDeployment;
  chainId: number;
  /** Absolute URL of the JSON-RPC bridge. */
  rpcUrl: string;
  /** A local development chain: Hardhat's well-known dev accounts may sign. */
  devnet: boolean;
  /** Where the chain is, in words (the server's RPC URL or "in-process devnet"). */
  chainLabel: string;
}

export interface Chain0 {
  config: DashboardConfig;
  chain: Chain;
  transport: Transport;
  publicClient: PublicClient;
  /** A read-only PoAI client; `withWallet` binds a signer. */
  client: PoAIClient;
  withWallet(walletClient: WalletClient): PoAIClient;
}

export async function loadConfig(base: string = window.location.href): Promise<DashboardConfig> {
  const res = await fetch(new URL("/api/config", base));
  if (!res.ok) throw new Error(`the dashboard server answered HTTP ${res.status} for /api/config`);
  const raw = (await res.json()) as {
    deployment: unknown;
    chainId: number;
    devnet: boolean;
    chainLabel: string;
  };
  return {
    deployment: parseDeployment(raw.deployment),
    chainId: raw.chainId,
    rpcUrl: new URL("/rpc", base).href,
    devnet: raw.devnet,
    chainLabel: raw.chainLabel,
  };
}

/**
 * viem clients over the bridge. Reads issued in the same tick go out together: through
 * Multicall3 when the deployment names one, else as one JSON-RPC batch request.
 */
export function connectChain(config: DashboardConfig): Chain0 {
  const multicall3 = config.deployment.contracts.multicall3;
  const chain = defineChain({
    id: config.chainId,
    name: config.deployment.network ?? `chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
    ...(multicall3 && { contracts: { multicall3: { address: multicall3 } } }),
  });
  const transport = http(config.rpcUrl, { batch: { batchSize: 1000, wait: 0 }, retryCount: 1 });
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: 250,
    ...(multicall3 && { batch: { multicall: { wait: 0, batchSize: 8192 } } }),
  }) as PublicClient;
  const client = createPoAIClient({ publicClient, deployment: config.deployment });
  return {
    config,
    chain,
    transport,
    publicClient,
    client,
    withWallet: (walletClient) =>
      createPoAIClient({ publicClient, walletClient, deployment: config.deployment }),
  };
}
