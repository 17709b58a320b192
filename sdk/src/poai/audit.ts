/**
 * Which segments of a run a committee member re-executes.
 *
 * A run of `steps` SGD steps with a checkpoint every `checkpointInterval` steps has
 * `segmentCount = steps / checkpointInterval` segments; segment `i` goes from checkpoint `i` to
 * checkpoint `i + 1` (the engine's `replaySegment(spec, seed, i, …)`).
 *
 * Derivation (the protocol's, so that anyone can check which segments a member had to look at):
 *
 * ```
 * draw_j = uint256(keccak256(abi.encode(bytes32 auditSeed, address validator, uint256 j))) % segmentCount
 * ```
 *
 * for `j = 0, 1, 2, …`; a draw equal to an earlier one is **skipped** (it does not count), and
 * drawing stops once `k` distinct segments are collected. The segments come back in draw order.
 * When `k >= segmentCount` every segment is checked (`0..segmentCount-1`, ascending, no draw).
 * `k` is the spec's `auditSamples` (at most 256, `TaskRegistry.MAX_AUDIT_SAMPLES`). Because the audit seed comes from a
 * beacon value that did not exist when the trainer committed its result, the trainer cannot know
 * which segments will be checked, and each member checks different ones.
 */
import { encodeAbiParameters, hexToBigInt, keccak256, type Address, type Hex } from "viem";
import { checkAddress } from "../validate.js";
import { checkBytes32, checkSmallUint } from "./validate.js";

/** Largest segment count the helper accepts (the engine's checkpoint bound, 2^20). */
export const MAX_SEGMENTS = 1 << 20;
/** Most segments a member samples (`TaskRegistry.MAX_AUDIT_SAMPLES`). */
export const MAX_AUDIT_SAMPLES = 256;

/**
 * The `k` segments (distinct indexes in `0..segmentCount-1`, in draw order) that `validator`
 * re-executes for the challenge with `auditSeed`; all of them when `k >= segmentCount`.
 */
export function sampleSegments(
  auditSeed: Hex,
  validator: Address,
  k: number,
  segmentCount: number,
): number[] {
  const seed = checkBytes32("auditSeed", auditSeed);
  const member = checkAddress("validator", validator);
  const wanted = checkSmallUint("k", k, 0, MAX_AUDIT_SAMPLES);
  const n = checkSmallUint("segmentCount", segmentCount, 1, MAX_SEGMENTS);
  if (wanted >= n) return Array.from({ length: n }, (_, i) => i);
  const count = BigInt(n);
  const seen = new Set<number>();
  const out: number[] = [];
  for (let j = 0n; out.length < wanted; j++) {
    const draw = hexToBigInt(
      keccak256(
        encodeAbiParameters(
          [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
          [seed, member, j],
        ),
      ),
    );
    const segment = Number(draw % count);
    if (seen.has(segment)) continue;
    seen.add(segment);
    out.push(segment);
  }
  return out;
}
