// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStaking} from "../interfaces/IStaking.sol";

/// @notice Test double of the ChallengeManager's epoch views the RewardDistributor reads, with
///         points set by the test: lets a test give an epoch points that do not add up (as points
///         earned after an epoch's close would).
contract PointsOracle {
    mapping(uint256 epoch => bool) public isEpochFinal;
    mapping(uint256 epoch => mapping(address operator => uint256)) public epochPoints;
    mapping(uint256 epoch => mapping(IStaking.Role role => uint256)) public epochTotalPoints;

    function setFinal(uint256 epoch, bool final_) external {
        isEpochFinal[epoch] = final_;
    }

    function setPoints(uint256 epoch, address operator, uint256 points) external {
        epochPoints[epoch][operator] = points;
    }

    function setTotal(uint256 epoch, IStaking.Role role, uint256 total) external {
        epochTotalPoints[epoch][role] = total;
    }

    function epochClosesAt(uint256) external pure returns (uint256) {
        return 0;
    }
}
