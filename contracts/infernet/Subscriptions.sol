// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC165Checker} from "@openzeppelin/contracts/utils/introspection/ERC165Checker.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IOutputVerifier} from "../interfaces/IVerifier.sol";
import {Subscription, SubscriptionOptions} from "./Types.sol";
import {Inbox} from "./Inbox.sol";
import {Registry} from "./Registry.sol";
import {Reader} from "./utility/Reader.sol";
import {Fee} from "./payments/Fee.sol";
import {Wallet} from "./payments/Wallet.sol";
import {WalletFactory} from "./payments/WalletFactory.sol";

/// @title Subscriptions
/// @notice The subscription book of the coordinator: creation, cancellation, the interval clock
///         (Ritual Infernet SDK v1.1.0's semantics: what is created is what `getSubscription`
///         returns, nothing is validated that Infernet validates only at delivery) and the
///         consumer-side payment escrow.
///
/// Escrow (what Infernet leaves open: a consumer that sees a delivery in the mempool and empties
/// its wallet first gets the output for free): a paid subscription moves up to one interval's
/// worth of payments (`redundancy * paymentAmount`) from its wallet into this contract when the
/// wallet allows it at creation (out of the owner's allowance, as Infernet's payment would be);
/// each delivery is paid out of it and tops it up again for the next interval. A subscription the
/// wallet could not fund is paid at delivery, straight from the wallet, as Infernet pays. The escrow
/// returns to the wallet, and to the owner's allowance there, on cancellation or once the
/// subscription is over (`releaseEscrow`).
///
/// Invariants (pinned by tests):
///  - for every token, this contract holds at least the escrows of all subscriptions, the escrowed
///    payments of all pending proof requests and (staking token) all pending usage fees;
///  - a subscription's fields never change after creation, except `activeAt` (cancellation) and its
///    escrow;
///  - escrow leaves only as payment for a delivery of its subscription or back to its wallet.
abstract contract Subscriptions {
    using SafeERC20 for IERC20;

    /// @notice A one-time subscription's escrow may be released this long after it became active.
    uint256 public constant ESCROW_TIMEOUT = 7 days;

    // Core.flags
    uint16 internal constant PAID = 1; // paymentAmount != 0
    uint16 internal constant ONE_TIME = 2; // frequency == 1 (`frequency` is not stored)
    uint16 internal constant LAZY = 4;
    uint16 internal constant VERIFIED = 8; // verifier != address(0)
    uint16 internal constant OUTPUT_VERIFIER = 16; // the verifier declared IOutputVerifier at creation
    uint16 internal constant COMMIT_REVEAL = 32;

    /// What every delivery and a cancellation read (one slot).
    struct Core {
        address owner;
        uint32 activeAt;
        uint32 period;
        uint16 redundancy;
        uint16 flags;
    }

    /// Written only when the subscription is recurring or verified (one slot).
    struct Config {
        uint32 frequency;
        address verifier;
    }

    /// Written only when the subscription pays or names a token (one slot).
    struct Payment {
        address token; // paymentToken
        uint96 amount; // paymentAmount
    }

    /// Written only when the subscription pays or names a wallet (one slot).
    struct Escrow {
        address wallet;
        uint96 amount; // held here for the subscription's next deliveries
    }

    /// One slot per group: a free one-time delivery reads two, a paid one four.
    struct Record {
        Core core;
        bytes32 containerId;
        Config config;
        Payment payment;
        Escrow escrow;
    }

    IStaking public immutable staking;
    /// @notice The staking token: payments in it are usage fees routed to the reward distributor.
    address public immutable stakingToken;
    Fee public immutable fee;
    Inbox public immutable inbox;
    WalletFactory public immutable walletFactory;
    Reader public immutable reader;
    /// @notice The addresses of this marketplace (Infernet's `Registry`): consumers take this one.
    Registry public immutable registry;
    IModelRegistry public immutable modelRegistry;
    /// @notice Receives staking-token usage fees (`notifyUsage`); address(0): none.
    address public immutable rewardDistributor;

    /// @notice The next subscription id (ids start at 1, as in Infernet).
    uint32 public id = 1;
    mapping(uint32 subscriptionId => Record) internal _subs;
    /// Wallets created by `walletFactory` (a copy of its record: checked without a call).
    mapping(address wallet => bool) internal _wallets;
    /// Set while a wallet sends ETH into the escrow (the only ETH this contract takes).
    bool private transient _receiving;

    event SubscriptionCreated(uint32 indexed id);
    event SubscriptionCancelled(uint32 indexed id);
    /// @notice The escrow of `id` changed to `escrow` other than by paying a delivery.
    event EscrowUpdated(uint32 indexed id, uint256 escrow);
    /// @notice `id` was created with PoAI options (Infernet's fields are in `getSubscription`).
    event SubscriptionOptionsSet(uint32 indexed id, SubscriptionOptions options);

    // Infernet v1.1.0's errors, with its signatures.
    error SubscriptionNotFound();
    error NotSubscriptionOwner();
    error InvalidWallet();

    error PaymentAmountTooLarge(uint256 paymentAmount, uint256 maxAmount);
    error EscrowNotReleasable(uint32 subscriptionId, uint256 releasableAt);
    error NotWalletFactory(address caller);
    error UnexpectedEther(address sender);

    constructor(IStaking staking_, Fee fee_, address rewardDistributor_, IModelRegistry modelRegistry_) {
        staking = staking_;
        stakingToken = staking_.token();
        fee = fee_;
        rewardDistributor = rewardDistributor_;
        modelRegistry = modelRegistry_;
        // Infernet's Registry names the five contracts; it is created first, with the addresses the
        // next creations of this contract will have (CREATE addresses of nonces 2..4).
        Registry registry_ = new Registry(
            address(this),
            _createdAddress(2),
            _createdAddress(4),
            address(fee_),
            _createdAddress(3)
        );
        inbox = new Inbox(registry_, staking_);
        walletFactory = new WalletFactory(registry_);
        reader = new Reader(registry_);
        assert(
            address(inbox) == registry_.INBOX() &&
                address(walletFactory) == registry_.WALLET_FACTORY() &&
                address(reader) == registry_.READER()
        );
        registry = registry_;
    }

    /// @notice Takes ETH into escrow from a wallet moving a subscription's payment (and from no one
    ///         else). A named function, not `receive`: Infernet code converts plain addresses to the
    ///         coordinator's type, which Solidity refuses for a contract with a payable fallback.
    function receiveEscrow() external payable {
        if (!_receiving) revert UnexpectedEther(msg.sender);
    }

    // =========================================================================================
    // Create and cancel
    // =========================================================================================

    /// @notice Creates a subscription owned by the caller (Infernet v1.1.0's signature and checks:
    ///         nothing is refused here that Infernet refuses only at delivery).
    /// @param containerId container id string; stored as keccak256(abi.encode(containerId))
    /// @param frequency number of intervals (1: a one-time request)
    /// @param period seconds between intervals; the first one starts `period` seconds from now
    /// @param redundancy distinct nodes that may deliver each interval
    /// @param lazy store outputs in the Inbox instead of passing them to the consumer
    /// @param paymentToken address(0) for ETH, else an ERC-20
    /// @param paymentAmount paid per delivery (0: free), below 2^96
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
                _subscription(
                    containerId,
                    frequency,
                    period,
                    redundancy,
                    lazy,
                    paymentToken,
                    paymentAmount,
                    wallet,
                    verifier
                ),
                false
            );
    }

    /// @notice `createSubscription` with PoAI's options (`SubscriptionOptions`): with
    ///         `commitReveal`, nodes deliver by `commitCompute` then `revealCompute`.
    function createSubscriptionWithOptions(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier,
        SubscriptionOptions calldata options
    ) external returns (uint32 subscriptionId) {
        subscriptionId = _create(
            _subscription(
                containerId,
                frequency,
                period,
                redundancy,
                lazy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier
            ),
            options.commitReveal
        );
        emit SubscriptionOptionsSet(subscriptionId, options);
    }

    /// @notice Cancels a subscription (no further delivery) and returns its escrow to its wallet,
    ///         in the owner's allowance. Only the owner; cancelling twice is harmless (as Infernet,
    ///         it emits again).
    function cancelSubscription(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        if (c.owner != msg.sender) revert NotSubscriptionOwner();
        r.core.activeAt = type(uint32).max;
        if (c.flags & PAID != 0) _releaseEscrow(subscriptionId, r, c.owner);
        emit SubscriptionCancelled(subscriptionId);
    }

    /// @notice Moves a paid subscription's escrow back up to one interval's payments
    ///         (`redundancy * paymentAmount`) from its wallet, out of the owner's allowance. Anyone
    ///         may call it (it spends only what the owner allowed). Reverts if the wallet lacks it.
    function fundEscrow(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        if (c.owner == address(0)) revert SubscriptionNotFound();
        if (c.activeAt == type(uint32).max) revert EscrowNotReleasable(subscriptionId, 0);
        Payment memory p = r.payment;
        Escrow memory e = r.escrow;
        uint256 target = uint256(p.amount) * c.redundancy;
        if (e.amount >= target || target > type(uint96).max) return;
        if (!_wallets[e.wallet]) revert InvalidWallet();
        _pull(Wallet(payable(e.wallet)), c.owner, p.token, target - e.amount);
        r.escrow.amount = uint96(target);
        emit EscrowUpdated(subscriptionId, target);
    }

    /// @notice Returns a finished subscription's leftover escrow (intervals no node served) to its
    ///         wallet. Anyone may call it once the last interval is over (a one-time subscription:
    ///         `ESCROW_TIMEOUT` after it became active).
    function releaseEscrow(uint32 subscriptionId) external {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        if (c.owner == address(0)) revert SubscriptionNotFound();
        if (c.activeAt != type(uint32).max) {
            uint256 at =
                c.period == 0
                    ? uint256(c.activeAt) + ESCROW_TIMEOUT
                    : uint256(c.activeAt) + uint256(_frequency(r, c)) * c.period;
            if (block.timestamp < at) revert EscrowNotReleasable(subscriptionId, at);
        }
        _releaseEscrow(subscriptionId, r, c.owner);
    }

    /// @notice Records a wallet `walletFactory` created (the factory calls it).
    function registerWallet(address wallet) external {
        if (msg.sender != address(walletFactory)) revert NotWalletFactory(msg.sender);
        _wallets[wallet] = true;
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice The subscription `subscriptionId` as it was created, in Infernet's layout (all zero
    ///         if none; `activeAt` is `type(uint32).max` once cancelled).
    function getSubscription(uint32 subscriptionId) public view returns (Subscription memory s) {
        Record storage r = _subs[subscriptionId];
        Core memory c = r.core;
        s = Subscription({
            owner: c.owner,
            activeAt: c.activeAt,
            period: c.period,
            frequency: _frequency(r, c),
            redundancy: c.redundancy,
            containerId: r.containerId,
            lazy: c.flags & LAZY != 0,
            verifier: payable(r.config.verifier),
            paymentAmount: r.payment.amount,
            paymentToken: r.payment.token,
            wallet: payable(r.escrow.wallet)
        });
    }

    /// @notice The PoAI options `subscriptionId` was created with.
    function getSubscriptionOptions(
        uint32 subscriptionId
    ) external view returns (SubscriptionOptions memory) {
        return SubscriptionOptions({commitReveal: _subs[subscriptionId].core.flags & COMMIT_REVEAL != 0});
    }

    /// @notice The interval current now for a subscription active from `activeAt` every `period`
    ///         seconds (Infernet: 1 when `period == 0`; call only once `block.timestamp >= activeAt`).
    function getSubscriptionInterval(uint32 activeAt, uint32 period) public view returns (uint32) {
        if (period == 0) return 1;
        unchecked {
            return ((uint32(block.timestamp) - activeAt) / period) + 1;
        }
    }

    /// @notice What this contract holds now to pay the subscription's next deliveries.
    function escrowOf(uint32 subscriptionId) external view returns (uint256) {
        return _subs[subscriptionId].escrow.amount;
    }

    /// @notice Whether the subscription's verifier is called with the output (IOutputVerifier).
    function usesOutputVerifier(uint32 subscriptionId) external view returns (bool) {
        return _subs[subscriptionId].core.flags & OUTPUT_VERIFIER != 0;
    }

    /// @notice Whether `wallet` was created by `walletFactory`.
    function isValidWallet(address wallet) external view returns (bool) {
        return _wallets[wallet];
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _subscription(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) private view returns (Subscription memory) {
        return
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
            });
    }

    /// Stores `s` as a new subscription (only its nonzero parts) and funds its escrow if it can.
    function _create(Subscription memory s, bool commitReveal) internal returns (uint32 subscriptionId) {
        unchecked {
            subscriptionId = id++;
        }
        Record storage r = _subs[subscriptionId];
        uint16 flags = commitReveal ? COMMIT_REVEAL : 0;
        if (s.frequency == 1) flags |= ONE_TIME;
        if (s.lazy) flags |= LAZY;
        if (s.paymentAmount != 0) {
            if (s.paymentAmount > type(uint96).max)
                revert PaymentAmountTooLarge(s.paymentAmount, type(uint96).max);
            flags |= PAID;
        }
        if (s.verifier != address(0)) {
            flags |= VERIFIED;
            if (ERC165Checker.supportsInterface(s.verifier, type(IOutputVerifier).interfaceId))
                flags |= OUTPUT_VERIFIER;
        }
        r.core = Core({
            owner: s.owner,
            activeAt: s.activeAt,
            period: s.period,
            redundancy: s.redundancy,
            flags: flags
        });
        r.containerId = s.containerId;
        if (s.frequency != 1 || s.verifier != address(0))
            r.config = Config({frequency: s.frequency, verifier: s.verifier});
        if (s.paymentToken != address(0) || s.paymentAmount != 0)
            r.payment = Payment({token: s.paymentToken, amount: uint96(s.paymentAmount)});
        emit SubscriptionCreated(subscriptionId);
        uint256 escrow;
        if (s.paymentAmount != 0) {
            uint256 target = s.paymentAmount * s.redundancy;
            // The wallet's Transfer to this contract announces the escrow.
            if (
                s.frequency != 0 &&
                target != 0 &&
                target <= type(uint96).max &&
                _wallets[s.wallet] &&
                _tryPull(Wallet(s.wallet), s.owner, s.paymentToken, target)
            ) escrow = target;
        }
        if (s.wallet != address(0)) r.escrow = Escrow({wallet: s.wallet, amount: uint96(escrow)});
    }

    function _frequency(Record storage r, Core memory c) internal view returns (uint32) {
        return c.flags & ONE_TIME != 0 ? 1 : r.config.frequency;
    }

    /// Moves `amount` of `token` from `wallet` into escrow, out of `spender`'s allowance; reverts
    /// (with the wallet's error) if it cannot.
    function _pull(Wallet wallet, address spender, address token, uint256 amount) internal {
        _receiving = true;
        wallet.cTransfer(spender, token, address(this), amount);
        _receiving = false;
    }

    /// The same, returning false instead of reverting when the allowance or the funds are short.
    function _tryPull(
        Wallet wallet,
        address spender,
        address token,
        uint256 amount
    ) internal returns (bool ok) {
        _receiving = true;
        ok = wallet.cTryTransfer(spender, token, address(this), amount);
        _receiving = false;
    }

    /// Returns `amount` of `token` held here to `wallet`, in `spender`'s allowance there.
    function _refund(address wallet, address spender, address token, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) {
            Wallet(payable(wallet)).cRefund{value: amount}(spender, token, amount);
        } else {
            IERC20(token).safeTransfer(wallet, amount);
            Wallet(payable(wallet)).cRefund(spender, token, amount);
        }
    }

    /// Pays `amount` of `token` held here to `to`.
    function _send(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, ) = payable(to).call{value: amount}("");
            if (!ok) revert Wallet.TransferFailed(token, to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    function _releaseEscrow(uint32 subscriptionId, Record storage r, address owner) internal {
        Escrow memory e = r.escrow;
        if (e.amount == 0) return;
        r.escrow.amount = 0;
        _refund(e.wallet, owner, r.payment.token, e.amount);
        emit EscrowUpdated(subscriptionId, 0);
    }

    /// The address `new` gives the `nonce`-th contract this contract creates (nonce < 128).
    function _createdAddress(uint256 nonce) private view returns (address) {
        return
            address(
                uint160(uint256(keccak256(abi.encodePacked(bytes2(0xd694), address(this), uint8(nonce)))))
            );
    }
}
