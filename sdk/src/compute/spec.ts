/**
 * Training specs: the type, its validation, its canonical ABI encoding and its id.
 *
 * The on-chain twins of {@link TrainingSpec} (field order and types are part of the encoding):
 *
 * ```solidity
 * struct TrainingSpec {
 *     uint16 version;            // engine version, 1 or 2
 *     uint32[] widths;           // layer widths: inputs, hidden..., classes
 *     uint32 batchSize;          // training examples per SGD step
 *     uint32 steps;              // SGD steps in the run
 *     uint32 checkpointInterval; // steps between checkpoints (divides steps)
 *     uint8 lrShift;             // update = round(batch gradient / 2^lrShift)
 *     uint32 evalSize;           // evaluation examples
 * }
 * struct DatasetRef {            // engine version 2 only: the committed dataset
 *     bytes32 trainRoot;         // Merkle root over the training examples
 *     uint32 trainCount;
 *     bytes32 evalRoot;          // Merkle root over the held-out evaluation examples
 *     uint32 evalCount;
 *     uint32 features;           // = widths[0]
 *     uint32 classes;            // = widths[widths.length - 1]
 * }
 * // version 1: specId = keccak256(abi.encode(spec))
 * // version 2: specId = keccak256(abi.encode(spec, dataset))
 * ```
 *
 * Invariants a valid spec guarantees (checked by {@link validateSpec}):
 * - every int32 accumulator of the algorithm stays below 2^31 in magnitude, including the
 *   rounding offset: contraction lengths (widths, batch size) are at most {@link MAX_WIDTH},
 *   and 65536 · 128 · 128 + 128 · 127 + 2^23 < 2^31;
 * - a run holds O(parameters + batch · width) memory: at most {@link MAX_PARAMETERS} parameters
 *   and {@link MAX_ACTIVATIONS} activations per step;
 * - the checkpoint list fits in a Merkle tree held in memory: at most {@link MAX_CHECKPOINTS} + 1.
 */
import { encodeAbiParameters, keccak256, type Hex } from "viem";

/** Engine versions this code can run: 1 (seed-generated data), 2 (a committed dataset). */
export const ENGINE_VERSIONS = [1, 2] as const;
export type EngineVersion = (typeof ENGINE_VERSIONS)[number];

/** Largest layer width and batch size (the contraction lengths of every matrix product). */
export const MAX_WIDTH = 65_536;
/** Most layers (weight matrices) in a model. */
export const MAX_LAYERS = 16;
/** Most parameters (weights and biases, all layers) in a model. */
export const MAX_PARAMETERS = 1 << 26;
/** Most activations a step holds: `batchSize · sum(widths)`. */
export const MAX_ACTIVATIONS = 1 << 26;
/** Most checkpoints after checkpoint 0 (`steps / checkpointInterval`). */
export const MAX_CHECKPOINTS = 1 << 20;
/** Largest step count (uint32). */
export const MAX_STEPS = 0xffff_ffff;
/** Largest evaluation set. */
export const MAX_EVAL_SIZE = 1 << 24;
/** Largest learning-rate shift. */
export const MAX_LR_SHIFT = 24;
/** Most examples in one part (train or evaluation) of a dataset (uint32). */
export const MAX_DATASET_EXAMPLES = 0xffff_ffff;

/**
 * The dataset a version 2 spec trains on: the Merkle roots of its training and held-out evaluation
 * examples (see `dataset.ts`), their counts and the dataset's widths. Everything here is covered by
 * the spec id; where the examples can be fetched (URLs) is not, since it does not change the run.
 */
export interface DatasetRef {
  /** Root of the example tree of the training part. */
  readonly trainRoot: Hex;
  /** Training examples. */
  readonly trainCount: number;
  /** Root of the example tree of the held-out evaluation part. */
  readonly evalRoot: Hex;
  /** Evaluation examples (the spec evaluates the first `evalSize` of them). */
  readonly evalCount: number;
  /** Feature width of every example: the spec's `widths[0]`. */
  readonly features: number;
  /** Class count: the spec's last width; every label is below it. */
  readonly classes: number;
}

/** Everything that fixes a training run, apart from the seed. */
export interface TrainingSpec {
  /** Engine version: 1 (data generated from the seed) or 2 (the committed dataset `dataset`). */
  readonly version: number;
  /** Layer widths: `[inputs, hidden..., classes]`, at least two entries. */
  readonly widths: readonly number[];
  /** Training examples per SGD step. */
  readonly batchSize: number;
  /** SGD steps in the run. */
  readonly steps: number;
  /** Steps between two checkpoints; divides `steps`. */
  readonly checkpointInterval: number;
  /** The weight update is the batch gradient sum divided by 2^lrShift (rounded). */
  readonly lrShift: number;
  /**
   * Evaluation examples. Version 1: drawn after all training examples, so never trained on;
   * version 2: the first `evalSize` examples of the dataset's held-out part.
   */
  readonly evalSize: number;
  /** Version 2 only (required there): the committed dataset. */
  readonly dataset?: DatasetRef;
}

/** Thrown for a spec that the engine cannot run; the message names the field and the value. */
export class TrainingSpecError extends Error {
  override readonly name = "TrainingSpecError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message);
  }
}

/** ABI type of the spec, in the field order of the Solidity struct. */
export const TRAINING_SPEC_ABI = [
  {
    name: "spec",
    type: "tuple",
    components: [
      { name: "version", type: "uint16" },
      { name: "widths", type: "uint32[]" },
      { name: "batchSize", type: "uint32" },
      { name: "steps", type: "uint32" },
      { name: "checkpointInterval", type: "uint32" },
      { name: "lrShift", type: "uint8" },
      { name: "evalSize", type: "uint32" },
    ],
  },
] as const;

/** ABI type of the dataset reference of a version 2 spec, in the field order of `DatasetRef`. */
export const DATASET_REF_ABI = {
  name: "dataset",
  type: "tuple",
  components: [
    { name: "trainRoot", type: "bytes32" },
    { name: "trainCount", type: "uint32" },
    { name: "evalRoot", type: "bytes32" },
    { name: "evalCount", type: "uint32" },
    { name: "features", type: "uint32" },
    { name: "classes", type: "uint32" },
  ],
} as const;

/** The parameters a version 2 spec id hashes: `abi.encode(spec, dataset)`. */
export const TRAINING_SPEC_V2_ABI = [TRAINING_SPEC_ABI[0], DATASET_REF_ABI] as const;

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function checkRange(field: string, value: unknown, min: number, max: number): number {
  if (!isInt(value) || value < min || value > max) {
    throw new TrainingSpecError(
      field,
      value,
      `${field} must be an integer in ${min}..${max}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Checks that `spec` is runnable by this engine and returns it with plain arrays.
 * @throws TrainingSpecError naming the first offending field and its value.
 */
export function validateSpec(spec: TrainingSpec): TrainingSpec {
  if (typeof spec !== "object" || spec === null) {
    throw new TrainingSpecError("spec", spec, `spec must be an object, got ${String(spec)}`);
  }
  if (!(ENGINE_VERSIONS as readonly number[]).includes(spec.version)) {
    throw new TrainingSpecError(
      "version",
      spec.version,
      `version must be one of ${ENGINE_VERSIONS.join(", ")}, got ${String(spec.version)}`,
    );
  }
  const widths = spec.widths as unknown;
  if (!Array.isArray(widths) || widths.length < 2 || widths.length > MAX_LAYERS + 1) {
    const got = Array.isArray(widths) ? `${widths.length} entries` : String(widths);
    throw new TrainingSpecError(
      "widths",
      widths,
      `widths must list 2..${MAX_LAYERS + 1} layer widths (inputs, hidden..., classes), got ${got}`,
    );
  }
  widths.forEach((w: unknown, i: number) => {
    const min = i === widths.length - 1 ? 2 : 1;
    checkRange(`widths[${i}]`, w, min, MAX_WIDTH);
  });
  let parameters = 0;
  for (let l = 0; l + 1 < widths.length; l++) parameters += (widths[l] + 1) * widths[l + 1];
  if (parameters > MAX_PARAMETERS) {
    throw new TrainingSpecError(
      "widths",
      widths,
      `widths [${widths.join(", ")}] give ${parameters} parameters, more than ${MAX_PARAMETERS}`,
    );
  }
  const batchSize = checkRange("batchSize", spec.batchSize, 1, MAX_WIDTH);
  const activations = batchSize * (widths as number[]).reduce((a, b) => a + b, 0);
  if (activations > MAX_ACTIVATIONS) {
    throw new TrainingSpecError(
      "batchSize",
      batchSize,
      `batchSize ${batchSize} times the sum of widths gives ${activations} activations per step, more than ${MAX_ACTIVATIONS}`,
    );
  }
  const steps = checkRange("steps", spec.steps, 1, MAX_STEPS);
  const interval = checkRange("checkpointInterval", spec.checkpointInterval, 1, steps);
  if (steps % interval !== 0) {
    throw new TrainingSpecError(
      "steps",
      steps,
      `steps must be a multiple of checkpointInterval ${interval}, got ${steps}`,
    );
  }
  if (steps / interval > MAX_CHECKPOINTS) {
    throw new TrainingSpecError(
      "checkpointInterval",
      interval,
      `checkpointInterval must leave at most ${MAX_CHECKPOINTS} checkpoints after checkpoint 0, got ${interval} (${steps / interval} checkpoints)`,
    );
  }
  const lrShift = checkRange("lrShift", spec.lrShift, 0, MAX_LR_SHIFT);
  const evalSize = checkRange("evalSize", spec.evalSize, 1, MAX_EVAL_SIZE);
  const base = {
    version: spec.version,
    widths: [...(widths as number[])],
    batchSize,
    steps,
    checkpointInterval: interval,
    lrShift,
    evalSize,
  };
  if (spec.version === 1) {
    if (spec.dataset !== undefined) {
      throw new TrainingSpecError(
        "dataset",
        spec.dataset,
        `dataset is for engine version 2 specs only; version 1 generates its data from the seed`,
      );
    }
    return base;
  }
  return { ...base, dataset: validateDatasetRef(spec.dataset, base.widths, evalSize) };
}

function checkRoot(field: string, value: unknown): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new TrainingSpecError(
      field,
      value,
      `${field} must be a 0x-prefixed 32-byte hex string, got ${String(value)}`,
    );
  }
  return value.toLowerCase() as Hex;
}

/** Checks the dataset reference of a version 2 spec against its widths and evaluation size. */
function validateDatasetRef(dataset: unknown, widths: readonly number[], evalSize: number): DatasetRef {
  if (typeof dataset !== "object" || dataset === null) {
    throw new TrainingSpecError(
      "dataset",
      dataset,
      `dataset must be an object { trainRoot, trainCount, evalRoot, evalCount, features, classes } for engine version 2, got ${String(dataset)}`,
    );
  }
  const d = dataset as Record<string, unknown>;
  const trainRoot = checkRoot("dataset.trainRoot", d.trainRoot);
  const trainCount = checkRange("dataset.trainCount", d.trainCount, 1, MAX_DATASET_EXAMPLES);
  const evalRoot = checkRoot("dataset.evalRoot", d.evalRoot);
  const evalCount = checkRange("dataset.evalCount", d.evalCount, 1, MAX_DATASET_EXAMPLES);
  const features = checkRange("dataset.features", d.features, 1, MAX_WIDTH);
  const classes = checkRange("dataset.classes", d.classes, 2, MAX_WIDTH);
  if (features !== widths[0]) {
    throw new TrainingSpecError(
      "dataset.features",
      features,
      `dataset.features must equal widths[0] (${widths[0]}), got ${features}`,
    );
  }
  if (classes !== widths[widths.length - 1]) {
    throw new TrainingSpecError(
      "dataset.classes",
      classes,
      `dataset.classes must equal the last width (${widths[widths.length - 1]}), got ${classes}`,
    );
  }
  if (evalSize > evalCount) {
    throw new TrainingSpecError(
      "evalSize",
      evalSize,
      `evalSize must be at most dataset.evalCount ${evalCount}, got ${evalSize}`,
    );
  }
  return { trainRoot, trainCount, evalRoot, evalCount, features, classes };
}

/**
 * The bytes a spec id hashes, byte-identical to Solidity's: version 1 `abi.encode(spec)`, version 2
 * `abi.encode(spec, dataset)` (the struct above, then the dataset reference). Both start with the
 * offset word 0x20 of the dynamic `TrainingSpec` tuple (see docs/engine.md, "Training spec").
 */
export function encodeSpec(spec: TrainingSpec): Hex {
  const s = validateSpec(spec);
  const base = {
    version: s.version,
    widths: s.widths,
    batchSize: s.batchSize,
    steps: s.steps,
    checkpointInterval: s.checkpointInterval,
    lrShift: s.lrShift,
    evalSize: s.evalSize,
  };
  if (s.dataset === undefined) return encodeAbiParameters(TRAINING_SPEC_ABI, [base]);
  return encodeAbiParameters(TRAINING_SPEC_V2_ABI, [base, s.dataset]);
}

/** The spec's dataset, or a `TrainingSpecError` for a version 1 spec (which has none). */
export function specDataset(spec: TrainingSpec): DatasetRef {
  const s = validateSpec(spec);
  if (s.dataset === undefined) {
    throw new TrainingSpecError(
      "version",
      s.version,
      `a dataset needs an engine version 2 spec, got version ${s.version}`,
    );
  }
  return s.dataset;
}

/** `keccak256(encodeSpec(spec))`, the id under which contracts store a spec. */
export function specId(spec: TrainingSpec): Hex {
  return keccak256(encodeSpec(spec));
}

/** Shape and fixed-point constants of one layer (weight matrix) of a model. */
export interface LayerShape {
  /** Width of the layer's input. */
  readonly inputs: number;
  /** Width of the layer's output. */
  readonly outputs: number;
  /** Index of the first weight (row-major `[outputs][inputs]`) in the parameter vector. */
  readonly weightOffset: number;
  /** Index of the first bias (`[outputs]`) in the parameter vector. */
  readonly biasOffset: number;
  /** Right shift that requantizes this layer's int32 pre-activations to int8. */
  readonly forwardShift: number;
  /** Right shift that requantizes the int32 error propagated through this layer to int8. */
  readonly backwardShift: number;
}

/** Everything derived from a spec that an engine needs to lay out a run. */
export interface ModelLayout {
  readonly layers: readonly LayerShape[];
  readonly parameterCount: number;
  /** Bytes of an encoded checkpoint: 8 (step) + 2 per parameter. */
  readonly checkpointBytes: number;
  /** Checkpoints including checkpoint 0: `steps / checkpointInterval + 1`. */
  readonly checkpointCount: number;
  readonly inputs: number;
  readonly classes: number;
  readonly maxWidth: number;
}

/** Smallest k with 4^k >= n, i.e. ceil(log2(n) / 2), in integers. */
export function ceilHalfLog2(n: number): number {
  let k = 0;
  while (4 ** k < n) k++;
  return k;
}

/** Base of the requantization shifts (engine version 1). */
export const SHIFT_BASE = 6;

/** The layout of a (valid) spec's model. */
export function modelLayout(spec: TrainingSpec): ModelLayout {
  const s = validateSpec(spec);
  const layers: LayerShape[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < s.widths.length; l++) {
    const inputs = s.widths[l];
    const outputs = s.widths[l + 1];
    layers.push({
      inputs,
      outputs,
      weightOffset: offset,
      biasOffset: offset + inputs * outputs,
      forwardShift: SHIFT_BASE + ceilHalfLog2(inputs),
      backwardShift: SHIFT_BASE + ceilHalfLog2(outputs),
    });
    offset += (inputs + 1) * outputs;
  }
  return {
    layers,
    parameterCount: offset,
    checkpointBytes: 8 + 2 * offset,
    checkpointCount: s.steps / s.checkpointInterval + 1,
    inputs: s.widths[0],
    classes: s.widths[s.widths.length - 1],
    maxWidth: Math.max(...s.widths),
  };
}

/** Multiply-accumulates of one SGD step (forward, weight gradient, error propagation). */
export function macsPerStep(spec: TrainingSpec): number {
  const layout = modelLayout(spec);
  let macs = 0;
  layout.layers.forEach((layer, l) => {
    const products = layer.inputs * layer.outputs;
    macs += (l === 0 ? 2 : 3) * products * spec.batchSize;
  });
  return macs;
}
