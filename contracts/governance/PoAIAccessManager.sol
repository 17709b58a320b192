// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title PoAIAccessManager
/// @notice OpenZeppelin's AccessManager, the single authority of every PoAI contract: it maps each
///         guarded function (slash, notifyReward, setParams, …) to a role and each role to accounts
///         or contracts (the ChallengeManager slashes, the RewardDistributor rewards, governance
///         sets parameters), with optional execution delays. A deployment by `poai deploy` hands
///         ADMIN and GOVERNOR to the `PoAITimelock` and sets a grant delay on SLASHER and an admin
///         delay on Staking longer than the unbonding period (the stake guard).
/// @dev Two changes to OpenZeppelin's rules for delay updates (`setGrantDelay`,
///      `setTargetAdminDelay`):
///      - lengthening a delay takes effect at once (`minSetback` is 0), so the stake guard set at
///        deployment protects from the first block; shortening one still takes effect only after
///        the difference (AccessManager's rule), so a guard can never be lifted faster than it
///        protects;
///      - no such delay exceeds `MAX_DELAY`, so a mistaken increase can always be undone.
///      Invariants pinned by `test/scripts/governance.test.ts`.
contract PoAIAccessManager is AccessManager {
    /// @notice The longest grant delay or target admin delay: 365 days.
    uint32 public constant MAX_DELAY = 365 days;

    /// @notice A grant or target admin delay above `MAX_DELAY`.
    error DelayTooLong(uint32 delay, uint32 maxDelay);

    constructor(address initialAdmin) AccessManager(initialAdmin) {}

    /// @notice Lengthening a delay takes effect at once; shortening one waits for the difference.
    /// @return Always 0.
    function minSetback() public pure override returns (uint32) {
        return 0;
    }

    /// @inheritdoc AccessManager
    function setGrantDelay(uint64 roleId, uint32 newDelay) public override {
        if (newDelay > MAX_DELAY) revert DelayTooLong(newDelay, MAX_DELAY);
        super.setGrantDelay(roleId, newDelay);
    }

    /// @inheritdoc AccessManager
    function setTargetAdminDelay(address target, uint32 newDelay) public override {
        if (newDelay > MAX_DELAY) revert DelayTooLong(newDelay, MAX_DELAY);
        super.setTargetAdminDelay(target, newDelay);
    }
}
