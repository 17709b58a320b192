/**
 * Building a dataset: numeric examples and raw labels (from formats.ts) -> labels as classes, a
 * deterministic train / eval split, int8 quantisation by a documented rule, and the commitment
 * (`commitDataset`). docs/engine.md, "Quantisation", specifies every rule; nothing here depends on
 * the platform (IEEE-754 double arithmetic only).
 */
import { bytesToHex, hexToBytes, keccak256, toHex, type Hex } from "viem";
import {
  commitDataset,
  type DatasetData,
  type DatasetQuantization,
  type ExampleRows,
} from "@poai/sdk/compute";
import { keccak256Raw } from "@poai/sdk/compute";
import { MAX_WIDTH } from "@poai/sdk/compute";
import { DatasetSourceError, type NumericArray, type SourceKind } from "./formats.js";

/** Thrown for build options or data that cannot make a dataset; names the option or the value. */
export class DatasetBuildError extends Error {
  override readonly name = "DatasetBuildError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message);
  }
}

export type QuantizationRule = "absmax" | "minmax" | "none";
export type QuantizationScope = "global" | "per-feature";

/** Examples as read from a source: numeric features and raw labels (strings or numbers). */
export interface SourceExamples {
  readonly features: NumericArray;
  readonly labels: readonly (string | number)[];
  /** Where they came from (for error messages). */
  readonly file: string;
}

export interface BuildOptions {
  readonly name: string;
  readonly train: SourceExamples;
  /** A separate held-out part; without it, `evalFraction` or `evalCount` of `train` is held out. */
  readonly eval?: SourceExamples;
  /** Fraction of the examples held out when there is no `eval` source; default 0.2. */
  readonly evalFraction?: number;
  /** Examples held out when there is no `eval` source (instead of a fraction). */
  readonly evalCount?: number;
  /** The split order's seed (bytes32); default keccak256("poai-dataset-split"). */
  readonly shuffleSeed?: Hex;
  readonly rule?: QuantizationRule;
  readonly scope?: QuantizationScope;
  /** Class count; default: from the labels (the largest integer label + 1, or the distinct names). */
  readonly classes?: number;
  readonly chunkExamples?: number;
  /** Image shape `[height, width]` (or with channels); default the source's trailing dimensions when 2-D or 3-D. */
  readonly shape?: readonly number[];
  readonly source?: Record<string, unknown>;
}

/** The default split seed: keccak256 of the UTF-8 bytes of "poai-dataset-split". */
export const DEFAULT_SHUFFLE_SEED: Hex = keccak256(toHex("poai-dataset-split"));

/**
 * Round half away from zero, exactly: the integer part plus one when the fraction (exact in double
 * arithmetic) is at least one half. (`Math.floor(x + 0.5)` is wrong for 0.49999999999999994, where
 * the addition itself rounds up.)
 */
export function roundHalfAway(x: number): number {
  const a = Math.abs(x);
  const whole = Math.floor(a);
  const r = a - whole >= 0.5 ? whole + 1 : whole;
  return x < 0 ? -r : r;
}

/**
 * Labels as classes: when every label is a non-negative integer, the integer is the class;
 * otherwise the distinct names sorted by code point are classes 0, 1, …, recorded as `labelNames`.
 */
export function mapLabels(
  all: readonly (readonly (string | number)[])[],
  classes: number | undefined,
): {
  map: (label: string | number, file: string, index: number) => number;
  classes: number;
  names?: string[];
} {
  const flat = all.flat();
  const numeric = flat.every((l) =>
    typeof l === "number" ? Number.isSafeInteger(l) && l >= 0 : /^\d+$/.test(l.trim()),
  );
  if (numeric) {
    const max = flat.reduce<number>((m, l) => Math.max(m, Number(l)), 0);
    const count = classes ?? max + 1;
    if (count < 2)
      throw new DatasetBuildError("classes", count, `a dataset needs at least 2 classes, got ${count}`);
    return {
      classes: count,
      map: (label, file, index) => {
        const v = Number(label);
        if (v >= count)
          throw new DatasetBuildError(
            "label",
            v,
            `${file}: example ${index} has label ${v}, not below the class count ${count}`,
          );
        return v;
      },
    };
  }
  const names = [...new Set(flat.map((l) => String(l).trim()))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes !== undefined && classes !== names.length) {
    throw new DatasetBuildError(
      "classes",
      classes,
      `the labels name ${names.length} classes (${names.join(", ")}), not ${classes}`,
    );
  }
  if (names.length < 2)
    throw new DatasetBuildError(
      "classes",
      names.length,
      `a dataset needs at least 2 classes, got ${names.length} (${names.join(", ")})`,
    );
  const index = new Map(names.map((n, i) => [n, i]));
  return { classes: names.length, names, map: (label) => index.get(String(label).trim())! };
}

/** The quantisation parameters of `rule` over the training part's values. */
export function fitQuantization(
  values: Float64Array,
  rows: number,
  width: number,
  rule: QuantizationRule,
  scope: QuantizationScope,
  input: SourceKind,
): DatasetQuantization {
  if (rule === "none") return { rule, scope: "global", input, scales: [1] };
  const groups = scope === "global" ? 1 : width;
  const lo = new Array<number>(groups).fill(Infinity);
  const hi = new Array<number>(groups).fill(-Infinity);
  const absMax = new Array<number>(groups).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < width; f++) {
      const v = values[r * width + f];
      const g = scope === "global" ? 0 : f;
      if (v < lo[g]) lo[g] = v;
      if (v > hi[g]) hi[g] = v;
      if (Math.abs(v) > absMax[g]) absMax[g] = Math.abs(v);
    }
  }
  if (rule === "absmax") {
    return { rule, scope, input, scales: absMax.map((m) => (m > 0 ? 127 / m : 0)) };
  }
  return {
    rule,
    scope,
    input,
    scales: lo.map((l, g) => (hi[g] > l ? 254 / (hi[g] - l) : 0)),
    offsets: lo,
  };
}

/** Quantises one value of feature `f` by `q` (docs/engine.md, "Quantisation"). */
export function quantize(q: DatasetQuantization, f: number, x: number): number {
  const g = q.scope === "global" ? 0 : f;
  if (q.rule === "none") return x;
  if (q.rule === "absmax") return Math.max(-127, Math.min(127, roundHalfAway(x * q.scales[g])));
  return Math.max(-127, Math.min(127, roundHalfAway((x - q.offsets![g]) * q.scales[g]) - 127));
}

function quantizeRows(
  source: SourceExamples,
  order: readonly number[],
  q: DatasetQuantization,
  label: (l: string | number, file: string, index: number) => number,
): ExampleRows {
  const { width, values } = source.features;
  const inputs = new Int8Array(order.length * width);
  const labels = new Uint16Array(order.length);
  order.forEach((n, r) => {
    for (let f = 0; f < width; f++) {
      const x = values[n * width + f];
      if (q.rule === "none" && !(Number.isInteger(x) && x >= -128 && x <= 127)) {
        throw new DatasetBuildError(
          "rule",
          x,
          `${source.file}: example ${n}, feature ${f} is ${x}: rule "none" needs integers in -128..127 (use absmax or minmax)`,
        );
      }
      inputs[r * width + f] = quantize(q, f, x);
    }
    labels[r] = label(source.labels[n], source.file, n);
  });
  return { count: order.length, features: width, inputs, labels };
}

/** The split order: example indices sorted by keccak256(seed ‖ uint32 index, big-endian). */
export function shuffledOrder(count: number, seed: Hex): number[] {
  const input = new Uint8Array(36);
  input.set(hexToBytes(seed));
  const view = new DataView(input.buffer);
  const keys = Array.from({ length: count }, (_, i) => {
    view.setUint32(32, i, false);
    return { i, k: bytesToHex(keccak256Raw(input)) };
  });
  keys.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keys.map((x) => x.i);
}

function checkSource(source: SourceExamples, field: string): void {
  const { rows, width } = source.features;
  if (rows !== source.labels.length) {
    throw new DatasetSourceError(source.file, `${rows} examples but ${source.labels.length} labels`);
  }
  if (rows < 1) throw new DatasetBuildError(field, rows, `${source.file}: no examples`);
  if (width < 1 || width > MAX_WIDTH) {
    throw new DatasetBuildError(
      field,
      width,
      `${source.file}: an example must have 1..${MAX_WIDTH} features, got ${width}`,
    );
  }
}

/**
 * Builds and commits a dataset from source examples (see the module comment). The split is
 * deterministic: with no `eval` source, the examples are ordered by `shuffledOrder(count,
 * shuffleSeed)` and the first `evalCount` (or `round(evalFraction · count)`) are held out, the rest
 * train, each in that order; with an `eval` source, both keep their file order.
 */
export function buildDataset(options: BuildOptions): DatasetData {
  const rule = options.rule ?? "absmax";
  const scope = options.scope ?? "global";
  checkSource(options.train, "train");
  if (options.eval) {
    checkSource(options.eval, "eval");
    if (options.eval.features.width !== options.train.features.width) {
      throw new DatasetBuildError(
        "eval",
        options.eval.features.width,
        `${options.eval.file} has ${options.eval.features.width} features, ${options.train.file} ${options.train.features.width}`,
      );
    }
  }
  const count = options.train.features.rows;
  let trainOrder: number[];
  let evalOrder: number[];
  let evalSource: SourceExamples;
  if (options.eval) {
    trainOrder = Array.from({ length: count }, (_, i) => i);
    evalOrder = Array.from({ length: options.eval.features.rows }, (_, i) => i);
    evalSource = options.eval;
  } else {
    const fraction = options.evalFraction ?? 0.2;
    if (!(fraction > 0 && fraction < 1))
      throw new DatasetBuildError(
        "evalFraction",
        fraction,
        `evalFraction must be between 0 and 1 (exclusive), got ${fraction}`,
      );
    const held = options.evalCount ?? Math.round(fraction * count);
    if (!Number.isSafeInteger(held) || held < 1 || held >= count) {
      throw new DatasetBuildError(
        "evalCount",
        held,
        `evalCount must be in 1..${count - 1} (keep at least one training example), got ${held}`,
      );
    }
    const order = shuffledOrder(count, options.shuffleSeed ?? DEFAULT_SHUFFLE_SEED);
    evalOrder = order.slice(0, held);
    trainOrder = order.slice(held);
    evalSource = options.train;
  }
  const labels = mapLabels(
    [trainOrder.map((n) => options.train.labels[n]), evalOrder.map((n) => evalSource.labels[n])],
    options.classes,
  );
  // The quantisation is fitted on the training part alone.
  const { width, values, kind } = options.train.features;
  const trainValues = new Float64Array(trainOrder.length * width);
  trainOrder.forEach((n, r) => trainValues.set(values.subarray(n * width, (n + 1) * width), r * width));
  const q = fitQuantization(trainValues, trainOrder.length, width, rule, scope, kind);
  const shape =
    options.shape ?? (options.train.features.shape.length >= 2 ? options.train.features.shape : undefined);
  return commitDataset({
    name: options.name,
    features: width,
    classes: labels.classes,
    train: quantizeRows(options.train, trainOrder, q, labels.map),
    eval: quantizeRows(evalSource, evalOrder, q, labels.map),
    ...(options.chunkExamples !== undefined && { chunkExamples: options.chunkExamples }),
    quantization: q,
    ...(shape && { shape }),
    ...(labels.names && { labelNames: labels.names }),
    ...(options.source && { source: options.source }),
  });
}
