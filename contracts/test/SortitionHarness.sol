// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Sortition} from "../libraries/Sortition.sol";

/// @notice Exposes the committee pool's draw (`Sortition.poolSize`, `Sortition.committeeBand`) so
///         that tests compare it with the SDK's mirror bit for bit.
contract SortitionHarness {
    function poolSize(
        uint256 committeeSize,
        uint256 minReveals,
        uint256 poolSeats,
        uint256 challenges
    ) external pure returns (uint256) {
        return Sortition.poolSize(committeeSize, minReveals, poolSeats, challenges);
    }

    function committeeBand(
        bytes32 value,
        bytes32 id,
        address member,
        uint256 stake,
        uint256 totalStake,
        uint256 committeeSize,
        uint256 size
    ) external pure returns (uint256) {
        return Sortition.committeeBand(value, id, member, stake, totalStake, committeeSize, size);
    }
}
