// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IStaking} from "../interfaces/IStaking.sol";

/// @title RewardDistributor
/// @notice The money flow of PoAI. A treasury funds per-epoch emissions; the coordinator pays
///         usage fees. When the challenge manager's points of an epoch are final, `closeEpoch`
///         takes the epoch's emission (plus anything carried), cuts the protocol's share and splits
///         the rest between the roles by FLock's formula
///         `validators = R * (gamma + (1 - 2 gamma) * S_v / (S_t + S_v))`, trainers the rest, with
///         `S_t`, `S_v` the role stakes at the epoch's start. Each operator then `settle`s its share,
///         proportional to its points, into its Staking pool (commission, then reward-per-share).
///
/// Invariants (pinned by tests):
///  - conservation: funded + fees = reserve + carry + open epoch budgets not yet settled
///    + pending fees + forwarded to Staking + protocol payments + job owners' royalties
///    (+ dust that `expire` returns to carry);
///  - an operator's share of an epoch is paid at most once; the order of settlements changes nobody's amount;
///  - a role's settlements of an epoch never exceed its budget, whatever the points read at settlement;
///  - nothing is stuck: what a role or an operator cannot receive (no points, jailed, never settled
///    within `settleWindow` epochs, rounding) is carried into the next epoch's budget;
///  - every action is O(1) (closing k epochs at once is O(k)).
contract RewardDistributor is AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_EMISSION_PER_EPOCH = 1e30;
    uint256 public constant MAX_NOTICE_EPOCHS = 90;
    uint256 public constant MAX_SETTLE_WINDOW = 3650;

    struct Params {
        uint16 gammaBps; // FLock's gamma, at most 50%
        uint16 protocolCutBps; // protocol's cut of each epoch's emission, at most 20%
        uint16 nodeFeeBps; // share of a usage fee paid to the delivering node's pool
        uint16 royaltyBps; // share of a usage fee paid to the model's trainer pool (the rest: protocol)
        uint16 noticeEpochs; // epochs between an emission change and its effect
        uint16 settleWindow; // epochs after its close during which an epoch can be settled
        address treasury; // receives the protocol's cuts
    }

    /// One closed epoch's budgets and what has been settled from them.
    struct Epoch {
        uint128 trainerBudget;
        uint128 validatorBudget;
        uint128 trainerSettled;
        uint128 validatorSettled;
        bool closed;
        bool expired;
        uint64 closedIn; // the epoch during which it was closed: its settle window starts there
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
    mapping(uint256 epoch => mapping(uint256 word => uint256)) private _settled; // by operator id
    mapping(address operator => uint256) public pendingFees;

    /// @notice How the royalty of a job's model is split: `ownerBps` of it to the job owner (paid at
    ///         once), the rest to the trainer's pending fees. Keyed by the model's royalty account
    ///         (`ModelRegistry.royaltyAccountOf`); set once by the job registry.
    struct RoyaltySplit {
        address trainer;
        uint16 ownerBps;
        address owner;
    }

    mapping(address account => RoyaltySplit) private _royaltySplits;

    // Ghost-free accounting the conservation invariant is written against.
    uint256 public totalFunded;
    uint256 public totalFees;
    uint256 public totalForwarded; // sent to Staking pools
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
    event Settled(uint256 indexed epoch, address indexed operator, uint256 amount, bool paid);
    event EpochExpired(uint256 indexed epoch, uint256 carried);
    event UsageFee(
        address indexed node,
        address indexed modelTrainer,
        uint256 amount,
        uint256 nodeFee,
        uint256 royalty
    );
    event FeesSettled(address indexed operator, uint256 amount, bool paid);
    event FeesCredited(address indexed operator, uint256 amount);
    event RoyaltySplitSet(address indexed account, address indexed trainer, address indexed owner, uint16 ownerBps);
    event RoyaltySplitPaid(address indexed account, uint256 toTrainer, uint256 toOwner);
    event ParamsUpdated(Params params);

    error ZeroAmount();
    error EpochNotFinal(uint256 epoch, uint256 closesAt);
    error EpochNotClosed(uint256 epoch);
    error EpochExpiredError(uint256 epoch);
    error SettleWindowOpen(uint256 epoch, uint256 untilEpoch);
    error AlreadySettled(uint256 epoch, address operator);
    error NothingToSettle(uint256 epoch, address operator);
    error NotAnOperator(address account);
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

    /// @notice A usage fee from the coordinator: the delivering node's share and the model
    ///         royalty wait in `pendingFees` for `settleFees`; the rest goes to the protocol.
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
        pendingFees[node] += nodeFee;
        emit UsageFee(node, modelTrainer, amount, nodeFee, royalty);
        RoyaltySplit memory split = _royaltySplits[modelTrainer];
        if (split.trainer == address(0)) {
            pendingFees[modelTrainer] += royalty;
        } else {
            // A job's model: the owner's share now, the trainer's into its pending fees.
            uint256 toOwner = (royalty * split.ownerBps) / BPS;
            pendingFees[split.trainer] += royalty - toOwner;
            emit RoyaltySplitPaid(modelTrainer, royalty - toOwner, toOwner);
            if (toOwner != 0) {
                totalToOwners += toOwner;
                token.safeTransfer(split.owner, toOwner);
            }
        }
        _payProtocol(amount - nodeFee - royalty);
    }

    /// @notice Credits job payments (pulled from the caller, the job registry) to operators'
    ///         pending fees, which `settleFees` forwards into their pools (commission, delegators).
    function creditFees(
        address[] calldata operators,
        uint256[] calldata amounts
    ) external restricted nonReentrant {
        if (operators.length != amounts.length) revert LengthMismatch(operators.length, amounts.length);
        uint256 total;
        for (uint256 i; i < operators.length; ++i) {
            pendingFees[operators[i]] += amounts[i];
            total += amounts[i];
            emit FeesCredited(operators[i], amounts[i]);
        }
        if (total == 0) revert ZeroAmount();
        totalFees += total;
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @notice Splits the royalties of the model whose royalty account is `account` between
    ///         `trainer` (its pending fees) and the job `owner` (`ownerBps`, paid at once). Once per account.
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

    /// @notice Closes the next `maxEpochs` epochs whose points are final (in order).
    function closeEpochs(uint256 maxEpochs) external nonReentrant returns (uint256 closed) {
        uint256 e = nextEpochToClose;
        uint256 current = staking.currentEpoch();
        while (closed < maxEpochs && challenges.isEpochFinal(e)) {
            _close(e, current);
            ++e;
            ++closed;
        }
        if (closed == 0) revert EpochNotFinal(e, challenges.epochClosesAt(e));
        nextEpochToClose = e;
    }

    /// @notice Pays `operator` its share of `epoch` into its Staking pool. Permissionless, O(1).
    ///         A jailed operator earns nothing: its share is carried into the next epoch.
    function settle(address operator, uint256 epoch) external nonReentrant returns (uint256 amount) {
        Epoch storage ep = _epochs[epoch];
        if (!ep.closed) revert EpochNotClosed(epoch);
        if (ep.expired) revert EpochExpiredError(epoch);
        IStaking.OperatorState memory s = staking.operatorState(operator, epoch);
        if (s.role == IStaking.Role.None) revert NotAnOperator(operator);
        uint256 word = s.id >> 8;
        uint256 bit = 1 << (s.id & 255);
        uint256 flags = _settled[epoch][word];
        if (flags & bit != 0) revert AlreadySettled(epoch, operator);
        amount = _share(ep, s.role, operator, epoch);
        if (amount == 0) revert NothingToSettle(epoch, operator);
        _settled[epoch][word] = flags | bit;
        if (s.role == IStaking.Role.Trainer) ep.trainerSettled += uint128(amount);
        else ep.validatorSettled += uint128(amount);
        bool paid = _forward(operator, amount);
        emit Settled(epoch, operator, amount, paid);
    }

    /// @notice After the settle window (`settleWindow` epochs after the one in which `epoch` was
    ///         closed), returns whatever its operators did not settle (and the rounding dust) to the carry.
    function expire(uint256 epoch) external nonReentrant {
        Epoch storage ep = _epochs[epoch];
        if (!ep.closed) revert EpochNotClosed(epoch);
        if (ep.expired) revert EpochExpiredError(epoch);
        uint256 until = uint256(ep.closedIn) + _params.settleWindow;
        if (staking.currentEpoch() <= until) revert SettleWindowOpen(epoch, until);
        ep.expired = true;
        uint256 left =
            uint256(ep.trainerBudget) - ep.trainerSettled + ep.validatorBudget - ep.validatorSettled;
        carry += left;
        emit EpochExpired(epoch, left);
    }

    /// @notice Forwards `operator`'s pending usage fees into its pool (carried if it is jailed).
    function settleFees(address operator) external nonReentrant returns (uint256 amount) {
        amount = pendingFees[operator];
        if (amount == 0) revert NothingToSettle(0, operator);
        pendingFees[operator] = 0;
        bool paid = _forward(operator, amount);
        emit FeesSettled(operator, amount, paid);
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

    /// @notice What `settle(operator, epoch)` would pay now (0 if nothing, already settled or not closed).
    function pendingSettlement(address operator, uint256 epoch) external view returns (uint256) {
        Epoch storage ep = _epochs[epoch];
        if (!ep.closed || ep.expired) return 0;
        IStaking.OperatorState memory s = staking.operatorState(operator, epoch);
        if (s.role == IStaking.Role.None || _settled[epoch][s.id >> 8] & (1 << (s.id & 255)) != 0) return 0;
        return _share(ep, s.role, operator, epoch);
    }

    function isSettled(address operator, uint256 epoch) external view returns (bool) {
        uint32 id = staking.operatorState(operator, epoch).id;
        return id != 0 && _settled[epoch][id >> 8] & (1 << (id & 255)) != 0;
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

    function _close(uint256 e, uint256 current) private {
        if (pendingEmissionFrom != 0 && e >= pendingEmissionFrom) {
            emissionPerEpoch = pendingEmission;
            pendingEmissionFrom = 0;
        }
        uint256 take = Math.min(emissionPerEpoch, reserve);
        reserve -= take;
        uint256 budget = take + carry;
        carry = 0;
        uint256 cut = (budget * _params.protocolCutBps) / BPS;
        uint256 rest = budget - cut;
        uint256 st = staking.roleStakeAt(IStaking.Role.Trainer, e);
        uint256 sv = staking.roleStakeAt(IStaking.Role.Validator, e);
        uint256 v = validatorShare(rest, st, sv);
        uint256 t = st + sv == 0 ? 0 : rest - v;
        uint256 carried = rest - v - t;
        if (challenges.epochTotalPoints(e, IStaking.Role.Trainer) == 0) (carried, t) = (carried + t, 0);
        if (challenges.epochTotalPoints(e, IStaking.Role.Validator) == 0) (carried, v) = (carried + v, 0);
        carry = carried;
        Epoch storage ep = _epochs[e];
        ep.trainerBudget = uint128(t);
        ep.validatorBudget = uint128(v);
        ep.closed = true;
        ep.closedIn = uint64(current);
        emit EpochClosed(e, budget, cut, t, v, carried);
        if (cut != 0) _payProtocol(cut);
    }

    function _share(
        Epoch storage ep,
        IStaking.Role role,
        address operator,
        uint256 epoch
    ) private view returns (uint256) {
        uint256 points = challenges.epochPoints(epoch, operator);
        if (points == 0) return 0;
        uint256 total = challenges.epochTotalPoints(epoch, role);
        (uint256 budget, uint256 settled) = role == IStaking.Role.Trainer
            ? (uint256(ep.trainerBudget), uint256(ep.trainerSettled))
            : (uint256(ep.validatorBudget), uint256(ep.validatorSettled));
        // Points read live: a role's settlements never exceed its budget, even if points an epoch
        // earned after its close (a governance change of the challenge windows re-opening its
        // finalization) make the shares add up to more than the whole.
        uint256 share = points >= total ? budget : Math.mulDiv(budget, points, total);
        return Math.min(share, budget - settled);
    }

    /// Pays into the operator's pool; if Staking refuses (a jailed operator), carries it instead.
    function _forward(address operator, uint256 amount) private returns (bool paid) {
        try staking.notifyReward(operator, amount) {
            totalForwarded += amount;
            return true;
        } catch {
            carry += amount;
            return false;
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
        _bound("settleWindow", p.settleWindow, 1, MAX_SETTLE_WINDOW);
        if (p.treasury == address(0)) revert InvalidParameter("treasury", 0, 1, type(uint160).max);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
