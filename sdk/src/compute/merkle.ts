/**
 * The commitment to a run: an OpenZeppelin standard Merkle tree over one leaf per checkpoint.
 *
 * Leaf i = keccak256(bytes.concat(keccak256(abi.encode(uint32(i), bytes32(checkpointHash_i),
 * bytes32(parameterRoot_i), bytes32(stepRoot_i))))) (`StandardMerkleTree` with leaf encoding
 * `["uint32", "bytes32", "bytes32", "bytes32"]`: leaves sorted, pairs hashed sorted), so a contract
 * checks a checkpoint with `MerkleProof.verify(proof, root, leaf)`; the index inside the leaf binds
 * the checkpoint to its place in the run. `parameterRoot_i` is the root of the checkpoint's byte
 * tree (docs/disputes.md, "State layout": the Θ slot of a step), so a dispute game reads the start
 * and end parameter roots of a segment from the run's commitment (`DisputeGame.openBound`).
 * `stepRoot_i` is the step-state root of the segment that starts at checkpoint i
 * (`state/sampling.ts`, what an operation-sampling audit checks its samples against): zero for the
 * last checkpoint, which starts no segment, and for every checkpoint of a spec audited by segment
 * replay (`auditModeFor`), whose trainer does not compute step states.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, hexToBytes, isHex, keccak256, size, type Hex } from "viem";
import { keccak256Bytes } from "./keccak.js";
import { byteTreeRoot } from "./state/tree.js";

/**
 * Leaf encoding of the checkpoint tree: (checkpoint index, checkpoint hash, parameter-tree root,
 * step-state root of the segment starting there).
 */
export const CHECKPOINT_LEAF_ENCODING: readonly string[] = ["uint32", "bytes32", "bytes32", "bytes32"];

/** The step root of a checkpoint that commits no step states (the last one; a replay-mode run's). */
export const NO_STEP_ROOT: Hex = `0x${"00".repeat(32)}`;

/**
 * What a commitment is computed from: the checkpoint hashes and the parameter-tree roots
 * (`byteTreeRoot` of each checkpoint's bytes), checkpoint 0 first.
 */
export interface CommittableRun {
  readonly checkpointHashes: readonly Hex[];
  readonly parameterRoots: readonly Hex[];
  /**
   * The step-state roots (`stepStatesRoot` of each segment, docs/verifier.md "Audit modes"),
   * checkpoint 0 first, one per checkpoint; the last checkpoint starts no segment, and its word is
   * the run's evaluation root (`EvalTrace`, docs/verifier.md "The score"); all
   * {@link NO_STEP_ROOT} when absent (a run audited by segment replay).
   */
  readonly stepRoots?: readonly Hex[];
}

export interface RunCommitment {
  /** Merkle root, stored on chain. */
  readonly root: Hex;
  /** Leaf hashes, in checkpoint order (leaf i is checkpoint i's). */
  readonly leaves: readonly Hex[];
  /** The committed parameter-tree roots, checkpoint 0 first. */
  readonly parameterRoots: readonly Hex[];
  /** The committed step-state roots, checkpoint 0 first. */
  readonly stepRoots: readonly Hex[];
  /** Sibling hashes proving checkpoint i's leaf under the root. */
  proof(index: number): Hex[];
}

/** Thrown for a run whose checkpoint list cannot be committed. */
export class CommitmentError extends Error {
  override readonly name = "CommitmentError";
}

function checkHash(hash: unknown, index: number, field = "checkpointHashes"): Hex {
  if (typeof hash !== "string" || !isHex(hash, { strict: true }) || size(hash) !== 32) {
    throw new CommitmentError(`${field}[${index}] must be a 32-byte hex string, got ${String(hash)}`);
  }
  return hash;
}

/** Builds the checkpoint tree of a run. */
export function commit(run: CommittableRun): RunCommitment {
  const hashes = run.checkpointHashes;
  if (!Array.isArray(hashes) || hashes.length < 1) {
    throw new CommitmentError(`checkpointHashes must list at least one checkpoint, got ${String(hashes)}`);
  }
  const roots = run.parameterRoots;
  if (!Array.isArray(roots) || roots.length !== hashes.length) {
    throw new CommitmentError(
      `parameterRoots must list one root per checkpoint (${hashes.length}), got ${Array.isArray(roots) ? roots.length : String(roots)}`,
    );
  }
  const steps = run.stepRoots ?? hashes.map(() => NO_STEP_ROOT);
  if (!Array.isArray(steps) || steps.length !== hashes.length) {
    throw new CommitmentError(
      `stepRoots must list one root per checkpoint (${hashes.length}), got ${Array.isArray(steps) ? steps.length : String(steps)}`,
    );
  }
  const values = hashes.map(
    (hash, i) =>
      [
        i,
        checkHash(hash, i),
        checkHash(roots[i], i, "parameterRoots"),
        checkHash(steps[i], i, "stepRoots"),
      ] as [number, Hex, Hex, Hex],
  );
  const tree = StandardMerkleTree.of(values, [...CHECKPOINT_LEAF_ENCODING]);
  const leaves = values.map((value) => tree.leafHash(value) as Hex);
  return {
    root: tree.root as Hex,
    leaves,
    parameterRoots: values.map((value) => value[2]),
    stepRoots: values.map((value) => value[3]),
    proof(index: number): Hex[] {
      if (!Number.isSafeInteger(index) || index < 0 || index >= values.length) {
        throw new CommitmentError(`checkpoint index must be in 0..${values.length - 1}, got ${index}`);
      }
      return tree.getProof(index) as Hex[];
    },
  };
}

/**
 * Builds the checkpoint tree of a run from its checkpoints' bytes (`encodeCheckpoint`), checkpoint 0
 * first, and its step-state roots (absent: a run audited by segment replay).
 */
export function commitCheckpoints(
  checkpoints: readonly Uint8Array[],
  stepRoots?: readonly Hex[],
): RunCommitment {
  return commit({
    checkpointHashes: checkpoints.map((bytes) => keccak256Bytes(bytes)),
    parameterRoots: checkpoints.map((bytes) => byteTreeRoot(bytes)),
    ...(stepRoots && { stepRoots }),
  });
}

/**
 * The leaf of checkpoint `index` with hash `hash`, parameter-tree root `parameterRoot` and step-state
 * root `stepRoot` (of the segment starting there; {@link NO_STEP_ROOT} where none is committed).
 */
export function checkpointLeaf(
  index: number,
  hash: Hex,
  parameterRoot: Hex,
  stepRoot: Hex = NO_STEP_ROOT,
): Hex {
  const encoded = encodeAbiParameters(
    [{ type: "uint32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
    [
      index,
      checkHash(hash, index),
      checkHash(parameterRoot, index, "parameterRoots"),
      checkHash(stepRoot, index, "stepRoots"),
    ],
  );
  return keccak256(keccak256(encoded));
}

/** The 32 bytes of a 32-byte hex string, or undefined for anything else. */
function word(value: unknown): Uint8Array | undefined {
  if (typeof value !== "string" || value.length !== 66 || !isHex(value, { strict: true })) return undefined;
  return hexToBytes(value);
}

/** Whether 32-byte words `a` < `b` as unsigned big-endian numbers. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * Whether `proof` shows that checkpoint `index` has hash `hash`, parameter-tree root
 * `parameterRoot` and step-state root `stepRoot` in the run committed to by `root`.
 * The same check as OpenZeppelin's `MerkleProof.verify` on the standard leaf (and as
 * `StandardMerkleTree.verify`), computed on bytes with `keccak256Bytes`: an audit verifies a proof
 * for every checkpoint it fetches. Malformed input (an index outside uint32, a hash or a sibling
 * that is not 32-byte hex) is not a proof: false.
 */
export function verifyCheckpointProof(
  root: Hex,
  index: number,
  hash: Hex,
  parameterRoot: Hex,
  proof: readonly Hex[],
  stepRoot: Hex = NO_STEP_ROOT,
): boolean {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffff_ffff) return false;
  const rootWord = word(root);
  const hashWord = word(hash);
  const parameterWord = word(parameterRoot);
  const stepWord = word(stepRoot);
  if (!rootWord || !hashWord || !parameterWord || !stepWord || !Array.isArray(proof)) return false;
  // abi.encode(uint32(index), bytes32(hash), bytes32(parameterRoot), bytes32(stepRoot)), then the
  // standard leaf's double keccak256.
  const encoded = new Uint8Array(128);
  new DataView(encoded.buffer).setUint32(28, index, false);
  encoded.set(hashWord, 32);
  encoded.set(parameterWord, 64);
  encoded.set(stepWord, 96);
  let node = hexToBytes(keccak256Bytes(hexToBytes(keccak256Bytes(encoded))));
  const pair = new Uint8Array(64);
  for (const sibling of proof) {
    const s = word(sibling);
    if (!s) return false;
    if (lessThan(node, s)) {
      pair.set(node, 0);
      pair.set(s, 32);
    } else {
      pair.set(s, 0);
      pair.set(node, 32);
    }
    node = hexToBytes(keccak256Bytes(pair));
  }
  for (let i = 0; i < 32; i++) if (node[i] !== rootWord[i]) return false;
  return true;
}
