// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Registry} from "../Registry.sol";

/// @title Coordinated
/// @notice For contracts that only the coordinator may call (Ritual Infernet SDK v1.1.0's
///         `Coordinated`): reads the coordinator from the registry once, and guards functions with
///         `onlyCoordinator`.
abstract contract Coordinated {
    address private immutable _coordinator;

    /// @notice The caller is not the coordinator (Infernet's error, no arguments).
    error NotCoordinator();

    modifier onlyCoordinator() {
        if (msg.sender != _coordinator) revert NotCoordinator();
        _;
    }

    /// @param registry the marketplace's registry
    constructor(Registry registry) {
        _coordinator = registry.COORDINATOR();
    }
}
