/**
 * The reference spec: the run docs/engine.md reports an accuracy for, and that the learning test
 * trains in CI. Ten classes (chance: 10%), two hidden layers.
 */
import type { Hex } from "viem";
import type { TrainingSpec } from "./spec.js";

export const REFERENCE_SPEC: TrainingSpec = {
  version: 1,
  widths: [64, 128, 128, 10],
  batchSize: 32,
  steps: 2000,
  checkpointInterval: 100,
  lrShift: 4,
  evalSize: 4000,
};

/** The seed the documented figures were measured with (any seed works). */
export const REFERENCE_SEED: Hex = "0x706f61692d656e67696e652d7265666572656e63652d73656564000000000001";
