// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineSpec} from "./EngineSpec.sol";

/// @title IntegerMLP
/// @notice The forward pass of an engine version 1 model (docs/engine.md, "Forward pass"), bit for
///         bit what `infer` in `sdk/src/compute/inference.ts` (and the training engine) computes:
///
///         w     = clamp(roundShift(p, 8), -127, 127)            effective weight of parameter p
///         z[o]  = sum_i w[o][i] * a[i] + 127 * wb[o]              bias: a weight on the input 127
///         F     = 6 + ceil(log2(n) / 2)                           n = the layer's input width
///         a'[o] = clamp(roundShift(z[o], F), 0, 127)              hidden layers (ReLU + saturation)
///         y[o]  = clamp(roundShift(z[o], F), -127, 127)           output layer
///         label = argmax_c y[c], ties to the lowest c
///
///         where roundShift(x, s) = (x + 2^(s-1)) >> s with an arithmetic shift. The checkpoint is
///         the engine's encoding: an 8-byte little-endian step, then every parameter as an int16
///         little-endian in canonical order (W0 row-major [outputs][inputs], b0, W1, b1, ...).
///
///         Encodings on chain (what PoAIVerifier compares):
///         - input: `widths[0]` bytes, byte i = x[i] as int8;
///         - output: `encodeOutput(label, y)` = the label as a big-endian uint32, then one int8
///           byte per class (`4 + classes` bytes).
///
/// @dev    Packed arithmetic. The dot products dominate the cost, so they are computed 16 weights
///         per 32-byte calldata word, with no per-weight loop:
///
///         1. One `calldataload` reads 16 parameters of a row (any byte offset: calldata has no
///            alignment). In the big-endian word, parameter j (j = 0..15) is the 16-bit lane
///            `15 - j` from the bottom, holding `lo << 8 | hi` (the two little-endian bytes).
///         2. The effective weight, offset by 127 so it is non-negative, `w' = w + 127` in
///            [0, 254], is computed in all 16 lanes at once: `hi + 128` is `hi ^ 0x80`; roundShift
///            by 8 adds the top bit of `lo`, giving t = hi + 128 + (lo >> 7) in [0, 256];
///            clamping w to [-127, 127] is clamping t to [1, 255], and w' = t - [t >= 1] - [t = 256].
///            No lane ever leaves its 16 bits.
///         3. The lanes are split into the even ones and the odd ones, each spread to 32-bit
///            lanes. A 32-bit-lane word is the polynomial sum_m e_m 2^(32m); multiplying it by the
///            activations packed in reverse order, A = sum_m a_(7-m)' 2^(32m), puts
///            sum_m e_m a_m' (the 8-term dot product) in the top lane (bits 224..255), mod 2^256.
///            Every lane sum is below 2^19 in magnitude, so lower lanes never carry into the top
///            lane; adding 2^223 before extracting makes the (possibly negative, for signed
///            inputs) lower part non-negative, and `signextend(3, x >> 224)` reads the signed top lane.
///         4. Since w' = w + 127, sum_i w_i a_i = sum_i w'_i a_i - 127 * sum_i a_i, and the
///            second term is the same for every row of a layer: it is computed once per layer.
///         Activations beyond the layer's width are packed as 0, so the weights a row's last
///            word reads past its end (the next row, or zeros past the calldata) contribute nothing.
///
///         Layer activations are held in memory as two packed words per 16 inputs: word 2c holds
///         inputs 16c + 1 + 2m (m = 0..7) in its 32-bit lane m, word 2c + 1 holds inputs 16c + 2m.
library IntegerMLP {
    /// @notice Bytes before the first parameter of a checkpoint (the uint64 step).
    uint256 internal constant CHECKPOINT_HEADER = 8;
    /// @notice Bytes of the label prefix of an encoded output.
    uint256 internal constant OUTPUT_LABEL_BYTES = 4;

    /// @notice The checkpoint's length is not `8 + 2 * parameters` for the widths.
    error CheckpointLengthMismatch(uint256 expected, uint256 actual);
    /// @notice The input's length is not the model's input width.
    error InputLengthMismatch(uint256 expected, uint256 actual);

    // 16-bit lane masks and constants
    uint256 private constant LANE_FF = 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
    uint256 private constant LANE_80 = 0x0080008000800080008000800080008000800080008000800080008000800080;
    uint256 private constant LANE_01 = 0x0001000100010001000100010001000100010001000100010001000100010001;
    /// Even 16-bit lanes, i.e. the low half of every 32-bit lane.
    uint256 private constant EVEN_LANES = 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff;
    /// Added before reading the top lane: keeps a negative lower part from borrowing from it.
    uint256 private constant TOP_LANE_BIAS = 1 << 223;

    /// @notice Runs the model `widths` with parameters `checkpoint` on `input`.
    /// @param widths Layer widths (inputs, hidden..., classes), checked like the engine checks them.
    /// @param checkpoint The checkpoint encoding (8-byte step, then the int16 parameters).
    /// @param input `widths[0]` bytes, each read as an int8.
    /// @return output The output layer y, one int8 byte per class.
    /// @return label argmax of y, ties to the lowest class.
    function forward(
        uint32[] memory widths,
        bytes calldata checkpoint,
        bytes memory input
    ) internal pure returns (bytes memory output, uint256 label) {
        (, uint256 parameters) = EngineSpec.checkWidths(widths);
        uint256 expected = CHECKPOINT_HEADER + 2 * parameters;
        if (checkpoint.length != expected) revert CheckpointLengthMismatch(expected, checkpoint.length);
        if (input.length != widths[0]) revert InputLengthMismatch(widths[0], input.length);

        (uint256[] memory acts, int256 sum) = _packInput(input);
        uint256 layer; // calldata offset of the current layer's first weight
        assembly ("memory-safe") {
            layer := add(checkpoint.offset, CHECKPOINT_HEADER)
        }
        uint256 last = widths.length - 2;
        for (uint256 k; k <= last; ++k) {
            uint256 n = widths[k];
            uint256 m = widths[k + 1];
            if (k < last) (acts, sum) = _hiddenLayer(layer, n, m, acts, sum);
            else (output, label) = _outputLayer(layer, n, m, acts, sum);
            layer += 2 * (n + 1) * m;
        }
    }

    /// @notice The output bytes PoAIVerifier compares: `label` as a big-endian uint32, then `y`.
    function encodeOutput(uint256 label, bytes memory y) internal pure returns (bytes memory) {
        return abi.encodePacked(uint32(label), y);
    }

    /// @notice `6 + ceil(log2(n) / 2)`: the smallest k with 4^k >= n, plus 6.
    function forwardShift(uint256 n) internal pure returns (uint256 shift) {
        shift = 6;
        uint256 k;
        while ((1 << (2 * k)) < n) ++k;
        shift += k;
    }

    // --- internals --------------------------------------------------------------------------

    /// The input vector packed (see the library's dev comment) and its sum.
    function _packInput(bytes memory input) private pure returns (uint256[] memory acts, int256 sum) {
        uint256 n = input.length;
        acts = new uint256[](((n + 15) >> 4) << 1);
        assembly ("memory-safe") {
            let data := add(input, 32)
            let words := add(acts, 32)
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                let x := signextend(0, byte(0, mload(add(data, i))))
                sum := add(sum, x)
                // input i goes to word 2 * (i / 16) + (i even), 32-bit lane (i % 16) / 2
                let r := and(i, 15)
                let at := add(words, shl(5, add(shl(1, shr(4, i)), iszero(and(r, 1)))))
                mstore(at, add(mload(at), shl(shl(5, shr(1, r)), x)))
            }
        }
    }

    /// A hidden layer: every output requantized into [0, 127], packed for the next layer, and their sum.
    function _hiddenLayer(
        uint256 layer,
        uint256 n,
        uint256 m,
        uint256[] memory acts,
        int256 sum
    ) private pure returns (uint256[] memory next, int256 nextSum) {
        next = new uint256[](((m + 15) >> 4) << 1);
        uint256 shift = forwardShift(n);
        assembly ("memory-safe") {
            let out := add(next, 32)
            let row := layer
            let biases := add(layer, shl(1, mul(n, m)))
            let correction := mul(sub(0, 127), sum)
            let half := shl(sub(shift, 1), 1)
            for {
                let o := 0
            } lt(o, m) {
                o := add(o, 1)
            } {
                let end := add(row, shl(1, n))
                let z := add(
                    _dot(row, end, add(acts, 32)),
                    add(correction, mul(127, _bias(add(biases, shl(1, o)))))
                )
                row := end
                // clamp(roundShift(z, shift), 0, 127)
                let a := sar(shift, add(z, half))
                if slt(a, 0) {
                    a := 0
                }
                if sgt(a, 127) {
                    a := 127
                }
                nextSum := add(nextSum, a)
                let r := and(o, 15)
                let at := add(out, shl(5, add(shl(1, shr(4, o)), iszero(and(r, 1)))))
                mstore(at, add(mload(at), shl(shl(5, shr(1, r)), a)))
            }

            // sum_i w'[i] * a[i] over the weights at calldata [from, to) (w' = w + 127), 16 per word
            function _dot(from, to, words) -> z {
                for {} lt(from, to) {
                    from := add(from, 32)
                    words := add(words, 64)
                } {
                    let x := calldataload(from)
                    // t = hi + 128 + (lo >> 7) per 16-bit lane, in [0, 256]
                    let t := add(xor(and(x, LANE_FF), LANE_80), and(shr(15, x), LANE_01))
                    // w' = clamp(t, 1, 255) - 1 = t - [t >= 1] - [t == 256], in [0, 254]
                    let w := sub(t, add(and(shr(8, add(t, LANE_FF)), LANE_01), and(shr(8, t), LANE_01)))
                    let p := add(
                        mul(and(w, EVEN_LANES), mload(words)),
                        mul(and(shr(16, w), EVEN_LANES), mload(add(words, 32)))
                    )
                    z := add(z, signextend(3, shr(224, add(p, TOP_LANE_BIAS))))
                }
            }

            // clamp(roundShift(p, 8), -127, 127) of the int16 little-endian parameter at calldata `at`
            function _bias(at) -> w {
                let v := shr(240, calldataload(at))
                w := sar(8, add(signextend(1, or(shl(8, and(v, 0xff)), shr(8, v))), 128))
                if slt(w, sub(0, 127)) {
                    w := sub(0, 127)
                }
                if sgt(w, 127) {
                    w := 127
                }
            }
        }
    }

    /// The output layer: every output requantized into [-127, 127], as bytes, and their argmax.
    function _outputLayer(
        uint256 layer,
        uint256 n,
        uint256 m,
        uint256[] memory acts,
        int256 sum
    ) private pure returns (bytes memory y, uint256 label) {
        y = new bytes(m);
        uint256 shift = forwardShift(n);
        assembly ("memory-safe") {
            let out := add(y, 32)
            let row := layer
            let biases := add(layer, shl(1, mul(n, m)))
            let correction := mul(sub(0, 127), sum)
            let half := shl(sub(shift, 1), 1)
            let best := sub(0, 128)
            for {
                let o := 0
            } lt(o, m) {
                o := add(o, 1)
            } {
                let end := add(row, shl(1, n))
                let z := add(
                    _dot(row, end, add(acts, 32)),
                    add(correction, mul(127, _bias(add(biases, shl(1, o)))))
                )
                row := end
                // clamp(roundShift(z, shift), -127, 127)
                let v := sar(shift, add(z, half))
                if slt(v, sub(0, 127)) {
                    v := sub(0, 127)
                }
                if sgt(v, 127) {
                    v := 127
                }
                // argmax, ties to the lowest class
                if sgt(v, best) {
                    best := v
                    label := o
                }
                mstore8(add(out, o), and(v, 0xff))
            }

            function _dot(from, to, words) -> z {
                for {} lt(from, to) {
                    from := add(from, 32)
                    words := add(words, 64)
                } {
                    let x := calldataload(from)
                    let t := add(xor(and(x, LANE_FF), LANE_80), and(shr(15, x), LANE_01))
                    let w := sub(t, add(and(shr(8, add(t, LANE_FF)), LANE_01), and(shr(8, t), LANE_01)))
                    let p := add(
                        mul(and(w, EVEN_LANES), mload(words)),
                        mul(and(shr(16, w), EVEN_LANES), mload(add(words, 32)))
                    )
                    z := add(z, signextend(3, shr(224, add(p, TOP_LANE_BIAS))))
                }
            }

            function _bias(at) -> w {
                let v := shr(240, calldataload(at))
                w := sar(8, add(signextend(1, or(shl(8, and(v, 0xff)), shr(8, v))), 128))
                if slt(w, sub(0, 127)) {
                    w := sub(0, 127)
                }
                if sgt(w, 127) {
                    w := 127
                }
            }
        }
    }
}
