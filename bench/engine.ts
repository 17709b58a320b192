/**
 * Engine benchmark: SGD steps per second of the js and wasm backends and of a native C build of the
 * same integer step (bench/native/engine.c, gcc -O3 -march=native, compiled here into a temp dir),
 * on one spec sized for a few seconds of work; and, for the reference spec, the time to train the
 * whole run against the time to replay one segment (a validator's cost per sampled segment).
 *
 * Writes bench/results/engine.json (a flat map of numbers) and prints a table.
 *   npx tsx bench/engine.ts          # standalone
 *   BENCH=engine npm run bench       # through bench/run.ts
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  deriveKey,
  evaluate,
  jsBackend,
  macsPerStep,
  modelLayout,
  replaySegment,
  train,
  wasmBackend,
  type Checkpoint,
  type EngineBackend,
  type EngineKey,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { REFERENCE_SEED, REFERENCE_SPEC } from "../sdk/src/compute/reference-spec.js";

/** The benchmark spec: 2 hidden layers of 512, batch 64; about 69 million MACs per step. */
export const BENCH_SPEC: TrainingSpec = {
  version: 1,
  widths: [256, 512, 512, 16],
  batchSize: 64,
  steps: 1000,
  checkpointInterval: 100,
  lrShift: 6,
  evalSize: 1000,
};
const BENCH_SEED = "0x62656e63682d656e67696e652d73656564000000000000000000000000000001" as const;

/** Steps timed per repetition (wasm and native run the same steps, js fewer). */
const FAST_STEPS = 400;
const JS_STEPS = 12;
const REPEATS = 3;

const RESULTS = fileURLToPath(new URL("./results/engine.json", import.meta.url));
const NATIVE_SOURCE = fileURLToPath(new URL("./native/engine.c", import.meta.url));

/** Seconds to run steps 0 .. steps - 1 on a fresh session (initialisation not timed). */
async function timeSteps(
  backend: EngineBackend,
  key: EngineKey,
  steps: number,
): Promise<{ seconds: number; weights: Int16Array }> {
  const session = await backend.open(BENCH_SPEC, key);
  try {
    const t0 = performance.now();
    await session.trainSteps(0, steps);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, weights: await session.getWeights() };
  } finally {
    session.close();
  }
}

function compileNative(dir: string): string | undefined {
  const exe = join(dir, "engine");
  try {
    execFileSync("gcc", ["-O3", "-march=native", "-std=c11", "-o", exe, NATIVE_SOURCE], { stdio: "pipe" });
    return exe;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    console.log("engine bench: gcc not found, native reference skipped");
    return undefined;
  }
}

function runNative(
  exe: string,
  dir: string,
  key: EngineKey,
  steps: number,
): { seconds: number; weights: Int16Array } {
  const out = join(dir, "params.bin");
  const args = [
    key.k0,
    key.k1,
    BENCH_SPEC.batchSize,
    BENCH_SPEC.lrShift,
    0,
    steps,
    out,
    ...BENCH_SPEC.widths,
  ].map(String);
  const child = spawnSync(exe, args, { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`native engine failed: ${child.stderr}`);
  const { seconds } = JSON.parse(child.stdout) as { seconds: number };
  const bytes = readFileSync(out);
  const weights = new Int16Array(bytes.length / 2);
  for (let i = 0; i < weights.length; i++) weights[i] = bytes.readInt16LE(2 * i);
  return { seconds, weights };
}

function sameWeights(a: Int16Array, b: Int16Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function runEngineBench(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const key = deriveKey(BENCH_SPEC, BENCH_SEED);
  const macs = macsPerStep(BENCH_SPEC);
  const dir = mkdtempSync(join(tmpdir(), "poai-engine-bench-"));
  try {
    console.log(
      `engine bench: spec widths [${BENCH_SPEC.widths.join(", ")}], batch ${BENCH_SPEC.batchSize}, ${(macs / 1e6).toFixed(1)}M MACs/step`,
    );
    const exe = compileNative(dir);
    let wasmBest = Infinity;
    let nativeBest = Infinity;
    let nativeMatches = true;
    for (let r = 0; r < REPEATS; r++) {
      const wasm = await timeSteps(wasmBackend, key, FAST_STEPS);
      wasmBest = Math.min(wasmBest, wasm.seconds);
      if (exe) {
        const native = runNative(exe, dir, key, FAST_STEPS);
        nativeBest = Math.min(nativeBest, native.seconds);
        nativeMatches &&= sameWeights(native.weights, wasm.weights);
      }
      console.log(`engine bench: repetition ${r + 1}/${REPEATS} done`);
    }
    const js = await timeSteps(jsBackend, key, JS_STEPS);
    const jsCheck = await timeSteps(wasmBackend, key, JS_STEPS);
    if (!sameWeights(js.weights, jsCheck.weights))
      throw new Error("js and wasm backends disagree on the bench spec");

    results["bench.macsPerStep"] = macs;
    results["bench.parameters"] = modelLayout(BENCH_SPEC).parameterCount;
    results["js.stepsPerSecond"] = round(JS_STEPS / js.seconds, 2);
    results["js.macsPerSecond"] = Math.round((JS_STEPS / js.seconds) * macs);
    results["wasm.stepsPerSecond"] = round(FAST_STEPS / wasmBest);
    results["wasm.macsPerSecond"] = Math.round((FAST_STEPS / wasmBest) * macs);
    if (exe) {
      if (!nativeMatches) throw new Error("the native reference disagrees with the wasm backend");
      results["native.stepsPerSecond"] = round(FAST_STEPS / nativeBest);
      results["native.macsPerSecond"] = Math.round((FAST_STEPS / nativeBest) * macs);
      results["wasm.nativeRatio"] = round(nativeBest / wasmBest, 3);
    }
    results["wasm.speedupOverJs"] = round(results["wasm.stepsPerSecond"] / results["js.stepsPerSecond"], 1);

    // Verification cost on the reference spec: a whole run against one segment's replay.
    const checkpoints: Checkpoint[] = [];
    const t0 = performance.now();
    const run = await train(REFERENCE_SPEC, REFERENCE_SEED, {
      backend: "wasm",
      onCheckpoint: ({ checkpoint }) => void checkpoints.push(checkpoint),
    });
    const trainMs = performance.now() - t0;
    const replays: number[] = [];
    for (const i of [0, 5, 10, 15, 19]) {
      const t1 = performance.now();
      await replaySegment(REFERENCE_SPEC, REFERENCE_SEED, i, checkpoints[i], { backend: "wasm" });
      replays.push(performance.now() - t1);
    }
    replays.sort((a, b) => a - b);
    const score = await evaluate(REFERENCE_SPEC, REFERENCE_SEED, run.final, { backend: "wasm" });
    results["run.trainMs"] = round(trainMs);
    results["segment.replayMs"] = round(replays[Math.floor(replays.length / 2)], 2);
    results["segment.count"] = run.checkpointHashes.length - 1;
    results["reference.accuracyBps"] = score.accuracyBps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await mkdir(resolve(RESULTS, ".."), { recursive: true });
  await writeFile(RESULTS, JSON.stringify(results, null, 2) + "\n");
  printTable(results);
  return results;
}

function printTable(results: Record<string, number>): void {
  const rows: [string, string][] = [
    ["js", "js.stepsPerSecond"],
    ["wasm (WebAssembly SIMD)", "wasm.stepsPerSecond"],
    ["native (gcc -O3 -march=native)", "native.stepsPerSecond"],
  ];
  const macs = results["bench.macsPerStep"];
  console.log(`\nEngine, bench spec [${BENCH_SPEC.widths.join(", ")}] batch ${BENCH_SPEC.batchSize}`);
  console.log("backend                         steps/s     GMAC/s");
  for (const [name, key] of rows) {
    if (results[key] === undefined) continue;
    const gmacs = (results[key] * macs) / 1e9;
    console.log(`${name.padEnd(30)} ${results[key].toFixed(1).padStart(8)} ${gmacs.toFixed(2).padStart(10)}`);
  }
  if (results["wasm.nativeRatio"] !== undefined)
    console.log(`wasm / native: ${(100 * results["wasm.nativeRatio"]).toFixed(1)}%`);
  console.log(
    `reference spec: train ${results["run.trainMs"]} ms (${results["segment.count"]} segments), replay one segment ${results["segment.replayMs"]} ms, accuracy ${(results["reference.accuracyBps"] / 100).toFixed(2)}%`,
  );
  console.log(`wrote ${RESULTS}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runEngineBench();
