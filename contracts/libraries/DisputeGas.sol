// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineSpec} from "./EngineSpec.sol";

/// @title DisputeGas
/// @notice An upper bound on the gas of `PoAIVerifier.dispute` for a model, from its layer widths,
///         so a model whose wrong outputs could never be proven on chain is refused before anyone
///         relies on the proof (ModelRegistry). A dispute sends the whole checkpoint as calldata
///         and recomputes the model (`IntegerMLP.forward`), so its cost grows with the model:
///
///         gas = 21,000 + max(16 * B + execution, 40 * B)
///
///         where B is the dispute's calldata size in bytes, counted as if every byte were nonzero
///         (16 gas a byte, and the EIP-7623 floor of 40 gas a byte for data-heavy transactions),
///         and `execution` bounds what the dispute runs: copying and hashing the checkpoint (memory
///         grows quadratically), the forward pass (`PER_PARAMETER` a weight, `PER_INPUT` an input,
///         `PER_NEURON` a hidden or output neuron, `PER_LAYER` a layer) and a fixed part for the
///         reads, the settlement and the slash. The constants are measured figures (IntegerMLP's
///         forward pass: about 14.4 gas a weight, 780 a neuron, 200 an input, 3,500 a layer) rounded
///         up; test/infernet/model-registry.test.ts runs real disputes at the bound.
library DisputeGas {
    /// @notice The most gas a dispute may need: 16.7M, under the 2^24 (16,777,216) gas a single
    ///         transaction may use from Ethereum's Fusaka upgrade (EIP-7825), and well under a
    ///         block on any chain PoAI targets.
    uint256 internal constant MAX_DISPUTE_GAS = 16_700_000;

    uint256 internal constant TX_BASE = 21_000;
    uint256 internal constant CALLDATA_PER_BYTE = 16;
    uint256 internal constant FLOOR_PER_BYTE = 40;
    /// Everything but the checkpoint and the forward pass: reads, the coordinator's settlement
    /// (payments, collateral), the slash and its finder's fee, events.
    uint256 internal constant FIXED = 700_000;
    uint256 internal constant PER_PARAMETER = 16;
    uint256 internal constant PER_INPUT = 250;
    uint256 internal constant PER_NEURON = 1_000;
    uint256 internal constant PER_LAYER = 5_000;

    /// @notice The bound for a model of `widths` (checked like the engine checks them).
    function bound(uint32[] memory widths) internal pure returns (uint256) {
        (uint256 widthSum, uint256 parameters) = EngineSpec.checkWidths(widths);
        uint256 inputs = widths[0];
        uint256 classes = widths[widths.length - 1];
        uint256 checkpoint = 8 + 2 * parameters;
        // selector, seven head words, then each dynamic argument's length word and padded bytes
        uint256 bytes_ =
            4 + 7 * 32 + (32 + _padded(inputs)) + (32 + _padded(4 + classes)) + (32 + _padded(checkpoint));
        uint256 words = (checkpoint + 31) / 32;
        uint256 execution =
            FIXED +
                12 * words +
                (words * words) / 512 +
                PER_PARAMETER * parameters +
                PER_INPUT * inputs +
                PER_NEURON * (widthSum - inputs) +
                PER_LAYER * widths.length;
        uint256 standard = CALLDATA_PER_BYTE * bytes_ + execution;
        uint256 floor = FLOOR_PER_BYTE * bytes_;
        return TX_BASE + (standard > floor ? standard : floor);
    }

    function _padded(uint256 length) private pure returns (uint256) {
        return ((length + 31) / 32) * 32;
    }
}
