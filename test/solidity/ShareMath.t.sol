// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ShareMath} from "../../contracts/libraries/ShareMath.sol";

/// @title ShareMath fuzz tests
/// @notice Properties of the share-pool arithmetic behind Staking's invariants I2 and I3, over
///         pools in any state Staking can reach: shares >= 1 and a share price between the floor
///         (1e-9 token per share) and one token per share. Any failed `require` fails the test.
contract ShareMathTest {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant FLOOR = ShareMath.MAX_SHARES_PER_TOKEN;
    /// Pool sizes stay below 2^120 so that products of two of them cannot overflow.
    uint256 internal constant MAX_POOL = 2 ** 120;

    error Violated(string property, uint256 a, uint256 b);

    /// `x` mapped onto [lo, hi].
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    /// A reachable pool: shares in [1, MAX_POOL], tokens between the floor and one per share.
    function _pool(
        uint256 rawShares,
        uint256 rawTokens
    ) internal pure returns (uint256 shares, uint256 tokens) {
        shares = _bound(rawShares, 1, MAX_POOL);
        // Half of the cases near the floor, where roundings are the coarsest.
        uint256 lo = (shares + FLOOR - 1) / FLOOR;
        uint256 hi = rawTokens % 2 == 0 ? shares : (lo * 3 > shares ? shares : lo * 3);
        tokens = _bound(rawTokens >> 1, lo, hi);
    }

    function _check(bool ok, string memory property, uint256 a, uint256 b) internal pure {
        if (!ok) revert Violated(property, a, b);
    }

    /// I2: a slash never leaves a pool that has shares with zero tokens or below the price floor,
    /// and never takes more than the pool has.
    function testFuzz_SlashKeepsAPositivePriceAboveTheFloor(uint256 s, uint256 t, uint256 f) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 fraction = _bound(f, 1, WAD);
        uint256 cut = ShareMath.slashAmount(tokens, shares, fraction);
        _check(cut <= tokens, "cut <= tokens", cut, tokens);
        uint256 left = tokens - cut;
        _check(left > 0, "tokens left > 0", left, shares);
        _check(left * FLOOR >= shares, "price >= floor", left, shares);
    }

    /// I3: a slash of fraction f takes at most ceil(f * tokens), and exactly that (rounded against
    /// the slashed party) whenever the floor does not bind.
    function testFuzz_SlashTakesCeilOfTheFractionUnlessAtTheFloor(
        uint256 s,
        uint256 t,
        uint256 f
    ) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 fraction = _bound(f, 1, WAD);
        uint256 cut = ShareMath.slashAmount(tokens, shares, fraction);
        uint256 full = (tokens * fraction + WAD - 1) / WAD;
        _check(cut <= full, "cut <= ceil(f * tokens)", cut, full);
        uint256 keep = (shares + FLOOR - 1) / FLOOR;
        if (tokens >= full + keep) _check(cut == full, "cut == ceil(f * tokens)", cut, full);
        else _check(tokens - cut == keep || cut == 0, "floor binds exactly", tokens - cut, keep);
    }

    /// Repeated maximal slashes never reach a zero price and never overflow.
    function testFuzz_RepeatedSlashesStayAtOrAboveTheFloor(uint256 s, uint256 t, uint256 f) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 fraction = _bound(f, WAD / 2, WAD);
        for (uint256 i; i < 100; ++i) tokens -= ShareMath.slashAmount(tokens, shares, fraction);
        _check(tokens > 0 && tokens * FLOOR >= shares, "floor after 100 slashes", tokens, shares);
        // Delegating after the slashes still mints a bounded number of shares.
        uint256 minted = ShareMath.toShares(1e18, shares, tokens);
        _check(minted <= 1e18 * FLOOR, "shares per token <= 1e9", minted, 1e18);
    }

    /// Delegating then undelegating at once never returns more than was paid, and (at a price of at
    /// most one token per share) loses at most one wei.
    function testFuzz_RoundTripNeverReturnsMoreThanDeposited(uint256 a, uint256 s, uint256 t) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 amount = _bound(a, 1, 1e30);
        uint256 minted = ShareMath.toShares(amount, shares, tokens);
        uint256 back = ShareMath.toTokens(minted, shares + minted, tokens + amount);
        _check(back <= amount, "back <= paid", back, amount);
        _check(back + 1 >= amount, "loss <= 1 wei", back, amount);
        _check(minted >= amount, "price <= 1: shares >= tokens paid", minted, amount);
    }

    /// The round trip never pays more than deposited from any pool state, reachable or not.
    function testFuzz_RoundTripNeverReturnsMoreFromAnyState(uint256 a, uint256 s, uint256 t) public pure {
        uint256 shares = _bound(s, 0, MAX_POOL);
        uint256 tokens = shares == 0 ? 0 : _bound(t, 1, MAX_POOL);
        uint256 amount = _bound(a, 1, 1e30);
        uint256 minted = ShareMath.toShares(amount, shares, tokens);
        uint256 back = ShareMath.toTokens(minted, shares + minted, tokens + amount);
        _check(back <= amount, "back <= paid", back, amount);
    }

    /// Undelegating rounds down: the price of the remaining shares never falls, stays at most one
    /// token per share, and an emptied pool keeps no tokens.
    function testFuzz_UndelegationNeverLowersThePrice(uint256 s, uint256 t, uint256 x) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 out = _bound(x, 1, shares);
        uint256 paid = ShareMath.toTokens(out, shares, tokens);
        uint256 s2 = shares - out;
        uint256 t2 = tokens - paid;
        if (s2 == 0) {
            _check(t2 == 0, "emptied pool keeps no tokens", t2, 0);
        } else {
            _check(t2 * shares >= tokens * s2, "price does not fall", t2, s2);
            _check(t2 <= s2, "price <= 1", t2, s2);
            _check(t2 * FLOOR >= s2, "price >= floor", t2, s2);
        }
    }

    /// Delegating rounds shares down: the price never falls and stays at most one token per share.
    function testFuzz_DelegationNeverLowersThePrice(uint256 s, uint256 t, uint256 a) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 amount = _bound(a, 1, MAX_POOL);
        uint256 s2 = shares + ShareMath.toShares(amount, shares, tokens);
        uint256 t2 = tokens + amount;
        _check(t2 * shares >= tokens * s2, "price does not fall", t2, s2);
        _check(t2 <= s2, "price <= 1", t2, s2);
    }

    /// Positions can never be worth more, together, than the pool holds.
    function testFuzz_PositionsNeverExceedThePool(uint256 s, uint256 t, uint256 x) public pure {
        (uint256 shares, uint256 tokens) = _pool(s, t);
        uint256 first = _bound(x, 0, shares);
        uint256 second = shares - first;
        uint256 sum = ShareMath.toTokens(first, shares, tokens) + ShareMath.toTokens(second, shares, tokens);
        _check(sum <= tokens && tokens - sum <= 1, "sum of positions", sum, tokens);
    }
}
