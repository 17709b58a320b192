// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {SubscriptionConsumer} from "../infernet/consumer/SubscriptionConsumer.sol";

/// @title RecurringPredictor
/// @notice Example dApp: a recurring subscription that asks a model for a prediction every
///         `period` seconds, `frequency` times. Each interval's input is derived on-chain from the
///         interval number and the latest stored feature (`getContainerInputs`); each interval's
///         first output is kept. The owner starts and cancels the subscription.
contract RecurringPredictor is SubscriptionConsumer, Ownable {
    string public model;
    uint32 public subscriptionId;
    int256 public feature; // what the model is asked about, set by the owner (e.g. a price)
    mapping(uint32 interval => bytes) public predictions;
    uint32 public lastInterval;

    event Started(uint32 indexed subscriptionId, uint32 frequency, uint32 period);
    event Stopped(uint32 indexed subscriptionId);
    event Predicted(uint32 indexed interval, address indexed node, bytes output);
    event FeatureUpdated(int256 feature);

    error AlreadyStarted(uint32 subscriptionId);
    error NotStarted();

    constructor(
        address coordinator,
        string memory model_,
        address owner_
    ) SubscriptionConsumer(coordinator) Ownable(owner_) {
        model = model_;
    }

    function setFeature(int256 feature_) external onlyOwner {
        feature = feature_;
        emit FeatureUpdated(feature_);
    }

    /// @notice Starts the subscription (payment per delivery from `wallet`; amount 0: free).
    function start(
        uint32 frequency,
        uint32 period,
        address token,
        uint256 amount,
        address wallet,
        address verifier
    ) external onlyOwner {
        if (subscriptionId != 0) revert AlreadyStarted(subscriptionId);
        subscriptionId = _createComputeSubscription(
            model,
            frequency,
            period,
            1,
            false,
            token,
            amount,
            wallet,
            verifier
        );
        emit Started(subscriptionId, frequency, period);
    }

    /// @notice Cancels the subscription; its escrow returns to this contract's wallet allowance.
    function stop() external onlyOwner {
        uint32 id_ = subscriptionId;
        if (id_ == 0) revert NotStarted();
        subscriptionId = 0;
        _cancelComputeSubscription(id_);
        emit Stopped(id_);
    }

    /// @notice Each interval's input: (interval, feature).
    function getContainerInputs(
        uint32,
        uint32 interval,
        uint32,
        address
    ) external view override returns (bytes memory) {
        return abi.encode(interval, feature);
    }

    function _receiveCompute(
        uint32,
        uint32 interval,
        uint16,
        address node,
        bytes calldata,
        bytes calldata output,
        bytes calldata,
        bytes32,
        uint256
    ) internal override {
        if (predictions[interval].length != 0) return;
        predictions[interval] = output;
        lastInterval = interval;
        emit Predicted(interval, node, output);
    }
}
