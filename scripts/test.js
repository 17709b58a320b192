#!/usr/bin/env node
/* global process, console, Buffer */
// `npm test`: compiles once, then lints and runs every test side by side. The linters (solhint,
// prettier, eslint, tsc) need one core for over two minutes: those that read only the sources run
// beside the build (`lint:sources`, ~1 minute), the project's tsc (`lint:types`, ~1.5 minutes:
// it reads the build's contract types) beside the tests, whose parallel workers
// (hardhat.config.ts, `POAI_TEST_JOBS`) leave gaps it fills. The tests' output streams as each
// file ends; the linters' is collected and printed when they end. The exit status is non-zero
// when either failed. `npm run lint` and `npm run test:contracts` run each half alone; arguments
// after `npm test --` go to `hardhat test`.
//
// With no arguments every test file is named on the command line, the longest first, so that the
// parallel workers (which take the files in the order given) do not end on one long file alone
// while the other cores idle: Mocha's own order is alphabetical, which put the multi-process and
// command-line files, the longest, last.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

/** The slowest test files, longest first (file times of a whole run, in parallel workers). */
const SLOWEST_FIRST = [
  "test/scripts/devnet.test.ts",
  "test/packages/packages.test.ts",
  "test/scripts/cli.test.ts",
  "test/dashboard/browser.test.ts",
  "test/engine/cuda.test.ts",
  "test/staking/invariants.test.ts",
  "test/scripts/devnet-anvil.test.ts",
  "test/scripts/multiprocess.test.ts",
  "test/scripts/walkthrough.test.ts",
  "test/scripts/rewards-multiprocess.test.ts",
  "test/scripts/cli-market.test.ts",
  "test/sdk/abi.test.ts",
  "test/poai/invariants.test.ts",
  "test/daemons/validator.test.ts",
  "test/scripts/cli-governance.test.ts",
  "test/daemons/e2e.test.ts",
  "test/scripts/governance.test.ts",
  "test/infernet/model-registry.test.ts",
];

/** Every file under `dir` (relative paths, `/`-separated), sorted. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(".", path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

/** The test files as `hardhat test` would find them (Solidity tests, then Mocha's), slowest first. */
function orderedTestFiles() {
  const all = filesUnder("test");
  const solidity = all.filter((f) => f.startsWith("test/solidity/") && f.endsWith(".t.sol"));
  const mocha = all.filter((f) => /\.(js|cjs|mjs|ts|cts|mts)$/i.test(f));
  const slow = SLOWEST_FIRST.filter((f) => mocha.includes(f));
  return [...solidity, ...slow, ...mocha.filter((f) => !slow.includes(f))];
}

/** Runs `command args` (through npm's PATH), resolving to its exit code. */
function run(command, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
    const chunks = [];
    if (capture) {
      child.stdout.on("data", (c) => chunks.push(c));
      child.stderr.on("data", (c) => chunks.push(c));
    }
    child.on("error", (err) => {
      chunks.push(Buffer.from(`${command}: ${err.message}\n`));
      resolve({ code: 1, output: Buffer.concat(chunks).toString() });
    });
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString() }),
    );
  });
}

const started = Date.now();
// The linters that read only the sources (solhint, prettier, eslint, the dashboard's tsc) run
// beside the contracts' build, which is one compilation job on one core; the project's tsc reads
// the build's contract types, so it runs after it, beside the tests.
const sourcesLint = run("npm", ["run", "--silent", "lint:sources"], { capture: true });
const compiled = await run("hardhat", ["compile", "--quiet"]);
if (compiled.code !== 0) {
  await sourcesLint;
  process.exit(compiled.code);
}

const typesLint = run("npm", ["run", "--silent", "lint:types"], { capture: true });
const args = process.argv.slice(2);
const tests = await run("hardhat", ["test", ...(args.length > 0 ? args : orderedTestFiles())]);
const failed = (await Promise.all([sourcesLint, typesLint])).filter((l) => l.code !== 0);

const seconds = Math.round((Date.now() - started) / 1000);
if (failed.length === 0) {
  console.log(`lint (solhint, prettier, eslint, tsc): ok, run beside the build and the tests`);
} else {
  for (const l of failed) process.stdout.write(l.output);
  console.error(
    `lint (solhint, prettier, eslint, tsc) failed with exit code ${failed[0].code}: its output is above`,
  );
}
if (tests.code !== 0) console.error(`hardhat test failed with exit code ${tests.code}`);
console.log(`npm test: ${seconds} s`);
process.exit(failed.length > 0 ? failed[0].code : tests.code);
