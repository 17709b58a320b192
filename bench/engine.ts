/**
 * Engine benchmark: SGD steps per second of the js and wasm backends and of a native C build of the
 * same integer step (bench/native/engine.c, gcc -O3 -march=native, compiled here into a temp dir),
 * on one spec sized for a few seconds of work; and, for the reference spec, the time to train the
 * whole run against the time to replay one segment (a validator's cost per sampled segment).
 *
 * Where CUDA is available (the driver loads and a device exists), also the `cuda` backend: steps per
 * second on the bench spec and on a larger spec that keeps the GPU busy for seconds, the whole
 * reference run against wasm, and the vendor int8 GEMM throughput (torch._int_mm, through
 * bench/vendor_int8.py, where torch imports) on the same GEMM shapes. Without CUDA these are not
 * measured, and the bench says so.
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
  createBackend,
  deriveKey,
  evaluate,
  jsBackend,
  macsPerStep,
  modelLayout,
  probeCuda,
  replaySegment,
  train,
  wasmBackend,
  type Checkpoint,
  type EngineBackend,
  type EngineKey,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { REFERENCE_SEED, REFERENCE_SPEC } from "../sdk/src/compute/reference-spec.js";
import { runV2Bench } from "./engine-v2.js";

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

/**
 * The CUDA bench spec: three layers of 4096, batch 1024; about 86 billion MACs per step, so that the
 * GEMMs (not the launches) dominate.
 */
export const CUDA_BENCH_SPEC: TrainingSpec = {
  version: 1,
  widths: [4096, 4096, 4096, 16],
  batchSize: 1024,
  steps: 10_000,
  checkpointInterval: 100,
  lrShift: 10,
  evalSize: 1000,
};
/** Seconds of CUDA steps to time on the CUDA bench spec; steps the wasm backend runs there for the comparison. */
const CUDA_SECONDS = 3;
const CUDA_WASM_STEPS = 2;

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
  spec: TrainingSpec = BENCH_SPEC,
): Promise<{ seconds: number; weights: Int16Array }> {
  const session = await backend.open(spec, key);
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

    await runCudaBench(results, key, wasmBest, trainMs, score.accuracyBps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Engine version 2: data access against version 1, MNIST accuracy against float32 (bench/engine-v2.ts).
  await runV2Bench(results, BENCH_SPEC);

  await mkdir(resolve(RESULTS, ".."), { recursive: true });
  await writeFile(RESULTS, JSON.stringify(results, null, 2) + "\n");
  printTable(results);
  return results;
}

/** GEMM shapes [M, K, N] of one SGD step: forward, weight gradient, error (not for the first layer). */
function stepGemms(spec: TrainingSpec): [number, number, number][] {
  const B = spec.batchSize;
  const shapes: [number, number, number][] = [];
  for (let l = 0; l + 1 < spec.widths.length; l++) {
    const [nIn, nOut] = [spec.widths[l], spec.widths[l + 1]];
    shapes.push([B, nIn, nOut], [nOut, B, nIn]);
    if (l > 0) shapes.push([B, nOut, nIn]);
  }
  return shapes;
}

/** torch._int_mm on the CUDA bench spec's GEMMs, through bench/vendor_int8.py; undefined when not measured. */
function vendorInt8(): number | undefined {
  const script = fileURLToPath(new URL("./vendor_int8.py", import.meta.url));
  const child = spawnSync("python3", [script, JSON.stringify(stepGemms(CUDA_BENCH_SPEC)), "20"], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (child.error || child.status !== 0) {
    console.log(
      `engine bench: vendor int8 GEMM not measured (python3: ${child.error?.message ?? child.stderr.trim()})`,
    );
    return undefined;
  }
  const out = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as {
    int8MatmulOpsPerSecond?: number;
    skipped?: string;
    device?: string;
  };
  if (out.int8MatmulOpsPerSecond === undefined) {
    console.log(`engine bench: vendor int8 GEMM not measured (${out.skipped ?? "no result"})`);
    return undefined;
  }
  console.log(`engine bench: torch._int_mm on ${out.device}`);
  return out.int8MatmulOpsPerSecond;
}

/** The CUDA figures, where a device is found; otherwise a line saying they were not measured. */
async function runCudaBench(
  results: Record<string, number>,
  key: EngineKey,
  wasmBest: number,
  wasmTrainMs: number,
  accuracyBps: number,
): Promise<void> {
  const probe = await probeCuda();
  if (!probe.available) {
    console.log(`engine bench: cuda.* and vendor.* not measured: ${probe.reason}`);
    return;
  }
  console.log(`engine bench: cuda on ${probe.device} (compute capability ${probe.computeCapability})`);
  const cuda = createBackend("cuda");

  // The bench spec, as wasm ran it: same steps, same bits.
  await timeSteps(cuda, key, 10); // warm-up: module load, first launches
  let best = Infinity;
  let weights: Int16Array | undefined;
  for (let r = 0; r < REPEATS; r++) {
    const run = await timeSteps(cuda, key, FAST_STEPS);
    best = Math.min(best, run.seconds);
    weights = run.weights;
  }
  const wasmCheck = await timeSteps(wasmBackend, key, FAST_STEPS);
  if (!sameWeights(weights!, wasmCheck.weights))
    throw new Error("cuda and wasm backends disagree on the bench spec");
  results["cuda.benchSpec.stepsPerSecond"] = round(FAST_STEPS / best);
  results["cuda.benchSpec.speedupOverWasm"] = round(wasmBest / best, 2);

  // The large spec: enough steps for about CUDA_SECONDS of GPU work.
  const bigKey = deriveKey(CUDA_BENCH_SPEC, BENCH_SEED);
  const bigMacs = macsPerStep(CUDA_BENCH_SPEC);
  const probeRun = await timeSteps(cuda, bigKey, 5, CUDA_BENCH_SPEC);
  const steps = Math.max(10, Math.min(5000, Math.round((CUDA_SECONDS * 5) / probeRun.seconds)));
  const big = await timeSteps(cuda, bigKey, steps, CUDA_BENCH_SPEC);
  const wasmBig = await timeSteps(wasmBackend, bigKey, CUDA_WASM_STEPS, CUDA_BENCH_SPEC);
  const cudaBigCheck = await timeSteps(cuda, bigKey, CUDA_WASM_STEPS, CUDA_BENCH_SPEC);
  if (!sameWeights(cudaBigCheck.weights, wasmBig.weights))
    throw new Error("cuda and wasm backends disagree on the CUDA bench spec");
  const stepsPerSecond = steps / big.seconds;
  results["cuda.macsPerStep"] = bigMacs;
  results["cuda.parameters"] = modelLayout(CUDA_BENCH_SPEC).parameterCount;
  results["cuda.steps"] = steps;
  results["cuda.stepsPerSecond"] = round(stepsPerSecond, 2);
  results["cuda.macsPerSecond"] = Math.round(stepsPerSecond * bigMacs);
  results["cuda.opsPerSecond"] = Math.round(2 * stepsPerSecond * bigMacs);
  results["cuda.wasmStepsPerSecond"] = round(CUDA_WASM_STEPS / wasmBig.seconds, 3);
  results["cuda.speedupOverWasm"] = round(stepsPerSecond / (CUDA_WASM_STEPS / wasmBig.seconds), 1);

  // The whole reference run, against the wasm run timed above.
  const t0 = performance.now();
  const run = await train(REFERENCE_SPEC, REFERENCE_SEED, { backend: cuda });
  const trainMs = performance.now() - t0;
  const score = await evaluate(REFERENCE_SPEC, REFERENCE_SEED, run.final, { backend: cuda });
  if (score.accuracyBps !== accuracyBps) throw new Error("cuda and wasm score the reference run differently");
  results["cuda.run.trainMs"] = round(trainMs);
  results["cuda.run.speedupOverWasm"] = round(wasmTrainMs / trainMs, 2);

  const vendor = vendorInt8();
  if (vendor !== undefined) {
    results["vendor.int8MatmulOpsPerSecond"] = Math.round(vendor);
    results["cuda.vendorRatio"] = round(results["cuda.opsPerSecond"] / vendor, 3);
  }
}

function printTable(results: Record<string, number>): void {
  if (results["v2.mnist.accuracyBps"] !== undefined) {
    console.log(
      `\nEngine version 2: wasm steps/s with dataset examples / version 1's generated ones, same widths and batch: ` +
        `bench spec ${(100 * results["v2.benchSpec.ratioToV1"]).toFixed(1)}% (${results["v2.benchSpec.stepsPerSecond"]} / ${results["v2.benchSpec.v1StepsPerSecond"]}), ` +
        `MNIST widths ${(100 * results["v2.mnist.ratioToV1"]).toFixed(1)}% (${results["v2.mnist.stepsPerSecond"]} / ${results["v2.mnist.v1StepsPerSecond"]})`,
    );
    console.log(
      `MNIST reference spec: int8 engine ${(results["v2.mnist.accuracyBps"] / 100).toFixed(2)}% held out (trained in ${results["v2.mnist.trainMs"]} ms), ` +
        `float32 reference ${(results["v2.mnist.float32.accuracyBps"] / 100).toFixed(2)}% (gap ${results["v2.mnist.gapToFloat32Points"]} points)`,
    );
  }
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
  if (results["cuda.stepsPerSecond"] !== undefined) {
    console.log(
      `cuda: bench spec ${results["cuda.benchSpec.stepsPerSecond"]} steps/s (${results["cuda.benchSpec.speedupOverWasm"]}x wasm); ` +
        `[${CUDA_BENCH_SPEC.widths.join(", ")}] batch ${CUDA_BENCH_SPEC.batchSize}: ${results["cuda.stepsPerSecond"]} steps/s, ` +
        `${(results["cuda.opsPerSecond"] / 1e12).toFixed(1)} TOPS (${results["cuda.speedupOverWasm"]}x wasm); ` +
        `reference run ${results["cuda.run.trainMs"]} ms (${results["cuda.run.speedupOverWasm"]}x wasm)`,
    );
    if (results["vendor.int8MatmulOpsPerSecond"] !== undefined)
      console.log(
        `vendor int8 GEMM (torch._int_mm), same shapes: ${(results["vendor.int8MatmulOpsPerSecond"] / 1e12).toFixed(1)} TOPS; cuda whole step / vendor GEMMs: ${(100 * results["cuda.vendorRatio"]).toFixed(1)}%`,
      );
  } else {
    console.log("cuda: not measured (no CUDA device)");
  }
  console.log(
    `reference spec: train ${results["run.trainMs"]} ms (${results["segment.count"]} segments), replay one segment ${results["segment.replayMs"]} ms, accuracy ${(results["reference.accuracyBps"] / 100).toFixed(2)}%`,
  );
  console.log(`wrote ${RESULTS}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runEngineBench();
