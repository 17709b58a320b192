/**
 * A second, independent implementation of engine versions 1 and 2, written from docs/engine.md,
 * in which every rule of the document can be misread on purpose. With no misreading it must
 * reproduce every committed vector; with any one misreading, the vector the document names for
 * that rule must come out different (test/engine/misreadings.test.ts). That is what "the vectors pin
 * every rule" means: an implementation that gets any listed rule wrong fails a vector.
 *
 *   npx tsx test/engine/misreadings.ts    # prints, per misreading, every vector it fails
 *
 * Plain loops on numbers; shares nothing with sdk/src/compute but Philox's round function (itself
 * pinned by Random123's known-answer vectors in prng.test.ts), viem's keccak256 / ABI encoder and
 * OpenZeppelin's StandardMerkleTree.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex, concat, encodeAbiParameters, hexToBytes, keccak256, type Hex } from "viem";
import { philox4x32, type TrainingSpec } from "../../sdk/src/compute/index.js";
import type { Vector, VectorDataset } from "../../sdk/src/compute/vectors/generate.js";

/** Every misreading, by rule: the id names the rule of docs/engine.md it gets wrong. */
export const MISREADINGS = {
  // Training spec and key
  "spec.no-offset-word": "abi.encode of the spec's fields one after another, without the tuple's offset word",
  "spec.v2-nested":
    "version 2 id over abi.encode of one struct that nests the dataset (instead of two parameters)",
  "key.big-endian": "key words read big-endian from the digest",
  "key.seed-only": "key from keccak256(seed) alone, without the spec id",
  // Philox byte streams
  "stream.big-endian-bytes": "bytes of a Philox word taken most significant first",
  "stream.item-in-c2": "item index in counter word c2 (low) and c1 (high)",
  // Version 1 data
  "input.offset-binary": "input byte read as byte - 128 instead of as int8",
  "label.ties-high": "teacher label ties going to the highest class",
  "eval.v1-from-zero": "version 1 evaluation examples numbered from 0 instead of after the training examples",
  // Initial weights
  "init.signed-byte": "init byte read as int8: ((int8 >> 1) - 64) * 256",
  "init.signed-no-offset": "init byte read as int8 without the -64: (int8 >> 1) * 256",
  "init.no-scale": "initial parameter (byte >> 1) - 64, not multiplied by 256",
  // Rounding and effective weights
  "round.half-away": "roundShift rounding halves away from zero",
  "round.half-even": "roundShift rounding halves to even",
  "round.truncate": "roundShift truncating towards zero",
  "round.floor": "roundShift as a plain arithmetic shift (floor)",
  "weight.clamp-128": "effective weights clamped to [-128, 127]",
  // Forward pass
  "forward.floor-log": "forward shift 6 + floor(log2(n) / 2)",
  "forward.shift-of-outputs": "forward shift from the layer's output width",
  "forward.bias-input-128": "bias input 128 instead of 127",
  "forward.output-clamp-128": "output layer clamped to [-128, 127]",
  "forward.hidden-signed": "hidden layers clamped to [-127, 127] (no ReLU)",
  // Loss gradient
  "loss.no-clamp": "loss gradient not clamped",
  "loss.clamp-128": "loss gradient clamped to [-128, 127]",
  "loss.target-127": "target 127 for the true class",
  // Backward pass and update
  "backward.shift-of-inputs": "backward shift from the layer's input width",
  "backward.no-relu-mask": "error passed through where the activation is 0",
  "backward.updated-weights": "error propagated with the layer's already-updated weights",
  "backward.bias-grad-unscaled": "bias gradient sum_r g instead of sum_r 127 g",
  "update.clamp-32768": "parameters clamped to [-32768, 32767]",
  "update.bias-no-lr": "bias update without the lrShift",
  // Evaluation
  "eval.ties-high": "output argmax ties going to the highest class",
  "eval.round-bps": "accuracyBps rounded instead of floored",
  // Checkpoints and commitment
  "checkpoint.step-u32": "checkpoint step encoded as 4 bytes",
  "checkpoint.big-endian": "parameters encoded big-endian",
  "merkle.unsorted-leaves": "StandardMerkleTree built without sorting the leaves",
  "merkle.single-hash-leaf": "checkpoint leaf hashed once",
  // Version 2: the permutation
  "perm.identity": "version 2 batches in dataset order (no permutation)",
  "perm.three-rounds": "3 Feistel rounds",
  "perm.halves-swapped": "Feistel output R · 2^h + L",
  "perm.h-full-bits": "Feistel half width h = ceil(log2(count)) (domain 4^h >= count^2)",
  "perm.mod-not-walk": "Feistel output reduced mod count instead of cycle-walked",
  "perm.same-every-epoch": "the same permutation in every epoch",
  "perm.round-in-c2": "Feistel round index in counter word c2 instead of c3",
  "perm.word-1": "Feistel round function from word 1 of the Philox block",
  // Version 2: evaluation and datasets
  "eval.v2-permuted": "version 2 evaluation examples permuted like training examples",
  "dataset.packed-leaf": "example leaf over abi.encodePacked(index, label, featuresRoot)",
  "dataset.features-unpadded":
    "the features' last byte-tree leaf hashed unpadded (not zero-padded to 136 bytes)",
  "dataset.duplicate-odd": "an unpaired tree node hashed with itself instead of carried up",
  "dataset.standard-tree":
    "dataset roots built like the checkpoint tree (OpenZeppelin StandardMerkleTree, sorted leaves)",
} as const;

export type Misreading = keyof typeof MISREADINGS;

/** What a vector pins, as this implementation computes it (the fields of `Vector` it can check). */
export interface Outcome {
  readonly specId: Hex;
  readonly key: { readonly k0: number; readonly k1: number };
  readonly trainRoot?: Hex;
  readonly evalRoot?: Hex;
  readonly firstBatchExamples?: readonly number[];
  readonly firstBatchInputsHash: Hex;
  readonly firstBatchLabels: readonly number[];
  readonly checkpointHashes: readonly Hex[];
  readonly root: Hex;
  readonly score: { readonly correct: number; readonly total: number; readonly accuracyBps: number };
}

interface Rows {
  count: number;
  inputs: Int8Array;
  labels: number[];
}

/** The misread-or-not implementation of one run. */
class Impl {
  constructor(private readonly m: ReadonlySet<Misreading>) {}

  private is(id: Misreading): boolean {
    return this.m.has(id);
  }

  // ---- integers
  roundShift(x: number, s: number): number {
    if (s === 0) return x;
    if (this.is("round.floor")) return x >> s;
    if (this.is("round.truncate")) return Math.trunc(x / 2 ** s);
    const half = 2 ** (s - 1);
    if (this.is("round.half-away")) return Math.sign(x) * Math.floor((Math.abs(x) + half) / 2 ** s);
    if (this.is("round.half-even")) {
      const q = Math.floor(x / 2 ** s);
      const r = x - q * 2 ** s;
      if (r > half) return q + 1;
      if (r < half) return q;
      return q % 2 === 0 ? q : q + 1;
    }
    return Math.floor((x + half) / 2 ** s);
  }

  clamp(x: number, lo: number, hi: number): number {
    return Math.min(hi, Math.max(lo, x));
  }

  // ---- spec, key, streams
  specId(spec: TrainingSpec): Hex {
    const fields = [
      { name: "version", type: "uint16" },
      { name: "widths", type: "uint32[]" },
      { name: "batchSize", type: "uint32" },
      { name: "steps", type: "uint32" },
      { name: "checkpointInterval", type: "uint32" },
      { name: "lrShift", type: "uint8" },
      { name: "evalSize", type: "uint32" },
    ] as const;
    const values = [
      spec.version,
      spec.widths,
      spec.batchSize,
      spec.steps,
      spec.checkpointInterval,
      spec.lrShift,
      spec.evalSize,
    ] as const;
    const dataset = {
      name: "dataset",
      type: "tuple",
      components: [
        { name: "trainRoot", type: "bytes32" },
        { name: "trainCount", type: "uint32" },
        { name: "evalRoot", type: "bytes32" },
        { name: "evalCount", type: "uint32" },
        { name: "features", type: "uint32" },
        { name: "classes", type: "uint32" },
      ],
    } as const;
    const base = Object.fromEntries(fields.map((f, i) => [f.name, values[i]]));
    if (this.is("spec.no-offset-word")) {
      const flat = encodeAbiParameters(fields, values as never);
      if (!spec.dataset) return keccak256(flat);
      return keccak256(concat([flat, encodeAbiParameters([dataset], [spec.dataset])]));
    }
    const tuple = { name: "spec", type: "tuple", components: fields } as const;
    if (!spec.dataset) return keccak256(encodeAbiParameters([tuple], [base as never]));
    if (this.is("spec.v2-nested")) {
      const nested = { type: "tuple", components: [...fields, dataset] } as const;
      return keccak256(encodeAbiParameters([nested], [{ ...base, dataset: spec.dataset } as never]));
    }
    return keccak256(encodeAbiParameters([tuple, dataset], [base as never, spec.dataset]));
  }

  key(spec: TrainingSpec, seed: Hex): { k0: number; k1: number } {
    const digest = hexToBytes(keccak256(this.is("key.seed-only") ? seed : concat([this.specId(spec), seed])));
    const view = new DataView(digest.buffer);
    const little = !this.is("key.big-endian");
    return { k0: view.getUint32(0, little), k1: view.getUint32(4, little) };
  }

  /** Byte t of item `item` of `domain`. */
  streamByte(
    key: { k0: number; k1: number },
    domain: number,
    item: number,
    t: number,
    cache: Map<string, Uint32Array>,
  ): number {
    const lo = item >>> 0;
    const hi = Math.floor(item / 2 ** 32);
    const [c1, c2] = this.is("stream.item-in-c2") ? [hi, lo] : [lo, hi];
    const id = `${domain}:${item}:${t >> 4}`;
    let words = cache.get(id);
    if (!words) {
      words = new Uint32Array(4);
      philox4x32(t >> 4, c1, c2, domain, key.k0, key.k1, words);
      cache.set(id, words);
    }
    const word = words[(t >> 2) & 3];
    const b = this.is("stream.big-endian-bytes") ? 3 - (t & 3) : t & 3;
    return (word >>> (8 * b)) & 0xff;
  }

  // ---- version 2 datasets
  leaf(index: number, label: number, features: Int8Array): Uint8Array {
    const root = this.featuresRoot(new Uint8Array(features.buffer, features.byteOffset, features.length));
    if (this.is("dataset.packed-leaf")) {
      const packed = concat([
        `0x${index.toString(16).padStart(8, "0")}`,
        `0x${label.toString(16).padStart(8, "0")}`,
        root,
      ]);
      return hexToBytes(keccak256(keccak256(packed)));
    }
    const encoded = encodeAbiParameters(
      [{ type: "uint32" }, { type: "uint32" }, { type: "bytes32" }],
      [index, label, root],
    );
    return hexToBytes(keccak256(keccak256(encoded)));
  }

  /** The byte tree of the features: 136-byte leaves, zero-padded, a power of two of them, positional. */
  featuresRoot(bytes: Uint8Array): Hex {
    let level: Hex[] = [];
    for (let at = 0; at < Math.max(1, bytes.length); at += 136) {
      const piece = bytes.slice(at, at + 136);
      const leaf = this.is("dataset.features-unpadded") ? piece : new Uint8Array(136);
      if (leaf !== piece) leaf.set(piece);
      level.push(keccak256(leaf));
    }
    let zero: Hex = `0x${"00".repeat(32)}`;
    while (level.length > 1) {
      const next: Hex[] = [];
      for (let i = 0; i < level.length; i += 2)
        next.push(keccak256(concat([level[i], level[i + 1] ?? zero])));
      level = next;
      zero = keccak256(concat([zero, zero]));
    }
    return level[0];
  }

  datasetRoot(rows: Rows, features: number): Hex {
    if (this.is("dataset.standard-tree")) {
      const values = rows.labels.map((label, n) => [
        n,
        label,
        this.featuresRoot(new Uint8Array(rows.inputs.buffer, n * features, features)),
      ]);
      return StandardMerkleTree.of(values, ["uint32", "uint32", "bytes32"]).root as Hex;
    }
    let level = rows.labels.map((label, n) =>
      this.leaf(n, label, rows.inputs.subarray(n * features, (n + 1) * features)),
    );
    const pair = (a: Uint8Array, b: Uint8Array) => {
      const [x, y] = bytesToHex(a) < bytesToHex(b) ? [a, b] : [b, a];
      return hexToBytes(keccak256(concat([x, y])));
    };
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let j = 0; 2 * j < level.length; j++) {
        if (2 * j + 1 < level.length) next.push(pair(level[2 * j], level[2 * j + 1]));
        else next.push(this.is("dataset.duplicate-odd") ? pair(level[2 * j], level[2 * j]) : level[2 * j]);
      }
      level = next;
    }
    return bytesToHex(level[0]);
  }

  permute(key: { k0: number; k1: number }, count: number, position: number): number {
    if (this.is("perm.identity")) return position % count;
    const epoch = this.is("perm.same-every-epoch") ? 0 : Math.floor(position / count);
    const q = position % count;
    let h = 0;
    if (this.is("perm.h-full-bits")) while (2 ** h < count) h++;
    else while (4 ** h < count) h++;
    const rounds = this.is("perm.three-rounds") ? 3 : 4;
    const words = new Uint32Array(4);
    const f = (right: number, i: number) => {
      const [c2, c3] = this.is("perm.round-in-c2")
        ? [Math.floor(epoch / 2 ** 32) + i, 4]
        : [Math.floor(epoch / 2 ** 32), 4 + 256 * i];
      philox4x32(right, epoch >>> 0, c2, c3, key.k0, key.k1, words);
      return words[this.is("perm.word-1") ? 1 : 0] % 2 ** h;
    };
    let x = q;
    for (;;) {
      let left = Math.floor(x / 2 ** h);
      let right = x % 2 ** h;
      for (let i = 0; i < rounds; i++) [left, right] = [right, (left ^ f(right, i)) >>> 0];
      x = this.is("perm.halves-swapped") ? right * 2 ** h + left : left * 2 ** h + right;
      if (this.is("perm.mod-not-walk")) return x % count;
      if (x < count) return x;
    }
  }

  // ---- the run
  run(vector: Vector, dataset: VectorDataset | undefined): Outcome {
    const spec = vector.spec;
    const seed = vector.seed;
    const widths = spec.widths;
    const L = widths.length - 1;
    const C = widths[L];
    const n0 = widths[0];
    const key = this.key(spec, seed);
    const cache = new Map<string, Uint32Array>();
    const ceilHalfLog2 = (n: number) => {
      if (this.is("forward.floor-log")) return Math.floor(Math.log2(n) / 2);
      let k = 0;
      while (4 ** k < n) k++;
      return k;
    };

    // Data
    const int8 = (b: number) => (this.is("input.offset-binary") ? b - 128 : (b << 24) >> 24);
    const argmax = (v: readonly number[], highTies: boolean) => {
      let best = 0;
      for (let c = 1; c < v.length; c++) if (highTies ? v[c] >= v[best] : v[c] > v[best]) best = c;
      return best;
    };
    const teacher: number[][] = [];
    if (spec.version === 1) {
      for (let c = 0; c < C; c++)
        teacher.push(
          Array.from({ length: n0 }, (_, i) => (this.streamByte(key, 2, c, i, cache) << 24) >> 24),
        );
    }
    const generated = (n: number) => {
      const x = Array.from({ length: n0 }, (_, i) => int8(this.streamByte(key, 1, n, i, cache)));
      const scores = teacher.map((t) => t.reduce((s, w, i) => s + w * x[i], 0));
      return { x, label: argmax(scores, this.is("label.ties-high")) };
    };
    let train: Rows | undefined;
    let evalRows: Rows | undefined;
    let trainRoot: Hex | undefined;
    let evalRoot: Hex | undefined;
    if (dataset) {
      const rows = (part: VectorDataset["train"]): Rows => ({
        count: part.labels.length,
        inputs: Int8Array.from(hexToBytes(part.inputs), (b) => (b << 24) >> 24),
        labels: [...part.labels],
      });
      train = rows(dataset.train);
      evalRows = rows(dataset.eval);
      trainRoot = this.datasetRoot(train, dataset.features);
      evalRoot = this.datasetRoot(evalRows, dataset.features);
    }
    const fromRows = (rows: Rows, n: number) => ({
      x: Array.from(rows.inputs.subarray(n * n0, (n + 1) * n0)),
      label: rows.labels[n],
    });
    const trainIndex = (position: number) => this.permute(key, train!.count, position);
    const trainExample = (step: number, r: number) =>
      spec.version === 1
        ? generated(step * spec.batchSize + r)
        : fromRows(train!, trainIndex(step * spec.batchSize + r));
    const evalExample = (e: number) => {
      if (spec.version === 1)
        return generated(this.is("eval.v1-from-zero") ? e : spec.steps * spec.batchSize + e);
      return fromRows(evalRows!, this.is("eval.v2-permuted") ? this.permute(key, evalRows!.count, e) : e);
    };

    // Parameters
    const params: number[][] = [];
    for (let l = 0; l < L; l++) {
      const w = Array.from({ length: widths[l] * widths[l + 1] }, (_, k) => {
        const byte = this.streamByte(key, 3, l, k, cache);
        const signed = (byte << 24) >> 24;
        if (this.is("init.signed-byte")) return ((signed >> 1) - 64) * 256;
        if (this.is("init.signed-no-offset")) return (signed >> 1) * 256;
        if (this.is("init.no-scale")) return (byte >> 1) - 64;
        return ((byte >> 1) - 64) * 256;
      });
      params.push([...w, ...new Array<number>(widths[l + 1]).fill(0)]);
    }
    const pmin = this.is("update.clamp-32768") ? -32768 : -32767;
    const wmin = this.is("weight.clamp-128") ? -128 : -127;
    const eff = (p: number) => this.clamp(this.roundShift(p, 8), wmin, 127);
    const biasIn = this.is("forward.bias-input-128") ? 128 : 127;
    const fshift = (l: number) =>
      6 + ceilHalfLog2(this.is("forward.shift-of-outputs") ? widths[l + 1] : widths[l]);
    const bshift = (l: number) =>
      6 + ceilHalfLog2(this.is("backward.shift-of-inputs") ? widths[l] : widths[l + 1]);

    const forward = (x: number[]) => {
      const acts = [x];
      for (let l = 0; l < L; l++) {
        const [nIn, nOut] = [widths[l], widths[l + 1]];
        const a = acts[l];
        const out: number[] = [];
        for (let o = 0; o < nOut; o++) {
          let z = biasIn * eff(params[l][nIn * nOut + o]);
          for (let i = 0; i < nIn; i++) z += eff(params[l][o * nIn + i]) * a[i];
          const q = this.roundShift(z, fshift(l));
          if (l === L - 1) out.push(this.clamp(q, this.is("forward.output-clamp-128") ? -128 : -127, 127));
          else out.push(this.clamp(q, this.is("forward.hidden-signed") ? -127 : 0, 127));
        }
        acts.push(out);
      }
      return acts;
    };

    // docs/disputes.md "Byte trees": 136-byte leaves, zero-padded; empty leaves bytes32(0);
    // positional pairs; written here from the document, not from the SDK.
    const byteTree = (bytes: Uint8Array): Hex => {
      const count = Math.max(1, Math.ceil(bytes.length / 136));
      let level: Hex[] = Array.from({ length: count }, (_, j) => {
        const leaf = new Uint8Array(136);
        leaf.set(bytes.subarray(j * 136, (j + 1) * 136));
        return keccak256(leaf);
      });
      let empty: Hex = `0x${"00".repeat(32)}`;
      while (level.length > 1) {
        if (level.length % 2 === 1) level.push(empty);
        level = Array.from({ length: level.length / 2 }, (_, k) =>
          keccak256(concat([level[2 * k], level[2 * k + 1]])),
        );
        empty = keccak256(concat([empty, empty]));
      }
      return level[0];
    };
    const parameterRoots: Hex[] = [];
    const checkpointHash = (step: number) => {
      const stepBytes = this.is("checkpoint.step-u32") ? 4 : 8;
      const count = params.reduce((s, p) => s + p.length, 0);
      const bytes = new Uint8Array(stepBytes + 2 * count);
      const view = new DataView(bytes.buffer);
      view.setUint32(0, step, true);
      let at = stepBytes;
      for (const p of params) {
        for (const v of p) {
          view.setInt16(at, v, !this.is("checkpoint.big-endian"));
          at += 2;
        }
      }
      parameterRoots.push(byteTree(bytes));
      return keccak256(bytes);
    };

    const target = this.is("loss.target-127") ? 127 : 64;
    const lossLo = this.is("loss.no-clamp") ? -Infinity : this.is("loss.clamp-128") ? -128 : -127;
    const lossHi = this.is("loss.no-clamp") ? Infinity : 127;
    const step = (s: number) => {
      const B = spec.batchSize;
      const batch = Array.from({ length: B }, (_, r) => trainExample(s, r));
      const acts = batch.map((e) => forward(e.x));
      let g = acts.map((a, r) =>
        a[L].map((y, c) => this.clamp(y - (c === batch[r].label ? target : 0), lossLo, lossHi)),
      );
      for (let l = L - 1; l >= 0; l--) {
        const [nIn, nOut] = [widths[l], widths[l + 1]];
        const w = params[l].slice(0, nIn * nOut).map(eff);
        const dW = new Array<number>(nIn * nOut).fill(0);
        const dB = new Array<number>(nOut).fill(0);
        for (let r = 0; r < B; r++)
          for (let o = 0; o < nOut; o++) {
            for (let i = 0; i < nIn; i++) dW[o * nIn + i] += g[r][o] * acts[r][l][i];
            dB[o] += (this.is("backward.bias-grad-unscaled") ? 1 : 127) * g[r][o];
          }
        const update = () => {
          for (let k = 0; k < nIn * nOut; k++)
            params[l][k] = this.clamp(params[l][k] - this.roundShift(dW[k], spec.lrShift), pmin, 32767);
          for (let o = 0; o < nOut; o++) {
            const d = this.is("update.bias-no-lr") ? dB[o] : this.roundShift(dB[o], spec.lrShift);
            params[l][nIn * nOut + o] = this.clamp(params[l][nIn * nOut + o] - d, pmin, 32767);
          }
        };
        if (this.is("backward.updated-weights")) update();
        const wNow = this.is("backward.updated-weights") ? params[l].slice(0, nIn * nOut).map(eff) : w;
        if (l > 0) {
          g = g.map((gr, r) =>
            Array.from({ length: nIn }, (_, i) => {
              let e = 0;
              for (let o = 0; o < nOut; o++) e += wNow[o * nIn + i] * gr[o];
              const live = this.is("backward.no-relu-mask") || acts[r][l][i] > 0;
              return live ? this.clamp(this.roundShift(e, bshift(l)), -127, 127) : 0;
            }),
          );
        }
        if (!this.is("backward.updated-weights")) update();
      }
    };

    const hashes = [checkpointHash(0)];
    for (let s = 0; s < spec.steps; s++) {
      step(s);
      if ((s + 1) % spec.checkpointInterval === 0) hashes.push(checkpointHash(s + 1));
    }
    // A replay-audited run commits no step-state roots: the leaf's fourth word is zero.
    const zeroWord: Hex = `0x${"00".repeat(32)}`;
    const leafHash = (i: number, h: Hex) => {
      const encoded = encodeAbiParameters(
        [{ type: "uint32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
        [i, h, parameterRoots[i], zeroWord],
      );
      return this.is("merkle.single-hash-leaf") ? keccak256(encoded) : keccak256(keccak256(encoded));
    };
    let root: Hex;
    if (this.is("merkle.unsorted-leaves") || this.is("merkle.single-hash-leaf")) {
      // The standard tree's layout (leaves at the end of the array, reversed; parents at (i-1)/2),
      // with the leaves in index order or hashed once.
      let leaves = hashes.map((h, i) => leafHash(i, h));
      if (!this.is("merkle.unsorted-leaves")) leaves = [...leaves].sort();
      const tree = new Array<Hex>(2 * leaves.length - 1);
      leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf));
      for (let i = tree.length - 1 - leaves.length; i >= 0; i--) {
        const [a, b] = [tree[2 * i + 1], tree[2 * i + 2]];
        tree[i] = keccak256(concat(a < b ? [a, b] : [b, a]));
      }
      root = tree[0];
    } else {
      root = StandardMerkleTree.of(
        hashes.map((h, i) => [i, h, parameterRoots[i], zeroWord]),
        ["uint32", "bytes32", "bytes32", "bytes32"],
      ).root as Hex;
    }
    let correct = 0;
    for (let e = 0; e < spec.evalSize; e++) {
      const ex = evalExample(e);
      if (argmax(forward(ex.x)[L], this.is("eval.ties-high")) === ex.label) correct++;
    }
    const bps = (correct * 10_000) / spec.evalSize;
    const first = Array.from({ length: spec.batchSize }, (_, r) => trainExample(0, r));
    const firstInputs = new Uint8Array(first.flatMap((e) => e.x.map((v) => v & 0xff)));
    return {
      specId: this.specId(spec),
      key,
      ...(trainRoot && { trainRoot, evalRoot }),
      ...(spec.version === 2 && {
        firstBatchExamples: Array.from({ length: spec.batchSize }, (_, r) => trainIndex(r)),
      }),
      firstBatchInputsHash: keccak256(firstInputs),
      firstBatchLabels: first.map((e) => e.label),
      checkpointHashes: hashes,
      root,
      score: {
        correct,
        total: spec.evalSize,
        accuracyBps: this.is("eval.round-bps") ? Math.round(bps) : Math.floor(bps),
      },
    };
  }
}

/** Runs `vector` as an implementation with the given misreadings would. */
export function runMisread(
  vector: Vector,
  dataset: VectorDataset | undefined,
  misreadings: readonly Misreading[] = [],
): Outcome {
  return new Impl(new Set(misreadings)).run(vector, dataset);
}

/** The outcome a vector records, in the shape `runMisread` returns. */
export function recorded(vector: Vector, dataset: VectorDataset | undefined): Outcome {
  return {
    specId: vector.specId,
    key: vector.key,
    ...(dataset && { trainRoot: dataset.train.root, evalRoot: dataset.eval.root }),
    ...(vector.firstBatchExamples && { firstBatchExamples: vector.firstBatchExamples }),
    firstBatchInputsHash: vector.firstBatchInputsHash,
    firstBatchLabels: vector.firstBatchLabels,
    checkpointHashes: vector.checkpointHashes,
    root: vector.root,
    score: vector.score,
  };
}

/** The fields of `outcome` that differ from the vector's. */
export function differences(vector: Vector, dataset: VectorDataset | undefined, outcome: Outcome): string[] {
  const want = recorded(vector, dataset) as unknown as Record<string, unknown>;
  const have = outcome as unknown as Record<string, unknown>;
  return Object.keys(want).filter((k) => JSON.stringify(want[k]) !== JSON.stringify(have[k]));
}

async function main(): Promise<void> {
  const { readFileSync } = await import("node:fs");
  const { VECTORS_PATH } = await import("../../sdk/src/compute/vectors/generate.js");
  const file = JSON.parse(
    readFileSync(VECTORS_PATH, "utf8"),
  ) as import("../../sdk/src/compute/vectors/generate.js").VectorFile;
  const datasetOf = (v: Vector) => (v.dataset ? file.datasets[v.dataset] : undefined);
  for (const v of file.vectors) {
    const diff = differences(v, datasetOf(v), runMisread(v, datasetOf(v)));
    process.stdout.write(
      `faithful on ${v.name}: ${diff.length === 0 ? "ok" : `DIFFERS in ${diff.join(", ")}`}\n`,
    );
  }
  for (const m of Object.keys(MISREADINGS) as Misreading[]) {
    const failed = file.vectors.filter(
      (v) => differences(v, datasetOf(v), runMisread(v, datasetOf(v), [m])).length > 0,
    );
    process.stdout.write(
      `${m}: ${failed.length === 0 ? "PASSES EVERY VECTOR" : failed.map((v) => v.name).join(", ")}\n`,
    );
  }
}

if (process.argv[1]?.endsWith("misreadings.ts")) await main();
