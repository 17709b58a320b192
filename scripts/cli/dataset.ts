/**
 * `poai dataset build | inspect | serve`: datasets for engine version 2 specs (docs/engine.md,
 * "Datasets"). No chain is involved: `build` turns CSV, IDX or NumPy `.npy` files into a dataset
 * directory (manifest.json and content-addressed chunks), `inspect` checks one and shows what is in
 * it, `serve` serves directories over HTTP as dataset sources.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Hex } from "viem";
import { loadFastKeccak, type DatasetData, type DatasetPartData } from "@poai/sdk/compute";
import {
  buildDataset,
  datasetId,
  directoryDataset,
  imageGrid,
  readCsv,
  readDataset,
  readIdx,
  readNpy,
  serveDatasets,
  writeDataset,
  type SourceExamples,
} from "@poai/node/data";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import type { CliIo, CommonOptions } from "./session.js";

type Run = (
  json: boolean | undefined,
  work: (config: CliConfig) => Promise<CommandResult>,
  opts: CommonOptions,
) => Promise<void>;

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

export interface BuildCliOptions {
  input: string;
  labels?: string;
  evalInput?: string;
  evalLabels?: string;
  format?: "csv" | "idx" | "npy";
  labelColumn?: string;
  header?: boolean;
  evalFraction?: number;
  evalCount?: number;
  shuffleSeed?: Hex;
  quantize?: "absmax" | "minmax" | "none";
  scale?: "global" | "per-feature";
  classes?: number;
  chunkExamples?: number;
  shape?: number[];
  name?: string;
  out: string;
}

function formatOf(file: string, given: BuildCliOptions["format"]): "csv" | "idx" | "npy" {
  if (given) return given;
  const lower = file.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".npy")) return "npy";
  if (/idx\d?-u?byte$|\.idx$|-ubyte$/.test(lower)) return "idx";
  return fail(`cannot tell the format of ${file} from its name: pass --format csv|idx|npy`);
}

/** Reads one source (features and labels) in the given format. */
async function readSource(
  features: string,
  labels: string | undefined,
  format: "csv" | "idx" | "npy",
  o: BuildCliOptions,
): Promise<SourceExamples> {
  const bytes = new Uint8Array(await readFile(features).catch(() => fail(`cannot read ${features}`)));
  if (format === "csv") {
    if (labels)
      fail(`--labels is for idx and npy inputs; a CSV file holds its label column (--label-column)`);
    const csv = readCsv(new TextDecoder().decode(bytes), features, {
      ...(o.labelColumn !== undefined && { label: o.labelColumn }),
      ...(o.header !== undefined && { header: o.header }),
    });
    return { features: csv.features, labels: csv.labels, file: features };
  }
  if (!labels)
    return fail(`${format} inputs need a labels file: pass --labels (and --eval-labels with --eval-input)`);
  const read = format === "idx" ? readIdx : readNpy;
  const x = read(bytes, features);
  const y = read(new Uint8Array(await readFile(labels).catch(() => fail(`cannot read ${labels}`))), labels);
  if (y.width !== 1) fail(`${labels} must hold one label per example, got ${y.width} values per row`);
  const ys = Array.from(y.values, (v) =>
    Number.isInteger(v) && v >= 0 ? v : fail(`${labels}: label ${v} is not a class (a non-negative integer)`),
  );
  return { features: x, labels: ys, file: features };
}

export async function datasetBuild(o: BuildCliOptions): Promise<CommandResult> {
  await loadFastKeccak();
  const format = formatOf(o.input, o.format);
  const train = await readSource(o.input, o.labels, format, o);
  const evalSource = o.evalInput
    ? await readSource(o.evalInput, o.evalLabels, formatOf(o.evalInput, o.format), o)
    : undefined;
  const name = o.name ?? path.basename(path.resolve(o.out));
  const data = buildDataset({
    name,
    train,
    ...(evalSource && { eval: evalSource }),
    ...(o.evalFraction !== undefined && { evalFraction: o.evalFraction }),
    ...(o.evalCount !== undefined && { evalCount: o.evalCount }),
    ...(o.shuffleSeed && { shuffleSeed: o.shuffleSeed }),
    ...(o.quantize && { rule: o.quantize }),
    ...(o.scale && { scope: o.scale }),
    ...(o.classes !== undefined && { classes: o.classes }),
    ...(o.chunkExamples !== undefined && { chunkExamples: o.chunkExamples }),
    ...(o.shape && { shape: o.shape }),
    source: {
      format,
      files: [o.input, o.labels, o.evalInput, o.evalLabels]
        .filter((f): f is string => f !== undefined)
        .map((f) => path.basename(f)),
    },
  });
  await writeDataset(o.out, data);
  const m = data.manifest;
  const ref = data.ref;
  return {
    lines: [
      `dataset ${name}: ${m.train.count} training and ${m.eval.count} held-out examples of ${m.features} features, ${m.classes} classes`,
      `quantisation: ${m.quantization.rule} (${m.quantization.scope}) from ${m.quantization.input} values`,
      `written to ${path.resolve(o.out)} (manifest.json, ${m.train.chunks.length + m.eval.chunks.length} chunks of up to ${m.train.chunkExamples} examples)`,
      `dataset id ${datasetId(ref)}`,
      `spec dataset: ${JSON.stringify(ref)}`,
    ],
    data: { dir: path.resolve(o.out), datasetId: datasetId(ref), dataset: ref, manifest: m },
  };
}

/** Examples per class of a part. */
function balance(part: DatasetPartData, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of part.labels) counts[label]++;
  return counts;
}

export interface InspectCliOptions {
  examples?: number;
  png?: string;
}

export async function datasetInspect(dir: string, o: InspectCliOptions): Promise<CommandResult> {
  const data: DatasetData = await readDataset(dir);
  const m = data.manifest;
  const names = m.labelNames ?? Array.from({ length: m.classes }, (_, c) => String(c));
  const lines = [
    `dataset ${m.name} (${path.resolve(dir)}): every chunk checks against its root`,
    `features ${m.features}${m.shape ? ` (shape ${m.shape.join(" x ")})` : ""}, classes ${m.classes}`,
    `quantisation: ${m.quantization.rule} (${m.quantization.scope}) from ${m.quantization.input} values, scales ${m.quantization.scales
      .slice(0, 4)
      .map((s) => s.toPrecision(6))
      .join(", ")}${m.quantization.scales.length > 4 ? ", …" : ""}`,
    `dataset id ${datasetId(data.ref)}`,
  ];
  const partsData: Record<string, unknown> = {};
  for (const part of [data.train, data.eval]) {
    const counts = balance(part, m.classes);
    lines.push(
      `${part.part}: ${part.count} examples, root ${m[part.part].root}, ${part.chunkCount} chunk(s) of ${part.chunkExamples}`,
      `  class balance: ${counts.map((n, c) => `${names[c]} ${n} (${((100 * n) / part.count).toFixed(1)}%)`).join(", ")}`,
    );
    partsData[part.part] = { count: part.count, root: m[part.part].root, classBalance: counts };
  }
  const shown = Math.min(o.examples ?? 8, data.train.count);
  const examples = Array.from({ length: shown }, (_, n) => data.train.example(n));
  lines.push(`first ${shown} training examples:`);
  for (const [n, ex] of examples.entries()) {
    const values = [...ex.features.slice(0, 12)].join(" ");
    lines.push(`  #${n} label ${names[ex.label]}: ${values}${m.features > 12 ? " …" : ""}`);
  }
  let png: string | undefined;
  if (m.shape && m.shape.length === 2) {
    png = path.resolve(o.png ?? path.join(dir, "examples.png"));
    const count = Math.min(Math.max(o.examples ?? 16, 1), data.train.count, 64);
    const images = Array.from({ length: count }, (_, n) => data.train.example(n).features);
    await writeFile(png, imageGrid(images, m.shape[0], m.shape[1], Math.min(8, count)));
    lines.push(`image grid of the first ${count} training examples: ${png}`);
  } else if (o.png) {
    fail(`--png needs image data (a manifest shape of [height, width]); ${m.name} has none`);
  }
  return {
    lines,
    data: {
      name: m.name,
      datasetId: datasetId(data.ref),
      dataset: data.ref,
      features: m.features,
      classes: m.classes,
      ...partsData,
      examples: examples.map((e) => ({ label: e.label, features: [...e.features] })),
      ...(png && { png }),
    },
  };
}

const positive =
  (name: string, max = 2 ** 31) =>
  (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
      throw new InvalidArgumentError(
        `--${name} must be an integer in 1..${max}, got ${JSON.stringify(value)}`,
      );
    return Number(value);
  };

/** Registers `poai dataset …` on the program. */
export function registerDatasetCommands(p: Command, io: CliIo, run: Run): void {
  const dataset = p
    .command("dataset")
    .description("Datasets for engine version 2 specs: build, inspect, serve")
    .exitOverride();
  dataset
    .command("build")
    .description(
      "Build a dataset directory from CSV, IDX or .npy files (quantised to int8, split, committed)",
    )
    .exitOverride()
    .requiredOption(
      "--input <file>",
      "examples: a CSV file (features and a label column), an IDX or a .npy array",
    )
    .option("--labels <file>", "labels of --input (IDX or .npy inputs)")
    .option("--eval-input <file>", "a separate held-out part (default: hold out part of --input)")
    .option("--eval-labels <file>", "labels of --eval-input")
    .addOption(
      new Option("--format <format>", "input format (default: from the file name)").choices([
        "csv",
        "idx",
        "npy",
      ]),
    )
    .option("--label-column <name|index>", "CSV label column (default: the last)")
    .option("--header", "the CSV's first line is a header (default: detected)")
    .option("--no-header", "the CSV has no header line")
    .option("--eval-fraction <f>", "fraction held out without --eval-input (default 0.2)", (v: string) => {
      const f = Number(v);
      if (!(f > 0 && f < 1))
        throw new InvalidArgumentError(`--eval-fraction must be between 0 and 1, got ${v}`);
      return f;
    })
    .option(
      "--eval-count <n>",
      "examples held out without --eval-input (instead of a fraction)",
      positive("eval-count"),
    )
    .option(
      "--shuffle-seed <hex>",
      'bytes32 seed of the split order (default keccak256("poai-dataset-split"))',
      (v: string) => {
        if (!/^0x[0-9a-fA-F]{64}$/.test(v))
          throw new InvalidArgumentError(`--shuffle-seed must be 32-byte hex, got ${v}`);
        return v as Hex;
      },
    )
    .addOption(
      new Option("--quantize <rule>", "int8 rule (default absmax)").choices(["absmax", "minmax", "none"]),
    )
    .addOption(
      new Option("--scale <scope>", "one scale for all features or one each (default global)").choices([
        "global",
        "per-feature",
      ]),
    )
    .option("--classes <n>", "class count (default: from the labels)", positive("classes", 65_536))
    .option(
      "--chunk-examples <n>",
      "examples per chunk, a power of two (default: chunks of about 256 KiB)",
      (v: string) => {
        const n = positive("chunk-examples", 2 ** 24)(v);
        if ((n & (n - 1)) !== 0)
          throw new InvalidArgumentError(`--chunk-examples must be a power of two, got ${v}`);
        return n;
      },
    )
    .option(
      "--shape <HxW>",
      "image shape, e.g. 28x28 (default: the source's, for IDX and .npy images)",
      (v: string) => {
        if (!/^\d+(x\d+){1,2}$/.test(v))
          throw new InvalidArgumentError(`--shape must look like 28x28, got ${v}`);
        return v.split("x").map(Number);
      },
    )
    .option("--name <name>", "dataset name (default: the --out folder's name)")
    .requiredOption("--out <dir>", "dataset directory to write (manifest.json, chunks/)")
    .option("--json", "print the result as one JSON object")
    .action(async (o: BuildCliOptions & { json?: boolean }) => run(o.json, () => datasetBuild(o), {}));

  dataset
    .command("inspect")
    .description(
      "Check a dataset directory against its roots and show its manifest, class balance and examples",
    )
    .exitOverride()
    .argument("<dir>", "dataset directory")
    .option(
      "--examples <n>",
      "examples to show (default 8; 16 in the image grid)",
      positive("examples", 1000),
    )
    .option("--png <file>", "where to write the image grid (image data; default <dir>/examples.png)")
    .option("--json", "print the result as one JSON object")
    .action(async (dir: string, o: InspectCliOptions & { json?: boolean }) =>
      run(o.json, () => datasetInspect(dir, o), {}),
    );

  dataset
    .command("serve")
    .description("Serve dataset directories over HTTP until SIGINT / SIGTERM (each a dataset source URL)")
    .exitOverride()
    .argument("<dirs...>", "dataset directories")
    .option("--host <host>", "interface to listen on (default 127.0.0.1)")
    .option("--port <port>", "port (default: any free port)", (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) > 65_535)
        throw new InvalidArgumentError(`--port must be an integer in 0..65535, got ${v}`);
      return Number(v);
    })
    .option("--json", "print the result as one JSON object")
    .action(async (dirs: string[], o: { host?: string; port?: number; json?: boolean }) =>
      run(
        o.json,
        async () => {
          const served = await Promise.all(dirs.map((d) => directoryDataset(d)));
          const server = await serveDatasets(served, {
            ...(o.host && { host: o.host }),
            ...(o.port !== undefined && { port: o.port }),
          });
          const urls = [...server.sources.entries()].map(([id, url]) => ({ id, url }));
          for (const { url } of urls) io.stderr(`serving dataset source ${url}\n`);
          const stop =
            io.stopSignal ??
            new Promise<void>((resolve) => {
              process.once("SIGINT", () => resolve());
              process.once("SIGTERM", () => resolve());
            });
          await stop;
          await server.close();
          return { lines: urls.map((u) => `served ${u.url}`), data: { sources: urls } };
        },
        {},
      ),
    );
}
