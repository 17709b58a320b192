/**
 * Input checks run before anything is signed or sent. Each one throws a `PoAIInputError` that
 * names the field and the value.
 */
import { getAddress, isAddress, zeroAddress, type Address } from "viem";
import { PoAIInputError } from "./errors.js";

const MAX_UINT256 = 2n ** 256n - 1n;
/** Basis points: 10_000 = 100%. */
export const BPS = 10_000;

/** A checksummed address; mixed-case input must carry a valid checksum. The zero address is refused. */
export function checkAddress(field: string, value: unknown): Address {
  if (typeof value !== "string" || !isAddress(value)) {
    throw new PoAIInputError(
      field,
      value,
      "an address (0x followed by 40 hex digits, valid checksum if mixed-case)",
    );
  }
  if (value.toLowerCase() === zeroAddress) throw new PoAIInputError(field, value, "a non-zero address");
  return getAddress(value);
}

/** A token amount in wei: a bigint > 0 that fits in uint256. */
export function checkAmount(field: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value <= 0n || value > MAX_UINT256) {
    throw new PoAIInputError(field, value, 'a positive bigint amount in token wei (e.g. parsePoai("100"))');
  }
  return value;
}

/** A whole number in [min, max], given as a number or a bigint. */
export function checkUint(field: string, value: unknown, min = 0n, max = MAX_UINT256): bigint {
  const ok =
    (typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value))) &&
    BigInt(value) >= min &&
    BigInt(value) <= max;
  if (!ok) {
    const range = max === MAX_UINT256 ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new PoAIInputError(field, value, `a whole number ${range}`);
  }
  return BigInt(value as bigint | number);
}

/** A rate in basis points: an integer in [0, 10000]. */
export function checkBps(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > BPS) {
    throw new PoAIInputError(field, value, `basis points, an integer in [0, ${BPS}] (100 = 1%)`);
  }
  return value;
}

export function checkString(field: string, value: unknown): string {
  if (typeof value !== "string") throw new PoAIInputError(field, value, "a string");
  return value;
}

/** A non-empty list of distinct operator addresses. */
export function checkAddressList(field: string, value: unknown): Address[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PoAIInputError(field, value, "a non-empty array of addresses");
  }
  const list = value.map((v: unknown, i) => checkAddress(`${field}[${i}]`, v));
  const seen = new Set<string>();
  list.forEach((a, i) => {
    if (seen.has(a))
      throw new PoAIInputError(`${field}[${i}]`, value[i], "an address not already in the list");
    seen.add(a);
  });
  return list;
}

/**
 * Refuses hex that is not 32 bytes where a container id is expected (`"0x12"`): it is a truncated
 * bytes32, not an id string, and hashing it as a string would silently name another container.
 */
export function refuseShortHex(field: string, value: unknown): void {
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) {
    throw new PoAIInputError(
      field,
      value,
      "32 bytes as hex (0x followed by 64 hex digits) or a container id string",
    );
  }
}
