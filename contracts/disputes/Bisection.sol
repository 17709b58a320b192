// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Bisection
/// @notice What every bisection game of PoAI shares (docs/disputes.md, "State layout"): the byte
///         trees that commit a state's tensors (136-byte leaves, padded to a power of two with empty
///         subtrees, positional inner nodes), their leaf proofs, and the middle of a range. Used by
///         DisputeGame (training steps) and InferenceDisputeGame (inference outputs), so both read
///         operands exactly alike.
library Bisection {
    /// @notice Bytes of a leaf: the Keccak-256 rate, so a slot's leaves are its hash's blocks.
    uint256 internal constant LEAF_BYTES = 136;

    /// @notice The middle of the range [lo, hi] as both games (and the SDK) compute it.
    function mid(uint32 lo, uint32 hi) internal pure returns (uint32) {
        return lo + (hi - lo) / 2;
    }

    /// @notice Leaves of a slot of `length` bytes (at least one), and the height of its tree.
    function treeShape(uint256 length) internal pure returns (uint256 leaves, uint256 depth) {
        leaves = length == 0 ? 1 : (length + LEAF_BYTES - 1) / LEAF_BYTES;
        while ((1 << depth) < leaves) ++depth;
    }

    /// @notice The root of a subtree of `height` holding no leaf: Z_0 = 0, Z_{k+1} = keccak256(Z_k ‖ Z_k).
    function emptySubtree(uint256 height) internal pure returns (bytes32 z) {
        for (uint256 k; k < height; ++k) z = keccak256(abi.encodePacked(z, z));
    }

    /// @notice Whether `leaf` (136 bytes) with its `siblings` (bottom up) is leaf `index` of the
    ///         tree of height `depth` under `root`.
    function verify(
        bytes32 root,
        uint256 depth,
        uint256 index,
        bytes calldata leaf,
        bytes32[] calldata siblings
    ) internal pure returns (bool) {
        if (leaf.length != LEAF_BYTES || siblings.length != depth) return false;
        bytes32 node = keccak256(leaf);
        for (uint256 k; k < depth; ++k) {
            node =
                (index >> k) & 1 == 1
                    ? keccak256(abi.encodePacked(siblings[k], node))
                    : keccak256(abi.encodePacked(node, siblings[k]));
        }
        return node == root;
    }

    /// @notice Copies the bytes of leaf `index` that fall in the range [offset, offset + out.length)
    ///         of its slot into `out`.
    function copyLeaf(bytes memory out, uint256 offset, uint256 index, bytes calldata leaf) internal pure {
        uint256 from = index * LEAF_BYTES;
        uint256 end = offset + out.length;
        for (uint256 b = from < offset ? offset : from; b < from + LEAF_BYTES && b < end; ++b) {
            out[b - offset] = leaf[b - from];
        }
    }

    /// @notice The root of the byte tree of `data` (its last leaf zero-padded).
    function treeRoot(bytes calldata data) internal pure returns (bytes32) {
        (uint256 leaves, uint256 depth) = treeShape(data.length);
        bytes32[] memory level = new bytes32[](leaves);
        bytes memory buf = new bytes(LEAF_BYTES);
        for (uint256 j; j < leaves; ++j) {
            uint256 from = j * LEAF_BYTES;
            if (from + LEAF_BYTES <= data.length) {
                level[j] = keccak256(data[from:from + LEAF_BYTES]);
            } else {
                for (uint256 b; b < LEAF_BYTES; ++b)
                    buf[b] = from + b < data.length ? data[from + b] : bytes1(0);
                level[j] = keccak256(buf);
            }
        }
        uint256 n = leaves;
        bytes32 z;
        for (uint256 k; k < depth; ++k) {
            uint256 count = (n + 1) / 2;
            for (uint256 i; i < count; ++i) {
                bytes32 right = 2 * i + 1 < n ? level[2 * i + 1] : z;
                level[i] = keccak256(abi.encodePacked(level[2 * i], right));
            }
            n = count;
            z = keccak256(abi.encodePacked(z, z));
        }
        return level[0];
    }
}
