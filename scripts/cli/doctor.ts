/**
 * `poai doctor`: checks, one line each, what an operator's node needs before it can earn: the RPC
 * (reachable, chain id, head), the address book (checked against the chain), the key (present,
 * enough ETH for gas), the registration (role, state, self-stake against the minimum), the
 * published endpoint (answers `/healthz` as a daemon), the disk where the database lives, and the
 * GPU driver (CUDA; without it the engine runs on the CPU). A failed check says what to do. The
 * command exits 1 when a check fails (warnings do not fail it), so it also serves as a probe.
 */
import { statfs } from "node:fs/promises";
import path from "node:path";
import { PoAIDeploymentError, type PoAIClient } from "@poai/sdk";
import { createPublicClient, formatEther, formatGwei, formatUnits, type Address } from "viem";
import { getBlock, getGasPrice } from "viem/actions";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import { duration, poai } from "./format.js";
import type { CommandKit } from "./kit.js";
import { connect, openSession, resolveKey, resolveRpc, type CliIo, type CommonOptions } from "./session.js";
import { isDevChain } from "../lib/roles.js";
import { privateKeyToAccount } from "viem/accounts";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorOptions extends CommonOptions {
  /** The daemon's database: its folder's free space is checked (default: the current folder). */
  database?: string;
  /** An endpoint to check instead of the published one. */
  endpoint?: string;
  /** Skip the GPU check. */
  gpu?: boolean;
}

/** Gas a node's week of work roughly takes (submissions, commits, reveals, claims): the ETH check's yardstick. */
const WORKING_GAS = 20n * 300_000n;
const GiB = 1024n ** 3n;

async function endpointCheck(url: string): Promise<Check> {
  try {
    const health = new URL("/healthz", url);
    const res = await fetch(health, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.text()).slice(0, 200).replace(/\s+/g, " ");
    if (res.ok) return { name: "endpoint", status: "ok", detail: `${health} answers ${res.status}` };
    return {
      name: "endpoint",
      status: "fail",
      detail: `${health} answers ${res.status}${body ? ` (${body})` : ""}: the daemon reports a problem`,
    };
  } catch (err) {
    return {
      name: "endpoint",
      status: "fail",
      detail: `${url} does not answer (${(err as Error).message.split("\n")[0]}): start the daemon, or publish a reachable --public-endpoint`,
    };
  }
}

/** Runs every check; never throws for a failed check. */
export async function doctor(o: DoctorOptions, config: CliConfig, io: CliIo): Promise<CommandResult> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const [major] = process.versions.node.split(".").map(Number);
  add({
    name: "node",
    status: major! >= 22 ? "ok" : "fail",
    detail: `Node.js ${process.version}${major! >= 22 ? "" : ": PoAI needs 22 or later"}`,
  });

  // RPC
  let chainId: number | undefined;
  try {
    const rpc = await resolveRpc(o, config, io);
    const started = Date.now();
    const c = await connect(rpc, io);
    chainId = c.chainId;
    const block = await getBlock(createPublicClient({ transport: c.transport }));
    const ms = Date.now() - started;
    const age = BigInt(Math.floor(Date.now() / 1000)) - block.timestamp;
    const stale = !isDevChain(c.chainId) && age > 600n;
    add({
      name: "rpc",
      status: stale ? "warn" : "ok",
      detail: `${c.rpc}: chain ${c.chainId}, block ${block.number}${stale ? `, ${duration(age)} old: the node may be behind` : ""} (${ms} ms)`,
    });
  } catch (err) {
    add({ name: "rpc", status: "fail", detail: (err as Error).message });
  }

  // Address book, key, registration
  let client: PoAIClient | undefined;
  if (chainId !== undefined) {
    try {
      const s = await openSession(o, config, io, false);
      client = s.client;
      add({
        name: "deployment",
        status: "ok",
        detail: `${s.deploymentFile}: every contract checked on chain ${s.chainId}`,
      });
    } catch (err) {
      const message = (err as Error).message;
      add({
        name: "deployment",
        status: "fail",
        detail:
          err instanceof PoAIDeploymentError || err instanceof OperatorCommandError
            ? message
            : message.split("\n")[0]!,
      });
    }
  } else add({ name: "deployment", status: "skip", detail: "needs the RPC" });

  let me: Address | undefined;
  try {
    const key = await resolveKey(io);
    if (!key)
      add({
        name: "key",
        status: "fail",
        detail: "no signing key: set POAI_PRIVATE_KEY or `npx hardhat keystore set POAI_PRIVATE_KEY`",
      });
    else {
      me = privateKeyToAccount(key).address;
      if (client) {
        const [balance, gasPrice] = await Promise.all([
          client.publicClient.request({ method: "eth_getBalance", params: [me, "latest"] }).then(BigInt),
          getGasPrice(client.publicClient),
        ]);
        const needed = WORKING_GAS * gasPrice;
        add({
          name: "key",
          status: balance === 0n ? "fail" : balance < needed ? "warn" : "ok",
          detail: `${me}: ${formatEther(balance)} ETH${balance < needed ? ` (about ${formatEther(needed)} ETH pays for ${WORKING_GAS} gas at ${formatGwei(gasPrice)} gwei: fund it)` : ""}`,
        });
      } else add({ name: "key", status: "ok", detail: `${me}` });
    }
  } catch (err) {
    add({ name: "key", status: "fail", detail: (err as Error).message });
  }

  let endpoint = o.endpoint;
  if (client && me) {
    const op = await client.staking.getOperator({ operator: me });
    if (op.status === 0)
      add({
        name: "registration",
        status: "warn",
        detail: `${me} is not a registered operator (a delegator needs none; an operator registers with poai register)`,
      });
    else {
      const params = await client.staking.getParams();
      const minimum = op.role === "trainer" ? params.minTrainerStake : params.minValidatorStake;
      const problem = op.jailed
        ? `jailed until ${new Date(op.jailedUntil * 1000).toISOString()}: poai unjail after the cool-down`
        : op.status === 2
          ? "deregistered"
          : op.selfStake < minimum
            ? `self-stake ${poai(op.selfStake)} is below the ${op.role} minimum ${poai(minimum)}: poai stake --amount ${formatUnits(minimum - op.selfStake, 18)}`
            : undefined;
      add({
        name: "registration",
        status: problem ? "fail" : "ok",
        detail: `${op.role}, ${problem ?? `active, self-stake ${poai(op.selfStake)}, pool ${poai(op.totalStake)}`}`,
      });
      if (op.role === "trainer") endpoint ??= op.endpoint || undefined;
      if (op.role === "trainer" && !endpoint)
        add({
          name: "endpoint",
          status: "fail",
          detail:
            "no endpoint published: validators cannot fetch your checkpoints (poai trainer run --public-endpoint <url>)",
        });
    }
  }
  if (endpoint) add(await endpointCheck(endpoint));

  // Disk where the database lives
  const dir = path.dirname(
    path.resolve(o.database ?? config.trainer?.database ?? config.validator?.database ?? "x"),
  );
  try {
    const fs = await statfs(dir);
    const free = BigInt(fs.bavail) * BigInt(fs.bsize);
    const gib = Number((free * 10n) / GiB) / 10;
    add({
      name: "disk",
      status: free < GiB / 10n ? "fail" : free < GiB ? "warn" : "ok",
      detail: `${dir}: ${gib} GiB free${free < GiB ? " (a trainer keeps its checkpoints there: free some space)" : ""}`,
    });
  } catch (err) {
    add({ name: "disk", status: "fail", detail: `${dir}: ${(err as Error).message}` });
  }

  // GPU driver
  if (o.gpu === false) add({ name: "gpu", status: "skip", detail: "--no-gpu" });
  else {
    const { probeCuda } = await import("@poai/sdk/compute");
    const probe = await probeCuda();
    add(
      probe.available
        ? {
            name: "gpu",
            status: "ok",
            detail: `CUDA: ${probe.device}, compute capability ${probe.computeCapability}, driver ${probe.driverVersion}`,
          }
        : {
            name: "gpu",
            status: "warn",
            detail: `no usable CUDA GPU (${probe.reason}): the engine runs on the CPU (--backend wasm), which is slower but exact`,
          },
    );
  }

  const failed = checks.filter((c) => c.status === "fail");
  const mark: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" };
  const lines = [
    ...checks.map((c) => `${mark[c.status]} ${c.name.padEnd(12)} ${c.detail}`),
    failed.length ? `${failed.length} check${failed.length === 1 ? "" : "s"} failed` : "every check passed",
  ];
  if (failed.length) {
    const err = new OperatorCommandError(
      `${failed.length} check(s) failed: ${failed.map((c) => c.name).join(", ")}`,
    );
    (err as OperatorCommandError & { result?: CommandResult }).result = { lines, data: { checks } };
    throw err;
  }
  return { lines, data: { checks } };
}

export function registerDoctorCommand(kit: CommandKit): void {
  kit
    .sub(
      "doctor",
      "Check the RPC, the address book, the key, the registration, the endpoint, the disk and the GPU",
    )
    .option("--database <file>", "the daemon's database: its folder's free space is checked (default: .)")
    .option("--endpoint <url>", "check this endpoint's /healthz instead of the published one")
    .option("--no-gpu", "skip the GPU check")
    .action(async (o) => kit.run(o, (config) => doctor(o, config, kit.io)));
}
