// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IOutputVerifier} from "../interfaces/IVerifier.sol";
import {ICoordinatorVerification} from "../interfaces/ICoordinatorVerification.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title TestVerifier
/// @notice Test-only verifier: optimistic (records each request; `settle` answers later), or atomic
///         (answers valid / invalid inside the delivery), or hostile (calls a target during the
///         request). Declares IOutputVerifier through ERC-165 only when built with `outputAware`.
contract TestVerifier is IOutputVerifier, IERC165 {
    enum Mode {
        Optimistic,
        AtomicValid,
        AtomicInvalid,
        Call
    }

    struct Request {
        uint32 subscriptionId;
        uint32 interval;
        address node;
        bytes32 containerId;
        bytes input;
        bytes output;
        bytes proof;
        bool withOutput;
    }

    ICoordinatorVerification public coordinator;
    bool public immutable outputAware;
    address public wallet;
    Mode public mode;
    address public callTarget;
    bytes public callData;
    bool public lastCallOk;
    bytes public lastCallReturn;
    mapping(address token => bool) public supported;
    mapping(address token => uint256) public fees;
    Request public last;
    uint256 public requests;

    constructor(bool outputAware_, address wallet_) {
        outputAware = outputAware_;
        wallet = wallet_;
    }

    receive() external payable {}

    function setCoordinator(ICoordinatorVerification coordinator_) external {
        coordinator = coordinator_;
    }

    function setFee(address token, bool ok, uint256 fee_) external {
        supported[token] = ok;
        fees[token] = fee_;
    }

    function setMode(Mode mode_, address target, bytes calldata data) external {
        mode = mode_;
        callTarget = target;
        callData = data;
    }

    function settle(uint32 subscriptionId, uint32 interval, address node, bool valid) external {
        coordinator.finalizeProofVerification(subscriptionId, interval, node, valid);
    }

    function getWallet() external view returns (address) {
        return wallet;
    }

    function isSupportedToken(address token) external view returns (bool) {
        return supported[token];
    }

    function fee(address token) external view returns (uint256) {
        return fees[token];
    }

    function requestProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata proof
    ) external {
        last = Request(subscriptionId, interval, node, bytes32(0), "", "", proof, false);
        _answer(subscriptionId, interval, node);
    }

    function requestOutputVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external {
        last = Request(subscriptionId, interval, node, containerId, input, output, proof, true);
        _answer(subscriptionId, interval, node);
    }

    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        if (interfaceId == type(IERC165).interfaceId) return true;
        return outputAware && interfaceId == type(IOutputVerifier).interfaceId;
    }

    function _answer(uint32 subscriptionId, uint32 interval, address node) private {
        ++requests;
        Mode m = mode;
        if (m == Mode.AtomicValid || m == Mode.AtomicInvalid) {
            coordinator.finalizeProofVerification(subscriptionId, interval, node, m == Mode.AtomicValid);
        } else if (m == Mode.Call) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = callTarget.call(callData);
            lastCallOk = ok;
            lastCallReturn = ret;
        }
    }
}

/// @title TestModelRegistry
/// @notice Test-only model registry: a royalty recipient per container id.
contract TestModelRegistry is IModelRegistry {
    mapping(bytes32 containerId => address) public trainers;

    function setTrainer(bytes32 containerId, address trainer) external {
        trainers[containerId] = trainer;
    }

    function getModel(bytes32 containerId) external view returns (Model memory m) {
        m.trainer = trainers[containerId];
        m.active = m.trainer != address(0);
        m.approved = m.active;
    }

    function trainerOf(bytes32 containerId) external view returns (address) {
        return trainers[containerId];
    }
}

/// @title TestERC1271Signer
/// @notice Test-only contract signer: accepts a digest signed by its owner key (ERC-1271).
contract TestERC1271Signer is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        return
            err == ECDSA.RecoverError.NoError && signer == owner
                ? IERC1271.isValidSignature.selector
                : bytes4(0);
    }
}

/// @title TestReentrantReceiver
/// @notice Test-only ETH receiver (a fee recipient, a verifier wallet) that calls a target from
///         `receive` once armed, recording the outcome; optionally refuses ETH.
contract TestReentrantReceiver {
    address public target;
    bytes public data;
    bool public armed;
    bool public refuse;
    bool public lastOk;
    bytes public lastReturn;

    error Refused();
    error CallFailed(bytes returnData);

    /// @notice Calls `to` as this contract (lets it own a wallet, or be a node's fee recipient).
    function execute(address to, bytes calldata data_) external returns (bytes memory ret) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, ret) = to.call(data_);
        if (!ok) revert CallFailed(ret);
    }

    function arm(address target_, bytes calldata data_, bool refuse_) external {
        target = target_;
        data = data_;
        armed = true;
        refuse = refuse_;
    }

    // solhint-disable-next-line no-complex-fallback
    receive() external payable {
        if (refuse) revert Refused();
        if (!armed) return;
        armed = false;
        // solhint-disable-next-line avoid-low-level-calls
        (lastOk, lastReturn) = target.call(data);
    }
}

/// @title TestHookToken
/// @notice Test-only ERC-20 whose next transfer, once armed, calls `target` with `data` (a
///         malicious or hook-bearing payment token), recording the outcome without reverting.
contract TestHookToken is ERC20 {
    address public target;
    bytes public data;
    bool public armed;
    bool public lastOk;
    bytes public lastReturn;
    uint256 public hookCalls;

    constructor(address holder, uint256 supply) ERC20("Hook", "HOOK") {
        _mint(holder, supply);
    }

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
        armed = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (!armed) return;
        armed = false;
        ++hookCalls;
        // solhint-disable-next-line avoid-low-level-calls
        (lastOk, lastReturn) = target.call(data);
    }
}
