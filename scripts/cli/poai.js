#!/usr/bin/env node
/* global process */
// `poai`: the PoAI operator command line. Runs scripts/cli/main.ts with tsx (Node >= 22).
import { register } from "tsx/esm/api";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `poai needs Node.js 22 or later (this is ${process.version}); run it with npx (which uses node_modules/.bin/node) or put node_modules/.bin first on PATH\n`,
  );
  process.exit(1);
}
// A closed pipe (`poai status | head`) ends the output, not the program with a stack trace.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
register();
const { runCli } = await import("./main.ts");
/** In a terminal, a command asks before it sends transactions (`--yes` skips the question). */
async function confirm(question) {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
process.exitCode = await runCli(process.argv.slice(2), process.stdin.isTTY ? { confirm } : {});
