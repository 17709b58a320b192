import { expect } from "chai";
import fc from "fast-check";
import { bytesToHex, type Hex } from "viem";
import {
  checkpointHash,
  commit,
  createBackend,
  cudaProbeResult,
  evaluate,
  jsBackend,
  replaySegment,
  train,
  wasmBackend,
  wasmSupported,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { v2RunArb } from "./arbitraries.js";

/** Small random specs: odd widths (not multiples of the SIMD width), batch 1.., every lrShift regime. */
const specArb: fc.Arbitrary<TrainingSpec> = fc
  .record({
    hidden: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 0, maxLength: 3 }),
    inputs: fc.integer({ min: 1, max: 40 }),
    classes: fc.integer({ min: 2, max: 12 }),
    batchSize: fc.integer({ min: 1, max: 20 }),
    checkpointInterval: fc.integer({ min: 1, max: 4 }),
    segments: fc.integer({ min: 1, max: 4 }),
    lrShift: fc.integer({ min: 0, max: 10 }),
    evalSize: fc.integer({ min: 1, max: 60 }),
  })
  .map((r) => ({
    version: 1,
    widths: [r.inputs, ...r.hidden, r.classes],
    batchSize: r.batchSize,
    steps: r.checkpointInterval * r.segments,
    checkpointInterval: r.checkpointInterval,
    lrShift: r.lrShift,
    evalSize: r.evalSize,
  }));

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b) as Hex);

describe("engine: backends agree bit for bit", () => {
  it("runs the wasm backend on this Node (WebAssembly SIMD available)", () => {
    expect(wasmSupported()).to.equal(true);
    // Once something has probed for CUDA and found a device (a GPU machine), "auto" is cuda.
    expect(createBackend("auto").kind).to.equal(cudaProbeResult()?.available ? "cuda" : "wasm");
    expect(createBackend("js").kind).to.equal("js");
  });

  it("gives identical checkpoint hashes, roots and scores on js and wasm for random specs and seeds", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, seedArb, async (spec, seed) => {
        const [a, b] = [
          await train(spec, seed, { backend: jsBackend }),
          await train(spec, seed, { backend: wasmBackend }),
        ];
        expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
        expect(commit(b).root).to.equal(commit(a).root);
        const [sa, sb] = [
          await evaluate(spec, seed, a.final, { backend: "js" }),
          await evaluate(spec, seed, b.final, { backend: "wasm" }),
        ];
        expect(sb).to.deep.equal(sa);
      }),
      { numRuns: 150, seed: 20_240_601 },
    );
  });

  it("replays a segment on one backend from a checkpoint produced by the other", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, seedArb, fc.nat(), async (spec, seed, pick) => {
        const states: { step: number; weights: Int16Array }[] = [];
        const run = await train(spec, seed, {
          backend: "js",
          onCheckpoint: ({ checkpoint }) => void states.push(checkpoint),
        });
        const i = pick % (run.checkpointHashes.length - 1);
        const next = await replaySegment(spec, seed, i, states[i], { backend: "wasm" });
        expect(checkpointHash(spec, next)).to.equal(run.checkpointHashes[i + 1]);
      }),
      { numRuns: 50, seed: 7 },
    );
  });

  it("gives identical checkpoint hashes, roots and scores on js and wasm for random version 2 runs", async () => {
    await fc.assert(
      fc.asyncProperty(v2RunArb(40), seedArb, fc.nat(), async ({ spec, data }, seed, pick) => {
        const states: Int16Array[] = [];
        const a = await train(spec, seed, {
          backend: jsBackend,
          data,
          onCheckpoint: ({ checkpoint }) => void states.push(checkpoint.weights),
        });
        const b = await train(spec, seed, { backend: wasmBackend, data });
        expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
        expect(commit(b).root).to.equal(commit(a).root);
        expect(await evaluate(spec, seed, b.final, { backend: "wasm", data })).to.deep.equal(
          await evaluate(spec, seed, a.final, { backend: "js", data }),
        );
        const i = pick % (a.checkpointHashes.length - 1);
        const next = await replaySegment(spec, seed, i, states[i], { backend: "wasm", data });
        expect(checkpointHash(spec, next)).to.equal(a.checkpointHashes[i + 1]);
      }),
      { numRuns: 60, seed: 20_261_206 },
    );
  });

  it("agrees at the accumulator bounds: widest inputs, saturating updates", async () => {
    const spec: TrainingSpec = {
      version: 1,
      widths: [65_536, 2],
      batchSize: 3,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 0,
      evalSize: 5,
    };
    const seed = `0x${"42".repeat(32)}` as Hex;
    const a = await train(spec, seed, { backend: "js" });
    const b = await train(spec, seed, { backend: "wasm" });
    expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
    expect(a.final.weights.some((w) => Math.abs(w) === 32_767)).to.equal(true);
  });
});
