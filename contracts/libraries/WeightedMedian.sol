// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title WeightedMedian
/// @notice The lower weighted median of small lists (a committee's scores, a round's updates), and
///         the packing of up to 16 scores (basis points) into one word.
library WeightedMedian {
    /// @notice The smallest value whose cumulative weight (values ascending) reaches half the total
    ///         weight; entries of weight 0 are ignored; 0 when every weight is 0. Insertion sort:
    ///         for lists of a few dozen entries.
    function lower(uint16[] memory values, uint256[] memory weights) internal pure returns (uint16) {
        uint256 n = values.length;
        uint16[] memory v = new uint16[](n);
        uint256[] memory w = new uint256[](n);
        uint256 m;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (weights[i] == 0) continue;
            total += weights[i];
            uint256 j = m++;
            while (j > 0 && v[j - 1] > values[i]) {
                v[j] = v[j - 1];
                w[j] = w[j - 1];
                --j;
            }
            v[j] = values[i];
            w[j] = weights[i];
        }
        uint256 acc;
        for (uint256 k; k < m; ++k) {
            acc += w[k];
            if (acc * 2 >= total) return v[k];
        }
        return 0;
    }

    /// @notice Packs `scores` (at most 16) into one word, entry i in bits [16 i, 16 i + 16).
    function pack(uint16[] memory scores) internal pure returns (uint256 word) {
        for (uint256 i; i < scores.length; ++i) word |= uint256(scores[i]) << (16 * i);
    }

    /// @notice Entry `i` of a packed word.
    function at(uint256 word, uint256 i) internal pure returns (uint16) {
        return uint16(word >> (16 * i));
    }
}
