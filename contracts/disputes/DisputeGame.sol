// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {DisputeBinding, IBoundChallenges} from "./DisputeBinding.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Bisection} from "./Bisection.sol";
import {DataRules} from "./DataRules.sol";
import {StepProver} from "./StepProver.sol";
import {StepRules} from "./StepRules.sol";

interface IEpochLength {
    function epochLength() external view returns (uint256);
}

/// @title DisputeGame
/// @notice A bisection game in which one honest party is enough: a defender claims that training
///         `steps` SGD steps of a spec from the parameters with state root `startRoot` (at step
///         `firstStep`) gives the parameters with root `endRoot`; a challenger says it does not.
///         The game narrows the disagreement, each move on a deadline, to one integer operation
///         that the chain re-executes (docs/disputes.md):
///
///         1. steps: the defender names the parameter root at the middle step of the disputed range;
///            the challenger agrees (the dispute moves right) or not (left), until one step;
///         2. the step's state: the defender posts the roots of the step's 6 + 5L slots (the first
///            and the last must be the agreed and the disputed parameter roots); the challenger
///            names the slot it disputes (every earlier slot is then the operands' ground truth);
///         3. the slot's byte tree: the defender reveals the two children of the disputed node, the
///            challenger picks one, down to a 136-byte leaf, in which it names one element;
///         4. an element rule is re-executed at once with its operands, each proven against the
///            roots of earlier slots; a fold (a dot product) is bisected over its chunk
///            accumulators, then its start, one chunk, or its finish is re-executed
///            (StepProver, a linked library). The data slots' rules read the claim's `data`: the
///            run's key (engine version 1 data is generated from it) and, for version 2, the
///            dataset's training root, against which the one example a batch row holds is proven.
///
///         The re-executed operation decides: the challenger wins if it shows the defender's value
///         wrong, the defender otherwise. A party that lets a deadline pass loses. The winner takes
///         both bonds. A defender that accepted and lost is also slashed `slashFraction` of the
///         stake its pool had in the epoch the game was opened in, through Staking (the challenger
///         is the reporter): the game is a slash source whose window covers its longest game, so
///         stake that starts unbonding during a game stays within its reach.
///
///         A game is **bound** to a challenge when opened with `openBound(challengeId, segment,
///         start, end)`: the claim is read from the chain (the spec from TaskRegistry, the start
///         and end parameter roots from the leaves of the run's committed root, the trainer as
///         defender), so the defender cannot refuse it: it posts no bond, its stake is what it
///         risks, and a bound defender that does not move loses by timeout and is slashed. A bound
///         game may be opened against a challenge the committee judged Valid, until
///         `disputeWindow` seconds after the challenge's points close. One the challenger wins
///         settles the challenge (DisputeBinding.settle, once per challenge): the trainer is
///         slashed (offence epoch: the challenge's round) and, when a re-executed operation (not
///         a timeout) decided, the committee is overruled: every member whose standing vote was
///         Valid is slashed (offence epoch: the audit round), and the verdict's points are taken
///         back (ChallengeManager.overrule).
///
///         A bound game may also open **at one step** of the segment with `openBoundAtStep`, from
///         the step states the trainer committed (the start leaf's step-state root): the step's
///         slot roots, proven under it, stand as the defender's posted state and the game starts
///         at the slot (phase PickSlot), so a validator that sampled one wrong operation plays it
///         without a replay; a committed state whose links break (step 0's Θ_in, the last step's
///         Θ_out, Θ_out of the step against Θ_in of the next) loses at the opening.
///
///         A run the committee convicted as Fraud is **defended** with `openDefence`: every
///         accuser may take a seat (`openBound` on the convicted challenge: a game on the segment
///         it names, the trainer defending) until `disputeWindow` after the opening; when the
///         trainer won every seat, `settleDefence` overrules the conviction, repays the trainer from
///         the accusers' stake and lifts its jail; one seat won by an accuser fails the defence.
///
/// Invariants (each pinned by a test in test/disputes/game.test.ts or bound.test.ts):
///  - a game resolves exactly once, and the bonds it holds go to its winner (funds are never
///    stuck: every unresolved game has a deadline after which `timeout` resolves it);
///  - a challenge is settled at most once: its trainer slashed by bound games at most once, its
///    committee overruled at most once, and never by a timeout;
///  - moves are bounded: ceil(log2(steps)) + tree depth + ceil(log2(chunks)) + a constant, at
///    most MAX_MOVES for any claim `open` accepts;
///  - a slash that Staking refuses (the defender is not an operator) never blocks the bonds;
///  - a bound game's claim is exactly the committed run's: its start and end roots are proven
///    leaves of the challenge's `resultRoot`, its spec the challenge's;
///  - a game at a step starts from the trainer's own commitment: its posted slot roots are proven
///    under the committed step-state root, and a broken link between committed steps is decided
///    at the opening (test/disputes/step-game.test.ts);
///  - against an honest defender no sequence of challenger moves wins, and against an honest
///    challenger no sequence of defender moves wins (the property test).
contract DisputeGame is ISlashWindow, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Phase {
        None,
        Accept, // defender: accept the claim and post its bond
        StepMid, // defender: root at the middle step
        StepChoose, // challenger: agree or disagree with it
        StepState, // defender: the step's slot roots
        PickSlot, // challenger: the disputed slot
        Children, // defender: the disputed node's children
        PickChild, // challenger: one of them
        Leaf, // defender: the disputed leaf's 136 bytes
        PickElement, // challenger: an element of the leaf (an element rule is decided at once)
        FoldEnds, // defender: the fold's start and end accumulators
        FoldChoose, // challenger: dispute the start, the finish, or the chunks between
        FoldMid, // defender: the accumulator at the middle chunk
        FoldPick, // challenger: agree or disagree with it
        FoldProve, // challenger: re-execute the one disputed chunk
        Resolved
    }

    struct Claim {
        StepRules.Spec spec;
        uint32 firstStep;
        uint32 steps;
        bytes32 startRoot;
        bytes32 endRoot;
        /// Where the run's batches come from (its key; version 2: the dataset's training root).
        DataRules.Data data;
    }

    struct Game {
        address challenger;
        uint64 deadline;
        Phase phase;
        address defender;
        uint32 lo;
        uint32 hi;
        address winner;
        uint32 slot;
        uint32 height;
        uint64 node;
        bytes32 loRoot;
        bytes32 hiRoot;
        bytes32 pending;
        bytes32 rootsHash;
        bytes32 nodeHash;
        bytes32 left;
        bytes32 right;
        // the disputed element: byte offset in its slot, and the defender's value
        uint256 offset;
        int256 claimed;
        uint32 cLo;
        uint32 cHi;
        int256 accLo;
        int256 accHi;
        uint256 bond;
        /// Staking epoch of the offence a slash names: the game's opening epoch, or for a bound
        /// game the challenge's round.
        uint256 epoch;
        StepRules.Spec spec;
        /// The challenge a bound game disputes (zero: an unbound game).
        bytes32 challengeId;
        DataRules.Data data;
    }

    /// @notice Most moves of any game: 2 per bisection level of steps (32), of a tree (25 for
    ///         the largest slot of a spec with MAX_PARAMETERS) and of a fold's chunks (20), plus
    ///         the single moves between them.
    uint256 public constant MAX_MOVES = 2 * (32 + 25 + 20) + 12;
    uint256 public constant MAX_WIDTH = 65_536;
    uint256 public constant MAX_PARAMETERS = 1 << 26;

    IERC20 public immutable token;
    /// @notice Staking, which slashes a defender that lost (zero: no slashing).
    IStaking public immutable staking;
    /// @notice Fraction (1e18 = 100%) of a losing defender's stake slashed.
    uint256 public immutable slashFraction;
    uint256 private immutable _epochLength;
    /// @notice Seconds each party has for each move.
    uint256 public immutable moveTimeout;
    /// @notice Bond each party posts (the challenger when opening, the defender when accepting).
    uint256 public immutable bond;
    /// @notice The ChallengeManager whose challenges bound games dispute (zero: none).
    IBoundChallenges public immutable challenges;
    /// @notice Seconds after a challenge's points close during which a bound game may be opened.
    uint256 public immutable disputeWindow;

    uint256 public gameCount;
    mapping(uint256 id => Game) private _games;
    /// What bound games settled of each challenge (DisputeBinding.TRAINER_SLASHED, OVERRULED).
    mapping(bytes32 challengeId => uint256) private _settled;
    /// @notice The defence of each challenge convicted as Fraud (DisputeBinding.Defence; state 0:
    ///         none).
    mapping(bytes32 challengeId => DisputeBinding.Defence) public defences;

    event GameOpened(uint256 indexed id, address indexed challenger, address indexed defender, Claim claim);
    event StepRootPosted(uint256 indexed id, uint32 step, bytes32 root);
    event StepChosen(uint256 indexed id, uint32 lo, uint32 hi);
    event StepStatePosted(uint256 indexed id, bytes32[] roots);
    event SlotPicked(uint256 indexed id, uint32 slot);
    event ChildrenRevealed(uint256 indexed id, bytes32 left, bytes32 right);
    event ChildPicked(uint256 indexed id, uint32 height, uint64 node);
    event LeafRevealed(uint256 indexed id, bytes leaf);
    event ElementPicked(uint256 indexed id, uint256 offset, int256 claimed);
    event FoldEndsPosted(uint256 indexed id, int256 start, int256 end);
    event FoldAccumulatorPosted(uint256 indexed id, uint32 chunk, int256 acc);
    event FoldChosen(uint256 indexed id, uint32 lo, uint32 hi);
    event GameResolved(uint256 indexed id, address indexed winner, address indexed loser, string reason);
    event DefenderSlashed(
        uint256 indexed id,
        address indexed defender,
        uint256 fraction,
        uint256 offenceEpoch
    );
    event SlashRefused(uint256 indexed id, address indexed defender, bytes reason);
    event BoundGameOpened(uint256 indexed id, bytes32 indexed challengeId, uint32 segment);
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

    error UnknownGame(uint256 id);
    error WrongPhase(uint256 id, Phase phase);
    error NotYourMove(address caller, address expected);
    error DeadlinePassed(uint256 id, uint64 deadline);
    error DeadlineNotPassed(uint256 id, uint64 deadline);
    error InvalidClaim(string field);
    error RootsMismatch(uint256 id);
    error WrongRootCount(uint256 expected, uint256 actual);
    error BadSlot(uint256 slot);
    error BadChildren(uint256 id);
    error BadLeaf(uint256 id);
    error EmptySubtree(uint256 id, uint64 node);
    error BadOffset(uint256 offset);
    error BadProof(uint256 slot, uint256 leaf);
    error MissingProof(uint256 slot, uint256 leaf);
    error InsufficientGas(uint256 left, uint256 needed);
    // raised by DisputeBinding (declared here so that they are in the game's ABI)
    error NotDisputable(bytes32 challengeId, uint8 status);
    error DisputeWindowClosed(bytes32 challengeId, uint256 closedAt);
    error CheckpointNotProven(bytes32 challengeId, uint256 index);
    error SegmentOutOfRange(uint256 segment, uint256 segments);
    error AlreadyOverruled(bytes32 challengeId);
    // raised by StepProver and DataRules
    error ExampleNotProven(uint256 index);
    error DefenceExists(bytes32 challengeId, uint8 state);
    error NoOpenDefence(bytes32 challengeId);
    error SeatsClosed(bytes32 challengeId, uint256 closedAt);
    error NotAnAccuser(bytes32 challengeId, address account);
    error AlreadySeated(bytes32 challengeId, address accuser);
    error DefencePending(bytes32 challengeId, uint256 seatEnd, uint256 pending);
    error StepRootUnset(bytes32 challengeId, uint256 segment);
    error StepOutOfRange(uint256 step, uint256 steps);
    error StepNotProven(uint256 step);

    /// @param staking_ Staking (zero: no slashing); `token_` must be its token when set.
    /// @param slashFraction_ Fraction (1e18 = 100%) of a losing defender's stake slashed.
    /// @param challenges_ ChallengeManager of the challenges bound games dispute (zero: none).
    /// @param disputeWindow_ Seconds after a challenge's points close to open a bound game.
    constructor(
        IERC20 token_,
        uint256 moveTimeout_,
        uint256 bond_,
        IStaking staking_,
        uint256 slashFraction_,
        IBoundChallenges challenges_,
        uint256 disputeWindow_
    ) {
        if (moveTimeout_ < 60 || moveTimeout_ > 1 days) revert InvalidClaim("moveTimeout");
        if (slashFraction_ > 1e18) revert InvalidClaim("slashFraction");
        token = token_;
        moveTimeout = moveTimeout_;
        bond = bond_;
        staking = staking_;
        slashFraction = slashFraction_;
        challenges = challenges_;
        disputeWindow = disputeWindow_;
        _epochLength = address(staking_) == address(0) ? 0 : IEpochLength(address(staking_)).epochLength();
    }

    /// @inheritdoc ISlashWindow
    /// @dev A game opened in epoch e ends at most MAX_MOVES move timeouts after it opened, which is
    ///      at most one epoch after e began. A bound game names the challenge's round r: it opens
    ///      at the latest `disputeWindow` after the points of its audit round close, which is at
    ///      most the ChallengeManager's window plus one epoch after r began.
    function slashWindow() external view returns (uint256) {
        return DisputeBinding.slashWindow(_epochLength + MAX_MOVES * moveTimeout);
    }

    // --- opening --------------------------------------------------------------------------------

    /// @notice Opens a game against `defender`'s claim, posting the challenger's bond.
    function open(address defender, Claim calldata claim) external nonReentrant returns (uint256 id) {
        id = _open(defender, claim);
        Game storage g = _games[id];
        if (address(staking) != address(0)) g.epoch = staking.currentEpoch();
        _next(g, Phase.Accept);
    }

    /// @notice Opens a game bound to segment `segment` of challenge `challengeId`, which the
    ///         committee judged Valid: `start` and `end` are the leaves of checkpoints `segment`
    ///         and `segment + 1` under the run's committed root. The claim is the trainer's: it
    ///         defends without accepting (its stake is at risk), moving first.
    function openBound(
        bytes32 challengeId,
        uint32 segment,
        DisputeBinding.CheckpointLeaf calldata start,
        DisputeBinding.CheckpointLeaf calldata end
    ) external nonReentrant returns (uint256 id) {
        DisputeBinding.BoundClaim memory b = DisputeBinding.boundClaim(
            _settled,
            defences,
            challenges,
            disputeWindow,
            challengeId,
            segment,
            start,
            end
        );
        id = _open(
            b.trainer,
            Claim(b.spec, b.firstStep, b.steps, start.parameterRoot, end.parameterRoot, b.data)
        );
        Game storage g = _games[id];
        g.challengeId = challengeId;
        g.epoch = b.round;
        _next(g, g.hi - g.lo > 1 ? Phase.StepMid : Phase.StepState);
        emit BoundGameOpened(id, challengeId, segment);
    }

    /// @notice Opens a game bound to challenge `challengeId` (as `openBound`: the same leaves,
    ///         window, status and bond) at step `step` (0-based) of segment `segment`, from the
    ///         step states the trainer committed under the start leaf's step-state root: `state` is
    ///         that step's slot roots with their path, and stands as the defender's posted state,
    ///         so the game starts with the challenger naming the slot (phase PickSlot) and needs no
    ///         replay. `next` (empty roots: none) is the next step's state, to prove a broken link.
    ///         A commitment that is not a state of the spec, or whose links are broken (step 0's
    ///         Θ_in not the start root, the last step's Θ_out not the end root, Θ_out of `step` not
    ///         Θ_in of `step + 1`), loses at once (DisputeBinding.checkStepOpening).
    function openBoundAtStep(
        bytes32 challengeId,
        uint32 segment,
        DisputeBinding.CheckpointLeaf calldata start,
        DisputeBinding.CheckpointLeaf calldata end,
        uint32 step,
        DisputeBinding.StepOpening calldata state,
        DisputeBinding.StepOpening calldata next
    ) external nonReentrant returns (uint256 id) {
        DisputeBinding.BoundClaim memory b = DisputeBinding.boundClaim(
            _settled,
            defences,
            challenges,
            disputeWindow,
            challengeId,
            segment,
            start,
            end
        );
        string memory fraud = DisputeBinding.checkStepOpening(
            b.spec,
            b.steps,
            challengeId,
            segment,
            start,
            end,
            step,
            state,
            next
        );
        id = _open(
            b.trainer,
            Claim(b.spec, b.firstStep, b.steps, start.parameterRoot, end.parameterRoot, b.data)
        );
        Game storage g = _games[id];
        g.challengeId = challengeId;
        g.epoch = b.round;
        g.lo = b.firstStep + step;
        g.hi = g.lo + 1;
        g.rootsHash = keccak256(abi.encodePacked(state.roots));
        _next(g, Phase.PickSlot);
        emit BoundGameOpened(id, challengeId, segment);
        emit StepStatePosted(id, state.roots);
        if (bytes(fraud).length != 0) _resolve(id, g, true, fraud);
    }

    /// @notice Opens the defence of a run the committee convicted as Fraud (within
    ///         `disputeWindow` after its points close), posting `bond`: for `disputeWindow` seconds
    ///         every accuser may take a seat with `openBound` (a game on the segment it names, the
    ///         trainer defending); once the seats closed and the trainer won every seated game,
    ///         `settleDefence` overrules the conviction (DisputeBinding.settleDefence).
    function openDefence(bytes32 challengeId) external {
        DisputeBinding.openDefence(_settled, defences, challengeId);
    }

    /// @notice Overrules the conviction of a defended run once its seats closed and the trainer
    ///         won every seated game: the trainer repaid from the accusers' stake and unjailed.
    function settleDefence(bytes32 challengeId) external nonReentrant {
        DisputeBinding.settleDefence(_settled, defences, challengeId);
    }

    function _open(address defender, Claim memory claim) private returns (uint256 id) {
        StepRules.Spec memory s = claim.spec;
        DisputeBinding.checkClaim(s, claim.steps, defender);
        if (s.version == 2 && claim.data.count == 0) revert InvalidClaim("data");
        id = ++gameCount;
        Game storage g = _games[id];
        g.challenger = msg.sender;
        g.defender = defender;
        g.lo = claim.firstStep;
        g.hi = claim.firstStep + claim.steps;
        g.loRoot = claim.startRoot;
        g.hiRoot = claim.endRoot;
        g.spec = s;
        g.data = claim.data;
        g.bond = bond;
        emit GameOpened(id, msg.sender, defender, claim);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice The defender stands by the claim and posts its bond.
    function accept(uint256 id) external nonReentrant {
        Game storage g = _move(id, Phase.Accept);
        _next(g, g.hi - g.lo > 1 ? Phase.StepMid : Phase.StepState);
        uint256 posted = g.bond;
        g.bond = 2 * posted;
        token.safeTransferFrom(msg.sender, address(this), posted);
    }

    // --- 1. steps -------------------------------------------------------------------------------

    /// @notice The defender's parameter root at the middle step of the disputed range.
    function postStepRoot(uint256 id, bytes32 root) external {
        Game storage g = _move(id, Phase.StepMid);
        g.pending = root;
        _next(g, Phase.StepChoose);
        emit StepRootPosted(id, _mid(g.lo, g.hi), root);
    }

    /// @notice The challenger agrees with the middle root (the dispute moves after it) or not.
    function chooseStep(uint256 id, bool agree) external {
        Game storage g = _move(id, Phase.StepChoose);
        uint32 mid = _mid(g.lo, g.hi);
        if (agree) (g.lo, g.loRoot) = (mid, g.pending);
        else (g.hi, g.hiRoot) = (mid, g.pending);
        _next(g, g.hi - g.lo > 1 ? Phase.StepMid : Phase.StepState);
        emit StepChosen(id, g.lo, g.hi);
    }

    // --- 2. the step's state ----------------------------------------------------------------------

    /// @notice The defender's roots of the disputed step's slots.
    function postStepState(uint256 id, bytes32[] calldata roots) external {
        Game storage g = _move(id, Phase.StepState);
        StepRules.Spec memory s = g.spec;
        uint256 count = StepRules.slotCount(s);
        if (roots.length != count) revert WrongRootCount(count, roots.length);
        if (roots[0] != g.loRoot || roots[count - 1] != g.hiRoot) revert RootsMismatch(id);
        if (s.version != 1 && roots[2] != bytes32(0)) revert RootsMismatch(id);
        if (s.widths.length > 2) {
            // WT_0 and E_0 are absent
            uint256 base = StepRules.backwardBase(s.widths.length - 1, 0);
            if (roots[base + 2] != bytes32(0) || roots[base + 3] != bytes32(0)) revert RootsMismatch(id);
        }
        g.rootsHash = keccak256(abi.encodePacked(roots));
        _next(g, Phase.PickSlot);
        emit StepStatePosted(id, roots);
    }

    /// @notice The challenger names the slot whose root it disputes (every earlier slot is agreed).
    function pickSlot(uint256 id, bytes32[] calldata roots, uint32 slot) external {
        Game storage g = _move(id, Phase.PickSlot);
        _checkRoots(g, id, roots);
        StepRules.Spec memory s = g.spec;
        StepRules.Slot memory info = StepRules.slotAt(s, slot);
        if (slot == 0 || !info.present) revert BadSlot(slot);
        (, uint256 depth) = StepRules.treeShape(info.length);
        g.slot = slot;
        g.height = uint32(depth);
        g.node = 0;
        g.nodeHash = roots[slot];
        _next(g, depth == 0 ? Phase.Leaf : Phase.Children);
        emit SlotPicked(id, slot);
    }

    // --- 3. the slot's byte tree -----------------------------------------------------------------

    /// @notice The defender reveals the children of the disputed node.
    function revealChildren(uint256 id, bytes32 left, bytes32 right) external {
        Game storage g = _move(id, Phase.Children);
        if (keccak256(abi.encodePacked(left, right)) != g.nodeHash) revert BadChildren(id);
        (g.left, g.right) = (left, right);
        _next(g, Phase.PickChild);
        emit ChildrenRevealed(id, left, right);
    }

    /// @notice The challenger picks the child it disputes. A child past the slot's last leaf must
    ///         be the empty subtree's hash: picking it is refused when it is, and wins when it is
    ///         not (the defender's root is not the tree of any encoding of the slot).
    function pickChild(uint256 id, bool right) external nonReentrant {
        Game storage g = _move(id, Phase.PickChild);
        uint64 node = 2 * g.node + (right ? 1 : 0);
        bytes32 picked = right ? g.right : g.left;
        uint256 height = g.height - 1;
        (uint256 leaves, ) = StepRules.treeShape(StepRules.slotAt(g.spec, g.slot).length);
        if (uint256(node) << height >= leaves) {
            if (picked == _emptySubtree(height)) revert EmptySubtree(id, node);
            _resolve(id, g, true, "empty subtree");
            return;
        }
        g.node = node;
        g.nodeHash = picked;
        g.height = uint32(height);
        _next(g, height == 0 ? Phase.Leaf : Phase.Children);
        emit ChildPicked(id, g.height, g.node);
    }

    /// @notice The defender reveals the disputed leaf.
    function revealLeaf(uint256 id, bytes calldata leaf) external {
        Game storage g = _move(id, Phase.Leaf);
        if (leaf.length != StepRules.LEAF_BYTES || keccak256(leaf) != g.nodeHash) revert BadLeaf(id);
        _next(g, Phase.PickElement);
        emit LeafRevealed(id, leaf);
    }

    /// @notice The challenger names the disputed element of the leaf (the defender's leaf bytes,
    ///         from its calldata or the game's events). An element rule is re-executed at once with
    ///         `proofs` of its operands; a fold goes on to its accumulators.
    function pickElement(
        uint256 id,
        bytes32[] calldata roots,
        bytes calldata leaf,
        uint256 byteInLeaf,
        StepProver.LeafProof[] calldata proofs
    ) external nonReentrant {
        Game storage g = _move(id, Phase.PickElement);
        if (leaf.length != StepRules.LEAF_BYTES || keccak256(leaf) != g.nodeHash) revert BadLeaf(id);
        (uint256 offset, int256 claimed, uint256 chunks) = StepProver.pick(
            g.spec,
            g.slot,
            g.node,
            leaf,
            byteInLeaf
        );
        g.offset = offset;
        g.claimed = claimed;
        emit ElementPicked(id, offset, claimed);
        if (chunks > 0) {
            g.cHi = uint32(chunks);
            _next(g, Phase.FoldEnds);
            return;
        }
        _resolve(id, g, _execute(g, id, 3, 0, roots, proofs) != claimed, "element");
    }

    // --- 4. a fold ------------------------------------------------------------------------------

    /// @notice The defender's start and end accumulators of the disputed fold.
    function postFoldEnds(uint256 id, int256 start, int256 end) external {
        Game storage g = _move(id, Phase.FoldEnds);
        (g.accLo, g.accHi) = (start, end);
        _next(g, Phase.FoldChoose);
        emit FoldEndsPosted(id, start, end);
    }

    /// @notice The challenger re-executes the fold's start (`part` 0) or finish (`part` 2), or
    ///         disputes the chunks between (`part` 1, no proofs).
    function challengeFold(
        uint256 id,
        uint8 part,
        bytes32[] calldata roots,
        StepProver.LeafProof[] calldata proofs
    ) external nonReentrant {
        Game storage g = _move(id, Phase.FoldChoose);
        if (part == 1) {
            _next(g, g.cHi - g.cLo > 1 ? Phase.FoldMid : Phase.FoldProve);
            emit FoldChosen(id, g.cLo, g.cHi);
            return;
        }
        if (part == 0) _resolve(id, g, _execute(g, id, 0, 0, roots, proofs) != g.accLo, "fold start");
        else if (part == 2)
            _resolve(id, g, _execute(g, id, 2, g.accHi, roots, proofs) != g.claimed, "fold finish");
        else revert InvalidClaim("part");
    }

    /// @notice The defender's accumulator after the middle chunk of the disputed chunk range.
    function postFoldAccumulator(uint256 id, int256 acc) external {
        Game storage g = _move(id, Phase.FoldMid);
        g.pending = bytes32(uint256(acc));
        _next(g, Phase.FoldPick);
        emit FoldAccumulatorPosted(id, _mid(g.cLo, g.cHi), acc);
    }

    /// @notice The challenger agrees with the middle accumulator or not.
    function chooseFold(uint256 id, bool agree) external {
        Game storage g = _move(id, Phase.FoldPick);
        uint32 mid = _mid(g.cLo, g.cHi);
        int256 acc = int256(uint256(g.pending));
        if (agree) (g.cLo, g.accLo) = (mid, acc);
        else (g.cHi, g.accHi) = (mid, acc);
        _next(g, g.cHi - g.cLo > 1 ? Phase.FoldMid : Phase.FoldProve);
        emit FoldChosen(id, g.cLo, g.cHi);
    }

    /// @notice The challenger re-executes the one disputed chunk.
    function proveChunk(
        uint256 id,
        bytes32[] calldata roots,
        StepProver.LeafProof[] calldata proofs
    ) external nonReentrant {
        Game storage g = _move(id, Phase.FoldProve);
        _resolve(id, g, _execute(g, id, 1, g.accLo, roots, proofs) != g.accHi, "chunk");
    }

    // --- timeouts -------------------------------------------------------------------------------

    /// @notice Resolves a game whose mover let its deadline pass: the other party wins.
    function timeout(uint256 id) external nonReentrant {
        Game storage g = _games[id];
        if (g.phase == Phase.None) revert UnknownGame(id);
        if (g.phase == Phase.Resolved) revert WrongPhase(id, g.phase);
        if (block.timestamp <= g.deadline) revert DeadlineNotPassed(id, g.deadline);
        bool challengerSilent = _mover(g) == g.challenger;
        _resolve(id, g, !challengerSilent, "timeout");
    }

    // --- views ----------------------------------------------------------------------------------

    /// @notice The whole state of a game.
    function gameOf(uint256 id) external view returns (Game memory) {
        return _games[id];
    }

    /// @notice Who must move next in a game (zero once resolved).
    function moverOf(uint256 id) external view returns (address) {
        Game storage g = _games[id];
        return g.phase == Phase.Resolved ? address(0) : _mover(g);
    }

    // --- internals ------------------------------------------------------------------------------

    function _mid(uint32 lo, uint32 hi) private pure returns (uint32) {
        return Bisection.mid(lo, hi);
    }

    function _mover(Game storage g) private view returns (address) {
        Phase p = g.phase;
        bool defender =
            p == Phase.Accept ||
                p == Phase.StepMid ||
                p == Phase.StepState ||
                p == Phase.Children ||
                p == Phase.Leaf ||
                p == Phase.FoldEnds ||
                p == Phase.FoldMid;
        return defender ? g.defender : g.challenger;
    }

    function _move(uint256 id, Phase phase) private view returns (Game storage g) {
        g = _games[id];
        if (g.phase == Phase.None) revert UnknownGame(id);
        if (g.phase != phase) revert WrongPhase(id, g.phase);
        address mover = _mover(g);
        if (msg.sender != mover) revert NotYourMove(msg.sender, mover);
        if (block.timestamp > g.deadline) revert DeadlinePassed(id, g.deadline);
    }

    function _next(Game storage g, Phase phase) private {
        g.phase = phase;
        g.deadline = uint64(block.timestamp + moveTimeout);
    }

    function _checkRoots(Game storage g, uint256 id, bytes32[] calldata roots) private view {
        if (keccak256(abi.encodePacked(roots)) != g.rootsHash) revert RootsMismatch(id);
    }

    function _resolve(uint256 id, Game storage g, bool challengerWins, string memory reason) private {
        bool accepted = g.phase != Phase.Accept;
        (address winner, address loser) = challengerWins
            ? (g.challenger, g.defender)
            : (g.defender, g.challenger);
        g.phase = Phase.Resolved;
        g.winner = winner;
        emit GameResolved(id, winner, loser, reason);
        // every bond posted (the challenger's; the defender's once it accepted) goes to the winner
        token.safeTransfer(winner, g.bond);
        // a seat in a defence: the conviction stands or falls with every seat (no slash here)
        if (
            g.challengeId != bytes32(0) &&
            DisputeBinding.seatResolved(defences, g.challengeId, challengerWins, g.challenger)
        ) return;
        if (!challengerWins || !accepted || address(staking) == address(0) || slashFraction == 0) return;
        // the defender's slash, and for a bound game the challenge's consequences, once per
        // challenge (DisputeBinding.settle); proven by a move before its deadline, not by a timeout
        DisputeBinding.settle(
            _settled,
            g.challengeId,
            id,
            g.defender,
            g.challenger,
            g.epoch,
            block.timestamp <= g.deadline
        );
    }

    /// Re-executes `part` of the disputed element's rule (StepProver.Query) with proven operands.
    function _execute(
        Game storage g,
        uint256 id,
        uint8 part,
        int256 acc,
        bytes32[] calldata roots,
        StepProver.LeafProof[] calldata proofs
    ) private view returns (int256) {
        _checkRoots(g, id, roots);
        return
            StepProver.execute(
                g.spec,
                g.data,
                StepProver.Query(g.slot, g.offset, part, g.cLo, acc, g.lo),
                roots,
                proofs
            );
    }

    /// The root of a subtree of `height` holding no leaf: Z_0 = 0, Z_{k+1} = keccak256(Z_k ‖ Z_k).
    function _emptySubtree(uint256 height) private pure returns (bytes32) {
        return Bisection.emptySubtree(height);
    }
}
