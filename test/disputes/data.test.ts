import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { bytesToHex, keccak256, toHex, type Hex } from "viem";
import { deriveKey, modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import { RunStates, claimData, elementOf, foldRanges, proofsOf } from "../../sdk/src/compute/state/game.js";
import { trainingSlots } from "../../sdk/src/compute/state/layout.js";
import { syntheticDataset, v2Spec } from "../engine/datasets.js";

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
    // 37 training examples of 6 features, 3 classes, in chunks of 8
    const dataset = syntheticDataset(37, 8, 6, 3, 5, 8);
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
        const col = col0 % 6;
        const proof = run.exampleProof(step, row);
        const x = await prover.read.execute([
          onChainSpec(spec),
          data,
          query(1, row * 6 + col, 3, 0, 0n, step),
          roots,
          [proof],
        ]);
        expect(x).to.equal(BigInt(trace.x[row * 6 + col]));
        const label = await prover.read.execute([
          onChainSpec(spec),
          data,
          query(3, 4 * row, 3, 0, 0n, step),
          roots,
          [proof],
        ]);
        expect(label).to.equal(BigInt(trace.labels[row]));
        // another example than the one the permutation picks is refused, even with a valid proof
        // (naive code that trusts the proof's index lets a liar prove any row of the dataset)
        const other = run.exampleProof(step, (row + 1) % spec.batchSize);
        if (other.index !== proof.index)
          await expectRevert(
            prover.read.execute([onChainSpec(spec), data, query(1, row * 6, 3, 0, 0n, step), roots, [other]]),
            /MissingProof/,
          );
        // a substituted example under the right index is not proven
        const forged: Hex = `${proof.leaf.slice(0, -2)}${proof.leaf.endsWith("00") ? "01" : "00"}` as Hex;
        await expectRevert(
          prover.read.execute([
            onChainSpec(spec),
            data,
            query(1, row * 6, 3, 0, 0n, step),
            roots,
            [{ ...proof, leaf: forged }],
          ]),
          /ExampleNotProven/,
        );
      }),
      { numRuns: 4 },
    );
    expect(trainingSlots(spec)[2].present).to.equal(false);
  });
});

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
