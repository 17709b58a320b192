// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IVerifier
/// @notice A proof verifier a subscription may name (Ritual Infernet SDK v1.1.0's `IVerifier`,
///         unchanged, so Infernet verifiers plug in as they are). The coordinator pays the
///         verifier's `fee` to `getWallet()` and calls `requestProofVerification` during
///         `deliverCompute`; the verifier answers, at once (atomic) or later (optimistic), with
///         `ICoordinator.finalizeProofVerification`.
interface IVerifier {
    /// @notice The wallet that receives the verification fee.
    function getWallet() external view returns (address);

    /// @notice Whether `token` (address(0): ETH) is accepted for the fee.
    function isSupportedToken(address token) external view returns (bool);

    /// @notice The verification fee in `token`.
    function fee(address token) external view returns (uint256);

    /// @notice Starts verifying the proof `node` delivered for (`subscriptionId`, `interval`).
    function requestProofVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes calldata proof
    ) external;

    /// @notice Verifiers accept ETH (a verifier may still refuse ETH fees through `isSupportedToken`).
    receive() external payable;
}

/// @title IOutputVerifier
/// @notice A PoAI extension of `IVerifier` for verifiers that judge the delivered output itself
///         (deterministic integer models: the output is exactly checkable). When a subscription's
///         verifier declares this interface through ERC-165, the coordinator calls
///         `requestOutputVerification` instead of `requestProofVerification`, handing the verifier
///         what the consumer received; the verifier answers with `finalizeProofVerification` as any
///         verifier does.
interface IOutputVerifier is IVerifier {
    /// @notice Starts verifying the output `node` delivered for (`subscriptionId`, `interval`) of
    ///         container `containerId` (the keccak256 of the subscription's container id string).
    function requestOutputVerification(
        uint32 subscriptionId,
        uint32 interval,
        address node,
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external;
}
