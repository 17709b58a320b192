// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IFederatedJobs
/// @notice Federated training jobs (FLock FL Alliance style): types, events and errors.
interface IFederatedJobs {
    enum FedState {
        None,
        Enrolling, // waiting for every named participant to join with its shard commitment
        Running, // rounds in progress
        Completed, // every round aggregated: the last global model is the job's model
        Cancelled, // never started: the budget went back to the owner
        Failed // a round's aggregate found no quorum in time: the rest went back to the owner
    }

    /// @notice Phases of a round, by time from its start (see `roundPhase`).
    enum Phase {
        Update, // participants train locally and commit their update's hash
        Reveal, // participants reveal the hash (and serve the update's bytes)
        ScoreCommit, // committee members commit their scores of every update
        ScoreReveal, // and reveal them
        Close, // anyone closes the round: scores, exclusions, rewards
        Aggregate // committee members vote the aggregate's hash
    }

    struct FedTerms {
        address token; // the budget's ERC-20
        uint128 budgetPerRound; // paid out each round (escrowed for every round at posting)
        uint8 rounds; // 1..MAX_ROUNDS
        uint16 bandBps; // an update scoring more than this below the participants' median is excluded
        uint32 updateWindow; // seconds to train and commit
        uint32 revealWindow; // seconds to reveal
        uint32 scoreWindow; // seconds for the committee's score commits, then as long for reveals
        uint32 aggregateWindow; // seconds for the aggregate vote after a round is closed
        uint64 joinDeadline; // the job is cancellable by anyone if not every participant joined by then
        bytes32 initialModelHash; // keccak256 of the initial model's checkpoint encoding (step 0)
    }

    /// @notice Governance parameters, each with hard bounds (see `FederatedJobs.setParams`).
    struct Params {
        uint16 committeeSize; // expected committee size per round (stake-weighted sortition)
        uint16 quorumBps; // share of the revealed committee weight an aggregate hash needs
        uint16 validatorBps; // share of a round's reward for the committee members that agree
        uint16 protocolBps; // share for the treasury
        uint16 scoreToleranceBps; // how far from the median a member's score still agrees
        uint8 maxExclusions; // exclusions in a row that get a participant slashed
        uint64 exclusionSlash; // fraction (1e18 = 100%) slashed then, capped by Staking
        address treasury;
    }

    struct FedJobView {
        uint256 id;
        address owner;
        FedState state;
        uint8 participants;
        uint8 joined;
        uint8 rounds;
        uint8 round; // the current round (0-based)
        bool closed; // the current round is closed and waits for its aggregate
        uint16 bandBps;
        address token;
        uint128 budgetPerRound;
        uint128 remaining; // escrow not paid out yet (refunded at the end)
        uint128 carry; // part of `remaining` carried into the next round's reward
        uint64 roundStart;
        uint64 aggregateDeadline;
        uint32 updateWindow;
        uint32 revealWindow;
        uint32 scoreWindow;
        uint32 aggregateWindow;
        uint64 joinDeadline;
        bytes32 specId;
        bytes32 globalHash; // the current global model (the initial one before round 0 aggregates)
    }

    struct ParticipantView {
        address account;
        bool joined;
        uint8 exclusions; // in a row
        uint32 shardCount;
        bytes32 shardRoot;
    }

    struct UpdateView {
        bytes32 commitment;
        bytes32 updateHash; // 0 until revealed
    }

    struct MemberView {
        address validator;
        uint32 weight;
        bool revealed;
        uint16[] scores; // [global model, participant 0, participant 1, ...]
    }

    event FederatedJobPosted(
        uint256 indexed jobId,
        address indexed owner,
        bytes32 indexed specId,
        address token,
        uint256 budget,
        uint8 rounds,
        address[] participants,
        bytes32 initialModelHash
    );
    event ParticipantJoined(
        uint256 indexed jobId,
        address indexed participant,
        bytes32 shardRoot,
        uint32 shardCount,
        string endpoint
    );
    event RoundStarted(uint256 indexed jobId, uint256 indexed round, bytes32 globalHash, uint256 startTime);
    event UpdateCommitted(uint256 indexed jobId, uint256 indexed round, address indexed participant);
    event UpdateRevealed(
        uint256 indexed jobId,
        uint256 indexed round,
        address indexed participant,
        bytes32 updateHash
    );
    event ScoresCommitted(uint256 indexed jobId, uint256 indexed round, address indexed validator);
    event ScoresRevealed(uint256 indexed jobId, uint256 indexed round, address indexed validator, uint16[] scores);
    /// @notice A revealed update's judgment: its score (the committee's stake-weighted median), whether
    ///         it enters the aggregate, its contribution over the global model and its reward.
    event UpdateJudged(
        uint256 indexed jobId,
        uint256 indexed round,
        address indexed participant,
        uint16 scoreBps,
        bool included,
        uint16 contributionBps,
        uint256 reward
    );
    event RoundClosed(
        uint256 indexed jobId,
        uint256 indexed round,
        uint16 globalScoreBps,
        uint16 medianScoreBps,
        uint256 included,
        uint256 paid,
        uint256 carried
    );
    event ParticipantSlashed(uint256 indexed jobId, address indexed participant, uint256 exclusions, bool done);
    event AggregateVoted(uint256 indexed jobId, uint256 indexed round, address indexed validator, bytes32 hash);
    event FederatedJobCompleted(uint256 indexed jobId, bytes32 finalModelHash, uint256 refund);
    event FederatedJobEnded(uint256 indexed jobId, FedState state, uint256 refund);
    event ParamsUpdated(Params params);

    error UnknownFederatedJob(uint256 jobId);
    error InvalidFederatedTerms(string field, uint256 value);
    error WrongState(uint256 jobId, FedState state);
    error WrongPhase(uint256 jobId, Phase phase, Phase expected);
    error NotParticipant(uint256 jobId, address account);
    error AlreadyJoined(uint256 jobId, address participant);
    error NotActiveParticipant(address account);
    error AlreadyCommitted(uint256 jobId, uint256 round, address account);
    error NotCommitted(uint256 jobId, uint256 round, address account);
    error CommitmentMismatch(uint256 jobId, uint256 round, address account);
    error NotActiveValidator(address account);
    error NotInCommittee(uint256 jobId, uint256 round, address validator);
    error CommitteeFull(uint256 jobId, uint256 round);
    error InvalidScores(uint256 length, uint256 expected);
    error NotAggregator(uint256 jobId, uint256 round, address account);
    error AlreadyVoted(uint256 jobId, uint256 round, address validator);
    error TooEarly(uint256 jobId, uint256 notBefore);
    error NotOwner(uint256 jobId, address caller);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
}
