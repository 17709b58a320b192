// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IJobBoard} from "../interfaces/IJobBoard.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {DisputeGas} from "../libraries/DisputeGas.sol";
import {ChallengeManager} from "../poai/ChallengeManager.sol";

/// @title ModelRegistry
/// @notice PoAI-trained models that the inference marketplace serves. An active trainer registers a
///         model under an Infernet container id: its layer widths (checked against the engine's
///         limits) and the keccak256 of its checkpoint encoding (the weights), so that any
///         delivered output can be recomputed exactly (PoAIVerifier). With
///         `registerTrainedModel` the trainer also proves that the weights are the final
///         checkpoint of one of its own challenges that the committee judged valid: a Merkle
///         proof of the leaf `(steps / checkpointInterval, weightsHash)` against the challenge's
///         committed `resultRoot`; the widths are then the challenge spec's.
///
///         Royalties (`trainerOf`): only a model bound to a valid challenge, or approved by
///         governance (`setApproved`), and active, names a royalty recipient; registering a
///         container id first earns nothing (a squatter on another's id, or on an HTTP container's,
///         gets no royalty). Governance may also give a record to another trainer (`reassign`) or
///         remove it (`clear`), after which the id can be registered anew, under a new generation.
///
///         Every model the engine accepts is registered. A wrong output of one whose whole-model
///         dispute fits a transaction (`DisputeGas.bound` of its widths within `MAX_DISPUTE_GAS`)
///         is proven by recomputing it; any model's by the PoAIVerifier's bisection game over its
///         parameter tree (InferenceDisputeGame), which needs the root of that tree: the trainer
///         posts it once with `setParameterRoot` (the SDK computes it from the checkpoint). A model
///         too large for the whole-model dispute is registered inactive and becomes active when its
///         root is set, so no output of a model that could not be disputed is ever delivered.
///
/// Invariants:
///  - a container id has at most one record; while it exists its widths, weights hash and
///    generation never change (a deliverable output is a pure function of what was registered, and
///    the PoAIVerifier binds each delivery to the generation it was made for);
///  - only an active trainer registers; only the model's trainer deactivates it; governance (the
///    AccessManager) may activate, deactivate, approve, reassign or clear any model;
///  - `challengeOf(id) != 0` only if the weights hash was proven to be the final checkpoint of that
///    valid challenge of the registering trainer, and the widths are that challenge spec's;
///  - every active model is disputable: its whole-model dispute fits in `MAX_DISPUTE_GAS`, or its
///    parameter root is set (and, once set, it never changes);
///  - container ids `job/...` are the job registry's (`registerJobModel`): a job's model name can
///    never be taken by anyone else; a job's model's royalties accrue to its royalty account, which
///    the reward distributor splits between the job owner and the trainer.
contract ModelRegistry is IModelRegistry, AccessManaged {
    /// @notice Longest container id string accepted.
    uint256 public constant MAX_CONTAINER_ID_LENGTH = 256;
    /// @notice The most gas a dispute of a registered model may need (see `DisputeGas`).
    uint256 public constant MAX_DISPUTE_GAS = DisputeGas.MAX_DISPUTE_GAS;

    /// One slot of what deliveries and royalties read, then the rest.
    struct Record {
        address trainer;
        bool active;
        bool approved;
        uint32 inputs;
        uint32 classes;
        uint16 generation;
        bytes32 weightsHash;
        bytes32 challengeId;
        uint32[] widths;
        address royaltyAccount; // job models: the account whose royalties the reward distributor splits
        uint256 jobId; // job models: the job whose run produced the weights
        bytes32 parameterRoot; // root of the checkpoint's byte tree (docs/disputes.md), 0 until set
    }

    event ParameterRootSet(bytes32 indexed containerId, bytes32 root);

    error ZeroParameterRoot();
    /// A paid job's run is registered through the job registry only (as `job/<id>`, with the
    /// owner's royalty split), never under a name of the trainer's.
    error JobRunModel(bytes32 challengeId, uint256 round);
    error ParameterRootAlreadySet(bytes32 containerId, bytes32 root);

    /// @notice The prefix of the container ids only the job registry registers (`job/<jobId>`).
    bytes4 public constant JOB_PREFIX = "job/";

    IStaking public immutable staking;
    ChallengeManager public immutable challenges;
    ITaskRegistry public immutable tasks;

    mapping(bytes32 containerId => Record) private _models;
    /// The generation the next registration of a container id gets (survives `clear`).
    mapping(bytes32 containerId => uint16) private _nextGeneration;

    constructor(IStaking staking_, ChallengeManager challenges_, address authority) AccessManaged(authority) {
        staking = staking_;
        challenges = challenges_;
        tasks = challenges_.registry();
    }

    // =========================================================================================
    // Trainers
    // =========================================================================================

    /// @notice Registers a model with the given widths and weights under
    ///         `keccak256(abi.encode(containerIdString))` (the container id a subscription stores,
    ///         as Infernet v1.1.0 hashes it). Returns the container id.
    function registerModel(
        string calldata containerIdString,
        uint32[] calldata widths,
        bytes32 weightsHash
    ) external returns (bytes32 containerId) {
        _checkTrainer(containerIdString);
        containerId = _register(containerIdString, msg.sender, widths, weightsHash, bytes32(0), bytes32(0));
    }

    /// @notice Registers the final checkpoint of the caller's valid challenge `challengeId` as a
    ///         model: `proof` proves the leaf `(steps / checkpointInterval, weightsHash,
    ///         parameterRoot, 0)` of the challenge's `resultRoot` (the engine's checkpoint tree;
    ///         `parameterRoot` is the root of the checkpoint's byte tree; the final checkpoint of a
    ///         run audited by segment replay commits a zero step word); the widths are the spec's.
    function registerTrainedModel(
        string calldata containerIdString,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 challengeId,
        bytes32[] calldata proof
    ) external returns (bytes32 containerId) {
        return
            _registerTrained(containerIdString, weightsHash, parameterRoot, bytes32(0), challengeId, proof);
    }

    /// @notice As `registerTrainedModel`, for a run audited by operation sampling: its final leaf
    ///         commits the run's evaluation root `evalRoot` in its step word (docs/verifier.md,
    ///         "The score"), so `proof` proves the leaf `(steps / checkpointInterval, weightsHash,
    ///         parameterRoot, evalRoot)`.
    function registerTrainedModelWithEvalRoot(
        string calldata containerIdString,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 evalRoot,
        bytes32 challengeId,
        bytes32[] calldata proof
    ) external returns (bytes32 containerId) {
        return _registerTrained(containerIdString, weightsHash, parameterRoot, evalRoot, challengeId, proof);
    }

    function _registerTrained(
        string calldata containerIdString,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 stepRoot,
        bytes32 challengeId,
        bytes32[] calldata proof
    ) private returns (bytes32 containerId) {
        IChallengeManager.ChallengeView memory c = challenges.getChallenge(challengeId);
        if (c.status != IChallengeManager.Status.Valid)
            revert ChallengeNotValid(challengeId, uint8(c.status));
        if (c.trainer != msg.sender) revert NotChallengeTrainer(challengeId, c.trainer, msg.sender);
        ITaskRegistry.TrainingSpec memory spec = tasks.getSpec(c.specId);
        uint256 finalIndex = spec.steps / spec.checkpointInterval;
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(uint32(finalIndex), weightsHash, parameterRoot, stepRoot)))
        );
        if (!MerkleProof.verifyCalldata(proof, c.resultRoot, leaf)) {
            revert CheckpointNotProven(challengeId, finalIndex, weightsHash);
        }
        IJobBoard board = challenges.jobBoard();
        if (address(board) != address(0) && board.jobSpecOf(c.trainer, c.round) != bytes32(0)) {
            revert JobRunModel(challengeId, c.round);
        }
        _checkTrainer(containerIdString);
        containerId = _register(
            containerIdString,
            msg.sender,
            spec.widths,
            weightsHash,
            challengeId,
            parameterRoot
        );
    }

    /// @notice The job registry binds a completed job's model: the final checkpoint (already proven
    ///         under the root of `challengeId`, the job run of `trainer` that completed job `jobId`)
    ///         under `containerIdString` (`job/<jobId>`), its royalties accrued to `royaltyAccount`,
    ///         which the reward distributor splits between the job owner and the trainer.
    function registerJobModel(
        string calldata containerIdString,
        address trainer,
        uint32[] calldata widths,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 challengeId,
        uint256 jobId,
        address royaltyAccount
    ) external restricted returns (bytes32 containerId) {
        containerId = _register(containerIdString, trainer, widths, weightsHash, challengeId, parameterRoot);
        Record storage r = _models[containerId];
        r.royaltyAccount = royaltyAccount;
        r.jobId = jobId;
        emit JobModelRegistered(containerId, jobId, royaltyAccount);
    }

    /// @notice Sets the root of the byte tree of `containerId`'s checkpoint encoding (136-byte
    ///         leaves, docs/disputes.md), which the inference dispute game proves operands against;
    ///         once, by the model's trainer. A model waiting for its root (too large for the
    ///         whole-model dispute) becomes active. Serving nodes check it against the checkpoint.
    function setParameterRoot(bytes32 containerId, bytes32 root) external {
        Record storage r = _requireModel(containerId);
        if (r.trainer != msg.sender) revert NotModelTrainer(containerId, msg.sender, r.trainer);
        if (root == bytes32(0)) revert ZeroParameterRoot();
        if (r.parameterRoot != bytes32(0)) revert ParameterRootAlreadySet(containerId, r.parameterRoot);
        r.parameterRoot = root;
        emit ParameterRootSet(containerId, root);
        if (!r.active && DisputeGas.bound(r.widths) > MAX_DISPUTE_GAS) _setActive(containerId, r, true);
    }

    /// @notice Stops deliveries of the caller's model `containerId`.
    function deactivate(bytes32 containerId) external {
        Record storage r = _requireModel(containerId);
        if (r.trainer != msg.sender) revert NotModelTrainer(containerId, msg.sender, r.trainer);
        _setActive(containerId, r, false);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    /// @notice Activates or deactivates any model (e.g. suspends a model that serves harm).
    function setActive(bytes32 containerId, bool active) external restricted {
        Record storage r = _requireModel(containerId);
        if (active) _checkDisputable(r.widths, r.parameterRoot);
        _setActive(containerId, r, active);
    }

    /// @notice Approves (or withdraws approval of) the royalties of a model not bound to a challenge.
    function setApproved(bytes32 containerId, bool approved) external restricted {
        Record storage r = _requireModel(containerId);
        r.approved = approved;
        emit ModelApprovalChanged(containerId, approved);
    }

    /// @notice Gives `containerId`'s record (its royalties and its deactivation) to `trainer`; the
    ///         weights, widths and challenge stay.
    function reassign(bytes32 containerId, address trainer) external restricted {
        if (trainer == address(0)) revert ZeroTrainer();
        Record storage r = _requireModel(containerId);
        address previous = r.trainer;
        r.trainer = trainer;
        emit ModelReassigned(containerId, previous, trainer);
    }

    /// @notice Removes `containerId`'s record (a squatted or retired id); it may be registered again,
    ///         under a new generation, so a delivery made for the old model is never judged by the new.
    function clear(bytes32 containerId) external restricted {
        Record storage r = _requireModel(containerId);
        address trainer = r.trainer;
        delete _models[containerId];
        emit ModelCleared(containerId, trainer);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @inheritdoc IModelRegistry
    function getModel(bytes32 containerId) external view returns (Model memory m) {
        Record storage r = _models[containerId];
        m = Model({
            trainer: r.trainer,
            weightsHash: r.weightsHash,
            widths: r.widths,
            active: r.active,
            approved: r.approved,
            challengeId: r.challengeId,
            generation: r.generation
        });
    }

    /// @inheritdoc IModelRegistry
    function trainerOf(bytes32 containerId) external view returns (address) {
        Record storage r = _models[containerId];
        if (!r.active) return address(0);
        if (!r.approved && r.challengeId == bytes32(0)) return address(0);
        address account = r.royaltyAccount;
        return account == address(0) ? r.trainer : account;
    }

    /// @notice The job whose run produced `containerId`'s weights (0: not a job model).
    function jobOf(bytes32 containerId) external view returns (uint256) {
        return _models[containerId].jobId;
    }

    /// @notice What a delivery needs, from one storage slot: whether `containerId` takes
    ///         deliveries, its input width, its class count and its generation (0s when unregistered).
    function deliveryInfo(
        bytes32 containerId
    ) external view returns (bool active, uint32 inputs, uint32 classes, uint16 generation) {
        Record storage r = _models[containerId];
        return (r.active, r.inputs, r.classes, r.generation);
    }

    /// @notice The widths, weights hash and generation a dispute recomputes with.
    function weightsOf(
        bytes32 containerId
    ) external view returns (uint32[] memory widths, bytes32 weightsHash, uint16 generation) {
        Record storage r = _models[containerId];
        return (r.widths, r.weightsHash, r.generation);
    }

    /// @notice The root of `containerId`'s parameter tree (0: not set).
    function parameterRootOf(bytes32 containerId) external view returns (bytes32) {
        return _models[containerId].parameterRoot;
    }

    /// @notice The most gas a dispute of an output of a model of `widths` could need.
    function disputeGasBound(uint32[] calldata widths) external pure returns (uint256) {
        return DisputeGas.bound(widths);
    }

    /// @notice The valid challenge whose final checkpoint `containerId`'s weights are (0: not bound).
    function challengeOf(bytes32 containerId) external view returns (bytes32) {
        return _models[containerId].challengeId;
    }

    function isActive(bytes32 containerId) external view returns (bool) {
        return _models[containerId].active;
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    /// A trainer's own registration: an active trainer, and no name of the job registry's.
    function _checkTrainer(string calldata containerIdString) private view {
        if (!staking.isActive(msg.sender) || staking.roleOf(msg.sender) != IStaking.Role.Trainer) {
            revert NotActiveTrainer(msg.sender);
        }
        if (bytes(containerIdString).length >= 4 && bytes4(bytes(containerIdString)) == JOB_PREFIX) {
            revert ReservedContainerId(containerIdString);
        }
    }

    function _register(
        string calldata containerIdString,
        address trainer,
        uint32[] memory widths,
        bytes32 weightsHash,
        bytes32 challengeId,
        bytes32 parameterRoot
    ) private returns (bytes32 containerId) {
        uint256 length = bytes(containerIdString).length;
        if (length == 0 || length > MAX_CONTAINER_ID_LENGTH) {
            revert InvalidContainerId(length, MAX_CONTAINER_ID_LENGTH);
        }
        if (weightsHash == bytes32(0)) revert ZeroWeightsHash();
        // widths the engine refuses revert here; a model beyond the whole-model dispute waits for its
        // root, unless it comes with one proven under its challenge's result root
        bool active = DisputeGas.bound(widths) <= MAX_DISPUTE_GAS || parameterRoot != bytes32(0);
        containerId = keccak256(abi.encode(containerIdString));
        Record storage r = _models[containerId];
        if (r.trainer != address(0)) revert ModelAlreadyRegistered(containerId);
        uint16 generation = _nextGeneration[containerId];
        _nextGeneration[containerId] = generation + 1;
        r.trainer = trainer;
        r.active = active;
        r.parameterRoot = parameterRoot;
        r.inputs = widths[0];
        r.classes = widths[widths.length - 1];
        r.generation = generation;
        r.weightsHash = weightsHash;
        r.challengeId = challengeId;
        r.widths = widths;
        emit ModelRegistered(containerId, trainer, containerIdString, widths, weightsHash, challengeId);
        emit ModelStatusChanged(containerId, active, msg.sender);
        if (parameterRoot != bytes32(0)) emit ParameterRootSet(containerId, parameterRoot);
    }

    /// A model may take deliveries only if its outputs can be disputed.
    function _checkDisputable(uint32[] memory widths, bytes32 parameterRoot) private pure {
        uint256 disputeGas = DisputeGas.bound(widths);
        if (disputeGas > MAX_DISPUTE_GAS && parameterRoot == bytes32(0))
            revert ModelNotDisputable(disputeGas, MAX_DISPUTE_GAS);
    }

    function _setActive(bytes32 containerId, Record storage r, bool active) private {
        if (r.active == active) revert ModelStatusUnchanged(containerId, active);
        r.active = active;
        emit ModelStatusChanged(containerId, active, msg.sender);
    }

    function _requireModel(bytes32 containerId) private view returns (Record storage r) {
        r = _models[containerId];
        if (r.trainer == address(0)) revert UnknownModel(containerId);
    }
}
