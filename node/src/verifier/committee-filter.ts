/**
 * Which of the submitted challenges a validator is not in the committee of, decided per round with
 * a constant number of requests (`getRoundCommitteeInputs`) instead of a committee check per
 * challenge: a validator's RPC load per round stays flat however many trainers submit. Challenges
 * are grouped by round and audit round (`round + 1 + extension`); a group whose inputs cannot be
 * read yet (its audit round's beacon not fixed) is left out: its challenges go through the
 * per-challenge check as before.
 */
import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import {
  TOP_UP_BANDS,
  committeeBandIn,
  getRoundCommitteeInputs,
  isPoAIContractError,
  isSelected,
  type PoAIContext,
  type RoundCommitteeInputs,
} from "@poai/sdk";

/** A validator's sortition bands in the committees of some challenges. */
export interface CommitteeBands {
  /** The challenges whose committee the validator can never join (no band up to `TOP_UP_BANDS`). */
  notSelected: Set<Hex>;
  /** The challenges it may top up, by band (1 to `TOP_UP_BANDS`): it joins only a short committee. */
  topUps: Map<Hex, number>;
  /** Each audit round read: its committee pool's expected size (0: no pool) and whether the validator is in it. */
  pools: Map<bigint, { size: bigint; inPool: boolean }>;
}

/** `validator`'s band in the committee of each of `challenges` (those whose inputs can be read). */
export async function committeeBands(
  ctx: PoAIContext,
  validator: Address,
  challenges: readonly { id: Hex; round: number; extension?: number }[],
  /** Called once per audit round before its inputs are read (e.g. seal that round's beacon). */
  beforeAuditRound?: (auditRound: bigint) => Promise<void>,
): Promise<CommitteeBands> {
  const out: CommitteeBands = { notSelected: new Set(), topUps: new Map(), pools: new Map() };
  const inputs = new Map<string, RoundCommitteeInputs | null>();
  for (const c of challenges) {
    const auditRound = BigInt(c.round) + 1n + BigInt(c.extension ?? 0);
    const key = `${c.round}:${auditRound}`;
    if (!inputs.has(key)) {
      try {
        await beforeAuditRound?.(auditRound);
        const read = await getRoundCommitteeInputs(ctx, { validator, round: c.round, auditRound });
        inputs.set(key, read);
        out.pools.set(auditRound, { size: read.poolSize, inPool: read.inPool });
      } catch (err) {
        if (!isPoAIContractError(err)) throw err;
        inputs.set(key, null); // BeaconNotReady: the per-challenge path decides
      }
    }
    const group = inputs.get(key);
    if (!group) continue;
    const band = committeeBandIn(group, c.id);
    if (band === null || band > BigInt(TOP_UP_BANDS)) out.notSelected.add(c.id);
    else if (band > 0n) out.topUps.set(c.id, Number(band));
  }
  return out;
}

/** The ids among `challenges` whose committee `validator` is not in the first band of. */
export async function challengesNotSelected(
  ctx: PoAIContext,
  validator: Address,
  challenges: readonly { id: Hex; round: number; extension?: number }[],
  beforeAuditRound?: (auditRound: bigint) => Promise<void>,
): Promise<Set<Hex>> {
  const { notSelected, topUps } = await committeeBands(ctx, validator, challenges, beforeAuditRound);
  for (const id of topUps.keys()) notSelected.add(id);
  return notSelected;
}

/** Whether `validator` may sit on the committee of challenge `id`: its first band or a top-up band. */
export function mayAudit(inputs: RoundCommitteeInputs, id: Hex): boolean {
  const band = committeeBandIn(inputs, id);
  return band !== null && band <= BigInt(TOP_UP_BANDS);
}

/**
 * Validators expected to watch each trainer's deadline in a round (`watchedTrainers`): a trainer
 * whose result is missing is reported by one of them.
 */
export const MISSED_WATCHERS = 8;

/**
 * The trainers among `trainers` whose deadline of a round `validator` watches (checks, and reports
 * when missed): each trainer is drawn its own `MISSED_WATCHERS` validators by stake, from the
 * round's beacon value, `isSelected(keccak256(abi.encode(beaconValue, trainer)), validator, stake,
 * totalStake, MISSED_WATCHERS)`, stakes at the round's start. A network of `MISSED_WATCHERS`
 * validators of equal stake or fewer watches every trainer with every validator; a larger one
 * spreads the checks, so that a validator's reads per round do not grow with the number of
 * trainers. Off chain only: anyone may report a missed deadline.
 */
export function watchedTrainers(
  beaconValue: Hex,
  validator: Address,
  stake: bigint,
  totalStake: bigint,
  trainers: readonly Address[],
  watchers: number = MISSED_WATCHERS,
): Address[] {
  return trainers.filter((trainer) =>
    isSelected(
      keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [beaconValue, trainer])),
      validator,
      stake,
      totalStake,
      watchers,
    ),
  );
}
