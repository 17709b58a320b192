// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title ShareMath
/// @notice Pure share-pool arithmetic for staking pools. A pool holds `tokens` and has issued
///         `shares`; a share is worth tokens / shares. Roundings are chosen against the user:
///         shares minted and tokens paid round down, slashes round up.
library ShareMath {
    /// @notice Scale of the reward-per-share accumulator.
    uint256 internal constant ACC_SCALE = 1e36;
    /// @notice A slash always leaves at least one token wei per this many shares, so the share
    ///         price never reaches zero and minting can never overflow (price >= 1e-9 token/share).
    uint256 internal constant MAX_SHARES_PER_TOKEN = 1e9;

    /// @notice Shares minted for `amount` tokens (1:1 into an empty pool), rounded down.
    function toShares(
        uint256 amount,
        uint256 totalShares,
        uint256 totalTokens
    ) internal pure returns (uint256) {
        if (totalShares == 0) return amount;
        return Math.mulDiv(amount, totalShares, totalTokens);
    }

    /// @notice Tokens `shares` are worth, rounded down.
    function toTokens(
        uint256 shares,
        uint256 totalShares,
        uint256 totalTokens
    ) internal pure returns (uint256) {
        if (totalShares == 0) return 0;
        return Math.mulDiv(shares, totalTokens, totalShares);
    }

    /// @notice Tokens a slash of `fraction` (1e18 = 100%) takes from a pool: rounded up against
    ///         the slashed party, but never below the floor that keeps the share price positive.
    function slashAmount(
        uint256 tokens,
        uint256 shares,
        uint256 fraction
    ) internal pure returns (uint256 cut) {
        if (tokens == 0) return 0;
        cut = Math.mulDiv(tokens, fraction, 1e18, Math.Rounding.Ceil);
        uint256 keep = Math.ceilDiv(shares, MAX_SHARES_PER_TOKEN);
        if (tokens - Math.min(cut, tokens) < keep) cut = tokens > keep ? tokens - keep : 0;
    }
}
