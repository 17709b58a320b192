import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DEFAULT_ARTIFACTS_DIR,
  DEFAULT_OUT_DIR,
  HEADER,
  camelName,
  generateAbiFiles,
  parseCliArgs,
  readContractAbis,
  renderAbiFiles,
  writeAbiFiles,
} from "../../scripts/gen-abi.js";

const ROOT = path.resolve(DEFAULT_OUT_DIR, "..", "..", "..");

async function readDir(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".ts")).sort();
  return new Map(
    await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), "utf8")] as const)),
  );
}

/** A fake `artifacts/` tree with the given contracts. */
async function fakeArtifacts(contracts: { sourceName: string; contractName: string; abi: unknown[] }[]) {
  const dir = await mkdtemp(path.join(tmpdir(), "poai-artifacts-"));
  for (const c of contracts) {
    const where = path.join(dir, c.sourceName);
    await mkdir(where, { recursive: true });
    await writeFile(
      path.join(where, `${c.contractName}.json`),
      JSON.stringify({ _format: "hh3-artifact-1", ...c }),
    );
  }
  await mkdir(path.join(dir, "build-info"), { recursive: true });
  await writeFile(
    path.join(dir, "build-info", "x.json"),
    JSON.stringify({ contractName: "Nope", sourceName: "contracts/Nope.sol", abi: [{}] }),
  );
  return dir;
}

const fn = (name: string, inputs: unknown[] = []) => ({
  type: "function",
  name,
  inputs,
  outputs: [],
  stateMutability: "view",
});

describe("@poai/sdk generated ABIs", () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "poai-abi-"));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("are up to date with the compiled contracts (run `npm run abi` after a contract change)", async function () {
    this.timeout(60_000);
    // The CLI, as `npm run abi` runs it, writing into a temporary directory.
    const tsx = createRequire(import.meta.url).resolve("tsx/cli");
    const run = spawnSync(process.execPath, [tsx, path.join(ROOT, "scripts", "gen-abi.ts"), "--out", tmp], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.status, run.stderr).to.equal(0);
    const fresh = await readDir(tmp);
    const committed = await readDir(DEFAULT_OUT_DIR);
    expect([...committed.keys()], "files in sdk/src/abi: run `npm run abi`").to.deep.equal([...fresh.keys()]);
    for (const [name, text] of fresh) {
      expect(committed.get(name) === text, `sdk/src/abi/${name} is stale: run \`npm run abi\``).to.equal(
        true,
      );
    }
    expect(fresh.get("Staking.ts")).to.contain("export const stakingAbi = [");
    expect(fresh.get("index.ts")).to.contain('export { stakingAbi } from "./Staking.js";');
  });

  it("is deterministic: the same artifacts, in any order, give the same bytes", async () => {
    const contracts = await readContractAbis(DEFAULT_ARTIFACTS_DIR);
    const once = await renderAbiFiles(contracts);
    const shuffled = contracts
      .map((c) => ({
        ...c,
        abi: [...c.abi].reverse().map((i) => Object.fromEntries(Object.entries(i).reverse())),
      }))
      .reverse();
    const twice = await renderAbiFiles(shuffled);
    expect([...twice.entries()]).to.deep.equal([...once.entries()]);
    for (const text of once.values()) expect(text.startsWith(HEADER)).to.equal(true);
  });

  it("skips test mocks, Solidity tests, empty ABIs and build info", async () => {
    const dir = await fakeArtifacts([
      { sourceName: "contracts/staking/Thing.sol", contractName: "Thing", abi: [fn("b"), fn("a")] },
      { sourceName: "contracts/test/MockThing.sol", contractName: "MockThing", abi: [fn("x")] },
      { sourceName: "contracts/Thing.t.sol", contractName: "ThingTest", abi: [fn("x")] },
      { sourceName: "contracts/libraries/Lib.sol", contractName: "Lib", abi: [] },
    ]);
    try {
      const files = await generateAbiFiles(dir);
      expect([...files.keys()]).to.deep.equal(["Thing.ts", "errors.ts", "index.ts"]);
      const thing = files.get("Thing.ts")!;
      expect(thing).to.contain("export const thingAbi = [");
      expect(thing.indexOf('name: "a"')).to.be.lessThan(thing.indexOf('name: "b"'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses two contracts with the same name", async () => {
    const dir = await fakeArtifacts([
      { sourceName: "contracts/a/Same.sol", contractName: "Same", abi: [fn("x")] },
      { sourceName: "contracts/b/Same.sol", contractName: "Same", abi: [fn("y")] },
    ]);
    try {
      let message = "";
      await generateAbiFiles(dir).catch((err: Error) => (message = err.message));
      expect(message).to.contain("contracts/a/Same.sol").and.to.contain("contracts/b/Same.sol");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("collects each custom error once across contracts", async () => {
    const error = { type: "error", name: "Shared", inputs: [{ name: "v", type: "uint256" }] };
    const dir = await fakeArtifacts([
      { sourceName: "contracts/A.sol", contractName: "A", abi: [error] },
      {
        sourceName: "contracts/B.sol",
        contractName: "B",
        abi: [error, { type: "error", name: "Own", inputs: [] }],
      },
    ]);
    try {
      const errors = (await generateAbiFiles(dir)).get("errors.ts")!;
      expect(errors.match(/name: "Shared"/g)).to.have.length(1);
      expect(errors).to.contain('name: "Own"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removes generated files of deleted contracts and leaves other files alone", async () => {
    await writeFile(path.join(tmp, "Old.ts"), `${HEADER}\nexport const oldAbi = [] as const;\n`);
    await writeFile(path.join(tmp, "notes.ts"), "// hand-written\n");
    const { removed } = await writeAbiFiles(tmp, new Map([["index.ts", `${HEADER}\n`]]));
    expect(removed).to.deep.equal(["Old.ts"]);
    expect((await readdir(tmp)).sort()).to.deep.equal(["index.ts", "notes.ts"]);
  });

  it("names exports in camelCase, keeping PoAI as one word", () => {
    expect(camelName("Staking")).to.equal("staking");
    expect(camelName("StakingLens")).to.equal("stakingLens");
    expect(camelName("PoAIToken")).to.equal("poaiToken");
    expect(camelName("PoAIAccessManager")).to.equal("poaiAccessManager");
    expect(camelName("IStaking")).to.equal("iStaking");
    expect(camelName("EIP712Coordinator")).to.equal("eip712Coordinator");
  });

  it("takes the output directory from --out or POAI_ABI_OUT", () => {
    expect(parseCliArgs([], {}).outDir).to.equal(DEFAULT_OUT_DIR);
    expect(parseCliArgs([], { POAI_ABI_OUT: "/tmp/x" }).outDir).to.equal("/tmp/x");
    expect(parseCliArgs(["--out", "/tmp/y"], { POAI_ABI_OUT: "/tmp/x" }).outDir).to.equal("/tmp/y");
    expect(parseCliArgs(["--out=/tmp/z", "--artifacts", "/tmp/a"], {})).to.deep.equal({
      outDir: "/tmp/z",
      artifactsDir: "/tmp/a",
    });
    expect(() => parseCliArgs(["--bogus"], {})).to.throw(/--bogus/);
    expect(() => parseCliArgs(["--out"], {})).to.throw(/--out needs a directory/);
  });
});
