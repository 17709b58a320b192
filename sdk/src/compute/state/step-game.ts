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
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import { DatasetPartData } from "../dataset.js";
import { stepExamples, type EngineKey } from "../prng.js";
import { modelLayout, type TrainingSpec } from "../spec.js";
import { BIAS_INPUT, effectiveWeight } from "../reference.js";
import { FOLD_OPS, chunkCount, elementAt, trainingSlots, type ElementRef } from "./layout.js";
import { decodeSum, foldOf, type OperandRange } from "./ops.js";
import { StateTensors, type StepTrace } from "./trace.js";
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
import { ByteTree, LEAF_BYTES, leafCountOf, verifyLeafProof } from "./tree.js";
import {
  elementRanges,
  exampleProof,
  exampleTree,
  firstDisputedByte,
  foldRanges,
  proofsOf,
  type LeafProof,
} from "./game.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;
const same = (a: Hex, b: Hex) => a.toLowerCase() === b.toLowerCase();

/**
 * What a game at a sampled step is decided on: `value` (the sampled element is not what its rule
 * gives from its proven operands: the game goes on to re-execute it), or a fraud the opening
 * proves at once: `link` (step 0's Θ_in is not the segment's start root, the last step's Θ_out not
 * its end root, or a step's Θ_out not the next step's Θ_in) or `state` (the committed state is not
 * a state of the spec: a wrong number of slot roots, or an absent slot with a nonzero root), or
 * `data` (a data slot's committed root is not the root of the step's data, as the validator
 * computes it: the game goes down that slot to the first wrong byte and re-executes its data rule).
 */
export type StepFraud = "value" | "link" | "state" | "data";

/**
 * What the challenger of a `data` game plays from besides the answer: the step's data as the
 * validator computed it (not the trainer's), so that it can follow the slot's tree down to the
 * first byte the trainer got wrong and prove every operand of its rule.
 */
export interface StepDataEvidence {
  /** The disputed data slot: the first of X (1), TS (2, engine version 1), LBL (3) whose committed root is not the data's. */
  readonly slot: number;
  /** The run's key (the teacher's rows of engine version 1 are derived from it). */
  readonly key: EngineKey;
  /** The encodings of the step's data slots X, TS, LBL as `stepDataBytes` gives them (`0x` for TS in version 2). */
  readonly bytes: readonly Hex[];
  /** Engine version 2: the example each row of the step reads, proven under the dataset's training root. */
  readonly examples?: readonly LeafProof[];
}

/** Where the challenger of a data game gets the step's examples' proofs from (engine version 2). */
export interface StepDataContext {
  /** The run's key. */
  readonly key: EngineKey;
  /** Engine version 2: the proof of the example row `row` of step `step` (absolute) reads. */
  exampleProof?(step: number, row: number): LeafProof;
}

/**
 * A {@link StepDataContext} for a run of `spec` under `key` from the examples `data` holds (a
 * dataset fetched in chunks proves an example from its chunk alone: the chunks the step reads must
 * be loaded).
 */
export function stepDataContext(spec: TrainingSpec, key: EngineKey, data?: EngineData): StepDataContext {
  if (spec.version !== 2 || !data) return { key };
  const rows = data.train;
  let tree: Uint8Array[][] | undefined;
  return {
    key,
    exampleProof: (step, row) => {
      const n = stepExamples(key, rows.count, spec.batchSize, step)[row];
      if (n === undefined) throw new RangeError(`row must be below ${spec.batchSize}, got ${row}`);
      if (!(rows instanceof DatasetPartData)) tree ??= exampleTree(rows);
      return exampleProof(rows, n, tree);
    },
  };
}

/** A sampled disagreement the chain can decide: what `openStepDispute` opens and the challenger plays. */
export interface StepDispute {
  readonly fraud: StepFraud;
  readonly sample: Sample;
  readonly answer: SampleAnswer;
  /** The step's state as committed (the opening's `state`). */
  readonly state: StepStateOpening;
  /** The next step's state, when the answer holds it (the opening's `next`). */
  readonly next?: StepStateOpening;
  /** A `data` game: the step's data the challenger plays from. */
  readonly data?: StepDataEvidence;
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
 * (it holds; or its step is not under the committed root, or an operand proof is wrong).
 * The checks are `checkSample`'s and the chain's (`DisputeBinding.checkStepOpening`, then the
 * element's rule). An answer whose fault is the step's data (`dataOf`: an operand leaf of X, TS or
 * LBL, or a data slot's committed root, that is not the step's data) opens a game at the data:
 * at the input byte an operand shows (engine version 1, `sample.slot` 1: the chain derives it from
 * the run's key), otherwise a `data` game at the first data slot whose committed root is not the
 * data's root, whose challenger follows the slot's tree down to the first wrong byte with the data
 * `context` gives (the run's key; engine version 2, each row's example proof) and which the chain
 * decides by the slot's data rule: a teacher score (a fold over the key's teacher row and the
 * proven inputs), a label (the argmax over the proven scores), an example's feature or label
 * (proven under the dataset's training root). Training on substituted data with every operation
 * right is disputable from a sample alone.
 */
export function stepDisputeOf(
  spec: TrainingSpec,
  c: SegmentCommitment,
  sample: Sample,
  answer: SampleAnswer,
  dataOf?: (step: number) => ReadonlyMap<number, Uint8Array>,
  context?: StepDataContext,
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
    if (!err.message.startsWith("data:")) return undefined;
    if (spec.version === 1) {
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
    }
    const data = dataEvidenceOf(spec, c.firstStep + sample.step, roots, dataOf, context);
    // the sample stays the one the answer refutes (the data slot is `data.slot`)
    return data && { ...dispute("data"), data };
  }
}

/**
 * The evidence of a `data` game at step `step` (absolute) whose committed slot roots are `roots`:
 * the first data slot whose root is not the step's data's, with the data; undefined when every data
 * root agrees or the data is not at hand (no `dataOf`, no key, or no example proofs in version 2).
 */
function dataEvidenceOf(
  spec: TrainingSpec,
  step: number,
  roots: readonly Hex[],
  dataOf?: (step: number) => ReadonlyMap<number, Uint8Array>,
  context?: StepDataContext,
): StepDataEvidence | undefined {
  const data = dataOf?.(step);
  if (!data || !context) return undefined;
  const slots = trainingSlots(spec);
  const bytes = [1, 2, 3].map((k) => data.get(k) ?? new Uint8Array(0));
  const slot = [1, 2, 3].find(
    (k) => slots[k].present && bytes[k - 1].length > 0 && !same(roots[k], new ByteTree(bytes[k - 1]).root),
  );
  if (slot === undefined) return undefined;
  let examples: LeafProof[] | undefined;
  if (spec.version === 2) {
    if (!context.exampleProof) return undefined;
    examples = Array.from({ length: spec.batchSize }, (_, row) => context.exampleProof!(step, row));
  }
  return {
    slot,
    key: { k0: context.key.k0, k1: context.key.k1 },
    bytes: bytes.map((b) => bytesToHex(b)),
    ...(examples && { examples }),
  };
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
  readonly slot?: number;
  readonly height: number;
  readonly node: bigint;
  readonly offset: number;
  readonly cLo: number;
  readonly cHi: number;
  readonly accLo: bigint;
  readonly accHi: bigint;
  readonly pending: Hex;
  /** The children the defender revealed (PickChild). */
  readonly left?: Hex;
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
 * operands (every chunk's operands are in it). A `data` game is played from the step's data the
 * dispute holds instead: down the data slot's tree to the first byte the trainer got wrong, then
 * the data rule's moves (a teacher score's or a label's fold over the data's own trees, an
 * example's proof).
 */
export class SampledStep {
  readonly ref: ElementRef;
  /** Each part of the rule (a fold: start, every chunk, finish), its operand proofs and bytes. */
  private readonly parts: { proofs: LeafProof[]; bytes: Uint8Array[] }[];
  private accs?: bigint[];
  /** A `data` game: the step's data slots as the challenger computed them. */
  private readonly data?: StateTensors;

  constructor(
    readonly spec: TrainingSpec,
    readonly dispute: StepDispute,
  ) {
    const { sample, answer } = dispute;
    this.ref = elementAt(spec, trainingSlots(spec), sample.slot, sample.byte);
    if (dispute.fraud === "data") {
      if (!dispute.data) throw new RangeError("a data game needs the step's data (dispute.data)");
      this.data = dataTensors(spec, dispute.data);
      this.parts = [];
      return;
    }
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
    if (this.data) return this.dataMove(this.data, view, posted, leaf);
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

  /** The challenger's move in a `data` game, from the step's data (`data`: its trees). */
  private dataMove(
    data: StateTensors,
    view: StepGameView,
    posted: readonly Hex[],
    leaf?: Hex,
  ): { functionName: string; args: readonly unknown[] } | null {
    const { id } = view;
    const { spec } = this;
    const evidence = this.dispute.data!;
    const slot = view.slot ?? evidence.slot;
    const refAt = (offset: number) => elementAt(spec, data.slots, slot, offset);
    const accs = () => dataFoldAccs(spec, evidence, data, this.dispute.sample.step, refAt(view.offset));
    const mid = (lo: number, hi: number) => lo + Math.floor((hi - lo) / 2);
    switch (view.phase) {
      case "PickSlot":
        return { functionName: "pickSlot", args: [id, posted, evidence.slot] };
      case "PickChild": {
        if (view.left === undefined) throw new RangeError("PickChild needs the revealed children");
        const [left] = data.tree(slot).children(view.height, Number(view.node));
        // the left child when it is not the data's, else the right
        return { functionName: "pickChild", args: [id, same(view.left, left)] };
      }
      case "PickElement": {
        if (!leaf) throw new RangeError("PickElement needs the revealed leaf");
        const node = Number(view.node);
        const b = firstDisputedByte(hexToBytes(leaf), data.tree(slot).leaf(node));
        if (b < 0) throw new RangeError(`dispute ${id}: the revealed leaf is the step's data`);
        const ref = refAt(node * LEAF_BYTES + b);
        let proofs: LeafProof[] = [];
        if (ref.op === "example-label" || ref.op === "example-input") {
          const example = evidence.examples?.[ref.row];
          if (!example) throw new RangeError(`the dispute lacks the example of row ${ref.row}`);
          proofs = [example];
          if (ref.op === "example-input") {
            // the feature's leaf of the example's features tree: the row of X, as the data gives it
            const f = spec.widths[0];
            const features = new ByteTree(data.encodings[1].subarray(ref.row * f, (ref.row + 1) * f));
            const j = Math.floor(ref.col / LEAF_BYTES);
            proofs.push({
              index: BigInt(j),
              leaf: bytesToHex(features.leaf(j)),
              siblings: features.proof(j),
            });
          }
        } else if (!FOLD_OPS.has(ref.op)) proofs = proofsOf(data, elementRanges(spec, ref));
        return { functionName: "pickElement", args: [id, posted, leaf, BigInt(b), proofs] };
      }
      case "FoldChoose": {
        const a = accs();
        const ref = refAt(view.offset);
        const part = view.accLo !== a[0] ? 0 : view.accHi === a[a.length - 1] ? 2 : 1;
        const proofs = part === 1 ? [] : proofsOf(data, foldRanges(spec, ref, part));
        return { functionName: "challengeFold", args: [id, part, posted, proofs] };
      }
      case "FoldPick": {
        const acc = BigInt.asIntN(256, BigInt(view.pending));
        return { functionName: "chooseFold", args: [id, acc === accs()[mid(view.cLo, view.cHi)]] };
      }
      case "FoldProve":
        return {
          functionName: "proveChunk",
          args: [id, posted, proofsOf(data, foldRanges(spec, refAt(view.offset), 1, view.cLo))],
        };
      default:
        return null;
    }
  }
}

/** The step's data slots (X, TS, LBL) as tensors with trees; the other slots empty. */
function dataTensors(spec: TrainingSpec, data: StepDataEvidence): StateTensors {
  const slots = trainingSlots(spec);
  const encodings = slots.map((s) =>
    s.index >= 1 && s.index <= 3 && s.present
      ? hexToBytes(data.bytes[s.index - 1] ?? "0x")
      : new Uint8Array(0),
  );
  return new StateTensors(slots, encodings);
}

/** A data fold's accumulators (a teacher score's, a label's argmax), from the step's data. */
function dataFoldAccs(
  spec: TrainingSpec,
  evidence: StepDataEvidence,
  data: StateTensors,
  step: number,
  ref: ElementRef,
): bigint[] {
  const x = Int32Array.from(
    new Int8Array(data.encodings[1].buffer, data.encodings[1].byteOffset, data.encodings[1].length),
  );
  const ts = data.encodings[2];
  const teacherScores = new Int32Array(ts.length / 4);
  const view = new DataView(ts.buffer, ts.byteOffset, ts.length);
  for (let k = 0; k < teacherScores.length; k++) teacherScores[k] = view.getInt32(4 * k, true);
  // the fold of a data element reads only the key, the inputs and the teacher's scores
  const trace = {
    spec,
    step,
    key: evidence.key,
    layout: modelLayout(spec),
    x,
    teacherScores,
  } as unknown as StepTrace;
  return foldOf(trace, ref).accs.map(decodeSum);
}
