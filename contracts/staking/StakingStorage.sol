// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";

/// @title StakingStorage
/// @notice The state of `Staking`, kept at one ERC-7201 namespace so that Staking and its linked
///         libraries (`StakingOperators`, `StakingSlashing`) read and write the same storage, plus
///         the small helpers all of them use (stake and role-total checkpoints, commission by epoch).
///
/// Slot packing: an operator is one slot; a pool is four (tokens and shares; the reward
/// accumulator; the reward bookkeeping read on every credit; the unbonding total); a position is
/// two while it has no pending share change (shares and claimable; the reward snapshot and the
/// number of pending changes), up to four with them.
library StakingStorage {
    using Checkpoints for Checkpoints.Trace208;
    using SafeCast for uint256;

    /// @custom:storage-location erc7201:poai.storage.Staking
    struct Layout {
        IStaking.Params params;
        address[] operatorList;
        address[] slashSources;
        mapping(address operator => string) endpoint;
        mapping(address operator => string) gpuClass;
        mapping(address operator => Operator) operators;
        /// Commission entries `epoch << 16 | rate`, in epoch order: entry i applies from its epoch on.
        mapping(address operator => mapping(uint256 index => uint256)) commissionHistory;
        mapping(address operator => Pool) pools;
        mapping(address owner => mapping(address operator => Position)) positions;
        mapping(address owner => mapping(address operator => Levels)) levels;
        /// A pool's share-change records, one per epoch in which its share count changed: until the
        /// pool is credited past that epoch `epoch << 128 | sharesAtStart`, afterwards the reward
        /// accumulator at the end of that epoch (see `Staking`).
        mapping(address operator => mapping(uint256 index => uint256)) records;
        /// Rewards added to a pool for an epoch (donations, usage fees), credited with the epoch.
        mapping(address operator => mapping(uint256 epoch => uint256)) poolRewards;
        /// Unbonding stake by the epoch in which it left the pool.
        mapping(address operator => mapping(uint256 exitEpoch => Cohort)) cohorts;
        mapping(address owner => Queue) queues;
        mapping(address owner => mapping(uint256 index => Entry)) entries;
        mapping(address operator => Checkpoints.Trace208) stakeHistory;
        mapping(IStaking.Role role => RoleTotal) roleTotals;
        mapping(IStaking.Role role => Checkpoints.Trace208) roleHistory;
        /// What is left of each closed epoch's role budgets and points (remaining-proportional split).
        mapping(uint256 epoch => mapping(IStaking.Role role => Budget)) budgets;
        RewardClock clock;
        address distributor;
        /// Rewards nobody could earn, waiting to go back to the distributor's carry.
        uint256 rewardDust;
        /// Slashes held through their dispute window, by slash source, key (a challenge id) and
        /// slashed operator (see `StakingSlashing.slashHeld`).
        mapping(address source => mapping(bytes32 key => mapping(address operator => Hold))) holds;
        /// The sum of the held slashes' tokens.
        uint256 heldTokens;
        /// Who locked the holds of a slash source under a key (a defence of that challenge is
        /// open): none of them is released until it unlocks them (see `StakingSlashing.lockHolds`).
        mapping(address source => mapping(bytes32 key => address locker)) holdLocks;
    }

    /// A slash held in Staking until `releaseAt`: `tokens` taken from the pool, `fee` of them the
    /// finder's fee due to the reporters whose list hashes to `reporters` (two slots).
    struct Hold {
        uint128 tokens;
        uint88 fee;
        uint40 releaseAt;
        bytes32 reporters;
    }

    struct Operator {
        IStaking.Role role;
        IStaking.Status status;
        bool jailed;
        bool counted; // its active stake is part of its role's total
        uint32 id;
        uint40 jailedUntil;
        uint16 maxCommissionBps;
        uint16 commissionBps; // rate of the newest commission entry
        uint32 commissionFrom; // the epoch from which it applies
        uint16 prevCommissionBps; // rate of the entry before it
        uint32 prevCommissionFrom; // the epoch from which that one applied
        uint32 commissionCount; // entries in the commission history
        uint40 unjailedAt; // when it last left jail (0: never jailed)
    }

    struct Pool {
        uint128 tokens;
        uint128 shares;
        uint256 acc; // cumulative reward per share of the credited epochs, scaled by ShareMath.ACC_SCALE
        uint32 frontier; // the first epoch not credited yet
        uint32 recordHead; // the first share-change record not resolved yet
        uint32 recordTail; // the number of share-change records
        uint32 lastRecordEpoch; // the epoch of the newest record
        uint32 lastRewardEpoch; // the newest epoch with a pool reward (no pool reward after it)
        uint96 commission; // the operator's credited commission, not claimed yet
        uint128 unbondingTokens; // sum of the cohorts' tokens
        uint32 stakeKey; // 1 + epoch of the last stake checkpoint (0: none yet)
    }

    /// A position's share count may change in epochs whose rewards are not credited yet: it keeps
    /// its shares at each such boundary. `base` holds from the snapshot on, then `l0` from the
    /// record `i0`'s epoch + 1, `l1` from `i1`'s, and `shares` from the last pending record's.
    struct Position {
        uint128 shares;
        uint128 claimable;
        uint248 snapshot; // the pool's accumulator when the position was last settled
        uint8 pending; // share changes not resolved yet (0..3)
    }

    struct Levels {
        uint128 base;
        uint32 i0;
        uint32 i1;
        uint32 i2;
        uint128 l0;
        uint128 l1;
    }

    struct Cohort {
        uint128 tokens;
        uint128 shares;
    }

    /// One unbonding entry fits one slot.
    struct Entry {
        uint32 operatorId;
        uint40 maturity;
        uint32 exitEpoch;
        uint152 shares; // shares of the exit-epoch cohort; 0 once withdrawn or cancelled
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

    struct Budget {
        uint128 amount; // budget not credited yet
        uint128 points; // points not credited yet
    }

    /// Where points come from and how far the distributor has closed epochs.
    struct RewardClock {
        address points; // the ChallengeManager (0: no distributor, every ended epoch is closed)
        uint32 closedBefore; // epochs before this one are closed
        uint40 nextCheck; // when the next epoch may be final (a hint from the distributor)
    }

    // keccak256(abi.encode(uint256(keccak256("poai.storage.Staking")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant LOCATION = 0x8f364a9ea735d8878fadff22be8cc5e329ff463284c9af79347b7e2ba28f8e00;

    uint256 internal constant BPS = 10_000;

    function layout() internal pure returns (Layout storage s) {
        bytes32 location = LOCATION;
        assembly ("memory-safe") {
            s.slot := location
        }
    }

    // --- stake and role totals ----------------------------------------------------------------

    /// Records the pool's stake at the start of `epoch`, once per epoch, before it changes.
    function checkpointStake(Layout storage s, address operator, Pool storage pool, uint256 epoch) internal {
        if (pool.stakeKey != epoch + 1) {
            s.stakeHistory[operator].push(uint48(epoch), pool.tokens);
            pool.stakeKey = uint32(epoch + 1);
        }
    }

    function roleAdd(Layout storage s, IStaking.Role role, uint256 amount, uint256 epoch) internal {
        RoleTotal storage t = roleCheckpoint(s, role, epoch);
        t.stake = (t.stake + amount).toUint208();
    }

    function roleSub(Layout storage s, IStaking.Role role, uint256 amount, uint256 epoch) internal {
        RoleTotal storage t = roleCheckpoint(s, role, epoch);
        t.stake -= uint208(amount);
    }

    function roleCheckpoint(
        Layout storage s,
        IStaking.Role role,
        uint256 epoch
    ) private returns (RoleTotal storage t) {
        t = s.roleTotals[role];
        if (t.key != epoch + 1) {
            s.roleHistory[role].push(uint48(epoch), t.stake);
            t.key = uint48(epoch + 1);
        }
    }

    /// Brings `op.counted` in line with the rule "registered, not jailed, self-stake at least the
    /// minimum", moving the pool's stake in or out of its role's total.
    function recount(Layout storage s, address operator, Operator storage op, uint256 epoch) internal {
        Pool storage pool = s.pools[operator];
        bool should =
            op.status == IStaking.Status.Active &&
                !op.jailed &&
                selfStake(s, operator, pool) >= minStake(s, op.role);
        if (should == op.counted) return;
        op.counted = should;
        if (should) roleAdd(s, op.role, pool.tokens, epoch);
        else roleSub(s, op.role, pool.tokens, epoch);
    }

    function selfStake(
        Layout storage s,
        address operator,
        Pool storage pool
    ) internal view returns (uint256) {
        return ShareMath.toTokens(s.positions[operator][operator].shares, pool.shares, pool.tokens);
    }

    function minStake(Layout storage s, IStaking.Role role) internal view returns (uint256) {
        return role == IStaking.Role.Trainer ? s.params.minTrainerStake : s.params.minValidatorStake;
    }

    // --- commission -----------------------------------------------------------------------------

    /// The commission rate that applies to the rewards of `epoch`.
    function commissionAt(
        Layout storage s,
        address operator,
        Operator storage op,
        uint256 epoch
    ) internal view returns (uint16) {
        if (epoch >= op.commissionFrom) return op.commissionBps;
        if (epoch >= op.prevCommissionFrom) return op.prevCommissionBps;
        // Older: the last history entry whose epoch is at or before `epoch` (entry 0 is the rate at
        // registration and applies to everything before it).
        mapping(uint256 => uint256) storage h = s.commissionHistory[operator];
        uint256 lo;
        uint256 hi = op.commissionCount;
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (h[mid] >> 16 <= epoch) lo = mid;
            else hi = mid;
        }
        return uint16(h[lo]);
    }
}
