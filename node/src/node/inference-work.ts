/**
 * Small pieces of the inference node's work that stand apart from its loop: reading a consumer's
 * container inputs as infernet-node does, a bounded pool of concurrent tasks, and a queue that
 * runs the node's transactions one at a time.
 */
import { decodeFunctionResult, encodeFunctionData, type Address, type Hex } from "viem";
import { call } from "viem/actions";
import type { PoAIClient } from "@poai/sdk";
import { isPoAIContractError, toPoAIError } from "@poai/sdk";

const getContainerInputsAbi = [
  {
    type: "function",
    name: "getContainerInputs",
    stateMutability: "view",
    inputs: [
      { name: "subscriptionId", type: "uint32" },
      { name: "interval", type: "uint32" },
      { name: "timestamp", type: "uint32" },
      { name: "caller", type: "address" },
    ],
    outputs: [{ name: "", type: "bytes" }],
  },
] as const;

/**
 * The consumer's `getContainerInputs(subscriptionId, interval, timestamp, caller)`. Like
 * infernet-node, a call that reverts, or answers with bytes that do not decode (an account without
 * code, a contract without the function), gives empty input (`reverted` says why); an RPC that
 * fails (transport, timeout) throws, to be retried.
 */
export async function readContainerInputs(
  client: PoAIClient,
  args: { consumer: Address; subscriptionId: number; interval: number; timestamp: bigint; caller: Address },
): Promise<{ data: Hex; reverted?: string }> {
  const data = encodeFunctionData({
    abi: getContainerInputsAbi,
    functionName: "getContainerInputs",
    args: [args.subscriptionId, args.interval, Number(args.timestamp), args.caller],
  });
  let result: Hex | undefined;
  try {
    ({ data: result } = await call(client.publicClient, { to: args.consumer, data, account: args.caller }));
  } catch (err) {
    const decoded = toPoAIError(err, { contractAddress: args.consumer, functionName: "getContainerInputs" });
    if (isPoAIContractError(decoded)) return { data: "0x", reverted: (decoded as Error).message };
    throw err;
  }
  try {
    return {
      data: decodeFunctionResult({
        abi: getContainerInputsAbi,
        functionName: "getContainerInputs",
        data: result ?? "0x",
      }),
    };
  } catch {
    return { data: "0x", reverted: `the answer ${(result ?? "0x").slice(0, 74)} is not abi-encoded bytes` };
  }
}

/** Runs `task` on every item, at most `limit` at a time; rejects with the first error once all settle. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/** Runs async jobs one after another, in the order they were queued. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
