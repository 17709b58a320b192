// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test-only ERC-20 whose every balance change can call back into a target: the worst
///         token-callback case (ERC-777 style hooks, a malicious token) for the Staking contract.
///         Once armed, the next transfer from or to `target` makes one call `target.call(data)`
///         from this token. The token contract can also act as an account of its own (`execute`),
///         so a re-entrant `withdraw` or `claim` is made by an account that really holds a
///         position and unbonding entries.
contract ReentrantToken is ERC20 {
    error CallFailed(bytes returnData);

    address public target;
    bytes public hookData;
    bool public armed;
    /// @notice When true a failing re-entrant call reverts the whole transfer with its revert data;
    ///         when false the failure is recorded and the transfer goes on.
    bool public bubble;
    uint256 public hookCalls;
    bool public lastHookOk;
    bytes public lastHookReturn;

    constructor(address holder, uint256 supply) ERC20("Reentrant", "RE") {
        _mint(holder, supply);
    }

    /// @notice Makes the next transfer from or to `target_` call `target_` with `data`.
    function arm(address target_, bytes calldata data, bool bubble_) external {
        target = target_;
        hookData = data;
        bubble = bubble_;
        armed = true;
    }

    /// @notice Calls `to` with `data` as this token contract (lets the token hold a position).
    function execute(address to, bytes calldata data) external returns (bytes memory ret) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, ret) = to.call(data);
        if (!ok) revert CallFailed(ret);
    }

    /// @notice Lets this contract approve a spender of its own balance.
    function approveFromSelf(address spender, uint256 amount) external {
        _approve(address(this), spender, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && target != address(0) && (from == target || to == target)) {
            armed = false;
            ++hookCalls;
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = target.call(hookData);
            lastHookOk = ok;
            lastHookReturn = ret;
            if (!ok && bubble) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}
