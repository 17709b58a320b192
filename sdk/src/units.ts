import { formatUnits, parseUnits } from "viem";

/** Decimals of the POAI token. */
export const POAI_DECIMALS = 18;

/** `1500000000000000000000n` -> `"1500 POAI"`. */
export function formatPoai(wei: bigint): string {
  return `${formatUnits(wei, POAI_DECIMALS)} POAI`;
}

/** `"1500"` -> `1500000000000000000000n` (token wei). */
export function parsePoai(amount: string): bigint {
  return parseUnits(amount, POAI_DECIMALS);
}

/** Basis points as a percentage: `1250` -> `"12.5%"`. */
export function formatBps(bps: bigint | number): string {
  return `${formatUnits(BigInt(bps), 2)}%`;
}

/** A 1e18-scaled fraction as a percentage: `5n * 10n ** 17n` -> `"50%"`. */
export function formatFraction(fraction: bigint): string {
  return `${formatUnits(fraction, 16)}%`;
}
