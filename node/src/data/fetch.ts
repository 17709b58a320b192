/**
 * Fetching a dataset a spec names, from one or more HTTP sources (the job owner's server, any
 * trainer's daemon, a plain static file host: each source URL is the base of a dataset directory,
 * `<source>/manifest.json` and `<source>/chunks/<chunk root>`), with a disk cache.
 *
 * Every source is hostile. Nothing fetched is used before it is checked against the spec's roots:
 * the manifest's roots, counts and widths must be the spec's and its chunk roots must rebuild each
 * part's root (`checkManifest`), and each chunk's bytes must rebuild its chunk root (`loadChunk`).
 * Each request has a deadline and a byte cap (a manifest at most `manifestCap`, a chunk exactly its
 * size): a source that stalls times out, one that sends too much is cut off, one that vanishes
 * (refused, 404, 5xx) or sends too little is skipped for this item, one that lies (bytes of the
 * right size that do not check, a manifest for other data) is not asked again by this fetcher;
 * the next source is tried. Only when every source failed for a chunk does the fetch
 * fail, with a `DatasetFetchError` listing what each source did.
 *
 * Cache: `<cacheDir>/chunks/<chunk root>` (content-addressed, shared by every dataset) and
 * `<cacheDir>/manifests/<dataset id>.json`; cached files are checked like fetched ones, and a cached
 * file that does not check is deleted and fetched again.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import {
  DatasetData,
  DatasetError,
  checkManifest,
  chunkRange,
  parseManifest,
  recordBytes,
  type DatasetManifest,
  type DatasetPart,
} from "@poai/sdk/compute";
import { DATASET_REF_ABI, type DatasetRef } from "@poai/sdk/compute";
import { loadFastKeccak } from "@poai/sdk/compute";
import { chunkPath, manifestText, MANIFEST_FILE, writeFileAtomic } from "./store.js";

/** The dataset id: keccak256(abi.encode(DatasetRef)), the name a server and a cache file it under. */
export function datasetId(ref: DatasetRef): Hex {
  return keccak256(encodeAbiParameters([DATASET_REF_ABI], [ref]));
}

/** Why a request to one source failed. */
export type SourceFailureKind = "unreachable" | "timeout" | "status" | "oversized" | "truncated" | "invalid";

/** One failed request. */
export interface SourceFailure {
  readonly source: string;
  readonly url: string;
  readonly kind: SourceFailureKind;
  readonly message: string;
}

/** Thrown when no source gave a checked manifest or chunk. */
export class DatasetFetchError extends Error {
  override readonly name = "DatasetFetchError";
  constructor(
    readonly what: string,
    readonly failures: readonly SourceFailure[],
  ) {
    super(
      `could not fetch ${what}: ${
        failures.length === 0
          ? "no source to ask"
          : failures.map((f) => `${f.url}: ${f.kind} (${f.message})`).join("; ")
      }`,
    );
  }
}

class RequestFailure extends Error {
  constructor(
    readonly kind: SourceFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a response body of at most `maxBytes`, within the request's deadline (the signal).
 * @throws RequestFailure "oversized" past the cap.
 */
export async function readBodyCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new RequestFailure("oversized", `content-length ${declared} exceeds ${maxBytes} bytes`);
  }
  const parts: Uint8Array[] = [];
  let received = 0;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      if (received > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new RequestFailure("oversized", `body exceeds ${maxBytes} bytes`);
      }
      parts.push(value);
    }
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface DatasetFetcherOptions {
  /** The dataset the spec names: everything fetched is checked against it. */
  readonly ref: DatasetRef;
  /** Source base URLs, asked in this order (rotating from chunk to chunk). */
  readonly sources: readonly string[];
  /** Disk cache directory; none: memory only. */
  readonly cacheDir?: string;
  /** Deadline of one request, headers and body; default 10 s. */
  readonly timeoutMs?: number;
  /** Chunks fetched at once; default 4. */
  readonly concurrency?: number;
  /** Largest manifest accepted, bytes; default 256 KiB + 80 bytes per chunk the counts allow, at most 64 MiB. */
  readonly manifestCap?: number;
  /** Called for every failed request (logs, metrics). */
  readonly onFailure?: (failure: SourceFailure) => void;
  /**
   * Datasets already loaded by other fetchers of this process, shared with this one: a validator
   * auditing many trainers of one spec keeps one copy of its dataset in memory, checked once,
   * whichever trainer's daemon is asked for the chunks it still lacks.
   */
  readonly memory?: DatasetMemory;
}

/**
 * The datasets in memory, by dataset id, shared by the fetchers given it (`memory`): every chunk
 * in them was checked against the dataset's roots when it was loaded, whichever source sent it.
 */
export class DatasetMemory {
  private readonly loaded = new Map<Hex, Promise<DatasetData>>();

  /** The dataset `id` as loaded so far, if any fetcher started loading it. */
  get(id: Hex): Promise<DatasetData> | undefined {
    return this.loaded.get(id);
  }

  /** Shares `data` as dataset `id`; forgotten again if it fails (its manifest could not be had). */
  share(id: Hex, data: Promise<DatasetData>): void {
    this.loaded.set(id, data);
    data.catch(() => {
      if (this.loaded.get(id) === data) this.loaded.delete(id);
    });
  }
}

/** What a fetcher has done so far. */
export interface FetchStats {
  /** Bytes received from sources that checked (manifest and chunks). */
  bytesFetched: number;
  chunksFetched: number;
  chunksFromCache: number;
  /** Requests that failed. */
  failures: number;
  /** Milliseconds spent fetching and checking (wall clock, overlapping requests counted once). */
  ms: number;
}

/** Fetches, checks and caches the chunks of one dataset (see the module comment). */
export class DatasetFetcher {
  readonly ref: DatasetRef;
  readonly id: Hex;
  readonly stats: FetchStats = { bytesFetched: 0, chunksFetched: 0, chunksFromCache: 0, failures: 0, ms: 0 };
  private readonly sources: string[];
  private readonly liars = new Set<string>();
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private data?: Promise<DatasetData>;
  private next = 0;

  constructor(readonly options: DatasetFetcherOptions) {
    this.ref = options.ref;
    this.id = datasetId(options.ref);
    this.sources = options.sources.map((s) => s.replace(/\/+$/, ""));
    for (const s of this.sources) {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new DatasetError("sources", s, `dataset source must be an http(s) URL, got ${s}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new DatasetError("sources", s, `dataset source must be an http(s) URL, got ${s}`);
      }
    }
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  private async request(
    source: string,
    path: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const url = `${source}/${path}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await fetch(url, { signal: combined, redirect: "error" });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new RequestFailure("status", `answered HTTP ${response.status}`);
      }
      return await readBodyCapped(response, maxBytes);
    } catch (err) {
      if (err instanceof RequestFailure) throw err;
      if (timeout.aborted)
        throw new RequestFailure("timeout", `no complete answer within ${this.timeoutMs} ms`);
      if (signal?.aborted) throw signal.reason;
      throw new RequestFailure("unreachable", (err as Error)?.message ?? String(err));
    }
  }

  private failed(failures: SourceFailure[], source: string, path: string, err: unknown): void {
    if (!(err instanceof RequestFailure) && !(err instanceof DatasetError)) throw err;
    const failure: SourceFailure = {
      source,
      url: `${source}/${path}`,
      kind: err instanceof RequestFailure ? err.kind : "invalid",
      message: err.message,
    };
    if (failure.kind === "invalid") this.liars.add(source);
    failures.push(failure);
    this.stats.failures++;
    this.options.onFailure?.(failure);
  }

  /** The sources to ask for the next item, honest-looking ones first from a rotating start. */
  private order(): string[] {
    const n = this.sources.length;
    const start = n === 0 ? 0 : this.next++ % n;
    const rotated = [...this.sources.slice(start), ...this.sources.slice(0, start)];
    return rotated.filter((s) => !this.liars.has(s));
  }

  private manifestCap(): number {
    const chunks = Math.ceil(this.ref.trainCount) + Math.ceil(this.ref.evalCount);
    return this.options.manifestCap ?? Math.min(64 * 1024 * 1024, 256 * 1024 + 80 * chunks);
  }

  /** The checked manifest: from the cache, else from the sources. */
  async manifest(signal?: AbortSignal): Promise<DatasetManifest> {
    const cached = this.options.cacheDir && join(this.options.cacheDir, "manifests", `${this.id}.json`);
    if (cached) {
      try {
        const manifest = parseManifest(await readFile(cached, "utf8"));
        checkManifest(manifest, this.ref);
        return manifest;
      } catch {
        await rm(cached, { force: true });
      }
    }
    await loadFastKeccak();
    const failures: SourceFailure[] = [];
    for (const source of this.order()) {
      try {
        const bytes = await this.request(source, MANIFEST_FILE, this.manifestCap(), signal);
        const manifest = parseManifest(new TextDecoder().decode(bytes));
        checkManifest(manifest, this.ref);
        this.stats.bytesFetched += bytes.length;
        if (cached) {
          await mkdir(join(this.options.cacheDir!, "manifests"), { recursive: true });
          await writeFileAtomic(cached, manifestText(manifest));
        }
        return manifest;
      } catch (err) {
        this.failed(failures, source, MANIFEST_FILE, err);
      }
    }
    throw new DatasetFetchError(`the manifest of dataset ${this.id}`, failures);
  }

  /** The dataset in memory (empty until chunks are loaded), its manifest checked. */
  dataset(signal?: AbortSignal): Promise<DatasetData> {
    if (this.data) return this.data;
    const shared = this.options.memory?.get(this.id);
    const data = shared ?? this.manifest(signal).then((m) => new DatasetData(m, { ref: this.ref }));
    if (!shared) this.options.memory?.share(this.id, data);
    this.data = data;
    data.catch(() => {
      if (this.data === data) this.data = undefined;
    });
    return data;
  }

  private async loadOne(
    data: DatasetData,
    part: DatasetPart,
    c: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const p = data.part(part);
    if (p.hasChunk(c)) return;
    const root = p.chunkRoots[c];
    const path = chunkPath(root);
    const file = this.options.cacheDir && join(this.options.cacheDir, path);
    if (file) {
      const bytes = await readFile(file).catch(() => undefined);
      if (bytes) {
        try {
          p.loadChunk(c, new Uint8Array(bytes));
          this.stats.chunksFromCache++;
          return;
        } catch {
          await rm(file, { force: true });
        }
      }
    }
    const { first, end } = chunkRange(p.count, p.chunkExamples, c);
    const size = (end - first) * recordBytes(p.features);
    const failures: SourceFailure[] = [];
    for (const source of this.order()) {
      try {
        const bytes = await this.request(source, path, size, signal);
        // A short body may be a cut connection: a failure, but not a lie.
        if (bytes.length < size) throw new RequestFailure("truncated", `${bytes.length} of ${size} bytes`);
        p.loadChunk(c, bytes);
        this.stats.bytesFetched += bytes.length;
        this.stats.chunksFetched++;
        if (file) {
          await mkdir(join(this.options.cacheDir!, "chunks"), { recursive: true });
          await writeFileAtomic(file, bytes);
        }
        return;
      } catch (err) {
        this.failed(failures, source, path, err);
      }
    }
    throw new DatasetFetchError(`chunk ${c} (${root}) of the ${part} part`, failures);
  }

  /** Loads chunks `chunks` of `part` (from the cache or the sources), a few at a time. */
  async ensureChunks(
    part: DatasetPart,
    chunks: Iterable<number>,
    signal?: AbortSignal,
  ): Promise<DatasetData> {
    const started = performance.now();
    try {
      const data = await this.dataset(signal);
      const todo = data.part(part).missing(chunks);
      let at = 0;
      const worker = async () => {
        while (at < todo.length) await this.loadOne(data, part, todo[at++], signal);
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, todo.length) }, worker));
      return data;
    } finally {
      this.stats.ms += performance.now() - started;
    }
  }

  /** Loads the chunks holding examples `indices` of `part`. */
  async ensureExamples(
    part: DatasetPart,
    indices: Iterable<number>,
    signal?: AbortSignal,
  ): Promise<DatasetData> {
    const data = await this.dataset(signal);
    return this.ensureChunks(part, data.part(part).chunksFor(indices), signal);
  }

  /** Loads every chunk of both parts. */
  async loadAll(signal?: AbortSignal): Promise<DatasetData> {
    const data = await this.dataset(signal);
    await this.ensureChunks(
      "train",
      Array.from({ length: data.train.chunkCount }, (_, c) => c),
      signal,
    );
    await this.ensureChunks(
      "eval",
      Array.from({ length: data.eval.chunkCount }, (_, c) => c),
      signal,
    );
    return data;
  }
}
