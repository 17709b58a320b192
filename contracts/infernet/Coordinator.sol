// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ICoordinatorVerification} from "../interfaces/ICoordinatorVerification.sol";
// `Subscription` and `ProofRequest` are re-exported: Infernet consumers import them from Coordinator.sol.
// solhint-disable-next-line no-unused-import
import {Subscription, SubscriptionOptions, IComputeConsumer} from "./Types.sol";
import {Subscriptions} from "./Subscriptions.sol";
// solhint-disable-next-line no-unused-import
import {Payments, ProofRequest} from "./Payments.sol";
import {Fee} from "./payments/Fee.sol";

/// @title Coordinator
/// @notice The inference marketplace: consumers subscribe to compute and nodes deliver it, with
///         Ritual Infernet SDK v1.1.0's interface, interval semantics, errors, events and node-facing
///         reads; PoAI's active staked trainers are the nodes.
///
/// As in Infernet: a delivery calls the consumer with all the gas the node sent, and a callback that
/// reverts reverts the delivery (consumers refuse nodes and outputs that way: `Allowlist`, proof
/// checks), so nodes simulate before sending; `redundancy` distinct nodes deliver each interval with
/// `deliverCompute`; `redundancyCount(keccak256(abi.encode(id, interval)))` and
/// `nodeResponded(keccak256(abi.encode(id, interval, node)))` say what was delivered.
///
/// What PoAI adds, each pinned by a test:
///  - only an active trainer (`Staking.isActive` and role Trainer) may deliver, commit or write;
///  - each accepted delivery counts in its node's usage of its model, and staking-token payments
///    become usage fees for the reward distributor (see `Payments`);
///  - payment escrow: a subscription's next interval is held here, so emptying the wallet after a
///    request cannot cheat the node that serves it (see `Subscriptions`);
///  - opt-in commit-reveal (`createSubscriptionWithOptions`): nodes commit (`commitCompute`), reveals
///    (`revealCompute`) open once every slot is committed or `commitWindow` after the first
///    commitment, and a commitment binds the node's address, so copying another node's output from
///    the mempool is too late;
///  - a delivery proven invalid after the fact (an optimistic verifier's verdict) frees its slot for
///    another node once no delivery of the interval stands (every output revealed for it was proven
///    invalid), and an output proven invalid cannot be delivered again into that interval: a
///    reopened slot never pays for a copy of an output already revealed.
///
/// Invariants (pinned by tests):
///  - per (subscription, interval): standing deliveries <= redundancy, one per node;
///  - a delivery is accepted only in its subscription's current interval, before it is over;
///  - see `Subscriptions` (escrow) and `Payments` (fees, proof requests, usage).
contract Coordinator is Subscriptions, Payments, ReentrancyGuardTransient, ICoordinatorVerification {
    /// @notice Per (subscription, interval), one slot, at keccak256(abi.encode(id, interval)).
    struct IntervalState {
        uint16 delivered; // deliveries counted (Infernet's redundancy count)
        uint16 committed; // commitments (commit-reveal)
        uint16 reopened; // commitments a reopening allows after reveals opened
        uint16 invalidated; // counted deliveries proven invalid after the fact
        bool blocked; // outputs proven invalid are refused (the interval was reopened)
        uint40 revealAt; // commit-reveal: reveals open from here
    }

    /// @notice Seconds after an interval's first commitment when its reveals open anyway.
    uint256 public immutable commitWindow;

    mapping(bytes32 key => IntervalState) internal _intervals;
    /// keccak256(abi.encode(id, interval, node)) => 0, the node's commitment (committed, not
    /// revealed) or the keccak256 of the output it delivered (`_delivered`).
    mapping(bytes32 key => bytes32) internal _marks;
    /// keccak256(abi.encode(id, interval, outputHash)) => that output was proven invalid.
    mapping(bytes32 key => bool) internal _invalidOutputs;
    /// The proof request the verifier is being asked about inside a delivery (its verdict there is atomic).
    bytes32 private transient _atomicKey;
    bool private transient _settling;

    event SubscriptionFulfilled(uint32 indexed id, address indexed node);
    /// @notice Infernet's event: `active` is true while the verifier's window ran, `verifier` the caller.
    event ProofVerified(
        uint32 indexed id,
        uint32 indexed interval,
        address indexed node,
        bool active,
        address verifier,
        bool valid
    );
    event ComputeCommitted(uint32 indexed id, uint32 interval, address indexed node, bytes32 commitment);
    /// @notice An invalid verdict reopened `slots` deliveries of (`id`, `interval`) for other nodes.
    event IntervalReopened(uint32 indexed id, uint32 interval, uint16 slots);

    // Infernet v1.1.0's errors, with its signatures.
    error SubscriptionNotActive();
    error IntervalMismatch();
    error SubscriptionCompleted();
    error IntervalCompleted();
    error NodeRespondedAlready();
    error ProofRequestNotFound();
    error UnauthorizedVerifier();

    error NodeNotActiveTrainer(address node);
    error CommitRequired(uint32 subscriptionId);
    error CommitNotRequired(uint32 subscriptionId);
    error CommitPhaseClosed(uint32 subscriptionId, uint32 interval);
    error RevealNotOpen(uint32 subscriptionId, uint32 interval, uint40 revealAt);
    error NotCommitted(uint32 subscriptionId, uint32 interval, address node);
    error CommitmentMismatch(uint32 subscriptionId, uint32 interval, address node);
    error ReservedCommitment(bytes32 commitment);
    error OutputProvenInvalid(uint32 subscriptionId, uint32 interval, bytes32 outputHash);
    error ReentrantSettlement();
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);

    /// @param staking_ PoAI staking (who may deliver, the epoch clock, the staking token)
    /// @param fee_ the protocol fee
    /// @param rewardDistributor_ receives staking-token usage fees (address(0): paid to node wallets)
    /// @param modelRegistry_ names each model's royalty recipient (address(0): none)
    /// @param commitWindow_ seconds, in [1, 1 day]
    constructor(
        IStaking staking_,
        Fee fee_,
        address rewardDistributor_,
        IModelRegistry modelRegistry_,
        uint256 commitWindow_
    )
        Subscriptions(staking_, fee_, rewardDistributor_, modelRegistry_)
        Payments(staking_, rewardDistributor_)
    {
        if (commitWindow_ < 1 || commitWindow_ > 1 days)
            revert InvalidParameter("commitWindow", commitWindow_, 1, 1 days);
        commitWindow = commitWindow_;
    }

    // =========================================================================================
    // Delivery
    // =========================================================================================

    /// @notice Delivers the output of (`subscriptionId`, `deliveryInterval`) as an active trainer
    ///         (Infernet v1.1.0's signature and checks). Refused for a commit-reveal subscription.
    ///         The consumer's callback gets all the gas left; if it reverts, so does the delivery.
    /// @param nodeWallet the node's Wallet: receives the payment, holds its collateral under a verifier
    function deliverCompute(
        uint32 subscriptionId,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) public nonReentrant {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        _checkInterval(r, c, deliveryInterval);
        if (c.flags & COMMIT_REVEAL != 0) revert CommitRequired(subscriptionId);
        bytes32 key = _intervalKey(subscriptionId, deliveryInterval);
        IntervalState memory st = _intervals[key];
        if (st.delivered >= c.redundancy) revert IntervalCompleted();
        bytes32 nodeKey = _nodeKey(subscriptionId, deliveryInterval, msg.sender);
        if (_marks[nodeKey] != 0) revert NodeRespondedAlready();
        _checkNode(msg.sender);
        bytes32 outputHash = keccak256(output);
        if (st.blocked && _invalidOutputs[_outputKey(key, outputHash)])
            revert OutputProvenInvalid(subscriptionId, deliveryInterval, outputHash);
        unchecked {
            st.delivered += 1;
        }
        _intervals[key] = st;
        _marks[nodeKey] = outputHash;
        _deliver(
            subscriptionId,
            deliveryInterval,
            r,
            c,
            nodeKey,
            st.delivered,
            input,
            output,
            proof,
            nodeWallet
        );
    }

    /// @notice Commits to an output for (`subscriptionId`, `interval`) of a commit-reveal
    ///         subscription: `commitment = computeCommitment(subscriptionId, interval, node, output, salt)`.
    function commitCompute(uint32 subscriptionId, uint32 interval, bytes32 commitment) external nonReentrant {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        _checkInterval(r, c, interval);
        if (c.flags & COMMIT_REVEAL == 0) revert CommitNotRequired(subscriptionId);
        // 0 means "nothing"; 1 and 2 were markers once: a commitment is never one of them.
        if (uint256(commitment) < 3) revert ReservedCommitment(commitment);
        bytes32 nodeKey = _nodeKey(subscriptionId, interval, msg.sender);
        if (_marks[nodeKey] != 0) revert NodeRespondedAlready();
        _checkNode(msg.sender);
        bytes32 key = _intervalKey(subscriptionId, interval);
        IntervalState memory st = _intervals[key];
        bool revealing = st.revealAt != 0 && block.timestamp >= st.revealAt;
        uint16 redundancy = c.redundancy;
        if (st.committed >= redundancy || (revealing && st.reopened == 0))
            revert CommitPhaseClosed(subscriptionId, interval);
        if (revealing) --st.reopened;
        if (st.revealAt == 0) st.revealAt = uint40(block.timestamp + commitWindow);
        if (++st.committed == redundancy && !revealing) st.revealAt = uint40(block.timestamp);
        _intervals[key] = st;
        _marks[nodeKey] = commitment;
        emit ComputeCommitted(subscriptionId, interval, msg.sender, commitment);
    }

    /// @notice Reveals and delivers the output committed with `commitCompute`, once reveals are
    ///         open; otherwise as `deliverCompute`.
    function revealCompute(
        uint32 subscriptionId,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet,
        bytes32 salt
    ) external nonReentrant {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        _checkInterval(r, c, deliveryInterval);
        if (c.flags & COMMIT_REVEAL == 0) revert CommitNotRequired(subscriptionId);
        bytes32 nodeKey = _nodeKey(subscriptionId, deliveryInterval, msg.sender);
        bytes32 mark = _marks[nodeKey];
        if (mark == 0) revert NotCommitted(subscriptionId, deliveryInterval, msg.sender);
        bytes32 outputHash = keccak256(output);
        if (mark == outputHash) revert NodeRespondedAlready();
        bytes32 key = _intervalKey(subscriptionId, deliveryInterval);
        IntervalState memory st = _intervals[key];
        if (block.timestamp < st.revealAt)
            revert RevealNotOpen(subscriptionId, deliveryInterval, st.revealAt);
        if (computeCommitment(subscriptionId, deliveryInterval, msg.sender, output, salt) != mark)
            revert CommitmentMismatch(subscriptionId, deliveryInterval, msg.sender);
        if (st.delivered >= c.redundancy) revert IntervalCompleted();
        _checkNode(msg.sender);
        if (st.blocked && _invalidOutputs[_outputKey(key, outputHash)])
            revert OutputProvenInvalid(subscriptionId, deliveryInterval, outputHash);
        unchecked {
            st.delivered += 1;
        }
        _intervals[key] = st;
        _marks[nodeKey] = outputHash;
        _deliver(
            subscriptionId,
            deliveryInterval,
            r,
            c,
            nodeKey,
            st.delivered,
            input,
            output,
            proof,
            nodeWallet
        );
    }

    /// @inheritdoc ICoordinatorVerification
    /// @dev As Infernet: before `PROOF_WINDOW` has passed only the subscription's verifier may call
    ///      it; after, anyone, and the node is paid. An invalid verdict given inside the delivery
    ///      (an atomic verifier) leaves the delivery standing, as in Infernet: the consumer still
    ///      receives the output, the held payment returns to its allowance. A later invalid verdict
    ///      frees the slot once no delivery of the interval stands, refuses that output for the
    ///      interval, and holds the payment in escrow for the node that serves the slot again.
    ///      Not under the delivery guard (an atomic verifier answers inside `deliverCompute`); the
    ///      request is deleted before anything moves, and settlements cannot nest.
    function finalizeProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bool valid
    ) external {
        if (_settling) revert ReentrantSettlement();
        _settling = true;
        bytes32 nodeKey = _nodeKey(subscriptionId, interval, node);
        ProofRequest memory req = proofRequests[nodeKey];
        delete proofRequests[nodeKey];
        if (req.expiry == 0) revert ProofRequestNotFound();
        bool active = uint32(block.timestamp) < req.expiry;
        if (active && msg.sender != _subs[subscriptionId].config.verifier) revert UnauthorizedVerifier();
        bool accepted = valid || !active;
        bool reopened = !accepted && _atomicKey != nodeKey && _invalidate(subscriptionId, interval, nodeKey);
        _settleProof(subscriptionId, node, req, accepted, reopened);
        emit ProofVerified(subscriptionId, interval, node, active, msg.sender, valid);
        _settling = false;
    }

    /// @notice Forwards the staking-token usage fees `node` accrued serving model `containerId` to
    ///         the reward distributor, with the royalty recipient the ModelRegistry names now (the
    ///         node itself when the model has none). Permissionless.
    function flushUsageFees(address node, bytes32 containerId) external nonReentrant returns (uint256) {
        return _flush(node, containerId);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice Deliveries counted for the interval `key = keccak256(abi.encode(id, interval))`
    ///         (Infernet's read).
    function redundancyCount(bytes32 key) external view returns (uint16) {
        return _intervals[key].delivered;
    }

    /// @notice Whether the node of `key = keccak256(abi.encode(id, interval, node))` delivered (or,
    ///         commit-reveal, committed) for that interval (Infernet's read).
    function nodeResponded(bytes32 key) external view returns (bool) {
        return _marks[key] != 0;
    }

    /// @notice The state of (`subscriptionId`, `interval`): deliveries, commit-reveal, reopenings.
    function intervalState(
        uint32 subscriptionId,
        uint32 interval
    ) external view returns (IntervalState memory) {
        return _intervals[_intervalKey(subscriptionId, interval)];
    }

    /// @notice `node`'s record for (`subscriptionId`, `interval`): 0, its commitment (committed, not
    ///         revealed) or the keccak256 of the output it delivered.
    function markOf(uint32 subscriptionId, uint32 interval, address node) external view returns (bytes32) {
        return _marks[_nodeKey(subscriptionId, interval, node)];
    }

    /// @notice The commitment a node makes before revealing `output`: binds the subscription, the
    ///         interval, the node and the output, blinded by `salt`.
    function computeCommitment(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata output,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node, keccak256(output), salt));
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _deliver(
        uint32 subscriptionId,
        uint32 interval,
        Record storage r,
        Core memory c,
        bytes32 nodeKey,
        uint16 count,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) private {
        bytes32 containerId = r.containerId;
        if (c.flags & PAID == 0) {
            _recordUsage(containerId, msg.sender, 0);
        } else if (_pay(subscriptionId, interval, r, c, containerId, nodeWallet)) {
            _atomicKey = nodeKey;
            _requestVerification(subscriptionId, interval, r, c, containerId, input, output, proof);
            _atomicKey = 0;
        }
        bytes memory data;
        if (c.flags & LAZY != 0) {
            uint256 index = inbox.writeViaCoordinator(
                containerId,
                msg.sender,
                subscriptionId,
                interval,
                input,
                output,
                proof
            );
            data = abi.encodeCall(
                IComputeConsumer.rawReceiveCompute,
                (subscriptionId, interval, count, msg.sender, "", "", "", containerId, index)
            );
        } else {
            data = abi.encodeCall(
                IComputeConsumer.rawReceiveCompute,
                (subscriptionId, interval, count, msg.sender, input, output, proof, bytes32(0), 0)
            );
        }
        _callback(c.owner, data);
        emit SubscriptionFulfilled(subscriptionId, msg.sender);
    }

    /// Calls the consumer with all the gas left; its revert reverts the delivery, with its reason.
    function _callback(address owner, bytes memory data) private {
        assembly ("memory-safe") {
            if iszero(call(gas(), owner, 0, add(data, 0x20), mload(data), 0, 0)) {
                let ptr := mload(0x40)
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// A later invalid verdict on `nodeKey`'s delivery: refuses its output for the interval and,
    /// once every counted delivery of the interval is proven invalid, frees them all. Returns
    /// whether it freed the slots.
    function _invalidate(uint32 subscriptionId, uint32 interval, bytes32 nodeKey) private returns (bool) {
        bytes32 key = _intervalKey(subscriptionId, interval);
        IntervalState memory st = _intervals[key];
        _invalidOutputs[_outputKey(key, _marks[nodeKey])] = true;
        st.blocked = true;
        st.invalidated += 1;
        bool reopen = st.invalidated == st.delivered;
        if (reopen) {
            uint16 slots = st.delivered;
            st.delivered = 0;
            st.invalidated = 0;
            if (st.committed != 0) {
                st.committed -= slots;
                if (st.revealAt != 0 && block.timestamp >= st.revealAt) st.reopened += slots;
            }
            emit IntervalReopened(subscriptionId, interval, slots);
        }
        _intervals[key] = st;
        return reopen;
    }

    function _checkInterval(Record storage r, Core memory c, uint32 deliveryInterval) private view {
        if (c.owner == address(0)) revert SubscriptionNotFound();
        if (uint32(block.timestamp) < c.activeAt) revert SubscriptionNotActive();
        uint32 interval = getSubscriptionInterval(c.activeAt, c.period);
        if (interval != deliveryInterval) revert IntervalMismatch();
        if (interval > _frequency(r, c)) revert SubscriptionCompleted();
    }

    function _checkNode(address node) private view {
        if (!staking.isActive(node) || staking.roleOf(node) != IStaking.Role.Trainer)
            revert NodeNotActiveTrainer(node);
    }

    function _intervalKey(uint32 subscriptionId, uint32 interval) internal pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval));
    }

    function _nodeKey(uint32 subscriptionId, uint32 interval, address node) internal pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node));
    }

    function _outputKey(bytes32 intervalKey, bytes32 outputHash) private pure returns (bytes32) {
        return keccak256(abi.encode(intervalKey, outputHash));
    }
}
