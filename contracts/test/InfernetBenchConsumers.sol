// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CallbackConsumer} from "../infernet/consumer/CallbackConsumer.sol";
import {Delegator} from "../infernet/pattern/Delegator.sol";
import {SubscriptionConsumer} from "../infernet/consumer/SubscriptionConsumer.sol";

// The gas benchmark's minimal consumers (bench/infernet.ts), written as the Infernet anchors' are:
// one request function and a callback that stores one fresh word into an already-nonzero slot. The
// same sources, with Infernet's import paths, are what Infernet v1.1.0 is measured with.

/// @title BenchCallbackConsumer
/// @notice Test-only: one-time requests; the callback stores bytes32(output).
contract BenchCallbackConsumer is CallbackConsumer, Delegator {
    bytes32 public last = bytes32(uint256(1));

    constructor(address registry, address signer) CallbackConsumer(registry) Delegator(signer) {}

    function request(
        bytes calldata inputs,
        address token,
        uint256 amount,
        address wallet
    ) external returns (uint32) {
        return _requestCompute("poai-mlp-8-8-4", inputs, 1, token, amount, wallet, address(0));
    }

    function _receiveCompute(
        uint32,
        uint32,
        uint16,
        address,
        bytes calldata,
        bytes calldata output,
        bytes calldata,
        bytes32,
        uint256
    ) internal override {
        last = bytes32(output);
    }
}

/// @title BenchEmptyConsumer
/// @notice Test-only: one-time requests; the callback does nothing.
contract BenchEmptyConsumer is CallbackConsumer {
    constructor(address registry) CallbackConsumer(registry) {}

    function request(bytes calldata inputs) external returns (uint32) {
        return _requestCompute("poai-mlp-8-8-4", inputs, 1, address(0), 0, address(0), address(0));
    }
}

/// @title BenchSubscriptionConsumer
/// @notice Test-only: recurring subscriptions; the callback stores bytes32(output), or for a lazy
///         delivery a fresh word from the Inbox pointer.
contract BenchSubscriptionConsumer is SubscriptionConsumer {
    bytes32 public last = bytes32(uint256(1));

    constructor(address registry) SubscriptionConsumer(registry) {}

    function subscribe(uint32 frequency, uint32 period, bool lazy) external returns (uint32) {
        return
            _createComputeSubscription(
                "poai-mlp-8-8-4",
                frequency,
                period,
                1,
                lazy,
                address(0),
                0,
                address(0),
                address(0)
            );
    }

    function cancel(uint32 subscriptionId) external {
        _cancelComputeSubscription(subscriptionId);
    }

    function _receiveCompute(
        uint32,
        uint32,
        uint16,
        address,
        bytes calldata,
        bytes calldata output,
        bytes calldata,
        bytes32,
        uint256 index
    ) internal override {
        last = output.length != 0 ? bytes32(output) : bytes32(index + 1);
    }
}
