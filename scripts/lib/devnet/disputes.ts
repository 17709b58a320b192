/**
 * The devnet's dispute game: one honest party overrules a colluding committee.
 *
 * A DisputeGame is deployed beside the suite and wired to slash (`deployDevnetDisputes`). One more
 * trainer runs a `DisputingForger` (every segment forged by one flipped bit, a consistent lie it
 * defends), and every validator but the first colludes with it (`ColludingValidator`: Valid on its
 * runs without auditing, honest on everyone else's). The colluding majority clears its runs, the
 * honest validator's replay refuted a segment, so its daemon opens a game bound to that segment by
 * itself, and the two daemons play it (`playDevnetDisputes` only ticks them, as a scheduler
 * would): the chain re-executes one operation, the forger and the colluders are slashed.
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { getAddress, parseEther, type Address, type PublicClient } from "viem";
import { disputeGameAbi, stakingAbi } from "@poai/sdk";
import type { TrainerDaemon } from "@poai/node";
import type { ValidatorDaemon } from "@poai/node/verifier";
import { deployDisputeGame } from "../deploy-disputes.js";
import { ROLES } from "../roles.js";
import type { NetworkDeployment } from "../deploy.js";
import { fmt } from "./report.js";

/**
 * Seconds each party has for a move: longer than the devnet's clock jumps between two ticks of a
 * daemon (from one round's milestone to the next, at most about 2,400 s), and short enough that
 * the game's slash window (`MAX_MOVES` moves) stays within Staking's unbonding period.
 */
export const DEVNET_MOVE_TIMEOUT = 3_000n;
/** The bond a challenger posts. */
export const DEVNET_DISPUTE_BOND = parseEther("10");
/** The share of stake a game slashes a proven forger (and each overruled member) by. */
export const DEVNET_DISPUTE_SLASH = parseEther("0.1");

/** One game as the report shows it. */
export interface DisputeGameRow {
  id: string;
  challengeId: string;
  segment: number;
  winner: string;
  /** Why it ended (`GameResolved.reason`). */
  reason: string;
  /** Moves each side sent, in order (function names). */
  challengerMoves: string[];
  defenderMoves: string[];
  gas: string;
  slashes: { operator: string; name: string; amount: string }[];
}

export interface DisputeSummary {
  game: string;
  games: DisputeGameRow[];
  /** Wall time of the ticks that played the games after the rounds (in-process chain). */
  playSeconds: number;
  lines: string[];
}

/** Deploys the DisputeGame (bound to the ChallengeManager) and lets it slash. */
export async function deployDevnetDisputes(
  viem: HardhatViemHelpers,
  d: NetworkDeployment,
  epochLength: number,
): Promise<Address> {
  const game = await deployDisputeGame(viem, {
    token: d.token.address,
    moveTimeout: DEVNET_MOVE_TIMEOUT,
    bond: DEVNET_DISPUTE_BOND,
    staking: d.staking.address,
    slashFraction: DEVNET_DISPUTE_SLASH,
    challenges: d.challenges.address,
    disputeWindow: BigInt(2 * epochLength),
  });
  await d.manager.write.grantRole([ROLES.SLASHER, game.address, 0]);
  // ChallengeManager.overrule: a won game takes back the points of the verdict it overrules
  await d.manager.write.grantRole([ROLES.DISPUTES, game.address, 0]);
  await d.staking.write.addSlashSource([game.address]);
  return game.address;
}

/**
 * Ticks the forger's and the honest validator's daemons until every bound game is resolved
 * (the daemons open, move, resume and claim by themselves), then reports each game.
 */
export async function playDevnetDisputes(args: {
  publicClient: PublicClient;
  game: Address;
  staking: Address;
  forger: TrainerDaemon;
  validator: ValidatorDaemon;
  nameOf: (a: Address) => string;
}): Promise<DisputeSummary> {
  const { publicClient, game } = args;
  const read = (id: bigint) =>
    publicClient.readContract({ address: game, abi: disputeGameAbi, functionName: "gameOf", args: [id] });
  // games against the forger; the forging trainers' daemons also defend their convictions, whose
  // seats (docs/disputes.md, "Defending a run convicted as Fraud") are counted on their own line
  const forgerOf = (a: Address) => getAddress(a) === getAddress(args.forger.address);
  const started = performance.now();
  for (let i = 0; i < 100; i++) {
    const count = await publicClient.readContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "gameCount",
    });
    let open = 0;
    let ours = 0;
    for (let id = 1n; id <= count; id++) {
      const g = await read(id);
      if (!forgerOf(g.defender)) continue; // a seat in another convicted trainer's defence
      ours++;
      if (g.winner === "0x0000000000000000000000000000000000000000") open++;
    }
    if (ours > 0 && open === 0) break;
    await args.forger.tick();
    await args.validator.tick();
  }
  const playSeconds = (performance.now() - started) / 1000;

  const all = await publicClient.getContractEvents({
    address: game,
    abi: disputeGameAbi,
    eventName: "BoundGameOpened",
    fromBlock: 0n,
  });
  const opened: typeof all = [];
  for (const o of all) if (forgerOf((await read(o.args.id!)).defender)) opened.push(o);
  const resolved = await publicClient.getContractEvents({
    address: game,
    abi: disputeGameAbi,
    eventName: "GameResolved",
    fromBlock: 0n,
  });
  const slashed = await publicClient.getContractEvents({
    address: args.staking,
    abi: stakingAbi,
    eventName: "Slashed",
    fromBlock: 0n,
  });
  const mine = (games: { gameId: string; moves: string[] }[], id: bigint) =>
    games.find((g) => g.gameId === String(id))?.moves ?? [];
  const vStatus = args.validator.status().disputes?.games ?? [];
  const tStatus = args.forger.status().disputes.games;
  const rows: DisputeGameRow[] = [];
  for (const o of opened) {
    const id = o.args.id!;
    const end = resolved.find((r) => r.args.id === id);
    // gas of every transaction to the game for this game: its events' transactions
    const txs = new Set<string>();
    for (const e of (await publicClient.getContractEvents({
      address: game,
      abi: disputeGameAbi,
      fromBlock: 0n,
      args: { id },
    } as never)) as { transactionHash: string }[])
      txs.add(e.transactionHash);
    let gas = 0n;
    for (const h of txs)
      gas += (await publicClient.getTransactionReceipt({ hash: h as `0x${string}` })).gasUsed;
    const slashes = end
      ? slashed
          .filter((s) => s.transactionHash === end.transactionHash)
          .map((s) => {
            const a = s.args as { operator: Address; activeAmount: bigint; unbondingAmount: bigint };
            return {
              operator: getAddress(a.operator),
              name: args.nameOf(getAddress(a.operator)),
              amount: String(a.activeAmount + a.unbondingAmount),
            };
          })
      : [];
    rows.push({
      id: String(id),
      challengeId: o.args.challengeId!,
      segment: Number(o.args.segment),
      winner: end ? getAddress(end.args.winner!) : "",
      reason: end?.args.reason ?? "unresolved",
      challengerMoves: mine(vStatus, id),
      defenderMoves: mine(tStatus, id),
      gas: String(gas),
      slashes,
    });
  }
  const lines = rows.flatMap((g) => [
    `game ${g.id}: segment ${g.segment} of challenge ${g.challengeId.slice(0, 10)}…, won by ${g.winner ? args.nameOf(g.winner as Address) : "nobody yet"} (${g.reason})`,
    `  ${g.challengerMoves.length + g.defenderMoves.length} moves, ${Number(g.gas).toLocaleString("en-US")} gas: challenger ${g.challengerMoves.join(", ")}; defender ${g.defenderMoves.join(", ")}`,
    `  slashed: ${g.slashes.map((s) => `${s.name} ${fmt(s.amount)}`).join(", ") || "nobody (the challenge was settled by an earlier game)"}`,
  ]);
  if (all.length > opened.length)
    lines.push(
      `${all.length - opened.length} seat(s) taken by accusers in the defences other convicted trainers' daemons opened`,
    );
  lines.push(
    `the daemons played the games in ${playSeconds.toFixed(2)} s of wall time after the rounds (in-process chain)`,
  );
  return { game, games: rows, playSeconds, lines };
}

/** The devnet's check of the game: the honest validator won every game, the forger and colluders were slashed. */
export function disputeChecks(
  s: DisputeSummary | null,
  honest: Address,
  forger: Address,
  colluders: Address[],
) {
  if (!s) return [];
  const slashedOnce = (a: Address) =>
    s.games.some((g) => g.slashes.some((x) => getAddress(x.operator) === a && BigInt(x.amount) > 0n));
  return [
    {
      name: "an honest validator overrules a colluding committee by a dispute game",
      ok:
        s.games.length > 0 &&
        s.games.every((g) => g.winner === honest && g.reason !== "timeout") &&
        slashedOnce(forger) &&
        colluders.every(slashedOnce) &&
        !slashedOnce(honest),
      detail: `${s.games.length} game(s), won by ${[...new Set(s.games.map((g) => g.winner))].join(", ")}; slashed ${[...new Set(s.games.flatMap((g) => g.slashes.map((x) => x.name)))].join(", ")}`,
    },
  ];
}
