import { expect } from "chai";
import { keccak256, type Hex } from "viem";
import { deriveKey, modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { RunStates, type StateSource } from "../../sdk/src/compute/state/game.js";
import { actSlot, thetaOutSlot, trainingSlots } from "../../sdk/src/compute/state/layout.js";
import {
  SampleError,
  answerSample,
  answerBytes,
  checkSample,
  sampleableSlots,
  stateHash,
  stepStatesRoot,
  type Sample,
  type SegmentCommitment,
} from "../../sdk/src/compute/state/sampling.js";

/**
 * Operation-sampling audits: a validator checks single operations of a segment with the proofs of
 * their operands against the trainer's step-state root, committed before the samples are drawn.
 * An honest trainer passes every sample; a hostile one is caught at a forged operation, cannot
 * answer with values of another state than it committed, and cannot break the chain of steps.
 */
const spec: TrainingSpec = {
  version: 1,
  widths: [20, 140, 5],
  batchSize: 6,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 12,
};
const STEPS = 4;
const key = deriveKey(spec, `0x${"5a3e".repeat(16)}`);
const honest = new RunStates(spec, key, initialWeights(modelLayout(spec), key), 0);
const L = spec.widths.length - 1;

function segment(source: StateSource) {
  const states = Array.from({ length: STEPS }, (_, t) => source.tensors(t));
  const commitment: SegmentCommitment = {
    firstStep: 0,
    steps: STEPS,
    startRoot: source.thetaRoot(0),
    endRoot: source.thetaRoot(STEPS),
    stepStatesRoot: stepStatesRoot(states.map((t) => stateHash(t.roots))),
  };
  return { states, commitment };
}

function seeded(seed: number): () => number {
  let state = (seed % 2 ** 31) + 1;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe("operation-sampling audits", () => {
  it("passes every sampled operation of an honest segment, folds, element rules and padding alike", () => {
    const { states, commitment } = segment(honest);
    const slots = trainingSlots(spec);
    const rand = seeded(3);
    const sampleable = sampleableSlots(spec);
    for (let k = 0; k < 40; k++) {
      const slot = sampleable[Math.floor(rand() * sampleable.length)];
      const sample: Sample = {
        step: Math.floor(rand() * STEPS),
        slot,
        byte: Math.floor(rand() * slots[slot].length),
      };
      expect(() => checkSample(spec, commitment, sample, answerSample(spec, states, sample))).not.to.throw();
    }
    // an answer's bytes: operands and proofs only, never a whole checkpoint
    const big = { step: 1, slot: thetaOutSlot(L), byte: 8 };
    expect(answerBytes(answerSample(spec, states, big))).to.be.below(slots[0].length);
  });

  it("catches a trainer at the operation it forged, and at the parameter its forgery moved", () => {
    const forged = new ForgedRun(honest, { step: 2, slot: actSlot(1), byte: 7, bit: 3, parameter: 11 });
    const { states, commitment } = segment(forged);
    for (const sample of [
      { step: 2, slot: actSlot(1), byte: 7 },
      { step: 2, slot: thetaOutSlot(L), byte: 8 + 2 * 11 },
    ]) {
      expect(() => checkSample(spec, commitment, sample, answerSample(spec, states, sample)))
        .to.throw(SampleError)
        .with.property("message")
        .that.matches(/^value: /);
    }
    // every other operation of its segment is consistent: sampling finds it only where it lies
    const other = { step: 3, slot: actSlot(1), byte: 7 };
    expect(() => checkSample(spec, commitment, other, answerSample(spec, states, other))).not.to.throw();
  });

  // Catches a checker that trusts the answer's values: the forger answers with the honest run's
  // state (whose every operation is right) instead of the one it committed.
  it("refuses an answer from another state than the committed one, and a step chain that does not link", () => {
    const forged = new ForgedRun(honest, { step: 2, slot: actSlot(1), byte: 7, bit: 3, parameter: 11 });
    const { commitment } = segment(forged);
    const sample = { step: 2, slot: actSlot(1), byte: 7 };
    const fromHonest = answerSample(spec, segment(honest).states, sample);
    expect(() => checkSample(spec, commitment, sample, fromHonest))
      .to.throw(SampleError)
      .with.property("message")
      .that.matches(/^state: step 2 is not in the committed step-state root/);
    // states committed as a set but not a chain: step 1's Θ_out is not step 2's Θ_in
    const broken = segment(honest).states.slice();
    broken[2] = forged.tensors(3);
    const hashes = broken.map((t) => stateHash(t.roots));
    const c2 = { ...commitment, endRoot: honest.thetaRoot(STEPS), stepStatesRoot: stepStatesRoot(hashes) };
    const s1 = { step: 1, slot: actSlot(1), byte: 0 };
    expect(() => checkSample(spec, c2, s1, answerSample(spec, broken, s1)))
      .to.throw(SampleError)
      .with.property("message")
      .that.matches(/^link: /);
    // a forged operand leaf fails its proof
    const a = answerSample(spec, segment(honest).states, s1);
    const leaf = `0x${"00".repeat(136)}` as Hex;
    const tampered = { ...a, operands: a.operands.map((p, i) => (i === 0 ? { ...p, leaf } : p)) };
    expect(() => checkSample(spec, segment(honest).commitment, s1, tampered))
      .to.throw(SampleError)
      .with.property("message")
      .that.matches(/^proof: /);
    expect(keccak256(leaf)).to.not.equal(a.operands[0].leaf);
  });
});
