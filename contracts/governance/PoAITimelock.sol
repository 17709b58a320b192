// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title PoAITimelock
/// @notice OpenZeppelin's TimelockController, the governance of a PoAI deployment: it holds the
///         `PoAIAccessManager`'s ADMIN and GOVERNOR roles, so every parameter setter, spec
///         registration and role change is scheduled in public (`CallScheduled`) and runs at least
///         `MIN_DELAY` later. Its proposers (a multisig or a governor contract) schedule and cancel;
///         its executors (anyone, by default) execute once the delay has passed. It administers
///         itself (no admin account).
/// @dev Invariant: `getMinDelay() >= MIN_DELAY` at all times, at deployment and after any
///      `updateDelay` (which itself goes through the timelock). Pinned by
///      `test/scripts/governance.test.ts`.
contract PoAITimelock is TimelockController {
    /// @notice The shortest delay any operation of the timelock can have: 2 days.
    uint256 public constant MIN_DELAY = 2 days;

    /// @notice A delay below `MIN_DELAY`.
    error DelayTooShort(uint256 delay, uint256 minDelay);

    /// @param minDelay Seconds between scheduling and executing an operation (at least `MIN_DELAY`).
    /// @param proposers Who may schedule (and cancel) operations.
    /// @param executors Who may execute them once ready; `address(0)` means anyone.
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors
    ) TimelockController(minDelay, proposers, executors, address(0)) {
        if (minDelay < MIN_DELAY) revert DelayTooShort(minDelay, MIN_DELAY);
    }

    /// @notice Changes the delay; callable only by the timelock itself (a scheduled operation).
    /// @param newDelay The new delay, at least `MIN_DELAY`.
    function updateDelay(uint256 newDelay) public override {
        if (msg.sender != address(this)) revert TimelockUnauthorizedCaller(msg.sender);
        if (newDelay < MIN_DELAY) revert DelayTooShort(newDelay, MIN_DELAY);
        super.updateDelay(newDelay);
    }
}
