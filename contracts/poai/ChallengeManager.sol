// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IJobBoard} from "../interfaces/IJobBoard.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {Judgment} from "../libraries/Judgment.sol";
import {Sortition} from "../libraries/Sortition.sol";

/// @title ChallengeManager
/// @notice The Proof-of-AI protocol. Every active trainer is due one challenge per round (a round
///         is a staking epoch): train spec `specFor(round, seed)` from
///         `seed = keccak256(abi.encode(beacon(round), trainer, round))` and commit the run's
///         checkpoint Merkle root. In the next round a committee of validators, each proving its
///         own stake-weighted sortition from the audit seed, re-executes sampled segments and
///         commits then reveals a verdict. `finalize` judges correctness by stake quorum, score
///         deviation from the stake-weighted median and latency, awards epoch points, and slashes
///         fraud and withholding through Staking. A trainer the job board (`jobBoard`) assigned
///         to a paid job in a round trains that job's spec instead, and the board hears the judgment.
///
/// Invariants (each pinned by a test):
///  - a challenge is finalized at most once; its status never leaves a final state;
///  - nothing is slashed without a quorum of revealed stake;
///  - the points of an epoch are the sum, over challenges of that round finalized before the epoch
///    closes, of stake x score (trainers) and, per agreeing verdict, the validator's committee
///    weight: its stake as a fraction of the validator role's stake at the start of the challenge's round, in units
///    of 2^-32 (validators);
///  - issuance is lazy and every action is O(1), except `finalize`, which is O(committee);
///  - a result is due before anyone can know the beacon value that fixes its audit seed.
contract ChallengeManager is IChallengeManager, AccessManaged {
    uint256 public constant WAD = 1e18;
    uint256 public constant BPS = 10_000;
    /// @notice Most committee members a challenge accepts (bounds `finalize`).
    uint256 public constant MAX_COMMITTEE = 32;
    /// @notice Most reporters paid a finder's fee (Staking's bound).
    uint256 public constant MAX_REPORTERS = 16;

    struct Challenge {
        address trainer;
        uint32 round;
        uint32 latency;
        uint16 reportedScoreBps;
        Status status;
        uint8 members;
        bytes32 resultRoot;
    }

    IStaking public immutable staking;
    ITaskRegistry public immutable registry;
    IRandomnessBeacon public immutable beacon;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    /// A committee slot holds, until the reveal, `weight << 216 | key` (top byte 0; `key` is the low
    /// 216 bits of `keccak256(abi.encode(commitment, committer))`); after it, the revealed record
    /// `REVEALED << 248 | verdict << 240 | segment << 208 | score << 192 | weight << 160 | validator`.
    /// The commitment binds the validator's address and the key binds the slot to the validator
    /// that committed it, so one slot per member is enough: a copy of another member's commitment
    /// is stored under another key and can never receive (or lend its weight to) that member's
    /// reveal. `weight` is the member's stake as a fraction of the validator role's stake at the
    /// start of the challenge's round, in units of 2^-32 (at least 1, at most 2^32 - 1): all members
    /// of one round share the denominator, so weights compare exactly like stakes. Sortition uses the
    /// same stakes: they were fixed before anyone could compute the beacon value that draws the
    /// committee, so no validator can adjust its stake to the draw.
    uint256 private constant REVEALED = 1;
    uint256 private constant COMMITMENT_MASK = (1 << 216) - 1;
    uint256 private constant WEIGHT_ONE = (1 << 32) - 1;

    Params private _params;
    mapping(bytes32 id => Challenge) private _challenges;
    mapping(bytes32 id => mapping(uint256 index => uint256)) private _slots;
    /// One bit per operator id: committed.
    mapping(bytes32 id => mapping(uint256 word => uint256)) private _committed;
    mapping(address trainer => uint256) public misses;
    mapping(uint256 epoch => mapping(address operator => uint256)) private _points;
    mapping(uint256 epoch => mapping(IStaking.Role role => uint256)) private _totalPoints;
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
        if (!_isDue(msg.sender, round)) revert NotDue(msg.sender, round);
        if (reportedScoreBps > BPS) revert ScoreOutOfRange(reportedScoreBps);
        id = challengeId(msg.sender, round);
        Challenge storage c = _challenges[id];
        if (c.status != Status.None) revert AlreadySubmitted(id);

        bytes32 seed = keccak256(abi.encode(beacon.seal(round), msg.sender, round));
        (, ITaskRegistry.SpecParams memory sp) = _specOf(msg.sender, round, seed);
        uint256 deadline = _deadline(round, sp.responseDeadline);
        if (block.timestamp > deadline) revert DeadlinePassed(deadline, block.timestamp);

        uint32 latency = uint32(block.timestamp - _roundStart(round));
        c.trainer = msg.sender;
        c.round = uint32(round);
        c.latency = latency;
        c.reportedScoreBps = reportedScoreBps;
        c.status = Status.Submitted;
        c.resultRoot = resultRoot;
        if (misses[msg.sender] != 0) misses[msg.sender] = 0;
        emit ResultSubmitted(id, msg.sender, round, resultRoot, reportedScoreBps, latency);
    }

    /// @notice Records that `trainer` was due a challenge in `round` and submitted nothing by the
    ///         deadline. Repeated misses jail it (with a small slash, reporter paid).
    function reportMissed(address trainer, uint256 round) external returns (bytes32 id) {
        id = challengeId(trainer, round);
        Challenge storage c = _challenges[id];
        if (c.status != Status.None) revert AlreadySubmitted(id);
        if (!_isDue(trainer, round)) revert NotDue(trainer, round);
        bytes32 seed = keccak256(abi.encode(beacon.seal(round), trainer, round));
        (, ITaskRegistry.SpecParams memory sp) = _specOf(trainer, round, seed);
        uint256 deadline = _deadline(round, sp.responseDeadline);
        if (block.timestamp <= deadline) revert DeadlineNotPassed(deadline, block.timestamp);
        uint256 closes = epochClosesAt(round);
        if (block.timestamp > closes) revert ReportTooLate(closes, block.timestamp);

        c.trainer = trainer;
        c.round = uint32(round);
        c.status = Status.Missed;
        uint256 count = misses[trainer] + 1;
        emit ChallengeMissed(id, trainer, round, count);
        if (count >= _params.maxMisses) {
            misses[trainer] = 0;
            // The reporter is paid a finder's fee, unless it is the trainer reporting itself.
            address[] memory reporters = new address[](msg.sender == trainer ? 0 : 1);
            if (reporters.length != 0) reporters[0] = msg.sender;
            _slash(trainer, _params.missSlash, reporters, true, round);
        } else {
            misses[trainer] = count;
        }
    }

    // =========================================================================================
    // Validators
    // =========================================================================================

    /// @notice Joins the committee of challenge `id` (the caller proves its sortition from the
    ///         audit seed and its stake) with a commitment to its verdict:
    ///         `verdictCommitment(id, verdict, segment, measuredScoreBps, salt, validator)`.
    function commitVerdict(bytes32 id, bytes32 commitment) external {
        Challenge storage c = _requireOpen(id);
        _commit(id, c, commitment, staking.operatorState(msg.sender, c.round));
    }

    /// @notice `commitVerdict` for several challenges in one transaction (a validator audits many
    ///         challenges per round; the stake reads are shared by challenges of the same round).
    function commitVerdicts(bytes32[] calldata ids, bytes32[] calldata commitments) external {
        if (ids.length != commitments.length) revert LengthMismatch(ids.length, commitments.length);
        IStaking.OperatorState memory v;
        uint256 round = type(uint256).max;
        for (uint256 i; i < ids.length; ++i) {
            Challenge storage c = _requireOpen(ids[i]);
            if (c.round != round) {
                round = c.round;
                v = staking.operatorState(msg.sender, round);
            }
            _commit(ids[i], c, commitments[i], v);
        }
    }

    /// @notice Opens the caller's commitment during the reveal window.
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
        if (
            verdicts.length != n || segments.length != n || measuredScoresBps.length != n || salts.length != n
        ) {
            revert LengthMismatch(n, verdicts.length);
        }
        for (uint256 i; i < n; ++i) _reveal(ids[i], verdicts[i], segments[i], measuredScoresBps[i], salts[i]);
    }

    // =========================================================================================
    // Judgment
    // =========================================================================================

    /// @notice Judges challenge `id` after its reveal window. Permissionless, O(committee).
    function finalize(bytes32 id) external returns (Status status) {
        Challenge storage c = _requireOpen(id);
        uint256 round = c.round;
        uint256 revealEnd = _roundStart(round + 1) + _params.commitWindow + _params.revealWindow;
        if (block.timestamp < revealEnd) revert DeadlineNotPassed(revealEnd, block.timestamp);

        uint256 n = c.members;
        Judgment.Vote[] memory votes = new Judgment.Vote[](n);
        for (uint256 i; i < n; ++i) {
            uint256 slot = _slots[id][i];
            if (slot >> 248 != REVEALED) continue;
            votes[i] = Judgment.Vote(
                address(uint160(slot)),
                Verdict(uint8(slot >> 240)),
                uint16(slot >> 192),
                (slot >> 160) & WEIGHT_ONE
            );
        }
        Judgment.Outcome memory o = Judgment.tally(votes, _params.quorumBps, _params.minReveals);

        uint256 score;
        if (o.verdict == Verdict.Valid) {
            status = Status.Valid;
            bytes32 seed = keccak256(abi.encode(beacon.valueOf(round), c.trainer, round));
            (, ITaskRegistry.SpecParams memory sp) = _specOf(c.trainer, round, seed);
            score = Judgment.score(
                o.medianScoreBps,
                c.reportedScoreBps,
                c.latency,
                _deadline(round, sp.responseDeadline) - _roundStart(round),
                sp.minScoreBps,
                sp.maxScoreBps,
                _params.maxDeviationBps
            );
        } else if (o.verdict == Verdict.Invalid) {
            status = Status.Fraud;
        } else if (o.verdict == Verdict.Unavailable) {
            status = Status.Withheld;
        } else {
            status = Status.NoQuorum;
        }
        c.status = status;

        uint256 trainerPoints;
        if (block.timestamp <= epochClosesAt(round)) {
            if (score != 0) {
                trainerPoints = Math.mulDiv(staking.stakeAt(c.trainer, round), score, WAD);
                _award(round, c.trainer, IStaking.Role.Trainer, trainerPoints);
            }
            if (status != Status.NoQuorum) {
                for (uint256 i; i < n; ++i) {
                    if (Judgment.agrees(votes[i], o, _params.scoreToleranceBps)) {
                        _award(round, votes[i].validator, IStaking.Role.Validator, votes[i].weight);
                    }
                }
            }
        } else {
            emit LateFinalization(id, round);
        }
        emit ChallengeFinalized(id, c.trainer, round, status, score, o.medianScoreBps, trainerPoints);

        if (status == Status.Fraud || status == Status.Withheld) {
            Verdict proved = status == Status.Fraud ? Verdict.Invalid : Verdict.Unavailable;
            _slash(
                c.trainer,
                status == Status.Fraud ? _params.fraudSlash : _params.withholdSlash,
                Judgment.reporters(votes, proved, MAX_REPORTERS),
                status == Status.Fraud,
                round
            );
        }
        if (_jobSpecOf(c.trainer, round) != 0)
            jobBoard.onRunFinalized(id, c.trainer, round, status, o.medianScoreBps);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
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

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @notice The id of `trainer`'s challenge in `round`.
    function challengeId(address trainer, uint256 round) public pure returns (bytes32) {
        return keccak256(abi.encode(trainer, round));
    }

    /// @notice The seed of `trainer`'s challenge in `round` (reverts until the round's beacon is ready).
    function challengeSeed(address trainer, uint256 round) public view returns (bytes32) {
        return keccak256(abi.encode(beacon.valueOf(round), trainer, round));
    }

    /// @notice The spec `trainer` trains in `round`, its seed and its result deadline.
    function dueChallenge(
        address trainer,
        uint256 round
    ) external view returns (bool due, bytes32 seed, bytes32 specId, uint256 deadline) {
        due = _isDue(trainer, round);
        seed = challengeSeed(trainer, round);
        ITaskRegistry.SpecParams memory sp;
        (specId, sp) = _specOf(trainer, round, seed);
        deadline = _deadline(round, sp.responseDeadline);
    }

    /// @notice The seed committee members derive their selection and their samples from.
    function auditSeed(bytes32 id) public view returns (bytes32) {
        return keccak256(abi.encode(beacon.valueOf(uint256(_challenges[id].round) + 1), id));
    }

    /// @notice Whether `validator` is in the committee of challenge `id` (the same check `commitVerdict` makes).
    function isCommitteeMember(bytes32 id, address validator) external view returns (bool) {
        IStaking.OperatorState memory v = staking.operatorState(validator, _challenges[id].round);
        return
            v.role == IStaking.Role.Validator &&
            Sortition.isSelected(auditSeed(id), validator, v.stake, v.roleStake, _params.committeeSize);
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
        v.trainer = c.trainer;
        v.round = c.round;
        v.status = c.status;
        v.resultRoot = c.resultRoot;
        v.reportedScoreBps = c.reportedScoreBps;
        v.latency = c.latency;
        v.members = c.members;
        if (c.status != Status.None) {
            v.seed = challengeSeed(c.trainer, c.round);
            ITaskRegistry.SpecParams memory sp;
            (v.specId, sp) = _specOf(c.trainer, c.round, v.seed);
            v.deadline = _deadline(c.round, sp.responseDeadline);
        }
        v.commitStart = _roundStart(uint256(c.round) + 1);
        v.revealStart = v.commitStart + _params.commitWindow;
        v.revealEnd = v.revealStart + _params.revealWindow;
    }

    /// @notice The committee of `id` in commit order. A member's address is known from its reveal
    ///         on (before, `VerdictCommitted` events name it).
    function getMembers(bytes32 id) external view returns (MemberView[] memory views) {
        uint256 n = _challenges[id].members;
        views = new MemberView[](n);
        for (uint256 i; i < n; ++i) {
            uint256 slot = _slots[id][i];
            if (slot >> 248 != REVEALED) continue;
            views[i] = MemberView(
                address(uint160(slot)),
                Verdict(uint8(slot >> 240)),
                uint32(slot >> 208),
                uint16(slot >> 192),
                true
            );
        }
    }

    /// @inheritdoc IChallengeManager
    function epochPoints(uint256 epoch, address operator) external view returns (uint256) {
        return _points[epoch][operator];
    }

    /// @inheritdoc IChallengeManager
    function epochTotalPoints(uint256 epoch, IStaking.Role role) external view returns (uint256) {
        return _totalPoints[epoch][role];
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
    // Internals
    // =========================================================================================

    function _commit(
        bytes32 id,
        Challenge storage c,
        bytes32 commitment,
        IStaking.OperatorState memory v
    ) private {
        uint256 auditRound = uint256(c.round) + 1;
        uint256 start = _roundStart(auditRound);
        uint256 end = start + _params.commitWindow;
        if (block.timestamp < start || block.timestamp >= end)
            revert OutsideWindow(id, block.timestamp, start, end);
        if (v.role != IStaking.Role.Validator || !v.active) revert NotActiveValidator(msg.sender);
        uint256 flags = _committed[id][v.id >> 8];
        uint256 bit = 1 << (v.id & 255);
        if (flags & bit != 0) revert AlreadyCommitted(id, msg.sender);
        uint256 n = c.members;
        if (n == MAX_COMMITTEE) revert CommitteeFull(id, MAX_COMMITTEE);
        bytes32 seed = keccak256(abi.encode(beacon.seal(auditRound), id));
        if (!Sortition.isSelected(seed, msg.sender, v.stake, v.roleStake, _params.committeeSize)) {
            revert NotInCommittee(id, msg.sender);
        }
        uint256 weight = Math.min(WEIGHT_ONE, Math.max(1, Math.mulDiv(v.stake, WEIGHT_ONE, v.roleStake)));
        _committed[id][v.id >> 8] = flags | bit;
        _slots[id][n] = (weight << 216) | _slotKey(commitment, msg.sender);
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
        uint256 start = _roundStart(uint256(c.round) + 1) + _params.commitWindow;
        uint256 end = start + _params.revealWindow;
        if (block.timestamp < start || block.timestamp >= end)
            revert OutsideWindow(id, block.timestamp, start, end);
        if (verdict == Verdict.None) revert InvalidVerdict(uint8(verdict));
        if (measuredScoreBps > BPS) revert ScoreOutOfRange(measuredScoreBps);
        // One pass over the committee: find the caller's own slot (its key binds the caller's
        // address, so nobody else's matches) and make sure the caller has not revealed already.
        uint256 expected = _slotKey(
            verdictCommitment(id, verdict, segment, measuredScoreBps, salt, msg.sender),
            msg.sender
        );
        uint256 n = c.members;
        uint256 found = type(uint256).max;
        uint256 weight;
        for (uint256 i; i < n; ++i) {
            uint256 slot = _slots[id][i];
            if (slot >> 248 == REVEALED) {
                if (address(uint160(slot)) == msg.sender) revert AlreadyRevealed(id, msg.sender);
            } else if (slot & COMMITMENT_MASK == expected && found == type(uint256).max) {
                found = i;
                weight = slot >> 216;
            }
        }
        if (found == type(uint256).max) revert CommitmentMismatch(id, msg.sender);
        _slots[id][found] =
            (REVEALED << 248) |
            (uint256(verdict) << 240) |
            (uint256(segment) << 208) |
            (uint256(measuredScoreBps) << 192) |
            (weight << 160) |
            uint256(uint160(msg.sender));
        emit VerdictRevealed(id, msg.sender, verdict, segment, measuredScoreBps);
    }

    /// The part of a committee slot that identifies `committer`'s commitment.
    function _slotKey(bytes32 commitment, address committer) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(commitment, committer))) & COMMITMENT_MASK;
    }

    /// A trainer is due a challenge in `round` when it is an active trainer now and had at least
    /// the minimum stake when the round started.
    function _isDue(address trainer, uint256 round) private view returns (bool) {
        IStaking.OperatorState memory t = staking.operatorState(trainer, round);
        return t.role == IStaking.Role.Trainer && t.active && t.stake >= t.minStake;
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

    function _roundStart(uint256 round) private view returns (uint256) {
        return genesis + round * epochLength;
    }

    function _requireOpen(bytes32 id) private view returns (Challenge storage c) {
        c = _challenges[id];
        if (c.status != Status.Submitted) revert ChallengeNotOpen(id, c.status);
    }

    function _award(uint256 epoch, address operator, IStaking.Role role, uint256 points) private {
        if (points == 0) return;
        _points[epoch][operator] += points;
        _totalPoints[epoch][role] += points;
        emit PointsAwarded(epoch, operator, points);
    }

    /// Slashes within Staking's current cap, so a lowered cap never blocks a judgment.
    function _slash(
        address trainer,
        uint256 fraction,
        address[] memory reporters,
        bool jail,
        uint256 round
    ) private {
        fraction = Math.min(fraction, staking.params().maxSlashFraction);
        staking.slash(trainer, fraction, reporters, jail, round);
    }

    function _setParams(Params memory p) private {
        uint256 len = epochLength;
        _bound("commitWindow", p.commitWindow, 1, len);
        _bound("revealWindow", p.revealWindow, 1, len - p.commitWindow);
        _bound("finalizeGrace", p.finalizeGrace, 0, len);
        _bound("committeeSize", p.committeeSize, 1, MAX_COMMITTEE / 2);
        _bound("quorumBps", p.quorumBps, BPS / 2 + 1, BPS);
        _bound("minReveals", p.minReveals, 1, MAX_COMMITTEE);
        _bound("maxDeviationBps", p.maxDeviationBps, 1, BPS);
        _bound("scoreToleranceBps", p.scoreToleranceBps, 0, BPS);
        _bound("maxMisses", p.maxMisses, 1, 100);
        _bound("fraudSlash", p.fraudSlash, 1, WAD);
        _bound("withholdSlash", p.withholdSlash, 1, WAD);
        _bound("missSlash", p.missSlash, 1, WAD);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
