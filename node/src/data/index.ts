/**
 * `@poai/node/data` (Node): datasets for engine version 2 — reading CSV, IDX and NumPy sources,
 * quantising and committing them (`buildDataset`), dataset directories on disk, serving them over
 * HTTP and fetching them from hostile sources with a disk cache. The format itself (leaves, roots,
 * chunks, manifest) is browser-safe in `@poai/sdk/compute`. See docs/engine.md, "Datasets".
 */
export {
  DatasetSourceError,
  parseCsvRecords,
  readCsv,
  readIdx,
  readNpy,
  writeIdxUint8,
  writeNpy,
  type CsvOptions,
  type NumericArray,
  type SourceKind,
} from "./formats.js";
export {
  DEFAULT_SHUFFLE_SEED,
  DatasetBuildError,
  buildDataset,
  fitQuantization,
  mapLabels,
  quantize,
  roundHalfAway,
  shuffledOrder,
  type BuildOptions,
  type QuantizationRule,
  type QuantizationScope,
  type SourceExamples,
} from "./build.js";
export {
  MANIFEST_FILE,
  chunkPath,
  manifestText,
  readDataset,
  readManifest,
  writeDataset,
  writeFileAtomic,
} from "./store.js";
export {
  DatasetFetchError,
  DatasetFetcher,
  DatasetMemory,
  datasetId,
  readBodyCapped,
  type DatasetFetcherOptions,
  type FetchStats,
  type SourceFailure,
  type SourceFailureKind,
} from "./fetch.js";
export {
  datasetRoutes,
  directoryDataset,
  fileDataset,
  serveDatasets,
  servedId,
  type DatasetServer,
  type ServedDataset,
} from "./server.js";
export { Canvas, encodePng, imageGrid, lineChart, type Series } from "./png.js";
