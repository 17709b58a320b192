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

    /// @notice The model registered under `containerId` (trainer == address(0) if none).
    function getModel(bytes32 containerId) external view returns (Model memory);

    /// @notice The trainer that receives `containerId`'s royalties (address(0) if none).
    function trainerOf(bytes32 containerId) external view returns (address);
}
