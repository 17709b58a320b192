import { decodeErrorResult, type Abi, type Hex } from "viem";
import { revertData } from "../../staking/helpers/revert.js";

/** What a call did: succeeded (with its transaction hash), or reverted with a decoded custom error. */
export type Outcome = { ok: true; hash: Hex } | { ok: false; error: string; args: readonly unknown[] };

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
