// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Wallet
/// @notice An escrow wallet for inference payments (Ritual Infernet SDK v1.1.0's `Wallet`, same
///         functions). It holds ETH (`address(0)`) and ERC-20 tokens; its owner withdraws what is not
///         locked and approves spenders (consumer contracts, or a node's address for its collateral);
///         the coordinator spends, locks and unlocks on a spender's behalf, never beyond the
///         allowance the owner gave that spender.
///
/// Invariants (pinned by tests):
///  - for every token: balance >= lockedBalance[token] = sum over spenders of lockedBalanceOf[spender][token];
///  - the owner can always withdraw `balance - lockedBalance` and never more;
///  - the coordinator moves at most what a spender was allowed: every lock or transfer from unlocked
///    funds lowers the spender's allowance, every unlock gives it back;
///  - locked funds leave only through `cTransferLocked` (to pay for a delivery) or return to the
///    spender's allowance through `cUnlock`.
contract Wallet is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The coordinator allowed to move this wallet's funds.
    address public immutable coordinator;

    /// @notice token => total locked in escrow (address(0): ETH).
    mapping(address token => uint256) public lockedBalance;
    /// @notice spender => token => what the spender may still spend or lock.
    mapping(address spender => mapping(address token => uint256)) public allowance;
    /// @notice spender => token => what is locked on the spender's behalf.
    mapping(address spender => mapping(address token => uint256)) public lockedBalanceOf;

    event Withdrawal(address token, uint256 amount);
    event Approval(address indexed spender, address token, uint256 amount);
    event Transfer(address indexed spender, address token, address indexed to, uint256 amount);
    event Escrow(address indexed spender, address token, uint256 amount, bool locked);

    error NotCoordinator(address caller);
    error InsufficientFunds(address token, uint256 available, uint256 requested);
    error InsufficientAllowance(address spender, address token, uint256 allowance, uint256 requested);
    error InsufficientLocked(address spender, address token, uint256 locked, uint256 requested);
    error TransferFailed(address token, address to, uint256 amount);
    error ArrayLengthMismatch(uint256 recipients, uint256 amounts);

    modifier onlyCoordinator() {
        if (msg.sender != coordinator) revert NotCoordinator(msg.sender);
        _;
    }

    /// @param coordinator_ the coordinator (immutable)
    /// @param initialOwner the wallet's first owner
    constructor(address coordinator_, address initialOwner) Ownable(initialOwner) {
        coordinator = coordinator_;
    }

    /// @notice Accepts ETH deposits.
    receive() external payable {}

    // --- owner -------------------------------------------------------------------------------

    /// @notice Withdraws `amount` of `token` (address(0): ETH) that is not locked to the owner.
    function withdraw(address token, uint256 amount) external onlyOwner nonReentrant {
        uint256 unlocked = unlockedBalance(token);
        if (amount > unlocked) revert InsufficientFunds(token, unlocked, amount);
        _send(token, msg.sender, amount);
        emit Withdrawal(token, amount);
    }

    /// @notice Lets `spender` spend or lock up to `amount` of `token` through the coordinator.
    ///         Funds already locked for the spender are not affected.
    function approve(address spender, address token, uint256 amount) external onlyOwner {
        allowance[spender][token] = amount;
        emit Approval(spender, token, amount);
    }

    // --- coordinator ---------------------------------------------------------------------------

    /// @notice Pays `amount` of unlocked `token` to `to` out of `spender`'s allowance.
    function cTransfer(
        address spender,
        address token,
        address to,
        uint256 amount
    ) external onlyCoordinator nonReentrant {
        _spendAllowance(spender, token, amount);
        uint256 unlocked = unlockedBalance(token);
        if (amount > unlocked) revert InsufficientFunds(token, unlocked, amount);
        _send(token, to, amount);
        emit Transfer(spender, token, to, amount);
    }

    /// @notice Locks `amount` of `token` for `spender`, out of its allowance and the unlocked balance.
    function cLock(address spender, address token, uint256 amount) external onlyCoordinator {
        _lock(spender, token, amount);
    }

    /// @notice Locks `amount` for `spender` if its allowance and the unlocked balance cover it;
    ///         returns whether it did (never reverts for lack of funds).
    function cTryLock(
        address spender,
        address token,
        uint256 amount
    ) external onlyCoordinator returns (bool locked) {
        if (allowance[spender][token] < amount || unlockedBalance(token) < amount) return false;
        _lock(spender, token, amount);
        return true;
    }

    /// @notice Returns `amount` locked for `spender` to its allowance.
    function cUnlock(address spender, address token, uint256 amount) external onlyCoordinator {
        uint256 locked = lockedBalanceOf[spender][token];
        if (amount > locked) revert InsufficientLocked(spender, token, locked, amount);
        unchecked {
            lockedBalanceOf[spender][token] = locked - amount;
            lockedBalance[token] -= amount;
        }
        // An unlimited allowance stays unlimited (no overflow on the way back).
        uint256 allowed = allowance[spender][token];
        allowance[spender][token] =
            allowed > type(uint256).max - amount ? type(uint256).max : allowed + amount;
        emit Escrow(spender, token, amount, false);
    }

    /// @notice Pays `amounts[i]` to `to[i]` out of the funds locked for `spender`.
    function cTransferLocked(
        address spender,
        address token,
        address[] calldata to,
        uint256[] calldata amounts
    ) external onlyCoordinator nonReentrant {
        if (to.length != amounts.length) revert ArrayLengthMismatch(to.length, amounts.length);
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) total += amounts[i];
        uint256 locked = lockedBalanceOf[spender][token];
        if (total > locked) revert InsufficientLocked(spender, token, locked, total);
        unchecked {
            lockedBalanceOf[spender][token] = locked - total;
            lockedBalance[token] -= total;
        }
        for (uint256 i; i < to.length; ++i) {
            if (amounts[i] == 0) continue;
            _send(token, to[i], amounts[i]);
            emit Transfer(spender, token, to[i], amounts[i]);
        }
    }

    // --- views ---------------------------------------------------------------------------------

    /// @notice What the owner can withdraw now: the balance less what is locked.
    function unlockedBalance(address token) public view returns (uint256) {
        uint256 balance =
            token == address(0) ? address(this).balance : IERC20(token).balanceOf(address(this));
        uint256 locked = lockedBalance[token];
        return balance > locked ? balance - locked : 0;
    }

    // --- internals -----------------------------------------------------------------------------

    function _spendAllowance(address spender, address token, uint256 amount) private {
        uint256 allowed = allowance[spender][token];
        if (amount > allowed) revert InsufficientAllowance(spender, token, allowed, amount);
        unchecked {
            allowance[spender][token] = allowed - amount;
        }
    }

    function _lock(address spender, address token, uint256 amount) private {
        _spendAllowance(spender, token, amount);
        uint256 unlocked = unlockedBalance(token);
        if (amount > unlocked) revert InsufficientFunds(token, unlocked, amount);
        lockedBalance[token] += amount;
        lockedBalanceOf[spender][token] += amount;
        emit Escrow(spender, token, amount, true);
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, ) = payable(to).call{value: amount}("");
            if (!ok) revert TransferFailed(token, to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
