/**
 * Small deterministic datasets for the engine tests: random int8 features and labels drawn from a
 * Philox stream of their own (not the engine's), committed with `commitDataset`.
 */
import type { Hex } from "viem";
import {
  commitDataset,
  philox4x32,
  type DatasetData,
  type ExampleRows,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";

/** `count` examples of `features` int8 values and labels below `classes`, fixed by `salt`. */
export function syntheticRows(count: number, features: number, classes: number, salt: number): ExampleRows {
  const inputs = new Int8Array(count * features);
  const labels = new Uint16Array(count);
  const w = new Uint32Array(4);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < features; i += 4) {
      philox4x32(n, i, salt, 0x5eed, 0xd47a, 0x5e75, w);
      for (let j = 0; j < 4 && i + j < features; j++)
        inputs[n * features + i + j] = ((w[j] & 0xff) << 24) >> 24;
    }
    philox4x32(n, 0, salt, 0x1abe1, 0xd47a, 0x5e75, w);
    labels[n] = w[0] % classes;
  }
  return { count, features, inputs, labels };
}

/** A committed synthetic dataset. */
export function syntheticDataset(
  trainCount: number,
  evalCount: number,
  features: number,
  classes: number,
  salt = 1,
  chunkExamples?: number,
): DatasetData {
  return commitDataset({
    name: `synthetic-${salt}`,
    features,
    classes,
    train: syntheticRows(trainCount, features, classes, 2 * salt),
    eval: syntheticRows(evalCount, features, classes, 2 * salt + 1),
    ...(chunkExamples !== undefined && { chunkExamples }),
    quantization: { rule: "none", scope: "global", input: "int8", scales: [1] },
  });
}

/** A version 2 spec over `data` with the given shape. */
export function v2Spec(
  data: DatasetData,
  shape: Omit<TrainingSpec, "version" | "dataset" | "widths"> & { hidden: readonly number[] },
): TrainingSpec {
  const { hidden, ...rest } = shape;
  return { version: 2, widths: [data.ref.features, ...hidden, data.ref.classes], ...rest, dataset: data.ref };
}

export const SEED: Hex = `0x${"5a".repeat(32)}`;
