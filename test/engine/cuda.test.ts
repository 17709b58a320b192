import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { bytesToHex, type Hex } from "viem";
import {
  CudaError,
  CudaUnavailableError,
  checkpointHash,
  commit,
  createBackend,
  createCudaBackend,
  deriveKey,
  evaluate,
  jsBackend,
  probeCuda,
  replaySegment,
  selectBackend,
  train,
  wasmBackend,
  type EngineBackend,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { cudaDevice, KERNEL_PARAMS } from "../../sdk/src/compute/cuda/backend.js";
import { committedKernels, nvccVersion, staleKernels } from "../../sdk/src/compute/cuda/build.js";
import { VECTORS_PATH, datasetOfVector, type VectorFile } from "../../sdk/src/compute/vectors/generate.js";
import { v2RunArb } from "./arbitraries.js";
import { emulatorCopy, emulatorLibrary } from "./cuda-emu/build.js";

const vectors = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;

/** Small random specs: odd widths (not multiples of the 32-byte K step or the 64-wide tiles), batch 1.., every lrShift regime. */
const specArb: fc.Arbitrary<TrainingSpec> = fc
  .record({
    hidden: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 0, maxLength: 3 }),
    inputs: fc.integer({ min: 1, max: 80 }),
    classes: fc.integer({ min: 2, max: 12 }),
    batchSize: fc.integer({ min: 1, max: 40 }),
    checkpointInterval: fc.integer({ min: 1, max: 3 }),
    segments: fc.integer({ min: 1, max: 3 }),
    lrShift: fc.integer({ min: 0, max: 10 }),
    evalSize: fc.integer({ min: 1, max: 90 }),
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

/** Multiply-accumulates of a vector's run (weights × batch × steps): its cost on a backend. */
function vectorWork(spec: TrainingSpec): number {
  let weights = 0;
  for (let i = 0; i + 1 < spec.widths.length; i++) weights += spec.widths[i] * spec.widths[i + 1];
  return weights * spec.batchSize * spec.steps;
}

/**
 * The bit-exactness suite, run against the emulated driver and, where one exists, a GPU. `maxWork`
 * bounds the vectors replayed (the emulator runs every kernel thread on one CPU core, so the
 * reference-prefix vector, 140 times the next largest, is left to the GPU suite; its shapes are
 * covered by the smaller vectors: several GEMM tiles in "wide", depth in "deep").
 */
function agreementSuite(backend: () => EngineBackend, runs: number, maxWork = Infinity): void {
  for (const vector of vectors.vectors.filter((v) => vectorWork(v.spec) <= maxWork)) {
    it(`reproduces vector "${vector.name}": every checkpoint hash, the root and the score`, async () => {
      const data = datasetOfVector(vectors, vector);
      const run = await train(vector.spec, vector.seed, { backend: backend(), data });
      expect(run.checkpointHashes).to.deep.equal(vector.checkpointHashes);
      expect(commit(run).root).to.equal(vector.root);
      expect(await evaluate(vector.spec, vector.seed, run.final, { backend: backend(), data })).to.deep.equal(
        vector.score,
      );
    });
  }

  it("gives the js backend's checkpoint hashes, roots and scores for random specs and seeds", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, seedArb, async (spec, seed) => {
        const a = await train(spec, seed, { backend: jsBackend });
        const b = await train(spec, seed, { backend: backend() });
        expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
        expect(commit(b).root).to.equal(commit(a).root);
        expect(await evaluate(spec, seed, b.final, { backend: backend() })).to.deep.equal(
          await evaluate(spec, seed, a.final, { backend: jsBackend }),
        );
      }),
      { numRuns: runs, seed: 20_240_602 },
    );
  });

  it("gives the js backend's checkpoint hashes, scores and segment replays for random version 2 runs", async () => {
    await fc.assert(
      fc.asyncProperty(v2RunArb(80), seedArb, fc.nat(), async ({ spec, data }, seed, pick) => {
        const states: Int16Array[] = [];
        const a = await train(spec, seed, {
          backend: jsBackend,
          data,
          onCheckpoint: ({ checkpoint }) => void states.push(checkpoint.weights),
        });
        const b = await train(spec, seed, { backend: backend(), data });
        expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
        expect(await evaluate(spec, seed, b.final, { backend: backend(), data })).to.deep.equal(
          await evaluate(spec, seed, a.final, { backend: jsBackend, data }),
        );
        const i = pick % (a.checkpointHashes.length - 1);
        const next = await replaySegment(spec, seed, i, states[i], { backend: backend(), data });
        expect(checkpointHash(spec, next)).to.equal(a.checkpointHashes[i + 1]);
      }),
      { numRuns: Math.max(4, Math.floor(runs / 2)), seed: 20_261_207 },
    );
  });

  it("replays a segment from a checkpoint the js backend produced", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, seedArb, fc.nat(), async (spec, seed, pick) => {
        const states: { step: number; weights: Int16Array }[] = [];
        const run = await train(spec, seed, {
          backend: jsBackend,
          onCheckpoint: ({ checkpoint }) => void states.push(checkpoint),
        });
        const i = pick % (run.checkpointHashes.length - 1);
        const next = await replaySegment(spec, seed, i, states[i], { backend: backend() });
        expect(checkpointHash(spec, next)).to.equal(run.checkpointHashes[i + 1]);
      }),
      { numRuns: Math.max(4, Math.floor(runs / 3)), seed: 11 },
    );
  });

  it("agrees with wasm on wide inputs with saturating updates (several GEMM tiles, long K loops)", async () => {
    const spec: TrainingSpec = {
      version: 1,
      widths: [4099, 70, 3],
      batchSize: 67,
      steps: 2,
      checkpointInterval: 1,
      lrShift: 0,
      evalSize: 130,
    };
    const seed = `0x${"42".repeat(32)}` as Hex;
    const a = await train(spec, seed, { backend: wasmBackend });
    const b = await train(spec, seed, { backend: backend() });
    expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
    expect(a.final.weights.some((w) => Math.abs(w) === 32_767)).to.equal(true);
    expect(await evaluate(spec, seed, b.final, { backend: backend() })).to.deep.equal(
      await evaluate(spec, seed, a.final, { backend: wasmBackend }),
    );
  });
}

/** Parameter kinds the PTX declares for each entry point: `.u64` for pointers, `.u32` for 32-bit integers. */
function ptxEntries(ptx: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  const re = /\.visible \.entry (\w+)\(([^)]*)\)/g;
  for (let m = re.exec(ptx); m; m = re.exec(ptx)) {
    const params = [...m[2].matchAll(/\.param \.(\w+) /g)].map((p) => p[1]);
    entries.set(m[1], params);
  }
  return entries;
}

/** The entries of a fatbin: kind (1 PTX, 2 ELF/SASS) and architecture. */
function fatbinEntries(bytes: Uint8Array): { kind: number; arch: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(0, true), "fatbin magic").to.equal(0xba55ed50);
  const headerSize = view.getUint16(6, true);
  const end = headerSize + Number(view.getBigUint64(8, true));
  const entries: { kind: number; arch: number }[] = [];
  for (let at = headerSize; at < end;) {
    const entryHeader = view.getUint32(at + 4, true);
    const size = Number(view.getBigUint64(at + 8, true));
    entries.push({ kind: view.getUint16(at, true), arch: view.getUint32(at + 28, true) });
    at += entryHeader + size;
  }
  return entries;
}

describe("engine: cuda backend", function () {
  describe("kernel images", () => {
    it("declares in the PTX every kernel the backend launches, with the parameters it passes", () => {
      const entries = ptxEntries(committedKernels().ptx);
      expect([...entries.keys()].sort()).to.deep.equal(Object.keys(KERNEL_PARAMS).sort());
      for (const [name, kinds] of Object.entries(KERNEL_PARAMS)) {
        expect(entries.get(name), name).to.deep.equal(kinds.map((k) => (k === "p" ? "u64" : "u32")));
      }
      expect(committedKernels().ptx).to.match(/\.target sm_80\b/);
      expect(committedKernels().ptx).to.contain("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32");
    });

    it("ships a fatbin with sm_80 and sm_90 SASS and compute_90 PTX", () => {
      const entries = fatbinEntries(committedKernels().fatbin);
      expect(entries).to.deep.include.members([
        { kind: 2, arch: 80 },
        { kind: 2, arch: 90 },
        { kind: 1, arch: 90 },
      ]);
      expect(entries).to.have.length(3);
    });

    it("commits exactly the images kernels.cu compiles to (run scripts/build-cuda.sh after editing it)", function () {
      const version = nvccVersion();
      if (!version) {
        console.log("      nvcc not found: the committed CUDA images were not rebuilt and compared");
        this.skip();
      }
      this.timeout(120_000);
      expect(staleKernels(), `stale with ${version}`).to.deep.equal([]);
    });
  });

  describe("driver loading", () => {
    it("reports a missing driver library in one line", async () => {
      const backend = createCudaBackend({ library: "/nonexistent/libcuda.so.1" });
      let error: unknown;
      await backend.open(vectors.vectors[0].spec, { k0: 1, k1: 2 }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(CudaUnavailableError);
      expect((error as Error).message).to.equal(
        "CUDA unavailable: /nonexistent/libcuda.so.1 not found (no NVIDIA driver)",
      );
    });

    it("picks wasm for auto where the driver does not load", async function () {
      const probe = await probeCuda();
      if (probe.available) {
        console.log(`      CUDA is available here (${probe.device}): the fallback is not exercised`);
        this.skip();
      }
      expect(probe.reason).to.match(/^CUDA unavailable: /);
      expect(probe.reason).to.not.contain("\n");
      expect((await selectBackend("auto")).kind).to.equal("wasm");
      expect(createBackend("auto").kind).to.equal("wasm");
      expect(createBackend("cuda").kind).to.equal("cuda");
      const spec = vectors.vectors[0].spec;
      const run = await train(spec, vectors.vectors[0].seed);
      expect(run.backend).to.equal("wasm");
    });
  });

  describe("on the CPU emulation of the CUDA driver (kernels.cu compiled for the host)", function () {
    this.timeout(120_000);
    let library: string | undefined;
    before(function () {
      const built = emulatorLibrary();
      if (!built.library) {
        console.log(`      ${built.reason}: the emulated CUDA tests are skipped`);
        this.skip();
      }
      library = built.library;
    });
    const backend = () => createCudaBackend({ library });

    agreementSuite(backend, 25, 1_000_000);

    it("knows exactly the kernels the backend launches, with their parameter counts", async () => {
      const koffi = (await import("koffi")).default;
      const lib = koffi.load(library!);
      const count = lib.func("int poaiEmuKernelCount()");
      const name = lib.func("const char *poaiEmuKernelName(int i)");
      const arity = lib.func("int poaiEmuKernelArity(int i)");
      const kernels: Record<string, number> = {};
      for (let i = 0; i < (count() as number); i++) kernels[name(i) as string] = arity(i) as number;
      expect(kernels).to.deep.equal(
        Object.fromEntries(Object.entries(KERNEL_PARAMS).map(([k, v]) => [k, v.length])),
      );
    });

    it("frees every device allocation when a session closes", async () => {
      const koffi = (await import("koffi")).default;
      const allocated = koffi.load(library!).func("unsigned long long poaiEmuAllocatedBytes()");
      const before = Number(allocated());
      const spec = vectors.vectors[1].spec;
      const session = await backend().open(spec, deriveKey(spec, vectors.vectors[1].seed));
      expect(Number(allocated())).to.be.greaterThan(before);
      await session.trainSteps(0, 2);
      session.close();
      expect(Number(allocated())).to.equal(before);
      let error: unknown;
      await session.getWeights().catch((e: unknown) => (error = e));
      expect((error as Error).message).to.equal("engine session is closed");
    });

    it("reports a machine without a CUDA device in one line naming cuInit and the CUresult", async () => {
      const copy = emulatorCopy("nodevice");
      process.env.POAI_CUDA_EMU_DEVICES = "0";
      let error: unknown;
      try {
        await createCudaBackend({ library: copy })
          .open(vectors.vectors[0].spec, { k0: 1, k1: 2 })
          .catch((e: unknown) => (error = e));
      } finally {
        delete process.env.POAI_CUDA_EMU_DEVICES;
      }
      expect(error).to.be.instanceOf(CudaUnavailableError);
      expect((error as Error).message).to.equal(
        "CUDA unavailable: no CUDA device: cuInit failed: CUDA_ERROR_NO_DEVICE (100), no CUDA-capable device is detected",
      );
    });

    it("falls back to the PTX when the driver has no SASS for the device, with the same bits", async () => {
      const copy = emulatorCopy("ptx");
      process.env.POAI_CUDA_EMU_REJECT_FATBIN = "1";
      try {
        expect((await cudaDevice({ library: copy })).moduleImage).to.equal("ptx");
      } finally {
        delete process.env.POAI_CUDA_EMU_REJECT_FATBIN;
      }
      expect((await cudaDevice({ library })).moduleImage).to.equal("fatbin");
      const vector = vectors.vectors[1];
      const run = await train(vector.spec, vector.seed, { backend: createCudaBackend({ library: copy }) });
      expect(run.checkpointHashes).to.deep.equal(vector.checkpointHashes);
    });

    it("turns a failed allocation into a CudaError naming the call and frees the rest", async () => {
      const copy = emulatorCopy("oom");
      const koffi = (await import("koffi")).default;
      const allocated = koffi.load(copy).func("unsigned long long poaiEmuAllocatedBytes()");
      const spec = vectors.vectors[5].spec;
      let error: unknown;
      process.env.POAI_CUDA_EMU_MEMORY = "100000";
      try {
        await createCudaBackend({ library: copy })
          .open(spec, deriveKey(spec, vectors.vectors[5].seed))
          .catch((e: unknown) => (error = e));
      } finally {
        delete process.env.POAI_CUDA_EMU_MEMORY;
      }
      expect(error).to.be.instanceOf(CudaError);
      expect((error as Error).message).to.equal(
        "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2), out of memory",
      );
      expect(Number(allocated())).to.equal(0);
    });
  });

  describe("on a GPU", function () {
    this.timeout(300_000);
    before(async function () {
      const probe = await probeCuda();
      if (!probe.available) {
        console.log(`      ${probe.reason}: the GPU tests are skipped`);
        this.skip();
      }
      console.log(`      on ${probe.device} (compute capability ${probe.computeCapability})`);
    });

    agreementSuite(() => createBackend("cuda"), 150);

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
      const a = await train(spec, seed, { backend: "wasm" });
      const b = await train(spec, seed, { backend: "cuda" });
      expect(b.checkpointHashes).to.deep.equal(a.checkpointHashes);
    });

    it("is what auto picks", async () => {
      expect((await selectBackend("auto")).kind).to.equal("cuda");
    });
  });
});
