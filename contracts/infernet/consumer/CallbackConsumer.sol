// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SubscriptionOptions} from "../Types.sol";
import {BaseConsumer} from "./BaseConsumer.sol";

/// @title CallbackConsumer
/// @notice One-time compute requests answered by callback (Ritual Infernet SDK v1.1.0's
///         `CallbackConsumer`): `_requestCompute` creates a subscription with frequency 1 and
///         period 0 and keeps its inputs for the nodes to read through `getContainerInputs`.
abstract contract CallbackConsumer is BaseConsumer {
    /// @notice subscriptionId => the inputs of that request.
    mapping(uint32 subscriptionId => bytes) internal subscriptionInputs;

    /// @param registry the marketplace's `Registry`
    constructor(address registry) BaseConsumer(registry) {}

    /// @notice Requests one computation of `containerId` on `inputs`.
    /// @param redundancy distinct nodes that answer
    /// @param paymentToken address(0) for ETH, else an ERC-20
    /// @param paymentAmount paid to each answering node (0: free)
    /// @param wallet the Wallet that pays; this contract must be an approved spender
    /// @param verifier optional IVerifier gating each payment
    /// @return the new subscription's id
    function _requestCompute(
        string memory containerId,
        bytes memory inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32) {
        uint32 subscriptionId = COORDINATOR.createSubscription(
            containerId,
            1,
            0,
            redundancy,
            false,
            paymentToken,
            paymentAmount,
            wallet,
            verifier
        );
        subscriptionInputs[subscriptionId] = inputs;
        return subscriptionId;
    }

    /// @notice `_requestCompute` with PoAI's options (e.g. commit-reveal for redundant answers).
    function _requestComputeWithOptions(
        string memory containerId,
        bytes memory inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier,
        SubscriptionOptions memory options
    ) internal returns (uint32) {
        uint32 subscriptionId = COORDINATOR.createSubscriptionWithOptions(
            containerId,
            1,
            0,
            redundancy,
            false,
            paymentToken,
            paymentAmount,
            wallet,
            verifier,
            options
        );
        subscriptionInputs[subscriptionId] = inputs;
        return subscriptionId;
    }

    /// @notice The stored inputs of request `subscriptionId`.
    function getContainerInputs(
        uint32 subscriptionId,
        uint32,
        uint32,
        address
    ) external view virtual override returns (bytes memory) {
        return subscriptionInputs[subscriptionId];
    }
}
