/**
 * IntegerMLP (the on-chain forward pass) against the SDK's `infer`: identical outputs and labels
 * for random widths, parameters and inputs (saturating parameters and inputs included), for
 * trained checkpoints of the committed test vectors' specs, whose evaluation score the on-chain
 * labels reproduce, and for the reference spec; the length checks name the values.
 */
import { expect } from "chai";
import { network } from "hardhat";
import fc from "fast-check";
import { bytesToHex, type Hex } from "viem";
import {
  REFERENCE_SEED,
  REFERENCE_SPEC,
  deriveKey,
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  inferenceLayout,
  modelLayout,
  train,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { example, teacherWeights } from "../../sdk/src/compute/reference.js";
import { VECTORS_PATH, type VectorFile } from "../../sdk/src/compute/vectors/generate.js";
import { readFileSync } from "node:fs";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import { attempt } from "../staking/helpers/revert.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

/** The checkpoint bytes of parameters `weights` at step `step` (encoding without a spec check). */
export function checkpointBytes(weights: Int16Array, step = 0): Hex {
  const bytes = new Uint8Array(8 + 2 * weights.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, step, true);
  weights.forEach((w, i) => view.setInt16(8 + 2 * i, w, true));
  return bytesToHex(bytes);
}

const widthsArb = (maxLayers: number, maxWidth: number) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: maxWidth }),
      fc.array(fc.integer({ min: 1, max: maxWidth }), { minLength: 0, maxLength: maxLayers - 1 }),
      fc.integer({ min: 2, max: Math.max(2, maxWidth) }),
    )
    .map(([i, h, c]) => [i, ...h, c]);

/** Parameters from one of three regimes: small (no saturation), full int16 range, extremes only. */
const paramsArb = (count: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -2000, max: 2000 }), { minLength: count, maxLength: count }),
    fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: count, maxLength: count }),
    fc.array(fc.constantFrom(-32768, -32767, -32641, -32640, -128, -129, 127, 128, 32639, 32640, 32767), {
      minLength: count,
      maxLength: count,
    }),
  );

const inputArb = (n: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -128, max: 127 }), { minLength: n, maxLength: n }),
    fc.array(fc.constantFrom(-128, 127), { minLength: n, maxLength: n }),
  );

describe("IntegerMLP", function () {
  this.timeout(600_000);
  let conn: Connection;
  let mlp: ContractReturnType<"IntegerMLPHarness">;
  before(async () => {
    conn = await network.create();
    mlp = await conn.viem.deployContract("IntegerMLPHarness");
  });

  const onChain = async (widths: readonly number[], checkpoint: Hex, input: Hex) => {
    const [output, label] = await mlp.read.forward([[...widths], checkpoint, input]);
    return { output, label: Number(label) };
  };

  const expectSame = async (widths: readonly number[], weights: Int16Array, x: Int8Array) => {
    const want = infer(widths, weights, x);
    const got = await onChain(widths, checkpointBytes(weights), encodeInferenceInput(x));
    expect(got.output, `widths [${widths.join(", ")}]`).to.equal(
      bytesToHex(new Uint8Array(want.output.buffer)),
    );
    expect(got.label).to.equal(want.label);
    const encoded = await mlp.read.encodeOutput([BigInt(got.label), got.output]);
    expect(encoded).to.equal(encodeInferenceOutput(want));
  };

  it("computes exactly the SDK's infer for random widths, parameters and inputs (saturation included)", async () => {
    const cases = widthsArb(4, 40).chain((widths) => {
      const count = inferenceLayout(widths).parameterCount;
      return fc.tuple(fc.constant(widths), paramsArb(count), inputArb(widths[0]));
    });
    await fc.assert(
      fc.asyncProperty(cases, async ([widths, params, input]) => {
        await expectSame(widths, Int16Array.from(params), Int8Array.from(input));
      }),
      { numRuns: 120 },
    );
  });

  it("agrees with infer on deep models and on widths that are not multiples of 16", async () => {
    const cases = widthsArb(16, 20).chain((widths) => {
      const count = inferenceLayout(widths).parameterCount;
      return fc.tuple(fc.constant(widths), paramsArb(count), inputArb(widths[0]));
    });
    await fc.assert(
      fc.asyncProperty(cases, async ([widths, params, input]) => {
        await expectSame(widths, Int16Array.from(params), Int8Array.from(input));
      }),
      { numRuns: 30 },
    );
  });

  it("agrees with infer on wide layers (up to 300 inputs) where every activation saturates", async () => {
    const widths = [300, 33, 17, 5];
    const count = inferenceLayout(widths).parameterCount;
    for (const fill of [32767, -32767, 32640, -32641]) {
      const weights = new Int16Array(count).fill(fill);
      // biases alternate sign so hidden activations are both clipped at 0 and saturated at 127
      for (const [l, layer] of modelLayout({ ...REFERENCE_SPEC, widths }).layers.entries()) {
        for (let o = 0; o < layer.outputs; o++) weights[layer.biasOffset + o] = (o + l) % 2 ? 32767 : -32767;
      }
      for (const v of [-128, 127]) await expectSame(widths, weights, new Int8Array(widths[0]).fill(v));
    }
  });

  it("reproduces the committed test vectors: the on-chain labels of the trained final checkpoint score what the vectors record", async () => {
    const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;
    // Version 1 vectors: their evaluation examples are generated from the seed here (version 2 reads a dataset).
    for (const vector of file.vectors.filter((v) => v.spec.version === 1)) {
      const spec: TrainingSpec = vector.spec;
      const run = await train(spec, vector.seed);
      expect(run.checkpointHashes.at(-1)).to.equal(vector.checkpointHashes.at(-1));
      const checkpoint = bytesToHex(encodeCheckpoint(spec, run.final));
      const layout = modelLayout(spec);
      const key = deriveKey(spec, vector.seed);
      const teacher = teacherWeights(layout, key);
      const first = spec.steps * spec.batchSize;
      const total = Math.min(spec.evalSize, 40);
      let correct = 0;
      for (let e = 0; e < total; e++) {
        const ex = example(layout, key, teacher, first + e);
        const x = Int8Array.from(ex.x);
        const want = infer(spec, run.final, x);
        const got = await onChain(spec.widths, checkpoint, encodeInferenceInput(x));
        expect(got.output).to.equal(bytesToHex(new Uint8Array(want.output.buffer)));
        expect(got.label).to.equal(want.label);
        if (got.label === ex.label) correct++;
      }
      if (total === spec.evalSize) expect(correct, vector.name).to.equal(vector.score.correct);
    }
  });

  it("agrees with infer on the reference spec trained for 200 steps", async () => {
    const spec: TrainingSpec = { ...REFERENCE_SPEC, steps: 200 };
    const run = await train(spec, REFERENCE_SEED);
    const checkpoint = bytesToHex(encodeCheckpoint(spec, run.final));
    const layout = modelLayout(spec);
    const key = deriveKey(spec, REFERENCE_SEED);
    const teacher = teacherWeights(layout, key);
    let agree = 0;
    for (let e = 0; e < 12; e++) {
      const ex = example(layout, key, teacher, 1_000_000 + e);
      const x = Int8Array.from(ex.x);
      const want = infer(spec, run.final, x);
      const got = await onChain(spec.widths, checkpoint, encodeInferenceInput(x));
      expect(got.output).to.equal(bytesToHex(new Uint8Array(want.output.buffer)));
      expect(got.label).to.equal(want.label);
      if (got.label === ex.label) agree++;
    }
    // a trained model is better than chance (10%) on these examples
    expect(agree).to.be.greaterThan(3);
  });

  describe("length checks", () => {
    const widths = [4, 3, 2];
    const count = inferenceLayout(widths).parameterCount; // 23
    const abi = () => mlp.abi;
    it("refuses a checkpoint of the wrong length, naming the expected and actual lengths", async () => {
      const short = checkpointBytes(new Int16Array(count - 1));
      const o = await attempt(mlp.read.forward([widths, short, "0x01020304"]), abi());
      expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal([
        "CheckpointLengthMismatch",
        [BigInt(8 + 2 * count), BigInt(8 + 2 * (count - 1))],
      ]);
    });
    it("refuses an input of the wrong length, naming the expected and actual lengths", async () => {
      const o = await attempt(
        mlp.read.forward([widths, checkpointBytes(new Int16Array(count)), "0x010203"]),
        abi(),
      );
      expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal(["InputLengthMismatch", [4n, 3n]]);
    });
    it("refuses widths the engine refuses (one class, a zero width, too many layers)", async () => {
      for (const [bad, field, value] of [
        [[4, 1], "widths", 1n],
        [[4, 0, 2], "widths", 0n],
        [[4], "widths.length", 1n],
        [Array(18).fill(2), "widths.length", 18n],
      ] as const) {
        const o = await attempt(mlp.read.forward([[...bad], "0x", "0x"]), abi());
        expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal(["InvalidSpec", [field, value]]);
      }
    });
  });
});
