// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {StakingRewards} from "./StakingRewards.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title StakingPools
/// @notice Pools, shares and the unbonding queue of `Staking` (a linked library, run in Staking's
///         storage): delegations and undelegations (each first credits the pool and settles the
///         position, see `StakingRewards`), the exit-epoch cohorts unbonding stake joins, the
///         per-owner FIFO queue of one-slot entries, withdrawals and claims.
library StakingPools {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Adds `amount` tokens (already held by Staking) to `owner`'s position in `operator`'s
    ///         pool; the new shares count from the next epoch.
    function stake(
        address owner,
        address operator,
        uint256 amount,
        uint256 epoch,
        uint256 epochLength
    ) external returns (uint256 shares) {
        if (amount == 0) revert IStaking.ZeroAmount();
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = s.operators[operator];
        if (op.status != IStaking.Status.Active) {
            if (op.status == IStaking.Status.None) revert IStaking.NotRegistered(operator);
            revert IStaking.OperatorDeregisteredError(operator);
        }
        // A jailed pool takes no delegation, but its operator may top up its own stake to unjail.
        if (op.jailed && owner != operator) revert IStaking.OperatorIsJailed(operator, op.jailedUntil);

        StakingStorage.Pool storage pool = s.pools[operator];
        StakingStorage.Position storage pos = s.positions[owner][operator];
        StakingRewards.credit(s, operator, op, pool, epoch, epoch, epochLength);
        uint256 earned = StakingRewards.settle(s, owner, operator, pool, pos);
        StakingStorage.checkpointStake(s, operator, pool, epoch);
        uint256 rec = StakingRewards.record(s, operator, pool, epoch);

        shares = ShareMath.toShares(amount, pool.shares, pool.tokens);
        if (shares == 0) revert IStaking.ZeroAmount();
        pool.tokens = (pool.tokens + amount).toUint128();
        pool.shares = (pool.shares + shares).toUint128();
        StakingRewards.change(s, owner, operator, pos, pos.shares + shares, rec, earned);
        if (op.counted) StakingStorage.roleAdd(s, op.role, amount, epoch);
        else if (owner == operator) StakingStorage.recount(s, operator, op, epoch);
    }

    /// @notice Moves `shares` of `owner`'s position into `owner`'s unbonding queue, in the cohort
    ///         of stake that left `operator`'s pool in `epoch`. `exiting`: the operator leaves (no
    ///         minimum self-stake check).
    function undelegate(
        address owner,
        address operator,
        uint256 shares,
        bool exiting,
        uint256 epoch,
        uint256 epochLength,
        uint256 genesis
    ) external returns (uint64 entryIndex) {
        if (shares == 0) revert IStaking.ZeroAmount();
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = s.operators[operator];
        StakingStorage.Pool storage pool = s.pools[operator];
        StakingStorage.Position storage pos = s.positions[owner][operator];
        StakingRewards.credit(s, operator, op, pool, epoch, epoch, epochLength);
        uint256 earned = StakingRewards.settle(s, owner, operator, pool, pos);
        uint256 held = pos.shares;
        if (shares > held) revert IStaking.InsufficientShares(held, shares);
        StakingStorage.checkpointStake(s, operator, pool, epoch);
        uint256 rec = StakingRewards.record(s, operator, pool, epoch);

        uint256 tokens = ShareMath.toTokens(shares, pool.shares, pool.tokens);
        pool.tokens -= uint128(tokens);
        pool.shares -= uint128(shares);
        StakingRewards.change(s, owner, operator, pos, held - shares, rec, earned);
        if (op.counted) StakingStorage.roleSub(s, op.role, tokens, epoch);
        if (owner == operator && !exiting && op.status == IStaking.Status.Active) {
            uint256 remaining = ShareMath.toTokens(held - shares, pool.shares, pool.tokens);
            uint256 minimum = StakingStorage.minStake(s, op.role);
            if (remaining < minimum) revert IStaking.StakeBelowMinimum(remaining, minimum);
        }

        // Entries mature at the first epoch boundary at least `unbondingPeriod` away, and never
        // before the newest entry (governance may shorten the period), so the queue stays in
        // maturity order and undelegations from one pool in one epoch share an entry.
        uint256 at = block.timestamp + s.params.unbondingPeriod;
        uint40 maturity = uint40(genesis + Math.ceilDiv(at - genesis, epochLength) * epochLength);
        StakingStorage.Queue storage q = s.queues[owner];
        if (maturity < q.lastMaturity) maturity = q.lastMaturity;
        entryIndex = q.tail;
        if (tokens != 0) {
            StakingStorage.Cohort storage cohort = s.cohorts[operator][epoch];
            uint256 ubShares = ShareMath.toShares(tokens, cohort.shares, cohort.tokens);
            cohort.tokens = (cohort.tokens + tokens).toUint128();
            cohort.shares = (cohort.shares + ubShares).toUint128();
            pool.unbondingTokens = (pool.unbondingTokens + tokens).toUint128();
            StakingStorage.Entry storage last = s.entries[owner][entryIndex == 0 ? 0 : entryIndex - 1];
            if (
                entryIndex > q.head &&
                last.maturity == maturity &&
                last.operatorId == op.id &&
                last.exitEpoch == epoch &&
                last.shares != 0
            ) {
                entryIndex -= 1;
                last.shares = (last.shares + ubShares).toUint152();
            } else {
                s.entries[owner][entryIndex] = StakingStorage.Entry(
                    op.id,
                    maturity,
                    uint32(epoch),
                    ubShares.toUint152()
                );
                q.tail = entryIndex + 1;
                q.lastMaturity = maturity;
            }
        }
        emit IStaking.Undelegated(owner, operator, shares, tokens, entryIndex, maturity);
    }

    /// @notice Pays the caller's matured entries, oldest first, at most `maxEntries`.
    function withdraw(uint256 maxEntries, IERC20 token) external returns (uint256 amount) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Queue memory q = s.queues[msg.sender];
        uint256 processed;
        uint64 i = q.head;
        while (i < q.tail && processed < maxEntries) {
            StakingStorage.Entry memory e = s.entries[msg.sender][i];
            if (e.shares != 0) {
                if (e.maturity > block.timestamp) break;
                (, uint256 tokens) = _take(s, e);
                amount += tokens;
                delete s.entries[msg.sender][i];
            }
            unchecked {
                ++i;
                ++processed;
            }
        }
        if (processed == 0) revert IStaking.NothingToWithdraw(msg.sender);
        s.queues[msg.sender].head = i;
        emit IStaking.Withdrawn(msg.sender, amount, processed);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    /// @notice Removes the caller's entry `index` from its cohort (for `cancelUnbonding`) and
    ///         returns its operator and value.
    function takeEntry(uint64 index) external returns (address operator, uint256 tokens) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Entry memory e = s.entries[msg.sender][index];
        if (e.shares == 0) revert IStaking.UnbondingEntryNotFound(msg.sender, index);
        (operator, tokens) = _take(s, e);
        delete s.entries[msg.sender][index];
        emit IStaking.UnbondingCancelled(msg.sender, operator, index, tokens);
    }

    /// @notice Credits the pool, settles `owner`'s position and takes out everything it can claim
    ///         (the operator's commission too, when `owner` is the operator); returns the amount.
    function takeRewards(
        address owner,
        address operator,
        uint256 epoch,
        uint256 epochLength
    ) external returns (uint256 amount) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Pool storage pool = s.pools[operator];
        StakingStorage.Operator storage op = s.operators[operator];
        if (op.status != IStaking.Status.None)
            StakingRewards.credit(s, operator, op, pool, type(uint256).max, epoch, epochLength);
        StakingStorage.Position storage pos = s.positions[owner][operator];
        amount = StakingRewards.settle(s, owner, operator, pool, pos);
        uint256 stored = pos.claimable;
        if (stored != 0) {
            pos.claimable = 0;
            amount += stored;
        }
        if (owner == operator) {
            uint256 commission = pool.commission;
            if (commission != 0) {
                pool.commission = 0;
                amount += commission;
            }
        }
    }

    /// @notice Credits the pool and settles `owner`'s position into its claimable.
    function refresh(address owner, address operator, uint256 epoch, uint256 epochLength) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = s.operators[operator];
        if (op.status == IStaking.Status.None) revert IStaking.NotRegistered(operator);
        StakingStorage.Pool storage pool = s.pools[operator];
        StakingRewards.credit(s, operator, op, pool, type(uint256).max, epoch, epochLength);
        StakingStorage.Position storage pos = s.positions[owner][operator];
        uint256 earned = StakingRewards.settle(s, owner, operator, pool, pos);
        if (earned != 0) pos.claimable = (pos.claimable + earned).toUint128();
    }

    function _take(
        StakingStorage.Layout storage s,
        StakingStorage.Entry memory e
    ) private returns (address operator, uint256 tokens) {
        operator = s.operatorList[e.operatorId - 1];
        StakingStorage.Cohort storage cohort = s.cohorts[operator][e.exitEpoch];
        tokens = ShareMath.toTokens(e.shares, cohort.shares, cohort.tokens);
        cohort.tokens -= uint128(tokens);
        cohort.shares -= uint128(e.shares);
        s.pools[operator].unbondingTokens -= uint128(tokens);
    }
}
