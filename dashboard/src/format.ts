/** How the dashboard writes amounts, shares, times and addresses. */
import { formatUnits } from "viem";

/** Token wei as POAI with at most `digits` decimals and thousands separators: `12,345.67 POAI`. */
export function poai(wei: bigint, digits = 2): string {
  return `${amount(wei, digits)} POAI`;
}

/** Token wei as a plain number string (no unit), rounded down to `digits` decimals. */
export function amount(wei: bigint, digits = 2): string {
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const [whole, fraction = ""] = formatUnits(abs, 18).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cut = fraction.slice(0, digits).replace(/0+$/, "");
  return `${negative ? "-" : ""}${grouped}${cut ? `.${cut}` : ""}`;
}

/** Token wei as a JavaScript number of POAI (for charts only: loses precision past 2^53). */
export function poaiNumber(wei: bigint): number {
  return Number(formatUnits(wei, 18));
}

/** Basis points as a percentage: 1250 -> "12.5%". */
export function bps(value: number | bigint): string {
  return `${Number(value) / 100}%`;
}

/** A 1e18-scaled fraction as a percentage with `digits` decimals. */
export function fraction(value: bigint, digits = 1): string {
  return `${(Number(value / 10n ** 12n) / 1e4).toFixed(digits)}%`;
}

/** A share (0..1) as a percentage. */
export function percent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function shortHash(hash: string): string {
  return `${hash.slice(0, 10)}…`;
}

/** Unix seconds as a UTC date and time. */
export function time(seconds: bigint | number): string {
  return new Date(Number(seconds) * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

/** Seconds as "2 h 5 min", "45 s". */
export function duration(seconds: bigint | number): string {
  let s = Number(seconds);
  if (s <= 0) return "0 s";
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d && `${d} d`, h && `${h} h`, m && `${m} min`, !d && !h && s && `${s} s`].filter(Boolean);
  return parts.slice(0, 2).join(" ");
}
