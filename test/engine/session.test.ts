import { expect } from "chai";
import fc from "fast-check";
import { keccak256, type Hex } from "viem";
import {
  checkpointHash,
  evaluate,
  fastKeccakLoaded,
  keccak256Bytes,
  loadFastKeccak,
  openRunSession,
  replaySegment,
  train,
  verifySegment,
  type Checkpoint,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";

const SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 12, 4],
  batchSize: 4,
  steps: 40,
  checkpointInterval: 5,
  lrShift: 3,
  evalSize: 64,
};
const SEED: Hex = `0x${"5a".repeat(32)}`;

describe("engine: WebAssembly Keccak-256", () => {
  it("hashes every byte string exactly as viem's keccak256, before and after it loads", async () => {
    const check = (bytes: Uint8Array): void => {
      expect(keccak256Bytes(bytes)).to.equal(keccak256(bytes));
    };
    check(new Uint8Array(0));
    expect(await loadFastKeccak()).to.equal(true);
    expect(fastKeccakLoaded()).to.equal(true);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), check), { numRuns: 200, seed: 5 });
    for (const n of [135, 136, 137, 272, 52_252, 1 << 20])
      check(new Uint8Array(n).map((_, i) => (i * 31) & 255));
  });
});

describe("engine: run sessions", () => {
  let checkpoints: Checkpoint[];
  before(async () => {
    checkpoints = [];
    await train(SPEC, SEED, {
      backend: "js",
      onCheckpoint: ({ checkpoint }) => void checkpoints.push(checkpoint),
    });
  });

  for (const backend of ["js", "wasm"] as const) {
    it(`gives the same bits as train, replaySegment, verifySegment and evaluate on the ${backend} backend`, async () => {
      const session = await openRunSession(SPEC, SEED, { backend });
      try {
        expect(session.backend).to.equal(backend);
        expect(checkpointHash(SPEC, session.initial)).to.equal(checkpointHash(SPEC, checkpoints[0]));
        // Out of order and repeated, as an audit's samples may be.
        for (const i of [6, 0, 3, 3, 7]) {
          const replayed = await session.replaySegment(i, checkpoints[i]);
          expect(checkpointHash(SPEC, replayed)).to.equal(checkpointHash(SPEC, checkpoints[i + 1]));
          const alone = await replaySegment(SPEC, SEED, i, checkpoints[i], { backend });
          expect(checkpointHash(SPEC, replayed)).to.equal(checkpointHash(SPEC, alone));
          const expected = checkpointHash(SPEC, checkpoints[i + 1]);
          const v = await session.verifySegment(i, checkpoints[i].weights, expected);
          expect(v.ok).to.equal(true);
          expect(v).to.deep.equal(await verifySegment(SPEC, SEED, i, checkpoints[i], expected, { backend }));
        }
        const wrong = await session.verifySegment(
          2,
          checkpoints[1].weights,
          checkpointHash(SPEC, checkpoints[3]),
        );
        expect(wrong.ok).to.equal(false);
        const last = checkpoints[checkpoints.length - 1];
        expect(await session.evaluate(last)).to.deep.equal(await evaluate(SPEC, SEED, last, { backend }));
      } finally {
        session.close();
      }
    });
  }

  it("refuses a call while another runs, calls after close, and bad segment arguments", async () => {
    const session = await openRunSession(SPEC, SEED, { backend: "js" });
    const running = session.replaySegment(1, checkpoints[1]);
    const busy = await session.evaluate(checkpoints[2]).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(busy?.message).to.match(/run session is busy: cannot evaluate/);
    await running;
    for (const [index, from, message] of [
      [8, checkpoints[8], "segment index must be in 0..7, got 8"],
      [-1, checkpoints[0], "segment index must be in 0..7, got -1"],
      [2, checkpoints[3], "checkpoint 2 must be at step 10, got step 15"],
    ] as const) {
      await session.replaySegment(index, from).then(
        () => expect.fail(`segment ${index} was accepted`),
        (err: Error) => expect(err.message).to.contain(message),
      );
    }
    session.close();
    session.close(); // idempotent
    await session.replaySegment(1, checkpoints[1]).then(
      () => expect.fail("a closed session replayed"),
      (err: Error) => expect(err.message).to.match(/run session is closed/),
    );
  });

  it("stops a replay when its signal aborts", async () => {
    const session = await openRunSession(SPEC, SEED, { backend: "js" });
    try {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await session.replaySegment(1, checkpoints[1], { signal: controller.signal }).then(
        () => expect.fail("an aborted replay finished"),
        (err: Error) => expect(err.message).to.equal("stop"),
      );
    } finally {
      session.close();
    }
  });
});
