// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IJobRegistry} from "../interfaces/IJobRegistry.sol";
import {IScoreGame} from "../interfaces/IScoreGame.sol";
import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {Bisection} from "./Bisection.sol";
import {DataRules} from "./DataRules.sol";
import {IBoundChallenges} from "./DisputeBinding.sol";
import {IInferenceGameHost, InferenceDisputeGame} from "./InferenceDisputeGame.sol";

/// What the score game reads of the JobRegistry.
interface IScoredRuns {
    function runOf(bytes32 challengeId) external view returns (IJobRegistry.RunRecord memory);
    function challenges() external view returns (IBoundChallenges);
    function tasks() external view returns (ITaskRegistry);
}

/// @title ScoreGame
/// @notice A bisection game over the accuracy a job run reports, so that one honest party proves
///         on chain that a trainer's reported held-out accuracy is not what its final model scores
///         (docs/disputes.md, "Score games"). A job completes with a run's reported accuracy
///         (`ChallengeManager` `reportedScoreBps`) only once this game's window after the run's
///         judgment has passed with no game pending and none won against it.
///
///         The claim: the final checkpoint of the run (its parameter root Θ proven under the run's
///         committed root) predicts the label of exactly `correct` of the spec's `evalSize`
///         held-out examples (the dataset's `evalRoot`), with `floor(correct · 10,000 / evalSize)`
///         the reported accuracy. Engine version 2 (every job) only.
///
///         1. count: the trainer (defender) posts `correct`, the root of its predictions' byte tree
///            (int32 little-endian per example; in a run audited by operation sampling bound by the
///            final leaf's evaluation root `keccak256(predictionsRoot ‖ examplesRoot)`) and its bond;
///         2. bisection: for the disputed range of examples the defender posts the count of its
///            left half, the challenger picks the half it disputes, down to one example;
///         3. the example: the defender proves its prediction (under the predictions root), the
///            example's label and features root (under the dataset's held-out root), that the
///            count of the example is whether they are equal, and posts the model's output scores
///            for it, whose argmax (ties to the lowest class) is the prediction;
///         4. the prediction: the challenger may dispute those scores; an inference game
///            (`InferenceDisputeGame`, this contract its host) on Θ, the example's features and the
///            scores decides it by re-executing one chunk of one dot product.
///
///         A party that lets its deadline pass loses. The winner takes both bonds. A game the
///         challenger wins marks the run's accuracy disproven (the JobRegistry does not count the
///         run) and slashes the trainer once per run (offence epoch: the challenge's round; the
///         challenger is the reporter). The committee's verdict on the training is untouched: the
///         training games decide it.
///
/// Invariants (test/disputes/score-game.test.ts):
///  - a game resolves exactly once and pays both bonds to its winner; every unresolved game has a
///    deadline after which `timeout` (or, in its inference game, that game's `timeout`) resolves it;
///  - moves are bounded by MAX_MOVES plus the inference game's;
///  - an honest trainer wins against any challenger, an honest challenger against any trainer
///    whose reported accuracy is not its model's (the property test over lies in the count, the
///    predictions and the output scores).
contract ScoreGame is IScoreGame, IInferenceGameHost, ISlashWindow, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Phase {
        None,
        Count, // defender: the count, the predictions root and its bond
        Split, // defender: the count of the range's left half
        Pick, // challenger: the half it disputes
        Example, // defender: the one example's prediction, label and output scores
        Dispute, // challenger: dispute the output scores (an inference game), or let them stand
        Inference, // the inference game decides
        Resolved
    }

    struct Game {
        bytes32 challengeId;
        address challenger;
        uint64 deadline;
        Phase phase;
        bool defenderBonded;
        address trainer;
        uint32 evalSize;
        uint32 lo; // the disputed range of examples [lo, hi)
        uint32 hi;
        uint32 count; // the defender's count of correct predictions in [lo, hi)
        address winner;
        uint32 left; // the defender's count of [lo, mid), once posted
        uint16 reportedScoreBps;
        int32 prediction;
        bytes32 thetaRoot;
        bytes32 evalRoot;
        bytes32 datasetRoot;
        bytes32 predictionsRoot;
        bytes32 featuresRoot;
        bytes32 outputHash;
        uint256 inferenceId;
        uint32[] widths;
    }

    /// @notice The final leaf of a run: `(steps / checkpointInterval, weightsHash, parameterRoot,
    ///         evalRoot)` and its proof under the run's committed root.
    struct FinalLeaf {
        bytes32 weightsHash;
        bytes32 parameterRoot;
        bytes32 evalRoot;
        bytes32[] proof;
    }

    /// @notice The defender's evidence for one example.
    struct ExampleEvidence {
        bytes predictions; // the 136-byte leaf of the predictions' byte tree holding the example's
        bytes32[] siblings; // its siblings, bottom up
        bytes example; // label (uint16 LE) ‖ features root: 34 bytes
        bytes32[] exampleProof; // under the dataset's held-out root
        bytes output; // the model's output scores for the example (int8, one per class)
    }

    struct Standing {
        uint32 pending;
        bool disproven;
        bool slashed;
    }

    uint256 public constant BPS = 10_000;
    /// @notice Most moves before the inference game: the count (1), 24 halvings of the range (48:
    ///         the TaskRegistry caps `evalSize` at 2^24, `EngineSpec.MAX_EVAL_SIZE`), the example
    ///         (1), the dispute (1).
    uint256 public constant MAX_MOVES = 51;
    uint256 private constant SLASH_GAS = 400_000;

    IERC20 public immutable token;
    IScoredRuns public immutable jobs;
    IBoundChallenges public immutable challenges;
    ITaskRegistry public immutable tasks;
    IStaking public immutable staking;
    /// @notice Seconds each party has for each move.
    uint256 public immutable moveTimeout;
    /// @notice Bond each party posts (the challenger when opening, the defender with its count).
    uint256 public immutable bond;
    /// @notice Fraction (1e18 = 100%) of a disproven trainer's stake slashed.
    uint256 public immutable slashFraction;
    /// @inheritdoc IScoreGame
    uint256 public immutable openWindow;
    address private immutable _deployer;

    /// @notice The inference game that decides a disputed prediction (its host is this contract).
    InferenceDisputeGame public inference;
    uint256 public gameCount;
    mapping(uint256 id => Game) private _games;
    mapping(bytes32 challengeId => Standing) private _standing;

    event InferenceGameBound(address game);
    event GameOpened(
        uint256 indexed id,
        bytes32 indexed challengeId,
        address indexed challenger,
        address trainer,
        uint16 reportedScoreBps,
        uint32 evalSize
    );
    event CountPosted(uint256 indexed id, uint32 correct, bytes32 predictionsRoot);
    event CountSplit(uint256 indexed id, uint32 lo, uint32 mid, uint32 hi, uint32 left);
    event HalfPicked(uint256 indexed id, uint32 lo, uint32 hi, uint32 count);
    event ExampleProven(uint256 indexed id, uint32 example, int32 prediction, uint256 label, bytes output);
    event PredictionDisputed(uint256 indexed id, uint256 indexed inferenceId);
    event GameResolved(uint256 indexed id, address indexed winner, address indexed loser, string reason);
    event ScoreDisproven(bytes32 indexed challengeId, address indexed trainer, uint256 gameId);
    event TrainerSlashed(bytes32 indexed challengeId, address indexed trainer, uint256 taken);
    event SlashRefused(bytes32 indexed challengeId, address indexed trainer, bytes reason);

    error InvalidGameParameter(string name, uint256 value);
    error NotDeployer(address caller);
    error AlreadyBound(address game);
    error NotInferenceGame(address caller);
    error NotDisputable(bytes32 challengeId, string why);
    error WindowClosed(bytes32 challengeId, uint256 until);
    error FinalLeafNotProven(bytes32 challengeId, uint256 index);
    error UnknownGame(uint256 id);
    error WrongPhase(uint256 id, Phase phase);
    error NotYourMove(address caller, address expected);
    error DeadlinePassed(uint256 id, uint64 deadline);
    error DeadlineNotPassed(uint256 id, uint64 deadline);
    error EvalRootMismatch(uint256 id);
    error CountNotReported(uint256 id, uint256 correct, uint256 reportedScoreBps);
    error BadSplit(uint256 id, uint256 left);
    error PredictionNotProven(uint256 id, uint256 example);
    error CountNotProven(uint256 id, uint256 example, int256 prediction, uint256 label);
    error OutputNotPrediction(uint256 id, uint256 example);
    error OutputMismatch(uint256 id);
    error InputNotExample(uint256 id);
    error InferenceUnresolved(uint256 id, uint256 inferenceId);
    error InsufficientGas(uint256 left, uint256 needed);

    constructor(
        IERC20 token_,
        IScoredRuns jobs_,
        IStaking staking_,
        uint256 moveTimeout_,
        uint256 bond_,
        uint256 slashFraction_,
        uint256 openWindow_
    ) {
        if (moveTimeout_ < 60 || moveTimeout_ > 1 days)
            revert InvalidGameParameter("moveTimeout", moveTimeout_);
        if (slashFraction_ > 1e18) revert InvalidGameParameter("slashFraction", slashFraction_);
        if (openWindow_ < 60 || openWindow_ > 30 days) revert InvalidGameParameter("openWindow", openWindow_);
        if (address(jobs_) == address(0)) revert InvalidGameParameter("jobs", 0);
        token = token_;
        jobs = jobs_;
        challenges = jobs_.challenges();
        tasks = jobs_.tasks();
        staking = staking_;
        moveTimeout = moveTimeout_;
        bond = bond_;
        slashFraction = slashFraction_;
        openWindow = openWindow_;
        _deployer = msg.sender;
    }

    /// @notice Binds the inference game that decides disputed predictions: one whose host is this
    ///         contract. Once, by the deployer.
    function bind(InferenceDisputeGame game) external {
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (address(inference) != address(0)) revert AlreadyBound(address(inference));
        if (address(game.host()) != address(this))
            revert InvalidGameParameter("host", uint160(address(game.host())));
        inference = game;
        emit InferenceGameBound(address(game));
    }

    // --- opening --------------------------------------------------------------------------------

    /// @notice Opens a game on the accuracy job run `challengeId` reports: the run must be judged
    ///         Valid, within `openWindow` of its judgment, and `fin` its final leaf. Pulls the
    ///         caller's bond (approved to this contract). Any account but the trainer may open one;
    ///         several games on one run are independent.
    function open(bytes32 challengeId, FinalLeaf calldata fin) external nonReentrant returns (uint256 id) {
        IJobRegistry.RunRecord memory r = jobs.runOf(challengeId);
        if (r.jobId == 0 || !r.judged) revert NotDisputable(challengeId, "not a judged job run");
        if (r.status != IChallengeManager.Status.Valid) revert NotDisputable(challengeId, "not Valid");
        uint256 until = uint256(r.judgedAt) + openWindow;
        if (block.timestamp > until) revert WindowClosed(challengeId, until);
        IChallengeManager.ChallengeView memory c = challenges.getChallenge(challengeId);
        if (msg.sender == c.trainer) revert NotDisputable(challengeId, "the trainer's own run");
        ITaskRegistry.TrainingSpec memory spec = tasks.getSpec(c.specId);
        if (spec.version != 2) revert NotDisputable(challengeId, "engine version 1");
        uint256 finalIndex = spec.steps / spec.checkpointInterval;
        bytes32 leaf = keccak256(
            bytes.concat(
                keccak256(abi.encode(uint32(finalIndex), fin.weightsHash, fin.parameterRoot, fin.evalRoot))
            )
        );
        if (!MerkleProof.verifyCalldata(fin.proof, c.resultRoot, leaf))
            revert FinalLeafNotProven(challengeId, finalIndex);
        id = ++gameCount;
        Game storage g = _games[id];
        g.challengeId = challengeId;
        g.challenger = msg.sender;
        g.trainer = c.trainer;
        g.evalSize = spec.evalSize;
        g.hi = spec.evalSize;
        g.reportedScoreBps = c.reportedScoreBps;
        g.thetaRoot = fin.parameterRoot;
        g.evalRoot = fin.evalRoot;
        g.datasetRoot = tasks.getDataset(c.specId).evalRoot;
        g.widths = spec.widths;
        _standing[challengeId].pending += 1;
        _next(g, Phase.Count);
        emit GameOpened(id, challengeId, msg.sender, c.trainer, c.reportedScoreBps, spec.evalSize);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    // --- 1. the count ---------------------------------------------------------------------------

    /// @notice The trainer's count of correct predictions, its predictions' root (and, for a run
    ///         whose final leaf commits an evaluation root, the examples root beside it), and its bond.
    function postCount(
        uint256 id,
        uint32 correct,
        bytes32 predictionsRoot,
        bytes32 examplesRoot
    ) external nonReentrant {
        Game storage g = _move(id, Phase.Count);
        if (g.evalRoot != 0 && keccak256(abi.encodePacked(predictionsRoot, examplesRoot)) != g.evalRoot)
            revert EvalRootMismatch(id);
        if (correct > g.evalSize || (uint256(correct) * BPS) / g.evalSize != g.reportedScoreBps)
            revert CountNotReported(id, correct, g.reportedScoreBps);
        g.predictionsRoot = predictionsRoot;
        g.count = correct;
        g.defenderBonded = true;
        _next(g, g.hi - g.lo == 1 ? Phase.Example : Phase.Split);
        emit CountPosted(id, correct, predictionsRoot);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    // --- 2. bisection over the examples ---------------------------------------------------------

    /// @notice The trainer's count of correct predictions in the left half [lo, mid) of the
    ///         disputed range (the right half holds the rest).
    function split(uint256 id, uint32 left) external {
        Game storage g = _move(id, Phase.Split);
        uint32 mid = Bisection.mid(g.lo, g.hi);
        if (left > mid - g.lo || left > g.count || g.count - left > g.hi - mid) revert BadSplit(id, left);
        g.left = left;
        _next(g, Phase.Pick);
        emit CountSplit(id, g.lo, mid, g.hi, left);
    }

    /// @notice The challenger picks the half whose count it disputes.
    function pick(uint256 id, bool right) external {
        Game storage g = _move(id, Phase.Pick);
        uint32 mid = Bisection.mid(g.lo, g.hi);
        if (right) (g.lo, g.count) = (mid, g.count - g.left);
        else (g.hi, g.count) = (mid, g.left);
        _next(g, g.hi - g.lo == 1 ? Phase.Example : Phase.Split);
        emit HalfPicked(id, g.lo, g.hi, g.count);
    }

    // --- 3. the example -------------------------------------------------------------------------

    /// @notice The trainer proves the disputed example: its prediction under the predictions root,
    ///         its label and features root under the dataset's held-out root, that its count (0 or
    ///         1) is whether they are equal, and output scores whose argmax is the prediction.
    function proveExample(uint256 id, ExampleEvidence calldata ev) external {
        Game storage g = _move(id, Phase.Example);
        uint256 e = g.lo;
        uint256 at = 4 * e;
        (, uint256 depth) = Bisection.treeShape(4 * uint256(g.evalSize));
        uint256 leafIndex = at / Bisection.LEAF_BYTES;
        if (!Bisection.verify(g.predictionsRoot, depth, leafIndex, ev.predictions, ev.siblings))
            revert PredictionNotProven(id, e);
        uint256 o = at % Bisection.LEAF_BYTES;
        int32 prediction = int32(
            uint32(uint8(ev.predictions[o])) |
                (uint32(uint8(ev.predictions[o + 1])) << 8) |
                (uint32(uint8(ev.predictions[o + 2])) << 16) |
                (uint32(uint8(ev.predictions[o + 3])) << 24)
        );
        (uint256 label, bytes32 featuresRoot) = DataRules.example(
            g.datasetRoot,
            e,
            ev.example,
            ev.exampleProof
        );
        bool correct = prediction >= 0 && uint256(int256(prediction)) == label;
        if ((correct ? 1 : 0) != g.count) revert CountNotProven(id, e, prediction, label);
        if (ev.output.length != g.widths[g.widths.length - 1] || _argmax(ev.output) != int256(prediction))
            revert OutputNotPrediction(id, e);
        g.prediction = prediction;
        g.featuresRoot = featuresRoot;
        g.outputHash = keccak256(ev.output);
        _next(g, Phase.Dispute);
        emit ExampleProven(id, uint32(e), prediction, label, ev.output);
    }

    // --- 4. the prediction ----------------------------------------------------------------------

    /// @notice The challenger disputes the trainer's output scores for the example: opens the
    ///         inference game on Θ, the example's features `input` (its byte tree's root must be the
    ///         proven features root) and `output` (the scores the trainer posted). The inference
    ///         game pulls the challenger's bond for it (approved to that game).
    function disputePrediction(
        uint256 id,
        bytes calldata input,
        bytes calldata output
    ) external nonReentrant {
        Game storage g = _move(id, Phase.Dispute);
        if (keccak256(output) != g.outputHash) revert OutputMismatch(id);
        if (input.length != g.widths[0] || Bisection.treeRoot(input) != g.featuresRoot)
            revert InputNotExample(id);
        g.phase = Phase.Inference;
        uint256 inferenceId = inference.open(
            bytes32(id),
            msg.sender,
            g.trainer,
            g.widths,
            g.thetaRoot,
            input,
            output
        );
        g.inferenceId = inferenceId;
        emit PredictionDisputed(id, inferenceId);
    }

    /// @inheritdoc IInferenceGameHost
    function onInferenceGameResolved(bytes32 delivery, address, bool challengerWins) external {
        if (msg.sender != address(inference)) revert NotInferenceGame(msg.sender);
        Game storage g = _games[uint256(delivery)];
        if (g.phase != Phase.Inference) return;
        _resolve(
            uint256(delivery),
            g,
            challengerWins,
            challengerWins ? "prediction refuted" : "prediction stands"
        );
    }

    /// @notice Resolves a game whose inference game resolved without reaching this contract (its
    ///         call back refused). Anyone may call it.
    function syncInference(uint256 id) external nonReentrant {
        Game storage g = _games[id];
        if (g.phase != Phase.Inference) revert WrongPhase(id, g.phase);
        InferenceDisputeGame.Game memory ig = inference.gameOf(g.inferenceId);
        if (ig.phase != InferenceDisputeGame.Phase.Resolved) revert InferenceUnresolved(id, g.inferenceId);
        bool challengerWins = ig.winner == g.challenger;
        _resolve(id, g, challengerWins, challengerWins ? "prediction refuted" : "prediction stands");
    }

    /// @notice Resolves game `id` against the party whose move deadline has passed. Anyone.
    function timeout(uint256 id) external nonReentrant {
        Game storage g = _games[id];
        if (g.phase == Phase.None) revert UnknownGame(id);
        if (g.phase == Phase.Resolved || g.phase == Phase.Inference) revert WrongPhase(id, g.phase);
        if (block.timestamp <= g.deadline) revert DeadlineNotPassed(id, g.deadline);
        bool challengerWins = _mover(g) == g.trainer;
        _resolve(id, g, challengerWins, challengerWins ? "timeout: trainer" : "timeout: challenger");
    }

    // --- views ----------------------------------------------------------------------------------

    function gameOf(uint256 id) external view returns (Game memory) {
        return _games[id];
    }

    /// @notice Who must move next in game `id` (zero once resolved or while its inference game runs).
    function moverOf(uint256 id) external view returns (address) {
        Game storage g = _games[id];
        if (g.phase == Phase.None || g.phase == Phase.Resolved || g.phase == Phase.Inference)
            return address(0);
        return _mover(g);
    }

    /// @inheritdoc IScoreGame
    function standing(bytes32 challengeId) external view returns (uint32 pending, bool disproven) {
        Standing storage s = _standing[challengeId];
        return (s.pending, s.disproven);
    }

    /// @notice Until when a game may be opened on job run `challengeId` (0: not a judged job run).
    function openUntil(bytes32 challengeId) external view returns (uint256) {
        IJobRegistry.RunRecord memory r = jobs.runOf(challengeId);
        return r.judged ? uint256(r.judgedAt) + openWindow : 0;
    }

    /// @notice The longest a game can last: every move, and every move of its inference game,
    ///         taking its whole timeout.
    function maxDuration() public view returns (uint256) {
        uint256 inner = address(inference) == address(0) ? 0 : inference.maxDuration();
        return MAX_MOVES * moveTimeout + inner;
    }

    /// @inheritdoc ISlashWindow
    /// @dev Zero when the game slashes nobody (`slashFraction` 0: a won game disqualifies the run
    ///      and takes the trainer's bond only).
    function slashWindow() external view returns (uint256) {
        if (slashFraction == 0 || address(staking) == address(0)) return 0;
        return challenges.slashWindow() + openWindow + maxDuration();
    }

    // --- internals ------------------------------------------------------------------------------

    function _mover(Game storage g) private view returns (address) {
        Phase p = g.phase;
        return p == Phase.Pick || p == Phase.Dispute ? g.challenger : g.trainer;
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

    /// The index of the largest score (ties to the lowest class), as the engine's `argmax`.
    function _argmax(bytes calldata y) private pure returns (int256 best) {
        int256 top = type(int256).min;
        for (uint256 c; c < y.length; ++c) {
            int256 v = int256(int8(uint8(y[c])));
            if (v > top) (top, best) = (v, int256(c));
        }
    }

    function _resolve(uint256 id, Game storage g, bool challengerWins, string memory reason) private {
        (address winner, address loser) = challengerWins
            ? (g.challenger, g.trainer)
            : (g.trainer, g.challenger);
        g.phase = Phase.Resolved;
        g.winner = winner;
        Standing storage s = _standing[g.challengeId];
        s.pending -= 1;
        emit GameResolved(id, winner, loser, reason);
        token.safeTransfer(winner, g.defenderBonded ? 2 * bond : bond);
        if (!challengerWins) return;
        if (!s.disproven) {
            s.disproven = true;
            emit ScoreDisproven(g.challengeId, g.trainer, id);
        }
        if (s.slashed || slashFraction == 0 || address(staking) == address(0)) return;
        s.slashed = true;
        address[] memory reporters = new address[](1);
        reporters[0] = g.challenger;
        // enough gas that a refusal is Staking's, not a caller starving the call
        if (gasleft() < SLASH_GAS) revert InsufficientGas(gasleft(), SLASH_GAS);
        uint256 round = uint256(g.challengeId) & type(uint96).max;
        try staking.slash(g.trainer, slashFraction, reporters, false, round) returns (uint256 taken) {
            emit TrainerSlashed(g.challengeId, g.trainer, taken);
        } catch (bytes memory why) {
            emit SlashRefused(g.challengeId, g.trainer, why);
        }
    }
}
