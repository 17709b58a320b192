import type { Abi, Address, Log } from "viem";
import { getBlockNumber, watchContractEvent } from "viem/actions";
import type { PoAIContext } from "./context.js";

/** Options every event watcher accepts. */
export interface WatchOptions {
  /** Called when polling or the subscription fails; the watcher keeps going. */
  onError?: (error: Error) => void;
  /** Milliseconds between polls on HTTP transports (default: the client's). */
  pollingInterval?: number;
  /** Also deliver the events of the blocks from this one on (default: only blocks mined after the call). */
  fromBlock?: bigint;
}

/**
 * Watches one contract's events (all, or `eventName` filtered by indexed `args`) and calls
 * `onEvents` with each non-empty batch of decoded logs. Returns a function that stops watching.
 *
 * Over HTTP, a watcher without `fromBlock` starts at the block after the current one (an
 * in-process chain's filters re-deliver the latest block); WebSocket and IPC transports subscribe.
 * The typed wrappers (`watchStakingEvents`, `watchChallengeEvents`, …) narrow the event types.
 */
export function watchContractEvents(
  ctx: PoAIContext,
  params: {
    address: Address;
    abi: Abi;
    eventName?: string | undefined;
    args?: Record<string, unknown> | readonly unknown[] | undefined;
    onEvents: (logs: Log[]) => void;
  } & WatchOptions,
): () => void {
  const start = (fromBlock: bigint | undefined) =>
    watchContractEvent(ctx.publicClient, {
      address: params.address,
      abi: params.abi,
      ...(params.eventName !== undefined && { eventName: params.eventName }),
      ...(params.args !== undefined && { args: params.args }),
      ...(fromBlock !== undefined && { fromBlock }),
      strict: true,
      onLogs: (logs: Log[]) => {
        if (logs.length) params.onEvents(logs);
      },
      ...(params.onError !== undefined && { onError: params.onError }),
      ...(params.pollingInterval !== undefined && { pollingInterval: params.pollingInterval }),
    } as Parameters<typeof watchContractEvent>[1]);

  const transport = ctx.publicClient.transport.type;
  if (params.fromBlock !== undefined || transport === "webSocket" || transport === "ipc")
    return start(params.fromBlock);

  let stopped = false;
  let unwatch: (() => void) | undefined;
  getBlockNumber(ctx.publicClient, { cacheTime: 0 }).then(
    (current) => {
      if (!stopped) unwatch = start(current + 1n);
    },
    (err: unknown) => params.onError?.(err instanceof Error ? err : new Error(String(err))),
  );
  return () => {
    stopped = true;
    unwatch?.();
  };
}
