/**
 * The AccessManager roles of a PoAI deployment, and who holds them.
 *
 * | role | held by | may call |
 * | --- | --- | --- |
 * | ADMIN (0) | the `PoAITimelock` | role grants, function-to-role mapping, authority changes |
 * | GOVERNOR | the `PoAITimelock` (and, on a local development chain only, the deployer) | every parameter setter, spec registration, emission |
 * | SLASHER | the ChallengeManager (and the PoAIVerifier of the marketplace) | `Staking.slash`, `slashHeld`, `slashTo`, `returnHeld`, `lockHolds`, `pardon` |
 * | COORDINATOR | the inference Coordinator | `RewardDistributor.notifyUsage` |
 * | JOBS | the JobRegistry | `TaskRegistry.registerJobSpec`, `RewardDistributor.creditFees` / `setRoyaltySplit`, `ModelRegistry.registerJobModel` |
 * | DISPUTES | the DisputeGame (with SLASHER, for `Staking.lockHolds` / `returnHeld` / `slashTo` / `pardon`) | `ChallengeManager.overrule` |
 *
 * `roleHolders` rebuilds the holders from the AccessManager's events, `auditRoles` says which of
 * them are accounts rather than contracts (what a public deployment must not leave behind).
 */
import { getAddress, parseAbiItem, type Address, type PublicClient } from "viem";
import { isContractCode } from "@poai/sdk";

/** AccessManager role ids used by every PoAI deployment (0 is OpenZeppelin's ADMIN_ROLE). */
export const ROLES = {
  ADMIN: 0n,
  GOVERNOR: 1n,
  SLASHER: 2n,
  // 3 was REWARDER: `Staking.notifyReward` is open now (the RewardDistributor is connected to
  // Staking once, by `setRewardDistributor`), so no role guards it.
  /** The inference coordinator: reports usage fees to the reward distributor. */
  COORDINATOR: 4n,
  /** The job registry: registers job specs, credits job payments, binds job models. */
  JOBS: 5n,
  /** The dispute game: overrules a verdict a game proved wrong (`ChallengeManager.overrule`). */
  DISPUTES: 6n,
} as const;

export type RoleName = keyof typeof ROLES;

export const roleNameOf = (id: bigint): string =>
  (Object.entries(ROLES).find(([, v]) => v === id)?.[0] as string | undefined) ?? `role ${id}`;

/** Chains where a deployment may take the development fast path (the deployer as governor). */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

export const isDevChain = (chainId: number) => DEV_CHAIN_IDS.includes(chainId);

const ROLE_GRANTED = parseAbiItem(
  "event RoleGranted(uint64 indexed roleId, address indexed account, uint32 delay, uint48 since, bool newMember)",
);
const ROLE_REVOKED = parseAbiItem("event RoleRevoked(uint64 indexed roleId, address indexed account)");

/** The current members of every role that was ever granted, from the AccessManager's events. */
export async function roleHolders(
  client: PublicClient,
  accessManager: Address,
  fromBlock = 0n,
): Promise<Map<bigint, Address[]>> {
  const [granted, revoked] = await Promise.all([
    client.getLogs({ address: accessManager, event: ROLE_GRANTED, fromBlock }),
    client.getLogs({ address: accessManager, event: ROLE_REVOKED, fromBlock }),
  ]);
  const events = [...granted.map((e) => ({ e, add: true })), ...revoked.map((e) => ({ e, add: false }))].sort(
    (a, b) => Number(a.e.blockNumber! - b.e.blockNumber!) || Number(a.e.logIndex!) - Number(b.e.logIndex!),
  );
  const holders = new Map<bigint, Set<Address>>();
  for (const { e, add } of events) {
    const role = e.args.roleId!;
    const account = getAddress(e.args.account!);
    const set = holders.get(role) ?? new Set<Address>();
    if (add) set.add(account);
    else set.delete(account);
    holders.set(role, set);
  }
  return new Map([...holders].map(([role, set]) => [role, [...set]]));
}

/** A role member that is an account (no contract code), which a public deployment must not have. */
export interface AccountRole {
  role: string;
  account: Address;
}

/** Every role member that holds no contract code (an externally owned account). */
export async function accountRoles(
  client: PublicClient,
  holders: Map<bigint, readonly Address[]>,
): Promise<AccountRole[]> {
  const found: AccountRole[] = [];
  for (const [role, members] of holders) {
    for (const account of members) {
      if (!isContractCode(await client.getCode({ address: account }))) {
        found.push({ role: roleNameOf(role), account });
      }
    }
  }
  return found;
}
