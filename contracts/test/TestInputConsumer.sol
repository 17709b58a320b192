// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TestInputConsumer
/// @notice Test-only consumer: `getContainerInputs` (Infernet v1.1.0's signature) returns the input
///         stored for the subscription, which the test may change at any time.
contract TestInputConsumer {
    mapping(uint32 => bytes) public inputs;

    function setInputs(uint32 subscriptionId, bytes calldata data) external {
        inputs[subscriptionId] = data;
    }

    function getContainerInputs(
        uint32 subscriptionId,
        uint32,
        uint32,
        address
    ) external view returns (bytes memory) {
        return inputs[subscriptionId];
    }
}
