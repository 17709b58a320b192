// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICoordinatorVerification} from "../../interfaces/ICoordinatorVerification.sol";
import {ISlashWindow} from "../../interfaces/ISlashWindow.sol";
import {IStaking} from "../../interfaces/IStaking.sol";
import {IOutputVerifier, IVerifier} from "../../interfaces/IVerifier.sol";
import {IntegerMLP} from "../../libraries/IntegerMLP.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {IInferenceGameHost, InferenceDisputeGame} from "../../disputes/InferenceDisputeGame.sol";

/// @notice The consumer view an Infernet node reads a subscription's input from (Infernet v1.1.0's
///         `BaseConsumer.getContainerInputs`).
interface IContainerInputs {
    function getContainerInputs(
        uint32 subscriptionId,
        uint32 interval,
        uint32 timestamp,
        address caller
    ) external view returns (bytes memory);
}

/// @title PoAIVerifier
/// @notice Optimistic, exact verification of inference outputs of PoAI models (ModelRegistry):
///         the coordinator hands every delivery of a subscription naming this verifier to
///         `requestOutputVerification`; the verifier checks that the delivered input is the one the
///         consumer asks for, records the delivery and opens a dispute window. During the window
///         anyone may `dispute` with the model's checkpoint: the verifier recomputes the output
///         with `IntegerMLP.forward` (integer arithmetic, so the correct output is unique) and, if
///         the delivered output differs, settles the delivery as invalid on the coordinator (the
///         consumer is refunded and paid the node's collateral) and slashes (and jails) the node,
///         paying the disputer Staking's finder's fee. After the window anyone may `finalize`: the
///         delivery is valid and the node is paid.
///
///         Formats (docs/inference-verification.md): the input is the int8 vector, `widths[0]`
///         bytes; the output is `IntegerMLP.encodeOutput(label, y)`: the label as a big-endian
///         uint32, then one int8 byte per class.
///
///         Models of any size: where recomputing the whole model does not fit a transaction,
///         `disputeByGame` opens an InferenceDisputeGame (bisection over the forward pass down to
///         one chunk of one dot product, proven against the model's registered parameter root);
///         the game reports back with `onInferenceGameResolved`, which settles the delivery the
///         same way `dispute` does when the challenger won. While a delivery has games in progress
///         it cannot be finalized, and `slashWindow` covers the longest game.
///
///         Each delivery is bound to the model generation it was made for (ModelRegistry): a
///         model cleared and registered anew by governance never judges deliveries made for the
///         old one.
///
///         Slash window (ISlashWindow): a delivery made in epoch e can be disputed, and its node
///         slashed, until `disputeWindow` after it, so at most `epochLength + disputeWindow` after
///         e began; `setParams` refuses a window that would reach Staking's `unbondingPeriod`, so
///         stake can never unbond out of reach of a pending dispute.
///
///         Input binding: at delivery, the input must equal the subscription owner's
///         `getContainerInputs(subscriptionId, interval, block.timestamp, node)` (the owner is read
///         from the coordinator's Infernet v1.1.0 `getSubscription`), else the delivery reverts. A
///         node therefore cannot be paid for an output of another input, and a consumer that later
///         changes its inputs cannot turn a correct delivery into a slash.
///
/// Invariants:
///  - a delivery is settled at most once: `Pending` becomes `Valid` (by `finalize`, only after the
///    window) or `Invalid` (by `dispute`, only within it), never anything else;
///  - `Invalid` only when `IntegerMLP.forward` of the registered weights (hash checked) on the
///    recorded input differs from the recorded output: a correct output can never be disputed;
///  - only the coordinator opens a verification; every settlement is reported to it exactly once;
///  - `Invalid` by a game only when the game's challenger won it (the game re-executed one
///    operation of the forward pass and found the node's value wrong, or the node let a deadline
///    pass); a delivery with a game in progress is never finalized as `Valid`;
///  - parameters stay within their hard bounds; the window never exceeds `MAX_DISPUTE_WINDOW`,
///    which is shorter than the coordinator's own verification timeout, and
///    `slashWindow() < Staking.unbondingPeriod` whenever the parameters are set.
contract PoAIVerifier is
    IOutputVerifier,
    IERC165,
    ISlashWindow,
    IInferenceGameHost,
    AccessManaged,
    ReentrancyGuardTransient
{
    using SafeERC20 for IERC20;

    enum Status {
        None,
        Pending,
        Valid,
        Invalid
    }

    /// @notice Governance parameters; bounds in `setParams`.
    struct Params {
        uint32 disputeWindow; // seconds after a delivery during which it can be disputed
        uint64 slashFraction; // fraction (1e18 = 100%) of the node's stake slashed for a wrong output
        bool jail; // whether a proven wrong output also jails the node
    }

    /// @notice A delivery record (one slot): `deadline << 216 | epoch << 184 | digest` while
    ///         pending, where `epoch` is the staking epoch of the delivery and `digest` the top 184
    ///         bits of `keccak256(abi.encode(containerId, generation, input, output))`; `VALID` or
    ///         `INVALID` once settled (their deadline bits are 0).
    uint256 private constant VALID = 1;
    uint256 private constant INVALID = 2;
    uint256 private constant DIGEST_MASK = (1 << 184) - 1;
    uint256 private constant EPOCH_MASK = (1 << 32) - 1;

    uint256 public constant WAD = 1e18;
    uint256 public constant MIN_DISPUTE_WINDOW = 1 minutes;
    /// @notice Longest dispute window; the coordinator's own verification timeout must be longer
    ///         (Infernet's: one week), so a delivery is always settled by this verifier first.
    uint256 public constant MAX_DISPUTE_WINDOW = 3 days;
    /// @notice The highest verification fee governance may set in any token (10^24 base units:
    ///         a million tokens of 18 decimals); a delivery's payment bounds it further.
    uint256 public constant MAX_FEE = 1e24;

    ICoordinatorVerification public immutable coordinator;
    IStaking public immutable staking;
    ModelRegistry public immutable models;
    /// @notice Staking's epoch length (seconds).
    uint256 public immutable epochLength;
    uint256 private immutable _genesis;

    Params private _params;
    address private _wallet;
    mapping(address token => uint256) private _fees;
    mapping(address token => bool) private _supported;
    mapping(bytes32 key => uint256) private _records;

    /// A delivery under dispute by games: who and what to settle when a game reports.
    struct GameDelivery {
        uint32 subscriptionId;
        uint32 interval;
        address node;
        uint32 open; // games in progress
    }

    /// @notice The bisection game for outputs of any model size (zero: not wired).
    InferenceDisputeGame public game;
    uint256 private _gamesInProgress;
    mapping(bytes32 key => GameDelivery) private _gameDeliveries;

    event OutputVerificationRequested(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        bytes32 containerId,
        uint256 deadline,
        bytes input,
        bytes output
    );
    event OutputDisputed(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        address disputer,
        bytes32 containerId,
        bytes32 deliveredOutputHash,
        bytes32 expectedOutputHash,
        uint256 slashFraction,
        uint256 offenceEpoch
    );
    event OutputAccepted(uint32 indexed subscriptionId, uint32 indexed interval, address indexed node);
    event ParamsUpdated(Params params);
    event FeeUpdated(address indexed token, uint256 fee, bool supported);
    event WalletUpdated(address wallet);
    event Withdrawn(address indexed token, address indexed to, uint256 amount);
    event GameUpdated(address game);
    event OutputGameOpened(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        address disputer,
        uint256 gameId
    );
    event OutputDisputedByGame(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        address disputer,
        uint256 slashFraction,
        uint256 offenceEpoch
    );
    event GameSlashRefused(address indexed node, bytes reason);

    error NotCoordinator(address caller);
    error ModelNotActive(bytes32 containerId);
    error InputLengthMismatch(uint256 expected, uint256 actual);
    error OutputLengthMismatch(uint256 expected, uint256 actual);
    error SubscriptionUnreadable(uint32 subscriptionId);
    error InputMismatch(uint32 subscriptionId, bytes32 askedInputHash, bytes32 deliveredInputHash);
    error AlreadyPending(uint32 subscriptionId, uint32 interval, address node);
    error NotPending(uint32 subscriptionId, uint32 interval, address node, Status status);
    error DisputeWindowClosed(uint256 deadline, uint256 nowTime);
    error DisputeWindowOpen(uint256 deadline, uint256 nowTime);
    error DeliveryMismatch(uint256 recordedDigest, uint256 givenDigest);
    error WeightsMismatch(bytes32 containerId, bytes32 weightsHash, bytes32 checkpointHash);
    error OutputCorrect(bytes32 deliveredOutputHash, bytes32 expectedOutputHash);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
    error ZeroAddress();
    error ProofVerificationUnsupported();
    error GameNotSet();
    error NotGame(address caller);
    error GamesInProgress(uint256 count);
    error DisputeInProgress(uint32 subscriptionId, uint32 interval, address node, uint256 games);
    error ParameterRootUnset(bytes32 containerId);
    /// @notice The slash window `slashWindow` the parameters give would reach Staking's `unbondingPeriod`.
    error SlashWindowReachesUnbonding(uint256 slashWindow, uint256 unbondingPeriod);

    constructor(
        ICoordinatorVerification coordinator_,
        IStaking staking_,
        ModelRegistry models_,
        address authority,
        address wallet_,
        Params memory params_
    ) AccessManaged(authority) {
        coordinator = coordinator_;
        staking = staking_;
        models = models_;
        uint256 genesis = staking_.epochStart(0);
        _genesis = genesis;
        epochLength = staking_.epochStart(1) - genesis;
        _setWallet(wallet_);
        _setParams(params_);
    }

    /// @inheritdoc IVerifier
    receive() external payable {}

    // =========================================================================================
    // Coordinator
    // =========================================================================================

    /// @inheritdoc IOutputVerifier
    /// @dev Reverts (so the delivery is refused) when the model is not active, the input or output
    ///      has the wrong length, or the input is not the consumer's. `proof` is not used.
    function requestOutputVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata
    ) external {
        if (msg.sender != address(coordinator)) revert NotCoordinator(msg.sender);
        (bool active, uint32 inputs, uint32 classes, uint16 generation) = models.deliveryInfo(containerId);
        if (!active) revert ModelNotActive(containerId);
        if (input.length != inputs) revert InputLengthMismatch(inputs, input.length);
        uint256 outputLength = IntegerMLP.OUTPUT_LABEL_BYTES + classes;
        if (output.length != outputLength) revert OutputLengthMismatch(outputLength, output.length);
        bytes32 asked = keccak256(_consumerInputs(subscriptionId, interval, node));
        bytes32 delivered = keccak256(input);
        if (asked != delivered) revert InputMismatch(subscriptionId, asked, delivered);

        bytes32 key = _key(subscriptionId, interval, node);
        if (_records[key] >> 216 != 0) revert AlreadyPending(subscriptionId, interval, node);
        uint256 deadline = block.timestamp + _params.disputeWindow;
        uint256 epoch = (block.timestamp - _genesis) / epochLength;
        _records[key] = (deadline << 216) | (epoch << 184) | _digest(containerId, generation, input, output);
        emit OutputVerificationRequested(
            subscriptionId,
            interval,
            node,
            containerId,
            deadline,
            input,
            output
        );
    }

    /// @inheritdoc IVerifier
    /// @dev This verifier judges outputs, not proofs: a coordinator must call
    ///      `requestOutputVerification` (it declares IOutputVerifier through ERC-165).
    function requestProofVerification(uint32, uint32, address, bytes calldata) external pure {
        revert ProofVerificationUnsupported();
    }

    // =========================================================================================
    // Disputes and settlement
    // =========================================================================================

    /// @notice Proves that `node`'s delivery for (`subscriptionId`, `interval`) was wrong:
    ///         `containerId`, `input` and `output` are what was delivered (see the
    ///         `OutputVerificationRequested` event), `checkpoint` the model's checkpoint encoding.
    ///         Settles the delivery as invalid on the coordinator and slashes the node; the caller
    ///         is the reporter that earns the finder's fee. Reverts with `OutputCorrect` when the
    ///         delivered output is the model's.
    function dispute(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata checkpoint
    ) external nonReentrant {
        bytes32 key = _key(subscriptionId, interval, node);
        uint256 record = _records[key];
        uint256 deadline = record >> 216;
        if (deadline == 0) revert NotPending(subscriptionId, interval, node, _status(record));
        if (block.timestamp >= deadline) revert DisputeWindowClosed(deadline, block.timestamp);
        (uint32[] memory widths, bytes32 weightsHash, uint16 generation) = models.weightsOf(containerId);
        uint256 digest = _digest(containerId, generation, input, output);
        if (record & DIGEST_MASK != digest) revert DeliveryMismatch(record & DIGEST_MASK, digest);

        bytes32 checkpointHash = keccak256(checkpoint);
        if (checkpointHash != weightsHash) revert WeightsMismatch(containerId, weightsHash, checkpointHash);
        (bytes memory y, uint256 label) = IntegerMLP.forward(widths, checkpoint, input);
        bytes32 expected = keccak256(IntegerMLP.encodeOutput(label, y));
        bytes32 delivered = keccak256(output);
        if (expected == delivered) revert OutputCorrect(delivered, expected);

        _records[key] = INVALID;
        coordinator.finalizeProofVerification(subscriptionId, interval, node, false);
        uint256 offenceEpoch = (record >> 184) & EPOCH_MASK;
        uint256 fraction = _slash(node, offenceEpoch, msg.sender);
        emit OutputDisputed(
            subscriptionId,
            interval,
            node,
            msg.sender,
            containerId,
            delivered,
            expected,
            fraction,
            offenceEpoch
        );
    }

    /// @notice Disputes `node`'s delivery for (`subscriptionId`, `interval`) of a model of any size
    ///         by a bisection game (InferenceDisputeGame): the caller is the challenger and must have
    ///         approved the game's bond to the game. `containerId`, `input` and `output` are what was
    ///         delivered. An output whose label is not the first maximum of its scores is settled
    ///         invalid at once (returns 0); otherwise returns the game's id, and the game's result
    ///         settles the delivery. Several games may run on one delivery; none blocks another.
    function disputeByGame(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output
    ) external nonReentrant returns (uint256 gameId) {
        InferenceDisputeGame g = game;
        if (address(g) == address(0)) revert GameNotSet();
        bytes32 key = _key(subscriptionId, interval, node);
        uint256 record = _records[key];
        uint256 deadline = record >> 216;
        if (deadline == 0) revert NotPending(subscriptionId, interval, node, _status(record));
        if (block.timestamp >= deadline) revert DisputeWindowClosed(deadline, block.timestamp);
        (uint32[] memory widths, , uint16 generation) = models.weightsOf(containerId);
        uint256 digest = _digest(containerId, generation, input, output);
        if (record & DIGEST_MASK != digest) revert DeliveryMismatch(record & DIGEST_MASK, digest);
        bytes calldata y = output[IntegerMLP.OUTPUT_LABEL_BYTES:];
        if (uint32(bytes4(output[:IntegerMLP.OUTPUT_LABEL_BYTES])) != _firstMax(y)) {
            _records[key] = INVALID;
            coordinator.finalizeProofVerification(subscriptionId, interval, node, false);
            uint256 offenceEpoch = (record >> 184) & EPOCH_MASK;
            emit OutputDisputedByGame(
                subscriptionId,
                interval,
                node,
                msg.sender,
                _slash(node, offenceEpoch, msg.sender),
                offenceEpoch
            );
            return 0;
        }
        bytes32 root = models.parameterRootOf(containerId);
        if (root == bytes32(0)) revert ParameterRootUnset(containerId);
        GameDelivery storage d = _gameDeliveries[key];
        (d.subscriptionId, d.interval, d.node) = (subscriptionId, interval, node);
        ++d.open;
        ++_gamesInProgress;
        gameId = g.open(key, msg.sender, node, widths, root, input, y);
        emit OutputGameOpened(subscriptionId, interval, node, msg.sender, gameId);
    }

    /// @inheritdoc IInferenceGameHost
    /// @dev A challenger's win settles a still pending delivery as invalid and slashes the node
    ///      (a slash Staking refuses is reported, never blocks the settlement); a defender's win
    ///      only releases the delivery (it is finalized after its window once no game is left).
    function onInferenceGameResolved(bytes32 delivery, address challenger, bool challengerWins) external {
        if (msg.sender != address(game)) revert NotGame(msg.sender);
        GameDelivery storage d = _gameDeliveries[delivery];
        --d.open;
        --_gamesInProgress;
        uint256 record = _records[delivery];
        if (!challengerWins || record >> 216 == 0) return;
        _records[delivery] = INVALID;
        (uint32 subscriptionId, uint32 interval, address node) = (d.subscriptionId, d.interval, d.node);
        coordinator.finalizeProofVerification(subscriptionId, interval, node, false);
        uint256 offenceEpoch = (record >> 184) & EPOCH_MASK;
        uint256 fraction;
        try this.slashFor(node, offenceEpoch, challenger) returns (uint256 f) {
            fraction = f;
        } catch (bytes memory why) {
            emit GameSlashRefused(node, why);
        }
        emit OutputDisputedByGame(subscriptionId, interval, node, challenger, fraction, offenceEpoch);
    }

    /// @notice Internal to `onInferenceGameResolved` (an external self-call, so that a slash
    ///         Staking refuses cannot block a settlement). Only this contract may call it.
    function slashFor(address node, uint256 offenceEpoch, address reporter) external returns (uint256) {
        if (msg.sender != address(this)) revert NotGame(msg.sender);
        return _slash(node, offenceEpoch, reporter);
    }

    /// @notice After the dispute window, settles `node`'s undisputed delivery as valid (the
    ///         coordinator pays the node). Permissionless.
    function finalize(uint32 subscriptionId, uint32 interval, address node) external nonReentrant {
        bytes32 key = _key(subscriptionId, interval, node);
        uint256 record = _records[key];
        uint256 deadline = record >> 216;
        if (deadline == 0) revert NotPending(subscriptionId, interval, node, _status(record));
        if (block.timestamp < deadline) revert DisputeWindowOpen(deadline, block.timestamp);
        uint256 games = _gameDeliveries[key].open;
        if (games != 0) revert DisputeInProgress(subscriptionId, interval, node, games);
        _records[key] = VALID;
        coordinator.finalizeProofVerification(subscriptionId, interval, node, true);
        emit OutputAccepted(subscriptionId, interval, node);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
    }

    /// @notice Sets the fee in `token` (address(0): ETH) and whether the token is accepted.
    function setFee(address token, uint256 fee_, bool supported) external restricted {
        if (fee_ > MAX_FEE) revert InvalidParameter("fee", fee_, 0, MAX_FEE);
        _fees[token] = fee_;
        _supported[token] = supported;
        emit FeeUpdated(token, fee_, supported);
    }

    /// @notice Wires the bisection game (its host must be this verifier); refused while games are in
    ///         progress, and when the longest game would let stake unbond out of reach.
    function setGame(InferenceDisputeGame game_) external restricted {
        if (_gamesInProgress != 0) revert GamesInProgress(_gamesInProgress);
        if (address(game_) == address(0) || address(game_.host()) != address(this)) revert ZeroAddress();
        game = game_;
        _checkSlashWindow(_params.disputeWindow);
        emit GameUpdated(address(game_));
    }

    /// @notice Sets the address that receives the verification fees.
    function setWallet(address wallet_) external restricted {
        _setWallet(wallet_);
    }

    /// @notice Sends `amount` of `token` (address(0): ETH) held by this contract to `to` (nothing
    ///         is meant to be held here: fees go to `getWallet()`; this returns stray transfers).
    function withdraw(address token, address to, uint256 amount) external restricted nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
        emit Withdrawn(token, to, amount);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

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

    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc ISlashWindow
    /// @dev A delivery made in an epoch can be disputed until `disputeWindow` after it, and it is
    ///      made before the epoch ends: `epochLength + disputeWindow` after the epoch began at most,
    ///      plus the longest game (`game.maxDuration()`) opened at the window's end.
    function slashWindow() public view returns (uint256) {
        return _window(_params.disputeWindow);
    }

    /// @notice The verification state of `node`'s delivery for (`subscriptionId`, `interval`) and,
    ///         while pending, the end of its dispute window.
    function verificationOf(
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) external view returns (Status status, uint256 deadline) {
        uint256 record = _records[_key(subscriptionId, interval, node)];
        return (_status(record), record >> 216);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return
            interfaceId == type(IOutputVerifier).interfaceId ||
            interfaceId == type(IVerifier).interfaceId ||
            interfaceId == type(ISlashWindow).interfaceId ||
            interfaceId == type(IERC165).interfaceId;
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _key(uint32 subscriptionId, uint32 interval, address node) private pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node));
    }

    function _digest(
        bytes32 containerId,
        uint16 generation,
        bytes calldata input,
        bytes calldata output
    ) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(containerId, generation, input, output))) >> 72;
    }

    function _status(uint256 record) private pure returns (Status) {
        if (record >> 216 != 0) return Status.Pending;
        if (record == VALID) return Status.Valid;
        if (record == INVALID) return Status.Invalid;
        return Status.None;
    }

    /// The input the subscription's owner asks `node` to run on now.
    function _consumerInputs(
        uint32 subscriptionId,
        uint32 interval,
        address node
    ) private view returns (bytes memory) {
        // Infernet v1.1.0's `getSubscription(uint32)` returns a static struct whose first field is
        // the owner; a coordinator whose struct has dynamic fields returns it behind a 0x20 offset.
        (bool ok, bytes memory ret) = address(coordinator).staticcall(
            abi.encodeWithSignature("getSubscription(uint32)", subscriptionId)
        );
        if (!ok || ret.length < 32) revert SubscriptionUnreadable(subscriptionId);
        uint256 word = abi.decode(ret, (uint256));
        if (word == 0x20 && ret.length >= 64) {
            assembly ("memory-safe") {
                word := mload(add(ret, 64))
            }
        }
        address owner = address(uint160(word));
        if (word >> 160 != 0 || owner.code.length == 0) revert SubscriptionUnreadable(subscriptionId);
        return
            IContainerInputs(owner).getContainerInputs(
                subscriptionId,
                interval,
                uint32(block.timestamp),
                node
            );
    }

    /// Slashes a registered node within Staking's current cap (`reporter`, the disputer, earns the
    /// finder's fee unless it is the node itself). Returns the fraction slashed (0 when there is nothing to slash).
    function _slash(address node, uint256 offenceEpoch, address reporter) private returns (uint256 fraction) {
        if (staking.roleOf(node) == IStaking.Role.None) return 0;
        fraction = Math.min(_params.slashFraction, staking.params().maxSlashFraction);
        if (fraction == 0) return 0;
        address[] memory reporters = new address[](reporter == node ? 0 : 1);
        if (reporters.length != 0) reporters[0] = reporter;
        staking.slash(node, fraction, reporters, _params.jail, offenceEpoch);
    }

    function _setParams(Params memory p) private {
        _bound("disputeWindow", p.disputeWindow, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        _bound("slashFraction", p.slashFraction, 1, WAD);
        _checkSlashWindow(p.disputeWindow);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _window(uint256 disputeWindow) private view returns (uint256) {
        InferenceDisputeGame g = game;
        return epochLength + disputeWindow + (address(g) == address(0) ? 0 : g.maxDuration());
    }

    function _checkSlashWindow(uint256 disputeWindow) private view {
        uint256 window = _window(disputeWindow);
        uint256 unbonding = staking.params().unbondingPeriod;
        if (window >= unbonding) revert SlashWindowReachesUnbonding(window, unbonding);
    }

    /// The index of the first maximum of the int8 scores `y` (IntegerMLP's label rule).
    function _firstMax(bytes calldata y) private pure returns (uint32 best) {
        int8 top = type(int8).min;
        for (uint256 c; c < y.length; ++c) {
            int8 v = int8(uint8(y[c]));
            if (c == 0 || v > top) (top, best) = (v, uint32(c));
        }
    }

    function _setWallet(address wallet_) private {
        if (wallet_ == address(0)) revert ZeroAddress();
        _wallet = wallet_;
        emit WalletUpdated(wallet_);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
