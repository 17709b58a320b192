// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";

/// @title Judgment
/// @notice The pure part of the PoAI judgment engine: the verdict of a committee, the
///         stake-weighted median of the measured scores, and the challenge score
///         `score = latencyFactor x deviationFactor` (1e18 = 1), zero outside the spec's band.
///
/// The verdict rule. Each member reveals a verdict (phase 1); an `Invalid` reveal names a segment
/// that does not replay. When any member revealed `Invalid` the run is *accused* and a second
/// phase follows, in which every member that revealed replays the named segments and votes again:
/// a replay mismatch is objective, so one honest catch becomes the verdict of every honest member.
///  - accused: the accusation's side is every member that voted `Invalid` or `Unavailable` in the
///    second phase, or revealed `Invalid` and did not vote again; the defence is every member that
///    voted `Valid` in the second phase. With at least `minReveals` members on either side, fraud
///    is proven when the accusation holds `quorumBps` of their stake, and the accusation fails
///    when the defence does; otherwise (a tie, too few votes) the committee cannot decide yet.
///  - not accused, or the accusation failed: each member's verdict is its second-phase vote if it
///    cast one, else its reveal; with at least `minReveals` reveals, `Valid` or `Unavailable` wins
///    with `quorumBps` of the revealed stake; otherwise the committee cannot decide yet.
/// A committee that cannot decide is extended by the caller (more members join); with
/// `quorumBps` of 5,001 an honest majority of the stake decides and a third never vetoes.
library Judgment {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;

    /// One member (`weight == 0` marks a member that did not reveal).
    struct Vote {
        address validator;
        IChallengeManager.Verdict verdict; // revealed in phase 1
        IChallengeManager.Verdict replay; // second-phase vote, None if none
        uint16 scoreBps;
        uint256 weight;
    }

    struct Outcome {
        IChallengeManager.Verdict verdict; // None: the committee cannot decide (yet)
        bool accused; // some member revealed Invalid
        uint16 medianScoreBps; // stake-weighted median of the Valid reveals' measured scores
        uint256 revealedStake;
        uint256 reveals;
    }

    /// @notice The committee's verdict under the rule above.
    function tally(
        Vote[] memory votes,
        uint256 quorumBps,
        uint256 minReveals
    ) internal pure returns (Outcome memory o) {
        uint256 validStake;
        uint256 unavailableStake;
        uint256 against;
        uint256 defence;
        uint256 voters;
        for (uint256 i; i < votes.length; ++i) {
            Vote memory v = votes[i];
            uint256 w = v.weight;
            if (w == 0) continue;
            o.revealedStake += w;
            ++o.reveals;
            if (v.verdict == IChallengeManager.Verdict.Invalid) o.accused = true;
            IChallengeManager.Verdict e = effective(v);
            if (e == IChallengeManager.Verdict.Valid) validStake += w;
            else if (e == IChallengeManager.Verdict.Unavailable) unavailableStake += w;
            if (accuses(v)) {
                against += w;
                ++voters;
            } else if (v.replay == IChallengeManager.Verdict.Valid) {
                defence += w;
                ++voters;
            }
        }
        if (o.reveals < minReveals) return o;
        if (o.accused) {
            if (voters < minReveals) return o;
            uint256 voting = against + defence;
            if (against != 0 && against * BPS >= quorumBps * voting) {
                o.verdict = IChallengeManager.Verdict.Invalid;
                return o;
            }
            if (defence * BPS < quorumBps * voting) return o;
        }
        if (validStake * BPS >= quorumBps * o.revealedStake) {
            o.verdict = IChallengeManager.Verdict.Valid;
            o.medianScoreBps = weightedMedian(votes);
        } else if (unavailableStake * BPS >= quorumBps * o.revealedStake) {
            o.verdict = IChallengeManager.Verdict.Unavailable;
        }
    }

    /// @notice A member's standing verdict: its second-phase vote if it cast one, else its reveal.
    function effective(Vote memory v) internal pure returns (IChallengeManager.Verdict) {
        return v.replay != IChallengeManager.Verdict.None ? v.replay : v.verdict;
    }

    /// @notice Whether a member stands on the accusation's side.
    function accuses(Vote memory v) internal pure returns (bool) {
        if (v.weight == 0) return false;
        IChallengeManager.Verdict r = v.replay;
        return
            r == IChallengeManager.Verdict.Invalid ||
            r == IChallengeManager.Verdict.Unavailable ||
            (r == IChallengeManager.Verdict.None && v.verdict == IChallengeManager.Verdict.Invalid);
    }

    /// @notice Whether a member's measured score counts for the median: it revealed Valid and did
    ///         not vote otherwise in the second phase.
    function scores(Vote memory v) internal pure returns (bool) {
        return
            v.weight != 0 &&
            v.verdict == IChallengeManager.Verdict.Valid &&
            (v.replay == IChallengeManager.Verdict.None || v.replay == IChallengeManager.Verdict.Valid);
    }

    /// @notice The lower stake-weighted median of the scoring votes' measured scores.
    function weightedMedian(Vote[] memory votes) internal pure returns (uint16) {
        uint256 n;
        for (uint256 i; i < votes.length; ++i) if (scores(votes[i])) ++n;
        uint16[] memory list = new uint16[](n);
        uint256[] memory weights = new uint256[](n);
        uint256 total;
        n = 0;
        for (uint256 i; i < votes.length; ++i) {
            if (!scores(votes[i])) continue;
            // insertion sort by score (a committee is at most a few dozen members)
            uint256 j = n++;
            while (j > 0 && list[j - 1] > votes[i].scoreBps) {
                list[j] = list[j - 1];
                weights[j] = weights[j - 1];
                --j;
            }
            list[j] = votes[i].scoreBps;
            weights[j] = votes[i].weight;
            total += votes[i].weight;
        }
        uint256 acc;
        for (uint256 k; k < n; ++k) {
            acc += weights[k];
            if (acc * 2 >= total) return list[k];
        }
        return 0;
    }

    /// @notice The challenge score (1e18 = 1) of a valid run.
    /// @param latency seconds from the round's start to the submission
    /// @param deadlineSpan seconds the trainer had (latency <= deadlineSpan)
    function score(
        uint16 medianScoreBps,
        uint16 reportedScoreBps,
        uint256 latency,
        uint256 deadlineSpan,
        uint16 minScoreBps,
        uint16 maxScoreBps,
        uint16 maxDeviationBps
    ) internal pure returns (uint256) {
        if (medianScoreBps < minScoreBps || medianScoreBps > maxScoreBps) return 0;
        uint256 deviation =
            reportedScoreBps > medianScoreBps
                ? reportedScoreBps - medianScoreBps
                : medianScoreBps - reportedScoreBps;
        if (deviation >= maxDeviationBps) return 0;
        uint256 deviationFactor = ((maxDeviationBps - deviation) * WAD) / maxDeviationBps;
        if (latency > deadlineSpan) latency = deadlineSpan;
        uint256 latencyFactor = deadlineSpan == 0 ? WAD : WAD - (latency * WAD) / (2 * deadlineSpan);
        return (deviationFactor * latencyFactor) / WAD;
    }

    /// @notice Whether a member agrees with the outcome and earns its points: for fraud, it stands
    ///         on the accusation's side; for withholding, its standing verdict is Unavailable; for a
    ///         valid run, it revealed Valid, stood by it, and measured a score within
    ///         `toleranceBps` of the median.
    function agrees(Vote memory v, Outcome memory o, uint256 toleranceBps) internal pure returns (bool) {
        if (v.weight == 0) return false;
        if (o.verdict == IChallengeManager.Verdict.Invalid) return accuses(v);
        if (o.verdict == IChallengeManager.Verdict.Unavailable)
            return effective(v) == IChallengeManager.Verdict.Unavailable;
        if (o.verdict != IChallengeManager.Verdict.Valid || !scores(v)) return false;
        uint256 d =
            v.scoreBps > o.medianScoreBps ? v.scoreBps - o.medianScoreBps : o.medianScoreBps - v.scoreBps;
        return d <= toleranceBps;
    }

    /// @notice Whether a member's Valid vote stands on a run proven fraudulent (it is slashed).
    function vouchedForFraud(Vote memory v, Outcome memory o) internal pure returns (bool) {
        return
            v.weight != 0 &&
            o.verdict == IChallengeManager.Verdict.Invalid &&
            effective(v) == IChallengeManager.Verdict.Valid;
    }

    /// @notice The members that found the offence, at most `max` of them (the finder's fee goes to
    ///         them): for fraud, the members that revealed Invalid and stood by it; for
    ///         withholding, the members whose standing verdict is Unavailable.
    function reporters(
        Vote[] memory votes,
        IChallengeManager.Verdict verdict,
        uint256 max
    ) internal pure returns (address[] memory list) {
        uint256 n;
        for (uint256 i; i < votes.length; ++i) if (_reports(votes[i], verdict)) ++n;
        list = new address[](n < max ? n : max);
        n = 0;
        for (uint256 i; i < votes.length && n < list.length; ++i) {
            if (_reports(votes[i], verdict)) list[n++] = votes[i].validator;
        }
    }

    function _reports(Vote memory v, IChallengeManager.Verdict verdict) private pure returns (bool) {
        if (v.weight == 0) return false;
        if (verdict == IChallengeManager.Verdict.Invalid)
            return v.verdict == IChallengeManager.Verdict.Invalid && accuses(v);
        return effective(v) == verdict;
    }
}
