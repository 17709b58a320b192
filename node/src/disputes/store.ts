/**
 * Where a daemon keeps the dispute games it plays, in its own SQLite database (the tables below
 * are one migration of the trainer's and the validator's schema, `DISPUTE_TABLES`).
 *
 * Crash rules: a move is written (calldata, and the game state it answers) **before** it is sent,
 * and its transaction hash right after; after a restart the player compares the game's state on
 * chain with the state the move answered: the same state means the move never landed and exactly
 * that calldata is sent again, another state means it landed (or was overtaken) and it is closed.
 * An opening is written before it is sent in the same way, keyed by the challenge it disputes.
 */
import type { Address, Hash, Hex } from "viem";
import { transaction, type Database } from "../daemon/sqlite.js";

/**
 * The SQL of one set of dispute tables, named `<prefix>_games`, `<prefix>_moves`, `<prefix>_meta`
 * and `<prefix>_opens`: one migration of a daemon's schema. The training games' tables are
 * `dispute_*` ({@link DISPUTE_TABLES}), the inference games' `inference_*`
 * ({@link INFERENCE_DISPUTE_TABLES}): the two games number their games independently.
 */
export function disputeTables(prefix: DisputePrefix): string {
  return `
  CREATE TABLE ${prefix}_games (
    game_id      TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    challenge_id TEXT,
    segment      INTEGER,
    state        TEXT NOT NULL,
    winner       TEXT,
    note         TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE TABLE ${prefix}_moves (
    game_id   TEXT NOT NULL,
    move      INTEGER NOT NULL,
    phase     TEXT NOT NULL,
    answers   TEXT NOT NULL,
    function  TEXT NOT NULL,
    calldata  TEXT NOT NULL,
    tx_hash   TEXT,
    status    TEXT NOT NULL,
    gas_used  TEXT,
    sent_at   INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (game_id, move)
  );
  CREATE TABLE ${prefix}_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE ${prefix}_opens (
    challenge_id TEXT PRIMARY KEY,
    segment      INTEGER NOT NULL,
    calldata     TEXT NOT NULL,
    tx_hash      TEXT,
    status       TEXT NOT NULL,
    game_id      TEXT,
    note         TEXT,
    updated_at   INTEGER NOT NULL
  );
`;
}

/**
 * The prefix of one set of dispute tables: the training games (`dispute`), the inference games of
 * the PoAIVerifier (`inference`), the score games (`score`) and the inference games a ScoreGame
 * hosts (`score_inference`, numbered by that game).
 */
export type DisputePrefix = "dispute" | "inference" | "score" | "score_inference";

/** The SQL of the score games' tables and of the inference games they host: one migration. */
export const SCORE_DISPUTE_TABLES = disputeTables("score") + disputeTables("score_inference");

/** The SQL of the training games' dispute tables: one migration of a daemon's schema. */
export const DISPUTE_TABLES = disputeTables("dispute");
/** The SQL of the inference games' dispute tables: one migration of the inference node's schema. */
export const INFERENCE_DISPUTE_TABLES = disputeTables("inference");

/**
 * The trainer's defences of its convicted runs (`DisputeGame.openDefence`): one row per challenge,
 * written before the opening is sent. A migration of the trainer's schema after `DISPUTE_TABLES`.
 */
export const DEFENCE_TABLES = `
  CREATE TABLE dispute_defences (
    challenge_id TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    tx_hash      TEXT,
    note         TEXT,
    updated_at   INTEGER NOT NULL
  );
`;

/**
 * A defence's life: `convicted` (the run's conviction found by its `ChallengeFinalized` event, to
 * be checked and opened), `persisted` (on disk, not sent), `sent` (its hash on disk), `open` (on chain,
 * seats being played), then `overruled` (settled: the conviction reversed), `failed` (a seat lost)
 * or `refused` (the chain refused the opening: the window closed, …).
 */
export type DefenceStatus = "convicted" | "persisted" | "sent" | "open" | "overruled" | "failed" | "refused";

export interface DefenceRecord {
  challengeId: Hex;
  status: DefenceStatus;
  txHash: Hash | undefined;
  note: string | undefined;
}

/** Which side of a game the daemon plays. */
export type DisputeRole = "challenger" | "defender";

/** Where a game stands for the daemon: being played, or resolved (won or lost). */
export type GameState = "playing" | "won" | "lost";

/**
 * A move's life: `persisted` (on disk, not sent), `sent` (its hash on disk), `mined` (its receipt
 * succeeded), `reverted`, or `landed` (the game moved past the state it answered without its
 * receipt being seen: sent before a crash that lost the hash, or overtaken).
 */
export type MoveStatus = "persisted" | "sent" | "mined" | "reverted" | "landed";

export interface GameRecord {
  gameId: bigint;
  role: DisputeRole;
  challengeId: Hex | undefined;
  segment: number | undefined;
  state: GameState;
  winner: Address | undefined;
  note: string | undefined;
}

export interface MoveRecord {
  gameId: bigint;
  /** 1, 2, … in the order this daemon made them. */
  move: number;
  phase: string;
  /** The game state the move answers (`stateKey` of the view it was computed from). */
  answers: string;
  functionName: string;
  calldata: Hex;
  txHash: Hash | undefined;
  status: MoveStatus;
  gasUsed: bigint | undefined;
}

export interface OpenRecord {
  challengeId: Hex;
  segment: number;
  calldata: Hex;
  txHash: Hash | undefined;
  /** `persisted`, `sent`, `opened` (the game id is known), `refused` (the chain refused it; `note` says why). */
  status: "persisted" | "sent" | "opened" | "refused";
  gameId: bigint | undefined;
  note: string | undefined;
}

type Row = Record<string, string | number | bigint | null | Uint8Array>;
const str = (v: Row[string] | undefined): string | undefined =>
  v === null || v === undefined ? undefined : String(v);

function toGame(r: Row): GameRecord {
  return {
    gameId: BigInt(String(r.game_id)),
    role: String(r.role) as DisputeRole,
    challengeId: str(r.challenge_id) as Hex | undefined,
    segment: r.segment === null ? undefined : Number(r.segment),
    state: String(r.state) as GameState,
    winner: str(r.winner) as Address | undefined,
    note: str(r.note),
  };
}

function toMove(r: Row): MoveRecord {
  return {
    gameId: BigInt(String(r.game_id)),
    move: Number(r.move),
    phase: String(r.phase),
    answers: String(r.answers),
    functionName: String(r.function),
    calldata: String(r.calldata) as Hex,
    txHash: str(r.tx_hash) as Hash | undefined,
    status: String(r.status) as MoveStatus,
    gasUsed: r.gas_used === null ? undefined : BigInt(String(r.gas_used)),
  };
}

function toOpen(r: Row): OpenRecord {
  return {
    challengeId: String(r.challenge_id) as Hex,
    segment: Number(r.segment),
    calldata: String(r.calldata) as Hex,
    txHash: str(r.tx_hash) as Hash | undefined,
    status: String(r.status) as OpenRecord["status"],
    gameId: r.game_id === null ? undefined : BigInt(String(r.game_id)),
    note: str(r.note),
  };
}

function toDefence(r: Row): DefenceRecord {
  return {
    challengeId: String(r.challenge_id) as Hex,
    status: String(r.status) as DefenceStatus,
    txHash: str(r.tx_hash) as Hash | undefined,
    note: str(r.note),
  };
}

/** The dispute tables of one daemon's database. */
export class DisputeStore {
  private readonly t: { games: string; moves: string; meta: string; opens: string };

  /** `prefix`: `dispute` for the training games' tables, `inference` for the inference games'. */
  constructor(
    private readonly db: Database,
    prefix: DisputePrefix = "dispute",
  ) {
    this.t = {
      games: `${prefix}_games`,
      moves: `${prefix}_moves`,
      meta: `${prefix}_meta`,
      opens: `${prefix}_opens`,
    };
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare(`SELECT value FROM ${this.t.meta} WHERE key = ?`).get(key) as Row | undefined;
    return r ? String(r.value) : undefined;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        `INSERT INTO ${this.t.meta} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      )
      .run(key, value);
  }

  // --- games ------------------------------------------------------------------------------------

  /** Records a game to play (ignored when it is known). */
  addGame(g: { gameId: bigint; role: DisputeRole; challengeId?: Hex; segment?: number }): void {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO ${this.t.games} (game_id, role, challenge_id, segment, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'playing', ?, ?) ON CONFLICT (game_id) DO NOTHING`,
      )
      .run(g.gameId.toString(), g.role, g.challengeId?.toLowerCase() ?? null, g.segment ?? null, now, now);
  }

  game(gameId: bigint): GameRecord | undefined {
    const r = this.db.prepare(`SELECT * FROM ${this.t.games} WHERE game_id = ?`).get(gameId.toString()) as
      Row | undefined;
    return r ? toGame(r) : undefined;
  }

  /** Games in `states` (all when omitted), oldest first. */
  games(states?: readonly GameState[]): GameRecord[] {
    const where = states ? ` WHERE state IN (${states.map(() => "?").join(", ")})` : "";
    return (
      this.db
        .prepare(`SELECT * FROM ${this.t.games}${where} ORDER BY created_at, CAST(game_id AS INTEGER)`)
        .all(...(states ?? [])) as Row[]
    ).map(toGame);
  }

  resolveGame(gameId: bigint, state: "won" | "lost", winner: Address, note?: string): void {
    this.db
      .prepare(`UPDATE ${this.t.games} SET state = ?, winner = ?, note = ?, updated_at = ? WHERE game_id = ?`)
      .run(state, winner, note ?? null, Date.now(), gameId.toString());
  }

  noteGame(gameId: bigint, note: string): void {
    this.db
      .prepare(`UPDATE ${this.t.games} SET note = ?, updated_at = ? WHERE game_id = ?`)
      .run(note.slice(0, 500), Date.now(), gameId.toString());
  }

  // --- moves ------------------------------------------------------------------------------------

  /** The game's moves, in order. */
  moves(gameId: bigint): MoveRecord[] {
    return (
      this.db
        .prepare(`SELECT * FROM ${this.t.moves} WHERE game_id = ? ORDER BY move`)
        .all(gameId.toString()) as Row[]
    ).map(toMove);
  }

  /** The game's last move, if any. */
  lastMove(gameId: bigint): MoveRecord | undefined {
    const r = this.db
      .prepare(`SELECT * FROM ${this.t.moves} WHERE game_id = ? ORDER BY move DESC LIMIT 1`)
      .get(gameId.toString()) as Row | undefined;
    return r ? toMove(r) : undefined;
  }

  /** Writes a move before it is sent; returns its number. */
  persistMove(
    gameId: bigint,
    m: { phase: string; answers: string; functionName: string; calldata: Hex },
  ): number {
    return transaction(this.db, () => {
      const last = this.lastMove(gameId);
      const move = (last?.move ?? 0) + 1;
      this.db
        .prepare(
          `INSERT INTO ${this.t.moves} (game_id, move, phase, answers, function, calldata, status, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 'persisted', ?)`,
        )
        .run(gameId.toString(), move, m.phase, m.answers, m.functionName, m.calldata, Date.now());
      return move;
    });
  }

  updateMove(
    gameId: bigint,
    move: number,
    changes: { status: MoveStatus; txHash?: Hash; gasUsed?: bigint },
  ): void {
    this.db
      .prepare(
        `UPDATE ${this.t.moves} SET status = ?, tx_hash = COALESCE(?, tx_hash), gas_used = COALESCE(?, gas_used),
         sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, updated_at = ? WHERE game_id = ? AND move = ?`,
      )
      .run(
        changes.status,
        changes.txHash ?? null,
        changes.gasUsed?.toString() ?? null,
        changes.status,
        Date.now(),
        Date.now(),
        gameId.toString(),
        move,
      );
  }

  // --- openings ---------------------------------------------------------------------------------

  open(challengeId: Hex): OpenRecord | undefined {
    const r = this.db
      .prepare(`SELECT * FROM ${this.t.opens} WHERE challenge_id = ?`)
      .get(challengeId.toLowerCase()) as Row | undefined;
    return r ? toOpen(r) : undefined;
  }

  opens(): OpenRecord[] {
    return (this.db.prepare(`SELECT * FROM ${this.t.opens} ORDER BY updated_at`).all() as Row[]).map(toOpen);
  }

  /** Writes an opening before it is sent. */
  persistOpen(challengeId: Hex, segment: number, calldata: Hex): void {
    this.db
      .prepare(
        `INSERT INTO ${this.t.opens} (challenge_id, segment, calldata, status, updated_at) VALUES (?, ?, ?, 'persisted', ?)
         ON CONFLICT (challenge_id) DO UPDATE SET segment = excluded.segment, calldata = excluded.calldata,
         status = 'persisted', tx_hash = NULL, note = NULL, updated_at = excluded.updated_at`,
      )
      .run(challengeId.toLowerCase(), segment, calldata, Date.now());
  }

  // --- defences (trainer) ------------------------------------------------------------------------

  defence(challengeId: Hex): DefenceRecord | undefined {
    const r = this.db
      .prepare("SELECT * FROM dispute_defences WHERE challenge_id = ?")
      .get(challengeId.toLowerCase()) as Row | undefined;
    return r ? toDefence(r) : undefined;
  }

  defences(): DefenceRecord[] {
    return (this.db.prepare("SELECT * FROM dispute_defences ORDER BY updated_at").all() as Row[]).map(
      toDefence,
    );
  }

  /** Writes (or moves on) the defence of `challengeId`; `persisted` is written before it is sent. */
  setDefence(challengeId: Hex, changes: { status: DefenceStatus; txHash?: Hash; note?: string }): void {
    this.db
      .prepare(
        `INSERT INTO dispute_defences (challenge_id, status, tx_hash, note, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (challenge_id) DO UPDATE SET status = excluded.status,
         tx_hash = COALESCE(excluded.tx_hash, tx_hash), note = COALESCE(excluded.note, note),
         updated_at = excluded.updated_at`,
      )
      .run(
        challengeId.toLowerCase(),
        changes.status,
        changes.txHash ?? null,
        changes.note?.slice(0, 500) ?? null,
        Date.now(),
      );
  }

  updateOpen(
    challengeId: Hex,
    changes: { status: OpenRecord["status"]; txHash?: Hash; gameId?: bigint; note?: string },
  ): void {
    this.db
      .prepare(
        `UPDATE ${this.t.opens} SET status = ?, tx_hash = COALESCE(?, tx_hash), game_id = COALESCE(?, game_id),
         note = COALESCE(?, note), updated_at = ? WHERE challenge_id = ?`,
      )
      .run(
        changes.status,
        changes.txHash ?? null,
        changes.gameId?.toString() ?? null,
        changes.note?.slice(0, 500) ?? null,
        Date.now(),
        challengeId.toLowerCase(),
      );
  }
}
