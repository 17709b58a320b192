// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITaskRegistry
/// @notice Training specs (the PoAI challenge tasks) and the set of them that each round uses.
interface ITaskRegistry {
    /// @notice Everything that fixes a training run apart from the seed. Field order and types
    ///         are part of the encoding: `specId = keccak256(abi.encode(spec))`, byte-identical to
    ///         the SDK's `specId(spec)` (`@poai/sdk/compute`).
    struct TrainingSpec {
        uint16 version; // engine version
        uint32[] widths; // layer widths: inputs, hidden..., classes
        uint32 batchSize; // training examples per SGD step
        uint32 steps; // SGD steps in the run
        uint32 checkpointInterval; // steps between checkpoints (divides steps)
        uint8 lrShift; // update = round(batch gradient / 2^lrShift)
        uint32 evalSize; // evaluation examples
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

    error SpecAlreadyRegistered(bytes32 specId);
    error UnknownSpec(bytes32 specId);
    error InvalidSpec(string field, uint256 value);
    error InvalidSpecParams(string field, uint256 value, uint256 minValue, uint256 maxValue);
    error SpecAlreadyActive(bytes32 specId);
    error SpecNotActive(bytes32 specId);
    error TooManyActiveSpecs(uint256 maxActive);
    error NoActiveSpec(uint256 round);

    /// @notice The spec a challenge of `round` with `seed` trains: `activeSpecsAt(round)[seed % n]`.
    function specFor(uint256 round, bytes32 seed) external view returns (bytes32 specId);

    /// @notice `specFor` and that spec's parameters, in one call.
    function challengeSpec(
        uint256 round,
        bytes32 seed
    ) external view returns (bytes32 specId, SpecParams memory params);

    function specParams(bytes32 specId) external view returns (SpecParams memory);

    function getSpec(bytes32 specId) external view returns (TrainingSpec memory);

    function activeSpecsAt(uint256 round) external view returns (bytes32[] memory);
}
