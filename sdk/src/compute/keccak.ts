/**
 * Keccak-256 of byte strings, synchronous and fast: checkpoints are tens of kilobytes and a run has
 * thousands of them, so their hash dominates everything but the SGD steps themselves.
 *
 * `keccak256Bytes` runs hash-wasm's WebAssembly Keccak once `loadFastKeccak()` has resolved, and
 * viem's JavaScript `keccak256` before that (or where WebAssembly is unavailable). Both compute
 * the same function (Keccak-256, the EVM's `keccak256`, not NIST SHA3-256): only the speed differs
 * (10 to 23× on a 52 KB checkpoint). The engine's entry points (`train`, `replaySegment`, `verifySegment`,
 * `evaluate`, `openRunSession`) load the WebAssembly hasher before they hash, so callers rarely
 * need to call `loadFastKeccak` themselves. Browser-safe: no Node built-ins.
 */
import { createKeccak, type IHasher } from "hash-wasm";
import { keccak256, type Hex } from "viem";

let hasher: IHasher | undefined;
let loading: Promise<boolean> | undefined;

/**
 * Loads the WebAssembly Keccak-256 once (later calls share the first load). Resolves to whether it
 * is in use; never rejects: without it `keccak256Bytes` keeps using viem's JavaScript keccak256.
 */
export function loadFastKeccak(): Promise<boolean> {
  loading ??= createKeccak(256).then(
    (h) => {
      hasher = h;
      return true;
    },
    () => false,
  );
  return loading;
}

/** Whether `keccak256Bytes` currently runs the WebAssembly hasher. */
export function fastKeccakLoaded(): boolean {
  return hasher !== undefined;
}

/** keccak256 of `bytes` as 0x-prefixed lowercase hex, the same bits as viem's `keccak256(bytes)`. */
export function keccak256Bytes(bytes: Uint8Array): Hex {
  if (hasher === undefined) return keccak256(bytes);
  // Synchronous from init to digest: no other caller can interleave with the shared hasher.
  hasher.init();
  hasher.update(bytes);
  return `0x${hasher.digest("hex")}`;
}

/** keccak256 of `bytes` as 32 raw bytes (the same function as `keccak256Bytes`, without the hex). */
export function keccak256Raw(bytes: Uint8Array): Uint8Array {
  if (hasher === undefined) return keccak256(bytes, "bytes");
  hasher.init();
  hasher.update(bytes);
  return hasher.digest("binary");
}
