/**
 * Chained containers, as infernet-node 1.4.0 runs them. A subscription (or an off-chain job)
 * names the containers `"a,b,c"`; on chain it holds `keccak256(abi.encode("a,b,c"))`, so a node
 * recognises every ordered selection of distinct ids it serves (`chainLookup`: `"b,a"` as well as
 * `"a,b"`, and every single id).
 *
 * `runChain` calls the containers in order, each answer becoming the next input's `data`:
 * - the first container gets the job's `source`; its `destination` is the job's when it is the
 *   only one, else off-chain (1);
 * - every later container gets `source` off-chain (1) and the job's `destination` when it is the
 *   last one, else off-chain;
 * - the first failure ends the chain; its step records the error. Only the last container's
 *   answer is delivered (and checked for an error `code`).
 */
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import type { PyValue } from "./python-json.js";
import { ContainerError, JOB_LOCATION, type InferenceContainer, type JobLocation } from "./types.js";

/** One container's result in a chain: its answer or its error (infernet-node's `ContainerResult`). */
export type ChainStep = { container: string; output: PyValue } | { container: string; error: string };

export interface ChainResult {
  /** Every step run, in order; the last is the answer delivered, or the error that ended the chain. */
  results: ChainStep[];
  /** Whether every container answered. */
  ok: boolean;
}

/** `keccak256(abi.encode(ids.join(",")))`: a chain's `containerId` on chain. */
export const chainHash = (ids: readonly string[]): Hex =>
  keccak256(encodeAbiParameters([{ type: "string" }], [ids.join(",")]));

/**
 * Every ordered selection of distinct ids (lengths 1..n) by its `containerId`, as infernet-node's
 * container lookup. The lookup grows as n!; lengths are added while the table stays within
 * `maxEntries` (every single id is always there).
 */
export function chainLookup(ids: readonly string[], maxEntries = 200_000): Map<Hex, string[]> {
  const table = new Map<Hex, string[]>();
  let total = 0;
  for (let r = 1; r <= ids.length; r++) {
    let count = 1;
    for (let k = 0; k < r; k++) count *= ids.length - k;
    if (r > 1 && total + count > maxEntries) break;
    total += count;
    const pick = (prefix: string[], rest: readonly string[]) => {
      if (prefix.length === r) {
        table.set(chainHash(prefix), prefix);
        return;
      }
      rest.forEach((id, i) => pick([...prefix, id], [...rest.slice(0, i), ...rest.slice(i + 1)]));
    };
    pick([], ids);
  }
  return table;
}

/** Runs `containers` in order on the job's input, each answer feeding the next. */
export async function runChain(
  containers: readonly InferenceContainer[],
  job: {
    source: JobLocation;
    destination: JobLocation;
    data: PyValue;
    requiresProof: boolean;
    signal?: AbortSignal;
  },
): Promise<ChainResult> {
  const results: ChainStep[] = [];
  const n = containers.length;
  let input = {
    source: job.source,
    destination: n === 1 ? job.destination : JOB_LOCATION.offchain,
    data: job.data,
  };
  for (let index = 0; index < n; index++) {
    const c = containers[index]!;
    try {
      if (!c.call) throw new ContainerError("failed", c.id, "this container answers on-chain jobs only");
      const output = await c.call({
        ...input,
        requiresProof: job.requiresProof,
        ...(job.signal && { signal: job.signal }),
      });
      results.push({ container: c.id, output });
      input = {
        source: JOB_LOCATION.offchain,
        destination: index === n - 2 ? job.destination : JOB_LOCATION.offchain,
        data: output,
      };
    } catch (err) {
      if (job.signal?.aborted) throw err;
      results.push({ container: c.id, error: (err as Error)?.message ?? String(err) });
      return { results, ok: false };
    }
  }
  return { results, ok: true };
}
