/**
 * Datasets of engine version 2: the example format, the commitment (a Merkle root per part over
 * one leaf per example), the chunks examples travel in, and the manifest that describes them.
 * Browser-safe: building from files, the disk cache and HTTP live in `@poai/node/data`.
 *
 * A dataset has two parts, `train` and `eval` (held out). Example i of a part is (features, label):
 * `features` int8 values (the spec's `widths[0]` of them), `label` a class below the spec's last
 * width.
 *
 * **Leaf** of example i (OpenZeppelin's standard leaf, like a checkpoint's):
 * `keccak256(bytes.concat(keccak256(abi.encode(uint32 i, uint32 label, bytes32 featuresRoot))))`,
 * where `featuresRoot` is the root of the byte tree of the features (each value one two's-complement
 * byte; the byte tree of the dispute game's state slots, `./state/tree.ts`: 136-byte leaves, the
 * last zero-padded, padded to a power of two with empty subtrees, positional). The index inside the
 * leaf binds an example to its place in the part; the features root lets a dispute prove one
 * feature with one 136-byte leaf and log2(features / 136) siblings instead of the whole example.
 *
 * **Tree** (positional, not sorted): level 0 is the leaves in index order; node j of level k + 1 is
 * `hashPair(node 2j, node 2j + 1)` of level k when node 2j + 1 exists, else node 2j carried up
 * unchanged; the root is the single node of the last level. `hashPair(a, b)` = keccak256 of the
 * smaller word then the larger (OpenZeppelin's `Hashes.commutativeKeccak256`), so
 * `MerkleProof.verify(proof, root, leaf)` checks a proof on chain. The proof of leaf i is its
 * existing siblings, bottom up.
 *
 * **Chunks**: a part is cut into chunks of `chunkExamples` examples (a power of two), the last one
 * possibly shorter; chunk c holds examples `c·chunkExamples ..` and is exactly the subtree of level
 * log2(chunkExamples) node c, so its root (the **chunk root**, its content address) is computed from
 * its examples alone, and the chunk roots, paired up by the same rule, give the part's root. The
 * bytes of a chunk are its examples in order, each `label` (uint16 little-endian) then `features`.
 *
 * Anything fetched is checked against the spec before use: the manifest's roots, counts and widths
 * must equal the spec's, its chunk roots must rebuild each part's root, and each chunk's bytes must
 * rebuild its chunk root (with every label below the class count).
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { z } from "zod";
import { keccak256Raw } from "./keccak.js";
import { MAX_DATASET_EXAMPLES, MAX_WIDTH, type DatasetRef } from "./spec.js";
import { LEAF_BYTES, zeroHash } from "./state/tree.js";

/** The `format` field of every manifest this code reads and writes. */
export const DATASET_FORMAT = "poai-dataset/2";
/** The leaf encoding of an example: (index, label, the root of the features' byte tree). */
export const EXAMPLE_LEAF_ENCODING: readonly string[] = ["uint32", "uint32", "bytes32"];
/** The two parts of a dataset. */
export const DATASET_PARTS = ["train", "eval"] as const;
export type DatasetPart = (typeof DATASET_PARTS)[number];
/** Largest chunk: examples per chunk is a power of two up to this. */
export const MAX_CHUNK_EXAMPLES = 1 << 24;
/** Target size of a chunk when the builder picks `chunkExamples`. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

/** Thrown for dataset bytes, manifests or arrays that do not fit; names the field and the value. */
export class DatasetError extends Error {
  override readonly name = "DatasetError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Leaves and the tree

/** `abi.encode(uint32 index, uint32 label, bytes32 featuresRoot)`. */
export function encodeExample(index: number, label: number, featuresRoot: Uint8Array): Uint8Array {
  if (featuresRoot.length !== 32)
    throw new DatasetError(
      "featuresRoot",
      featuresRoot.length,
      `featuresRoot must be 32 bytes, got ${featuresRoot.length}`,
    );
  const out = new Uint8Array(96);
  const view = new DataView(out.buffer);
  view.setUint32(28, index >>> 0, false);
  view.setUint32(60, label >>> 0, false);
  out.set(featuresRoot, 64);
  return out;
}

const featureLeaf = new Uint8Array(LEAF_BYTES);
const featureNodes = new Uint8Array(64);

/**
 * The root of the byte tree of an example's features (raw 32 bytes): the state slots' byte tree
 * (`ByteTree` of `./state/tree.ts`), computed level by level in place.
 */
export function featuresRootBytes(features: Uint8Array): Uint8Array {
  const leaves = Math.max(1, Math.ceil(features.length / LEAF_BYTES));
  let level: Uint8Array[] = [];
  for (let j = 0; j < leaves; j++) {
    const start = j * LEAF_BYTES;
    const end = Math.min(features.length, start + LEAF_BYTES);
    if (end - start === LEAF_BYTES) level.push(keccak256Raw(features.subarray(start, end)));
    else {
      featureLeaf.fill(0);
      featureLeaf.set(features.subarray(start, end));
      level.push(keccak256Raw(featureLeaf));
    }
  }
  for (let k = 0; level.length > 1; k++) {
    const next: Uint8Array[] = [];
    for (let i = 0; 2 * i < level.length; i++) {
      featureNodes.set(level[2 * i], 0);
      featureNodes.set(2 * i + 1 < level.length ? level[2 * i + 1] : zeroHash(k), 32);
      next.push(keccak256Raw(featureNodes));
    }
    level = next;
  }
  return level[0];
}

/** The root of the byte tree of an example's features, as hex. */
export function featuresRoot(features: Int8Array | Uint8Array): Hex {
  return bytesToHex(featuresRootBytes(asBytes(features)));
}

/** The leaf of example `index` from the root of its features' byte tree (raw 32 bytes). */
export function exampleLeafOfRoot(index: number, label: number, root: Uint8Array): Uint8Array {
  return keccak256Raw(keccak256Raw(encodeExample(index, label, root)));
}

/** The leaf of example `index` (raw 32 bytes). `features` are the int8 values as bytes. */
export function exampleLeafBytes(index: number, label: number, features: Uint8Array): Uint8Array {
  return exampleLeafOfRoot(index, label, featuresRootBytes(features));
}

/** The leaf of example `index`, as hex. */
export function exampleLeaf(index: number, label: number, features: Int8Array | Uint8Array): Hex {
  return bytesToHex(exampleLeafBytes(index, label, asBytes(features)));
}

function asBytes(values: Int8Array | Uint8Array): Uint8Array {
  return values instanceof Uint8Array
    ? values
    : new Uint8Array(values.buffer, values.byteOffset, values.length);
}

function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

const pairBuffer = new Uint8Array(64);

/** keccak256(min(a, b) ‖ max(a, b)): OpenZeppelin's commutative pair hash. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (lessThan(b, a)) [a, b] = [b, a];
  pairBuffer.set(a, 0);
  pairBuffer.set(b, 32);
  return keccak256Raw(pairBuffer);
}

/** Every level of the positional tree over `leaves` (level 0 = the leaves; the last = [root]). */
export function treeLevels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  if (leaves.length === 0) throw new DatasetError("leaves", 0, "a tree needs at least one leaf, got 0");
  const levels: Uint8Array[][] = [leaves.slice()];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const level: Uint8Array[] = [];
    for (let j = 0; 2 * j < below.length; j++) {
      level.push(2 * j + 1 < below.length ? hashPair(below[2 * j], below[2 * j + 1]) : below[2 * j]);
    }
    levels.push(level);
  }
  return levels;
}

/** The root of the positional tree over `leaves`. */
export function treeRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const levels = treeLevels(leaves);
  return levels[levels.length - 1][0];
}

/** The proof of leaf `index` in `levels`: its existing siblings, bottom up. */
export function treeProof(levels: readonly (readonly Uint8Array[])[], index: number): Hex[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= levels[0].length) {
    throw new DatasetError("index", index, `leaf index must be in 0..${levels[0].length - 1}, got ${index}`);
  }
  const proof: Hex[] = [];
  let j = index;
  for (let k = 0; k + 1 < levels.length; k++) {
    const sibling = j ^ 1;
    if (sibling < levels[k].length) proof.push(bytesToHex(levels[k][sibling]));
    j >>= 1;
  }
  return proof;
}

/** Folds a proof onto a leaf, like OpenZeppelin's `MerkleProof.processProof`. */
export function processProof(leaf: Uint8Array, proof: readonly Hex[]): Uint8Array {
  let node = leaf;
  for (const sibling of proof) node = hashPair(node, hexToBytes(sibling));
  return node;
}

/**
 * Whether `proof` shows that example `index` of the part committed to by `root` is
 * (`label`, `features`): the check `MerkleProof.verify` does on chain. Malformed input is false.
 */
export function verifyExampleProof(
  root: Hex,
  index: number,
  label: number,
  features: Int8Array | Uint8Array,
  proof: readonly Hex[],
): boolean {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffff_ffff) return false;
  if (!Number.isSafeInteger(label) || label < 0 || label > 0xffff_ffff) return false;
  if (!isWord(root) || !Array.isArray(proof) || !proof.every(isWord)) return false;
  const node = processProof(exampleLeafBytes(index, label, asBytes(features)), proof);
  return bytesToHex(node) === root.toLowerCase();
}

function isWord(value: unknown): value is Hex {
  return typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value);
}

// ---------------------------------------------------------------------------------------------
// Chunks

/** Bytes of one example in a chunk: a uint16 label, then the features. */
export function recordBytes(features: number): number {
  return 2 + features;
}

/** Chunks of a part of `count` examples. */
export function chunkCountOf(count: number, chunkExamples: number): number {
  return Math.ceil(count / chunkExamples);
}

/** The examples of chunk `c`: `[first, end)`. */
export function chunkRange(count: number, chunkExamples: number, c: number): { first: number; end: number } {
  const first = c * chunkExamples;
  return { first, end: Math.min(count, first + chunkExamples) };
}

/** The largest power-of-two chunk (at least 1 example) of at most `targetBytes` bytes. */
export function defaultChunkExamples(features: number, targetBytes = DEFAULT_CHUNK_BYTES): number {
  let examples = 1;
  while (examples * 2 * recordBytes(features) <= targetBytes && examples * 2 <= MAX_CHUNK_EXAMPLES)
    examples *= 2;
  return examples;
}

/** The bytes of examples `[first, end)` of a part. */
export function encodeChunk(rows: ExampleRows, first: number, end: number): Uint8Array {
  const f = rows.features;
  const size = recordBytes(f);
  const out = new Uint8Array((end - first) * size);
  const inputs = asBytes(rows.inputs);
  for (let n = first; n < end; n++) {
    const at = (n - first) * size;
    out[at] = rows.labels[n] & 0xff;
    out[at + 1] = rows.labels[n] >>> 8;
    out.set(inputs.subarray(n * f, (n + 1) * f), at + 2);
  }
  return out;
}

/** The root of the examples `[first, end)` of `rows` (a chunk root when the range is a chunk). */
export function rangeRoot(rows: ExampleRows, first: number, end: number): Uint8Array {
  const f = rows.features;
  const inputs = asBytes(rows.inputs);
  const leaves: Uint8Array[] = [];
  for (let n = first; n < end; n++)
    leaves.push(exampleLeafBytes(n, rows.labels[n], inputs.subarray(n * f, (n + 1) * f)));
  return treeRoot(leaves);
}

/**
 * Parses the bytes of chunk `c` of a part into `rows` (at the chunk's examples) after checking them:
 * the length, every label below `classes`, and that they rebuild `expectedRoot`.
 * @throws DatasetError naming what is wrong; `rows` is untouched then.
 */
export function decodeChunkInto(
  rows: ExampleRows,
  chunkExamples: number,
  c: number,
  bytes: Uint8Array,
  classes: number,
  expectedRoot: Hex,
): void {
  const { first, end } = chunkRange(rows.count, chunkExamples, c);
  const f = rows.features;
  const size = recordBytes(f);
  if (!(bytes instanceof Uint8Array) || bytes.length !== (end - first) * size) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : String(bytes);
    throw new DatasetError(
      "chunk",
      c,
      `chunk ${c} must be ${(end - first) * size} bytes (${end - first} examples of ${size}), got ${got}`,
    );
  }
  const labels = new Uint16Array(end - first);
  const leaves: Uint8Array[] = [];
  for (let n = first; n < end; n++) {
    const at = (n - first) * size;
    const label = bytes[at] | (bytes[at + 1] << 8);
    if (label >= classes) {
      throw new DatasetError(
        "label",
        label,
        `example ${n} of chunk ${c} has label ${label}, not below the class count ${classes}`,
      );
    }
    labels[n - first] = label;
    leaves.push(exampleLeafBytes(n, label, bytes.subarray(at + 2, at + size)));
  }
  const root = bytesToHex(treeRoot(leaves));
  if (root !== expectedRoot.toLowerCase()) {
    throw new DatasetError("chunk", c, `chunk ${c} has root ${root}, expected ${expectedRoot}`);
  }
  const inputs = asBytes(rows.inputs);
  for (let n = first; n < end; n++) {
    const at = (n - first) * size;
    inputs.set(bytes.subarray(at + 2, at + size), n * f);
    rows.labels[n] = labels[n - first];
  }
}

// ---------------------------------------------------------------------------------------------
// Example arrays

/** The examples of one part held in memory: `inputs` row-major `[count][features]`, `labels` `[count]`. */
export interface ExampleRows {
  readonly count: number;
  readonly features: number;
  readonly inputs: Int8Array;
  readonly labels: Uint16Array;
}

/** Checks example arrays (sizes, labels below `classes`); returns them. */
export function checkRows(field: string, rows: ExampleRows, features: number, classes: number): ExampleRows {
  const { count } = rows;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_DATASET_EXAMPLES) {
    throw new DatasetError(
      `${field}.count`,
      count,
      `${field}.count must be an integer in 1..${MAX_DATASET_EXAMPLES}, got ${count}`,
    );
  }
  if (rows.features !== features) {
    throw new DatasetError(
      `${field}.features`,
      rows.features,
      `${field}.features must be ${features}, got ${rows.features}`,
    );
  }
  if (!(rows.inputs instanceof Int8Array) || rows.inputs.length !== count * features) {
    throw new DatasetError(
      `${field}.inputs`,
      rows.inputs?.length,
      `${field}.inputs must be an Int8Array of ${count * features} values, got ${String(rows.inputs?.length)}`,
    );
  }
  if (!(rows.labels instanceof Uint16Array) || rows.labels.length !== count) {
    throw new DatasetError(
      `${field}.labels`,
      rows.labels?.length,
      `${field}.labels must be a Uint16Array of ${count} labels, got ${String(rows.labels?.length)}`,
    );
  }
  const bad = rows.labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new DatasetError(
      `${field}.labels`,
      rows.labels[bad],
      `${field}.labels[${bad}] must be below the class count ${classes}, got ${rows.labels[bad]}`,
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Manifest

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 0x-prefixed 32-byte hex string");
const count = z.number().int().min(1).max(MAX_DATASET_EXAMPLES);

const partSchema = z
  .object({
    count,
    root: hex32,
    chunkExamples: z
      .number()
      .int()
      .min(1)
      .max(MAX_CHUNK_EXAMPLES)
      .refine((n) => (n & (n - 1)) === 0, "a power of two"),
    chunks: z.array(hex32).min(1),
  })
  .strict()
  .refine((p) => p.chunks.length === chunkCountOf(p.count, p.chunkExamples), {
    message: "one chunk root per chunk: ceil(count / chunkExamples) entries",
    path: ["chunks"],
  });

/** How the builder turned the source values into int8 (see docs/engine.md, "Quantisation"). */
const quantizationSchema = z
  .object({
    /** `absmax`: q = clamp(round(x · scale), −127, 127); `minmax`: q = clamp(round((x − offset) · scale) − 127, −127, 127); `none`: q = x. */
    rule: z.enum(["absmax", "minmax", "none"]),
    /** One scale for every feature, or one per feature. */
    scope: z.enum(["global", "per-feature"]),
    /** What the source values were. */
    input: z.enum(["float", "uint8", "int8", "integer"]),
    /** The scale of each feature (one entry for `global`). */
    scales: z.array(z.number()),
    /** The offset of each feature (one entry for `global`; `minmax` only). */
    offsets: z.array(z.number()).optional(),
  })
  .strict();

export const datasetManifestSchema = z
  .object({
    format: z.literal(DATASET_FORMAT),
    name: z.string().min(1).max(200),
    features: z.number().int().min(1).max(MAX_WIDTH),
    classes: z.number().int().min(2).max(MAX_WIDTH),
    /** Image shape `[height, width]` or `[height, width, channels]` whose product is `features`. */
    shape: z.array(z.number().int().min(1)).min(2).max(3).optional(),
    /** Class names, one per class. */
    labelNames: z.array(z.string()).optional(),
    quantization: quantizationSchema,
    /** Where the examples came from (informational). */
    source: z.record(z.string(), z.unknown()).optional(),
    train: partSchema,
    eval: partSchema,
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.shape && m.shape.reduce((a, b) => a * b, 1) !== m.features) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["shape"],
        message: `the product of shape must be features (${m.features})`,
      });
    }
    if (m.labelNames && m.labelNames.length !== m.classes) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["labelNames"],
        message: `one name per class (${m.classes})`,
      });
    }
  });

/** A dataset manifest: `manifest.json` of a dataset directory. */
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;
export type DatasetQuantization = DatasetManifest["quantization"];
export type DatasetPartManifest = DatasetManifest["train"];

/**
 * Parses and checks a manifest (JSON text or a parsed value) against the schema.
 * @throws DatasetError naming the first offending field and its value.
 */
export function parseManifest(input: unknown): DatasetManifest {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new DatasetError(
        "manifest",
        input.slice(0, 40),
        `manifest must be JSON: ${(err as Error).message}`,
      );
    }
  }
  const parsed = datasetManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? `manifest.${issue.path.join(".")}` : "manifest";
    let got: unknown = value;
    for (const key of issue.path) got = (got as Record<string | number, unknown> | undefined)?.[key];
    throw new DatasetError(
      field,
      got,
      `${field}: ${issue.message}, got ${JSON.stringify(got)?.slice(0, 80)}`,
    );
  }
  return parsed.data;
}

/** The dataset reference a spec names for this manifest's data. */
export function manifestRef(manifest: DatasetManifest): DatasetRef {
  return {
    trainRoot: manifest.train.root.toLowerCase() as Hex,
    trainCount: manifest.train.count,
    evalRoot: manifest.eval.root.toLowerCase() as Hex,
    evalCount: manifest.eval.count,
    features: manifest.features,
    classes: manifest.classes,
  };
}

/**
 * Checks a manifest from elsewhere against the dataset a spec names: roots, counts, widths, and
 * that each part's chunk roots rebuild its root (so every chunk root is bound by the spec).
 * @throws DatasetError naming the first mismatch.
 */
export function checkManifest(manifest: DatasetManifest, ref: DatasetRef): void {
  const have = manifestRef(manifest);
  for (const field of ["trainRoot", "trainCount", "evalRoot", "evalCount", "features", "classes"] as const) {
    const want = typeof ref[field] === "string" ? (ref[field] as string).toLowerCase() : ref[field];
    if (have[field] !== want) {
      throw new DatasetError(
        `manifest.${field}`,
        have[field],
        `manifest ${field} must be ${String(ref[field])} (the spec's), got ${String(have[field])}`,
      );
    }
  }
  for (const part of DATASET_PARTS) {
    const p = manifest[part];
    const rebuilt = bytesToHex(treeRoot(p.chunks.map((c) => hexToBytes(c as Hex))));
    if (rebuilt !== p.root.toLowerCase()) {
      throw new DatasetError(
        `manifest.${part}.chunks`,
        rebuilt,
        `the chunk roots of ${part} rebuild ${rebuilt}, not the root ${p.root}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Datasets in memory

/** One part of a dataset in memory, with the chunks loaded so far. */
export class DatasetPartData implements ExampleRows {
  readonly count: number;
  readonly features: number;
  readonly inputs: Int8Array;
  readonly labels: Uint16Array;
  readonly chunkExamples: number;
  readonly chunkRoots: readonly Hex[];
  private readonly loaded: Uint8Array;
  private loadedChunks = 0;
  private chunkLevels?: Uint8Array[][];

  constructor(
    readonly part: DatasetPart,
    readonly classes: number,
    manifest: DatasetPartManifest,
    features: number,
    rows?: ExampleRows,
  ) {
    this.count = manifest.count;
    this.features = features;
    this.chunkExamples = manifest.chunkExamples;
    this.chunkRoots = manifest.chunks.map((c) => c.toLowerCase() as Hex);
    this.loaded = new Uint8Array(this.chunkRoots.length);
    if (rows) {
      this.inputs = rows.inputs;
      this.labels = rows.labels;
      this.loaded.fill(1);
      this.loadedChunks = this.loaded.length;
    } else {
      this.inputs = new Int8Array(this.count * features);
      this.labels = new Uint16Array(this.count);
    }
  }

  /** Chunks in the part. */
  get chunkCount(): number {
    return this.chunkRoots.length;
  }

  /** The chunk holding example `index`. */
  chunkOf(index: number): number {
    return Math.floor(index / this.chunkExamples);
  }

  /** Whether chunk `c` is loaded. */
  hasChunk(c: number): boolean {
    return this.loaded[c] === 1;
  }

  /** Whether every chunk is loaded. */
  get complete(): boolean {
    return this.loadedChunks === this.loaded.length;
  }

  /** Whether example `index` is loaded. */
  has(index: number): boolean {
    return this.loaded[this.chunkOf(index)] === 1;
  }

  /** The chunks (sorted, distinct) that hold `indices`. */
  chunksFor(indices: Iterable<number>): number[] {
    const set = new Set<number>();
    for (const i of indices) set.add(this.chunkOf(i));
    return [...set].sort((a, b) => a - b);
  }

  /** Chunks of `chunks` not loaded yet. */
  missing(chunks: Iterable<number>): number[] {
    return [...chunks].filter((c) => !this.hasChunk(c));
  }

  /**
   * Loads chunk `c` from its bytes after checking them against its chunk root.
   * @throws DatasetError when the bytes are not the chunk's.
   */
  loadChunk(c: number, bytes: Uint8Array): void {
    if (!Number.isSafeInteger(c) || c < 0 || c >= this.chunkRoots.length) {
      throw new DatasetError(
        "chunk",
        c,
        `chunk index of ${this.part} must be in 0..${this.chunkRoots.length - 1}, got ${c}`,
      );
    }
    if (this.loaded[c] === 1) return;
    decodeChunkInto(this, this.chunkExamples, c, bytes, this.classes, this.chunkRoots[c]);
    this.loaded[c] = 1;
    this.loadedChunks++;
  }

  /** The bytes of chunk `c` (loaded). */
  chunkBytes(c: number): Uint8Array {
    if (!this.hasChunk(c)) throw new DatasetError("chunk", c, `chunk ${c} of ${this.part} is not loaded`);
    const { first, end } = chunkRange(this.count, this.chunkExamples, c);
    return encodeChunk(this, first, end);
  }

  /** Example `index` (loaded): its features and label. */
  example(index: number): { features: Int8Array; label: number } {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.count || !this.has(index)) {
      throw new DatasetError(
        "index",
        index,
        `example ${index} of ${this.part} is not loaded (count ${this.count})`,
      );
    }
    return {
      features: this.inputs.slice(index * this.features, (index + 1) * this.features),
      label: this.labels[index],
    };
  }

  /**
   * The Merkle proof of example `index` under the part's root: its proof inside its chunk, then its
   * chunk's proof among the chunk roots. Needs only the example's chunk loaded.
   */
  proof(index: number): Hex[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.count || !this.has(index)) {
      throw new DatasetError(
        "index",
        index,
        `a proof of example ${index} of ${this.part} needs its chunk loaded (count ${this.count})`,
      );
    }
    const c = this.chunkOf(index);
    const { first, end } = chunkRange(this.count, this.chunkExamples, c);
    const bytes = asBytes(this.inputs);
    const leaves: Uint8Array[] = [];
    for (let n = first; n < end; n++) {
      leaves.push(
        exampleLeafBytes(n, this.labels[n], bytes.subarray(n * this.features, (n + 1) * this.features)),
      );
    }
    this.chunkLevels ??= treeLevels(this.chunkRoots.map((r) => hexToBytes(r)));
    return [...treeProof(treeLevels(leaves), index - first), ...treeProof(this.chunkLevels, c)];
  }
}

/** A dataset in memory: its manifest, its reference, and the two parts with what is loaded of them. */
export class DatasetData {
  readonly ref: DatasetRef;
  readonly train: DatasetPartData;
  readonly eval: DatasetPartData;

  /**
   * An empty dataset (no chunk loaded) for `manifest`, checked against `ref` when given; or, with
   * `rows`, one that holds every example (the caller vouches that they are the manifest's, as
   * {@link commitDataset} does).
   */
  constructor(
    readonly manifest: DatasetManifest,
    options: { ref?: DatasetRef; rows?: { train: ExampleRows; eval: ExampleRows } } = {},
  ) {
    if (options.ref) checkManifest(manifest, options.ref);
    this.ref = manifestRef(manifest);
    this.train = new DatasetPartData(
      "train",
      manifest.classes,
      manifest.train,
      manifest.features,
      options.rows?.train,
    );
    this.eval = new DatasetPartData(
      "eval",
      manifest.classes,
      manifest.eval,
      manifest.features,
      options.rows?.eval,
    );
  }

  part(name: DatasetPart): DatasetPartData {
    return name === "train" ? this.train : this.eval;
  }
}

/** What {@link commitDataset} builds a dataset from. */
export interface DatasetInput {
  readonly name: string;
  readonly features: number;
  readonly classes: number;
  readonly train: ExampleRows;
  readonly eval: ExampleRows;
  /** Examples per chunk, a power of two; default: chunks of about 256 KiB. */
  readonly chunkExamples?: number;
  readonly quantization: DatasetQuantization;
  readonly shape?: readonly number[];
  readonly labelNames?: readonly string[];
  readonly source?: Record<string, unknown>;
}

/**
 * Commits example arrays: computes every chunk root and both part roots, and returns the manifest
 * and the dataset in memory (every chunk loaded).
 */
export function commitDataset(input: DatasetInput): DatasetData {
  const { features, classes } = input;
  const chunkExamples = input.chunkExamples ?? defaultChunkExamples(features);
  const part = (name: DatasetPart): DatasetPartManifest => {
    const rows = checkRows(name, input[name], features, classes);
    const chunks: Hex[] = [];
    for (let c = 0; c < chunkCountOf(rows.count, chunkExamples); c++) {
      const { first, end } = chunkRange(rows.count, chunkExamples, c);
      chunks.push(bytesToHex(rangeRoot(rows, first, end)));
    }
    const root = bytesToHex(treeRoot(chunks.map((c) => hexToBytes(c))));
    return { count: rows.count, root, chunkExamples, chunks };
  };
  const manifest = parseManifest({
    format: DATASET_FORMAT,
    name: input.name,
    features,
    classes,
    ...(input.shape && { shape: [...input.shape] }),
    ...(input.labelNames && { labelNames: [...input.labelNames] }),
    quantization: input.quantization,
    ...(input.source && { source: input.source }),
    train: part("train"),
    eval: part("eval"),
  });
  return new DatasetData(manifest, { rows: { train: input.train, eval: input.eval } });
}
