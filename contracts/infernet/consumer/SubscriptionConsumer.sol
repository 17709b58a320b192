// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SubscriptionOptions} from "../Types.sol";
import {BaseConsumer} from "./BaseConsumer.sol";

/// @title SubscriptionConsumer
/// @notice Recurring compute subscriptions (Ritual Infernet SDK v1.1.0's `SubscriptionConsumer`):
///         nodes read each interval's inputs from `getContainerInputs`, which the consumer overrides.
abstract contract SubscriptionConsumer is BaseConsumer {
    /// @param registry the marketplace's `Registry`
    constructor(address registry) BaseConsumer(registry) {}

    /// @notice Creates a subscription of `frequency` intervals, `period` seconds apart (the first
    ///         one starts `period` seconds from now).
    /// @param redundancy distinct nodes per interval
    /// @param lazy store outputs in the Inbox, receive a pointer
    /// @param paymentToken address(0) for ETH, else an ERC-20
    /// @param paymentAmount paid to each delivering node (0: free)
    /// @param wallet the Wallet that pays; this contract must be an approved spender
    /// @param verifier optional IVerifier gating each payment
    /// @return the new subscription's id
    function _createComputeSubscription(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32) {
        return
            COORDINATOR.createSubscription(
                containerId,
                frequency,
                period,
                redundancy,
                lazy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier
            );
    }

    /// @notice `_createComputeSubscription` with PoAI's options (e.g. commit-reveal).
    function _createComputeSubscriptionWithOptions(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier,
        SubscriptionOptions memory options
    ) internal returns (uint32) {
        return
            COORDINATOR.createSubscriptionWithOptions(
                containerId,
                frequency,
                period,
                redundancy,
                lazy,
                paymentToken,
                paymentAmount,
                wallet,
                verifier,
                options
            );
    }

    /// @notice Cancels subscription `subscriptionId` (owned by this contract); its escrow returns
    ///         to this contract's allowance in the wallet.
    function _cancelComputeSubscription(uint32 subscriptionId) internal {
        // `COORDINATOR.cancelSubscription(subscriptionId)` as a plain call: the coordinator has code
        // (the constructor read it from the registry) and returns nothing, so neither Solidity's
        // code-size check nor its return-data handling is needed; a revert is passed on unchanged.
        address coordinator = address(COORDINATOR);
        bytes4 selector = bytes4(keccak256("cancelSubscription(uint32)"));
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), subscriptionId)
            if iszero(call(gas(), coordinator, 0, ptr, 0x24, 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }
}
