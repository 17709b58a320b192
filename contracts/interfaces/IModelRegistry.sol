// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice PoAI-trained models served through the inference marketplace. A model is a container
///         id (keccak256 of the Infernet container id string) bound to the trainer that earns its
///         royalties, the layer widths of the engine's integer MLP and the keccak256 of its
///         checkpoint encoding (the weights), so any delivered output can be recomputed exactly.
interface IModelRegistry {
    struct Model {
        address trainer; // receives the model's usage royalties; address(0): not registered
        bytes32 weightsHash; // keccak256 of the checkpoint encoding (engine version 1)
        uint32[] widths; // inputs, hidden..., classes
        bool active; // deliveries for an inactive model are refused
    }

    /// @notice `trainer` registered `containerId` (`keccak256(abi.encode(containerIdString))`). `challengeId` is
    ///         the valid challenge whose final checkpoint the weights are proven to be (0: none).
    event ModelRegistered(
        bytes32 indexed containerId,
        address indexed trainer,
        string containerIdString,
        uint32[] widths,
        bytes32 weightsHash,
        bytes32 indexed challengeId
    );
    /// @notice The job registry bound `containerId` to job `jobId`; its royalties go to `royaltyAccount`.
    event JobModelRegistered(bytes32 indexed containerId, uint256 indexed jobId, address royaltyAccount);
    /// @notice `containerId` was activated or deactivated by `by` (its trainer or governance).
    event ModelStatusChanged(bytes32 indexed containerId, bool active, address indexed by);

    error InvalidContainerId(uint256 length, uint256 maxLength);
    error ZeroWeightsHash();
    error ModelAlreadyRegistered(bytes32 containerId);
    error UnknownModel(bytes32 containerId);
    error NotActiveTrainer(address account);
    error NotModelTrainer(bytes32 containerId, address caller, address trainer);
    error ModelStatusUnchanged(bytes32 containerId, bool active);
    error ChallengeNotValid(bytes32 challengeId, uint8 status);
    error NotChallengeTrainer(bytes32 challengeId, address trainer, address caller);
    error CheckpointNotProven(bytes32 challengeId, uint256 index, bytes32 checkpointHash);
    error ReservedContainerId(string containerIdString);

    /// @notice The model registered under `containerId` (trainer == address(0) if none).
    function getModel(bytes32 containerId) external view returns (Model memory);

    /// @notice The trainer whose run produced `containerId` (address(0) if none).
    function trainerOf(bytes32 containerId) external view returns (address);

    /// @notice The account a delivery of `containerId` accrues its royalty for: the trainer, or, for
    ///         a job's model, an account the reward distributor splits between the job owner and
    ///         the trainer (address(0) if not registered).
    function royaltyAccountOf(bytes32 containerId) external view returns (address);
}
