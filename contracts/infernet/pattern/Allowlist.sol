// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Allowlist
/// @notice Restricts which nodes a consumer accepts responses from (Ritual Infernet SDK v1.1.0's
///         `Allowlist` pattern): put `onlyAllowedNode(node)` on `_receiveCompute`, and a delivery
///         from any other node reverts, so the coordinator refuses it (nothing is paid or counted).
///         Expose `_updateAllowlist` behind the inheriting contract's own access control.
abstract contract Allowlist {
    mapping(address node => bool) private _allowed;

    /// @notice `node` was allowed (`allowed`) or removed.
    event AllowlistUpdated(address indexed node, bool allowed);

    /// @notice The node is not on the allowlist (Infernet's error, no arguments).
    error NodeNotAllowed();
    /// @notice `_updateAllowlist` got arrays of different lengths.
    error AllowlistLengthMismatch(uint256 nodes, uint256 statuses);

    modifier onlyAllowedNode(address node) {
        if (!_allowed[node]) revert NodeNotAllowed();
        _;
    }

    /// @param initialAllowed the nodes allowed from the start
    constructor(address[] memory initialAllowed) {
        for (uint256 i; i < initialAllowed.length; ++i) {
            _allowed[initialAllowed[i]] = true;
            emit AllowlistUpdated(initialAllowed[i], true);
        }
    }

    /// @notice Whether responses from `node` are accepted.
    function isAllowedNode(address node) external view returns (bool) {
        return _allowed[node];
    }

    /// @notice Sets `nodes[i]`'s status to `statuses[i]`.
    function _updateAllowlist(address[] memory nodes, bool[] memory statuses) internal {
        if (nodes.length != statuses.length) revert AllowlistLengthMismatch(nodes.length, statuses.length);
        for (uint256 i; i < nodes.length; ++i) {
            _allowed[nodes[i]] = statuses[i];
            emit AllowlistUpdated(nodes[i], statuses[i]);
        }
    }
}
