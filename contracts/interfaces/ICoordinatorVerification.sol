// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICoordinatorVerification
/// @notice What a verifier calls on the coordinator (Ritual Infernet SDK v1.1.0's signature).
interface ICoordinatorVerification {
    /// @notice Settles a pending verification of the delivery `node` made for
    ///         (`subscriptionId`, `interval`): `valid` releases the escrowed payment to the node and
    ///         the node's collateral back to it; `!valid` refunds the consumer, pays it the node's
    ///         collateral and stops the delivery counting towards the interval's redundancy.
    ///         Only the subscription's verifier may call it, once per pending delivery.
    function finalizeProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bool valid
    ) external;
}
