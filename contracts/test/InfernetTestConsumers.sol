// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BaseConsumer} from "../infernet/consumer/BaseConsumer.sol";
import {CallbackConsumer} from "../infernet/consumer/CallbackConsumer.sol";
import {SubscriptionConsumer} from "../infernet/consumer/SubscriptionConsumer.sol";
import {Delegator} from "../infernet/pattern/Delegator.sol";
import {SubscriptionOptions} from "../infernet/Types.sol";
import {Allowlist} from "../infernet/pattern/Allowlist.sol";
import {InboxItem} from "../infernet/Inbox.sol";

/// @title TestConsumerLogic
/// @notice Test-only consumer behaviour shared by the callback and subscription test consumers:
///         stores what it receives, or misbehaves on purpose (reverts, burns all its gas, re-enters
///         a target, opens a new request from inside the callback).
// solhint-disable-next-line max-states-count
abstract contract TestConsumerLogic is BaseConsumer {
    enum Mode {
        Store,
        Revert,
        BurnGas,
        Call,
        Request,
        Heavy
    }

    error Refused(uint32 subscriptionId);

    Mode public mode;
    address public callTarget;
    bytes public callData;
    bool public lastCallOk;
    bytes public lastCallReturn;
    uint32 public requestedInCallback;
    /// Heavy mode: fresh storage slots each callback writes (about 22,100 gas each).
    uint256 public heavySlots;
    uint256 private _heavyCursor;
    mapping(uint256 => uint256) private _heavy;

    bool public record;
    uint256 public received;
    uint32 public lastSubscriptionId;
    uint32 public lastInterval;
    uint16 public lastRedundancy;
    address public lastNode;
    bytes public lastInput;
    bytes32 public lastOutputWord; // bytes32(output), one SSTORE as the Infernet anchors' consumers
    bytes public lastProof;
    bytes32 public lastContainerId;
    uint256 public lastIndex;

    function setRecord(bool record_) external {
        record = record_;
    }

    function setHeavy(uint256 slots) external {
        mode = Mode.Heavy;
        heavySlots = slots;
    }

    function setMode(Mode mode_, address target, bytes calldata data) external {
        mode = mode_;
        callTarget = target;
        callData = data;
    }

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
    ) internal virtual override {
        Mode m = mode;
        if (m == Mode.Revert) revert Refused(subscriptionId);
        if (m == Mode.BurnGas) {
            uint256 x;
            while (true) x = uint256(keccak256(abi.encode(x)));
        }
        if (m == Mode.Heavy) {
            uint256 cursor = _heavyCursor;
            for (uint256 i; i < heavySlots; ++i) _heavy[cursor + i] = i + 1;
            _heavyCursor = cursor + heavySlots;
        }
        if (m == Mode.Call) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = callTarget.call(callData);
            lastCallOk = ok;
            lastCallReturn = ret;
        }
        if (m == Mode.Request) {
            requestedInCallback = COORDINATOR.createSubscription(
                "again",
                1,
                0,
                1,
                false,
                address(0),
                0,
                address(0),
                address(0)
            );
        }
        lastOutputWord = bytes32(output);
        if (!record) return;
        received += 1;
        lastSubscriptionId = subscriptionId;
        lastInterval = interval;
        lastRedundancy = redundancy;
        lastNode = node;
        lastInput = input;
        lastProof = proof;
        lastContainerId = containerId;
        lastIndex = index;
    }
}

/// @notice Test-only one-time-request consumer (with a delegated signer).
contract TestCallbackConsumer is TestConsumerLogic, CallbackConsumer, Delegator {
    constructor(address registry, address signer) CallbackConsumer(registry) Delegator(signer) {}

    function setSigner(address signer) external {
        _updateSigner(signer);
    }

    function requestCompute(
        string calldata containerId,
        bytes calldata inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return
            _requestCompute(containerId, inputs, redundancy, paymentToken, paymentAmount, wallet, verifier);
    }

    function requestComputeWithOptions(
        string calldata containerId,
        bytes calldata inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier,
        SubscriptionOptions calldata options
    ) external returns (uint32) {
        return
            _requestComputeWithOptions(
                containerId,
                inputs,
                redundancy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier,
                options
            );
    }

    function getContainerInputs(
        uint32 subscriptionId,
        uint32 interval,
        uint32 timestamp,
        address caller
    ) external view override(BaseConsumer, CallbackConsumer) returns (bytes memory) {
        (interval, timestamp, caller);
        return subscriptionInputs[subscriptionId];
    }

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
    ) internal override(BaseConsumer, TestConsumerLogic) {
        TestConsumerLogic._receiveCompute(
            subscriptionId,
            interval,
            redundancy,
            node,
            input,
            output,
            proof,
            containerId,
            index
        );
    }
}

/// @notice Test-only recurring consumer (inputs: the interval number, ABI-encoded).
contract TestSubscriptionConsumer is TestConsumerLogic, SubscriptionConsumer, Delegator {
    constructor(address registry, address signer) SubscriptionConsumer(registry) Delegator(signer) {}

    function setSigner(address signer) external {
        _updateSigner(signer);
    }

    function createComputeSubscription(
        string calldata containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return
            _createComputeSubscription(
                containerId,
                frequency,
                period,
                redundancy,
                lazy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier
            );
    }

    function createComputeSubscriptionWithOptions(
        string calldata containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier,
        SubscriptionOptions calldata options
    ) external returns (uint32) {
        return
            _createComputeSubscriptionWithOptions(
                containerId,
                frequency,
                period,
                redundancy,
                lazy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier,
                options
            );
    }

    function cancelComputeSubscription(uint32 subscriptionId) external {
        _cancelComputeSubscription(subscriptionId);
    }

    function getContainerInputs(
        uint32,
        uint32 interval,
        uint32,
        address
    ) external pure override returns (bytes memory) {
        return abi.encode(interval);
    }

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
    ) internal override(BaseConsumer, TestConsumerLogic) {
        TestConsumerLogic._receiveCompute(
            subscriptionId,
            interval,
            redundancy,
            node,
            input,
            output,
            proof,
            containerId,
            index
        );
    }
}

/// @notice Test-only recurring consumer that accepts responses from allowed nodes only (the
///         Infernet `Allowlist` pattern, with a delegated signer): a delivery from another node
///         reverts, so it is refused.
contract TestAllowlistConsumer is SubscriptionConsumer, Allowlist, Delegator {
    uint256 public received;
    address public lastNode;
    uint32 public lastInterval;
    uint256 public lastIndex;

    constructor(
        address registry,
        address[] memory allowed
    ) SubscriptionConsumer(registry) Allowlist(allowed) Delegator(msg.sender) {}

    function updateAllowlist(address[] memory nodes, bool[] memory statuses) external {
        _updateAllowlist(nodes, statuses);
    }

    function setSigner(address signer) external {
        _updateSigner(signer);
    }

    function subscribe(uint32 frequency, uint32 period, uint16 redundancy) external returns (uint32) {
        return subscribeLazy(frequency, period, redundancy, false);
    }

    function subscribeLazy(
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy
    ) public returns (uint32) {
        return
            _createComputeSubscription(
                "allowlisted",
                frequency,
                period,
                redundancy,
                lazy,
                address(0),
                0,
                address(0),
                address(0)
            );
    }

    function _receiveCompute(
        uint32,
        uint32 interval,
        uint16,
        address node,
        bytes calldata,
        bytes calldata,
        bytes calldata,
        bytes32,
        uint256 index
    ) internal override onlyAllowedNode(node) {
        received += 1;
        lastNode = node;
        lastInterval = interval;
        lastIndex = index;
    }
}

/// @notice Test-only stand-in for a proof-checking verifier (an EZKL verifier in Infernet's
///         example): accepts `proof = abi.encode(prediction, keccak256(abi.encode(inputHash,
///         prediction, secret)))` and burns the gas a real proof check takes.
contract TestProofChecker {
    bytes32 private immutable _secret;
    uint256 public immutable work;

    constructor(bytes32 secret, uint256 work_) {
        _secret = secret;
        work = work_;
    }

    function check(
        bytes32 inputHash,
        bytes calldata proof
    ) external view returns (bool ok, int256 prediction) {
        bytes32 tag;
        (prediction, tag) = abi.decode(proof, (int256, bytes32));
        uint256 x = uint256(tag);
        uint256 rounds = work;
        assembly ("memory-safe") {
            for {
                let i := 0
            } lt(i, rounds) {
                i := add(i, 1)
            } {
                mstore(0, x)
                x := keccak256(0, 32)
            }
        }
        ok = x != 0 && tag == keccak256(abi.encode(inputHash, prediction, _secret));
    }
}

/// @notice Test-only consumer shaped as Infernet's end-to-end example: it asks for a prediction on
///         four numbers (one-time, eager or lazy), and accepts a delivery only if the node recorded
///         the hash of exactly those numbers as its input and a proof the checker accepts;
///         otherwise it reverts, refusing the delivery.
contract TestPredictionConsumer is SubscriptionConsumer {
    TestProofChecker public immutable checker;
    mapping(uint32 subscriptionId => int256[4]) private _data;
    mapping(uint32 subscriptionId => int256) public predictions;

    error InputsIncorrect();
    error ProofIncorrect();

    constructor(address registry, TestProofChecker checker_) SubscriptionConsumer(registry) {
        checker = checker_;
    }

    function initiatePrediction(
        int256[4] calldata input,
        bool lazy
    ) external returns (uint32 subscriptionId) {
        subscriptionId = _createComputeSubscription(
            "prediction",
            1,
            0,
            1,
            lazy,
            address(0),
            0,
            address(0),
            address(0)
        );
        _data[subscriptionId] = input;
    }

    function getContainerInputs(
        uint32 subscriptionId,
        uint32,
        uint32,
        address
    ) external view override returns (bytes memory) {
        return abi.encode(_data[subscriptionId]);
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32,
        uint16,
        address node,
        bytes calldata input,
        bytes calldata,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal override {
        bytes memory input_ = input;
        bytes memory proof_ = proof;
        if (containerId != bytes32(0)) {
            InboxItem memory item = INBOX.read(containerId, node, index);
            input_ = item.input;
            proof_ = item.proof;
        }
        bytes32 expected = keccak256(abi.encode(_data[subscriptionId]));
        if (abi.decode(input_, (bytes32)) != expected) revert InputsIncorrect();
        (bool ok, int256 prediction) = checker.check(expected, proof_);
        if (!ok) revert ProofIncorrect();
        predictions[subscriptionId] = prediction;
    }
}
