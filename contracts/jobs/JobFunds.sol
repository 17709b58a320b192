// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRewardCredit} from "../interfaces/IRewardCredit.sol";

/// @title JobFunds
/// @notice The money of paid jobs: budgets escrowed at posting (the amount actually received, so a
///         token that takes a fee on transfer cannot leave the books short), payments in the staking
///         token credited to the operators' pending fees in the RewardDistributor (then their pools,
///         where the operator's commission and its delegators' shares apply), and everything else
///         (refunds, protocol cuts, payments in another ERC-20) owed to its account and withdrawn by
///         it (a recipient that cannot receive never blocks a job).
///
/// Invariant (per token): balance >= escrowed + totalOwed, with equality for tokens that do not
/// change balances by themselves.
abstract contract JobFunds is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The staking token: payments in it go through the RewardDistributor into pools.
    IERC20 public immutable stakingToken;
    IRewardCredit public immutable distributor;

    /// @notice Budgets held for jobs that are not settled yet, per token.
    mapping(address token => uint256) public escrowed;
    /// @notice What `account` may withdraw, per token.
    mapping(address token => mapping(address account => uint256)) public owed;
    mapping(address token => uint256) public totalOwed;

    event Credited(address indexed token, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, uint256 amount);

    error NothingOwed(address token, address account);
    error NothingReceived(address token, uint256 amount);

    constructor(IERC20 stakingToken_, IRewardCredit distributor_) {
        stakingToken = stakingToken_;
        distributor = distributor_;
        stakingToken_.forceApprove(address(distributor_), type(uint256).max);
    }

    /// @notice Pays the caller everything it is owed in `token`.
    function withdraw(address token) external nonReentrant returns (uint256 amount) {
        amount = owed[token][msg.sender];
        if (amount == 0) revert NothingOwed(token, msg.sender);
        owed[token][msg.sender] = 0;
        totalOwed[token] -= amount;
        emit Withdrawn(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// Pulls `amount` of `token` from `from` into escrow; returns what arrived.
    function _deposit(address token, address from, uint256 amount) internal returns (uint256 received) {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        received = IERC20(token).balanceOf(address(this)) - before;
        if (received == 0) revert NothingReceived(token, amount);
        escrowed[token] += received;
    }

    /// Moves `amount` of `token` out of escrow into what `account` may withdraw.
    function _release(address token, address account, uint256 amount) internal {
        if (amount == 0) return;
        escrowed[token] -= amount;
        owed[token][account] += amount;
        totalOwed[token] += amount;
        emit Credited(token, account, amount);
    }

    /// Pays operators out of escrow (entries of amount 0 are skipped): the staking token into their
    /// pending fees in the RewardDistributor (one transfer), another token into what they may withdraw.
    function _payOperators(address token, address[] memory operators, uint256[] memory amounts) internal {
        if (token != address(stakingToken)) {
            for (uint256 i; i < operators.length; ++i) _release(token, operators[i], amounts[i]);
            return;
        }
        uint256 n;
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) {
            if (amounts[i] == 0) continue;
            (operators[n], amounts[n]) = (operators[i], amounts[i]);
            total += amounts[i];
            ++n;
        }
        if (n == 0) return;
        // Shorten the arrays in place to their n paid entries.
        assembly ("memory-safe") {
            mstore(operators, n)
            mstore(amounts, n)
        }
        escrowed[token] -= total;
        distributor.creditFees(operators, amounts);
    }
}
