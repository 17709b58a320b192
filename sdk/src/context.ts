import { getAddress, type Account, type Address, type Chain, type Client, type Transport } from "viem";
import type { PoAIDeployment } from "./deployment.js";
import { PoAIInputError } from "./errors.js";

/**
 * What every action takes first: a viem client for reads, a wallet client for writes, and the
 * deployment that says where the contracts are. `createPoAIClient` builds one and binds the
 * actions to it; the actions also work on a plain object of this shape.
 */
export interface PoAIContext {
  /** Any viem client that can reach the chain (a `PublicClient`, or a wallet client extended with public actions). */
  publicClient: Client<Transport, Chain | undefined>;
  /** Signs and sends the writes; only reads are possible without it. */
  walletClient?: Client<Transport, Chain | undefined, Account | undefined> | undefined;
  deployment: PoAIDeployment;
}

/** Options every write accepts. */
export interface WriteOptions {
  /** The sender: defaults to the wallet client's account. A bare address is a JSON-RPC account (the wallet signs). */
  account?: Account | Address;
}

/** The wallet client and the sending account of a write, or a `PoAIInputError` naming what is missing. */
export function requireSigner(
  ctx: PoAIContext,
  action: string,
  account?: Account | Address,
): { wallet: Client<Transport, Chain | undefined, Account | undefined>; account: Account | Address } {
  const wallet = ctx.walletClient;
  if (!wallet) throw new PoAIInputError("walletClient", undefined, `a viem wallet client to send ${action}`);
  const sender = account ?? wallet.account;
  if (!sender)
    throw new PoAIInputError(
      "account",
      undefined,
      `an account on the wallet client (or an \`account\` option) to send ${action}`,
    );
  return { wallet, account: sender };
}

export function senderAddress(account: Account | Address): Address {
  return getAddress(typeof account === "string" ? account : account.address);
}
