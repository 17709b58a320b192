/**
 * `poai dashboard`: serves the web dashboard for a deployment until SIGINT / SIGTERM. It reads
 * the chain through a JSON-RPC bridge to `--rpc` (reads and signed transactions only), builds the
 * dashboard on first use, and needs no key: a delegator signs in the browser (an EIP-1193 wallet,
 * or a Hardhat dev account on a local chain).
 */
import { ensureDashboardBuilt } from "../../dashboard/server/build.js";
import { startDashboardServer, type ChainEndpoint } from "../../dashboard/server/server.js";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import { openSession, type CliIo, type CommonOptions } from "./session.js";

export interface DashboardOptions extends CommonOptions {
  host?: string;
  port?: number;
}

/** Resolves on SIGINT / SIGTERM (or the test's stop signal). */
function stopped(io: CliIo): Promise<unknown> {
  if (io.stopSignal) return io.stopSignal;
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

export async function dashboardRun(
  o: DashboardOptions,
  config: CliConfig,
  io: CliIo,
): Promise<CommandResult> {
  const session = await openSession(o, config, io, false);
  const chain: ChainEndpoint = io.connection ? { provider: io.connection.provider } : { url: session.rpc };
  await ensureDashboardBuilt({ log: (line) => io.stderr(`${line}\n`) });
  let server;
  try {
    server = await startDashboardServer({
      deployment: session.deployment,
      chainId: session.chainId,
      chain,
      chainLabel: io.connection ? "in-process chain" : session.rpc,
      ...(o.host !== undefined && { host: o.host }),
      ...(o.port !== undefined && { port: o.port }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      throw new OperatorCommandError(
        `--port ${o.port}: the port is in use; pick another or leave --port out`,
      );
    if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND")
      throw new OperatorCommandError(`--host ${JSON.stringify(o.host)}: not an interface of this machine`);
    throw err;
  }
  // With --json, stdout carries only the final JSON object.
  (o.json ? io.stderr : io.stdout)(
    `PoAI dashboard at ${server.url} (chain ${session.chainId}, deployment ${session.deploymentFile}); Ctrl-C stops it\n`,
  );
  await stopped(io);
  await server.close();
  return {
    lines: ["dashboard stopped"],
    data: { url: server.url, chainId: session.chainId, deployment: session.deploymentFile },
  };
}
