/**
 * Payment wallets of the inference marketplace (Infernet v1.1.0's `Wallet` / `WalletFactory`): a
 * consumer creates a Wallet through the WalletFactory, funds it with ETH or an ERC-20, and lets
 * its consumer contract spend from it (`approve(spender, token, amount)`); the Coordinator draws
 * each delivery's payment from it. Nodes receive payments into a Wallet of their own.
 */
import { encodeFunctionData, erc20Abi, type Address, type Hash, type Log } from "viem";
import { getBalance, readContract } from "viem/actions";
import { walletAbi, walletFactoryAbi } from "../abi/index.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { parseContractLogs } from "../events.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkAmount } from "../validate.js";

const ZERO = "0x0000000000000000000000000000000000000000" as Address;

/** The WalletFactory address of the deployment, or a `PoAIInputError` naming the missing field. */
export function walletFactoryAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.walletFactory;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.walletFactory",
      undefined,
      "the WalletFactory address (inference contracts)",
    );
  }
  return address;
}

function opts(o: WriteOptions): WriteOptions {
  return o.account !== undefined ? { account: o.account } : {};
}

/** `address(0)` (ETH) or a checked token address. */
function tokenOf(field: string, value: unknown): Address {
  return value === undefined || (typeof value === "string" && value.toLowerCase() === ZERO)
    ? ZERO
    : checkAddress(field, value);
}

/** Creates a Wallet owned by `owner` (default: the sender). The new address is in the receipt (`walletFromLogs`). */
export async function createWallet(ctx: PoAIContext, args: { owner: Address } & WriteOptions): Promise<Hash> {
  const owner = checkAddress("owner", args.owner);
  const data = encodeFunctionData({ abi: walletFactoryAbi, functionName: "createWallet", args: [owner] });
  return sendContractTransaction(ctx, {
    to: walletFactoryAddress(ctx),
    data,
    functionName: "createWallet",
    ...opts(args),
  });
}

/** The Wallet a `createWallet` receipt created (its `WalletCreated` event). */
export function walletFromLogs(ctx: PoAIContext, args: { logs: readonly Log[] }): Address {
  const created = parseContractLogs({
    address: walletFactoryAddress(ctx),
    abi: walletFactoryAbi,
    logs: args.logs,
    eventName: "WalletCreated",
  });
  if (created.length === 0)
    throw new PoAIInputError("logs", `${args.logs.length} logs`, "a WalletCreated event");
  return (created[0] as unknown as { args: { wallet: Address } }).args.wallet;
}

/** Whether `wallet` was created by the deployment's WalletFactory (only those are accepted for payments). */
export async function isValidWallet(ctx: PoAIContext, args: { wallet: Address }): Promise<boolean> {
  const wallet = checkAddress("wallet", args.wallet);
  const address = walletFactoryAddress(ctx);
  return read(address, "isValidWallet", () =>
    readContract(ctx.publicClient, {
      address,
      abi: walletFactoryAbi,
      functionName: "isValidWallet",
      args: [wallet],
    }),
  );
}

/** Sends `amount` ETH (wei) to `wallet`. */
export async function depositEth(
  ctx: PoAIContext,
  args: { wallet: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const wallet = checkAddress("wallet", args.wallet);
  const amount = checkAmount("amount", args.amount);
  return sendContractTransaction(ctx, {
    to: wallet,
    data: "0x",
    value: amount,
    functionName: "receive",
    ...opts(args),
  });
}

/** Transfers `amount` of ERC-20 `token` from the sender into `wallet`. */
export async function depositToken(
  ctx: PoAIContext,
  args: { wallet: Address; token: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const wallet = checkAddress("wallet", args.wallet);
  const token = checkAddress("token", args.token);
  const amount = checkAmount("amount", args.amount);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [wallet, amount] });
  return sendContractTransaction(ctx, { to: token, data, functionName: "transfer", ...opts(args) });
}

/** Lets `spender` (a consumer contract) spend up to `amount` of `token` (default ETH) from `wallet`; the sender owns the wallet. */
export async function approveSpender(
  ctx: PoAIContext,
  args: { wallet: Address; spender: Address; token?: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const wallet = checkAddress("wallet", args.wallet);
  const spender = checkAddress("spender", args.spender);
  const token = tokenOf("token", args.token);
  if (typeof args.amount !== "bigint" || args.amount < 0n) {
    throw new PoAIInputError("amount", args.amount, "a bigint amount >= 0 in token wei");
  }
  const data = encodeFunctionData({
    abi: walletAbi,
    functionName: "approve",
    args: [spender, token, args.amount],
  });
  return sendContractTransaction(ctx, { to: wallet, data, functionName: "approve", ...opts(args) });
}

/** Withdraws `amount` of `token` (default ETH) that is not locked in escrow from `wallet` to its owner (the sender). */
export async function withdrawFromWallet(
  ctx: PoAIContext,
  args: { wallet: Address; token?: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const wallet = checkAddress("wallet", args.wallet);
  const token = tokenOf("token", args.token);
  const amount = checkAmount("amount", args.amount);
  const data = encodeFunctionData({ abi: walletAbi, functionName: "withdraw", args: [token, amount] });
  return sendContractTransaction(ctx, { to: wallet, data, functionName: "withdraw", ...opts(args) });
}

/** What `wallet` holds of `token` (default ETH), in wei. */
export async function getWalletBalance(
  ctx: PoAIContext,
  args: { wallet: Address; token?: Address },
): Promise<bigint> {
  const wallet = checkAddress("wallet", args.wallet);
  const token = tokenOf("token", args.token);
  if (token === ZERO)
    return read(wallet, "getBalance", () => getBalance(ctx.publicClient, { address: wallet }));
  return read(token, "balanceOf", () =>
    readContract(ctx.publicClient, {
      address: token,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [wallet],
    }),
  );
}

/** What `spender` may still spend of `token` (default ETH) from `wallet`. */
export async function getWalletAllowance(
  ctx: PoAIContext,
  args: { wallet: Address; spender: Address; token?: Address },
): Promise<bigint> {
  const wallet = checkAddress("wallet", args.wallet);
  const spender = checkAddress("spender", args.spender);
  const token = tokenOf("token", args.token);
  return read(wallet, "allowance", () =>
    readContract(ctx.publicClient, {
      address: wallet,
      abi: walletAbi,
      functionName: "allowance",
      args: [spender, token],
    }),
  );
}
