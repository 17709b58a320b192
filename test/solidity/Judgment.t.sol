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

    /// A committee drawn from `seed`: 1..32 votes, a third of them unrevealed (weight 0), scores
    /// clustered on a few values so that ties happen, weights up to 2^32 - 1 (the engine's unit).
    function _votes(uint256 seed) internal pure returns (Judgment.Vote[] memory votes) {
        uint256 n = _bound(seed, 1, MAX_COMMITTEE);
        votes = new Judgment.Vote[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            votes[i].validator = address(uint160(r));
            votes[i].verdict = IChallengeManager.Verdict(_bound(r >> 160, 1, 3));
            votes[i].scoreBps =
                uint16(r >> 170) % 4 == 0
                    ? uint16(_bound(r >> 180, 0, BPS))
                    : uint16(8000 + ((r >> 180) % 4) * 100);
            votes[i].weight = (r >> 200) % 3 == 0 ? 0 : _bound(r >> 210, 1, type(uint32).max);
        }
    }

    function _stakes(
        Judgment.Vote[] memory votes
    ) internal pure returns (uint256[4] memory stake, uint256 total) {
        for (uint256 i; i < votes.length; ++i) {
            stake[uint8(votes[i].verdict)] += votes[i].weight;
            total += votes[i].weight;
        }
    }

    function _reversed(Judgment.Vote[] memory votes) internal pure returns (Judgment.Vote[] memory out) {
        out = new Judgment.Vote[](votes.length);
        for (uint256 i; i < votes.length; ++i) out[i] = votes[votes.length - 1 - i];
    }

    /// A verdict holds exactly when it has a quorum of the revealed stake among enough reveals.
    function testFuzz_TallyReturnsTheVerdictWithAQuorumOfRevealedStake(
        uint256 seed,
        uint256 q,
        uint256 m
    ) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 quorumBps = _bound(q, BPS / 2 + 1, BPS);
        uint256 minReveals = _bound(m, 1, MAX_COMMITTEE);
        Judgment.Outcome memory o = Judgment.tally(votes, quorumBps, minReveals);
        (uint256[4] memory stake, uint256 total) = _stakes(votes);
        uint256 reveals;
        for (uint256 i; i < votes.length; ++i) if (votes[i].weight != 0) ++reveals;
        _check(o.revealedStake == total, "revealed stake", o.revealedStake, total);
        _check(o.reveals == reveals, "reveals", o.reveals, reveals);
        if (reveals < minReveals || total == 0) {
            _check(
                o.verdict == IChallengeManager.Verdict.None,
                "no verdict below minReveals",
                reveals,
                minReveals
            );
            return;
        }
        for (uint8 v = 1; v <= 3; ++v) {
            bool quorum = stake[v] * BPS >= quorumBps * total;
            _check(quorum == (uint8(o.verdict) == v), "verdict iff quorum", v, stake[v]);
        }
    }

    /// Unrevealed members and the order of the committee do not change the outcome.
    function testFuzz_TallyIgnoresUnrevealedMembersAndOrder(uint256 seed, uint256 q) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        uint256 quorumBps = _bound(q, BPS / 2 + 1, BPS);
        Judgment.Outcome memory a = Judgment.tally(votes, quorumBps, 1);
        Judgment.Outcome memory b = Judgment.tally(_reversed(votes), quorumBps, 1);
        _check(a.verdict == b.verdict, "order: verdict", uint8(a.verdict), uint8(b.verdict));
        _check(a.medianScoreBps == b.medianScoreBps, "order: median", a.medianScoreBps, b.medianScoreBps);
        // flip every unrevealed member's verdict and score
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight != 0) continue;
            votes[i].verdict = IChallengeManager.Verdict(1 + (uint8(votes[i].verdict) % 3));
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

    /// The median is the lower stake-weighted median of the Valid reveals: one of their scores,
    /// with at least half the Valid stake at or below it and less than half strictly below it.
    function testFuzz_MedianIsTheLowerWeightedMedianOfValidReveals(uint256 seed) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        (uint256[4] memory stake, ) = _stakes(votes);
        uint256 validStake = stake[uint8(IChallengeManager.Verdict.Valid)];
        if (validStake == 0) return;
        uint16 median = Judgment.weightedMedian(votes, validStake);
        uint256 atOrBelow;
        uint256 below;
        bool isAScore;
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight == 0 || votes[i].verdict != IChallengeManager.Verdict.Valid) continue;
            if (votes[i].scoreBps == median) isAScore = true;
            if (votes[i].scoreBps <= median) atOrBelow += votes[i].weight;
            if (votes[i].scoreBps < median) below += votes[i].weight;
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

    /// A reveal agrees with the outcome exactly when it was revealed, has the outcome's verdict,
    /// and (for Valid) is within the tolerance of the median.
    function testFuzz_AgreesOnlyWithARevealedMatchingVerdict(uint256 seed, uint256 q, uint256 t) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        Judgment.Outcome memory o = Judgment.tally(votes, _bound(q, BPS / 2 + 1, BPS), 1);
        uint256 tolerance = t % (BPS + 1);
        for (uint256 i; i < votes.length; ++i) {
            bool expected =
                votes[i].weight != 0 &&
                    o.verdict != IChallengeManager.Verdict.None &&
                    votes[i].verdict == o.verdict;
            if (expected && o.verdict == IChallengeManager.Verdict.Valid) {
                uint256 d =
                    votes[i].scoreBps > o.medianScoreBps
                        ? votes[i].scoreBps - o.medianScoreBps
                        : o.medianScoreBps - votes[i].scoreBps;
                expected = d <= tolerance;
            }
            _check(Judgment.agrees(votes[i], o, tolerance) == expected, "agrees", i, uint8(o.verdict));
        }
    }

    /// The reporters are the first `max` revealed members with the verdict, in committee order.
    function testFuzz_ReportersAreTheFirstRevealedMembersWithTheVerdict(
        uint256 seed,
        uint8 v,
        uint256 m
    ) public pure {
        Judgment.Vote[] memory votes = _votes(seed);
        IChallengeManager.Verdict verdict = IChallengeManager.Verdict(1 + (v % 3));
        uint256 max = _bound(m, 0, 16);
        address[] memory list = Judgment.reporters(votes, verdict, max);
        uint256 k;
        for (uint256 i; i < votes.length && k < max; ++i) {
            if (votes[i].weight == 0 || votes[i].verdict != verdict) continue;
            _check(list.length > k && list[k] == votes[i].validator, "reporter order", i, k);
            ++k;
        }
        _check(list.length == k, "reporter count", list.length, k);
    }
}
