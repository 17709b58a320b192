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
        StakingStorage.Operator storage b = s.operators[beneficiary];
        StakingStorage.Pool storage pool = s.pools[beneficiary];
        bool toPool = b.status != IStaking.Status.None && pool.shares != 0;
        emit IStaking.SlashRepaid(operator, beneficiary, paid, toPool);
        if (!toPool) {
            token.safeTransfer(beneficiary, paid);
            return paid;
        }
        // The tokens stay in Staking: the pool's share price rises, as a slash lowers it.
        StakingStorage.checkpointStake(s, beneficiary, pool, epoch);
        pool.tokens += uint128(paid);
        if (b.counted) StakingStorage.roleAdd(s, b.role, paid, epoch);
        StakingStorage.recount(s, beneficiary, b, epoch);
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
