/**
 * Input checks run before anything is signed or sent. Each one throws a `PoAIInputError` that
 * names the field and the value.
 */
import { getAddress, isAddress, zeroAddress, type Abi, type AbiEvent, type Address, type Hex } from "viem";
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
 * A 32-byte value (a challenge id, a spec id, a seed, a salt, a Merkle root, a container id hash):
 * `0x` and exactly 64 hex digits, returned in lower case. A shorter value such as `"0x12"` is
 * refused, never padded.
 */
export function checkBytes32(
  field: string,
  value: unknown,
  what = "32 bytes as hex (0x followed by 64 hex digits)",
): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new PoAIInputError(field, value, what);
  }
  return value.toLowerCase() as Hex;
}

/**
 * A container id given either as its string (`"poai-classifier"`) or as the bytes32 hash of it.
 * A string that looks like a hash (`0x` and hex digits only) but is not 32 bytes long is refused:
 * it is far more likely a truncated hash than a container's name.
 * Returns the hash when one was given, `undefined` for a name (the caller hashes it).
 */
export function checkContainerKey(field: string, value: unknown): Hex | undefined {
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) {
    return checkBytes32(
      field,
      value,
      "a container id string, or its 32-byte hash (0x followed by 64 hex digits)",
    );
  }
  return undefined;
}

/**
 * The indexed arguments of an event filter (`args` of `getEvents` / `watchEvents`), checked
 * against the event's ABI: each `bytes32` (or other `bytesN`) value, or each value of a list of
 * them, must be exactly that many bytes, and each `address` a valid address. Values of other
 * types, and `null` (any value), pass as they are.
 */
export function checkEventArgs(
  abi: Abi,
  eventName: string | undefined,
  args: Record<string, unknown> | readonly unknown[] | undefined,
  field = "args",
): void {
  if (args === undefined || eventName === undefined) return;
  const event = abi.find((item): item is AbiEvent => item.type === "event" && item.name === eventName);
  if (!event) return;
  const indexed = event.inputs.filter((input) => input.indexed);
  const entries: [string, string, unknown][] = Array.isArray(args)
    ? (args as readonly unknown[]).map((v, i) => [`${field}[${i}]`, indexed[i]?.type ?? "", v])
    : Object.entries(args).map(([name, v]) => [
        `${field}.${name}`,
        indexed.find((input) => input.name === name)?.type ?? "",
        v,
      ]);
  for (const [name, type, value] of entries) {
    if (value === null || value === undefined) continue;
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    values.forEach((v, i) => {
      const at = Array.isArray(value) ? `${name}[${i}]` : name;
      const bytes = /^bytes(\d+)$/.exec(type);
      if (bytes) {
        const n = Number(bytes[1]);
        if (typeof v !== "string" || !new RegExp(`^0x[0-9a-fA-F]{${2 * n}}$`).test(v))
          throw new PoAIInputError(at, v, `${n} bytes as hex (0x followed by ${2 * n} hex digits)`);
      } else if (type === "address" && (typeof v !== "string" || !isAddress(v))) {
        throw new PoAIInputError(at, v, "an address (0x followed by 40 hex digits)");
      }
    });
  }
}
