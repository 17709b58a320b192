// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Subscription} from "./Types.sol";
import {Coordinator} from "./Coordinator.sol";

/// @title Reader
/// @notice Batch reads for off-chain nodes (Ritual Infernet SDK v1.1.0's `Reader`), plus the
///         PoAI escrow each subscription holds. Reads only; no validation of the ranges asked.
contract Reader {
    Coordinator public immutable coordinator;

    error InvalidRange(uint32 startId, uint32 endId);
    error ArrayLengthMismatch(uint256 ids, uint256 intervals);

    constructor(Coordinator coordinator_) {
        coordinator = coordinator_;
    }

    /// @notice Subscriptions `startId` (inclusive) to `endId` (exclusive); missing ones read as zero.
    function readSubscriptionBatch(
        uint32 startId,
        uint32 endId
    ) external view returns (Subscription[] memory subs) {
        if (endId < startId) revert InvalidRange(startId, endId);
        subs = new Subscription[](endId - startId);
        for (uint32 i = startId; i < endId; ++i) subs[i - startId] = coordinator.getSubscription(i);
    }

    /// @notice Deliveries counted for each (`ids[i]`, `intervals[i]`).
    function readRedundancyCountBatch(
        uint32[] calldata ids,
        uint32[] calldata intervals
    ) external view returns (uint16[] memory counts) {
        if (ids.length != intervals.length) revert ArrayLengthMismatch(ids.length, intervals.length);
        counts = new uint16[](ids.length);
        for (uint256 i; i < ids.length; ++i) counts[i] = coordinator.redundancyCount(ids[i], intervals[i]);
    }

    /// @notice Whether `node` responded for each (`ids[i]`, `intervals[i]`).
    function readNodeRespondedBatch(
        uint32[] calldata ids,
        uint32[] calldata intervals,
        address node
    ) external view returns (bool[] memory responded) {
        if (ids.length != intervals.length) revert ArrayLengthMismatch(ids.length, intervals.length);
        responded = new bool[](ids.length);
        for (uint256 i; i < ids.length; ++i)
            responded[i] = coordinator.nodeResponded(ids[i], intervals[i], node);
    }

    /// @notice The escrow each subscription holds for its next deliveries.
    function readEscrowBatch(uint32[] calldata ids) external view returns (uint256[] memory escrows) {
        escrows = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) escrows[i] = coordinator.escrowOf(ids[i]);
    }
}
