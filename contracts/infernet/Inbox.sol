// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStaking} from "../interfaces/IStaking.sol";
import {Registry} from "./Registry.sol";
import {Coordinated} from "./utility/Coordinated.sol";

/// @notice A stored compute response (Ritual Infernet SDK v1.1.0's `InboxItem`, declared at file
///         level as Infernet declares it); `subscriptionId == 0` and `interval == 0` when written by
///         a node outside any subscription.
struct InboxItem {
    uint32 timestamp;
    uint32 subscriptionId;
    uint32 interval;
    bytes input;
    bytes output;
    bytes proof;
}

/// @title Inbox
/// @notice Stores compute responses for lazy consumption (Ritual Infernet SDK v1.1.0's `Inbox`):
///         the coordinator writes the outputs of lazy subscriptions here and hands the consumer a
///         pointer (`containerId`, `index`); active trainers may also write responses that belong
///         to no subscription. Items are append-only: an index, once returned, always reads the same.
contract Inbox is Coordinated {
    IStaking public immutable staking;

    /// @notice containerId => delivering node => its responses, in order.
    mapping(bytes32 containerId => mapping(address node => InboxItem[])) public items;

    event NewInboxItem(bytes32 indexed containerId, address indexed node, uint256 index);

    error NodeNotActiveTrainer(address node);
    error InboxItemNotFound(bytes32 containerId, address node, uint256 index);

    /// @param registry the marketplace's registry (the coordinator is the only writer of
    ///        subscription responses)
    /// @param staking_ tells which nodes are active trainers
    constructor(Registry registry, IStaking staking_) Coordinated(registry) {
        staking = staking_;
    }

    /// @notice Lets an active trainer store a response that belongs to no subscription.
    /// @return index of the new item under (`containerId`, caller)
    function write(
        bytes32 containerId,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external returns (uint256) {
        if (!staking.isActive(msg.sender) || staking.roleOf(msg.sender) != IStaking.Role.Trainer)
            revert NodeNotActiveTrainer(msg.sender);
        return _write(containerId, msg.sender, 0, 0, input, output, proof);
    }

    /// @notice Stores the response `node` delivered for (`subscriptionId`, `interval`). Coordinator only.
    /// @return index of the new item under (`containerId`, `node`)
    function writeViaCoordinator(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external onlyCoordinator returns (uint256) {
        return _write(containerId, node, subscriptionId, interval, input, output, proof);
    }

    /// @notice The item `index` stored by `node` under `containerId`.
    function read(bytes32 containerId, address node, uint256 index) external view returns (InboxItem memory) {
        InboxItem[] storage list = items[containerId][node];
        if (index >= list.length) revert InboxItemNotFound(containerId, node, index);
        return list[index];
    }

    /// @notice How many items `node` stored under `containerId`.
    function count(bytes32 containerId, address node) external view returns (uint256) {
        return items[containerId][node].length;
    }

    function _write(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) private returns (uint256 index) {
        InboxItem[] storage list = items[containerId][node];
        index = list.length;
        InboxItem storage item = list.push();
        item.timestamp = uint32(block.timestamp);
        item.subscriptionId = subscriptionId;
        item.interval = interval;
        if (input.length != 0) item.input = input;
        if (output.length != 0) item.output = output;
        if (proof.length != 0) item.proof = proof;
        emit NewInboxItem(containerId, node, index);
    }
}
