// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {ISlashWindow} from "../interfaces/ISlashWindow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {StakingStorage} from "./StakingStorage.sol";

/// @title StakingOperators
/// @notice The operator registry of `Staking` (registration, metadata, commission history,
///         deregistration, jail exit) and its governance (parameters with hard bounds, slash-window
///         sources, the reward distributor). A linked library: its code runs in Staking's storage
///         through DELEGATECALL, so Staking stays under the contract-size limit while its hot paths
///         (delegation, rewards, claims) keep plain internal calls.
library StakingOperators {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint16 internal constant MAX_COMMISSION_BPS = 5_000;
    uint16 internal constant MAX_FINDER_FEE_BPS = 5_000;
    uint256 internal constant MAX_ENDPOINT_LENGTH = 256;
    uint256 internal constant MAX_GPU_CLASS_LENGTH = 64;
    uint256 internal constant MAX_UNBONDING_PERIOD = 365 days;
    uint256 internal constant MAX_JAIL_COOLDOWN = 365 days;
    uint256 internal constant MAX_COMMISSION_DELAY = 90 days;
    uint256 internal constant MAX_MIN_STAKE = 1e36;
    uint256 internal constant MAX_SLASH_SOURCES = 8;
    uint256 internal constant WAD = 1e18;

    // --- operators ------------------------------------------------------------------------------

    /// @notice Creates the caller's operator record (its pool starts crediting at `epoch`); the
    ///         self-stake is delegated by Staking right after.
    function register(
        IStaking.Role role,
        uint256 stake,
        uint16 commissionBps,
        uint16 maxCommissionBps,
        string calldata endpoint,
        string calldata gpuClass,
        uint256 epoch
    ) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        if (role != IStaking.Role.Trainer && role != IStaking.Role.Validator)
            revert IStaking.InvalidRole(uint8(role));
        StakingStorage.Operator storage op = s.operators[msg.sender];
        if (op.status != IStaking.Status.None) revert IStaking.AlreadyRegistered(msg.sender);
        if (maxCommissionBps > MAX_COMMISSION_BPS) revert IStaking.MaxCommissionTooHigh(maxCommissionBps);
        if (commissionBps > maxCommissionBps)
            revert IStaking.CommissionAboveMax(commissionBps, maxCommissionBps);
        uint256 minimum = StakingStorage.minStake(s, role);
        if (stake < minimum) revert IStaking.StakeBelowMinimum(stake, minimum);
        _checkMetadata(endpoint, gpuClass);

        s.operatorList.push(msg.sender);
        uint32 id = uint32(s.operatorList.length);
        op.role = role;
        op.status = IStaking.Status.Active;
        op.id = id;
        op.maxCommissionBps = maxCommissionBps;
        op.commissionBps = commissionBps;
        op.commissionFrom = uint32(epoch);
        op.prevCommissionBps = commissionBps;
        op.commissionCount = 1;
        s.commissionHistory[msg.sender][0] = (epoch << 16) | commissionBps;
        s.pools[msg.sender].frontier = uint32(epoch);
        s.endpoint[msg.sender] = endpoint;
        s.gpuClass[msg.sender] = gpuClass;
        emit IStaking.OperatorRegistered(
            msg.sender,
            role,
            id,
            stake,
            commissionBps,
            maxCommissionBps,
            endpoint,
            gpuClass
        );
    }

    function updateMetadata(string calldata endpoint, string calldata gpuClass) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        _requireRegistered(s, msg.sender);
        _checkMetadata(endpoint, gpuClass);
        s.endpoint[msg.sender] = endpoint;
        s.gpuClass[msg.sender] = gpuClass;
        emit IStaking.MetadataUpdated(msg.sender, endpoint, gpuClass);
    }

    /// @notice Marks the caller deregistered and takes its pool out of its role's total (Staking
    ///         then moves its self-stake to unbonding).
    function deregister(uint256 epoch) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = _requireRegistered(s, msg.sender);
        if (op.status == IStaking.Status.Deregistered) revert IStaking.OperatorDeregisteredError(msg.sender);
        if (op.counted) {
            op.counted = false;
            StakingStorage.roleSub(s, op.role, s.pools[msg.sender].tokens, epoch);
        }
        op.status = IStaking.Status.Deregistered;
        emit IStaking.OperatorDeregistered(msg.sender);
    }

    /// @notice See `Staking.setCommission`. The rate in force in the current epoch is the
    ///         reference for the per-request bound.
    function setCommission(uint16 newBps, uint256 epoch, uint256 genesis, uint256 epochLength) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = _requireRegistered(s, msg.sender);
        uint16 current = StakingStorage.commissionAt(s, msg.sender, op, epoch);
        if (newBps > op.maxCommissionBps) revert IStaking.CommissionAboveMax(newBps, op.maxCommissionBps);
        uint256 change = newBps > current ? newBps - current : current - newBps;
        uint256 maxChange = s.params.maxCommissionChangeBps;
        if (change > maxChange) revert IStaking.CommissionChangeTooLarge(current, newBps, maxChange);
        uint256 from = epoch + 1;
        if (newBps > current) {
            uint256 first = Math.ceilDiv(block.timestamp + s.params.commissionDelay - genesis, epochLength);
            if (first > from) from = first;
        }
        uint256 count = op.commissionCount;
        uint256 entry = (from << 16) | newBps;
        if (op.commissionFrom > epoch) {
            // The newest entry is not in force yet: this request replaces it.
            s.commissionHistory[msg.sender][count - 1] = entry;
        } else {
            s.commissionHistory[msg.sender][count] = entry;
            op.prevCommissionBps = op.commissionBps;
            op.prevCommissionFrom = op.commissionFrom;
            op.commissionCount = uint32(count + 1);
        }
        op.commissionBps = newBps;
        op.commissionFrom = uint32(from);
        emit IStaking.CommissionChangeRequested(
            msg.sender,
            current,
            newBps,
            uint40(genesis + from * epochLength)
        );
    }

    function unjail(uint256 epoch) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        StakingStorage.Operator storage op = _requireRegistered(s, msg.sender);
        if (!op.jailed) revert IStaking.OperatorNotJailed(msg.sender);
        if (block.timestamp < op.jailedUntil)
            revert IStaking.JailCooldownActive(msg.sender, op.jailedUntil, block.timestamp);
        uint256 self = StakingStorage.selfStake(s, msg.sender, s.pools[msg.sender]);
        uint256 minimum = StakingStorage.minStake(s, op.role);
        if (self < minimum) revert IStaking.StakeBelowMinimum(self, minimum);
        op.jailed = false;
        op.jailedUntil = 0;
        op.unjailedAt = uint40(block.timestamp);
        StakingStorage.recount(s, msg.sender, op, epoch);
        emit IStaking.Unjailed(msg.sender);
    }

    // --- governance -----------------------------------------------------------------------------

    /// @notice Checks every field against its hard bounds and the unbonding period against every
    ///         slash source's window, then stores the parameters.
    function setParams(IStaking.Params memory p) external {
        _bound("minTrainerStake", p.minTrainerStake, 1, MAX_MIN_STAKE);
        _bound("minValidatorStake", p.minValidatorStake, 1, MAX_MIN_STAKE);
        _bound("unbondingPeriod", p.unbondingPeriod, 1, MAX_UNBONDING_PERIOD);
        _bound("jailCooldown", p.jailCooldown, 0, MAX_JAIL_COOLDOWN);
        _bound("commissionDelay", p.commissionDelay, 0, MAX_COMMISSION_DELAY);
        _bound("maxCommissionChangeBps", p.maxCommissionChangeBps, 1, MAX_COMMISSION_BPS);
        _bound("finderFeeBps", p.finderFeeBps, 0, MAX_FINDER_FEE_BPS);
        _bound("maxSlashFraction", p.maxSlashFraction, 1, WAD);
        StakingStorage.Layout storage s = StakingStorage.layout();
        address[] storage sources = s.slashSources;
        for (uint256 i; i < sources.length; ++i) _checkWindow(sources[i], p.unbondingPeriod);
        s.params = p;
        emit IStaking.ParamsUpdated(p);
    }

    function addSlashSource(ISlashWindow source) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        address[] storage sources = s.slashSources;
        if (sources.length >= MAX_SLASH_SOURCES) revert IStaking.TooManySlashSources(MAX_SLASH_SOURCES);
        for (uint256 i; i < sources.length; ++i) {
            if (sources[i] == address(source)) revert IStaking.SlashSourceKnown(address(source));
        }
        uint256 window = _checkWindow(address(source), s.params.unbondingPeriod);
        sources.push(address(source));
        emit IStaking.SlashSourceAdded(address(source), window);
    }

    function removeSlashSource(ISlashWindow source) external {
        address[] storage sources = StakingStorage.layout().slashSources;
        uint256 n = sources.length;
        for (uint256 i; i < n; ++i) {
            if (sources[i] == address(source)) {
                sources[i] = sources[n - 1];
                sources.pop();
                emit IStaking.SlashSourceRemoved(address(source));
                return;
            }
        }
        revert IStaking.SlashSourceUnknown(address(source));
    }

    /// @notice Connects the reward distributor once; it must close epochs from the current one on
    ///         (no ended epoch can have been credited without it) and name this Staking.
    function setRewardDistributor(IRewardDistributor distributor, uint256 epoch) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        if (s.distributor != address(0)) revert IStaking.RewardDistributorAlreadySet(s.distributor);
        if (distributor.staking() != address(this))
            revert IStaking.InvalidParameter("distributor.staking", uint160(distributor.staking()), 0, 0);
        uint256 first = distributor.firstEpoch();
        if (first != epoch) revert IStaking.RewardDistributorEpoch(first, epoch);
        address points = distributor.challenges();
        if (points == address(0))
            revert IStaking.InvalidParameter("distributor.challenges", 0, 1, type(uint160).max);
        s.distributor = address(distributor);
        s.clock = StakingStorage.RewardClock(points, uint32(first), 0);
        emit IStaking.RewardDistributorSet(address(distributor), points, first);
    }

    // --- the reward distributor ----------------------------------------------------------------

    /// @notice See `Staking.fundEpoch`.
    function fundEpoch(
        uint256 epoch,
        uint256 trainerBudget,
        uint256 validatorBudget,
        uint256 trainerPoints,
        uint256 validatorPoints,
        uint256 nextCloseAt,
        IERC20 token
    ) external {
        StakingStorage.Layout storage s = StakingStorage.layout();
        if (msg.sender != s.distributor) revert IStaking.NotRewardDistributor(msg.sender);
        StakingStorage.RewardClock storage clock = s.clock;
        if (epoch != clock.closedBefore) revert IStaking.EpochNotInOrder(epoch, clock.closedBefore);
        if (trainerBudget != 0)
            s.budgets[epoch][IStaking.Role.Trainer] = StakingStorage.Budget(
                trainerBudget.toUint128(),
                trainerPoints.toUint128()
            );
        if (validatorBudget != 0)
            s.budgets[epoch][IStaking.Role.Validator] = StakingStorage.Budget(
                validatorBudget.toUint128(),
                validatorPoints.toUint128()
            );
        clock.closedBefore = (epoch + 1).toUint32();
        clock.nextCheck = nextCloseAt.toUint40();
        emit IStaking.EpochFunded(epoch, trainerBudget, validatorBudget, trainerPoints, validatorPoints);
        uint256 total = trainerBudget + validatorBudget;
        if (total != 0) token.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @notice See `Staking.takeRewardDust`.
    function takeRewardDust(IERC20 token) external returns (uint256 amount) {
        StakingStorage.Layout storage s = StakingStorage.layout();
        if (msg.sender != s.distributor) revert IStaking.NotRewardDistributor(msg.sender);
        amount = s.rewardDust;
        if (amount == 0) return 0;
        s.rewardDust = 0;
        emit IStaking.RewardDustReturned(amount);
        token.safeTransfer(msg.sender, amount);
    }

    // --- internals ------------------------------------------------------------------------------

    /// `source`'s slash window, which must be shorter than `unbondingPeriod`.
    function _checkWindow(address source, uint256 unbondingPeriod) private view returns (uint256 window) {
        (bool ok, bytes memory ret) = source.staticcall(abi.encodeCall(ISlashWindow.slashWindow, ()));
        if (!ok || ret.length < 32) revert IStaking.NotASlashWindowSource(source);
        window = abi.decode(ret, (uint256));
        if (unbondingPeriod <= window) revert IStaking.UnbondingTooShort(unbondingPeriod, source, window);
    }

    function _requireRegistered(
        StakingStorage.Layout storage s,
        address operator
    ) private view returns (StakingStorage.Operator storage op) {
        op = s.operators[operator];
        if (op.status == IStaking.Status.None) revert IStaking.NotRegistered(operator);
    }

    function _checkMetadata(string calldata endpoint, string calldata gpuClass) private pure {
        if (bytes(endpoint).length > MAX_ENDPOINT_LENGTH) {
            revert IStaking.MetadataTooLong("endpoint", bytes(endpoint).length, MAX_ENDPOINT_LENGTH);
        }
        if (bytes(gpuClass).length > MAX_GPU_CLASS_LENGTH) {
            revert IStaking.MetadataTooLong("gpuClass", bytes(gpuClass).length, MAX_GPU_CLASS_LENGTH);
        }
    }

    function _bound(string memory name, uint256 value, uint256 lo, uint256 hi) private pure {
        if (value < lo || value > hi) revert IStaking.InvalidParameter(name, value, lo, hi);
    }
}
