/**
 * Which segments of a run a committee re-executes, and which of them each member takes.
 *
 * A run of `steps` SGD steps with a checkpoint every `checkpointInterval` steps has
 * `segmentCount = steps / checkpointInterval` segments; segment `i` goes from checkpoint `i` to
 * checkpoint `i + 1` (the engine's `replaySegment(spec, seed, i, …)`).
 *
 * The protocol's rule (`committeeSamples`, `memberSamples`): the committee as a whole re-executes
 * the spec's `auditSamples` (`k`) distinct segments drawn from the audit seed alone, and each
 * member takes an equal, disjoint share of them (by its rank among the selected validators,
 * sorted by address). The committee covers `k` segments whatever its size, so a run forging a
 * fraction `f` of its segments escapes every honest member with probability about `(1 - f)^k`;
 * when one member finds a segment that does not replay it reveals `Invalid(segment)` and the
 * second phase makes every member replay it. Because the audit seed comes from a beacon value
 * that did not exist when the trainer committed its result, the trainer cannot know which
 * segments will be checked. `docs/protocol.md` measures the escape probability
 * (`BENCH=escape`).
 *
 * `ownSamples` is the split the validator daemon uses: each member draws its share from the audit
 * seed and its own address alone (`sampleSegments` with `ceil(k / minReveals)` segments), so that
 * it needs nothing about the other members, neither who they are nor their stakes: its work per
 * round follows its seats, not the number of validators. A committee that can decide holds at
 * least `minReveals` members, so it draws at least `k` samples (`minReveals · ceil(k / minReveals)`),
 * nearly all distinct when `k` is small against the segment count; a larger committee draws
 * more. `memberSamples` is the earlier split (a disjoint share by rank among the selected
 * validators, which needs every validator's stake to know the committee), kept for tools.
 *
 * `sampleSegments` is one validator's own draw of `k` segments,
 *
 * ```
 * draw_j = uint256(keccak256(abi.encode(bytes32 auditSeed, address validator, uint256 j))) % segmentCount
 * ```
 *
 * for `j = 0, 1, 2, …` (a draw equal to an earlier one is skipped; every segment when
 * `k >= segmentCount`): the rule of earlier versions, in which every member drew `k` samples of
 * its own, kept for tools that audit alone.
 */
import { encodeAbiParameters, hexToBigInt, keccak256, type Address, type Hex } from "viem";
import { checkAddress } from "../validate.js";
import { checkBytes32, checkSmallUint } from "./validate.js";

/** Largest segment count the helper accepts (the engine's checkpoint bound, 2^20). */
export const MAX_SEGMENTS = 1 << 20;
/** Most segments a committee samples (`TaskRegistry.MAX_AUDIT_SAMPLES`). */
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

/**
 * The committee's samples of a challenge: the first `k` distinct values of
 *
 * ```
 * draw_j = uint256(keccak256(abi.encode(bytes32 auditSeed, uint256 j))) % segmentCount
 * ```
 *
 * for `j = 0, 1, 2, …` (a repeated draw is skipped), in draw order; every segment when
 * `k >= segmentCount`. `k` is the spec's `auditSamples`: the segments the whole committee
 * re-executes, split among its members by `memberSamples`. Nobody can compute them before the
 * beacon value of the audit round exists, after the trainer committed its result.
 */
export function committeeSamples(auditSeed: Hex, k: number, segmentCount: number): number[] {
  const seed = checkBytes32("auditSeed", auditSeed);
  const wanted = checkSmallUint("k", k, 0, MAX_AUDIT_SAMPLES);
  const n = checkSmallUint("segmentCount", segmentCount, 1, MAX_SEGMENTS);
  if (wanted >= n) return Array.from({ length: n }, (_, i) => i);
  const count = BigInt(n);
  const seen = new Set<number>();
  const out: number[] = [];
  for (let j = 0n; out.length < wanted; j++) {
    const draw = hexToBigInt(
      keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [seed, j])),
    );
    const segment = Number(draw % count);
    if (seen.has(segment)) continue;
    seen.add(segment);
    out.push(segment);
  }
  return out;
}

/**
 * `validator`'s share of the committee's samples: the samples at positions `rank, rank + m,
 * rank + 2m, …` of `committeeSamples(auditSeed, k, segmentCount)`, where `m` is the committee's
 * size and `rank` the validator's position in `committee` sorted by address (the committee is
 * every validator the sortition selects: `getCommittee` in the SDK's challenge actions). The
 * members' shares are disjoint and together cover the committee's samples, so the committee
 * checks `k` distinct segments whatever its size; the second phase spreads any catch to every
 * member. A member outside `committee` (a committee the caller saw incompletely) gets the share
 * its address would have.
 */
export function memberSamples(
  auditSeed: Hex,
  validator: Address,
  committee: readonly Address[],
  k: number,
  segmentCount: number,
): number[] {
  const me = checkAddress("validator", validator).toLowerCase();
  const members = new Set(committee.map((a, i) => checkAddress(`committee[${i}]`, a).toLowerCase()));
  members.add(me);
  const sorted = [...members].sort();
  const rank = sorted.indexOf(me);
  const all = committeeSamples(auditSeed, k, segmentCount);
  return all.filter((_, j) => j % sorted.length === rank);
}

/**
 * `validator`'s share of a committee's samples, drawn from the audit seed and its own address
 * alone: `sampleSegments(auditSeed, validator, ceil(k / minReveals), segmentCount)`. Any committee
 * of `minReveals` members (the fewest that can decide a challenge) draws at least `k` samples
 * between them, whoever the other members are; a member needs neither the committee nor any
 * other validator's stake to know its share.
 */
export function ownSamples(
  auditSeed: Hex,
  validator: Address,
  k: number,
  segmentCount: number,
  minReveals: number,
): number[] {
  const wanted = checkSmallUint("k", k, 0, MAX_AUDIT_SAMPLES);
  const quorum = checkSmallUint("minReveals", minReveals, 1, 255);
  return sampleSegments(auditSeed, validator, Math.ceil(wanted / quorum), segmentCount);
}

/**
 * The share of a run's segments a committee re-executes on an honest run: each of
 * `committeeSize` members replays its own `ceil(auditSamples / minReveals)` segments
 * (`ownSamples`), so at most `committeeSize · ceil(auditSamples / minReveals) / segments`, capped
 * at 1 (an upper bound: the members' draws may overlap). The committee's work over the trainer's.
 */
export function committeeReplayShare(
  committeeSize: number,
  auditSamples: number,
  minReveals: number,
  segments: number,
): number {
  const members = checkSmallUint("committeeSize", committeeSize, 0, 65_535);
  const k = checkSmallUint("auditSamples", auditSamples, 0, MAX_AUDIT_SAMPLES);
  const quorum = checkSmallUint("minReveals", minReveals, 1, 255);
  const total = checkSmallUint("segments", segments, 1, MAX_SEGMENTS);
  return Math.min(1, (members * Math.min(total, Math.ceil(k / quorum))) / total);
}
