import { BaseError, decodeErrorResult, type Abi, type Hex } from "viem";

/** What a call did: succeeded (with its transaction hash), or reverted with a decoded custom error. */
export type Outcome = { ok: true; hash: Hex } | { ok: false; error: string; args: readonly unknown[] };

function revertData(e: unknown): Hex | undefined {
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

/** Runs a write and reports its outcome instead of throwing; reverts are decoded against `abi`. */
export async function attempt(write: () => Promise<Hex>, abi: Abi): Promise<Outcome> {
  try {
    return { ok: true, hash: await write() };
  } catch (e) {
    const raw = revertData(e);
    if (raw === undefined || raw === "0x") throw e;
    try {
      const d = decodeErrorResult({ abi, data: raw });
      return { ok: false, error: d.errorName, args: d.args ?? [] };
    } catch {
      return { ok: false, error: `unknown(${raw.slice(0, 10)})`, args: [] };
    }
  }
}

export const outcomeName = (o: Outcome): string => (o.ok ? "ok" : o.error);
