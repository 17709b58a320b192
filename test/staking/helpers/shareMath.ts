/**
 * Bigint mirror of `contracts/libraries/ShareMath.sol` and of the few constants of Staking the
 * tests predict with. Every function rounds exactly as its Solidity counterpart.
 */
export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const ACC_SCALE = 10n ** 36n;
export const MAX_SHARES_PER_TOKEN = 10n ** 9n;
export const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD" as const;

export const TRAINER = 1;
export const VALIDATOR = 2;

export const ceilDiv = (a: bigint, b: bigint): bigint => (a === 0n ? 0n : (a - 1n) / b + 1n);
export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Shares minted for `amount` tokens (1:1 into an empty pool), rounded down. */
export function toShares(amount: bigint, totalShares: bigint, totalTokens: bigint): bigint {
  if (totalShares === 0n) return amount;
  return (amount * totalShares) / totalTokens;
}

/** Tokens `shares` are worth, rounded down. */
export function toTokens(shares: bigint, totalShares: bigint, totalTokens: bigint): bigint {
  if (totalShares === 0n) return 0n;
  return (shares * totalTokens) / totalShares;
}

/** Tokens a slash of `fraction` (WAD = 100%) takes: rounded up, but never below the price floor. */
export function slashAmount(tokens: bigint, shares: bigint, fraction: bigint): bigint {
  if (tokens === 0n) return 0n;
  let cut = ceilDiv(tokens * fraction, WAD);
  const keep = ceilDiv(shares, MAX_SHARES_PER_TOKEN);
  if (tokens - min(cut, tokens) < keep) cut = tokens > keep ? tokens - keep : 0n;
  return cut;
}
