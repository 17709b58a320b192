/**
 * Engine version 2 benchmarks (run by bench/engine.ts):
 *
 * - **MNIST accuracy**: the reference MNIST spec (`MNIST_REFERENCE_SPEC`, all 10,000 digits of the
 *   `mnist` package: 8,000 train, 2,000 held out) trained by the integer engine, against a float32
 *   reference MLP in plain TypeScript with the same widths, data, batch, steps, initial weights and
 *   update rule, only without rounding and saturation of int8/int16 storage (see `Float32Mlp`):
 *   held-out accuracy of both, and accuracy against steps (docs/engine-mnist-accuracy.png).
 * - **Data access cost**: wasm steps per second of version 2 (examples gathered from a dataset by
 *   the keyed permutation) against version 1 (examples generated from Philox, labels from the
 *   teacher) at the same widths and batch: the bench spec, and the MNIST reference widths.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import {
  deriveKey,
  evaluate,
  modelLayout,
  stepExamples,
  train,
  wasmBackend,
  type DatasetData,
  type EngineBackend,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { initialWeights } from "../sdk/src/compute/reference.js";
import { lineChart } from "../node/src/data/index.js";
import { datasetSpec, mnistDataset } from "../scripts/lib/datasets.js";
import { syntheticDataset } from "../test/engine/datasets.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const PLOT = path.join(ROOT, "docs", "engine-mnist-accuracy.png");
const SEED: Hex = "0x6d6e6973742d7265666572656e63652d73656564000000000000000000000001";

/** The reference MNIST spec's shape: [784, 128, 10], batch 32, 5,000 steps (20 epochs of 8,000 digits). */
export const MNIST_REFERENCE = {
  hidden: [128],
  batchSize: 32,
  steps: 5000,
  checkpointInterval: 250,
  lrShift: 4,
} as const;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * The float32 yardstick: the engine's algorithm (docs/engine.md) with real numbers instead of
 * integers. Values are the engine's divided by their int8 scale: inputs and activations x / 127,
 * weights w_eff / 2^F_l (so every pre-activation is the engine's exactly, before rounding), the
 * clipped ReLU min(max(z, 0), 1), outputs clamped to [-1, 1], target 64 / 127, loss gradient
 * clamped to [-1, 1], the error propagated with the engine's 2^(F_l - G_l) scale, and SGD with the
 * learning rate the engine's update amounts to, 127² / 2^(lrShift + 8 + F_l) on the batch sum.
 * Initial weights are the engine's checkpoint 0, converted. No rounding, no int16 storage.
 */
export class Float32Mlp {
  readonly w: Float32Array[];
  readonly b: Float32Array[];
  private readonly layout;
  constructor(
    private readonly spec: TrainingSpec,
    init: Int16Array,
  ) {
    this.layout = modelLayout(spec);
    this.w = this.layout.layers.map((l) =>
      Float32Array.from(init.subarray(l.weightOffset, l.biasOffset), (p) => p / 256 / 2 ** l.forwardShift),
    );
    this.b = this.layout.layers.map((l) =>
      Float32Array.from(
        init.subarray(l.biasOffset, l.biasOffset + l.outputs),
        (p) => p / 256 / 2 ** l.forwardShift,
      ),
    );
  }

  private forward(x: Float32Array, rows: number): Float32Array[] {
    const acts = [x];
    this.layout.layers.forEach((layer, l) => {
      const { inputs: n, outputs: m } = layer;
      const a = acts[l];
      const out = new Float32Array(rows * m);
      const w = this.w[l];
      const last = l === this.layout.layers.length - 1;
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < m; o++) {
          let z = this.b[l][o];
          const wo = o * n;
          const ar = r * n;
          for (let i = 0; i < n; i++) z += w[wo + i] * a[ar + i];
          out[r * m + o] = last ? Math.max(-1, Math.min(1, z)) : Math.max(0, Math.min(1, z));
        }
      }
      acts.push(out);
    });
    return acts;
  }

  step(x: Float32Array, labels: Int32Array): void {
    const rows = labels.length;
    const L = this.layout.layers.length;
    const acts = this.forward(x, rows);
    const C = this.layout.classes;
    let g: Float32Array = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < C; c++) {
        const t = c === labels[r] ? 64 / 127 : 0;
        g[r * C + c] = Math.max(-1, Math.min(1, acts[L][r * C + c] - t));
      }
    for (let l = L - 1; l >= 0; l--) {
      const layer = this.layout.layers[l];
      const { inputs: n, outputs: m } = layer;
      const a = acts[l];
      const w = this.w[l];
      let next: Float32Array | undefined;
      if (l > 0) {
        next = new Float32Array(rows * n);
        const scale = 2 ** (layer.forwardShift - layer.backwardShift);
        for (let r = 0; r < rows; r++)
          for (let i = 0; i < n; i++) {
            if (a[r * n + i] <= 0) continue;
            let e = 0;
            for (let o = 0; o < m; o++) e += w[o * n + i] * g[r * m + o];
            next[r * n + i] = Math.max(-1, Math.min(1, e * scale));
          }
      }
      const eta = 127 ** 2 / 2 ** (this.spec.lrShift + 8 + layer.forwardShift);
      const wmax = 127 / 2 ** layer.forwardShift;
      for (let o = 0; o < m; o++) {
        let db = 0;
        for (let r = 0; r < rows; r++) db += g[r * m + o];
        this.b[l][o] = Math.max(-wmax, Math.min(wmax, this.b[l][o] - eta * db));
        for (let i = 0; i < n; i++) {
          let dw = 0;
          for (let r = 0; r < rows; r++) dw += g[r * m + o] * a[r * n + i];
          w[o * n + i] = Math.max(-wmax, Math.min(wmax, w[o * n + i] - eta * dw));
        }
      }
      if (next) g = next;
    }
  }

  /** Correct predictions on `count` examples (argmax, ties to the lowest class). */
  correct(x: Float32Array, labels: Uint16Array, count: number): number {
    const C = this.layout.classes;
    const y = this.forward(x, count)[this.layout.layers.length];
    let ok = 0;
    for (let r = 0; r < count; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (y[r * C + c] > y[r * C + best]) best = c;
      if (best === labels[r]) ok++;
    }
    return ok;
  }
}

/** Float inputs x / 127 of examples `indices` of a part. */
function floatRows(part: DatasetData["train"], indices: ArrayLike<number>): Float32Array {
  const f = part.features;
  const out = new Float32Array(indices.length * f);
  for (let r = 0; r < indices.length; r++)
    for (let i = 0; i < f; i++) out[r * f + i] = part.inputs[indices[r] * f + i] / 127;
  return out;
}

async function stepsPerSecond(
  backend: EngineBackend,
  spec: TrainingSpec,
  data: DatasetData | undefined,
  steps: number,
): Promise<number> {
  const key = deriveKey(spec, SEED);
  const session = await backend.open(spec, key, data);
  try {
    await session.trainSteps(0, 5); // compile and warm the kernels
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const t = performance.now();
      await session.trainSteps(5 + rep * steps, steps);
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return steps / best;
  } finally {
    session.close();
  }
}

/** Runs the version 2 benchmarks into `results`; `benchSpec` is the version 1 bench spec. */
export async function runV2Bench(results: Record<string, number>, benchSpec: TrainingSpec): Promise<void> {
  // --- data access: v2 against v1 at the same widths and batch ---------------------------------
  const synthetic = syntheticDataset(
    4096,
    1000,
    benchSpec.widths[0],
    benchSpec.widths[benchSpec.widths.length - 1],
    7,
    256,
  );
  const v2Bench: TrainingSpec = { ...benchSpec, version: 2, evalSize: 1000, dataset: synthetic.ref };
  const v1 = await stepsPerSecond(wasmBackend, benchSpec, undefined, 200);
  const v2 = await stepsPerSecond(wasmBackend, v2Bench, synthetic, 200);
  results["v2.benchSpec.v1StepsPerSecond"] = round(v1);
  results["v2.benchSpec.stepsPerSecond"] = round(v2);
  results["v2.benchSpec.ratioToV1"] = round(v2 / v1, 3);

  // --- MNIST ------------------------------------------------------------------------------------
  const data = await mnistDataset(path.join(ROOT, "cache", "datasets", "mnist"));
  const spec = datasetSpec(data, MNIST_REFERENCE);
  const v1Mnist: TrainingSpec = { ...spec, version: 1, dataset: undefined, evalSize: 2000 };
  const m1 = await stepsPerSecond(wasmBackend, v1Mnist, undefined, 400);
  const m2 = await stepsPerSecond(wasmBackend, spec, data, 400);
  results["v2.mnist.v1StepsPerSecond"] = round(m1);
  results["v2.mnist.stepsPerSecond"] = round(m2);
  results["v2.mnist.ratioToV1"] = round(m2 / m1, 3);

  const curve: [number, number][] = [];
  const t = performance.now();
  const run = await train(spec, SEED, {
    backend: wasmBackend,
    data,
    onCheckpoint: async ({ index, checkpoint }) => {
      const s = await evaluate(spec, SEED, checkpoint, { backend: wasmBackend, data });
      curve.push([index * spec.checkpointInterval, s.accuracyBps / 100]);
    },
  });
  const trainMs = performance.now() - t;
  const score = await evaluate(spec, SEED, run.final, { backend: wasmBackend, data });
  results["v2.mnist.trainMs"] = round(trainMs);
  results["v2.mnist.accuracyBps"] = score.accuracyBps;
  results["v2.mnist.parameters"] = modelLayout(spec).parameterCount;

  // The float32 yardstick: the same initial weights, batches and steps.
  const key = deriveKey(spec, SEED);
  const mlp = new Float32Mlp(spec, initialWeights(modelLayout(spec), key));
  const evalX = floatRows(
    data.eval,
    Array.from({ length: spec.evalSize }, (_, i) => i),
  );
  const floatCurve: [number, number][] = [
    [0, (100 * mlp.correct(evalX, data.eval.labels, spec.evalSize)) / spec.evalSize],
  ];
  const ft = performance.now();
  for (let s = 0; s < spec.steps; s++) {
    const idx = stepExamples(key, data.train.count, spec.batchSize, s);
    mlp.step(
      floatRows(data.train, idx),
      Int32Array.from(idx, (n) => data.train.labels[n]),
    );
    if ((s + 1) % spec.checkpointInterval === 0) {
      floatCurve.push([s + 1, (100 * mlp.correct(evalX, data.eval.labels, spec.evalSize)) / spec.evalSize]);
    }
  }
  results["v2.mnist.float32.trainMs"] = round(performance.now() - ft);
  const floatBps = Math.floor((10_000 * mlp.correct(evalX, data.eval.labels, spec.evalSize)) / spec.evalSize);
  results["v2.mnist.float32.accuracyBps"] = floatBps;
  results["v2.mnist.gapToFloat32Points"] = round((floatBps - score.accuracyBps) / 100, 2);

  await writeFile(
    PLOT,
    lineChart(
      [
        { label: "int8 engine", color: [200, 40, 40], points: curve.map(([x, y]) => [x, Math.max(80, y)]) },
        {
          label: "float32 reference",
          color: [40, 80, 200],
          points: floatCurve.map(([x, y]) => [x, Math.max(80, y)]),
        },
      ],
      {
        title: `mnist held-out accuracy: mlp [${spec.widths.join(", ")}], batch ${spec.batchSize}`,
        xLabel: "sgd steps",
        yLabel: "accuracy %",
        xMax: spec.steps,
        yMin: 80,
        yMax: 100,
        yTicks: [80, 85, 90, 95, 100],
        xTicks: [0, 1000, 2000, 3000, 4000, 5000],
      },
    ),
  );
  results["v2.mnist.curvePoints"] = curve.length;
}
