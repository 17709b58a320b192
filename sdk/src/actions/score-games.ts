/**
 * ScoreGame actions: a job run's reported held-out accuracy disputed by bisection over the
 * held-out examples down to one example, whose prediction an inference game decides
 * (docs/disputes.md, "Score games"). A job completes with a run's reported accuracy only once the
 * game's window after the run's judgment has passed with no game pending and none won against it.
 *
 * - **Challengers** (anyone but the trainer, within `openUntil`): approve the game's `bond` to the
 *   ScoreGame (and the inference game's bond to `inference()`, in case the prediction is disputed),
 *   `openScoreGame` with the run's final leaf, then `playScoreGame` with their own evaluation of the
 *   final checkpoint as the source.
 * - **Trainers** (the defender): `playScoreGame` with the evaluation they committed; the first move
 *   posts the count and the trainer's bond (approved to the ScoreGame; the inference game's bond to
 *   `inference()` if the prediction is disputed).
 * - **Anyone**: `getScoreGame`, `getScoreStanding`, `timeoutScoreGame` once the party to move let
 *   its deadline pass.
 *
 * The game's address is `deployment.contracts.scoreGame`, else the JobRegistry's `scoreGame()`.
 */
import { encodeFunctionData, parseEventLogs, type Address, type Hash, type Hex, type Log } from "viem";
import { getBlock, getContractEvents, readContract, waitForTransactionReceipt } from "viem/actions";
import { jobRegistryAbi, scoreGameAbi } from "../abi/index.js";
import type { InferenceSource } from "../compute/state/inference-game.js";
import {
  SCORE_PHASES,
  scoreMove,
  type ScoreGameView,
  type ScoreMove,
  type ScorePhase,
  type ScoreSource,
} from "../compute/state/score-game.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkBytes32, checkUint } from "../validate.js";
import { playInferenceGame, type InferenceMoveRecord } from "./inference-disputes.js";
import { jobRegistryAddress } from "./jobs.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** A score game's state, decoded, with what its next move depends on. */
export interface ScoreGameState extends ScoreGameView {
  challengeId: Hex;
  challenger: Address;
  /** The trainer whose reported accuracy is disputed. */
  trainer: Address;
  /** Who must move (zero once resolved, and while the inference game decides). */
  mover: Address;
  deadline: bigint;
  winner: Address;
  reportedScoreBps: number;
  widths: readonly number[];
  /** The inference game deciding the disputed prediction (0 before). */
  inferenceId: bigint;
}

/** The ScoreGame's address: the deployment's, else the JobRegistry's `scoreGame()`. */
export async function scoreGameAddress(ctx: PoAIContext): Promise<Address> {
  const known = ctx.deployment.contracts.scoreGame;
  if (known) return known;
  const jobs = jobRegistryAddress(ctx);
  const game = await readContract(ctx.publicClient, {
    address: jobs,
    abi: jobRegistryAbi,
    functionName: "scoreGame",
  });
  if (game === ZERO)
    throw new PoAIInputError(
      "deployment.contracts.scoreGame",
      undefined,
      `the ScoreGame's address (the JobRegistry ${jobs} has no score game set)`,
    );
  return game;
}

/** Game `id`'s state; in `Dispute`, with the output scores the trainer posted (`ExampleProven`). */
export async function getScoreGame(
  ctx: PoAIContext,
  args: { id: bigint | number; address?: Address },
): Promise<ScoreGameState> {
  const id = checkUint("id", args.id, 1n, 2n ** 64n);
  const address = args.address ?? (await scoreGameAddress(ctx));
  const [g, mover] = await read(address, "gameOf", () =>
    Promise.all([
      readContract(ctx.publicClient, { address, abi: scoreGameAbi, functionName: "gameOf", args: [id] }),
      readContract(ctx.publicClient, { address, abi: scoreGameAbi, functionName: "moverOf", args: [id] }),
    ]),
  );
  if (g.phase === 0) throw new PoAIInputError("id", id, "the id of an opened score game");
  const phase = SCORE_PHASES[g.phase];
  let output: Hex | undefined;
  if (phase === "Dispute" || phase === "Inference") {
    const logs = await getContractEvents(ctx.publicClient, {
      address,
      abi: scoreGameAbi,
      eventName: "ExampleProven",
      args: { id },
      fromBlock: ctx.deployment.deployBlock ?? 0n,
    });
    output = logs.at(-1)?.args.output;
  }
  return {
    id,
    phase,
    lo: g.lo,
    hi: g.hi,
    count: g.count,
    left: g.left,
    evalSize: g.evalSize,
    prediction: g.prediction,
    ...(output !== undefined && { output }),
    challengeId: g.challengeId,
    challenger: g.challenger,
    trainer: g.trainer,
    mover,
    deadline: g.deadline,
    winner: g.winner,
    reportedScoreBps: g.reportedScoreBps,
    widths: [...g.widths],
    inferenceId: g.inferenceId,
  };
}

/** The games on `challengeId`'s reported accuracy still pending, whether one disproved it, and
 *  until when a game may be opened (0: not a judged job run). */
export async function getScoreStanding(
  ctx: PoAIContext,
  args: { challengeId: Hex },
): Promise<{ pending: number; disproven: boolean; openUntil: bigint }> {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  const address = await scoreGameAddress(ctx);
  const [[pending, disproven], openUntil] = await read(address, "standing", () =>
    Promise.all([
      readContract(ctx.publicClient, {
        address,
        abi: scoreGameAbi,
        functionName: "standing",
        args: [challengeId],
      }),
      readContract(ctx.publicClient, {
        address,
        abi: scoreGameAbi,
        functionName: "openUntil",
        args: [challengeId],
      }),
    ]),
  );
  return { pending, disproven, openUntil };
}

/** A run's final leaf and its proof under the run's committed root (`commit(run).proof(last)`). */
export interface FinalLeafProof {
  weightsHash: Hex;
  parameterRoot: Hex;
  /** The leaf's fourth word: the evaluation root of an operation-sampling run, else zero. */
  evalRoot: Hex;
  proof: Hex[];
}

/** The calldata of `ScoreGame.open`. */
export function encodeOpenScoreGame(challengeId: Hex, final: FinalLeafProof): Hex {
  return encodeFunctionData({
    abi: scoreGameAbi,
    functionName: "open",
    args: [
      checkBytes32("challengeId", challengeId),
      {
        weightsHash: checkBytes32("final.weightsHash", final.weightsHash),
        parameterRoot: checkBytes32("final.parameterRoot", final.parameterRoot),
        evalRoot: checkBytes32("final.evalRoot", final.evalRoot),
        proof: final.proof.map((p, i) => checkBytes32(`final.proof[${i}]`, p)),
      },
    ],
  });
}

/**
 * Opens a game on the accuracy job run `challengeId` reports (`ScoreGame.open`): the sender is the
 * challenger and must have approved the game's `bond` to it. The game's id is in the receipt's
 * `GameOpened` event (`scoreGamesFromLogs`).
 */
export async function openScoreGame(
  ctx: PoAIContext,
  args: { challengeId: Hex; final: FinalLeafProof } & WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: await scoreGameAddress(ctx),
    data: encodeOpenScoreGame(args.challengeId, args.final),
    functionName: "open",
    ...(args.account !== undefined && { account: args.account }),
  });
}

/** A game opened, from the ScoreGame's `GameOpened` event. */
export interface ScoreGameOpened {
  gameId: bigint;
  challengeId: Hex;
  challenger: Address;
  trainer: Address;
  reportedScoreBps: number;
  blockNumber: bigint;
}

/** The games opened in `logs` (a receipt's, or any). */
export function scoreGamesFromLogs(logs: readonly Log[]): ScoreGameOpened[] {
  return parseEventLogs({ abi: scoreGameAbi, eventName: "GameOpened", logs: [...logs] }).map((l) => ({
    gameId: l.args.id,
    challengeId: l.args.challengeId,
    challenger: l.args.challenger,
    trainer: l.args.trainer,
    reportedScoreBps: l.args.reportedScoreBps,
    blockNumber: l.blockNumber ?? 0n,
  }));
}

/** Games opened (on `challengeId`'s run, when given) in a block range. */
export async function getScoreGamesOpened(
  ctx: PoAIContext,
  args: { challengeId?: Hex; fromBlock?: bigint; toBlock?: bigint } = {},
): Promise<ScoreGameOpened[]> {
  const logs = await getContractEvents(ctx.publicClient, {
    address: await scoreGameAddress(ctx),
    abi: scoreGameAbi,
    eventName: "GameOpened",
    ...(args.challengeId !== undefined && {
      args: { challengeId: checkBytes32("challengeId", args.challengeId) },
    }),
    fromBlock: args.fromBlock ?? ctx.deployment.deployBlock ?? 0n,
    ...(args.toBlock !== undefined && { toBlock: args.toBlock }),
  });
  return scoreGamesFromLogs(logs);
}

type ScoreCall = ScoreMove | { functionName: "timeout" | "syncInference"; args: [bigint] };

/** The calldata of a move (or of `timeout`, `syncInference`) to the ScoreGame. */
export function encodeScoreGameMove(move: ScoreCall): Hex {
  return encodeFunctionData({
    abi: scoreGameAbi,
    functionName: move.functionName,
    args: move.args,
  } as Parameters<typeof encodeFunctionData>[0]);
}

/** Sends one move of a score game. */
export async function sendScoreGameMove(
  ctx: PoAIContext,
  move: ScoreCall,
  options: WriteOptions & { address?: Address } = {},
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: options.address ?? (await scoreGameAddress(ctx)),
    data: encodeScoreGameMove(move),
    functionName: move.functionName,
    ...(options.account !== undefined && { account: options.account }),
  });
}

/** Resolves a score game whose party to move let its deadline pass. */
export async function timeoutScoreGame(ctx: PoAIContext, args: { id: bigint } & WriteOptions): Promise<Hash> {
  return sendScoreGameMove(ctx, { functionName: "timeout", args: [args.id] }, args);
}

/** What `playScoreGame` reports after each of its moves. */
export interface ScoreMoveRecord {
  phase: ScorePhase | "inference";
  functionName: string;
  hash: Hash;
  gasUsed: bigint;
}

/**
 * Plays score game `id` for the sender until it is resolved: every move the game asks of it,
 * computed from `source`; the other party's silence past its deadline is claimed with `timeout`.
 * When the prediction is disputed, plays the inference game too, from `inference(example)` (the
 * party's own forward pass of the final checkpoint on the example: `new InferenceStates(widths,
 * checkpoint, input)`). A challenger whose own prediction is the trainer's lets the example stand
 * and waits. `beforeSend` runs before each move is sent (persist it there).
 */
export async function playScoreGame(
  ctx: PoAIContext,
  args: {
    id: bigint;
    source: ScoreSource;
    inference: (example: number, input: Uint8Array) => InferenceSource;
    pollMs?: number;
    beforeSend?: (move: ScoreCall) => Promise<void> | void;
  } & WriteOptions,
): Promise<{ winner: Address; moves: ScoreMoveRecord[] }> {
  const { account } = requireSigner(ctx, "playScoreGame", args.account);
  const me = senderAddress(account).toLowerCase();
  const address = await scoreGameAddress(ctx);
  const moves: ScoreMoveRecord[] = [];
  const wait = () => new Promise((resolve) => setTimeout(resolve, args.pollMs ?? 1000));
  for (;;) {
    const state = await getScoreGame(ctx, { id: args.id, address });
    if (state.phase === "Resolved") return { winner: state.winner, moves };
    if (state.phase === "Inference") {
      const inferenceAddress = await readContract(ctx.publicClient, {
        address,
        abi: scoreGameAbi,
        functionName: "inference",
      });
      const input = args.source.inference(state.lo).input;
      const played = await playInferenceGame(ctx, {
        id: state.inferenceId,
        address: inferenceAddress,
        source: args.inference(state.lo, input),
        ...(args.pollMs !== undefined && { pollMs: args.pollMs }),
        ...(args.beforeSend && { beforeSend: args.beforeSend as never }),
        account,
      });
      moves.push(...played.moves.map((m: InferenceMoveRecord) => ({ ...m, phase: "inference" as const })));
      // the inference game called back; if it could not, anyone resolves the score game from it
      const after = await getScoreGame(ctx, { id: args.id, address });
      if (after.phase === "Inference")
        await sendScoreGameMove(
          ctx,
          { functionName: "syncInference", args: [args.id] },
          { account, address },
        );
      continue;
    }
    let move: ScoreCall | null = state.mover.toLowerCase() === me ? scoreMove(state, args.source) : null;
    if (!move && (await getBlock(ctx.publicClient)).timestamp > state.deadline)
      move = { functionName: "timeout", args: [args.id] };
    if (!move) {
      await wait();
      continue;
    }
    await args.beforeSend?.(move);
    const hash = await sendScoreGameMove(ctx, move, { account, address });
    const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
    if (receipt.status !== "success") throw new Error(`score game ${args.id}: ${move.functionName} reverted`);
    moves.push({ phase: state.phase, functionName: move.functionName, hash, gasUsed: receipt.gasUsed });
  }
}
