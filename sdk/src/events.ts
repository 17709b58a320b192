import {
  isAddressEqual,
  parseEventLogs,
  type Abi,
  type Address,
  type BlockNumber,
  type BlockTag,
  type Log,
} from "viem";
import { getBlockNumber, getContractEvents, watchContractEvent } from "viem/actions";
import type { PoAIContext } from "./context.js";
import { withDecodedErrors } from "./transaction.js";
import { checkEventArgs } from "./validate.js";

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
  checkEventArgs(params.abi, params.eventName, params.args);
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

/** Decodes the logs of `address` among `logs` with `abi`, keeping only `eventName`(s) when given. */
export function parseContractLogs(params: {
  address: Address;
  abi: Abi;
  logs: readonly Log[];
  eventName?: string | readonly string[] | undefined;
}): Log[] {
  const own = params.logs.filter((l) => isAddressEqual(l.address, params.address));
  const parsed = parseEventLogs({ abi: params.abi, logs: [...own], strict: true }) as unknown as (Log & {
    eventName: string;
  })[];
  if (params.eventName === undefined) return parsed;
  const wanted = ([] as readonly string[]).concat(params.eventName);
  return parsed.filter((e) => wanted.includes(e.eventName));
}

/** Past events `eventName` of `address` (`fromBlock` defaults to the deployment block, else genesis). */
export async function getPastContractEvents(
  ctx: PoAIContext,
  params: {
    address: Address;
    abi: Abi;
    eventName: string;
    args?: Record<string, unknown> | readonly unknown[] | undefined;
    fromBlock?: BlockNumber | BlockTag | undefined;
    toBlock?: BlockNumber | BlockTag | undefined;
  },
): Promise<Log[]> {
  checkEventArgs(params.abi, params.eventName, params.args);
  return withDecodedErrors(params.address, "getLogs", () =>
    getContractEvents(ctx.publicClient, {
      address: params.address,
      abi: params.abi,
      eventName: params.eventName,
      ...(params.args !== undefined && { args: params.args }),
      fromBlock: params.fromBlock ?? ctx.deployment.deployBlock ?? "earliest",
      toBlock: params.toBlock ?? "latest",
      strict: true,
    } as Parameters<typeof getContractEvents>[1]),
  ) as Promise<Log[]>;
}
