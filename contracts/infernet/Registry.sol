// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Registry
/// @notice The addresses of the marketplace's contracts, as Ritual Infernet SDK v1.1.0's `Registry`
///         names them: consumers, verifiers and helpers take the registry's address and read the
///         coordinator, the Inbox, the Reader, the fee contract and the wallet factory from it.
///         Immutable: a new deployment is a new registry.
contract Registry {
    /// @notice The coordinator (`EIP712Coordinator`) that delivers responses.
    address public immutable COORDINATOR;
    /// @notice Where lazy subscriptions' responses are stored.
    address public immutable INBOX;
    /// @notice Batch reads for nodes.
    address public immutable READER;
    /// @notice The protocol fee.
    address public immutable FEE;
    /// @notice Creates the wallets the coordinator pays from and into.
    address public immutable WALLET_FACTORY;

    constructor(address coordinator, address inbox, address reader, address fee, address walletFactory) {
        COORDINATOR = coordinator;
        INBOX = inbox;
        READER = reader;
        FEE = fee;
        WALLET_FACTORY = walletFactory;
    }
}
