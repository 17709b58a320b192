// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Registry} from "../Registry.sol";
import {Coordinated} from "../utility/Coordinated.sol";

/// @notice How a wallet pays ETH into the coordinator's escrow.
interface IEscrowSink {
    function receiveEscrow() external payable;
}

/// @title Wallet
/// @notice A payment wallet for inference (Ritual Infernet SDK v1.1.0's `Wallet`: same functions,
///         events and errors). It holds ETH (`address(0)`) and ERC-20 tokens; its owner withdraws
///         what is not locked and approves spenders (consumer contracts, or a node's address for its
///         collateral); the coordinator spends, locks and unlocks on a spender's behalf, never
///         beyond the allowance the owner gave that spender, and returns escrow it held (`cRefund`).
///
/// Invariants (pinned by tests):
///  - for every token: balance >= lockedBalance[token] = sum over spenders of lockedBalanceOf[spender][token];
///  - the owner can always withdraw `balance - lockedBalance` and never more;
///  - the coordinator moves at most what a spender was allowed: every lock or transfer lowers the
///    spender's allowance, every unlock or refund gives it back;
///  - locked funds leave only through `cTransfer` after `cUnlock` (to the spender's allowance).
contract Wallet is Ownable, Coordinated, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// The coordinator, which takes ETH through `receiveEscrow` (it has no payable fallback).
    address private immutable _escrow;

    /// @notice token => total locked (address(0): ETH).
    mapping(address token => uint256) public lockedBalance;
    /// @notice spender => token => what the spender may still spend or lock.
    mapping(address spender => mapping(address token => uint256)) public allowance;
    /// @notice spender => token => what is locked on the spender's behalf.
    mapping(address spender => mapping(address token => uint256)) public lockedBalanceOf;

    /// @notice The owner withdrew `amount` of `token` (Infernet's event, with its spelling).
    event Withdrawl(address token, uint256 amount);
    event Approval(address indexed spender, address token, uint256 amount);
    event Escrow(address indexed spender, address token, uint256 amount, bool locked);
    event Transfer(address indexed spender, address token, address indexed to, uint256 amount);
    /// @notice The coordinator returned `amount` of `token` it held in escrow, to `spender`'s allowance.
    event Refunded(address indexed spender, address token, uint256 amount);

    // Infernet v1.1.0's errors, with its signatures.
    error InsufficientFunds();
    error InsufficientAllowance();

    error InsufficientLocked(address spender, address token, uint256 locked, uint256 requested);
    error TransferFailed(address token, address to, uint256 amount);
    error InvalidRefund(address token, uint256 value, uint256 amount);

    /// @param registry the marketplace's registry (names the coordinator)
    /// @param initialOwner the wallet's first owner
    constructor(Registry registry, address initialOwner) Ownable(initialOwner) Coordinated(registry) {
        _escrow = registry.COORDINATOR();
    }

    /// @notice Accepts ETH deposits.
    receive() external payable {}

    // --- owner -------------------------------------------------------------------------------

    /// @notice Withdraws `amount` of `token` (address(0): ETH) that is not locked to the owner.
    function withdraw(address token, uint256 amount) external onlyOwner nonReentrant {
        if (amount > unlockedBalance(token)) revert InsufficientFunds();
        _send(token, msg.sender, amount);
        emit Withdrawl(token, amount);
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
        if (amount > unlockedBalance(token)) revert InsufficientFunds();
        _send(token, to, amount);
        emit Transfer(spender, token, to, amount);
    }

    /// @notice As `cTransfer`, but returns false (moving nothing) instead of reverting when the
    ///         allowance or the unlocked balance is short.
    function cTryTransfer(
        address spender,
        address token,
        address to,
        uint256 amount
    ) external onlyCoordinator nonReentrant returns (bool) {
        uint256 allowed = allowance[spender][token];
        if (amount > allowed) return false;
        // With nothing locked the transfer itself says whether the balance covers it.
        if (lockedBalance[token] != 0 && amount > unlockedBalance(token)) return false;
        unchecked {
            allowance[spender][token] = allowed - amount;
        }
        if (!_trySend(token, to, amount)) {
            allowance[spender][token] = allowed;
            return false;
        }
        emit Transfer(spender, token, to, amount);
        return true;
    }

    /// @notice Locks `amount` of `token` for `spender`, out of its allowance and the unlocked balance.
    function cLock(address spender, address token, uint256 amount) external onlyCoordinator {
        if (amount > unlockedBalance(token)) revert InsufficientFunds();
        _spendAllowance(spender, token, amount);
        lockedBalance[token] += amount;
        lockedBalanceOf[spender][token] += amount;
        emit Escrow(spender, token, amount, true);
    }

    /// @notice Returns `amount` locked for `spender` to its allowance.
    function cUnlock(address spender, address token, uint256 amount) external onlyCoordinator {
        uint256 locked = lockedBalanceOf[spender][token];
        if (amount > locked) revert InsufficientLocked(spender, token, locked, amount);
        unchecked {
            lockedBalanceOf[spender][token] = locked - amount;
            lockedBalance[token] -= amount;
        }
        _credit(spender, token, amount);
        emit Escrow(spender, token, amount, false);
    }

    /// @notice Takes back `amount` of `token` the coordinator held in escrow for `spender` (ETH:
    ///         sent with the call; a token: transferred to this wallet just before) and returns it
    ///         to `spender`'s allowance.
    function cRefund(address spender, address token, uint256 amount) external payable onlyCoordinator {
        if (msg.value != (token == address(0) ? amount : 0)) revert InvalidRefund(token, msg.value, amount);
        _credit(spender, token, amount);
        emit Refunded(spender, token, amount);
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
        if (amount > allowed) revert InsufficientAllowance();
        unchecked {
            allowance[spender][token] = allowed - amount;
        }
    }

    /// An unlimited allowance stays unlimited (no overflow on the way back).
    function _credit(address spender, address token, uint256 amount) private {
        uint256 allowed = allowance[spender][token];
        allowance[spender][token] =
            allowed > type(uint256).max - amount ? type(uint256).max : allowed + amount;
    }

    /// Sends `amount`; false (nothing sent) when the balance is short or the token refuses.
    function _trySend(address token, address to, uint256 amount) private returns (bool ok) {
        bytes memory ret;
        if (token == address(0)) {
            if (address(this).balance < amount) return false;
            _send(token, to, amount);
            return true;
        }
        // solhint-disable-next-line avoid-low-level-calls
        (ok, ret) = token.call(abi.encodeCall(IERC20.transfer, (to, amount)));
        ok = ok && (ret.length == 0 ? token.code.length != 0 : abi.decode(ret, (bool)));
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            if (to == _escrow) {
                IEscrowSink(to).receiveEscrow{value: amount}();
                return;
            }
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, ) = payable(to).call{value: amount}("");
            if (!ok) revert TransferFailed(token, to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
