// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {StakingOperators} from "./StakingOperators.sol";
import {StakingPools} from "./StakingPools.sol";
import {StakingRewards} from "./StakingRewards.sol";
import {StakingSlashing} from "./StakingSlashing.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title Staking
/// @notice Node operators (trainers and validators) stake here; delegators buy shares of their
///         pools. A slash lowers a pool's share price (every position loses its part in O(1)); a
///         reward is priced at the epoch that earned it: what a pool earned in epoch e is shared,
///         at the commission of e, by the shares that existed when e began, through one cumulative
///         reward-per-share accumulator per pool (Cosmos F1 / Livepeer LIP-36).
///
///         How a pool is credited. The RewardDistributor closes an epoch once its points are final
///         and funds it here (`fundEpoch`): each role's budget and total points. The first action
///         that touches a pool after that (a delegation, an undelegation, a claim, `settle`, any
///         `refreshPosition`) credits the pool with each closed epoch in order: its share of its
///         role's budget by points (remaining budget x points / remaining points, so the last
///         pool of a role takes exactly what is left) plus the rewards added to the pool for that
///         epoch (`notifyReward`: donations, usage fees); the operator's commission of that epoch
///         first, then `acc += rest / sharesAtStart(e)`. Nobody has to settle anything.
///
///         How a position is priced. A position's share count can change in an epoch whose
///         rewards are not credited yet. The pool keeps one record per epoch in which its share
///         count changed (its shares when the epoch began, then, once credited, the accumulator at
///         the epoch's end), and a position keeps its share count at each of its own changes that
///         are not credited yet (at most three: more than the finality delay allows in a row). So
///         a delegation earns from the epoch after it, an undelegation keeps the epoch it happens
///         in, and a claim is O(1) whatever the number of delegators or epochs.
///
/// Invariants (each one is pinned by the test suite):
///  I1  this contract's token balance >= sum over pools of (tokens + unbondingTokens) + held slashes
///      (`heldTokens`) + rewards funded or notified - rewards paid out or returned; the difference
///      is rounding dust. Every held slash leaves once: returned to its operator (`returnHeld`) or,
///      after its `releaseAt` and while no defence of it locks it (`lockHolds`), paid to its
///      reporters and burned (`releaseHeld`).
///  I2  a pool or unbonding cohort with shares never has a zero share price: a slash always leaves
///      at least `shares / MAX_SHARES_PER_TOKEN` tokens (rounded up), so share math cannot overflow.
///  I3  a slash of fraction f takes at most ceil(f * stake) from each pool and cohort it touches;
///      no position or entry loses more than its pro-rata part of that.
///  I4  unbonding stake earns nothing from the epoch after it left; it stays slashable for offences
///      committed up to the epoch it left in, and never for later ones; every matured entry is
///      withdrawable, whatever other accounts do.
///  I5  a reward earned in epoch e goes to the shares that existed when e began, at the commission
///      in force in e: later delegations, undelegations, jails, commission changes and slashes
///      change nobody's part of it.
///  I6  a role's credits from an epoch never exceed its budget; nothing iterates over delegators or
///      operators; a transaction credits at most MAX_CREDIT_EPOCHS epochs of one pool and a
///      withdrawal processes at most `maxEntries` entries of the caller's own queue.
///
/// Layout: the state lives in one ERC-7201 namespace (`StakingStorage`). The hot paths that must
/// stay cheapest (`settle`, `notifyReward`, the views the ChallengeManager reads) run here; the
/// rest runs in linked libraries sharing that storage: `StakingPools` (delegation, the unbonding
/// queue, claims), `StakingOperators` (registry, commission, governance, the distributor's calls)
/// and `StakingSlashing`; `StakingRewards` is the reward engine both Staking and StakingPools use.
contract Staking is IStaking, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    // --- constants (hard bounds) ----------------------------------------------------------

    uint256 public constant BPS = 10_000;
    uint256 public constant WAD = 1e18;
    /// @notice Largest commission any operator can ever charge (50%).
    uint16 public constant MAX_COMMISSION_BPS = StakingOperators.MAX_COMMISSION_BPS;
    /// @notice Bound on the share of a slash paid as finder's fee.
    uint16 public constant MAX_FINDER_FEE_BPS = StakingOperators.MAX_FINDER_FEE_BPS;
    uint256 public constant MAX_REPORTERS = StakingSlashing.MAX_REPORTERS;
    uint256 public constant MAX_ENDPOINT_LENGTH = StakingOperators.MAX_ENDPOINT_LENGTH;
    uint256 public constant MAX_GPU_CLASS_LENGTH = StakingOperators.MAX_GPU_CLASS_LENGTH;
    uint256 public constant MAX_UNBONDING_PERIOD = StakingOperators.MAX_UNBONDING_PERIOD;
    uint256 public constant MAX_JAIL_COOLDOWN = StakingOperators.MAX_JAIL_COOLDOWN;
    uint256 public constant MAX_COMMISSION_DELAY = StakingOperators.MAX_COMMISSION_DELAY;
    uint256 public constant MAX_MIN_STAKE = StakingOperators.MAX_MIN_STAKE;
    uint256 public constant MAX_SLASH_SOURCES = StakingOperators.MAX_SLASH_SOURCES;
    /// @notice Most epochs of one pool a transaction credits (a pool nobody touched for longer is
    ///         brought up to date over several transactions; `settle` does it on purpose).
    uint256 public constant MAX_CREDIT_EPOCHS = StakingRewards.MAX_CREDIT_EPOCHS;
    /// @notice Most share changes of a position whose epochs are not credited yet.
    uint256 public constant MAX_PENDING_CHANGES = StakingRewards.MAX_PENDING_CHANGES;
    /// @notice Tokens go to this address when burned, so any plain ERC-20 works.
    address public constant BURN_ADDRESS = StakingSlashing.BURN_ADDRESS;

    IERC20 private immutable _token;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;

    /// @param token_ the staking and reward token (any plain ERC-20)
    /// @param authority an OpenZeppelin AccessManager: it grants `slash`, `setParams`, the slash
    ///        sources and the reward distributor
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
        StakingOperators.setParams(params_);
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
        StakingOperators.register(
            role,
            stake,
            commissionBps,
            maxCommissionBps,
            endpoint,
            gpuClass,
            currentEpoch()
        );
        _delegate(msg.sender, stake);
    }

    /// @notice Adds `amount` to the caller's self-stake.
    function addStake(uint256 amount) external nonReentrant {
        _delegate(msg.sender, amount);
    }

    /// @notice Updates the caller's endpoint URL and GPU class.
    function updateMetadata(string calldata endpoint, string calldata gpuClass) external {
        StakingOperators.updateMetadata(endpoint, gpuClass);
    }

    /// @notice Leaves the network: the pool stops taking delegation, the whole self-stake moves
    ///         to the caller's unbonding queue. Delegators keep their positions until they undelegate.
    function deregister() external nonReentrant {
        uint256 epoch = currentEpoch();
        StakingOperators.deregister(epoch);
        uint256 shares = _s().positions[msg.sender][msg.sender].shares;
        if (shares != 0)
            StakingPools.undelegate(msg.sender, msg.sender, shares, true, epoch, epochLength, genesis);
    }

    /// @notice Requests a new commission rate, bounded by `maxCommissionChangeBps` per request
    ///         and by the operator's immutable maximum. Rates change at epoch boundaries: a decrease
    ///         applies from the next epoch, an increase from the first epoch that starts at least
    ///         `commissionDelay` from now. A request replaces one that is not in force yet.
    function setCommission(uint16 newBps) external {
        StakingOperators.setCommission(newBps, currentEpoch(), genesis, epochLength);
    }

    /// @notice Ends the caller's jail once the cool-down has passed and its self-stake meets the minimum.
    function unjail() external {
        StakingOperators.unjail(currentEpoch());
    }

    // =========================================================================================
    // Delegation
    // =========================================================================================

    /// @notice Delegates `amount` tokens to `operator`'s pool. The new shares earn from the next epoch.
    function delegate(address operator, uint256 amount) external nonReentrant {
        _delegate(operator, amount);
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
        _delegate(operator, amount);
    }

    /// @notice Moves `shares` of the caller's position in `operator`'s pool into the caller's
    ///         unbonding queue. They keep what they earn in this epoch and nothing after; they stay
    ///         slashable for offences committed up to this epoch.
    /// @return entryIndex index of the new (or extended) entry in the caller's queue
    function undelegate(address operator, uint256 shares) external nonReentrant returns (uint64 entryIndex) {
        if (_s().operators[operator].status == Status.None) revert NotRegistered(operator);
        return
            StakingPools.undelegate(
                msg.sender,
                operator,
                shares,
                false,
                currentEpoch(),
                epochLength,
                genesis
            );
    }

    /// @notice Pays out the caller's matured unbonding entries, oldest first, at most `maxEntries`.
    /// @return amount tokens transferred to the caller
    function withdraw(uint256 maxEntries) external nonReentrant returns (uint256 amount) {
        return StakingPools.withdraw(maxEntries, _token);
    }

    /// @notice Puts the caller's unbonding entry `index` back into its operator's pool (as a new
    ///         delegation at the entry's current value).
    function cancelUnbonding(uint64 index) external nonReentrant {
        (address operator, uint256 tokens) = StakingPools.takeEntry(index);
        StakingPools.stake(msg.sender, operator, tokens, currentEpoch(), epochLength);
    }

    // =========================================================================================
    // Rewards
    // =========================================================================================

    /// @inheritdoc IStaking
    function notifyReward(address operator, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        StakingStorage.Layout storage s = _s();
        if (s.operators[operator].status == Status.None) revert NotRegistered(operator);
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 epoch = currentEpoch();
        uint256 before = s.poolRewards[operator][epoch];
        s.poolRewards[operator][epoch] = before + amount;
        // The first reward of the epoch marks it in the pool; later ones find it marked (a bucket
        // is only emptied by crediting its epoch, once the epoch has ended).
        if (before == 0) {
            StakingStorage.Pool storage pool = s.pools[operator];
            if (pool.lastRewardEpoch != epoch) pool.lastRewardEpoch = uint32(epoch);
        }
        emit RewardNotified(operator, epoch, amount);
    }

    /// @notice Transfers the caller's rewards from `operator`'s pool (commission included when the
    ///         caller is the operator), after crediting the pool with the epochs closed since it
    ///         was last touched.
    function claim(address operator) external nonReentrant returns (uint256 amount) {
        amount = StakingPools.takeRewards(msg.sender, operator, currentEpoch(), epochLength);
        if (amount == 0) revert NothingToClaim(msg.sender, operator);
        emit RewardClaimed(msg.sender, operator, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Claims from several pools in one transaction (the caller chooses the list).
    function claimMany(address[] calldata operators) external nonReentrant returns (uint256 total) {
        uint256 epoch = currentEpoch();
        for (uint256 i; i < operators.length; ++i) {
            uint256 amount = StakingPools.takeRewards(msg.sender, operators[i], epoch, epochLength);
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
        uint256 epoch = currentEpoch();
        uint256 amount = StakingPools.takeRewards(msg.sender, operator, epoch, epochLength);
        if (amount == 0) revert NothingToClaim(msg.sender, operator);
        shares = StakingPools.stake(msg.sender, operator, amount, epoch, epochLength);
        emit Compounded(msg.sender, operator, amount, shares);
    }

    /// @notice Credits `operator`'s pool with the closed epochs up to `throughEpoch` it has not
    ///         been credited with (at most MAX_CREDIT_EPOCHS). Permissionless; never needed (every
    ///         action on the pool does it), useful to bring a long untouched pool up to date.
    /// @dev Moves no token of its own: the only external calls are the distributor's `closeDue`
    ///      (made before the pool is read, see `StakingRewards.credit`) and the points source's
    ///      view, so it needs no reentrancy guard.
    /// @return epochs how many epochs were credited
    function settle(address operator, uint256 throughEpoch) external returns (uint256 epochs) {
        StakingStorage.Layout storage s = _s();
        StakingStorage.Operator storage op = s.operators[operator];
        if (op.status == Status.None) revert NotRegistered(operator);
        uint256 end = throughEpoch == type(uint256).max ? throughEpoch : throughEpoch + 1;
        return StakingRewards.credit(s, operator, op, s.pools[operator], end, currentEpoch(), epochLength);
    }

    /// @notice Credits `operator`'s pool, brings `owner`'s position in it up to date and returns it.
    ///         Permissionless and harmless; call it with `eth_call` to read a position with every
    ///         closed epoch included.
    function refreshPosition(
        address owner,
        address operator
    ) external nonReentrant returns (PositionView memory) {
        StakingPools.refresh(owner, operator, currentEpoch(), epochLength);
        return getPosition(owner, operator);
    }

    /// @notice Records epoch `epoch`'s role budgets (pulled from the distributor) and the roles'
    ///         total points; `nextCloseAt` is when the next epoch's points become final. Only the
    ///         reward distributor, for each epoch in order.
    function fundEpoch(
        uint256 epoch,
        uint256 trainerBudget,
        uint256 validatorBudget,
        uint256 trainerPoints,
        uint256 validatorPoints,
        uint256 nextCloseAt
    ) external {
        StakingOperators.fundEpoch(
            epoch,
            trainerBudget,
            validatorBudget,
            trainerPoints,
            validatorPoints,
            nextCloseAt,
            _token
        );
    }

    /// @notice Sends the rewards nobody could earn back to the distributor (it adds them to its
    ///         carry). Only the reward distributor.
    function takeRewardDust() external returns (uint256) {
        return StakingOperators.takeRewardDust(_token);
    }

    // =========================================================================================
    // Slashing
    // =========================================================================================

    /// @inheritdoc IStaking
    function slash(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch
    ) external restricted nonReentrant returns (uint256) {
        return
            StakingSlashing.slash(
                operator,
                fraction,
                reporters,
                jail,
                offenceEpoch,
                currentEpoch(),
                epochLength,
                _token
            );
    }

    /// @inheritdoc IStaking
    function slashTo(
        address operator,
        uint256 fraction,
        uint256 offenceEpoch,
        address beneficiary,
        uint256 cap
    ) external restricted nonReentrant returns (uint256) {
        return
            StakingSlashing.slashTo(
                operator,
                fraction,
                offenceEpoch,
                beneficiary,
                cap,
                currentEpoch(),
                epochLength,
                _token
            );
    }

    /// @inheritdoc IStaking
    function slashHeld(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch,
        bytes32 key
    ) external restricted nonReentrant returns (uint256) {
        return
            StakingSlashing.slashHeld(
                StakingSlashing.Target(msg.sender, key, operator),
                fraction,
                reporters,
                jail,
                offenceEpoch,
                currentEpoch(),
                epochLength
            );
    }

    /// @inheritdoc IStaking
    function returnHeld(
        address source,
        bytes32 key,
        address operator
    ) external restricted nonReentrant returns (uint256) {
        return StakingSlashing.returnHeld(source, key, operator, currentEpoch(), _token);
    }

    /// @inheritdoc IStaking
    function releaseHeld(
        address source,
        bytes32 key,
        address operator,
        address[] calldata reporters
    ) external nonReentrant {
        StakingSlashing.releaseHeld(source, key, operator, reporters, _token);
    }

    /// @inheritdoc IStaking
    function lockHolds(address source, bytes32 key) external restricted {
        StakingSlashing.lockHolds(source, key, msg.sender, true);
    }

    /// @inheritdoc IStaking
    function unlockHolds(address source, bytes32 key) external {
        StakingSlashing.lockHolds(source, key, msg.sender, false);
    }

    /// @inheritdoc IStaking
    function holdLock(address source, bytes32 key) external view returns (address) {
        return _s().holdLocks[source][key];
    }

    /// @inheritdoc IStaking
    function heldSlash(
        address source,
        bytes32 key,
        address operator
    ) external view returns (uint256, uint256, uint256) {
        StakingStorage.Hold storage h = _s().holds[source][key][operator];
        return (h.tokens, h.fee, h.releaseAt);
    }

    /// @inheritdoc IStaking
    function heldTokens() external view returns (uint256) {
        return _s().heldTokens;
    }

    /// @inheritdoc IStaking
    function pardon(address operator) external restricted {
        StakingSlashing.pardon(operator, currentEpoch());
    }

    /// @inheritdoc IStaking
    function slash(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail
    ) external restricted nonReentrant {
        uint256 epoch = currentEpoch();
        StakingSlashing.slash(operator, fraction, reporters, jail, epoch, epoch, epochLength, _token);
    }

    // =========================================================================================
    // Governance
    // =========================================================================================

    /// @notice Replaces the governance parameters; each one is checked against its hard bounds, and
    ///         `unbondingPeriod` must outlast every slash source's window.
    function setParams(Params calldata params_) external restricted {
        StakingOperators.setParams(params_);
    }

    /// @notice Adds a contract that may slash for an offence after the fact (ChallengeManager,
    ///         PoAIVerifier, a dispute game); its `slashWindow()` must be shorter than `unbondingPeriod`.
    function addSlashSource(ISlashWindow source) external restricted {
        StakingOperators.addSlashSource(source);
    }

    function removeSlashSource(ISlashWindow source) external restricted {
        StakingOperators.removeSlashSource(source);
    }

    /// @notice Connects the reward distributor (once): it funds closed epochs, its ChallengeManager
    ///         gives the points. It must have been deployed in the current epoch.
    function setRewardDistributor(IRewardDistributor distributor_) external restricted {
        StakingOperators.setRewardDistributor(distributor_, currentEpoch());
    }

    // =========================================================================================
    // Views
    // =========================================================================================

    /// @inheritdoc IStaking
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStaking
    function params() external view returns (Params memory) {
        return _s().params;
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
    function epochAt(uint256 timestamp) external view returns (uint256) {
        return (timestamp - genesis) / epochLength;
    }

    /// @inheritdoc IStaking
    function isActive(address operator) public view returns (bool) {
        StakingStorage.Layout storage s = _s();
        StakingStorage.Operator storage op = s.operators[operator];
        return
            op.status == Status.Active &&
            !op.jailed &&
            StakingStorage.selfStake(s, operator, s.pools[operator]) >= StakingStorage.minStake(s, op.role);
    }

    /// @inheritdoc IStaking
    function operatorState(address operator, uint256 epoch) external view returns (OperatorState memory st) {
        StakingStorage.Layout storage s = _s();
        StakingStorage.Operator storage op = s.operators[operator];
        st.role = op.role;
        st.active = isActive(operator);
        st.id = op.id;
        st.stake = _valueAt(s.stakeHistory[operator], epoch, s.pools[operator].tokens);
        st.minStake = StakingStorage.minStake(s, op.role);
        st.unjailedAt = op.unjailedAt;
    }

    /// @inheritdoc IStaking
    function roleOf(address operator) external view returns (Role) {
        return _s().operators[operator].role;
    }

    /// @inheritdoc IStaking
    function stakeAt(address operator, uint256 epoch) external view returns (uint256) {
        StakingStorage.Layout storage s = _s();
        return _valueAt(s.stakeHistory[operator], epoch, s.pools[operator].tokens);
    }

    /// @inheritdoc IStaking
    function roleStakeAt(Role role, uint256 epoch) external view returns (uint256) {
        StakingStorage.Layout storage s = _s();
        return _valueAt(s.roleHistory[role], epoch, s.roleTotals[role].stake);
    }

    /// @notice Current total active stake of the counted operators of `role`.
    function roleStake(Role role) external view returns (uint256) {
        return _s().roleTotals[role].stake;
    }

    /// @notice Current value of `operator`'s own position in its pool.
    function selfStake(address operator) external view returns (uint256) {
        StakingStorage.Layout storage s = _s();
        return StakingStorage.selfStake(s, operator, s.pools[operator]);
    }

    /// @notice The operator's commission rate for the current epoch, in basis points.
    function commissionOf(address operator) external view returns (uint16) {
        return commissionAt(operator, currentEpoch());
    }

    /// @notice The commission rate that applies to the rewards `operator`'s pool earns in `epoch`.
    function commissionAt(address operator, uint256 epoch) public view returns (uint16) {
        StakingStorage.Layout storage s = _s();
        return StakingStorage.commissionAt(s, operator, s.operators[operator], epoch);
    }

    function operatorCount() external view returns (uint256) {
        return _s().operatorList.length;
    }

    /// @notice The operator registered `index`-th (0-based); ids are index + 1.
    function operatorAt(uint256 index) external view returns (address) {
        return _s().operatorList[index];
    }

    /// @notice The raw operator record (see `StakingLens` for a dashboard view).
    function operatorRecord(address operator) external view returns (StakingStorage.Operator memory) {
        return _s().operators[operator];
    }

    /// @notice The operator's endpoint URL and GPU class.
    function metadataOf(
        address operator
    ) external view returns (string memory endpoint, string memory gpuClass) {
        StakingStorage.Layout storage s = _s();
        return (s.endpoint[operator], s.gpuClass[operator]);
    }

    function getPool(address operator) external view returns (PoolView memory v) {
        StakingStorage.Pool storage pool = _s().pools[operator];
        v.tokens = pool.tokens;
        v.shares = pool.shares;
        v.unbondingTokens = pool.unbondingTokens;
        v.rewardPerShare = pool.acc;
        v.creditedThrough = pool.frontier;
        v.commission = pool.commission;
        v.sharePrice = pool.shares == 0 ? WAD : Math.mulDiv(pool.tokens, WAD, pool.shares);
    }

    /// @notice `owner`'s position in `operator`'s pool with the rewards of the epochs credited to
    ///         the pool so far (`refreshPosition` through `eth_call` includes every closed epoch).
    function getPosition(address owner, address operator) public view returns (PositionView memory v) {
        StakingStorage.Layout storage s = _s();
        StakingStorage.Position storage pos = s.positions[owner][operator];
        StakingStorage.Pool storage pool = s.pools[operator];
        (uint256 earned, , ) = StakingRewards.earned(s, owner, operator, pool, pos);
        v.shares = pos.shares;
        v.tokens = ShareMath.toTokens(pos.shares, pool.shares, pool.tokens);
        v.claimable = pos.claimable + earned + (owner == operator ? pool.commission : 0);
    }

    /// @notice Raw unbonding entry `index` of `owner`'s queue (`shares == 0` once withdrawn or cancelled).
    function unbondingEntry(
        address owner,
        uint256 index
    ) external view returns (StakingStorage.Entry memory) {
        return _s().entries[owner][index];
    }

    /// @notice Head and tail of `owner`'s unbonding queue (entries live in [head, tail)).
    function queueBounds(address owner) external view returns (uint64 head, uint64 tail) {
        StakingStorage.Queue memory q = _s().queues[owner];
        return (q.head, q.tail);
    }

    /// @notice Tokens and shares of the stake that left `operator`'s pool in `exitEpoch` and is
    ///         still unbonding.
    function cohortOf(
        address operator,
        uint256 exitEpoch
    ) external view returns (uint256 tokens, uint256 shares) {
        StakingStorage.Cohort memory c = _s().cohorts[operator][exitEpoch];
        return (c.tokens, c.shares);
    }

    /// @notice The contracts whose slash windows `unbondingPeriod` must outlast.
    function slashSources() external view returns (address[] memory) {
        return _s().slashSources;
    }

    /// @notice The reward distributor, the points source, the first epoch not closed yet and when
    ///         the next one may be final.
    function rewardClock()
        external
        view
        returns (address distributor, address points, uint256 closedBefore, uint256 nextCheck)
    {
        StakingStorage.Layout storage s = _s();
        StakingStorage.RewardClock memory c = s.clock;
        return (
            s.distributor,
            c.points,
            c.points == address(0) ? currentEpoch() : c.closedBefore,
            c.nextCheck
        );
    }

    /// @notice What is left of closed epoch `epoch`'s budget for `role`, and of its points.
    function epochBudget(uint256 epoch, Role role) external view returns (uint256 amount, uint256 points) {
        StakingStorage.Budget memory b = _s().budgets[epoch][role];
        return (b.amount, b.points);
    }

    /// @notice Rewards added to `operator`'s pool for `epoch` and not credited yet.
    function poolRewardAt(address operator, uint256 epoch) external view returns (uint256) {
        return _s().poolRewards[operator][epoch];
    }

    /// @notice Rewards waiting to go back to the distributor's carry.
    function rewardDust() external view returns (uint256) {
        return _s().rewardDust;
    }

    // =========================================================================================
    // Internals
    // =========================================================================================

    function _s() private pure returns (StakingStorage.Layout storage) {
        return StakingStorage.layout();
    }

    function _delegate(address operator, uint256 amount) private {
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 shares = StakingPools.stake(msg.sender, operator, amount, currentEpoch(), epochLength);
        emit Delegated(msg.sender, operator, amount, shares);
    }

    /// A history holds, per touched epoch, the value at that epoch's start. The value at the start
    /// of `epoch` is the first checkpoint at or after it, or the current value if there is none.
    /// The epochs a judgment, a commitment or a draw asks for are recent: at most two checkpoints
    /// are read for an epoch after the one before last, so that the cost of a read does not grow
    /// with the number of epochs the history holds (a binary search only for older epochs).
    function _valueAt(
        Checkpoints.Trace208 storage history,
        uint256 epoch,
        uint256 current
    ) private view returns (uint256) {
        Checkpoints.Checkpoint208[] storage list = history._checkpoints;
        uint256 n = list.length;
        if (n == 0) return current;
        Checkpoints.Checkpoint208 storage last = list[n - 1];
        uint256 lastKey = last._key;
        if (epoch > lastKey) return current;
        if (epoch == lastKey || n == 1) return last._value;
        Checkpoints.Checkpoint208 storage prev = list[n - 2];
        uint256 prevKey = prev._key;
        if (epoch > prevKey) return last._value;
        if (epoch == prevKey) return prev._value;
        return history.lowerLookup(uint48(epoch));
    }
}
