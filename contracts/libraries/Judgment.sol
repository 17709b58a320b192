// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";

/// @title Judgment
/// @notice The pure part of the PoAI judgment engine: stake-quorum correctness, the stake-weighted
///         median of the measured scores, and the challenge score
///         `score = latencyFactor x deviationFactor` (1e18 = 1), zero outside the spec's score band.
library Judgment {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;

    /// One revealed verdict (`weight == 0` marks a member that did not reveal).
    struct Vote {
        address validator;
        IChallengeManager.Verdict verdict;
        uint16 scoreBps;
        uint256 weight;
    }

    struct Outcome {
        IChallengeManager.Verdict verdict; // None: no quorum
        uint16 medianScoreBps; // stake-weighted median of the Valid votes' measured scores
        uint256 revealedStake;
        uint256 reveals;
    }

    /// @notice The verdict that holds at least `quorumBps` of the revealed stake, if any, among
    ///         at least `minReveals` reveals.
    function tally(
        Vote[] memory votes,
        uint256 quorumBps,
        uint256 minReveals
    ) internal pure returns (Outcome memory o) {
        uint256[4] memory stake;
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight == 0) continue;
            stake[uint8(votes[i].verdict)] += votes[i].weight;
            o.revealedStake += votes[i].weight;
            ++o.reveals;
        }
        if (o.reveals < minReveals || o.revealedStake == 0) return o;
        for (uint8 v = 1; v <= 3; ++v) {
            if (stake[v] * BPS >= quorumBps * o.revealedStake) {
                o.verdict = IChallengeManager.Verdict(v);
                break;
            }
        }
        if (o.verdict == IChallengeManager.Verdict.Valid) o.medianScoreBps = weightedMedian(votes, stake[1]);
    }

    /// @notice The lower stake-weighted median of the Valid votes' scores.
    function weightedMedian(Vote[] memory votes, uint256 validStake) internal pure returns (uint16) {
        uint256 n;
        for (uint256 i; i < votes.length; ++i)
            if (votes[i].weight != 0 && votes[i].verdict == IChallengeManager.Verdict.Valid) ++n;
        uint16[] memory scores = new uint16[](n);
        uint256[] memory weights = new uint256[](n);
        n = 0;
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight == 0 || votes[i].verdict != IChallengeManager.Verdict.Valid) continue;
            // insertion sort by score (a committee is at most a few dozen members)
            uint256 j = n++;
            while (j > 0 && scores[j - 1] > votes[i].scoreBps) {
                scores[j] = scores[j - 1];
                weights[j] = weights[j - 1];
                --j;
            }
            scores[j] = votes[i].scoreBps;
            weights[j] = votes[i].weight;
        }
        uint256 acc;
        for (uint256 k; k < n; ++k) {
            acc += weights[k];
            if (acc * 2 >= validStake) return scores[k];
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

    /// @notice Whether a reveal agrees with the outcome (same verdict; for Valid, a measured score
    ///         within `toleranceBps` of the median).
    function agrees(Vote memory v, Outcome memory o, uint256 toleranceBps) internal pure returns (bool) {
        if (v.weight == 0 || v.verdict != o.verdict || o.verdict == IChallengeManager.Verdict.None)
            return false;
        if (o.verdict != IChallengeManager.Verdict.Valid) return true;
        uint256 d =
            v.scoreBps > o.medianScoreBps ? v.scoreBps - o.medianScoreBps : o.medianScoreBps - v.scoreBps;
        return d <= toleranceBps;
    }

    /// @notice The validators that revealed `verdict`, at most `max` of them (the finder's fee goes to them).
    function reporters(
        Vote[] memory votes,
        IChallengeManager.Verdict verdict,
        uint256 max
    ) internal pure returns (address[] memory list) {
        uint256 n;
        for (uint256 i; i < votes.length; ++i) if (votes[i].weight != 0 && votes[i].verdict == verdict) ++n;
        list = new address[](n < max ? n : max);
        n = 0;
        for (uint256 i; i < votes.length && n < list.length; ++i) {
            if (votes[i].weight != 0 && votes[i].verdict == verdict) list[n++] = votes[i].validator;
        }
    }
}
