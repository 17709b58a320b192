// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {CallbackConsumer} from "../infernet/consumer/CallbackConsumer.sol";

/// @title ClassifierConsumer
/// @notice Example dApp: asks a PoAI-trained model (container `model`) to classify an input and
///         stores the answer. Each `classify` is a one-time request paid from `wallet` (this
///         contract must be an approved spender there); the first delivered output is the answer.
///
///         Access control, as a production dApp needs it: every request spends the dApp's wallet,
///         so only the owner and the requesters it allows (`setRequester`) may `classify`; only the
///         owner sets the payment. Anyone else is refused (`NotRequester`), and only the
///         coordinator delivers answers (`BaseConsumer.NotCoordinator`).
///
///         Formats (the PoAIVerifier's, so a delivery can be disputed and recomputed exactly): the
///         input is the model's int8 input vector, one byte per input (`encodeInferenceInput`);
///         the output is the label as a big-endian uint32, then one int8 score per class
///         (`encodeInferenceOutput`, `IntegerMLP.encodeOutput`), as the PoAI built-in container
///         returns it.
contract ClassifierConsumer is CallbackConsumer, Ownable {
    struct Payment {
        address token;
        uint256 amount;
        address wallet;
        address verifier;
    }

    struct Answer {
        bool answered;
        uint32 label;
        address node;
    }

    /// @notice Bytes of the label prefix of an output; one int8 score per class follows.
    uint256 public constant OUTPUT_LABEL_BYTES = 4;

    string public model;
    Payment public payment;
    mapping(uint32 subscriptionId => Answer) public answers;
    mapping(uint32 subscriptionId => address) public requester;
    /// @notice Accounts the owner allows to spend the dApp's wallet with `classify`.
    mapping(address account => bool) public isRequester;

    event ClassificationRequested(uint32 indexed subscriptionId, address indexed requester, bytes input);
    event Classified(uint32 indexed subscriptionId, uint32 label, address indexed node, bytes output);
    event PaymentUpdated(address token, uint256 amount, address wallet, address verifier);
    event RequesterUpdated(address indexed account, bool allowed);

    error NotRequester(address caller);

    /// @param registry the marketplace's `Registry`
    /// @param model_ the container id of the model asked
    /// @param owner_ sets the payment and the requesters; may request itself
    constructor(
        address registry,
        string memory model_,
        address owner_
    ) CallbackConsumer(registry) Ownable(owner_) {
        model = model_;
    }

    /// @notice Allows (or stops) `account` to request classifications paid by the dApp.
    function setRequester(address account, bool allowed) external onlyOwner {
        isRequester[account] = allowed;
        emit RequesterUpdated(account, allowed);
    }

    /// @notice Sets how each request pays (amount 0: free requests).
    function setPayment(address token, uint256 amount, address wallet, address verifier) external onlyOwner {
        payment = Payment(token, amount, wallet, verifier);
        emit PaymentUpdated(token, amount, wallet, verifier);
    }

    /// @notice Requests the classification of `input` (the model's int8 input vector, one byte each).
    ///         The owner or an allowed requester only.
    function classify(bytes calldata input) external returns (uint32 subscriptionId) {
        if (msg.sender != owner() && !isRequester[msg.sender]) revert NotRequester(msg.sender);
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
        // An output too short to hold a label and two scores is no answer (a later one may be).
        if (answers[subscriptionId].answered || output.length < OUTPUT_LABEL_BYTES + 2) return;
        uint32 label = uint32(bytes4(output[:OUTPUT_LABEL_BYTES]));
        answers[subscriptionId] = Answer({answered: true, label: label, node: node});
        emit Classified(subscriptionId, label, node, output);
    }
}
