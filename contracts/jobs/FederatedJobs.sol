// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IFederatedJobs} from "../interfaces/IFederatedJobs.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IRewardCredit} from "../interfaces/IRewardCredit.sol";
import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {FedMath} from "../libraries/FedMath.sol";
import {Sortition} from "../libraries/Sortition.sol";
import {JobFunds} from "./JobFunds.sol";

/// @title FederatedJobs
/// @notice Federated training jobs (FLock FL Alliance style): the data never leaves its owners.
///         An owner posts a job (an engine spec, the hash of the initial global model, `rounds`
///         training rounds, the participants with each one's private shard root and size, a
///         budget in escrow, a score band). Each training round has four phases of `phase` seconds:
///         (0) every participant trains from the current global model on its shard and commits
///         `keccak256(jobId, round, participant, updateHash, salt)`; (1) it reveals `updateHash`
///         (the hash of its local model, whose bytes it serves off chain); (2) validators drawn by
///         the beacon and stake (Sortition) commit, then (3) reveal the hash and held-out score of
///         the global model the round started from and a score for every update. `finalizeRound`
///         (anyone): the base model the committee's stake majority agreed on becomes the global
///         model of record; each update's score is its stake-weighted median over the agreeing
///         members; updates scoring more than `bandBps` below the participants' stake-weighted
///         median score are excluded (a strike; `maxStrikes` strikes are slashed) and the others are
///         averaged (integer FedAvg weighted by shard size: `fedAvg` of the SDK engine) into the
///         next round's global model, whose hash the next committee attests. The round's reward
///         goes to the included updates by contribution (score above the base model's score),
///         the committee share to the agreeing members. A last evaluation round (phases 2 and 3
///         only) attests the final model; then the remaining escrow goes back to the owner.
///
/// Invariants (each pinned by a test):
///  - per token, `escrowed` is the sum of `remaining` over open jobs; a job's budget leaves escrow
///    only as round payments, the owner's refund on cancellation or the rest at completion;
///  - every open job ends: `finalizeRound` is permissionless and always succeeds once a round's
///    last phase is over, and a job has `rounds + 1` rounds;
///  - a round with no stake majority on its base model pays nothing and includes nothing;
///  - an excluded or unrevealed update earns nothing; a participant is slashed at most once per job,
///    and only within `slashWindow()` of the offence's epoch;
///  - loops are bounded: participants <= MAX_PARTICIPANTS, committee <= MAX_COMMITTEE.
contract FederatedJobs is IFederatedJobs, ISlashWindow, AccessManaged, JobFunds {
    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_PARTICIPANTS = 16;
    uint256 public constant MAX_COMMITTEE = 16;
    uint256 public constant MAX_ROUNDS = 64;
    uint256 public constant MIN_PHASE = 30;
    uint256 public constant MAX_SLASH_FRACTION = 0.5e18;

    struct Job {
        address owner;
        FedState state;
        uint8 round;
        uint8 participantCount;
        uint16 globalScore;
        uint64 roundStart;
        uint128 remaining;
        bytes32 globalModel;
        FedTerms terms;
    }

    struct Part {
        address operator;
        uint32 samples;
        uint8 strikes;
        bool slashed;
        bytes32 shardRoot;
        uint256 earned;
    }

    struct Update {
        bytes32 commitment;
        bytes32 updateHash;
        bool revealed;
        bool included;
        uint16 score;
        uint256 reward;
    }

    struct Member {
        address validator;
        bool revealed;
        bool agreed;
        uint16 baseScore;
        uint256 stake;
        bytes32 commitment;
        bytes32 baseModel;
        uint16[] scores;
    }

    struct Round {
        uint64 start;
        bool finalized;
        bool agreed;
        uint16 baseScore;
        uint16 referenceScore;
        bytes32 seed;
        bytes32 baseModel;
    }

    IStaking public immutable staking;
    IRandomnessBeacon public immutable beacon;
    uint256 public immutable epochLength;
    /// @notice Fraction (1e18 = 100%) of stake slashed for `maxStrikes` excluded updates.
    uint256 public slashFraction;

    uint256 public jobCount;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Part[]) private _parts;
    mapping(uint256 jobId => mapping(address operator => uint256 indexPlusOne)) private _partIndex;
    mapping(uint256 jobId => mapping(uint256 round => Round)) private _rounds;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 index => Update))) private _updates;
    mapping(uint256 jobId => mapping(uint256 round => Member[])) private _members;
    mapping(uint256 jobId => mapping(uint256 round => mapping(address validator => uint256 indexPlusOne)))
        private _memberIndex;

    constructor(
        IStaking staking_,
        IRandomnessBeacon beacon_,
        IRewardCredit distributor_,
        address authority,
        uint256 slashFraction_
    ) AccessManaged(authority) JobFunds(IERC20(staking_.token()), distributor_) {
        staking = staking_;
        beacon = beacon_;
        epochLength = staking_.epochStart(1) - staking_.epochStart(0);
        _setSlashFraction(slashFraction_);
    }

    // =========================================================================================
    // Owner
    // =========================================================================================

    /// @notice Posts a federated job: escrows `terms.budget` of `terms.token` (the amount received),
    ///         fixes the participants and their shard commitments. `spec` is the engine spec
    ///         (`keccak256(spec)` must be `terms.specHash`). Round 0 opens at `terms.startAt`.
    function postJob(
        bytes calldata spec,
        FedTerms calldata terms,
        Participant[] calldata participants
    ) external nonReentrant returns (uint256 jobId) {
        if (keccak256(spec) != terms.specHash) revert InvalidFedTerms("specHash", uint256(terms.specHash));
        if (terms.initialModel == 0) revert InvalidFedTerms("initialModel", 0);
        if (terms.token == address(0)) revert InvalidFedTerms("token", 0);
        if (terms.budget == 0) revert InvalidFedTerms("budget", 0);
        if (terms.startAt < block.timestamp) revert InvalidFedTerms("startAt", terms.startAt);
        if (terms.startAt > block.timestamp + 30 days) revert InvalidFedTerms("startAt", terms.startAt);
        if (terms.phase < MIN_PHASE || terms.phase > maxPhase()) revert InvalidFedTerms("phase", terms.phase);
        if (terms.rounds == 0 || terms.rounds > MAX_ROUNDS) revert InvalidFedTerms("rounds", terms.rounds);
        if (terms.committeeSize == 0 || terms.committeeSize > MAX_COMMITTEE)
            revert InvalidFedTerms("committeeSize", terms.committeeSize);
        if (terms.bandBps > BPS) revert InvalidFedTerms("bandBps", terms.bandBps);
        if (terms.committeeBps > 5_000) revert InvalidFedTerms("committeeBps", terms.committeeBps);
        if (terms.maxStrikes == 0) revert InvalidFedTerms("maxStrikes", 0);
        uint256 n = participants.length;
        if (n == 0 || n > MAX_PARTICIPANTS) revert InvalidFedTerms("participants", n);

        jobId = ++jobCount;
        for (uint256 i; i < n; ++i) {
            Participant calldata p = participants[i];
            if (
                p.operator == address(0) ||
                p.samples == 0 ||
                p.shardRoot == 0 ||
                _partIndex[jobId][p.operator] != 0
            ) revert InvalidParticipant(i, p.operator);
            _partIndex[jobId][p.operator] = i + 1;
            _parts[jobId].push(Part(p.operator, p.samples, 0, false, p.shardRoot, 0));
        }
        uint256 received = _deposit(terms.token, msg.sender, terms.budget);
        Job storage j = _jobs[jobId];
        j.owner = msg.sender;
        j.state = FedState.Open;
        j.participantCount = uint8(n);
        j.roundStart = terms.startAt;
        j.remaining = uint128(received);
        j.globalModel = terms.initialModel;
        j.terms = terms;
        j.terms.budget = uint128(received);
        _rounds[jobId][0].start = terms.startAt;
        emit FederatedJobPosted(jobId, msg.sender, terms.specHash, spec, j.terms, participants, received);
    }

    /// @notice The owner takes its job back before round 0 opens; the budget becomes withdrawable.
    function cancel(uint256 jobId) external nonReentrant {
        Job storage j = _open(jobId);
        if (msg.sender != j.owner) revert NotJobOwner(jobId, msg.sender, j.owner);
        if (block.timestamp >= j.terms.startAt) revert JobStarted(jobId, j.terms.startAt);
        uint256 amount = j.remaining;
        j.remaining = 0;
        j.state = FedState.Cancelled;
        _release(j.terms.token, j.owner, amount);
        emit FederatedJobCancelled(jobId, amount);
    }

    // =========================================================================================
    // Participants
    // =========================================================================================

    /// @notice Commits the caller's update for the current round (phase 0). The caller must be an
    ///         active operator at the round's epoch (its stake is what a deviation slashes).
    function commitUpdate(uint256 jobId, bytes32 commitment) external {
        (Job storage j, uint256 r) = _inPhase(jobId, 0);
        uint256 i = _participant(jobId, msg.sender);
        _requireActive(msg.sender, _epochOf(j.roundStart));
        Update storage u = _updates[jobId][r][i];
        if (u.commitment != 0) revert AlreadyCommitted(jobId, r, msg.sender);
        u.commitment = commitment;
        emit UpdateCommitted(jobId, r, msg.sender);
    }

    /// @notice Reveals the caller's update hash for the current round (phase 1).
    function revealUpdate(uint256 jobId, bytes32 updateHash, bytes32 salt) external {
        (, uint256 r) = _inPhase(jobId, 1);
        uint256 i = _participant(jobId, msg.sender);
        Update storage u = _updates[jobId][r][i];
        if (u.commitment == 0) revert NoCommitment(jobId, r, msg.sender);
        if (u.revealed) revert AlreadyRevealed(jobId, r, msg.sender);
        if (updateCommitment(jobId, r, msg.sender, updateHash, salt) != u.commitment)
            revert CommitmentMismatch(jobId, r, msg.sender);
        u.revealed = true;
        u.updateHash = updateHash;
        emit UpdateRevealed(jobId, r, msg.sender, updateHash);
    }

    // =========================================================================================
    // Committee
    // =========================================================================================

    /// @notice Fixes the committee seed of the current round from the beacon value of the epoch the
    ///         round started in (anyone, once the round has started; idempotent). Validators call it
    ///         before `isSelected`, so a refused `commitScores` cannot re-draw an unsealed beacon.
    function fixSeed(uint256 jobId) external returns (bytes32) {
        Job storage j = _open(jobId);
        uint256 r = j.round;
        Round storage rd = _rounds[jobId][r];
        if (block.timestamp < rd.start) revert WrongPhase(jobId, r, 0, rd.start, rd.start + j.terms.phase);
        return _fixSeed(jobId, r, rd);
    }

    /// @notice Commits the caller's scores for the current round (phase 2). The caller must be an
    ///         active validator selected by stake-weighted sortition from the round's beacon seed.
    function commitScores(uint256 jobId, bytes32 commitment) external {
        (Job storage j, uint256 r) = _inPhase(jobId, 2);
        Round storage rd = _rounds[jobId][r];
        _fixSeed(jobId, r, rd);
        uint256 epoch = _epochOf(rd.start);
        IStaking.OperatorState memory s = staking.operatorState(msg.sender, epoch);
        if (s.role != IStaking.Role.Validator || !s.active || s.stake < s.minStake)
            revert NotEligibleOperator(msg.sender, epoch);
        uint256 total = staking.roleStakeAt(IStaking.Role.Validator, epoch);
        if (!Sortition.isSelected(rd.seed, msg.sender, s.stake, total, j.terms.committeeSize))
            revert NotSelected(jobId, r, msg.sender);
        if (_memberIndex[jobId][r][msg.sender] != 0) revert AlreadyCommitted(jobId, r, msg.sender);
        Member[] storage ms = _members[jobId][r];
        if (ms.length >= MAX_COMMITTEE) revert CommitteeFull(jobId, r, ms.length);
        Member storage m = ms.push();
        m.validator = msg.sender;
        m.stake = s.stake;
        m.commitment = commitment;
        _memberIndex[jobId][r][msg.sender] = ms.length;
        emit ScoresCommitted(jobId, r, msg.sender);
    }

    /// @notice Reveals the caller's scores (phase 3): the hash and held-out score of the global
    ///         model the round started from, and one score per participant (in posting order; the
    ///         entries of updates not revealed are ignored).
    function revealScores(
        uint256 jobId,
        bytes32 baseModel,
        uint16 baseScoreBps,
        uint16[] calldata scoresBps,
        bytes32 salt
    ) external {
        (Job storage j, uint256 r) = _inPhase(jobId, 3);
        uint256 k = _memberIndex[jobId][r][msg.sender];
        if (k == 0) revert NoCommitment(jobId, r, msg.sender);
        Member storage m = _members[jobId][r][k - 1];
        if (m.revealed) revert AlreadyRevealed(jobId, r, msg.sender);
        uint256 n = r == j.terms.rounds ? 0 : j.participantCount;
        if (scoresBps.length != n) revert ScoreCount(n, scoresBps.length);
        if (baseScoreBps > BPS) revert ScoreOutOfRange(type(uint256).max, baseScoreBps);
        for (uint256 i; i < n; ++i) if (scoresBps[i] > BPS) revert ScoreOutOfRange(i, scoresBps[i]);
        if (scoreCommitment(jobId, r, msg.sender, baseModel, baseScoreBps, scoresBps, salt) != m.commitment)
            revert CommitmentMismatch(jobId, r, msg.sender);
        m.revealed = true;
        m.baseModel = baseModel;
        m.baseScore = baseScoreBps;
        m.scores = scoresBps;
        emit ScoresRevealed(jobId, r, msg.sender, baseModel, baseScoreBps, scoresBps);
    }

    // =========================================================================================
    // Finalization and payment
    // =========================================================================================

    /// @notice Closes the current round once its last phase is over (anyone): fixes the agreed base
    ///         model, scores and includes or excludes each update, pays the round, strikes (and at
    ///         `maxStrikes` slashes) deviating participants, and opens the next round now; after
    ///         the evaluation round, completes the job and refunds what is left to the owner.
    function finalizeRound(uint256 jobId) external nonReentrant {
        Job storage j = _open(jobId);
        uint256 r = j.round;
        uint256 closesAt = _phaseStart(jobId, j, r, 4);
        if (block.timestamp < closesAt) revert RoundOpen(jobId, r, closesAt);
        Round storage rd = _rounds[jobId][r];
        rd.finalized = true;
        Member[] storage ms = _members[jobId][r];
        (bool agreed, bytes32 base, uint16 baseScore, uint256 agreeing) = _agreeOnBase(ms);
        rd.agreed = agreed;
        rd.baseModel = base;
        rd.baseScore = baseScore;
        bool evaluation = r == j.terms.rounds;
        if (agreed) {
            j.globalModel = base;
            j.globalScore = baseScore;
        }
        uint256 paid;
        uint256 mask;
        if (agreed) {
            if (!evaluation) (mask, paid) = _judgeUpdates(jobId, j, r, ms, baseScore);
            paid += _payCommittee(j, ms, agreeing);
        }
        emit RoundFinalized(jobId, r, agreed, base, baseScore, rd.referenceScore, mask, paid);
        if (evaluation) {
            uint256 rest = j.remaining;
            j.remaining = 0;
            j.state = FedState.Completed;
            _release(j.terms.token, j.owner, rest);
            emit FederatedJobCompleted(jobId, j.globalModel, j.globalScore, rest);
            return;
        }
        j.round = uint8(r + 1);
        j.roundStart = uint64(block.timestamp);
        _rounds[jobId][r + 1].start = uint64(block.timestamp);
    }

    /// Scores every revealed update, excludes deviants, pays the included ones by contribution.
    function _judgeUpdates(
        uint256 jobId,
        Job storage j,
        uint256 r,
        Member[] storage ms,
        uint16 baseScore
    ) private returns (uint256 mask, uint256 paid) {
        uint256 n = j.participantCount;
        uint256 epoch = _epochOf(_rounds[jobId][r].start);
        uint16[] memory scores = new uint16[](n);
        uint256[] memory weights = new uint256[](n);
        uint256 revealed;
        for (uint256 i; i < n; ++i) {
            Update storage u = _updates[jobId][r][i];
            if (!u.revealed) continue;
            scores[i] = _memberMedian(ms, i);
            u.score = scores[i];
            weights[i] = staking.stakeAt(_parts[jobId][i].operator, epoch) + 1;
            ++revealed;
        }
        if (revealed == 0) return (0, 0);
        uint16 ref = FedMath.weightedMedian(scores, weights);
        _rounds[jobId][r].referenceScore = ref;
        uint256[] memory contribution = new uint256[](n);
        uint256 total;
        uint256 included;
        for (uint256 i; i < n; ++i) {
            if (weights[i] == 0) continue;
            // Only a score below the median by more than the band deviates: an update that scores
            // higher is better on the held-out data (in a non-IID federation, the best-spread data).
            if (uint256(scores[i]) + j.terms.bandBps < ref) {
                _strike(jobId, j, i, r, epoch);
                continue;
            }
            _updates[jobId][r][i].included = true;
            mask |= 1 << i;
            ++included;
            contribution[i] = scores[i] > baseScore ? scores[i] - baseScore : 0;
            total += contribution[i];
        }
        if (included == 0) return (mask, 0);
        uint256 pool = _participantPool(j);
        address[] memory payees = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            Update storage u = _updates[jobId][r][i];
            payees[i] = _parts[jobId][i].operator;
            if (u.included) amounts[i] = total == 0 ? pool / included : (pool * contribution[i]) / total;
            u.reward = amounts[i];
            _parts[jobId][i].earned += amounts[i];
            paid += amounts[i];
            emit UpdateJudged(jobId, r, payees[i], u.score, u.included, amounts[i]);
        }
        j.remaining -= uint128(paid);
        _payOperators(j.terms.token, payees, amounts);
    }

    /// A deviation: one more strike; at `maxStrikes`, a slash (once per job, within the window).
    function _strike(uint256 jobId, Job storage j, uint256 i, uint256 r, uint256 epoch) private {
        Part storage p = _parts[jobId][i];
        Update storage u = _updates[jobId][r][i];
        emit UpdateJudged(jobId, r, p.operator, u.score, false, 0);
        p.strikes += 1;
        emit Deviated(jobId, p.operator, r, p.strikes);
        if (p.strikes < j.terms.maxStrikes || p.slashed) return;
        if (block.timestamp > staking.epochStart(epoch) + slashWindow()) return;
        p.slashed = true;
        address[] memory reporters = new address[](1);
        reporters[0] = msg.sender;
        // A slash Staking refuses (an operator already gone) must not block the job.
        try staking.slash(p.operator, slashFraction, reporters, false, epoch) {
            emit DeviantSlashed(jobId, p.operator, slashFraction, true);
        } catch {
            emit DeviantSlashed(jobId, p.operator, slashFraction, false);
        }
    }

    function _payCommittee(
        Job storage j,
        Member[] storage ms,
        uint256 agreeing
    ) private returns (uint256 paid) {
        if (agreeing == 0) return 0;
        uint256 per =
            (uint256(j.terms.budget) * j.terms.committeeBps) / BPS / (uint256(j.terms.rounds) + 1) / agreeing;
        if (per == 0) return 0;
        address[] memory payees = new address[](agreeing);
        uint256[] memory amounts = new uint256[](agreeing);
        uint256 k;
        for (uint256 m; m < ms.length; ++m) {
            if (!ms[m].agreed) continue;
            (payees[k], amounts[k]) = (ms[m].validator, per);
            ++k;
        }
        paid = per * agreeing;
        j.remaining -= uint128(paid);
        _payOperators(j.terms.token, payees, amounts);
    }

    /// The base model a strict stake majority of the revealed members agrees on, their median
    /// base score, and how many members agreed (marked `agreed`).
    function _agreeOnBase(
        Member[] storage ms
    ) private returns (bool agreed, bytes32 base, uint16 baseScore, uint256 count) {
        uint256 revealedStake;
        for (uint256 m; m < ms.length; ++m) if (ms[m].revealed) revealedStake += ms[m].stake;
        for (uint256 m; m < ms.length && !agreed; ++m) {
            if (!ms[m].revealed) continue;
            uint256 stake;
            for (uint256 o; o < ms.length; ++o)
                if (ms[o].revealed && ms[o].baseModel == ms[m].baseModel) stake += ms[o].stake;
            if (2 * stake > revealedStake) (agreed, base) = (true, ms[m].baseModel);
        }
        if (!agreed) return (false, 0, 0, 0);
        uint16[] memory values = new uint16[](ms.length);
        uint256[] memory weights = new uint256[](ms.length);
        for (uint256 m; m < ms.length; ++m) {
            if (!ms[m].revealed || ms[m].baseModel != base) continue;
            ms[m].agreed = true;
            (values[m], weights[m]) = (ms[m].baseScore, ms[m].stake);
            ++count;
        }
        baseScore = FedMath.weightedMedian(values, weights);
    }

    /// Stake-weighted median of the agreeing members' scores of participant `i`.
    function _memberMedian(Member[] storage ms, uint256 i) private view returns (uint16) {
        uint16[] memory values = new uint16[](ms.length);
        uint256[] memory weights = new uint256[](ms.length);
        for (uint256 m; m < ms.length; ++m) {
            if (!ms[m].agreed) continue;
            (values[m], weights[m]) = (ms[m].scores[i], ms[m].stake);
        }
        return FedMath.weightedMedian(values, weights);
    }

    function _participantPool(Job storage j) private view returns (uint256) {
        uint256 committeeTotal = (uint256(j.terms.budget) * j.terms.committeeBps) / BPS;
        return (uint256(j.terms.budget) - committeeTotal) / j.terms.rounds;
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    /// @notice Sets the fraction of stake a participant loses at `maxStrikes` deviations (bounded).
    function setSlashFraction(uint256 fraction) external restricted {
        _setSlashFraction(fraction);
    }

    function _setSlashFraction(uint256 fraction) private {
        if (fraction > MAX_SLASH_FRACTION)
            revert InvalidParameter("slashFraction", fraction, 0, MAX_SLASH_FRACTION);
        slashFraction = fraction;
        emit FedParamsUpdated(fraction);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @inheritdoc ISlashWindow
    /// @dev An offence is the round whose start falls in its epoch; the round's last phase ends at
    ///      most 4 * maxPhase() (half an epoch) after its start, and its finalization slashes up to
    ///      one epoch after that: 2.5 epochs in all, inside any unbonding period Staking accepts
    ///      for the ChallengeManager's windows.
    function slashWindow() public view returns (uint256) {
        return 2 * epochLength + 4 * maxPhase();
    }

    /// @notice The longest phase a job may have: an eighth of an epoch (a round within half an epoch).
    function maxPhase() public view returns (uint256) {
        return epochLength / 8;
    }

    function updateCommitment(
        uint256 jobId,
        uint256 round,
        address participant,
        bytes32 updateHash,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, round, participant, updateHash, salt));
    }

    function scoreCommitment(
        uint256 jobId,
        uint256 round,
        address validator,
        bytes32 baseModel,
        uint16 baseScoreBps,
        uint16[] calldata scoresBps,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, round, validator, baseModel, baseScoreBps, scoresBps, salt));
    }

    /// @notice When phase `phase` (0..3; 4: the round's end) of round `round` of job `jobId` opens.
    ///         Only meaningful for the current round (later rounds open when the previous closes).
    function phaseStart(uint256 jobId, uint256 round, uint8 phase) external view returns (uint256) {
        return _phaseStart(jobId, _known(jobId), round, phase);
    }

    /// @notice Whether `validator` may sit on round `round`'s committee (false until `fixSeed`).
    function isSelected(uint256 jobId, uint256 round, address validator) external view returns (bool) {
        Job storage j = _known(jobId);
        Round storage rd = _rounds[jobId][round];
        bytes32 seed = rd.seed;
        if (seed == 0) return false;
        uint256 epoch = _epochOf(rd.start);
        IStaking.OperatorState memory s = staking.operatorState(validator, epoch);
        if (s.role != IStaking.Role.Validator || !s.active || s.stake < s.minStake) return false;
        return
            Sortition.isSelected(
                seed,
                validator,
                s.stake,
                staking.roleStakeAt(IStaking.Role.Validator, epoch),
                j.terms.committeeSize
            );
    }

    function getJob(uint256 jobId) external view returns (FedJobView memory v) {
        Job storage j = _known(jobId);
        v.id = jobId;
        v.owner = j.owner;
        v.state = j.state;
        v.terms = j.terms;
        v.remaining = j.remaining;
        v.round = j.round;
        v.roundStart = j.roundStart;
        v.globalModel = j.globalModel;
        v.globalScoreBps = j.globalScore;
        Part[] storage ps = _parts[jobId];
        v.participants = new ParticipantView[](ps.length);
        for (uint256 i; i < ps.length; ++i)
            v.participants[i] = ParticipantView(
                ps[i].operator,
                ps[i].shardRoot,
                ps[i].samples,
                ps[i].strikes,
                ps[i].slashed,
                ps[i].earned
            );
    }

    function getRound(uint256 jobId, uint256 round) external view returns (RoundView memory v) {
        Job storage j = _known(jobId);
        Round storage rd = _rounds[jobId][round];
        (v.start, v.seed, v.finalized, v.agreed) = (rd.start, rd.seed, rd.finalized, rd.agreed);
        (v.baseModel, v.baseScoreBps, v.referenceScoreBps) = (rd.baseModel, rd.baseScore, rd.referenceScore);
        v.updates = new UpdateView[](j.participantCount);
        for (uint256 i; i < j.participantCount; ++i) {
            Update storage u = _updates[jobId][round][i];
            v.updates[i] = UpdateView(
                u.updateHash,
                u.commitment != 0,
                u.revealed,
                u.included,
                u.score,
                u.reward
            );
        }
        Member[] storage ms = _members[jobId][round];
        v.members = new MemberView[](ms.length);
        for (uint256 m; m < ms.length; ++m) {
            Member storage x = ms[m];
            v.members[m] = MemberView(
                x.validator,
                x.stake,
                x.revealed,
                x.agreed,
                x.baseModel,
                x.baseScore,
                x.scores
            );
        }
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    /// Phase p of round r: training rounds have phases 0..3; the evaluation round only 2 and 3
    /// (they open at its start).
    function _phaseStart(uint256 jobId, Job storage j, uint256 r, uint8 p) private view returns (uint256) {
        uint256 start = _rounds[jobId][r].start;
        uint256 skipped = r == j.terms.rounds ? 2 : 0;
        uint256 at = p < skipped ? 0 : p - skipped;
        return start + at * j.terms.phase;
    }

    /// The open job and its current round, reverting unless now is in phase `p` of that round.
    function _inPhase(uint256 jobId, uint8 p) private view returns (Job storage j, uint256 r) {
        j = _open(jobId);
        r = j.round;
        if (p < 2 && r == j.terms.rounds) revert WrongPhase(jobId, r, p, 0, 0);
        uint256 opens = _phaseStart(jobId, j, r, p);
        uint256 closes = opens + j.terms.phase;
        if (block.timestamp < opens || block.timestamp >= closes)
            revert WrongPhase(jobId, r, p, opens, closes);
    }

    function _fixSeed(uint256 jobId, uint256 r, Round storage rd) private returns (bytes32) {
        if (rd.seed == 0)
            rd.seed = keccak256(abi.encode(beacon.seal(_epochOf(rd.start)), address(this), jobId, r));
        return rd.seed;
    }

    function _participant(uint256 jobId, address account) private view returns (uint256) {
        uint256 k = _partIndex[jobId][account];
        if (k == 0) revert NotParticipant(jobId, account);
        return k - 1;
    }

    function _requireActive(address account, uint256 epoch) private view {
        IStaking.OperatorState memory s = staking.operatorState(account, epoch);
        if (!s.active || s.stake == 0 || s.stake < s.minStake) revert NotEligibleOperator(account, epoch);
    }

    function _epochOf(uint256 timestamp) private view returns (uint256) {
        return staking.epochAt(timestamp);
    }

    function _open(uint256 jobId) private view returns (Job storage j) {
        j = _known(jobId);
        if (j.state != FedState.Open) revert FederatedJobNotOpen(jobId, j.state);
    }

    function _known(uint256 jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.state == FedState.None) revert UnknownFederatedJob(jobId);
    }
}
