import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, encodeAbiParameters, hexToBytes, keccak256, type Hex } from "viem";
import {
  DataUnavailableError,
  DatasetData,
  DatasetError,
  checkManifest,
  checkpointHash,
  commitDataset,
  deriveKey,
  encodeChunk,
  evaluate,
  exampleLeaf,
  featuresRoot,
  jsBackend,
  loadFastKeccak,
  parseManifest,
  permuteIndex,
  replaySegment,
  segmentExamples,
  stepExamples,
  train,
  trainingExampleAt,
  treeLevels,
  treeProof,
  treeRoot,
  verifyExampleProof,
  wasmBackend,
  type DatasetManifest,
} from "../../sdk/src/compute/index.js";
import { byteTreeRoot } from "../../sdk/src/compute/state/tree.js";
import { SEED, syntheticDataset, syntheticRows, v2Spec } from "./datasets.js";
import { deployProbe } from "./probe.js";

describe("engine: datasets (version 2)", () => {
  before(async () => {
    await loadFastKeccak();
  });

  describe("commitment", () => {
    it("hashes an example as OpenZeppelin's standard leaf of abi.encode(uint32 index, uint32 label, bytes32 featuresRoot)", () => {
      const features = Int8Array.from([-128, -1, 0, 1, 127]);
      const bytes = new Uint8Array(features.buffer);
      const padded = new Uint8Array(136);
      padded.set(bytes);
      const encoded = encodeAbiParameters(
        [{ type: "uint32" }, { type: "uint32" }, { type: "bytes32" }],
        [7, 3, keccak256(padded)],
      );
      expect(exampleLeaf(7, 3, features)).to.equal(keccak256(keccak256(encoded)));
    });

    it("commits the features as the byte tree of the dispute game's state slots, at every width", () => {
      // naive code that hashed the features flat (or sorted the pairs like the example tree) would
      // give a root that a leaf proof of the game (Bisection.verify) cannot open
      for (const width of [1, 135, 136, 137, 784, 1000, 4353]) {
        const bytes = Uint8Array.from({ length: width }, (_, i) => (i * 131 + 7) & 0xff);
        expect(featuresRoot(bytes), `width ${width}`).to.equal(byteTreeRoot(bytes));
      }
    });

    it("builds the root from the chunk roots, for any count and chunk size (chunks are subtrees)", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 5 }), (count, log) => {
          const rows = syntheticRows(count, 3, 4, count);
          const leaves = Array.from({ length: count }, (_, n) =>
            hexToBytes(exampleLeaf(n, rows.labels[n], rows.inputs.subarray(3 * n, 3 * n + 3))),
          );
          const data = commitDataset({
            name: "t",
            features: 3,
            classes: 4,
            train: rows,
            eval: rows,
            chunkExamples: 2 ** log,
            quantization: { rule: "none", scope: "global", input: "int8", scales: [1] },
          });
          expect(data.manifest.train.root).to.equal(bytesToHex(treeRoot(leaves)));
          expect(data.manifest.train.chunks).to.have.length(Math.ceil(count / 2 ** log));
        }),
        { numRuns: 40, seed: 3 },
      );
    });

    it("proves every example off chain, and on chain with OpenZeppelin's MerkleProof", async () => {
      const data = syntheticDataset(13, 5, 6, 4, 9, 4);
      const root = data.manifest.train.root as Hex;
      const probe = await deployProbe();
      for (let n = 0; n < 13; n++) {
        const { features, label } = data.train.example(n);
        const proof = data.train.proof(n);
        expect(verifyExampleProof(root, n, label, features, proof), `example ${n}`).to.equal(true);
        expect(verifyExampleProof(root, n, (label + 1) % 4, features, proof)).to.equal(false);
        expect(verifyExampleProof(root, (n + 1) % 13, label, features, proof)).to.equal(false);
        if (n % 4 === 1) {
          const onChain = await probe.read("verifyExample", [proof, root, n, label, featuresRoot(features)]);
          expect(onChain, `on chain ${n}`).to.equal(true);
        }
      }
    });

    it("proves an example from its chunk and the chunk roots alone (a dataset fetched in part)", () => {
      const data = syntheticDataset(13, 5, 6, 4, 9, 4);
      const leaves = Array.from({ length: 13 }, (_, n) => {
        const { features, label } = data.train.example(n);
        return hexToBytes(exampleLeaf(n, label, features));
      });
      const partial = new DatasetData(data.manifest, { ref: data.ref });
      partial.train.loadChunk(3, data.train.chunkBytes(3)); // example 12 alone, the short last chunk
      partial.train.loadChunk(1, data.train.chunkBytes(1));
      for (const n of [4, 7, 12])
        expect(partial.train.proof(n), `example ${n}`).to.deep.equal(treeProof(treeLevels(leaves), n));
      expect(() => partial.train.proof(0)).to.throw(DatasetError, /needs its chunk loaded/);
    });

    it("carries an unpaired node up unchanged instead of hashing it with itself", () => {
      const leaves = [1, 2, 3].map((b) => new Uint8Array(32).fill(b));
      const levels = treeLevels(leaves);
      expect(levels.map((l) => l.length)).to.deep.equal([3, 2, 1]);
      expect(levels[1][1]).to.deep.equal(leaves[2]);
      expect(treeProof(levels, 2)).to.deep.equal([bytesToHex(levels[1][0])]);
    });
  });

  describe("manifest and chunks", () => {
    const data = syntheticDataset(40, 9, 5, 3, 2, 8);
    const manifest = data.manifest;

    it("refuses a malformed manifest, naming the field and the value", () => {
      const bad = (patch: (m: Record<string, unknown>) => void, field: string) => {
        const m = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
        patch(m);
        let error: unknown;
        try {
          parseManifest(JSON.stringify(m));
        } catch (e) {
          error = e;
        }
        expect(error, field).to.be.instanceOf(DatasetError);
        expect((error as DatasetError).field).to.equal(field);
      };
      bad((m) => (m.format = "other"), "manifest.format");
      bad((m) => ((m.train as { chunkExamples: number }).chunkExamples = 6), "manifest.train.chunkExamples");
      bad((m) => (m.train as { chunks: string[] }).chunks.pop(), "manifest.train.chunks");
      bad((m) => ((m.eval as { root: string }).root = "0x1234"), "manifest.eval.root");
      bad((m) => (m.shape = [2, 2]), "manifest.shape");
      bad((m) => (m.extra = 1), "manifest");
      expect(() => parseManifest("{")).to.throw(DatasetError, /manifest must be JSON/);
    });

    it("binds the manifest to the spec: roots, counts, widths, and chunk roots that rebuild the root", () => {
      expect(() => checkManifest(manifest, data.ref)).to.not.throw();
      const lying = JSON.parse(JSON.stringify(manifest)) as DatasetManifest;
      lying.train.chunks[1] = lying.train.chunks[2];
      expect(() => checkManifest(lying, data.ref)).to.throw(DatasetError, /rebuild/);
      expect(() => checkManifest(manifest, { ...data.ref, evalCount: 10 })).to.throw(
        DatasetError,
        /evalCount/,
      );
      expect(() => checkManifest(manifest, { ...data.ref, classes: 4 })).to.throw(DatasetError, /classes/);
    });

    it("loads a chunk only when its bytes rebuild its root, with every label below the class count", () => {
      const empty = new DatasetData(manifest, { ref: data.ref });
      const bytes = encodeChunk(data.train, 8, 16);
      const flipped = bytes.slice();
      flipped[5] ^= 1;
      expect(() => empty.train.loadChunk(1, flipped)).to.throw(DatasetError, /chunk 1 has root/);
      expect(() => empty.train.loadChunk(1, bytes.subarray(1))).to.throw(DatasetError, /must be 56 bytes/);
      expect(() => empty.train.loadChunk(2, bytes)).to.throw(DatasetError, /chunk 2 has root/);
      const badLabel = bytes.slice();
      badLabel[0] = 3;
      badLabel[1] = 0;
      expect(() => empty.train.loadChunk(1, badLabel)).to.throw(DatasetError, /label 3/);
      expect(empty.train.hasChunk(1)).to.equal(false);
      empty.train.loadChunk(1, bytes);
      expect(empty.train.hasChunk(1)).to.equal(true);
      expect(empty.train.example(9)).to.deep.equal(data.train.example(9));
      expect(() => empty.train.example(0)).to.throw(DatasetError, /not loaded/);
    });
  });

  describe("example permutation", () => {
    const key = { k0: 0x1234_5678, k1: 0x9abc_def0 };

    it("visits every training example exactly once per epoch, a different order each epoch", () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }), fc.nat({ max: 2 ** 40 }), (count, epoch) => {
          const order = Array.from({ length: count }, (_, q) => permuteIndex(key, count, epoch, q));
          expect(new Set(order).size).to.equal(count);
          expect(Math.max(...order)).to.be.lessThan(count);
          if (count >= 8) {
            const next = Array.from({ length: count }, (_, q) => permuteIndex(key, count, epoch + 1, q));
            expect(next).to.not.deep.equal(order);
          }
        }),
        { numRuns: 60, seed: 5 },
      );
    });

    it("computes one position alone the same as a whole step, across epoch boundaries", () => {
      const batch = stepExamples(key, 10, 7, 3); // positions 21..27: epoch 2 then 3
      expect([...batch]).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((r) => trainingExampleAt(key, 10, 21 + r)));
      expect(trainingExampleAt(key, 1, 123_456)).to.equal(0);
      expect(trainingExampleAt(key, 2 ** 32 - 1, 2 ** 47)).to.be.lessThan(2 ** 32 - 1);
    });
  });

  describe("training on a dataset", () => {
    const data = syntheticDataset(50, 20, 13, 3, 4, 8);
    const spec = v2Spec(data, {
      hidden: [9],
      batchSize: 5,
      steps: 24,
      checkpointInterval: 4,
      lrShift: 2,
      evalSize: 17,
    });

    it("needs the spec's own dataset to train, replay and evaluate", async () => {
      await train(spec, SEED, { backend: jsBackend }).then(
        () => expect.fail("trained without data"),
        (e: unknown) => expect(e).to.be.instanceOf(DataUnavailableError),
      );
      const other = syntheticDataset(50, 20, 13, 3, 5, 8);
      await train(spec, SEED, { backend: jsBackend, data: other }).then(
        () => expect.fail("trained on another dataset"),
        (e: unknown) => expect((e as Error).message).to.match(/trainRoot/),
      );
      await train({ ...spec, version: 1, dataset: undefined }, SEED, { data }).then(
        () => expect.fail("version 1 took a dataset"),
        (e: unknown) => expect(e).to.be.instanceOf(DataUnavailableError),
      );
    });

    it("replays a segment with only the chunks that segment reads loaded, and names a missing one", async () => {
      const run = await train(spec, SEED, { backend: wasmBackend, data });
      const states: Int16Array[] = [];
      await train(spec, SEED, {
        backend: jsBackend,
        data,
        onCheckpoint: ({ checkpoint }) => void states.push(checkpoint.weights),
      });
      const partial = new DatasetData(data.manifest, { ref: spec.dataset });
      const needed = partial.train.chunksFor(segmentExamples(spec, SEED, 3));
      for (const c of needed.slice(1)) partial.train.loadChunk(c, data.train.chunkBytes(c));
      const replay = () => replaySegment(spec, SEED, 3, states[3], { backend: wasmBackend, data: partial });
      await replay().then(
        () => expect.fail("replayed with a chunk missing"),
        (e: unknown) => expect((e as Error).message).to.contain(`(chunk ${needed[0]})`),
      );
      partial.train.loadChunk(needed[0], data.train.chunkBytes(needed[0]));
      expect(checkpointHash(spec, await replay())).to.equal(run.checkpointHashes[4]);
      await evaluate(spec, SEED, run.final, { data: partial }).then(
        () => expect.fail("evaluated without the held-out examples"),
        (e: unknown) => expect((e as Error).message).to.match(/evaluation chunk 0/),
      );
    });

    it("gives a different checkpoint when a single training example differs", async () => {
      const honest = await train(spec, SEED, { backend: jsBackend, data });
      // Change one example the first segment reads: the same spec id cannot be kept (the root
      // changes), so train the spec with the data swapped in behind the engine's back.
      const used = segmentExamples(spec, SEED, 0)[0];
      const rows = { ...data.train, inputs: data.train.inputs.slice() };
      rows.inputs[used * 13] ^= 0x40;
      const session = await jsBackend.open(spec, deriveKey(spec, SEED), { train: rows, eval: data.eval });
      await session.trainSteps(0, spec.checkpointInterval);
      const forged = checkpointHash(spec, {
        step: spec.checkpointInterval,
        weights: await session.getWeights(),
      });
      session.close();
      expect(forged).to.not.equal(honest.checkpointHashes[1]);
    });
  });
});
