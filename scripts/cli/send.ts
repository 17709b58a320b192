/**
 * How every `poai` command that sends transactions sends them: it first works out the calls
 * (`PlannedCall`: contract, function, arguments, and what it does in words), then
 *
 * - with `--dry-run`, prints each call's target, value and calldata and sends nothing (paste them
 *   into a Safe's transaction builder, or a timelock proposal: see `govern.ts`);
 * - in a terminal, shows the calls and asks for a confirmation (`--yes` skips it); a script or a
 *   pipe (no terminal on stdin) is not asked: running it is the consent;
 * - sends them in order, each simulated first (a revert is decoded before anything is signed) and
 *   mined before the next (an approval before the action that spends it).
 *
 * Other command modules use `execute` the same way so that every sending command confirms and
 * dry-runs alike.
 */
import { sendContractTransaction, type PoAIClient } from "@poai/sdk";
import { encodeFunctionData, getAddress, type Abi, type Address, type Hash, type Hex } from "viem";
import { OperatorCommandError, type CommandResult, type SentTransaction } from "./commands.js";

/** One transaction a command means to send. */
export interface PlannedCall {
  /** The contract's name for a person (`Staking`, `PoAIToken`, `PoAITimelock`, …). */
  contract: string;
  to: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** Native currency sent with it, in wei. */
  value?: bigint;
  /** The `action` recorded in the result's `transactions`. */
  action: string;
  /** What it does, in words: shown before sending and, once mined, as the result line. */
  summary: string;
  /** Addresses the call lets act for the sender (an approval's spender): checked against the book. */
  authorizes?: readonly Address[];
}

/** How a command may send: flags of the command line and the terminal it runs in. */
export interface TxGate {
  /** `--yes`: do not ask. */
  yes?: boolean;
  /** `--dry-run`: print the calls, send nothing. */
  dryRun?: boolean;
  /** `--from`: the sender a dry run plans for when there is no key. */
  from?: Address;
  /** Asks a person; absent when nobody can answer (no terminal): the command then proceeds. */
  confirm?: (question: string) => Promise<boolean>;
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

/** The calldata of a planned call. */
export function calldata(call: PlannedCall): Hex {
  return encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args });
}

/** The address the command acts for: the key's account, or `--from` in a dry run. */
export function sender(client: PoAIClient, gate: TxGate = {}): Address {
  const account = client.walletClient?.account;
  if (account) return getAddress(account.address);
  if (gate.from) return gate.from;
  return fail(
    gate.dryRun
      ? "a dry run needs the sender: pass --from <address> (or set POAI_PRIVATE_KEY)"
      : "no signing key: set POAI_PRIVATE_KEY in the environment or store it with `npx hardhat keystore set POAI_PRIVATE_KEY`",
  );
}

const show = (v: unknown): string =>
  typeof v === "bigint"
    ? v.toString()
    : Array.isArray(v)
      ? `[${v.map(show).join(", ")}]`
      : typeof v === "object" && v !== null
        ? `{${Object.entries(v)
            .map(([k, x]) => `${k}: ${show(x)}`)
            .join(", ")}}`
        : String(v);

/** `Staking.delegate(0x…, 500000000000000000000)`. */
export function signature(call: PlannedCall): string {
  return `${call.contract}.${call.functionName}(${call.args.map(show).join(", ")})`;
}

/** The calls as a dry run prints them: where, how much, which bytes. */
export function describeCalls(calls: readonly PlannedCall[]): {
  lines: string[];
  data: Record<string, unknown>[];
} {
  const lines: string[] = [];
  const data = calls.map((call, i) => {
    const bytes = calldata(call);
    lines.push(
      `${i + 1}. ${call.summary}`,
      `   to:    ${call.to} (${call.contract})`,
      `   value: ${call.value ?? 0n}`,
      `   call:  ${signature(call)}`,
      `   data:  ${bytes}`,
    );
    return {
      contract: call.contract,
      to: call.to,
      value: call.value ?? 0n,
      functionName: call.functionName,
      args: call.args,
      data: bytes,
      summary: call.summary,
    };
  });
  return { lines, data };
}

/** Waits for `hash`, records it, and says where it landed. */
export async function mined(
  client: PoAIClient,
  hash: Hash,
  action: string,
  txs: SentTransaction[],
): Promise<string> {
  const receipt = await client.waitForTransaction(hash);
  txs.push({ action, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
  return `tx ${hash}, block ${receipt.blockNumber}, gas ${receipt.gasUsed}`;
}

/**
 * Confirms, dry-runs or sends `calls` (see the module comment). `result` is what the command
 * reports once everything is mined: its `action`, its data and lines shown before the calls'.
 */
export async function execute(
  client: PoAIClient,
  gate: TxGate,
  calls: readonly PlannedCall[],
  result: { action: string; data?: Record<string, unknown>; lines?: string[]; notes?: string[] },
): Promise<CommandResult> {
  const from = sender(client, gate);
  const chainId = client.deployment.chainId;
  if (gate.dryRun) {
    const { lines, data } = describeCalls(calls);
    return {
      lines: [
        ...(result.lines ?? []),
        `dry run: nothing was sent. ${calls.length} transaction${calls.length === 1 ? "" : "s"} from ${from} on chain ${chainId}, each with what it would report once mined:`,
        ...lines,
        ...(result.notes ?? []),
      ],
      data: { action: result.action, ...result.data, dryRun: true, from, chainId, calls: data },
    };
  }
  if (!gate.yes && gate.confirm) {
    const question = [
      `About to send ${calls.length} transaction${calls.length === 1 ? "" : "s"} from ${from} on chain ${chainId} (each with what it reports once mined):`,
      ...calls.map((c, i) => `  ${i + 1}. ${c.summary}\n     ${signature(c)} -> ${c.to}`),
      "Send? [y/N] ",
    ].join("\n");
    if (!(await gate.confirm(question))) fail("not confirmed: nothing was sent");
  }
  const txs: SentTransaction[] = [];
  const lines = [...(result.lines ?? [])];
  for (const call of calls) {
    const hash = await sendContractTransaction(client, {
      to: call.to,
      data: calldata(call),
      functionName: call.functionName,
      ...(call.value !== undefined && call.value > 0n && { value: call.value }),
      ...(call.authorizes && { authorizes: call.authorizes }),
    });
    lines.push(`${call.summary} (${await mined(client, hash, call.action, txs)})`);
  }
  lines.push(...(result.notes ?? []));
  return { lines, data: { action: result.action, ...result.data, transactions: txs } };
}
