/**
 * Training jobs, when the deployment has a job registry. The check is twofold: the address book
 * names a job registry (`jobRegistry`, or any contract whose name starts with `job`), and the SDK
 * this dashboard was built with exports a `getJobs(client-context, { offset, limit })` read. When
 * both hold, the page lists what that read returns; otherwise it says which of the two is missing.
 *
 * The SDK is imported as a whole here (to look the action up by name), so this module is loaded
 * only with the jobs page.
 */
import * as sdk from "@poai/sdk";
import type { PoAIClient } from "@poai/sdk";
import type { Address } from "viem";
import { jobRegistryOf } from "./jobs-check.js";

export { jobRegistryOf };

export type JobsResult =
  | { available: false; reason: string }
  | { available: true; registry: Address; jobs: Record<string, unknown>[] };

type JobsReader = (ctx: PoAIClient, args: { offset?: bigint; limit?: bigint }) => Promise<unknown>;

function readerOf(module: object): JobsReader | undefined {
  const candidate = (module as Record<string, unknown>).getJobs;
  return typeof candidate === "function" ? (candidate as JobsReader) : undefined;
}

/** Rows of whatever the SDK's `getJobs` returns: an array, or a page `{ jobs: [...] }`. */
export function jobRows(result: unknown): Record<string, unknown>[] {
  const list = Array.isArray(result)
    ? result
    : result && typeof result === "object" && Array.isArray((result as { jobs?: unknown }).jobs)
      ? (result as { jobs: unknown[] }).jobs
      : [];
  return list.map((job, i) =>
    job && typeof job === "object" ? (job as Record<string, unknown>) : { index: i, value: job },
  );
}

export async function loadJobs(client: PoAIClient, module: object = sdk): Promise<JobsResult> {
  const registry = jobRegistryOf(client);
  if (!registry)
    return { available: false, reason: "This deployment has no job registry in its address book." };
  const getJobs = readerOf(module);
  if (!getJobs)
    return {
      available: false,
      reason: `The address book names a job registry (${registry.name} ${registry.address}), but the SDK this dashboard was built with has no getJobs read yet.`,
    };
  return {
    available: true,
    registry: registry.address,
    jobs: jobRows(await getJobs(client, { offset: 0n, limit: 200n })),
  };
}
