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
 */
import { encodeAbiParameters, hexToBigInt, keccak256, maxUint256, type Address, type Hex } from "viem";
import { PoAIInputError } from "../errors.js";
import { checkAddress, checkUint } from "../validate.js";
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
