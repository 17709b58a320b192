// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Coordinator} from "../Coordinator.sol";
import {Inbox} from "../Inbox.sol";
import {Registry} from "../Registry.sol";

/// @title BaseConsumer
/// @notice Receives compute responses from the coordinator (Ritual Infernet SDK v1.1.0's
///         `BaseConsumer`, same constructor, hooks and error): `rawReceiveCompute` accepts calls
///         from the coordinator only and forwards them to `_receiveCompute`. Porting an Infernet
///         consumer: change the imports; it is deployed with the marketplace's `Registry` address,
///         as in Infernet. A `_receiveCompute` that reverts refuses the delivery (the node is not
///         paid and the interval keeps its slot), as in Infernet: that is how a consumer refuses a
///         node or an output.
abstract contract BaseConsumer {
    /// @notice The coordinator that delivers responses.
    Coordinator internal immutable COORDINATOR;
    /// @notice Where lazy subscriptions' responses are stored.
    Inbox internal immutable INBOX;

    /// @notice The caller is not the coordinator (Infernet's error, no arguments).
    error NotCoordinator();

    /// @param registry the marketplace's `Registry` (names the coordinator and the Inbox)
    constructor(address registry) {
        COORDINATOR = Coordinator(payable(Registry(registry).COORDINATOR()));
        INBOX = Inbox(Registry(registry).INBOX());
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
        if (msg.sender != address(COORDINATOR)) revert NotCoordinator();
        _receiveCompute(subscriptionId, interval, redundancy, node, input, output, proof, containerId, index);
    }

    /// @notice The inputs off-chain nodes fetch for (`subscriptionId`, `interval`) before computing.
    function getContainerInputs(
        uint32 subscriptionId,
        uint32 interval,
        uint32 timestamp,
        address caller
    ) external view virtual returns (bytes memory) {}

    /// @notice Override to consume responses (same parameters as `rawReceiveCompute`); revert to
    ///         refuse the delivery.
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
