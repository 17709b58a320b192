/**
 * What a party of a dispute game knows and how it moves (docs/disputes.md, "The game"): a
 * {@link StateSource} answers for the states of a run (the defender's own claim, or the challenger's
 * replay), and the `honest*` functions compute each move of the game of `contracts/disputes/
 * DisputeGame.sol` from it. The same functions play the defender and the challenger; an honest
 * party's source is the engine's run. Browser-safe.
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import { DatasetPartData, exampleLeafBytes, treeLevels, treeProof } from "../dataset.js";
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
import { traceStep, type DataSubstitute, type StateTensors, type StepTrace } from "./trace.js";
import { ByteTree, LEAF_BYTES } from "./tree.js";

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
  /** The run's key: a defender accepts only a claim whose data is its run's ({@link claimData}). */
  readonly key?: EngineKey;
  /**
   * Engine version 2: the game's proofs of a data element of row `row` of step `step`
   * (`DisputeGame.LeafProof`s): first the dataset example the row reads (its index; its label as
   * uint16 LE then the root of its features' byte tree; its Merkle proof under the dataset's
   * training root), then, for feature `feature` (an X element), the leaf of the features' byte tree
   * holding it with its siblings.
   */
  exampleProofs?(step: number, row: number, feature?: number): LeafProof[];
}

/** Where a claim's batches come from, as `DataRules.Data`: the run's key and its training examples. */
export interface ClaimData {
  /** k0 | k1 << 32 of the run's Philox key. */
  readonly key: bigint;
  /** Engine version 2: the dataset's training examples and their root (0 and zero in version 1). */
  readonly count: number;
  readonly root: Hex;
}

const ZERO_ROOT: Hex = `0x${"00".repeat(32)}`;

/** The data of a claim of a run of `spec` under `key` (`DisputeGame.Claim.data`). */
export function claimData(spec: TrainingSpec, key: EngineKey): ClaimData {
  return {
    key: BigInt(key.k0 >>> 0) | (BigInt(key.k1 >>> 0) << 32n),
    count: spec.version === 2 ? (spec.dataset?.trainCount ?? 0) : 0,
    root: spec.version === 2 ? (spec.dataset?.trainRoot ?? ZERO_ROOT) : ZERO_ROOT,
  };
}

/** The engine's own run: every state as training computes it. */
export class RunStates implements StateSource {
  private readonly traces = new Map<number, StepTrace>();
  private trainTree?: Uint8Array[][];

  constructor(
    readonly spec: TrainingSpec,
    readonly key: EngineKey,
    /** Parameters at `firstStep`. */
    readonly start: Int16Array,
    readonly firstStep: number,
    readonly data?: EngineData,
    /** Tests and demonstrations: the run trains on other data than its key selects (`traceStep`). */
    readonly substitute?: DataSubstitute,
  ) {}

  trace(step: number): StepTrace {
    if (step < this.firstStep) throw new RangeError(`step must be at least ${this.firstStep}, got ${step}`);
    let t = this.traces.get(step);
    if (!t) {
      const theta = step === this.firstStep ? this.start : this.trace(step - 1).thetaOut;
      t = traceStep(this.spec, this.key, theta, step, this.data, this.substitute);
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

  exampleProofs(step: number, row: number, feature?: number): LeafProof[] {
    const rows = this.data?.train;
    if (!rows) throw new RangeError("an engine version 2 run needs its dataset (data) to prove an example");
    const n = this.trace(step).examples[row];
    if (n === undefined) throw new RangeError(`row must be below ${this.spec.batchSize}, got ${row}`);
    if (!(rows instanceof DatasetPartData)) this.trainTree ??= exampleTree(rows);
    const proofs: LeafProof[] = [exampleProof(rows, n, this.trainTree)];
    if (feature !== undefined) {
      const f = rows.features;
      if (!Number.isSafeInteger(feature) || feature < 0 || feature >= f)
        throw new RangeError(`feature must be in 0..${f - 1}, got ${feature}`);
      const bytes = new Uint8Array(rows.inputs.buffer, rows.inputs.byteOffset + n * f, f);
      const features = new ByteTree(bytes);
      const j = Math.floor(feature / LEAF_BYTES);
      proofs.push({ index: BigInt(j), leaf: bytesToHex(features.leaf(j)), siblings: features.proof(j) });
    }
    return proofs;
  }
}

/** The Merkle tree's levels over every training example of `rows` (a whole dataset's). */
export function exampleTree(rows: EngineData["train"]): Uint8Array[][] {
  const f = rows.features;
  const bytes = new Uint8Array(rows.inputs.buffer, rows.inputs.byteOffset, rows.inputs.byteLength);
  const leaves: Uint8Array[] = [];
  for (let k = 0; k < rows.count; k++)
    leaves.push(exampleLeafBytes(k, rows.labels[k], bytes.subarray(k * f, (k + 1) * f)));
  return treeLevels(leaves);
}

/**
 * The game's proof of training example `n` (`DisputeGame.LeafProof`): its index; its label as
 * uint16 LE then the root of its features' byte tree; its Merkle proof under the dataset's training
 * root. A dataset fetched in chunks (`DatasetPartData`) proves it from its chunk and the chunk roots
 * alone; a whole dataset from `tree` (`exampleTree`, built when not given).
 */
export function exampleProof(rows: EngineData["train"], n: number, tree?: Uint8Array[][]): LeafProof {
  const f = rows.features;
  if (!Number.isSafeInteger(n) || n < 0 || n >= rows.count)
    throw new RangeError(`example must be in 0..${rows.count - 1}, got ${n}`);
  const bytes = new Uint8Array(rows.inputs.buffer, rows.inputs.byteOffset + n * f, f);
  const label = rows.labels[n];
  const head = new Uint8Array(34);
  head[0] = label & 0xff;
  head[1] = label >>> 8;
  head.set(hexToBytes(new ByteTree(bytes).root), 2);
  const siblings = rows instanceof DatasetPartData ? rows.proof(n) : treeProof(tree ?? exampleTree(rows), n);
  return { index: BigInt(n), leaf: bytesToHex(head), siblings };
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

/**
 * The proofs `DisputeGame.pickElement` takes for an element rule of step `step`: the leaves of its
 * operand ranges, or for a version 2 data element (X, LBL) the dataset example of its row. A
 * version 1 input element needs none (the chain derives it from the run's key).
 */
export function elementProofs(source: StateSource, step: number, ref: ElementRef): LeafProof[] {
  if (ref.op === "example-input" || ref.op === "example-label") {
    if (!source.exampleProofs)
      throw new RangeError("this source cannot prove dataset examples (exampleProofs)");
    return source.exampleProofs(step, ref.row, ref.op === "example-input" ? ref.col : undefined);
  }
  return proofsOf(source.tensors(step), elementRanges(source.spec, ref));
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
