import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { bytesToHex, hexToBytes, keccak256, toHex, type Hex } from "viem";
import { deriveKey, modelLayout, trainingExamples, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import {
  RunStates,
  claimData,
  elementOf,
  foldRanges,
  proofsOf,
  type LeafProof,
} from "../../sdk/src/compute/state/game.js";
import { trainingSlots } from "../../sdk/src/compute/state/layout.js";
import { syntheticDataset, v2Spec } from "../engine/datasets.js";
import { serveDatasets, type ServedDataset } from "../../node/src/data/index.js";
import { disputeDataset, disputeReplay } from "../../node/src/disputes/index.js";

/**
 * The data slots' one-step rules on chain (StepProver with DataRules) against the SDK's engine, for
 * random steps, rows and elements: X of engine version 1 (the Philox input stream), its teacher
 * scores TS and labels LBL (folds over the teacher row and over the scores), and X and LBL of engine
 * version 2 (the example the permutation picks, proven against the dataset's training root).
 */
const v1: TrainingSpec = {
  version: 1,
  widths: [70, 9, 40],
  batchSize: 5,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 4,
};

const onChainSpec = (s: TrainingSpec) => ({
  widths: s.widths,
  batchSize: s.batchSize,
  lrShift: s.lrShift,
  version: s.version,
});

describe("StepProver: the data slots' rules equal the engine's", () => {
  let prover: Awaited<ReturnType<typeof deploy>>;
  async function deploy() {
    const { viem } = await network.create();
    const library = await viem.deployContract("StepProver");
    return viem.deployContract("StepProverHarness", [], { libraries: { StepProver: library.address } });
  }
  before(async () => {
    prover = await deploy();
  });

  const query = (slot: number, offset: number, part: number, chunk: number, acc: bigint, step: number) => ({
    slot: BigInt(slot),
    offset: BigInt(offset),
    part,
    chunk: BigInt(chunk),
    acc,
    step: BigInt(step),
  });

  it("engine version 1: derives X from the run's key and folds TS and LBL bit for bit", async () => {
    const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
    await fc.assert(
      fc.asyncProperty(
        seedArb,
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.nat(),
        fc.nat(),
        async (seed, step, row0, col0) => {
          const key = deriveKey(v1, seed);
          const layout = modelLayout(v1);
          const run = new RunStates(v1, key, initialWeights(layout, key), step);
          const tensors = run.tensors(step);
          const roots = tensors.roots;
          const data = claimData(v1, key);
          const row = row0 % v1.batchSize;
          // X[row][col]: one byte of the Philox input stream
          const x = row * v1.widths[0] + (col0 % v1.widths[0]);
          expect(
            await prover.read.execute([onChainSpec(v1), data, query(1, x, 3, 0, 0n, step), roots, []]),
          ).to.equal(BigInt(run.trace(step).x[x]));
          // TS[row][c] and LBL[row]: every part of their folds
          const C = v1.widths[2];
          for (const [slot, offset] of [
            [2, 4 * (row * C + (col0 % C))],
            [3, 4 * row],
          ] as const) {
            const ref = elementOf(v1, tensors, slot, offset);
            const accs = run.foldAccs(step, ref);
            const at = (part: 0 | 1 | 2, chunk: number, acc: bigint) =>
              prover.read.execute([
                onChainSpec(v1),
                data,
                query(slot, offset, part, chunk, acc, step),
                roots,
                proofsOf(tensors, foldRanges(v1, ref, part, chunk)),
              ]);
            expect(await at(0, 0, 0n), `${ref.op} start`).to.equal(accs[0]);
            for (let c = 0; c + 1 < accs.length; c++)
              expect(await at(1, c, accs[c]), `${ref.op} chunk ${c}`).to.equal(accs[c + 1]);
            const value =
              slot === 2 ? run.trace(step).teacherScores[row * C + (col0 % C)] : run.trace(step).labels[row];
            expect(await at(2, 0, accs.at(-1)!), `${ref.op} finish`).to.equal(BigInt(value));
          }
        },
      ),
      { numRuns: 4 },
    );
  });

  it("engine version 2: X and LBL are the permuted example's, proven against the training root", async () => {
    // 37 training examples of 300 features (a features tree of three leaves), 3 classes, chunks of 8
    const F = 300;
    const dataset = syntheticDataset(37, 8, F, 3, 5, 8);
    const spec = v2Spec(dataset, {
      hidden: [4],
      batchSize: 4,
      steps: 40,
      checkpointInterval: 8,
      lrShift: 2,
      evalSize: 4,
    });
    const engineData = dataset;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 16 }), fc.nat(), fc.nat(), async (step, row0, col0) => {
        const key = deriveKey(spec, keccak256(toHex(step)));
        const run = new RunStates(spec, key, initialWeights(modelLayout(spec), key), step, engineData);
        const trace = run.trace(step);
        const roots = trace.tensors.roots;
        const data = claimData(spec, key);
        const row = row0 % spec.batchSize;
        const col = col0 % F;
        const execute = (slot: number, offset: number, proofs: readonly LeafProof[]) =>
          prover.read.execute([onChainSpec(spec), data, query(slot, offset, 3, 0, 0n, step), roots, proofs]);
        const proofs = run.exampleProofs(step, row, col);
        expect(await execute(1, row * F + col, proofs)).to.equal(BigInt(trace.x[row * F + col]));
        const [example] = proofs;
        expect(await execute(3, 4 * row, [example])).to.equal(BigInt(trace.labels[row]));
        // a substituted feature: its leaf changed, or another leaf of the same example (naive code
        // that trusts the leaf's index or reads the byte without checking the features root)
        const [, leaf] = proofs;
        await expectRevert(
          execute(1, row * F + col, [example, { ...leaf, leaf: flipByte(leaf.leaf, col % 136) }]),
          /BadProof/,
        );
        const j = Math.floor(col / 136);
        const otherLeaf = run.exampleProofs(step, row, ((j + 1) % 3) * 136)[1];
        await expectRevert(execute(1, row * F + col, [example, otherLeaf]), /BadProof/);
        // a substituted label (or features root) under the right index is not proven
        await expectRevert(
          execute(3, 4 * row, [{ ...example, leaf: flipByte(example.leaf, 0) }]),
          /ExampleNotProven/,
        );
        await expectRevert(
          execute(1, row * F + col, [{ ...example, leaf: flipByte(example.leaf, 20) }, leaf]),
          /ExampleNotProven/,
        );
        // another example than the one the permutation picks is refused, even with a valid proof
        // (naive code that trusts the proof's index lets a liar prove any row of the dataset), and so
        // is a feature leaf of another example under this example's proof
        const other = run.exampleProofs(step, (row + 1) % spec.batchSize, col);
        if (other[0].index !== example.index) {
          await expectRevert(execute(1, row * F + col, other), /MissingProof/);
          await expectRevert(execute(3, 4 * row, [other[0]]), /MissingProof/);
          if (other[1].leaf !== leaf.leaf)
            await expectRevert(execute(1, row * F + col, [example, other[1]]), /BadProof/);
        }
        // an X check without its feature leaf names the missing proof
        await expectRevert(execute(1, row * F + col, [example]), /MissingProof/);
      }),
      { numRuns: 4 },
    );
    expect(trainingSlots(spec)[2].present).to.equal(false);
  });

  it("engine version 2: a replay on the chunks a segment reads, fetched over HTTP, proves its rows on chain", async () => {
    // 96 examples in 12 chunks of 8; a segment of 2 steps of 4 rows reads at most 8 examples.
    // Naive code that proves an example from a tree over every example of the part hashes the
    // zeros of the chunks never fetched, and its proofs do not verify under the training root.
    const dataset = syntheticDataset(96, 8, 150, 3, 11, 8);
    const spec = v2Spec(dataset, {
      hidden: [4],
      batchSize: 4,
      steps: 8,
      checkpointInterval: 2,
      lrShift: 2,
      evalSize: 4,
    });
    const served: ServedDataset = {
      manifest: dataset.manifest,
      chunk: async (root) => {
        const c = dataset.train.chunkRoots.indexOf(root.toLowerCase() as Hex);
        return c < 0 ? undefined : dataset.train.chunkBytes(c);
      },
    };
    const server = await serveDatasets([served]);
    try {
      const seed = keccak256(toHex("segment 2"));
      const [firstStep, steps] = [4, 2];
      const data = await disputeDataset({
        spec,
        seed,
        firstStep,
        steps,
        sources: [server.sources.values().next().value!],
      });
      // only the chunks the segment reads
      const read = trainingExamples(spec, seed, firstStep, steps);
      const loaded = Array.from({ length: data.train.chunkCount }, (_, c) => c).filter((c) =>
        data.train.hasChunk(c),
      );
      expect(loaded).to.deep.equal(data.train.chunksFor(read));
      expect(data.train.complete).to.equal(false);
      const key = deriveKey(spec, seed);
      const weights = initialWeights(modelLayout(spec), key);
      const replay = disputeReplay(spec, seed, weights, firstStep, data);
      const whole = new RunStates(spec, key, weights, firstStep, dataset);
      for (let step = firstStep; step < firstStep + steps; step++) {
        const roots = replay.tensors(step).roots;
        expect(roots).to.deep.equal(whole.tensors(step).roots);
        const row = step % spec.batchSize;
        const col = (step * 37) % 150;
        const proofs = replay.exampleProofs(step, row, col);
        expect(proofs).to.deep.equal(whole.exampleProofs(step, row, col));
        expect(
          await prover.read.execute([
            onChainSpec(spec),
            claimData(spec, key),
            query(1, row * 150 + col, 3, 0, 0n, step),
            roots,
            proofs,
          ]),
        ).to.equal(BigInt(replay.trace(step).x[row * 150 + col]));
      }
    } finally {
      await server.close();
    }
  });
});

/** `hex` with byte `at` changed. */
function flipByte(hex: Hex, at: number): Hex {
  const bytes = hexToBytes(hex);
  bytes[at] ^= 0x01;
  return bytesToHex(bytes);
}

async function expectRevert(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a revert matching ${pattern}`).to.be.instanceOf(Error);
  expect(String((error as Error).message)).to.match(pattern);
}
