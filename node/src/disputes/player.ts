/**
 * The game player a daemon plays its dispute games with (docs/disputes.md, "Daemons"): for one
 * game and one role it reads the game, computes the one move the game asks of this account with
 * the SDK (`nextDisputeMove`, from the daemon's {@link StateSource}: the defender's own run, the
 * challenger's replay), **writes the move to the daemon's database before sending it**
 * (`DisputeStore`), sends it and waits for its receipt, until the game waits for the other party
 * or is resolved. Once the other party's deadline has passed it claims the win (`timeout`).
 *
 * Crash safety: on every call the player first settles the last move on disk. A move whose
 * receipt is on chain is closed; one whose game state is still the one it answered never landed,
 * and exactly its stored calldata is sent again (never a newly computed move); one whose game
 * moved on is closed as landed. So a daemon killed after writing a move, before or after sending
 * it, resumes where it stopped and never sends two different moves for one state.
 *
 * Deadlines: the player moves as soon as a tick finds it is its turn (a move takes one
 * transaction), so it misses no deadline while the chain is reachable and the daemon ticks well
 * within `moveTimeout`; a turn found with less than `warnSeconds` left is logged as a warning and
 * flagged in `status()` (served in the daemons' `/status`).
 */
import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  encodeFunctionData,
  zeroAddress,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import { getBlock, getTransaction, getTransactionReceipt, waitForTransactionReceipt } from "viem/actions";
import {
  disputeGameAbi,
  disputeGameAddress,
  encodeInferenceGameMove,
  getInferenceGame,
  getDispute,
  inferenceGameAddress,
  nextDisputeMove,
  nextInferenceGameMove,
  type DisputeMove,
  type DisputeView,
  type InferenceGameState,
  type PoAIContext,
} from "@poai/sdk";
import type { InferenceSource, SampledStep, StateSource } from "@poai/sdk/compute";
import { sendContractTransaction } from "@poai/sdk";
import type { Logger } from "../daemon/log.js";
import type { DisputeRole, DisputeStore, MoveRecord } from "./store.js";

/** Default of `warnSeconds`: a turn found with less than this left is flagged. */
export const DEFAULT_DEADLINE_WARN_SECONDS = 300;
/** Moves one `play` call sends at most (a game has at most `DisputeGame.MAX_MOVES`). */
const MAX_MOVES_PER_CALL = 200;

/** The game state a move answers: a move is the answer to exactly one such state. */
export function stateKey(view: DisputeView): string {
  return [
    view.phase,
    view.deadline,
    view.lo,
    view.hi,
    view.slot,
    view.height,
    view.node,
    view.offset,
    view.cLo,
    view.cHi,
    view.pending,
  ].join(":");
}

/** What the player reads of any game: its phase, who moves, by when, who won. */
export interface PlayedView {
  id: bigint;
  phase: string;
  mover: Address;
  deadline: bigint;
  winner: Address;
}

/**
 * One kind of game the player plays: where it lives, how its state is read, which state a move
 * answers, and the move a party computes from its source. {@link TRAINING_GAME} (DisputeGame) and
 * {@link INFERENCE_GAME} (InferenceDisputeGame) share every other line of the player.
 */
export interface GameKind<V extends PlayedView, S> {
  /** In logs and errors: `dispute`, `inference game`. */
  readonly name: string;
  address(ctx: PoAIContext): Address | Promise<Address>;
  read(ctx: PoAIContext, id: bigint): Promise<V>;
  /** The game state a move answers. */
  key(view: V): string;
  move(ctx: PoAIContext, view: V, source: S, me: Address): Promise<DisputeMove | null>;
  encode(move: DisputeMove): Hex;
  /**
   * Whether a party may let its turn pass: a null move then waits (the other party claims the
   * timeout) instead of failing. A score game's challenger whose own prediction is the trainer's
   * lets the example stand.
   */
  readonly mayPass?: boolean;
}

/**
 * What a party of a training game plays from: its states (the defender's run, a challenger's
 * replay), or, for the challenger of a game opened at a sampled step, the sample's answer.
 */
export type TrainingSource = StateSource | SampledStep;

/** The training game (DisputeGame), played from a {@link TrainingSource}. */
export const TRAINING_GAME: GameKind<DisputeView, TrainingSource> = {
  name: "dispute",
  address: disputeGameAddress,
  read: (ctx, id) => getDispute(ctx, { id }),
  key: stateKey,
  move: (ctx, view, source, me) => nextDisputeMove(ctx, view, source, me),
  encode: (move) =>
    encodeFunctionData({
      abi: disputeGameAbi,
      functionName: move.functionName,
      args: move.args,
    } as Parameters<typeof encodeFunctionData>[0]),
};

/** The game state an inference game's move answers. */
export function inferenceStateKey(view: InferenceGameState): string {
  return [
    view.phase,
    view.deadline,
    view.slot,
    view.height,
    view.node,
    view.offset,
    view.cLo,
    view.cHi,
    view.pending,
  ].join(":");
}

/** The inference game (InferenceDisputeGame), played from an {@link InferenceSource}. */
export const INFERENCE_GAME: GameKind<InferenceGameState, InferenceSource> = {
  name: "inference game",
  address: inferenceGameAddress,
  read: (ctx, id) => getInferenceGame(ctx, { id }),
  key: inferenceStateKey,
  move: async (_ctx, view, source, me) => nextInferenceGameMove(view, source, me),
  encode: (move) => encodeInferenceGameMove(move as Parameters<typeof encodeInferenceGameMove>[0]),
};

/** Where one game stands, as `/status` shows it. */
export interface GameStatus {
  gameId: string;
  role: DisputeRole;
  challengeId: string | undefined;
  phase: string;
  /** Whether the game waits for this daemon's move. */
  myTurn: boolean;
  /** The deadline of the party to move (chain time, seconds). */
  deadline: string;
  secondsLeft: number;
  /** This daemon's turn with less than `warnSeconds` left. */
  deadlineNear: boolean;
  movesSent: number;
  /** This daemon's moves, in order (their function names). */
  moves: string[];
  winner?: string;
}

/** What one `play` call did. */
export interface PlayOutcome {
  /** `resolved`: the game is over; `waiting`: the other party is to move. */
  state: "resolved" | "waiting";
  winner?: Address;
  /** Moves sent (or sent again) by this call. */
  sent: number;
}

/** Test and operator hooks around a move (a crash can be simulated by throwing from one). */
export interface PlayerHooks {
  /** After a move is on disk, before it is sent. */
  afterPersist?(move: MoveRecord): void | Promise<void>;
  /** After a move was sent (its hash on disk), before its receipt. */
  afterSend?(move: MoveRecord, hash: Hash): void | Promise<void>;
}

export interface DisputePlayerOptions<V extends PlayedView = DisputeView, S = TrainingSource> {
  /** The kind of game played; default the training game. */
  kind?: GameKind<V, S>;
  /** The daemon's context, with the wallet of the account that plays. */
  ctx: PoAIContext;
  /** The account that plays (the challenger's or the defender's). */
  account: Address;
  store: DisputeStore;
  log: Logger;
  warnSeconds?: number;
  hooks?: PlayerHooks;
  /** Budget of waiting for one receipt; default 120 s. */
  receiptTimeoutMs?: number;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class DisputePlayer<V extends PlayedView = DisputeView, S = TrainingSource> {
  private readonly statuses = new Map<string, GameStatus>();
  private readonly kind: GameKind<V, S>;
  readonly warnSeconds: number;
  /** Hooks around each move (tests simulate a kill by throwing from one). */
  hooks: PlayerHooks;

  constructor(private readonly o: DisputePlayerOptions<V, S>) {
    this.kind = o.kind ?? (TRAINING_GAME as unknown as GameKind<V, S>);
    this.warnSeconds = o.warnSeconds ?? DEFAULT_DEADLINE_WARN_SECONDS;
    this.hooks = o.hooks ?? {};
  }

  /** Where the daemon's games stand (the open ones, and those resolved since it started). */
  status(): GameStatus[] {
    return [...this.statuses.values()];
  }

  /**
   * Plays game `gameId` (recorded with `store.addGame`) until it waits for the other party or is
   * resolved. `source` is asked for only when the game needs a computed move.
   */
  async play(gameId: bigint, source: () => S | Promise<S>, signal?: AbortSignal): Promise<PlayOutcome> {
    const { ctx, store, log } = this.o;
    const record = store.game(gameId);
    const kind = this.kind;
    if (!record) throw new Error(`${kind.name} ${gameId} is not recorded in this daemon's database`);
    const me = this.o.account;
    let sent = 0;
    let src: S | undefined;
    for (let i = 0; i < MAX_MOVES_PER_CALL; i++) {
      signal?.throwIfAborted();
      const view = await kind.read(ctx, gameId);
      const now = (await getBlock(ctx.publicClient, { blockTag: "latest" })).timestamp;
      this.note(record.role, record.challengeId, view, now);
      if (view.phase === "Resolved") {
        const won = same(view.winner, me);
        if (record.state === "playing") {
          store.resolveGame(gameId, won ? "won" : "lost", view.winner);
          log.info({ game: gameId, winner: view.winner, won }, won ? "dispute won" : "dispute lost");
        }
        return { state: "resolved", winner: view.winner, sent };
      }
      const key = kind.key(view);
      // 1. the last move on disk first: settled, sent again unchanged, or closed as landed
      const last = store.lastMove(gameId);
      if (last && (last.status === "persisted" || last.status === "sent")) {
        const settled = await this.settle(last);
        if (settled) continue;
        if (last.answers === key) {
          log.warn(
            { game: gameId, move: last.move, function: last.functionName },
            "sending a stored move again: it never landed",
          );
          await this.send(last);
          sent++;
          continue;
        }
        store.updateMove(gameId, last.move, { status: "landed" });
        continue;
      }
      // 2. this account's turn: compute, persist, send
      if (same(view.mover, me)) {
        const left = Number(view.deadline - now);
        if (left < 0) {
          // too late: the move would revert; the other party claims the timeout
          log.error({ game: gameId, phase: view.phase, deadline: view.deadline }, "dispute deadline missed");
          return { state: "waiting", sent };
        }
        if (left < this.warnSeconds)
          log.warn({ game: gameId, phase: view.phase, secondsLeft: left }, "dispute deadline near");
        src ??= await source();
        const move = await kind.move(ctx, view, src, me);
        if (!move && kind.mayPass) {
          log.info({ game: gameId, phase: view.phase }, `${kind.name}: this party lets its turn pass`);
          return { state: "waiting", sent };
        }
        if (!move) throw new Error(`${kind.name} ${gameId}: no move computed in phase ${view.phase}`);
        await this.persistAndSend(gameId, view, key, move);
        sent++;
        continue;
      }
      // 3. the other party's turn: past its deadline the win is claimed
      if (!same(view.mover, zeroAddress) && now > view.deadline) {
        log.info({ game: gameId, phase: view.phase, deadline: view.deadline }, "claiming a timeout win");
        await this.persistAndSend(gameId, view, key, { functionName: "timeout", args: [gameId] });
        sent++;
        continue;
      }
      return { state: "waiting", sent };
    }
    throw new Error(`${kind.name} ${gameId}: more than ${MAX_MOVES_PER_CALL} moves in one call`);
  }

  private note(role: DisputeRole, challengeId: Hex | undefined, view: V, now: bigint) {
    const myTurn = same(view.mover, this.o.account);
    const sent = this.o.store.moves(view.id).filter((m) => m.status !== "reverted");
    const left = Number(view.deadline - now);
    this.statuses.set(view.id.toString(), {
      gameId: view.id.toString(),
      role,
      challengeId,
      phase: view.phase,
      myTurn,
      deadline: view.deadline.toString(),
      secondsLeft: view.phase === "Resolved" ? 0 : left,
      deadlineNear: myTurn && left < this.warnSeconds,
      movesSent: sent.length,
      moves: sent.map((m) => m.functionName),
      ...(view.phase === "Resolved" && { winner: view.winner }),
    });
  }

  private async persistAndSend(gameId: bigint, view: V, key: string, move: DisputeMove) {
    const calldata = this.kind.encode(move);
    const n = this.o.store.persistMove(gameId, {
      phase: view.phase,
      answers: key,
      functionName: move.functionName,
      calldata,
    });
    const stored = this.o.store.lastMove(gameId)!;
    if (stored.move !== n) throw new Error(`${this.kind.name} ${gameId}: move ${n} was not stored`);
    await this.hooks.afterPersist?.(stored);
    await this.send(stored);
  }

  /** Sends a stored move's calldata, records its hash, waits for its receipt and records it. */
  private async send(m: MoveRecord): Promise<void> {
    const { ctx, store } = this.o;
    const hash = await sendContractTransaction(ctx, {
      to: await this.kind.address(ctx),
      data: m.calldata,
      functionName: m.functionName,
    });
    store.updateMove(m.gameId, m.move, { status: "sent", txHash: hash });
    await this.hooks.afterSend?.(m, hash);
    const receipt = await waitForTransactionReceipt(ctx.publicClient, {
      hash,
      timeout: this.o.receiptTimeoutMs ?? 120_000,
    });
    store.updateMove(m.gameId, m.move, {
      status: receipt.status === "success" ? "mined" : "reverted",
      gasUsed: receipt.gasUsed,
    });
    this.o.log.info(
      {
        game: m.gameId,
        move: m.move,
        phase: m.phase,
        function: m.functionName,
        tx: hash,
        gasUsed: receipt.gasUsed,
      },
      receipt.status === "success" ? "dispute move mined" : "dispute move reverted",
    );
  }

  /** Settles a move sent before (its receipt, or its transaction still pending). True if settled. */
  private async settle(m: MoveRecord): Promise<boolean> {
    if (!m.txHash) return false;
    const { ctx, store } = this.o;
    try {
      const receipt = await getTransactionReceipt(ctx.publicClient, { hash: m.txHash });
      store.updateMove(m.gameId, m.move, {
        status: receipt.status === "success" ? "mined" : "reverted",
        gasUsed: receipt.gasUsed,
      });
      return true;
    } catch (err) {
      if (!(err instanceof TransactionReceiptNotFoundError)) throw err;
    }
    try {
      await getTransaction(ctx.publicClient, { hash: m.txHash });
    } catch (err) {
      if (err instanceof TransactionNotFoundError) return false; // dropped: decided by the game state
      throw err;
    }
    const receipt = await waitForTransactionReceipt(ctx.publicClient, {
      hash: m.txHash,
      timeout: this.o.receiptTimeoutMs ?? 120_000,
    });
    store.updateMove(m.gameId, m.move, {
      status: receipt.status === "success" ? "mined" : "reverted",
      gasUsed: receipt.gasUsed,
    });
    return true;
  }
}
