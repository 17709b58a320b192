// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRewardCredit
/// @notice What the job contracts call on the RewardDistributor: job payments in the staking token
///         go into operators' pending fees (then their pools: commission, delegators), and a job
///         model's royalties are split between the job owner and the trainer.
interface IRewardCredit {
    /// @notice Pulls `sum(amounts)` staking tokens from the caller and adds `amounts[i]` to the
    ///         pending fees of `operators[i]`.
    function creditFees(address[] calldata operators, uint256[] calldata amounts) external;

    /// @notice Splits the royalties accrued for `account` between `trainer` and `owner` (`ownerBps`).
    function setRoyaltySplit(address account, address trainer, address owner, uint16 ownerBps) external;
}
