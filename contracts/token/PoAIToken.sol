// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title PoAIToken
/// @notice The PoAI staking and reward token: a plain ERC-20 with EIP-2612 permits and a fixed
///         supply minted once, at deployment, to `holder`. Nothing can mint afterwards.
contract PoAIToken is ERC20, ERC20Permit {
    /// @param holder receives the whole fixed supply
    /// @param supply the fixed total supply, in wei (18 decimals)
    constructor(address holder, uint256 supply) ERC20("PoAI", "POAI") ERC20Permit("PoAI") {
        _mint(holder, supply);
    }
}
