/**
 * What a party of an inference dispute knows and how it moves (docs/disputes.md, "Inference
 * games"): an {@link InferenceSource} answers for one inference's state (the node's own claim, or
 * the challenger's replay from the model's checkpoint), and {@link inferenceMove} computes the move
 * of `contracts/disputes/InferenceDisputeGame.sol` that the game asks of a party, from its source.
 * The same function plays the node (defender) and the challenger; an honest party's source is
 * {@link traceInference} of the registered checkpoint. Browser-safe.
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { BIAS_INPUT, clamp, effectiveWeight, roundShift } from "../reference.js";
import { modelLayout, type TrainingSpec } from "../spec.js";
import { CHUNK, THETA_HEADER, elementAt, inferenceSlots } from "./layout.js";
import { decodeSum, inferenceFold } from "./ops.js";
import { StateTensors, traceInference, type InferenceTrace } from "./trace.js";
import { LEAF_BYTES } from "./tree.js";
import type { LeafProof } from "./game.js";

/** One inference as a party holds it: its slot tensors and the accumulators of each fold. */
export interface InferenceSource {
  readonly widths: readonly number[];
  readonly tensors: StateTensors;
  /** Accumulators of the fold of A_l[o] (`slot` = l + 1): the start, then after each chunk. */
  foldAccs(slot: number, o: number): bigint[];
}

/** The spec shape the layout functions take for an inference of `widths`. */
export function inferenceSpec(widths: readonly number[]): TrainingSpec {
  return {
    version: 1,
    widths: [...widths],
    batchSize: 1,
    steps: 1,
    checkpointInterval: 1,
    lrShift: 0,
    evalSize: 1,
  };
}

/** The engine's own inference: every tensor as the forward pass computes it. */
export class InferenceStates implements InferenceSource {
  readonly trace: InferenceTrace;
  readonly widths: readonly number[];

  constructor(widths: readonly number[], checkpoint: Uint8Array, input: Uint8Array) {
    this.widths = [...widths];
    this.trace = traceInference(widths, checkpoint, input);
  }

  get tensors(): StateTensors {
    return this.trace.tensors;
  }

  foldAccs(slot: number, o: number): bigint[] {
    const spec = inferenceSpec(this.widths);
    const ref = elementAt(spec, inferenceSlots(this.widths), slot, o, true);
    return inferenceFold(this.trace, ref, modelLayout(spec)).accs.map(decodeSum);
  }
}

/** The root of a checkpoint's byte tree: what a trainer registers as its model's parameter root. */
export function parameterRoot(widths: readonly number[], checkpoint: Uint8Array): Hex {
  const input = new Uint8Array(widths[0]);
  return traceInference(widths, checkpoint, input).tensors.roots[0];
}

/** The game's state as `InferenceDisputeGame.gameOf` returns it (the fields a move needs). */
export interface InferenceGameView {
  readonly id: bigint;
  readonly phase: InferencePhase;
  readonly slot: number;
  readonly height: number;
  readonly node: bigint;
  readonly offset: number;
  readonly cLo: number;
  readonly cHi: number;
  readonly left: Hex;
  readonly right: Hex;
  readonly accLo: bigint;
  readonly accHi: bigint;
  readonly pending: bigint;
  /** The roots the defender posted (from its `StatePosted` event), once posted. */
  readonly roots?: readonly Hex[];
  /** The leaf the defender revealed (from its `LeafRevealed` event), once revealed. */
  readonly leaf?: Hex;
}

/** What `InferenceDisputeGame.gameOf` returns that a move reads (viem's decoding of it). */
export interface InferenceGameRecord {
  readonly phase: number;
  readonly slot: number;
  readonly height: number;
  readonly node: bigint;
  readonly offset: number;
  readonly cLo: number;
  readonly cHi: number;
  readonly left: Hex;
  readonly right: Hex;
  readonly accLo: bigint;
  readonly accHi: bigint;
  readonly pending: bigint;
}

/** The view a move is computed from: game `id`'s record, with the posted roots and revealed leaf. */
export function inferenceGameView(
  id: bigint,
  g: InferenceGameRecord,
  posted: { roots?: readonly Hex[]; leaf?: Hex } = {},
): InferenceGameView {
  return {
    id,
    phase: INFERENCE_PHASES[g.phase],
    slot: g.slot,
    height: g.height,
    node: g.node,
    offset: g.offset,
    cLo: g.cLo,
    cHi: g.cHi,
    left: g.left,
    right: g.right,
    accLo: g.accLo,
    accHi: g.accHi,
    pending: g.pending,
    ...(posted.roots !== undefined && { roots: posted.roots }),
    ...(posted.leaf !== undefined && { leaf: posted.leaf }),
  };
}

/** `InferenceDisputeGame.Phase`, by name. */
export const INFERENCE_PHASES = [
  "None",
  "State",
  "PickSlot",
  "Children",
  "PickChild",
  "Leaf",
  "PickElement",
  "FoldEnds",
  "FoldChoose",
  "FoldMid",
  "FoldPick",
  "FoldProve",
  "Resolved",
] as const;
export type InferencePhase = (typeof INFERENCE_PHASES)[number];

/** A move: the game function and its arguments after the game id. */
export type InferenceMove =
  | { functionName: "postState"; args: [bigint, Hex[]] }
  | { functionName: "pickSlot"; args: [bigint, Hex[], number] }
  | { functionName: "revealChildren"; args: [bigint, Hex, Hex] }
  | { functionName: "pickChild"; args: [bigint, boolean] }
  | { functionName: "revealLeaf"; args: [bigint, Hex] }
  | { functionName: "pickElement"; args: [bigint, Hex, bigint] }
  | { functionName: "postFoldEnds"; args: [bigint, bigint, bigint] }
  | { functionName: "challengeFold"; args: [bigint, number, Hex[], LeafProof[]] }
  | { functionName: "postFoldAccumulator"; args: [bigint, bigint] }
  | { functionName: "chooseFold"; args: [bigint, boolean] }
  | { functionName: "proveChunk"; args: [bigint, Hex[], LeafProof[]] };

/** The leaves (with proofs) of bytes [offset, offset + length) of slot `slot`, first to last. */
export function inferenceProofs(
  tensors: StateTensors,
  slot: number,
  offset: number,
  length: number,
): LeafProof[] {
  const tree = tensors.tree(slot);
  const out: LeafProof[] = [];
  for (let j = Math.floor(offset / LEAF_BYTES); j <= Math.floor((offset + length - 1) / LEAF_BYTES); j++)
    out.push({ index: BigInt(j), leaf: bytesToHex(tree.leaf(j)), siblings: tree.proof(j) });
  return out;
}

/** The proofs `challengeFold` (part 0: the bias of A_l[o]) or `proveChunk` (chunk c) read. */
export function inferenceFoldProofs(
  tensors: StateTensors,
  widths: readonly number[],
  slot: number,
  o: number,
  chunk?: number,
): LeafProof[] {
  const layout = modelLayout(inferenceSpec(widths));
  const layer = layout.layers[slot - 2];
  if (chunk === undefined) return inferenceProofs(tensors, 0, THETA_HEADER + 2 * (layer.biasOffset + o), 2);
  const n = layer.inputs;
  const k0 = chunk * CHUNK;
  const m = Math.min(CHUNK, n - k0);
  return [
    ...inferenceProofs(tensors, 0, THETA_HEADER + 2 * (layer.weightOffset + o * n + k0), 2 * m),
    ...inferenceProofs(tensors, slot - 1, k0, m),
  ];
}

const same = (a: Hex, b: Hex) => a.toLowerCase() === b.toLowerCase();
const mid = (lo: number, hi: number) => lo + Math.floor((hi - lo) / 2);

/**
 * The move `source`'s party makes in the game's current phase: the defender's moves answer from its
 * source; the challenger disputes the first thing that differs from its own source (the first
 * differing slot, child, byte; the fold part whose value differs), which keeps "the last agreed
 * value is the truth, the disputed one is not" through every level.
 */
export function inferenceMove(view: InferenceGameView, source: InferenceSource): InferenceMove {
  const id = view.id;
  const t = source.tensors;
  const roots = t.roots;
  const posted = [...(view.roots ?? [])];
  switch (view.phase) {
    case "State":
      return { functionName: "postState", args: [id, roots] };
    case "PickSlot": {
      let slot = -1;
      for (let s = 2; s < roots.length; s++)
        if (!same(posted[s], roots[s])) {
          slot = s;
          break;
        }
      if (slot < 0) throw new Error("the defender's state agrees with this replay: nothing to dispute");
      return { functionName: "pickSlot", args: [id, posted, slot] };
    }
    case "Children": {
      const [l, r] = t.tree(view.slot).children(view.height, Number(view.node));
      return { functionName: "revealChildren", args: [id, l, r] };
    }
    case "PickChild": {
      const [l] = t.tree(view.slot).children(view.height, Number(view.node));
      return { functionName: "pickChild", args: [id, same(view.left, l)] };
    }
    case "Leaf":
      return {
        functionName: "revealLeaf",
        args: [id, bytesToHex(t.tree(view.slot).leaf(Number(view.node)))],
      };
    case "PickElement": {
      if (!view.leaf) throw new Error("the revealed leaf is needed to pick an element");
      const own = t.tree(view.slot).leaf(Number(view.node));
      const theirs = hexToBytes(view.leaf);
      let b = 0;
      while (b < LEAF_BYTES && theirs[b] === own[b]) b++;
      if (b === LEAF_BYTES) throw new Error("the revealed leaf agrees with this replay");
      return { functionName: "pickElement", args: [id, view.leaf, BigInt(b)] };
    }
    case "FoldEnds": {
      const accs = source.foldAccs(view.slot, view.offset);
      return { functionName: "postFoldEnds", args: [id, accs[0], accs[accs.length - 1]] };
    }
    case "FoldChoose": {
      const accs = source.foldAccs(view.slot, view.offset);
      if (accs[0] !== view.accLo)
        return {
          functionName: "challengeFold",
          args: [id, 0, posted, inferenceFoldProofs(t, source.widths, view.slot, view.offset)],
        };
      if (accs[accs.length - 1] === view.accHi)
        return { functionName: "challengeFold", args: [id, 2, posted, []] };
      return { functionName: "challengeFold", args: [id, 1, posted, []] };
    }
    case "FoldMid":
      return {
        functionName: "postFoldAccumulator",
        args: [id, source.foldAccs(view.slot, view.offset)[mid(view.cLo, view.cHi)]],
      };
    case "FoldPick":
      return {
        functionName: "chooseFold",
        args: [id, source.foldAccs(view.slot, view.offset)[mid(view.cLo, view.cHi)] === view.pending],
      };
    case "FoldProve":
      return {
        functionName: "proveChunk",
        args: [id, posted, inferenceFoldProofs(t, source.widths, view.slot, view.offset, view.cLo)],
      };
    default:
      throw new Error(`no move in phase ${view.phase}`);
  }
}

/** Where a {@link ForgedInference} lies. */
export interface InferenceForgery {
  /** Activation slot (2 … L + 1: A_1 … A_L) and the byte and bit of it flipped. */
  readonly slot: number;
  readonly byte: number;
  readonly bit: number;
  /** The forged element's accumulators from chunk `cut` on are shifted by `delta` (0: honest ones). */
  readonly cut: number;
  readonly delta: bigint;
}

/**
 * A node that flipped one bit of one activation and computed every later layer from the forged one
 * (a lie consistent everywhere but at the flipped element), with optionally forged accumulators for
 * that element: what a dishonest node defends. Used by the tests and the benchmark.
 */
export class ForgedInference implements InferenceSource {
  readonly widths: readonly number[];
  readonly tensors: StateTensors;
  private readonly acts: readonly Int32Array[];
  private readonly theta: Int16Array;

  constructor(
    honest: InferenceStates,
    readonly forgery: InferenceForgery,
  ) {
    this.widths = honest.widths;
    const layout = modelLayout(inferenceSpec(this.widths));
    const L = layout.layers.length;
    const enc0 = honest.tensors.encodings[0];
    this.theta = new Int16Array((enc0.length - THETA_HEADER) / 2);
    new Uint8Array(this.theta.buffer).set(enc0.subarray(THETA_HEADER));
    const acts: Int32Array[] = honest.trace.acts.map((a) => Int32Array.from(a));
    const l = forgery.slot - 1;
    const flipped = ((acts[l][forgery.byte] & 0xff) ^ (1 << forgery.bit)) & 0xff;
    acts[l][forgery.byte] = (flipped << 24) >> 24;
    for (let j = l; j < L; j++) acts[j + 1] = this.layer(j, acts[j]);
    this.acts = acts;
    const enc = honest.tensors.encodings.slice(0, 2);
    for (let j = 1; j <= L; j++) enc.push(Uint8Array.from(acts[j], (v) => v & 0xff));
    this.tensors = new StateTensors(honest.tensors.slots, enc);
  }

  foldAccs(slot: number, o: number): bigint[] {
    const layout = modelLayout(inferenceSpec(this.widths));
    const layer = layout.layers[slot - 2];
    const a = this.acts[slot - 2];
    let acc = BigInt(BIAS_INPUT * effectiveWeight(this.theta[layer.biasOffset + o]));
    const accs = [acc];
    for (let c = 0; c * CHUNK < layer.inputs; c++) {
      for (let i = c * CHUNK; i < Math.min(layer.inputs, (c + 1) * CHUNK); i++)
        acc += BigInt(effectiveWeight(this.theta[layer.weightOffset + o * layer.inputs + i]) * a[i]);
      accs.push(acc);
    }
    const f = this.forgery;
    if (slot === f.slot && o === f.byte) return accs.map((v, c) => (c >= f.cut ? v + f.delta : v));
    return accs;
  }

  private layer(j: number, a: Int32Array): Int32Array {
    const layout = modelLayout(inferenceSpec(this.widths));
    const layer = layout.layers[j];
    const out = new Int32Array(layer.outputs);
    const lo = j === layout.layers.length - 1 ? -127 : 0;
    for (let o = 0; o < layer.outputs; o++) {
      let acc = BIAS_INPUT * effectiveWeight(this.theta[layer.biasOffset + o]);
      for (let i = 0; i < layer.inputs; i++)
        acc += effectiveWeight(this.theta[layer.weightOffset + o * layer.inputs + i]) * a[i];
      out[o] = clamp(roundShift(acc, layer.forwardShift), lo, 127);
    }
    return out;
  }

  /** The node's output scores y = A_L. */
  get y(): Int8Array {
    return Int8Array.from(this.acts[this.acts.length - 1]);
  }
}
