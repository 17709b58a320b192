// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IVerifier, IOutputVerifier} from "../interfaces/IVerifier.sol";
import {IUsageFeeSink} from "./Types.sol";
import {Subscriptions} from "./Subscriptions.sol";
import {Wallet} from "./payments/Wallet.sol";

/// @notice A delivery waiting for its verifier's verdict (Infernet v1.1.0's `ProofRequest`, same
///         fields and layout).
struct ProofRequest {
    uint32 expiry; // after it, anyone settles the delivery in the node's favour
    Wallet nodeWallet; // holds the node's collateral (`paymentAmount`)
    uint256 consumerEscrowed; // the node's payment, held by the coordinator until the verdict
}

/// @title Payments
/// @notice How a delivery is paid (Ritual Infernet SDK v1.1.0's amounts, to the wei) and what it
///         records for PoAI. Out of the subscription's escrow (or, unfunded, straight from the
///         consumer's wallet as Infernet pays): the protocol fee (`2 * fee` bps) to the fee
///         recipient, then either the node's payment at once (no verifier), or the verifier's fee
///         (minus `fee` bps for the protocol) with the rest held until `finalizeProofVerification`
///         while the node's collateral (`paymentAmount`, from the node's own wallet) is locked.
///
///         The node's payment goes to its wallet, except in the staking token: there it is a usage
///         fee, accrued here per (node, model) and forwarded to the reward distributor by
///         `flushUsageFees` (anyone may call it), which splits it between the node's pool, the
///         model trainer's pool (the royalty recipient the ModelRegistry names at that moment: a
///         model bound to a valid challenge or approved by governance, and active) and the protocol.
///
///         Usage: every accepted delivery (no verifier, or settled valid) counts in its node's
///         record for its model, one slot per (node, model): the epoch of the node's latest
///         delivery of the model, the deliveries in that epoch and the usage fees not yet flushed.
///
/// Invariants (pinned by tests):
///  - this contract's staking-token balance >= the escrows in it + the pending proof payments in
///    it + the sum of pending usage fees;
///  - a pending proof request holds exactly its `consumerEscrowed` here and `paymentAmount` of
///    collateral locked in the node's wallet; settling it moves both, once.
abstract contract Payments is Subscriptions {
    uint256 internal constant BPS = 10_000;
    /// @notice After this long, anyone may settle a pending verification in the node's favour.
    uint32 public constant PROOF_WINDOW = 1 weeks;

    /// @notice A node's use of a model (one slot).
    struct Usage {
        uint32 epoch; // the epoch of the node's latest accepted delivery of the model
        uint32 deliveries; // accepted deliveries in `epoch`
        uint192 pendingFees; // staking-token usage fees accrued and not yet flushed
    }

    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    /// @notice keccak256(abi.encode(subscriptionId, interval, node)) => the pending verification.
    mapping(bytes32 key => ProofRequest) public proofRequests;
    mapping(address node => mapping(bytes32 containerId => Usage)) internal _usage;

    event ProofVerificationRequested(
        uint32 indexed id,
        uint32 interval,
        address indexed node,
        address verifier,
        uint256 escrowed
    );
    event UsageFeesFlushed(
        address indexed node,
        bytes32 indexed containerId,
        address indexed modelTrainer,
        uint256 amount
    );

    // Infernet v1.1.0's error, with its signature.
    error UnsupportedVerifierToken();

    error VerifierFeeTooHigh(uint256 verifierFee, uint256 available);
    error NothingToFlush(address node, bytes32 containerId);

    constructor(IStaking staking_, address rewardDistributor_) {
        uint256 g = staking_.epochStart(0);
        genesis = g;
        epochLength = staking_.epochStart(1) - g;
        if (rewardDistributor_ != address(0))
            IERC20(staking_.token()).approve(rewardDistributor_, type(uint256).max);
    }

    /// @notice The staking epoch now (same clock as `Staking.currentEpoch`).
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochLength;
    }

    /// @notice `node`'s use of model `containerId`: the epoch of its latest accepted delivery, the
    ///         deliveries in that epoch and the staking-token usage fees waiting for `flushUsageFees`.
    function usageOf(address node, bytes32 containerId) external view returns (Usage memory) {
        return _usage[node][containerId];
    }

    /// @notice The deliveries `node` made of `containerId` in `epoch` (0 once a later epoch began
    ///         for the pair: the record keeps the latest epoch only; earlier ones are in the events).
    function deliveriesIn(address node, bytes32 containerId, uint256 epoch) external view returns (uint256) {
        Usage memory u = _usage[node][containerId];
        return u.epoch == epoch && u.deliveries != 0 ? u.deliveries : 0;
    }

    // =========================================================================================
    // Internals used by the coordinator
    // =========================================================================================

    /// Pays `msg.sender`'s delivery of (`subscriptionId`, `interval`). With a verifier, holds the
    /// node's payment and locks its collateral instead, and returns true (the caller then asks the
    /// verifier).
    function _pay(
        uint32 subscriptionId,
        uint32 interval,
        Record storage r,
        Core memory c,
        bytes32 containerId,
        address nodeWallet
    ) internal returns (bool verify) {
        // Infernet checks the node's wallet first, then the consumer's (only when it pays from it).
        if (!_wallets[nodeWallet]) revert InvalidWallet();
        Payment memory p = r.payment;
        Escrow memory e = r.escrow;
        address token = p.token;
        uint256 amount = p.amount;
        bool escrowed = e.amount >= amount;
        Wallet wallet = Wallet(payable(e.wallet));
        if (!escrowed && !_wallets[address(wallet)]) revert InvalidWallet();
        (uint16 feeBps, address recipient) = fee.feeInfo();
        uint256 protocolFee = (amount * feeBps * 2) / BPS;
        if (c.flags & VERIFIED == 0) {
            uint256 rest = amount - protocolFee;
            bool routed = _routed(token);
            if (escrowed) {
                _send(token, recipient, protocolFee);
                if (!routed) _send(token, nodeWallet, rest);
            } else {
                wallet.cTransfer(c.owner, token, recipient, protocolFee);
                wallet.cTransfer(c.owner, token, routed ? address(this) : nodeWallet, rest);
            }
            _recordUsage(containerId, msg.sender, routed ? rest : 0);
        } else {
            verify = true;
            _holdForProof(
                subscriptionId,
                interval,
                r,
                c,
                token,
                amount,
                escrowed,
                nodeWallet,
                feeBps,
                recipient
            );
        }
        if (escrowed) {
            uint256 escrow = e.amount - amount;
            // Tops the escrow up for the next interval (redundancy payments), if the wallet allows it.
            if (c.flags & ONE_TIME == 0 && interval < r.config.frequency) {
                uint256 target = amount * c.redundancy;
                if (
                    escrow < target &&
                    target <= type(uint96).max &&
                    _tryPull(wallet, c.owner, token, target - escrow)
                ) {
                    escrow = target;
                    emit EscrowUpdated(subscriptionId, target);
                }
            }
            r.escrow.amount = uint96(escrow);
        }
    }

    /// Verifier path: pays the protocol and the verifier, holds the rest here and locks the node's
    /// collateral in its wallet; the verifier is called by the coordinator afterwards.
    function _holdForProof(
        uint32 subscriptionId,
        uint32 interval,
        Record storage r,
        Core memory c,
        address token,
        uint256 amount,
        bool escrowed,
        address nodeWallet,
        uint16 feeBps,
        address recipient
    ) private {
        address verifierAddress = r.config.verifier;
        IVerifier verifier = IVerifier(payable(verifierAddress));
        if (!verifier.isSupportedToken(token)) revert UnsupportedVerifierToken();
        uint256 verifierFee = verifier.fee(token);
        uint256 protocolFee = (amount * feeBps * 2) / BPS;
        if (protocolFee + verifierFee > amount) revert VerifierFeeTooHigh(verifierFee, amount - protocolFee);
        uint256 verifierCut = (verifierFee * feeBps) / BPS;
        uint256 held = amount - protocolFee - verifierFee;
        address verifierWallet = verifier.getWallet();
        if (escrowed) {
            _send(token, recipient, protocolFee + verifierCut);
            _send(token, verifierWallet, verifierFee - verifierCut);
        } else {
            Wallet wallet = Wallet(payable(r.escrow.wallet));
            wallet.cTransfer(c.owner, token, recipient, protocolFee);
            wallet.cTransfer(c.owner, token, recipient, verifierCut);
            wallet.cTransfer(c.owner, token, verifierWallet, verifierFee - verifierCut);
            _pull(wallet, c.owner, token, held);
        }
        Wallet(payable(nodeWallet)).cLock(msg.sender, token, amount);
        proofRequests[keccak256(abi.encode(subscriptionId, interval, msg.sender))] = ProofRequest({
            expiry: uint32(block.timestamp) + PROOF_WINDOW,
            nodeWallet: Wallet(payable(nodeWallet)),
            consumerEscrowed: held
        });
        emit ProofVerificationRequested(subscriptionId, interval, msg.sender, verifierAddress, held);
    }

    /// Calls the verifier (after every state change of the delivery).
    function _requestVerification(
        uint32 subscriptionId,
        uint32 interval,
        Record storage r,
        Core memory c,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) internal {
        address verifier = r.config.verifier;
        if (c.flags & OUTPUT_VERIFIER != 0) {
            IOutputVerifier(payable(verifier)).requestOutputVerification(
                subscriptionId,
                interval,
                msg.sender,
                containerId,
                input,
                output,
                proof
            );
        } else {
            IVerifier(payable(verifier)).requestProofVerification(
                subscriptionId,
                interval,
                msg.sender,
                proof
            );
        }
    }

    /// Settles a proof request: `valid` pays the node and unlocks its collateral; otherwise the
    /// collateral goes to the consumer's wallet and the held payment back to the subscription's
    /// escrow (`toEscrow`) or to the wallet, in the owner's allowance (Infernet).
    function _settleProof(
        uint32 subscriptionId,
        address node,
        ProofRequest memory req,
        bool valid,
        bool toEscrow
    ) internal {
        Record storage r = _subs[subscriptionId];
        Payment memory p = r.payment;
        address token = p.token;
        uint256 amount = p.amount;
        req.nodeWallet.cUnlock(node, token, amount);
        if (valid) {
            bool routed = _routed(token);
            if (!routed) _send(token, address(req.nodeWallet), req.consumerEscrowed);
            _recordUsage(r.containerId, node, routed ? req.consumerEscrowed : 0);
        } else {
            address wallet = r.escrow.wallet;
            address owner = r.core.owner;
            req.nodeWallet.cTransfer(node, token, wallet, amount);
            if (toEscrow && r.core.activeAt != type(uint32).max) {
                // The freed slot will pay the node that serves it again: hold `amount` for it.
                uint256 escrow = r.escrow.amount + req.consumerEscrowed;
                if (escrow < amount && _tryPull(Wallet(payable(wallet)), owner, token, amount - escrow))
                    escrow = amount;
                r.escrow.amount = uint96(escrow);
                emit EscrowUpdated(subscriptionId, escrow);
            } else {
                _refund(wallet, owner, token, req.consumerEscrowed);
            }
        }
    }

    /// Forwards the staking-token fees accrued for (`node`, `containerId`) to the reward
    /// distributor, naming the model's royalty recipient now (the node when there is none).
    function _flush(address node, bytes32 containerId) internal returns (uint256 amount) {
        Usage storage u = _usage[node][containerId];
        amount = u.pendingFees;
        if (amount == 0) revert NothingToFlush(node, containerId);
        u.pendingFees = 0;
        address trainer =
            address(modelRegistry) == address(0) ? address(0) : modelRegistry.trainerOf(containerId);
        if (trainer == address(0)) trainer = node;
        IUsageFeeSink(rewardDistributor).notifyUsage(node, trainer, amount);
        emit UsageFeesFlushed(node, containerId, trainer, amount);
    }

    function _recordUsage(bytes32 containerId, address node, uint256 fees) internal {
        Usage memory u = _usage[node][containerId];
        uint32 epoch = uint32(currentEpoch());
        if (u.epoch != epoch) (u.epoch, u.deliveries) = (epoch, 0);
        u.deliveries += 1;
        if (fees != 0) u.pendingFees += uint192(fees);
        _usage[node][containerId] = u;
    }

    function _routed(address token) internal view returns (bool) {
        return token == stakingToken && rewardDistributor != address(0);
    }
}
