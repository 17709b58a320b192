// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRewardDistributor
/// @notice What Staking (and the inference coordinator) call on the reward distributor.
interface IRewardDistributor {
    /// @notice Closes up to `maxEpochs` epochs whose points are final, oldest first, funding each
    ///         in Staking; never reverts when none is due. Permissionless.
    /// @return nextCloseAt when the next epoch to close has final points
    function closeDue(uint256 maxEpochs) external returns (uint256 nextCloseAt);

    /// @notice A usage fee (pulled from the caller, the coordinator): the delivering node's fee and
    ///         the model's royalty go to their pools for the current epoch, the rest to the protocol.
    function notifyUsage(address node, address modelTrainer, uint256 amount) external;

    /// @notice The Staking contract it funds.
    function staking() external view returns (address);

    /// @notice The ChallengeManager whose epoch points split each role's budget.
    function challenges() external view returns (address);

    /// @notice The first epoch it closes.
    function firstEpoch() external view returns (uint256);
}
