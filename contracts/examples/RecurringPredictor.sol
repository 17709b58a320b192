// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {SubscriptionConsumer} from "../infernet/consumer/SubscriptionConsumer.sol";

/// @title RecurringPredictor
/// @notice Example dApp: a recurring subscription that asks a model for a prediction every
///         `period` seconds, `frequency` times. Each interval's input is derived on-chain from the
///         interval number and the latest features set by the owner (`getContainerInputs`): the
///         int8 feature vector rotated left by `interval mod length` bytes, so a PoAI model (whose
///         input is that vector, one byte per input) sees a new input each interval and the
///         PoAIVerifier can bind each delivery to it. Each interval's first output is kept.
///
///         Access control: only the owner starts, stops (its wallet pays every interval) and sets
///         the features (they decide what is asked); only the coordinator delivers predictions.
contract RecurringPredictor is SubscriptionConsumer, Ownable {
    string public model;
    uint32 public subscriptionId;
    bytes public features; // what the model is asked about: its int8 input vector, set by the owner
    mapping(uint32 interval => bytes) public predictions;
    uint32 public lastInterval;

    event Started(uint32 indexed subscriptionId, uint32 frequency, uint32 period);
    event Stopped(uint32 indexed subscriptionId);
    event Predicted(uint32 indexed interval, address indexed node, bytes output);
    event FeaturesUpdated(bytes features);

    error AlreadyStarted(uint32 subscriptionId);
    error NotStarted();

    /// @param registry the marketplace's `Registry`
    /// @param model_ the container id of the model asked
    /// @param owner_ starts, stops and feeds the subscription
    constructor(
        address registry,
        string memory model_,
        address owner_
    ) SubscriptionConsumer(registry) Ownable(owner_) {
        model = model_;
    }

    /// @notice Sets the feature vector later intervals are computed on (one int8 byte per input).
    function setFeatures(bytes calldata features_) external onlyOwner {
        features = features_;
        emit FeaturesUpdated(features_);
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

    /// @notice Each interval's input: `features` rotated left by `interval mod features.length`.
    function getContainerInputs(
        uint32,
        uint32 interval,
        uint32,
        address
    ) external view override returns (bytes memory input) {
        bytes memory f = features;
        uint256 n = f.length;
        input = new bytes(n);
        if (n == 0) return input;
        uint256 shift = interval % n;
        for (uint256 i = 0; i < n; ++i) input[i] = f[(i + shift) % n];
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
