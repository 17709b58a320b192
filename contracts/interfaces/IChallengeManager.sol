// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStaking} from "./IStaking.sol";

/// @title IChallengeManager
/// @notice Proof-of-AI challenges: types, events, errors, and the epoch points the reward
///         distributor reads.
interface IChallengeManager {
    enum Verdict {
        None,
        Valid,
        Invalid,
        Unavailable
    }

    /// @notice Life of a challenge. `Submitted` is open (its audit, its second phase or an
    ///         extended committee still to come); every later status is final.
    enum Status {
        None,
        Submitted,
        Valid,
        Fraud,
        Withheld,
        NoQuorum,
        Missed
    }

    /// @notice Governance parameters, each with hard bounds (see `ChallengeManager.setParams`).
    struct Params {
        uint32 commitWindow; // seconds, from the start of the audit round (the round after the challenge's)
        uint32 revealWindow; // seconds, after the commit window
        uint32 finalizeGrace; // seconds after the reveal window during which a finalization still earns points
        uint32 replayWindow; // seconds after the reveal window for second-phase votes (within finalizeGrace)
        uint16 committeeSize; // expected number of committee members (stake-weighted sortition)
        uint16 quorumBps; // share of the revealed (or, for an accusation, the voting) stake a verdict needs
        uint16 minReveals; // fewer reveals (or accusation votes) than this cannot decide: the committee is extended
        uint16 maxDeviationBps; // |reported - median| at which the deviation factor reaches 0
        uint16 scoreToleranceBps; // a validator's measured score agrees with the median within this
        uint16 maxMisses; // missed rounds in a row that jail a trainer
        uint16 maxExtensions; // rounds a committee that cannot decide is extended by, at most
        uint64 fraudSlash; // fraction (1e18 = 100%) slashed for fraud
        uint64 withholdSlash; // fraction slashed for withholding checkpoints
        uint64 missSlash; // fraction slashed when repeated misses jail
        uint64 verdictSlash; // fraction slashed from a validator whose Valid vote stands on a proven fraud
        uint64 beaconSlash; // fraction slashed from a validator that committed to the beacon and withheld its reveal
        /// seats a member of a round's committee pool holds on average (0: no pool, every validator serves)
        uint16 poolSeats;
    }

    struct ChallengeView {
        bytes32 id;
        address trainer;
        uint32 round;
        Status status;
        bytes32 resultRoot;
        uint16 reportedScoreBps;
        uint32 latency;
        uint8 members;
        bytes32 seed;
        bytes32 specId;
        uint256 deadline;
        uint256 commitStart; // windows of the current audit round
        uint256 revealStart;
        uint256 revealEnd;
        uint8 extension; // rounds the committee was extended by (audit round = round + 1 + extension)
        uint32 auditRound;
        uint256 replayEnd; // end of the second phase (from revealEnd), used when a member revealed Invalid
        bool accused; // a member revealed Invalid: the second phase runs before judgment
    }

    struct MemberView {
        address validator;
        Verdict verdict;
        uint32 segment;
        uint16 measuredScoreBps;
        bool revealed;
        Verdict replayVerdict; // the member's second-phase vote (None: none)
        uint32 weight; // its stake share at the challenge's round, in units of 2^-32
    }

    event ResultSubmitted(
        bytes32 indexed id,
        address indexed trainer,
        uint256 indexed round,
        bytes32 resultRoot,
        uint16 reportedScoreBps,
        uint32 latency
    );
    event VerdictCommitted(bytes32 indexed id, address indexed validator, uint8 index);
    event VerdictRevealed(
        bytes32 indexed id,
        address indexed validator,
        Verdict verdict,
        uint32 segment,
        uint16 measuredScoreBps
    );
    /// @notice A second-phase vote on the segments the accusers named.
    event ReplayVoted(bytes32 indexed id, address indexed validator, Verdict verdict, uint32 segment);
    /// @notice A committee that could not decide is extended: validators drawn for `auditRound` join it.
    event ChallengeExtended(bytes32 indexed id, uint256 indexed auditRound);
    event ChallengeFinalized(
        bytes32 indexed id,
        address indexed trainer,
        uint256 indexed round,
        Status status,
        uint256 score,
        uint16 medianScoreBps,
        uint256 trainerPoints
    );
    event ChallengeMissed(bytes32 indexed id, address indexed trainer, uint256 indexed round, uint256 misses);
    /// @notice Points of an overruled verdict taken back (`ChallengeManager.overrule`).
    event PointsTaken(uint256 indexed epoch, address indexed operator, uint256 points);
    /// @notice A validator whose Valid vote stood on a run proven fraudulent was slashed.
    event ValidatorSlashed(bytes32 indexed id, address indexed validator, uint256 fraction);
    /// @notice A validator that committed to the beacon of `round` and withheld its reveal was slashed.
    event BeaconWithholdingSlashed(
        uint256 indexed round,
        address indexed validator,
        address indexed reporter,
        uint256 fraction
    );
    event LateFinalization(bytes32 indexed id, uint256 epoch);
    /// @notice A dispute game proved the verdict of challenge `id` wrong: its status is now
    ///         `status`, and the verdict's points were moved in `epoch` (see `overrule`).
    event VerdictOverruled(bytes32 indexed id, Status status, uint256 indexed epoch, uint256 trainerPoints);
    event ParamsUpdated(Params params);

    error NotDue(address trainer, uint256 round);
    error WrongRound(uint256 round, uint256 currentRound);
    error DeadlinePassed(uint256 deadline, uint256 nowTime);
    error DeadlineNotPassed(uint256 deadline, uint256 nowTime);
    error AlreadySubmitted(bytes32 id);
    error ScoreOutOfRange(uint256 scoreBps);
    error ChallengeNotOpen(bytes32 id, Status status);
    error OutsideWindow(bytes32 id, uint256 nowTime, uint256 start, uint256 end);
    error NotActiveValidator(address account);
    error NotInCommittee(bytes32 id, address validator);
    error AlreadyCommitted(bytes32 id, address validator);
    error CommitteeFull(bytes32 id, uint256 maxMembers);
    error AlreadyRevealed(bytes32 id, address validator);
    error CommitmentMismatch(bytes32 id, address validator);
    error InvalidVerdict(uint8 verdict);
    error LengthMismatch(uint256 expected, uint256 actual);
    error ReportTooLate(uint256 closesAt, uint256 nowTime);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
    error NotRevealed(bytes32 id, address validator);
    error NoAccusation(bytes32 id);
    error AlreadyVoted(bytes32 id, address validator);
    error RevealNotWithheld(uint256 round, address validator);
    error WithholdingAlreadySlashed(uint256 round, address validator);
    /// @notice The parameters would let a slash come `window` seconds after its round's start,
    ///         while unbonding stake leaves after `unbondingPeriod`.
    error SlashWindowTooLong(uint256 window, uint256 unbondingPeriod);
    /// @notice Only a `Valid` or `Fraud` verdict is overruled, once.
    error NotOverrulable(bytes32 id, Status status);

    /// @notice Points of `operator` in `epoch`. Trainer: stake at the round's start x score (1e18 = 1)
    ///         per challenge. Validator: per agreeing verdict, its stake as a fraction of the
    ///         validator role's stake at the start of the challenge's round, in units of 2^-32.
    function epochPoints(uint256 epoch, address operator) external view returns (uint256);

    /// @notice Sum of the points of `role` in `epoch`.
    function epochTotalPoints(uint256 epoch, IStaking.Role role) external view returns (uint256);

    /// @notice After this time no challenge of `epoch` earns points any more: its points are final.
    function epochClosesAt(uint256 epoch) external view returns (uint256);

    function isEpochFinal(uint256 epoch) external view returns (bool);
}
