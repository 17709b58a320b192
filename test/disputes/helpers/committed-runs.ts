/**
 * The world that the tests of games bound to a challenge build (`bound.test.ts`, a committee that
 * cleared a forger; `defence.test.ts`, a committee that convicted an honest trainer): the PoAI
 * world with a DisputeGame wired to it (SLASHER and DISPUTES granted, a slash source, every actor's
 * bond approved), and two trainers, a forger and an honest one, that commit their round-1 runs of
 * the world's spec 8-8-4 (two segments of 10 steps). The committee has not voted yet: each test
 * file judges the runs as it needs.
 */
import { keccak256, maxUint256, parseEther, type Address, type Hex } from "viem";
import {
  getDispute,
  nextDisputeMove,
  openBoundDispute,
  sendDisputeMove,
  type CheckpointLeafProof,
} from "../../../sdk/src/actions/disputes.js";
import type { PoAIContext } from "../../../sdk/src/context.js";
import {
  NO_STEP_ROOT,
  commitCheckpoints,
  deriveKey,
  stepStatesRoot,
  modelLayout,
  type RunCommitment,
} from "../../../sdk/src/compute/index.js";
import { initialWeights } from "../../../sdk/src/compute/reference.js";
import { RunStates, type StateSource } from "../../../sdk/src/compute/state/game.js";
import { stateHash } from "../../../sdk/src/compute/state/sampling.js";
import { ForgedRun } from "../../../sdk/src/compute/state/forged.js";
import { deployDisputeGame } from "../../../scripts/lib/deploy-disputes.js";
import { ROLES } from "../../../scripts/lib/roles.js";
import { PoAIContractError } from "../../../sdk/src/errors.js";
import {
  E,
  SPEC,
  Status,
  Verdict,
  deployWorld,
  type Actor,
  type Connection,
} from "../../poai/helpers/world.js";

export const R = 1n;
export const BOND = E(10);
export const SLASH = parseEther("0.1");
export const DISPUTE_WINDOW = 3600n;
export const MOVE_TIMEOUT = 600n;
export const interval = SPEC.checkpointInterval;
export const segments = SPEC.steps / interval;
/** The forger's lie: one bit of A_1 in step 13 (segment 1), trained on from there. */
export const FORGERY = { step: 13, slot: 4, byte: 5, bit: 2, parameter: 3 } as const;

/** The checkpoints of a run as a state source holds them: Θ_in of each segment's first step, then the last Θ_out. */
export function checkpointsOf(source: StateSource): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < segments; i++) out.push(source.tensors(i * interval).encodings[0]);
  const last = source.tensors(SPEC.steps - 1).encodings;
  out.push(last[last.length - 1]);
  return out;
}

export function leafOf(c: RunCommitment, hashes: readonly Hex[], i: number): CheckpointLeafProof {
  return { hash: hashes[i], parameterRoot: c.parameterRoots[i], stepRoot: c.stepRoots[i], proof: c.proof(i) };
}

/** Options of {@link committedRunsWorld}. */
export interface CommittedRunsOptions {
  validators?: bigint[];
  /**
   * Commit each segment's step-state root (as a run of an operation-sampling spec does); `tamper`
   * may change a run's committed step states (`states[segment][step]`: the slot roots; `honest`:
   * the run's honest states) first (a segment left with no states commits no step-state root).
   */
  stepRoots?: { tamper?: (states: Hex[][][], forged: boolean, honest: RunStates) => void };
  /**
   * Train each run from its challenge's seed (`ChallengeManager.challengeSeed`), as a trainer does,
   * so that the data slots the games' data rules derive from the challenge's key are the honest
   * run's; by default a seed of the trainer's address (the games of activation forgeries never
   * read the data slots).
   */
  chainSeeds?: boolean;
}

/** The world with a dispute game and two committed runs (`forged`, `fair`) of round `R`. */
export async function committedRunsWorld(conn: Connection, options: CommittedRunsOptions = {}) {
  const w = await deployWorld(conn, {
    trainers: [E(5000), E(5000)],
    ...(options.validators && { validators: options.validators }),
    outsiders: 1,
  });
  const game = await deployDisputeGame(w.viem, {
    token: w.token.address,
    moveTimeout: MOVE_TIMEOUT,
    bond: BOND,
    staking: w.staking.address,
    slashFraction: SLASH,
    challenges: w.challenges.address,
    disputeWindow: DISPUTE_WINDOW,
  });
  await w.manager.write.grantRole([ROLES.SLASHER, game.address, 0]);
  await w.manager.write.grantRole([ROLES.DISPUTES, game.address, 0]);
  await w.staking.write.addSlashSource([game.address]);
  const chainId = await w.publicClient.getChainId();
  const ctxOf = (a: Actor): PoAIContext => ({
    publicClient: w.publicClient,
    walletClient: a.wallet,
    deployment: {
      chainId,
      contracts: {
        accessManager: w.manager.address,
        token: w.token.address,
        staking: w.staking.address,
        stakingLens: w.lens.address,
        challengeManager: w.challenges.address,
        disputeGame: game.address,
      },
    },
  });
  for (const a of w.actors) await a.token.write.approve([game.address, maxUint256]);
  const [forger, honestTrainer] = w.trainers;

  await w.to(w.start(R));
  await w.beaconCommit(R + 1n, w.validators);
  const runOf = async (t: Actor, forge: boolean) => {
    // The forgery is in an activation, so these games never reach the data slots, whose rules read
    // the key of the challenge's spec and seed: the replay's seed only has to be the one both
    // parties train with.
    const seed = options.chainSeeds
      ? await w.challenges.read.challengeSeed([t.address, R])
      : keccak256(t.address);
    const key = deriveKey(SPEC, seed);
    const honest = new RunStates(SPEC, key, initialWeights(modelLayout(SPEC), key), 0);
    // the forger corrupts one activation bit in step 13 (segment 1) and trains on from there
    const claimed: StateSource = forge ? new ForgedRun(honest, FORGERY) : honest;
    const bytes = checkpointsOf(claimed);
    // the step states of each segment, as committed (`stepStates[segment][step]`)
    const stepStates: Hex[][][] = [];
    if (options.stepRoots) {
      for (let i = 0; i < segments; i++)
        stepStates.push(
          Array.from({ length: interval }, (_, t) => [...claimed.tensors(i * interval + t).roots]),
        );
      options.stepRoots.tamper?.(stepStates, forge, honest);
    }
    const commitment = options.stepRoots
      ? commitCheckpoints(bytes, [
          // a segment whose states `tamper` emptied commits none
          ...stepStates.map((s) => (s.length ? stepStatesRoot(s.map(stateHash)) : NO_STEP_ROOT)),
          NO_STEP_ROOT,
        ])
      : commitCheckpoints(bytes);
    const hashes = bytes.map((b) => keccak256(b));
    await t.cm.write.submitResult([R, commitment.root, 5000]);
    return { id: w.id(t, R), trainer: t, honest, claimed, commitment, hashes, stepStates };
  };
  // the round's beacon, which the challenges' seeds read, sealed before the runs train from them
  if (options.chainSeeds) await w.beacon.write.seal([R]);
  const forged = await runOf(forger, true);
  const fair = await runOf(honestTrainer, false);
  await w.beaconReveal(R + 1n, w.validators);
  return { w, game, ctxOf, forger, honestTrainer, forged, fair };
}
export type CommittedRunsWorld = Awaited<ReturnType<typeof committedRunsWorld>>;
export type CommittedRun = CommittedRunsWorld["fair"];

/**
 * The committee judges `run`: `accusers` reveal Invalid naming `segment`, the others reveal Valid
 * (score 5000) and, after an accusation, vote Valid again in the second phase. A majority of
 * accusers convicts (Fraud); with none the run is cleared (Valid).
 */
export async function judge(f: CommittedRunsWorld, run: CommittedRun, accusers: Actor[], segment = 1) {
  const { w } = f;
  const votes = w.validators.map((v) => ({
    v,
    verdict: accusers.includes(v) ? Verdict.Invalid : Verdict.Valid,
    segment: accusers.includes(v) ? segment : 0,
    score: 5000,
  }));
  const win = w.windows(R);
  await w.reach(win.commitStart);
  for (const vote of votes) await w.commitVote(run.id, vote);
  await w.reach(win.revealStart);
  for (const vote of votes) await w.revealVote(run.id, vote);
  if (accusers.length === 0) {
    await w.reach(win.revealEnd);
    if ((await w.challenges.read.getChallenge([run.id])).status === Status.Submitted)
      await w.outsiders[0].cm.write.finalize([run.id]);
  } else if (accusers.length < votes.length) {
    await w.reach(win.revealEnd);
    for (const v of w.validators) if (!accusers.includes(v)) await w.replayVote(run.id, v, Verdict.Valid);
  }
}

/** `by` opens a game bound to `segment` of `run` (a seat when the run is convicted); returns its id. */
export async function openBound(
  f: CommittedRunsWorld,
  by: Actor,
  run: CommittedRun,
  segment: number,
): Promise<bigint> {
  const hash = await openBoundDispute(f.ctxOf(by), {
    challengeId: run.id,
    segment,
    start: leafOf(run.commitment, run.hashes, segment),
    end: leafOf(run.commitment, run.hashes, segment + 1),
  });
  await f.w.receipt(hash);
  return (await f.game.read.gameCount()) as bigint;
}

/** Plays game `id` to the end, each side from its own source. */
export async function play(
  f: CommittedRunsWorld,
  id: bigint,
  defender: [Actor, StateSource],
  challenger: [Actor, StateSource],
): Promise<{ winner: Address; moves: number }> {
  let moves = 0;
  for (;;) {
    const view = await getDispute(f.ctxOf(defender[0]), { id });
    if (view.phase === "Resolved") return { winner: view.winner, moves };
    const [actor, source] =
      view.mover.toLowerCase() === defender[0].address.toLowerCase() ? defender : challenger;
    const move = await nextDisputeMove(f.ctxOf(actor), view, source, actor.address);
    if (!move) throw new Error(`no move in phase ${view.phase}`);
    await f.w.receipt(await sendDisputeMove(f.ctxOf(actor), move));
    if (++moves > 200) throw new Error("the game did not end");
  }
}

/** The operator's pool's stake now (a slash lowers it at once). */
export const stakeOf = async (f: CommittedRunsWorld, a: Address) =>
  (await f.w.lens.read.getOperator([a])).totalStake;

/** The decoded error a call is refused with (`"ok"` when it is not refused). */
export async function refusal(p: Promise<unknown>): Promise<"ok" | [string, unknown[]]> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof PoAIContractError) return [e.errorName, [...(e.args as readonly unknown[])]];
    throw e;
  }
}
