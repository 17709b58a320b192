/**
 * The datasets a validator audits engine version 2 runs against: one `DatasetFetcher` per dataset,
 * asking the validator's own `datasetSources`, then the sources the TaskRegistry lists for the spec,
 * then the audited trainer's daemon (which serves the datasets it trained on), with a
 * content-addressed disk cache beside the validator's database. Whatever a source sends is proven
 * against the spec's roots before an audit uses it, so asking the audited trainer costs nothing in
 * trust.
 */
import path from "node:path";
import type { Hex } from "viem";
import type { PoAIClient } from "@poai/sdk";
import type { TrainingSpec } from "@poai/sdk/compute";
import { DatasetFetcher, DatasetMemory, datasetId, type SourceFailure } from "../data/index.js";
import { trainerDatasetUrl } from "../disputes/data.js";

export interface ValidatorDatasetsOptions {
  client: PoAIClient;
  sources: readonly string[];
  cacheDir: string | undefined;
  timeoutMs: number;
  onFailure: (failure: SourceFailure) => void;
}

/** The default dataset cache of a validator whose database is `dbPath` (none for `:memory:`). */
export function validatorDatasetCache(dbPath: string): string | undefined {
  return dbPath === ":memory:" ? undefined : path.join(path.dirname(path.resolve(dbPath)), "datasets");
}

export class ValidatorDatasets {
  private readonly fetchers = new Map<string, DatasetFetcher>();
  /** One copy of each dataset in memory, whichever trainer's audit loaded it. */
  private readonly memory = new DatasetMemory();

  constructor(private readonly options: ValidatorDatasetsOptions) {}

  /** The fetcher of a version 2 spec's dataset, the audited trainer's daemon as the last source. */
  async fetcher(spec: TrainingSpec, specId: Hex, trainerEndpoint: string): Promise<DatasetFetcher> {
    const ref = spec.dataset!;
    const id = datasetId(ref);
    const key = `${id} ${trainerEndpoint}`;
    let fetcher = this.fetchers.get(key);
    if (!fetcher) {
      const registered = await this.options.client.registry.getDatasetSources({ specId });
      const trainer = trainerDatasetUrl(trainerEndpoint, ref);
      fetcher = new DatasetFetcher({
        ref,
        sources: [...this.options.sources, ...registered, trainer],
        cacheDir: this.options.cacheDir,
        timeoutMs: this.options.timeoutMs,
        onFailure: this.options.onFailure,
        memory: this.memory,
      });
      this.fetchers.set(key, fetcher);
    }
    return fetcher;
  }
}
