// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IVerifier, IOutputVerifier} from "../interfaces/IVerifier.sol";
import {IUsageFeeSink} from "./Types.sol";
import {Subscriptions} from "./Subscriptions.sol";
import {Wallet} from "./payments/Wallet.sol";

/// @title Payments
/// @notice How a delivery is paid (Ritual Infernet SDK v1.1.0's flow) and what it records for PoAI.
///         Out of the consumer's escrow: the protocol fee (`2 * fee` bps) to the fee recipient, then
///         either the node's payment at once (no verifier), or the verifier's fee (minus `fee` bps
///         for the protocol) with the rest kept locked while the node's collateral (`paymentAmount`,
///         from the node's own wallet) is locked too, until `finalizeProofVerification`.
///
///         The node's payment goes to its wallet, except in the staking token: there it is a usage
///         fee, accrued here per (node, model trainer) and forwarded to the reward distributor by
///         `flushUsageFees` (anyone may call it), which splits it between the node's pool, the model
///         trainer's pool and the protocol. A model without a registered trainer pays its royalty to
///         the delivering node.
///
///         Usage: every accepted delivery (no verifier, or verified valid) counts once in
///         `usage[containerId][epoch]` and `nodeUsage[node][epoch]`, with the staking-token fee it paid.
///
/// Invariants (pinned by tests):
///  - this contract's staking-token balance >= the sum of pendingUsageFees (each accrual follows
///    the transfer of its amount here, each flush sends exactly the amount it clears);
///  - a pending proof request holds exactly its `escrowed` in the consumer's wallet and
///    `paymentAmount` of collateral in the node's wallet; settling it moves both, once.
abstract contract Payments is Subscriptions {
    using SafeERC20 for IERC20;

    uint256 internal constant BPS = 10_000;
    /// @notice After this long, anyone may settle a pending verification in the node's favour.
    uint32 public constant PROOF_WINDOW = 1 weeks;

    /// @notice A delivery waiting for its verifier's verdict.
    struct ProofRequest {
        uint32 expiry;
        address nodeWallet; // holds the node's collateral (paymentAmount)
        uint128 escrowed; // still locked in the consumer's wallet for the node
    }

    /// @notice Deliveries and staking-token fees, per model or per node, in one epoch.
    struct Usage {
        uint64 deliveries;
        uint192 fees;
    }

    struct FeeQuote {
        uint16 bps;
        address recipient;
        uint256 protocolFee;
    }

    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    mapping(bytes32 key => ProofRequest) internal _proofs;
    /// @notice containerId => epoch => accepted deliveries and staking-token fees.
    mapping(bytes32 containerId => mapping(uint256 epoch => Usage)) public usage;
    /// @notice node => epoch => accepted deliveries and staking-token fees.
    mapping(address node => mapping(uint256 epoch => Usage)) public nodeUsage;
    /// @notice Staking-token fees waiting for `flushUsageFees`, per (node, model trainer).
    mapping(address node => mapping(address modelTrainer => uint256)) public pendingUsageFees;

    event ProofVerificationRequested(
        uint32 indexed id,
        uint32 interval,
        address indexed node,
        address verifier,
        uint256 escrowed
    );
    event UsageFeesFlushed(address indexed node, address indexed modelTrainer, uint256 amount);

    error UnsupportedVerifierToken(address verifier, address token);
    error VerifierFeeTooHigh(uint256 verifierFee, uint256 available);
    error NothingToFlush(address node, address modelTrainer);

    constructor(IStaking staking_, address rewardDistributor_) {
        uint256 g = staking_.epochStart(0);
        genesis = g;
        epochLength = staking_.epochStart(1) - g;
        if (rewardDistributor_ != address(0))
            IERC20(staking_.token()).forceApprove(rewardDistributor_, type(uint256).max);
    }

    /// @notice The staking epoch now (same clock as `Staking.currentEpoch`).
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochLength;
    }

    /// @notice The pending verification of `node`'s delivery for (`subscriptionId`, `interval`).
    function proofRequest(
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) external view returns (ProofRequest memory) {
        return _proofs[_proofKey(subscriptionId, interval, node)];
    }

    // =========================================================================================
    // Internals used by the coordinator
    // =========================================================================================

    /// Pays `node`'s delivery out of the subscription's escrow and tops the escrow up for the next
    /// interval. With a verifier, escrows instead and returns the proof request's key (0 otherwise).
    function _pay(
        uint32 subscriptionId,
        uint32 interval,
        Record storage r,
        Core memory c,
        Config memory cfg,
        address nodeWallet
    ) internal returns (bytes32 proofKey) {
        Payment memory p = r.payment;
        uint128 stored = p.escrow;
        address token = r.token;
        Wallet wallet = Wallet(payable(r.wallet));
        uint256 amount = p.amount;
        if (p.escrow < amount) {
            // Nothing escrowed (the wallet could not cover it at creation): pay as Infernet does.
            wallet.cLock(c.owner, token, amount - p.escrow);
            p.escrow = uint128(amount);
        }
        (uint16 feeBps, address recipient) = fee.feeInfo();
        uint256 protocolFee = (amount * feeBps * 2) / BPS;
        if (cfg.verifier == address(0)) {
            uint256 rest = amount - protocolFee;
            if (_routed(token)) {
                _transferLocked(wallet, c.owner, token, recipient, protocolFee, address(this), rest);
                _accrue(msg.sender, r.modelTrainer, rest);
                _recordUsage(r.containerId, msg.sender, rest);
            } else {
                _transferLocked(
                    wallet,
                    c.owner,
                    token,
                    recipient,
                    protocolFee,
                    _checkWallet(nodeWallet),
                    rest
                );
                _recordUsage(r.containerId, msg.sender, 0);
            }
        } else {
            FeeQuote memory q = FeeQuote({bps: feeBps, recipient: recipient, protocolFee: protocolFee});
            proofKey = _escrowForProof(
                subscriptionId,
                interval,
                c.owner,
                cfg,
                wallet,
                token,
                amount,
                nodeWallet,
                q
            );
        }
        unchecked {
            p.escrow -= uint128(amount);
        }
        uint256 target = interval < cfg.frequency ? amount * c.redundancy : 0;
        if (p.escrow < target && wallet.cTryLock(c.owner, token, target - p.escrow))
            p.escrow = uint128(target);
        if (p.escrow != stored) r.payment.escrow = p.escrow;
        // A delivery spends exactly `amount` (SubscriptionFulfilled says so); only a lock is announced.
        if (p.escrow + amount != stored) emit EscrowUpdated(subscriptionId, p.escrow);
    }

    /// Verifier path: pays the protocol and the verifier, keeps the rest locked for the node and
    /// locks the node's collateral; the verifier is called by the coordinator afterwards.
    function _escrowForProof(
        uint32 subscriptionId,
        uint32 interval,
        address owner,
        Config memory cfg,
        Wallet wallet,
        address token,
        uint256 amount,
        address nodeWallet,
        FeeQuote memory q
    ) private returns (bytes32 key) {
        IVerifier verifier = IVerifier(payable(cfg.verifier));
        if (!verifier.isSupportedToken(token)) revert UnsupportedVerifierToken(cfg.verifier, token);
        uint256 verifierFee = verifier.fee(token);
        if (q.protocolFee + verifierFee > amount)
            revert VerifierFeeTooHigh(verifierFee, amount - q.protocolFee);
        uint256 verifierCut = (verifierFee * q.bps) / BPS;
        uint256 escrowed = amount - q.protocolFee - verifierFee;
        Wallet node = Wallet(payable(_checkWallet(nodeWallet)));
        _transferLocked(
            wallet,
            owner,
            token,
            q.recipient,
            q.protocolFee + verifierCut,
            verifier.getWallet(),
            verifierFee - verifierCut
        );
        node.cLock(msg.sender, token, amount);
        key = _proofKey(subscriptionId, interval, msg.sender);
        _proofs[key] = ProofRequest({
            expiry: uint32(block.timestamp) + PROOF_WINDOW,
            nodeWallet: address(node),
            escrowed: uint128(escrowed)
        });
        emit ProofVerificationRequested(subscriptionId, interval, msg.sender, cfg.verifier, escrowed);
    }

    /// Calls the verifier (after every state change of the delivery).
    function _requestVerification(
        uint32 subscriptionId,
        uint32 interval,
        bytes32 containerId,
        Config memory cfg,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) internal {
        if (cfg.outputVerifier) {
            IOutputVerifier(payable(cfg.verifier)).requestOutputVerification(
                subscriptionId,
                interval,
                msg.sender,
                containerId,
                input,
                output,
                proof
            );
        } else {
            IVerifier(payable(cfg.verifier)).requestProofVerification(
                subscriptionId,
                interval,
                msg.sender,
                proof
            );
        }
    }

    /// Settles a proof request: pays the node (valid) or refunds the consumer into the
    /// subscription's escrow and pays it the node's collateral (invalid).
    function _settleProof(uint32 subscriptionId, address node, ProofRequest memory req, bool valid) internal {
        Record storage r = _subs[subscriptionId];
        address owner = r.core.owner;
        address token = r.token;
        Wallet wallet = Wallet(payable(r.wallet));
        Wallet nodeWallet = Wallet(payable(req.nodeWallet));
        uint256 amount = r.payment.amount;
        if (valid) {
            nodeWallet.cUnlock(node, token, amount);
            if (_routed(token)) {
                _transferLocked(wallet, owner, token, address(this), req.escrowed, address(0), 0);
                _accrue(node, r.modelTrainer, req.escrowed);
                _recordUsage(r.containerId, node, req.escrowed);
            } else {
                _transferLocked(wallet, owner, token, address(nodeWallet), req.escrowed, address(0), 0);
                _recordUsage(r.containerId, node, 0);
            }
        } else {
            if (r.core.activeAt == type(uint32).max) {
                wallet.cUnlock(owner, token, req.escrowed);
            } else {
                uint128 escrow = r.payment.escrow + req.escrowed;
                r.payment.escrow = escrow;
                emit EscrowUpdated(subscriptionId, escrow);
            }
            _transferLocked(nodeWallet, node, token, address(wallet), amount, address(0), 0);
        }
    }

    /// @notice Forwards the staking-token fees accrued for (`node`, `modelTrainer`) to the reward
    ///         distributor (`notifyUsage`), which splits them into the pools. Anyone may call it.
    function _flush(address node, address modelTrainer) internal returns (uint256 amount) {
        amount = pendingUsageFees[node][modelTrainer];
        if (amount == 0) revert NothingToFlush(node, modelTrainer);
        pendingUsageFees[node][modelTrainer] = 0;
        IUsageFeeSink(rewardDistributor).notifyUsage(node, modelTrainer, amount);
        emit UsageFeesFlushed(node, modelTrainer, amount);
    }

    function _accrue(address node, address modelTrainer, uint256 amount) private {
        if (amount == 0) return;
        address trainer = modelTrainer == address(0) ? node : modelTrainer;
        pendingUsageFees[node][trainer] += amount;
    }

    function _recordUsage(bytes32 containerId, address node, uint256 fees) internal {
        uint256 epoch = currentEpoch();
        Usage storage m = usage[containerId][epoch];
        Usage storage n = nodeUsage[node][epoch];
        (m.deliveries, m.fees) = (m.deliveries + 1, m.fees + uint192(fees));
        (n.deliveries, n.fees) = (n.deliveries + 1, n.fees + uint192(fees));
    }

    function _routed(address token) internal view returns (bool) {
        return token == stakingToken && rewardDistributor != address(0);
    }

    function _checkWallet(address wallet) private view returns (address) {
        if (!walletFactory.isValidWallet(wallet)) revert InvalidWallet(wallet);
        return wallet;
    }

    /// Pays up to two recipients out of `spender`'s locked funds in `wallet` in one call.
    function _transferLocked(
        Wallet wallet,
        address spender,
        address token,
        address to1,
        uint256 amount1,
        address to2,
        uint256 amount2
    ) private {
        uint256 n = amount2 == 0 ? 1 : 2;
        address[] memory to = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        to[0] = to1;
        amounts[0] = amount1;
        if (n == 2) {
            to[1] = to2;
            amounts[1] = amount2;
        }
        wallet.cTransferLocked(spender, token, to, amounts);
    }

    function _proofKey(uint32 subscriptionId, uint32 interval, address node) internal pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node));
    }
}
