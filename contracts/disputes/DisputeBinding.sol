// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {DataRules} from "./DataRules.sol";
import {StepRules} from "./StepRules.sol";

/// What a bound game reads of the ChallengeManager (beyond IChallengeManager).
interface IBoundChallenges is IChallengeManager {
    function registry() external view returns (ITaskRegistry);
    function slashWindow() external view returns (uint256);
    function getChallenge(bytes32 id) external view returns (ChallengeView memory);
    function getMembers(bytes32 id) external view returns (MemberView[] memory);
}

/// @title DisputeBinding
/// @notice What binds a DisputeGame to a challenge (a linked library: its code is not the game's):
///         the claim of a segment of a committed run, read from the ChallengeManager and the
///         TaskRegistry and proven against the run's checkpoint tree, and the committee members a
///         game won against the trainer overrules (their slashes run in the game's context: the
///         library is called with DELEGATECALL, so Staking sees the game as the slash source).
library DisputeBinding {
    /// Bits of a challenge's settlement: its trainer was slashed by a bound game; its committee
    /// was overruled (by a game decided by a re-executed operation). Each happens at most once.
    uint256 internal constant TRAINER_SLASHED = 1;
    uint256 internal constant OVERRULED = 2;
    uint256 private constant SLASH_GAS = 400_000;

    /// @notice What a bound game the challenger won settles.
    struct Settlement {
        IStaking staking;
        IBoundChallenges challenges;
        uint256 fraction;
        bytes32 challengeId;
        uint256 id;
        address trainer;
        address challenger;
        uint256 round;
        /// decided by a re-executed operation (a move before its deadline), not by a timeout
        bool proven;
    }

    /// @notice A leaf of a run's checkpoint tree: the checkpoint's hash, its parameter root and
    ///         the leaf's Merkle proof under the run's `resultRoot`
    ///         (`leaf = keccak256(keccak256(abi.encode(uint32(index), hash, parameterRoot)))`).
    struct CheckpointLeaf {
        bytes32 hash;
        bytes32 parameterRoot;
        bytes32[] proof;
    }

    /// @notice The claim of segment `segment` of a run, as the chain holds it.
    struct BoundClaim {
        StepRules.Spec spec;
        uint32 firstStep;
        uint32 steps;
        address trainer;
        uint32 round;
        /// The run's key (from the challenge's spec id and seed) and, for engine version 2, the
        /// spec's training examples.
        DataRules.Data data;
    }

    error NotDisputable(bytes32 challengeId, uint8 status);
    error DisputeWindowClosed(bytes32 challengeId, uint256 closedAt);
    error CheckpointNotProven(bytes32 challengeId, uint256 index);
    error SegmentOutOfRange(uint256 segment, uint256 segments);
    error AlreadyOverruled(bytes32 challengeId);
    error InsufficientGas(uint256 left, uint256 needed);

    event DefenderSlashed(
        uint256 indexed id,
        address indexed defender,
        uint256 fraction,
        uint256 offenceEpoch
    );
    event SlashRefused(uint256 indexed id, address indexed defender, bytes reason);
    event CommitteeOverruled(uint256 indexed id, bytes32 indexed challengeId, uint256 membersSlashed);

    /// @notice The claim of segment `segment` of challenge `challengeId`: the committee judged it
    ///         Valid, its points closed at most `disputeWindow` seconds ago, and `start` and `end`
    ///         are the leaves of checkpoints `segment` and `segment + 1` under its `resultRoot`.
    function boundClaim(
        mapping(bytes32 => uint256) storage settled,
        IBoundChallenges cm,
        uint256 disputeWindow,
        bytes32 challengeId,
        uint32 segment,
        CheckpointLeaf calldata start,
        CheckpointLeaf calldata end
    ) external view returns (BoundClaim memory claim) {
        if (settled[challengeId] & OVERRULED != 0) revert AlreadyOverruled(challengeId);
        IChallengeManager.ChallengeView memory c = cm.getChallenge(challengeId);
        if (c.status != IChallengeManager.Status.Valid) revert NotDisputable(challengeId, uint8(c.status));
        uint256 closes = cm.epochClosesAt(c.auditRound) + disputeWindow;
        if (block.timestamp > closes) revert DisputeWindowClosed(challengeId, closes);
        ITaskRegistry.TrainingSpec memory t = cm.registry().getSpec(c.specId);
        uint256 segments = t.steps / t.checkpointInterval;
        if (segment >= segments) revert SegmentOutOfRange(segment, segments);
        _prove(challengeId, c.resultRoot, segment, start);
        _prove(challengeId, c.resultRoot, uint256(segment) + 1, end);
        claim.spec = StepRules.Spec(t.widths, t.batchSize, t.lrShift, uint8(t.version));
        claim.firstStep = segment * t.checkpointInterval;
        claim.steps = t.checkpointInterval;
        claim.trainer = c.trainer;
        claim.round = c.round;
        claim.data.key = DataRules.deriveKey(c.specId, c.seed);
        if (t.version == 2) {
            ITaskRegistry.DatasetRef memory d = cm.registry().getDataset(c.specId);
            (claim.data.root, claim.data.count) = (d.trainRoot, d.trainCount);
        }
    }

    /// @notice Settles a bound game the challenger won, once per challenge: slashes the trainer
    ///         (offence epoch: the challenge's round; the challenger is the reporter) unless a bound
    ///         game already did; when the game was decided by a re-executed operation, overrules
    ///         the committee: every member whose standing vote was Valid is slashed (offence epoch:
    ///         the audit round). A slash Staking refuses never blocks the game's resolution.
    function settle(mapping(bytes32 => uint256) storage settled, Settlement memory s) external {
        uint256 done = settled[s.challengeId];
        address[] memory reporters = new address[](1);
        reporters[0] = s.challenger;
        if (done & TRAINER_SLASHED == 0) {
            done |= TRAINER_SLASHED;
            if (_slash(s, s.trainer, reporters, s.round))
                emit DefenderSlashed(s.id, s.trainer, s.fraction, s.round);
            else emit SlashRefused(s.id, s.trainer, "");
        }
        if (s.proven && done & OVERRULED == 0) {
            done |= OVERRULED;
            (address[] memory voters, uint256 auditRound) = validVoters(s.challenges, s.challengeId);
            uint256 slashed;
            for (uint256 i; i < voters.length; ++i)
                if (_slash(s, voters[i], reporters, auditRound)) ++slashed;
            emit CommitteeOverruled(s.id, s.challengeId, slashed);
        }
        settled[s.challengeId] = done;
    }

    function _slash(
        Settlement memory s,
        address operator,
        address[] memory reporters,
        uint256 epoch
    ) private returns (bool) {
        // enough gas that a refusal is Staking's, not a caller starving the call
        if (gasleft() < SLASH_GAS) revert InsufficientGas(gasleft(), SLASH_GAS);
        try s.staking.slash(operator, s.fraction, reporters, false, epoch) {
            return true;
        } catch {
            return false;
        }
    }

    /// @notice The members of challenge `challengeId`'s committee whose standing vote (the
    ///         second-phase vote, else the reveal) is Valid, and the challenge's audit round.
    function validVoters(
        IBoundChallenges cm,
        bytes32 challengeId
    ) public view returns (address[] memory voters, uint256 auditRound) {
        IChallengeManager.MemberView[] memory members = cm.getMembers(challengeId);
        voters = new address[](members.length);
        uint256 n;
        for (uint256 i; i < members.length; ++i) {
            IChallengeManager.MemberView memory m = members[i];
            IChallengeManager.Verdict v =
                m.replayVerdict != IChallengeManager.Verdict.None ? m.replayVerdict : m.verdict;
            if (m.revealed && v == IChallengeManager.Verdict.Valid) voters[n++] = m.validator;
        }
        assembly ("memory-safe") {
            mstore(voters, n)
        }
        auditRound = cm.getChallenge(challengeId).auditRound;
    }

    function _prove(
        bytes32 challengeId,
        bytes32 root,
        uint256 index,
        CheckpointLeaf calldata checkpoint
    ) private pure {
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(uint32(index), checkpoint.hash, checkpoint.parameterRoot)))
        );
        if (!MerkleProof.verifyCalldata(checkpoint.proof, root, leaf))
            revert CheckpointNotProven(challengeId, index);
    }
}
