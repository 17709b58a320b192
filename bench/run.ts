/**
 * `npm run bench`: every benchmark, each writing bench/results/<name>.json and a readable table.
 * `BENCH=gas npm run bench` (or `inference-verifier`, `engine`, `verification`, `escape`, `dashboard`,
 * `scale`, `jobs`, `sampling`, `sampling-audit`, `disputes`, `bound-disputes`, `step-disputes`,
 * `score-disputes`) runs one of them. `escape` prices audits with the figures `verification` measured: run that first.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";

const only = process.env.BENCH;

if (!only || only === "gas") {
  const { runGasBench } = await import("./gas.js");
  await runGasBench();
}

if (!only || only === "inference-verifier") {
  const { runInferenceVerifierGasBench } = await import("./inference-verifier.js");
  const results = await runInferenceVerifierGasBench();
  await writeFile(
    new URL("./results/inference-verifier.json", import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log("\nPoAIVerifier: exact output verification on chain (gasUsed)");
  console.table(Object.entries(results).map(([key, value]) => ({ key, value })));
}

if ((!only || only === "engine") && existsSync(new URL("./engine.ts", import.meta.url))) {
  const { runEngineBench } = await import("./engine.js");
  await runEngineBench();
}

if ((!only || only === "verification") && existsSync(new URL("./verification.ts", import.meta.url))) {
  const { runVerificationBench } = await import("./verification.js");
  await runVerificationBench();
}

if (!only || only === "verification" || only === "sampling") {
  const { runSamplingBench } = await import("./verification.js");
  await runSamplingBench();
}

if (!only || only === "verification" || only === "sampling" || only === "sampling-audit") {
  const { runSamplingAuditBench } = await import("./sampling.js");
  await runSamplingAuditBench();
}

if ((!only || only === "escape") && existsSync(new URL("./escape.ts", import.meta.url))) {
  const { runEscapeBench } = await import("./escape.js");
  await runEscapeBench();
}

if (!only || only === "disputes" || only === "bound-disputes") {
  const { runBoundDisputesBench } = await import("./disputes-bound.js");
  // written into bench/results/disputes.json next to the other dispute rows (after them when both run)
  if (only === "bound-disputes") await runBoundDisputesBench();
}

if (!only || only === "disputes" || only === "inference-disputes" || only === "dispute-data") {
  const { runDisputesBench, runDataSlotsBench, runInferenceDisputesBench } = await import("./disputes.js");
  if (!only || only === "disputes") await runDisputesBench();
  if (only !== "inference-disputes") await runDataSlotsBench();
  if (only !== "dispute-data") await runInferenceDisputesBench();
  if (!only || only === "disputes") {
    const { runBoundDisputesBench } = await import("./disputes-bound.js");
    await runBoundDisputesBench();
    const { runStepDisputesBench } = await import("./disputes-step.js");
    await runStepDisputesBench();
    const { runScoreDisputesBench } = await import("./disputes-score.js");
    await runScoreDisputesBench();
  }
}

if (only === "score-disputes") {
  const { runScoreDisputesBench } = await import("./disputes-score.js");
  await runScoreDisputesBench();
}

if (only === "step-disputes") {
  const { runStepDisputesBench } = await import("./disputes-step.js");
  await runStepDisputesBench();
}

if (!only || only === "dashboard") {
  const { runDashboardBench } = await import("./dashboard.js");
  await runDashboardBench();
}

if (!only || only === "jobs") {
  const { runJobsBench } = await import("./jobs.js");
  await runJobsBench();
}

if (!only || only === "scale") {
  const { runScaleBench } = await import("./scale.js");
  await runScaleBench();
}

if (!only || only === "federated") {
  const { runFederatedBench } = await import("./federated.js");
  await runFederatedBench();
}
