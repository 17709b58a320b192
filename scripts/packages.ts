/**
 * Builds and packs the installable packages: `@poai/sdk` (compiled ESM, `.d.ts`, source maps),
 * `@poai/node` (the daemons, compiled the same way) and `@poai/contracts` (the Solidity consumer
 * bases, patterns and interfaces, with the files they import).
 *
 *   npm run pack                       # tarballs in build/packages/
 *   npm run pack -- --out /some/dir    # elsewhere
 *
 * In this repository the workspaces' `exports` point at their TypeScript sources, so the devnet, the
 * CLI, the tests and the benchmarks run from source through tsx with no build step. A published
 * package must run under plain Node and type-check in any consumer, so each one is staged here with
 * the manifest it is published with: the same name, version and dependencies, and `exports` whose
 * `types`, `import` and `default` conditions point at `dist/` (the compiled output; `src/` ships
 * beside it so that the source and declaration maps resolve). `npm pack` then runs in the stage.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const DEFAULT_OUT_DIR = path.join(ROOT, "build", "packages");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** The Solidity files a dApp builds on; `@poai/contracts` holds them and every file they import. */
const CONTRACT_SEEDS = [
  "infernet/consumer",
  "infernet/pattern",
  "infernet/utility",
  "infernet/Types.sol",
  "interfaces",
  "examples",
];

/** Files of the SDK's sources that are build tools, not part of the package. */
const SDK_BUILD_TOOLS = new Set(["compute/vectors", "compute/wasm/build.ts", "compute/cuda/build.ts"]);
/** Assets the compiled CUDA backend reads next to itself at run time. */
const CUDA_ASSETS = ["kernels.fatbin", "kernels.ptx.gz"];

interface Manifest {
  name: string;
  version: string;
  exports?: Record<string, string>;
  [key: string]: unknown;
}

export interface PackedPackages {
  sdk: string;
  node: string;
  contracts: string;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest;
}

/**
 * The published form of a workspace manifest: each `"./x": "./src/x.ts"` export becomes
 * `{ types, import, default }` on `./dist/x.{d.ts,js}`; `files` lists what ships.
 */
export function publishedManifest(manifest: Manifest): Record<string, unknown> {
  const exports: Record<string, Record<string, string>> = {};
  for (const [entry, source] of Object.entries(manifest.exports ?? {})) {
    const match = /^\.\/src\/(.+)\.ts$/.exec(source);
    if (!match)
      throw new Error(`${manifest.name}: export "${entry}" must point at ./src/<path>.ts, got "${source}"`);
    const base = `./dist/${match[1]}`;
    exports[entry] = { types: `${base}.d.ts`, import: `${base}.js`, default: `${base}.js` };
  }
  const { exports: _exports, files: _files, scripts: _scripts, devDependencies: _dev, ...rest } = manifest;
  const main = exports["."];
  return {
    ...rest,
    ...(main && { main: main.import, types: main.types }),
    exports: { ...exports, "./package.json": "./package.json" },
    files: ["dist", "src"],
  };
}

function tsc(project: string): void {
  execFileSync(process.execPath, [TSC, "-p", project], { cwd: ROOT, stdio: "inherit" });
}

/** Compiles the SDK and the node package into their `dist/` folders (the node build reads the SDK's). */
export function buildPackages(): void {
  for (const dir of ["sdk/dist", "node/dist"]) rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  tsc("sdk/tsconfig.build.json");
  for (const asset of CUDA_ASSETS) {
    cpSync(path.join(ROOT, "sdk/src/compute/cuda", asset), path.join(ROOT, "sdk/dist/compute/cuda", asset));
  }
  tsc("node/tsconfig.build.json");
}

function stageWorkspace(workspace: string, stage: string, skip: Set<string> = new Set()): void {
  const dir = path.join(ROOT, workspace);
  mkdirSync(stage, { recursive: true });
  writeFileSync(
    path.join(stage, "package.json"),
    JSON.stringify(publishedManifest(readManifest(dir)), null, 2) + "\n",
  );
  cpSync(path.join(dir, "dist"), path.join(stage, "dist"), { recursive: true });
  cpSync(path.join(dir, "src"), path.join(stage, "src"), {
    recursive: true,
    filter: (file) => !skip.has(path.relative(path.join(dir, "src"), file).split(path.sep).join("/")),
  });
  for (const doc of ["README.md", "LICENSE"]) {
    if (existsSync(path.join(dir, doc))) cpSync(path.join(dir, doc), path.join(stage, doc));
  }
}

/** The `.sol` files under `seeds` (files or folders of contracts/) and, transitively, their relative imports. */
export function contractFiles(seeds: readonly string[] = CONTRACT_SEEDS): string[] {
  const base = path.join(ROOT, "contracts");
  const seen = new Set<string>();
  const visit = (rel: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const source = readFileSync(path.join(base, rel), "utf8");
    for (const m of source.matchAll(/^import\s+(?:[^"']*from\s+)?["']([^"']+)["']/gm)) {
      if (m[1]!.startsWith(".")) visit(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]!)));
    }
  };
  for (const seed of seeds) {
    const full = path.join(base, seed);
    if (seed.endsWith(".sol")) visit(seed);
    else for (const f of readdirSync(full).filter((n) => n.endsWith(".sol"))) visit(`${seed}/${f}`);
  }
  return [...seen].sort();
}

function stageContracts(stage: string): void {
  const dir = path.join(ROOT, "packages", "contracts");
  mkdirSync(stage, { recursive: true });
  cpSync(path.join(dir, "package.json"), path.join(stage, "package.json"));
  cpSync(path.join(dir, "README.md"), path.join(stage, "README.md"));
  for (const file of contractFiles()) cpSync(path.join(ROOT, "contracts", file), path.join(stage, file));
}

function npmPack(stage: string, outDir: string): string {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", outDir], {
    cwd: stage,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [{ filename }] = JSON.parse(out) as [{ filename: string }];
  return path.join(outDir, filename);
}

/** Builds, stages and packs the three packages into `outDir`; returns the tarballs' paths. */
export function packPackages(
  outDir: string = DEFAULT_OUT_DIR,
  options: { build?: boolean } = {},
): PackedPackages {
  if (options.build ?? true) buildPackages();
  const stageRoot = path.join(outDir, "stage");
  rmSync(stageRoot, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  stageWorkspace("sdk", path.join(stageRoot, "sdk"), SDK_BUILD_TOOLS);
  stageWorkspace("node", path.join(stageRoot, "node"));
  stageContracts(path.join(stageRoot, "contracts"));
  const packed = {
    sdk: npmPack(path.join(stageRoot, "sdk"), outDir),
    node: npmPack(path.join(stageRoot, "node"), outDir),
    contracts: npmPack(path.join(stageRoot, "contracts"), outDir),
  };
  rmSync(stageRoot, { recursive: true, force: true });
  return packed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const at = process.argv.indexOf("--out");
  const outDir = at > 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]!) : DEFAULT_OUT_DIR;
  const packed = packPackages(outDir);
  for (const tarball of Object.values(packed)) process.stdout.write(`${tarball}\n`);
}
