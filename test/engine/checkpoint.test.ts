import { expect } from "chai";
import { keccak256, type Hex } from "viem";
import {
  CheckpointError,
  WeightsError,
  checkpointHash,
  decodeCheckpoint,
  deriveKey,
  encodeCheckpoint,
  evaluate,
  modelLayout,
  replaySegment,
  train,
  verifySegment,
  type Checkpoint,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";

const spec: TrainingSpec = {
  version: 1,
  widths: [20, 24, 5],
  batchSize: 6,
  steps: 12,
  checkpointInterval: 3,
  lrShift: 3,
  evalSize: 30,
};
const seed: Hex = `0x${"c0ffee".repeat(10)}c0ff`;

async function checkpoints(
  backend: "js" | "wasm" = "wasm",
): Promise<{ list: Checkpoint[]; hashes: readonly Hex[] }> {
  const list: Checkpoint[] = [];
  const run = await train(spec, seed, {
    backend,
    onCheckpoint: ({ checkpoint }) => void list.push(checkpoint),
  });
  return { list, hashes: run.checkpointHashes };
}

describe("engine: checkpoints", () => {
  it("encodes the step as uint64 and every parameter as int16, little-endian, and hashes that", () => {
    const layout = modelLayout(spec);
    const weights = new Int16Array(layout.parameterCount);
    weights[0] = -2;
    weights[1] = 0x1234;
    const bytes = encodeCheckpoint(spec, { step: 9, weights });
    expect(bytes.length).to.equal(8 + 2 * layout.parameterCount);
    expect([...bytes.subarray(0, 12)]).to.deep.equal([9, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0x34, 0x12]);
    expect(checkpointHash(spec, { step: 9, weights })).to.equal(keccak256(bytes));
  });

  it("round-trips through decode, checking the hash", async () => {
    const { list, hashes } = await checkpoints();
    list.forEach((c, i) => {
      const back = decodeCheckpoint(spec, encodeCheckpoint(spec, c), hashes[i]);
      expect(back.step).to.equal(c.step);
      expect([...back.weights]).to.deep.equal([...c.weights]);
    });
  });

  it("rejects checkpoint bytes of the wrong size, hash, step or parameter range", async () => {
    const { list, hashes } = await checkpoints();
    const bytes = encodeCheckpoint(spec, list[1]);
    expect(() => decodeCheckpoint(spec, bytes.subarray(0, bytes.length - 2))).to.throw(
      CheckpointError,
      `must be ${bytes.length} bytes for this spec, got ${bytes.length - 2} bytes`,
    );
    expect(() => decodeCheckpoint(spec, bytes, hashes[2])).to.throw(CheckpointError, `must be ${hashes[2]}`);
    const badStep = bytes.slice();
    badStep[0] = 4;
    expect(() => decodeCheckpoint(spec, badStep)).to.throw(CheckpointError, "got 4");
    const late = bytes.slice();
    late[0] = 15;
    expect(() => decodeCheckpoint(spec, late)).to.throw(CheckpointError, "got 15");
    const huge = bytes.slice();
    huge[4] = 1;
    expect(() => decodeCheckpoint(spec, huge)).to.throw(CheckpointError, `got ${2 ** 32 + 3}`);
    const outOfRange = bytes.slice();
    outOfRange[8 + 2 * 7] = 0x00;
    outOfRange[8 + 2 * 7 + 1] = 0x80;
    expect(() => decodeCheckpoint(spec, outOfRange)).to.throw(
      CheckpointError,
      "weights[7] must be in -32767..32767",
    );
  });

  it("makes checkpoint 0 the seed-derived initial weights", async () => {
    const { list } = await checkpoints();
    const init = initialWeights(modelLayout(spec), deriveKey(spec, seed));
    expect(list[0].step).to.equal(0);
    expect([...list[0].weights]).to.deep.equal([...init]);
    // Biases start at zero, weights at ((byte >> 1) - 64) * 256.
    const { layers } = modelLayout(spec);
    expect(
      [...init.subarray(layers[0].biasOffset, layers[0].biasOffset + layers[0].outputs)].every(
        (b) => b === 0,
      ),
    ).to.equal(true);
    expect([...init.subarray(0, 20)].every((w) => w % 256 === 0 && w >= -64 * 256 && w <= 63 * 256)).to.equal(
      true,
    );
  });

  it("replays every segment from its checkpoint to the next one, on both backends", async () => {
    const { list, hashes } = await checkpoints("js");
    expect(list.length).to.equal(spec.steps / spec.checkpointInterval + 1);
    for (const backend of ["js", "wasm"] as const) {
      for (let i = 0; i + 1 < list.length; i++) {
        const next = await replaySegment(spec, seed, i, list[i], { backend });
        expect(next.step).to.equal((i + 1) * spec.checkpointInterval);
        expect(checkpointHash(spec, next)).to.equal(hashes[i + 1]);
      }
    }
  });

  it("detects a tampered checkpoint: a single parameter off by one changes the replayed hash", async () => {
    const { list, hashes } = await checkpoints();
    const honest = await verifySegment(spec, seed, 1, list[1], hashes[2]);
    expect(honest.ok).to.equal(true);
    const weights = list[1].weights.slice();
    weights[5] += 1;
    const tampered = await verifySegment(spec, seed, 1, { step: list[1].step, weights }, hashes[2]);
    expect(tampered.ok).to.equal(false);
    // A correct checkpoint replayed as the wrong segment fails too (the data depends on the step).
    const shifted = await verifySegment(spec, seed, 2, list[1].weights, hashes[3]);
    expect(shifted.ok).to.equal(false);
  });

  it("rejects segment indexes out of range, checkpoints at the wrong step and bad parameter vectors", async () => {
    const { list } = await checkpoints();
    const last = list.length - 1;
    let error: unknown;
    await replaySegment(spec, seed, last, list[last]).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(CheckpointError).with.property("message").that.contains(`got ${last}`);
    error = undefined;
    await replaySegment(spec, seed, 1, list[2]).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(CheckpointError).with.property("message").that.contains("got step 6");
    for (const backend of ["js", "wasm"] as const) {
      error = undefined;
      await evaluate(spec, seed, new Int16Array(3), { backend }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(WeightsError).with.property("message").that.contains("got 3");
    }
  });

  it("reports progress and every checkpoint in order, and stops when aborted", async () => {
    const steps: number[] = [];
    const seen: number[] = [];
    await train(spec, seed, {
      onProgress: ({ step }) => void steps.push(step),
      onCheckpoint: ({ index, checkpoint }) => {
        expect(checkpoint.step).to.equal(index * spec.checkpointInterval);
        seen.push(index);
      },
    });
    expect(seen).to.deep.equal([0, 1, 2, 3, 4]);
    expect(steps[steps.length - 1]).to.equal(spec.steps);

    const controller = new AbortController();
    const reached: number[] = [];
    let error: unknown;
    await train(spec, seed, {
      signal: controller.signal,
      onCheckpoint: ({ index }) => {
        reached.push(index);
        if (index === 1) controller.abort(new Error("stop"));
      },
    }).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal("stop");
    expect(reached).to.deep.equal([0, 1]);
  });
});
