/**
 * What a module of `poai` commands gets from the program to declare its commands the way every
 * other command is declared: the common options, the sending options (`--yes`, `--dry-run`,
 * `--from`), the runner that prints a result (or `--json`) and sets the exit code, and the session
 * (RPC, address book, key).
 *
 * A module exports `registerXCommands(kit: CommandKit)`; `main.ts` calls it.
 */
import { InvalidArgumentError, type Command } from "commander";
import { getAddress, isAddress } from "viem";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import type { TxGate } from "./send.js";
import type { CliIo, CommonOptions, Session } from "./session.js";

/** An option parser for an integer in `min..max`, naming the option in its error. */
export const int = (name: string, min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw new InvalidArgumentError(
      `--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`,
    );
  return Number(value);
};

/** The options of a command that sends transactions. */
export interface SendingOptions extends CommonOptions {
  yes?: boolean;
  dryRun?: boolean;
  from?: string;
}

export interface CommandKit {
  io: CliIo;
  /** The `poai` program. */
  program: Command;
  /** A subcommand of `parent` (default: the program) with the common options. */
  sub(name: string, description: string, parent?: Command): Command;
  /** A group of subcommands (`poai dev …`), without options of its own. */
  group(name: string, description: string): Command;
  /** Adds `--yes`, `--dry-run` and `--from` to a command that sends transactions. */
  sending(c: Command): Command;
  /** Runs a command's work: prints its lines (or one JSON object) and sets the exit code. */
  run(o: CommonOptions, work: (config: CliConfig) => Promise<CommandResult>): Promise<void>;
  /** Connects (RPC, address book checked against the chain, key); `needsKey` fails early without one. */
  session(o: CommonOptions, config: CliConfig, needsKey?: boolean): Promise<Session>;
  /** The sending policy of a command's options (`--yes`, `--dry-run`, `--from`, the prompt). */
  gate(o: SendingOptions): TxGate;
}

/** The gate of a command's sending options. */
export function gateOf(o: SendingOptions, io: CliIo): TxGate {
  let from;
  if (o.from !== undefined) {
    if (!isAddress(o.from))
      throw new OperatorCommandError(
        `--from must be an address (0x and 40 hex digits), got ${JSON.stringify(o.from)}`,
      );
    from = getAddress(o.from);
  }
  return {
    ...(o.yes && { yes: true }),
    ...(o.dryRun && { dryRun: true }),
    ...(from && { from }),
    ...(io.confirm && { confirm: io.confirm }),
  };
}
