/**
 * Which of the submitted challenges a validator is not in the committee of, decided per round with
 * a constant number of requests (`getRoundCommitteeInputs`) instead of a committee check per
 * challenge: a validator's RPC load per round stays flat however many trainers submit. Challenges
 * are grouped by round and audit round (`round + 1 + extension`); a group whose inputs cannot be
 * read yet (its audit round's beacon not fixed) is left out: its challenges go through the
 * per-challenge check as before.
 */
import type { Address, Hex } from "viem";
import { getRoundCommitteeInputs, isSelectedIn, type RoundCommitteeInputs } from "../actions/committee.js";
import type { PoAIContext } from "../context.js";
import { isPoAIContractError } from "../errors.js";

/** The ids among `challenges` whose committee `validator` is not in. */
export async function challengesNotSelected(
  ctx: PoAIContext,
  validator: Address,
  challenges: readonly { id: Hex; round: number; extension?: number }[],
  /** Called once per audit round before its inputs are read (e.g. seal that round's beacon). */
  beforeAuditRound?: (auditRound: bigint) => Promise<void>,
): Promise<Set<Hex>> {
  const out = new Set<Hex>();
  const inputs = new Map<string, RoundCommitteeInputs | null>();
  for (const c of challenges) {
    const auditRound = BigInt(c.round) + 1n + BigInt(c.extension ?? 0);
    const key = `${c.round}:${auditRound}`;
    if (!inputs.has(key)) {
      try {
        await beforeAuditRound?.(auditRound);
        inputs.set(key, await getRoundCommitteeInputs(ctx, { validator, round: c.round, auditRound }));
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        inputs.set(key, null); // BeaconNotReady: the per-challenge path decides
      }
    }
    const group = inputs.get(key);
    if (group && !isSelectedIn(group, c.id)) out.add(c.id);
  }
  return out;
}
