// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CallbackConsumer} from "@poai/contracts/infernet/consumer/CallbackConsumer.sol";
import {Allowlist} from "@poai/contracts/infernet/pattern/Allowlist.sol";
import {IStaking} from "@poai/contracts/interfaces/IStaking.sol";

// A dApp's consumer, built on the installed @poai/contracts.
contract Consumer is CallbackConsumer, Allowlist {
    IStaking public immutable staking;
    bytes public lastOutput;

    constructor(
        address registry,
        IStaking staking_,
        address[] memory nodes
    ) CallbackConsumer(registry) Allowlist(nodes) {
        staking = staking_;
    }

    function _receiveCompute(
        uint32,
        uint32,
        uint16,
        address node,
        bytes calldata,
        bytes calldata output,
        bytes calldata,
        bytes32,
        uint256
    ) internal override onlyAllowedNode(node) {
        lastOutput = output;
    }
}
