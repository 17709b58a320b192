// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IJobBoard} from "../interfaces/IJobBoard.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {ChallengeParams} from "../libraries/ChallengeParams.sol";
import {ChallengeCold} from "../libraries/ChallengeCold.sol";
import {Judgment} from "../libraries/Judgment.sol";

/// @title ChallengeManager
/// @notice The Proof-of-AI protocol. Every active trainer is due one challenge per round (a round
///         is a staking epoch): train spec `specFor(round, seed)` from
///         `seed = keccak256(abi.encode(beacon(round), trainer, round))` and commit the run's
///         checkpoint Merkle root. In the next round a committee of validators, each proving its
///         own stake-weighted sortition from the audit seed (the round's committees are drawn from
///         its committee pool, `Sortition.committeeBand`), re-executes its share of the sampled
///         segments and commits then reveals a verdict; an `Invalid` verdict names a segment that
///         does not replay, and every member then replays the named segments and votes again (the
///         second phase), so one honest catch becomes the verdict of every honest member. The
///         judgment (`Judgment.tally`) convicts with `quorumBps` (a majority) of the voting stake,
///         extends a committee that cannot decide into the next round, awards epoch points to the
///         trainer (stake x score) and to the members that agree, and slashes fraud, withholding
///         and the members whose Valid vote stands on a proven fraud. Validators that commit to
///         the beacon and withhold their reveal are slashed too. A trainer the job board
///         (`jobBoard`) assigned to a paid job in a round trains that job's spec instead, and the
///         board hears the judgment.
///
/// Invariants (each pinned by a test):
///  - a challenge is judged at most once; its status never leaves a final state, except once, from
///    `Valid` to `Fraud` or back, when the dispute game proves the verdict wrong (`overrule`);
///  - nothing is slashed without `quorumBps` of the voting stake among at least `minReveals`
///    members, and no slash comes later than `slashWindow()` after its round's start;
///  - an honest majority of the revealed stake decides: no member holding less than half of it
///    can block a fraud verdict once the second phase ran;
///  - the points of an epoch are the sum, over challenges judged before the epoch closes whose
///    last audit round is the next one, of stake x score (trainers) and, per agreeing member, its
///    committee weight: its stake as a fraction of the validator role's stake at the start of the
///    challenge's round, in units of 2^-32 (validators);
///  - issuance is lazy and every action is O(1), except those that visit a challenge's committee
///    (reveal, second-phase vote, finalize: O(committee), at most `MAX_COMMITTEE`);
///  - a result is due before anyone can know the beacon value that fixes its audit seed;
///  - a round the trainer spent in jail up to its deadline is never due.
contract ChallengeManager is IChallengeManager, ISlashWindow, AccessManaged {
    uint256 public constant WAD = 1e18;
    uint256 public constant BPS = 10_000;
    /// @notice Most committee members a challenge accepts (bounds every loop over a committee).
    uint256 public constant MAX_COMMITTEE = 32;
    /// @notice Most reporters paid a finder's fee (Staking's bound).
    uint256 public constant MAX_REPORTERS = 16;
    /// @notice Most rounds a committee that cannot decide is extended by.
    uint256 public constant MAX_EXTENSIONS = 4;
    /// @notice Sortition bands beyond the first that may top up a short committee. The first band
    ///         (`Sortition.isSelected`, `committeeSize` members expected) may commit during the whole
    ///         commit window; band `m` (`Sortition.band`: a further slice of draws of one expected
    ///         member) from `m / (TOP_UP_BANDS + 1)` of the window on, and only while the bands
    ///         below it hold fewer than `minReveals` members. An independent draw leaves a
    ///         committee of 3 expected members with fewer than 2 in about one challenge in five;
    ///         with the top-ups an honest, live committee decides in its first audit round but for
    ///         about one challenge in 800 (`docs/scale.md`).
    uint256 public constant TOP_UP_BANDS = 6;
    /// @notice Hard bound of `verdictSlash`.
    uint256 public constant MAX_VERDICT_SLASH = 0.2e18;
    /// @notice Hard bound of `beaconSlash`.
    uint256 public constant MAX_BEACON_SLASH = 0.1e18;

    /// The trainer is not stored: a challenge's id holds it (`challengeId`). `points` are the
    /// trainer's epoch points of the challenge's round, kept here (the slot is rewritten by the
    /// judgment anyway) when it is judged in its first audit round; `epochPoints` adds them. Until
    /// the judgment the field holds the trainer's stake at the round, read by the due check of the
    /// submission (final from the round's start), so that the judgment reads no stake (0: it did
    /// not fit, the judgment reads it); no points are read from a challenge still `Submitted`. The
    /// spec's score band and the trainer's deadline (`deadlineSpan`, seconds from the round's
    /// start) are fixed at submission and kept in the same slot, so that the judgment reads no spec.
    struct Challenge {
        uint96 points;
        uint16 minScoreBps;
        uint16 maxScoreBps;
        uint32 deadlineSpan;
        uint32 round;
        uint24 latency;
        uint16 reportedScoreBps;
        Status status;
        uint8 members;
        uint8 extension;
        bytes32 resultRoot;
    }

    IStaking public immutable staking;
    ITaskRegistry public immutable registry;
    IRandomnessBeacon public immutable beacon;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    /// A committee slot holds, until its member reveals,
    /// `band << 251 | weight << 216 | tag << 152 | key` (bit 248 clear), where `band` is the
    /// member's sortition band (0 for the first draw, see `TOP_UP_BANDS`), `tag` the low 64 bits of the
    /// member's address and `key` the low 152 bits of its commitment; from the reveal on,
    /// `REVEALED | replay << 249 | verdict << 240 | segment << 208 | score << 192 | weight << 160 | validator`.
    /// The commitment binds the validator's address and a reveal must match both the key and the
    /// tag, so a copy of another member's commitment can never receive (or lend its weight to)
    /// that member's reveal; the tag also refuses a second commitment by the same validator.
    /// `weight` is the member's stake as a fraction of the validator role's stake at the start of
    /// the challenge's round, in units of 2^-32 (at least 1, at most 2^32 - 1): all members share
    /// the denominator, so weights compare exactly like stakes. Sortition uses the same stakes:
    /// they were fixed before anyone could compute the beacon value that draws the committee.
    uint256 private constant REVEALED = 1 << 248;
    uint256 private constant BAND_SHIFT = 251;
    uint256 private constant KEY_MASK = (1 << 152) - 1;
    uint256 private constant TAG_MASK = (1 << 64) - 1;
    uint256 private constant WEIGHT_ONE = (1 << 32) - 1;
    /// Epoch totals: the trainers' in the low 160 bits, the validators' above (see `_credit`).
    uint256 private constant TRAINER_TOTAL_BITS = 160;
    uint256 private constant OVERRULED = 1 << 255;

    Params private _params;
    mapping(bytes32 id => Challenge) private _challenges;
    mapping(bytes32 id => mapping(uint256 index => uint256)) private _slots;
    mapping(address trainer => uint256) public misses;
    /// @notice Results submitted in a round: they size the committee pool of the next round
    ///         (`Sortition.poolSize`), and are final before that round's beacon value can be known.
    mapping(uint256 round => uint256) public submissions;
    mapping(uint256 epoch => mapping(address operator => uint256)) private _points;
    mapping(uint256 epoch => uint256) private _totals;
    /// Round values read once per round: the beacon's value, the validator role's stake.
    mapping(uint256 round => bytes32) private _beaconValues;
    mapping(uint256 round => uint256) private _validatorStakes;
    mapping(uint256 round => mapping(address validator => bool)) private _withholdingSlashed;
    /// A challenge's conviction: the tokens its trainer's fraud slash took, and `OVERRULED` once a
    /// dispute game overruled its verdict.
    mapping(bytes32 id => uint256) private _convictions;
    /// @notice The job registry whose assigned runs are challenges (0: none). Set once.
    IJobBoard public jobBoard;

    event JobBoardSet(address board);

    error JobBoardAlreadySet(address board);

    constructor(
        IStaking staking_,
        ITaskRegistry registry_,
        IRandomnessBeacon beacon_,
        address authority,
        Params memory params_
    ) AccessManaged(authority) {
        staking = staking_;
        registry = registry_;
        beacon = beacon_;
        genesis = staking_.epochStart(0);
        epochLength = staking_.epochStart(1) - genesis;
        _setParams(params_);
    }

    // =========================================================================================
    // Trainers
    // =========================================================================================

    /// @notice Commits the caller's result for the current round: the Merkle root over its
    ///         checkpoints and the evaluation accuracy it measured (basis points).
    function submitResult(
        uint256 round,
        bytes32 resultRoot,
        uint16 reportedScoreBps
    ) external returns (bytes32 id) {
        uint256 current = (block.timestamp - genesis) / epochLength;
        if (round != current) revert WrongRound(round, current);
        bytes32 value = _seal(round);
        (bool due, uint256 stake) = _isDue(msg.sender, round, value);
        if (!due) revert NotDue(msg.sender, round);
        if (reportedScoreBps > BPS) revert ScoreOutOfRange(reportedScoreBps);
        id = challengeId(msg.sender, round);
        Challenge storage c = _challenges[id];
        if (c.status != Status.None) revert AlreadySubmitted(id);

        (, ITaskRegistry.SpecParams memory sp) = _specOf(
            msg.sender,
            round,
            keccak256(abi.encode(value, msg.sender, round))
        );
        uint256 deadline = _deadline(round, sp.responseDeadline);
        if (block.timestamp > deadline) revert DeadlinePassed(deadline, block.timestamp);

        uint32 latency = uint32(block.timestamp - _roundStart(round));
        c.minScoreBps = sp.minScoreBps;
        c.maxScoreBps = sp.maxScoreBps;
        c.deadlineSpan = uint32(deadline - _roundStart(round));
        c.round = uint32(round);
        c.latency = uint24(latency);
        c.reportedScoreBps = reportedScoreBps;
        c.status = Status.Submitted;
        if (stake <= type(uint96).max) c.points = uint96(stake);
        c.resultRoot = resultRoot;
        if (misses[msg.sender] != 0) misses[msg.sender] = 0;
        ++submissions[round];
        emit ResultSubmitted(id, msg.sender, round, resultRoot, reportedScoreBps, latency);
    }

    /// @notice Records that `trainer` was due a challenge in `round` and submitted nothing by the
    ///         deadline. Repeated misses jail it (with a small slash, reporter paid).
    function reportMissed(address trainer, uint256 round) external returns (bytes32 id) {
        id = challengeId(trainer, round);
        Challenge storage c = _challenges[id];
        if (c.status != Status.None) revert AlreadySubmitted(id);
        bytes32 value = _seal(round);
        (bool due, ) = _isDue(trainer, round, value);
        if (!due) revert NotDue(trainer, round);
        uint256 deadline = _deadlineOf(trainer, round, value);
        if (block.timestamp <= deadline) revert DeadlineNotPassed(deadline, block.timestamp);
        uint256 closes = epochClosesAt(round);
        if (block.timestamp > closes) revert ReportTooLate(closes, block.timestamp);

        c.deadlineSpan = uint32(deadline - _roundStart(round));
        c.round = uint32(round);
        c.status = Status.Missed;
        uint256 count = misses[trainer] + 1;
        emit ChallengeMissed(id, trainer, round, count);
        if (count >= _params.maxMisses) {
            misses[trainer] = 0;
            _slash(trainer, _params.missSlash, _finder(trainer), true, round, 0);
        } else {
            misses[trainer] = count;
        }
    }

    // =========================================================================================
    // Validators
    // =========================================================================================

    /// @notice Joins the committee of challenge `id` (the caller proves its sortition from the
    ///         audit seed and its stake at the challenge's round) with a commitment to its verdict:
    ///         `verdictCommitment(id, verdict, segment, measuredScoreBps, salt, validator)`.
    function commitVerdict(bytes32 id, bytes32 commitment) external {
        Challenge storage c = _requireOpen(id);
        _requireValidator();
        _commit(id, c, commitment, staking.stakeAt(msg.sender, c.round));
    }

    /// @notice `commitVerdict` for several challenges in one transaction (a validator audits many
    ///         challenges per round; the stake reads are shared by challenges of the same round).
    function commitVerdicts(bytes32[] calldata ids, bytes32[] calldata commitments) external {
        if (ids.length != commitments.length) revert LengthMismatch(ids.length, commitments.length);
        _requireValidator();
        uint256 stake;
        uint256 round = type(uint256).max;
        for (uint256 i; i < ids.length; ++i) {
            Challenge storage c = _requireOpen(ids[i]);
            if (c.round != round) {
                round = c.round;
                stake = staking.stakeAt(msg.sender, round);
            }
            _commit(ids[i], c, commitments[i], stake);
        }
    }

    /// @notice Opens the caller's commitment during the reveal window. When it is the last member
    ///         to reveal and nobody revealed `Invalid` (or every member has voted already: this one
    ///         accuses, the others accused too or voted in an earlier second phase), the challenge is
    ///         judged in the same call.
    function revealVerdict(
        bytes32 id,
        Verdict verdict,
        uint32 segment,
        uint16 measuredScoreBps,
        bytes32 salt
    ) external {
        _reveal(id, verdict, segment, measuredScoreBps, salt);
    }

    /// @notice `revealVerdict` for several challenges in one transaction.
    function revealVerdicts(
        bytes32[] calldata ids,
        Verdict[] calldata verdicts,
        uint32[] calldata segments,
        uint16[] calldata measuredScoresBps,
        bytes32[] calldata salts
    ) external {
        uint256 n = ids.length;
        if (verdicts.length != n) revert LengthMismatch(n, verdicts.length);
        if (segments.length != n) revert LengthMismatch(n, segments.length);
        if (measuredScoresBps.length != n) revert LengthMismatch(n, measuredScoresBps.length);
        if (salts.length != n) revert LengthMismatch(n, salts.length);
        for (uint256 i; i < n; ++i) _reveal(ids[i], verdicts[i], segments[i], measuredScoresBps[i], salts[i]);
    }

    /// @notice The second phase: after a member revealed `Invalid`, every member that revealed
    ///         replays the named segments and votes `Invalid` (a named segment does not replay;
    ///         `segment` names it), `Unavailable` (the trainer does not serve them) or `Valid`
    ///         (they all replay), in the `replayWindow` after the reveal window. The vote replaces
    ///         the member's reveal in the judgment; when every member that revealed has voted (an
    ///         accuser's reveal is its vote), the challenge is judged in the same call.
    function replayVote(bytes32 id, Verdict verdict, uint32 segment) external {
        _replay(id, verdict, segment);
    }

    /// @notice `replayVote` for several challenges in one transaction.
    function replayVotes(
        bytes32[] calldata ids,
        Verdict[] calldata verdicts,
        uint32[] calldata segments
    ) external {
        uint256 n = ids.length;
        if (verdicts.length != n) revert LengthMismatch(n, verdicts.length);
        if (segments.length != n) revert LengthMismatch(n, segments.length);
        for (uint256 i; i < n; ++i) _replay(ids[i], verdicts[i], segments[i]);
    }

    /// @notice Slashes `beaconSlash` of a validator that committed to the beacon of `round` and
    ///         never revealed (it could have chosen between two beacon values by withholding).
    ///         Anyone may report, from the start of `round` until `epochClosesAt(round - 1)`; the
    ///         reporter earns the finder's fee.
    function reportBeaconWithholding(uint256 round, address validator) external {
        ChallengeCold.recordWithholding(
            beacon,
            _withholdingSlashed,
            round,
            validator,
            _roundStart(round),
            round == 0 ? 0 : epochClosesAt(round - 1)
        );
        // The beacon of `round` is committed and revealed during `round - 1`: the offence's epoch.
        (uint256 fraction, ) = _slash(
            validator,
            _params.beaconSlash,
            _finder(validator),
            false,
            round - 1,
            0
        );
        emit BeaconWithholdingSlashed(round, validator, msg.sender, fraction);
    }

    // =========================================================================================
    // Judgment
    // =========================================================================================

    /// @notice Judges challenge `id` after its reveal window (after its second phase when a member
    ///         revealed `Invalid` and not every member has voted in it). Permissionless,
    ///         O(committee). A committee that cannot decide is
    ///         extended into the next round (the status stays `Submitted`), at most
    ///         `maxExtensions` times; then the challenge ends `NoQuorum`.
    function finalize(bytes32 id) external returns (Status status) {
        Challenge storage c = _requireOpen(id);
        uint256 a = _auditRound(c);
        uint256 revealEnd = _roundStart(a) + _params.commitWindow + _params.revealWindow;
        if (block.timestamp < revealEnd) revert DeadlineNotPassed(revealEnd, block.timestamp);
        Judgment.Vote[] memory votes = _votes(id, c.members);
        // After an accusation, the second phase runs first, unless every member has voted already.
        (bool accused, bool voted) = _phase(votes);
        if (accused && !voted) {
            uint256 replayEnd = revealEnd + _params.replayWindow;
            if (block.timestamp < replayEnd) revert DeadlineNotPassed(replayEnd, block.timestamp);
        }
        return _judge(id, c, a, votes);
    }

    /// @notice Overrules the verdict of challenge `id`, which a dispute game proved wrong. Only the
    ///         dispute game may call it (an AccessManager role), once per challenge. A `Fraud`
    ///         verdict becomes `Valid`: the trainer is credited the points the run earns (its stake
    ///         x the score from the median of the Valid reveals' measured scores, else its reported
    ///         score). A `Valid` verdict becomes `Fraud`: the trainer loses the verdict's points.
    ///         Either way every member that agreed with the overruled verdict (and earned its
    ///         weight for it) loses that weight, every member that voted with the proven result is
    ///         credited its weight, and the job board hears the new status of a job run
    ///         (`onRunFinalized` again). Points move in the verdict's epoch while its points
    ///         are open, else in the current epoch (a closed epoch, whose rewards are being paid, is
    ///         never touched); a loss takes at most the points the operator holds there. Returns the
    ///         trainer, the tokens its fraud slash took (zero for an overruled `Valid` verdict), and
    ///         the audit round, for the game to repay and slash through Staking.
    function overrule(
        bytes32 id
    ) external restricted returns (address trainer, uint256 owed, uint256 auditRound) {
        Challenge storage c = _challenges[id];
        Status was = c.status;
        uint256 conviction = _convictions[id];
        if ((was != Status.Valid && was != Status.Fraud) || conviction & OVERRULED != 0)
            revert NotOverrulable(id, was);
        _convictions[id] = conviction | OVERRULED;
        trainer = _trainerOf(id);
        auditRound = _auditRound(c);
        uint256 epoch = auditRound - 1;
        if (block.timestamp > epochClosesAt(epoch)) epoch = (block.timestamp - genesis) / epochLength;
        Judgment.Vote[] memory votes = _votes(id, c.members);
        // o: the overruled verdict; proven: the result the game proved
        Judgment.Outcome memory o;
        Judgment.Outcome memory proven;
        uint16 median = o.medianScoreBps = proven.medianScoreBps = Judgment.weightedMedian(votes);
        if (was == Status.Fraud && median == 0) median = c.reportedScoreBps;
        // the points of the run as valid: what a cleared run earns, what an overruled one loses
        uint256 points = Math.mulDiv(staking.stakeAt(trainer, c.round), _score(c, median), WAD);
        if (was == Status.Fraud) {
            (o.verdict, proven.verdict) = (Verdict.Invalid, Verdict.Valid);
            owed = conviction;
            c.status = Status.Valid;
        } else {
            (o.verdict, proven.verdict) = (Verdict.Valid, Verdict.Invalid);
            c.status = Status.Fraud;
            _take(epoch, trainer, points, 0);
            points = 0;
        }
        // the trainer's points of a cleared run, and each member that voted with the proven result
        // its weight, as a judgment of that result would have credited them
        _award(epoch, trainer, points, votes, proven);
        uint256 tolerance = _params.scoreToleranceBps;
        for (uint256 i; i < votes.length; ++i) {
            if (Judgment.agrees(votes[i], o, tolerance))
                _take(epoch, votes[i].validator, votes[i].weight, TRAINER_TOTAL_BITS);
        }
        if (_jobSpecOf(trainer, c.round) != 0)
            jobBoard.onRunFinalized(id, trainer, c.round, c.status, o.medianScoreBps);
        emit VerdictOverruled(id, c.status, epoch, points);
    }

    /// Takes up to `points` of `operator`'s points in `epoch` (and from its role's total: `shift`
    /// 0 for trainers, TRAINER_TOTAL_BITS for validators). A trainer's points kept with its
    /// challenge of round `epoch` are taken first.
    function _take(uint256 epoch, address operator, uint256 points, uint256 shift) private {
        uint256 held = _points[epoch][operator];
        Challenge storage k = _challenges[_challengeId(operator, epoch)];
        uint256 kept = shift == 0 ? _kept(k) : 0;
        if (points > held + kept) points = held + kept;
        if (points == 0) return;
        uint256 fromKept = Math.min(points, kept);
        if (fromKept != 0) k.points = uint96(kept - fromKept);
        if (points != fromKept) _points[epoch][operator] = held - (points - fromKept);
        _totals[epoch] -= points << shift;
        emit PointsTaken(epoch, operator, points);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    /// @notice Replaces the parameters. Refuses a value outside its bounds, and parameters whose
    ///         `slashWindow` would reach Staking's unbonding period.
    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
        uint256 window = slashWindow();
        uint256 unbonding = staking.params().unbondingPeriod;
        if (window >= unbonding) revert SlashWindowTooLong(window, unbonding);
    }

    /// @notice Wires the job registry whose assigned runs are challenges. Once only: a job run's
    ///         spec must never change under a trainer that already trains it.
    function setJobBoard(IJobBoard board) external restricted {
        if (address(jobBoard) != address(0)) revert JobBoardAlreadySet(address(jobBoard));
        jobBoard = board;
        emit JobBoardSet(address(board));
    }

    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc ISlashWindow
    /// @dev A challenge of round r is judged at the latest in its last extension's audit round
    ///      `r + 1 + maxExtensions`, and slashes only until that round's points close; a missed
    ///      round and a withheld beacon reveal are reported before their epoch closes, earlier.
    function slashWindow() public view returns (uint256) {
        Params storage p = _params;
        return
            (1 + uint256(p.maxExtensions)) * epochLength + p.commitWindow + p.revealWindow + p.finalizeGrace;
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice The id of `trainer`'s challenge in `round`: `bytes32(uint256(uint160(trainer)) << 96 | round)`
    ///         (the trainer in the high 160 bits, the round in the low 96; a round of 2^96 or more
    ///         is refused), so that the id itself names the trainer.
    function challengeId(address trainer, uint256 round) public pure returns (bytes32) {
        return _challengeId(trainer, SafeCast.toUint96(round));
    }

    /// @notice The seed of `trainer`'s challenge in `round` (reverts until the round's beacon is ready).
    function challengeSeed(address trainer, uint256 round) public view returns (bytes32) {
        return keccak256(abi.encode(_beaconView(round), trainer, round));
    }

    /// @notice The spec `trainer` trains in `round`, its seed and its result deadline.
    function dueChallenge(
        address trainer,
        uint256 round
    ) external view returns (bool due, bytes32 seed, bytes32 specId, uint256 deadline) {
        (due, ) = _isDue(trainer, round, _beaconView(round));
        seed = challengeSeed(trainer, round);
        ITaskRegistry.SpecParams memory sp;
        (specId, sp) = _specOf(trainer, round, seed);
        deadline = _deadline(round, sp.responseDeadline);
    }

    /// @notice The seed the committee of challenge `id` in its current audit round derives its
    ///         selection and its samples from.
    function auditSeed(bytes32 id) public view returns (bytes32) {
        return keccak256(abi.encode(_beaconView(_auditRound(_challenges[id])), id));
    }

    /// @notice Whether `validator` is drawn in the first band of the committee of challenge `id`
    ///         in its current audit round (`commitVerdict` admits it whenever its commit window is
    ///         open; a top-up band, `TOP_UP_BANDS`, only while the committee is short).
    function isCommitteeMember(bytes32 id, address validator) external view returns (bool) {
        // a stranger or a trainer is never drawn (and needs no audit seed, which may not exist yet)
        Challenge storage c = _challenges[id];
        uint256 a = _auditRound(c);
        return
            staking.roleOf(validator) == IStaking.Role.Validator &&
            ChallengeCold.isSelected(
                _params,
                staking,
                _beaconView(a),
                id,
                validator,
                c.round,
                submissions[a - 1]
            );
    }

    /// @notice The commitment a committee member submits.
    function verdictCommitment(
        bytes32 id,
        Verdict verdict,
        uint32 segment,
        uint16 measuredScoreBps,
        bytes32 salt,
        address validator
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(id, verdict, segment, measuredScoreBps, salt, validator));
    }

    function getChallenge(bytes32 id) external view returns (ChallengeView memory v) {
        Challenge storage c = _challenges[id];
        v.id = id;
        v.round = c.round;
        v.status = c.status;
        v.resultRoot = c.resultRoot;
        v.reportedScoreBps = c.reportedScoreBps;
        v.latency = c.latency;
        v.members = c.members;
        if (c.status != Status.None) {
            v.trainer = _trainerOf(id);
            v.seed = challengeSeed(v.trainer, c.round);
            (v.specId, ) = _specOf(v.trainer, c.round, v.seed);
            v.deadline = _roundStart(c.round) + c.deadlineSpan;
        }
        v.extension = c.extension;
        v.auditRound = uint32(_auditRound(c));
        v.commitStart = _roundStart(v.auditRound);
        v.revealStart = v.commitStart + _params.commitWindow;
        v.revealEnd = v.revealStart + _params.revealWindow;
        v.replayEnd = v.revealEnd + _params.replayWindow;
        (v.accused, ) = _phase(_votes(id, c.members));
    }

    /// @notice The committee of `id` in commit order. A member's address is known from its reveal
    ///         on (before, `VerdictCommitted` events name it).
    function getMembers(bytes32 id) external view returns (MemberView[] memory) {
        return ChallengeCold.members(_slots, id, _challenges[id].members);
    }

    /// @inheritdoc IChallengeManager
    /// @dev Adds the trainer's points kept with its challenge of round `epoch` (`Challenge.points`).
    function epochPoints(uint256 epoch, address operator) external view returns (uint256 points) {
        points = _points[epoch][operator];
        if (epoch <= type(uint96).max) points += _kept(_challenges[_challengeId(operator, epoch)]);
    }

    /// @inheritdoc IChallengeManager
    function epochTotalPoints(uint256 epoch, IStaking.Role role) external view returns (uint256) {
        uint256 t = _totals[epoch];
        if (role == IStaking.Role.Trainer) return t & ((1 << TRAINER_TOTAL_BITS) - 1);
        if (role == IStaking.Role.Validator) return t >> TRAINER_TOTAL_BITS;
        return 0;
    }

    /// @inheritdoc IChallengeManager
    function epochClosesAt(uint256 epoch) public view returns (uint256) {
        return _roundStart(epoch + 1) + _params.commitWindow + _params.revealWindow + _params.finalizeGrace;
    }

    /// @inheritdoc IChallengeManager
    function isEpochFinal(uint256 epoch) external view returns (bool) {
        return block.timestamp > epochClosesAt(epoch);
    }

    // =========================================================================================
    // Internals: the committee
    // =========================================================================================

    function _requireValidator() private view {
        if (staking.roleOf(msg.sender) != IStaking.Role.Validator) revert NotActiveValidator(msg.sender);
    }

    function _commit(bytes32 id, Challenge storage c, bytes32 commitment, uint256 stake) private {
        uint256 round = c.round;
        uint256 a = round + 1 + c.extension;
        uint256 start = _roundStart(a);
        uint256 end = start + _params.commitWindow;
        if (block.timestamp < start || block.timestamp >= end)
            revert OutsideWindow(id, block.timestamp, start, end);
        uint256 n = c.members;
        if (n == MAX_COMMITTEE) revert CommitteeFull(id, MAX_COMMITTEE);
        uint256 total = _validatorStake(round);
        uint256 band = ChallengeCold.band(
            _params,
            _seal(a),
            id,
            msg.sender,
            stake,
            total,
            submissions[a - 1]
        );
        if (band > TOP_UP_BANDS) revert NotInCommittee(id, msg.sender);
        if (band != 0) {
            // a top-up band joins from its part of the commit window on
            uint256 from = start + (band * _params.commitWindow) / (TOP_UP_BANDS + 1);
            if (block.timestamp < from) revert OutsideWindow(id, block.timestamp, from, end);
        }
        uint256 tag = uint160(msg.sender) & TAG_MASK;
        uint256 lower; // members of the bands below the caller's (a revealed slot counts as band 0)
        for (uint256 i; i < n; ++i) {
            uint256 s = _slots[id][i];
            if (s & REVEALED != 0 ? address(uint160(s)) == msg.sender : (s >> 152) & TAG_MASK == tag) {
                revert AlreadyCommitted(id, msg.sender);
            }
            if (s >> BAND_SHIFT < band) ++lower;
        }
        if (band != 0 && lower >= _params.minReveals) revert NotInCommittee(id, msg.sender);
        uint256 weight = Math.min(WEIGHT_ONE, Math.max(1, Math.mulDiv(stake, WEIGHT_ONE, total)));
        _slots[id][n] =
            (band << BAND_SHIFT) |
            (weight << 216) |
            (tag << 152) |
            (uint256(commitment) & KEY_MASK);
        c.members = uint8(n + 1);
        emit VerdictCommitted(id, msg.sender, uint8(n));
    }

    function _reveal(
        bytes32 id,
        Verdict verdict,
        uint32 segment,
        uint16 measuredScoreBps,
        bytes32 salt
    ) private {
        Challenge storage c = _requireOpen(id);
        uint256 a = _auditRound(c);
        uint256 start = _roundStart(a) + _params.commitWindow;
        uint256 end = start + _params.revealWindow;
        if (block.timestamp < start || block.timestamp >= end)
            revert OutsideWindow(id, block.timestamp, start, end);
        if (verdict == Verdict.None) revert InvalidVerdict(uint8(verdict));
        if (measuredScoreBps > BPS) revert ScoreOutOfRange(measuredScoreBps);
        // One pass over the committee: find the caller's slot (its key and tag), refuse a second
        // reveal, and learn whether every other member has revealed and whether one accused.
        uint256 key =
            uint256(verdictCommitment(id, verdict, segment, measuredScoreBps, salt, msg.sender)) & KEY_MASK;
        uint256 tag = uint160(msg.sender) & TAG_MASK;
        uint256 n = c.members;
        uint256 found = n;
        bool last = true;
        bool accused = verdict == Verdict.Invalid;
        // every member has voted (an accuser's reveal is its vote): nothing is left for a second phase
        bool voted = accused;
        for (uint256 i; i < n; ++i) {
            uint256 s = _slots[id][i];
            if (s & REVEALED != 0) {
                if (address(uint160(s)) == msg.sender) revert AlreadyRevealed(id, msg.sender);
                if (uint8(s >> 240) == uint8(Verdict.Invalid)) accused = true;
                else if ((s >> 249) & 3 == 0) voted = false;
            } else if (found == n && s & KEY_MASK == key && (s >> 152) & TAG_MASK == tag) {
                found = i;
            } else {
                last = false;
                if (found != n) break; // not the last to reveal: nothing more to learn
            }
        }
        if (found == n) revert CommitmentMismatch(id, msg.sender);
        uint256 weight = (_slots[id][found] >> 216) & WEIGHT_ONE;
        _slots[id][found] =
            REVEALED |
            (uint256(verdict) << 240) |
            (uint256(segment) << 208) |
            (uint256(measuredScoreBps) << 192) |
            (weight << 160) |
            uint256(uint160(msg.sender));
        emit VerdictRevealed(id, msg.sender, verdict, segment, measuredScoreBps);
        if (last && (!accused || voted)) _judge(id, c, a, _votes(id, n));
    }

    function _replay(bytes32 id, Verdict verdict, uint32 segment) private {
        Challenge storage c = _requireOpen(id);
        uint256 a = _auditRound(c);
        uint256 start = _roundStart(a) + _params.commitWindow + _params.revealWindow;
        uint256 end = start + _params.replayWindow;
        if (block.timestamp < start || block.timestamp >= end)
            revert OutsideWindow(id, block.timestamp, start, end);
        if (verdict == Verdict.None) revert InvalidVerdict(uint8(verdict));
        Judgment.Vote[] memory votes = _votes(id, c.members);
        uint256 n = votes.length;
        uint256 own = n;
        bool accused;
        bool all = true;
        for (uint256 i; i < n; ++i) {
            Judgment.Vote memory v = votes[i];
            if (v.weight == 0) continue;
            if (v.verdict == Verdict.Invalid) accused = true;
            if (v.validator == msg.sender) own = i;
            else if (v.replay == Verdict.None && v.verdict != Verdict.Invalid) all = false;
        }
        if (own == n) revert NotRevealed(id, msg.sender);
        if (!accused) revert NoAccusation(id);
        if (votes[own].replay != Verdict.None) revert AlreadyVoted(id, msg.sender);
        _slots[id][own] |= uint256(verdict) << 249;
        votes[own].replay = verdict;
        emit ReplayVoted(id, msg.sender, verdict, segment);
        if (all) _judge(id, c, a, votes);
    }

    /// The committee of `id` as votes (unrevealed members with weight 0).
    function _votes(bytes32 id, uint256 n) private view returns (Judgment.Vote[] memory votes) {
        votes = new Judgment.Vote[](n);
        for (uint256 i; i < n; ++i) {
            uint256 s = _slots[id][i];
            if (s & REVEALED == 0) continue;
            votes[i] = Judgment.Vote(
                address(uint160(s)),
                Verdict(uint8(s >> 240)),
                Verdict((s >> 249) & 3),
                uint16(s >> 192),
                (s >> 160) & WEIGHT_ONE
            );
        }
    }

    /// Whether a member revealed Invalid, and whether every member that revealed has voted in the
    /// second phase (an accuser's reveal is its vote).
    function _phase(Judgment.Vote[] memory votes) private pure returns (bool accused, bool voted) {
        voted = true;
        for (uint256 i; i < votes.length; ++i) {
            if (votes[i].weight == 0) continue;
            if (votes[i].verdict == Verdict.Invalid) accused = true;
            else if (votes[i].replay == Verdict.None) voted = false;
        }
    }

    // =========================================================================================
    // Internals: judgment
    // =========================================================================================

    function _judge(
        bytes32 id,
        Challenge storage c,
        uint256 a,
        Judgment.Vote[] memory votes
    ) private returns (Status status) {
        Params storage p = _params;
        Judgment.Outcome memory o = Judgment.tally(votes, p.quorumBps, p.minReveals);
        if (o.verdict == Verdict.None && _extend(id, c, a)) return Status.Submitted;

        uint256 round = c.round;
        address trainer = _trainerOf(id);
        uint256 stake = c.points; // kept at submission (0: read it)
        c.points = 0;
        uint256 score;
        if (o.verdict == Verdict.Valid) {
            status = Status.Valid;
            score = _score(c, o.medianScoreBps);
        } else if (o.verdict == Verdict.Invalid) {
            status = Status.Fraud;
        } else if (o.verdict == Verdict.Unavailable) {
            status = Status.Withheld;
        } else {
            status = Status.NoQuorum;
        }
        c.status = status;

        // Points go to the epoch whose close follows the last audit round.
        uint256 epoch = a - 1;
        uint256 trainerPoints;
        if (block.timestamp <= epochClosesAt(epoch)) {
            if (score != 0)
                trainerPoints = Math.mulDiv(stake != 0 ? stake : staking.stakeAt(trainer, round), score, WAD);
            // judged in its first audit round (the epoch is the challenge's round): the trainer's
            // points stay with the challenge, whose slot this judgment writes anyway (a trainer has
            // one challenge a round); an extended challenge's go to the epoch's `_points`
            bool kept = epoch == round && trainerPoints != 0 && trainerPoints <= type(uint96).max;
            if (kept) c.points = uint96(trainerPoints);
            _award(
                epoch,
                kept ? address(0) : trainer,
                trainerPoints,
                status == Status.NoQuorum ? new Judgment.Vote[](0) : votes,
                o
            );
        } else {
            emit LateFinalization(id, epoch);
        }
        emit ChallengeFinalized(id, trainer, round, status, score, o.medianScoreBps, trainerPoints);
        if (_jobSpecOf(trainer, round) != 0)
            jobBoard.onRunFinalized(id, trainer, round, status, o.medianScoreBps);

        // No slash later than `slashWindow()` after the round's start: unbonding stake is out of
        // reach after that.
        if (status != Status.Fraud && status != Status.Withheld) return status;
        if (block.timestamp > _roundStart(round) + slashWindow()) return status;
        bool fraud = status == Status.Fraud;
        (, uint256 taken) = _slash(
            trainer,
            fraud ? p.fraudSlash : p.withholdSlash,
            ChallengeCold.reporters(ChallengeCold.plainVotes(votes), uint8(o.verdict), MAX_REPORTERS),
            fraud,
            round,
            fraud ? id : bytes32(0)
        );
        if (!fraud) return status;
        _convictions[id] = taken;
        for (uint256 i; i < votes.length; ++i) {
            if (!Judgment.vouchedForFraud(votes[i], o)) continue;
            // No member votes before the first audit round, `round + 1`.
            (uint256 fraction, ) = _slash(
                votes[i].validator,
                p.verdictSlash,
                new address[](0),
                false,
                round + 1,
                id
            );
            emit ValidatorSlashed(id, votes[i].validator, fraction);
        }
    }

    /// A committee that cannot decide: validators drawn for the next audit round whose commit
    /// window is still ahead join it, unless that is past the last extension (then false).
    function _extend(bytes32 id, Challenge storage c, uint256 a) private returns (bool) {
        uint256 next = a + 1;
        uint256 current = (block.timestamp - genesis) / epochLength;
        if (current >= next) {
            next = block.timestamp < _roundStart(current) + _params.commitWindow ? current : current + 1;
        }
        uint256 extension = next - c.round - 1;
        if (extension > _params.maxExtensions) return false;
        c.extension = uint8(extension);
        emit ChallengeExtended(id, next);
        return true;
    }

    /// The score of a valid run, from the spec's score band and the deadline fixed at submission.
    function _score(Challenge storage c, uint16 medianScoreBps) private view returns (uint256) {
        return
            Judgment.score(
                medianScoreBps,
                c.reportedScoreBps,
                c.latency,
                c.deadlineSpan,
                c.minScoreBps,
                c.maxScoreBps,
                _params.maxDeviationBps
            );
    }

    /// Credits the trainer's points (to `_points` unless `trainer` is zero: kept with its
    /// challenge) and each agreeing member its weight in `epoch`, and both roles' epoch totals.
    /// No event: `ChallengeFinalized` (or `VerdictOverruled`) carries the trainer's points, and a
    /// member's follow from the reveals and the outcome (`Judgment.agrees`).
    function _award(
        uint256 epoch,
        address trainer,
        uint256 trainerPoints,
        Judgment.Vote[] memory votes,
        Judgment.Outcome memory o
    ) private {
        if (trainerPoints != 0 && trainer != address(0)) _points[epoch][trainer] += trainerPoints;
        uint256 validatorPoints;
        uint256 tolerance = _params.scoreToleranceBps;
        for (uint256 i; i < votes.length; ++i) {
            if (!Judgment.agrees(votes[i], o, tolerance)) continue;
            uint256 w = votes[i].weight;
            _points[epoch][votes[i].validator] += w;
            validatorPoints += w;
        }
        if (trainerPoints != 0 || validatorPoints != 0) {
            _totals[epoch] += trainerPoints + (validatorPoints << TRAINER_TOTAL_BITS);
        }
    }

    // =========================================================================================
    // Internals: rounds, stakes, slashes
    // =========================================================================================

    function _auditRound(Challenge storage c) private view returns (uint256) {
        return uint256(c.round) + 1 + c.extension;
    }

    /// The beacon value of `round`, read from the beacon (and sealed, if nobody contributed) once.
    function _seal(uint256 round) private returns (bytes32 value) {
        value = _beaconValues[round];
        if (value == 0) {
            value = beacon.seal(round);
            _beaconValues[round] = value;
        }
    }

    function _beaconView(uint256 round) private view returns (bytes32 value) {
        value = _beaconValues[round];
        if (value == 0) value = beacon.valueOf(round);
    }

    /// The validator role's stake at the start of `round` (final once the round started), read once.
    function _validatorStake(uint256 round) private returns (uint256 total) {
        total = _validatorStakes[round];
        if (total == 0) {
            total = staking.roleStakeAt(IStaking.Role.Validator, round);
            _validatorStakes[round] = total;
        }
    }

    /// A trainer is due a challenge in `round` when it is an active trainer now, had at least the
    /// minimum stake when the round started, and was out of jail when the round's result was due:
    /// a round it spent in jail up to its deadline is never due, even once it has left jail (it
    /// left jail last at `unjailedAt`; a later jail would still hold it, and then it is not active).
    /// Also returns the trainer's stake at the start of `round`.
    function _isDue(
        address trainer,
        uint256 round,
        bytes32 beaconValue
    ) private view returns (bool, uint256) {
        IStaking.OperatorState memory t = staking.operatorState(trainer, round);
        if (t.role != IStaking.Role.Trainer || !t.active || t.stake < t.minStake) return (false, 0);
        return (
            t.unjailedAt < _roundStart(round) || t.unjailedAt <= _deadlineOf(trainer, round, beaconValue),
            t.stake
        );
    }

    /// The trainer's points kept with challenge `k` (none while it is open: the field holds its stake).
    function _kept(Challenge storage k) private view returns (uint256) {
        return k.status == Status.Submitted ? 0 : k.points;
    }

    function _deadlineOf(address trainer, uint256 round, bytes32 beaconValue) private view returns (uint256) {
        (, ITaskRegistry.SpecParams memory sp) = _specOf(
            trainer,
            round,
            keccak256(abi.encode(beaconValue, trainer, round))
        );
        return _deadline(round, sp.responseDeadline);
    }

    /// The result deadline (inclusive): the spec's, but at the latest the last second before the
    /// middle of the round, when the beacon stops taking commitments for the next round and its
    /// reveals begin: no result can be submitted once anybody could know the value that fixes its
    /// audit seed.
    function _deadline(uint256 round, uint256 responseDeadline) private view returns (uint256) {
        return _roundStart(round) + Math.min(responseDeadline, epochLength / 2 - 1);
    }

    /// The spec (and its judgment parameters) `trainer` trains in `round`: its assigned job's, else
    /// the round's governance spec drawn by `seed`.
    function _specOf(
        address trainer,
        uint256 round,
        bytes32 seed
    ) private view returns (bytes32 specId, ITaskRegistry.SpecParams memory sp) {
        specId = _jobSpecOf(trainer, round);
        if (specId != 0) return (specId, registry.specParams(specId));
        return registry.challengeSpec(round, seed);
    }

    function _jobSpecOf(address trainer, uint256 round) private view returns (bytes32) {
        IJobBoard board = jobBoard;
        return address(board) == address(0) ? bytes32(0) : board.jobSpecOf(trainer, round);
    }

    /// `challengeId` for a round below 2^96.
    function _challengeId(address trainer, uint256 round) private pure returns (bytes32) {
        return bytes32((uint256(uint160(trainer)) << 96) | round);
    }

    function _trainerOf(bytes32 id) private pure returns (address) {
        return address(uint160(uint256(id) >> 96));
    }

    function _roundStart(uint256 round) private view returns (uint256) {
        return genesis + round * epochLength;
    }

    function _requireOpen(bytes32 id) private view returns (Challenge storage c) {
        c = _challenges[id];
        if (c.status != Status.Submitted) revert ChallengeNotOpen(id, c.status);
    }

    /// The caller, paid a finder's fee for reporting `offender` (nobody, when it reports itself).
    function _finder(address offender) private view returns (address[] memory reporters) {
        reporters = new address[](msg.sender == offender ? 0 : 1);
        if (reporters.length != 0) reporters[0] = msg.sender;
    }

    /// Slashes within Staking's current cap, so a lowered cap never blocks a judgment; returns
    /// the fraction slashed. A nonzero `key` (the challenge id of a verdict a dispute game may
    /// overrule) holds the slash in Staking through the dispute window (`slashHeld`).
    function _slash(
        address operator,
        uint256 fraction,
        address[] memory reporters,
        bool jail,
        uint256 offenceEpoch,
        bytes32 key
    ) private returns (uint256, uint256 taken) {
        fraction = Math.min(fraction, staking.params().maxSlashFraction);
        taken =
            key == 0
                ? staking.slash(operator, fraction, reporters, jail, offenceEpoch)
                : staking.slashHeld(operator, fraction, reporters, jail, offenceEpoch, key);
        return (fraction, taken);
    }

    function _setParams(Params memory p) private {
        ChallengeParams.set(
            _params,
            p,
            epochLength,
            MAX_COMMITTEE,
            MAX_EXTENSIONS,
            MAX_VERDICT_SLASH,
            MAX_BEACON_SLASH
        );
    }
}
