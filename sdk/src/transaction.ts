import type { Account, Address, Hash, Hex, TransactionReceipt } from "viem";
import { call, getTransaction, sendTransaction, waitForTransactionReceipt } from "viem/actions";
import type { PoAIContext } from "./context.js";
import { requireSigner } from "./context.js";
import { PoAIContractError, toPoAIError } from "./errors.js";

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
 * the transaction hash. Every revert surfaces as a `PoAIContractError`.
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
  },
): Promise<Hash> {
  const { wallet, account } = requireSigner(ctx, params.functionName, params.account);
  const where = { contractAddress: params.to, functionName: params.functionName };
  try {
    const value = params.value !== undefined && params.value > 0n ? { value: params.value } : {};
    await call(ctx.publicClient, { account, to: params.to, data: params.data, ...value });
    return await sendTransaction(wallet, {
      account,
      to: params.to,
      data: params.data,
      ...value,
      chain: wallet.chain ?? null,
    });
  } catch (err) {
    throw toPoAIError(err, where);
  }
}

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
