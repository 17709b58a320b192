/**
 * Stake-weighted committee sortition, bit for bit as `contracts/libraries/Sortition.sol`: a
 * validator with `stake` of `totalStake` is selected with probability
 * `min(1, committeeSize * stake / totalStake)`, independently of every other validator, by
 *
 * ```solidity
 * uint256(keccak256(abi.encode(seed, member))) < mulDiv(type(uint256).max, committeeSize * stake, totalStake)
 * ```
 *
 * so every validator checks its own selection off-chain, and anyone verifies it on-chain in O(1).
 *
 * A round's committees are drawn from its committee pool (`poolSize`, `isInPool`,
 * `committeeBand`, as `Sortition.committeeBand`): a stake-weighted random set of validators
 * sized so that each holds about `poolSeats` seats; a validator outside it skips the round.
 */
import { encodeAbiParameters, hexToBigInt, keccak256, maxUint256, type Address, type Hex } from "viem";
import { PoAIInputError } from "../errors.js";
import { checkAddress, checkUint } from "../validate.js";
import { auditSeed } from "./hashes.js";
import { checkBytes32 } from "./validate.js";

/** The sortition draw of `member` for `seed`: `uint256(keccak256(abi.encode(seed, member)))`. */
export function sortitionDraw(seed: Hex, member: Address): bigint {
  return hexToBigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "address" }],
        [checkBytes32("seed", seed), checkAddress("member", member)],
      ),
    ),
  );
}

/**
 * The threshold a draw must stay below: `floor(2^256-1 · committeeSize · stake / totalStake)`,
 * or `null` when the member is always selected (`committeeSize · stake >= totalStake`) or never
 * (`stake == 0` or `totalStake == 0`; then the threshold is `0n`).
 */
export function sortitionThreshold(
  stake: bigint,
  totalStake: bigint,
  committeeSize: bigint | number,
): bigint | null {
  const s = checkUint("stake", stake);
  const total = checkUint("totalStake", totalStake);
  const size = checkUint("committeeSize", committeeSize);
  if (s === 0n || total === 0n) return 0n;
  const weight = size * s;
  // The contract computes `targetSize * stake` in checked uint256 arithmetic: it would revert.
  if (weight > maxUint256)
    throw new PoAIInputError("stake", stake, "committeeSize * stake to fit in uint256");
  if (weight >= total) return null;
  return (maxUint256 * weight) / total;
}

/**
 * Whether `member` (with `stake` of the validators' `totalStake`) is in the committee drawn from
 * `seed` for an expected `committeeSize` members: `Sortition.isSelected`, bit for bit. For a
 * challenge, `seed` is its audit seed, and both stakes are read at the start of the audit round
 * (`stakeAt(member, round)`, `roleStakeAt(Validator, round)`, the challenge's round).
 */
export function isSelected(
  seed: Hex,
  member: Address,
  stake: bigint,
  totalStake: bigint,
  committeeSize: bigint | number,
): boolean {
  const threshold = sortitionThreshold(stake, totalStake, committeeSize);
  if (threshold === null) return true;
  if (threshold === 0n) return false;
  return sortitionDraw(seed, member) < threshold;
}

/**
 * Sortition bands beyond the first that may top up a short committee: the contract's
 * `TOP_UP_BANDS`. Band `m` of a challenge's commit window opens at `m / (TOP_UP_BANDS + 1)` of it
 * and admits its members only while the bands below hold fewer than `minReveals` members.
 */
export const TOP_UP_BANDS = 6;

/**
 * When band `band` may commit in a commit window `[commitStart, commitEnd)`: the whole window for
 * the first band, from `commitStart + band · (commitEnd - commitStart) / (TOP_UP_BANDS + 1)` for a
 * top-up band, as `ChallengeManager` computes it.
 */
export function bandCommitStart(
  window: { commitStart: bigint; commitEnd: bigint },
  band: bigint | number,
): bigint {
  const m = checkUint("band", band);
  if (m > BigInt(TOP_UP_BANDS)) throw new PoAIInputError("band", band, `a band of 0 to ${TOP_UP_BANDS}`);
  return window.commitStart + (m * (window.commitEnd - window.commitStart)) / BigInt(TOP_UP_BANDS + 1);
}

/**
 * The sortition band of `member`: `Sortition.band`, bit for bit. `0` is the first draw
 * (`isSelected`, `committeeSize` members expected); above its threshold, band `m` is the `m`-th
 * further slice of draws of one expected member (`stake / totalStake` of the draw space), which
 * tops up a committee short of `minReveals` members (see `TOP_UP_BANDS`). `null` for a member
 * with no stake (or no validator stake at all).
 */
export function sortitionBand(
  seed: Hex,
  member: Address,
  stake: bigint,
  totalStake: bigint,
  committeeSize: bigint | number,
): bigint | null {
  const first = sortitionThreshold(stake, totalStake, committeeSize);
  if (first === null) return 0n;
  if (first === 0n) return null;
  const draw = sortitionDraw(seed, member);
  if (draw < first) return 0n;
  return (draw - first) / ((maxUint256 * stake) / totalStake) + 1n;
}

/**
 * The probability of selection, in basis points (rounded down): `min(1, committeeSize · stake / totalStake)`.
 */
export function selectionProbabilityBps(
  stake: bigint,
  totalStake: bigint,
  committeeSize: bigint | number,
): number {
  const threshold = sortitionThreshold(stake, totalStake, committeeSize);
  if (threshold === null) return 10_000;
  return Number((threshold * 10_000n) / maxUint256);
}

/**
 * The size of a round's committee pool, bit for bit as `Sortition.poolSize`:
 * `max(2 · max(committeeSize, minReveals), ceil(committeeSize · challenges / poolSeats))`, so that
 * a pool member holds about `poolSeats` seats and a pool short of `minReveals` members stays
 * rare; `0n` (no pool: every validator serves every round) when `poolSeats` is 0. `challenges` is
 * `submissions(auditRound - 1)`, the results submitted in the round before the audit round.
 */
export function poolSize(
  committeeSize: bigint | number,
  minReveals: bigint | number,
  poolSeats: bigint | number,
  challenges: bigint | number,
): bigint {
  const c = checkUint("committeeSize", committeeSize);
  const m = checkUint("minReveals", minReveals);
  const seats = checkUint("poolSeats", poolSeats);
  const n = checkUint("challenges", challenges);
  if (seats === 0n) return 0n;
  const wanted = (c * n + seats - 1n) / seats;
  const floor = 2n * (c > m ? c : m);
  return wanted > floor ? wanted : floor;
}

/** The seed a round's pool is drawn from: `keccak256(abi.encode(beaconValue))` (`Sortition.poolSeed`). */
export function poolSeed(beaconValue: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }], [checkBytes32("beaconValue", beaconValue)]));
}

/**
 * Whether `member` serves the round whose beacon value is `beaconValue` (its pool of `size`
 * members expected, `poolSize`): always without a pool (`size` 0) or when `size · stake >=
 * totalStake`, else `isSelected(poolSeed(beaconValue), member, stake, totalStake, size)`. A
 * validator outside the pool has no seat in any of the round's committees: one check a round.
 */
export function isInPool(
  beaconValue: Hex,
  member: Address,
  stake: bigint,
  totalStake: bigint,
  size: bigint | number,
): boolean {
  const p = checkUint("size", size);
  if (p === 0n) return true;
  return isSelected(poolSeed(beaconValue), member, stake, totalStake, p);
}

/**
 * `member`'s band in the committee of challenge `id` audited in the round whose beacon value is
 * `beaconValue`, bit for bit as `Sortition.committeeBand`: without a pool (`size` 0) or for a
 * member the pool always holds, `sortitionBand(auditSeed, member, stake, totalStake,
 * committeeSize)` as before pools; otherwise `null` outside the pool, and inside it
 * `sortitionBand(auditSeed, member, 1, size, committeeSize)`: every pool member is drawn alike,
 * `committeeSize / size` for the first band, so that a member's overall chance of a first-band
 * seat stays `committeeSize · stake / totalStake`. `null` also for a member with no stake.
 */
export function committeeBand(
  beaconValue: Hex,
  id: Hex,
  member: Address,
  stake: bigint,
  totalStake: bigint,
  committeeSize: bigint | number,
  size: bigint | number,
): bigint | null {
  const p = checkUint("size", size);
  const seed = auditSeed(checkBytes32("beaconValue", beaconValue), checkBytes32("id", id));
  if (p === 0n || p * checkUint("stake", stake) >= checkUint("totalStake", totalStake))
    return sortitionBand(seed, member, stake, totalStake, committeeSize);
  if (!isSelected(poolSeed(beaconValue), member, stake, totalStake, p)) return null;
  return sortitionBand(seed, member, 1n, p, committeeSize);
}
