import { expect } from "chai";
import fc from "fast-check";
import { keccak256, type Hex } from "viem";
import {
  MAX_ACTIVATIONS,
  MAX_CHECKPOINTS,
  MAX_LR_SHIFT,
  MAX_PARAMETERS,
  MAX_WIDTH,
  TrainingSpecError,
  encodeSpec,
  modelLayout,
  specId,
  validateSpec,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { REFERENCE_SPEC } from "../../sdk/src/compute/reference-spec.js";
import { deployProbe } from "./probe.js";

const base: TrainingSpec = REFERENCE_SPEC;

/** Asserts that `spec` is rejected with a TrainingSpecError naming `field` and showing `shown`. */
function rejects(spec: TrainingSpec, field: string, shown: string): void {
  let error: unknown;
  try {
    validateSpec(spec);
  } catch (e) {
    error = e;
  }
  expect(error, `${field} = ${shown} accepted`).to.be.instanceOf(TrainingSpecError);
  const e = error as TrainingSpecError;
  expect(e.field).to.equal(field);
  expect(e.message).to.contain(field);
  expect(e.message).to.contain(shown);
}

const specArb = fc.record({
  version: fc.constant(1),
  widths: fc.array(fc.integer({ min: 2, max: 3000 }), { minLength: 2, maxLength: 6 }),
  batchSize: fc.integer({ min: 1, max: 256 }),
  segments: fc.integer({ min: 1, max: 1000 }),
  checkpointInterval: fc.integer({ min: 1, max: 100_000 }),
  lrShift: fc.integer({ min: 0, max: MAX_LR_SHIFT }),
  evalSize: fc.integer({ min: 1, max: 1 << 24 }),
});

describe("engine: training spec", () => {
  it("encodes a spec byte-identically to Solidity's abi.encode of the TrainingSpec struct", async () => {
    const probe = await deployProbe();
    const specs: TrainingSpec[] = [base, { ...base, widths: [3, 2], lrShift: 0 }];
    fc.sample(specArb, { numRuns: 12, seed: 7 }).forEach(({ segments, ...s }) =>
      specs.push({ ...s, steps: segments * s.checkpointInterval }),
    );
    for (const spec of specs) {
      const onChain = (await probe.read("encode", [spec])) as Hex;
      expect(encodeSpec(spec)).to.equal(onChain);
      expect(specId(spec)).to.equal(await probe.read("specId", [spec]));
      expect(specId(spec)).to.equal(keccak256(onChain));
    }
  });

  it("gives different ids to specs that differ in any field", () => {
    const variants: TrainingSpec[] = [
      { ...base, widths: [64, 128, 10] },
      { ...base, widths: [64, 128, 128, 11] },
      { ...base, batchSize: base.batchSize + 1 },
      { ...base, steps: base.steps * 2 },
      { ...base, checkpointInterval: base.checkpointInterval * 2 },
      { ...base, lrShift: base.lrShift + 1 },
      { ...base, evalSize: base.evalSize + 1 },
    ];
    const ids = new Set([specId(base), ...variants.map(specId)]);
    expect(ids.size).to.equal(variants.length + 1);
  });

  it("rejects unknown engine versions, naming the field and the value", () => {
    rejects({ ...base, version: 3 }, "version", "3");
    rejects({ ...base, version: 0 }, "version", "0");
  });

  describe("version 2", () => {
    const dataset = {
      trainRoot: `0x${"ab".repeat(32)}` as Hex,
      trainCount: 8000,
      evalRoot: `0x${"cd".repeat(32)}` as Hex,
      evalCount: 2000,
      features: 64,
      classes: 10,
    };
    const v2: TrainingSpec = { ...base, version: 2, evalSize: 2000, dataset };

    it("encodes a spec byte-identically to Solidity's abi.encode(spec, dataset)", async () => {
      const probe = await deployProbe();
      const { dataset: d, ...fields } = validateSpec(v2);
      const onChain = (await probe.read("encodeV2", [fields, d])) as Hex;
      expect(encodeSpec(v2)).to.equal(onChain);
      expect(specId(v2)).to.equal(await probe.read("specIdV2", [fields, d]));
      // The offset word of the dynamic TrainingSpec tuple (after itself and the dataset's six inline words) comes first.
      expect(onChain.slice(2, 66)).to.equal((0xe0).toString(16).padStart(64, "0"));
    });

    it("covers every dataset field in the spec id, and differs from the same fields as version 1", () => {
      const variants: TrainingSpec[] = [
        { ...v2, dataset: { ...dataset, trainRoot: `0x${"ac".repeat(32)}` } },
        { ...v2, dataset: { ...dataset, trainCount: 8001 } },
        { ...v2, dataset: { ...dataset, evalRoot: `0x${"ce".repeat(32)}` } },
        { ...v2, dataset: { ...dataset, evalCount: 2001 } },
        { ...v2, evalSize: 1999 },
      ];
      const ids = new Set([specId(v2), specId({ ...base, evalSize: 2000 }), ...variants.map(specId)]);
      expect(ids.size).to.equal(variants.length + 2);
    });

    it("requires a dataset whose widths are the spec's and whose held-out part covers evalSize", () => {
      rejects({ ...v2, dataset: undefined }, "dataset", "undefined");
      rejects({ ...v2, dataset: { ...dataset, trainRoot: "0x12" as Hex } }, "dataset.trainRoot", "0x12");
      rejects({ ...v2, dataset: { ...dataset, trainCount: 0 } }, "dataset.trainCount", "got 0");
      rejects({ ...v2, dataset: { ...dataset, evalCount: 2 ** 32 } }, "dataset.evalCount", `got ${2 ** 32}`);
      rejects({ ...v2, dataset: { ...dataset, features: 65 } }, "dataset.features", "got 65");
      rejects({ ...v2, dataset: { ...dataset, classes: 9 } }, "dataset.classes", "got 9");
      rejects({ ...v2, evalSize: 2001 }, "evalSize", "got 2001");
      rejects({ ...base, dataset }, "dataset", "version 2");
    });
  });

  it("rejects zero, negative, fractional and oversized widths", () => {
    rejects({ ...base, widths: [64] }, "widths", "1 entries");
    rejects({ ...base, widths: Array(18).fill(4) }, "widths", "18 entries");
    rejects({ ...base, widths: [0, 8, 2] }, "widths[0]", "got 0");
    rejects({ ...base, widths: [8, -3, 2] }, "widths[1]", "got -3");
    rejects({ ...base, widths: [8, 2.5, 2] }, "widths[1]", "got 2.5");
    rejects({ ...base, widths: [8, 4, 1] }, "widths[2]", "got 1");
    rejects({ ...base, widths: [MAX_WIDTH + 1, 2] }, "widths[0]", `got ${MAX_WIDTH + 1}`);
    rejects({ ...base, widths: [8192, 8192, 2], batchSize: 1 }, "widths", `more than ${MAX_PARAMETERS}`);
  });

  it("rejects batch sizes that are zero, negative or could overflow the accumulators or the memory bound", () => {
    rejects({ ...base, batchSize: 0 }, "batchSize", "got 0");
    rejects({ ...base, batchSize: -1 }, "batchSize", "got -1");
    rejects({ ...base, batchSize: MAX_WIDTH + 1 }, "batchSize", `got ${MAX_WIDTH + 1}`);
    rejects(
      { ...base, widths: [4096, 4096, 2], batchSize: 8192 },
      "batchSize",
      `more than ${MAX_ACTIVATIONS}`,
    );
  });

  it("rejects step counts that are zero or not a multiple of the checkpoint interval", () => {
    rejects({ ...base, steps: 0 }, "steps", "got 0");
    rejects({ ...base, steps: 2001 }, "steps", "got 2001");
    rejects({ ...base, checkpointInterval: 0 }, "checkpointInterval", "got 0");
    rejects({ ...base, checkpointInterval: 4000 }, "checkpointInterval", "got 4000");
    rejects({ ...base, steps: 2 ** 21, checkpointInterval: 1 }, "checkpointInterval", `${MAX_CHECKPOINTS}`);
  });

  it("rejects learning-rate shifts and evaluation sizes out of range", () => {
    rejects({ ...base, lrShift: MAX_LR_SHIFT + 1 }, "lrShift", `got ${MAX_LR_SHIFT + 1}`);
    rejects({ ...base, lrShift: -1 }, "lrShift", "got -1");
    rejects({ ...base, evalSize: 0 }, "evalSize", "got 0");
  });

  it("bounds every int32 accumulator of a valid spec below 2^31", () => {
    // |x|, |teacher| <= 128; |w|, |g| <= 127; activations <= 127; the largest rounding offset is
    // 2^(MAX_LR_SHIFT - 1) (requantization shifts are at most 6 + 8).
    const worst = MAX_WIDTH * 128 * 128 + 127 * 127 + 2 ** (MAX_LR_SHIFT - 1);
    expect(worst).to.be.lessThan(2 ** 31);
  });

  it("lays out parameters layer by layer, weights row-major then biases", () => {
    const layout = modelLayout({ ...base, widths: [3, 5, 2] });
    expect(layout.parameterCount).to.equal(3 * 5 + 5 + 5 * 2 + 2);
    expect(layout.layers.map((l) => [l.weightOffset, l.biasOffset])).to.deep.equal([
      [0, 15],
      [20, 30],
    ]);
    expect(layout.checkpointBytes).to.equal(8 + 2 * 32);
    expect(layout.checkpointCount).to.equal(base.steps / base.checkpointInterval + 1);
    // Requantization shifts: 6 + ceil(log2(n) / 2) of the contraction length.
    expect(layout.layers.map((l) => [l.forwardShift, l.backwardShift])).to.deep.equal([
      [7, 8],
      [8, 7],
    ]);
  });
});
