import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, type Hex } from "viem";
import {
  commit,
  deriveKey,
  evaluate,
  jsBackend,
  modelLayout,
  specId,
  train,
  wasmBackend,
  type EngineBackend,
} from "../../sdk/src/compute/index.js";
import { example, teacherWeights } from "../../sdk/src/compute/reference.js";
import { VECTOR_CASES, VECTORS_PATH, type VectorFile } from "../../sdk/src/compute/vectors/generate.js";

const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;

/** The CPU backends; the cuda backend runs these vectors in cuda.test.ts (on a GPU, and on the emulated driver). */
const BACKENDS: EngineBackend[] = [jsBackend, wasmBackend];

describe("engine: committed test vectors", () => {
  it("holds one vector per case of the generator, for engine version 1", () => {
    expect(file.engineVersion).to.equal(1);
    expect(file.vectors.map((v) => ({ name: v.name, spec: v.spec, seed: v.seed }))).to.deep.equal(
      VECTOR_CASES.map((c) => ({ name: c.name, spec: c.spec, seed: c.seed })),
    );
  });

  for (const vector of file.vectors) {
    describe(`vector "${vector.name}"`, () => {
      it("pins the spec id and the first batch of data", () => {
        expect(specId(vector.spec)).to.equal(vector.specId);
        const layout = modelLayout(vector.spec);
        const key = deriveKey(vector.spec, vector.seed);
        const teacher = teacherWeights(layout, key);
        const inputs = new Uint8Array(vector.spec.batchSize * layout.inputs);
        const labels: number[] = [];
        for (let n = 0; n < vector.spec.batchSize; n++) {
          const ex = example(layout, key, teacher, n);
          inputs.set(
            Uint8Array.from(ex.x, (v) => v & 0xff),
            n * layout.inputs,
          );
          labels.push(ex.label);
        }
        expect(keccak256(inputs)).to.equal(vector.firstBatchInputsHash);
        expect(labels).to.deep.equal(vector.firstBatchLabels);
      });

      for (const backend of BACKENDS) {
        it(`is reproduced by the ${backend.kind} backend: every checkpoint hash, the root and the score`, async () => {
          const hashes: Hex[] = [];
          const run = await train(vector.spec, vector.seed, {
            backend,
            onCheckpoint: ({ hash }) => void hashes.push(hash),
          });
          expect(run.checkpointHashes).to.deep.equal(vector.checkpointHashes);
          expect(hashes).to.deep.equal(vector.checkpointHashes);
          expect(commit(run).root).to.equal(vector.root);
          expect(await evaluate(vector.spec, vector.seed, run.final, { backend })).to.deep.equal(
            vector.score,
          );
        });
      }
    });
  }
});
