/**
 * What every `poai` command needs before it acts: the RPC endpoint, the deployment (checked
 * against the chain it is for), the signing key, and a PoAI client over them.
 *
 * - RPC: `--rpc`, else the config's `rpc`, else `$POAI_RPC_URL`, else the URL of `--network` in
 *   `hardhat.config.ts` (`localhost` is `http://127.0.0.1:8545`).
 * - Deployment: `--deployment <file>`, else the config's, else `deployments/<network>.json`, else
 *   the one address book in `deployments/` for the RPC's chain id. Before any command acts, every
 *   contract of the book is checked on the chain (code present, the book's contract, the chain id:
 *   `verifyDeployment`), so a book of another chain or deployment fails before anything is sent.
 * - Key: `$POAI_PRIVATE_KEY`, else `POAI_PRIVATE_KEY` in the Hardhat keystore
 *   (`npx hardhat keystore set POAI_PRIVATE_KEY`); keys never live in plain files.
 */
import type { TrainerDaemon } from "@poai/sdk/node";
import { existsSync } from "node:fs";
import path from "node:path";
import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  http,
  isHex,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { NetworkConnection } from "hardhat/types/network";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { PoAIDeploymentError, createPoAIClient, type PoAIClient, type PoAIDeployment } from "@poai/sdk";
import { loadDeployment, readDeploymentFile } from "@poai/sdk/node";
import { OperatorCommandError } from "./commands.js";
import type { CliConfig } from "./config.js";

export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");

/** Options every command takes. */
export interface CommonOptions {
  rpc?: string;
  network?: string;
  deployment?: string;
  config?: string;
  json?: boolean;
}

/** How a command reaches the outside world; tests pass an in-process chain and capture output. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** A Hardhat network connection used instead of `--rpc` (the in-process chain in tests). */
  connection?: NetworkConnection<string>;
  /**
   * Asks a person to confirm the transactions a command is about to send (`poai.js` asks on the
   * terminal when stdin is one). Absent: nobody can answer, and commands send without asking.
   */
  confirm?: (question: string) => Promise<boolean>;
  /** Resolves when a daemon command should stop; default: SIGINT or SIGTERM. */
  stopSignal?: Promise<void>;
  /**
   * The daemon class `trainer run` starts (default `TrainerDaemon`): a subclass changes one
   * behaviour through the daemon's hooks (the devnet's adversarial trainers run this way).
   */
  trainerDaemon?: typeof TrainerDaemon;
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

let hrePromise: Promise<HardhatRuntimeEnvironment> | undefined;

/**
 * The project's Hardhat runtime (its config, artifacts, keystore and Ignition), created once per
 * process; `extra` networks and a different Ignition folder can be added for one deployment.
 */
export async function hardhatRuntime(
  extra: { networks?: Record<string, unknown>; ignitionDir?: string } = {},
): Promise<HardhatRuntimeEnvironment> {
  const { createHardhatRuntimeEnvironment, importUserConfig } = await import("hardhat/hre");
  const configPath = path.join(PROJECT_ROOT, "hardhat.config.ts");
  const create = async () => {
    const user = await importUserConfig(configPath);
    return createHardhatRuntimeEnvironment(
      {
        ...user,
        networks: { ...user.networks, ...(extra.networks as typeof user.networks) },
        paths: { ...user.paths, ...(extra.ignitionDir && { ignition: extra.ignitionDir }) },
      },
      { config: configPath },
      PROJECT_ROOT,
    );
  };
  if (extra.networks || extra.ignitionDir) return create();
  hrePromise ??= create();
  return hrePromise;
}

/** The signing key: `$POAI_PRIVATE_KEY`, else the Hardhat keystore; undefined when neither has one. */
export async function resolveKey(io: CliIo): Promise<`0x${string}` | undefined> {
  let key = io.env.POAI_PRIVATE_KEY?.trim();
  if (!key) {
    const hre = await hardhatRuntime();
    const remote = hre.config.networks.remote;
    const accounts = remote?.type === "http" && Array.isArray(remote.accounts) ? remote.accounts : [];
    const variable = accounts[0];
    if (variable && typeof variable === "object" && "get" in variable) {
      key = await variable.get().catch(() => undefined);
    }
  }
  if (!key) return undefined;
  if (!key.startsWith("0x")) key = `0x${key}`;
  if (!isHex(key) || key.length !== 66)
    fail("POAI_PRIVATE_KEY must be a private key: 0x and 64 hex digits (the value is not shown)");
  return key as `0x${string}`;
}

/** The RPC URL the options, the config and the environment name. */
export async function resolveRpc(
  opts: CommonOptions,
  config: CliConfig,
  io: CliIo,
): Promise<string | undefined> {
  const direct = opts.rpc ?? config.rpc ?? io.env.POAI_RPC_URL;
  if (direct) return direct;
  const network = opts.network ?? config.network;
  if (!network) return undefined;
  const hre = await hardhatRuntime();
  const net = hre.config.networks[network];
  if (!net) return undefined;
  if (net.type !== "http")
    fail(
      `--network ${network} is Hardhat's in-process chain, which a separate process cannot reach: start \`npx hardhat node\` and use --network localhost`,
    );
  const url = net.type === "http" ? net.url : undefined;
  return typeof url === "string" ? url : await url!.get();
}

export interface Session {
  client: PoAIClient;
  deployment: PoAIDeployment;
  /** Where the deployment came from. */
  deploymentFile: string;
  chainId: number;
  rpc: string;
  publicClient: PublicClient;
  walletClient: WalletClient | undefined;
  transport: Transport;
  chain: Chain;
}

/** A chain's viem `Chain` (PoAI needs no more than its id and RPC). */
export function chainOf(chainId: number, rpc: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpc] } },
  });
}

/** Connects to the chain and reads its id; a wrong or dead URL is said plainly. */
export async function connect(
  rpc: string | undefined,
  io: CliIo,
): Promise<{ transport: Transport; chainId: number; rpc: string }> {
  let transport: Transport;
  if (io.connection) {
    transport = custom(io.connection.provider);
    rpc = rpc ?? "in-process";
  } else {
    if (!rpc) return fail("no RPC endpoint: pass --rpc <url> or --network <name> (or set POAI_RPC_URL)");
    if (!/^https?:\/\//.test(rpc)) fail(`--rpc must be an http(s) URL, got ${JSON.stringify(rpc)}`);
    transport = http(rpc, { retryCount: 2, timeout: 30_000 });
  }
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (err) {
    return fail(`cannot reach the RPC at ${rpc}: ${(err as Error).message.split("\n")[0]}`);
  }
  return { transport, chainId, rpc: rpc! };
}

/** Resolves everything; `needsKey` fails early when there is nothing to sign with. */
export async function openSession(
  opts: CommonOptions,
  config: CliConfig,
  io: CliIo,
  needsKey: boolean,
): Promise<Session> {
  const { transport, chainId, rpc } = await connect(await resolveRpc(opts, config, io), io);
  const dir = config.deploymentsDir ?? path.resolve("deployments");
  const network = opts.network ?? config.network;
  const file =
    opts.deployment ?? config.deployment ?? (network ? path.join(dir, `${network}.json`) : undefined);
  let deployment: PoAIDeployment;
  let deploymentFile: string;
  if (file && !existsSync(file))
    fail(`no deployment at ${file}: deploy first (poai deploy --network <name>) or pass --deployment <file>`);
  try {
    if (file) {
      deployment = await readDeploymentFile(file);
      deploymentFile = file;
    } else {
      deployment = await loadDeployment(chainId, { dir });
      deploymentFile = path.join(dir, `${deployment.network ?? "?"}.json`);
    }
  } catch (err) {
    const where = file ?? `${dir} (for chain ${chainId})`;
    return fail(
      `no usable deployment at ${where}: ${(err as Error).message}. Deploy first (poai deploy) or pass --deployment <file>`,
    );
  }
  if (deployment.chainId !== chainId)
    fail(
      `${deploymentFile} is for chain ${deployment.chainId}, but the RPC at ${rpc} is chain ${chainId}: pass the deployment of that chain, or the RPC of chain ${deployment.chainId}`,
    );
  const chain = chainOf(chainId, rpc);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 500 }) as PublicClient;
  const key = await resolveKey(io);
  if (!key && needsKey)
    fail(
      "no signing key: set POAI_PRIVATE_KEY in the environment or store it with `npx hardhat keystore set POAI_PRIVATE_KEY`",
    );
  const walletClient = key
    ? createWalletClient({ chain, transport, account: privateKeyToAccount(key) })
    : undefined;
  const client = createPoAIClient({ publicClient, ...(walletClient && { walletClient }), deployment });
  // Every contract of the book holds the code the book says, on this chain, before anything is
  // read or sent (a book of another chain or an older deployment fails here, naming the field).
  try {
    await client.verifyDeployment();
  } catch (err) {
    if (err instanceof PoAIDeploymentError) fail(`${deploymentFile}: ${err.message}`);
    throw err;
  }
  return { client, deployment, deploymentFile, chainId, rpc, publicClient, walletClient, transport, chain };
}
