/**
 * `npm run devnet -- --keep-alive` / `--dashboard`: after the report, the devnet's chain stays up
 * (the in-process chain lives as long as this process) and, with `--dashboard`, the web dashboard
 * serves it, until Ctrl-C. Progress lines go to stderr, so `--json` output stays one JSON document.
 */
import { parseDeployment } from "@poai/sdk";
import { ensureDashboardBuilt } from "../../../dashboard/server/build.js";
import { startDashboardServer, type Eip1193Like } from "../../../dashboard/server/server.js";
import type { DevnetOptions } from "./options.js";
import type { DevnetReport } from "./report.js";

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
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

/**
 * Keeps the chain (and the dashboard, when asked) up until `stop` resolves. `provider` is the
 * in-process chain's; with `--rpc` the dashboard talks to that node instead.
 */
export async function keepAlive(
  o: DevnetOptions,
  report: DevnetReport,
  provider: Eip1193Like,
  log: (line: string) => void,
  stop: Promise<unknown> = untilSignal(),
): Promise<void> {
  let close: (() => Promise<void>) | undefined;
  if (o.dashboard) {
    await ensureDashboardBuilt({ log });
    const server = await startDashboardServer({
      deployment: parseDeployment(report.deployment),
      chainId: report.chainId,
      chain: o.rpc ? { url: o.rpc } : { provider },
      chainLabel: o.rpc ?? "devnet (in-process chain)",
      port: o.dashboardPort,
    });
    close = server.close;
    log(`The dashboard serves the devnet at ${server.url}`);
  }
  log(
    `The chain stays up (chain ${report.chainId}${o.rpc ? ` at ${o.rpc}` : ", in this process"}); Ctrl-C stops it.`,
  );
  await stop;
  await close?.();
}
