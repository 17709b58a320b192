// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IFederatedJobs} from "../interfaces/IFederatedJobs.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IRewardCredit} from "../interfaces/IRewardCredit.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {Sortition} from "../libraries/Sortition.sol";
import {WeightedMedian} from "../libraries/WeightedMedian.sol";
import {TaskRegistry} from "../poai/TaskRegistry.sol";
import {JobFunds} from "./JobFunds.sol";

/// @title FederatedJobs
/// @notice Federated training (FLock FL Alliance style): the data never leaves its owners. An owner
///         posts a model (an engine version 2 spec whose `steps` are one round of local training,
///         over the owner's evaluation dataset, registered in the TaskRegistry so validators fetch
///         it like any dataset), the staked trainers that take part, a budget per round and the
///         initial model's hash. Each participant joins with the Merkle root and size of its
///         private shard (the shard itself is never published). Each round, from the current
///         global model: participants train locally, commit the hash of their model update, then
///         reveal it (and serve its bytes); a committee of validators drawn by stake-weighted
///         sortition scores every revealed update and the global model on the owner's held-out
///         set, commits then reveals the scores; `closeRound` takes each update's score as the
///         committee's stake-weighted median, excludes every update scoring more than `bandBps`
///         below the participants' stake-weighted median of those scores (its participant earns
///         nothing that round; `maxExclusions` in a row is slashed), pays participants by
///         contribution (their score's improvement over the global model) and the agreeing
///         committee members by weight; then the committee votes the hash of the aggregate
///         (FedAvg: the integer weighted average of the included updates, weighted by shard size,
///         which anyone recomputes exactly) and a quorum starts the next round from it.
///
/// What is proven: every update was fixed before anyone saw another (commit-reveal), the aggregate
/// is exactly the FedAvg of the included updates (any party recomputes it), the shards are
/// committed, and the scores are the committee's agreement. What is not: the local training
/// itself (it cannot be re-executed without the private data); see docs/jobs.md.
///
/// Invariants (each pinned by a test):
///  - a job's escrow leaves exactly once per part: each round's payouts, and the rest refunded at
///    completion, failure or cancellation; `remaining` = budgetPerRound x rounds not yet closed + carry;
///  - an update is included only if it was committed and revealed in its windows and its score is
///    within the band below the participants' median;
///  - a round advances only with no included update (the global model is unchanged) or with the
///    aggregate hash of a quorum of the committee's revealed weight;
///  - every action is O(1) except `closeRound` (O(committee x participants)).
contract FederatedJobs is IFederatedJobs, AccessManaged, JobFunds {
    using WeightedMedian for uint16[];

    uint256 public constant BPS = 10_000;
    uint256 public constant WAD = 1e18;
    uint256 public constant MAX_PARTICIPANTS = 8;
    uint256 public constant MAX_COMMITTEE = 16;
    uint256 public constant MAX_ROUNDS = 64;
    uint256 public constant MAX_WINDOW = 7 days;
    uint256 private constant WEIGHT_ONE = (1 << 32) - 1;

    struct FedJob {
        address owner;
        uint8 participants;
        uint8 joined;
        uint8 rounds;
        uint8 round;
        FedState state;
        bool closed;
        uint16 bandBps;
        address token;
        uint64 roundStart;
        uint32 updateWindow;
        uint32 revealWindow;
        uint32 scoreWindow;
        uint32 aggregateWindow;
        uint64 joinDeadline;
        uint64 aggregateDeadline;
        uint128 budgetPerRound;
        uint128 remaining;
        uint128 carry;
        uint128 revealedWeight; // of the current round's committee
        bytes32 specId;
        bytes32 globalHash;
    }

    struct Participant {
        address account;
        bool joined;
        uint8 exclusions;
        uint32 shardCount;
        bytes32 shardRoot;
    }

    struct Member {
        address validator;
        uint32 weight;
        bool revealed;
        bool voted;
        bytes32 commitment;
        uint256 scores;
    }

    IStaking public immutable staking;
    TaskRegistry public immutable tasks;
    IRandomnessBeacon public immutable beacon;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    Params private _params;
    uint256 public jobCount;
    mapping(uint256 jobId => FedJob) private _jobs;
    mapping(uint256 jobId => Participant[]) private _participants;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 index => UpdateView))) private _updates;
    mapping(uint256 jobId => mapping(uint256 round => Member[])) private _members;
    mapping(uint256 jobId => mapping(uint256 round => mapping(bytes32 hash => uint256 weight))) private _votes;

    constructor(
        IStaking staking_,
        TaskRegistry tasks_,
        IRandomnessBeacon beacon_,
        IRewardCredit distributor_,
        address authority,
        Params memory params_
    ) AccessManaged(authority) JobFunds(IERC20(staking_.token()), distributor_) {
        staking = staking_;
        tasks = tasks_;
        beacon = beacon_;
        genesis = staking_.epochStart(0);
        epochLength = staking_.epochStart(1) - genesis;
        _setParams(params_);
    }

    // =========================================================================================
    // Owners and participants
    // =========================================================================================

    /// @notice Posts a federated job: escrows `budgetPerRound x rounds` (pulled from the caller),
    ///         registers the model's spec over the owner's evaluation dataset (`evalDataset`, fetched
    ///         from `sources`) unless it is registered, and names the participants (staked trainers).
    function postFederatedJob(
        ITaskRegistry.TrainingSpec calldata spec,
        ITaskRegistry.DatasetRef calldata evalDataset,
        string[] calldata sources,
        FedTerms calldata terms,
        address[] calldata participants
    ) external nonReentrant returns (uint256 jobId) {
        uint256 n = participants.length;
        if (n == 0 || n > MAX_PARTICIPANTS) revert InvalidFederatedTerms("participants", n);
        if (terms.rounds == 0 || terms.rounds > MAX_ROUNDS) revert InvalidFederatedTerms("rounds", terms.rounds);
        if (terms.budgetPerRound == 0) revert InvalidFederatedTerms("budgetPerRound", 0);
        if (terms.token == address(0)) revert InvalidFederatedTerms("token", 0);
        if (terms.bandBps > BPS) revert InvalidFederatedTerms("bandBps", terms.bandBps);
        _window("updateWindow", terms.updateWindow);
        _window("revealWindow", terms.revealWindow);
        _window("scoreWindow", terms.scoreWindow);
        _window("aggregateWindow", terms.aggregateWindow);
        if (terms.joinDeadline <= block.timestamp || terms.joinDeadline > block.timestamp + MAX_WINDOW)
            revert InvalidFederatedTerms("joinDeadline", terms.joinDeadline);
        if (terms.initialModelHash == 0) revert InvalidFederatedTerms("initialModelHash", 0);
        // One segment per round: the local training of a round is the whole spec.
        if (spec.checkpointInterval != spec.steps)
            revert InvalidFederatedTerms("checkpointInterval", spec.checkpointInterval);

        bytes32 specId = keccak256(abi.encode(spec, evalDataset));
        if (!tasks.isRegistered(specId)) {
            ITaskRegistry.SpecParams memory sp = ITaskRegistry.SpecParams(1 days, 0, uint16(BPS), 1);
            tasks.registerJobSpec(spec, evalDataset, sp, sources);
        }
        jobId = ++jobCount;
        Participant[] storage list = _participants[jobId];
        for (uint256 i; i < n; ++i) {
            address p = participants[i];
            if (p == address(0)) revert InvalidFederatedTerms("participants", i);
            for (uint256 k; k < i; ++k) if (participants[k] == p) revert InvalidFederatedTerms("participants", i);
            list.push(Participant(p, false, 0, 0, 0));
        }
        uint256 budget = uint256(terms.budgetPerRound) * terms.rounds;
        if (budget > type(uint128).max) revert InvalidFederatedTerms("budgetPerRound", terms.budgetPerRound);
        uint256 received = _deposit(terms.token, msg.sender, budget);
        if (received != budget) revert InvalidFederatedTerms("token", received);

        FedJob storage j = _jobs[jobId];
        j.owner = msg.sender;
        j.participants = uint8(n);
        j.rounds = terms.rounds;
        j.state = FedState.Enrolling;
        j.bandBps = terms.bandBps;
        j.token = terms.token;
        j.updateWindow = terms.updateWindow;
        j.revealWindow = terms.revealWindow;
        j.scoreWindow = terms.scoreWindow;
        j.aggregateWindow = terms.aggregateWindow;
        j.joinDeadline = terms.joinDeadline;
        j.budgetPerRound = terms.budgetPerRound;
        j.remaining = uint128(budget);
        j.specId = specId;
        j.globalHash = terms.initialModelHash;
        emit FederatedJobPosted(
            jobId,
            msg.sender,
            specId,
            terms.token,
            budget,
            terms.rounds,
            participants,
            terms.initialModelHash
        );
    }

    /// @notice A named participant (an active trainer) joins with the commitment of its private
    ///         shard: the root of its training examples (the engine's dataset tree) and their count.
    ///         `endpoint` is where it serves its updates. The last join starts round 0.
    function join(uint256 jobId, bytes32 shardRoot, uint32 shardCount, string calldata endpoint) external {
        FedJob storage j = _require(jobId, FedState.Enrolling);
        if (block.timestamp > j.joinDeadline) revert InvalidFederatedTerms("joinDeadline", j.joinDeadline);
        uint256 i = _indexOf(jobId, msg.sender);
        Participant storage p = _participants[jobId][i];
        if (p.joined) revert AlreadyJoined(jobId, msg.sender);
        if (!staking.isActive(msg.sender) || staking.roleOf(msg.sender) != IStaking.Role.Trainer)
            revert NotActiveParticipant(msg.sender);
        if (shardRoot == 0) revert InvalidFederatedTerms("shardRoot", 0);
        if (shardCount == 0) revert InvalidFederatedTerms("shardCount", 0);
        if (bytes(endpoint).length > 256) revert InvalidFederatedTerms("endpoint", bytes(endpoint).length);
        p.joined = true;
        p.shardRoot = shardRoot;
        p.shardCount = shardCount;
        emit ParticipantJoined(jobId, msg.sender, shardRoot, shardCount, endpoint);
        if (++j.joined == j.participants) {
            j.state = FedState.Running;
            j.roundStart = uint64(block.timestamp);
            emit RoundStarted(jobId, 0, j.globalHash, block.timestamp);
        }
    }

    /// @notice Ends a job that never started: the owner any time before it starts, anyone once the
    ///         join deadline passed. The budget becomes withdrawable by the owner.
    function cancel(uint256 jobId) external nonReentrant {
        FedJob storage j = _require(jobId, FedState.Enrolling);
        if (msg.sender != j.owner && block.timestamp <= j.joinDeadline) revert NotOwner(jobId, msg.sender);
        _end(jobId, j, FedState.Cancelled);
    }

    /// @notice Commits the caller's update of the current round:
    ///         `updateCommitment(jobId, round, participant, updateHash, salt)`.
    function commitUpdate(uint256 jobId, bytes32 commitment) external {
        FedJob storage j = _inPhase(jobId, Phase.Update);
        uint256 i = _indexOf(jobId, msg.sender);
        UpdateView storage u = _updates[jobId][j.round][i];
        if (u.commitment != 0) revert AlreadyCommitted(jobId, j.round, msg.sender);
        u.commitment = commitment;
        emit UpdateCommitted(jobId, j.round, msg.sender);
    }

    /// @notice Reveals the caller's committed update hash (keccak256 of the update's checkpoint
    ///         encoding); the bytes are served at the participant's endpoint.
    function revealUpdate(uint256 jobId, bytes32 updateHash, bytes32 salt) external {
        FedJob storage j = _inPhase(jobId, Phase.Reveal);
        uint256 i = _indexOf(jobId, msg.sender);
        UpdateView storage u = _updates[jobId][j.round][i];
        if (u.commitment == 0) revert NotCommitted(jobId, j.round, msg.sender);
        if (u.updateHash != 0 || updateHash == 0) revert AlreadyCommitted(jobId, j.round, msg.sender);
        if (updateCommitment(jobId, j.round, msg.sender, updateHash, salt) != u.commitment)
            revert CommitmentMismatch(jobId, j.round, msg.sender);
        u.updateHash = updateHash;
        emit UpdateRevealed(jobId, j.round, msg.sender, updateHash);
    }

    // =========================================================================================
    // Validators
    // =========================================================================================

    /// @notice Joins the current round's committee (the caller proves its stake-weighted sortition)
    ///         with a commitment to its scores: `scoresCommitment(jobId, round, scores, salt, validator)`.
    function commitScores(uint256 jobId, bytes32 commitment) external {
        FedJob storage j = _inPhase(jobId, Phase.ScoreCommit);
        uint256 round = j.round;
        uint256 epoch = _epochOf(j.roundStart);
        IStaking.OperatorState memory v = staking.operatorState(msg.sender, epoch);
        if (v.role != IStaking.Role.Validator || !v.active) revert NotActiveValidator(msg.sender);
        bytes32 seed = keccak256(abi.encode(beacon.seal(epoch), jobId, round));
        if (!Sortition.isSelected(seed, msg.sender, v.stake, v.roleStake, _params.committeeSize))
            revert NotInCommittee(jobId, round, msg.sender);
        Member[] storage members = _members[jobId][round];
        if (members.length == MAX_COMMITTEE) revert CommitteeFull(jobId, round);
        for (uint256 k; k < members.length; ++k)
            if (members[k].validator == msg.sender) revert AlreadyCommitted(jobId, round, msg.sender);
        uint256 weight = Math.min(WEIGHT_ONE, Math.max(1, Math.mulDiv(v.stake, WEIGHT_ONE, v.roleStake)));
        members.push(Member(msg.sender, uint32(weight), false, false, commitment, 0));
        emit ScoresCommitted(jobId, round, msg.sender);
    }

    /// @notice Reveals the caller's scores (basis points): `[global model, participant 0, ...]`.
    ///         A participant whose update was not revealed or not served is scored 0.
    function revealScores(uint256 jobId, uint16[] calldata scores, bytes32 salt) external {
        FedJob storage j = _inPhase(jobId, Phase.ScoreReveal);
        uint256 round = j.round;
        if (scores.length != uint256(j.participants) + 1) revert InvalidScores(scores.length, j.participants + 1);
        for (uint256 i; i < scores.length; ++i) if (scores[i] > BPS) revert InvalidScores(i, scores[i]);
        Member storage m = _memberOf(jobId, round, msg.sender);
        if (m.revealed) revert AlreadyCommitted(jobId, round, msg.sender);
        if (scoresCommitment(jobId, round, scores, salt, msg.sender) != m.commitment)
            revert CommitmentMismatch(jobId, round, msg.sender);
        m.revealed = true;
        m.scores = WeightedMedian.pack(scores);
        emit ScoresRevealed(jobId, round, msg.sender, scores);
    }

    /// @notice After the score reveals: judges the round's updates, pays the round's reward, counts
    ///         exclusions (slashing repeated ones), and moves on: straight to the next round when no
    ///         update is included, else to the aggregate vote. Called again after the aggregate
    ///         window with no quorum, it ends the job (`Failed`) and refunds the rest. Permissionless.
    function closeRound(uint256 jobId) external nonReentrant {
        FedJob storage j = _require(jobId, FedState.Running);
        if (j.closed) {
            if (block.timestamp <= j.aggregateDeadline) revert TooEarly(jobId, j.aggregateDeadline + 1);
            _end(jobId, j, FedState.Failed);
            return;
        }
        Phase phase = roundPhase(jobId);
        if (phase != Phase.Close) revert WrongPhase(jobId, phase, Phase.Close);
        uint256 included = _judgeRound(jobId, j);
        if (included == 0) {
            _advance(jobId, j, j.globalHash);
        } else {
            j.closed = true;
            j.aggregateDeadline = uint64(block.timestamp + j.aggregateWindow);
        }
    }

    /// @notice A committee member that revealed scores this round votes the aggregate's hash
    ///         (keccak256 of the FedAvg model's checkpoint encoding at step 0). A hash holding
    ///         `quorumBps` of the revealed weight becomes the global model and the next round starts.
    function submitAggregate(uint256 jobId, bytes32 aggregateHash) external {
        FedJob storage j = _require(jobId, FedState.Running);
        uint256 round = j.round;
        if (!j.closed) revert WrongPhase(jobId, roundPhase(jobId), Phase.Aggregate);
        if (block.timestamp > j.aggregateDeadline) revert WrongPhase(jobId, Phase.Close, Phase.Aggregate);
        Member storage m = _memberOf(jobId, round, msg.sender);
        if (!m.revealed) revert NotAggregator(jobId, round, msg.sender);
        if (m.voted) revert AlreadyVoted(jobId, round, msg.sender);
        m.voted = true;
        uint256 weight = (_votes[jobId][round][aggregateHash] += m.weight);
        emit AggregateVoted(jobId, round, msg.sender, aggregateHash);
        if (weight * BPS >= uint256(_params.quorumBps) * j.revealedWeight) _advance(jobId, j, aggregateHash);
    }

    // =========================================================================================
    // Governance and views
    // =========================================================================================

    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
    }

    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The phase of job `jobId`'s current round at this block's time.
    function roundPhase(uint256 jobId) public view returns (Phase) {
        FedJob storage j = _jobs[jobId];
        if (j.closed) return Phase.Aggregate;
        uint256 t = block.timestamp - j.roundStart;
        if (t < j.updateWindow) return Phase.Update;
        t -= j.updateWindow;
        if (t < j.revealWindow) return Phase.Reveal;
        t -= j.revealWindow;
        if (t < j.scoreWindow) return Phase.ScoreCommit;
        if (t < 2 * uint256(j.scoreWindow)) return Phase.ScoreReveal;
        return Phase.Close;
    }

    function getFederatedJob(uint256 jobId) external view returns (FedJobView memory v) {
        FedJob storage j = _jobs[jobId];
        if (j.state == FedState.None) revert UnknownFederatedJob(jobId);
        v = FedJobView({
            id: jobId,
            owner: j.owner,
            state: j.state,
            participants: j.participants,
            joined: j.joined,
            rounds: j.rounds,
            round: j.round,
            closed: j.closed,
            bandBps: j.bandBps,
            token: j.token,
            budgetPerRound: j.budgetPerRound,
            remaining: j.remaining,
            carry: j.carry,
            roundStart: j.roundStart,
            aggregateDeadline: j.aggregateDeadline,
            updateWindow: j.updateWindow,
            revealWindow: j.revealWindow,
            scoreWindow: j.scoreWindow,
            aggregateWindow: j.aggregateWindow,
            joinDeadline: j.joinDeadline,
            specId: j.specId,
            globalHash: j.globalHash
        });
    }

    function getParticipants(uint256 jobId) external view returns (ParticipantView[] memory list) {
        Participant[] storage ps = _participants[jobId];
        list = new ParticipantView[](ps.length);
        for (uint256 i; i < ps.length; ++i)
            list[i] = ParticipantView(ps[i].account, ps[i].joined, ps[i].exclusions, ps[i].shardCount, ps[i].shardRoot);
    }

    function getUpdate(uint256 jobId, uint256 round, uint256 index) external view returns (UpdateView memory) {
        return _updates[jobId][round][index];
    }

    function getMembers(uint256 jobId, uint256 round) external view returns (MemberView[] memory list) {
        Member[] storage ms = _members[jobId][round];
        uint256 n = uint256(_jobs[jobId].participants) + 1;
        list = new MemberView[](ms.length);
        for (uint256 k; k < ms.length; ++k) {
            uint16[] memory scores = new uint16[](ms[k].revealed ? n : 0);
            for (uint256 i; i < scores.length; ++i) scores[i] = WeightedMedian.at(ms[k].scores, i);
            list[k] = MemberView(ms[k].validator, ms[k].weight, ms[k].revealed, scores);
        }
    }

    /// @notice Whether `validator` is in the committee of job `jobId`'s current round (what
    ///         `commitScores` checks); reverts while the round's epoch beacon is not fixed.
    function isCommitteeMember(uint256 jobId, address validator) external view returns (bool) {
        FedJob storage j = _jobs[jobId];
        uint256 epoch = _epochOf(j.roundStart);
        IStaking.OperatorState memory v = staking.operatorState(validator, epoch);
        if (v.role != IStaking.Role.Validator || !v.active) return false;
        bytes32 seed = keccak256(abi.encode(beacon.valueOf(epoch), jobId, uint256(j.round)));
        return Sortition.isSelected(seed, validator, v.stake, v.roleStake, _params.committeeSize);
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

    function scoresCommitment(
        uint256 jobId,
        uint256 round,
        uint16[] calldata scores,
        bytes32 salt,
        address validator
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, round, scores, salt, validator));
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    /// Scores, exclusions and rewards of the current round; returns how many updates are included.
    function _judgeRound(uint256 jobId, FedJob storage j) private returns (uint256 included) {
        uint256 round = j.round;
        Member[] storage ms = _members[jobId][round];
        uint256 m = ms.length;
        uint256[] memory weights = new uint256[](m);
        uint256 revealed;
        for (uint256 k; k < m; ++k) {
            if (!ms[k].revealed) continue;
            weights[k] = ms[k].weight;
            revealed += weights[k];
        }
        j.revealedWeight = uint128(revealed);
        uint256 reward = uint256(j.budgetPerRound) + j.carry;
        if (revealed == 0) {
            // No committee: nothing can be judged; the round's reward is carried, the model kept.
            j.carry = uint128(reward);
            emit RoundClosed(jobId, round, 0, 0, 0, 0, reward);
            return 0;
        }
        uint256 n = j.participants;
        uint16[] memory s = new uint16[](n + 1); // agreed scores; s[0]: the global model
        for (uint256 i; i <= n; ++i) s[i] = _column(ms, i).lower(weights);
        (bool[] memory inAggregate, uint16 median, uint256[] memory contribution, uint256 contributed) = _include(
            jobId,
            j,
            s
        );
        for (uint256 i; i < n; ++i) if (inAggregate[i]) ++included;

        uint256 toProtocol = (reward * _params.protocolBps) / BPS;
        uint256 toValidators = (reward * _params.validatorBps) / BPS;
        uint256 toParticipants = reward - toProtocol - toValidators;
        address[] memory payees = new address[](n + m);
        uint256[] memory amounts = new uint256[](n + m);
        uint256 paid;
        if (included != 0) {
            for (uint256 i; i < n; ++i) {
                if (!inAggregate[i]) continue;
                uint256 amount = contributed == 0
                    ? toParticipants / included
                    : Math.mulDiv(toParticipants, contribution[i], contributed);
                (payees[i], amounts[i]) = (_participants[jobId][i].account, amount);
                paid += amount;
            }
        }
        paid += _payCommittee(ms, s, toValidators, payees, amounts, n);
        for (uint256 i; i < n; ++i) {
            if (_updates[jobId][round][i].updateHash == 0) continue;
            emit UpdateJudged(
                jobId,
                round,
                _participants[jobId][i].account,
                s[i + 1],
                inAggregate[i],
                uint16(contribution[i]),
                amounts[i]
            );
        }
        paid += toProtocol;
        j.remaining -= uint128(paid);
        j.carry = uint128(reward - paid);
        _release(j.token, _params.treasury, toProtocol);
        _payOperators(j.token, payees, amounts);
        emit RoundClosed(jobId, round, s[0], median, included, paid, reward - paid);
    }

    /// Which revealed updates enter the aggregate (within the band below the participants'
    /// stake-weighted median of the scores), their contributions over the global model, and the
    /// exclusion counts (with the slash of a participant excluded `maxExclusions` times in a row).
    function _include(
        uint256 jobId,
        FedJob storage j,
        uint16[] memory s
    )
        private
        returns (bool[] memory inAggregate, uint16 median, uint256[] memory contribution, uint256 contributed)
    {
        uint256 n = j.participants;
        uint256 epoch = _epochOf(j.roundStart);
        uint16[] memory scores = new uint16[](n);
        uint256[] memory stakes = new uint256[](n);
        bool[] memory revealedUpdate = new bool[](n);
        for (uint256 i; i < n; ++i) {
            if (_updates[jobId][j.round][i].updateHash == 0) continue;
            revealedUpdate[i] = true;
            scores[i] = s[i + 1];
            stakes[i] = Math.max(1, staking.stakeAt(_participants[jobId][i].account, epoch));
        }
        median = scores.lower(stakes);
        inAggregate = new bool[](n);
        contribution = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (!revealedUpdate[i]) continue;
            Participant storage p = _participants[jobId][i];
            if (uint256(scores[i]) + j.bandBps >= median) {
                inAggregate[i] = true;
                p.exclusions = 0;
                contribution[i] = scores[i] > s[0] ? scores[i] - s[0] : 0;
                contributed += contribution[i];
            } else if (++p.exclusions >= _params.maxExclusions) {
                p.exclusions = 0;
                _slash(jobId, p.account);
            }
        }
    }

    /// Pays `toValidators` by weight to the members whose every score agrees with the median.
    function _payCommittee(
        Member[] storage ms,
        uint16[] memory s,
        uint256 toValidators,
        address[] memory payees,
        uint256[] memory amounts,
        uint256 offset
    ) private view returns (uint256 paid) {
        uint256 m = ms.length;
        bool[] memory agrees = new bool[](m);
        uint256 agreeing;
        for (uint256 k; k < m; ++k) {
            if (!ms[k].revealed) continue;
            agrees[k] = true;
            for (uint256 i; i < s.length; ++i) {
                uint16 x = WeightedMedian.at(ms[k].scores, i);
                uint256 d = x > s[i] ? x - s[i] : s[i] - x;
                if (d > _params.scoreToleranceBps) {
                    agrees[k] = false;
                    break;
                }
            }
            if (agrees[k]) agreeing += ms[k].weight;
        }
        if (agreeing == 0) return 0;
        for (uint256 k; k < m; ++k) {
            if (!agrees[k]) continue;
            uint256 amount = Math.mulDiv(toValidators, ms[k].weight, agreeing);
            (payees[offset + k], amounts[offset + k]) = (ms[k].validator, amount);
            paid += amount;
        }
    }

    /// Every member's score of entry `i` (0: the global model, i > 0: participant i - 1).
    function _column(Member[] storage ms, uint256 i) private view returns (uint16[] memory col) {
        col = new uint16[](ms.length);
        for (uint256 k; k < ms.length; ++k) col[k] = WeightedMedian.at(ms[k].scores, i);
    }

    /// A participant excluded `maxExclusions` rounds in a row is slashed (never blocks the round).
    function _slash(uint256 jobId, address participant) private {
        uint256 fraction = Math.min(_params.exclusionSlash, staking.params().maxSlashFraction);
        address[] memory reporters = new address[](msg.sender == participant ? 0 : 1);
        if (reporters.length != 0) reporters[0] = msg.sender;
        bool done;
        try staking.slash(participant, fraction, reporters, false) {
            done = true;
        } catch {}
        emit ParticipantSlashed(jobId, participant, _params.maxExclusions, done);
    }

    function _advance(uint256 jobId, FedJob storage j, bytes32 globalHash) private {
        j.globalHash = globalHash;
        j.closed = false;
        j.aggregateDeadline = 0;
        j.revealedWeight = 0;
        uint256 next = uint256(j.round) + 1;
        if (next == j.rounds) {
            uint256 refund = j.remaining;
            j.state = FedState.Completed;
            j.remaining = 0;
            j.carry = 0;
            _release(j.token, j.owner, refund);
            emit FederatedJobCompleted(jobId, globalHash, refund);
            return;
        }
        j.round = uint8(next);
        j.roundStart = uint64(block.timestamp);
        emit RoundStarted(jobId, next, globalHash, block.timestamp);
    }

    function _end(uint256 jobId, FedJob storage j, FedState state) private {
        uint256 refund = j.remaining;
        j.state = state;
        j.remaining = 0;
        j.carry = 0;
        j.closed = false;
        _release(j.token, j.owner, refund);
        emit FederatedJobEnded(jobId, state, refund);
    }

    function _memberOf(uint256 jobId, uint256 round, address validator) private view returns (Member storage) {
        Member[] storage ms = _members[jobId][round];
        for (uint256 k; k < ms.length; ++k) if (ms[k].validator == validator) return ms[k];
        revert NotCommitted(jobId, round, validator);
    }

    function _indexOf(uint256 jobId, address account) private view returns (uint256) {
        Participant[] storage ps = _participants[jobId];
        for (uint256 i; i < ps.length; ++i) if (ps[i].account == account) return i;
        revert NotParticipant(jobId, account);
    }

    function _require(uint256 jobId, FedState state) private view returns (FedJob storage j) {
        j = _jobs[jobId];
        if (j.state == FedState.None) revert UnknownFederatedJob(jobId);
        if (j.state != state) revert WrongState(jobId, j.state);
    }

    function _inPhase(uint256 jobId, Phase expected) private view returns (FedJob storage j) {
        j = _require(jobId, FedState.Running);
        Phase phase = roundPhase(jobId);
        if (phase != expected) revert WrongPhase(jobId, phase, expected);
    }

    function _epochOf(uint256 time) private view returns (uint256) {
        return (time - genesis) / epochLength;
    }

    function _window(string memory name, uint32 value) private pure {
        if (value == 0 || value > MAX_WINDOW) revert InvalidFederatedTerms(name, value);
    }

    function _setParams(Params memory p) private {
        _bound("committeeSize", p.committeeSize, 1, MAX_COMMITTEE / 2);
        _bound("quorumBps", p.quorumBps, BPS / 2 + 1, BPS);
        _bound("validatorBps", p.validatorBps, 0, 3_000);
        _bound("protocolBps", p.protocolBps, 0, 2_000);
        _bound("scoreToleranceBps", p.scoreToleranceBps, 0, BPS);
        _bound("maxExclusions", p.maxExclusions, 1, 100);
        _bound("exclusionSlash", p.exclusionSlash, 1, WAD);
        if (p.treasury == address(0)) revert InvalidParameter("treasury", 0, 1, type(uint160).max);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
