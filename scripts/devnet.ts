/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain (or, with
 * `--rpc`, on a JSON-RPC node), with a live progress display and a final report.
 *
 *   npm run devnet
 *   npm run devnet -- --epochs 5 --trainers 4 --cheaters 1 --validators 3 --backend wasm
 *   npm run devnet -- --json > report.json
 *   npm run devnet -- --dashboard          # then keep the chain up and serve the web dashboard on it
 *
 * See `scripts/lib/devnet/run.ts` for what it does, `--help` for every option. The options are
 * read first: `--help` and a bad flag answer at once, before Hardhat loads or anything compiles.
 * Then the contracts are compiled if they changed (a cold build takes minutes: it says so), with
 * `--json` keeping stdout for the report alone (`json-output.ts`).
 */
import { DevnetOptionsError, parseDevnetArgs } from "./lib/devnet/options.js";

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

const { withBuildNotice } = await import("./lib/build-notice.js");
const hre = (await import("hardhat")).default;
{
  // With --json, whatever the build prints goes to stderr: stdout carries the report alone.
  const write = process.stdout.write.bind(process.stdout);
  if (options.json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof write;
  try {
    await withBuildNotice(
      () => hre.tasks.getTask("build").run({ quiet: true, noTests: true }),
      (text) => process.stderr.write(text),
    );
  } finally {
    process.stdout.write = write;
  }
}
const { network } = hre;
const { formatReport } = await import("./lib/devnet/report.js");
const { runInferenceScenario } = await import("./lib/inference-scenario.js");
const { runDevnet } = await import("./lib/devnet/run.js");
const { createDevnetUi } = await import("./lib/devnet/ui.js");
const { writeJsonReport } = await import("./lib/devnet/json-output.js");
const { keepAlive } = await import("./lib/devnet/keep-alive.js");
type DevnetUi = import("./lib/devnet/run.js").DevnetUi;

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
if (options.json) writeJsonReport(JSON.stringify(report, null, 2));
else console.log(formatReport(report));
if (options.keepAlive)
  await keepAlive(options, report, connection.provider, (line) => process.stderr.write(`${line}\n`));
await connection.close();
const failed = report.checks.filter((c) => !c.ok);
if (failed.length) {
  process.stderr.write(`devnet checks failed: ${failed.map((c) => c.name).join("; ")}\n`);
  process.exit(1);
}
