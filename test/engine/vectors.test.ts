import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, type Hex } from "viem";
import {
  commit,
  deriveKey,
  encodeSpec,
  evaluate,
  jsBackend,
  modelLayout,
  specId,
  stepExamples,
  train,
  wasmBackend,
  type EngineBackend,
} from "../../sdk/src/compute/index.js";
import { example, teacherWeights } from "../../sdk/src/compute/reference.js";
import {
  VECTOR_CASES,
  VECTORS_PATH,
  datasetOfVector,
  type VectorFile,
} from "../../sdk/src/compute/vectors/generate.js";

const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;

/** The CPU backends; the cuda backend runs these vectors in cuda.test.ts (on a GPU, and on the emulated driver). */
const BACKENDS: EngineBackend[] = [jsBackend, wasmBackend];

describe("engine: committed test vectors", () => {
  it("holds one vector per case of the generator, for engine versions 1 and 2", () => {
    expect(file.engineVersions).to.deep.equal([1, 2]);
    expect(
      file.vectors.map((v) => ({ name: v.name, spec: v.spec, seed: v.seed, dataset: v.dataset })),
    ).to.deep.equal(
      VECTOR_CASES.map((c) => ({ name: c.name, spec: c.spec, seed: c.seed, dataset: c.dataset })),
    );
    const versions = new Set(file.vectors.map((v) => v.spec.version));
    expect([...versions].sort()).to.deep.equal([1, 2]);
  });

  for (const vector of file.vectors) {
    describe(`vector "${vector.name}" (version ${vector.spec.version})`, () => {
      const data = datasetOfVector(file, vector);

      it("pins the spec encoding and id, the key and the first batch of data", () => {
        expect(encodeSpec(vector.spec)).to.equal(vector.specEncoding);
        expect(specId(vector.spec)).to.equal(vector.specId);
        expect(keccak256(vector.specEncoding)).to.equal(vector.specId);
        const key = deriveKey(vector.spec, vector.seed);
        expect(key).to.deep.equal(vector.key);
        const layout = modelLayout(vector.spec);
        const inputs = new Uint8Array(vector.spec.batchSize * layout.inputs);
        const labels: number[] = [];
        if (data) {
          expect(data.ref).to.deep.equal(vector.spec.dataset);
          const examples = [...stepExamples(key, data.train.count, vector.spec.batchSize, 0)];
          expect(examples).to.deep.equal(vector.firstBatchExamples);
          examples.forEach((n, r) => {
            const ex = data.train.example(n);
            inputs.set(new Uint8Array(ex.features.buffer), r * layout.inputs);
            labels.push(ex.label);
          });
        } else {
          const teacher = teacherWeights(layout, key);
          for (let n = 0; n < vector.spec.batchSize; n++) {
            const ex = example(layout, key, teacher, n);
            inputs.set(
              Uint8Array.from(ex.x, (v) => v & 0xff),
              n * layout.inputs,
            );
            labels.push(ex.label);
          }
        }
        expect(keccak256(inputs)).to.equal(vector.firstBatchInputsHash);
        expect(labels).to.deep.equal(vector.firstBatchLabels);
      });

      for (const backend of BACKENDS) {
        it(`is reproduced by the ${backend.kind} backend: every checkpoint hash, the root and the score`, async () => {
          const hashes: Hex[] = [];
          const run = await train(vector.spec, vector.seed, {
            backend,
            data,
            onCheckpoint: ({ hash }) => void hashes.push(hash),
          });
          expect(run.checkpointHashes).to.deep.equal(vector.checkpointHashes);
          expect(hashes).to.deep.equal(vector.checkpointHashes);
          expect(commit(run).root).to.equal(vector.root);
          expect(await evaluate(vector.spec, vector.seed, run.final, { backend, data })).to.deep.equal(
            vector.score,
          );
        });
      }
    });
  }
});
