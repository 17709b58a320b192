// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "./IChallengeManager.sol";

/// @title IJobBoard
/// @notice What the ChallengeManager asks of the job registry: a trainer assigned to a paid job in a
///         round trains the job's spec as its challenge of that round (same seed, committee, verdicts
///         and slashes as any challenge), and the registry hears the judgment of every such run.
interface IJobBoard {
    /// @notice The spec of the job `trainer` is assigned to run in `round`, or 0 when it has none
    ///         (then its challenge trains the round's governance spec).
    function jobSpecOf(address trainer, uint256 round) external view returns (bytes32 specId);

    /// @notice Called by the ChallengeManager when it finalizes the challenge `challengeId` of
    ///         `trainer`'s job run in `round`, with its status and the committee's stake-weighted
    ///         median accuracy, and once more when a dispute game overrules that verdict (the
    ///         proven status; `ChallengeManager.overrule`). Must not revert for a call from the
    ///         ChallengeManager.
    function onRunFinalized(
        bytes32 challengeId,
        address trainer,
        uint256 round,
        IChallengeManager.Status status,
        uint16 medianScoreBps
    ) external;
}
