/**
 * `npm run bench`: every benchmark, each writing bench/results/<name>.json and a readable table.
 * `BENCH=gas npm run bench` (or `engine`, `verification`) runs one of them.
 */
import { existsSync } from "node:fs";

const only = process.env.BENCH;

if (!only || only === "gas") {
  const { runGasBench } = await import("./gas.js");
  await runGasBench();
}

if ((!only || only === "engine") && existsSync(new URL("./engine.ts", import.meta.url))) {
  const { runEngineBench } = await import("./engine.js");
  await runEngineBench();
}

if ((!only || only === "verification") && existsSync(new URL("./verification.ts", import.meta.url))) {
  const { runVerificationBench } = await import("./verification.js");
  await runVerificationBench();
}
