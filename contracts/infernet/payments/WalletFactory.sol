// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Wallet} from "./Wallet.sol";

/// @title WalletFactory
/// @notice Creates the `Wallet`s the coordinator accepts (Ritual Infernet SDK v1.1.0's factory):
///         only a wallet created here is trusted to hold escrow, since its code is known.
contract WalletFactory {
    /// @notice The coordinator every wallet created here answers to.
    address public immutable coordinator;

    mapping(address wallet => bool) private _isWallet;

    event WalletCreated(address indexed caller, address indexed owner, address wallet);

    /// @param coordinator_ the coordinator (immutable)
    constructor(address coordinator_) {
        coordinator = coordinator_;
    }

    /// @notice Creates a wallet owned by `initialOwner`.
    function createWallet(address initialOwner) external returns (address wallet) {
        wallet = address(new Wallet(coordinator, initialOwner));
        _isWallet[wallet] = true;
        emit WalletCreated(msg.sender, initialOwner, wallet);
    }

    /// @notice True when `wallet` was created by this factory.
    function isValidWallet(address wallet) external view returns (bool) {
        return _isWallet[wallet];
    }
}
