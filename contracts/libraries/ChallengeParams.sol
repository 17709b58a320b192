// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";

/// @title ChallengeParams
/// @notice The hard bounds of the ChallengeManager's parameters (a linked library: its code is not
///         the ChallengeManager's, which stays under the contract size limit). A value outside its
///         bounds is refused with `InvalidParameter(name, value, min, max)`.
library ChallengeParams {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    /// Most seats a pool member may hold on average (`poolSeats`): a member commits its verdicts in
    /// one batch, which must fit a block.
    uint256 internal constant MAX_POOL_SEATS = 200;

    /// @notice Refuses `p` unless every field is within its bounds for epochs of `len` seconds;
    ///         `maxCommittee`, `maxExtensions`, `maxVerdictSlash` and `maxBeaconSlash` are the
    ///         ChallengeManager's constants.
    function check(
        IChallengeManager.Params memory p,
        uint256 len,
        uint256 maxCommittee,
        uint256 maxExtensions,
        uint256 maxVerdictSlash,
        uint256 maxBeaconSlash
    ) public pure {
        _bound("commitWindow", p.commitWindow, 1, len - 2);
        _bound("revealWindow", p.revealWindow, 1, len - p.commitWindow - 1);
        _bound("finalizeGrace", p.finalizeGrace, 1, len);
        _bound(
            "replayWindow",
            p.replayWindow,
            1,
            Math.min(p.finalizeGrace, len - p.commitWindow - p.revealWindow)
        );
        _bound("committeeSize", p.committeeSize, 1, maxCommittee / 2);
        _bound("quorumBps", p.quorumBps, BPS / 2 + 1, (2 * BPS) / 3);
        _bound("minReveals", p.minReveals, 1, maxCommittee);
        _bound("maxDeviationBps", p.maxDeviationBps, 1, BPS);
        _bound("scoreToleranceBps", p.scoreToleranceBps, 0, BPS);
        _bound("maxMisses", p.maxMisses, 1, 100);
        _bound("maxExtensions", p.maxExtensions, 0, maxExtensions);
        _bound("fraudSlash", p.fraudSlash, 1, WAD);
        _bound("withholdSlash", p.withholdSlash, 1, WAD);
        _bound("missSlash", p.missSlash, 1, WAD);
        _bound("verdictSlash", p.verdictSlash, 1, maxVerdictSlash);
        _bound("beaconSlash", p.beaconSlash, 1, maxBeaconSlash);
        _bound("poolSeats", p.poolSeats, 0, MAX_POOL_SEATS);
    }

    /// @notice `check`s `p`, then stores it in `params` and emits `ParamsUpdated` (from the
    ///         ChallengeManager, whose storage and address this runs with).
    function set(
        IChallengeManager.Params storage params,
        IChallengeManager.Params memory p,
        uint256 len,
        uint256 maxCommittee,
        uint256 maxExtensions,
        uint256 maxVerdictSlash,
        uint256 maxBeaconSlash
    ) external {
        check(p, len, maxCommittee, maxExtensions, maxVerdictSlash, maxBeaconSlash);
        params.commitWindow = p.commitWindow;
        params.revealWindow = p.revealWindow;
        params.finalizeGrace = p.finalizeGrace;
        params.replayWindow = p.replayWindow;
        params.committeeSize = p.committeeSize;
        params.quorumBps = p.quorumBps;
        params.minReveals = p.minReveals;
        params.maxDeviationBps = p.maxDeviationBps;
        params.scoreToleranceBps = p.scoreToleranceBps;
        params.maxMisses = p.maxMisses;
        params.maxExtensions = p.maxExtensions;
        params.fraudSlash = p.fraudSlash;
        params.withholdSlash = p.withholdSlash;
        params.missSlash = p.missSlash;
        params.verdictSlash = p.verdictSlash;
        params.beaconSlash = p.beaconSlash;
        params.poolSeats = p.poolSeats;
        emit IChallengeManager.ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert IChallengeManager.InvalidParameter(name, value, lo, hi);
    }
}
