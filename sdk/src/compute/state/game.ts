/**
 * What a party of a dispute game knows and how it moves (docs/disputes.md, "The game"): a
 * {@link StateSource} answers for the states of a run (the defender's own claim, or the challenger's
 * replay), and the `honest*` functions compute each move of the game of `contracts/disputes/
 * DisputeGame.sol` from it. The same functions play the defender and the challenger; an honest
 * party's source is the engine's run. Browser-safe.
 */
import { bytesToHex, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import type { EngineKey } from "../prng.js";
import { modelLayout, type TrainingSpec } from "../spec.js";
import { FOLD_OPS, chunkCount, elementAt, type ElementRef } from "./layout.js";
import {
  chunkOperands,
  decodeSum,
  elementOperands,
  finOperands,
  foldOf,
  initOperands,
  type OperandRange,
} from "./ops.js";
import { traceStep, type StateTensors, type StepTrace } from "./trace.js";
import { LEAF_BYTES } from "./tree.js";

/** A leaf of a slot's tree with its proof, as `DisputeGame.LeafProof`. */
export interface LeafProof {
  readonly index: bigint;
  readonly leaf: Hex;
  readonly siblings: readonly Hex[];
}

/** The states of a run as one party holds them. */
export interface StateSource {
  readonly spec: TrainingSpec;
  /** Root of the parameter tree at `step`. */
  thetaRoot(step: number): Hex;
  /** The state of step `step` (from the parameters at `step` to those at `step + 1`). */
  tensors(step: number): StateTensors;
  /** The accumulators of a fold element of step `step`, before each chunk and after the last. */
  foldAccs(step: number, ref: ElementRef): bigint[];
}

/** The engine's own run: every state as training computes it. */
export class RunStates implements StateSource {
  private readonly traces = new Map<number, StepTrace>();

  constructor(
    readonly spec: TrainingSpec,
    readonly key: EngineKey,
    /** Parameters at `firstStep`. */
    private readonly start: Int16Array,
    readonly firstStep: number,
    readonly data?: EngineData,
  ) {}

  trace(step: number): StepTrace {
    if (step < this.firstStep) throw new RangeError(`step must be at least ${this.firstStep}, got ${step}`);
    let t = this.traces.get(step);
    if (!t) {
      const theta = step === this.firstStep ? this.start : this.trace(step - 1).thetaOut;
      t = traceStep(this.spec, this.key, theta, step, this.data);
      this.traces.set(step, t);
    }
    return t;
  }

  thetaRoot(step: number): Hex {
    return step === this.firstStep ? this.trace(step).tensors.roots[0] : this.tensors(step - 1).roots.at(-1)!;
  }

  tensors(step: number): StateTensors {
    return this.trace(step).tensors;
  }

  foldAccs(step: number, ref: ElementRef): bigint[] {
    return foldOf(this.trace(step), ref).accs.map(decodeSum);
  }
}

/** The element whose byte `offset` of slot `slot` holds, in a training step of `spec`. */
export function elementOf(
  spec: TrainingSpec,
  tensors: StateTensors,
  slot: number,
  offset: number,
): ElementRef {
  return elementAt(spec, tensors.slots, slot, offset);
}

/** The leaf proofs of `ranges` of `tensors`, in the order `DisputeGame` reads them. */
export function proofsOf(tensors: StateTensors, ranges: readonly OperandRange[]): LeafProof[] {
  const out: LeafProof[] = [];
  for (const r of ranges) {
    const tree = tensors.tree(r.slot);
    const first = Math.floor(r.offset / LEAF_BYTES);
    const last = Math.floor((r.offset + r.length - 1) / LEAF_BYTES);
    for (let j = first; j <= last; j++)
      out.push({ index: BigInt(j), leaf: bytesToHex(tree.leaf(j)), siblings: tree.proof(j) });
  }
  return out;
}

/** Operand ranges of the part of a fold the game re-executes: 0 start, 1 chunk `chunk`, 2 finish. */
export function foldRanges(spec: TrainingSpec, ref: ElementRef, part: 0 | 1 | 2, chunk = 0): OperandRange[] {
  const layout = modelLayout(spec);
  if (part === 0) return initOperands(layout, ref);
  if (part === 2) return finOperands(spec, layout, ref);
  return chunkOperands(spec, layout, ref, chunk);
}

/** Operand ranges of an element rule. */
export function elementRanges(spec: TrainingSpec, ref: ElementRef): OperandRange[] {
  return elementOperands(spec, modelLayout(spec), ref);
}

export const isFold = (ref: ElementRef) => FOLD_OPS.has(ref.op);
export const foldChunks = (ref: ElementRef) => chunkCount(ref.K, ref.chunk);

// --- the challenger's choices -------------------------------------------------------------------

/** The first slot (after Θ_in) whose posted root differs from the challenger's. */
export function firstDisputedSlot(posted: readonly Hex[], own: readonly Hex[]): number {
  for (let s = 1; s < own.length; s++) if (posted[s].toLowerCase() !== own[s].toLowerCase()) return s;
  return -1;
}

/** The first byte of a leaf that differs from the challenger's leaf. */
export function firstDisputedByte(posted: Uint8Array, own: Uint8Array): number {
  for (let b = 0; b < LEAF_BYTES; b++) if (posted[b] !== own[b]) return b;
  return -1;
}

/** The middle of a range, as the game computes it. */
export const midOf = (lo: number, hi: number) => lo + Math.floor((hi - lo) / 2);
