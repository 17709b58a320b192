/**
 * Games opened at a sampled step (BENCH=step-disputes, also run by BENCH=disputes; written under
 * `stepGame` in bench/results/disputes.json): gas of each transaction on the in-process EDR chain,
 * in the world of `test/disputes/helpers/committed-runs.ts` (spec 8-8-4, two segments of 10 steps,
 * trainers of 5,000 POAI, a committee of three validators), each run committing its segments'
 * step-state roots. The committee clears both runs; from one chain state (a snapshot restored
 * between them) an outsider wins, against the forger of A_1 in step 13:
 *
 * - `openBound` + its bisection over the segment's steps (the challenger replays the segment);
 * - `openBoundAtStep` at the failed sample (step 3 of segment 1, A_1 byte 5) + its moves, played
 *   from the trainer's answer to that sample alone;
 *
 * and, on the other run, whose committed step states break a link (step 4's Θ_in is not step 3's
 * Θ_out), the `openBoundAtStep` that wins at the opening; and the data games (docs/disputes.md,
 * "Data games") of its segment 1, whose steps 15 and 16 train every operation right on data of
 * its own (a teacher score raised above its row's best, the label following it; a label moved),
 * each opened from a sample of an element that reads neither (A_1[0][0]: the committed TS or LBL
 * root is the fault) and played from the sample's answer and the step's data. Every win settles
 * the challenge alike (the trainer's slash, every Valid voter's slash, the overrule of the
 * verdict's points).
 */
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import type { Hash } from "viem";
import {
  getDispute,
  nextDisputeMove,
  openStepDispute,
  sendDisputeMove,
  type DisputeMove,
} from "../sdk/src/actions/disputes.js";
import { loadFastKeccak, modelLayout, stepDataBytes, type StepData } from "../sdk/src/compute/index.js";
import { RunStates, type StateSource } from "../sdk/src/compute/state/game.js";
import { answerSample, stateHash, stepStateProof } from "../sdk/src/compute/state/sampling.js";
import {
  SampledStep,
  stepDataContext,
  stepDisputeOf,
  type StepDispute,
} from "../sdk/src/compute/state/step-game.js";
import { Status, Verdict, type Actor } from "../test/poai/helpers/world.js";
import {
  R,
  committedRunsWorld,
  interval,
  leafOf,
  openBound,
  type CommittedRun,
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

/** Plays game `id` to the end; returns each move's function and gas. */
async function playRecorded(
  f: CommittedRunsWorld,
  id: bigint,
  defender: [Actor, StateSource],
  challenger: [Actor, StateSource | SampledStep],
): Promise<{ move: DisputeMove; gas: number }[]> {
  const out: { move: DisputeMove; gas: number }[] = [];
  for (;;) {
    const view = await getDispute(f.ctxOf(defender[0]), { id });
    if (view.phase === "Resolved") return out;
    const [actor, source] =
      view.mover.toLowerCase() === defender[0].address.toLowerCase() ? defender : challenger;
    const move = await nextDisputeMove(f.ctxOf(actor), view, source, actor.address);
    if (!move) throw new Error(`no move in phase ${view.phase}`);
    out.push({ move, gas: await gasOf(f, await sendDisputeMove(f.ctxOf(actor), move)) });
    if (out.length > 200) throw new Error("the game did not end");
  }
}

/** Segment `segment` of `run` as its sampling commitment (`stepDisputeOf`'s `c`). */
function segmentOf(run: CommittedRun, segment: number) {
  return {
    firstStep: segment * interval,
    steps: interval,
    startRoot: run.commitment.parameterRoots[segment],
    endRoot: run.commitment.parameterRoots[segment + 1],
    stepStatesRoot: run.commitment.stepRoots[segment],
  };
}

async function openAtStep(
  f: CommittedRunsWorld,
  by: Actor,
  run: CommittedRun,
  segment: number,
  d: StepDispute,
) {
  const hash = await openStepDispute(f.ctxOf(by), {
    challengeId: run.id,
    segment,
    start: leafOf(run.commitment, run.hashes, segment),
    end: leafOf(run.commitment, run.hashes, segment + 1),
    dispute: d,
  });
  return { id: (await f.game.read.gameCount()) as bigint, gas: await gasOf(f, hash) };
}

export async function runStepDisputesBench(): Promise<void> {
  await loadFastKeccak();
  let faulted: RunStates | undefined;
  const f = await committedRunsWorld(await network.create(), {
    chainSeeds: true,
    stepRoots: {
      tamper: (states, forged, honest) => {
        if (forged) return;
        states[0][4][0] = states[0][5][0];
        // segment 1 from step 15 on: its own teacher score at step 15, its own label at step 16
        const C = modelLayout(honest.spec).classes;
        const own = (step: number, d: StepData): StepData => {
          const teacherScores = d.teacherScores.slice();
          const labels = d.labels.slice();
          if (step === interval + 5) {
            teacherScores[1 * C + 2] += 1 << 20;
            labels[1] = 2;
          } else if (step === interval + 6) labels[2] = (labels[2] + 1) % C;
          return { ...d, teacherScores, labels };
        };
        faulted = new RunStates(
          honest.spec,
          honest.key,
          honest.trace(interval + 4).thetaOut,
          interval + 5,
          undefined,
          own,
        );
        for (let t = 5; t < interval; t++) states[1][t] = [...faulted.tensors(interval + t).roots];
      },
    },
  });
  // the committee clears both runs (one round: both judged in the same windows)
  const { w } = f;
  const votes = w.validators.map((v) => ({ v, verdict: Verdict.Valid, score: 5000 }));
  const win = w.windows(R);
  await w.reach(win.commitStart);
  for (const run of [f.forged, f.fair]) for (const vote of votes) await w.commitVote(run.id, vote);
  await w.reach(win.revealStart);
  for (const run of [f.forged, f.fair]) for (const vote of votes) await w.revealVote(run.id, vote);
  await w.reach(win.revealEnd);
  for (const run of [f.forged, f.fair])
    if ((await w.challenges.read.getChallenge([run.id])).status === Status.Submitted)
      await w.outsiders[0].cm.write.finalize([run.id]);
  const challenger = f.w.outsiders[0];
  const rows: GasRow[] = [];
  const summary: Record<
    string,
    { open: number; moves: number; movesGas: number; total: number; lastMove: string }
  > = {};
  const record = (
    scenario: string,
    opening: string,
    open: number,
    moves: { move: DisputeMove; gas: number }[],
  ) => {
    rows.push({ scenario, transaction: opening, gas: open });
    moves.forEach((m, i) =>
      rows.push({ scenario, transaction: `move ${i + 1}: ${m.move.functionName}`, gas: m.gas }),
    );
    const movesGas = moves.reduce((s, m) => s + m.gas, 0);
    summary[scenario] = {
      open,
      moves: moves.length,
      movesGas,
      total: open + movesGas,
      lastMove: moves.at(-1)?.move.functionName ?? opening,
    };
  };

  const snapshot = await f.w.networkHelpers.takeSnapshot();
  // 1. openBound and the bisection over the segment's steps (the challenger replays the segment)
  const bound = await openBound(f, challenger, f.forged, 1);
  const [opened] = await f.game.getEvents.BoundGameOpened({ id: bound });
  const boundOpen = await gasOf(f, opened.transactionHash);
  const boundMoves = await playRecorded(
    f,
    bound,
    [f.forger, f.forged.claimed],
    [challenger, f.forged.honest],
  );
  if ((await getDispute(f.ctxOf(challenger), { id: bound })).winner !== challenger.address)
    throw new Error("the bound game was not won by the challenger");
  record("openBound + step bisection (a replay)", "openBound", boundOpen, boundMoves);
  await snapshot.restore();

  // 2. the game at the sampled step, played from the trainer's answer alone
  const sample = { step: 3, slot: 4, byte: 5 };
  const states = Array.from({ length: interval }, (_, t) => f.forged.claimed.tensors(interval + t));
  const answer = answerSample(f.forged.claimed.spec, states, sample);
  const dispute = stepDisputeOf(f.forged.claimed.spec, segmentOf(f.forged, 1), sample, answer);
  if (dispute?.fraud !== "value") throw new Error("the forged sample is not disputable");
  const step = await openAtStep(f, challenger, f.forged, 1, dispute);
  const stepMoves = await playRecorded(
    f,
    step.id,
    [f.forger, f.forged.claimed],
    [challenger, new SampledStep(f.forged.claimed.spec, dispute)],
  );
  if ((await getDispute(f.ctxOf(challenger), { id: step.id })).winner !== challenger.address)
    throw new Error("the step game was not won by the challenger");
  record("openBoundAtStep + moves (the sample's answer)", "openBoundAtStep", step.gas, stepMoves);

  // 3. a broken link between committed steps: decided at the opening
  const hashes = f.fair.stepStates[0].map(stateHash);
  const opening = (t: number) => ({ roots: f.fair.stepStates[0][t], proof: stepStateProof(hashes, t) });
  const link: StepDispute = {
    fraud: "link",
    sample: { step: 3, slot: 4, byte: 0 },
    answer: {
      state: opening(3),
      next: opening(4),
      leaf: { index: 0n, leaf: "0x", siblings: [] },
      operands: [],
    },
    state: opening(3),
    next: opening(4),
  };
  const linked = await openAtStep(f, challenger, f.fair, 0, link);
  if ((await getDispute(f.ctxOf(challenger), { id: linked.id })).phase !== "Resolved")
    throw new Error("the broken link was not decided at the opening");
  record("openBoundAtStep on a broken link (wins at the opening)", "openBoundAtStep", linked.gas, []);

  // 4. data games: the fair run trained on its own teacher score (step 15) and label (step 16)
  const spec = f.fair.honest.spec;
  const key = f.fair.honest.key;
  const hashes1 = f.fair.stepStates[1].map(stateHash);
  const committed = (step: number) => (step >= interval + 5 ? faulted! : f.fair.honest).tensors(step);
  const defender: StateSource = {
    spec,
    key: f.fair.honest.key,
    thetaRoot: (step) => (step >= interval + 5 ? faulted! : f.fair.honest).thetaRoot(step),
    tensors: committed,
    foldAccs: (step, ref) => (step >= interval + 5 ? faulted! : f.fair.honest).foldAccs(step, ref),
  };
  for (const [t, scenario] of [
    [5, "openBoundAtStep + moves, a wrong teacher score (TS data game)"],
    [6, "openBoundAtStep + moves, a wrong label (LBL data game)"],
  ] as const) {
    await snapshot.restore();
    const dataSample = { step: t, slot: 4, byte: 0 };
    const segment = Array.from({ length: interval }, (_, k) => committed(interval + k));
    const opened1 = (k: number) => ({ roots: f.fair.stepStates[1][k], proof: stepStateProof(hashes1, k) });
    const dataAnswer = {
      ...answerSample(spec, segment, dataSample),
      state: opened1(t),
      next: opened1(t + 1),
    };
    const data = stepDisputeOf(
      spec,
      segmentOf(f.fair, 1),
      dataSample,
      dataAnswer,
      (step) => stepDataBytes(spec, key, step),
      stepDataContext(spec, key),
    );
    if (data?.fraud !== "data") throw new Error(`the sample of step ${interval + t} opens no data game`);
    const game = await openAtStep(f, challenger, f.fair, 1, data);
    const moves = await playRecorded(
      f,
      game.id,
      [f.fair.trainer, defender],
      [challenger, new SampledStep(spec, data)],
    );
    if ((await getDispute(f.ctxOf(challenger), { id: game.id })).winner !== challenger.address)
      throw new Error("the data game was not won by the challenger");
    record(scenario, "openBoundAtStep", game.gas, moves);
  }

  const file = new URL("./results/disputes.json", import.meta.url);
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  results.stepGame = {
    measured:
      "in-process EDR chain (hardhat network.create), gasUsed of each transaction; spec 8-8-4, 2 segments of 10 steps; trainers 5,000 POAI, validators 3,000; the two forged-run games and each data game from one snapshot; every win settles the challenge (trainer and 3 Valid voters slashed, verdict overruled)",
    summary,
    rows,
  };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.table(summary);
}
