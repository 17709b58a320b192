/**
 * The engine's only source of randomness: Philox4x32-10 (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011), a counter-based generator. Output block = f(key, counter), so any
 * example, any weight, any block is generated alone, in any order, on any backend.
 *
 * Key: 64 bits derived once per run from (specId, seed) with keccak256 (see {@link deriveKey}).
 * Counter words of the byte streams (both versions):
 * - c0: block index inside the item (each block gives 16 bytes, see {@link philoxBytes});
 * - c1, c2: low and high 32 bits of the item index (example index, class, layer);
 * - c3: the domain tag below.
 * Engine version 2 also draws the round functions of its per-epoch example permutation from Philox
 * (see {@link trainingExampleAt}).
 */
import { concat, hexToBytes, isHex, keccak256, size, type Hex } from "viem";
import { specId, type TrainingSpec } from "./spec.js";

/** Example inputs; item = example index (training: step · batch + row; evaluation: after those). */
export const DOMAIN_INPUT = 1;
/** Teacher weights; item = class. */
export const DOMAIN_TEACHER = 2;
/** Initial weights; item = layer index. */
export const DOMAIN_INIT = 3;
/** Version 2: the Feistel round functions of the example permutation (c3 = 4 + 256 · round). */
export const DOMAIN_PERMUTE = 4;
/** Feistel rounds of the example permutation. */
export const PERMUTATION_ROUNDS = 4;

/** The 64-bit Philox key of a run. */
export interface EngineKey {
  readonly k0: number;
  readonly k1: number;
}

/** Thrown for a seed that is not a 0x-prefixed 32-byte hex string. */
export class SeedError extends Error {
  override readonly name = "SeedError";
  constructor(readonly value: unknown) {
    super(`seed must be a 0x-prefixed 32-byte hex string, got ${String(value)}`);
  }
}

/** Checks that `seed` is a bytes32 hex string. */
export function validateSeed(seed: unknown): Hex {
  if (typeof seed !== "string" || !isHex(seed, { strict: true }) || size(seed) !== 32)
    throw new SeedError(seed);
  return seed;
}

/**
 * key = the first 8 bytes of keccak256(specId ‖ seed), read as two little-endian uint32 (k0, k1).
 * Binding the spec in the key means two specs sharing a seed share no data and no initial weights.
 */
export function deriveKey(spec: TrainingSpec, seed: Hex): EngineKey {
  const digest = hexToBytes(keccak256(concat([specId(spec), validateSeed(seed)])));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  return { k0: view.getUint32(0, true), k1: view.getUint32(4, true) };
}

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32. */
function mulhi(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const lo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/**
 * Philox4x32-10: ten rounds, the key bumped by the Weyl constants between rounds.
 * Writes the four output words to `out` (uint32 values).
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      key0 = (key0 + W0) >>> 0;
      key1 = (key1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/**
 * The byte stream of one item: block j = philox(c0 = j, c1 = item low, c2 = item high, c3 = domain),
 * its words in order, each word's bytes little-endian; so byte t comes from block t >> 4,
 * word (t >> 2) & 3, bits 8·(t & 3) .. 8·(t & 3) + 7. Writes `out.length` bytes.
 */
export function philoxBytes(key: EngineKey, domain: number, item: number, out: Uint8Array): void {
  const words = new Uint32Array(4);
  const lo = item >>> 0;
  const hi = Math.floor(item / 2 ** 32) >>> 0;
  for (let t = 0; t < out.length; t++) {
    if ((t & 15) === 0) philox4x32(t >>> 4, lo, hi, domain, key.k0, key.k1, words);
    out[t] = (words[(t >>> 2) & 3] >>> ((t & 3) * 8)) & 0xff;
  }
}

/** Half the bit width of the permutation's Feistel domain: the smallest h >= 0 with 4^h >= count. */
export function permutationHalfBits(count: number): number {
  let h = 0;
  while (4 ** h < count) h++;
  return h;
}

/**
 * The keyed permutation of `[0, count)` for epoch `epoch`, at `q`: a balanced Feistel network on
 * 2h-bit words (h = {@link permutationHalfBits}), cycle-walked into `[0, count)`. One pass maps
 * x = L · 2^h + R (L, R < 2^h) through {@link PERMUTATION_ROUNDS} rounds, round i being
 * `(L, R) <- (R, L xor (word 0 of philox(c0 = R, c1 = epoch mod 2^32, c2 = floor(epoch / 2^32),
 * c3 = DOMAIN_PERMUTE + 256 · i)) mod 2^h)`, then gives L · 2^h + R; the passes repeat while the
 * result is count or more. Computable for one position alone, on any backend.
 */
export function permuteIndex(
  key: EngineKey,
  count: number,
  epoch: number,
  q: number,
  words: Uint32Array = new Uint32Array(4),
): number {
  const h = permutationHalfBits(count);
  const mask = h === 0 ? 0 : 2 ** h - 1;
  const eLo = epoch >>> 0;
  const eHi = Math.floor(epoch / 2 ** 32) >>> 0;
  let x = q;
  do {
    let left = Math.floor(x / 2 ** h);
    let right = x - left * 2 ** h;
    for (let i = 0; i < PERMUTATION_ROUNDS; i++) {
      philox4x32(right, eLo, eHi, DOMAIN_PERMUTE + 256 * i, key.k0, key.k1, words);
      const f = mask === 0 ? 0 : (words[0] & mask) >>> 0;
      const next = (left ^ f) >>> 0;
      left = right;
      right = next;
    }
    x = left * 2 ** h + right;
  } while (x >= count);
  return x;
}

/**
 * Engine version 2: the training example (index into the dataset's train part of `count` examples)
 * at sample position `position` = step · batchSize + row. Epoch e = floor(position / count) visits
 * every example once, in the order `permuteIndex(key, count, e, ·)`.
 */
export function trainingExampleAt(
  key: EngineKey,
  count: number,
  position: number,
  words?: Uint32Array,
): number {
  const epoch = Math.floor(position / count);
  return permuteIndex(key, count, epoch, position - epoch * count, words);
}

/** The training examples of step `step` (rows 0 .. batchSize - 1) of a version 2 run. */
export function stepExamples(key: EngineKey, count: number, batchSize: number, step: number): Uint32Array {
  const out = new Uint32Array(batchSize);
  const words = new Uint32Array(4);
  for (let r = 0; r < batchSize; r++) out[r] = trainingExampleAt(key, count, step * batchSize + r, words);
  return out;
}
