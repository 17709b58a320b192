/**
 * TaskRegistry: spec ids identical to the SDK's, validation that names the offending field,
 * active-set changes that apply from the next round only, the seed's choice among the active
 * specs, governance-only writes and the bound on active specs.
 */
import { expect } from "chai";
import { network } from "hardhat";
import fc from "fast-check";
import { keccak256, toHex, type Hex } from "viem";
import { specId, validateSpec, type TrainingSpec } from "../../sdk/src/compute/index.js";
import {
  DAY,
  SPEC,
  SPEC_PARAMS,
  deployWorld,
  specArg,
  type Connection,
  type SpecParams,
  type World,
} from "./helpers/world.js";

const MAX_DEADLINE = 30 * DAY;
const spec = (patch: Partial<TrainingSpec>): TrainingSpec => ({ ...SPEC, ...patch });
/** A valid spec distinct for each `n`. */
const nth = (n: number): TrainingSpec => spec({ evalSize: 64 + n });

describe("TaskRegistry", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  /** No spec registered; the clock is in round 0. */
  async function fixture() {
    return deployWorld(conn, { specs: [] });
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  const register = async (w: World, s: TrainingSpec, p: SpecParams = SPEC_PARAMS) => {
    const { result } = await w.registry.simulate.registerSpec([specArg(s), p]);
    await w.registry.write.registerSpec([specArg(s), p]);
    return result;
  };

  describe("spec ids", () => {
    it("computes keccak256(abi.encode(spec)) exactly as the SDK's specId, for any spec the engine runs", async () => {
      const w = await load();
      const width = fc.integer({ min: 1, max: 512 });
      const specs = fc
        .record({
          hidden: fc.array(width, { minLength: 0, maxLength: 15 }),
          inputs: width,
          classes: fc.integer({ min: 2, max: 512 }),
          batchSize: fc.integer({ min: 1, max: 256 }),
          checkpointInterval: fc.integer({ min: 1, max: 1000 }),
          checkpoints: fc.integer({ min: 1, max: 1000 }),
          lrShift: fc.integer({ min: 0, max: 24 }),
          evalSize: fc.integer({ min: 1, max: 1 << 24 }),
        })
        .map((x): TrainingSpec => ({
          version: 1,
          widths: [x.inputs, ...x.hidden, x.classes],
          batchSize: x.batchSize,
          steps: x.checkpointInterval * x.checkpoints,
          checkpointInterval: x.checkpointInterval,
          lrShift: x.lrShift,
          evalSize: x.evalSize,
        }));
      const edges: TrainingSpec[] = [
        spec({ widths: [65_536, 2] }),
        spec({ widths: Array.from({ length: 17 }, () => 4) }),
        spec({ steps: 0xffff_ffff, checkpointInterval: 0xffff_ffff, lrShift: 24, evalSize: 1 << 24 }),
      ];
      const seen = new Set<Hex>();
      for (const s of [...edges, ...fc.sample(specs, { numRuns: 25, seed: 7 })]) {
        validateSpec(s); // the engine accepts it
        const expected = specId(s);
        if (seen.has(expected)) continue;
        seen.add(expected);
        const hash = await w.registry.write.registerSpec([specArg(s), SPEC_PARAMS]);
        const [e] = await w.events(hash, w.registry, "SpecRegistered");
        expect(e.specId, JSON.stringify(s)).to.equal(expected);
        const stored = await w.registry.read.getSpec([expected]);
        expect({ ...stored, widths: [...stored.widths] }).to.deep.equal(s);
        expect(await w.registry.read.isRegistered([expected])).to.equal(true);
        expect(await w.registry.read.specParams([expected])).to.deep.equal(SPEC_PARAMS);
      }
    });

    it("accepts exactly the specs the engine runs", async () => {
      // A spec the registry stores but the engine refuses would be activated, refused by every
      // trainer's engine, and every trainer would miss (and be jailed) through no fault of its own.
      const w = await load();
      const anyWidth = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 70_000 }));
      const candidates = fc
        .record({
          version: fc.oneof(
            { arbitrary: fc.constant(1), weight: 8 },
            { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 1 },
          ),
          widths: fc.array(anyWidth, { minLength: 1, maxLength: 18 }),
          batchSize: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 70_000 })),
          checkpointInterval: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 2 ** 20 })),
          checkpoints: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 ** 21 })),
          divides: fc.oneof(
            { arbitrary: fc.constant(true), weight: 9 },
            { arbitrary: fc.constant(false), weight: 1 },
          ),
          lrShift: fc.integer({ min: 0, max: 255 }),
          evalSize: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 0xffff_ffff })),
        })
        .map((x): TrainingSpec => ({
          version: x.version,
          widths: x.widths,
          batchSize: x.batchSize,
          steps: Math.min(0xffff_ffff, x.checkpointInterval * x.checkpoints + (x.divides ? 0 : 1)),
          checkpointInterval: x.checkpointInterval,
          lrShift: x.lrShift,
          evalSize: x.evalSize,
        }));
      const edges: TrainingSpec[] = [
        spec({ widths: [8, 8, 1] }), // one class
        spec({ lrShift: 25 }),
        spec({ evalSize: (1 << 24) + 1 }),
        spec({ steps: (1 << 20) + 1, checkpointInterval: 1 }), // too many checkpoints
        spec({ widths: [8192, 8192, 2] }), // too many parameters
        spec({ widths: [4096, 4096, 4096, 2], batchSize: 8192 }), // too many activations
      ];
      const disagreements: string[] = [];
      for (const s of [...edges, ...fc.sample(candidates, { numRuns: 60, seed: 11 })]) {
        let engine = true;
        try {
          validateSpec(s);
        } catch {
          engine = false;
        }
        let registry = true;
        try {
          await w.registry.simulate.registerSpec([specArg(s), SPEC_PARAMS]);
        } catch {
          registry = false;
        }
        if (engine !== registry)
          disagreements.push(`${JSON.stringify(s)}: engine ${engine}, registry ${registry}`);
      }
      expect(disagreements, disagreements.join("\n")).to.deep.equal([]);
    });

    it("stores a spec once", async () => {
      const w = await load();
      const id = await register(w, SPEC);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.registerSpec([specArg(SPEC), { ...SPEC_PARAMS, auditSamples: 3 }]),
        w.registry,
        "SpecAlreadyRegistered",
        [id],
      );
    });
  });

  describe("validation", () => {
    it("rejects an invalid spec naming the field and the value", async () => {
      const w = await load();
      const cases: [Partial<TrainingSpec>, string, bigint][] = [
        [{ version: 0 }, "version", 0n],
        [{ version: 2 }, "version", 2n],
        [{ widths: [8] }, "widths.length", 1n],
        [{ widths: Array.from({ length: 18 }, () => 4) }, "widths.length", 18n],
        [{ widths: [8, 0, 4] }, "widths", 0n],
        [{ widths: [65_537, 4] }, "widths", 65_537n],
        [{ batchSize: 0 }, "batchSize", 0n],
        [{ batchSize: 65_537 }, "batchSize", 65_537n],
        [{ steps: 0 }, "steps", 0n],
        [{ checkpointInterval: 0 }, "checkpointInterval", 0n],
        [{ steps: 20, checkpointInterval: 3 }, "checkpointInterval", 3n],
        [{ evalSize: 0 }, "evalSize", 0n],
        // the engine's limits
        [{ widths: [8, 8, 1] }, "widths", 1n], // one class
        [{ widths: [8192, 8192, 2] }, "widths", 8193n * 8192n + 8193n * 2n], // parameters
        [{ widths: [4096, 4096, 4096, 2], batchSize: 8192 }, "batchSize", 8192n * (3n * 4096n + 2n)], // activations
        [{ steps: (1 << 20) + 1, checkpointInterval: 1 }, "checkpointInterval", 1n], // checkpoints
        [{ lrShift: 25 }, "lrShift", 25n],
        [{ evalSize: (1 << 24) + 1 }, "evalSize", BigInt((1 << 24) + 1)],
      ];
      for (const [patch, field, value] of cases) {
        await assertions().revertWithCustomErrorWithArgs(
          w.registry.write.registerSpec([specArg(spec(patch)), SPEC_PARAMS]),
          w.registry,
          "InvalidSpec",
          [field, value],
        );
      }
    });

    it("rejects invalid judgment parameters naming the field, the value and the bounds", async () => {
      const w = await load();
      const cases: [Partial<SpecParams>, string, bigint, bigint, bigint][] = [
        [{ responseDeadline: 0 }, "responseDeadline", 0n, 1n, BigInt(MAX_DEADLINE)],
        [
          { responseDeadline: MAX_DEADLINE + 1 },
          "responseDeadline",
          BigInt(MAX_DEADLINE + 1),
          1n,
          BigInt(MAX_DEADLINE),
        ],
        [{ maxScoreBps: 10_001 }, "maxScoreBps", 10_001n, 0n, 10_000n],
        [{ minScoreBps: 9000, maxScoreBps: 8000 }, "minScoreBps", 9000n, 0n, 8000n],
        [{ auditSamples: 0 }, "auditSamples", 0n, 1n, 256n],
        [{ auditSamples: 257 }, "auditSamples", 257n, 1n, 256n],
      ];
      for (const [patch, field, value, lo, hi] of cases) {
        await assertions().revertWithCustomErrorWithArgs(
          w.registry.write.registerSpec([specArg(SPEC), { ...SPEC_PARAMS, ...patch }]),
          w.registry,
          "InvalidSpecParams",
          [field, value, lo, hi],
        );
      }
      const id = await register(w, SPEC);
      for (const [patch, field, value, lo, hi] of cases) {
        await assertions().revertWithCustomErrorWithArgs(
          w.registry.write.setSpecParams([id, { ...SPEC_PARAMS, ...patch }]),
          w.registry,
          "InvalidSpecParams",
          [field, value, lo, hi],
        );
      }
      // the bounds themselves are valid
      const edges: SpecParams[] = [
        { responseDeadline: 1, minScoreBps: 10_000, maxScoreBps: 10_000, auditSamples: 1 },
        { responseDeadline: MAX_DEADLINE, minScoreBps: 0, maxScoreBps: 0, auditSamples: 256 },
      ];
      for (const [i, p] of edges.entries()) await register(w, nth(i + 1), p);
      await assertions().emitWithArgs(
        w.registry.write.setSpecParams([id, edges[0]]),
        w.registry,
        "SpecParamsUpdated",
        [id, edges[0]],
      );
      expect(await w.registry.read.specParams([id])).to.deep.equal(edges[0]);
    });

    it("answers UnknownSpec for a spec that was never registered", async () => {
      const w = await load();
      const id = keccak256(toHex("nothing"));
      expect(await w.registry.read.isRegistered([id])).to.equal(false);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.read.getSpec([id]),
        w.registry,
        "UnknownSpec",
        [id],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.read.specParams([id]),
        w.registry,
        "UnknownSpec",
        [id],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.activate([id]),
        w.registry,
        "UnknownSpec",
        [id],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.setSpecParams([id, SPEC_PARAMS]),
        w.registry,
        "UnknownSpec",
        [id],
      );
    });
  });

  describe("active set", () => {
    it("applies activations and retirements from the next round only and keeps every past round's set", async () => {
      const w = await load();
      const [A, B, C] = [await register(w, nth(0)), await register(w, nth(1)), await register(w, nth(2))];
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.read.activeSpecsAt([0n]),
        w.registry,
        "NoActiveSpec",
        [0n],
      );
      await assertions().emitWithArgs(w.registry.write.activate([A]), w.registry, "SpecActivated", [A, 1n]);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.read.activeSpecsAt([0n]),
        w.registry,
        "NoActiveSpec",
        [0n],
      );
      expect(await w.registry.read.activeSpecsAt([1n])).to.deep.equal([A]);

      await w.to(w.start(1n));
      await w.registry.write.activate([B]);
      await assertions().emitWithArgs(w.registry.write.retire([A]), w.registry, "SpecRetired", [A, 2n]);
      await w.registry.write.activate([C]);
      expect(await w.registry.read.activeSpecsAt([1n])).to.deep.equal([A]);
      expect(await w.registry.read.activeSpecsAt([2n])).to.deep.equal([B, C]);
      // the current round's challenges keep their spec whatever the seed
      for (const seed of [0n, 1n, 2n, 2n ** 255n + 7n]) {
        const s = toHex(seed, { size: 32 });
        expect(await w.registry.read.specFor([1n, s])).to.equal(A);
        const [id, params] = await w.registry.read.challengeSpec([1n, s]);
        expect([id, params]).to.deep.equal([A, SPEC_PARAMS]);
      }

      await w.to(w.start(3n));
      await w.registry.write.retire([B]);
      await w.registry.write.retire([C]);
      await w.to(w.start(5n));
      expect(await w.registry.read.activeSpecsAt([1n])).to.deep.equal([A]);
      expect(await w.registry.read.activeSpecsAt([2n])).to.deep.equal([B, C]);
      expect(await w.registry.read.activeSpecsAt([3n])).to.deep.equal([B, C]);
      expect(await w.registry.read.activeSpecsAt([4n])).to.deep.equal([]);
      expect(await w.registry.read.activeSpecsAt([5n])).to.deep.equal([]);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.read.specFor([4n, toHex(1n, { size: 32 })]),
        w.registry,
        "NoActiveSpec",
        [4n],
      );
    });

    it("keeps a trainer's challenge spec and deadline fixed through activations during its round", async () => {
      const w = await deployWorld(conn, {});
      const [T] = w.trainers;
      await w.to(w.start(1n));
      await w.beacon.write.seal([1n]);
      const before = await w.challenges.read.dueChallenge([T.address, 1n]);
      const other = await register(w, nth(9), { ...SPEC_PARAMS, responseDeadline: 60 });
      await w.registry.write.activate([other]);
      await w.registry.write.retire([w.specIds[0]]);
      expect(await w.challenges.read.dueChallenge([T.address, 1n])).to.deep.equal(before);
      expect(before[2]).to.equal(w.specIds[0]);
      // and the next round uses the new set
      expect(await w.registry.read.activeSpecsAt([2n])).to.deep.equal([other]);
    });

    it("picks activeSpecsAt(round)[seed mod n]", async () => {
      const w = await load();
      const ids: Hex[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await register(w, nth(i)));
        await w.registry.write.activate([ids[i]]);
      }
      await w.to(w.start(1n));
      const set = await w.registry.read.activeSpecsAt([1n]);
      expect(set).to.deep.equal(ids);
      const seeds = [
        0n,
        1n,
        4n,
        5n,
        2n ** 256n - 1n,
        ...fc.sample(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), { numRuns: 10, seed: 3 }),
      ];
      for (const seed of seeds) {
        expect(await w.registry.read.specFor([1n, toHex(seed, { size: 32 })])).to.equal(
          set[Number(seed % 5n)],
        );
      }
    });

    it("refuses to activate a spec twice or to retire one that is not active", async () => {
      const w = await load();
      const A = await register(w, nth(0));
      const B = await register(w, nth(1));
      await w.registry.write.activate([A]);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.activate([A]),
        w.registry,
        "SpecAlreadyActive",
        [A],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.retire([B]),
        w.registry,
        "SpecNotActive",
        [B],
      );
      await w.to(w.start(1n));
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.activate([A]),
        w.registry,
        "SpecAlreadyActive",
        [A],
      );
      await w.registry.write.retire([A]);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.retire([A]),
        w.registry,
        "SpecNotActive",
        [A],
      );
    });

    it(`keeps at most MAX_ACTIVE specs active`, async () => {
      const w = await load();
      expect(await w.registry.read.MAX_ACTIVE()).to.equal(16n);
      const ids: Hex[] = [];
      for (let i = 0; i < 17; i++) ids.push(await register(w, nth(i)));
      for (let i = 0; i < 16; i++) await w.registry.write.activate([ids[i]]);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.activate([ids[16]]),
        w.registry,
        "TooManyActiveSpecs",
        [16n],
      );
      await w.to(w.start(1n));
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.activate([ids[16]]),
        w.registry,
        "TooManyActiveSpecs",
        [16n],
      );
      await w.registry.write.retire([ids[3]]);
      await w.registry.write.activate([ids[16]]);
      expect(await w.registry.read.activeSpecsAt([2n])).to.have.length(16);
    });
  });

  describe("engine version 2 specs (a committed dataset)", () => {
    const dataset = {
      trainRoot: keccak256(toHex("train")),
      trainCount: 8000,
      evalRoot: keccak256(toHex("eval")),
      evalCount: 2000,
      features: SPEC.widths[0],
      classes: SPEC.widths[SPEC.widths.length - 1],
    };
    const v2: TrainingSpec = { ...SPEC, version: 2, evalSize: 2000, dataset };
    const sources = ["https://data.example/mnist", "http://127.0.0.1:8400/v1/datasets/0x01"];
    const registerV2 = async (w: World, s: TrainingSpec = v2, src: string[] = sources) => {
      const args = [specArg({ ...s, dataset: undefined }), s.dataset!, SPEC_PARAMS, src] as const;
      const { result } = await w.registry.simulate.registerDatasetSpec(args);
      await w.registry.write.registerDatasetSpec(args);
      return result;
    };

    it("computes keccak256(abi.encode(spec, dataset)) as the SDK's specId and stores the dataset and its sources", async () => {
      const w = await load();
      const id = await registerV2(w);
      expect(id).to.equal(specId(v2));
      expect(await w.registry.read.getDataset([id])).to.deep.equal(dataset);
      expect(await w.registry.read.datasetSources([id])).to.deep.equal(sources);
      // getSpec keeps the TrainingSpec shape (ModelRegistry reads widths and steps from it).
      expect((await w.registry.read.getSpec([id])).version).to.equal(2);
      // A version 1 spec has no dataset.
      const v1 = await register(w, SPEC);
      expect((await w.registry.read.getDataset([v1])).trainCount).to.equal(0);
      expect(await w.registry.read.datasetSources([v1])).to.deep.equal([]);
    });

    it("rejects a dataset that does not fit the spec, naming the field and the value", async () => {
      const w = await load();
      const cases: [Partial<typeof dataset>, Partial<TrainingSpec>, string, bigint][] = [
        [{ trainCount: 0 }, {}, "dataset.trainCount", 0n],
        [{ evalCount: 0 }, {}, "dataset.evalCount", 0n],
        [{ features: dataset.features + 1 }, {}, "dataset.features", BigInt(dataset.features + 1)],
        [{ classes: 3 }, {}, "dataset.classes", 3n],
        [{}, { evalSize: 2001 }, "evalSize", 2001n],
        [{}, { version: 1 }, "version", 1n],
      ];
      for (const [patch, specPatch, field, value] of cases) {
        const s = { ...v2, ...specPatch, dataset: { ...dataset, ...patch } };
        await assertions().revertWithCustomErrorWithArgs(
          w.registry.write.registerDatasetSpec([
            specArg({ ...s, dataset: undefined }),
            s.dataset,
            SPEC_PARAMS,
            sources,
          ]),
          w.registry,
          "InvalidSpec",
          [field, value],
        );
      }
      // registerSpec takes version 1 only: a version 2 spec must name its dataset.
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.registerSpec([specArg({ ...v2, dataset: undefined }), SPEC_PARAMS]),
        w.registry,
        "InvalidSpec",
        ["version", 2n],
      );
    });

    it("bounds the sources, lets governance replace them, and refuses sources for a version 1 spec", async () => {
      const w = await load();
      await assertions().revertWithCustomErrorWithArgs(
        registerV2(
          w,
          v2,
          Array.from({ length: 9 }, (_, i) => `https://s${i}.example`),
        ),
        w.registry,
        "TooManyDatasetSources",
        [9n, 8n],
      );
      await assertions().revertWithCustomErrorWithArgs(
        registerV2(w, v2, ["https://a.example", ""]),
        w.registry,
        "InvalidDatasetSource",
        [1n, 0n, 256n],
      );
      const id = await registerV2(w);
      await w.registry.write.setDatasetSources([id, ["https://mirror.example/mnist"]]);
      expect(await w.registry.read.datasetSources([id])).to.deep.equal(["https://mirror.example/mnist"]);
      const v1 = await register(w, SPEC);
      await assertions().revertWithCustomErrorWithArgs(
        w.registry.write.setDatasetSources([v1, sources]),
        w.registry,
        "NotADatasetSpec",
        [v1],
      );
      await assertions().revertWithCustomErrorWithArgs(
        w.outsiders[0].registry.write.setDatasetSources([id, []]),
        w.registry,
        "AccessManagedUnauthorized",
        [w.outsiders[0].address],
      );
    });
  });

  describe("access control", () => {
    it("lets only governance register, configure, activate and retire specs", async () => {
      const w = await load();
      const id = await register(w, SPEC);
      for (const stranger of [w.outsiders[0], w.trainers[0], w.validators[0]]) {
        const r = stranger.registry;
        const calls = [
          () => r.write.registerSpec([specArg(nth(1)), SPEC_PARAMS]),
          () => r.write.setSpecParams([id, SPEC_PARAMS]),
          () => r.write.activate([id]),
          () => r.write.retire([id]),
        ];
        for (const call of calls) {
          await assertions().revertWithCustomErrorWithArgs(call(), w.registry, "AccessManagedUnauthorized", [
            stranger.address,
          ]);
        }
      }
    });
  });
});
