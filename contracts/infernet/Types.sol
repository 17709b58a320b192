// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A subscription, laid out as Ritual Infernet SDK v1.1.0 lays it out (same fields, same
///         order, same EIP-712 type), so an Infernet consumer or node reads it unchanged.
///         A subscription with `frequency == 1` is a one-time request (a callback); `frequency > 1`
///         is recurring. Interval `i` (1-based) is current from `activeAt + (i - 1) * period`.
struct Subscription {
    address owner; // the consumer: it receives `rawReceiveCompute` and pays from `wallet`
    uint32 activeAt; // first time a node may deliver; `type(uint32).max` once cancelled
    uint32 period; // seconds between intervals (0: always interval 1)
    uint32 frequency; // number of intervals
    uint16 redundancy; // distinct nodes that may deliver each interval
    bytes32 containerId; // keccak256(abi.encode(container id string))
    bool lazy; // outputs go to the Inbox, the consumer receives a pointer
    address payable verifier; // optional IVerifier that gates payment
    uint256 paymentAmount; // paid per delivery, in `paymentToken` (0: free)
    address paymentToken; // address(0): ETH
    address payable wallet; // the consumer's Wallet; `owner` must be an approved spender
}

/// @notice PoAI's per-subscription options beyond Infernet's fields (`createSubscriptionWithOptions`).
struct SubscriptionOptions {
    /// Nodes commit to their output (`commitCompute`) before anyone reveals (`revealCompute`), so no
    /// node can copy another's output from the mempool; plain `deliverCompute` is then refused.
    bool commitReveal;
}

/// @notice What the coordinator calls on a consumer (implemented by `BaseConsumer`).
interface IComputeConsumer {
    function rawReceiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) external;
}

/// @notice The reward distributor's entry for usage fees (`RewardDistributor.notifyUsage`).
interface IUsageFeeSink {
    function notifyUsage(address node, address modelTrainer, uint256 amount) external;
}
