/** Whether the deployment names a job registry (`jobRegistry`, or a contract whose name starts with `job`). */
import type { PoAIClient } from "@poai/sdk";
import type { Address } from "viem";

export function jobRegistryOf(
  client: Pick<PoAIClient, "deployment">,
): { name: string; address: Address } | null {
  const contracts = client.deployment.contracts as Record<string, Address | undefined>;
  const name =
    contracts.jobRegistry !== undefined
      ? "jobRegistry"
      : Object.keys(contracts).find((k) => /^job/i.test(k) && contracts[k] !== undefined);
  return name ? { name, address: contracts[name]! } : null;
}
