/**
 * The datasets of a trainer daemon (engine version 2 specs): fetched once per dataset from the
 * sources the TaskRegistry lists for the spec (plus the daemon's own `datasetSources`), every
 * chunk checked against the spec's roots, cached on disk (content-addressed, next to the
 * database) and kept in memory for the next rounds; and served again by the daemon's HTTP server
 * (`/v1/datasets/<dataset id>/…`), so every trainer is a source for validators and other trainers.
 */
import path from "node:path";
import type { Hex } from "viem";
import type { PoAIClient } from "@poai/sdk";
import { DatasetData, type TrainingSpec } from "@poai/sdk/compute";
import type { Route } from "../daemon/index.js";
import { DatasetFetcher, datasetId, datasetRoutes, type SourceFailure } from "../data/index.js";

export interface TrainerDatasetsOptions {
  client: PoAIClient;
  /** Sources asked before the registry's (a mirror, a local server). */
  sources: readonly string[];
  /** Disk cache; undefined keeps datasets in memory only. */
  cacheDir: string | undefined;
  /** Deadline of one dataset request. */
  timeoutMs: number;
  onFailure: (failure: SourceFailure) => void;
}

/** The default cache directory of a daemon whose database is `databasePath` (none for `:memory:`). */
export function defaultDatasetCache(databasePath: string): string | undefined {
  return databasePath === ":memory:"
    ? undefined
    : path.join(path.dirname(path.resolve(databasePath)), "datasets");
}

export class TrainerDatasets {
  private readonly loaded = new Map<Hex, Promise<DatasetData>>();

  constructor(private readonly options: TrainerDatasetsOptions) {}

  /** The dataset of a version 2 spec, every chunk loaded and checked; undefined for version 1. */
  async forSpec(spec: TrainingSpec, specId: Hex, signal?: AbortSignal): Promise<DatasetData | undefined> {
    if (spec.dataset === undefined) return undefined;
    const ref = spec.dataset;
    const id = datasetId(ref);
    let loading = this.loaded.get(id);
    if (!loading) {
      loading = (async () => {
        const registered = await this.options.client.registry.getDatasetSources({ specId });
        const fetcher = new DatasetFetcher({
          ref,
          sources: [...this.options.sources, ...registered],
          cacheDir: this.options.cacheDir,
          timeoutMs: this.options.timeoutMs,
          onFailure: this.options.onFailure,
        });
        return fetcher.loadAll(signal);
      })();
      this.loaded.set(id, loading);
      loading.catch(() => this.loaded.delete(id));
    }
    return loading;
  }

  /** Routes serving every dataset this daemon has loaded. */
  routes(): Route[] {
    return datasetRoutes(async (id) => {
      const loading = this.loaded.get(id);
      const data = loading && (await loading.catch(() => undefined));
      if (!data) return undefined;
      return {
        manifest: data.manifest,
        chunk: async (root) => {
          for (const part of [data.train, data.eval]) {
            const c = part.chunkRoots.indexOf(root.toLowerCase() as Hex);
            if (c >= 0 && part.hasChunk(c)) return part.chunkBytes(c);
          }
          return undefined;
        },
      };
    });
  }
}
