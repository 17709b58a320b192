#!/usr/bin/env node
/* global process, console, Buffer */
// `npm test`: compiles once, then lints and runs every test side by side. The linters (solhint,
// prettier, eslint, tsc) need one core for about two minutes; the Mocha files run in parallel
// workers (hardhat.config.ts, `POAI_TEST_JOBS`), which leave gaps the linters fill. The tests'
// output streams as each file ends; the linters' is collected and printed when they end. The
// exit status is non-zero when either failed. `npm run lint` and `npm run test:contracts` run
// each half alone; arguments after `npm test --` go to `hardhat test`.
import { spawn } from "node:child_process";

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
const compiled = await run("hardhat", ["compile", "--quiet"]);
if (compiled.code !== 0) process.exit(compiled.code);

const lint = run("npm", ["run", "--silent", "lint:code"], { capture: true });
const tests = await run("hardhat", ["test", ...process.argv.slice(2)]);
const linted = await lint;

const seconds = Math.round((Date.now() - started) / 1000);
if (linted.code === 0) {
  console.log(`lint (solhint, prettier, eslint, tsc): ok, run beside the tests`);
} else {
  process.stdout.write(linted.output);
  console.error(
    `lint (solhint, prettier, eslint, tsc) failed with exit code ${linted.code}: its output is above`,
  );
}
if (tests.code !== 0) console.error(`hardhat test failed with exit code ${tests.code}`);
console.log(`npm test: ${seconds} s`);
process.exit(linted.code !== 0 ? linted.code : tests.code);
