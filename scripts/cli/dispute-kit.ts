/**
 * The pieces every `poai dispute …` command shares (training games in `disputes.ts`, inference
 * games in `inference-disputes.ts`): the command group, the `--id` of the game a command acts on,
 * `--poll-ms` and the result of playing a game to its end.
 */
import { Command, InvalidArgumentError } from "commander";
import { encodeFunctionData, getAddress, maxUint256, type Address } from "viem";
import { readContract, waitForTransactionReceipt } from "viem/actions";
import { poaiTokenAbi, sendContractTransaction, type PoAIContext } from "@poai/sdk";
import type { CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import type { CommonOptions, Session } from "./session.js";

/** How the CLI runs a command (its config, `--json`, errors) and opens a session. */
export interface DisputeCommandHelpers {
  common: (c: Command) => Command;
  run: (
    json: boolean | undefined,
    work: (config: CliConfig) => Promise<CommandResult>,
    opts: CommonOptions,
  ) => Promise<void>;
  session: (o: CommonOptions, config: CliConfig, needsKey?: boolean) => Promise<Session>;
}

/** The SDK context of a CLI session. */
export function contextOf(s: Session): PoAIContext {
  return { publicClient: s.publicClient, walletClient: s.walletClient, deployment: s.deployment };
}

/** The command `name` under `parent`, created (with `description`) when it is not there yet. */
export function commandGroup(parent: Command, name: string, description: string): Command {
  return (
    parent.commands.find((c) => c.name() === name) ??
    parent.command(name).description(description).exitOverride()
  );
}

/** A function that adds a subcommand to `group`, with the CLI's common options. */
export function subcommands(
  group: Command,
  h: DisputeCommandHelpers,
): (name: string, about: string) => Command {
  return (name, about) => h.common(group.command(name).description(about).exitOverride());
}

/** `--poll-ms`: how often a player reads the game while the other party moves (default 1,000). */
export function withPollMs(c: Command): Command {
  return c.option(
    "--poll-ms <ms>",
    "how often to read the game while the other party moves",
    (v: string) => {
      if (!/^\d{1,7}$/.test(v))
        throw new InvalidArgumentError(`--poll-ms must be milliseconds, got ${JSON.stringify(v)}`);
      return Number(v);
    },
    1000,
  );
}

/**
 * The action of a command on one game: `--id` (checked by `parseId`), then `body` run through
 * the CLI's runner with the parsed options.
 */
export function onGame<O extends object>(
  c: Command,
  h: DisputeCommandHelpers,
  parseId: (v: string) => bigint,
  body: (o: CommonOptions & O & { id: bigint }, config: CliConfig) => Promise<CommandResult>,
): Command {
  return c
    .requiredOption("--id <n>", "the game", parseId)
    .action(async (o: CommonOptions & O & { id: bigint }) => h.run(o.json, (config) => body(o, config), o));
}

/** What playing game `id` to its end printed: the winner, the moves sent and their gas. */
export function playResult(
  what: string,
  id: bigint,
  played: { winner: Address; moves: readonly { gasUsed: bigint }[] },
): CommandResult {
  const gas = played.moves.reduce((sum, m) => sum + m.gasUsed, 0n);
  return {
    lines: [
      `${what} ${id} resolved: winner ${played.winner}`,
      `  ${played.moves.length} moves sent, ${gas} gas`,
    ],
    data: { id, winner: played.winner, moves: played.moves },
  };
}

/**
 * Approves `spender` to take the signer's `token` (without limit) unless it may already take
 * `amount`: a game pulls its bond from the party that opens or answers it.
 */
export async function approveBond(
  ctx: PoAIContext,
  token: Address,
  spender: Address,
  amount: bigint,
): Promise<void> {
  const me = getAddress(ctx.walletClient!.account!.address);
  const allowance = await readContract(ctx.publicClient, {
    address: token,
    abi: poaiTokenAbi,
    functionName: "allowance",
    args: [me, spender],
  });
  if (allowance >= amount) return;
  const approval = await sendContractTransaction(ctx, {
    to: token,
    data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "approve", args: [spender, maxUint256] }),
    functionName: "approve",
    authorizes: [spender],
  });
  await waitForTransactionReceipt(ctx.publicClient, { hash: approval });
}
