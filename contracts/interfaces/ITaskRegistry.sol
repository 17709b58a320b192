// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITaskRegistry
/// @notice Training specs (the PoAI challenge tasks) and the set of them that each round uses.
interface ITaskRegistry {
    /// @notice Everything that fixes a training run apart from the seed (and, for engine version
    ///         2, the dataset). Field order and types are part of the encoding: version 1
    ///         `specId = keccak256(abi.encode(spec))`, version 2
    ///         `specId = keccak256(abi.encode(spec, dataset))`, byte-identical to the SDK's
    ///         `specId(spec)` (`@poai/sdk/compute`).
    struct TrainingSpec {
        uint16 version; // engine version: 1 (seed-generated data) or 2 (a committed dataset)
        uint32[] widths; // layer widths: inputs, hidden..., classes
        uint32 batchSize; // training examples per SGD step
        uint32 steps; // SGD steps in the run
        uint32 checkpointInterval; // steps between checkpoints (divides steps)
        uint8 lrShift; // update = round(batch gradient / 2^lrShift)
        uint32 evalSize; // evaluation examples
    }

    /// @notice The dataset an engine version 2 spec trains on (docs/engine.md, "Datasets"): the Merkle
    ///         roots over its training and held-out example leaves, their counts, and its widths.
    struct DatasetRef {
        bytes32 trainRoot; // root of the training examples
        uint32 trainCount;
        bytes32 evalRoot; // root of the held-out evaluation examples
        uint32 evalCount; // at least the spec's evalSize
        uint32 features; // = widths[0]
        uint32 classes; // = widths[widths.length - 1]
    }

    /// @notice What the judgment engine needs to know about a spec.
    struct SpecParams {
        uint32 responseDeadline; // seconds after the round starts by which the result is due
        uint16 minScoreBps; // expected evaluation accuracy band of an honest run, basis points
        uint16 maxScoreBps;
        uint16 auditSamples; // segments each committee member re-executes (k)
    }

    event SpecRegistered(bytes32 indexed specId, TrainingSpec spec, SpecParams params);
    event SpecParamsUpdated(bytes32 indexed specId, SpecParams params);
    event SpecActivated(bytes32 indexed specId, uint256 fromRound);
    event SpecRetired(bytes32 indexed specId, uint256 fromRound);
    event DatasetRegistered(bytes32 indexed specId, DatasetRef dataset);
    event DatasetSourcesUpdated(bytes32 indexed specId, string[] sources);

    error SpecAlreadyRegistered(bytes32 specId);
    error UnknownSpec(bytes32 specId);
    error InvalidSpec(string field, uint256 value);
    error InvalidSpecParams(string field, uint256 value, uint256 minValue, uint256 maxValue);
    error SpecAlreadyActive(bytes32 specId);
    error SpecNotActive(bytes32 specId);
    error TooManyActiveSpecs(uint256 maxActive);
    error NoActiveSpec(uint256 round);
    error NotADatasetSpec(bytes32 specId);
    error TooManyDatasetSources(uint256 count, uint256 maxSources);
    error InvalidDatasetSource(uint256 index, uint256 length, uint256 maxLength);

    /// @notice The spec a challenge of `round` with `seed` trains: `activeSpecsAt(round)[seed % n]`.
    function specFor(uint256 round, bytes32 seed) external view returns (bytes32 specId);

    /// @notice `specFor` and that spec's parameters, in one call.
    function challengeSpec(
        uint256 round,
        bytes32 seed
    ) external view returns (bytes32 specId, SpecParams memory params);

    function specParams(bytes32 specId) external view returns (SpecParams memory);

    /// @notice The stored spec (for a version 2 spec, its `TrainingSpec` part; the dataset is `getDataset`).
    function getSpec(bytes32 specId) external view returns (TrainingSpec memory);

    /// @notice The dataset of a version 2 spec (all zero for a version 1 spec).
    function getDataset(bytes32 specId) external view returns (DatasetRef memory);

    /// @notice Where a version 2 spec's dataset can be fetched: base URLs of dataset sources, each
    ///         holding `manifest.json` and `chunks/<chunk root>`. Not part of the spec id: the data
    ///         is checked against the roots, wherever it comes from.
    function datasetSources(bytes32 specId) external view returns (string[] memory);

    function activeSpecsAt(uint256 round) external view returns (bytes32[] memory);
}
