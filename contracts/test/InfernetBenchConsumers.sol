// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CallbackConsumer} from "../infernet/consumer/CallbackConsumer.sol";
import {Delegator} from "../infernet/pattern/Delegator.sol";
import {SubscriptionConsumer} from "../infernet/consumer/SubscriptionConsumer.sol";

/// @title BenchCallbackConsumer
/// @notice Test-only minimal consumer of the gas benchmark (as the Infernet anchors' consumers):
///         one request function, a callback that stores bytes32(output) into one slot.
contract BenchCallbackConsumer is CallbackConsumer, Delegator {
    bytes32 public last = bytes32(uint256(1));

    constructor(address coordinator, address signer) CallbackConsumer(coordinator) Delegator(signer) {}

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

/// @title BenchSubscriptionConsumer
/// @notice Test-only minimal recurring consumer of the gas benchmark.
contract BenchSubscriptionConsumer is SubscriptionConsumer {
    bytes32 public last = bytes32(uint256(1));

    constructor(address coordinator) SubscriptionConsumer(coordinator) {}

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
        uint256
    ) internal override {
        last = bytes32(output);
    }
}
