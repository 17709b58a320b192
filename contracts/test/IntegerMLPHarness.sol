// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IntegerMLP} from "../libraries/IntegerMLP.sol";

/// @title IntegerMLPHarness
/// @notice Test-only: exposes the IntegerMLP library so tests compare it with the SDK's `infer`
///         and benchmarks measure the gas of the forward pass alone.
contract IntegerMLPHarness {
    function forward(
        uint32[] calldata widths,
        bytes calldata checkpoint,
        bytes calldata input
    ) external pure returns (bytes memory output, uint256 label) {
        return IntegerMLP.forward(widths, checkpoint, input);
    }

    /// @notice `forward` and the gas it used (the call's own cost, without the transaction's calldata).
    function forwardGas(
        uint32[] calldata widths,
        bytes calldata checkpoint,
        bytes calldata input
    ) external view returns (bytes memory output, uint256 label, uint256 gasUsed) {
        uint256 before = gasleft();
        (output, label) = IntegerMLP.forward(widths, checkpoint, input);
        gasUsed = before - gasleft();
    }

    /// @notice The encoded output the verifier compares.
    function encodeOutput(uint256 label, bytes calldata y) external pure returns (bytes memory) {
        return IntegerMLP.encodeOutput(label, y);
    }
}
