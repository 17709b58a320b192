/**
 * The devnet's useful work: MNIST digits from the `mnist` package, built into a dataset directory
 * with `poai dataset build` at set-up (once; cached in `cache/datasets/mnist`), served by the
 * dataset owner's HTTP server, and trained by an engine version 2 spec; then the honest trainer's
 * final checkpoint, fetched from its daemon and proven under its committed root, becomes the model
 * the inference marketplace sells, and the report shows digits with the model's answers.
 */
import path from "node:path";
import type { Address, Hex } from "viem";
import { challengeId } from "@poai/sdk";
import {
  decodeCheckpoint,
  evaluate,
  modelLayout,
  verifyCheckpointProof,
  type Checkpoint,
  type DatasetData,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { directoryDataset, serveDatasets, type DatasetServer } from "@poai/node/data";
import { checkpointPath, endpointUrl, MERKLE_PROOF_HEADER } from "@poai/node";
import { datasetSpec, mnistDataset } from "../datasets.js";

/** The devnet's MNIST spec: all 10,000 digits (8,000 train, 2,000 held out), [784, 64, 10], 4 epochs. */
export const DEVNET_MNIST = {
  hidden: [64],
  batchSize: 32,
  steps: 1000,
  checkpointInterval: 50,
  lrShift: 4,
} as const;

export interface DevnetMnist {
  data: DatasetData;
  spec: TrainingSpec;
  server: DatasetServer;
  /** The dataset's source URL on the owner's server. */
  source: string;
}

/** Builds (once) and serves the MNIST dataset; the spec over it. */
export async function devnetMnist(projectRoot: string): Promise<DevnetMnist> {
  const dir = path.join(projectRoot, "cache", "datasets", "mnist");
  const data = await mnistDataset(dir);
  const server = await serveDatasets([await directoryDataset(dir)]);
  const source = [...server.sources.values()][0]!;
  return { data, spec: datasetSpec(data, DEVNET_MNIST), server, source };
}

/** A trained model: the final checkpoint of a Valid challenge, proven under its result root. */
export interface TrainedModel {
  spec: TrainingSpec;
  trainer: Address;
  challengeId: Hex;
  checkpoint: Checkpoint;
  bytes: Uint8Array;
  weightsHash: Hex;
  /** The Merkle proof of the final checkpoint's leaf under the challenge's result root. */
  proof: Hex[];
  /** Held-out accuracy (basis points) of the final checkpoint on the committed evaluation set. */
  accuracyBps: number;
  data: DatasetData;
}

/** Fetches the final checkpoint of `trainer`'s challenge of `round` from its daemon and proves it. */
export async function fetchTrainedModel(args: {
  spec: TrainingSpec;
  data: DatasetData;
  trainer: Address;
  round: bigint;
  endpoint: string;
  root: Hex;
}): Promise<TrainedModel> {
  const id = challengeId(args.trainer, args.round);
  const index = modelLayout(args.spec).checkpointCount - 1;
  const url = endpointUrl(args.endpoint, checkpointPath(id, index));
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const proof = (res.headers.get(MERKLE_PROOF_HEADER) ?? "").split(",").filter(Boolean) as Hex[];
  const { byteTreeRoot, keccak256Bytes } = await import("@poai/sdk/compute");
  const weightsHash = keccak256Bytes(bytes);
  if (!verifyCheckpointProof(args.root, index, weightsHash, byteTreeRoot(bytes), proof)) {
    throw new Error(`the final checkpoint from ${url} is not proven under the committed root ${args.root}`);
  }
  const checkpoint = decodeCheckpoint(args.spec, bytes, weightsHash);
  const score = await evaluate(args.spec, `0x${"00".repeat(32)}`, checkpoint, { data: args.data });
  return {
    spec: args.spec,
    trainer: args.trainer,
    challengeId: id,
    checkpoint,
    bytes,
    weightsHash,
    proof,
    accuracyBps: score.accuracyBps,
    data: args.data,
  };
}

const SHADES = " .:-=+*#%@";

/** Digits side by side as text (28 × 28 pixels drawn as 14 rows of 28 characters, two pixels a character row). */
export function digitArt(digits: readonly Int8Array[], captions: readonly string[]): string[] {
  const rows: string[] = [];
  for (let y = 0; y < 28; y += 2) {
    rows.push(
      digits
        .map((d) => {
          let line = "";
          for (let x = 0; x < 28; x++) {
            const v = Math.max(0, Math.max(d[y * 28 + x]!, d[(y + 1) * 28 + x]!));
            line += SHADES[Math.min(SHADES.length - 1, Math.floor((v * SHADES.length) / 128))];
          }
          return line;
        })
        .join("  "),
    );
  }
  rows.push(captions.map((c) => c.padEnd(28).slice(0, 28)).join("  "));
  return rows;
}
