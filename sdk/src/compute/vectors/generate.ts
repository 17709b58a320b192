/**
 * Generates the engine's test vectors (vectors.json) with the `js` reference backend, for both
 * engine versions: for each case, (spec, seed[, dataset]) -> the spec's encoding and id, the Philox
 * key, the first training batch, every checkpoint hash, the Merkle root and the evaluation score of
 * the final parameters; version 2 datasets are stored inline with their roots and chunk roots. Any
 * backend must reproduce them (test/engine/vectors.test.ts), and each rule of docs/engine.md is
 * pinned by the vector the document names (test/engine/misreadings.test.ts).
 *
 *   npx tsx sdk/src/compute/vectors/generate.ts          # rewrite vectors.json
 *   npx tsx sdk/src/compute/vectors/generate.ts --check  # exit 1 if it differs
 *
 * Node-only; never imported by the SDK at run time.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { bytesToHex, hexToBytes, keccak256, type Hex } from "viem";
import { commitDataset, DatasetData, type ExampleRows } from "../dataset.js";
import { evaluate, train } from "../engine.js";
import { commit } from "../merkle.js";
import { deriveKey, philox4x32, stepExamples } from "../prng.js";
import { example, teacherWeights } from "../reference.js";
import { encodeSpec, modelLayout, specId, type TrainingSpec } from "../spec.js";
export const VECTORS_PATH = fileURLToPath(new URL("./vectors.json", import.meta.url));

export interface VectorCase {
  readonly name: string;
  readonly spec: TrainingSpec;
  readonly seed: Hex;
  /** Version 2: the name of the dataset in `datasets` (the spec's dataset field is its reference). */
  readonly dataset?: string;
}

/** A small dataset stored whole in the vector file. */
export interface VectorDataset {
  readonly features: number;
  readonly classes: number;
  readonly chunkExamples: number;
  readonly train: VectorDatasetPart;
  readonly eval: VectorDatasetPart;
}

export interface VectorDatasetPart {
  /** The int8 features of every example, row after row, one two's-complement byte each. */
  readonly inputs: Hex;
  readonly labels: readonly number[];
  /** The part's root (the spec's trainRoot / evalRoot). */
  readonly root: Hex;
  /** The chunk roots, chunk 0 first. */
  readonly chunks: readonly Hex[];
}

export interface Vector extends VectorCase {
  /** `encodeSpec(spec)`: the bytes the spec id hashes. */
  readonly specEncoding: Hex;
  readonly specId: Hex;
  /** The Philox key (k0, k1) of (spec, seed). */
  readonly key: { readonly k0: number; readonly k1: number };
  /** Version 2: the training examples (indices into the train part) of step 0, row 0 first. */
  readonly firstBatchExamples?: readonly number[];
  /**
   * keccak256 of the inputs of the rows of step 0 (row 0 first), each input one two's-complement
   * byte: `batchSize · widths[0]` bytes.
   */
  readonly firstBatchInputsHash: Hex;
  /** The labels of the rows of step 0. */
  readonly firstBatchLabels: readonly number[];
  /** Checkpoint hashes, checkpoint 0 first. */
  readonly checkpointHashes: readonly Hex[];
  /** The root of the checkpoint tree. */
  readonly root: Hex;
  /** The final checkpoint's score. */
  readonly score: { readonly correct: number; readonly total: number; readonly accuracyBps: number };
}

export interface VectorFile {
  readonly engineVersions: readonly number[];
  readonly generator: string;
  readonly datasets: Readonly<Record<string, VectorDataset>>;
  readonly vectors: readonly Vector[];
}

/** Deterministic small example arrays (their own Philox stream, not the engine's). */
function rows(count: number, features: number, classes: number, salt: number, skew = 0): ExampleRows {
  const inputs = new Int8Array(count * features);
  const labels = new Uint16Array(count);
  const w = new Uint32Array(4);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < features; i++) {
      philox4x32(n, i, salt, 0xda7a, 0x7e57, 0x0007, w);
      inputs[n * features + i] = Math.max(-128, Math.min(127, (((w[0] & 0xff) << 24) >> 24) + skew));
    }
    philox4x32(n, 0, salt, 0x1abe, 0x7e57, 0x0007, w);
    labels[n] = w[1] % classes;
  }
  return { count, features, inputs, labels };
}

/** The datasets of the version 2 cases: name -> (train, eval, features, classes, chunk, skew). */
const DATASET_CASES: Readonly<Record<string, readonly [number, number, number, number, number, number]>> = {
  "five-examples": [5, 3, 4, 3, 2, 0],
  "odd-chunks": [37, 11, 13, 5, 8, 0],
  bright: [64, 24, 16, 3, 16, 90],
  "two-features": [48, 40, 2, 4, 16, 0],
  "two-classes": [32, 48, 8, 2, 8, 0],
};

/** The committed dataset of a version 2 case. */
export function vectorDatasetData(name: string): DatasetData {
  const c = DATASET_CASES[name];
  if (!c) throw new Error(`no vector dataset named ${name}`);
  const [trainCount, evalCount, features, classes, chunkExamples, skew] = c;
  return commitDataset({
    name,
    features,
    classes,
    train: rows(trainCount, features, classes, 1, skew),
    eval: rows(evalCount, features, classes, 2, skew),
    chunkExamples,
    quantization: { rule: "none", scope: "global", input: "int8", scales: [1] },
  });
}

/** A dataset of the vector file as an engine `DatasetData` (checked: it must rebuild its roots). */
export function datasetOfVector(file: VectorFile, vector: Vector): DatasetData | undefined {
  if (!vector.dataset) return undefined;
  const d = file.datasets[vector.dataset];
  const part = (p: VectorDatasetPart): ExampleRows => ({
    count: p.labels.length,
    features: d.features,
    inputs: Int8Array.from(hexToBytes(p.inputs), (b) => (b << 24) >> 24),
    labels: Uint16Array.from(p.labels),
  });
  const data = commitDataset({
    name: vector.dataset,
    features: d.features,
    classes: d.classes,
    train: part(d.train),
    eval: part(d.eval),
    chunkExamples: d.chunkExamples,
    quantization: { rule: "none", scope: "global", input: "int8", scales: [1] },
  });
  if (data.manifest.train.root !== d.train.root || data.manifest.eval.root !== d.eval.root) {
    throw new Error(`vector dataset ${vector.dataset} does not rebuild its roots`);
  }
  return data;
}

function storedDataset(data: DatasetData): VectorDataset {
  const part = (p: DatasetData["train"]): VectorDatasetPart => ({
    inputs: bytesToHex(new Uint8Array(p.inputs.buffer, p.inputs.byteOffset, p.inputs.length)),
    labels: [...p.labels],
    root: data.manifest[p.part].root as Hex,
    chunks: data.manifest[p.part].chunks as Hex[],
  });
  return {
    features: data.manifest.features,
    classes: data.manifest.classes,
    chunkExamples: data.manifest.train.chunkExamples,
    train: part(data.train),
    eval: part(data.eval),
  };
}

/** A version 2 case over the named dataset. */
function v2Case(
  name: string,
  dataset: string,
  shape: Omit<TrainingSpec, "version" | "dataset" | "widths"> & { hidden: readonly number[] },
  seed: Hex,
): VectorCase {
  const { ref } = vectorDatasetData(dataset);
  const { hidden, ...rest } = shape;
  return {
    name,
    spec: { version: 2, widths: [ref.features, ...hidden, ref.classes], ...rest, dataset: ref },
    seed,
    dataset,
  };
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
  {
    name: "ties",
    spec: {
      version: 1,
      widths: [1, 3, 4],
      batchSize: 16,
      steps: 6,
      checkpointInterval: 3,
      lrShift: 1,
      evalSize: 200,
    },
    seed: "0x7133000000000000000000000000000000000000000000000000000000000007",
  },
  {
    name: "output-clamp",
    spec: {
      version: 1,
      widths: [8, 2, 2],
      batchSize: 8,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 0,
      evalSize: 100,
    },
    seed: "0x000000000000000000000000000000000000000000000000000000000000000a",
  },
  v2Case(
    "v2-output-clamp",
    "two-classes",
    { hidden: [2], batchSize: 8, steps: 4, checkpointInterval: 2, lrShift: 0, evalSize: 40 },
    "0x0000000000000000000000000000000000000000000000000000000000000016",
  ),
  v2Case(
    "v2-wrap",
    "five-examples",
    { hidden: [3], batchSize: 7, steps: 4, checkpointInterval: 1, lrShift: 0, evalSize: 3 },
    "0x0000000000000000000000000000000000000000000000000000000000000001",
  ),
  v2Case(
    "v2-odd-shapes",
    "odd-chunks",
    { hidden: [9, 17], batchSize: 5, steps: 24, checkpointInterval: 4, lrShift: 3, evalSize: 7 },
    "0x0202020202020202020202020202020202020202020202020202020202020202",
  ),
  v2Case(
    "v2-saturating",
    "bright",
    { hidden: [8], batchSize: 64, steps: 10, checkpointInterval: 2, lrShift: 0, evalSize: 24 },
    "0x0000000000000000000000000000000000000000000000000000000000000019",
  ),
  v2Case(
    "v2-ties",
    "two-features",
    { hidden: [3], batchSize: 12, steps: 8, checkpointInterval: 4, lrShift: 1, evalSize: 40 },
    "0x7133000000000000000000000000000000000000000000000000000000000008",
  ),
];

/** Computes one vector with the js backend. */
export async function computeVector(c: VectorCase): Promise<Vector> {
  const layout = modelLayout(c.spec);
  const key = deriveKey(c.spec, c.seed);
  const data = c.dataset ? vectorDatasetData(c.dataset) : undefined;
  const inputs = new Uint8Array(c.spec.batchSize * layout.inputs);
  const labels: number[] = [];
  let firstBatchExamples: number[] | undefined;
  if (data) {
    firstBatchExamples = [...stepExamples(key, data.train.count, c.spec.batchSize, 0)];
    firstBatchExamples.forEach((n, r) => {
      const ex = data.train.example(n);
      inputs.set(new Uint8Array(ex.features.buffer), r * layout.inputs);
      labels.push(ex.label);
    });
  } else {
    const teacher = teacherWeights(layout, key);
    for (let n = 0; n < c.spec.batchSize; n++) {
      const ex = example(layout, key, teacher, n);
      inputs.set(
        Uint8Array.from(ex.x, (v) => v & 0xff),
        n * layout.inputs,
      );
      labels.push(ex.label);
    }
  }
  const run = await train(c.spec, c.seed, { backend: "js", data });
  const score = await evaluate(c.spec, c.seed, run.final, { backend: "js", data });
  return {
    ...c,
    specEncoding: encodeSpec(c.spec),
    specId: specId(c.spec),
    key,
    ...(firstBatchExamples && { firstBatchExamples }),
    firstBatchInputsHash: keccak256(inputs),
    firstBatchLabels: labels,
    checkpointHashes: run.checkpointHashes,
    root: commit(run).root,
    score,
  };
}

export async function generateVectors(): Promise<VectorFile> {
  const vectors: Vector[] = [];
  const datasets: Record<string, VectorDataset> = {};
  for (const c of VECTOR_CASES) {
    vectors.push(await computeVector(c));
    if (c.dataset) datasets[c.dataset] ??= storedDataset(vectorDatasetData(c.dataset));
  }
  return {
    engineVersions: [1, 2],
    generator: "sdk/src/compute/vectors/generate.ts (js backend)",
    datasets,
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
