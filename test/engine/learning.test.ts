import { expect } from "chai";
import { deriveKey, evaluate, modelLayout, train } from "../../sdk/src/compute/index.js";
import { REFERENCE_SEED, REFERENCE_SPEC } from "../../sdk/src/compute/reference-spec.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";

describe("engine: learning", () => {
  const classes = REFERENCE_SPEC.widths[REFERENCE_SPEC.widths.length - 1];
  const chanceBps = Math.floor(10_000 / classes);

  it("starts the reference spec near chance (checkpoint 0 has learned nothing)", async () => {
    const weights = initialWeights(modelLayout(REFERENCE_SPEC), deriveKey(REFERENCE_SPEC, REFERENCE_SEED));
    const score = await evaluate(REFERENCE_SPEC, REFERENCE_SEED, weights, { backend: "wasm" });
    expect(score.accuracyBps).to.be.below(2 * chanceBps);
  });

  it("trains the reference spec to an evaluation accuracy far above chance (>= 85%, 10 classes)", async () => {
    const accuracy: number[] = [];
    const run = await train(REFERENCE_SPEC, REFERENCE_SEED, {
      backend: "wasm",
      onCheckpoint: async ({ index, checkpoint }) => {
        if (index % 5 === 0) {
          accuracy.push(
            (await evaluate(REFERENCE_SPEC, REFERENCE_SEED, checkpoint, { backend: "wasm" })).accuracyBps,
          );
        }
      },
    });
    const score = await evaluate(REFERENCE_SPEC, REFERENCE_SEED, run.final, { backend: "wasm" });
    expect(score.total).to.equal(REFERENCE_SPEC.evalSize);
    expect(score.accuracyBps).to.be.at.least(8_500);
    // Accuracy rises over the run: every quarter ends better than chance and the last beats the first.
    expect(accuracy[accuracy.length - 1]).to.be.greaterThan(accuracy[1]);
    expect(accuracy.slice(1).every((a) => a > 3 * chanceBps)).to.equal(true);
  });
});
