// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IChallengeManager} from "./IChallengeManager.sol";

/// @title IJobRegistry
/// @notice Paid training jobs: types, events and errors of the JobRegistry.
interface IJobRegistry {
    /// @notice Life of a job. `Open` moves on; every later state is final.
    enum JobState {
        None,
        Open, // escrowed; trainers claim it, then run it, then it is settled
        Completed, // a run met the accuracy floor: the budget was paid out
        Refunded, // no run met the floor by the deadline: the budget went back to the owner
        Cancelled // the owner took it back before any trainer was assigned
    }

    /// @notice What an owner asks for when posting a job (the spec and dataset come beside it).
    struct JobTerms {
        uint8 trainers; // independent trainers, 1..MAX_TRAINERS
        address token; // the budget's ERC-20 (the staking token, or any other)
        uint128 budget; // escrowed at posting
        uint64 deadline; // unix time by which a run must be judged, or the budget is refunded
        uint16 minAccuracyBps; // held-out accuracy a run must reach (reported, undisproven by a score game)
        uint16 ownerRoyaltyBps; // the owner's share of the model's royalties, <= maxOwnerRoyaltyBps
    }

    /// @notice Governance parameters, each with hard bounds (see `JobRegistry.setParams`).
    struct Params {
        uint16 committeeBps; // share of a completed job's budget for the committees that judged its runs
        uint16 protocolBps; // share for the treasury
        uint16 maxOwnerRoyaltyBps; // most an owner may keep of its model's royalties
        uint16 auditSamples; // segments each committee member replays, for a spec first registered by a job
        uint32 responseDeadline; // seconds after the run round's start, for a spec first registered by a job
        address treasury; // receives the protocol's share
    }

    struct JobView {
        uint256 id;
        address owner;
        JobState state;
        uint8 trainers;
        uint8 attempt; // 1 for the first assignment, +1 at each re-assignment
        uint16 minAccuracyBps;
        uint16 ownerRoyaltyBps;
        uint32 claimRound; // the round in which trainers claim the current attempt
        uint32 runRound; // the round in which the assigned trainers run it (claimRound + 1)
        uint64 deadline;
        address token;
        uint128 budget;
        bytes32 specId;
        address[] assigned; // the current attempt's trainers, best draw first
        address winner; // the trainer whose run completed the job (0 until then)
        uint32 winnerRound;
        uint16 winnerScoreBps;
        bytes32 containerId; // the model's container id once registered (0 until then)
    }

    /// @notice A job run's judgment as the ChallengeManager reported it.
    struct RunRecord {
        uint256 jobId;
        bool judged;
        IChallengeManager.Status status;
        uint16 medianScoreBps;
        /// a dispute game overruled the verdict first reported (`status` is the proven one)
        bool overruled;
        /// when the ChallengeManager last reported it (a score game's window runs from here)
        uint64 judgedAt;
    }

    event JobPosted(
        uint256 indexed jobId,
        address indexed owner,
        bytes32 indexed specId,
        address token,
        uint256 budget,
        uint8 trainers,
        uint64 deadline,
        uint16 minAccuracyBps,
        uint16 ownerRoyaltyBps
    );
    /// @notice Trainers may claim attempt `attempt` of `jobId` during round `claimRound`.
    event JobOpened(uint256 indexed jobId, uint256 indexed claimRound, uint8 attempt);
    event JobClaimed(
        uint256 indexed jobId,
        address indexed trainer,
        uint256 indexed runRound,
        uint256 priority
    );
    event ClaimOutranked(uint256 indexed jobId, address indexed trainer, uint256 indexed runRound);
    event RunJudged(
        uint256 indexed jobId,
        bytes32 indexed challengeId,
        IChallengeManager.Status status,
        uint16 medianScoreBps
    );
    /// @notice A dispute game overruled the verdict of job `jobId`'s run `challengeId`: `status` is
    ///         the proven one. While the job is `Open` its settlement uses it; `state` is the job's
    ///         state at the overrule (a settled job's payments and model stay as they were).
    event RunOverruled(
        uint256 indexed jobId,
        bytes32 indexed challengeId,
        IChallengeManager.Status status,
        JobState state
    );
    event JobCompleted(
        uint256 indexed jobId,
        address indexed winner,
        bytes32 challengeId,
        uint16 scoreBps,
        uint256 toTrainers,
        uint256 toCommittee,
        uint256 toProtocol
    );
    event JobRefunded(uint256 indexed jobId, address indexed owner, uint256 amount);
    event JobCancelled(uint256 indexed jobId, address indexed owner, uint256 amount);
    event JobPaid(uint256 indexed jobId, address indexed account, uint256 amount, bool committee);
    event JobModelRegistered(
        uint256 indexed jobId,
        bytes32 indexed containerId,
        bytes32 weightsHash,
        address royaltyAccount
    );
    event ParamsUpdated(Params params);
    event ModelRegistrySet(address models);
    event ScoreGameSet(address scoreGame);

    error UnknownJob(uint256 jobId);
    error JobNotOpen(uint256 jobId, JobState state);
    error InvalidTerms(string field, uint256 value);
    error DeadlineTooSoon(uint256 deadline, uint256 earliest);
    error NotJobOwner(uint256 jobId, address caller, address owner);
    error TrainersAssigned(uint256 jobId, uint256 assigned);
    error NotClaimRound(uint256 jobId, uint256 round, uint256 claimRound);
    error NotEligibleTrainer(address account);
    error AlreadyAssigned(address trainer, uint256 runRound, uint256 jobId);
    error AlreadyClaimed(uint256 jobId, address trainer);
    error Outranked(uint256 jobId, uint256 priority, uint256 worst);
    error ClaimsOpen(uint256 jobId, uint256 claimRound);
    error RunNotJudged(uint256 jobId, bytes32 challengeId);
    error NotChallengeManager(address caller);
    error JobNotCompleted(uint256 jobId, JobState state);
    error JobModelAlreadyRegistered(uint256 jobId, bytes32 containerId);
    error ScoreGameAlreadySet(address scoreGame);
    /// A qualifying run's reported accuracy may still be disputed until `until` (or a game on it
    /// is in progress): settle after that.
    error ScoreUnderDispute(uint256 jobId, bytes32 challengeId, uint256 until);
    error JobCheckpointNotProven(uint256 jobId, uint256 index, bytes32 weightsHash);
    error NoModelRegistry();
    error ModelRegistryAlreadySet(address models);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
}
