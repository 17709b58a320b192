// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";

/// @title EngineSpec
/// @notice The limits of the engine (versions 1 and 2; the SDK compute engine, docs/engine.md), the
///         check of a model's layer widths against them and of a version 2 spec's dataset, shared
///         by every contract that accepts widths (the TaskRegistry's training specs, the
///         ModelRegistry's models, IntegerMLP's forward pass), so a contract never accepts a model
///         the engine would refuse.
library EngineSpec {
    uint256 internal constant MAX_LAYERS = 16;
    uint256 internal constant MAX_WIDTH = 65_536;
    uint256 internal constant MAX_PARAMETERS = 1 << 26;
    uint256 internal constant MAX_ACTIVATIONS = 1 << 26;
    uint256 internal constant MAX_CHECKPOINTS = 1 << 20;
    uint256 internal constant MAX_LR_SHIFT = 24;
    uint256 internal constant MAX_EVAL_SIZE = 1 << 24;

    /// @notice Checks `widths` (inputs, hidden..., classes) like the engine's `validateSpec`: 2 to
    ///         17 entries, each in 1..65536, at least 2 classes, at most 2^26 parameters. Reverts
    ///         with `ITaskRegistry.InvalidSpec(field, value)`; for the parameter bound the value is
    ///         the parameter count.
    /// @return widthSum the sum of the widths.
    /// @return parameters the parameter count (weights and biases of every layer).
    function checkWidths(
        uint32[] memory widths
    ) internal pure returns (uint256 widthSum, uint256 parameters) {
        uint256 n = widths.length;
        if (n < 2 || n > MAX_LAYERS + 1) revert ITaskRegistry.InvalidSpec("widths.length", n);
        for (uint256 i; i < n; ++i) {
            uint256 width = widths[i];
            // at least two classes
            if (width < (i == n - 1 ? 2 : 1) || width > MAX_WIDTH)
                revert ITaskRegistry.InvalidSpec("widths", width);
            widthSum += width;
            if (i + 1 < n) parameters += (width + 1) * widths[i + 1];
        }
        // the value is the parameter count (weights and biases) the widths give
        if (parameters > MAX_PARAMETERS) revert ITaskRegistry.InvalidSpec("widths", parameters);
    }

    /// @notice Checks the dataset of a version 2 spec like the engine's `validateSpec`: both
    ///         counts at least 1, `features` = `widths[0]`, `classes` = the last width, and
    ///         `evalSize` at most `evalCount`. Reverts `ITaskRegistry.InvalidSpec(field, value)`.
    function checkDataset(
        ITaskRegistry.DatasetRef calldata d,
        uint32[] calldata widths,
        uint32 evalSize
    ) internal pure {
        if (d.trainCount == 0) revert ITaskRegistry.InvalidSpec("dataset.trainCount", 0);
        if (d.evalCount == 0) revert ITaskRegistry.InvalidSpec("dataset.evalCount", 0);
        if (d.features != widths[0]) revert ITaskRegistry.InvalidSpec("dataset.features", d.features);
        if (d.classes != widths[widths.length - 1])
            revert ITaskRegistry.InvalidSpec("dataset.classes", d.classes);
        // the value is the spec's evalSize, which the held-out part must cover
        if (evalSize > d.evalCount) revert ITaskRegistry.InvalidSpec("evalSize", evalSize);
    }
}
