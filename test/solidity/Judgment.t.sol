// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "../../contracts/interfaces/IChallengeManager.sol";
import {Judgment} from "../../contracts/libraries/Judgment.sol";

/// @title Judgment fuzz tests
/// @notice Properties of the pure judgment engine over random committees (up to 32 members, any
///         verdicts and weights, some unrevealed) and random scoring inputs. Any failed check
///         reverts with the property's name.
contract JudgmentTest {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_COMMITTEE = 32;

    error Violated(string property, uint256 a, uint256 b);

    function _check(bool ok, string memory property, uint256 a, uint256 b) internal pure {
        if (!ok) revert Violated(property, a, b);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    /// A committee drawn from `seed`: 1..32 votes, a third of them unrevealed (weight 0), a third
    /// with a second-phase vote, scores clustered on a few values so that ties happen, weights up
    /// to 2^32 - 1 (the engine's unit).
    function _votes(uint256 seed) internal pure returns (Judgment.Vote[] memory votes) {
        uint256 n = _bound(seed, 1, MAX_COMMITTEE);
        votes = new Judgment.Vote[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            votes[i].validator = address(uint160(r));
            votes[i].verdict = IChallengeManager.Verdict(_bound(r >> 160, 1, 3));
            votes[i].replay =
                (r >> 165) % 3 == 0
                    ? IChallengeManager.Verdict(_bound(r >> 168, 1, 3))
                    : IChallengeManager.Verdict.None;
            votes[i].scoreBps =
                uint16(r >> 170) % 4 == 0
                    ? uint16(_bound(r >> 180, 0, BPS))
                    : uint16(8000 + ((r >> 180) % 4) * 100);
            votes[i].weight = (r >> 200) % 3 == 0 ? 0 : _bound(r >> 210, 1, type(uint32).max);
        }
    }

    function _reversed(Judgment.Vote[] memory votes) internal pure returns (Judgment.Vote[] memory out) {
        out = new Judgment.Vote[](votes.length);
        for (uint256 i; i < votes.length; ++i) out[i] = votes[votes.length - 1 - i];
    }

    struct Sums {
        uint256 revealed;
        uint256 reveals;
        uint256 valid; // standing verdict Valid
        uint256 unavailable; // standing verdict Unavailable
        uint256 against; // second-phase Invalid or Unavailable, or revealed Invalid without a second vote
        uint256 defence; // second-phase Valid
        uint256 voters;
        bool accused;
    }

    /// The rule, written out from docs/protocol.md, member by member.
    function _sums(Judgment.Vote[] memory votes) internal pure returns (Sums memory s) {
        for (uint256 i; i < votes.length; ++i) {
            Judgment.Vote memory v = votes[i];
            if (v.weight == 0) continue;
            s.revealed += v.weight;
            ++s.reveals;
            if (v.verdict == IChallengeManager.Verdict.Invalid) s.accused = true;
            IChallengeManager.Verdict standing =
                v.replay == IChallengeManager.Verdict.None ? v.verdict : v.replay;
            if (standing == IChallengeManager.Verdict.Valid) s.valid += v.weight;
            if (standing == IChallengeManager.Verdict.Unavailable) s.unavailable += v.weight;
            if (
                v.replay == IChallengeManager.Verdict.Invalid ||
                v.replay == IChallengeManager.Verdict.Unavailable ||
                (v.replay == IChallengeManager.Verdict.None && v.verdict == IChallengeManager.Verdict.Invalid)
            ) {
                s.against += v.weight;
                ++s.voters;
            } else if (v.replay == IChallengeManager.Verdict.Valid) {
                s.defence += v.weight;
                ++s.voters;
            }
        }
    }

    /// The verdict follows the rule: fraud only on an accusation backed by a quorum of the voting
    /// stake, the accusation failing only on a quorum of the defence, and otherwise Valid or
    /// Unavailable by a quorum of the revealed stake; never a verdict below minReveals.
    function testFuzz_TallyFollowsTheRule(uint256 seed, uint256 q, uint256 m) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 quorumBps = _bound(q, BPS / 2 + 1, (2 * BPS) / 3);
        uint256 minReveals = _bound(m, 1, MAX_COMMITTEE);
        Judgment.Outcome memory o = Judgment.tally(votes, quorumBps, minReveals);
        Sums memory s = _sums(votes);
        _check(o.revealedStake == s.revealed, "revealed stake", o.revealedStake, s.revealed);
        _check(o.reveals == s.reveals, "reveals", o.reveals, s.reveals);
        _check(o.accused == s.accused, "accused", o.accused ? 1 : 0, s.accused ? 1 : 0);
        IChallengeManager.Verdict expected = IChallengeManager.Verdict.None;
        bool open = s.reveals >= minReveals;
        if (open && s.accused) {
            uint256 voting = s.against + s.defence;
            if (s.voters < minReveals) open = false;
            else if (s.against != 0 && s.against * BPS >= quorumBps * voting) {
                expected = IChallengeManager.Verdict.Invalid;
                open = false;
            } else if (s.defence * BPS < quorumBps * voting) open = false;
        }
        if (open) {
            if (s.valid * BPS >= quorumBps * s.revealed) expected = IChallengeManager.Verdict.Valid;
            else if (s.unavailable * BPS >= quorumBps * s.revealed)
                expected = IChallengeManager.Verdict.Unavailable;
        }
        _check(o.verdict == expected, "verdict", uint8(o.verdict), uint8(expected));
        if (!s.accused)
            _check(o.verdict != IChallengeManager.Verdict.Invalid, "no fraud without an accusation", 0, 0);
    }

    /// With quorumBps at most two thirds, an accusation holding two thirds of the voting stake
    /// among enough voters is always fraud: no member holding a third can veto it.
    function testFuzz_NoThirdVetoesAProvenFraud(uint256 seed, uint256 q) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 quorumBps = _bound(q, BPS / 2 + 1, (2 * BPS) / 3);
        Sums memory s = _sums(votes);
        Judgment.Outcome memory o = Judgment.tally(votes, quorumBps, 1);
        if (s.accused && s.voters >= 1 && s.against * 3 >= 2 * (s.against + s.defence) && s.against != 0) {
            _check(
                o.verdict == IChallengeManager.Verdict.Invalid,
                "two thirds convict",
                s.against,
                s.defence
            );
        }
        // and a strict majority of the voting stake is enough at the lowest quorum
        Judgment.Outcome memory low = Judgment.tally(votes, BPS / 2 + 1, 1);
        if (s.accused && s.against * BPS >= (BPS / 2 + 1) * (s.against + s.defence) && s.against != 0) {
            _check(
                low.verdict == IChallengeManager.Verdict.Invalid,
                "a majority convicts",
                s.against,
                s.defence
            );
        }
    }

    /// Unrevealed members and the order of the committee do not change the outcome.
    function testFuzz_TallyIgnoresUnrevealedMembersAndOrder(uint256 seed, uint256 q) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 quorumBps = _bound(q, BPS / 2 + 1, (2 * BPS) / 3);
        Judgment.Outcome memory a = Judgment.tally(votes, quorumBps, 1);
        Judgment.Outcome memory b = Judgment.tally(_reversed(votes), quorumBps, 1);
        _check(a.verdict == b.verdict, "order: verdict", uint8(a.verdict), uint8(b.verdict));
        _check(a.medianScoreBps == b.medianScoreBps, "order: median", a.medianScoreBps, b.medianScoreBps);
        // flip every unrevealed member's verdicts and score
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight != 0) continue;
            votes[i].verdict = IChallengeManager.Verdict(1 + (uint8(votes[i].verdict) % 3));
            votes[i].replay = IChallengeManager.Verdict((uint8(votes[i].replay) + 1) % 4);
            votes[i].scoreBps = uint16(BPS) - votes[i].scoreBps;
        }
        Judgment.Outcome memory c = Judgment.tally(votes, quorumBps, 1);
        _check(a.verdict == c.verdict, "unrevealed: verdict", uint8(a.verdict), uint8(c.verdict));
        _check(
            a.medianScoreBps == c.medianScoreBps,
            "unrevealed: median",
            a.medianScoreBps,
            c.medianScoreBps
        );
    }

    /// The median is the lower stake-weighted median of the scoring votes (revealed Valid, not
    /// voted otherwise in the second phase): one of their scores, with at least half their stake
    /// at or below it and less than half strictly below it.
    function testFuzz_MedianIsTheLowerWeightedMedianOfValidReveals(uint256 seed) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 validStake;
        for (uint256 i; i < votes.length; ++i) if (Judgment.scores(votes[i])) validStake += votes[i].weight;
        if (validStake == 0) return;
        uint16 median = Judgment.weightedMedian(votes);
        uint256 atOrBelow;
        uint256 below;
        bool isAScore;
        for (uint256 i; i < votes.length; ++i) {
            Judgment.Vote memory v = votes[i];
            if (v.weight == 0 || v.verdict != IChallengeManager.Verdict.Valid) continue;
            if (v.replay != IChallengeManager.Verdict.None && v.replay != IChallengeManager.Verdict.Valid)
                continue;
            if (v.scoreBps == median) isAScore = true;
            if (v.scoreBps <= median) atOrBelow += v.weight;
            if (v.scoreBps < median) below += v.weight;
        }
        _check(isAScore, "median is a revealed Valid score", median, validStake);
        _check(atOrBelow * 2 >= validStake, "half the stake at or below", atOrBelow, validStake);
        _check(below * 2 < validStake, "less than half strictly below", below, validStake);
    }

    /// The score is at most 1, zero outside the band or at maxDeviation and beyond, and exactly
    /// the product of the floored latency and deviation factors otherwise.
    function testFuzz_ScoreIsTheProductOfTheFactorsWithinTheBand(
        uint16 medianRaw,
        uint16 reportedRaw,
        uint256 latencyRaw,
        uint256 spanRaw,
        uint16 lo,
        uint16 hi,
        uint16 devRaw
    ) public pure {
        uint16 median = uint16(medianRaw % (BPS + 1));
        uint16 reported = uint16(reportedRaw % (BPS + 1));
        uint256 span = _bound(spanRaw, 0, 30 days);
        uint256 latency = span == 0 ? 0 : latencyRaw % (span + 1);
        uint16 maxScore = uint16(hi % (BPS + 1));
        uint16 minScore = uint16(lo % (uint256(maxScore) + 1));
        uint16 maxDev = uint16(_bound(devRaw, 1, BPS));
        uint256 s = Judgment.score(median, reported, latency, span, minScore, maxScore, maxDev);
        _check(s <= WAD, "score <= 1", s, WAD);
        uint256 dev = reported > median ? reported - median : median - reported;
        if (median < minScore || median > maxScore || dev >= maxDev) {
            _check(s == 0, "zero outside the band or past maxDeviation", s, dev);
            return;
        }
        uint256 devFactor = ((maxDev - dev) * WAD) / maxDev;
        uint256 latFactor = span == 0 ? WAD : WAD - (latency * WAD) / (2 * span);
        _check(s == (devFactor * latFactor) / WAD, "product of the factors", s, devFactor);
        _check(latFactor * 2 >= WAD, "latency halves the score at most", latFactor, WAD);
        if (dev == 0 && latency == 0) _check(s == WAD, "a perfect run scores 1", s, WAD);
    }

    /// A later submission or a larger deviation never scores more.
    function testFuzz_ScoreNeverRisesWithLatencyOrDeviation(
        uint16 medianRaw,
        uint16 reportedRaw,
        uint256 latencyRaw,
        uint256 spanRaw,
        uint256 extra,
        uint16 devRaw
    ) public pure {
        uint16 median = uint16(medianRaw % (BPS + 1));
        uint16 reported = uint16(reportedRaw % (BPS + 1));
        uint256 span = _bound(spanRaw, 1, 30 days);
        uint256 latency = latencyRaw % (span + 1);
        uint256 later = latency + (extra % (span - latency + 1));
        uint16 maxDev = uint16(_bound(devRaw, 1, BPS));
        uint256 s = Judgment.score(median, reported, latency, span, 0, uint16(BPS), maxDev);
        uint256 sLater = Judgment.score(median, reported, later, span, 0, uint16(BPS), maxDev);
        _check(sLater <= s, "later never scores more", sLater, s);
        // move the report one step further from the median
        uint16 further = reported;
        if (reported >= median && reported < BPS) further = reported + 1;
        else if (reported < median && reported > 0) further = reported - 1;
        if (further != reported) {
            uint256 sFurther = Judgment.score(median, further, latency, span, 0, uint16(BPS), maxDev);
            _check(sFurther <= s, "further never scores more", sFurther, s);
        }
    }

    /// Points and slashes: on a fraud, a member earns points exactly when it stands on the
    /// accusation's side and is slashed exactly when its standing verdict is Valid (never both);
    /// on a valid run, exactly the members that revealed Valid, stood by it and measured within
    /// the tolerance earn points; on withholding, those standing on Unavailable; nobody on no
    /// decision. Nobody is slashed unless the run is a fraud.
    function testFuzz_PointsGoToTheSideThatWonAndSlashesToVouchersOfFraud(
        uint256 seed,
        uint256 q,
        uint256 t
    ) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        Judgment.Outcome memory o = Judgment.tally(votes, _bound(q, BPS / 2 + 1, (2 * BPS) / 3), 1);
        uint256 tolerance = t % (BPS + 1);
        for (uint256 i; i < votes.length; ++i) {
            Judgment.Vote memory v = votes[i];
            IChallengeManager.Verdict standing =
                v.replay == IChallengeManager.Verdict.None ? v.verdict : v.replay;
            bool accuser =
                v.replay == IChallengeManager.Verdict.Invalid ||
                    v.replay == IChallengeManager.Verdict.Unavailable ||
                    (v.replay == IChallengeManager.Verdict.None &&
                        v.verdict == IChallengeManager.Verdict.Invalid);
            bool expected;
            if (v.weight == 0) expected = false;
            else if (o.verdict == IChallengeManager.Verdict.Invalid) expected = accuser;
            else if (o.verdict == IChallengeManager.Verdict.Unavailable)
                expected = standing == IChallengeManager.Verdict.Unavailable;
            else if (o.verdict == IChallengeManager.Verdict.Valid) {
                uint256 d =
                    v.scoreBps > o.medianScoreBps
                        ? v.scoreBps - o.medianScoreBps
                        : o.medianScoreBps - v.scoreBps;
                expected = Judgment.scores(v) && d <= tolerance;
            }
            bool agrees = Judgment.agrees(v, o, tolerance);
            bool slashed = Judgment.vouchedForFraud(v, o);
            _check(agrees == expected, "agrees", i, uint8(o.verdict));
            _check(!(agrees && slashed), "never paid and slashed", i, uint8(o.verdict));
            bool shouldSlash =
                v.weight != 0 &&
                    o.verdict == IChallengeManager.Verdict.Invalid &&
                    standing == IChallengeManager.Verdict.Valid;
            _check(slashed == shouldSlash, "slashed", i, uint8(o.verdict));
        }
    }

    /// The reporters are the first `max` members that found the offence, in committee order: for
    /// fraud the members that revealed Invalid and stood by it, for withholding those standing on
    /// Unavailable.
    function testFuzz_ReportersAreTheFirstMembersThatFoundIt(uint256 seed, uint8 v, uint256 m) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        IChallengeManager.Verdict verdict =
            v % 2 == 0 ? IChallengeManager.Verdict.Invalid : IChallengeManager.Verdict.Unavailable;
        uint256 max = _bound(m, 0, 16);
        address[] memory list = Judgment.reporters(votes, verdict, max);
        uint256 k;
        for (uint256 i; i < votes.length && k < max; ++i) {
            Judgment.Vote memory x = votes[i];
            if (x.weight == 0) continue;
            bool found =
                verdict == IChallengeManager.Verdict.Invalid
                    ? x.verdict == IChallengeManager.Verdict.Invalid &&
                        x.replay != IChallengeManager.Verdict.Valid
                    : (x.replay == IChallengeManager.Verdict.None ? x.verdict : x.replay) ==
                        IChallengeManager.Verdict.Unavailable;
            if (!found) continue;
            _check(list.length > k && list[k] == x.validator, "reporter order", i, k);
            ++k;
        }
        _check(list.length == k, "reporter count", list.length, k);
    }
}
