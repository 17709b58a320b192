// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IFederatedJobs
/// @notice Types, events and errors of the federated job contract (see `FederatedJobs`).
interface IFederatedJobs {
    enum FedState {
        None,
        Open,
        Completed,
        Cancelled
    }

    /// @notice What an owner posts. `specHash` names the model and its local-training
    ///         hyperparameters (the engine spec, published in `FederatedJobPosted`'s transaction),
    ///         `initialModel` the hash of the round-0 global model, `evalRoot` the Merkle root of the
    ///         held-out set the committee scores on (0: the validators' own private sets).
    struct FedTerms {
        bytes32 specHash;
        bytes32 initialModel;
        bytes32 evalRoot;
        address token;
        uint128 budget;
        uint64 startAt;
        uint32 phase;
        uint8 rounds;
        uint8 committeeSize;
        uint16 bandBps;
        uint16 committeeBps;
        uint8 maxStrikes;
    }

    /// @notice A participant: a staked operator holding a private shard committed by its root.
    struct Participant {
        address operator;
        bytes32 shardRoot;
        uint32 samples;
    }

    struct ParticipantView {
        address operator;
        bytes32 shardRoot;
        uint32 samples;
        uint8 strikes;
        bool slashed;
        uint256 earned;
    }

    struct FedJobView {
        uint256 id;
        address owner;
        FedState state;
        FedTerms terms;
        uint256 remaining;
        uint8 round;
        uint64 roundStart;
        bytes32 globalModel;
        uint16 globalScoreBps;
        ParticipantView[] participants;
    }

    struct UpdateView {
        bytes32 updateHash;
        bool committed;
        bool revealed;
        bool included;
        uint16 scoreBps;
        uint256 reward;
    }

    struct MemberView {
        address validator;
        uint256 stake;
        bool revealed;
        bool agreed;
        bytes32 baseModel;
        uint16 baseScoreBps;
        uint16[] scoresBps;
    }

    struct RoundView {
        uint64 start;
        bytes32 seed;
        bool finalized;
        bool agreed;
        bytes32 baseModel;
        uint16 baseScoreBps;
        uint16 referenceScoreBps;
        UpdateView[] updates;
        MemberView[] members;
    }

    event FederatedJobPosted(
        uint256 indexed jobId,
        address indexed owner,
        bytes32 specHash,
        bytes spec,
        FedTerms terms,
        Participant[] participants,
        uint256 received
    );
    event FederatedJobCancelled(uint256 indexed jobId, uint256 refunded);
    event UpdateCommitted(uint256 indexed jobId, uint256 indexed round, address indexed participant);
    event UpdateRevealed(
        uint256 indexed jobId,
        uint256 indexed round,
        address indexed participant,
        bytes32 updateHash
    );
    event ScoresCommitted(uint256 indexed jobId, uint256 indexed round, address indexed validator);
    event ScoresRevealed(
        uint256 indexed jobId,
        uint256 indexed round,
        address indexed validator,
        bytes32 baseModel,
        uint16 baseScoreBps,
        uint16[] scoresBps
    );
    /// @notice One update's outcome in a finalized round.
    event UpdateJudged(
        uint256 indexed jobId,
        uint256 indexed round,
        address indexed participant,
        uint16 scoreBps,
        bool included,
        uint256 reward
    );
    /// @notice `agreed`: the committee agreed on `baseModel` (the global model the round started from);
    ///         otherwise the round is void (nothing included, nothing paid).
    event RoundFinalized(
        uint256 indexed jobId,
        uint256 indexed round,
        bool agreed,
        bytes32 baseModel,
        uint16 baseScoreBps,
        uint16 referenceScoreBps,
        uint256 includedMask,
        uint256 paid
    );
    event Deviated(uint256 indexed jobId, address indexed participant, uint256 round, uint8 strikes);
    event DeviantSlashed(uint256 indexed jobId, address indexed participant, uint256 fraction, bool done);
    event FederatedJobCompleted(
        uint256 indexed jobId,
        bytes32 finalModel,
        uint16 finalScoreBps,
        uint256 refunded
    );
    event FedParamsUpdated(uint256 slashFraction);

    error UnknownFederatedJob(uint256 jobId);
    error FederatedJobNotOpen(uint256 jobId, FedState state);
    error InvalidFedTerms(string field, uint256 value);
    error InvalidParticipant(uint256 index, address operator);
    error NotJobOwner(uint256 jobId, address caller, address owner);
    error JobStarted(uint256 jobId, uint256 startAt);
    error NotParticipant(uint256 jobId, address account);
    error NotEligibleOperator(address account, uint256 epoch);
    error WrongPhase(uint256 jobId, uint256 round, uint8 phase, uint256 opensAt, uint256 closesAt);
    error AlreadyCommitted(uint256 jobId, uint256 round, address account);
    error NoCommitment(uint256 jobId, uint256 round, address account);
    error AlreadyRevealed(uint256 jobId, uint256 round, address account);
    error CommitmentMismatch(uint256 jobId, uint256 round, address account);
    error NotSelected(uint256 jobId, uint256 round, address validator);
    error CommitteeFull(uint256 jobId, uint256 round, uint256 size);
    error ScoreCount(uint256 expected, uint256 got);
    error ScoreOutOfRange(uint256 index, uint256 scoreBps);
    error RoundOpen(uint256 jobId, uint256 round, uint256 closesAt);
    error InvalidParameter(string name, uint256 value, uint256 min, uint256 max);
}
