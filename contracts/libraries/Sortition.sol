// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Sortition
/// @notice Stake-weighted self-selection that anyone verifies in O(1): a member with `stake` of
///         `totalStake` is selected with probability `min(1, targetSize * stake / totalStake)`,
///         independently of every other member, from `keccak256(abi.encode(seed, member))`.
///         The expected committee size is `targetSize` (less when some member is capped at 1).
library Sortition {
    function isSelected(
        bytes32 seed,
        address member,
        uint256 stake,
        uint256 totalStake,
        uint256 targetSize
    ) internal pure returns (bool) {
        if (stake == 0 || totalStake == 0) return false;
        uint256 weight = targetSize * stake;
        if (weight >= totalStake) return true;
        uint256 draw = uint256(keccak256(abi.encode(seed, member)));
        return draw < Math.mulDiv(type(uint256).max, weight, totalStake);
    }

    /// @notice The band of `member`'s draw: 0 when `isSelected` (`targetSize` members expected);
    ///         above the selection threshold, band `m` holds the next `m`-th slice of draws of one
    ///         expected member (`stake / totalStake` of the draw space), stake-weighted and
    ///         independent like the first: the members the challenge manager admits, band after
    ///         band, while the bands below stay short of `minReveals`. `type(uint256).max` for a
    ///         member with no stake.
    function band(
        bytes32 seed,
        address member,
        uint256 stake,
        uint256 totalStake,
        uint256 targetSize
    ) internal pure returns (uint256) {
        if (stake == 0 || totalStake == 0) return type(uint256).max;
        uint256 weight = targetSize * stake;
        if (weight >= totalStake) return 0;
        uint256 first = Math.mulDiv(type(uint256).max, weight, totalStake);
        uint256 draw = uint256(keccak256(abi.encode(seed, member)));
        if (draw < first) return 0;
        // stake >= 1 and stake < totalStake, so a slice is at least 2^256 / totalStake > 0
        return (draw - first) / Math.mulDiv(type(uint256).max, stake, totalStake) + 1;
    }

    /// @notice The size of a round's committee pool: `committeeSize * challenges / poolSeats`
    ///         rounded up (so that a pool member holds about `poolSeats` seats), never below
    ///         `2 * max(committeeSize, minReveals)` (so that a pool short of `minReveals` members,
    ///         whose committees cannot decide, stays rare); 0 (no pool: every validator serves)
    ///         when `poolSeats` is 0. `challenges` is the number of results submitted in the round
    ///         before the audit round, final before anyone can know the beacon value that draws
    ///         the pool.
    function poolSize(
        uint256 committeeSize,
        uint256 minReveals,
        uint256 poolSeats,
        uint256 challenges
    ) internal pure returns (uint256) {
        if (poolSeats == 0) return 0;
        return
            Math.max(
                2 * Math.max(committeeSize, minReveals),
                Math.ceilDiv(committeeSize * challenges, poolSeats)
            );
    }

    /// @notice The seed a round's committee pool is drawn from: `keccak256(abi.encode(value))`,
    ///         `value` the audit round's beacon value (a one-word encoding, never an audit seed's).
    function poolSeed(bytes32 value) internal pure returns (bytes32) {
        return keccak256(abi.encode(value));
    }

    /// @notice `member`'s band in the committee of challenge `id` audited in a round whose beacon
    ///         value is `value` and whose pool holds `size` members expected (`poolSize`).
    ///         Without a pool (`size` 0), or for a member the pool always holds
    ///         (`size * stake >= totalStake`), it is `band(seed, ...)` with `committeeSize` members
    ///         expected, as before pools. Otherwise the member must be drawn into the pool
    ///         (`isSelected(poolSeed(value), member, stake, totalStake, size)`, else
    ///         `type(uint256).max`), and inside it every member is drawn alike:
    ///         `band(seed, member, 1, size, committeeSize)`, probability `committeeSize / size` for
    ///         the first band and a slice of `1 / size` (one expected pool member) per top-up band.
    ///         A member's overall chance of a first-band seat stays `committeeSize * stake / totalStake`
    ///         (the pool draw times the draw inside the pool). `seed` is the audit seed,
    ///         `keccak256(abi.encode(value, id))`.
    function committeeBand(
        bytes32 value,
        bytes32 id,
        address member,
        uint256 stake,
        uint256 totalStake,
        uint256 committeeSize,
        uint256 size
    ) internal pure returns (uint256) {
        bytes32 seed = keccak256(abi.encode(value, id));
        if (size == 0 || size * stake >= totalStake)
            return band(seed, member, stake, totalStake, committeeSize);
        if (!isSelected(poolSeed(value), member, stake, totalStake, size)) return type(uint256).max;
        return band(seed, member, 1, size, committeeSize);
    }
}
