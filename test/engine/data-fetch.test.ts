import { expect } from "chai";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { loadFastKeccak } from "../../sdk/src/compute/index.js";
import {
  DatasetFetchError,
  DatasetFetcher,
  DatasetMemory,
  chunkPath,
  datasetId,
  directoryDataset,
  manifestText,
  serveDatasets,
  writeDataset,
  type DatasetServer,
} from "../../node/src/data/index.js";
import { syntheticDataset } from "./datasets.js";

/** A source that misbehaves one way: answers every request with `answer`. */
async function hostile(
  answer: (path: string, res: import("node:http").ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => answer(req.url ?? "/", res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/datasets/x`, server };
}

const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

describe("datasets: serving and fetching from hostile sources", function () {
  this.timeout(60_000);
  const data = syntheticDataset(40, 12, 6, 3, 11, 8);
  const ref = data.ref;
  let dir: string;
  let honest: DatasetServer;
  let honestUrl: string;
  const servers: Server[] = [];

  before(async () => {
    await loadFastKeccak();
    dir = mkdtempSync(path.join(tmpdir(), "poai-serve-"));
    await writeDataset(dir, data);
    honest = await serveDatasets([await directoryDataset(dir)]);
    honestUrl = honest.sources.get(datasetId(ref))!;
  });

  after(async () => {
    await honest.close();
    for (const s of servers) {
      s.closeAllConnections();
      await close(s);
    }
  });

  it("serves a dataset directory and fetches it whole, every chunk checked, into a disk cache", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "poai-cache-"));
    const fetcher = new DatasetFetcher({ ref, sources: [honestUrl], cacheDir });
    const loaded = await fetcher.loadAll();
    expect(loaded.train.complete && loaded.eval.complete).to.equal(true);
    expect(loaded.train.example(17)).to.deep.equal(data.train.example(17));
    expect(fetcher.stats.chunksFetched).to.equal(5 + 2);
    expect(readdirSync(path.join(cacheDir, "chunks"))).to.have.length(7);
    // A second fetcher with no source at all reads the cache (and checks it).
    const offline = new DatasetFetcher({ ref, sources: [], cacheDir });
    await offline.loadAll();
    expect(offline.stats).to.include({ chunksFromCache: 7, chunksFetched: 0 });
    // A corrupted cache file is not used: it is deleted and fetched again.
    writeFileSync(path.join(cacheDir, chunkPath(data.manifest.train.chunks[2] as Hex)), "garbage");
    const repaired = new DatasetFetcher({ ref, sources: [honestUrl], cacheDir });
    await repaired.loadAll();
    expect(repaired.stats).to.include({ chunksFromCache: 6, chunksFetched: 1 });
  });

  it("fetches only the chunks an audit needs", async () => {
    const fetcher = new DatasetFetcher({ ref, sources: [honestUrl] });
    const partial = await fetcher.ensureExamples("train", [3, 4, 33]);
    expect([0, 1, 2, 3, 4].map((c) => partial.train.hasChunk(c))).to.deep.equal([
      true,
      false,
      false,
      false,
      true,
    ]);
    expect(fetcher.stats.bytesFetched).to.be.greaterThan(0);
  });

  it("shares what one fetcher loaded with the others of a process (one audit per trainer, one copy of the data)", async () => {
    // Catches a validator that builds a fetcher per audited trainer and loads (and checks) the
    // same dataset again for each: the second fetcher here has no working source at all.
    const memory = new DatasetMemory();
    const first = new DatasetFetcher({ ref, sources: [honestUrl], memory });
    await first.ensureExamples("train", [3, 33]);
    const dead = await hostile((_p, res) => res.destroy());
    servers.push(dead.server);
    const second = new DatasetFetcher({ ref, sources: [dead.url], memory });
    const shared = await second.ensureExamples("train", [3, 33]);
    expect(shared.train.example(33)).to.deep.equal(data.train.example(33));
    expect(second.stats).to.include({ chunksFetched: 0, chunksFromCache: 0, failures: 0 });
    // A chunk nobody loaded yet is still fetched, from this fetcher's own sources.
    const third = new DatasetFetcher({ ref, sources: [honestUrl], memory });
    await third.ensureExamples("train", [20]);
    expect(third.stats.chunksFetched).to.equal(1);
    expect(second.stats.chunksFetched).to.equal(0);
    // A dataset whose manifest nobody could fetch is not shared: the next fetcher tries again.
    const other = new DatasetMemory();
    await new DatasetFetcher({ ref, sources: [dead.url], memory: other }).dataset().catch(() => undefined);
    const retry = new DatasetFetcher({ ref, sources: [honestUrl], memory: other });
    expect((await retry.ensureExamples("train", [1])).train.example(1)).to.deep.equal(data.train.example(1));
  });

  it("survives sources that lie, stall, send too much or vanish, and does not ask a liar twice", async () => {
    const liarChunks = await hostile((p, res) => {
      if (p.endsWith("manifest.json")) return res.end(manifestText(data.manifest));
      res.end(new Uint8Array(8 * 8).fill(1)); // the right size, the wrong bytes
    });
    const liarManifest = await hostile((_p, res) => {
      const forged = JSON.parse(JSON.stringify(data.manifest));
      forged.train.chunks.reverse();
      res.end(JSON.stringify(forged));
    });
    const staller = await hostile(() => undefined); // accepts, never answers
    const flood = await hostile((_p, res) => res.end(new Uint8Array(1 << 20)));
    const gone = await hostile((_p, res) => res.end());
    servers.push(liarChunks.server, liarManifest.server, staller.server, flood.server);
    await close(gone.server); // vanished: connection refused
    const failures: string[] = [];
    const fetcher = new DatasetFetcher({
      ref,
      sources: [liarManifest.url, liarChunks.url, staller.url, flood.url, gone.url, honestUrl],
      timeoutMs: 300,
      onFailure: (f) => failures.push(`${f.source === honestUrl ? "honest" : f.source}:${f.kind}`),
    });
    const loaded = await fetcher.loadAll();
    expect(loaded.train.complete && loaded.eval.complete).to.equal(true);
    expect(loaded.eval.example(11)).to.deep.equal(data.eval.example(11));
    const kinds = new Set(failures.map((f) => f.split(":").at(-1)));
    expect([...kinds].sort()).to.deep.equal(["invalid", "oversized", "timeout", "unreachable"]);
    expect(failures.some((f) => f.startsWith("honest"))).to.equal(false);
    // Each liar was caught once, then skipped.
    expect(failures.filter((f) => f.startsWith(liarChunks.url)).length).to.equal(1);
    expect(failures.filter((f) => f.startsWith(liarManifest.url)).length).to.equal(1);
  });

  it("fails with every source's failure named when no source has a checked chunk", async () => {
    const liar = await hostile((p, res) => {
      if (p.endsWith("manifest.json")) return res.end(manifestText(data.manifest));
      res.end(new Uint8Array(8 * 8));
    });
    servers.push(liar.server);
    const fetcher = new DatasetFetcher({ ref, sources: [liar.url], timeoutMs: 500 });
    let error: unknown;
    await fetcher.ensureChunks("train", [0]).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(DatasetFetchError);
    expect((error as Error).message).to.match(/chunk 0 .* of the train part: .*invalid \(chunk 0 has root/);
    // A spec naming other data refuses the honest server's manifest too.
    const other = new DatasetFetcher({ ref: { ...ref, evalCount: 13 }, sources: [honestUrl] });
    await other.manifest().then(
      () => expect.fail("accepted a manifest for other data"),
      (e: unknown) => expect((e as Error).message).to.match(/manifest evalCount must be 13/),
    );
  });

  it("answers unknown datasets and chunks with 404 and malformed ids with 400", async () => {
    const base = honest.url;
    expect((await fetch(`${base}/v1/datasets/0x${"00".repeat(32)}/manifest.json`)).status).to.equal(404);
    expect((await fetch(`${base}/v1/datasets/nothex/manifest.json`)).status).to.equal(400);
    expect((await fetch(`${honestUrl}/chunks/0x${"11".repeat(32)}`)).status).to.equal(404);
    const first = data.manifest.eval.chunks[0];
    const ok = await fetch(`${honestUrl}/chunks/${first}`);
    expect(ok.status).to.equal(200);
    expect(new Uint8Array(await ok.arrayBuffer())).to.deep.equal(data.eval.chunkBytes(0));
  });
});
