// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IChallengeManager} from "../interfaces/IChallengeManager.sol";
import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title StakingRewards
/// @notice The reward accounting of `Staking` (internal functions, compiled into Staking and
///         `StakingPools`): crediting a pool with the epochs it earned in, and pricing a position.
///
///         A pool is credited epoch by epoch, in order, from its `frontier`: epoch e's amount is its
///         share of its role's budget by points (remaining budget x points / remaining points) plus
///         the rewards added to the pool for e; the commission of e goes to the operator and the
///         rest raises the accumulator by `rest * ACC_SCALE / sharesAtStart(e)`.
///
///         `sharesAtStart(e)` comes from the pool's share-change records: the first share change in
///         an epoch u records the pool's shares at u's start; crediting u turns the record into the
///         accumulator at u's end, which is where a position's shares changed in u start to count.
///         A position stores its snapshot of the accumulator, and for each of its share changes
///         that is not credited yet, the record and its share count before the change. Settling it
///         walks those changes (at most three) in order: O(1) in delegators and in epochs.
///
///         Rounding: every mulDiv rounds down. Of an epoch's `rest`, what the accumulator cannot
///         represent for the pool's shares (the mulDiv remainder) stays in Staking as dust; a rest
///         that raises the accumulator by nothing, and any amount for a pool without shares, goes
///         back to the distributor's carry. A position earns floor(shares x accumulator delta) per
///         stretch between two of its share changes.
library StakingRewards {
    using SafeCast for uint256;

    /// @notice Most epochs of one pool a transaction credits.
    uint256 internal constant MAX_CREDIT_EPOCHS = 64;
    /// @notice Most epochs the distributor closes when a pool asks it to.
    uint256 internal constant MAX_CLOSE_EPOCHS = 16;
    /// @notice Most share changes of a position not credited yet.
    uint256 internal constant MAX_PENDING_CHANGES = 3;
    uint256 private constant MAX_ACC = type(uint248).max;

    struct Credit {
        uint256 acc0;
        uint256 commission0;
        uint256 head0;
        uint256 acc;
        uint256 head;
        uint256 tail;
        uint256 commission;
        uint256 shares;
        uint256 dust;
        uint256 lastReward;
    }

    /// Credits `operator`'s pool with the closed epochs from its frontier up to (not including)
    /// `end`, at most MAX_CREDIT_EPOCHS of them; asks the distributor to close final epochs first
    /// when one may be due. Never reverts on a distributor or points-source failure: it stops.
    function credit(
        StakingStorage.Layout storage s,
        address operator,
        StakingStorage.Operator storage op,
        StakingStorage.Pool storage pool,
        uint256 end,
        uint256 epoch,
        uint256 epochLength
    ) internal returns (uint256 credited) {
        uint256 from = pool.frontier;
        if (end > epoch) end = epoch;
        if (from >= end) return 0;
        StakingStorage.RewardClock memory clock = s.clock;
        if (clock.points != address(0)) {
            if (from >= clock.closedBefore && block.timestamp >= clock.nextCheck) {
                _closeDue(s, epochLength);
                clock = s.clock;
                // Everything below reads the pool after the distributor's calls (its token
                // transfers included): nothing read before them is used.
                from = pool.frontier;
            }
            if (end > clock.closedBefore) end = clock.closedBefore;
            if (from >= end) return 0;
        }
        if (end - from > MAX_CREDIT_EPOCHS) end = from + MAX_CREDIT_EPOCHS;

        Credit memory c;
        c.acc = pool.acc;
        c.acc0 = c.acc;
        c.head = pool.recordHead;
        c.head0 = c.head;
        c.tail = pool.recordTail;
        c.commission = pool.commission;
        c.commission0 = c.commission;
        c.lastReward = pool.lastRewardEpoch;
        if (c.head == c.tail) c.shares = pool.shares;
        uint256 e = from;
        for (; e < end; ++e) {
            uint256 sharesAtStart = c.shares;
            bool recorded;
            if (c.head < c.tail) {
                uint256 rec = s.records[operator][c.head];
                sharesAtStart = uint128(rec);
                recorded = rec >> 128 == e;
            }
            (bool ok, uint256 amount) = _epochAmount(s, clock.points, operator, op.role, e, c.lastReward);
            if (!ok) break;
            if (amount != 0) {
                uint256 commission =
                    (amount * StakingStorage.commissionAt(s, operator, op, e)) / StakingStorage.BPS;
                uint256 rest = amount - commission;
                uint256 inc = sharesAtStart == 0 ? 0 : Math.mulDiv(rest, ShareMath.ACC_SCALE, sharesAtStart);
                if (inc == 0 || c.acc + inc > MAX_ACC) c.dust += rest;
                else c.acc += inc;
                c.commission += commission;
                emit IStaking.RewardCredited(operator, e, amount, commission);
            }
            if (recorded) {
                s.records[operator][c.head] = c.acc;
                if (++c.head == c.tail) c.shares = pool.shares;
            }
        }
        credited = e - from;
        if (credited == 0) return 0;
        pool.frontier = uint32(e);
        if (c.acc != c.acc0) pool.acc = c.acc;
        if (c.head != c.head0) pool.recordHead = uint32(c.head);
        if (c.commission > type(uint96).max) {
            // Beyond the packed field: the operator's commission goes straight to its claimable.
            StakingStorage.Position storage own = s.positions[operator][operator];
            own.claimable = (own.claimable + c.commission).toUint128();
            c.commission = 0;
        }
        if (c.commission != c.commission0) pool.commission = uint96(c.commission);
        if (c.dust != 0) s.rewardDust += c.dust;
    }

    /// The pool's record for the share changes of `epoch` (created at the first one, with the
    /// pool's shares at the epoch's start).
    function record(
        StakingStorage.Layout storage s,
        address operator,
        StakingStorage.Pool storage pool,
        uint256 epoch
    ) internal returns (uint256 index) {
        index = pool.recordTail;
        if (index != 0 && pool.lastRecordEpoch == epoch) return index - 1;
        s.records[operator][index] = (epoch << 128) | pool.shares;
        pool.recordTail = (index + 1).toUint32();
        pool.lastRecordEpoch = uint32(epoch);
    }

    /// What `pos` earned since its snapshot over the epochs credited to the pool; also how many of
    /// its pending changes that resolves and its share count after the last resolved one.
    function earned(
        StakingStorage.Layout storage s,
        address owner,
        address operator,
        StakingStorage.Pool storage pool,
        StakingStorage.Position storage pos
    ) internal view returns (uint256 amount, uint256 resolved, uint256 level) {
        uint256 acc = pool.acc;
        uint256 snap = pos.snapshot;
        uint256 k = pos.pending;
        if (k == 0) {
            level = pos.shares;
        } else {
            StakingStorage.Levels storage lv = s.levels[owner][operator];
            uint256 head = pool.recordHead;
            level = lv.base;
            for (; resolved < k; ++resolved) {
                uint256 index =
                    resolved == 0
                        ? lv.i0
                        : resolved == 1
                            ? lv.i1
                            : lv.i2;
                if (index >= head) break;
                uint256 at = s.records[operator][index];
                amount += Math.mulDiv(level, at - snap, ShareMath.ACC_SCALE);
                snap = at;
                level =
                    resolved + 1 == k
                        ? pos.shares
                        : resolved == 0
                            ? lv.l0
                            : lv.l1;
            }
        }
        if (acc != snap) amount += Math.mulDiv(level, acc - snap, ShareMath.ACC_SCALE);
    }

    /// Brings `pos` up to the pool's accumulator and returns what it earned (not stored).
    function settle(
        StakingStorage.Layout storage s,
        address owner,
        address operator,
        StakingStorage.Pool storage pool,
        StakingStorage.Position storage pos
    ) internal returns (uint256 amount) {
        uint256 resolved;
        uint256 level;
        (amount, resolved, level) = earned(s, owner, operator, pool, pos);
        uint256 acc = pool.acc;
        if (pos.snapshot != acc) pos.snapshot = uint248(acc);
        if (resolved == 0) return amount;
        StakingStorage.Levels storage lv = s.levels[owner][operator];
        uint256 left = pos.pending - resolved;
        pos.pending = uint8(left);
        lv.base = uint128(level);
        if (left == 0) return amount;
        if (resolved == 1) {
            lv.i0 = lv.i1;
            if (left == 2) {
                lv.i1 = lv.i2;
                lv.l0 = lv.l1;
            }
        } else {
            lv.i0 = lv.i2;
        }
    }

    /// Sets a settled position's share count to `shares` from the end of the epoch of `rec` on,
    /// and adds `amount` (what settling it returned) to what it can claim.
    function change(
        StakingStorage.Layout storage s,
        address owner,
        address operator,
        StakingStorage.Position storage pos,
        uint256 shares,
        uint256 rec,
        uint256 amount
    ) internal {
        uint256 k = pos.pending;
        uint256 old = pos.shares;
        if (k != 0 || old != 0 || shares != 0) {
            StakingStorage.Levels storage lv = s.levels[owner][operator];
            uint256 last =
                k == 0
                    ? type(uint256).max
                    : k == 1
                        ? lv.i0
                        : k == 2
                            ? lv.i1
                            : lv.i2;
            if (last != rec) {
                if (k == 0) {
                    lv.base = uint128(old);
                    lv.i0 = uint32(rec);
                } else if (k == 1) {
                    lv.l0 = uint128(old);
                    lv.i1 = uint32(rec);
                } else if (k == 2) {
                    lv.l1 = uint128(old);
                    lv.i2 = uint32(rec);
                } else {
                    revert IStaking.PositionChangesPending(
                        owner,
                        operator,
                        s.records[operator][lv.i0] >> 128
                    );
                }
                pos.pending = uint8(k + 1);
            }
        }
        pos.shares = shares.toUint128();
        if (amount != 0) pos.claimable = (pos.claimable + amount).toUint128();
    }

    /// What `operator`'s pool earned in closed epoch `epoch`: its part of its role's budget (none
    /// without a points source) plus the rewards added to it for the epoch, taken out of both.
    function _epochAmount(
        StakingStorage.Layout storage s,
        address points,
        address operator,
        IStaking.Role role,
        uint256 epoch,
        uint256 lastReward
    ) private returns (bool ok, uint256 amount) {
        ok = true;
        if (points != address(0)) {
            (ok, amount) = _roleShare(s, points, operator, role, epoch);
            if (!ok) return (false, 0);
        }
        if (epoch <= lastReward) {
            uint256 extra = s.poolRewards[operator][epoch];
            if (extra != 0) {
                amount += extra;
                s.poolRewards[operator][epoch] = 0;
            }
        }
    }

    /// `operator`'s part of its role's budget for closed epoch `epoch` (and takes it from the
    /// budget): remaining budget x points / remaining points, all of what is left for the last.
    function _roleShare(
        StakingStorage.Layout storage s,
        address points,
        address operator,
        IStaking.Role role,
        uint256 epoch
    ) private returns (bool ok, uint256 amount) {
        StakingStorage.Budget storage b = s.budgets[epoch][role];
        uint256 budget = b.amount;
        if (budget == 0) return (true, 0);
        // A plain staticcall (a failing or odd points source stops the crediting, never reverts it).
        bytes4 selector = IChallengeManager.epochPoints.selector;
        uint256 got;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 4), epoch)
            mstore(add(ptr, 36), operator)
            ok := staticcall(gas(), points, ptr, 68, ptr, 32)
            ok := and(ok, gt(returndatasize(), 31))
            got := mload(ptr)
        }
        if (!ok) return (false, 0);
        if (got == 0) return (true, 0);
        uint256 total = b.points;
        if (got >= total) {
            amount = budget;
            (b.amount, b.points) = (0, 0);
        } else {
            amount = Math.mulDiv(budget, got, total);
            (b.amount, b.points) = (uint128(budget - amount), uint128(total - got));
        }
        return (true, amount);
    }

    /// Asks the distributor to close the epochs whose points are final (it calls `fundEpoch`).
    function _closeDue(StakingStorage.Layout storage s, uint256 epochLength) private {
        try IRewardDistributor(s.distributor).closeDue(MAX_CLOSE_EPOCHS) returns (uint256 nextCloseAt) {
            s.clock.nextCheck = nextCloseAt.toUint40();
        } catch {
            s.clock.nextCheck = (block.timestamp + epochLength).toUint40();
        }
    }
}
