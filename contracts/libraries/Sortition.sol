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
}
