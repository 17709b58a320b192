// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ICoordinatorVerification} from "../interfaces/ICoordinatorVerification.sol";
import {IOutputVerifier} from "../interfaces/IVerifier.sol";

/// @title TestCoordinator
/// @notice Test-only stand-in for the inference Coordinator, as a verifier sees it: subscriptions
///         with an owner (the consumer), a container id and a verifier; `deliver` escrows the
///         consumer's ETH payment and the node's equal collateral, hands the delivery to the
///         verifier (`requestOutputVerification` when it declares IOutputVerifier) and counts it
///         towards the interval's redundancy; `finalizeProofVerification` (verifier only, once per
///         pending delivery) pays the node its payment and collateral back, or refunds the
///         consumer, pays it the node's collateral and frees the redundancy slot.
///         `getSubscription` has Infernet v1.1.0's shape (a static struct, owner first).
///         For reentrancy tests, `arm` makes the next settlement call back into the verifier.
contract TestCoordinator is ICoordinatorVerification {
    struct Subscription {
        address owner;
        uint32 activeAt;
        uint32 period;
        uint32 frequency;
        uint16 redundancy;
        bytes32 containerId;
        bool lazy;
        address payable verifier;
        uint256 paymentAmount;
        address paymentToken;
        address payable wallet;
    }

    struct Delivery {
        bool pending;
        bool settled;
        bool valid;
    }

    event Delivered(uint32 indexed subscriptionId, uint32 indexed interval, address indexed node);
    event Settled(uint32 indexed subscriptionId, uint32 indexed interval, address indexed node, bool valid);

    error Unauthorized(address caller);
    error NoPendingDelivery(uint32 subscriptionId, uint32 interval, address node);
    error IntervalCompleted(uint32 subscriptionId, uint32 interval);
    error WrongValue(uint256 expected, uint256 actual);
    error ReentryFailed(bytes returnData);

    uint32 public nextId = 1;
    mapping(uint32 => Subscription) private _subscriptions;
    mapping(bytes32 => Delivery) public deliveries;
    mapping(bytes32 => uint16) public redundancyCount;
    mapping(address => uint256) public balances;

    address public reenterTarget;
    bytes public reenterData;
    bool public reenterOk;
    bytes public reenterReturn;

    function createSubscription(
        address owner,
        bytes32 containerId,
        uint16 redundancy,
        address payable verifier,
        uint256 paymentAmount
    ) external payable returns (uint32 id) {
        id = nextId++;
        _subscriptions[id] = Subscription(
            owner,
            uint32(block.timestamp),
            0,
            1,
            redundancy,
            containerId,
            false,
            verifier,
            paymentAmount,
            address(0),
            payable(address(0))
        );
        balances[owner] += msg.value;
    }

    function getSubscription(uint32 id) external view returns (Subscription memory) {
        return _subscriptions[id];
    }

    /// @notice A node delivers `output` for `input`, posting collateral equal to the payment.
    function deliver(
        uint32 id,
        uint32 interval,
        bytes calldata input,
        bytes calldata output
    ) external payable {
        Subscription storage s = _subscriptions[id];
        if (msg.value != s.paymentAmount) revert WrongValue(s.paymentAmount, msg.value);
        bytes32 slot = keccak256(abi.encode(id, interval));
        if (redundancyCount[slot] == s.redundancy) revert IntervalCompleted(id, interval);
        redundancyCount[slot] += 1;
        bytes32 key = keccak256(abi.encode(id, interval, msg.sender));
        if (deliveries[key].pending || deliveries[key].settled) revert Unauthorized(msg.sender);
        balances[s.owner] -= s.paymentAmount; // escrowed
        deliveries[key] = Delivery(true, false, false);
        emit Delivered(id, interval, msg.sender);
        if (IERC165(s.verifier).supportsInterface(type(IOutputVerifier).interfaceId)) {
            IOutputVerifier(s.verifier).requestOutputVerification(
                id,
                interval,
                msg.sender,
                s.containerId,
                input,
                output,
                ""
            );
        } else {
            IOutputVerifier(s.verifier).requestProofVerification(id, interval, msg.sender, "");
        }
    }

    /// @inheritdoc ICoordinatorVerification
    function finalizeProofVerification(uint32 id, uint32 interval, address node, bool valid) external {
        Subscription storage s = _subscriptions[id];
        if (msg.sender != s.verifier) revert Unauthorized(msg.sender);
        bytes32 key = keccak256(abi.encode(id, interval, node));
        Delivery storage d = deliveries[key];
        if (!d.pending) revert NoPendingDelivery(id, interval, node);
        d.pending = false;
        d.settled = true;
        d.valid = valid;
        if (valid) {
            balances[node] += 2 * s.paymentAmount;
        } else {
            balances[s.owner] += 2 * s.paymentAmount;
            redundancyCount[keccak256(abi.encode(id, interval))] -= 1;
        }
        emit Settled(id, interval, node, valid);
        if (reenterTarget != address(0)) {
            address target = reenterTarget;
            reenterTarget = address(0);
            // solhint-disable-next-line avoid-low-level-calls
            (reenterOk, reenterReturn) = target.call(reenterData);
        }
    }

    /// @notice Makes the next settlement call `target` with `data` (the outcome is recorded).
    function arm(address target, bytes calldata data) external {
        reenterTarget = target;
        reenterData = data;
    }

    /// @notice Lets a test call the verifier as the coordinator.
    function callAs(address target, bytes calldata data) external {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
