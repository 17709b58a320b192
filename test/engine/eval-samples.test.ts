import { expect } from "chai";
import {
  EvalSampleError,
  EvalTrace,
  answerEvalSamples,
  checkEvalSample,
  checkPredictions,
  deriveKey,
  drawEvalSamples,
  evalExamples,
  evaluate,
  scorePredictions,
  train,
  type EvalAnswers,
  type EvalSample,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { SEED, syntheticDataset, v2Spec } from "./datasets.js";

/**
 * The evaluation trace of an operation-sampling run: its predictions give exactly the engine's
 * score, an honest trainer's answers pass every check, and a trainer whose committed predictions
 * or activations do not follow from its final parameters is caught at the sampled example.
 */
const spec: TrainingSpec = {
  version: 1,
  widths: [24, 40, 30, 6],
  batchSize: 8,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 70,
};
const key = deriveKey(spec, SEED);

let weights: Int16Array;
let honest: EvalTrace;
before(async () => {
  weights = (await train(spec, SEED, { backend: "js" })).final.weights;
  honest = new EvalTrace(spec, key, weights);
});

/** Every example, each with every hidden element of its first hidden layer and one of the second. */
const everything = (s: TrainingSpec): EvalSample[] =>
  Array.from({ length: s.evalSize }, (_, example) => ({
    example,
    ops: [
      { slot: 2, byte: example % s.widths[1] },
      ...(s.widths.length > 3 ? [{ slot: 3, byte: (7 * example) % s.widths[2] }] : []),
    ],
  }));

function check(
  trace: EvalTrace,
  answers: EvalAnswers,
  samples: readonly EvalSample[],
  parameterRoot = trace.parameterRoot,
) {
  const s = trace.spec;
  const commitment = { parameterRoot, evalRoot: trace.root };
  const predictions = checkPredictions(s, commitment, answers);
  samples.forEach((sample, k) =>
    checkEvalSample(
      s,
      commitment,
      answers.examplesRoot,
      predictions,
      sample,
      answers.answers[k],
      evalExamples(s, trace.key, sample.example, 1, trace.data).x,
    ),
  );
  return scorePredictions(predictions, evalExamples(s, trace.key, 0, s.evalSize, trace.data).labels);
}

describe("evaluation samples", () => {
  it("scores the committed predictions exactly as the engine evaluates the final parameters", async () => {
    const score = await evaluate(spec, SEED, weights, { backend: "js" });
    const samples = everything(spec);
    expect(check(honest, answerEvalSamples(honest, samples), samples)).to.deep.equal(score);
    expect(honest.accuracyBps).to.equal(score.accuracyBps);
  });

  it("scores an engine version 2 run from its held-out examples", async () => {
    const data = syntheticDataset(64, 40, 12, 5, 3);
    const s2 = v2Spec(data, {
      hidden: [16],
      batchSize: 8,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 3,
      evalSize: 33,
    });
    const final = (await train(s2, SEED, { backend: "js", data })).final.weights;
    const trace = new EvalTrace(s2, deriveKey(s2, SEED), final, data);
    const samples = drawEvalSamples(s2, SEED, 6, 2);
    const got = check(trace, answerEvalSamples(trace, samples), samples);
    expect(got).to.deep.equal(await evaluate(s2, SEED, final, { backend: "js", data }));
  });

  it("draws the same examples and hidden elements from the same audit seed, within the spec", () => {
    const a = drawEvalSamples(spec, SEED, 12, 3);
    expect(a).to.deep.equal(drawEvalSamples(spec, SEED, 12, 3));
    expect(a).to.not.deep.equal(drawEvalSamples(spec, `0x${"77".repeat(32)}`, 12, 3));
    for (const s of a) {
      expect(s.example).to.be.within(0, spec.evalSize - 1);
      expect(s.ops).to.have.length(3);
      for (const op of s.ops) expect(op.byte).to.be.below(spec.widths[op.slot - 1]);
    }
  });

  it("refuses predictions the trainer did not compute, at the example whose outputs' argmax differs", () => {
    // naive: a validator that scores the committed predictions without checking any example's
    // outputs would accept every forged prediction once the trainer commits it in its root
    class Claimed extends EvalTrace {
      protected override predict(e: number, _argmax: number): number {
        return evalExamples(spec, key, e, 1).labels[0];
      }
    }
    const forged = new Claimed(spec, key, weights);
    expect(forged.correct).to.equal(spec.evalSize);
    const wrong = Array.from(honest.predictions.keys()).find(
      (e) => honest.predictions[e] !== forged.predictions[e],
    )!;
    const samples = [{ example: wrong, ops: [] }];
    expect(() => check(forged, answerEvalSamples(forged, samples), samples)).to.throw(
      EvalSampleError,
      `example ${wrong}: the committed prediction is class ${forged.predictions[wrong]}, the argmax of its outputs is ${honest.predictions[wrong]}`,
    );
    // and the forged predictions under the honest root do not prove
    expect(() =>
      checkPredictions(
        spec,
        { parameterRoot: honest.parameterRoot, evalRoot: honest.root },
        answerEvalSamples(forged, []),
      ),
    ).to.throw(EvalSampleError, "not the committed evaluation root");
  });

  it("catches outputs and hidden activations that do not follow from the final parameters", () => {
    // outputs raised to the label: the output fold over the proven weight row gives another value
    class Outputs extends EvalTrace {
      protected override activations(first: number, x: Int32Array, rows: number): Int32Array[] {
        const acts = super.activations(first, x, rows);
        const labels = evalExamples(spec, key, first, rows).labels;
        for (let r = 0; r < rows; r++) acts[3][r * 6 + labels[r]] = 127;
        return acts;
      }
    }
    const a = new Outputs(spec, key, weights);
    const wrong = Array.from(honest.predictions.keys()).find(
      (e) => a.predictions[e] !== honest.predictions[e],
    )!;
    const samples = [{ example: wrong, ops: [] }];
    expect(() => check(a, answerEvalSamples(a, samples), samples)).to.throw(
      EvalSampleError,
      "its fold gives",
    );
    // a hidden activation forged, the layers above computed from it honestly: caught where sampled
    class Hidden extends EvalTrace {
      protected override activations(first: number, x: Int32Array, rows: number): Int32Array[] {
        const acts = super.activations(first, x, rows);
        for (let r = 0; r < rows; r++) acts[1][r * 40 + 5] = acts[1][r * 40 + 5] === 127 ? 0 : 127;
        return acts;
      }
    }
    const h = new Hidden(spec, key, weights);
    const at = [{ example: 3, ops: [{ slot: 2, byte: 5 }] }];
    expect(() => check(h, answerEvalSamples(h, at), at)).to.throw(EvalSampleError, "A_1[5] holds");
    // the trace of other parameters, claimed as the final one's: Θ is not the final root
    const other = new EvalTrace(spec, key, weights.map((w) => w + 256) as Int16Array);
    expect(() => check(other, answerEvalSamples(other, at), at, honest.parameterRoot)).to.throw(
      EvalSampleError,
      "parameter root",
    );
  });

  it("refuses an input row that is not the example's, and an example outside the committed tree", () => {
    class Inputs extends EvalTrace {
      protected override activations(first: number, x: Int32Array, rows: number): Int32Array[] {
        return super.activations(
          first,
          x.map((v) => (v === 127 ? 126 : v + 1)),
          rows,
        );
      }
    }
    const f = new Inputs(spec, key, weights);
    const samples = [{ example: 9, ops: [] }];
    expect(() => check(f, answerEvalSamples(f, samples), samples)).to.throw(EvalSampleError, "X is not");
    const answers = answerEvalSamples(honest, [{ example: 4, ops: [] }]);
    expect(() => check(honest, answers, samples)).to.throw(
      EvalSampleError,
      "not in the committed examples root",
    );
  });
});
