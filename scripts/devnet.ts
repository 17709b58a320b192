/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain (or, with
 * `--rpc`, on a JSON-RPC node), with a live progress display and a final report.
 *
 *   npm run devnet
 *   npm run devnet -- --epochs 5 --trainers 4 --cheaters 1 --validators 3 --backend wasm
 *   npm run devnet -- --json > report.json
 *   npm run devnet -- --dashboard          # then keep the chain up and serve the web dashboard on it
 *
 * See `scripts/lib/devnet/run.ts` for what it does, `--help` for every option.
 */
import { network } from "hardhat";
import { formatReport } from "./lib/devnet/report.js";
import { runInferenceScenario } from "./lib/inference-scenario.js";
import { DevnetOptionsError, parseDevnetArgs } from "./lib/devnet/options.js";
import { runDevnet, type DevnetUi } from "./lib/devnet/run.js";
import { createDevnetUi } from "./lib/devnet/ui.js";
import { keepAlive } from "./lib/devnet/keep-alive.js";

let options;
try {
  options = parseDevnetArgs(process.argv.slice(2));
} catch (err) {
  const e = err as { code?: string; message: string };
  if (e.code === "commander.helpDisplayed" || e.code === "commander.version") process.exit(0);
  if (err instanceof DevnetOptionsError || e.code?.startsWith("commander.")) {
    if (err instanceof DevnetOptionsError) process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  throw err;
}

const ui: DevnetUi = createDevnetUi({ json: options.json });
let connection;
if (options.rpc) {
  try {
    const res = await fetch(options.rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    process.stderr.write(
      `--rpc ${options.rpc}: no JSON-RPC node answers there (${(err as Error).message}); start one with \`npx hardhat node\`\n`,
    );
    process.exit(2);
  }
  connection = await network.create({ network: "localhost", override: { url: options.rpc } });
} else {
  connection = await network.create();
}
const report = await runDevnet(
  options,
  {
    ...connection,
    mode: options.rpc ? "multi-process" : "in-process",
    ...(options.rpc && { rpc: options.rpc }),
  },
  ui,
  { inference: runInferenceScenario },
);
if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else console.log(formatReport(report));
if (options.keepAlive)
  await keepAlive(options, report, connection.provider, (line) => process.stderr.write(`${line}\n`));
await connection.close();
const failed = report.checks.filter((c) => !c.ok);
if (failed.length) {
  process.stderr.write(`devnet checks failed: ${failed.map((c) => c.name).join("; ")}\n`);
  process.exit(1);
}
