import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { evaluate, loadFastKeccak, train, type DatasetQuantization } from "../../sdk/src/compute/index.js";
import {
  DatasetBuildError,
  DatasetSourceError,
  buildDataset,
  quantize,
  readCsv,
  readDataset,
  readIdx,
  readNpy,
  roundHalfAway,
  writeIdxUint8,
  writeNpy,
} from "../../node/src/data/index.js";
import { runCli } from "../../scripts/cli/main.js";
import { datasetSpec, irisCsv } from "../../scripts/lib/datasets.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "poai-dataset-"));

/** Runs `poai <args>`, returning the exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe("datasets: poai dataset build and inspect", () => {
  before(async () => {
    await loadFastKeccak();
  });

  describe("quantisation", () => {
    it("rounds halves away from zero and clamps to [-127, 127] (absmax and minmax)", () => {
      expect([2.5, -2.5, 0.49999999999999994, -0.5, 1.5].map(roundHalfAway)).to.deep.equal([3, -3, 0, -1, 2]);
      const absmax: DatasetQuantization = {
        rule: "absmax",
        scope: "global",
        input: "uint8",
        scales: [127 / 255],
      };
      expect([0, 1, 2, 128, 255].map((x) => quantize(absmax, 0, x))).to.deep.equal([0, 0, 1, 64, 127]);
      const minmax: DatasetQuantization = {
        rule: "minmax",
        scope: "per-feature",
        input: "float",
        scales: [254 / 4, 1],
        offsets: [-2, 0],
      };
      expect([-2, 0, 2, 9].map((x) => quantize(minmax, 0, x))).to.deep.equal([-127, 0, 127, 127]);
    });

    it("fits the scale on the training part only and records it in the manifest", () => {
      const x = {
        rows: 4,
        width: 2,
        shape: [2],
        values: Float64Array.from([1, -4, 2, 8, -3, 2, 100, 100]),
        kind: "float" as const,
      };
      const data = buildDataset({
        name: "t",
        train: {
          features: { ...x, rows: 3, values: x.values.subarray(0, 6) },
          labels: ["a", "b", "a"],
          file: "train",
        },
        eval: { features: { ...x, rows: 1, values: x.values.subarray(6) }, labels: ["b"], file: "eval" },
        scope: "per-feature",
      });
      expect(data.manifest.quantization).to.deep.equal({
        rule: "absmax",
        scope: "per-feature",
        input: "float",
        scales: [127 / 3, 127 / 8],
      });
      expect([...data.train.inputs]).to.deep.equal([42, -64, 85, 127, -127, 32]);
      expect([...data.eval.inputs]).to.deep.equal([127, 127]); // clamped: the eval values exceed the fitted range
      expect(data.manifest.labelNames).to.deep.equal(["a", "b"]);
    });
  });

  describe("sources", () => {
    it("reads CSV with a header, quoted fields and a named label column, and names a bad cell", () => {
      const csv = 'id,"a,b",label\n1,2.5,x\n2,-1e2,"y"\n';
      const r = readCsv(csv, "f.csv", { label: "label" });
      expect(r.features.width).to.equal(2);
      expect([...r.features.values]).to.deep.equal([1, 2.5, 2, -100]);
      expect(r.labels).to.deep.equal(["x", "y"]);
      expect(() => readCsv("1,2,a\n3,oops,b\n", "g.csv")).to.throw(
        DatasetSourceError,
        /g.csv: line 2, column 2: "oops" is not a number/,
      );
      expect(() => readCsv("1,2,a\n3,b\n", "h.csv")).to.throw(
        DatasetSourceError,
        /line 2 has 2 columns, expected 3/,
      );
    });

    it("reads IDX and .npy arrays of every supported type, and refuses truncated files", () => {
      const idx = readIdx(writeIdxUint8([0, 1, 255, 7, 8, 9], [2, 3]), "a.idx");
      expect(idx).to.deep.include({ rows: 2, width: 3, kind: "uint8" });
      expect([...idx.values]).to.deep.equal([0, 1, 255, 7, 8, 9]);
      expect(() => readIdx(writeIdxUint8([1, 2, 3], [2, 2]), "b.idx")).to.throw(
        DatasetSourceError,
        /need 16 bytes, the file has 15/,
      );
      const f8 = readNpy(writeNpy([0.5, -1.25, 3, 4], [2, 2], "<f8"), "x.npy");
      expect(f8).to.deep.include({ rows: 2, width: 2, kind: "float" });
      expect([...f8.values]).to.deep.equal([0.5, -1.25, 3, 4]);
      expect(readNpy(writeNpy([-128, 127], [2], "|i1"), "y.npy").kind).to.equal("int8");
      expect(() => readNpy(new Uint8Array(12), "z.npy")).to.throw(DatasetSourceError, /not a .npy file/);
    });
  });

  describe("the command line", () => {
    it("builds Iris from CSV (string labels, per-feature minmax), checks and inspects it, and a spec learns it", async () => {
      const dir = tmp();
      writeFileSync(path.join(dir, "iris.csv"), await irisCsv());
      const out = path.join(dir, "iris");
      const built = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "iris.csv"),
        "--out",
        out,
        "--quantize",
        "minmax",
        "--scale",
        "per-feature",
        "--json",
      ]);
      expect(built.code, built.err).to.equal(0);
      const result = JSON.parse(built.out) as {
        dataset: { trainCount: number; evalCount: number; classes: number };
      };
      expect(result.dataset).to.include({ trainCount: 120, evalCount: 30, classes: 3 });
      const inspected = await cli(["dataset", "inspect", out]);
      expect(inspected.code, inspected.err).to.equal(0);
      expect(inspected.out).to.contain("every chunk checks against its root");
      expect(inspected.out).to.match(/class balance: setosa \d+/);
      const data = await readDataset(out);
      const spec = datasetSpec(data, {
        hidden: [16],
        batchSize: 8,
        steps: 300,
        checkpointInterval: 100,
        lrShift: 3,
      });
      const run = await train(spec, `0x${"17".repeat(32)}`, { data });
      const score = await evaluate(spec, `0x${"17".repeat(32)}`, run.final, { data });
      expect(score.accuracyBps, "Iris held-out accuracy").to.be.greaterThan(8000);
    });

    it("builds image data from IDX and from .npy to the same examples, and draws an image grid", async () => {
      const dir = tmp();
      const pixels = Uint8Array.from({ length: 6 * 16 }, (_, k) => (k * 37) % 256);
      const labels = Uint8Array.from([0, 1, 2, 0, 1, 2]);
      writeFileSync(path.join(dir, "x.idx3-ubyte"), writeIdxUint8(pixels, [6, 4, 4]));
      writeFileSync(path.join(dir, "y.idx1-ubyte"), writeIdxUint8(labels, [6]));
      writeFileSync(path.join(dir, "x.npy"), writeNpy(pixels, [6, 4, 4], "|u1"));
      writeFileSync(path.join(dir, "y.npy"), writeNpy(labels, [6], "<i4"));
      const a = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "x.idx3-ubyte"),
        "--labels",
        path.join(dir, "y.idx1-ubyte"),
        "--eval-count",
        "2",
        "--out",
        path.join(dir, "a"),
      ]);
      const b = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "x.npy"),
        "--labels",
        path.join(dir, "y.npy"),
        "--eval-count",
        "2",
        "--out",
        path.join(dir, "b"),
      ]);
      expect(a.code, a.err).to.equal(0);
      expect(b.code, b.err).to.equal(0);
      const [ma, mb] = ["a", "b"].map((d) =>
        JSON.parse(readFileSync(path.join(dir, d, "manifest.json"), "utf8")),
      );
      expect(ma.train.root).to.equal(mb.train.root);
      expect(ma.eval.root).to.equal(mb.eval.root);
      expect(ma.shape).to.deep.equal([4, 4]);
      const png = path.join(dir, "grid.png");
      const inspected = await cli(["dataset", "inspect", path.join(dir, "a"), "--png", png]);
      expect(inspected.code, inspected.err).to.equal(0);
      expect([...readFileSync(png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).to.equal(
        "PNG",
      );
    });

    it("refuses bad input with a message naming the option or the value", async () => {
      const dir = tmp();
      writeFileSync(path.join(dir, "one.csv"), "1,2,a\n3,4,a\n5,6,a\n");
      const oneClass = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "one.csv"),
        "--out",
        path.join(dir, "o"),
      ]);
      expect(oneClass.code).to.equal(1);
      expect(oneClass.err).to.match(/at least 2 classes, got 1 \(a\)/);
      const fraction = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "one.csv"),
        "--out",
        path.join(dir, "o"),
        "--eval-fraction",
        "1.5",
      ]);
      expect(fraction.code).to.not.equal(0);
      expect(fraction.err).to.match(/--eval-fraction must be between 0 and 1, got 1.5/);
      const noLabels = await cli([
        "dataset",
        "build",
        "--input",
        path.join(dir, "x.npy"),
        "--out",
        path.join(dir, "o"),
      ]);
      expect(noLabels.err).to.match(/need a labels file|cannot read/);
      expect(() =>
        buildDataset({
          name: "t",
          train: {
            features: { rows: 2, width: 1, shape: [1], values: Float64Array.from([1, 300]), kind: "integer" },
            labels: [0, 1],
            file: "t",
          },
          evalCount: 1,
          rule: "none",
        }),
      ).to.throw(DatasetBuildError, /rule "none" needs integers in -128..127/);
    });
  });
});
