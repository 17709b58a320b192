/**
 * The embedded kernels (kernels.as) instantiated synchronously, and their Keccak-256 and byte tree
 * hashing: the byte trees of the state layout (state/tree.ts) hash their leaves and levels here
 * wherever WebAssembly with SIMD runs, in one call per level instead of one per node.
 * Browser-safe: no file access; the module is small enough for synchronous compilation on every
 * engine.
 */
import { KERNELS_WASM_BASE64 } from "./kernels.generated.js";

/** The subset of the WebAssembly JS API the kernels' hosts use (not in the ES lib typings). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ readonly exports: object }>;
}

/** Bytes per page of linear memory. */
export const PAGE = 65_536;

export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let kernelBytes: Uint8Array | undefined;
let supported: boolean | undefined;

/** The embedded kernel binary. */
export function kernelsBinary(): Uint8Array {
  kernelBytes ??= decodeBase64(KERNELS_WASM_BASE64);
  return kernelBytes;
}

/** Whether this JavaScript engine runs WebAssembly with SIMD (the kernels validate). */
export function wasmSupported(): boolean {
  if (supported === undefined) {
    const api = wasmApi();
    try {
      supported = api !== undefined && api.validate(kernelsBinary());
    } catch {
      supported = false;
    }
  }
  return supported;
}

let compiledSync: object | undefined;

/** A fresh kernel instance (its own linear memory), created synchronously. */
export function instantiateSync<T>(): T {
  const api = wasmApi();
  if (!api || !wasmSupported())
    throw new Error("the wasm kernels need WebAssembly with SIMD, which this engine lacks");
  compiledSync ??= new api.Module(kernelsBinary());
  return new api.Instance(compiledSync, {}).exports as T;
}

/** The hashing exports of the kernels. */
interface HashKernels {
  readonly memory: WasmMemory;
  heap_base(): number;
  keccak256(src: number, len: number, dst: number): void;
  tree_leaves(src: number, len: number, nodes: number): number;
  tree_level(nodes: number, count: number, zero: number, dst: number): number;
  tree_root(src: number, len: number, scratch: number, dst: number): void;
}

let hasher: HashKernels | undefined;

/** Linear memory of the hashing instance with at least `bytes` free from the returned offset. */
function reserve(bytes: number): { k: HashKernels; at: number } {
  hasher ??= instantiateSync<HashKernels>();
  const at = (hasher.heap_base() + 15) & ~15;
  const have = hasher.memory.buffer.byteLength;
  if (at + bytes > have) hasher.memory.grow(Math.ceil((at + bytes - have) / PAGE));
  return { k: hasher, at };
}

const align = (n: number) => (n + 15) & ~15;
const LEAF = 136;

/** keccak256 of `bytes` by the kernels' Keccak-f[1600] (32 raw bytes; the same as viem's). */
export function wasmKeccak256(bytes: Uint8Array): Uint8Array {
  const { k, at } = reserve(align(bytes.length) + 32);
  new Uint8Array(k.memory.buffer).set(bytes, at);
  const dst = at + align(bytes.length);
  k.keccak256(at, bytes.length, dst);
  return new Uint8Array(k.memory.buffer).slice(dst, dst + 32);
}

/** The byte tree root of `bytes` (state/tree.ts's `byteTreeRoot`) by the kernels, 32 raw bytes. */
export function wasmByteTreeRoot(bytes: Uint8Array): Uint8Array {
  const leaves = Math.max(1, Math.ceil(bytes.length / LEAF));
  const { k, at } = reserve(align(bytes.length) + 32 + 32 * leaves);
  new Uint8Array(k.memory.buffer).set(bytes, at);
  const dst = at + align(bytes.length);
  k.tree_root(at, bytes.length, dst + 32, dst);
  return new Uint8Array(k.memory.buffer).slice(dst, dst + 32);
}

/**
 * Every level of the byte tree over `bytes`, leaf hashes first (32 bytes a node, the nodes that
 * cover at least one leaf), by the kernels; `zero(k)` is the empty subtree of height k.
 */
export function wasmTreeLevels(bytes: Uint8Array, zero: (height: number) => Uint8Array): Uint8Array[] {
  const leaves = Math.max(1, Math.ceil(bytes.length / LEAF));
  // every level's nodes, one after the other: fewer than 2 · leaves + one per level
  const { k, at } = reserve(align(bytes.length) + 32 + 32 * (2 * leaves + 64));
  new Uint8Array(k.memory.buffer).set(bytes, at);
  const zeroAt = at + align(bytes.length);
  let nodes = zeroAt + 32;
  let count = k.tree_leaves(at, bytes.length, nodes);
  const memory = () => new Uint8Array(k.memory.buffer);
  const levels = [memory().slice(nodes, nodes + 32 * count)];
  for (let height = 0; count > 1; height++) {
    memory().set(zero(height), zeroAt);
    const dst = nodes + 32 * count;
    count = k.tree_level(nodes, count, zeroAt, dst);
    levels.push(memory().slice(dst, dst + 32 * count));
    nodes = dst;
  }
  return levels;
}
