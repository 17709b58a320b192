// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Judgment} from "./Judgment.sol";
import {Sortition} from "./Sortition.sol";

/// @title ChallengeCold
/// @notice The ChallengeManager's cold paths: views that disputes, the job board and daemons read,
///         and the checks of a beacon-withholding report (a linked library, like `ChallengeParams`:
///         its code is not the ChallengeManager's, which stays under the contract size limit).
library ChallengeCold {
    /// A committee slot's flag once its member revealed (see `ChallengeManager`'s slot layout).
    uint256 private constant REVEALED = 1 << 248;

    /// @notice `ChallengeManager.getMembers`: the first `n` committee slots of challenge `id`,
    ///         decoded. An unrevealed member shows its weight only.
    function members(
        mapping(bytes32 => mapping(uint256 => uint256)) storage slots,
        bytes32 id,
        uint256 n
    ) external view returns (IChallengeManager.MemberView[] memory views) {
        views = new IChallengeManager.MemberView[](n);
        for (uint256 i; i < n; ++i) {
            uint256 slot = slots[id][i];
            if (slot & REVEALED == 0) {
                views[i].weight = uint32(slot >> 216);
                continue;
            }
            views[i] = IChallengeManager.MemberView(
                address(uint160(slot)),
                IChallengeManager.Verdict(uint8(slot >> 240)),
                uint32(slot >> 208),
                uint16(slot >> 192),
                true,
                IChallengeManager.Verdict((slot >> 249) & 3),
                uint32(slot >> 160)
            );
        }
    }

    /// @notice `member`'s sortition band in the committee of challenge `id` audited in the round
    ///         whose beacon value is `value` (`Sortition.committeeBand`), with its `stake` of the
    ///         validators' `totalStake` at the challenge's round, the parameters `p` and the
    ///         `challenges` submitted in the round before the audit round (the pool's size).
    function band(
        IChallengeManager.Params storage p,
        bytes32 value,
        bytes32 id,
        address member,
        uint256 stake,
        uint256 totalStake,
        uint256 challenges
    ) public view returns (uint256) {
        uint256 size = p.committeeSize;
        return
            Sortition.committeeBand(
                value,
                id,
                member,
                stake,
                totalStake,
                size,
                Sortition.poolSize(size, p.minReveals, p.poolSeats, challenges)
            );
    }

    /// @notice `ChallengeManager.isCommitteeMember` for a validator: whether `validator` is drawn in
    ///         the first band of the committee of `id` (of `round`), with its stake at `round` (and
    ///         the validator role's).
    function isSelected(
        IChallengeManager.Params storage p,
        IStaking staking,
        bytes32 value,
        bytes32 id,
        address validator,
        uint256 round,
        uint256 challenges
    ) external view returns (bool) {
        return
            band(
                p,
                value,
                id,
                validator,
                staking.stakeAt(validator, round),
                staking.roleStakeAt(IStaking.Role.Validator, round),
                challenges
            ) == 0;
    }

    /// @notice `ChallengeManager.reportBeaconWithholding`'s checks: `validator` committed to the
    ///         beacon of `round` and never revealed, the report comes from `readyAt` (the round's
    ///         start) until `closes`, and is the first for it (which `slashed` then records).
    function recordWithholding(
        IRandomnessBeacon beacon,
        mapping(uint256 => mapping(address => bool)) storage slashed,
        uint256 round,
        address validator,
        uint256 readyAt,
        uint256 closes
    ) external {
        (bool committed, bool revealed) = beacon.contributionOf(round, validator);
        if (!committed || revealed) revert IChallengeManager.RevealNotWithheld(round, validator);
        if (block.timestamp < readyAt) revert IChallengeManager.DeadlineNotPassed(readyAt, block.timestamp);
        if (block.timestamp > closes) revert IChallengeManager.ReportTooLate(closes, block.timestamp);
        if (slashed[round][validator]) revert IChallengeManager.WithholdingAlreadySlashed(round, validator);
        slashed[round][validator] = true;
    }

    /// @notice A `Judgment.Vote` with its verdicts as their `uint8` values: the same layout in memory
    ///         and in calldata, and plain ABI types, so that tools that read this library's ABI
    ///         (deployment tooling, decoders) need no enum type names.
    struct PlainVote {
        address validator;
        uint8 verdict;
        uint8 replay;
        uint16 scoreBps;
        uint256 weight;
    }

    /// @notice `Judgment.reporters` (the members that reported the offence of `verdict`, at most
    ///         `max`), for the slash of a convicted or withholding trainer. `votes` are the
    ///         challenge manager's own (`plainVotes`); `verdict` out of the enum's range reverts.
    function reporters(
        PlainVote[] memory votes,
        uint8 verdict,
        uint256 max
    ) external pure returns (address[] memory) {
        Judgment.Vote[] memory typed;
        assembly ("memory-safe") {
            typed := votes
        }
        return Judgment.reporters(typed, IChallengeManager.Verdict(verdict), max);
    }

    /// @notice `votes` as `PlainVote`s, in place (the same memory: no copy).
    function plainVotes(Judgment.Vote[] memory votes) internal pure returns (PlainVote[] memory plain) {
        assembly ("memory-safe") {
            plain := votes
        }
    }
}
