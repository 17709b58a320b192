// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Staking} from "./Staking.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title StakingLens
/// @notice Read-only views of the staking layer for SDKs and dashboards: operators with their
///         metadata, paginated. Holds no state of its own beyond the Staking address.
contract StakingLens {
    Staking public immutable staking;

    constructor(Staking staking_) {
        staking = staking_;
    }

    /// @notice Up to `limit` operators starting at `offset`, in registration order.
    function getOperators(
        uint256 offset,
        uint256 limit
    ) external view returns (IStaking.OperatorView[] memory views) {
        uint256 n = staking.operatorCount();
        uint256 end = offset >= n ? offset : Math.min(n, offset + limit);
        views = new IStaking.OperatorView[](end - offset);
        for (uint256 i = offset; i < end; ++i) views[i - offset] = getOperator(staking.operatorAt(i));
    }

    /// @notice One operator's view; an unregistered address yields a view with `status == None`.
    function getOperator(address operator) public view returns (IStaking.OperatorView memory v) {
        StakingStorage.Operator memory op = staking.operatorRecord(operator);
        IStaking.PoolView memory pool = staking.getPool(operator);
        v.operator = operator;
        v.id = op.id;
        v.role = op.role;
        v.status = op.status;
        v.jailed = op.jailed;
        v.active = staking.isActive(operator);
        v.jailedUntil = op.jailedUntil;
        v.commissionBps = staking.commissionOf(operator);
        v.maxCommissionBps = op.maxCommissionBps;
        if (op.status != IStaking.Status.None && op.commissionFrom > staking.currentEpoch()) {
            v.pendingCommissionBps = op.commissionBps;
            v.commissionEffectiveAt = uint40(staking.epochStart(op.commissionFrom));
        }
        v.selfStake = staking.selfStake(operator);
        v.totalStake = pool.tokens;
        v.totalShares = pool.shares;
        (v.endpoint, v.gpuClass) = staking.metadataOf(operator);
    }

    /// @notice `owner`'s unbonding queue: up to `limit` live entries from the head, each valued at
    ///         the current share price of its cohort (the stake that left the pool in its epoch).
    function getUnbonding(
        address owner,
        uint256 limit
    ) external view returns (IStaking.UnbondingView[] memory views) {
        (uint64 head, uint64 tail) = staking.queueBounds(owner);
        IStaking.UnbondingView[] memory tmp = new IStaking.UnbondingView[](Math.min(limit, tail - head));
        uint256 n;
        for (uint64 i = head; i < tail && n < tmp.length; ++i) {
            StakingStorage.Entry memory e = staking.unbondingEntry(owner, i);
            if (e.shares == 0) continue;
            address operator = staking.operatorAt(e.operatorId - 1);
            (uint256 cohortTokens, uint256 cohortShares) = staking.cohortOf(operator, e.exitEpoch);
            uint256 tokens = ShareMath.toTokens(e.shares, cohortShares, cohortTokens);
            tmp[n++] = IStaking.UnbondingView(i, operator, e.maturity, e.exitEpoch, e.shares, tokens);
        }
        views = new IStaking.UnbondingView[](n);
        for (uint256 j; j < n; ++j) views[j] = tmp[j];
    }
}
