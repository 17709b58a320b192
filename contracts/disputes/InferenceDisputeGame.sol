// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IntegerMLP} from "../libraries/IntegerMLP.sol";
import {Bisection} from "./Bisection.sol";
import {StepRules} from "./StepRules.sol";

/// @notice The contract that opens inference games and settles the delivery each one decides.
interface IInferenceGameHost {
    /// @notice Called once per game when it resolves; must not revert for a well-formed call.
    function onInferenceGameResolved(bytes32 delivery, address challenger, bool challengerWins) external;
}

/// @title InferenceDisputeGame
/// @notice A bisection game over one inference of a registered model, so that a wrong output of a
///         model of any size the registry accepts is proven on chain by re-executing one chunk of
///         one dot product (docs/disputes.md, "Inference games"). The state of an inference is
///         L + 2 byte-tree committed slots: Θ (the checkpoint encoding; its root is the model's
///         registered parameter root), X (the delivered input), A_1 … A_L (the activations; A_L is
///         the delivered output's scores y). Θ, X and A_L's roots are fixed when the game opens (the
///         last two computed here from the delivery's bytes), so the node (defender) only posts the
///         roots of A_1 … A_{L-1}:
///
///         1. state: the defender posts the L + 2 slot roots and its bond; the challenger names the
///            first activation slot it disputes (every earlier slot is then agreed);
///         2. the slot's byte tree: the defender reveals the children of the disputed node, the
///            challenger picks one, down to a 136-byte leaf in which it names one element;
///         3. the element A_l[o] is a fold over i of 127·w(b[o]) + Σ w(W[o][i])·A_{l-1}[i] in chunks
///            of 64, finished by clamp(roundShift(acc, F), l = L ? -127 : 0, 127): its start, one
///            chunk (after a bisection of the accumulators) or its finish is re-executed with its
///            operands proven against the agreed roots.
///
///         A party that lets its deadline pass loses. The winner takes both bonds; the host (the
///         PoAIVerifier) then settles the delivery: invalid (refund, slash) when the challenger won.
///
/// Invariants (test/disputes/inference-game.test.ts):
///  - a game resolves exactly once, pays its bonds to its winner and reports to the host once;
///    every unresolved game has a deadline after which `timeout` resolves it (funds never stuck);
///  - moves are bounded by MAX_MOVES whatever the model (the tree of a slot of MAX_WIDTH bytes has
///    depth 9, a fold of MAX_WIDTH terms 1,024 chunks);
///  - an honest defender wins against any challenger, an honest challenger against any defender
///    (the property test over single-bit faults in the output and every intermediate).
contract InferenceDisputeGame is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Phase {
        None,
        State, // defender: the slot roots and its bond
        PickSlot, // challenger: the disputed activation slot
        Children, // defender: the disputed node's children
        PickChild, // challenger: one of them
        Leaf, // defender: the disputed leaf's 136 bytes
        PickElement, // challenger: an element of the leaf
        FoldEnds, // defender: the fold's start and end accumulators
        FoldChoose, // challenger: dispute the start, the finish, or the chunks between
        FoldMid, // defender: the accumulator at the middle chunk
        FoldPick, // challenger: agree or disagree with it
        FoldProve, // challenger: re-execute the one disputed chunk
        Resolved
    }

    struct Game {
        address challenger;
        uint64 deadline;
        Phase phase;
        bool defenderBonded;
        address defender;
        uint32 slot;
        uint32 height;
        uint32 cLo;
        uint32 cHi;
        address winner;
        uint64 node;
        uint32 offset;
        bytes32 delivery;
        bytes32 thetaRoot;
        bytes32 xRoot;
        bytes32 yRoot;
        bytes32 rootsHash;
        bytes32 nodeHash;
        bytes32 left;
        bytes32 right;
        int256 claimed;
        int256 accLo;
        int256 accHi;
        int256 pending;
        uint256 bond;
        uint32[] widths;
    }

    /// @notice A leaf of a slot's byte tree and its siblings, bottom up.
    struct LeafProof {
        uint256 index;
        bytes leaf;
        bytes32[] siblings;
    }

    uint256 public constant MAX_WIDTH = 65_536;
    /// @notice Most moves of any game: state and slot (2), a slot tree of depth ≤ 9 (18), leaf and
    ///         element (2), fold ends and choice (2), ≤ 10 chunk bisections (20), the proof (1).
    uint256 public constant MAX_MOVES = 48;
    uint256 private constant HOST_GAS = 900_000;

    IERC20 public immutable token;
    IInferenceGameHost public immutable host;
    /// @notice Seconds each party has for each move.
    uint256 public immutable moveTimeout;
    /// @notice Bond each party posts (the challenger when opening, the defender with its state).
    uint256 public immutable bond;

    uint256 public gameCount;
    mapping(uint256 id => Game) private _games;

    event GameOpened(
        uint256 indexed id,
        bytes32 indexed delivery,
        address indexed challenger,
        address defender,
        uint32[] widths,
        bytes32 thetaRoot,
        bytes32 xRoot,
        bytes32 yRoot
    );
    event StatePosted(uint256 indexed id, bytes32[] roots);
    event SlotPicked(uint256 indexed id, uint32 slot);
    event ChildrenRevealed(uint256 indexed id, bytes32 left, bytes32 right);
    event ChildPicked(uint256 indexed id, uint32 height, uint64 node);
    event LeafRevealed(uint256 indexed id, bytes leaf);
    event ElementPicked(uint256 indexed id, uint256 offset, int256 claimed);
    event FoldEndsPosted(uint256 indexed id, int256 start, int256 end);
    event FoldAccumulatorPosted(uint256 indexed id, uint32 chunk, int256 acc);
    event FoldChosen(uint256 indexed id, uint32 lo, uint32 hi);
    event GameResolved(uint256 indexed id, address indexed winner, address indexed loser, string reason);
    event HostRefused(uint256 indexed id, bytes reason);

    error NotHost(address caller);
    error UnknownGame(uint256 id);
    error WrongPhase(uint256 id, Phase phase);
    error NotYourMove(address caller, address expected);
    error DeadlinePassed(uint256 id, uint64 deadline);
    error DeadlineNotPassed(uint256 id, uint64 deadline);
    error InvalidGameParameter(string name, uint256 value);
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

    constructor(IERC20 token_, IInferenceGameHost host_, uint256 moveTimeout_, uint256 bond_) {
        if (moveTimeout_ < 60 || moveTimeout_ > 1 days)
            revert InvalidGameParameter("moveTimeout", moveTimeout_);
        if (address(host_) == address(0)) revert InvalidGameParameter("host", 0);
        token = token_;
        host = host_;
        moveTimeout = moveTimeout_;
        bond = bond_;
    }

    /// @notice The longest a game can last: every move taking its whole timeout.
    function maxDuration() external view returns (uint256) {
        return MAX_MOVES * moveTimeout;
    }

    // --- opening --------------------------------------------------------------------------------

    /// @notice Opens a game on `defender`'s delivery `delivery` (the host's key) of a model of
    ///         `widths` with parameter root `thetaRoot`, on `input`, with output scores `y`; pulls the
    ///         challenger's bond (approved to this contract). Only the host opens games.
    function open(
        bytes32 delivery,
        address challenger,
        address defender,
        uint32[] calldata widths,
        bytes32 thetaRoot,
        bytes calldata input,
        bytes calldata y
    ) external nonReentrant returns (uint256 id) {
        if (msg.sender != address(host)) revert NotHost(msg.sender);
        if (widths.length < 2 || widths.length > 17) revert InvalidGameParameter("widths", widths.length);
        uint256 L = widths.length - 1;
        if (input.length != widths[0]) revert InvalidGameParameter("input", input.length);
        if (y.length != widths[L]) revert InvalidGameParameter("y", y.length);
        for (uint256 i; i <= L; ++i)
            if (widths[i] > MAX_WIDTH) revert InvalidGameParameter("widths", widths[i]);
        id = ++gameCount;
        Game storage g = _games[id];
        g.challenger = challenger;
        g.defender = defender;
        g.delivery = delivery;
        g.thetaRoot = thetaRoot;
        g.xRoot = Bisection.treeRoot(input);
        g.yRoot = Bisection.treeRoot(y);
        g.widths = widths;
        g.bond = bond;
        _next(g, Phase.State);
        emit GameOpened(id, delivery, challenger, defender, widths, thetaRoot, g.xRoot, g.yRoot);
        token.safeTransferFrom(challenger, address(this), bond);
    }

    // --- 1. the state ---------------------------------------------------------------------------

    /// @notice The defender's roots of the L + 2 slots (Θ, X, A_1 … A_L), and its bond.
    function postState(uint256 id, bytes32[] calldata roots) external nonReentrant {
        Game storage g = _move(id, Phase.State);
        uint256 count = g.widths.length + 1;
        if (roots.length != count) revert WrongRootCount(count, roots.length);
        if (roots[0] != g.thetaRoot || roots[1] != g.xRoot || roots[count - 1] != g.yRoot)
            revert RootsMismatch(id);
        g.rootsHash = keccak256(abi.encodePacked(roots));
        g.defenderBonded = true;
        _next(g, Phase.PickSlot);
        emit StatePosted(id, roots);
        token.safeTransferFrom(msg.sender, address(this), g.bond);
    }

    /// @notice The challenger names the activation slot (2 … L + 1) whose root it disputes.
    function pickSlot(uint256 id, bytes32[] calldata roots, uint32 slot) external {
        Game storage g = _move(id, Phase.PickSlot);
        _checkRoots(g, id, roots);
        if (slot < 2 || slot >= roots.length) revert BadSlot(slot);
        (, uint256 depth) = Bisection.treeShape(g.widths[slot - 1]);
        (g.slot, g.height, g.node, g.nodeHash) = (slot, uint32(depth), 0, roots[slot]);
        _next(g, depth == 0 ? Phase.Leaf : Phase.Children);
        emit SlotPicked(id, slot);
    }

    // --- 2. the slot's byte tree -----------------------------------------------------------------

    /// @notice The defender reveals the children of the disputed node.
    function revealChildren(uint256 id, bytes32 left, bytes32 right) external {
        Game storage g = _move(id, Phase.Children);
        if (keccak256(abi.encodePacked(left, right)) != g.nodeHash) revert BadChildren(id);
        (g.left, g.right) = (left, right);
        _next(g, Phase.PickChild);
        emit ChildrenRevealed(id, left, right);
    }

    /// @notice The challenger picks the child it disputes. A child past the slot's last leaf must
    ///         be the empty subtree's hash: picking it is refused when it is, and wins when it is not.
    function pickChild(uint256 id, bool right) external nonReentrant {
        Game storage g = _move(id, Phase.PickChild);
        uint64 node = 2 * g.node + (right ? 1 : 0);
        bytes32 picked = right ? g.right : g.left;
        uint256 height = g.height - 1;
        (uint256 leaves, ) = Bisection.treeShape(g.widths[g.slot - 1]);
        if (uint256(node) << height >= leaves) {
            if (picked == Bisection.emptySubtree(height)) revert EmptySubtree(id, node);
            _resolve(id, g, true, "empty subtree");
            return;
        }
        (g.node, g.nodeHash, g.height) = (node, picked, uint32(height));
        _next(g, height == 0 ? Phase.Leaf : Phase.Children);
        emit ChildPicked(id, g.height, node);
    }

    /// @notice The defender reveals the disputed leaf.
    function revealLeaf(uint256 id, bytes calldata leaf) external {
        Game storage g = _move(id, Phase.Leaf);
        if (leaf.length != Bisection.LEAF_BYTES || keccak256(leaf) != g.nodeHash) revert BadLeaf(id);
        _next(g, Phase.PickElement);
        emit LeafRevealed(id, leaf);
    }

    /// @notice The challenger names the disputed byte of the leaf: a byte past the slot's end must
    ///         be 0 (decided at once); an activation goes on to its fold.
    function pickElement(uint256 id, bytes calldata leaf, uint256 byteInLeaf) external nonReentrant {
        Game storage g = _move(id, Phase.PickElement);
        if (leaf.length != Bisection.LEAF_BYTES || keccak256(leaf) != g.nodeHash) revert BadLeaf(id);
        if (byteInLeaf >= Bisection.LEAF_BYTES) revert BadOffset(byteInLeaf);
        uint256 offset = uint256(g.node) * Bisection.LEAF_BYTES + byteInLeaf;
        int256 claimed = int8(uint8(leaf[byteInLeaf]));
        (g.offset, g.claimed) = (uint32(offset), claimed);
        emit ElementPicked(id, offset, claimed);
        if (offset >= g.widths[g.slot - 1]) {
            _resolve(id, g, claimed != 0, "padding");
            return;
        }
        g.cHi = uint32((g.widths[g.slot - 2] + StepRules.CHUNK - 1) / StepRules.CHUNK);
        _next(g, Phase.FoldEnds);
    }

    // --- 3. the fold -----------------------------------------------------------------------------

    /// @notice The defender's start and end accumulators of the disputed activation's fold.
    function postFoldEnds(uint256 id, int256 start, int256 end) external {
        Game storage g = _move(id, Phase.FoldEnds);
        (g.accLo, g.accHi) = (start, end);
        _next(g, Phase.FoldChoose);
        emit FoldEndsPosted(id, start, end);
    }

    /// @notice The challenger re-executes the fold's start (`part` 0, with the proof of the bias)
    ///         or finish (`part` 2), or disputes the chunks between (`part` 1).
    function challengeFold(
        uint256 id,
        uint8 part,
        bytes32[] calldata roots,
        LeafProof[] calldata proofs
    ) external nonReentrant {
        Game storage g = _move(id, Phase.FoldChoose);
        if (part == 1) {
            _next(g, g.cHi - g.cLo > 1 ? Phase.FoldMid : Phase.FoldProve);
            emit FoldChosen(id, g.cLo, g.cHi);
            return;
        }
        uint32[] memory w = g.widths;
        uint256 layer = g.slot - 2; // A_l = layer l - 1's output; slot l + 1
        if (part == 0) {
            _checkRoots(g, id, roots);
            uint256 at = StepRules.THETA_HEADER + 2 * (StepRules.biasOffset(w, layer) + g.offset);
            (bytes memory b, ) = _readRange(roots, 0, _thetaLength(w), at, 2, proofs, 0);
            int256 start = StepRules.BIAS_INPUT * StepRules.effectiveWeight(StepRules.int16At(b, 0));
            _resolve(id, g, start != g.accLo, "fold start");
        } else if (part == 2) {
            int256 lo = layer == w.length - 2 ? int256(-127) : int256(0);
            int256 value = StepRules.clamp(
                StepRules.roundShift(g.accHi, IntegerMLP.forwardShift(w[layer])),
                lo,
                127
            );
            _resolve(id, g, value != g.claimed, "fold finish");
        } else revert InvalidGameParameter("part", part);
    }

    /// @notice The defender's accumulator after the middle chunk of the disputed chunk range.
    function postFoldAccumulator(uint256 id, int256 acc) external {
        Game storage g = _move(id, Phase.FoldMid);
        g.pending = acc;
        _next(g, Phase.FoldPick);
        emit FoldAccumulatorPosted(id, Bisection.mid(g.cLo, g.cHi), acc);
    }

    /// @notice The challenger agrees with the middle accumulator or not.
    function chooseFold(uint256 id, bool agree) external {
        Game storage g = _move(id, Phase.FoldPick);
        uint32 mid = Bisection.mid(g.cLo, g.cHi);
        if (agree) (g.cLo, g.accLo) = (mid, g.pending);
        else (g.cHi, g.accHi) = (mid, g.pending);
        _next(g, g.cHi - g.cLo > 1 ? Phase.FoldMid : Phase.FoldProve);
        emit FoldChosen(id, g.cLo, g.cHi);
    }

    /// @notice The challenger re-executes the one disputed chunk: `proofs` holds the leaves of the
    ///         weight row's int16 range in Θ, then those of the input activations' int8 range.
    function proveChunk(
        uint256 id,
        bytes32[] calldata roots,
        LeafProof[] calldata proofs
    ) external nonReentrant {
        Game storage g = _move(id, Phase.FoldProve);
        _checkRoots(g, id, roots);
        uint32[] memory w = g.widths;
        uint256 layer = g.slot - 2;
        uint256 n = w[layer];
        uint256 k0 = uint256(g.cLo) * StepRules.CHUNK;
        uint256 m = n - k0 < StepRules.CHUNK ? n - k0 : StepRules.CHUNK;
        uint256 at = StepRules.THETA_HEADER + 2 * (StepRules.weightOffset(w, layer) + g.offset * n + k0);
        (bytes memory weights, uint256 cursor) = _readRange(roots, 0, _thetaLength(w), at, 2 * m, proofs, 0);
        // A_{layer} lives in slot layer + 1 (X = A_0 in slot 1), an earlier slot than the disputed one
        (bytes memory acts, ) = _readRange(roots, layer + 1, n, k0, m, proofs, cursor);
        int256 acc = g.accLo;
        for (uint256 t; t < m; ++t) {
            acc += StepRules.effectiveWeight(StepRules.int16At(weights, 2 * t)) * StepRules.int8At(acts, t);
        }
        _resolve(id, g, acc != g.accHi, "chunk");
    }

    // --- timeouts -------------------------------------------------------------------------------

    /// @notice Resolves a game whose mover let its deadline pass: the other party wins.
    function timeout(uint256 id) external nonReentrant {
        Game storage g = _games[id];
        if (g.phase == Phase.None) revert UnknownGame(id);
        if (g.phase == Phase.Resolved) revert WrongPhase(id, g.phase);
        if (block.timestamp <= g.deadline) revert DeadlineNotPassed(id, g.deadline);
        _resolve(id, g, _mover(g) != g.challenger, "timeout");
    }

    // --- views ----------------------------------------------------------------------------------

    /// @notice The whole state of a game.
    function gameOf(uint256 id) external view returns (Game memory) {
        return _games[id];
    }

    /// @notice Who must move next in a game (zero once resolved or unknown).
    function moverOf(uint256 id) external view returns (address) {
        Game storage g = _games[id];
        return g.phase == Phase.Resolved || g.phase == Phase.None ? address(0) : _mover(g);
    }

    // --- internals ------------------------------------------------------------------------------

    function _mover(Game storage g) private view returns (address) {
        Phase p = g.phase;
        bool defender =
            p == Phase.State ||
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

    function _thetaLength(uint32[] memory w) private pure returns (uint256) {
        return StepRules.THETA_HEADER + 2 * StepRules.parameterCount(w);
    }

    /// Reads bytes [offset, offset + length) of slot `slot` (of `slotLength` bytes) from the leaves
    /// `proofs[cursor…]` (first to last), each proven against the slot's root; returns the next cursor.
    function _readRange(
        bytes32[] calldata roots,
        uint256 slot,
        uint256 slotLength,
        uint256 offset,
        uint256 length,
        LeafProof[] calldata proofs,
        uint256 cursor
    ) private pure returns (bytes memory out, uint256) {
        (uint256 leaves, uint256 depth) = Bisection.treeShape(slotLength);
        out = new bytes(length);
        uint256 last = (offset + length - 1) / Bisection.LEAF_BYTES;
        for (uint256 j = offset / Bisection.LEAF_BYTES; j <= last; ++j) {
            if (cursor >= proofs.length) revert MissingProof(slot, j);
            LeafProof calldata p = proofs[cursor++];
            if (p.index != j || j >= leaves || !Bisection.verify(roots[slot], depth, j, p.leaf, p.siblings))
                revert BadProof(slot, j);
            Bisection.copyLeaf(out, offset, j, p.leaf);
        }
        return (out, cursor);
    }

    function _resolve(uint256 id, Game storage g, bool challengerWins, string memory reason) private {
        (address winner, address loser) = challengerWins
            ? (g.challenger, g.defender)
            : (g.defender, g.challenger);
        g.phase = Phase.Resolved;
        g.winner = winner;
        emit GameResolved(id, winner, loser, reason);
        token.safeTransfer(winner, g.defenderBonded ? 2 * g.bond : g.bond);
        // enough gas that a refusal is the host's, not a caller starving the call
        if (gasleft() < HOST_GAS) revert InsufficientGas(gasleft(), HOST_GAS);
        try host.onInferenceGameResolved(g.delivery, g.challenger, challengerWins) {} catch (
            bytes memory why
        ) {
            emit HostRefused(id, why);
        }
    }
}
