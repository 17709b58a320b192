/**
 * Games from samples (docs/disputes.md, "A game at a sampled step"): a validator of an
 * operation-sampling spec holds, for a sampled operation the trainer got wrong, the trainer's own
 * answer ({@link SampleAnswer}: the step's slot roots with their path under the committed step-state
 * root, the element's leaf and every operand leaf with its proof). That is enough to open a game
 * bound to the challenge **at that step** (`DisputeGame.openBoundAtStep`), with the step's committed
 * slot roots as the defender's posted state, and to make every challenger move of it (the slot, the
 * path down the slot's tree, the element, the fold's start, finish or chunks) without replaying
 * anything. The defender plays from its traced step states as in any game. Browser-safe.
 */
import { concat, hexToBytes, keccak256, type Hex } from "viem";
import type { TrainingSpec } from "../spec.js";
import { BIAS_INPUT, effectiveWeight } from "../reference.js";
import { FOLD_OPS, chunkCount, elementAt, trainingSlots, type ElementRef } from "./layout.js";
import type { OperandRange } from "./ops.js";
import {
  SampleError,
  checkSample,
  ruleRanges,
  stateHash,
  type Sample,
  type SampleAnswer,
  type SegmentCommitment,
  type StepStateOpening,
} from "./sampling.js";
import { LEAF_BYTES, leafCountOf, verifyLeafProof } from "./tree.js";
import type { LeafProof } from "./game.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;
const same = (a: Hex, b: Hex) => a.toLowerCase() === b.toLowerCase();

/**
 * What a game at a sampled step is decided on: `value` (the sampled element is not what its rule
 * gives from its proven operands: the game goes on to re-execute it), or a fraud the opening
 * proves at once: `link` (step 0's Θ_in is not the segment's start root, the last step's Θ_out not
 * its end root, or a step's Θ_out not the next step's Θ_in) or `state` (the committed state is not
 * a state of the spec: a wrong number of slot roots, or an absent slot with a nonzero root).
 */
export type StepFraud = "value" | "link" | "state";

/** A sampled disagreement the chain can decide: what `openStepDispute` opens and the challenger plays. */
export interface StepDispute {
  readonly fraud: StepFraud;
  readonly sample: Sample;
  readonly answer: SampleAnswer;
  /** The step's state as committed (the opening's `state`). */
  readonly state: StepStateOpening;
  /** The next step's state, when the answer holds it (the opening's `next`). */
  readonly next?: StepStateOpening;
}

function stepProven(root: Hex, o: StepStateOpening, i: number, depth: number): boolean {
  if (!Array.isArray(o?.roots) || !Array.isArray(o.proof) || o.proof.length !== depth) return false;
  let node = stateHash(o.roots);
  for (let k = 0; k < depth; k++)
    node = (i >> k) & 1 ? keccak256(concat([o.proof[k], node])) : keccak256(concat([node, o.proof[k]]));
  return same(node, root);
}

/** Whether `roots` has the shape the chain accepts for a step of `spec` (as `postStepState`). */
function shapeHolds(spec: TrainingSpec, roots: readonly Hex[]): boolean {
  const count = trainingSlots(spec).length;
  if (roots.length !== count) return false;
  if (spec.version !== 1 && !same(roots[2], ZERO)) return false;
  const L = spec.widths.length - 1;
  if (spec.widths.length > 2) {
    const base = 5 + L + 4 * (L - 1);
    if (!same(roots[base + 2], ZERO) || !same(roots[base + 3], ZERO)) return false;
  }
  return true;
}

/**
 * The game a failed sample opens, or undefined when the answer proves nothing the chain can decide
 * (it holds; or its step is not under the committed root, an operand proof is wrong, or a data
 * slot other than an engine version 1 input disagrees with the step's data: such an answer is
 * refused by the audit, but the game needs the trainer's own commitments and the chain's rule).
 * The checks are `checkSample`'s and the chain's (`DisputeBinding.checkStepOpening`, then the
 * element's rule). An operand of X (engine version 1) that is not the step's data (`dataOf`)
 * opens the game at that input byte instead (`sample.slot` 1): the chain derives the byte from the
 * run's key, so training on other inputs with every operation right is disputable too.
 */
export function stepDisputeOf(
  spec: TrainingSpec,
  c: SegmentCommitment,
  sample: Sample,
  answer: SampleAnswer,
  dataOf?: (step: number) => ReadonlyMap<number, Uint8Array>,
): StepDispute | undefined {
  const depth = Math.ceil(Math.log2(Math.max(1, c.steps)));
  if (!Number.isSafeInteger(sample.step) || sample.step < 0 || sample.step >= c.steps) return undefined;
  if (!answer?.state || !stepProven(c.stepStatesRoot, answer.state, sample.step, depth)) return undefined;
  const roots = answer.state.roots;
  const last = sample.step + 1 === c.steps;
  const next =
    !last && answer.next && stepProven(c.stepStatesRoot, answer.next, sample.step + 1, depth)
      ? answer.next
      : undefined;
  const dispute = (fraud: StepFraud): StepDispute => ({
    fraud,
    sample,
    answer,
    state: answer.state,
    ...(next && { next }),
  });
  if (!shapeHolds(spec, roots)) return dispute("state");
  if (sample.step === 0 && !same(roots[0], c.startRoot)) return dispute("link");
  if (last && !same(roots[roots.length - 1], c.endRoot)) return dispute("link");
  if (next && !same(next.roots[0], roots[roots.length - 1])) return dispute("link");
  const slots = trainingSlots(spec);
  const xAt = (p: LeafProof, j: number): number | undefined => {
    // the first byte of X leaf `j` (proven under the step's X root) that is not the step's data
    const bytes = hexToBytes(p.leaf);
    const expected = dataOf?.(c.firstStep + sample.step).get(1);
    if (!expected || p.index !== BigInt(j)) return undefined;
    if (!verifyLeafProof(roots[1], leafCountOf(slots[1].length), j, bytes, p.siblings)) return undefined;
    for (let b = j * LEAF_BYTES; b < Math.min(expected.length, (j + 1) * LEAF_BYTES); b++)
      if (bytes[b - j * LEAF_BYTES] !== expected[b]) return b;
    return undefined;
  };
  // engine version 1: an input byte of X the step's data does not give (the chain derives it)
  const inputDispute = (p: LeafProof, byte: number): StepDispute => ({
    fraud: "value",
    sample: { step: sample.step, slot: 1, byte },
    answer: { state: answer.state, ...(next && { next }), leaf: p, operands: [] },
    state: answer.state,
    ...(next && { next }),
  });
  if (sample.slot === 1) {
    if (spec.version !== 1) return undefined;
    const byte = xAt(answer.leaf, Math.floor(sample.byte / LEAF_BYTES));
    return byte === sample.byte ? inputDispute(answer.leaf, byte) : undefined;
  }
  try {
    checkSample(spec, c, sample, answer, dataOf);
    return undefined;
  } catch (err) {
    if (!(err instanceof SampleError)) return undefined;
    if (err.message.startsWith("value:")) return dispute("value");
    if (!err.message.startsWith("data:") || spec.version !== 1) return undefined;
    // an operand of X that is not the step's data: the game is at that input byte
    const ref = elementAt(spec, slots, sample.slot, sample.byte);
    let cursor = 0;
    for (const r of ruleRanges(spec, ref).flat())
      for (
        let j = Math.floor(r.offset / LEAF_BYTES);
        j < Math.floor(r.offset / LEAF_BYTES) + leavesOf(r);
        j++
      ) {
        const p = answer.operands[cursor++];
        if (!p || r.slot !== 1) continue;
        const byte = xAt(p, j);
        if (byte !== undefined) return inputDispute(p, byte);
      }
    return undefined;
  }
}

/** The opening of a game at `dispute`'s step (`openBoundAtStep`'s `step`, `state`, `next`). */
export function stepOpeningOf(dispute: StepDispute): {
  step: number;
  state: StepStateOpening;
  next: StepStateOpening;
} {
  return { step: dispute.sample.step, state: dispute.state, next: dispute.next ?? { roots: [], proof: [] } };
}

/** The state of a game the challenger's moves read (`DisputeView`'s fields). */
export interface StepGameView {
  readonly id: bigint;
  readonly phase: string;
  readonly height: number;
  readonly node: bigint;
  readonly offset: number;
  readonly cLo: number;
  readonly cHi: number;
  readonly accLo: bigint;
  readonly accHi: bigint;
  readonly pending: Hex;
}

const i8 = (b: Uint8Array, i: number) => (b[i] << 24) >> 24;
const i16 = (b: Uint8Array, i: number) => ((b[i] | (b[i + 1] << 8)) << 16) >> 16;

/** The leaves a range of operands spans. */
function leavesOf(r: OperandRange): number {
  return Math.floor((r.offset + r.length - 1) / LEAF_BYTES) - Math.floor(r.offset / LEAF_BYTES) + 1;
}

/**
 * The challenger's side of a game opened at a sampled step, played from the sample's answer alone
 * (a {@link StepDispute}): it names the sampled slot, follows the sampled leaf down the slot's tree,
 * names the sampled byte, and decides a fold from the accumulators it computes from the answer's
 * operands (every chunk's operands are in it).
 */
export class SampledStep {
  readonly ref: ElementRef;
  /** Each part of the rule (a fold: start, every chunk, finish), its operand proofs and bytes. */
  private readonly parts: { proofs: LeafProof[]; bytes: Uint8Array[] }[];
  private accs?: bigint[];

  constructor(
    readonly spec: TrainingSpec,
    readonly dispute: StepDispute,
  ) {
    const { sample, answer } = dispute;
    this.ref = elementAt(spec, trainingSlots(spec), sample.slot, sample.byte);
    let cursor = 0;
    const ranges = ruleRanges(spec, this.ref);
    this.parts = ranges.map((part) => {
      const proofs: LeafProof[] = [];
      const bytes = part.map((r) => {
        const out = new Uint8Array(r.length);
        const first = Math.floor(r.offset / LEAF_BYTES);
        for (let j = 0; j < leavesOf(r); j++) {
          const p = answer.operands[cursor++];
          if (!p) throw new RangeError(`the answer lacks operand leaf ${first + j} of slot ${r.slot}`);
          proofs.push(p);
          const leaf = hexToBytes(p.leaf);
          for (let b = 0; b < LEAF_BYTES; b++) {
            const at = (first + j) * LEAF_BYTES + b - r.offset;
            if (at >= 0 && at < r.length) out[at] = leaf[b];
          }
        }
        return out;
      });
      return { proofs, bytes };
    });
  }

  get isFold(): boolean {
    return FOLD_OPS.has(this.ref.op);
  }

  /** The fold's accumulators from its proven operands: before each chunk, and after the last. */
  foldAccs(): bigint[] {
    if (this.accs) return this.accs;
    const { ref } = this;
    let acc = ref.op === "forward" ? BIAS_INPUT * effectiveWeight(i16(this.parts[0].bytes[0], 0)) : 0;
    const out = [BigInt(acc)];
    for (let c = 0; c < chunkCount(ref.K, ref.chunk); c++) {
      const [a, b] = this.parts[1 + c].bytes;
      if (ref.op === "forward")
        for (let t = 0; t < b.length; t++) acc += effectiveWeight(i16(a, 2 * t)) * i8(b, t);
      else if (ref.op === "update-bias") for (let t = 0; t < a.length; t++) acc += BIAS_INPUT * i8(a, t);
      else for (let t = 0; t < a.length; t++) acc += i8(a, t) * i8(b, t);
      out.push(BigInt(acc));
    }
    return (this.accs = out);
  }

  /** The proofs of part `part` (0 start, 1 chunk `chunk`, 2 finish) of the fold, or of an element rule. */
  proofs(part: 0 | 1 | 2, chunk = 0): LeafProof[] {
    if (!this.isFold) return this.parts[0].proofs;
    if (part === 0) return this.parts[0].proofs;
    if (part === 2) return this.parts[this.parts.length - 1].proofs;
    return this.parts[1 + chunk].proofs;
  }

  /**
   * The challenger's move in `view` (null when the phase is the defender's), with `posted` the slot
   * roots the opening posted and `leaf` the leaf the defender revealed (PickElement).
   */
  move(
    view: StepGameView,
    posted: readonly Hex[],
    leaf?: Hex,
  ): { functionName: string; args: readonly unknown[] } | null {
    const { id } = view;
    const { sample } = this.dispute;
    const mid = (lo: number, hi: number) => lo + Math.floor((hi - lo) / 2);
    switch (view.phase) {
      case "PickSlot":
        return { functionName: "pickSlot", args: [id, posted, sample.slot] };
      case "PickChild": {
        const index = Math.floor(sample.byte / LEAF_BYTES);
        return { functionName: "pickChild", args: [id, ((index >> (view.height - 1)) & 1) === 1] };
      }
      case "PickElement": {
        if (!leaf) throw new RangeError("PickElement needs the revealed leaf");
        const proofs = this.isFold ? [] : this.proofs(0);
        return {
          functionName: "pickElement",
          args: [id, posted, leaf, BigInt(sample.byte % LEAF_BYTES), proofs],
        };
      }
      case "FoldChoose": {
        const accs = this.foldAccs();
        const part = view.accLo !== accs[0] ? 0 : view.accHi === accs[accs.length - 1] ? 2 : 1;
        const proofs = part === 1 ? [] : this.proofs(part);
        return { functionName: "challengeFold", args: [id, part, posted, proofs] };
      }
      case "FoldPick": {
        const acc = BigInt.asIntN(256, BigInt(view.pending));
        return { functionName: "chooseFold", args: [id, acc === this.foldAccs()[mid(view.cLo, view.cHi)]] };
      }
      case "FoldProve":
        return { functionName: "proveChunk", args: [id, posted, this.proofs(1, view.cLo)] };
      default:
        return null;
    }
  }
}
