// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";

/// @title Fee
/// @notice The inference marketplace's protocol fee (Ritual Infernet SDK v1.1.0's `Fee`: `FEE()`,
///         `FEE_RECIPIENT()`, `updateFee(uint16)`): the coordinator takes `2 * fee` basis points of
///         every payment and `fee` basis points of every verifier fee, and sends them to the
///         recipient. Governance sets both through the AccessManager, within a hard bound (where
///         Infernet lets the recipient, its owner, set any fee).
contract Fee is AccessManaged {
    /// @notice Largest fee governance may set: 10% (so at most 20% of a payment).
    uint16 public constant MAX_FEE_BPS = 1_000;

    uint16 private _fee;
    address private _recipient;

    event FeeUpdated(uint16 fee, address recipient);

    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);

    constructor(address authority, uint16 fee_, address recipient_) AccessManaged(authority) {
        _set(fee_, recipient_);
    }

    /// @notice Sets the fee (basis points), keeping the recipient (Infernet's setter).
    function updateFee(uint16 newFee) external restricted {
        _set(newFee, _recipient);
    }

    /// @notice Sets the fee (basis points) and its recipient.
    function setFee(uint16 fee_, address recipient_) external restricted {
        _set(fee_, recipient_);
    }

    /// @notice The fee in basis points (Infernet's read).
    // solhint-disable-next-line func-name-mixedcase
    function FEE() external view returns (uint16) {
        return _fee;
    }

    /// @notice Who receives the protocol fee (Infernet's read).
    // solhint-disable-next-line func-name-mixedcase
    function FEE_RECIPIENT() external view returns (address) {
        return _recipient;
    }

    /// @notice The fee in basis points.
    function fee() external view returns (uint16) {
        return _fee;
    }

    /// @notice Who receives the protocol fee.
    function feeRecipient() external view returns (address) {
        return _recipient;
    }

    /// @notice Both, in one call (one storage slot).
    function feeInfo() external view returns (uint16, address) {
        return (_fee, _recipient);
    }

    function _set(uint16 fee_, address recipient_) private {
        if (fee_ > MAX_FEE_BPS) revert InvalidParameter("fee", fee_, 0, MAX_FEE_BPS);
        if (recipient_ == address(0)) revert InvalidParameter("recipient", 0, 1, type(uint160).max);
        _fee = fee_;
        _recipient = recipient_;
        emit FeeUpdated(fee_, recipient_);
    }
}
