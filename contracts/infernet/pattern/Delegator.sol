// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Delegator
/// @notice Names the account allowed to sign subscriptions on a consumer contract's behalf
///         (Ritual Infernet SDK v1.1.0's `Delegator`): an EOA, or a contract that answers ERC-1271.
///         `EIP712Coordinator.createSubscriptionDelegatee` checks a signature against `getSigner()`.
abstract contract Delegator {
    address private _signer;

    event SignerUpdated(address indexed signer);

    /// @param signer_ the first authorised signer
    constructor(address signer_) {
        _signer = signer_;
        emit SignerUpdated(signer_);
    }

    /// @notice The account whose signatures create subscriptions for this contract.
    function getSigner() external view returns (address) {
        return _signer;
    }

    /// @notice Replaces the authorised signer (expose it behind the inheriting contract's own access control).
    function _updateSigner(address newSigner) internal {
        _signer = newSigner;
        emit SignerUpdated(newSigner);
    }
}
