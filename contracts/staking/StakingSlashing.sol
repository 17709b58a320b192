// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IStaking} from "../interfaces/IStaking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title StakingSlashing
/// @notice Slashing for `Staking` (a linked library, run in Staking's storage). A slash takes what
///         was at stake in the offence's epoch, as Cosmos does: the pool's active stake and the
///         unbonding cohorts of stake that left the pool from that epoch on; stake that left
///         before the offence began is untouched. Each pool and cohort keeps a share price, so
///         every position and unbonding entry in it loses exactly its part (I3), and the cut never
///         drives a price to zero (I2). The work is bounded by the number of epochs between the
///         offence and now, itself bounded by `unbondingPeriod / epochLength` (every slash window
///         is shorter than the unbonding period); it never loops over users.
library StakingSlashing {
    using SafeERC20 for IERC20;

    uint256 internal constant MAX_REPORTERS = 16;
    uint256 internal constant BPS = 10_000;
    address internal constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    function slash(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch,
        uint256 epoch,
        uint256 epochLength,
        IERC20 token
    ) external returns (uint256 total) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        if (reporters.length > MAX_REPORTERS)
            revert IStaking.TooManyReporters(reporters.length, MAX_REPORTERS);
        uint256 activeCut;
        uint256 unbondingCut;
        (total, activeCut, unbondingCut) = _cut(s, operator, fraction, offenceEpoch, epoch, epochLength);
        uint256 fee;
        if (reporters.length != 0) {
            uint256 each = (total * s.params.finderFeeBps) / BPS / reporters.length;
            fee = each * reporters.length;
            if (each != 0) {
                for (uint256 i; i < reporters.length; ++i) token.safeTransfer(reporters[i], each);
            }
        }
        uint256 burned = total - fee;
        emit IStaking.Slashed(operator, offenceEpoch, fraction, activeCut, unbondingCut, fee, burned);
        if (burned != 0) token.safeTransfer(BURN_ADDRESS, burned);

        StakingStorage.Operator storage op = s.operators[operator];
        if (jail) {
            op.jailed = true;
            uint40 until = uint40(block.timestamp + s.params.jailCooldown);
            op.jailedUntil = until;
            emit IStaking.Jailed(operator, until);
        }
        // Out of the role's total when jailed or when the cut left its self-stake below the minimum.
        StakingStorage.recount(s, operator, op, epoch);
    }

    /// @notice `slash` without finder's fee or jail, paying up to `cap` of the cut to
    ///         `beneficiary` (into its pool when it is a registered operator whose pool has shares,
    ///         else to its address) and burning the rest.
    function slashTo(
        address operator,
        uint256 fraction,
        uint256 offenceEpoch,
        address beneficiary,
        uint256 cap,
        uint256 epoch,
        uint256 epochLength,
        IERC20 token
    ) external returns (uint256 paid) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        (uint256 total, uint256 activeCut, uint256 unbondingCut) = _cut(
            s,
            operator,
            fraction,
            offenceEpoch,
            epoch,
            epochLength
        );
        StakingStorage.recount(s, operator, s.operators[operator], epoch);
        paid = total < cap ? total : cap;
        uint256 burned = total - paid;
        emit IStaking.Slashed(operator, offenceEpoch, fraction, activeCut, unbondingCut, 0, burned);
        if (burned != 0) token.safeTransfer(BURN_ADDRESS, burned);
        if (paid == 0) return 0;
        emit IStaking.SlashRepaid(operator, beneficiary, paid, _repay(s, beneficiary, paid, epoch, token));
    }

    /// @notice Who a held slash belongs to: the slash source that holds it, its key (a challenge
    ///         id) and the slashed operator.
    struct Target {
        address source;
        bytes32 key;
        address operator;
    }

    /// @notice `slash`, holding what it takes (finder's fee included) under `t` until
    ///         `unbondingPeriod` from now instead of paying and burning it. One hold per target.
    function slashHeld(
        Target memory t,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch,
        uint256 epoch,
        uint256 epochLength
    ) external returns (uint256 total) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        uint256 n = reporters.length;
        if (n > MAX_REPORTERS) revert IStaking.TooManyReporters(n, MAX_REPORTERS);
        StakingStorage.Hold storage h = s.holds[t.source][t.key][t.operator];
        if (h.tokens != 0) revert IStaking.HoldExists(t.source, t.key, t.operator);
        uint256 activeCut;
        uint256 unbondingCut;
        (total, activeCut, unbondingCut) = _cut(s, t.operator, fraction, offenceEpoch, epoch, epochLength);
        uint256 fee = n == 0 ? 0 : ((total * s.params.finderFeeBps) / BPS / n) * n;
        uint256 releaseAt = block.timestamp + s.params.unbondingPeriod;
        if (total != 0) {
            (h.tokens, h.fee, h.releaseAt) = (uint128(total), uint88(fee), uint40(releaseAt));
            h.reporters = keccak256(abi.encode(reporters));
            s.heldTokens += total;
        }
        emit IStaking.SlashHeld(
            t.source,
            t.key,
            t.operator,
            offenceEpoch,
            fraction,
            activeCut,
            unbondingCut,
            fee,
            releaseAt,
            reporters
        );
        StakingStorage.Operator storage op = s.operators[t.operator];
        if (jail) {
            op.jailed = true;
            uint40 until = uint40(block.timestamp + s.params.jailCooldown);
            op.jailedUntil = until;
            emit IStaking.Jailed(t.operator, until);
        }
        StakingStorage.recount(s, t.operator, op, epoch);
    }

    /// @notice Returns a held slash in full to its operator (its pool, else its address); 0 when
    ///         nothing is held.
    function returnHeld(
        address source,
        bytes32 key,
        address operator,
        uint256 epoch,
        IERC20 token
    ) external returns (uint256 amount) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        amount = s.holds[source][key][operator].tokens;
        if (amount == 0) return 0;
        delete s.holds[source][key][operator];
        s.heldTokens -= amount;
        emit IStaking.HeldReturned(source, key, operator, amount, _repay(s, operator, amount, epoch, token));
    }

    /// @notice Releases a held slash whose time came: its finder's fee to `reporters` (checked
    ///         against the hash taken at the slash), the rest burned.
    function releaseHeld(
        address source,
        bytes32 key,
        address operator,
        address[] calldata reporters,
        IERC20 token
    ) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Hold memory h = s.holds[source][key][operator];
        if (h.tokens == 0) revert IStaking.NothingHeld(source, key, operator);
        if (block.timestamp < h.releaseAt) revert IStaking.HoldNotDue(source, key, operator, h.releaseAt);
        address locker = s.holdLocks[source][key];
        if (locker != address(0)) revert IStaking.HoldLocked(source, key, locker);
        if (keccak256(abi.encode(reporters)) != h.reporters)
            revert IStaking.ReportersMismatch(source, key, operator);
        delete s.holds[source][key][operator];
        s.heldTokens -= h.tokens;
        uint256 burned = h.tokens - h.fee;
        emit IStaking.HeldReleased(source, key, operator, h.fee, burned);
        if (h.fee != 0) {
            uint256 each = h.fee / reporters.length;
            for (uint256 i; i < reporters.length; ++i) token.safeTransfer(reporters[i], each);
        }
        if (burned != 0) token.safeTransfer(BURN_ADDRESS, burned);
    }

    /// @notice Locks (`lock`, by `caller`) or unlocks (only by its locker) the holds of `source`
    ///         under `key`: while locked none is released, so a defence that may return them
    ///         always finds them whole.
    function lockHolds(address source, bytes32 key, address caller, bool lock) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        address locker = s.holdLocks[source][key];
        if (lock) {
            if (locker != address(0)) revert IStaking.HoldLocked(source, key, locker);
            s.holdLocks[source][key] = caller;
            emit IStaking.HoldsLocked(source, key, caller);
        } else {
            if (caller != locker) revert IStaking.NotHoldLocker(source, key, caller, locker);
            delete s.holdLocks[source][key];
            emit IStaking.HoldsUnlocked(source, key, caller);
        }
    }

    /// Pays `amount` (held by Staking) to `beneficiary`: into its pool when it is a registered
    /// operator whose pool has shares (the share price rises, as a slash lowers it), up to one
    /// token per share (no repayment inflates a share above the price it was issued at, whatever
    /// left the pool since the slash); the rest, or all of it without a pool, to its address.
    /// Returns whether any of it went into the pool.
    function _repay(
        StakingStorage.Layout storage s,
        address beneficiary,
        uint256 amount,
        uint256 epoch,
        IERC20 token
    ) private returns (bool toPool) {
        StakingStorage.Operator storage b = s.operators[beneficiary];
        StakingStorage.Pool storage pool = s.pools[beneficiary];
        uint256 room =
            b.status == IStaking.Status.None || pool.shares <= pool.tokens ? 0 : pool.shares - pool.tokens;
        uint256 toShares = amount < room ? amount : room;
        if (amount > toShares) token.safeTransfer(beneficiary, amount - toShares);
        if (toShares == 0) return false;
        StakingStorage.checkpointStake(s, beneficiary, pool, epoch);
        pool.tokens += uint128(toShares);
        if (b.counted) StakingStorage.roleAdd(s, b.role, toShares, epoch);
        StakingStorage.recount(s, beneficiary, b, epoch);
        return true;
    }

    /// @notice Lifts `operator`'s jail (no cool-down) and counts it again when it qualifies.
    function pardon(address operator, uint256 epoch) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = s.operators[operator];
        if (!op.jailed) revert IStaking.OperatorNotJailed(operator);
        op.jailed = false;
        op.jailedUntil = 0;
        op.unjailedAt = uint40(block.timestamp);
        StakingStorage.recount(s, operator, op, epoch);
        emit IStaking.Unjailed(operator);
    }

    /// Takes `fraction` of what `operator`'s pool had at stake in `offenceEpoch` (its active stake
    /// and the unbonding cohorts from then on), out of the role's total for the active part.
    function _cut(
        StakingStorage.Layout storage s,
        address operator,
        uint256 fraction,
        uint256 offenceEpoch,
        uint256 epoch,
        uint256 epochLength
    ) private returns (uint256 total, uint256 activeCut, uint256 unbondingCut) {
        StakingStorage.Operator storage op = s.operators[operator];
        if (op.status == IStaking.Status.None) revert IStaking.NotRegistered(operator);
        if (fraction == 0) revert IStaking.ZeroAmount();
        uint256 maxFraction = s.params.maxSlashFraction;
        if (fraction > maxFraction) revert IStaking.SlashFractionTooHigh(fraction, maxFraction);
        if (offenceEpoch > epoch) revert IStaking.OffenceInFuture(offenceEpoch, epoch);

        StakingStorage.Pool storage pool = s.pools[operator];
        StakingStorage.checkpointStake(s, operator, pool, epoch);
        activeCut = ShareMath.slashAmount(pool.tokens, pool.shares, fraction);
        pool.tokens -= uint128(activeCut);
        if (op.counted) StakingStorage.roleSub(s, op.role, activeCut, epoch);
        unbondingCut = _slashUnbonding(s, operator, fraction, offenceEpoch, epoch, epochLength);
        if (unbondingCut != 0) pool.unbondingTokens -= uint128(unbondingCut);
        total = activeCut + unbondingCut;
    }

    /// Cuts `fraction` from each cohort of stake that left the pool in an epoch from `offenceEpoch`
    /// to now. Cohorts that left more than `unbondingPeriod / epochLength + 2` epochs ago are out of
    /// every slash window, so the loop never looks further back than that.
    function _slashUnbonding(
        StakingStorage.Layout storage s,
        address operator,
        uint256 fraction,
        uint256 offenceEpoch,
        uint256 epoch,
        uint256 epochLength
    ) private returns (uint256 cut) {
        uint256 span = s.params.unbondingPeriod / epochLength + 2;
        uint256 from = offenceEpoch;
        if (epoch > span && from < epoch - span) from = epoch - span;
        mapping(uint256 => StakingStorage.Cohort) storage cohorts = s.cohorts[operator];
        for (uint256 x = from; x <= epoch; ++x) {
            StakingStorage.Cohort storage c = cohorts[x];
            uint256 shares = c.shares;
            if (shares == 0) continue;
            uint256 tokens = c.tokens;
            uint256 taken = ShareMath.slashAmount(tokens, shares, fraction);
            if (taken != 0) {
                c.tokens = uint128(tokens - taken);
                cut += taken;
            }
        }
    }
}
