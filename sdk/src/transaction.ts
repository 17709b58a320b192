import type { Account, Address, Hash, Hex, TransactionReceipt } from "viem";
import {
  call,
  estimateFeesPerGas,
  estimateGas,
  getBalance,
  getGasPrice,
  getTransaction,
  sendTransaction,
  waitForTransactionReceipt,
} from "viem/actions";
import type { PoAIContext } from "./context.js";
import { requireSigner, senderAddress } from "./context.js";
import { ensureTargets } from "./deployment-check.js";
import { PoAIContractError, PoAIGasFundsError, toPoAIError } from "./errors.js";

/** Runs a read and rethrows a revert as a `PoAIContractError` naming the contract and function. */
export async function withDecodedErrors<T>(
  address: Address,
  functionName: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toPoAIError(err, { contractAddress: address, functionName });
  }
}

/**
 * Simulates a call (so a revert is decoded before anything is signed), then sends it and returns
 * the transaction hash. Before anything, the contract called (and every address in `authorizes`,
 * such as the spender of an approval) is checked against the address book and the chain
 * (`ensureTargets`: right chain, contract code, the book's contract). Every revert surfaces as a
 * `PoAIContractError`; an account that cannot pay for gas as a `PoAIGasFundsError` saying how much
 * native currency it needs.
 */
export async function sendContractTransaction(
  ctx: PoAIContext,
  params: {
    to: Address;
    data: Hex;
    functionName: string;
    account?: Account | Address | undefined;
    /** ETH sent with the call, in wei. */
    value?: bigint | undefined;
    /** Addresses the call lets act for the sender (an approval's spender): checked like `to`. */
    authorizes?: readonly Address[] | undefined;
  },
): Promise<Hash> {
  const { wallet, account } = requireSigner(ctx, params.functionName, params.account);
  const where = { contractAddress: params.to, functionName: params.functionName };
  await ensureTargets(ctx, params.to, params.authorizes);
  const value = params.value !== undefined && params.value > 0n ? { value: params.value } : {};
  try {
    await call(ctx.publicClient, { account, to: params.to, data: params.data, ...value });
  } catch (err) {
    throw toPoAIError(err, where);
  }
  try {
    return await sendTransaction(wallet, {
      account,
      to: params.to,
      data: params.data,
      ...value,
      chain: wallet.chain ?? null,
    });
  } catch (err) {
    const short = await gasShortfall(ctx, account, params).catch(() => undefined);
    if (short) throw short;
    throw toPoAIError(err, where);
  }
}

/**
 * After a send failed: whether the sender's balance is below what the transaction costs at the
 * chain's current fees (the usual cause of an unhelpful "Missing or invalid parameters"). The gas
 * is estimated without a fee (so a balance of 0 does not stop the estimate).
 */
async function gasShortfall(
  ctx: PoAIContext,
  account: Account | Address,
  params: { to: Address; data: Hex; value?: bigint | undefined; functionName: string },
): Promise<PoAIGasFundsError | undefined> {
  const from = senderAddress(account);
  const balance = await getBalance(ctx.publicClient, { address: from });
  const value = params.value ?? 0n;
  const gas = await estimateGas(ctx.publicClient, {
    account: from,
    to: params.to,
    data: params.data,
    ...(value > 0n && { value }),
  }).catch(() => FALLBACK_GAS);
  const fees = await estimateFeesPerGas(ctx.publicClient).catch(async () => ({
    maxFeePerGas: await getGasPrice(ctx.publicClient),
  }));
  const maxFeePerGas = fees.maxFeePerGas ?? 0n;
  const needed = gas * maxFeePerGas + value;
  if (balance >= needed) return undefined;
  return new PoAIGasFundsError(from, balance, needed, gas, maxFeePerGas, params.functionName);
}

/** Gas assumed for the shortfall message when the node cannot estimate it. */
const FALLBACK_GAS = 300_000n;

/** Options of `waitForTransaction`. */
export interface WaitOptions {
  /** Blocks to wait after inclusion (default 1). */
  confirmations?: number;
  /** Milliseconds before giving up (default: viem's). */
  timeout?: number;
}

/**
 * Waits for the receipt of `hash`. A transaction that was mined but reverted throws a
 * `PoAIContractError`, decoded by replaying the call on the state before its block.
 */
export async function waitForTransaction(
  ctx: PoAIContext,
  hash: Hash,
  options: WaitOptions = {},
): Promise<TransactionReceipt> {
  const receipt = await waitForTransactionReceipt(ctx.publicClient, {
    hash,
    ...(options.confirmations !== undefined && { confirmations: options.confirmations }),
    ...(options.timeout !== undefined && { timeout: options.timeout }),
  });
  if (receipt.status === "success") return receipt;
  const tx = await getTransaction(ctx.publicClient, { hash });
  const where = { contractAddress: tx.to ?? undefined, transactionHash: hash };
  try {
    await call(ctx.publicClient, {
      account: tx.from,
      to: tx.to,
      data: tx.input,
      value: tx.value,
      gas: tx.gas,
      blockNumber: receipt.blockNumber > 0n ? receipt.blockNumber - 1n : 0n,
    });
  } catch (err) {
    throw toPoAIError(err, where);
  }
  throw new PoAIContractError({
    errorName: "Unknown",
    args: [],
    reason: `transaction ${hash} reverted; replaying it did not reproduce the revert, so its reason is unknown`,
    ...where,
  });
}
