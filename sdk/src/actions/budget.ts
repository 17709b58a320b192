/**
 * Approving a contract that escrows a budget (the JobRegistry, FederatedJobs) to pull it: one
 * action for every escrow, so the checks and the transaction's `authorizes` stay the same.
 */
import { encodeFunctionData, erc20Abi, type Address, type Hash } from "viem";
import type { PoAIContext, WriteOptions } from "../context.js";
import { sendContractTransaction } from "../transaction.js";
import { checkAddress, checkAmount } from "../validate.js";

/** Lets `spender` pull `amount` of `token` (default the staking token) from the sender. */
export function approveBudget(
  ctx: PoAIContext,
  spender: Address,
  args: { amount: bigint; token?: Address } & WriteOptions,
): Promise<Hash> {
  const token = checkAddress("token", args.token ?? ctx.deployment.contracts.token);
  return sendContractTransaction(ctx, {
    to: token,
    data: encodeFunctionData({
      abi: erc20Abi,
      functionName: "approve",
      args: [spender, checkAmount("amount", args.amount)],
    }),
    functionName: "approve",
    account: args.account,
    authorizes: [spender],
  });
}
