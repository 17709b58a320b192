// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ICoordinatorVerification} from "../interfaces/ICoordinatorVerification.sol";
// `Subscription` is re-exported: Infernet consumers import it from Coordinator.sol.
// solhint-disable-next-line no-unused-import
import {Subscription, IComputeConsumer} from "./Types.sol";
import {Subscriptions} from "./Subscriptions.sol";
import {Payments} from "./Payments.sol";
import {Fee} from "./payments/Fee.sol";

/// @title Coordinator
/// @notice The inference marketplace: consumers subscribe to compute (Ritual Infernet SDK v1.1.0's
///         interface and interval semantics), PoAI's active staked trainers deliver it.
///
/// Differences from Infernet, each pinned by an adversarial test:
///  - only an active trainer (`Staking.isActive` and role Trainer) may deliver, commit or write;
///  - each accepted delivery records usage per model, node and epoch, and staking-token payments
///    become usage fees for the reward distributor (see `Payments`);
///  - payment escrow: a subscription's next interval is locked in the consumer's wallet, so emptying
///    the wallet after a request cannot cheat the node that serves it (see `Subscriptions`);
///  - redundancy > 1 is commit-then-reveal (`commitCompute`, then `revealCompute`): reveals open only
///    once every slot is committed or `commitWindow` after the first commitment, and a commitment
///    binds the node's address, so copying another node's output from the mempool is too late;
///  - the consumer callback gets exactly `callbackGasLimit` gas (the node must supply it) and its
///    failure does not undo the delivery: the node is paid, the usage counted (`CallbackFailed`);
///  - a delivery proven invalid frees its redundancy slot, so another node can serve the interval
///    (the invalid node cannot deliver it again).
///
/// Invariants (pinned by tests):
///  - per (subscription, interval): accepted + pending deliveries <= redundancy, one per node;
///  - a delivery is accepted only in its subscription's current interval, before it is over;
///  - see `Subscriptions` (escrow) and `Payments` (fees, proof requests).
contract Coordinator is Subscriptions, Payments, ReentrancyGuardTransient, ICoordinatorVerification {
    /// @notice Node marks (redundancy > 1 commitments, and invalidated nodes).
    bytes32 internal constant DELIVERED = bytes32(uint256(1));
    bytes32 internal constant INVALIDATED = bytes32(uint256(2));
    /// @notice Gas a delivery must keep beyond the callback's limit to finish after it.
    uint256 public constant CALLBACK_RESERVE = 15_000;

    /// @notice Per (subscription, interval), one slot.
    struct IntervalState {
        address lastNode; // the last node that delivered
        uint16 delivered; // accepted or pending verification
        uint16 committed; // commitments (redundancy > 1)
        uint16 reopened; // slots freed by invalid verdicts after reveals opened
        bool tainted; // a delivery was invalidated: check node marks
        uint40 revealAt; // reveals open from here (redundancy > 1)
    }

    /// @notice Gas forwarded to a consumer's `rawReceiveCompute`.
    uint256 public immutable callbackGasLimit;
    /// @notice Seconds after an interval's first commitment when its reveals open anyway.
    uint256 public immutable commitWindow;

    mapping(uint256 key => IntervalState) internal _intervals;
    mapping(uint256 key => mapping(address node => bytes32)) internal _marks;
    bool private transient _settling;

    event SubscriptionFulfilled(uint32 indexed id, address indexed node);
    event ComputeCommitted(uint32 indexed id, uint32 interval, address indexed node, bytes32 commitment);
    event CallbackFailed(uint32 indexed id, uint32 interval, address indexed node);
    event ProofVerified(uint32 indexed id, uint32 interval, address indexed node, bool valid, bool expired);

    error SubscriptionNotActive(uint32 subscriptionId, uint32 activeAt);
    error IntervalMismatch(uint32 subscriptionId, uint32 deliveryInterval, uint32 currentInterval);
    error SubscriptionCompleted(uint32 subscriptionId, uint32 interval, uint32 frequency);
    error IntervalCompleted(uint32 subscriptionId, uint32 interval, uint16 redundancy);
    error NodeRespondedAlready(uint32 subscriptionId, uint32 interval, address node);
    error NodeNotActiveTrainer(address node);
    error CommitRequired(uint32 subscriptionId, uint16 redundancy);
    error CommitNotRequired(uint32 subscriptionId);
    error CommitPhaseClosed(uint32 subscriptionId, uint32 interval);
    error RevealNotOpen(uint32 subscriptionId, uint32 interval, uint40 revealAt);
    error NotCommitted(uint32 subscriptionId, uint32 interval, address node);
    error CommitmentMismatch(uint32 subscriptionId, uint32 interval, address node);
    error InsufficientCallbackGas(uint256 gasLeft, uint256 required);
    error ProofRequestNotFound(uint32 subscriptionId, uint32 interval, address node);
    error UnauthorizedVerifier(address caller, address verifier);
    error ReentrantSettlement();
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);

    /// @param staking_ PoAI staking (who may deliver, the epoch clock, the staking token)
    /// @param fee_ the protocol fee
    /// @param rewardDistributor_ receives staking-token usage fees (address(0): paid to node wallets)
    /// @param modelRegistry_ model trainers for royalties (address(0): none)
    /// @param callbackGasLimit_ gas forwarded to consumer callbacks, in [50,000, 10,000,000]
    /// @param commitWindow_ seconds, in [1, 1 day]
    constructor(
        IStaking staking_,
        Fee fee_,
        address rewardDistributor_,
        IModelRegistry modelRegistry_,
        uint256 callbackGasLimit_,
        uint256 commitWindow_
    )
        Subscriptions(staking_, fee_, rewardDistributor_, modelRegistry_)
        Payments(staking_, rewardDistributor_)
    {
        if (callbackGasLimit_ < 50_000 || callbackGasLimit_ > 10_000_000)
            revert InvalidParameter("callbackGasLimit", callbackGasLimit_, 50_000, 10_000_000);
        if (commitWindow_ < 1 || commitWindow_ > 1 days)
            revert InvalidParameter("commitWindow", commitWindow_, 1, 1 days);
        callbackGasLimit = callbackGasLimit_;
        commitWindow = commitWindow_;
    }

    // =========================================================================================
    // Delivery
    // =========================================================================================

    /// @notice Delivers the output of (`subscriptionId`, `deliveryInterval`) as an active trainer
    ///         (Infernet v1.1.0's signature). Redundancy 1 only; above, use commit and reveal.
    ///         The transaction must carry at least `callbackGasLimit * 64 / 63 + CALLBACK_RESERVE`
    ///         gas at the callback; a failing callback does not revert the delivery.
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
        Config memory cfg = r.config;
        _checkInterval(subscriptionId, c, cfg.frequency, deliveryInterval);
        if (c.redundancy > 1) revert CommitRequired(subscriptionId, c.redundancy);
        _checkNode(msg.sender);
        uint256 key = _intervalKey(subscriptionId, deliveryInterval);
        IntervalState memory st = _intervals[key];
        if (st.delivered >= c.redundancy)
            revert IntervalCompleted(subscriptionId, deliveryInterval, c.redundancy);
        if (st.tainted && _marks[key][msg.sender] != 0)
            revert NodeRespondedAlready(subscriptionId, deliveryInterval, msg.sender);
        st.delivered += 1;
        st.lastNode = msg.sender;
        _intervals[key] = st;
        _deliver(subscriptionId, deliveryInterval, r, c, cfg, st.delivered, input, output, proof, nodeWallet);
    }

    /// @notice Commits to an output for (`subscriptionId`, `interval`) of a subscription with
    ///         redundancy > 1: `commitment = computeCommitment(subscriptionId, interval, node, output, salt)`.
    function commitCompute(uint32 subscriptionId, uint32 interval, bytes32 commitment) external nonReentrant {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        _checkInterval(subscriptionId, c, r.config.frequency, interval);
        uint16 redundancy = c.redundancy;
        if (redundancy == 1) revert CommitNotRequired(subscriptionId);
        _checkNode(msg.sender);
        uint256 key = _intervalKey(subscriptionId, interval);
        if (_marks[key][msg.sender] != 0) revert NodeRespondedAlready(subscriptionId, interval, msg.sender);
        IntervalState memory st = _intervals[key];
        bool revealing = st.revealAt != 0 && block.timestamp >= st.revealAt;
        if (st.committed >= redundancy || (revealing && st.reopened == 0))
            revert CommitPhaseClosed(subscriptionId, interval);
        if (revealing) --st.reopened;
        if (st.revealAt == 0) st.revealAt = uint40(block.timestamp + commitWindow);
        if (++st.committed == redundancy && !revealing) st.revealAt = uint40(block.timestamp);
        _intervals[key] = st;
        _marks[key][msg.sender] = commitment;
        emit ComputeCommitted(subscriptionId, interval, msg.sender, commitment);
    }

    /// @notice Reveals and delivers the output committed with `commitCompute` (redundancy > 1),
    ///         once reveals are open; otherwise as `deliverCompute`.
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
        Config memory cfg = r.config;
        _checkInterval(subscriptionId, c, cfg.frequency, deliveryInterval);
        _checkNode(msg.sender);
        uint256 key = _intervalKey(subscriptionId, deliveryInterval);
        bytes32 mark = _marks[key][msg.sender];
        if (mark == 0) revert NotCommitted(subscriptionId, deliveryInterval, msg.sender);
        if (mark == DELIVERED || mark == INVALIDATED)
            revert NodeRespondedAlready(subscriptionId, deliveryInterval, msg.sender);
        IntervalState memory st = _intervals[key];
        if (block.timestamp < st.revealAt)
            revert RevealNotOpen(subscriptionId, deliveryInterval, st.revealAt);
        if (computeCommitment(subscriptionId, deliveryInterval, msg.sender, output, salt) != mark)
            revert CommitmentMismatch(subscriptionId, deliveryInterval, msg.sender);
        if (st.delivered >= c.redundancy)
            revert IntervalCompleted(subscriptionId, deliveryInterval, c.redundancy);
        st.delivered += 1;
        st.lastNode = msg.sender;
        _intervals[key] = st;
        _marks[key][msg.sender] = DELIVERED;
        _deliver(subscriptionId, deliveryInterval, r, c, cfg, st.delivered, input, output, proof, nodeWallet);
    }

    /// @inheritdoc ICoordinatorVerification
    /// @dev Before `PROOF_WINDOW` has passed only the subscription's verifier may call it; after,
    ///      anyone, and the delivery is settled as valid (Infernet's timeout in the node's favour).
    ///      Not under the delivery guard, so an atomic verifier can answer inside `deliverCompute`;
    ///      the request is deleted before anything moves, and settlements cannot nest.
    function finalizeProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bool valid
    ) external {
        if (_settling) revert ReentrantSettlement();
        _settling = true;
        bytes32 pk = _proofKey(subscriptionId, interval, node);
        ProofRequest memory req = _proofs[pk];
        if (req.expiry == 0) revert ProofRequestNotFound(subscriptionId, interval, node);
        bool expired = block.timestamp >= req.expiry;
        if (!expired) {
            address verifier = _subs[subscriptionId].config.verifier;
            if (msg.sender != verifier) revert UnauthorizedVerifier(msg.sender, verifier);
        } else {
            valid = true;
        }
        delete _proofs[pk];
        if (!valid) _freeSlot(subscriptionId, interval, node);
        _settleProof(subscriptionId, node, req, valid);
        emit ProofVerified(subscriptionId, interval, node, valid, expired);
        _settling = false;
    }

    /// @notice Forwards the staking-token usage fees accrued for (`node`, `modelTrainer`) to the
    ///         reward distributor. Permissionless.
    function flushUsageFees(address node, address modelTrainer) external nonReentrant returns (uint256) {
        return _flush(node, modelTrainer);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice Deliveries counted (accepted or pending verification) for (`subscriptionId`, `interval`).
    function redundancyCount(uint32 subscriptionId, uint32 interval) external view returns (uint16) {
        return _intervals[_intervalKey(subscriptionId, interval)].delivered;
    }

    /// @notice Whether `node` delivered (or committed, or was invalidated) for (`subscriptionId`, `interval`).
    function nodeResponded(
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) external view returns (bool) {
        uint256 key = _intervalKey(subscriptionId, interval);
        return _marks[key][node] != 0 || (node != address(0) && _intervals[key].lastNode == node);
    }

    /// @notice The interval's commit-reveal state.
    function intervalState(
        uint32 subscriptionId,
        uint32 interval
    ) external view returns (IntervalState memory) {
        return _intervals[_intervalKey(subscriptionId, interval)];
    }

    /// @notice The commitment `node` made for (`subscriptionId`, `interval`) (1: revealed, 2: invalidated).
    function commitmentOf(
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) external view returns (bytes32) {
        return _marks[_intervalKey(subscriptionId, interval)][node];
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
        Config memory cfg,
        uint16 count,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) private {
        bytes32 containerId = r.containerId;
        if (c.paid) {
            bytes32 pk = _pay(subscriptionId, interval, r, c, cfg, nodeWallet);
            if (pk != 0) {
                _requestVerification(subscriptionId, interval, containerId, cfg, input, output, proof);
                // An atomic verifier that rejected the output freed the slot: nothing to deliver.
                if (_marks[_intervalKey(subscriptionId, interval)][msg.sender] == INVALIDATED) return;
            }
        } else {
            _recordUsage(containerId, msg.sender, 0);
        }
        emit SubscriptionFulfilled(subscriptionId, msg.sender);
        bytes memory data;
        if (cfg.lazy) {
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
        _callback(subscriptionId, interval, c.owner, data);
    }

    /// Calls the consumer with exactly `callbackGasLimit` gas, ignoring its return data.
    function _callback(uint32 subscriptionId, uint32 interval, address owner, bytes memory data) private {
        uint256 limit = callbackGasLimit;
        uint256 required = limit + limit / 63 + CALLBACK_RESERVE;
        if (gasleft() < required) revert InsufficientCallbackGas(gasleft(), required);
        bool ok;
        assembly ("memory-safe") {
            ok := call(limit, owner, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!ok) emit CallbackFailed(subscriptionId, interval, msg.sender);
    }

    function _freeSlot(uint32 subscriptionId, uint32 interval, address node) private {
        uint256 key = _intervalKey(subscriptionId, interval);
        IntervalState memory st = _intervals[key];
        st.delivered -= 1;
        st.tainted = true;
        if (st.committed != 0) {
            st.committed -= 1;
            if (st.revealAt != 0 && block.timestamp >= st.revealAt) st.reopened += 1;
        }
        _intervals[key] = st;
        _marks[key][node] = INVALIDATED;
    }

    function _checkInterval(
        uint32 subscriptionId,
        Core memory c,
        uint32 frequency,
        uint32 deliveryInterval
    ) private view {
        if (c.owner == address(0)) revert SubscriptionNotFound(subscriptionId);
        if (uint32(block.timestamp) < c.activeAt) revert SubscriptionNotActive(subscriptionId, c.activeAt);
        uint32 interval = getSubscriptionInterval(c.activeAt, c.period);
        if (interval != deliveryInterval) revert IntervalMismatch(subscriptionId, deliveryInterval, interval);
        if (interval > frequency) revert SubscriptionCompleted(subscriptionId, interval, frequency);
    }

    function _checkNode(address node) private view {
        if (!staking.isActive(node) || staking.roleOf(node) != IStaking.Role.Trainer)
            revert NodeNotActiveTrainer(node);
    }

    function _intervalKey(uint32 subscriptionId, uint32 interval) internal pure returns (uint256) {
        return (uint256(subscriptionId) << 32) | interval;
    }
}
