// A browser dApp's staking read: bundled by esbuild for the browser, viem kept external.
import { formatPoai, getOperator, parseDeployment } from "@poai/sdk";
import { createPublicClient, http, type Address } from "viem";

export async function selfStake(url: string, deployment: unknown, operator: Address): Promise<string> {
  const ctx = {
    publicClient: createPublicClient({ transport: http(url) }),
    deployment: parseDeployment(deployment),
  };
  return formatPoai((await getOperator(ctx, { operator })).selfStake);
}
