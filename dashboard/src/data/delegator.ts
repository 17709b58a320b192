/**
 * A delegator's portfolio: balance and allowance, its positions across every pool with the
 * rewards it can claim, and its unbonding entries with their maturity.
 */
import type { PoAIClient, PositionView, UnbondingView } from "@poai/sdk";
import { getBlock } from "viem/actions";
import type { Address } from "viem";
import { allOperators } from "./network.js";

export interface Portfolio {
  owner: Address;
  now: bigint;
  balance: bigint;
  allowance: bigint;
  /** Pools in which the owner holds shares or has rewards to claim. */
  positions: (PositionView & { operator: Address })[];
  staked: bigint;
  claimable: bigint;
  unbonding: readonly UnbondingView[];
  unbondingPeriod: bigint;
}

export async function loadPortfolio(client: PoAIClient, owner: Address): Promise<Portfolio> {
  const [operators, block, balance, allowance, unbonding, params] = await Promise.all([
    allOperators(client),
    getBlock(client.publicClient),
    client.token.getBalance({ owner }),
    client.token.getAllowance({ owner }),
    client.staking.getUnbonding({ owner, limit: 100 }),
    client.staking.getParams(),
  ]);
  const all = operators.map((op) => op.operator);
  const positions = all.length ? await client.staking.getPositions({ owner, operators: all }) : [];
  const held = positions.filter((p) => p.shares > 0n || p.claimable > 0n);
  return {
    owner,
    now: block.timestamp,
    balance,
    allowance,
    positions: held,
    staked: held.reduce((s, p) => s + p.tokens, 0n),
    claimable: held.reduce((s, p) => s + p.claimable, 0n),
    unbonding,
    unbondingPeriod: BigInt(params.unbondingPeriod),
  };
}
