// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IntegerMLP} from "../../contracts/libraries/IntegerMLP.sol";

/// @title IntegerMLP fuzz tests
/// @notice The packed forward pass against a plain one-weight-at-a-time implementation of the same
///         formulas (docs/engine.md), on random small models: identical outputs and labels; every
///         output in [-127, 127]; the label is a class whose output is the largest, the lowest such.
contract IntegerMLPTest {
    error Violated(string property, uint256 a, uint256 b);

    function _check(bool ok, string memory property, uint256 a, uint256 b) internal pure {
        if (!ok) revert Violated(property, a, b);
    }

    /// Runs the library on calldata (the checkpoint must be calldata).
    function run(
        uint32[] calldata widths,
        bytes calldata checkpoint,
        bytes calldata input
    ) external pure returns (bytes memory, uint256) {
        return IntegerMLP.forward(widths, checkpoint, input);
    }

    function testFuzz_PackedForwardEqualsThePlainOne(uint256 seed, uint8 regime) public view {
        (uint32[] memory widths, uint256 parameters) = _widths(seed);
        bytes memory checkpoint = new bytes(8 + 2 * parameters);
        for (uint256 k; k < parameters; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, "p", k)));
            int256 p;
            if (regime % 3 == 0) p = int256(r % 4001) - 2000;
            else if (regime % 3 == 1) p = int256(r % 65536) - 32768;
            else p = r % 2 == 0 ? int256(32767) : -32767;
            uint16 u = uint16(uint256(p) & 0xffff);
            checkpoint[8 + 2 * k] = bytes1(uint8(u));
            checkpoint[9 + 2 * k] = bytes1(uint8(u >> 8));
        }
        bytes memory input = new bytes(widths[0]);
        for (uint256 i; i < input.length; ++i)
            input[i] = bytes1(uint8(uint256(keccak256(abi.encode(seed, "x", i)))));

        (bytes memory y, uint256 label) = this.run(widths, checkpoint, input);
        (int256[] memory want, uint256 wantLabel) = _plain(widths, checkpoint, input);
        uint256 classes = widths[widths.length - 1];
        _check(y.length == classes, "output length", y.length, classes);
        _check(label == wantLabel, "label", label, wantLabel);
        _check(label < classes, "label < classes", label, classes);
        for (uint256 c; c < classes; ++c) {
            int256 v = int8(uint8(y[c]));
            _check(v == want[c], "output", c, uint256(v + 128));
            _check(v >= -127 && v <= 127, "output in [-127, 127]", c, uint256(v + 128));
            int256 best = int8(uint8(y[label]));
            _check(v <= best && (v < best || c >= label), "label is the lowest argmax", c, label);
        }
    }

    /// 1 to 3 layers of widths 1..24 (at least 2 classes).
    function _widths(uint256 seed) internal pure returns (uint32[] memory widths, uint256 parameters) {
        uint256 layers = 1 + (seed % 3);
        widths = new uint32[](layers + 1);
        for (uint256 i; i <= layers; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, "w", i)));
            widths[i] = uint32(i == layers ? 2 + (r % 23) : 1 + (r % 24));
        }
        for (uint256 i; i < layers; ++i) parameters += (uint256(widths[i]) + 1) * widths[i + 1];
    }

    function _param(bytes memory checkpoint, uint256 k) internal pure returns (int256 w) {
        int256 p = int16(uint16(uint8(checkpoint[8 + 2 * k])) | (uint16(uint8(checkpoint[9 + 2 * k])) << 8));
        w = (p + 128) >> 8;
        if (w < -127) w = -127;
        if (w > 127) w = 127;
    }

    /// docs/engine.md's forward pass, one multiply-accumulate at a time.
    function _plain(
        uint32[] memory widths,
        bytes memory checkpoint,
        bytes memory input
    ) internal pure returns (int256[] memory a, uint256 label) {
        a = new int256[](input.length);
        for (uint256 i; i < input.length; ++i) a[i] = int8(uint8(input[i]));
        uint256 offset;
        for (uint256 k; k + 1 < widths.length; ++k) {
            uint256 n = widths[k];
            uint256 m = widths[k + 1];
            uint256 shift = IntegerMLP.forwardShift(n);
            int256 lo = k + 2 == widths.length ? int256(-127) : int256(0);
            int256[] memory next = new int256[](m);
            for (uint256 o; o < m; ++o) {
                int256 z = 127 * _param(checkpoint, offset + n * m + o);
                for (uint256 i; i < n; ++i) z += _param(checkpoint, offset + o * n + i) * a[i];
                int256 v = (z + int256(1 << (shift - 1))) >> shift;
                next[o] =
                    v < lo
                        ? lo
                        : v > 127
                            ? int256(127)
                            : v;
            }
            offset += (n + 1) * m;
            a = next;
        }
        for (uint256 c = 1; c < a.length; ++c) if (a[c] > a[label]) label = c;
    }
}
