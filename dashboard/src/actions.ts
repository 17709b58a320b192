/**
 * What a delegator does from the dashboard (delegate, undelegate, claim, withdraw) runs the very
 * functions behind `poai delegate`, `poai undelegate`, `poai claim` and `poai withdraw`
 * (`scripts/cli/commands.ts`): the same checks before anything is signed (registered and
 * unjailed operator, amount within the balance or the position, something to claim, something
 * matured), the same approval step, the same messages, and the same lines once mined.
 */
import type { PoAIClient } from "@poai/sdk";
import type { Address } from "viem";
import {
  claim as cliClaim,
  delegate as cliDelegate,
  parseAddress,
  parseAmount,
  undelegate as cliUndelegate,
  withdraw as cliWithdraw,
  type CommandResult,
} from "../../scripts/cli/commands.js";

export type { CommandResult };

/** The CLI's messages name its flags (`--amount`); the form's fields carry the same names. */
export function formMessage(err: unknown): string {
  const e = err as Error & { shortMessage?: string };
  const text =
    e.name === "OperatorCommandError" || e.name === "PoAIContractError" || e.name === "PoAIInputError"
      ? e.message
      : (e.shortMessage ?? e.message ?? String(err)).split("\n")[0]!;
  return text.replace(/--([a-z-]+)/g, (_m, flag: string) => flag);
}

export function delegate(
  client: PoAIClient,
  form: { operator: string; amount: string },
): Promise<CommandResult> {
  return cliDelegate(client, {
    operator: parseAddress("operator", form.operator.trim()),
    amount: parseAmount("amount", form.amount.trim()),
  });
}

export function undelegate(
  client: PoAIClient,
  form: { operator: string; amount: string; all: boolean },
): Promise<CommandResult> {
  return cliUndelegate(client, {
    operator: parseAddress("operator", form.operator.trim()),
    ...(form.all ? { all: true } : { amount: parseAmount("amount", form.amount.trim()) }),
  });
}

export function claim(client: PoAIClient, operators: readonly Address[] = []): Promise<CommandResult> {
  return cliClaim(client, { operators: [...operators] });
}

export function withdraw(client: PoAIClient): Promise<CommandResult> {
  return cliWithdraw(client, {});
}
