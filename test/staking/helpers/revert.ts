import { BaseError, decodeErrorResult, type Abi, type Hex } from "viem";

/** What a transaction did: succeeded, or reverted with a decoded error. */
export type Outcome =
  | { ok: true; hash?: Hex }
  | { ok: false; error: string; args: readonly unknown[]; raw?: Hex; message: string };

/** The raw revert data carried by a viem error, if any. */
export function revertData(e: unknown): Hex | undefined {
  if (!(e instanceof BaseError)) return undefined;
  let raw: Hex | undefined;
  e.walk((x) => {
    const r = (x as { raw?: unknown }).raw;
    if (typeof r === "string" && r.startsWith("0x")) raw = r as Hex;
    const d = (x as { data?: unknown }).data;
    if (raw === undefined && typeof d === "string" && d.startsWith("0x")) raw = d as Hex;
    return false;
  });
  return raw;
}

/**
 * Decodes a revert against `abi` (custom errors; `Error(string)` and `Panic(uint256)` are built in).
 * Returns `Panic(0x11)` style names for panics and `unknown` when nothing can be decoded.
 */
export function decodeRevert(e: unknown, abi: Abi): { error: string; args: readonly unknown[]; raw?: Hex } {
  const raw = revertData(e);
  if (raw === undefined || raw === "0x") return { error: "unknown", args: [], raw };
  try {
    const decoded = decodeErrorResult({ abi, data: raw });
    if (decoded.errorName === "Panic") {
      const code = (decoded.args?.[0] as bigint | undefined) ?? 0n;
      return { error: `Panic(0x${code.toString(16)})`, args: decoded.args ?? [], raw };
    }
    return { error: decoded.errorName, args: decoded.args ?? [], raw };
  } catch {
    return { error: `unknown(${raw.slice(0, 10)})`, args: [], raw };
  }
}

/** Runs a write (or read) and reports its outcome instead of throwing. */
export async function attempt(p: Promise<unknown>, abi: Abi): Promise<Outcome> {
  try {
    const v = await p;
    return { ok: true, hash: typeof v === "string" ? (v as Hex) : undefined };
  } catch (e) {
    const d = decodeRevert(e, abi);
    return { ok: false, ...d, message: e instanceof Error ? e.message.split("\n")[0] : String(e) };
  }
}

/** `ok` or the error name, for messages and comparisons. */
export const outcomeName = (o: Outcome): string => (o.ok ? "ok" : o.error);
