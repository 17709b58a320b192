/**
 * `poai deploy`: deploys the suite with Hardhat Ignition (`ignition/modules/PoAI.ts`) with the
 * network's parameters (`ignition/parameters/<network>.json`), then writes the address book
 * (`deployments/<network>.json`). Re-running it is idempotent: Ignition's journal
 * (`ignition/deployments/poai-<network>/`) knows what was already sent.
 *
 * Governance ends with the `PoAITimelock` (at least 2 days on every parameter setter and role
 * change); SLASHER and COORDINATOR go to contracts only and the deployer keeps nothing. On a chain
 * that is not a local development chain the command refuses, before sending anything, parameters
 * that would leave an account (no contract code) with a role, unless `--unsafe-allow-eoa-roles`
 * is given. After the deployment it lists every role's holders, read back from the chain.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { formatEther, getAddress, type Address, type PublicClient } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import { readDeploymentFile } from "@poai/sdk/node";
import type { PoAIDeployment } from "@poai/sdk";
import {
  addressBookJson,
  checkRoleHolders,
  deployWithIgnition,
  readNetworkParameters,
} from "../lib/ignition.js";
import { withBuildNotice } from "../lib/build-notice.js";
import { accountRoles, isDevChain, roleHolders, roleNameOf } from "../lib/roles.js";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import {
  PROJECT_ROOT,
  connect,
  hardhatRuntime,
  resolveKey,
  resolveRpc,
  type CliIo,
  type CommonOptions,
} from "./session.js";

export interface DeployOptions extends CommonOptions {
  /** Ignition parameters file; default `ignition/parameters/<network>.json` when it exists. */
  parameters?: string;
  /** Ignition deployment id; default `poai-<network>`. */
  deploymentId?: string;
  /** Folder of Ignition's journals (`<journal>/deployments/<id>/`); default the project's `ignition/`. */
  journal?: string;
  /** Deploy even if an externally owned account would hold a role on a public chain. */
  unsafeAllowEoaRoles?: boolean;
  /** Do not ask for a confirmation in a terminal. */
  yes?: boolean;
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

/**
 * On a local chain, a journal whose contracts are not on the chain (the node was restarted) is
 * moved aside, so that Ignition deploys afresh instead of trusting a chain that no longer exists.
 * Returns where it went, or undefined when the journal is current (or absent).
 */
export async function retireStaleJournal(dir: string, client: PublicClient): Promise<string | undefined> {
  let addresses: Record<string, string>;
  try {
    addresses = JSON.parse(await readFile(path.join(dir, "deployed_addresses.json"), "utf8")) as Record<
      string,
      string
    >;
  } catch {
    return undefined;
  }
  const first = Object.values(addresses)[0];
  if (!first) return undefined;
  const code = await client.getCode({ address: getAddress(first) });
  if (code && code !== "0x") return undefined;
  const moved = `${dir}.stale-${Date.now()}`;
  await rename(dir, moved);
  return moved;
}

export async function deploy(opts: DeployOptions, config: CliConfig, io: CliIo): Promise<CommandResult> {
  const rpcUrl = await resolveRpc(opts, config, io);
  const { chainId, rpc } = await connect(rpcUrl, io);
  const network =
    opts.network ?? config.network ?? (io.connection ? io.connection.networkName : `chain-${chainId}`);
  if (!/^[A-Za-z0-9_-]+$/.test(network))
    fail(`--network must be letters, digits, '-' or '_', got ${JSON.stringify(network)}`);
  const dir = config.deploymentsDir ?? path.resolve("deployments");
  const out = path.resolve(opts.deployment ?? config.deployment ?? path.join(dir, `${network}.json`));
  let previous: PoAIDeployment | undefined;
  if (existsSync(out)) {
    previous = await readDeploymentFile(out).catch((err: Error) =>
      fail(
        `${out} exists but is not an address book (${err.message}): move it away or pass another --deployment`,
      ),
    );
    if (previous.chainId !== chainId)
      fail(
        `${out} holds a deployment on chain ${previous.chainId}, but the RPC at ${rpc} is chain ${chainId}: pass another --deployment file`,
      );
  }
  const explicit = opts.parameters ?? config.deploy?.parameters;
  const parametersFile = explicit ?? path.join(PROJECT_ROOT, "ignition", "parameters", `${network}.json`);

  let connection: NetworkConnection<string>;
  if (io.connection) {
    connection = io.connection;
  } else {
    const key = await resolveKey(io);
    if (!key)
      fail(
        "no deployer key: set POAI_PRIVATE_KEY in the environment or store it with `npx hardhat keystore set POAI_PRIVATE_KEY`",
      );
    const journal = opts.journal ?? config.deploy?.journal;
    const hre = await hardhatRuntime({
      networks: { poai: { type: "http", chainType: "l1", url: rpc, accounts: [key] } },
      ...(journal && { ignitionDir: path.resolve(journal) }),
    });
    await withBuildNotice(() => hre.tasks.getTask("build").run({ quiet: true, noTests: true }), io.stderr);
    connection = await hre.network.create("poai");
  }
  const [deployer] = (await connection.provider.request({ method: "eth_accounts" })) as Address[];
  if (!deployer) return fail("the deployer account is missing: no key to deploy with");
  const publicClient = await connection.viem.getPublicClient();
  const deploymentId = opts.deploymentId ?? config.deploy?.deploymentId ?? `poai-${network}`;
  const notes: string[] = [];
  if (isDevChain(chainId) && !io.connection) {
    // `npx hardhat node` restarted: its chain is new, but the journal of the earlier one is not.
    const journalDir = path.join(
      path.resolve(opts.journal ?? config.deploy?.journal ?? path.join(PROJECT_ROOT, "ignition")),
      "deployments",
      deploymentId,
    );
    const moved = await retireStaleJournal(journalDir, publicClient as unknown as PublicClient);
    if (moved) {
      notes.push(
        `the chain was restarted since the last deployment: its Ignition journal moved to ${moved}, and PoAI is deployed afresh`,
      );
      io.stderr(`${notes.at(-1)}\n`);
    }
  }
  const gas = await publicClient.getBalance({ address: deployer });
  if (gas === 0n) fail(`the deployer ${getAddress(deployer)} has no native balance (0 ETH) to pay for gas`);
  const allowEoaRoles = opts.unsafeAllowEoaRoles === true;
  const parameters = await readNetworkParameters(parametersFile, getAddress(deployer), {
    mustExist: explicit !== undefined,
    chainId,
    allowEoaRoles,
  });
  // Before anything is sent: no account may keep a role on a public chain unless the operator says so.
  const accountHolders = await checkRoleHolders(publicClient as unknown as PublicClient, parameters, {
    chainId,
    allowEoaRoles,
  });
  if (!opts.yes && io.confirm) {
    const ok = await io.confirm(
      `About to deploy PoAI to ${network} (chain ${chainId}) from ${getAddress(deployer)}${previous ? ` (resuming the deployment of ${out})` : ""}, parameters ${existsSync(parametersFile) ? parametersFile : "the defaults"}.\nDeploy? [y/N] `,
    );
    if (!ok) fail("not confirmed: nothing was sent");
  }
  let book: PoAIDeployment;
  try {
    book = await deployWithIgnition(connection, {
      parameters,
      network,
      deploymentId,
      ...(previous && { previous }),
      displayUi: false,
    });
  } catch (err) {
    return fail(`Ignition deployment failed: ${(err as Error).message}`);
  }
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, addressBookJson(book));
  const c = book.contracts;
  const names = new Map(Object.entries(c).map(([name, address]) => [getAddress(address!), name]));
  const holders = await roleHolders(
    publicClient as unknown as PublicClient,
    c.accessManager,
    book.deployBlock ?? 0n,
  );
  const roles = Object.fromEntries(
    [...holders].map(([role, members]) => [roleNameOf(role), members.map((m) => getAddress(m))]),
  );
  const accounts = await accountRoles(publicClient as unknown as PublicClient, holders);
  const lines = [
    `deployed PoAI to ${network} (chain ${chainId}) from ${getAddress(deployer)}, first block ${book.deployBlock}`,
    ...Object.entries(c).map(([name, address]) => `  ${name.padEnd(18)} ${address}`),
    "roles (read back from the AccessManager):",
    ...Object.entries(roles).map(
      ([role, members]) =>
        `  ${role.padEnd(12)} ${members.length ? members.map((m) => `${names.get(m) ?? m}${names.has(m) ? ` (${m})` : ""}`).join(", ") : "-"}`,
    ),
    `governance: the timelock ${c.timelock ?? "-"} (delay ${parameters.flat.minDelay} s, proposers ${parameters.flat.proposers})`,
    ...(parameters.mode === "devGovernor"
      ? [
          `DEVELOPMENT FAST PATH: the deployer ${getAddress(deployer)} stays GOVERNOR without delay (local chain ${chainId} only; a public deployment never does this)`,
        ]
      : []),
    ...accounts
      .filter(
        (a) =>
          !(parameters.mode === "devGovernor" && a.role === "GOVERNOR" && a.account === getAddress(deployer)),
      )
      .map((a) => `WARNING: the account ${a.account} (no contract code) holds ${a.role}`),
    ...accountHolders
      .filter((h) => h.field !== "PoAIGovernance.devGovernor")
      .map((h) => `WARNING: ${h.field} ${h.account} is an account (no contract code): ${h.what}`),
    `parameters: ${existsSync(parametersFile) ? parametersFile : "the defaults"}; address book ${out}`,
    `deployer balance ${formatEther(await publicClient.getBalance({ address: deployer }))} ETH`,
    ...notes,
  ];
  return {
    lines,
    data: {
      action: "deploy",
      deployment: book,
      file: out,
      governance: parameters.mode,
      roles,
      accountRoles: accounts,
    },
  };
}
