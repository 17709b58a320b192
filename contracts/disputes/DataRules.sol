// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title DataRules
/// @notice Where a step's batch comes from, on chain (docs/disputes.md, "Data slots"): the engine's
///         Philox4x32-10 generator (`sdk/src/compute/prng.ts`), the example permutation of engine
///         version 2, the run's key derived from its spec and seed, and the proof of one dataset
///         example against the dataset's training root (and one feature against the example's
///         features root). Bit for bit the SDK's functions of the same
///         names.
library DataRules {
    uint256 internal constant DOMAIN_INPUT = 1;
    uint256 internal constant DOMAIN_TEACHER = 2;
    uint256 internal constant DOMAIN_PERMUTE = 4;
    uint256 internal constant PERMUTATION_ROUNDS = 4;

    uint256 private constant M32 = 0xffffffff;
    uint256 private constant M0 = 0xd2511f53;
    uint256 private constant M1 = 0xcd9e8d57;
    uint256 private constant W0 = 0x9e3779b9;
    uint256 private constant W1 = 0xbb67ae85;

    /// @notice Where a claim's batches come from: the run's Philox key (k0 = low 32 bits, k1 = high:
    ///         the first 8 bytes of keccak256(specId ‖ seed), little-endian) and, for engine
    ///         version 2, the dataset's training root and example count (zero in version 1).
    struct Data {
        uint64 key;
        uint32 count;
        bytes32 root;
    }

    error ExampleNotProven(uint256 index);

    /// @notice The run key of (specId, seed): the first 8 bytes of keccak256(specId ‖ seed), read
    ///         little-endian (`deriveKey`).
    function deriveKey(bytes32 specId, bytes32 seed) internal pure returns (uint64 key) {
        bytes32 h = keccak256(abi.encodePacked(specId, seed));
        for (uint256 i; i < 8; ++i) key |= uint64(uint8(h[i])) << uint64(8 * i);
    }

    /// @notice Philox4x32-10 of counter (c0, c1, c2, c3) under the 64-bit key: its four output words.
    function philox(
        uint256 c0,
        uint256 c1,
        uint256 c2,
        uint256 c3,
        uint64 key
    ) internal pure returns (uint256[4] memory out) {
        uint256 k0 = key & M32;
        uint256 k1 = key >> 32;
        unchecked {
            for (uint256 round; round < 10; ++round) {
                if (round > 0) {
                    k0 = (k0 + W0) & M32;
                    k1 = (k1 + W1) & M32;
                }
                uint256 p0 = M0 * c0;
                uint256 p1 = M1 * c2;
                (c0, c1, c2, c3) = ((p1 >> 32) ^ c1 ^ k0, p1 & M32, (p0 >> 32) ^ c3 ^ k1, p0 & M32);
            }
        }
        out = [c0, c1, c2, c3];
    }

    /// @notice Bytes `from .. from + length` of the byte stream of `item` in `domain`: block j is
    ///         philox(j, item low, item high, domain), its words in order, each little-endian.
    function streamBytes(
        uint64 key,
        uint256 domain,
        uint256 item,
        uint256 from,
        uint256 length
    ) internal pure returns (bytes memory b) {
        b = new bytes(length);
        uint256[4] memory words;
        for (uint256 t; t < length; ++t) {
            uint256 at = from + t;
            if (t == 0 || at & 15 == 0) words = philox(at >> 4, item & M32, item >> 32, domain, key);
            b[t] = bytes1(uint8(words[(at >> 2) & 3] >> (8 * (at & 3))));
        }
    }

    /// @notice The keyed permutation of [0, count) for `epoch`, at `q` (`permuteIndex`): a
    ///         balanced Feistel network of PERMUTATION_ROUNDS rounds on 2h-bit words (h the
    ///         smallest with 4^h ≥ count), cycle-walked into [0, count).
    function permuteIndex(
        uint64 key,
        uint256 count,
        uint256 epoch,
        uint256 q
    ) internal pure returns (uint256 x) {
        uint256 h;
        while (4 ** h < count) ++h;
        x = q;
        do x = _feistel(key, epoch, h, x); while (x >= count);
    }

    /// One pass of the permutation's Feistel network on the 2h-bit word x.
    function _feistel(uint64 key, uint256 epoch, uint256 h, uint256 x) private pure returns (uint256) {
        uint256 mask = (1 << h) - 1;
        uint256 left = x >> h;
        uint256 right = x & mask;
        for (uint256 i; i < PERMUTATION_ROUNDS; ++i)
            (left, right) = (
                right,
                left ^ (philox(right, epoch & M32, epoch >> 32, DOMAIN_PERMUTE + 256 * i, key)[0] & mask)
            );
        return (left << h) | right;
    }

    /// @notice Engine version 2: the training example at sample position `position` (step · batch
    ///         + row): epoch `position / count` visits every example once, permuted.
    function trainingExampleAt(uint64 key, uint256 count, uint256 position) internal pure returns (uint256) {
        return permuteIndex(key, count, position / count, position % count);
    }

    /// @notice Example `index` of the dataset with training root `root`, from `example` (34 bytes:
    ///         its label as uint16 little-endian, then the root of its features' byte tree) and its
    ///         Merkle proof: reverts unless the leaf
    ///         keccak256(keccak256(abi.encode(uint32 index, uint32 label, bytes32 featuresRoot)))
    ///         is proven. One feature is then read from a leaf of the features' byte tree
    ///         (Bisection.verify against `featuresRoot`), so no check sends the whole example.
    function example(
        bytes32 root,
        uint256 index,
        bytes calldata example_,
        bytes32[] calldata proof
    ) internal pure returns (uint256 label, bytes32 featuresRoot) {
        if (example_.length != 34) revert ExampleNotProven(index);
        label = uint256(uint8(example_[0])) | (uint256(uint8(example_[1])) << 8);
        featuresRoot = bytes32(example_[2:34]);
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(uint32(index), uint32(label), featuresRoot)))
        );
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert ExampleNotProven(index);
    }
}
