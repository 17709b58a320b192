#!/usr/bin/env node
/* global process */
// The devnet's forging trainer as its own process: `poai trainer run` with the daemon replaced by
// ForgingTrainer (scripts/lib/adversaries.ts), which trains two segments and forges the rest.
// Dishonest on purpose: it exists so that the multi-process devnet shows a cheater being caught.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../../cli/main.ts");
const { ForgingTrainer } = await import("../adversaries.ts");
process.exitCode = await runCli(process.argv.slice(2), { trainerDaemon: ForgingTrainer });
