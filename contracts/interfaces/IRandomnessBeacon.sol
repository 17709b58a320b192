// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRandomnessBeacon
/// @notice One unpredictable value per round. The challenge manager only depends on this
///         interface, so a VRF adapter can replace the RANDAO-style beacon.
interface IRandomnessBeacon {
    /// @notice The value of `round`; reverts while it is not determined yet.
    function valueOf(uint256 round) external view returns (bytes32);

    /// @notice Like `valueOf`, but first fixes the value of a round that had no contribution.
    function seal(uint256 round) external returns (bytes32);

    /// @notice Whether `valueOf(round)` answers (possibly after `seal`).
    function isReady(uint256 round) external view returns (bool);

    /// @notice When contributions to `round` stop being committed (reveals start).
    function commitDeadline(uint256 round) external view returns (uint256);

    /// @notice Whether `validator` committed to `round`, and whether it revealed.
    function contributionOf(
        uint256 round,
        address validator
    ) external view returns (bool committed, bool revealed);
}
