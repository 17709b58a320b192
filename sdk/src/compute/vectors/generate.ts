/**
 * Generates the engine's test vectors (vectors.json) with the `js` reference backend: for each
 * case, (spec, seed) -> spec id, every checkpoint hash, the Merkle root, the evaluation score of
 * the final parameters, and the first training batch (inputs hash, labels) for debugging a new
 * backend's data generation. Any backend must reproduce them (test/engine/vectors.test.ts).
 *
 *   npx tsx sdk/src/compute/vectors/generate.ts          # rewrite vectors.json
 *   npx tsx sdk/src/compute/vectors/generate.ts --check  # exit 1 if it differs
 *
 * Node-only; never imported by the SDK at run time.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { keccak256, type Hex } from "viem";
import { evaluate, train } from "../engine.js";
import { commit } from "../merkle.js";
import { deriveKey } from "../prng.js";
import { example, teacherWeights } from "../reference.js";
import { modelLayout, specId, type TrainingSpec } from "../spec.js";

export const VECTORS_PATH = fileURLToPath(new URL("./vectors.json", import.meta.url));

export interface VectorCase {
  readonly name: string;
  readonly spec: TrainingSpec;
  readonly seed: Hex;
}

export interface Vector extends VectorCase {
  readonly specId: Hex;
  /** keccak256 of the int8 inputs of training examples 0 .. batchSize - 1, concatenated. */
  readonly firstBatchInputsHash: Hex;
  readonly firstBatchLabels: readonly number[];
  readonly checkpointHashes: readonly Hex[];
  readonly root: Hex;
  readonly score: { readonly correct: number; readonly total: number; readonly accuracyBps: number };
}

export interface VectorFile {
  readonly engineVersion: 1;
  readonly generator: string;
  readonly vectors: readonly Vector[];
}

/** The cases: odd shapes, saturation, depth, and a prefix of the reference spec. */
export const VECTOR_CASES: readonly VectorCase[] = [
  {
    name: "tiny",
    spec: {
      version: 1,
      widths: [4, 3, 2],
      batchSize: 1,
      steps: 4,
      checkpointInterval: 1,
      lrShift: 0,
      evalSize: 5,
    },
    seed: "0x0000000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "odd-shapes",
    spec: {
      version: 1,
      widths: [13, 9, 17, 3],
      batchSize: 5,
      steps: 12,
      checkpointInterval: 4,
      lrShift: 3,
      evalSize: 37,
    },
    seed: "0x0101010101010101010101010101010101010101010101010101010101010101",
  },
  {
    name: "saturating",
    spec: {
      version: 1,
      widths: [16, 8, 3],
      batchSize: 64,
      steps: 10,
      checkpointInterval: 2,
      lrShift: 0,
      evalSize: 64,
    },
    seed: "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  },
  {
    name: "deep",
    spec: {
      version: 1,
      widths: [8, 16, 16, 16, 4],
      batchSize: 8,
      steps: 16,
      checkpointInterval: 8,
      lrShift: 4,
      evalSize: 40,
    },
    seed: "0x5eed000000000000000000000000000000000000000000000000000000000005",
  },
  {
    name: "wide",
    spec: {
      version: 1,
      widths: [70, 40, 10],
      batchSize: 9,
      steps: 20,
      checkpointInterval: 5,
      lrShift: 5,
      evalSize: 50,
    },
    seed: "0x8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d",
  },
  {
    name: "reference-prefix",
    spec: {
      version: 1,
      widths: [64, 128, 128, 10],
      batchSize: 32,
      steps: 100,
      checkpointInterval: 50,
      lrShift: 4,
      evalSize: 200,
    },
    seed: "0x706f61692d656e67696e652d7265666572656e63652d73656564000000000001",
  },
];

/** Computes one vector with the js backend. */
export async function computeVector(c: VectorCase): Promise<Vector> {
  const layout = modelLayout(c.spec);
  const key = deriveKey(c.spec, c.seed);
  const teacher = teacherWeights(layout, key);
  const inputs = new Uint8Array(c.spec.batchSize * layout.inputs);
  const labels: number[] = [];
  for (let n = 0; n < c.spec.batchSize; n++) {
    const ex = example(layout, key, teacher, n);
    inputs.set(
      Uint8Array.from(ex.x, (v) => v & 0xff),
      n * layout.inputs,
    );
    labels.push(ex.label);
  }
  const run = await train(c.spec, c.seed, { backend: "js" });
  const score = await evaluate(c.spec, c.seed, run.final, { backend: "js" });
  return {
    ...c,
    specId: specId(c.spec),
    firstBatchInputsHash: keccak256(inputs),
    firstBatchLabels: labels,
    checkpointHashes: run.checkpointHashes,
    root: commit(run).root,
    score,
  };
}

export async function generateVectors(): Promise<VectorFile> {
  const vectors: Vector[] = [];
  for (const c of VECTOR_CASES) vectors.push(await computeVector(c));
  return {
    engineVersion: 1,
    generator: "sdk/src/compute/vectors/generate.ts (js backend)",
    vectors,
  };
}

export function renderVectors(file: VectorFile): string {
  return JSON.stringify(file, null, 2) + "\n";
}

async function main(): Promise<void> {
  const text = renderVectors(await generateVectors());
  if (process.argv.includes("--check")) {
    const current = await readFile(VECTORS_PATH, "utf8").catch(() => "");
    if (current !== text) {
      process.stderr.write("vectors.json differs from the js backend's output\n");
      process.exit(1);
    }
    process.stdout.write("vectors.json matches the js backend\n");
    return;
  }
  await writeFile(VECTORS_PATH, text);
  process.stdout.write(`wrote ${VECTORS_PATH}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
