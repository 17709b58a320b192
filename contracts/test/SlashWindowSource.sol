// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISlashWindow} from "../interfaces/ISlashWindow.sol";

/// @notice Test double of a contract that slashes after the fact (ChallengeManager, PoAIVerifier):
///         a slash window the test sets.
contract SlashWindowSource is ISlashWindow {
    uint256 public slashWindow;

    constructor(uint256 window) {
        slashWindow = window;
    }

    function setSlashWindow(uint256 window) external {
        slashWindow = window;
    }
}
