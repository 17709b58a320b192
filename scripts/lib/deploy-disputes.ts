/**
 * Deploys a DisputeGame with its linked libraries: DisputeBinding (the code that binds a game to a
 * challenge) and StepProver (the one-step proof), so that the game stays under the contract size
 * limit.
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { zeroAddress, type Address } from "viem";
import { ROLES } from "./roles.js";

/** The DisputeGame's constructor arguments. */
export type DisputeGameArgs = {
  token: Address;
  /**
   * Seconds each party has for each move (the game accepts 60 .. 1 day). Staking adds the game as
   * a slash source only if `slashWindow()` (about `MAX_MOVES` × `moveTimeout` plus the dispute
   * windows) fits in its unbonding period: with a 7-day unbonding that is just under an hour a move.
   */
  moveTimeout: bigint;
  /** Bond each party posts. */
  bond: bigint;
  /** Staking, which slashes losers (zero: no slashing). */
  staking?: Address;
  /** Fraction (1e18 = 100%) of a losing defender's (or overruled member's) stake slashed. */
  slashFraction?: bigint;
  /** The ChallengeManager whose challenges bound games dispute (zero: none). */
  challenges?: Address;
  /** Seconds after a challenge's points close during which a bound game may be opened. */
  disputeWindow?: bigint;
};

/** Deploys DisputeBinding and StepProver, then DisputeGame linked to them. */
export async function deployDisputeGame(viem: HardhatViemHelpers, args: DisputeGameArgs) {
  const binding = await viem.deployContract("DisputeBinding");
  const prover = await viem.deployContract("StepProver");
  return viem.deployContract(
    "DisputeGame",
    [
      args.token,
      args.moveTimeout,
      args.bond,
      args.staking ?? zeroAddress,
      args.slashFraction ?? 0n,
      args.challenges ?? zeroAddress,
      args.disputeWindow ?? 0n,
    ],
    { libraries: { DisputeBinding: binding.address, StepProver: prover.address } },
  );
}

/** The ScoreGame's settings (docs/disputes.md, "Score games"). */
export type ScoreGameArgs = {
  /** Seconds each party has for each move, in the score game and its inference game (60 .. 1 day). */
  moveTimeout: bigint;
  /** Bond each party posts in the score game. */
  bond: bigint;
  /** Bond each party posts in the inference game that decides a disputed prediction. */
  inferenceBond: bigint;
  /** Fraction (1e18 = 100%) of a disproven trainer's stake slashed. */
  slashFraction: bigint;
  /** Seconds after a job run is judged during which its reported accuracy may be disputed. */
  openWindow: bigint;
};

/** Most moves of a score game (`ScoreGame.MAX_MOVES`) and of the inference game it hosts. */
export const SCORE_GAME_MOVES = 51n + 48n;

/**
 * Score game settings for epochs of `epochLength` seconds: ten minutes a move, a window of half an
 * epoch, bonds of 10 tokens, 10% of a disproven trainer's stake. With one-day epochs and the default
 * challenge parameters its slash window (the ChallengeManager's 4.75 days, the open window and a
 * whole game: 51 moves and an inference game's 48) is about 5.9 days, inside Staking's 7-day
 * unbonding.
 */
export function defaultScoreGameArgs(epochLength: bigint): ScoreGameArgs {
  const half = epochLength / 2n;
  return {
    moveTimeout: 600n,
    bond: 10n * 10n ** 18n,
    inferenceBond: 10n * 10n ** 18n,
    slashFraction: 10n ** 17n,
    openWindow: half < 60n ? 60n : half,
  };
}

/**
 * Score game settings for a network: the defaults where Staking's `unbondingPeriod` outlasts the
 * game's slash window (`challengeSlashWindow`, the ChallengeManager's, plus the open window and a
 * whole game), else a shorter window and moves (at least 60 s each) that fit, else no slash at all
 * (`slashFraction` 0: a won game still disqualifies the run and takes the trainer's bond, and the
 * game adds nothing to the slash windows Staking's unbonding must outlast).
 */
export function scoreGameArgsFor(
  epochLength: bigint,
  unbondingPeriod: bigint,
  challengeSlashWindow: bigint,
): ScoreGameArgs {
  const preferred = defaultScoreGameArgs(epochLength);
  const room = unbondingPeriod - challengeSlashWindow - 1n;
  const needs = (a: ScoreGameArgs) => a.openWindow + SCORE_GAME_MOVES * a.moveTimeout;
  if (needs(preferred) <= room) return preferred;
  const openWindow = room / 3n < preferred.openWindow ? room / 3n : preferred.openWindow;
  const moveTimeout = openWindow > 0n ? (room - openWindow) / SCORE_GAME_MOVES : 0n;
  if (openWindow >= 60n && moveTimeout >= 60n)
    return { ...preferred, openWindow, moveTimeout: moveTimeout > 600n ? 600n : moveTimeout };
  return { ...preferred, slashFraction: 0n };
}

/**
 * Deploys the ScoreGame over a JobRegistry and its InferenceDisputeGame (host: the score game),
 * binds them, lets the score game slash (`ROLES.SLASHER`) as a slash source of Staking (whose
 * unbonding period must outlast its `slashWindow()`: Staking refuses it otherwise), and wires it
 * into the JobRegistry (`setScoreGame`: the deployer must hold GOVERNOR).
 */
export async function deployScoreGame(
  viem: HardhatViemHelpers,
  d: {
    manager: { address: Address };
    staking: { address: Address };
    jobs: { address: Address };
    token?: { address: Address };
  },
  args: ScoreGameArgs,
) {
  const staking = await viem.getContractAt("Staking", d.staking.address);
  const token = d.token?.address ?? (await staking.read.token());
  const game = await viem.deployContract("ScoreGame", [
    token,
    d.jobs.address,
    d.staking.address,
    args.moveTimeout,
    args.bond,
    args.slashFraction,
    args.openWindow,
  ]);
  const inference = await viem.deployContract("InferenceDisputeGame", [
    token,
    game.address,
    args.moveTimeout,
    args.inferenceBond,
  ]);
  await game.write.bind([inference.address]);
  const manager = await viem.getContractAt("PoAIAccessManager", d.manager.address);
  await manager.write.grantRole([ROLES.SLASHER, game.address, 0]);
  await staking.write.addSlashSource([game.address]);
  const jobs = await viem.getContractAt("JobRegistry", d.jobs.address);
  await jobs.write.setScoreGame([game.address]);
  return { scoreGame: game, scoreInference: inference };
}
