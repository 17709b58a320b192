/**
 * Which of the submitted challenges a validator is not in the committee of, decided per round with
 * a constant number of requests (`getRoundCommitteeInputs`) instead of a committee check per
 * challenge: a validator's RPC load per round stays flat however many trainers submit. A round
 * whose inputs cannot be read yet (its audit round's beacon not fixed) is left out: its challenges
 * go through the per-challenge check as before.
 */
import type { Address, Hex } from "viem";
import { getRoundCommitteeInputs, isSelectedIn, type RoundCommitteeInputs } from "../actions/committee.js";
import type { PoAIContext } from "../context.js";
import { isPoAIContractError } from "../errors.js";

/** The ids among `challenges` whose committee `validator` is not in. */
export async function challengesNotSelected(
  ctx: PoAIContext,
  validator: Address,
  challenges: readonly { id: Hex; round: number }[],
  /** Called once per round before its inputs are read (e.g. seal the audit round's beacon). */
  beforeRound?: (round: bigint) => Promise<void>,
): Promise<Set<Hex>> {
  const out = new Set<Hex>();
  const inputs = new Map<number, RoundCommitteeInputs | null>();
  for (const c of challenges) {
    if (!inputs.has(c.round)) {
      try {
        await beforeRound?.(BigInt(c.round));
        inputs.set(c.round, await getRoundCommitteeInputs(ctx, { validator, round: c.round }));
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        inputs.set(c.round, null); // BeaconNotReady: the per-challenge path decides
      }
    }
    const round = inputs.get(c.round);
    if (round && !isSelectedIn(round, c.id)) out.add(c.id);
  }
  return out;
}
