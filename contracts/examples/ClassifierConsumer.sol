// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {CallbackConsumer} from "../infernet/consumer/CallbackConsumer.sol";

/// @title ClassifierConsumer
/// @notice Example dApp: asks a PoAI-trained model (container `model`) to classify an input and
///         stores the answer. Each `classify` is a one-time request paid from `wallet` (this
///         contract must be an approved spender there); the first delivered output is the answer
///         (an ABI-encoded `uint256` class, as the PoAI built-in container returns it).
contract ClassifierConsumer is CallbackConsumer, Ownable {
    struct Payment {
        address token;
        uint256 amount;
        address wallet;
        address verifier;
    }

    struct Answer {
        bool answered;
        uint256 label;
        address node;
    }

    string public model;
    Payment public payment;
    mapping(uint32 subscriptionId => Answer) public answers;
    mapping(uint32 subscriptionId => address) public requester;

    event ClassificationRequested(uint32 indexed subscriptionId, address indexed requester, bytes input);
    event Classified(uint32 indexed subscriptionId, uint256 label, address indexed node);
    event PaymentUpdated(address token, uint256 amount, address wallet, address verifier);

    constructor(
        address coordinator,
        string memory model_,
        address owner_
    ) CallbackConsumer(coordinator) Ownable(owner_) {
        model = model_;
    }

    /// @notice Sets how each request pays (amount 0: free requests).
    function setPayment(address token, uint256 amount, address wallet, address verifier) external onlyOwner {
        payment = Payment(token, amount, wallet, verifier);
        emit PaymentUpdated(token, amount, wallet, verifier);
    }

    /// @notice Requests the classification of `input` (the model's input vector, ABI-encoded).
    function classify(bytes calldata input) external returns (uint32 subscriptionId) {
        Payment memory p = payment;
        subscriptionId = _requestCompute(model, input, 1, p.token, p.amount, p.wallet, p.verifier);
        requester[subscriptionId] = msg.sender;
        emit ClassificationRequested(subscriptionId, msg.sender, input);
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32,
        uint16,
        address node,
        bytes calldata,
        bytes calldata output,
        bytes calldata,
        bytes32,
        uint256
    ) internal override {
        if (answers[subscriptionId].answered || output.length < 32) return;
        uint256 label = abi.decode(output, (uint256));
        answers[subscriptionId] = Answer({answered: true, label: label, node: node});
        emit Classified(subscriptionId, label, node);
    }
}
