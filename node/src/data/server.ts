/**
 * Serving datasets over HTTP: `GET /v1/datasets/<dataset id>/manifest.json` and
 * `GET /v1/datasets/<dataset id>/chunks/<chunk root>`, so `<server>/v1/datasets/<dataset id>` is a
 * dataset source URL (the same layout as a dataset directory on a static file host). A trainer's
 * daemon serves the datasets in its cache this way; `poai dataset serve` serves directories.
 * Nothing is trusted on the way out either: a chunk is served only if the manifest names its root.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { DATASET_PARTS, manifestRef, type DatasetManifest } from "@poai/sdk/compute";
import { httpError, serve, type Route, type RunningServer } from "../daemon/http.js";
import { datasetId } from "./fetch.js";
import { chunkPath, manifestText, readManifest } from "./store.js";

/** A dataset a server can answer for. */
export interface ServedDataset {
  readonly manifest: DatasetManifest;
  /** The bytes of the chunk with this root (one of the manifest's), or undefined when not held. */
  chunk(root: Hex): Promise<Uint8Array | undefined>;
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** A dataset whose chunks are files `<dir>/chunks/<root>` (a dataset directory, or a fetcher's cache). */
export function fileDataset(manifest: DatasetManifest, dir: string): ServedDataset {
  const roots = new Set(DATASET_PARTS.flatMap((p) => manifest[p].chunks.map((c) => c.toLowerCase())));
  return {
    manifest,
    chunk: async (root) => {
      if (!roots.has(root.toLowerCase())) return undefined;
      return readFile(join(dir, chunkPath(root))).then(
        (b) => new Uint8Array(b),
        () => undefined,
      );
    },
  };
}

/** A dataset directory as written by `writeDataset` / `poai dataset build`. */
export async function directoryDataset(dir: string): Promise<ServedDataset> {
  return fileDataset(await readManifest(dir), dir);
}

/** The id a served dataset is found under. */
export function servedId(dataset: ServedDataset): Hex {
  return datasetId(manifestRef(dataset.manifest));
}

/** The routes of a dataset server; `lookup` finds a dataset by id (lowercase hex). */
export function datasetRoutes(
  lookup: (id: Hex) => ServedDataset | undefined | Promise<ServedDataset | undefined>,
): Route[] {
  const find = async (idText: string) => {
    if (!HEX32.test(idText))
      return httpError(400, `dataset id must be 32-byte hex, got ${idText.slice(0, 80)}`);
    const dataset = await lookup(idText.toLowerCase() as Hex);
    return dataset ?? httpError(404, `no dataset ${idText}`);
  };
  return [
    {
      method: "GET",
      path: "/v1/datasets/:id/manifest.json",
      handler: async ({ params }) => {
        const d = await find(params.id);
        if ("status" in d) return d;
        return {
          status: 200,
          headers: {
            "content-type": "application/json; charset=utf-8",
            "cache-control": "public, max-age=31536000, immutable",
          },
          body: manifestText(d.manifest),
        };
      },
    },
    {
      method: "GET",
      path: "/v1/datasets/:id/chunks/:root",
      handler: async ({ params }) => {
        const d = await find(params.id);
        if ("status" in d) return d;
        if (!HEX32.test(params.root))
          return httpError(400, `chunk root must be 32-byte hex, got ${params.root.slice(0, 80)}`);
        const bytes = await d.chunk(params.root as Hex);
        if (!bytes) return httpError(404, `dataset ${params.id} has no chunk ${params.root}`);
        return {
          status: 200,
          headers: {
            "content-type": "application/octet-stream",
            "cache-control": "public, max-age=31536000, immutable",
          },
          body: bytes,
        };
      },
    },
  ];
}

/** A running dataset server and the source URL of each dataset it serves. */
export interface DatasetServer extends RunningServer {
  /** Dataset id -> source URL (`<url>/v1/datasets/<id>`). */
  readonly sources: ReadonlyMap<Hex, string>;
}

/** Serves `datasets` on `host:port` (port 0: any free port). */
export async function serveDatasets(
  datasets: readonly ServedDataset[],
  options: { host?: string; port?: number } = {},
): Promise<DatasetServer> {
  const byId = new Map(datasets.map((d) => [servedId(d), d]));
  const server = await serve(
    datasetRoutes((id) => byId.get(id)),
    options,
  );
  const sources = new Map([...byId.keys()].map((id) => [id, `${server.url}/v1/datasets/${id}`]));
  return { ...server, sources };
}
