// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Subscription} from "./Types.sol";
import {Coordinator} from "./Coordinator.sol";
import {Delegator} from "./pattern/Delegator.sol";
import {Fee} from "./payments/Fee.sol";

/// @title EIP712Coordinator
/// @notice The coordinator with delegated subscriptions (Ritual Infernet SDK v1.1.0's
///         `EIP712Coordinator`): a consumer contract's signer (`Delegator.getSigner()`, an EOA or
///         an ERC-1271 contract) signs a subscription off-chain; anyone creates it with
///         `createSubscriptionDelegatee`, or a node creates it and delivers in one transaction with
///         `deliverComputeDelegatee`. Same EIP-712 domain name, version and types as Infernet, same
///         errors; a contract signer may also answer through ERC-1271.
///
/// Invariants (pinned by tests):
///  - one subscription per (owner, nonce): replaying a signature returns the subscription it created;
///  - an expired signature, or one not from the owner's current signer, creates nothing.
contract EIP712Coordinator is EIP712, Coordinator {
    string public constant EIP712_NAME = "InfernetCoordinator";
    string public constant EIP712_VERSION = "1";

    bytes32 private constant SUBSCRIPTION_TYPEHASH = keccak256(
        "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,"
        "bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );
    bytes32 private constant DELEGATE_SUBSCRIPTION_TYPEHASH = keccak256(
        "DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub)"
        "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,"
        "bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /// @notice Subscribing contract => highest nonce it has used (helps off-chain signers).
    mapping(address owner => uint32) public maxSubscriberNonce;
    /// @notice keccak256(abi.encode(owner, nonce)) => the subscription that signature created.
    mapping(bytes32 key => uint32) public delegateCreatedIds;

    // Infernet v1.1.0's errors, with its signatures (`InvalidSignature` is its ECDSA library's).
    error SignatureExpired();
    error SignerMismatch();
    error InvalidSignature();

    constructor(
        IStaking staking_,
        Fee fee_,
        address rewardDistributor_,
        IModelRegistry modelRegistry_,
        uint256 commitWindow_
    )
        EIP712(EIP712_NAME, EIP712_VERSION)
        Coordinator(staking_, fee_, rewardDistributor_, modelRegistry_, commitWindow_)
    {}

    /// @notice Creates `sub` on behalf of `sub.owner` from its signer's EIP-712 signature of
    ///         DelegateSubscription(nonce, expiry, sub); returns the existing id if (owner, nonce)
    ///         was already used. `sub` is stored as signed (including `activeAt`).
    function createSubscriptionDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) public returns (uint32) {
        bytes32 key = keccak256(abi.encode(sub.owner, nonce));
        uint32 existing = delegateCreatedIds[key];
        if (existing != 0) return existing;
        if (uint32(block.timestamp) >= expiry) revert SignatureExpired();
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(DELEGATE_SUBSCRIPTION_TYPEHASH, nonce, expiry, _hashSubscription(sub)))
        );
        address signer = Delegator(sub.owner).getSigner();
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, v, r, s);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
            if (recovered != signer) revert SignerMismatch();
        } else if (!SignatureChecker.isValidERC1271SignatureNow(signer, digest, abi.encodePacked(r, s, v))) {
            revert SignerMismatch();
        }
        uint32 subscriptionId = _create(sub, false);
        delegateCreatedIds[key] = subscriptionId;
        if (nonce > maxSubscriberNonce[sub.owner]) maxSubscriberNonce[sub.owner] = nonce;
        return subscriptionId;
    }

    /// @notice Creates (or finds) the delegated subscription and delivers its output, atomically.
    function deliverComputeDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) external {
        uint32 subscriptionId = createSubscriptionDelegatee(nonce, expiry, sub, v, r, s);
        deliverCompute(subscriptionId, deliveryInterval, input, output, proof, nodeWallet);
    }

    /// @notice The EIP-712 digest a signer signs for (`nonce`, `expiry`, `sub`).
    function delegateSubscriptionDigest(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub
    ) external view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(DELEGATE_SUBSCRIPTION_TYPEHASH, nonce, expiry, _hashSubscription(sub)))
            );
    }

    function _hashSubscription(Subscription calldata sub) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    SUBSCRIPTION_TYPEHASH,
                    sub.owner,
                    sub.activeAt,
                    sub.period,
                    sub.frequency,
                    sub.redundancy,
                    sub.containerId,
                    sub.lazy,
                    sub.verifier,
                    sub.paymentAmount,
                    sub.paymentToken,
                    sub.wallet
                )
            );
    }
}
