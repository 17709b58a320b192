// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IJobBoard} from "../interfaces/IJobBoard.sol";
import {IJobRegistry} from "../interfaces/IJobRegistry.sol";
import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IRewardCredit} from "../interfaces/IRewardCredit.sol";
import {IScoreGame} from "../interfaces/IScoreGame.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {ChallengeManager} from "../poai/ChallengeManager.sol";
import {TaskRegistry} from "../poai/TaskRegistry.sol";
import {ModelRegistry} from "../infernet/ModelRegistry.sol";
import {JobFunds} from "./JobFunds.sol";

/// @title JobRegistry
/// @notice Paid training jobs. An owner posts an engine version 2 spec with its dataset (roots and
///         source URLs: the spec is registered in the TaskRegistry, so every daemon reads it as any
///         spec), how many independent trainers it wants, a budget (escrowed), a deadline, an
///         accuracy floor and its share of the resulting model's royalties. In the next round
///         (the claim round) staked, unjailed trainers claim it; the `trainers` lowest draws
///         `keccak256(beacon(claimRound), jobId, attempt, trainer) / stake` win (stake-weighted, from a
///         beacon value nobody knew at posting; not first come). In the round after (the run round)
///         each assigned trainer's Proof-of-AI challenge trains the job's spec: same seed rule,
///         committee, verdicts and slashes as every challenge (the ChallengeManager asks
///         `jobSpecOf`), and a fraudulent run is slashed by the ChallengeManager as any fraud.
///         Once every run is judged, `settle`: a Valid run whose accuracy reaches the floor
///         completes the job (the budget is split among the qualifying trainers, the committee
///         members whose verdicts agreed with the judgments, and the treasury); otherwise the job
///         is re-assigned while its deadline allows another attempt, else refunded. The winning
///         run's final checkpoint becomes the model `job/<jobId>` in the ModelRegistry (anyone
///         proves it under the run's root with `registerModel`), its royalties split between the
///         owner and the trainer.
///
///         A run's accuracy is the one its trainer reported, once the score game's window after
///         its judgment has passed with no game on it pending and none won against it (a game
///         proves a false report on chain: docs/disputes.md, "Score games"); where no score game is
///         set, the committee's stake-weighted median.
///
/// Invariants (each pinned by a test):
///  - a job's budget leaves escrow exactly once: paid out on completion, or refunded, or returned
///    on cancellation; `escrowed[token]` is the sum of the budgets of open jobs in `token`;
///  - every open job reaches a final state: `settle` always either completes, re-assigns, refunds
///    or waits for a judgment anyone can cause (finalize, or the epoch closing on a missed run);
///  - a trainer holds at most one job per run round, and at most `trainers` trainers hold a job's
///    attempt; an assignment is fixed before its run round starts;
///  - a job completes only with a run the ChallengeManager judged Valid whose accuracy reaches the
///    job's floor: its reported accuracy, not disproven and past its score game window (with a
///    score game set), else its stake-weighted median;
///  - every action is O(1) except `claim` (O(trainers)) and `settle` (O(trainers x committee)).
contract JobRegistry is IJobRegistry, IJobBoard, AccessManaged, JobFunds {
    uint256 public constant BPS = 10_000;
    /// @notice Most independent trainers a job may ask for (bounds `claim` and `settle`).
    uint256 public constant MAX_TRAINERS = 8;
    /// @notice Longest a job may stay open.
    uint256 public constant MAX_DURATION = 365 days;

    struct Job {
        address owner;
        uint8 trainers;
        uint8 attempt;
        uint8 placed;
        JobState state;
        uint16 minAccuracyBps;
        uint16 ownerRoyaltyBps;
        uint32 claimRound;
        address token;
        uint64 deadline;
        uint128 budget;
        bytes32 specId;
    }

    /// The trainer whose run completed a job, and its model once registered.
    struct Outcome {
        address winner;
        uint32 runRound;
        uint16 scoreBps;
        bytes32 containerId;
    }

    struct Placement {
        address trainer;
        uint256 priority;
    }

    IStaking public immutable staking;
    ChallengeManager public immutable challenges;
    TaskRegistry public immutable tasks;
    IRandomnessBeacon public immutable beacon;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;
    /// @notice Where completed jobs' models are registered (set once; 0 until then).
    ModelRegistry public models;
    /// @notice The game that decides disputes of a run's reported accuracy (set once; 0: the
    ///         committee's median decides).
    IScoreGame public scoreGame;

    Params private _params;
    uint256 public jobCount;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 jobId => Placement[]) private _placements;
    mapping(uint256 jobId => Outcome) private _outcomes;
    /// @notice The job `trainer` runs in `round` (0: none).
    mapping(address trainer => mapping(uint256 round => uint256 jobId)) public assignmentOf;
    mapping(bytes32 challengeId => RunRecord) private _runs;

    constructor(
        ChallengeManager challenges_,
        IRewardCredit distributor_,
        ModelRegistry models_,
        address authority,
        Params memory params_
    ) AccessManaged(authority) JobFunds(IERC20(challenges_.staking().token()), distributor_) {
        challenges = challenges_;
        staking = challenges_.staking();
        tasks = TaskRegistry(address(challenges_.registry()));
        beacon = challenges_.beacon();
        genesis = challenges_.genesis();
        epochLength = challenges_.epochLength();
        models = models_;
        _setParams(params_);
    }

    // =========================================================================================
    // Owners
    // =========================================================================================

    /// @notice Posts a job: escrows `terms.budget` (pulled from the caller; the amount received is
    ///         what is escrowed), registers `spec` over `dataset` in the TaskRegistry unless it is
    ///         there already (then its judgment parameters are kept), and opens the claims for the
    ///         next round. Returns the job id.
    function postJob(
        ITaskRegistry.TrainingSpec calldata spec,
        ITaskRegistry.DatasetRef calldata dataset,
        string[] calldata sources,
        JobTerms calldata terms
    ) external nonReentrant returns (uint256 jobId) {
        if (terms.trainers == 0 || terms.trainers > MAX_TRAINERS)
            revert InvalidTerms("trainers", terms.trainers);
        if (terms.token == address(0)) revert InvalidTerms("token", 0);
        if (terms.budget == 0) revert InvalidTerms("budget", 0);
        if (terms.minAccuracyBps > BPS) revert InvalidTerms("minAccuracyBps", terms.minAccuracyBps);
        if (terms.ownerRoyaltyBps > _params.maxOwnerRoyaltyBps)
            revert InvalidTerms("ownerRoyaltyBps", terms.ownerRoyaltyBps);
        uint256 claimRound = _currentRound() + 1;
        uint256 earliest = _judgedBy(claimRound);
        if (terms.deadline < earliest) revert DeadlineTooSoon(terms.deadline, earliest);
        if (terms.deadline > block.timestamp + MAX_DURATION) revert InvalidTerms("deadline", terms.deadline);

        bytes32 specId = keccak256(abi.encode(spec, dataset));
        if (!tasks.isRegistered(specId)) {
            ITaskRegistry.SpecParams memory sp = ITaskRegistry.SpecParams({
                responseDeadline: _params.responseDeadline,
                minScoreBps: 0,
                maxScoreBps: uint16(BPS),
                auditSamples: _params.auditSamples
            });
            tasks.registerJobSpec(spec, dataset, sp, sources);
        }
        jobId = ++jobCount;
        uint256 received = _deposit(terms.token, msg.sender, terms.budget);
        Job storage j = _jobs[jobId];
        j.owner = msg.sender;
        j.trainers = terms.trainers;
        j.attempt = 1;
        j.state = JobState.Open;
        j.minAccuracyBps = terms.minAccuracyBps;
        j.ownerRoyaltyBps = terms.ownerRoyaltyBps;
        j.claimRound = uint32(claimRound);
        j.token = terms.token;
        j.deadline = terms.deadline;
        j.budget = uint128(received);
        j.specId = specId;
        emit JobPosted(
            jobId,
            msg.sender,
            specId,
            terms.token,
            received,
            terms.trainers,
            terms.deadline,
            terms.minAccuracyBps,
            terms.ownerRoyaltyBps
        );
        emit JobOpened(jobId, claimRound, 1);
    }

    /// @notice The owner takes its job back while no trainer holds it (before the first claim of
    ///         the current attempt). The budget becomes withdrawable by the owner.
    function cancel(uint256 jobId) external nonReentrant {
        Job storage j = _requireOpen(jobId);
        if (msg.sender != j.owner) revert NotJobOwner(jobId, msg.sender, j.owner);
        if (j.placed != 0) revert TrainersAssigned(jobId, j.placed);
        j.state = JobState.Cancelled;
        _release(j.token, j.owner, j.budget);
        emit JobCancelled(jobId, j.owner, j.budget);
    }

    // =========================================================================================
    // Trainers
    // =========================================================================================

    /// @notice Claims a place on job `jobId` during its claim round, for its run round. Eligible: an
    ///         active trainer with at least the minimum stake at the claim round's start and no other
    ///         job in the run round. Among the claims, the `trainers` lowest draws hold the job; a
    ///         claim that beats the worst held draw takes its place.
    function claim(uint256 jobId) external returns (uint256 priority) {
        Job storage j = _requireOpen(jobId);
        uint256 round = _currentRound();
        if (round != j.claimRound) revert NotClaimRound(jobId, round, j.claimRound);
        IStaking.OperatorState memory s = staking.operatorState(msg.sender, round);
        if (s.role != IStaking.Role.Trainer || !s.active || s.stake < s.minStake || s.stake == 0) {
            revert NotEligibleTrainer(msg.sender);
        }
        uint256 runRound = round + 1;
        uint256 held = assignmentOf[msg.sender][runRound];
        if (held == jobId) revert AlreadyClaimed(jobId, msg.sender);
        if (held != 0) revert AlreadyAssigned(msg.sender, runRound, held);
        priority = uint256(keccak256(abi.encode(beacon.seal(round), jobId, j.attempt, msg.sender))) / s.stake;

        Placement[] storage list = _placements[jobId];
        uint256 n = j.placed;
        if (n == j.trainers) {
            Placement memory worst = list[n - 1];
            if (priority >= worst.priority) revert Outranked(jobId, priority, worst.priority);
            delete assignmentOf[worst.trainer][runRound];
            emit ClaimOutranked(jobId, worst.trainer, runRound);
            --n;
        } else {
            list.push();
        }
        // Insert sorted by priority (ascending): at most MAX_TRAINERS moves.
        uint256 k = n;
        while (k > 0 && list[k - 1].priority > priority) {
            list[k] = list[k - 1];
            --k;
        }
        list[k] = Placement(msg.sender, priority);
        j.placed = uint8(n + 1);
        assignmentOf[msg.sender][runRound] = jobId;
        emit JobClaimed(jobId, msg.sender, runRound, priority);
    }

    // =========================================================================================
    // Judgment and payment
    // =========================================================================================

    /// @inheritdoc IJobBoard
    function jobSpecOf(address trainer, uint256 round) external view returns (bytes32) {
        uint256 jobId = assignmentOf[trainer][round];
        return jobId == 0 ? bytes32(0) : _jobs[jobId].specId;
    }

    /// @inheritdoc IJobBoard
    function onRunFinalized(
        bytes32 challengeId,
        address trainer,
        uint256 round,
        IChallengeManager.Status status,
        uint16 medianScoreBps
    ) external {
        if (msg.sender != address(challenges)) revert NotChallengeManager(msg.sender);
        uint256 jobId = assignmentOf[trainer][round];
        // a second report of a judged run is an overrule (the ChallengeManager allows one)
        bool overruled = _runs[challengeId].judged;
        _runs[challengeId] = RunRecord(
            jobId,
            true,
            status,
            medianScoreBps,
            overruled,
            uint64(block.timestamp)
        );
        if (overruled) emit RunOverruled(jobId, challengeId, status, _jobs[jobId].state);
        else emit RunJudged(jobId, challengeId, status, medianScoreBps);
    }

    /// @notice Moves job `jobId` on once the runs of its current attempt are judged (permissionless):
    ///         completes it with the best qualifying run and pays the budget out, or re-assigns it
    ///         for the next round's claims while the deadline allows, or refunds it. With no claim
    ///         at all, the same once the claim round is over. Reverts `RunNotJudged` while a run can
    ///         still be judged (finalize it first: `ChallengeManager.finalize` is permissionless), and
    ///         `ScoreUnderDispute` while a run that would qualify may still have its accuracy
    ///         disputed (with a score game: its window after the judgment, or a game in progress).
    function settle(uint256 jobId) external nonReentrant returns (JobState) {
        Job storage j = _requireOpen(jobId);
        uint256 runRound = uint256(j.claimRound) + 1;
        if (j.placed == 0) {
            if (_currentRound() < runRound) revert ClaimsOpen(jobId, j.claimRound);
            return _retryOrRefund(jobId, j);
        }
        Placement[] storage list = _placements[jobId];
        uint256 n = j.placed;
        bool[] memory qualifies = new bool[](n);
        uint256 q;
        uint256 best = type(uint256).max;
        uint16 bestScore;
        for (uint256 i; i < n; ++i) {
            bytes32 id = challenges.challengeId(list[i].trainer, runRound);
            (bool ok, uint16 score) = _judged(jobId, id, runRound);
            if (ok) (ok, score) = _standingScore(jobId, id, score, j.minAccuracyBps);
            if (ok && score >= j.minAccuracyBps) {
                qualifies[i] = true;
                ++q;
                if (best == type(uint256).max || score > bestScore) (best, bestScore) = (i, score);
            }
        }
        if (q == 0) return _retryOrRefund(jobId, j);
        _complete(jobId, j, list, qualifies, q, best, bestScore, runRound);
        return JobState.Completed;
    }

    /// @notice Registers the completed job's model: the winning run's final checkpoint, whose hash
    ///         `weightsHash` is proven by `proof` under the run's committed root (the leaf
    ///         `(steps / checkpointInterval, weightsHash, parameterRoot, 0)`, `parameterRoot` the root
    ///         of the checkpoint's byte tree), as `job/<jobId>` in the ModelRegistry,
    ///         its royalties split between the owner (its share) and the trainer. Anyone may call it.
    function registerModel(
        uint256 jobId,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32[] calldata proof
    ) external returns (bytes32 containerId) {
        return _registerModel(jobId, weightsHash, parameterRoot, bytes32(0), proof);
    }

    /// @notice As `registerModel`, for a winning run audited by operation sampling: its final leaf
    ///         commits the run's evaluation root `evalRoot` in its fourth word (docs/verifier.md,
    ///         "The score"), so `proof` proves the leaf `(steps / checkpointInterval, weightsHash,
    ///         parameterRoot, evalRoot)`. Anyone may call it.
    function registerModelWithEvalRoot(
        uint256 jobId,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 evalRoot,
        bytes32[] calldata proof
    ) external returns (bytes32 containerId) {
        return _registerModel(jobId, weightsHash, parameterRoot, evalRoot, proof);
    }

    function _registerModel(
        uint256 jobId,
        bytes32 weightsHash,
        bytes32 parameterRoot,
        bytes32 evalRoot,
        bytes32[] calldata proof
    ) private returns (bytes32 containerId) {
        Job storage j = _jobs[jobId];
        if (j.state != JobState.Completed) revert JobNotCompleted(jobId, j.state);
        ModelRegistry registry = models;
        if (address(registry) == address(0)) revert NoModelRegistry();
        Outcome storage out = _outcomes[jobId];
        if (out.containerId != 0) revert JobModelAlreadyRegistered(jobId, out.containerId);
        bytes32 challengeId = challenges.challengeId(out.winner, out.runRound);
        IChallengeManager.ChallengeView memory c = challenges.getChallenge(challengeId);
        ITaskRegistry.TrainingSpec memory spec = tasks.getSpec(j.specId);
        uint256 finalIndex = spec.steps / spec.checkpointInterval;
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(uint32(finalIndex), weightsHash, parameterRoot, evalRoot)))
        );
        if (!MerkleProof.verifyCalldata(proof, c.resultRoot, leaf))
            revert JobCheckpointNotProven(jobId, finalIndex, weightsHash);
        address account = royaltyAccount(jobId);
        containerId = registry.registerJobModel(
            modelName(jobId),
            out.winner,
            spec.widths,
            weightsHash,
            parameterRoot,
            challengeId,
            jobId,
            account
        );
        out.containerId = containerId;
        distributor.setRoyaltySplit(account, out.winner, j.owner, j.ownerRoyaltyBps);
        emit JobModelRegistered(jobId, containerId, weightsHash, account);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
    }

    /// @notice Wires the ModelRegistry when it was deployed after this contract. Once only.
    function setModelRegistry(ModelRegistry models_) external restricted {
        if (address(models) != address(0)) revert ModelRegistryAlreadySet(address(models));
        models = models_;
        emit ModelRegistrySet(address(models_));
    }

    /// @notice Wires the score game (once): from then on a run's accuracy is its reported one,
    ///         disputable through that game for its window after the judgment.
    function setScoreGame(IScoreGame game) external restricted {
        if (address(scoreGame) != address(0)) revert ScoreGameAlreadySet(address(scoreGame));
        scoreGame = game;
        emit ScoreGameSet(address(game));
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    function params() external view returns (Params memory) {
        return _params;
    }

    function getJob(uint256 jobId) external view returns (JobView memory v) {
        Job storage j = _jobs[jobId];
        if (j.state == JobState.None) revert UnknownJob(jobId);
        Outcome storage out = _outcomes[jobId];
        Placement[] storage list = _placements[jobId];
        v.id = jobId;
        v.owner = j.owner;
        v.state = j.state;
        v.trainers = j.trainers;
        v.attempt = j.attempt;
        v.minAccuracyBps = j.minAccuracyBps;
        v.ownerRoyaltyBps = j.ownerRoyaltyBps;
        v.claimRound = j.claimRound;
        v.runRound = j.claimRound + 1;
        v.deadline = j.deadline;
        v.token = j.token;
        v.budget = j.budget;
        v.specId = j.specId;
        v.assigned = new address[](j.placed);
        for (uint256 i; i < j.placed; ++i) v.assigned[i] = list[i].trainer;
        v.winner = out.winner;
        v.winnerRound = out.runRound;
        v.winnerScoreBps = out.scoreBps;
        v.containerId = out.containerId;
    }

    /// @notice The judgment of a job run as the ChallengeManager reported it.
    function runOf(bytes32 challengeId) external view returns (RunRecord memory) {
        return _runs[challengeId];
    }

    /// @notice `trainer`'s draw on job `jobId` in its current claim round (lower is better); reverts
    ///         while the claim round's beacon value is not fixed. Stake: at the claim round's start.
    function priorityOf(uint256 jobId, address trainer) external view returns (uint256) {
        Job storage j = _jobs[jobId];
        uint256 stake = staking.stakeAt(trainer, j.claimRound);
        if (stake == 0) return type(uint256).max;
        return
            uint256(keccak256(abi.encode(beacon.valueOf(j.claimRound), jobId, j.attempt, trainer))) / stake;
    }

    /// @notice The container id string of job `jobId`'s model: `job/<jobId>`.
    function modelName(uint256 jobId) public pure returns (string memory) {
        return string.concat("job/", Strings.toString(jobId));
    }

    /// @notice The account a job model's royalties accrue to (no key; the reward distributor
    ///         splits what it receives between the owner and the trainer).
    function royaltyAccount(uint256 jobId) public view returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("poai.job.royalty", address(this), jobId)))));
    }

    /// @notice When a run of an attempt claimed in `claimRound` can be judged at the earliest: the
    ///         end of its committee's reveal window.
    function judgedBy(uint256 claimRound) external view returns (uint256) {
        return _judgedBy(claimRound);
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    /// Whether the run `id` of job `jobId` in `runRound` is judged Valid (and its median), reverting
    /// `RunNotJudged` while its judgment is still to come.
    function _judged(
        uint256 jobId,
        bytes32 id,
        uint256 runRound
    ) private view returns (bool ok, uint16 score) {
        RunRecord storage r = _runs[id];
        if (r.judged) return (r.status == IChallengeManager.Status.Valid, r.medianScoreBps);
        IChallengeManager.ChallengeView memory c = challenges.getChallenge(id);
        if (c.status == IChallengeManager.Status.Missed) return (false, 0);
        // Nothing submitted and the round's epoch closed: nobody can submit or report it any more.
        if (c.status == IChallengeManager.Status.None && block.timestamp > challenges.epochClosesAt(runRound))
            return (false, 0);
        revert RunNotJudged(jobId, id);
    }

    /// A Valid run's accuracy: with a score game, its reported accuracy, unless a game disproved it
    /// (then it does not count); reverts `ScoreUnderDispute` while a game on it is pending or one
    /// may still be opened. Without one, the committee's median.
    function _standingScore(
        uint256 jobId,
        bytes32 id,
        uint16 median,
        uint16 floor
    ) private view returns (bool, uint16) {
        IScoreGame game = scoreGame;
        if (address(game) == address(0)) return (true, median);
        uint16 reported = challenges.getChallenge(id).reportedScoreBps;
        if (reported < floor) return (false, reported);
        (uint32 pending, bool disproven) = game.standing(id);
        if (disproven) return (false, reported);
        uint256 until = uint256(_runs[id].judgedAt) + game.openWindow();
        if (pending != 0 || block.timestamp <= until) revert ScoreUnderDispute(jobId, id, until);
        return (true, reported);
    }

    function _complete(
        uint256 jobId,
        Job storage j,
        Placement[] storage list,
        bool[] memory qualifies,
        uint256 q,
        uint256 best,
        uint16 bestScore,
        uint256 runRound
    ) private {
        uint256 budget = j.budget;
        uint256 toProtocol = (budget * _params.protocolBps) / BPS;
        uint256 toCommittee = (budget * _params.committeeBps) / BPS;
        // Agreeing committee members of every run of the attempt, one entry per agreeing verdict.
        address[] memory voters = _agreeingVoters(list, j.placed, runRound);
        if (voters.length == 0) toCommittee = 0;
        uint256 toTrainers = budget - toProtocol - toCommittee;
        uint256 perTrainer = toTrainers / q;
        uint256 perVote = voters.length == 0 ? 0 : toCommittee / voters.length;
        // Rounding dust goes to the treasury.
        toProtocol = budget - perTrainer * q - perVote * voters.length;

        address[] memory payees = new address[](q + voters.length);
        uint256[] memory amounts = new uint256[](q + voters.length);
        uint256 k;
        for (uint256 i; i < j.placed; ++i) {
            if (!qualifies[i]) continue;
            (payees[k], amounts[k]) = (list[i].trainer, perTrainer);
            emit JobPaid(jobId, list[i].trainer, perTrainer, false);
            ++k;
        }
        for (uint256 i; i < voters.length; ++i) {
            (payees[k], amounts[k]) = (voters[i], perVote);
            emit JobPaid(jobId, voters[i], perVote, true);
            ++k;
        }
        j.state = JobState.Completed;
        address winner = list[best].trainer;
        _outcomes[jobId] = Outcome(winner, uint32(runRound), bestScore, bytes32(0));
        _release(j.token, _params.treasury, toProtocol);
        _payOperators(j.token, payees, amounts);
        emit JobCompleted(
            jobId,
            winner,
            challenges.challengeId(winner, runRound),
            bestScore,
            perTrainer * q,
            perVote * voters.length,
            toProtocol
        );
    }

    /// The committee members whose revealed verdict matches the judgment of each judged run.
    function _agreeingVoters(
        Placement[] storage list,
        uint256 n,
        uint256 runRound
    ) private view returns (address[] memory voters) {
        IChallengeManager.MemberView[][] memory members = new IChallengeManager.MemberView[][](n);
        IChallengeManager.Verdict[] memory proved = new IChallengeManager.Verdict[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            bytes32 id = challenges.challengeId(list[i].trainer, runRound);
            RunRecord storage r = _runs[id];
            if (!r.judged) continue;
            if (r.status == IChallengeManager.Status.Valid) proved[i] = IChallengeManager.Verdict.Valid;
            else if (r.status == IChallengeManager.Status.Fraud)
                proved[i] = IChallengeManager.Verdict.Invalid;
            else if (r.status == IChallengeManager.Status.Withheld)
                proved[i] = IChallengeManager.Verdict.Unavailable;
            else continue;
            members[i] = challenges.getMembers(id);
            for (uint256 m; m < members[i].length; ++m)
                if (members[i][m].revealed && members[i][m].verdict == proved[i]) ++count;
        }
        voters = new address[](count);
        count = 0;
        for (uint256 i; i < n; ++i) {
            for (uint256 m; m < members[i].length; ++m)
                if (members[i][m].revealed && members[i][m].verdict == proved[i])
                    voters[count++] = members[i][m].validator;
        }
    }

    /// No run qualified: another attempt if a run claimed next round can still be judged by the
    /// deadline, else the budget goes back to the owner.
    function _retryOrRefund(uint256 jobId, Job storage j) private returns (JobState) {
        uint256 next = _currentRound() + 1;
        IScoreGame game = scoreGame;
        uint256 window = address(game) == address(0) ? 0 : game.openWindow();
        if (_judgedBy(next) + window <= j.deadline && j.attempt < type(uint8).max) {
            delete _placements[jobId];
            j.placed = 0;
            j.attempt += 1;
            j.claimRound = uint32(next);
            emit JobOpened(jobId, next, j.attempt);
            return JobState.Open;
        }
        j.state = JobState.Refunded;
        _release(j.token, j.owner, j.budget);
        emit JobRefunded(jobId, j.owner, j.budget);
        return JobState.Refunded;
    }

    function _judgedBy(uint256 claimRound) private view returns (uint256) {
        IChallengeManager.Params memory p = challenges.params();
        return genesis + (claimRound + 2) * epochLength + p.commitWindow + p.revealWindow;
    }

    function _currentRound() private view returns (uint256) {
        return (block.timestamp - genesis) / epochLength;
    }

    function _requireOpen(uint256 jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.state == JobState.None) revert UnknownJob(jobId);
        if (j.state != JobState.Open) revert JobNotOpen(jobId, j.state);
    }

    function _setParams(Params memory p) private {
        _bound("committeeBps", p.committeeBps, 0, 3_000);
        _bound("protocolBps", p.protocolBps, 0, 2_000);
        _bound("maxOwnerRoyaltyBps", p.maxOwnerRoyaltyBps, 0, BPS);
        _bound("auditSamples", p.auditSamples, 1, tasks.MAX_AUDIT_SAMPLES());
        _bound("responseDeadline", p.responseDeadline, 1, tasks.MAX_DEADLINE());
        if (p.treasury == address(0)) revert InvalidParameter("treasury", 0, 1, type(uint160).max);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
