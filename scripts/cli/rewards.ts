/**
 * The reward reserve from the command line. `poai fund --amount N` adds POAI to the
 * RewardDistributor's emission reserve (a treasury's job): each epoch takes its emission from the
 * reserve when it closes, and every pool is credited with its share by the first action on it, so
 * nothing else has to run for delegators to be paid.
 */
import { formatPoai, type PoAIClient } from "@poai/sdk";
import { OperatorCommandError, signer, type CommandResult, type SentTransaction } from "./commands.js";

/** Funds the emission reserve with `amount`, approving the distributor first when the allowance is short. */
export async function fund(
  client: PoAIClient,
  args: { amount: bigint; approve?: boolean },
): Promise<CommandResult> {
  const me = signer(client);
  const distributor = client.deployment.contracts.rewardDistributor;
  if (!distributor)
    throw new OperatorCommandError("the deployment has no RewardDistributor: there is no reserve to fund");
  const balance = await client.token.getBalance({ owner: me });
  if (balance < args.amount)
    throw new OperatorCommandError(
      `amount ${formatPoai(args.amount)} is above your balance ${formatPoai(balance)}`,
    );
  const txs: SentTransaction[] = [];
  const lines: string[] = [];
  const mined = async (hash: `0x${string}`, action: string) => {
    const receipt = await client.waitForTransaction(hash);
    txs.push({ action, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
    return `tx ${hash}, block ${receipt.blockNumber}, gas ${receipt.gasUsed}`;
  };
  const allowance = await client.token.getAllowance({ owner: me, spender: distributor });
  if (allowance < args.amount) {
    if (args.approve === false)
      throw new OperatorCommandError(
        `your allowance for the RewardDistributor is ${formatPoai(allowance)}, below the amount ${formatPoai(args.amount)}: approve it first, or run without --no-approve`,
      );
    const line = await mined(
      await client.token.approve({ amount: args.amount, spender: distributor }),
      "approve",
    );
    lines.push(`approved ${formatPoai(args.amount)} for the RewardDistributor (${line})`);
  }
  const line = await mined(await client.rewards.fundRewards({ amount: args.amount }), "fund");
  const [totals, params] = await Promise.all([
    client.rewards.getRewardTotals(),
    client.rewards.getRewardParams(),
  ]);
  const perEpoch = params.emissionPerEpoch;
  const epochs = perEpoch === 0n ? undefined : totals.reserve / perEpoch;
  lines.push(
    `funded the reward reserve with ${formatPoai(args.amount)} (${line}); reserve ${formatPoai(totals.reserve)}` +
      (epochs === undefined
        ? ", emission 0 per epoch"
        : `, ${formatPoai(perEpoch)} per epoch: ${epochs} epoch${epochs === 1n ? "" : "s"} of emission`),
  );
  return {
    lines,
    data: {
      action: "fund",
      from: me,
      amount: args.amount,
      reserve: totals.reserve,
      emissionPerEpoch: perEpoch,
      transactions: txs,
    },
  };
}
