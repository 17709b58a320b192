// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IStaking} from "../interfaces/IStaking.sol";

/// @notice The reward side of Staking the distributor calls.
interface IStakingRewards {
    function fundEpoch(
        uint256 epoch,
        uint256 trainerBudget,
        uint256 validatorBudget,
        uint256 trainerPoints,
        uint256 validatorPoints,
        uint256 nextCloseAt
    ) external;

    function takeRewardDust() external returns (uint256);

    function notifyReward(address operator, uint256 amount) external;

    function settle(address operator, uint256 throughEpoch) external returns (uint256);
}

/// @title RewardDistributor
/// @notice The money flow of PoAI. A treasury funds per-epoch emissions; the coordinator pays
///         usage fees. Once the challenge manager's points of an epoch are final, the epoch is
///         closed (by anyone with `closeEpochs`, or by the first action on any Staking pool that
///         needs it): it takes its emission from the reserve, the protocol's cut of that fresh
///         emission goes to the treasury, and the rest plus the carry is split between the roles by
///         FLock's formula `validators = R * (gamma + (1 - 2 gamma) * S_v / (S_t + S_v))`, trainers
///         the rest, with `S_t`, `S_v` the role stakes at the epoch's start. Each role's budget and
///         total points go to Staking (`fundEpoch`), which credits every pool with its share by
///         points the first time the pool is touched: nobody settles anything by hand.
///
///         A usage fee is split at once: the delivering node's fee and the model's royalty go to
///         their pools for the current epoch (`Staking.notifyReward`), the rest to the treasury.
///
/// Invariants (pinned by tests):
///  - conservation, to the wei: funded + fees + returned = forwarded to Staking + protocol
///    payments + job owners' royalties + reserve + carry, and this contract holds exactly
///    reserve + carry;
///  - the protocol's cut applies to fresh emission only, never again to the carry;
///  - epochs close in order, each once; what a role cannot receive (no stake, no points) and what
///    Staking could not give anyone (dust) joins the carry of the next epoch closed: nothing is stuck;
///  - every action is O(1), closing k epochs at once is O(k).
contract RewardDistributor is AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_EMISSION_PER_EPOCH = 1e30;
    uint256 public constant MAX_NOTICE_EPOCHS = 90;
    /// @notice Most epochs one call closes.
    uint256 public constant MAX_CLOSE_EPOCHS = 256;

    struct Params {
        uint16 gammaBps; // FLock's gamma, at most 50%
        uint16 protocolCutBps; // protocol's cut of each epoch's fresh emission, at most 20%
        uint16 nodeFeeBps; // share of a usage fee paid to the delivering node's pool
        uint16 royaltyBps; // share of a usage fee paid to the model's trainer pool (the rest: protocol)
        uint16 noticeEpochs; // epochs between an emission change and its effect
        address treasury; // receives the protocol's cuts
    }

    /// One closed epoch's budgets, as funded in Staking, and the points they are shared by.
    struct Epoch {
        uint128 trainerBudget;
        uint128 validatorBudget;
        uint128 trainerPoints;
        uint128 validatorPoints;
        bool closed;
        uint64 closedIn; // the epoch during which it was closed
    }

    IERC20 public immutable token;
    IStaking public immutable staking;
    IChallengeManager public immutable challenges;
    uint256 public immutable firstEpoch;

    Params private _params;
    uint256 public emissionPerEpoch;
    uint256 public pendingEmission;
    uint256 public pendingEmissionFrom; // 0: no change pending
    uint256 public reserve; // funded emissions not yet assigned to an epoch
    uint256 public carry; // unallocated rewards, added to the next closed epoch
    uint256 public nextEpochToClose;
    mapping(uint256 epoch => Epoch) private _epochs;

    /// @notice How the royalty of a job's model is split: `ownerBps` of it to the job owner (paid at
    ///         once), the rest to the trainer's pool. Keyed by the model's royalty account
    ///         (`ModelRegistry.trainerOf` of a job's model); set once, by the job registry.
    struct RoyaltySplit {
        address trainer;
        uint16 ownerBps;
        address owner;
    }

    mapping(address account => RoyaltySplit) private _royaltySplits;

    // Accounting the conservation invariant is written against.
    uint256 public totalFunded;
    uint256 public totalFees;
    uint256 public totalForwarded; // epoch budgets and usage fees sent to Staking
    uint256 public totalReturned; // dust Staking sent back (rewards nobody could earn)
    uint256 public totalToProtocol;
    uint256 public totalToOwners; // job owners' shares of their models' royalties

    event Funded(address indexed from, uint256 amount);
    event EmissionChangeScheduled(uint256 amount, uint256 fromEpoch);
    event EpochClosed(
        uint256 indexed epoch,
        uint256 budget,
        uint256 protocolCut,
        uint256 trainerBudget,
        uint256 validatorBudget,
        uint256 carried
    );
    event UsageFee(
        address indexed node,
        address indexed modelTrainer,
        uint256 amount,
        uint256 nodeFee,
        uint256 royalty
    );
    /// @notice A usage fee's part for `operator` could not go to a pool (not an operator): carried.
    event UsageFeeCarried(address indexed operator, uint256 amount);
    event ParamsUpdated(Params params);
    /// @notice A job payment credited to `operator`'s pool (by the job registry).
    event FeesCredited(address indexed operator, uint256 amount);
    event RoyaltySplitSet(
        address indexed account,
        address indexed trainer,
        address indexed owner,
        uint16 ownerBps
    );
    event RoyaltySplitPaid(address indexed account, uint256 toTrainer, uint256 toOwner);

    error ZeroAmount();
    error EpochNotFinal(uint256 epoch, uint256 closesAt);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
    error EmissionChangeInForce(uint256 fromEpoch, uint256 nextEpochToClose);
    error RoyaltySplitAlreadySet(address account);
    error LengthMismatch(uint256 expected, uint256 actual);

    constructor(
        IStaking staking_,
        IChallengeManager challenges_,
        address authority,
        uint256 emission,
        Params memory params_
    ) AccessManaged(authority) {
        staking = staking_;
        challenges = challenges_;
        token = IERC20(staking_.token());
        firstEpoch = staking_.currentEpoch();
        nextEpochToClose = firstEpoch;
        if (emission > MAX_EMISSION_PER_EPOCH)
            revert InvalidParameter("emission", emission, 0, MAX_EMISSION_PER_EPOCH);
        emissionPerEpoch = emission;
        _setParams(params_);
        token.forceApprove(address(staking_), type(uint256).max);
    }

    // =========================================================================================
    // Funding
    // =========================================================================================

    /// @notice Adds `amount` (pulled from the caller) to the emission reserve. Anyone may fund.
    function fund(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        reserve += amount;
        totalFunded += amount;
        emit Funded(msg.sender, amount);
    }

    /// @notice Schedules a new emission per epoch, effective `noticeEpochs` epochs from now. It
    ///         replaces a scheduled change that is not in force yet; a change already in force
    ///         (its first epoch has started) must first be applied by closing that epoch.
    function setEmission(uint256 amount) external restricted {
        if (amount > MAX_EMISSION_PER_EPOCH)
            revert InvalidParameter("emission", amount, 0, MAX_EMISSION_PER_EPOCH);
        uint256 current = staking.currentEpoch();
        uint256 scheduled = pendingEmissionFrom;
        if (scheduled != 0 && scheduled <= current) revert EmissionChangeInForce(scheduled, nextEpochToClose);
        uint256 from = current + _params.noticeEpochs;
        pendingEmission = amount;
        pendingEmissionFrom = from;
        emit EmissionChangeScheduled(amount, from);
    }

    /// @notice A usage fee from the coordinator: the delivering node's share and the model royalty
    ///         go to their Staking pools for the current epoch (shared by the shares that existed
    ///         when it began); the rest goes to the protocol. A part whose receiver has no pool is
    ///         carried into the next epoch's budget.
    function notifyUsage(
        address node,
        address modelTrainer,
        uint256 amount
    ) external restricted nonReentrant {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        totalFees += amount;
        uint256 nodeFee = (amount * _params.nodeFeeBps) / BPS;
        uint256 royalty = (amount * _params.royaltyBps) / BPS;
        emit UsageFee(node, modelTrainer, amount, nodeFee, royalty);
        RoyaltySplit memory split = _royaltySplits[modelTrainer];
        if (split.trainer != address(0)) {
            // A job's model: the owner's share now, the trainer's into its pool.
            uint256 toOwner = (royalty * split.ownerBps) / BPS;
            emit RoyaltySplitPaid(modelTrainer, royalty - toOwner, toOwner);
            _payPool(node, nodeFee);
            _payPool(split.trainer, royalty - toOwner);
            if (toOwner != 0) {
                totalToOwners += toOwner;
                token.safeTransfer(split.owner, toOwner);
            }
        } else if (node == modelTrainer) {
            _payPool(node, nodeFee + royalty);
        } else {
            _payPool(node, nodeFee);
            _payPool(modelTrainer, royalty);
        }
        _payProtocol(amount - nodeFee - royalty);
    }

    /// @notice Credits job payments (pulled from the caller, the job registry) to operators' Staking
    ///         pools for the current epoch (the operator's commission, then its delegators); a part
    ///         whose receiver has no pool is carried into the next epoch's budget.
    function creditFees(
        address[] calldata operators,
        uint256[] calldata amounts
    ) external restricted nonReentrant {
        if (operators.length != amounts.length) revert LengthMismatch(operators.length, amounts.length);
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) total += amounts[i];
        if (total == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), total);
        totalFees += total;
        for (uint256 i; i < operators.length; ++i) {
            emit FeesCredited(operators[i], amounts[i]);
            _payPool(operators[i], amounts[i]);
        }
    }

    /// @notice Splits the royalties of the model whose royalty account is `account` between
    ///         `trainer` (its pool) and the job `owner` (`ownerBps`, paid at once). Once per account.
    function setRoyaltySplit(
        address account,
        address trainer,
        address owner,
        uint16 ownerBps
    ) external restricted {
        if (account == address(0)) revert InvalidParameter("account", 0, 1, type(uint160).max);
        if (trainer == address(0)) revert InvalidParameter("trainer", 0, 1, type(uint160).max);
        if (owner == address(0)) revert InvalidParameter("owner", 0, 1, type(uint160).max);
        if (ownerBps > BPS) revert InvalidParameter("ownerBps", ownerBps, 0, BPS);
        if (_royaltySplits[account].trainer != address(0)) revert RoyaltySplitAlreadySet(account);
        _royaltySplits[account] = RoyaltySplit(trainer, ownerBps, owner);
        emit RoyaltySplitSet(account, trainer, owner, ownerBps);
    }

    // =========================================================================================
    // Epochs
    // =========================================================================================

    /// @notice Closes the next `maxEpochs` epochs whose points are final (in order); reverts when
    ///         none is final. Staking does this by itself when a pool needs it.
    function closeEpochs(uint256 maxEpochs) external nonReentrant returns (uint256 closed) {
        closed = _closeFinal(maxEpochs);
        if (closed == 0) revert EpochNotFinal(nextEpochToClose, challenges.epochClosesAt(nextEpochToClose));
    }

    /// @notice Closes up to `maxEpochs` epochs whose points are final; returns when the next one
    ///         will be. Never reverts for want of a final epoch. Permissionless.
    function closeDue(uint256 maxEpochs) external nonReentrant returns (uint256 nextCloseAt) {
        _closeFinal(maxEpochs);
        return challenges.epochClosesAt(nextEpochToClose);
    }

    /// @notice Credits `operator`'s Staking pool with the closed epochs up to `epoch` (closing the
    ///         final ones first). Permissionless and never needed: every action on the pool does it.
    /// @return epochs how many epochs were credited
    function settle(address operator, uint256 epoch) external returns (uint256 epochs) {
        return IStakingRewards(address(staking)).settle(operator, epoch);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The royalty split of `account` (trainer 0: none, the royalty is the account's own).
    function royaltySplitOf(address account) external view returns (RoyaltySplit memory) {
        return _royaltySplits[account];
    }

    function getEpoch(uint256 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    /// @notice The emission that epoch `epoch` will take from the reserve.
    function emissionFor(uint256 epoch) public view returns (uint256) {
        uint256 from = pendingEmissionFrom;
        return from != 0 && epoch >= from ? pendingEmission : emissionPerEpoch;
    }

    /// @notice The validators' part of `budget` for role stakes `st`, `sv` (FLock's formula).
    function validatorShare(uint256 budget, uint256 st, uint256 sv) public view returns (uint256) {
        uint256 g = _params.gammaBps;
        if (st + sv == 0) return 0;
        // R * (g + (1 - 2g) * sv / (st + sv)), in basis points, rounded down
        return Math.mulDiv(budget, g * (st + sv) + (BPS - 2 * g) * sv, BPS * (st + sv));
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _closeFinal(uint256 maxEpochs) private returns (uint256 closed) {
        if (maxEpochs > MAX_CLOSE_EPOCHS) maxEpochs = MAX_CLOSE_EPOCHS;
        uint256 e = nextEpochToClose;
        uint256 current = staking.currentEpoch();
        while (closed < maxEpochs && challenges.isEpochFinal(e)) {
            _close(e, current);
            ++e;
            ++closed;
        }
        if (closed != 0) nextEpochToClose = e;
    }

    function _close(uint256 e, uint256 current) private {
        uint256 dust = IStakingRewards(address(staking)).takeRewardDust();
        if (dust != 0) {
            carry += dust;
            totalReturned += dust;
        }
        if (pendingEmissionFrom != 0 && e >= pendingEmissionFrom) {
            emissionPerEpoch = pendingEmission;
            pendingEmissionFrom = 0;
        }
        uint256 take = Math.min(emissionPerEpoch, reserve);
        reserve -= take;
        // The protocol's cut applies to fresh emission only: the carry was cut when it was emitted.
        uint256 cut = (take * _params.protocolCutBps) / BPS;
        uint256 carried = carry;
        uint256 rest = take - cut + carried;
        uint256 st = staking.roleStakeAt(IStaking.Role.Trainer, e);
        uint256 sv = staking.roleStakeAt(IStaking.Role.Validator, e);
        uint256 v = validatorShare(rest, st, sv);
        uint256 t = st + sv == 0 ? 0 : rest - v;
        uint256 left = rest - v - t;
        uint256 tp = challenges.epochTotalPoints(e, IStaking.Role.Trainer);
        uint256 vp = challenges.epochTotalPoints(e, IStaking.Role.Validator);
        if (tp == 0) (left, t) = (left + t, 0);
        if (vp == 0) (left, v) = (left + v, 0);
        carry = left;
        _epochs[e] = Epoch(uint128(t), uint128(v), uint128(tp), uint128(vp), true, uint64(current));
        totalForwarded += t + v;
        emit EpochClosed(e, take + carried, cut, t, v, left);
        IStakingRewards(address(staking)).fundEpoch(e, t, v, tp, vp, challenges.epochClosesAt(e + 1));
        _payProtocol(cut);
    }

    /// Adds `amount` to `operator`'s pool for the current epoch; carries it if Staking refuses.
    function _payPool(address operator, uint256 amount) private {
        if (amount == 0) return;
        try IStakingRewards(address(staking)).notifyReward(operator, amount) {
            totalForwarded += amount;
        } catch {
            carry += amount;
            emit UsageFeeCarried(operator, amount);
        }
    }

    function _payProtocol(uint256 amount) private {
        if (amount == 0) return;
        totalToProtocol += amount;
        token.safeTransfer(_params.treasury, amount);
    }

    function _setParams(Params memory p) private {
        _bound("gammaBps", p.gammaBps, 0, BPS / 2);
        _bound("protocolCutBps", p.protocolCutBps, 0, 2_000);
        _bound("nodeFeeBps", p.nodeFeeBps, 0, BPS);
        _bound("royaltyBps", p.royaltyBps, 0, BPS - p.nodeFeeBps);
        _bound("noticeEpochs", p.noticeEpochs, 1, MAX_NOTICE_EPOCHS);
        if (p.treasury == address(0)) revert InvalidParameter("treasury", 0, 1, type(uint160).max);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
