/**
 * A dataset on disk: a directory holding `manifest.json` and `chunks/<chunk root>` (the bytes of
 * each chunk, named by its root), laid out exactly as the HTTP paths a dataset server answers, so
 * any static file host serves a dataset directory as it is.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { DATASET_PARTS, DatasetData, parseManifest, type DatasetManifest } from "@poai/sdk/compute";
import { loadFastKeccak } from "@poai/sdk/compute";
import type { DatasetRef } from "@poai/sdk/compute";

/** The manifest's path inside a dataset directory (and URL path under a source). */
export const MANIFEST_FILE = "manifest.json";

/** The path of a chunk inside a dataset directory (and under a source URL). */
export function chunkPath(root: Hex): string {
  return `chunks/${root.toLowerCase()}`;
}

/** Writes a file atomically (a temporary name, then a rename): readers never see half a file. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/** The manifest as the canonical JSON text `writeDataset` writes. */
export function manifestText(manifest: DatasetManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Writes `data` (every chunk loaded) to `dir`: the manifest and every chunk. */
export async function writeDataset(dir: string, data: DatasetData): Promise<void> {
  await mkdir(join(dir, "chunks"), { recursive: true });
  for (const part of DATASET_PARTS) {
    const p = data.part(part);
    for (let c = 0; c < p.chunkCount; c++)
      await writeFileAtomic(join(dir, chunkPath(p.chunkRoots[c])), p.chunkBytes(c));
  }
  await writeFileAtomic(join(dir, MANIFEST_FILE), manifestText(data.manifest));
}

/** Reads the manifest of a dataset directory. */
export async function readManifest(dir: string): Promise<DatasetManifest> {
  return parseManifest(await readFile(join(dir, MANIFEST_FILE), "utf8"));
}

/**
 * Reads a whole dataset directory, checking every chunk against its root (and the manifest against
 * `ref`, the spec's dataset, when given).
 * @throws DatasetError for a manifest or chunk that does not check; a file system error when a file is missing.
 */
export async function readDataset(dir: string, ref?: DatasetRef): Promise<DatasetData> {
  await loadFastKeccak();
  const manifest = await readManifest(dir);
  const data = new DatasetData(manifest, ref ? { ref } : {});
  for (const part of DATASET_PARTS) {
    const p = data.part(part);
    for (let c = 0; c < p.chunkCount; c++) {
      p.loadChunk(c, new Uint8Array(await readFile(join(dir, chunkPath(p.chunkRoots[c])))));
    }
  }
  return data;
}
