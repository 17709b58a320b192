/**
 * Score games (BENCH=score-disputes, also run by BENCH=disputes; written under `scoreGame` in
 * bench/results/disputes.json): the gas of each transaction of a dispute of a job run's reported
 * held-out accuracy (docs/disputes.md, "Score games") on the in-process EDR chain, in the world of
 * `test/disputes/helpers/score-world.ts` (a job claimed by one trainer, its run judged Valid by a
 * committee of three, a fresh chain per game), an honest validator challenging, for two shapes:
 *
 * - 8-8-4 over 48 held-out examples (the test's), and the MNIST shape 784-128-10 over 10,000
 *   held-out examples (MNIST's test set size; synthetic examples, pseudo-random weights);
 * - a trainer that counts two more correct predictions than its committed ones give (it cannot
 *   prove the example the bisection reaches: the challenger claims the timeout), and a trainer
 *   that commits three forged predictions with output scores to match (one activation bit flipped
 *   and every later layer computed from it): the inference game refutes the scores.
 *
 * Every move's gas is the receipt's `gasUsed`; a timeout's is counted as a move. The game grows
 * with the logarithm of the held-out set (one split and one pick per halving) and, in the
 * inference game, of the model's widths (docs/disputes.md, "Inference games").
 */
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { countCorrect } from "../sdk/src/compute/index.js";
import {
  scoreModel,
  scoreWorld,
  type PlayedMove,
  type ScoreShape,
} from "../test/disputes/helpers/score-world.js";

interface ScoreRow {
  model: string;
  evalSize: number;
  lie: string;
  winner: string;
  scoreMoves: number;
  inferenceMoves: number;
  openGas: number;
  splitPickLevels: number;
  gasPerLevel: number;
  proveExampleGas: number | null;
  disputePredictionGas: number | null;
  maxMoveGas: number;
  totalGas: number;
  wallSeconds: number;
}

const SHAPES: (ScoreShape & { name: string })[] = [
  { name: "8-8-4", features: 8, hidden: [8], classes: 4, evalSize: 48, chunkExamples: 16 },
  { name: "MNIST shape 784-128-10", features: 784, hidden: [128], classes: 10, evalSize: 10_000 },
];

export async function runScoreDisputesBench(): Promise<void> {
  const rows: ScoreRow[] = [];
  for (const shape of SHAPES) {
    const t0 = performance.now();
    const M = scoreModel(shape);
    console.log(
      `score game: ${shape.name}, ${shape.evalSize} held-out examples (model ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const lies = [
      {
        lie: "count: two more correct predictions counted than committed",
        trainer: () => ({
          source: M.countingAs(M.flipped(M.wrongExamples().slice(0, 2))),
          inference: M.statesOf,
        }),
      },
      {
        lie: "predictions: three forged, with output scores to match (an inference game)",
        trainer: () => M.forger(M.forgeable(3)),
      },
    ];
    for (const { lie, trainer } of lies) {
      const conn = await network.create();
      const w = await scoreWorld(conn, M);
      const party = trainer();
      const reported = M.bps(countCorrect(party.source, 0, shape.evalSize));
      const final = await w.submitAndJudge(reported, undefined, M.trace.accuracyBps);
      const [v] = w.validators;
      const started = performance.now();
      const { gameId, gas: openGas } = await w.open(v, final);
      const played = await w.play(gameId, { who: w.trainer, ...party }, w.honestParty(v));
      const wallSeconds = (performance.now() - started) / 1000;
      const gasOf = (m: PlayedMove) => Number(m.gas);
      const levels = played.moves.filter((m) => m.game === "score" && m.functionName === "split").length;
      const splitPick = played.moves.filter(
        (m) => m.game === "score" && (m.functionName === "split" || m.functionName === "pick"),
      );
      const one = (name: string) => {
        const m = played.moves.find((x) => x.game === "score" && x.functionName === name);
        return m ? gasOf(m) : null;
      };
      const all = [Number(openGas), ...played.moves.map(gasOf)];
      rows.push({
        model: shape.name,
        evalSize: shape.evalSize,
        lie,
        winner: played.winner === v.address.toLowerCase() ? "challenger" : "trainer",
        scoreMoves: played.moves.filter((m) => m.game === "score").length,
        inferenceMoves: played.moves.filter((m) => m.game === "inference").length,
        openGas: Number(openGas),
        splitPickLevels: levels,
        gasPerLevel: Math.round(splitPick.reduce((s, m) => s + gasOf(m), 0) / Math.max(1, levels)),
        proveExampleGas: one("proveExample"),
        disputePredictionGas: one("disputePrediction"),
        maxMoveGas: Math.max(...all),
        totalGas: all.reduce((s, g) => s + g, 0),
        wallSeconds: Number(wallSeconds.toFixed(2)),
      });
      if (rows.at(-1)!.winner !== "challenger")
        throw new Error(`the honest challenger lost (${shape.name}, ${lie})`);
    }
  }
  const file = new URL("./results/disputes.json", import.meta.url);
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  results.scoreGame = {
    measured:
      "in-process EDR chain (hardhat network.create, one per game), gasUsed of every transaction from open to the last move (a timeout counted as a move); a job run judged Valid by 3 validators, an honest validator challenging; synthetic held-out examples and pseudo-random weights; both parties played by the SDK (scoreMove, inferenceMove); wall time of the game on a shared 2-core machine",
    rows,
  };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.table(
    rows.map((r) => ({
      model: r.model,
      evalSize: r.evalSize,
      lie: r.lie.split(":")[0],
      winner: r.winner,
      moves: r.scoreMoves + r.inferenceMoves,
      levels: r.splitPickLevels,
      perLevel: r.gasPerLevel,
      open: r.openGas,
      max: r.maxMoveGas,
      total: r.totalGas,
    })),
  );
}
