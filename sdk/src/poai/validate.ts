/**
 * Input checks of the Proof-of-AI helpers and actions. Each throws a `PoAIInputError` naming the
 * field and the value.
 */
import { checkUint } from "../validate.js";

/** A 32-byte value as 0x-prefixed hex (a challenge id, a seed, a salt, a Merkle root). */
export { checkBytes32 } from "../validate.js";

/** A round (an epoch number): a whole number that fits the contracts' uint32 rounds. */
export function checkRound(field: string, value: unknown): bigint {
  return checkUint(field, value, 0n, 2n ** 32n - 1n);
}

/** A whole number in [min, max] returned as a `number` (uint16 / uint32 fields). */
export function checkSmallUint(field: string, value: unknown, min: number, max: number): number {
  return Number(checkUint(field, value, BigInt(min), BigInt(max)));
}
