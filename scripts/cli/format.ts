/**
 * How the `poai` commands show numbers to a person: token amounts in POAI with thousands
 * separators and at most four decimals (`2,390.5 POAI`, never `2390500000000000000000`), points
 * in the unit they are counted in, percentages, durations and dates. `--json` keeps the exact
 * integers (token wei as decimal strings); these are for the lines a person reads.
 */
import { formatUnits } from "viem";

const DECIMALS = 18;

/** Groups the integer part of a decimal string: `"1234567.5"` → `"1,234,567.5"`. */
function group(decimal: string): string {
  const [whole, fraction] = decimal.split(".");
  const sign = whole!.startsWith("-") ? "-" : "";
  const digits = sign ? whole!.slice(1) : whole!;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${grouped}${fraction ? `.${fraction}` : ""}`;
}

/**
 * A fixed-point integer (`decimals` places) with at most `places` decimals, rounded toward zero
 * and grouped; a nonzero value too small to show is written `< 0.0001`.
 */
export function human(value: bigint, decimals = DECIMALS, places = 4): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(Math.max(0, decimals - places));
  const shown = decimals > places ? (abs / unit) * unit : abs;
  if (shown === 0n && abs !== 0n) return `${negative ? "> -" : "< "}${formatUnits(1n, places)}`;
  return group(`${negative ? "-" : ""}${formatUnits(shown, decimals)}`);
}

/** A token amount in wei as POAI: `2390500000000000000000n` → `"2,390.5 POAI"`. */
export function poai(wei: bigint): string {
  return `${human(wei)} POAI`;
}

/** Native currency in wei: `"1.25 ETH"`. */
export function eth(wei: bigint): string {
  return `${human(wei)} ETH`;
}

/** Basis points as a percentage: `1250` → `"12.5%"`. */
export function percent(bps: number | bigint): string {
  return `${formatUnits(BigInt(bps), 2)}%`;
}

/**
 * A trainer's epoch points are its stake (token wei) times the challenge score: shown in tokens.
 * A validator's are its committee weight (a fraction of the validators' stake, in units of 2^-32)
 * summed over its agreeing verdicts: shown as that fraction.
 */
export function points(role: string, value: bigint): string {
  if (role === "validator") {
    const weight = Number(value) / 2 ** 32;
    return `${weight.toFixed(4)} committee weight`;
  }
  return `${human(value)} points`;
}

/** Seconds as the two largest units: `93784` → `"1d 2h"`, `125` → `"2m 5s"`. */
export function duration(seconds: bigint | number): string {
  let s = Number(seconds);
  if (s <= 0) return "0s";
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ];
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (s >= size && parts.length < 2) {
      parts.push(`${Math.floor(s / size)}${name}`);
      s %= size;
    } else if (parts.length) break;
  }
  return parts.join(" ");
}

/** A chain timestamp as ISO 8601 (UTC). */
export function iso(seconds: number | bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/** A timestamp relative to chain time `now`: `"2026-… (in 1h 5m)"`, `"… (2m ago)"`. */
export function when(at: bigint | number, now: bigint): string {
  const t = BigInt(at);
  if (t === now) return `${iso(t)} (now)`;
  return t > now ? `${iso(t)} (in ${duration(t - now)})` : `${iso(t)} (${duration(now - t)} ago)`;
}

/** Rows as aligned columns (the first row is the header). */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}
