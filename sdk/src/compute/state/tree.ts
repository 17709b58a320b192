/**
 * Byte trees: the Merkle commitment of every tensor of the state layout (docs/disputes.md, "State
 * layout"). A tensor is a byte string; the tree cuts it into leaves of {@link LEAF_BYTES} bytes (the
 * rate of Keccak-256, so a parameter tree's leaves are exactly the blocks the checkpoint hash absorbs),
 * the last one zero-padded:
 *
 * - leaf hash of leaf j = keccak256(the 136 bytes of leaf j);
 * - the leaves are padded to a power of two, 2^d (d = ceil(log2(leaves)), 0 for one leaf), with the
 *   empty node Z_0 = bytes32(0); Z_{k+1} = keccak256(Z_k ‖ Z_k) is an empty subtree of height k + 1;
 * - node i of level k + 1 = keccak256(node 2i of level k ‖ node 2i + 1 of level k), in that order
 *   (positional, not sorted); the root is the single node of level d.
 *
 * A proof of leaf j is its d siblings, bottom up; bit k of j says whether the node is the right child
 * at level k. Leaves are 136 bytes and inner nodes hash 64, so no inner node can pass for a leaf.
 * Browser-safe.
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { keccak256Raw } from "../keccak.js";
import { wasmSupported, wasmTreeLevels } from "../wasm/hasher.js";

/** Bytes per leaf: the rate of Keccak-256 (one absorbed block). */
export const LEAF_BYTES = 136;

/** The root of an absent tensor (a slot that a spec does not use). */
export const ABSENT_ROOT: Hex = `0x${"00".repeat(32)}`;

/** Empty subtree hashes: `zeroHash(k)` is the root of a subtree of height k holding no leaf. */
const zeros: Uint8Array[] = [new Uint8Array(32)];
export function zeroHash(height: number): Uint8Array {
  while (zeros.length <= height) {
    const below = zeros[zeros.length - 1];
    zeros.push(hashNodes(below, below));
  }
  return zeros[height];
}

const nodeBuffer = new Uint8Array(64);

/** keccak256(left ‖ right). */
export function hashNodes(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuffer.set(left, 0);
  nodeBuffer.set(right, 32);
  return keccak256Raw(nodeBuffer);
}

/** Leaves of a byte string of `length` bytes (at least one). */
export function leafCountOf(length: number): number {
  return Math.max(1, Math.ceil(length / LEAF_BYTES));
}

/** Height of the tree over `leaves` leaves: ceil(log2(leaves)). */
export function depthOf(leaves: number): number {
  let d = 0;
  while (2 ** d < leaves) d++;
  return d;
}

/** The 136 bytes of leaf `j` of `bytes` (zero-padded). */
export function leafBytesOf(bytes: Uint8Array, j: number): Uint8Array {
  const out = new Uint8Array(LEAF_BYTES);
  out.set(bytes.subarray(j * LEAF_BYTES, Math.min(bytes.length, (j + 1) * LEAF_BYTES)));
  return out;
}

/** The tree over one byte string, every level kept (proofs and descents are read from it). */
export class ByteTree {
  readonly length: number;
  readonly leafCount: number;
  readonly depth: number;
  /** `levels[k]` holds the nodes of level k that cover at least one leaf, 32 bytes each. */
  private readonly levels: Uint8Array[] = [];

  /**
   * The levels are hashed by the wasm kernels where WebAssembly with SIMD runs (one call per
   * level), and by the TypeScript below with `reference` or without it: the same tree.
   */
  constructor(
    readonly bytes: Uint8Array,
    reference = false,
  ) {
    this.length = bytes.length;
    this.leafCount = leafCountOf(bytes.length);
    this.depth = depthOf(this.leafCount);
    if (!reference && wasmSupported()) {
      this.levels = wasmTreeLevels(bytes, zeroHash);
      return;
    }
    const level0 = new Uint8Array(32 * this.leafCount);
    const leaf = new Uint8Array(LEAF_BYTES);
    for (let j = 0; j < this.leafCount; j++) {
      const start = j * LEAF_BYTES;
      const end = Math.min(bytes.length, start + LEAF_BYTES);
      if (end - start === LEAF_BYTES) level0.set(keccak256Raw(bytes.subarray(start, end)), 32 * j);
      else {
        leaf.fill(0);
        leaf.set(bytes.subarray(start, end));
        level0.set(keccak256Raw(leaf), 32 * j);
      }
    }
    this.levels.push(level0);
    for (let k = 0; k < this.depth; k++) {
      const below = this.levels[k];
      const n = below.length / 32;
      const count = Math.ceil(n / 2);
      const level = new Uint8Array(32 * count);
      for (let i = 0; i < count; i++) {
        const left = below.subarray(64 * i, 64 * i + 32);
        const right = 2 * i + 1 < n ? below.subarray(64 * i + 32, 64 * i + 64) : zeroHash(k);
        level.set(hashNodes(left, right), 32 * i);
      }
      this.levels.push(level);
    }
  }

  /** Node `i` of level `k` (level 0: leaf hashes); an empty subtree's hash beyond the leaves. */
  node(k: number, i: number): Uint8Array {
    const level = this.levels[k];
    if (32 * i >= level.length) return zeroHash(k);
    return level.subarray(32 * i, 32 * i + 32);
  }

  get root(): Hex {
    return bytesToHex(this.node(this.depth, 0));
  }

  /** The bytes of leaf `j`, zero-padded to 136. */
  leaf(j: number): Uint8Array {
    this.checkLeaf(j);
    return leafBytesOf(this.bytes, j);
  }

  /** The siblings of leaf `j`, bottom up. */
  proof(j: number): Hex[] {
    this.checkLeaf(j);
    const out: Hex[] = [];
    let i = j;
    for (let k = 0; k < this.depth; k++) {
      out.push(bytesToHex(this.node(k, i ^ 1)));
      i >>= 1;
    }
    return out;
  }

  /** The two children of node `i` at height `k` (k ≥ 1). */
  children(k: number, i: number): [Hex, Hex] {
    return [bytesToHex(this.node(k - 1, 2 * i)), bytesToHex(this.node(k - 1, 2 * i + 1))];
  }

  private checkLeaf(j: number): void {
    if (!Number.isSafeInteger(j) || j < 0 || j >= this.leafCount) {
      throw new RangeError(`leaf index must be in 0..${this.leafCount - 1}, got ${j}`);
    }
  }
}

/** The root of the tree over `bytes`. */
export function byteTreeRoot(bytes: Uint8Array): Hex {
  return new ByteTree(bytes).root;
}

/** Whether `proof` shows that leaf `j` (136 bytes) is in the tree of `leafCount` leaves under `root`. */
export function verifyLeafProof(
  root: Hex,
  leafCount: number,
  j: number,
  leaf: Uint8Array,
  proof: readonly Hex[],
): boolean {
  if (leaf.length !== LEAF_BYTES || !Number.isSafeInteger(j) || j < 0 || j >= leafCount) return false;
  if (proof.length !== depthOf(leafCount)) return false;
  let node = keccak256Raw(leaf);
  for (let k = 0; k < proof.length; k++) {
    const sibling = hexToBytes(proof[k]);
    node = (j >> k) & 1 ? hashNodes(sibling, node) : hashNodes(node, sibling);
  }
  return bytesToHex(node) === root.toLowerCase();
}
