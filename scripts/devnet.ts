/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain (or, with
 * `--rpc`, on a JSON-RPC node), with a live progress display and a final report.
 *
 *   npm run devnet
 *   npm run devnet -- --epochs 5 --trainers 4 --cheaters 1 --validators 3 --backend wasm
 *   npm run devnet -- --json > report.json
 *
 * See `scripts/lib/devnet/run.ts` for what it does, `--help` for every option.
 */
import { network } from "hardhat";
import { formatReport } from "./lib/devnet/report.js";
import { DevnetOptionsError, parseDevnetArgs } from "./lib/devnet/options.js";
import { runDevnet, type DevnetUi } from "./lib/devnet/run.js";
import { createDevnetUi } from "./lib/devnet/ui.js";

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
if (options.rpc) {
  process.stderr.write("--rpc: the multi-process devnet is not available in this build\n");
  process.exit(2);
}
const connection = await network.create();
const report = await runDevnet(options, { ...connection, mode: "in-process" }, ui);
if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else console.log(formatReport(report));
await connection.close();
const failed = report.checks.filter((c) => !c.ok);
if (failed.length) {
  process.stderr.write(`devnet checks failed: ${failed.map((c) => c.name).join("; ")}\n`);
  process.exit(1);
}
