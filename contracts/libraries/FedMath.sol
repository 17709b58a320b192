// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FedMath
/// @notice Small-set statistics for federated rounds (at most a few dozen entries).
library FedMath {
    /// @notice The lower weighted median of `values` (entries of weight 0 are ignored): the least
    ///         value v such that the entries <= v weigh at least half the total. 0 when all weigh 0.
    function weightedMedian(uint16[] memory values, uint256[] memory weights) internal pure returns (uint16) {
        uint256 n = values.length;
        uint256[] memory order = new uint256[](n);
        uint256 k;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (weights[i] == 0) continue;
            total += weights[i];
            // Insertion by value: O(n^2) on a bounded set.
            uint256 at = k;
            while (at > 0 && values[order[at - 1]] > values[i]) {
                order[at] = order[at - 1];
                --at;
            }
            order[at] = i;
            ++k;
        }
        if (total == 0) return 0;
        uint256 acc;
        for (uint256 a; a < k; ++a) {
            acc += weights[order[a]];
            if (2 * acc >= total) return values[order[a]];
        }
        return values[order[k - 1]];
    }
}
