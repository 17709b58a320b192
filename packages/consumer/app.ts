// A dApp's TypeScript, type-checked with `strict` against the installed packages' declarations
// (skipLibCheck off, browser lib, no Node types): once with moduleResolution nodenext, once bundler.
import {
  createPoAIClient,
  formatPoai,
  isPoAIContractError,
  parseDeployment,
  stakingAbi,
  type OperatorView,
  type PoAIClient,
} from "@poai/sdk";
import { specId, type TrainingSpec } from "@poai/sdk/compute";
import { createPublicClient, http, type Address } from "viem";

export function connect(url: string, deployment: unknown): PoAIClient {
  return createPoAIClient({
    publicClient: createPublicClient({ transport: http(url) }),
    deployment: parseDeployment(deployment),
  });
}

export async function describeOperator(poai: PoAIClient, operator: Address): Promise<string> {
  try {
    const view: OperatorView = await poai.staking.getOperator({ operator });
    const stake: bigint = view.selfStake;
    return `${operator}: ${formatPoai(stake)}, commission ${view.commissionBps} bps`;
  } catch (err) {
    if (isPoAIContractError(err)) return `${operator}: ${err.errorName}`;
    throw err;
  }
}

export const stakingFunctions: readonly string[] = stakingAbi
  .filter((x) => x.type === "function")
  .map((x) => x.name);
export const idOf = (spec: TrainingSpec): `0x${string}` => specId(spec);
