// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOutputVerifier} from "../interfaces/IVerifier.sol";
import {Subscription} from "./Types.sol";
import {Inbox} from "./Inbox.sol";
import {Fee} from "./payments/Fee.sol";
import {Wallet} from "./payments/Wallet.sol";
import {WalletFactory} from "./payments/WalletFactory.sol";

/// @title Subscriptions
/// @notice The subscription book of the coordinator: creation, cancellation, the interval clock
///         (Ritual Infernet SDK v1.1.0's semantics) and the consumer-side payment escrow.
///
/// Escrow (what Infernet leaves open: a consumer emptying its wallet between a request and the
/// delivery): a paid subscription keeps up to one interval's worth of payments
/// (`redundancy * paymentAmount`) locked in its wallet for its owner. It is locked at creation when
/// the wallet allows it (otherwise the first delivery locks what it needs, as Infernet would pay),
/// each delivery pays out of it and tops it up again for the next interval, and it returns to the
/// owner's allowance on cancellation or once the subscription is over (`releaseEscrow`).
///
/// Invariants (pinned by tests):
///  - a subscription's escrow is locked in its wallet for its owner: for every (wallet, owner, token)
///    the wallet's `lockedBalanceOf` = the escrows of those subscriptions + their pending proof escrows;
///  - a subscription's fields never change after creation, except `activeAt` (cancellation) and its escrow;
///  - escrow leaves only as payment for a delivery or back to the owner's allowance.
abstract contract Subscriptions {
    /// @notice A one-time subscription's escrow may be released this long after it became active.
    uint256 public constant ESCROW_TIMEOUT = 7 days;

    /// What every delivery and a cancellation read (one slot).
    struct Core {
        address owner;
        uint32 activeAt;
        uint32 period;
        uint16 redundancy;
        bool paid; // paymentAmount != 0
    }

    struct Config {
        address verifier;
        uint32 frequency;
        bool lazy;
        bool outputVerifier; // the verifier declared IOutputVerifier (ERC-165) at creation
    }

    struct Payment {
        uint128 amount; // paymentAmount
        uint128 escrow; // locked in `wallet` for `owner`
    }

    /// One slot per group: a free delivery reads three slots, a paid one six.
    struct Record {
        Core core;
        bytes32 containerId;
        Config config;
        Payment payment;
        address token;
        address wallet;
        address modelTrainer; // cached royalty recipient (staking-token payments only)
    }

    IStaking public immutable staking;
    /// @notice The staking token: payments in it are usage fees routed to the reward distributor.
    address public immutable stakingToken;
    Fee public immutable fee;
    Inbox public immutable inbox;
    WalletFactory public immutable walletFactory;
    IModelRegistry public immutable modelRegistry;
    /// @notice Receives staking-token usage fees (`notifyUsage`); address(0): none.
    address public immutable rewardDistributor;

    /// @notice The next subscription id (ids start at 1, as in Infernet).
    uint32 public id = 1;
    mapping(uint32 subscriptionId => Record) internal _subs;

    event SubscriptionCreated(uint32 indexed id);
    event SubscriptionCancelled(uint32 indexed id);
    event EscrowUpdated(uint32 indexed id, uint256 escrow);

    error SubscriptionNotFound(uint32 subscriptionId);
    error NotSubscriptionOwner(uint32 subscriptionId, address caller, address owner);
    error InvalidWallet(address wallet);
    error InvalidSubscription(string field, uint256 value);
    error EscrowNotReleasable(uint32 subscriptionId, uint256 releasableAt);

    constructor(IStaking staking_, Fee fee_, address rewardDistributor_, IModelRegistry modelRegistry_) {
        staking = staking_;
        stakingToken = staking_.token();
        fee = fee_;
        rewardDistributor = rewardDistributor_;
        modelRegistry = modelRegistry_;
        inbox = new Inbox(address(this), staking_);
        walletFactory = new WalletFactory(address(this));
    }

    // =========================================================================================
    // Create and cancel
    // =========================================================================================

    /// @notice Creates a subscription owned by the caller (Infernet v1.1.0's signature).
    /// @param containerId container id string; stored as keccak256(abi.encode(containerId))
    /// @param frequency number of intervals (1: a one-time request)
    /// @param period seconds between intervals; the first one starts `period` seconds from now
    /// @param redundancy distinct nodes that may deliver each interval (> 1: commit, then reveal)
    /// @param lazy store outputs in the Inbox instead of passing them to the consumer
    /// @param paymentToken address(0) for ETH, else an ERC-20
    /// @param paymentAmount paid per delivery (0: free)
    /// @param wallet the consumer's Wallet (from `walletFactory`); the caller must be an approved spender
    /// @param verifier optional IVerifier (or IOutputVerifier) gating each payment
    function createSubscription(
        string memory containerId,
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
            _create(
                Subscription({
                    owner: msg.sender,
                    activeAt: uint32(block.timestamp) + period,
                    period: period,
                    frequency: frequency,
                    redundancy: redundancy,
                    containerId: keccak256(abi.encode(containerId)),
                    lazy: lazy,
                    verifier: payable(verifier),
                    paymentAmount: paymentAmount,
                    paymentToken: paymentToken,
                    wallet: payable(wallet)
                })
            );
    }

    /// @notice Cancels a subscription (no further delivery) and returns its escrow to the owner's
    ///         allowance. Only the owner; cancelling twice is harmless (Infernet emits again).
    function cancelSubscription(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        address owner = r.core.owner;
        if (owner != msg.sender) revert NotSubscriptionOwner(subscriptionId, msg.sender, owner);
        r.core.activeAt = type(uint32).max;
        if (r.core.paid) _releaseEscrow(subscriptionId, r);
        emit SubscriptionCancelled(subscriptionId);
    }

    /// @notice Locks the escrow of a paid subscription back up to one interval's payments
    ///         (`redundancy * paymentAmount`) from its owner's allowance. Anyone may call it (it
    ///         spends only what the owner allowed for this coordinator). Reverts if the wallet lacks it.
    function fundEscrow(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        Payment memory p = r.payment;
        if (r.core.owner == address(0)) revert SubscriptionNotFound(subscriptionId);
        if (r.core.activeAt == type(uint32).max) revert EscrowNotReleasable(subscriptionId, 0);
        uint256 target = uint256(p.amount) * r.core.redundancy;
        if (p.escrow >= target) return;
        Wallet(payable(r.wallet)).cLock(r.core.owner, r.token, target - p.escrow);
        r.payment.escrow = uint128(target);
        emit EscrowUpdated(subscriptionId, target);
    }

    /// @notice Returns a finished subscription's leftover escrow (intervals no node served) to its
    ///         owner's allowance. Anyone may call it once the last interval is over (a one-time
    ///         subscription: `ESCROW_TIMEOUT` after it became active).
    function releaseEscrow(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        if (c.owner == address(0)) revert SubscriptionNotFound(subscriptionId);
        if (c.activeAt != type(uint32).max) {
            uint256 at =
                c.period == 0
                    ? uint256(c.activeAt) + ESCROW_TIMEOUT
                    : uint256(c.activeAt) + uint256(r.config.frequency) * c.period;
            if (block.timestamp < at) revert EscrowNotReleasable(subscriptionId, at);
        }
        _releaseEscrow(subscriptionId, r);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice The subscription `subscriptionId` in Infernet's layout (all zero if none).
    function getSubscription(uint32 subscriptionId) public view returns (Subscription memory s) {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        Config memory cfg = r.config;
        s = Subscription({
            owner: c.owner,
            activeAt: c.activeAt,
            period: c.period,
            frequency: cfg.frequency,
            redundancy: c.redundancy,
            containerId: r.containerId,
            lazy: cfg.lazy,
            verifier: payable(cfg.verifier),
            paymentAmount: r.payment.amount,
            paymentToken: r.token,
            wallet: payable(r.wallet)
        });
    }

    /// @notice The interval current now for a subscription active from `activeAt` every `period`
    ///         seconds (Infernet: 1 when `period == 0`; call only once `block.timestamp >= activeAt`).
    function getSubscriptionInterval(uint32 activeAt, uint32 period) public view returns (uint32) {
        if (period == 0) return 1;
        unchecked {
            return ((uint32(block.timestamp) - activeAt) / period) + 1;
        }
    }

    /// @notice What is locked now in the subscription's wallet to pay its next deliveries.
    function escrowOf(uint32 subscriptionId) external view returns (uint256) {
        return _subs[subscriptionId].payment.escrow;
    }

    /// @notice The royalty recipient cached at creation (address(0): the delivering node).
    function modelTrainerOf(uint32 subscriptionId) external view returns (address) {
        return _subs[subscriptionId].modelTrainer;
    }

    /// @notice Whether the subscription's verifier is called with the output (IOutputVerifier).
    function usesOutputVerifier(uint32 subscriptionId) external view returns (bool) {
        return _subs[subscriptionId].config.outputVerifier;
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    /// Stores `s` as a new subscription: validates it, caches what deliveries need, locks the escrow.
    function _create(Subscription memory s) internal returns (uint32 subscriptionId) {
        if (s.owner == address(0)) revert InvalidSubscription("owner", 0);
        if (s.frequency == 0) revert InvalidSubscription("frequency", 0);
        if (s.redundancy == 0) revert InvalidSubscription("redundancy", 0);
        unchecked {
            subscriptionId = id++;
        }
        Record storage r = _subs[subscriptionId];
        r.core = Core({
            owner: s.owner,
            activeAt: s.activeAt,
            period: s.period,
            redundancy: s.redundancy,
            paid: s.paymentAmount != 0
        });
        r.containerId = s.containerId;
        bool outputVerifier =
            s.verifier != address(0) &&
                ERC165Checker.supportsInterface(s.verifier, type(IOutputVerifier).interfaceId);
        r.config = Config({
            verifier: s.verifier,
            frequency: s.frequency,
            lazy: s.lazy,
            outputVerifier: outputVerifier
        });
        if (s.paymentAmount != 0) _createPayment(subscriptionId, r, s);
        emit SubscriptionCreated(subscriptionId);
    }

    function _createPayment(uint32 subscriptionId, Record storage r, Subscription memory s) private {
        uint256 target = s.paymentAmount * s.redundancy;
        if (target > type(uint128).max) revert InvalidSubscription("paymentAmount", s.paymentAmount);
        if (!walletFactory.isValidWallet(s.wallet)) revert InvalidWallet(s.wallet);
        r.token = s.paymentToken;
        r.wallet = s.wallet;
        if (s.paymentToken == stakingToken && rewardDistributor != address(0)) {
            if (address(modelRegistry) != address(0)) r.modelTrainer = modelRegistry.royaltyAccountOf(s.containerId);
        }
        bool locked = Wallet(s.wallet).cTryLock(s.owner, s.paymentToken, target);
        r.payment = Payment({amount: uint128(s.paymentAmount), escrow: locked ? uint128(target) : 0});
        if (locked) emit EscrowUpdated(subscriptionId, target);
    }

    function _releaseEscrow(uint32 subscriptionId, Record storage r) internal {
        uint256 escrow = r.payment.escrow;
        if (escrow == 0) return;
        r.payment.escrow = 0;
        Wallet(payable(r.wallet)).cUnlock(r.core.owner, r.token, escrow);
        emit EscrowUpdated(subscriptionId, 0);
    }
}
