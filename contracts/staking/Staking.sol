// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";

/// @title Staking
/// @notice Node operators (trainers and validators) stake here; delegators buy shares of their
///         pools. Slashes and rewards reach every delegator in O(1): a slash lowers the pool's share
///         price, a reward raises the pool's reward-per-share accumulator.
///
/// Invariants (each one is pinned by the test suite):
///  I1  token balance of this contract >= sum over pools of (tokens + unbondingTokens)
///      + rewards notified - rewards claimed - rewards burned; the difference is rounding dust.
///  I2  a pool with shares never has a zero share price: a slash always leaves at least
///      `shares / MAX_SHARES_PER_TOKEN` tokens (rounded up), so share math can never overflow.
///  I3  a slash of fraction f takes at most ceil(f * stake) from a pool; no position loses more
///      than its pro-rata part of that.
///  I4  unbonding stake earns nothing and stays slashable until withdrawn; every matured entry
///      is withdrawable, whatever other accounts do.
///  I5  shares delegated during epoch e start earning in epoch e + 1: a reward notified in the
///      epoch of a delegation is shared only by stake that was delegated before that epoch.
///  I6  nothing iterates over delegators, operators or epochs; a withdrawal processes at most
///      `maxEntries` entries of the caller's own queue.
contract Staking is IStaking, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using Checkpoints for Checkpoints.Trace208;

    // --- constants (hard bounds) ----------------------------------------------------------

    uint256 public constant BPS = 10_000;
    uint256 public constant WAD = 1e18;
    /// @notice Largest commission any operator can ever charge (50%).
    uint16 public constant MAX_COMMISSION_BPS = 5_000;
    /// @notice Bound on the share of a slash paid as finder's fee.
    uint16 public constant MAX_FINDER_FEE_BPS = 5_000;
    uint256 public constant MAX_REPORTERS = 16;
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    uint256 public constant MAX_GPU_CLASS_LENGTH = 64;
    uint256 public constant MAX_UNBONDING_PERIOD = 365 days;
    uint256 public constant MAX_JAIL_COOLDOWN = 365 days;
    uint256 public constant MAX_COMMISSION_DELAY = 90 days;
    uint256 public constant MAX_MIN_STAKE = 1e36;
    /// @notice Tokens go to this address when burned, so any plain ERC-20 works.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    // --- storage ---------------------------------------------------------------------------

    struct Operator {
        Role role;
        Status status;
        bool jailed;
        bool counted; // its active stake is part of its role's total
        uint32 id;
        uint40 jailedUntil;
        uint16 commissionBps;
        uint16 maxCommissionBps;
        uint16 pendingCommissionBps;
        uint40 commissionEffectiveAt; // 0 when no change is pending
        uint40 unjailedAt; // when it last left jail (0: never jailed)
    }

    struct Pool {
        uint128 tokens;
        uint128 shares; // eligible + pending
        uint128 pendingShares; // delegated during `pendingEpoch`, not earning yet
        uint32 pendingEpoch;
        uint32 stakeKey; // 1 + epoch of the last stake checkpoint (0: none yet)
        uint128 unbondingTokens;
        uint128 unbondingShares;
        uint256 rewardPerShare; // scaled by ShareMath.ACC_SCALE
        uint128 rewardCarry; // notified but not yet distributed (no eligible shares, rounding)
    }

    struct Position {
        uint128 shares; // eligible + pending
        uint128 pendingShares;
        uint256 rewardSnapshot; // pool.rewardPerShare when last settled
        uint128 claimable;
        uint32 pendingEpoch;
    }

    /// One unbonding entry fits one slot.
    struct Entry {
        uint32 operatorId;
        uint40 maturity;
        uint184 shares; // shares of the operator's unbonding pool; 0 once withdrawn or cancelled
    }

    struct Queue {
        uint64 head;
        uint64 tail;
        uint40 lastMaturity; // maturity of the newest entry: no later entry matures before it
    }

    struct RoleTotal {
        uint208 stake;
        uint48 key; // 1 + epoch of the last checkpoint (0: none yet)
    }

    IERC20 private immutable _token;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    Params private _params;
    address[] private _operatorList;
    mapping(address operator => string) private _endpoint;
    mapping(address operator => string) private _gpuClass;
    mapping(address operator => Operator) private _operators;
    mapping(address operator => Pool) private _pools;
    mapping(address owner => mapping(address operator => Position)) private _positions;
    mapping(address operator => mapping(uint256 epoch => uint256)) private _rewardPerShareAtRoll;
    mapping(address owner => Queue) private _queues;
    mapping(address owner => mapping(uint256 index => Entry)) private _entries;
    mapping(address operator => Checkpoints.Trace208) private _stakeHistory;
    mapping(Role role => RoleTotal) private _roleTotals;
    mapping(Role role => Checkpoints.Trace208) private _roleHistory;

    /// @param token_ the staking and reward token (any plain ERC-20)
    /// @param authority an OpenZeppelin AccessManager: it grants `slash`, `notifyReward` and `setParams`
    /// @param epochLength_ length of an epoch in seconds (immutable)
    /// @param params_ the initial governance parameters
    constructor(
        IERC20 token_,
        address authority,
        uint256 epochLength_,
        Params memory params_
    ) AccessManaged(authority) {
        if (epochLength_ == 0 || epochLength_ > 30 days)
            revert InvalidParameter("epochLength", epochLength_, 1, 30 days);
        _token = token_;
        genesis = block.timestamp;
        epochLength = epochLength_;
        _setParams(params_);
    }

    // =========================================================================================
    // Operators
    // =========================================================================================

    /// @notice Registers the caller as an operator of `role` with `stake` tokens (pulled from
    ///         the caller) as the first position of its pool.
    /// @param commissionBps commission taken from the pool's rewards, in basis points
    /// @param maxCommissionBps the immutable ceiling of the commission rate
    function register(
        Role role,
        uint256 stake,
        uint16 commissionBps,
        uint16 maxCommissionBps,
        string calldata endpoint,
        string calldata gpuClass
    ) external nonReentrant {
        if (role != Role.Trainer && role != Role.Validator) revert InvalidRole(uint8(role));
        Operator storage op = _operators[msg.sender];
        if (op.status != Status.None) revert AlreadyRegistered(msg.sender);
        if (maxCommissionBps > MAX_COMMISSION_BPS) revert MaxCommissionTooHigh(maxCommissionBps);
        if (commissionBps > maxCommissionBps) revert CommissionAboveMax(commissionBps, maxCommissionBps);
        uint256 minimum = _minStake(role);
        if (stake < minimum) revert StakeBelowMinimum(stake, minimum);
        _checkMetadata(endpoint, gpuClass);

        _operatorList.push(msg.sender);
        uint32 id = _operatorList.length.toUint32();
        op.role = role;
        op.status = Status.Active;
        op.counted = true;
        op.id = id;
        op.commissionBps = commissionBps;
        op.maxCommissionBps = maxCommissionBps;
        _endpoint[msg.sender] = endpoint;
        _gpuClass[msg.sender] = gpuClass;
        emit OperatorRegistered(
            msg.sender,
            role,
            id,
            stake,
            commissionBps,
            maxCommissionBps,
            endpoint,
            gpuClass
        );

        _delegate(msg.sender, msg.sender, stake);
    }

    /// @notice Adds `amount` to the caller's self-stake.
    function addStake(uint256 amount) external nonReentrant {
        _delegate(msg.sender, msg.sender, amount);
    }

    /// @notice Updates the caller's endpoint URL and GPU class.
    function updateMetadata(string calldata endpoint, string calldata gpuClass) external {
        _requireRegistered(msg.sender);
        _checkMetadata(endpoint, gpuClass);
        _endpoint[msg.sender] = endpoint;
        _gpuClass[msg.sender] = gpuClass;
        emit MetadataUpdated(msg.sender, endpoint, gpuClass);
    }

    /// @notice Leaves the network: the pool stops taking delegation, the whole self-stake moves
    ///         to the caller's unbonding queue. Delegators keep their positions until they undelegate.
    function deregister() external nonReentrant {
        Operator storage op = _requireRegistered(msg.sender);
        if (op.status == Status.Deregistered) revert OperatorDeregisteredError(msg.sender);
        _uncount(msg.sender, op);
        op.status = Status.Deregistered;
        emit OperatorDeregistered(msg.sender);
        uint256 shares = _positions[msg.sender][msg.sender].shares;
        if (shares != 0) _undelegate(msg.sender, msg.sender, shares, true);
    }

    /// @notice Requests a new commission rate. A decrease applies at once; an increase applies
    ///         after `commissionDelay`. Either is bounded by `maxCommissionChangeBps` per request.
    function setCommission(uint16 newBps) external {
        Operator storage op = _requireRegistered(msg.sender);
        uint16 current = _commissionOf(op);
        if (newBps > op.maxCommissionBps) revert CommissionAboveMax(newBps, op.maxCommissionBps);
        uint256 change = newBps > current ? newBps - current : current - newBps;
        if (change > _params.maxCommissionChangeBps) {
            revert CommissionChangeTooLarge(current, newBps, _params.maxCommissionChangeBps);
        }
        uint40 effectiveAt;
        if (newBps <= current) {
            op.commissionBps = newBps;
            op.commissionEffectiveAt = 0;
            op.pendingCommissionBps = 0;
            effectiveAt = uint40(block.timestamp);
        } else {
            op.commissionBps = current;
            op.pendingCommissionBps = newBps;
            effectiveAt = uint40(block.timestamp + _params.commissionDelay);
            op.commissionEffectiveAt = effectiveAt;
        }
        emit CommissionChangeRequested(msg.sender, current, newBps, effectiveAt);
    }

    /// @notice Ends the caller's jail once the cool-down has passed and its self-stake meets the minimum.
    function unjail() external {
        Operator storage op = _requireRegistered(msg.sender);
        if (!op.jailed) revert OperatorNotJailed(msg.sender);
        if (block.timestamp < op.jailedUntil)
            revert JailCooldownActive(msg.sender, op.jailedUntil, block.timestamp);
        uint256 self = _selfStake(msg.sender);
        uint256 minimum = _minStake(op.role);
        if (self < minimum) revert StakeBelowMinimum(self, minimum);
        op.jailed = false;
        op.jailedUntil = 0;
        op.unjailedAt = uint40(block.timestamp);
        if (op.status == Status.Active) {
            op.counted = true;
            _roleAdd(op.role, _pools[msg.sender].tokens);
        }
        emit Unjailed(msg.sender);
    }

    // =========================================================================================
    // Delegation
    // =========================================================================================

    /// @notice Delegates `amount` tokens to `operator`'s pool. The new shares start earning in the next epoch.
    function delegate(address operator, uint256 amount) external nonReentrant {
        _delegate(msg.sender, operator, amount);
    }

    /// @notice `delegate` with an EIP-2612 permit, in one transaction. A permit that was already
    ///         used (for example front-run) is ignored when the allowance is in place anyway.
    function delegateWithPermit(
        address operator,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        try
            IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s)
        {} catch {}
        _delegate(msg.sender, operator, amount);
    }

    /// @notice Moves `shares` of the caller's position in `operator`'s pool into the caller's
    ///         unbonding queue. They stop earning at once and stay slashable until withdrawn.
    /// @return entryIndex index of the new entry in the caller's queue
    function undelegate(address operator, uint256 shares) external nonReentrant returns (uint64 entryIndex) {
        _requireRegistered(operator);
        return _undelegate(msg.sender, operator, shares, false);
    }

    /// @notice Pays out the caller's matured unbonding entries, oldest first, at most `maxEntries`.
    /// @return amount tokens transferred to the caller
    function withdraw(uint256 maxEntries) external nonReentrant returns (uint256 amount) {
        Queue memory q = _queues[msg.sender];
        uint256 processed;
        uint64 i = q.head;
        while (i < q.tail && processed < maxEntries) {
            Entry memory e = _entries[msg.sender][i];
            if (e.shares != 0) {
                if (e.maturity > block.timestamp) break;
                address operator = _operatorList[e.operatorId - 1];
                Pool storage pool = _pools[operator];
                uint256 tokens = ShareMath.toTokens(e.shares, pool.unbondingShares, pool.unbondingTokens);
                pool.unbondingTokens -= uint128(tokens);
                pool.unbondingShares -= uint128(e.shares);
                amount += tokens;
                delete _entries[msg.sender][i];
            }
            unchecked {
                ++i;
                ++processed;
            }
        }
        if (processed == 0) revert NothingToWithdraw(msg.sender);
        _queues[msg.sender].head = i;
        emit Withdrawn(msg.sender, amount, processed);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Puts the caller's unbonding entry `index` back into its operator's pool (as a new
    ///         delegation at the current unbonding value).
    function cancelUnbonding(uint64 index) external nonReentrant {
        Entry memory e = _entries[msg.sender][index];
        if (e.shares == 0) revert UnbondingEntryNotFound(msg.sender, index);
        address operator = _operatorList[e.operatorId - 1];
        Pool storage pool = _pools[operator];
        uint256 tokens = ShareMath.toTokens(e.shares, pool.unbondingShares, pool.unbondingTokens);
        pool.unbondingTokens -= uint128(tokens);
        pool.unbondingShares -= uint128(e.shares);
        delete _entries[msg.sender][index];
        emit UnbondingCancelled(msg.sender, operator, index, tokens);
        _stake(msg.sender, operator, tokens);
    }

    // =========================================================================================
    // Rewards
    // =========================================================================================

    /// @notice Pulls `amount` reward tokens from the caller (the reward distributor) into
    ///         `operator`'s pool: the operator's commission first, the rest raises the pool's
    ///         reward-per-share for the shares that were delegated before this epoch.
    function notifyReward(address operator, uint256 amount) external restricted nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _requireRegistered(operator);
        if (op.jailed) revert OperatorIsJailed(operator, op.jailedUntil);
        _token.safeTransferFrom(msg.sender, address(this), amount);

        Pool storage pool = _pools[operator];
        _rollPool(operator, pool);
        uint256 commission = (amount * _commissionOf(op)) / BPS;
        if (commission != 0) {
            Position storage own = _positions[operator][operator];
            own.claimable = (own.claimable + commission).toUint128();
        }
        uint256 toShare = amount - commission + pool.rewardCarry;
        uint256 eligible = pool.shares - pool.pendingShares;
        uint256 distributed;
        uint256 carried;
        if (eligible != 0) {
            uint256 delta = Math.mulDiv(toShare, ShareMath.ACC_SCALE, eligible);
            pool.rewardPerShare += delta;
            distributed = Math.mulDiv(delta, eligible, ShareMath.ACC_SCALE, Math.Rounding.Ceil);
            if (distributed > toShare) distributed = toShare;
            carried = toShare - distributed;
            pool.rewardCarry = uint128(carried);
        } else if (pool.shares != 0) {
            // Only shares delegated this epoch: they start earning next epoch, and so does this reward.
            carried = toShare;
            pool.rewardCarry = carried.toUint128();
        } else {
            // Nobody can ever earn it: burn rather than strand it.
            pool.rewardCarry = 0;
            emit RewardBurned(operator, toShare);
            _token.safeTransfer(BURN_ADDRESS, toShare);
        }
        emit RewardNotified(operator, amount, commission, distributed, carried);
    }

    /// @notice Transfers the caller's rewards from `operator`'s pool (commission included when the
    ///         caller is the operator).
    function claim(address operator) external nonReentrant returns (uint256 amount) {
        amount = _takeRewards(msg.sender, operator);
        if (amount == 0) revert NothingToClaim(msg.sender, operator);
        emit RewardClaimed(msg.sender, operator, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Claims from several pools in one transaction (the caller chooses the list).
    function claimMany(address[] calldata operators) external nonReentrant returns (uint256 total) {
        for (uint256 i; i < operators.length; ++i) {
            uint256 amount = _takeRewards(msg.sender, operators[i]);
            if (amount != 0) {
                total += amount;
                emit RewardClaimed(msg.sender, operators[i], amount);
            }
        }
        if (total == 0) revert NothingToClaim(msg.sender, address(0));
        _token.safeTransfer(msg.sender, total);
    }

    /// @notice Re-delegates the caller's rewards from `operator`'s pool into the same pool.
    function compound(address operator) external nonReentrant returns (uint256 shares) {
        uint256 amount = _takeRewards(msg.sender, operator);
        if (amount == 0) revert NothingToClaim(msg.sender, operator);
        shares = _stake(msg.sender, operator, amount);
        emit Compounded(msg.sender, operator, amount, shares);
    }

    // =========================================================================================
    // Slashing
    // =========================================================================================

    /// @inheritdoc IStaking
    function slash(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail
    ) external restricted nonReentrant {
        Operator storage op = _requireRegistered(operator);
        if (fraction == 0) revert ZeroAmount();
        if (fraction > _params.maxSlashFraction)
            revert SlashFractionTooHigh(fraction, _params.maxSlashFraction);
        if (reporters.length > MAX_REPORTERS) revert TooManyReporters(reporters.length, MAX_REPORTERS);

        Pool storage pool = _pools[operator];
        _checkpointStake(operator, pool);
        uint256 activeCut = ShareMath.slashAmount(pool.tokens, pool.shares, fraction);
        uint256 unbondingCut = ShareMath.slashAmount(pool.unbondingTokens, pool.unbondingShares, fraction);
        pool.tokens -= uint128(activeCut);
        pool.unbondingTokens -= uint128(unbondingCut);
        if (op.counted) _roleSub(op.role, activeCut);

        uint256 total = activeCut + unbondingCut;
        uint256 fee;
        if (reporters.length != 0) {
            uint256 each = (total * _params.finderFeeBps) / BPS / reporters.length;
            fee = each * reporters.length;
            if (each != 0) {
                for (uint256 i; i < reporters.length; ++i) _token.safeTransfer(reporters[i], each);
            }
        }
        uint256 burned = total - fee;
        emit Slashed(operator, fraction, activeCut, unbondingCut, fee, burned);
        if (burned != 0) _token.safeTransfer(BURN_ADDRESS, burned);

        if (jail) {
            _uncount(operator, op);
            op.jailed = true;
            uint40 until = uint40(block.timestamp + _params.jailCooldown);
            op.jailedUntil = until;
            emit Jailed(operator, until);
        }
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    /// @notice Replaces the governance parameters; each one is checked against its hard bounds.
    function setParams(Params calldata params_) external restricted {
        _setParams(params_);
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @inheritdoc IStaking
    function token() external view returns (address) {
        return address(_token);
    }

    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IStaking
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochLength;
    }

    /// @inheritdoc IStaking
    function epochStart(uint256 epoch) external view returns (uint256) {
        return genesis + epoch * epochLength;
    }

    /// @inheritdoc IStaking
    function isActive(address operator) public view returns (bool) {
        Operator storage op = _operators[operator];
        return op.status == Status.Active && !op.jailed && _selfStake(operator) >= _minStake(op.role);
    }

    /// @inheritdoc IStaking
    function operatorState(address operator, uint256 epoch) external view returns (OperatorState memory s) {
        Operator storage op = _operators[operator];
        s.role = op.role;
        s.active = isActive(operator);
        s.id = op.id;
        s.stake = _valueAt(_stakeHistory[operator], epoch, _pools[operator].tokens);
        s.minStake = _minStake(op.role);
        s.roleStake = _valueAt(_roleHistory[op.role], epoch, _roleTotals[op.role].stake);
        s.unjailedAt = op.unjailedAt;
    }

    /// @inheritdoc IStaking
    function roleOf(address operator) external view returns (Role) {
        return _operators[operator].role;
    }

    /// @inheritdoc IStaking
    function stakeAt(address operator, uint256 epoch) external view returns (uint256) {
        return _valueAt(_stakeHistory[operator], epoch, _pools[operator].tokens);
    }

    /// @inheritdoc IStaking
    function roleStakeAt(Role role, uint256 epoch) external view returns (uint256) {
        return _valueAt(_roleHistory[role], epoch, _roleTotals[role].stake);
    }

    /// @notice Current total active stake of the counted operators of `role`.
    function roleStake(Role role) external view returns (uint256) {
        return _roleTotals[role].stake;
    }

    /// @notice Current value of `operator`'s own position in its pool.
    function selfStake(address operator) external view returns (uint256) {
        return _selfStake(operator);
    }

    /// @notice The operator's effective commission rate now, in basis points.
    function commissionOf(address operator) external view returns (uint16) {
        return _commissionOf(_operators[operator]);
    }

    function operatorCount() external view returns (uint256) {
        return _operatorList.length;
    }

    /// @notice The operator registered `index`-th (0-based); ids are index + 1.
    function operatorAt(uint256 index) external view returns (address) {
        return _operatorList[index];
    }

    /// @notice The raw operator record (see `StakingLens` for a dashboard view).
    function operatorRecord(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @notice The operator's endpoint URL and GPU class.
    function metadataOf(
        address operator
    ) external view returns (string memory endpoint, string memory gpuClass) {
        return (_endpoint[operator], _gpuClass[operator]);
    }

    function getPool(address operator) external view returns (PoolView memory v) {
        Pool storage pool = _pools[operator];
        v.tokens = pool.tokens;
        v.shares = pool.shares;
        v.pendingShares = currentEpoch() > pool.pendingEpoch ? 0 : pool.pendingShares;
        v.unbondingTokens = pool.unbondingTokens;
        v.unbondingShares = pool.unbondingShares;
        v.rewardPerShare = pool.rewardPerShare;
        v.rewardCarry = pool.rewardCarry;
        v.sharePrice = pool.shares == 0 ? WAD : Math.mulDiv(pool.tokens, WAD, pool.shares);
    }

    /// @notice `owner`'s position in `operator`'s pool, with rewards accrued up to now.
    function getPosition(address owner, address operator) external view returns (PositionView memory v) {
        Position storage pos = _positions[owner][operator];
        Pool storage pool = _pools[operator];
        (uint256 earned, bool rolled) = _earned(operator, pool, pos);
        v.shares = pos.shares;
        v.pendingShares = rolled ? 0 : pos.pendingShares;
        v.tokens = ShareMath.toTokens(pos.shares, pool.shares, pool.tokens);
        v.claimable = pos.claimable + earned;
    }

    /// @notice Raw unbonding entry `index` of `owner`'s queue (`shares == 0` once withdrawn or cancelled).
    function unbondingEntry(address owner, uint256 index) external view returns (Entry memory) {
        return _entries[owner][index];
    }

    /// @notice Head and tail of `owner`'s unbonding queue (entries live in [head, tail)).
    function queueBounds(address owner) external view returns (uint64 head, uint64 tail) {
        Queue memory q = _queues[owner];
        return (q.head, q.tail);
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _delegate(address owner, address operator, uint256 amount) private {
        _token.safeTransferFrom(owner, address(this), amount);
        uint256 shares = _stake(owner, operator, amount);
        emit Delegated(owner, operator, amount, shares);
    }

    /// Adds `amount` tokens (already held by this contract) to `owner`'s position as pending shares.
    function _stake(address owner, address operator, uint256 amount) private returns (uint256 shares) {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _requireRegistered(operator);
        if (op.status != Status.Active) revert OperatorDeregisteredError(operator);
        // A jailed pool takes no delegation, but its operator may top up its own stake to unjail.
        if (op.jailed && owner != operator) revert OperatorIsJailed(operator, op.jailedUntil);

        Pool storage pool = _pools[operator];
        Position storage pos = _positions[owner][operator];
        _rollPool(operator, pool);
        _settle(operator, pool, pos);
        _checkpointStake(operator, pool);

        shares = ShareMath.toShares(amount, pool.shares, pool.tokens);
        if (shares == 0) revert ZeroAmount();
        uint32 epoch = uint32(currentEpoch());
        pool.tokens = (pool.tokens + amount).toUint128();
        pool.shares = (pool.shares + shares).toUint128();
        pool.pendingShares += uint128(shares);
        pool.pendingEpoch = epoch;
        pos.shares += uint128(shares);
        pos.pendingShares += uint128(shares);
        if (pos.pendingEpoch != epoch) pos.pendingEpoch = epoch;
        if (op.counted) _roleAdd(op.role, amount);
    }

    function _undelegate(
        address owner,
        address operator,
        uint256 shares,
        bool exiting
    ) private returns (uint64 entryIndex) {
        if (shares == 0) revert ZeroAmount();
        Operator storage op = _operators[operator];
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[owner][operator];
        _rollPool(operator, pool);
        _settle(operator, pool, pos);
        if (shares > pos.shares) revert InsufficientShares(pos.shares, shares);
        _checkpointStake(operator, pool);

        uint256 tokens = ShareMath.toTokens(shares, pool.shares, pool.tokens);
        pool.tokens -= uint128(tokens);
        pool.shares -= uint128(shares);
        uint128 fromPending = uint128(Math.min(shares, pos.pendingShares));
        if (fromPending != 0) {
            pos.pendingShares -= fromPending;
            pool.pendingShares -= fromPending;
        }
        pos.shares -= uint128(shares);
        if (op.counted) _roleSub(op.role, tokens);

        if (owner == operator && !exiting && op.status == Status.Active) {
            uint256 remaining = ShareMath.toTokens(pos.shares, pool.shares, pool.tokens);
            uint256 minimum = _minStake(op.role);
            if (remaining < minimum) revert StakeBelowMinimum(remaining, minimum);
        }

        // Entries mature at the first epoch boundary at least `unbondingPeriod` away, and never
        // before the newest entry (governance may shorten the period), so the queue stays in
        // maturity order and undelegations from one pool in one epoch share an entry.
        uint40 maturity = uint40(_nextEpochBoundary(block.timestamp + _params.unbondingPeriod));
        Queue storage q = _queues[owner];
        if (maturity < q.lastMaturity) maturity = q.lastMaturity;
        entryIndex = q.tail;
        if (tokens != 0) {
            uint256 ubShares = ShareMath.toShares(tokens, pool.unbondingShares, pool.unbondingTokens);
            pool.unbondingTokens = (pool.unbondingTokens + tokens).toUint128();
            pool.unbondingShares = (pool.unbondingShares + ubShares).toUint128();
            Entry storage last = _entries[owner][entryIndex == 0 ? 0 : entryIndex - 1];
            if (
                entryIndex > q.head &&
                last.maturity == maturity &&
                last.operatorId == op.id &&
                last.shares != 0
            ) {
                entryIndex -= 1;
                last.shares = (last.shares + ubShares).toUint184();
            } else {
                _entries[owner][entryIndex] = Entry(op.id, maturity, ubShares.toUint184());
                q.tail = entryIndex + 1;
                q.lastMaturity = maturity;
            }
        }
        emit Undelegated(owner, operator, shares, tokens, entryIndex, maturity);
        if (pool.shares == 0) {
            // Only a deregistered pool loses its last share, and nobody can join it again: burn the
            // rewards it still carries rather than strand them.
            uint256 carry = pool.rewardCarry;
            if (carry != 0) {
                pool.rewardCarry = 0;
                emit RewardBurned(operator, carry);
                _token.safeTransfer(BURN_ADDRESS, carry);
            }
        }
    }

    /// Takes the caller's accrued rewards out of the accounting and returns the amount.
    function _takeRewards(address owner, address operator) private returns (uint256 amount) {
        Pool storage pool = _pools[operator];
        Position storage pos = _positions[owner][operator];
        _rollPool(operator, pool);
        uint256 earned = _settleSnapshot(operator, pool, pos);
        uint256 stored = pos.claimable;
        if (stored != 0) pos.claimable = 0;
        amount = stored + earned;
    }

    /// First touch of a pool in a new epoch: its pending shares become eligible. The accumulator
    /// value at that moment is kept so each position can roll its own pending shares lazily.
    function _rollPool(address operator, Pool storage pool) private {
        if (pool.pendingShares != 0 && currentEpoch() > pool.pendingEpoch) {
            _rewardPerShareAtRoll[operator][pool.pendingEpoch] = pool.rewardPerShare;
            pool.pendingShares = 0;
        }
    }

    /// Brings a position's rewards up to the pool's accumulator (the pool must be rolled).
    function _settle(address operator, Pool storage pool, Position storage pos) private {
        uint256 earned = _settleSnapshot(operator, pool, pos);
        if (earned != 0) pos.claimable = (pos.claimable + earned).toUint128();
    }

    /// Like `_settle`, but returns the newly earned amount instead of storing it.
    function _settleSnapshot(
        address operator,
        Pool storage pool,
        Position storage pos
    ) private returns (uint256 earned) {
        bool rolled;
        (earned, rolled) = _earned(operator, pool, pos);
        if (rolled) pos.pendingShares = 0;
        uint256 acc = pool.rewardPerShare;
        if (pos.rewardSnapshot != acc) pos.rewardSnapshot = acc;
    }

    function _earned(
        address operator,
        Pool storage pool,
        Position storage pos
    ) private view returns (uint256 earned, bool rolled) {
        uint256 acc = pool.rewardPerShare;
        uint256 snapshot = pos.rewardSnapshot;
        uint256 pending = pos.pendingShares;
        uint256 eligible = pos.shares - pending;
        if (pending != 0 && currentEpoch() > pos.pendingEpoch) {
            // The pool rolled (or is rolling now) with these shares: they earn from the roll on.
            uint256 accAtRoll =
                pool.pendingShares != 0 && pool.pendingEpoch == pos.pendingEpoch
                    ? acc
                    : _rewardPerShareAtRoll[operator][pos.pendingEpoch];
            earned =
                Math.mulDiv(eligible, accAtRoll - snapshot, ShareMath.ACC_SCALE) +
                Math.mulDiv(pos.shares, acc - accAtRoll, ShareMath.ACC_SCALE);
            rolled = true;
        } else if (eligible != 0 && acc != snapshot) {
            earned = Math.mulDiv(eligible, acc - snapshot, ShareMath.ACC_SCALE);
        }
    }

    /// Records the stake at the start of the current epoch, once per epoch, before it changes.
    function _checkpointStake(address operator, Pool storage pool) private {
        uint256 epoch = currentEpoch();
        if (pool.stakeKey != epoch + 1) {
            _stakeHistory[operator].push(uint48(epoch), pool.tokens);
            pool.stakeKey = uint32(epoch + 1);
        }
    }

    function _roleAdd(Role role, uint256 amount) private {
        RoleTotal storage t = _roleCheckpoint(role);
        t.stake = (t.stake + amount).toUint208();
    }

    function _roleSub(Role role, uint256 amount) private {
        RoleTotal storage t = _roleCheckpoint(role);
        t.stake -= uint208(amount);
    }

    function _roleCheckpoint(Role role) private returns (RoleTotal storage t) {
        t = _roleTotals[role];
        uint256 epoch = currentEpoch();
        if (t.key != epoch + 1) {
            _roleHistory[role].push(uint48(epoch), t.stake);
            t.key = uint48(epoch + 1);
        }
    }

    /// Removes the operator's stake from its role's total (on jail or deregistration).
    function _uncount(address operator, Operator storage op) private {
        if (op.counted) {
            op.counted = false;
            _roleSub(op.role, _pools[operator].tokens);
        }
    }

    /// A history holds, per touched epoch, the value at that epoch's start. The value at the start
    /// of `epoch` is the first checkpoint at or after it, or the current value if there is none.
    function _valueAt(
        Checkpoints.Trace208 storage history,
        uint256 epoch,
        uint256 current
    ) private view returns (uint256) {
        (bool exists, uint48 lastKey, uint208 lastValue) = history.latestCheckpoint();
        if (!exists || epoch > lastKey) return current;
        if (epoch == lastKey) return lastValue; // the common case: this epoch or the last touched one
        return history.lowerLookup(uint48(epoch));
    }

    /// The first epoch boundary at or after `timestamp`.
    function _nextEpochBoundary(uint256 timestamp) private view returns (uint256) {
        return genesis + Math.ceilDiv(timestamp - genesis, epochLength) * epochLength;
    }

    function _commissionOf(Operator storage op) private view returns (uint16) {
        uint40 at = op.commissionEffectiveAt;
        return at != 0 && block.timestamp >= at ? op.pendingCommissionBps : op.commissionBps;
    }

    function _selfStake(address operator) private view returns (uint256) {
        Pool storage pool = _pools[operator];
        return ShareMath.toTokens(_positions[operator][operator].shares, pool.shares, pool.tokens);
    }

    function _minStake(Role role) private view returns (uint256) {
        return role == Role.Trainer ? _params.minTrainerStake : _params.minValidatorStake;
    }

    function _requireRegistered(address operator) private view returns (Operator storage op) {
        op = _operators[operator];
        if (op.status == Status.None) revert NotRegistered(operator);
    }

    function _checkMetadata(string calldata endpoint, string calldata gpuClass) private pure {
        if (bytes(endpoint).length > MAX_ENDPOINT_LENGTH) {
            revert MetadataTooLong("endpoint", bytes(endpoint).length, MAX_ENDPOINT_LENGTH);
        }
        if (bytes(gpuClass).length > MAX_GPU_CLASS_LENGTH) {
            revert MetadataTooLong("gpuClass", bytes(gpuClass).length, MAX_GPU_CLASS_LENGTH);
        }
    }

    function _setParams(Params memory p) private {
        _bound("minTrainerStake", p.minTrainerStake, 1, MAX_MIN_STAKE);
        _bound("minValidatorStake", p.minValidatorStake, 1, MAX_MIN_STAKE);
        _bound("unbondingPeriod", p.unbondingPeriod, 1, MAX_UNBONDING_PERIOD);
        _bound("jailCooldown", p.jailCooldown, 0, MAX_JAIL_COOLDOWN);
        _bound("commissionDelay", p.commissionDelay, 0, MAX_COMMISSION_DELAY);
        _bound("maxCommissionChangeBps", p.maxCommissionChangeBps, 1, MAX_COMMISSION_BPS);
        _bound("finderFeeBps", p.finderFeeBps, 0, MAX_FINDER_FEE_BPS);
        _bound("maxSlashFraction", p.maxSlashFraction, 1, WAD);
        _params = p;
        emit ParamsUpdated(p);
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert InvalidParameter(name, value, lo, hi);
    }
}
