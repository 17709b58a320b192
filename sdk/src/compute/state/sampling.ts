/**
 * Operation-sampling audits (docs/verifier.md, "Audit modes"): instead of replaying a segment from
 * its whole start checkpoint, a validator checks single operations of it, each with the Merkle
 * proofs of its operands, so an audit's bytes grow with the width and the logarithm of the model.
 *
 * What the trainer commits, before it learns the samples: the segment's **step-state root**, the
 * root of a binary Merkle tree (keccak256(left ‖ right), padded with zero leaves) over the state
 * hashes `keccak256(root_0 ‖ … ‖ root_{5+5L})` of the segment's steps (the slot roots of
 * docs/disputes.md). A sample names a step, a slot and a byte; the trainer answers with the step's
 * slot roots (and the next step's, to link Θ_out to Θ_in), their paths in the step-state tree, the
 * element's leaf and every operand leaf of its rule (for a fold: the start's, every chunk's and the
 * finish's), each with its siblings. {@link checkSample} verifies every proof against the committed
 * roots and re-executes the rule: a trainer cannot answer with fabricated but locally consistent
 * values, since every value is bound by its proof to the roots it committed first. Browser-safe.
 */
import { bytesToHex, concat, encodeAbiParameters, hexToBigInt, hexToBytes, keccak256, type Hex } from "viem";
import type { EngineData } from "../backend.js";
import type { EngineKey } from "../prng.js";
import { PARAMETER_MAX, TARGET, BIAS_INPUT, clamp, effectiveWeight, roundShift } from "../reference.js";
import { modelLayout, type TrainingSpec } from "../spec.js";
import { FOLD_OPS, chunkCount, elementAt, trainingSlots, type ElementRef } from "./layout.js";
import { chunkOperands, elementOperands, finOperands, initOperands, type OperandRange } from "./ops.js";
import { traceStep, type StateTensors } from "./trace.js";
import { fastTraceAvailable, stateHashesWasm, traceStatesWasm } from "./fast-trace.js";
import { ByteTree, LEAF_BYTES, leafCountOf, verifyLeafProof } from "./tree.js";
import type { LeafProof } from "./game.js";

const ZERO: Hex = `0x${"00".repeat(32)}`;

/** The state hash of a step: keccak256 of its slot roots in order. */
export const stateHash = (roots: readonly Hex[]): Hex => keccak256(concat([...roots]));

/** The levels of the step-state tree over `hashes`, leaves first. */
function levels(hashes: readonly Hex[]): Hex[][] {
  if (hashes.length === 0) throw new RangeError("a segment has at least one step");
  let level = [...hashes];
  const out = [level];
  while (level.length > 1) {
    if (level.length % 2) level = [...level, ZERO];
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(keccak256(concat([level[i], level[i + 1]])));
    out.push((level = next));
  }
  return out;
}

/** The step-state root a trainer commits for a segment whose steps have the state hashes `hashes`. */
export const stepStatesRoot = (hashes: readonly Hex[]): Hex => levels(hashes).at(-1)![0];

/** The siblings of step `i` (in the segment) in the step-state tree, bottom up. */
export function stepStateProof(hashes: readonly Hex[], i: number): Hex[] {
  const ls = levels(hashes);
  const out: Hex[] = [];
  for (let k = 0, j = i; k + 1 < ls.length; k++, j >>= 1) out.push(ls[k][j ^ 1] ?? ZERO);
  return out;
}

/** Whether `hash` is leaf `i` of the step-state tree `root` with siblings `proof`. */
export function verifyStateProof(root: Hex, hash: Hex, i: number, proof: readonly Hex[]): boolean {
  let node = hash;
  for (let k = 0; k < proof.length; k++)
    node = (i >> k) & 1 ? keccak256(concat([proof[k], node])) : keccak256(concat([node, proof[k]]));
  return node.toLowerCase() === root.toLowerCase();
}

/** One sampled operation: byte `byte` of slot `slot` of the segment's step `step` (0-based in it). */
export interface Sample {
  readonly step: number;
  readonly slot: number;
  readonly byte: number;
}

/** A step's slot roots with their path in the step-state tree. */
export interface StepStateOpening {
  readonly roots: Hex[];
  readonly proof: Hex[];
}

/** The trainer's answer to a sample. */
export interface SampleAnswer {
  readonly state: StepStateOpening;
  /** The next step's state (absent for the segment's last step, whose Θ_out is the end root). */
  readonly next?: StepStateOpening;
  /** The leaf holding the sampled element. */
  readonly leaf: LeafProof;
  /** Every operand leaf of the element's rule, range by range, first leaf to last. */
  readonly operands: LeafProof[];
}

/** The slots an operation sample may name: those with a rule (not Θ_in and the data slots). */
export function sampleableSlots(spec: TrainingSpec): number[] {
  return trainingSlots(spec)
    .filter((s) => s.present && s.index > 3)
    .map((s) => s.index);
}

/** The operand ranges of an element's whole rule, in the order {@link SampleAnswer.operands} holds. */
export function ruleRanges(spec: TrainingSpec, ref: ElementRef): OperandRange[][] {
  const layout = modelLayout(spec);
  if (!FOLD_OPS.has(ref.op)) return [elementOperands(spec, layout, ref)];
  const out = [initOperands(layout, ref)];
  for (let c = 0; c < chunkCount(ref.K, ref.chunk); c++) out.push(chunkOperands(spec, layout, ref, c));
  out.push(finOperands(spec, layout, ref));
  return out;
}

function proofsOf(tensors: StateTensors, ranges: readonly OperandRange[]): LeafProof[] {
  const out: LeafProof[] = [];
  for (const r of ranges) {
    const tree = tensors.tree(r.slot);
    for (
      let j = Math.floor(r.offset / LEAF_BYTES);
      j <= Math.floor((r.offset + r.length - 1) / LEAF_BYTES);
      j++
    )
      out.push({ index: BigInt(j), leaf: bytesToHex(tree.leaf(j)), siblings: tree.proof(j) });
  }
  return out;
}

/**
 * The trainer's answer to `sample`, from the states of its segment (`states[i]`: step i's tensors).
 */
export function answerSample(
  spec: TrainingSpec,
  states: readonly StateTensors[],
  sample: Sample,
): SampleAnswer {
  const hashes = states.map((t) => stateHash(t.roots));
  const t = states[sample.step];
  if (!t) throw new RangeError(`step must be in 0..${states.length - 1}, got ${sample.step}`);
  const ref = elementAt(spec, t.slots, sample.slot, sample.byte);
  const open = (i: number): StepStateOpening => ({
    roots: states[i].roots,
    proof: stepStateProof(hashes, i),
  });
  return {
    state: open(sample.step),
    next: sample.step + 1 < states.length ? open(sample.step + 1) : undefined,
    leaf: proofsOf(t, [
      { slot: sample.slot, offset: Math.floor(sample.byte / LEAF_BYTES) * LEAF_BYTES, length: 1 },
    ])[0],
    operands: proofsOf(t, ruleRanges(spec, ref).flat()),
  };
}

/** What the validator knows before sampling: the segment's commitments. */
export interface SegmentCommitment {
  /** The segment's first step (the engine's step count at its start). */
  readonly firstStep: number;
  readonly steps: number;
  /** Parameter-tree roots at the segment's start and end (the run's checkpoint leaves). */
  readonly startRoot: Hex;
  readonly endRoot: Hex;
  /** The trainer's step-state root. */
  readonly stepStatesRoot: Hex;
}

/** Thrown when a sample's answer does not hold: names what failed. */
export class SampleError extends Error {
  override readonly name = "SampleError";
}

const hexBytes = (h: Hex) => hexToBytes(h);

/**
 * Verifies a trainer's answer to `sample` against the segment's commitments and re-executes the
 * element's rule from its proven operands. Returns the element's value; throws a {@link SampleError}
 * naming the failed check (a wrong proof, a broken link, or a value the rule does not give).
 */
export function checkSample(
  spec: TrainingSpec,
  c: SegmentCommitment,
  sample: Sample,
  a: SampleAnswer,
  /**
   * The data slots' bytes of a step (absolute step number: `stepDataBytes`), which the validator
   * computes itself: every proven operand leaf of X, TS or LBL must hold them, and the step's
   * committed X, TS and LBL roots must be their roots (so a sample of any element of a step trained
   * on other data fails). Without it the data slots are taken as proven (a trainer could then
   * train on other inputs undetected).
   */
  dataOf?: (step: number) => ReadonlyMap<number, Uint8Array>,
): number {
  const slots = trainingSlots(spec);
  const last = slots.length - 1;
  const depth = Math.ceil(Math.log2(Math.max(1, c.steps)));
  const opened = (o: StepStateOpening, i: number, what: string) => {
    if (o.roots.length !== slots.length)
      throw new SampleError(`${what}: ${o.roots.length} slot roots, not ${slots.length}`);
    if (o.proof.length !== depth || !verifyStateProof(c.stepStatesRoot, stateHash(o.roots), i, o.proof))
      throw new SampleError(`${what}: step ${i} is not in the committed step-state root`);
  };
  opened(a.state, sample.step, "state");
  const roots = a.state.roots;
  if (sample.step === 0 && roots[0].toLowerCase() !== c.startRoot.toLowerCase())
    throw new SampleError("state: Θ_in of the first step is not the segment's start root");
  if (sample.step + 1 === c.steps) {
    if (roots[last].toLowerCase() !== c.endRoot.toLowerCase())
      throw new SampleError("state: Θ_out of the last step is not the segment's end root");
  } else {
    if (!a.next) throw new SampleError("next: the next step's state is missing");
    opened(a.next, sample.step + 1, "next");
    if (a.next.roots[0].toLowerCase() !== roots[last].toLowerCase())
      throw new SampleError(`link: Θ_out of step ${sample.step} is not Θ_in of step ${sample.step + 1}`);
  }
  const ref = elementAt(spec, slots, sample.slot, sample.byte);
  const read = (slot: number, leaf: LeafProof, j: number) => {
    const bytes = hexBytes(leaf.leaf);
    const count = leafCountOf(slots[slot].length);
    if (leaf.index !== BigInt(j) || !verifyLeafProof(roots[slot], count, j, bytes, leaf.siblings))
      throw new SampleError(`proof: leaf ${j} of slot ${slot} is not under its root`);
    const expected = dataOf?.(c.firstStep + sample.step).get(slot);
    if (expected)
      for (let b = j * LEAF_BYTES; b < Math.min(expected.length, (j + 1) * LEAF_BYTES); b++)
        if (bytes[b - j * LEAF_BYTES] !== expected[b])
          throw new SampleError(
            `data: ${slots[slot].name} byte ${b} of step ${c.firstStep + sample.step} is ${bytes[b - j * LEAF_BYTES]}, the step's data gives ${expected[b]}`,
          );
    return bytes;
  };
  const leafIndex = Math.floor(sample.byte / LEAF_BYTES);
  const claimedLeaf = read(sample.slot, a.leaf, leafIndex);
  let cursor = 0;
  const take = (r: OperandRange): Uint8Array => {
    const out = new Uint8Array(r.length);
    for (
      let j = Math.floor(r.offset / LEAF_BYTES);
      j <= Math.floor((r.offset + r.length - 1) / LEAF_BYTES);
      j++
    ) {
      const p = a.operands[cursor++];
      if (!p) throw new SampleError(`proof: leaf ${j} of slot ${r.slot} is missing`);
      const bytes = read(r.slot, p, j);
      for (
        let b = Math.max(r.offset, j * LEAF_BYTES);
        b < Math.min(r.offset + r.length, (j + 1) * LEAF_BYTES);
        b++
      )
        out[b - r.offset] = bytes[b - j * LEAF_BYTES];
    }
    return out;
  };
  const parts = ruleRanges(spec, ref).map((ranges) => ranges.map(take));
  const value = evaluate(spec, ref, parts, c.firstStep + sample.step);
  const at = ref.offset - leafIndex * LEAF_BYTES;
  const view = new DataView(claimedLeaf.buffer);
  const claimed =
    ref.op === "header"
      ? Number(view.getBigUint64(at, true))
      : ref.op === "padding" || ref.size === 1
        ? ref.op === "padding"
          ? claimedLeaf[at]
          : view.getInt8(at)
        : ref.size === 2
          ? view.getInt16(at, true)
          : view.getInt32(at, true);
  if (claimed !== value)
    throw new SampleError(
      `value: ${slots[sample.slot].name} byte ${sample.byte} holds ${claimed}, the rule gives ${value}`,
    );
  // the step's data slots as committed: whatever element was sampled, a step trained on other data
  // (other inputs, teacher scores, labels or examples) commits other data roots
  const data = dataOf?.(c.firstStep + sample.step);
  if (data)
    for (const [slot, bytes] of data) {
      if (!slots[slot]?.present) continue;
      const root = dataRoot(bytes);
      if (root.toLowerCase() !== roots[slot].toLowerCase())
        throw new SampleError(
          `data: the committed ${slots[slot].name} root of step ${c.firstStep + sample.step} is ${roots[slot]}, the step's data gives ${root}`,
        );
    }
  return value;
}

const dataRoots = new WeakMap<Uint8Array, Hex>();
/** The byte-tree root of a step's data slot (kept while its bytes are). */
function dataRoot(bytes: Uint8Array): Hex {
  let root = dataRoots.get(bytes);
  if (!root) dataRoots.set(bytes, (root = new ByteTree(bytes).root));
  return root;
}

const i8 = (b: Uint8Array, i: number) => (b[i] << 24) >> 24;
const i16 = (b: Uint8Array, i: number) => ((b[i] | (b[i + 1] << 8)) << 16) >> 16;
const i32 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

/** An element's value from its rule's operand bytes (`parts`: the rule's ranges, read). */
function evaluate(spec: TrainingSpec, ref: ElementRef, parts: Uint8Array[][], step: number): number {
  const layout = modelLayout(spec);
  const L = layout.layers.length;
  const ops = parts[0];
  switch (ref.op) {
    case "padding":
      return 0;
    case "header":
      return step + 1;
    case "loss":
      return clamp(i8(ops[0], 0) - (ref.col === i32(ops[1], 0) ? TARGET : 0), -127, 127);
    case "transpose":
      return i8(ops[0], 0);
    case "weight-t":
      return effectiveWeight(i16(ops[0], 0));
    case "forward":
    case "backward":
    case "update-weight":
    case "update-bias":
      break;
    default:
      throw new SampleError(`value: ${ref.op} elements are not sampled (data slots have no rule)`);
  }
  let acc = ref.op === "forward" ? BIAS_INPUT * effectiveWeight(i16(parts[0][0], 0)) : 0;
  for (const chunk of parts.slice(1, -1)) {
    const [a, b] = chunk;
    if (ref.op === "forward")
      for (let t = 0; t < b.length; t++) acc += effectiveWeight(i16(a, 2 * t)) * i8(b, t);
    else if (ref.op === "update-bias") for (let t = 0; t < a.length; t++) acc += BIAS_INPUT * i8(a, t);
    else for (let t = 0; t < a.length; t++) acc += i8(a, t) * i8(b, t);
  }
  const fin = parts[parts.length - 1];
  if (ref.op === "forward")
    return clamp(roundShift(acc, layout.layers[ref.layer].forwardShift), ref.layer === L - 1 ? -127 : 0, 127);
  if (ref.op === "backward")
    return i8(fin[0], 0) > 0 ? clamp(roundShift(acc, layout.layers[ref.layer].backwardShift), -127, 127) : 0;
  return clamp(i16(fin[0], 0) - roundShift(acc, spec.lrShift), -PARAMETER_MAX, PARAMETER_MAX);
}

/** Bytes of an answer: the leaves and siblings it holds, and the slot roots. */
export function answerBytes(a: SampleAnswer): number {
  const leaf = (p: LeafProof) => LEAF_BYTES + 32 * p.siblings.length;
  const opening = (o?: StepStateOpening) => (o ? 32 * (o.roots.length + o.proof.length) : 0);
  return opening(a.state) + opening(a.next) + leaf(a.leaf) + a.operands.reduce((n, p) => n + leaf(p), 0);
}

/** The two audit modes of a spec. */
export type AuditMode = "segment-replay" | "operation-sampling";

/** The default budget of checkpoint bytes one segment replay may fetch: 10 MiB. */
export const DEFAULT_REPLAY_BUDGET_BYTES = 10 * 2 ** 20;

/**
 * The audit mode of a spec: segment replay (every sampled segment re-executed from its whole start
 * checkpoint: a forged segment drawn is caught with certainty) whenever one checkpoint
 * (`replayBytes`, what replaying one segment fetches) fits `budgetBytes`; operation sampling only
 * where it does not. The trainer and the validators decide it alike, from the spec and the same
 * budget: a trainer of an operation-sampling spec commits every segment's step-state root in its
 * checkpoint leaves (`commit`'s `stepRoots`), one of a segment-replay spec commits zero and trains
 * as fast as without them.
 * Operation sampling catches a forged segment only when a sample lands on one of its wrong
 * operations, so it reaches the protocol's escape goal (below 10⁻³) only against forgeries that
 * make a fraction φ ≥ ln(1000) / samples of the sampled segments' operations wrong; a forgery of
 * fewer operations is left to disputes (docs/verifier.md, "Audit modes").
 */
export function auditModeFor(
  spec: TrainingSpec,
  budgetBytes: number = DEFAULT_REPLAY_BUDGET_BYTES,
): { mode: AuditMode; replayBytes: number } {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0)
    throw new RangeError(`budgetBytes must be a whole number of bytes, got ${budgetBytes}`);
  const replayBytes = modelLayout(spec).checkpointBytes;
  return { mode: replayBytes <= budgetBytes ? "segment-replay" : "operation-sampling", replayBytes };
}

/**
 * The step states of segment `index` of a run, from the parameters `start` at its first step:
 * `onStep(t, tensors)` is called for each of its `checkpointInterval` steps in order (`t` 0-based
 * in the segment), and the states are let go after the call unless the caller keeps them.
 * Returns the parameters at the segment's end. The wasm engine traces the steps where it runs
 * (`traceStatesWasm`); `reference` (or no WebAssembly with SIMD) traces them with `traceStep`:
 * the same states, bit for bit.
 */
export function traceSegment(
  spec: TrainingSpec,
  key: EngineKey,
  start: Int16Array,
  index: number,
  onStep: (t: number, tensors: StateTensors) => void,
  data?: EngineData,
  reference = false,
): Int16Array {
  const first = index * spec.checkpointInterval;
  if (!reference && fastTraceAvailable())
    return traceStatesWasm(spec, key, start, first, spec.checkpointInterval, onStep, data);
  let theta = start;
  for (let t = 0; t < spec.checkpointInterval; t++) {
    const trace = traceStep(spec, key, theta, first + t, data);
    onStep(t, trace.tensors);
    theta = trace.thetaOut;
  }
  return theta;
}

/**
 * The step-state root of segment `index` (what the checkpoint leaf `index` commits in an
 * operation-sampling run), traced from the parameters `start` of checkpoint `index`: by the wasm
 * engine, hashing in linear memory (`stateHashesWasm`), where it runs; with `reference` (or no
 * WebAssembly with SIMD) by `traceStep` and the TypeScript byte trees (`new ByteTree(bytes, true)`).
 * Both give the same root.
 */
export function segmentStepRoot(
  spec: TrainingSpec,
  key: EngineKey,
  start: Int16Array,
  index: number,
  data?: EngineData,
  reference = false,
): Hex {
  if (!reference && fastTraceAvailable())
    return stepStatesRoot(
      stateHashesWasm(spec, key, start, index * spec.checkpointInterval, spec.checkpointInterval, data),
    );
  const hashes: Hex[] = [];
  // the reference throughout: TypeScript traces and TypeScript byte trees
  const rootsOf = (t: StateTensors) =>
    t.slots.map((s) => (s.present ? new ByteTree(t.encodings[s.index], true).root : ZERO));
  traceSegment(spec, key, start, index, (_, t) => hashes.push(stateHash(rootsOf(t))), data, true);
  return stepStatesRoot(hashes);
}

/** The bytes an operation sample may land on: those of the sampleable slots, in slot order. */
function sampleableBytes(spec: TrainingSpec): { slot: number; length: number }[] {
  const slots = trainingSlots(spec);
  return sampleableSlots(spec).map((slot) => ({ slot, length: slots[slot].length }));
}

/**
 * The `count` operation samples of segment `segment` drawn from `seed` (the challenge's audit seed,
 * unknown to the trainer when it commits its step roots): each a step of the segment and a byte
 * drawn uniformly over every byte of its sampleable slots (so a forgery of a fraction φ of a
 * step's operation bytes is hit by each sample with probability φ), from
 * keccak256(abi.encode(seed, segment, j)).
 */
export function drawOperationSamples(
  spec: TrainingSpec,
  seed: Hex,
  segment: number,
  count: number,
): Sample[] {
  const ranges = sampleableBytes(spec);
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const out: Sample[] = [];
  for (let j = 0; j < count; j++) {
    const word = hexToBigInt(
      keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "uint256" }, { type: "uint256" }],
          [seed, BigInt(segment), BigInt(j)],
        ),
      ),
    );
    const step = Number(word % BigInt(spec.checkpointInterval));
    let at = Number((word >> 64n) % BigInt(total));
    let k = 0;
    while (at >= ranges[k].length) at -= ranges[k++].length;
    out.push({ step, slot: ranges[k].slot, byte: at });
  }
  return out;
}
