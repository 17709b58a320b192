/**
 * The committees a validator daemon audits in: for a challenge's audit seed, every validator the
 * sortition selects (with stakes at the start of the challenge's round), so that each member takes
 * its share of the committee's samples (`memberSamples`). The validators and their stakes are read
 * once per round and kept for a few rounds; each committee is then computed off-chain.
 */
import { getAddress, type Address, type Hex } from "viem";
import type { PoAIClient } from "@poai/sdk";
import { getStakesAtBatch, isSelected } from "@poai/sdk";

/** The validators and their stakes at the start of one round. */
interface RoundStakes {
  validators: Address[];
  stakes: bigint[];
  total: bigint;
}

/** How many rounds of stakes are kept. */
const KEPT_ROUNDS = 4;

export class CommitteeView {
  private readonly rounds = new Map<bigint, Promise<RoundStakes>>();

  /** `read` runs each chain read (retries, abort): the daemon's `rpc`. */
  constructor(
    private readonly client: PoAIClient,
    private readonly read: <T>(label: string, run: () => Promise<T>) => Promise<T>,
    /**
     * Every registered validator, where the caller keeps them (the validator daemon: from the
     * `OperatorRegistered` events); by default read page by page (`iterateOperators`). A validator
     * that left is harmless: its stake at the round is 0, as the on-chain draw sees it.
     */
    private readonly listValidators?: () => Promise<Address[]>,
  ) {}

  /**
   * The committee drawn from `auditSeed` for a challenge of `round` with an expected
   * `committeeSize` members, sorted by address.
   */
  async members(round: bigint, auditSeed: Hex, committeeSize: number): Promise<Address[]> {
    const s = await this.stakes(round);
    return s.validators
      .filter((v, i) => isSelected(auditSeed, v, s.stakes[i]!, s.total, committeeSize))
      .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  }

  /** Every registered validator (as read for `round`). */
  async validators(round: bigint): Promise<Address[]> {
    return (await this.stakes(round)).validators;
  }

  private stakes(round: bigint): Promise<RoundStakes> {
    let entry = this.rounds.get(round);
    if (!entry) {
      entry = this.load(round);
      entry.catch(() => this.rounds.delete(round));
      this.rounds.set(round, entry);
      for (const r of this.rounds.keys())
        if (this.rounds.size > KEPT_ROUNDS && r !== round) this.rounds.delete(r);
    }
    return entry;
  }

  private async load(round: bigint): Promise<RoundStakes> {
    const validators = await this.read("iterateOperators", async () => {
      if (this.listValidators) return this.listValidators();
      const out: Address[] = [];
      for await (const op of this.client.staking.iterateOperators()) {
        if (op.roleId === 2) out.push(getAddress(op.operator));
      }
      return out;
    });
    const [total, stakes] = await Promise.all([
      this.read("roleStakeAt", () => this.client.staking.roleStakeAt({ role: "validator", epoch: round })),
      // one batched read (Multicall3) for every validator's stake, not one request each
      this.read("stakeAt", () => getStakesAtBatch(this.client, { operators: validators, epoch: round })),
    ]);
    return { validators, stakes, total };
  }
}
