// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IScoreGame
/// @notice What the JobRegistry asks of the score game (docs/disputes.md, "Score games"): how long
///         after a run is judged its reported accuracy may be disputed, and whether a dispute is
///         in progress or has proven it false.
interface IScoreGame {
    /// @notice Seconds after a job run is judged (`RunRecord.judgedAt`) during which a game may be
    ///         opened on its reported accuracy.
    function openWindow() external view returns (uint256);

    /// @notice The games on challenge `challengeId`'s reported accuracy still unresolved, and
    ///         whether one of them proved it false.
    function standing(bytes32 challengeId) external view returns (uint32 pending, bool disproven);
}
