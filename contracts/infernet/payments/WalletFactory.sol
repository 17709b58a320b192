// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Registry} from "../Registry.sol";
import {Wallet} from "./Wallet.sol";

/// @notice The coordinator keeps its own copy of which wallets this factory created.
interface IWalletRegistry {
    function registerWallet(address wallet) external;
}

/// @title WalletFactory
/// @notice Creates the `Wallet`s the coordinator accepts (Ritual Infernet SDK v1.1.0's factory):
///         only a wallet created here is trusted to hold or receive payments, since its code is known.
contract WalletFactory {
    Registry private immutable _registry;

    mapping(address wallet => bool) private _isWallet;

    event WalletCreated(address indexed caller, address indexed owner, address wallet);

    /// @param registry the marketplace's registry (names the coordinator)
    constructor(Registry registry) {
        _registry = registry;
    }

    /// @notice Creates a wallet owned by `initialOwner`.
    function createWallet(address initialOwner) external returns (address wallet) {
        wallet = address(new Wallet(_registry, initialOwner));
        _isWallet[wallet] = true;
        IWalletRegistry(_registry.COORDINATOR()).registerWallet(wallet);
        emit WalletCreated(msg.sender, initialOwner, wallet);
    }

    /// @notice True when `wallet` was created by this factory.
    function isValidWallet(address wallet) external view returns (bool) {
        return _isWallet[wallet];
    }
}
