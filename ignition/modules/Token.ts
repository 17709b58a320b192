/**
 * The staking and reward token: a fresh fixed-supply `PoAIToken` minted to one holder, or an
 * ERC-20 that already exists on the chain (Staking works with any plain ERC-20).
 *
 * Parameters: `PoAIToken.supply` (token wei, default 10⁹ POAI), `PoAIToken.holder` (default the
 * deployer); `ExternalToken.address`.
 */
import { buildModule } from "@nomicfoundation/ignition-core";

export const DEFAULT_SUPPLY = 1_000_000_000n * 10n ** 18n;

export const FreshTokenModule = buildModule("PoAIToken", (m) => {
  const token = m.contract("PoAIToken", [
    m.getParameter("holder", m.getAccount(0)),
    m.getParameter("supply", DEFAULT_SUPPLY),
  ]);
  return { token };
});

export const ExistingTokenModule = buildModule("ExternalToken", (m) => {
  const token = m.contractAt("PoAIToken", m.getParameter<string>("address"), { id: "Token" });
  return { token };
});

/** `"fresh"` deploys a new PoAIToken; `"existing"` uses `ExternalToken.address`. */
export type TokenSource = "fresh" | "existing";

export const tokenModule = (source: TokenSource) =>
  source === "fresh" ? FreshTokenModule : ExistingTokenModule;
