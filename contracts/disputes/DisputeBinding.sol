// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
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
    function overrule(bytes32 id) external returns (address trainer, uint256 owed, uint256 auditRound);
}

/// What the library reads of the game it runs in (its immutables), to keep the game's calls short.
interface IGameConfig {
    function token() external view returns (IERC20);
    function staking() external view returns (IStaking);
    function challenges() external view returns (IBoundChallenges);
    function slashFraction() external view returns (uint256);
    function bond() external view returns (uint256);
    function disputeWindow() external view returns (uint256);
}

/// @title DisputeBinding
/// @notice What binds a DisputeGame to a challenge (a linked library: its code is not the game's):
///         the claim of a segment of a committed run, read from the ChallengeManager and the
///         TaskRegistry and proven against the run's checkpoint tree, and the committee members a
///         game won against the trainer overrules (their slashes run in the game's context: the
///         library is called with DELEGATECALL, so Staking sees the game as the slash source).
library DisputeBinding {
    using SafeERC20 for IERC20;

    /// Bits of a challenge's settlement: its trainer was slashed by a bound game; its committee
    /// was overruled (by a game decided by a re-executed operation). Each happens at most once.
    uint256 internal constant TRAINER_SLASHED = 1;
    uint256 internal constant OVERRULED = 2;
    uint256 private constant SLASH_GAS = 400_000;
    /// Gas the ChallengeManager's `overrule` may need (a committee of MAX_COMMITTEE members).
    uint256 private constant OVERRULE_GAS = 1_000_000;
    uint256 private constant WAD = 1e18;
    uint256 private constant MAX_WIDTH = 65_536;
    uint256 private constant MAX_PARAMETERS = 1 << 26;

    /// Defence states: open (seats may be taken until `seatEnd`), failed (an accuser won its
    /// seat), overruled (settled for the trainer).
    uint8 internal constant DEFENCE_OPEN = 1;
    uint8 internal constant DEFENCE_FAILED = 2;
    uint8 internal constant DEFENCE_OVERRULED = 3;

    /// @notice The defence of a run convicted as Fraud (one storage word): whoever opened it (and
    ///         posted the game's `bond`), when the accusers' seats close, its state, how many
    ///         seated games are not resolved yet, and which members took a seat (bit i: member i).
    struct Defence {
        address opener;
        uint40 seatEnd;
        uint8 state;
        uint16 pending;
        uint32 seated;
    }

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

    /// @notice A leaf of a run's checkpoint tree: the checkpoint's hash, its parameter root, the
    ///         step-state root of the segment starting there (zero where none is committed) and
    ///         the leaf's Merkle proof under the run's `resultRoot` (`leaf = keccak256(keccak256(
    ///         abi.encode(uint32(index), hash, parameterRoot, stepRoot)))`).
    struct CheckpointLeaf {
        bytes32 hash;
        bytes32 parameterRoot;
        bytes32 stepRoot;
        bytes32[] proof;
    }

    /// @notice A step's state as the trainer committed it: the step's `6 + 5L` slot roots and the
    ///         path of their state hash `keccak256(roots[0] ‖ … ‖ roots[5+5L])` in the segment's
    ///         step-state tree (siblings bottom up; `ceil(log2(steps))` of them).
    struct StepOpening {
        bytes32[] roots;
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
    error InvalidClaim(string field);
    error DefenceExists(bytes32 challengeId, uint8 state);
    error NoOpenDefence(bytes32 challengeId);
    error SeatsClosed(bytes32 challengeId, uint256 closedAt);
    error NotAnAccuser(bytes32 challengeId, address account);
    error AlreadySeated(bytes32 challengeId, address accuser);
    error DefencePending(bytes32 challengeId, uint256 seatEnd, uint256 pending);
    error StepRootUnset(bytes32 challengeId, uint256 segment);
    error StepOutOfRange(uint256 step, uint256 steps);
    error StepNotProven(uint256 step);

    event DefenderSlashed(
        uint256 indexed id,
        address indexed defender,
        uint256 fraction,
        uint256 offenceEpoch
    );
    event SlashRefused(uint256 indexed id, address indexed defender, bytes reason);
    event CommitteeOverruled(uint256 indexed id, bytes32 indexed challengeId, uint256 membersSlashed);
    event DefenceOpened(bytes32 indexed challengeId, address indexed opener, uint256 seatEnd);
    event DefenceFailed(bytes32 indexed challengeId, address indexed accuser);
    event ConvictionOverruled(
        bytes32 indexed challengeId,
        address indexed trainer,
        uint256 owed,
        uint256 repaid,
        uint256 accusersSlashed
    );

    /// @notice The claim of segment `segment` of challenge `challengeId`: the committee judged it
    ///         Valid, its points closed at most `disputeWindow` seconds ago, and `start` and `end`
    ///         are the leaves of checkpoints `segment` and `segment + 1` under its `resultRoot`.
    ///         Against a challenge convicted as Fraud whose defence is open, the caller takes its
    ///         seat instead (`seat`): it must be an accuser (`isAccuser`) without a seat yet, before
    ///         the defence's `seatEnd`; the trainer defends the segment the accuser names.
    function boundClaim(
        mapping(bytes32 => uint256) storage settled,
        mapping(bytes32 => Defence) storage defences,
        IBoundChallenges cm,
        uint256 disputeWindow,
        bytes32 challengeId,
        uint32 segment,
        CheckpointLeaf calldata start,
        CheckpointLeaf calldata end
    ) external returns (BoundClaim memory claim) {
        if (settled[challengeId] & OVERRULED != 0) revert AlreadyOverruled(challengeId);
        IChallengeManager.ChallengeView memory c = cm.getChallenge(challengeId);
        if (c.status == IChallengeManager.Status.Fraud) {
            _seat(defences[challengeId], cm, challengeId);
        } else {
            if (c.status != IChallengeManager.Status.Valid)
                revert NotDisputable(challengeId, uint8(c.status));
            uint256 closes = cm.epochClosesAt(c.auditRound) + disputeWindow;
            if (block.timestamp > closes) revert DisputeWindowClosed(challengeId, closes);
        }
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

    /// @notice Checks the opening of a game at step `step` (0-based) of a segment of `steps` steps
    ///         whose start leaf commits the step-state root `stepRoot` (refused when zero:
    ///         `StepRootUnset`): `state` must be that step's committed state (`StepNotProven`), and
    ///         `next`, when given (its roots not empty), the next step's. Returns the fraud the
    ///         commitment proves at once ("" when none, and the game goes on at the step's slots):
    ///         "state" when the committed state is not a state of the spec (a wrong number of slot
    ///         roots, or a nonzero root of an absent slot), "link" when a link between steps is
    ///         broken: step 0's Θ_in is not the start leaf's parameter root, the last step's Θ_out
    ///         not the end leaf's, or this step's Θ_out not the next step's Θ_in.
    function checkStepOpening(
        StepRules.Spec memory s,
        uint256 steps,
        bytes32 challengeId,
        uint256 segment,
        CheckpointLeaf calldata start,
        CheckpointLeaf calldata end,
        uint256 step,
        StepOpening calldata state,
        StepOpening calldata next
    ) external pure returns (string memory fraud) {
        bytes32 stepRoot = start.stepRoot;
        if (stepRoot == bytes32(0)) revert StepRootUnset(challengeId, segment);
        if (step >= steps) revert StepOutOfRange(step, steps);
        uint256 depth;
        while ((uint256(1) << depth) < steps) ++depth;
        if (!_stepProven(stepRoot, state, step, depth)) revert StepNotProven(step);
        bytes32[] calldata roots = state.roots;
        uint256 count = StepRules.slotCount(s);
        if (roots.length != count) return "state";
        if (s.version != 1 && roots[2] != bytes32(0)) return "state";
        if (s.widths.length > 2) {
            // WT_0 and E_0 are absent
            uint256 base = StepRules.backwardBase(s.widths.length - 1, 0);
            if (roots[base + 2] != bytes32(0) || roots[base + 3] != bytes32(0)) return "state";
        }
        if (step == 0 && roots[0] != start.parameterRoot) return "link";
        if (step + 1 == steps) {
            if (roots[count - 1] != end.parameterRoot) return "link";
        } else if (next.roots.length != 0) {
            if (!_stepProven(stepRoot, next, step + 1, depth)) revert StepNotProven(step + 1);
            if (next.roots[0] != roots[count - 1]) return "link";
        }
        return "";
    }

    function _stepProven(
        bytes32 root,
        StepOpening calldata o,
        uint256 index,
        uint256 depth
    ) private pure returns (bool) {
        if (o.proof.length != depth) return false;
        bytes32 node = keccak256(abi.encodePacked(o.roots));
        for (uint256 k; k < depth; ++k)
            node =
                (index >> k) & 1 == 1
                    ? keccak256(abi.encodePacked(o.proof[k], node))
                    : keccak256(abi.encodePacked(node, o.proof[k]));
        return node == root;
    }

    /// @notice The game's slash window: `gameWindow` (an epoch and its longest game), plus, when it
    ///         binds games to challenges, the ChallengeManager's window and twice `disputeWindow`
    ///         (a defence's seats stay open `disputeWindow` after it opened, itself at most
    ///         `disputeWindow` after the points close).
    function slashWindow(uint256 gameWindow) external view returns (uint256) {
        IGameConfig game = IGameConfig(address(this));
        IBoundChallenges cm = game.challenges();
        if (address(cm) == address(0)) return gameWindow;
        return gameWindow + cm.slashWindow() + 2 * game.disputeWindow();
    }

    /// @notice Refuses a claim no game can decide (`InvalidClaim(field)`): 2 to 17 widths, each
    ///         1 to 65,536, at most 2^26 parameters, a batch of 1 to 65,536, engine version 1 or
    ///         2, at least one step, and a defender other than the caller.
    function checkClaim(StepRules.Spec memory s, uint32 steps, address defender) external view {
        uint256 n = s.widths.length;
        if (n < 2 || n > 17) revert InvalidClaim("widths");
        for (uint256 i; i < n; ++i)
            if (s.widths[i] == 0 || s.widths[i] > MAX_WIDTH) revert InvalidClaim("widths");
        if (StepRules.parameterCount(s.widths) > MAX_PARAMETERS) revert InvalidClaim("widths");
        if (s.batchSize == 0 || s.batchSize > MAX_WIDTH) revert InvalidClaim("batchSize");
        if (s.version != 1 && s.version != 2) revert InvalidClaim("version");
        if (steps == 0) revert InvalidClaim("steps");
        if (defender == address(0) || defender == msg.sender) revert InvalidClaim("defender");
    }

    /// The caller takes its seat in the open defence `d` of `challengeId`.
    function _seat(Defence storage d, IBoundChallenges cm, bytes32 challengeId) private {
        if (d.state != DEFENCE_OPEN) revert NoOpenDefence(challengeId);
        if (block.timestamp > d.seatEnd) revert SeatsClosed(challengeId, d.seatEnd);
        IChallengeManager.MemberView[] memory members = cm.getMembers(challengeId);
        uint256 n = members.length;
        uint256 i;
        while (i < n && !(members[i].validator == msg.sender && isAccuser(members[i]))) ++i;
        if (i == n) revert NotAnAccuser(challengeId, msg.sender);
        if (d.seated & (1 << i) != 0) revert AlreadySeated(challengeId, msg.sender);
        d.seated |= uint32(1 << i);
        ++d.pending;
    }

    /// @notice Whether a member stands on the accusation's side (ChallengeManager's judgment):
    ///         its second-phase vote is Invalid or Unavailable, or it revealed Invalid and did not
    ///         vote again.
    function isAccuser(IChallengeManager.MemberView memory m) public pure returns (bool) {
        IChallengeManager.Verdict r = m.replayVerdict;
        return
            m.revealed &&
            (r == IChallengeManager.Verdict.Invalid ||
                r == IChallengeManager.Verdict.Unavailable ||
                (r == IChallengeManager.Verdict.None && m.verdict == IChallengeManager.Verdict.Invalid));
    }

    /// @notice Opens the defence of challenge `challengeId`, which the committee convicted as
    ///         Fraud, within `disputeWindow` after its points close; the caller (the trainer or
    ///         anyone on its behalf) posts `bond`. Every accuser may take a seat (`openBound`)
    ///         until `disputeWindow` seconds from now. Once per challenge. The conviction's holds
    ///         are locked in Staking (`lockHolds`) until the defence fails or settles.
    function openDefence(
        mapping(bytes32 => uint256) storage settled,
        mapping(bytes32 => Defence) storage defences,
        bytes32 challengeId
    ) external {
        IGameConfig game = IGameConfig(address(this));
        IBoundChallenges cm = game.challenges();
        uint256 disputeWindow = game.disputeWindow();
        uint256 bond = game.bond();
        if (settled[challengeId] & OVERRULED != 0) revert AlreadyOverruled(challengeId);
        Defence storage d = defences[challengeId];
        if (d.state != 0) revert DefenceExists(challengeId, d.state);
        IChallengeManager.ChallengeView memory c = cm.getChallenge(challengeId);
        if (c.status != IChallengeManager.Status.Fraud) revert NotDisputable(challengeId, uint8(c.status));
        uint256 closes = cm.epochClosesAt(c.auditRound) + disputeWindow;
        if (block.timestamp > closes) revert DisputeWindowClosed(challengeId, closes);
        d.opener = msg.sender;
        d.seatEnd = uint40(block.timestamp + disputeWindow);
        d.state = DEFENCE_OPEN;
        emit DefenceOpened(challengeId, msg.sender, d.seatEnd);
        // the conviction's holds stay in Staking until the defence ends, so a settlement finds them whole
        game.staking().lockHolds(address(cm), challengeId);
        game.token().safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice A seated game of challenge `challengeId` resolved (false: the game is not a seat).
    ///         An accuser that won fails the defence for good and takes the opener's bond.
    function seatResolved(
        mapping(bytes32 => Defence) storage defences,
        bytes32 challengeId,
        bool accuserWins,
        address accuser
    ) external returns (bool) {
        Defence storage d = defences[challengeId];
        if (d.state == 0) return false;
        --d.pending;
        if (accuserWins && d.state == DEFENCE_OPEN) {
            d.state = DEFENCE_FAILED;
            emit DefenceFailed(challengeId, accuser);
            IGameConfig game = IGameConfig(address(this));
            // the conviction stands: its holds may be released once due
            game.staking().unlockHolds(address(game.challenges()), challengeId);
            game.token().safeTransfer(accuser, game.bond());
        }
        return true;
    }

    /// @notice Settles an open defence once its seats closed and every seated game resolved with
    ///         the trainer winning: the ChallengeManager overrules the conviction (`overrule`:
    ///         status Valid, the points follow); the slashes the conviction holds in Staking go
    ///         back whole (`returnHeld`: the trainer's fraud slash, each Valid voter's verdict
    ///         slash); every accuser is slashed (offence epoch: the audit round) by
    ///         `max(s.fraction, left / their stake)` within Staking's cap, where `left` is what the
    ///         holds could not return of `owed` (the tokens the fraud slash took; 0: the opening
    ///         locked the holds), and what the slashes take repays the trainer's pool up to
    ///         `left` (the rest is burned); the trainer's jail is lifted and the opener's bond
    ///         returned. A slash, return or pardon Staking refuses never blocks the settlement.
    function settleDefence(
        mapping(bytes32 => uint256) storage settled,
        mapping(bytes32 => Defence) storage defences,
        bytes32 challengeId
    ) external {
        IGameConfig game = IGameConfig(address(this));
        Settlement memory s;
        (s.staking, s.challenges, s.fraction, s.challengeId) = (
            game.staking(),
            game.challenges(),
            game.slashFraction(),
            challengeId
        );
        Defence storage d = defences[challengeId];
        if (d.state != DEFENCE_OPEN) revert NoOpenDefence(s.challengeId);
        if (block.timestamp <= d.seatEnd || d.pending != 0)
            revert DefencePending(s.challengeId, d.seatEnd, d.pending);
        d.state = DEFENCE_OVERRULED;
        settled[s.challengeId] |= OVERRULED;
        (address trainer, uint256 owed, uint256 auditRound) = s.challenges.overrule(s.challengeId);
        IChallengeManager.MemberView[] memory members = s.challenges.getMembers(s.challengeId);
        // the slashes the conviction holds in Staking go back whole: the trainer's fraud slash and
        // the verdict slash of each member that voted Valid
        uint256 repaid = _returnHeld(s, trainer);
        for (uint256 i; i < members.length; ++i)
            if (!isAccuser(members[i])) _returnHeld(s, members[i].validator);
        s.staking.unlockHolds(address(s.challenges), s.challengeId);
        // what a hold could not return (released after its window) the accusers' slashes repay
        uint256 left = repaid < owed ? owed - repaid : 0;
        uint256 epoch = s.staking.currentEpoch();
        uint256 stake;
        for (uint256 i; i < members.length; ++i)
            if (isAccuser(members[i])) stake += s.staking.stakeAt(members[i].validator, epoch);
        uint256 fraction = s.fraction;
        if (stake != 0 && (left * WAD) / stake + 1 > fraction) fraction = (left * WAD) / stake + 1;
        uint256 cap = s.staking.params().maxSlashFraction;
        if (fraction > cap) fraction = cap;
        owed = repaid + left;
        uint256 slashed;
        for (uint256 i; i < members.length; ++i) {
            if (!isAccuser(members[i])) continue;
            if (gasleft() < SLASH_GAS) revert InsufficientGas(gasleft(), SLASH_GAS);
            try
                s.staking.slashTo(members[i].validator, fraction, auditRound, trainer, owed - repaid)
            returns (uint256 paid) {
                repaid += paid;
                ++slashed;
            } catch {}
        }
        try s.staking.pardon(trainer) {} catch {}
        emit ConvictionOverruled(s.challengeId, trainer, owed, repaid, slashed);
        game.token().safeTransfer(d.opener, game.bond());
    }

    /// @notice Settles a game the challenger won. An unbound game slashes its defender (offence
    ///         epoch: the game's opening epoch). A bound game settles its challenge once: slashes the trainer
    ///         (offence epoch: the challenge's round; the challenger is the reporter) unless a bound
    ///         game already did; when the game was decided by a re-executed operation, overrules
    ///         the committee: every member whose standing vote was Valid is slashed (offence epoch:
    ///         the audit round). A slash Staking refuses never blocks the game's resolution.
    function settle(
        mapping(bytes32 => uint256) storage settled,
        bytes32 challengeId,
        uint256 id,
        address trainer,
        address challenger,
        uint256 round,
        bool proven
    ) external {
        IGameConfig game = IGameConfig(address(this));
        Settlement memory s = Settlement(
            game.staking(),
            game.challenges(),
            game.slashFraction(),
            challengeId,
            id,
            trainer,
            challenger,
            round,
            proven
        );
        uint256 done = settled[s.challengeId];
        address[] memory reporters = new address[](1);
        reporters[0] = s.challenger;
        // an unbound game (no challenge) slashes its defender each time
        bool bound = s.challengeId != bytes32(0);
        if (!bound || done & TRAINER_SLASHED == 0) {
            done |= TRAINER_SLASHED;
            if (_slash(s, s.trainer, reporters, s.round))
                emit DefenderSlashed(s.id, s.trainer, s.fraction, s.round);
            else emit SlashRefused(s.id, s.trainer, "");
        }
        if (bound && s.proven && done & OVERRULED == 0) {
            done |= OVERRULED;
            // the verdict's points follow the proven result (a missing role never blocks the game)
            if (gasleft() < OVERRULE_GAS) revert InsufficientGas(gasleft(), OVERRULE_GAS);
            try s.challenges.overrule(s.challengeId) {} catch {}
            (address[] memory voters, uint256 auditRound) = validVoters(s.challenges, s.challengeId);
            uint256 slashed;
            for (uint256 i; i < voters.length; ++i)
                if (_slash(s, voters[i], reporters, auditRound)) ++slashed;
            emit CommitteeOverruled(s.id, s.challengeId, slashed);
        }
        if (bound) settled[s.challengeId] = done;
    }

    /// Returns the slash the ChallengeManager holds in Staking for `operator` under the challenge
    /// (0 when none is held; a refusal never blocks the settlement).
    function _returnHeld(Settlement memory s, address operator) private returns (uint256) {
        if (gasleft() < SLASH_GAS) revert InsufficientGas(gasleft(), SLASH_GAS);
        try s.staking.returnHeld(address(s.challenges), s.challengeId, operator) returns (uint256 amount) {
            return amount;
        } catch {
            return 0;
        }
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
            bytes.concat(
                keccak256(
                    abi.encode(uint32(index), checkpoint.hash, checkpoint.parameterRoot, checkpoint.stepRoot)
                )
            )
        );
        if (!MerkleProof.verifyCalldata(checkpoint.proof, root, leaf))
            revert CheckpointNotProven(challengeId, index);
    }
}
