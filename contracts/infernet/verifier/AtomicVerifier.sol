// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IVerifier, IOutputVerifier} from "../../interfaces/IVerifier.sol";
import {ICoordinatorVerification} from "../../interfaces/ICoordinatorVerification.sol";

/// @title AtomicVerifier
/// @notice An example verifier that answers inside the delivery: the proof is an ECDSA signature
///         (EIP-191) by a whitelisted prover over
///         `keccak256(abi.encode(verifier, coordinator, subscriptionId, interval, node, keccak256(output)))`.
///         As an `IOutputVerifier` the coordinator hands it the output; called as a plain
///         `IVerifier` (no output) the signed output hash is that of empty bytes.
///         The owner whitelists provers, sets the fee per token and the wallet that receives it.
contract AtomicVerifier is IOutputVerifier, IERC165, Ownable {
    ICoordinatorVerification public immutable coordinator;

    mapping(address prover => bool) public isProver;
    mapping(address token => bool) private _supported;
    mapping(address token => uint256) private _fees;
    address private _wallet;

    event ProverUpdated(address indexed prover, bool allowed);
    event FeeUpdated(address indexed token, bool supported, uint256 fee);
    event WalletUpdated(address wallet);
    event Verified(
        uint32 indexed subscriptionId,
        uint32 interval,
        address indexed node,
        bool valid,
        address prover
    );

    error NotCoordinator(address caller);
    error ZeroWallet();

    constructor(ICoordinatorVerification coordinator_, address owner_, address wallet_) Ownable(owner_) {
        coordinator = coordinator_;
        _setWallet(wallet_);
    }

    receive() external payable {}

    // --- owner ---------------------------------------------------------------------------------

    function setProver(address prover, bool allowed) external onlyOwner {
        isProver[prover] = allowed;
        emit ProverUpdated(prover, allowed);
    }

    /// @notice Accepts (or refuses) fees in `token` (address(0): ETH) and sets the fee.
    function setFee(address token, bool supported, uint256 fee_) external onlyOwner {
        _supported[token] = supported;
        _fees[token] = fee_;
        emit FeeUpdated(token, supported, fee_);
    }

    function setWallet(address wallet_) external onlyOwner {
        _setWallet(wallet_);
    }

    // --- IVerifier -----------------------------------------------------------------------------

    /// @inheritdoc IVerifier
    function getWallet() external view returns (address) {
        return _wallet;
    }

    /// @inheritdoc IVerifier
    function isSupportedToken(address token) external view returns (bool) {
        return _supported[token];
    }

    /// @inheritdoc IVerifier
    function fee(address token) external view returns (uint256) {
        return _fees[token];
    }

    /// @inheritdoc IVerifier
    function requestProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata proof
    ) external {
        _verify(subscriptionId, interval, node, keccak256(""), proof);
    }

    /// @inheritdoc IOutputVerifier
    function requestOutputVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32,
        bytes calldata,
        bytes calldata output,
        bytes calldata proof
    ) external {
        _verify(subscriptionId, interval, node, keccak256(output), proof);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return
            interfaceId == type(IOutputVerifier).interfaceId ||
            interfaceId == type(IVerifier).interfaceId ||
            interfaceId == type(IERC165).interfaceId;
    }

    /// @notice The digest a prover signs (EIP-191) for a delivery.
    function digest(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 outputHash
    ) public view returns (bytes32) {
        return
            MessageHashUtils.toEthSignedMessageHash(
                keccak256(
                    abi.encode(
                        address(this),
                        address(coordinator),
                        subscriptionId,
                        interval,
                        node,
                        outputHash
                    )
                )
            );
    }

    function _verify(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 outputHash,
        bytes calldata proof
    ) private {
        if (msg.sender != address(coordinator)) revert NotCoordinator(msg.sender);
        (address prover, ECDSA.RecoverError err, ) = ECDSA.tryRecover(
            digest(subscriptionId, interval, node, outputHash),
            proof
        );
        bool valid = err == ECDSA.RecoverError.NoError && isProver[prover];
        emit Verified(subscriptionId, interval, node, valid, prover);
        coordinator.finalizeProofVerification(subscriptionId, interval, node, valid);
    }

    function _setWallet(address wallet_) private {
        if (wallet_ == address(0)) revert ZeroWallet();
        _wallet = wallet_;
        emit WalletUpdated(wallet_);
    }
}
