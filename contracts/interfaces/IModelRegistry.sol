// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice PoAI-trained models served through the inference marketplace. A model is a container
///         id (keccak256 of the Infernet container id string) bound to the trainer that registered
///         it, the layer widths of the engine's integer MLP and the keccak256 of its checkpoint
///         encoding (the weights), so any delivered output can be recomputed exactly. A model earns
///         usage royalties only while it is active and either bound to a challenge the committee
///         judged valid (its weights proven to be that run's final checkpoint) or approved by
///         governance: registering a container id alone earns nothing.
interface IModelRegistry {
    struct Model {
        address trainer; // registered the model; address(0): not registered
        bytes32 weightsHash; // keccak256 of the checkpoint encoding (engine version 1)
        uint32[] widths; // inputs, hidden..., classes
        bool active; // deliveries for an inactive model are refused by the PoAIVerifier
        bool approved; // governance approved its royalties (a model bound to a challenge needs none)
        bytes32 challengeId; // the valid challenge whose final checkpoint the weights are (0: none)
        uint16 generation; // bumped each time the container id is registered anew after `clear`
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
    /// @notice Governance approved (or withdrew approval of) `containerId`'s royalties.
    event ModelApprovalChanged(bytes32 indexed containerId, bool approved);
    /// @notice Governance gave `containerId` (its royalties and its deactivation) to `trainer`.
    event ModelReassigned(
        bytes32 indexed containerId,
        address indexed previousTrainer,
        address indexed trainer
    );
    /// @notice Governance removed `containerId`'s record; the id may be registered again.
    event ModelCleared(bytes32 indexed containerId, address indexed trainer);

    error InvalidContainerId(uint256 length, uint256 maxLength);
    error ZeroWeightsHash();
    error ZeroTrainer();
    error ModelAlreadyRegistered(bytes32 containerId);
    error UnknownModel(bytes32 containerId);
    error NotActiveTrainer(address account);
    error NotModelTrainer(bytes32 containerId, address caller, address trainer);
    error ModelStatusUnchanged(bytes32 containerId, bool active);
    error ChallengeNotValid(bytes32 challengeId, uint8 status);
    error NotChallengeTrainer(bytes32 challengeId, address trainer, address caller);
    error CheckpointNotProven(bytes32 challengeId, uint256 index, bytes32 checkpointHash);
    /// @notice `job/...` container ids are registered by the job registry only.
    error ReservedContainerId(string containerIdString);
    /// @notice A dispute of this model could need `gas`, more than the `maxGas` a dispute may use.
    error ModelNotDisputable(uint256 gas, uint256 maxGas);

    /// @notice The model registered under `containerId` (trainer == address(0) if none).
    function getModel(bytes32 containerId) external view returns (Model memory);

    /// @notice The trainer that receives `containerId`'s usage royalties now: its trainer while the
    ///         model is active and bound to a valid challenge or approved by governance, else
    ///         address(0) (the delivering node keeps the royalty). For a job's model, the job's
    ///         royalty account, which the reward distributor splits between the job owner and the
    ///         trainer (`RewardDistributor.royaltySplitOf`).
    function trainerOf(bytes32 containerId) external view returns (address);
}
