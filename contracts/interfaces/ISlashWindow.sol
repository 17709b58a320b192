// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISlashWindow
/// @notice Implemented by every contract that may slash stake for an offence some time after it
///         was committed (the ChallengeManager's challenge windows, the PoAIVerifier's dispute
///         window, the dispute game's windows). Staking refuses an `unbondingPeriod` that does not
///         outlast every registered source's window, and each source refuses a window change that
///         would outlast Staking's `unbondingPeriod`, so stake can never unbond out of reach of a
///         slash that is still possible.
interface ISlashWindow {
    /// @notice The longest time, in seconds, from the start of the epoch in which an offence is
    ///         committed to the last moment this contract can still slash for it, at the current
    ///         parameters.
    function slashWindow() external view returns (uint256);
}
