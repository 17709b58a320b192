// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Coordinator} from "../Coordinator.sol";
import {Inbox} from "../Inbox.sol";

/// @title BaseConsumer
/// @notice Receives compute responses from the coordinator (Ritual Infernet SDK v1.1.0's
///         `BaseConsumer`, same hooks): `rawReceiveCompute` accepts calls from the coordinator only
///         and forwards them to `_receiveCompute`. Porting an Infernet consumer: change the imports
///         and pass the PoAI coordinator's address (Infernet passed its registry's).
///         The coordinator gives the callback `Coordinator.callbackGasLimit()` gas; a callback that
///         reverts or runs out of gas loses that response (the node is still paid).
abstract contract BaseConsumer {
    /// @notice The coordinator that delivers responses.
    Coordinator internal immutable COORDINATOR;
    /// @notice Where lazy subscriptions' responses are stored.
    Inbox internal immutable INBOX;

    error NotCoordinator(address caller);

    /// @param coordinator the PoAI coordinator (`Coordinator` or `EIP712Coordinator`)
    constructor(address coordinator) {
        COORDINATOR = Coordinator(coordinator);
        INBOX = Coordinator(coordinator).inbox();
    }

    /// @notice Called by the coordinator with a node's response. Eager subscriptions carry
    ///         `input`, `output` and `proof`; lazy ones carry empty bytes and the Inbox pointer
    ///         (`containerId`, `index`: `INBOX.read(containerId, node, index)`).
    /// @param redundancy how many nodes have delivered for this interval, this one included
    function rawReceiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) external {
        if (msg.sender != address(COORDINATOR)) revert NotCoordinator(msg.sender);
        _receiveCompute(subscriptionId, interval, redundancy, node, input, output, proof, containerId, index);
    }

    /// @notice The inputs off-chain nodes fetch for (`subscriptionId`, `interval`) before computing.
    function getContainerInputs(
        uint32 subscriptionId,
        uint32 interval,
        uint32 timestamp,
        address caller
    ) external view virtual returns (bytes memory) {}

    /// @notice Override to consume responses (same parameters as `rawReceiveCompute`).
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal virtual {}
}
