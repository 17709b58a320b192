/**
 * The score of an operation-sampling run checked without its final checkpoint (docs/verifier.md,
 * "Audit modes", "The score"). For a spec audited by sampling, the trainer commits in the final
 * checkpoint's leaf (its `stepRoot`, zero in a segment-replay run) the **evaluation root**, before
 * it learns any sample:
 *
 *   evalRoot = keccak256(predictionsRoot ‖ examplesRoot)
 *
 * - `predictionsRoot`: the byte tree (docs/disputes.md, "Byte trees") of the predicted class of
 *   every evaluation example, int32 little-endian, example 0 first (`4 · evalSize` bytes);
 * - `examplesRoot`: the binary Merkle tree (keccak256(left ‖ right), zero-padded, as the step-state
 *   tree of a segment) over the state hash of each example's forward pass, `keccak256(root(Θ) ‖
 *   root(X) ‖ root(A_1) ‖ … ‖ root(A_L))`: the slots of an inference (docs/disputes.md, "Inference
 *   games"), Θ the final parameters, X the example's input row, A_l its activations by the forward
 *   rules (`A_l[o] = requant(127 · b[o] + Σ_i w[o][i] · A_{l-1}[i])`).
 *
 * A validator fetches the predictions (`4 · evalSize` bytes), proves them under the root with the
 * examples root, and computes the score itself against the labels it knows (the spec's evaluation
 * set); it then draws examples from the audit seed and checks, for each, the example's state under
 * the examples root, Θ's root against the final checkpoint's parameter root, X against the input it
 * computes itself, every output element A_L[c] by its fold over a weight row proven under Θ, that
 * the prediction is the argmax of those outputs, and `hidden` further forward elements of the hidden
 * layers drawn uniformly ({@link checkEvalSample}). Browser-safe.
 */
import {
  bytesToHex,
  concat,
  encodeAbiParameters,
  hexToBigInt,
  hexToBytes,
  keccak256,
  toHex,
  type Hex,
} from "viem";
import type { EngineData } from "../backend.js";
import type { EngineKey } from "../prng.js";
import {
  BIAS_INPUT,
  argmax,
  clamp,
  effectiveLayer,
  effectiveWeight,
  example,
  forward,
  gatherRows,
  roundShift,
  teacherWeights,
} from "../reference.js";
import { modelLayout, validateSpec, type TrainingSpec } from "../spec.js";
import { elementAt, inferenceActSlot, inferenceSlots, type Slot } from "./layout.js";
import { chunkOperands, initOperands, type OperandRange } from "./ops.js";
import { stateHash, stepStateProof, stepStatesRoot, verifyStateProof } from "./sampling.js";
import { thetaBytes } from "./trace.js";
import { ByteTree, LEAF_BYTES, leafCountOf, verifyLeafProof } from "./tree.js";
import type { LeafProof } from "./game.js";

/** Inputs and labels of evaluation examples `first .. first + count - 1` of (spec, key), as the engine evaluates them. */
export function evalExamples(
  spec: TrainingSpec,
  key: EngineKey,
  first: number,
  count: number,
  data?: EngineData,
): { x: Int32Array; labels: Int32Array } {
  const s = validateSpec(spec);
  const layout = modelLayout(s);
  if (s.version === 2) {
    if (!data) throw new RangeError("an engine version 2 evaluation needs its dataset rows (data)");
    return gatherRows(
      data.eval,
      Array.from({ length: count }, (_, r) => first + r),
    );
  }
  const teacher = teacherWeights(layout, key);
  const x = new Int32Array(count * layout.inputs);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const ex = example(layout, key, teacher, s.steps * s.batchSize + first + r);
    x.set(ex.x, r * layout.inputs);
    labels[r] = ex.label;
  }
  return { x, labels };
}

const int8Bytes = (values: Int32Array, from = 0, to = values.length): Uint8Array => {
  const out = new Uint8Array(to - from);
  for (let k = from; k < to; k++) out[k - from] = values[k] & 0xff;
  return out;
};

/** Examples traced per forward batch while a trace is built. */
const EVAL_BATCH = 64;

/** The forward pass of one evaluation example: its slot bytes (X, A_1 … A_L) and their trees. */
export interface ExampleState {
  /** `bytes[slot]` for slots 1 … L + 1 of {@link inferenceSlots} (index 0 unused: Θ is the run's). */
  readonly bytes: Uint8Array[];
  readonly trees: ByteTree[];
  /** The slot roots, Θ first. */
  readonly roots: Hex[];
  readonly prediction: number;
}

/**
 * The evaluation trace of parameters `weights` (the final checkpoint of a run of (spec, key)): the
 * trainer's side. Keeps the predictions and the examples' state hashes; an example's tensors are
 * recomputed when it is sampled ({@link EvalTrace.example}).
 */
export class EvalTrace {
  readonly spec: TrainingSpec;
  readonly predictions: Int32Array;
  readonly hashes: Hex[];
  readonly predictionsRoot: Hex;
  readonly examplesRoot: Hex;
  readonly root: Hex;
  /** Examples whose prediction is their label (what `evaluate` counts). */
  readonly correct: number;
  readonly parameterRoot: Hex;
  private readonly thetaTree: ByteTree;
  private readonly theta: Uint8Array;
  protected readonly eff: { w: Int32Array; b: Int32Array }[];

  constructor(
    spec: TrainingSpec,
    readonly key: EngineKey,
    weights: Int16Array,
    readonly data?: EngineData,
  ) {
    this.spec = validateSpec(spec);
    const layout = modelLayout(this.spec);
    if (weights.length !== layout.parameterCount)
      throw new RangeError(`weights must hold ${layout.parameterCount} parameters, got ${weights.length}`);
    this.theta = thetaBytes(layout, this.spec.steps, weights);
    this.thetaTree = new ByteTree(this.theta);
    this.parameterRoot = this.thetaTree.root;
    this.eff = layout.layers.map((layer) => effectiveLayer(layer, weights));
    const E = this.spec.evalSize;
    this.predictions = new Int32Array(E);
    this.hashes = new Array<Hex>(E);
    let correct = 0;
    for (let e = 0; e < E; e += EVAL_BATCH) {
      const rows = Math.min(EVAL_BATCH, E - e);
      const { x, labels } = evalExamples(this.spec, key, e, rows, data);
      const acts = this.activations(e, x, rows);
      for (let r = 0; r < rows; r++) {
        const state = this.stateOf(acts, r);
        this.predictions[e + r] = this.predict(e + r, state.prediction);
        this.hashes[e + r] = stateHash(state.roots);
        if (this.predictions[e + r] === labels[r]) correct++;
      }
    }
    this.correct = correct;
    this.predictionsRoot = new ByteTree(predictionBytes(this.predictions)).root;
    this.examplesRoot = stepStatesRoot(this.hashes);
    this.root = evalRootOf(this.predictionsRoot, this.examplesRoot);
  }

  private stateOf(acts: Int32Array[], r: number): ExampleState {
    const widths = this.spec.widths;
    const bytes: Uint8Array[] = [new Uint8Array(0)];
    for (let l = 0; l < acts.length; l++) bytes.push(int8Bytes(acts[l], r * widths[l], (r + 1) * widths[l]));
    const trees = bytes.map((b, i) => (i === 0 ? this.thetaTree : new ByteTree(b)));
    const L = widths.length - 1;
    const C = widths[L];
    return {
      bytes,
      trees,
      roots: [this.parameterRoot, ...trees.slice(1).map((t) => t.root)],
      prediction: argmax(acts[L], r * C, C),
    };
  }

  /** Example `e`'s forward pass, recomputed. */
  example(e: number): ExampleState {
    if (!Number.isSafeInteger(e) || e < 0 || e >= this.spec.evalSize)
      throw new RangeError(`example must be in 0..${this.spec.evalSize - 1}, got ${e}`);
    const { x } = evalExamples(this.spec, this.key, e, 1, this.data);
    return this.stateOf(this.activations(e, x, 1), 0);
  }

  /**
   * The activations (`[X, A_1, …, A_L]`, row-major) of examples `first …` with inputs `x`: the
   * forward pass of the final parameters. Overridden only to model a trainer that forges them.
   */
  protected activations(first: number, x: Int32Array, rows: number): Int32Array[] {
    return forward(modelLayout(this.spec), this.eff, x, rows);
  }

  /** The prediction committed for example `e` (`argmax`: its outputs' argmax). Overridden only to model a forger. */
  protected predict(e: number, argmax: number): number {
    return argmax;
  }

  /** The accuracy the trace's predictions give, as `evaluate` reports it. */
  get accuracyBps(): number {
    return Math.floor((this.correct * 10_000) / this.spec.evalSize);
  }
}

/** The predictions as the predictions tree commits them: int32 little-endian, example 0 first. */
export function predictionBytes(predictions: Int32Array): Uint8Array {
  const out = new Uint8Array(4 * predictions.length);
  const view = new DataView(out.buffer);
  for (let e = 0; e < predictions.length; e++) view.setInt32(4 * e, predictions[e], true);
  return out;
}

/** The evaluation root over a predictions root and an examples root. */
export const evalRootOf = (predictionsRoot: Hex, examplesRoot: Hex): Hex =>
  keccak256(concat([predictionsRoot, examplesRoot]));

/** The evaluation root of `weights` (the final parameters of a run of (spec, key)): what the last leaf commits. */
export function evaluationRoot(
  spec: TrainingSpec,
  key: EngineKey,
  weights: Int16Array,
  data?: EngineData,
): Hex {
  return new EvalTrace(spec, key, weights, data).root;
}

/** One forward element of an example's state: slot `slot` (A_l = slot l + 1) and byte (element) `byte`. */
export interface EvalOp {
  readonly slot: number;
  readonly byte: number;
}

/** A sampled evaluation example and the hidden forward elements checked in it (the outputs always are). */
export interface EvalSample {
  readonly example: number;
  readonly ops: readonly EvalOp[];
}

/**
 * An element's leaf and the operand leaves of its fold: every leaf its ranges cover (bias, then
 * each chunk's weights and inputs, in that order) once, at its first use; X is not sent.
 */
export interface ElementAnswer {
  readonly leaf: LeafProof;
  readonly operands: LeafProof[];
}

/** The trainer's answer for one sampled example. */
export interface EvalSampleAnswer {
  /** The example's slot roots (Θ, X, A_1 … A_L) and their state hash's path in the examples tree. */
  readonly roots: Hex[];
  readonly proof: Hex[];
  /** Every output element A_L[c], c = 0 … classes - 1. */
  readonly outputs: ElementAnswer[];
  /** The sampled hidden elements, in the sample's order. */
  readonly ops: ElementAnswer[];
}

/** What the trainer sends for a set of evaluation samples. */
export interface EvalAnswers {
  /** {@link predictionBytes} of every example's prediction. */
  readonly predictions: Hex;
  readonly examplesRoot: Hex;
  readonly answers: EvalSampleAnswer[];
}

/** Thrown when an evaluation answer does not hold: names what failed. */
export class EvalSampleError extends Error {
  override readonly name = "EvalSampleError";
}

/** The operand ranges of forward element `ref` of an example's state: bias, then each chunk's (weights, inputs). */
function forwardRanges(
  spec: TrainingSpec,
  slots: readonly Slot[],
  slot: number,
  byte: number,
): OperandRange[][] {
  const layout = modelLayout(spec);
  const ref = elementAt(spec, slots, slot, byte, true);
  if (ref.op !== "forward")
    throw new RangeError(`slot ${slot} byte ${byte} is not a forward element (${ref.op})`);
  const out = [initOperands(layout, ref)];
  for (let c = 0; c < Math.ceil(ref.K / ref.chunk); c++) out.push(chunkOperands(spec, layout, ref, c, true));
  return out;
}

/** The distinct (slot, leaf) pairs the operand ranges of an element cover, in order of first use (X left out). */
function operandLeaves(ranges: readonly OperandRange[]): { slot: number; j: number }[] {
  const seen = new Set<string>();
  const out: { slot: number; j: number }[] = [];
  for (const r of ranges) {
    if (r.slot === 1) continue;
    for (const j of leavesOf(r)) {
      const id = `${r.slot}:${j}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ slot: r.slot, j });
    }
  }
  return out;
}

/** Leaf indexes a range covers. */
function leavesOf(r: OperandRange): number[] {
  const out: number[] = [];
  for (
    let j = Math.floor(r.offset / LEAF_BYTES);
    j <= Math.floor((r.offset + r.length - 1) / LEAF_BYTES);
    j++
  )
    out.push(j);
  return out;
}

const proofOf = (tree: ByteTree, j: number): LeafProof => ({
  index: BigInt(j),
  leaf: bytesToHex(tree.leaf(j)),
  siblings: tree.proof(j),
});

/** The trainer's answers to `samples` from its trace. */
export function answerEvalSamples(trace: EvalTrace, samples: readonly EvalSample[]): EvalAnswers {
  const spec = trace.spec;
  const widths = spec.widths;
  const L = widths.length - 1;
  const slots = inferenceSlots(widths);
  const element = (state: ExampleState, slot: number, byte: number): ElementAnswer => ({
    leaf: proofOf(state.trees[slot], Math.floor(byte / LEAF_BYTES)),
    operands: operandLeaves(forwardRanges(spec, slots, slot, byte).flat()).map(({ slot: at, j }) =>
      proofOf(state.trees[at], j),
    ),
  });
  return {
    predictions: bytesToHex(predictionBytes(trace.predictions)),
    examplesRoot: trace.examplesRoot,
    answers: samples.map((s) => {
      const state = trace.example(s.example);
      return {
        roots: state.roots,
        proof: stepStateProof(trace.hashes, s.example),
        outputs: Array.from({ length: widths[L] }, (_, c) => element(state, inferenceActSlot(L), c)),
        ops: s.ops.map((op) => element(state, op.slot, op.byte)),
      };
    }),
  };
}

/** What the validator knows before sampling: the final leaf's roots. */
export interface EvalCommitment {
  /** The final checkpoint's parameter root. */
  readonly parameterRoot: Hex;
  /** The evaluation root (the final leaf's step root). */
  readonly evalRoot: Hex;
}

/**
 * Checks the predictions and the examples root against the evaluation root; returns the
 * predictions. Throws an {@link EvalSampleError} naming what failed.
 */
export function checkPredictions(
  spec: TrainingSpec,
  c: EvalCommitment,
  a: Pick<EvalAnswers, "predictions" | "examplesRoot">,
): Int32Array {
  const E = spec.evalSize;
  const bytes = hexToBytes(a.predictions);
  if (bytes.length !== 4 * E)
    throw new EvalSampleError(`predictions: ${bytes.length} bytes, not 4 · evalSize = ${4 * E}`);
  if (evalRootOf(new ByteTree(bytes).root, a.examplesRoot).toLowerCase() !== c.evalRoot.toLowerCase())
    throw new EvalSampleError(
      "predictions: the predictions and examples root are not the committed evaluation root",
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(E);
  const C = spec.widths[spec.widths.length - 1];
  for (let e = 0; e < E; e++) {
    out[e] = view.getInt32(4 * e, true);
    if (out[e] < 0 || out[e] >= C)
      throw new EvalSampleError(`predictions: example ${e} predicts class ${out[e]}, not one of 0..${C - 1}`);
  }
  return out;
}

/** Correct predictions against `labels`, and the accuracy in basis points as `evaluate` reports it. */
export function scorePredictions(
  predictions: Int32Array,
  labels: Int32Array,
): { correct: number; total: number; accuracyBps: number } {
  if (predictions.length !== labels.length)
    throw new RangeError(`labels must hold ${predictions.length} labels, got ${labels.length}`);
  let correct = 0;
  for (let e = 0; e < labels.length; e++) if (predictions[e] === labels[e]) correct++;
  return { correct, total: labels.length, accuracyBps: Math.floor((correct * 10_000) / labels.length) };
}

/**
 * Verifies the trainer's answer for sample `sample` against the commitment, the predictions
 * ({@link checkPredictions}) and the example's input row `x` (int8 values, which the validator
 * computes from the spec itself): the example's state is under the examples root, its Θ is the
 * final parameters, its X is `x`, every output element and every sampled hidden element is its
 * fold over operands proven under their roots, and the prediction is the argmax of the outputs.
 * Throws an {@link EvalSampleError} naming the failed check.
 */
export function checkEvalSample(
  spec: TrainingSpec,
  c: EvalCommitment,
  examplesRoot: Hex,
  predictions: Int32Array,
  sample: EvalSample,
  a: EvalSampleAnswer,
  x: Int32Array,
): void {
  const s = validateSpec(spec);
  const widths = s.widths;
  const L = widths.length - 1;
  const layout = modelLayout(s);
  const slots = inferenceSlots(widths);
  const e = sample.example;
  const where = `example ${e}`;
  if (a.roots.length !== slots.length)
    throw new EvalSampleError(`${where}: ${a.roots.length} slot roots, not ${slots.length}`);
  const depth = Math.ceil(Math.log2(Math.max(1, s.evalSize)));
  if (a.proof.length !== depth || !verifyStateProof(examplesRoot, stateHash(a.roots), e, a.proof))
    throw new EvalSampleError(`${where}: its state is not in the committed examples root`);
  if (a.roots[0].toLowerCase() !== c.parameterRoot.toLowerCase())
    throw new EvalSampleError(`${where}: Θ is not the final checkpoint's parameter root`);
  if (x.length !== widths[0]) throw new RangeError(`x must hold ${widths[0]} inputs, got ${x.length}`);
  const xBytes = int8Bytes(x);
  if (new ByteTree(xBytes).root.toLowerCase() !== a.roots[1].toLowerCase())
    throw new EvalSampleError(`${where}: X is not the example's input row`);

  const read = (slot: number, p: LeafProof | undefined, j: number): Uint8Array => {
    if (!p) throw new EvalSampleError(`${where}: leaf ${j} of ${slots[slot].name} is missing`);
    const bytes = hexToBytes(p.leaf);
    if (
      p.index !== BigInt(j) ||
      !verifyLeafProof(a.roots[slot], leafCountOf(slots[slot].length), j, bytes, p.siblings)
    )
      throw new EvalSampleError(`${where}: leaf ${j} of ${slots[slot].name} is not under its root`);
    return bytes;
  };
  const check = (slot: number, byte: number, answer: ElementAnswer | undefined): number => {
    if (!answer) throw new EvalSampleError(`${where}: ${slots[slot].name}[${byte}] has no answer`);
    const ranges = forwardRanges(s, slots, slot, byte);
    const needed = operandLeaves(ranges.flat());
    if (answer.operands.length !== needed.length)
      throw new EvalSampleError(
        `${where}: ${slots[slot].name}[${byte}] has ${answer.operands.length} operand leaves, not ${needed.length}`,
      );
    const leaves = new Map<string, Uint8Array>();
    needed.forEach(({ slot: at, j }, k) => leaves.set(`${at}:${j}`, read(at, answer.operands[k], j)));
    const take = (r: OperandRange): Uint8Array => {
      if (r.slot === 1) return xBytes.subarray(r.offset, r.offset + r.length);
      const out = new Uint8Array(r.length);
      for (const j of leavesOf(r)) {
        const bytes = leaves.get(`${r.slot}:${j}`)!;
        for (
          let b = Math.max(r.offset, j * LEAF_BYTES);
          b < Math.min(r.offset + r.length, (j + 1) * LEAF_BYTES);
          b++
        )
          out[b - r.offset] = bytes[b - j * LEAF_BYTES];
      }
      return out;
    };
    const [init, ...chunks] = ranges.map((rs) => rs.map(take));
    const i16 = (b: Uint8Array, i: number) => ((b[i] | (b[i + 1] << 8)) << 16) >> 16;
    const i8 = (b: Uint8Array, i: number) => (b[i] << 24) >> 24;
    let acc = BIAS_INPUT * effectiveWeight(i16(init[0], 0));
    for (const [w, v] of chunks)
      for (let t = 0; t < v.length; t++) acc += effectiveWeight(i16(w, 2 * t)) * i8(v, t);
    const layer = slot - 2;
    const value = clamp(roundShift(acc, layout.layers[layer].forwardShift), layer === L - 1 ? -127 : 0, 127);
    const j = Math.floor(byte / LEAF_BYTES);
    const claimed = i8(read(slot, answer.leaf, j), byte - j * LEAF_BYTES);
    if (claimed !== value)
      throw new EvalSampleError(
        `${where}: ${slots[slot].name}[${byte}] holds ${claimed}, its fold gives ${value}`,
      );
    return value;
  };
  const C = widths[L];
  const outputs = new Int32Array(C);
  for (let k = 0; k < C; k++) outputs[k] = check(inferenceActSlot(L), k, a.outputs[k]);
  if (a.outputs.length !== C) throw new EvalSampleError(`${where}: ${a.outputs.length} outputs, not ${C}`);
  const best = argmax(outputs, 0, C);
  if (predictions[e] !== best)
    throw new EvalSampleError(
      `${where}: the committed prediction is class ${predictions[e]}, the argmax of its outputs is ${best}`,
    );
  if (a.ops.length !== sample.ops.length)
    throw new EvalSampleError(`${where}: ${a.ops.length} hidden elements answered, not ${sample.ops.length}`);
  sample.ops.forEach((op, k) => check(op.slot, op.byte, a.ops[k]));
}

const EVAL_SAMPLE_DOMAIN = keccak256(toHex("poai.evaluation-samples"));

/**
 * The `examples` evaluation samples drawn from `seed` (the challenge's audit seed, unknown to the
 * trainer when it committed its evaluation root): example j is keccak256(abi.encode(seed, domain,
 * j, 0)) mod evalSize, and each of its `hidden` elements a byte drawn uniformly over the hidden
 * activations A_1 … A_{L-1} (none for a model without hidden layer) from abi.encode(seed, domain, j, k).
 */
export function drawEvalSamples(
  spec: TrainingSpec,
  seed: Hex,
  examples: number,
  hidden: number,
): EvalSample[] {
  const s = validateSpec(spec);
  const L = s.widths.length - 1;
  const hiddenBytes = s.widths.slice(1, L).reduce((n, w) => n + w, 0);
  const word = (j: number, k: number) =>
    hexToBigInt(
      keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "uint256" }],
          [seed, EVAL_SAMPLE_DOMAIN, BigInt(j), BigInt(k)],
        ),
      ),
    );
  return Array.from({ length: examples }, (_, j) => {
    const example = Number(word(j, 0) % BigInt(s.evalSize));
    const ops: EvalOp[] = [];
    for (let k = 1; k <= hidden && hiddenBytes > 0; k++) {
      let at = Number(word(j, k) % BigInt(hiddenBytes));
      let l = 1;
      while (at >= s.widths[l]) at -= s.widths[l++];
      ops.push({ slot: inferenceActSlot(l), byte: at });
    }
    return { example, ops };
  });
}

/** Bytes of a set of answers as binary: the predictions, roots, leaves and siblings they hold. */
export function evalAnswerBytes(a: EvalAnswers): number {
  const leaf = (p: LeafProof) => LEAF_BYTES + 32 * p.siblings.length;
  const element = (x: ElementAnswer) => leaf(x.leaf) + x.operands.reduce((n, p) => n + leaf(p), 0);
  return (
    (a.predictions.length - 2) / 2 +
    32 +
    a.answers.reduce(
      (n, x) =>
        n +
        32 * (x.roots.length + x.proof.length) +
        [...x.outputs, ...x.ops].reduce((m, y) => m + element(y), 0),
      0,
    )
  );
}
