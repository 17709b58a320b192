/**
 * The packages as a dApp developer and an operator meet them: `npm pack`ed, installed into fresh
 * projects outside the repository (offline: the dependencies' folders are seeded from the
 * repository's own install, and npm installs the tarballs on top), then used with no TypeScript
 * loader, under strict tsc, in a browser bundle and from Solidity.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { parseEther } from "viem";
import { ROOT, packPackages, type PackedPackages } from "../../scripts/packages.js";
import { connect, registerOperator } from "../sdk/fixture.js";

const run = promisify(execFile);
/** The dApp (and operator script) that the tarballs are installed under. */
const CONSUMER = path.join(ROOT, "packages", "consumer");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** Packages a dApp must not get by installing @poai/sdk: they belong to the node software. */
const NODE_ONLY = ["koffi", "pino", "prom-client", "commander", "cli-progress"];
/** Budget for the browser bundle of a staking read, minified and gzipped, viem excluded. */
const BROWSER_BUDGET = 150 * 1024;

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * Copies (hard links where the file system allows) into `project` the installed folders of `names`
 * and of everything they depend on, as the repository's lockfile places them, so that npm finds
 * every registry dependency already installed and needs no network. `names` are resolved as the
 * workspace that declares them (`sdk`, `node`, or `""` for the root) resolves them.
 */
function seedDependencies(project: string, names: readonly string[], workspace: string): void {
  const lock = (
    JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  const locate = (from: string, name: string): string | undefined => {
    for (let at = from; ;) {
      const candidate = `${at ? `${at}/` : ""}node_modules/${name}`;
      if (lock[candidate]) return candidate;
      if (!at) return undefined;
      const cut = at.lastIndexOf("/node_modules/");
      at = cut < 0 ? "" : at.slice(0, cut);
    }
  };
  const seen = new Set<string>();
  const visit = (location: string): void => {
    if (seen.has(location)) return;
    seen.add(location);
    const entry = lock[location]!;
    const deps = { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies };
    for (const dep of Object.keys(deps)) {
      if (entry.peerDependenciesMeta?.[dep]?.optional) continue;
      const found = locate(location, dep);
      if (found) visit(found);
      else if (!entry.optionalDependencies?.[dep])
        throw new Error(`${location} needs ${dep}, not in package-lock.json`);
    }
  };
  for (const name of names) {
    const location = locate(workspace, name);
    if (!location) throw new Error(`${name} is not installed in the repository`);
    visit(location);
  }
  for (const location of [...seen].sort()) {
    // What the workspace holds in its own node_modules goes to the top of the fresh project.
    const placed = location.startsWith(`${workspace}/`) ? location.slice(workspace.length + 1) : location;
    const target = path.join(project, placed);
    // Optional dependencies for other platforms are in the lockfile but not on disk.
    if (existsSync(target) || !existsSync(path.join(ROOT, location))) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    linkTree(path.join(ROOT, location), target);
    // npm reinstalls (from the registry) a package whose command links are missing.
    const manifest = JSON.parse(readFileSync(path.join(target, "package.json"), "utf8")) as {
      name: string;
      bin?: string | Record<string, string>;
    };
    if (!manifest.bin) continue;
    const bins =
      typeof manifest.bin === "string" ? { [manifest.name.split("/").pop()!]: manifest.bin } : manifest.bin;
    const binDir = path.join(
      project,
      placed.slice(0, placed.lastIndexOf("node_modules/") + "node_modules".length),
      ".bin",
    );
    mkdirSync(binDir, { recursive: true });
    for (const [name, file] of Object.entries(bins)) {
      if (!existsSync(path.join(binDir, name)))
        symlinkSync(path.relative(binDir, path.join(target, file)), path.join(binDir, name));
    }
  }
}

/** Hard-link copy of a folder (falls back to copying across file systems). */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, entry.name);
    const b = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(a, b);
    else if (entry.isFile()) {
      try {
        linkSync(a, b);
      } catch {
        copyFileSync(a, b);
      }
    }
  }
}

/** A fresh project in `dir` with the tarballs installed by npm, offline. */
async function freshProject(
  dir: string,
  seeds: Readonly<Record<string, readonly string[]>>,
  tarballs: readonly string[],
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: path.basename(dir), private: true, type: "module" }),
  );
  for (const [workspace, names] of Object.entries(seeds)) seedDependencies(dir, names, workspace);
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], {
    cwd: dir,
  });
}

/**
 * The Node binaries to run the dApp's script with, by major version: the one running the tests (the
 * project's Node 22) and the system's `node` when it is another version (Node 20 on this project's
 * CI machines).
 */
async function nodeBinaries(): Promise<Map<string, string>> {
  const found = new Map([[process.versions.node.split(".")[0]!, process.execPath]]);
  const bin = path.join(ROOT, "node_modules", ".bin");
  const systemPath = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => path.resolve(dir) !== bin);
  for (const dir of systemPath) {
    const candidate = path.join(dir, "node");
    if (!existsSync(candidate)) continue;
    const { stdout } = await run(candidate, ["-p", "process.versions.node"]);
    const major = stdout.trim().split(".")[0]!;
    if (!found.has(major)) found.set(major, candidate);
  }
  return found;
}

function dependenciesOf(tarballManifest: string): string[] {
  const manifest = JSON.parse(readFileSync(tarballManifest, "utf8")) as {
    dependencies?: Record<string, string>;
  };
  return Object.keys(manifest.dependencies ?? {});
}

describe("the packed packages in a fresh project", function () {
  this.timeout(600_000);
  let work: string;
  let dapp: string;
  let operator: string;
  let packed: PackedPackages;

  before(async function () {
    work = mkdtempSync(path.join(os.tmpdir(), "poai-packages-"));
    packed = packPackages(path.join(work, "tarballs"));
    dapp = path.join(work, "dapp");
    operator = path.join(work, "operator");
    const sdkDeps = ["viem", "zod", "hash-wasm", "@openzeppelin/merkle-tree"];
    // The two projects install side by side (npm spends most of its time waiting on the disk).
    await Promise.all([
      freshProject(dapp, { sdk: sdkDeps, "": ["@openzeppelin/contracts"] }, [packed.sdk, packed.contracts]),
      freshProject(operator, { sdk: sdkDeps, node: NODE_ONLY }, [packed.sdk, packed.node]),
    ]);
    for (const file of readdirSync(CONSUMER)) copyFileSync(path.join(CONSUMER, file), path.join(dapp, file));
    copyFileSync(path.join(CONSUMER, "node-entry.mjs"), path.join(operator, "node-entry.mjs"));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("installs @poai/sdk with viem and what its actions need, and none of the node software's packages", () => {
    const sdkManifest = path.join(dapp, "node_modules", "@poai", "sdk", "package.json");
    expect(dependenciesOf(sdkManifest).sort()).to.deep.equal([
      "@openzeppelin/merkle-tree",
      "hash-wasm",
      "viem",
      "zod",
    ]);
    for (const name of NODE_ONLY)
      expect(existsSync(path.join(dapp, "node_modules", name)), name).to.equal(false);
    expect(existsSync(path.join(dapp, "node_modules", "@poai", "sdk", "dist", "index.d.ts"))).to.equal(true);
  });

  it("reads an operator's stake from a local chain in a plain Node ESM script", async () => {
    const { connection, load } = await connect();
    const f = await load();
    await registerOperator(f, 1, { stake: parseEther("2345") });
    // The in-process chain served over HTTP JSON-RPC, as `npx hardhat node` serves it.
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const answer = async (call: { id: number; method: string; params?: unknown[] }) => {
          try {
            const result = await connection.provider.request({
              method: call.method,
              params: call.params ?? [],
            });
            return { jsonrpc: "2.0", id: call.id, result };
          } catch (err) {
            return { jsonrpc: "2.0", id: call.id, error: { code: -32000, message: String(err) } };
          }
        };
        const parsed = JSON.parse(body) as Parameters<typeof answer>[0] | Parameters<typeof answer>[0][];
        void (Array.isArray(parsed) ? Promise.all(parsed.map(answer)) : answer(parsed)).then((out) => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify(out));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const deployment = JSON.stringify({ chainId: f.deployment.chainId, contracts: f.deployment.contracts });
      const nodes = await nodeBinaries();
      for (const [version, binary] of nodes) {
        const { stdout } = await run(
          binary,
          ["read-stake.mjs", `http://127.0.0.1:${port}`, deployment, f.address(1)],
          {
            cwd: dapp,
          },
        );
        expect(JSON.parse(stdout), `under Node ${version}`).to.deep.equal({
          selfStake: parseEther("2345").toString(),
          shown: "2345 POAI",
        });
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await connection.close();
    }
  });

  type Resolution = "nodenext" | "bundler";
  /** `tsc --strict` over the consumer under one module resolution: its output (empty when it passes). */
  async function typecheck(resolution: Resolution): Promise<string> {
    const config = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        types: [],
        module: resolution === "nodenext" ? "NodeNext" : "ESNext",
        moduleResolution: resolution === "nodenext" ? "NodeNext" : "Bundler",
      },
      files: ["app.ts"],
    };
    writeFileSync(path.join(dapp, `tsconfig.${resolution}.json`), JSON.stringify(config));
    const result = await run(process.execPath, [TSC, "-p", `tsconfig.${resolution}.json`], {
      cwd: dapp,
    }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    return result.stdout;
  }
  // Both resolutions are checked by two tsc processes side by side (each is single-threaded).
  let typechecks: Record<Resolution, Promise<string>> | undefined;
  const typechecked = (resolution: Resolution) =>
    (typechecks ??= { nodenext: typecheck("nodenext"), bundler: typecheck("bundler") })[resolution];

  for (const resolution of ["nodenext", "bundler"] as const) {
    it(`type-checks a consumer with tsc --strict, moduleResolution ${resolution}, browser lib and no Node types`, async () => {
      expect(await typechecked(resolution), "tsc output").to.equal("");
    });
  }

  it("bundles a staking read for the browser within the size budget (minified + gzip, viem excluded)", async () => {
    const result = await build({
      entryPoints: [path.join(dapp, "browser.ts")],
      absWorkingDir: dapp,
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      external: ["viem", "viem/*"],
      write: false,
      logLevel: "silent",
    });
    const code = result.outputFiles[0]!.contents;
    const text = Buffer.from(code).toString("utf8");
    // A Node global or built-in would break the page at run time, whatever the bundle's size.
    expect(text).not.to.match(/\bBuffer\.|\bprocess\.|node:/);
    expect(gzipSync(code).length).to.be.below(BROWSER_BUDGET);
  });

  it("compiles a Solidity consumer that imports @poai/contracts, with solc", () => {
    const requireFromProject = createRequire(path.join(dapp, "package.json"));
    const solc = createRequire(path.join(ROOT, "package.json"))("solc") as {
      compile(input: string, options: object): string;
    };
    const input = {
      language: "Solidity",
      sources: { "Consumer.sol": { content: readFileSync(path.join(dapp, "Consumer.sol"), "utf8") } },
      settings: {
        viaIR: true,
        optimizer: { enabled: true, runs: 200 },
        evmVersion: "cancun",
        outputSelection: { "Consumer.sol": { Consumer: ["evm.bytecode.object"] } },
      },
    };
    const findImports = (source: string) => {
      try {
        return { contents: readFileSync(requireFromProject.resolve(source), "utf8") };
      } catch {
        return { error: `${source} is not installed` };
      }
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
      errors?: { severity: string; formattedMessage: string }[];
      contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
    };
    const errors = (output.errors ?? []).filter((e) => e.severity === "error").map((e) => e.formattedMessage);
    expect(errors).to.deep.equal([]);
    expect(output.contracts!["Consumer.sol"]!.Consumer!.evm.bytecode.object).to.match(/^[0-9a-f]{200,}$/);
  });

  it("loads every entry point of @poai/node in plain Node", async () => {
    const { stdout } = await run(process.execPath, ["node-entry.mjs"], { cwd: operator });
    expect(Object.values(JSON.parse(stdout) as Record<string, string>)).to.deep.equal(
      Array(6).fill("function"),
    );
  });
});
