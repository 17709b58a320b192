// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Sortition} from "../../contracts/libraries/Sortition.sol";

/// @title Sortition fuzz tests
/// @notice Stake-weighted self-selection: certain above the committee share, impossible without
///         stake, monotone in stake and committee size, bound to the seed and the member, and close
///         to its probability over many members.
contract SortitionTest {
    uint256 internal constant MAX_STAKE = 2 ** 120;

    error Violated(string property, uint256 a, uint256 b);

    function _check(bool ok, string memory property, uint256 a, uint256 b) internal pure {
        if (!ok) revert Violated(property, a, b);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    /// A member whose weighted stake reaches the total is always selected; no stake, never.
    function testFuzz_SelectsCertainMembersAndNeverTheStakeless(
        bytes32 seed,
        address member,
        uint256 s,
        uint256 t,
        uint256 k
    ) public pure {
        uint256 size = _bound(k, 1, 16);
        uint256 total = _bound(t, 1, MAX_STAKE);
        uint256 certain = _bound(s, (total + size - 1) / size, MAX_STAKE);
        _check(Sortition.isSelected(seed, member, certain, total, size), "certain member", certain, total);
        _check(!Sortition.isSelected(seed, member, 0, total, size), "no stake", 0, total);
        _check(!Sortition.isSelected(seed, member, certain, 0, size), "no total stake", certain, 0);
    }

    /// More stake or a larger committee never deselects a member.
    function testFuzz_SelectionIsMonotoneInStakeAndSize(
        bytes32 seed,
        address member,
        uint256 s,
        uint256 more,
        uint256 t,
        uint256 k,
        uint256 kMore
    ) public pure {
        uint256 total = _bound(t, 1, MAX_STAKE);
        uint256 stake = _bound(s, 1, total);
        uint256 bigger = _bound(more, stake, MAX_STAKE);
        uint256 size = _bound(k, 1, 16);
        uint256 larger = _bound(kMore, size, 16);
        if (Sortition.isSelected(seed, member, stake, total, size)) {
            _check(Sortition.isSelected(seed, member, bigger, total, size), "more stake", stake, bigger);
            _check(
                Sortition.isSelected(seed, member, stake, total, larger),
                "larger committee",
                size,
                larger
            );
        }
    }

    /// The draw is keccak256(seed, member) against size x stake / total of the uint256 range.
    function testFuzz_SelectionIsTheMembersOwnDraw(
        bytes32 seed,
        address member,
        uint256 s,
        uint256 t,
        uint256 k
    ) public pure {
        uint256 size = _bound(k, 1, 16);
        uint256 total = _bound(t, size + 1, MAX_STAKE);
        uint256 stake = _bound(s, 1, (total - 1) / size); // below certainty
        uint256 draw = uint256(keccak256(abi.encode(seed, member)));
        // floor((2^256 - 1) x w / total) without overflow: 2^256 - 1 = q x total + rem
        uint256 w = size * stake;
        uint256 threshold = (type(uint256).max / total) * w + ((type(uint256).max % total) * w) / total;
        bool expected = draw < threshold;
        _check(Sortition.isSelected(seed, member, stake, total, size) == expected, "own draw", draw, stake);
    }

    /// Over 2,000 members with a quarter chance each, the committee is within six standard
    /// deviations (about 116) of its expected size of 500.
    function testFuzz_CommitteeSizeIsCloseToItsExpectation(bytes32 seed) public pure {
        uint256 n = 2000;
        uint256 selected;
        for (uint256 i; i < n; ++i) {
            address member = address(uint160(uint256(keccak256(abi.encode("member", i)))));
            if (Sortition.isSelected(seed, member, 1, 16, 4)) ++selected;
        }
        _check(selected >= 384 && selected <= 616, "committee size", selected, 500);
    }

    /// The first band is exactly the selection; a member outside it lands in the band its draw
    /// reaches, one expected member's slice (`stake / total` of the draw space) per band.
    function testFuzz_BandZeroIsTheSelectionAndBandsAreSlicesOfOneMember(
        bytes32 seed,
        address member,
        uint256 s,
        uint256 t,
        uint256 k
    ) public pure {
        uint256 size = _bound(k, 1, 16);
        uint256 total = _bound(t, size + 1, MAX_STAKE);
        uint256 stake = _bound(s, 1, (total - 1) / size); // below certainty
        uint256 band = Sortition.band(seed, member, stake, total, size);
        bool selected = Sortition.isSelected(seed, member, stake, total, size);
        _check((band == 0) == selected, "band 0 is the selection", band, selected ? 1 : 0);
        if (band == 0) return;
        uint256 draw = uint256(keccak256(abi.encode(seed, member)));
        uint256 q = type(uint256).max / total;
        uint256 rem = type(uint256).max % total;
        uint256 first = q * size * stake + (rem * size * stake) / total;
        uint256 unit = q * stake + (rem * stake) / total;
        // first + (band - 1) x unit <= draw < first + band x unit, without overflow
        _check((draw - first) / unit == band - 1, "band slice", draw, band);
    }

    /// No stake is never in any band; a certain member is always in the first.
    function testFuzz_BandOfTheStakelessAndTheCertain(
        bytes32 seed,
        address member,
        uint256 t,
        uint256 k
    ) public pure {
        uint256 size = _bound(k, 1, 16);
        uint256 total = _bound(t, 1, MAX_STAKE);
        _check(Sortition.band(seed, member, 0, total, size) == type(uint256).max, "no stake", 0, total);
        _check(Sortition.band(seed, member, total, total, size) == 0, "certain member", total, total);
    }

    /// Over 2,000 members of 1 stake unit in 16 and committees of 4, the first band holds about 500
    /// members and each further band about 125 (within six standard deviations).
    function testFuzz_TopUpBandsHoldOneExpectedMemberEach(bytes32 seed) public pure {
        uint256[8] memory count;
        for (uint256 i; i < 2000; ++i) {
            address member = address(uint160(uint256(keccak256(abi.encode("member", i)))));
            uint256 band = Sortition.band(seed, member, 1, 16, 4);
            if (band < 8) ++count[band];
        }
        _check(count[0] >= 384 && count[0] <= 616, "first band", count[0], 500);
        for (uint256 m = 1; m < 8; ++m)
            _check(count[m] >= 60 && count[m] <= 190, "top-up band", count[m], 125);
    }
}
