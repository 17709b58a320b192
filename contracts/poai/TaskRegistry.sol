// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {EngineSpec} from "../libraries/EngineSpec.sol";

/// @title TaskRegistry
/// @notice Governance registers training specs (stored whole, identified by
///         `keccak256(abi.encode(spec))` computed here; an engine version 2 spec with its dataset,
///         `keccak256(abi.encode(spec, dataset))`, and the URLs its dataset can be fetched from)
///         with the parameters the judgment needs, and activates or retires them. A change of the
///         active set takes effect at the next round, so the spec a round uses never changes while
///         trainers work on it.
///
/// Invariants:
///  - `specId` of a stored spec is `keccak256(abi.encode(spec))` (version 1) or
///    `keccak256(abi.encode(spec, dataset))` (version 2) of exactly the stored fields;
///  - a version 2 spec's dataset is fixed with its id; only its source URLs may change;
///  - `activeSpecsAt(r)` is fixed once round `r` has started;
///  - at most `MAX_ACTIVE` specs are active at once, so every lookup is O(1)-bounded.
contract TaskRegistry is ITaskRegistry, AccessManaged {
    uint256 public constant MAX_ACTIVE = 16;
    uint256 public constant MAX_LAYERS = EngineSpec.MAX_LAYERS;
    uint256 public constant MAX_WIDTH = EngineSpec.MAX_WIDTH;
    uint256 public constant MAX_DEADLINE = 30 days;
    uint256 public constant MAX_AUDIT_SAMPLES = 256;
    // Limits of engine version 1 (the SDK compute engine): a spec is registered only if the engine runs it.
    uint256 public constant MAX_PARAMETERS = EngineSpec.MAX_PARAMETERS;
    uint256 public constant MAX_ACTIVATIONS = EngineSpec.MAX_ACTIVATIONS;
    uint256 public constant MAX_CHECKPOINTS = EngineSpec.MAX_CHECKPOINTS;
    uint256 public constant MAX_LR_SHIFT = EngineSpec.MAX_LR_SHIFT;
    uint256 public constant MAX_EVAL_SIZE = EngineSpec.MAX_EVAL_SIZE;
    uint256 public constant BPS = 10_000;
    /// @notice Most dataset source URLs per spec, and the longest URL.
    uint256 public constant MAX_DATASET_SOURCES = 8;
    uint256 public constant MAX_SOURCE_LENGTH = 256;

    struct SetVersion {
        uint64 fromRound;
        bytes32[] specs;
    }

    IStaking public immutable staking;

    mapping(bytes32 specId => TrainingSpec) private _specs;
    mapping(bytes32 specId => SpecParams) private _params;
    mapping(bytes32 specId => DatasetRef) private _datasets;
    mapping(bytes32 specId => string[]) private _sources;
    SetVersion[] private _versions;

    constructor(IStaking staking_, address authority) AccessManaged(authority) {
        staking = staking_;
    }

    /// @notice Stores `spec` with its judgment parameters. Returns its id.
    function registerSpec(
        TrainingSpec calldata spec,
        SpecParams calldata params
    ) external restricted returns (bytes32 id) {
        _checkSpec(spec, 1);
        _checkParams(params);
        id = keccak256(abi.encode(spec));
        _store(id, spec, params);
    }

    /// @notice Stores an engine version 2 `spec` training on `dataset`, with its judgment
    ///         parameters and the URLs the dataset can be fetched from. Returns its id,
    ///         `keccak256(abi.encode(spec, dataset))`.
    function registerDatasetSpec(
        TrainingSpec calldata spec,
        DatasetRef calldata dataset,
        SpecParams calldata params,
        string[] calldata sources
    ) external restricted returns (bytes32 id) {
        id = _registerDatasetSpec(spec, dataset, params, sources);
    }

    /// @notice `registerDatasetSpec` for the job contracts (their own role): the spec of a paid job,
    ///         registered with the job so that every daemon reads it like any spec. Never activated
    ///         by this: a job's spec is trained only by the trainers assigned to the job.
    function registerJobSpec(
        TrainingSpec calldata spec,
        DatasetRef calldata dataset,
        SpecParams calldata params,
        string[] calldata sources
    ) external restricted returns (bytes32 id) {
        id = _registerDatasetSpec(spec, dataset, params, sources);
    }

    function _registerDatasetSpec(
        TrainingSpec calldata spec,
        DatasetRef calldata dataset,
        SpecParams calldata params,
        string[] calldata sources
    ) private returns (bytes32 id) {
        _checkSpec(spec, 2);
        EngineSpec.checkDataset(dataset, spec.widths, spec.evalSize);
        _checkParams(params);
        _checkSources(sources);
        id = keccak256(abi.encode(spec, dataset));
        _store(id, spec, params);
        _datasets[id] = dataset;
        _sources[id] = sources;
        emit DatasetRegistered(id, dataset);
        emit DatasetSourcesUpdated(id, sources);
    }

    /// @notice Replaces the dataset source URLs of a version 2 spec (the data they serve is checked
    ///         against the spec's roots, so a source can only be unavailable, never wrong).
    function setDatasetSources(bytes32 id, string[] calldata sources) external restricted {
        _requireSpec(id);
        if (_datasets[id].trainCount == 0) revert NotADatasetSpec(id);
        _checkSources(sources);
        _sources[id] = sources;
        emit DatasetSourcesUpdated(id, sources);
    }

    /// @notice Changes a registered spec's judgment parameters (they apply to judgments made from now on).
    function setSpecParams(bytes32 id, SpecParams calldata params) external restricted {
        _requireSpec(id);
        _checkParams(params);
        _params[id] = params;
        emit SpecParamsUpdated(id, params);
    }

    /// @notice Adds `id` to the active set from the next round on.
    function activate(bytes32 id) external restricted {
        _requireSpec(id);
        bytes32[] storage next = _nextSet();
        for (uint256 i; i < next.length; ++i) if (next[i] == id) revert SpecAlreadyActive(id);
        if (next.length == MAX_ACTIVE) revert TooManyActiveSpecs(MAX_ACTIVE);
        next.push(id);
        emit SpecActivated(id, _versions[_versions.length - 1].fromRound);
    }

    /// @notice Removes `id` from the active set from the next round on.
    function retire(bytes32 id) external restricted {
        bytes32[] storage next = _nextSet();
        uint256 n = next.length;
        for (uint256 i; i < n; ++i) {
            if (next[i] == id) {
                next[i] = next[n - 1];
                next.pop();
                emit SpecRetired(id, _versions[_versions.length - 1].fromRound);
                return;
            }
        }
        revert SpecNotActive(id);
    }

    /// @inheritdoc ITaskRegistry
    function specFor(uint256 round, bytes32 seed) external view returns (bytes32) {
        bytes32[] storage set = _setAt(round);
        if (set.length == 0) revert NoActiveSpec(round);
        return set[uint256(seed) % set.length];
    }

    /// @inheritdoc ITaskRegistry
    function challengeSpec(
        uint256 round,
        bytes32 seed
    ) external view returns (bytes32 id, SpecParams memory params) {
        bytes32[] storage set = _setAt(round);
        if (set.length == 0) revert NoActiveSpec(round);
        id = set[uint256(seed) % set.length];
        params = _params[id];
    }

    /// @inheritdoc ITaskRegistry
    function activeSpecsAt(uint256 round) external view returns (bytes32[] memory) {
        return _setAt(round);
    }

    /// @inheritdoc ITaskRegistry
    function specParams(bytes32 id) external view returns (SpecParams memory) {
        _requireSpec(id);
        return _params[id];
    }

    /// @inheritdoc ITaskRegistry
    function getSpec(bytes32 id) external view returns (TrainingSpec memory) {
        _requireSpec(id);
        return _specs[id];
    }

    /// @inheritdoc ITaskRegistry
    function getDataset(bytes32 id) external view returns (DatasetRef memory) {
        _requireSpec(id);
        return _datasets[id];
    }

    /// @inheritdoc ITaskRegistry
    function datasetSources(bytes32 id) external view returns (string[] memory) {
        _requireSpec(id);
        return _sources[id];
    }

    function isRegistered(bytes32 id) external view returns (bool) {
        return _params[id].responseDeadline != 0;
    }

    // --- internals --------------------------------------------------------------------------

    /// The set that takes effect next round, copied from the current one on first change.
    function _nextSet() private returns (bytes32[] storage) {
        uint64 next = uint64(staking.currentEpoch() + 1);
        uint256 n = _versions.length;
        if (n != 0 && _versions[n - 1].fromRound == next) return _versions[n - 1].specs;
        SetVersion storage v = _versions.push();
        v.fromRound = next;
        if (n != 0) {
            bytes32[] storage prev = _versions[n - 1].specs;
            for (uint256 i; i < prev.length; ++i) v.specs.push(prev[i]);
        }
        return v.specs;
    }

    /// The latest set version whose `fromRound` is at or before `round` (binary search).
    function _setAt(uint256 round) private view returns (bytes32[] storage) {
        uint256 lo;
        uint256 hi = _versions.length;
        if (hi != 0 && _versions[hi - 1].fromRound <= round) return _versions[hi - 1].specs; // the usual case
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_versions[mid].fromRound <= round) lo = mid + 1;
            else hi = mid;
        }
        if (lo == 0) revert NoActiveSpec(round);
        return _versions[lo - 1].specs;
    }

    function _requireSpec(bytes32 id) private view {
        if (_params[id].responseDeadline == 0) revert UnknownSpec(id);
    }

    function _store(bytes32 id, TrainingSpec calldata spec, SpecParams calldata params) private {
        if (_params[id].responseDeadline != 0) revert SpecAlreadyRegistered(id);
        _specs[id] = spec;
        _params[id] = params;
        emit SpecRegistered(id, spec, params);
    }

    function _checkSources(string[] calldata sources) private pure {
        if (sources.length > MAX_DATASET_SOURCES)
            revert TooManyDatasetSources(sources.length, MAX_DATASET_SOURCES);
        for (uint256 i; i < sources.length; ++i) {
            uint256 length = bytes(sources[i]).length;
            if (length == 0 || length > MAX_SOURCE_LENGTH)
                revert InvalidDatasetSource(i, length, MAX_SOURCE_LENGTH);
        }
    }

    /// Checks a spec of engine version `version` (1: `registerSpec`; 2: `registerDatasetSpec`).
    function _checkSpec(TrainingSpec calldata s, uint16 version) private pure {
        if (s.version != version) revert InvalidSpec("version", s.version);
        (uint256 widthSum, ) = EngineSpec.checkWidths(s.widths);
        if (s.batchSize == 0 || s.batchSize > MAX_WIDTH) revert InvalidSpec("batchSize", s.batchSize);
        // the value is the activation count of a step: batchSize x sum(widths)
        if (s.batchSize * widthSum > MAX_ACTIVATIONS) revert InvalidSpec("batchSize", s.batchSize * widthSum);
        if (s.steps == 0) revert InvalidSpec("steps", s.steps);
        if (
            s.checkpointInterval == 0 ||
            s.steps % s.checkpointInterval != 0 ||
            s.steps / s.checkpointInterval > MAX_CHECKPOINTS
        ) {
            revert InvalidSpec("checkpointInterval", s.checkpointInterval);
        }
        if (s.lrShift > MAX_LR_SHIFT) revert InvalidSpec("lrShift", s.lrShift);
        if (s.evalSize == 0 || s.evalSize > MAX_EVAL_SIZE) revert InvalidSpec("evalSize", s.evalSize);
    }

    function _checkParams(SpecParams calldata p) private pure {
        if (p.responseDeadline == 0 || p.responseDeadline > MAX_DEADLINE) {
            revert InvalidSpecParams("responseDeadline", p.responseDeadline, 1, MAX_DEADLINE);
        }
        if (p.maxScoreBps > BPS) revert InvalidSpecParams("maxScoreBps", p.maxScoreBps, 0, BPS);
        if (p.minScoreBps > p.maxScoreBps)
            revert InvalidSpecParams("minScoreBps", p.minScoreBps, 0, p.maxScoreBps);
        if (p.auditSamples == 0 || p.auditSamples > MAX_AUDIT_SAMPLES) {
            revert InvalidSpecParams("auditSamples", p.auditSamples, 1, MAX_AUDIT_SAMPLES);
        }
    }
}
