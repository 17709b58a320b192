// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Subscription} from "../Types.sol";
import {Registry} from "../Registry.sol";

/// @notice The coordinator reads the Reader makes.
interface ICoordinatorReads {
    function getSubscription(uint32 subscriptionId) external view returns (Subscription memory);
    function redundancyCount(bytes32 key) external view returns (uint16);
    function nodeResponded(bytes32 key) external view returns (bool);
    function escrowOf(uint32 subscriptionId) external view returns (uint256);
}

/// @title Reader
/// @notice Batch reads for off-chain nodes (Ritual Infernet SDK v1.1.0's `Reader`, same functions),
///         plus whether a node responded and the PoAI escrow of each subscription. Reads only.
contract Reader {
    ICoordinatorReads private immutable _coordinator;

    error InvalidRange(uint32 startId, uint32 endId);
    error ArrayLengthMismatch(uint256 ids, uint256 intervals);

    /// @param registry the marketplace's registry
    constructor(Registry registry) {
        _coordinator = ICoordinatorReads(registry.COORDINATOR());
    }

    /// @notice Subscriptions `startId` (inclusive) to `endId` (exclusive); missing ones read as zero.
    function readSubscriptionBatch(
        uint32 startId,
        uint32 endId
    ) external view returns (Subscription[] memory subs) {
        if (endId < startId) revert InvalidRange(startId, endId);
        subs = new Subscription[](endId - startId);
        for (uint32 i = startId; i < endId; ++i) subs[i - startId] = _coordinator.getSubscription(i);
    }

    /// @notice Deliveries counted for each (`ids[i]`, `intervals[i]`).
    function readRedundancyCountBatch(
        uint32[] calldata ids,
        uint32[] calldata intervals
    ) external view returns (uint16[] memory counts) {
        if (ids.length != intervals.length) revert ArrayLengthMismatch(ids.length, intervals.length);
        counts = new uint16[](ids.length);
        for (uint256 i; i < ids.length; ++i)
            counts[i] = _coordinator.redundancyCount(keccak256(abi.encode(ids[i], intervals[i])));
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
            responded[i] = _coordinator.nodeResponded(keccak256(abi.encode(ids[i], intervals[i], node)));
    }

    /// @notice The escrow each subscription holds for its next deliveries.
    function readEscrowBatch(uint32[] calldata ids) external view returns (uint256[] memory escrows) {
        escrows = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) escrows[i] = _coordinator.escrowOf(ids[i]);
    }
}
