/**
 * `poai dev`: helpers for a local development chain only (`npx hardhat node`, anvil, the
 * in-process chain; chain id 31337 or 1337). They refuse any other chain.
 *
 * - `dev accounts`: the chain's well-known test accounts with their keys and balances;
 * - `dev fund --to A,B --poai N --eth N`: POAI from the signer's balance (a transfer each) and ETH
 *   set directly on the chain (`hardhat_setBalance`);
 * - `dev clock`: where the chain's clock stands in the Proof-of-AI round (what the daemons do now,
 *   and what comes next);
 * - `dev advance [--to next|round|reveal|judge|close] [--seconds N]`: moves the chain's clock to
 *   the next milestone of the round (or by N seconds) and mines a block there, so the daemons act
 *   on it at their next tick.
 *
 * Milestones of round r (start S): `round` S + 1 (trainers train and submit round r; validators
 * commit their verdicts on round r - 1 and their beacon contributions), `reveal` (verdicts on
 * round r - 1 are revealed), `judge` (round r's submissions are closed; validators finalize round
 * r - 1, report missed rounds and reveal the beacon), `close` (the points of epoch r - 1 are final:
 * `poai rewards close`).
 */
import { identifyChainClient, poaiTokenAbi, type PoAIClient } from "@poai/sdk";
import {
  createPublicClient,
  createTestClient,
  formatEther,
  getAddress,
  parseEther,
  toHex,
  type Address,
  type Hex,
  type Transport,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { getBlock } from "viem/actions";
import {
  OperatorCommandError,
  chainTime,
  parseAddress,
  parseAmount,
  type CommandResult,
} from "./commands.js";
import { duration, iso, poai } from "./format.js";
import { int, type CommandKit, type SendingOptions } from "./kit.js";
import { execute, sender, type PlannedCall, type TxGate } from "./send.js";
import { connect, resolveRpc, type CommonOptions } from "./session.js";
import type { CliConfig } from "./config.js";
import { DEV_CHAIN_IDS, isDevChain } from "../lib/roles.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

/** The public test mnemonic of `npx hardhat node` (and anvil): its accounts are no secret. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Account `index` of the development mnemonic: address and private key. */
export function devAccount(index: number): { address: Address; key: Hex } {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  return { address: account.address, key: toHex(account.getHdKey().privateKey!) };
}

function requireDevChain(chainId: number, rpc: string): void {
  if (!isDevChain(chainId))
    fail(
      `poai dev works on a local development chain only (chain id ${DEV_CHAIN_IDS.join(" or ")}); the RPC at ${rpc} is chain ${chainId}`,
    );
}

/**
 * A viem test client over `transport` (hardhat_* / evm_* methods; anvil_* on anvil): which client
 * serves it is the SDK's `identifyChainClient`, where every client difference is handled.
 */
async function testClient(transport: Transport) {
  const { name } = await identifyChainClient(createPublicClient({ transport }));
  return createTestClient({ mode: name === "anvil" ? "anvil" : "hardhat", transport });
}

/** The chain's test accounts with their keys and balances (no address book needed). */
export async function accounts(
  o: CommonOptions,
  config: CliConfig,
  kit: CommandKit,
  count: number,
): Promise<CommandResult> {
  const { transport, chainId, rpc } = await connect(await resolveRpc(o, config, kit.io), kit.io);
  requireDevChain(chainId, rpc);
  const publicClient = createPublicClient({ transport });
  let client: PoAIClient | undefined;
  try {
    client = (await kit.session(o, config, false)).client;
  } catch {
    // no deployment yet: balances in ETH only
  }
  const rows = [];
  for (let i = 0; i < count; i++) {
    const { address, key } = devAccount(i);
    const eth = await publicClient.getBalance({ address });
    const tokens = client ? await client.token.getBalance({ owner: address }) : undefined;
    rows.push({ index: i, address, key, eth, ...(tokens !== undefined && { poai: tokens }) });
  }
  return {
    lines: [
      `the development accounts of chain ${chainId} (public test keys: never use them on a real network)`,
      ...rows.map(
        (r) =>
          `#${r.index} ${r.address} ${r.key}  ${formatEther(r.eth)} ETH${r.poai !== undefined ? `, ${poai(r.poai)}` : ""}`,
      ),
    ],
    data: { chainId, accounts: rows },
  };
}

/** Gives each of `to` POAI (transfers from the signer) and ETH (set on the chain). */
export async function fund(
  client: PoAIClient,
  transport: Transport,
  args: { to: Address[]; poai?: bigint; eth?: bigint },
  gate: TxGate = {},
): Promise<CommandResult> {
  requireDevChain(client.deployment.chainId, "this RPC");
  if (args.poai === undefined && args.eth === undefined) fail("give --poai <amount> and/or --eth <amount>");
  const me = sender(client, gate);
  const calls: PlannedCall[] = [];
  if (args.poai !== undefined) {
    const total = args.poai * BigInt(args.to.length);
    const balance = await client.token.getBalance({ owner: me });
    if (balance < total)
      fail(`${args.to.length} × ${poai(args.poai)} = ${poai(total)} is above your balance ${poai(balance)}`);
    for (const to of args.to)
      calls.push({
        contract: "PoAIToken",
        to: client.deployment.contracts.token,
        abi: poaiTokenAbi,
        functionName: "transfer",
        args: [to, args.poai],
        action: "transfer",
        summary: `sent ${poai(args.poai)} to ${to}`,
      });
  }
  // ETH is set on the chain directly (no transaction), after the transfers were confirmed.
  const setEth = async (): Promise<string[]> => {
    if (args.eth === undefined) return [];
    if (gate.dryRun)
      return args.to.map(
        (a) => `would set ${a}'s balance to ${formatEther(args.eth!)} ETH (hardhat_setBalance)`,
      );
    const test = await testClient(transport);
    const lines: string[] = [];
    for (const address of args.to) {
      await test.setBalance({ address, value: args.eth });
      lines.push(`set ${address}'s balance to ${formatEther(args.eth)} ETH`);
    }
    return lines;
  };
  if (calls.length === 0) {
    const lines = await setEth();
    return { lines, data: { action: "dev fund", to: args.to, eth: args.eth } };
  }
  const result = await execute(client, gate, calls, {
    action: "dev fund",
    data: { to: args.to, poai: args.poai, eth: args.eth },
  });
  return { ...result, lines: [...result.lines, ...(await setEth())] };
}

export type Milestone = "round" | "reveal" | "judge" | "close";

const MEANING: Record<Milestone, (r: bigint) => string> = {
  round: (r) =>
    r === 0n
      ? "round 0 starts"
      : `round ${r} starts: trainers train and submit round ${r}; validators commit their verdicts on round ${r - 1n} and their beacon contributions`,
  reveal: (r) => `validators reveal their verdicts on round ${r - 1n}`,
  judge: (r) =>
    r === 0n
      ? "round 0's submissions are closed: validators reveal the beacon"
      : `round ${r}'s submissions are closed: validators finalize round ${r - 1n}, report missed rounds and reveal the beacon`,
  close: (r) => `the points of epoch ${r - 1n} are final: poai rewards close, then poai rewards settle`,
};

export interface MilestoneAt {
  milestone: Milestone;
  round: bigint;
  at: bigint;
  meaning: string;
}

/** The milestones of `round` (see the module comment), in time order. */
export async function milestones(client: PoAIClient, round: bigint): Promise<MilestoneAt[]> {
  const [current, previous, closesAt] = await Promise.all([
    client.challenges.getRoundWindows({ round }),
    client.challenges.getRoundWindows({ round: round > 0n ? round - 1n : 0n }),
    client.challenges.epochClosesAt({ epoch: round > 0n ? round - 1n : 0n }),
  ]);
  const list: MilestoneAt[] = [{ milestone: "round", round, at: current.start + 1n, meaning: "" }];
  if (round > 0n) {
    list.push({ milestone: "reveal", round, at: previous.revealStart + 1n, meaning: "" });
    const judge = (current.deadline > previous.revealEnd ? current.deadline : previous.revealEnd) + 1n;
    list.push({ milestone: "judge", round, at: judge, meaning: "" });
    list.push({ milestone: "close", round, at: closesAt + 1n, meaning: "" });
  } else {
    list.push({ milestone: "judge", round, at: current.deadline + 1n, meaning: "" });
  }
  return list
    .map((m) => ({ ...m, meaning: MEANING[m.milestone](m.round) }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** Where the chain's clock stands: the round, the last milestone passed and the next ones. */
export async function clock(client: PoAIClient): Promise<CommandResult & { next: MilestoneAt[] }> {
  const now = await chainTime(client);
  const round = await client.staking.currentEpoch();
  const all = [...(await milestones(client, round)), ...(await milestones(client, round + 1n))];
  const passed = all.filter((m) => m.at <= now).at(-1);
  const next = all.filter((m) => m.at > now);
  const lines = [
    `chain time ${iso(now)}: round ${round}${passed ? `, after "${passed.milestone}" (${passed.meaning})` : ", before its first milestone"}`,
    ...next
      .slice(0, 4)
      .map(
        (m) =>
          `  next: ${m.milestone} of round ${m.round} at ${iso(m.at)} (in ${duration(m.at - now)}): ${m.meaning}`,
      ),
  ];
  return {
    lines,
    data: { chainTime: now, round, passed: passed ?? null, next: next.slice(0, 4) },
    next,
  };
}

/** Moves the chain's clock to the next `to` milestone (or by `seconds`) and mines a block there. */
export async function advance(
  client: PoAIClient,
  transport: Transport,
  args: { to?: Milestone | "next"; seconds?: number },
): Promise<CommandResult> {
  requireDevChain(client.deployment.chainId, "this RPC");
  const before = await chainTime(client);
  let target: bigint;
  let reached: MilestoneAt | undefined;
  if (args.seconds !== undefined) {
    if (args.to !== undefined) fail("give --to <milestone> or --seconds <n>, not both");
    target = before + BigInt(args.seconds);
  } else {
    const want = args.to ?? "next";
    const round = await client.staking.currentEpoch();
    const candidates = [
      ...(await milestones(client, round)),
      ...(await milestones(client, round + 1n)),
      ...(await milestones(client, round + 2n)),
    ].filter((m) => m.at > before && (want === "next" || m.milestone === want));
    reached = candidates[0] ?? fail(`no "${want}" milestone ahead in the next two rounds`);
    target = reached.at;
  }
  const test = await testClient(transport);
  await test.setNextBlockTimestamp({ timestamp: target });
  await test.mine({ blocks: 1 });
  const block = await getBlock(client.publicClient, { blockTag: "latest" });
  const after = await clock(client);
  return {
    lines: [
      `moved the chain's clock ${duration(block.timestamp - before)} forward to ${iso(block.timestamp)} (block ${block.number})${reached ? `: ${reached.milestone} of round ${reached.round}` : ""}`,
      ...(reached ? [`  ${reached.meaning}`] : []),
      ...after.lines,
      "the daemons act on it at their next tick",
    ],
    data: {
      action: "dev advance",
      from: before,
      to: block.timestamp,
      block: block.number,
      milestone: reached ?? null,
      clock: after.data,
    },
  };
}

export function registerDevCommands(kit: CommandKit): void {
  const dev = kit.group(
    "dev",
    "Local development chains only (chain id 31337 or 1337): test accounts, funding, moving the clock",
  );
  kit
    .sub("accounts", "The chain's test accounts with their (public) keys and balances", dev)
    .option("--count <n>", "how many accounts", int("count", 1, 100), 10)
    .action(async (o) => kit.run(o, async (config) => accounts(o, config, kit, o.count)));
  kit
    .sending(kit.sub("fund", "Give accounts POAI (from your balance) and ETH (set on the chain)", dev))
    .requiredOption("--to <addresses>", "comma-separated recipients")
    .option("--poai <amount>", "POAI for each (sent from the signer)")
    .option("--eth <amount>", "set each one's ETH balance to this")
    .action(async (o: SendingOptions & { to: string; poai?: string; eth?: string }) =>
      kit.run(o, async (config) => {
        const s = await kit.session(o, config, !o.dryRun);
        const to = o.to.split(",").map((a) => parseAddress("to", a.trim()));
        let eth: bigint | undefined;
        if (o.eth !== undefined) {
          if (!/^\d+(\.\d{1,18})?$/.test(o.eth))
            fail(`--eth must be an amount of ETH such as 100 or 0.5, got ${JSON.stringify(o.eth)}`);
          eth = parseEther(o.eth);
        }
        return fund(
          s.client,
          s.transport,
          {
            to: to.map((a) => getAddress(a)),
            ...(o.poai !== undefined && { poai: parseAmount("poai", o.poai) }),
            ...(eth !== undefined && { eth }),
          },
          kit.gate(o),
        );
      }),
    );
  kit
    .sub("clock", "Where the chain's clock stands in the round, and the next milestones", dev)
    .action(async (o) =>
      kit.run(o, async (config) => {
        const s = await kit.session(o, config, false);
        requireDevChain(s.chainId, s.rpc);
        const { lines, data } = await clock(s.client);
        return { lines, data };
      }),
    );
  kit
    .sub(
      "advance",
      "Move the chain's clock to the next milestone of the round (or by --seconds) and mine",
      dev,
    )
    .option("--to <milestone>", "next (any milestone), round, reveal, judge or close", "next")
    .option("--seconds <n>", "move by this many seconds instead", int("seconds", 1, 10 * 365 * 86_400))
    .action(async (o) =>
      kit.run(o, async (config) => {
        const to = o.seconds !== undefined && o.to === "next" ? undefined : o.to;
        if (to !== undefined && !["next", "round", "reveal", "judge", "close"].includes(to))
          fail(`--to must be next, round, reveal, judge or close, got ${JSON.stringify(to)}`);
        const s = await kit.session(o, config, false);
        return advance(s.client, s.transport, {
          ...(to !== undefined && { to: to as Milestone | "next" }),
          ...(o.seconds !== undefined && { seconds: o.seconds }),
        });
      }),
    );
}
