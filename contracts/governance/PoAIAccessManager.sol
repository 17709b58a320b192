// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title PoAIAccessManager
/// @notice OpenZeppelin's AccessManager, the single authority of every PoAI contract: it maps each
///         guarded function (slash, notifyReward, setParams, …) to a role and each role to accounts
///         or contracts (the ChallengeManager slashes, the RewardDistributor rewards, governance
///         sets parameters), with optional execution delays.
contract PoAIAccessManager is AccessManager {
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}
