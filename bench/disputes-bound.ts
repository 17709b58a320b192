/**
 * Games bound to a challenge and defences of a conviction (BENCH=bound-disputes, also run by
 * BENCH=disputes; written under `bound` in bench/results/disputes.json): gas of each transaction a
 * user sends, on the in-process EDR chain, each scenario in a fresh world as a user meets it (the
 * world of `test/disputes/helpers/committed-runs.ts`: spec 8-8-4, two segments of 10 steps, two
 * trainers of 5,000 POAI, three validators of 3,000).
 *
 * - `bound game`: the committee clears a forger; an outsider opens a game bound to the forged
 *   segment (`openBound`), both sides play it by the SDK; the last move wins it and settles the
 *   challenge (the forger's slash, every Valid voter's slash, the overrule of the verdict's points).
 * - `defence, k accusers` (k = 2, 3): k members convict the honest trainer (the fraud slash and the
 *   vouching member's verdict slash held in Staking); the trainer opens its defence
 *   (`openDefence`); one accuser takes its seat (`openBound`) and loses it; after the seats close
 *   `settleDefence` overrules the conviction: the holds returned, every accuser slashed, the jail
 *   lifted, the bond returned.
 */
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import type { Hash } from "viem";
import {
  getDefence,
  getDispute,
  nextDisputeMove,
  openDefence,
  sendDisputeMove,
  settleDefence,
} from "../sdk/src/actions/disputes.js";
import { ForgedRun } from "../sdk/src/compute/state/forged.js";
import type { StateSource } from "../sdk/src/compute/state/game.js";
import { loadFastKeccak } from "../sdk/src/compute/index.js";
import { E, type Actor } from "../test/poai/helpers/world.js";
import {
  committedRunsWorld,
  interval,
  judge,
  openBound,
  type CommittedRunsWorld,
} from "../test/disputes/helpers/committed-runs.js";

interface GasRow {
  scenario: string;
  transaction: string;
  gas: number;
}

async function gasOf(f: CommittedRunsWorld, hash: Hash): Promise<number> {
  return Number((await f.w.receipt(hash)).gasUsed);
}

/** Plays game `id` to the end, recording each move's gas (the game's first move first). */
async function playRecorded(
  f: CommittedRunsWorld,
  id: bigint,
  defender: [Actor, StateSource],
  challenger: [Actor, StateSource],
  scenario: string,
  rows: GasRow[],
) {
  for (let n = 0; ; n++) {
    const view = await getDispute(f.ctxOf(defender[0]), { id });
    if (view.phase === "Resolved") return view.winner;
    const [actor, source] =
      view.mover.toLowerCase() === defender[0].address.toLowerCase() ? defender : challenger;
    const move = await nextDisputeMove(f.ctxOf(actor), view, source, actor.address);
    if (!move) throw new Error(`no move in phase ${view.phase}`);
    const gas = await gasOf(f, await sendDisputeMove(f.ctxOf(actor), move));
    rows.push({ scenario, transaction: `move ${n + 1}: ${move.functionName} (${view.phase})`, gas });
    if (n > 200) throw new Error("the game did not end");
  }
}

async function boundGame(rows: GasRow[]) {
  const f = await committedRunsWorld(await network.create());
  const scenario = "bound game (a cleared forger)";
  await judge(f, f.forged, []);
  const challenger = f.w.outsiders[0];
  const before = rows.length;
  const id = await openBound(f, challenger, f.forged, 1);
  const [open] = await f.game.getEvents.BoundGameOpened({ id });
  rows.push({ scenario, transaction: "openBound", gas: await gasOf(f, open.transactionHash) });
  await playRecorded(f, id, [f.forger, f.forged.claimed], [challenger, f.forged.honest], scenario, rows);
  const last = rows[rows.length - 1];
  last.transaction += ": wins, slashes the forger and every Valid voter, overrules the verdict";
  return rows.length - before;
}

async function defence(rows: GasRow[], accusers: number) {
  const f = await committedRunsWorld(await network.create(), { validators: [E(3000), E(3000), E(3000)] });
  const scenario = `defence, ${accusers} accusers`;
  const accusing = f.w.validators.slice(0, accusers);
  await judge(f, f.fair, accusing);
  const trainer = f.fair.trainer;
  rows.push({
    scenario,
    transaction: "openDefence",
    gas: await gasOf(f, await openDefence(f.ctxOf(trainer), { challengeId: f.fair.id })),
  });
  // one accuser takes its seat with a replay that disagrees inside segment 1, and loses it
  const seatId = await openBound(f, accusing[0], f.fair, 1);
  const [seat] = await f.game.getEvents.BoundGameOpened({ id: seatId });
  rows.push({
    scenario,
    transaction: "openBound (an accuser's seat)",
    gas: await gasOf(f, seat.transactionHash),
  });
  const wrong = new ForgedRun(f.fair.honest, { step: interval + 5, slot: 5, byte: 1, bit: 0, parameter: 2 });
  const seatRows: GasRow[] = [];
  await playRecorded(f, seatId, [trainer, f.fair.honest], [accusing[0], wrong], scenario, seatRows);
  rows.push({
    scenario,
    transaction: `seat game: ${seatRows.length} moves (total)`,
    gas: seatRows.reduce((s, r) => s + r.gas, 0),
  });
  const d = await getDefence(f.ctxOf(trainer), { challengeId: f.fair.id });
  await f.w.reach(d.seatEnd + 1n);
  rows.push({
    scenario,
    transaction: `settleDefence (${accusers} accusers slashed, ${3 - accusers} verdict slash returned, the fraud slash returned)`,
    gas: await gasOf(f, await settleDefence(f.ctxOf(f.w.outsiders[0]), { challengeId: f.fair.id })),
  });
}

export async function runBoundDisputesBench(): Promise<void> {
  await loadFastKeccak();
  const rows: GasRow[] = [];
  const moves = await boundGame(rows);
  await defence(rows, 2);
  await defence(rows, 3);
  const file = new URL("./results/disputes.json", import.meta.url);
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  results.bound = {
    measured:
      "in-process EDR chain (hardhat network.create), a fresh world per scenario, gasUsed of each transaction; spec 8-8-4, 2 segments of 10 steps; trainers 5,000 POAI, validators 3,000",
    boundGameMoves: moves - 1,
    rows,
  };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.table(rows);
}
