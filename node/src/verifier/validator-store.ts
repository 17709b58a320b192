/**
 * The validator daemon's state in one SQLite file: the event cursor, the challenges it saw and
 * where each stands, the verdicts it prepared (with their salts), its beacon secrets, and the
 * missed-deadline reports it checked.
 *
 * Crash rules: a verdict and a beacon secret are written (and fsync'ed: WAL with
 * `synchronous = FULL`) **before** the transaction that commits to them is sent, and the
 * transaction's hash is written right after it is sent; the daemon reads the chain before sending
 * anything again, so a crash at any point costs neither a reveal nor a second commitment.
 */
import type { Address, Hash, Hex } from "viem";
import type { PreparedBeaconCommit } from "@poai/sdk";
import type { PreparedVerdict } from "@poai/sdk";
import { openDatabase, probeDatabase, transaction, type Database } from "../daemon/sqlite.js";
import { DISPUTE_TABLES, DisputeStore, SCORE_DISPUTE_TABLES } from "../disputes/store.js";

/**
 * Where a challenge stands for this validator:
 * - `new`: its result was seen; waiting for the commit window of its audit round;
 * - `skipped`: nothing to do (not in the committee, or not open any more); `note` says why;
 * - `prepared`: the verdict and its salt are on disk; the commitment is not confirmed on chain;
 * - `committed`: the commitment is on chain; waiting for the reveal window;
 * - `revealed`: the reveal is on chain;
 * - `replayed`: its second-phase vote is on chain (after a member revealed `Invalid`);
 * - `expired`: the commit window closed before a commitment landed;
 * - `unrevealed`: the reveal window closed before a reveal landed.
 * Independently, `chainStatus` records the challenge's final status once known, `extension` the
 * rounds its committee was extended by (the windows above are those of round
 * `round + 1 + extension`; an extension sends a validator outside the committee back to `new`),
 * and `replay` this validator's second-phase vote once decided (after a member revealed
 * `Invalid`).
 */
export type ChallengeState =
  "new" | "skipped" | "prepared" | "committed" | "revealed" | "replayed" | "expired" | "unrevealed";

export const CHALLENGE_STATES: readonly ChallengeState[] = [
  "new",
  "skipped",
  "prepared",
  "committed",
  "revealed",
  "replayed",
  "expired",
  "unrevealed",
];

/** A submitted result as its `ResultSubmitted` event (or the challenge's view) gives it. */
export interface SubmittedResult {
  id: Hex;
  trainer: Address;
  round: number;
  root: Hex;
  reportedScoreBps: number;
  /** Block of its `ResultSubmitted` event (or of the event it was learnt from). */
  block: number;
  /** Rounds its committee was extended by when it was recorded; default 0. */
  extension?: number;
}

/** A challenge as the daemon tracks it. */
export interface ChallengeRecord extends Omit<SubmittedResult, "extension"> {
  state: ChallengeState;
  /** The verdict as prepared (with its salt), from `prepared` on. */
  verdict: PreparedVerdict | undefined;
  /** The audit's summary (JSON), when the daemon audited it. */
  audit: Record<string, unknown> | undefined;
  commitTx: Hash | undefined;
  revealTx: Hash | undefined;
  finalizeTx: Hash | undefined;
  /** The challenge's final on-chain status (`Valid`, `Fraud`, …) once known. */
  chainStatus: string | undefined;
  note: string | undefined;
  /** Audits that failed (engine or RPC errors), retried while the commit window is open. */
  failures: number;
  /** Rounds the committee was extended by, as last seen on chain. */
  extension: number;
  /** This validator's second-phase vote, once decided (stored before it is sent). */
  replay: ReplayDecision | undefined;
  replayTx: Hash | undefined;
}

/** A second-phase vote on the named segments, and why. */
export interface ReplayDecision {
  verdict: "Valid" | "Invalid" | "Unavailable";
  segment: number;
  segments: number[];
  reason?: string;
}

/** A beacon contribution as stored. */
export interface BeaconRecord extends PreparedBeaconCommit {
  committed: boolean;
  revealed: boolean;
  commitTx: Hash | undefined;
  revealTx: Hash | undefined;
}

const MIGRATIONS = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE challenges (
    id TEXT PRIMARY KEY,
    trainer TEXT NOT NULL,
    round INTEGER NOT NULL,
    root TEXT NOT NULL,
    reported_score_bps INTEGER NOT NULL,
    block INTEGER NOT NULL,
    state TEXT NOT NULL,
    verdict TEXT,
    audit TEXT,
    commit_tx TEXT,
    reveal_tx TEXT,
    finalize_tx TEXT,
    chain_status TEXT,
    note TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX challenges_open ON challenges (state, chain_status);
  CREATE TABLE beacon (
    round INTEGER PRIMARY KEY,
    validator TEXT NOT NULL,
    secret TEXT NOT NULL,
    commitment TEXT NOT NULL,
    committed INTEGER NOT NULL DEFAULT 0,
    revealed INTEGER NOT NULL DEFAULT 0,
    commit_tx TEXT,
    reveal_tx TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE missed (
    trainer TEXT NOT NULL,
    round INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    tx TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (trainer, round)
  );
  `,
  `
  ALTER TABLE challenges ADD COLUMN extension INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE challenges ADD COLUMN replay TEXT;
  ALTER TABLE challenges ADD COLUMN replay_tx TEXT;
  CREATE TABLE withholding (
    round INTEGER NOT NULL,
    validator TEXT NOT NULL,
    outcome TEXT NOT NULL,
    tx TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (round, validator)
  );
  `,
  DISPUTE_TABLES,
  // Scale: the operators are kept from the OperatorRegistered events (no paging through every
  // operator each tick), and a trainer's submission of a round is found by index, not by a scan.
  `
  CREATE INDEX challenges_trainer_round ON challenges (trainer, round);
  CREATE TABLE operators (address TEXT PRIMARY KEY, role INTEGER NOT NULL, block INTEGER NOT NULL);
  `,
  // Score games: the final checkpoint of a run whose reported accuracy is not the one this
  // validator measured (kept from its segment-replay audit), or the trainer's committed predictions
  // (from its operation-sampling audit: `checkpoint` empty), and the games it plays on it.
  SCORE_DISPUTE_TABLES +
    `
  CREATE TABLE score_evidence (
    challenge_id   TEXT PRIMARY KEY,
    spec_id        TEXT NOT NULL,
    seed           TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    measured_bps   INTEGER NOT NULL,
    reported_bps   INTEGER NOT NULL,
    checkpoint     BLOB NOT NULL,
    weights_hash   TEXT NOT NULL,
    parameter_root TEXT NOT NULL,
    eval_root      TEXT NOT NULL,
    proof          TEXT NOT NULL,
    predictions    BLOB,
    examples_root  TEXT,
    updated_at     INTEGER NOT NULL
  );
  `,
];

/**
 * What a validator keeps for a score game: the run's final leaf and the two accuracies, with the
 * final checkpoint's bytes (a segment-replay audit), or with the trainer's committed predictions
 * (int32 little-endian) and examples root (an operation-sampling audit; `checkpoint` empty).
 */
export interface ScoreEvidenceRecord {
  challengeId: Hex;
  specId: Hex;
  seed: Hex;
  endpoint: string;
  measuredBps: number;
  reportedBps: number;
  checkpoint: Uint8Array;
  final: { weightsHash: Hex; parameterRoot: Hex; evalRoot: Hex; proof: Hex[] };
  committed?: { predictions: Uint8Array; examplesRoot: Hex };
}

type Row = Record<string, string | number | bigint | null | Uint8Array>;

const str = (v: Row[string]): string | undefined => (v === null || v === undefined ? undefined : String(v));

function toChallenge(row: Row): ChallengeRecord {
  return {
    id: String(row.id) as Hex,
    trainer: String(row.trainer) as Address,
    round: Number(row.round),
    root: String(row.root) as Hex,
    reportedScoreBps: Number(row.reported_score_bps),
    block: Number(row.block),
    state: String(row.state) as ChallengeState,
    verdict: row.verdict === null ? undefined : (JSON.parse(String(row.verdict)) as PreparedVerdict),
    audit: row.audit === null ? undefined : (JSON.parse(String(row.audit)) as Record<string, unknown>),
    commitTx: str(row.commit_tx) as Hash | undefined,
    revealTx: str(row.reveal_tx) as Hash | undefined,
    finalizeTx: str(row.finalize_tx) as Hash | undefined,
    chainStatus: str(row.chain_status),
    note: str(row.note),
    failures: Number(row.failures),
    extension: Number(row.extension ?? 0),
    replay:
      row.replay === null || row.replay === undefined
        ? undefined
        : (JSON.parse(String(row.replay)) as ReplayDecision),
    replayTx: str(row.replay_tx) as Hash | undefined,
  };
}

function toBeacon(row: Row): BeaconRecord {
  return {
    round: Number(row.round),
    validator: String(row.validator) as Address,
    secret: String(row.secret) as Hex,
    commitment: String(row.commitment) as Hex,
    committed: Number(row.committed) === 1,
    revealed: Number(row.revealed) === 1,
    commitTx: str(row.commit_tx) as Hash | undefined,
    revealTx: str(row.reveal_tx) as Hash | undefined,
  };
}

/** Records (or updates) a settled missed-deadline check: trainer, round, outcome, tx, time. */
const UPSERT_MISSED = `INSERT INTO missed (trainer, round, outcome, tx, updated_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (trainer, round) DO UPDATE SET outcome = excluded.outcome, tx = excluded.tx,
  updated_at = excluded.updated_at`;

/** Records (or updates) a checked beacon contribution: round, validator, outcome, tx, time. */
const UPSERT_WITHHOLDING = `INSERT INTO withholding (round, validator, outcome, tx, updated_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (round, validator) DO UPDATE SET outcome = excluded.outcome, tx = excluded.tx,
  updated_at = excluded.updated_at`;

export class ValidatorStore {
  private constructor(private readonly db: Database) {
    this.disputes = new DisputeStore(db);
    this.scoreGames = new DisputeStore(db, "score");
    this.scoreInference = new DisputeStore(db, "score_inference");
  }

  /** The dispute games this validator opens and plays (same database). */
  readonly disputes: DisputeStore;
  /** The score games it opens and plays, and the inference games they host (same database). */
  readonly scoreGames: DisputeStore;
  readonly scoreInference: DisputeStore;

  /** Keeps a run's final checkpoint for a score game (replaces what was kept for it). */
  keepScoreEvidence(e: ScoreEvidenceRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO score_evidence (challenge_id, spec_id, seed, endpoint, measured_bps, reported_bps,
         checkpoint, weights_hash, parameter_root, eval_root, proof, predictions, examples_root, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.challengeId.toLowerCase(),
        e.specId,
        e.seed,
        e.endpoint,
        e.measuredBps,
        e.reportedBps,
        e.checkpoint,
        e.final.weightsHash,
        e.final.parameterRoot,
        e.final.evalRoot,
        JSON.stringify(e.final.proof),
        e.committed?.predictions ?? null,
        e.committed?.examplesRoot ?? null,
        Date.now(),
      );
  }

  /** The final checkpoints kept for score games, oldest first. */
  scoreEvidence(challengeId?: Hex): ScoreEvidenceRecord[] {
    const rows = (
      challengeId === undefined
        ? this.db.prepare("SELECT * FROM score_evidence ORDER BY updated_at").all()
        : this.db
            .prepare("SELECT * FROM score_evidence WHERE challenge_id = ?")
            .all(challengeId.toLowerCase())
    ) as Row[];
    return rows.map((r) => ({
      challengeId: String(r.challenge_id) as Hex,
      specId: String(r.spec_id) as Hex,
      seed: String(r.seed) as Hex,
      endpoint: String(r.endpoint),
      measuredBps: Number(r.measured_bps),
      reportedBps: Number(r.reported_bps),
      checkpoint: new Uint8Array(r.checkpoint as Uint8Array),
      final: {
        weightsHash: String(r.weights_hash) as Hex,
        parameterRoot: String(r.parameter_root) as Hex,
        evalRoot: String(r.eval_root) as Hex,
        proof: JSON.parse(String(r.proof)) as Hex[],
      },
      ...(r.predictions !== null &&
        r.predictions !== undefined && {
          committed: {
            predictions: new Uint8Array(r.predictions as Uint8Array),
            examplesRoot: String(r.examples_root) as Hex,
          },
        }),
    }));
  }

  /** Opens (or creates) the database at `path` and brings its schema up to date. */
  static open(path: string): ValidatorStore {
    return new ValidatorStore(openDatabase(path, MIGRATIONS));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  /** The health probe of `/healthz`: throws with the reason when the database cannot be written. */
  probe(): void {
    probeDatabase(this.db);
  }

  // --- meta -----------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
    return row ? String(row.value) : undefined;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  // --- challenges -----------------------------------------------------------------------------

  /**
   * Records the results of `round` this validator may audit (ignoring ones already known), marks
   * the round read (`resultRound`, the next round to read) and drops the round's block hints, in one
   * transaction. Returns how many were new.
   */
  recordRound(results: readonly SubmittedResult[], round: number): number {
    return transaction(this.db, () => {
      const added = this.insertChallenges(results);
      this.setMeta("resultRound", String(round + 1));
      // this round's hint, and those of rounds passed unread (their audit round was over)
      this.db
        .prepare("DELETE FROM meta WHERE key LIKE 'roundBlock:%' AND CAST(substr(key, 12) AS INTEGER) <= ?")
        .run(round);
      return added;
    });
  }

  /** The next round whose results are to be read (undefined before the first). */
  resultRound(): number | undefined {
    const v = this.getMeta("resultRound");
    return v === undefined ? undefined : Number(v);
  }

  /** A block at or before the first of `round`, noted when the daemon first saw the round. */
  roundBlock(round: number): bigint | undefined {
    const v = this.getMeta(`roundBlock:${round}`);
    return v === undefined ? undefined : BigInt(v);
  }

  /** Notes `block` as `round`'s hint, unless one is noted already. */
  noteRoundBlock(round: number, block: bigint): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
      .run(`roundBlock:${round}`, block.toString());
  }

  private insertChallenges(results: readonly SubmittedResult[], state: ChallengeState = "new"): number {
    const insert = this.db.prepare(
      `INSERT INTO challenges (id, trainer, round, root, reported_score_bps, block, state, extension, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    let added = 0;
    for (const r of results) {
      const info = insert.run(
        r.id.toLowerCase(),
        r.trainer,
        r.round,
        r.root,
        r.reportedScoreBps,
        r.block,
        state,
        r.extension ?? 0,
        Date.now(),
      );
      added += Number(info.changes);
    }
    return added;
  }

  /**
   * Records challenges learnt from their committee's extension (a validator reads a round's results
   * only when it is in that round's pool, so an extended committee may draw it for a challenge it
   * never recorded). Returns how many were new.
   */
  recordExtended(results: readonly SubmittedResult[]): number {
    return transaction(this.db, () => this.insertChallenges(results));
  }

  getChallenge(id: Hex): ChallengeRecord | undefined {
    const row = this.db.prepare("SELECT * FROM challenges WHERE id = ?").get(id.toLowerCase()) as
      Row | undefined;
    return row ? toChallenge(row) : undefined;
  }

  /** Challenges in any of `states`, oldest round first; `open` keeps those whose final status is unknown. */
  challengesIn(states: readonly ChallengeState[], options: { open?: boolean } = {}): ChallengeRecord[] {
    const marks = states.map(() => "?").join(", ");
    const open = options.open ? " AND chain_status IS NULL" : "";
    const rows = this.db
      .prepare(`SELECT * FROM challenges WHERE state IN (${marks})${open} ORDER BY round, block, id`)
      .all(...states) as Row[];
    return rows.map(toChallenge);
  }

  /** Moves a challenge to `state` (and sets the given columns). */
  update(
    id: Hex,
    changes: Partial<{
      state: ChallengeState;
      commitTx: Hash | null;
      revealTx: Hash | null;
      finalizeTx: Hash | null;
      chainStatus: string;
      note: string | null;
      failures: number;
      extension: number;
      replayTx: Hash | null;
    }>,
  ): void {
    const columns: Record<string, string> = {
      state: "state",
      commitTx: "commit_tx",
      revealTx: "reveal_tx",
      finalizeTx: "finalize_tx",
      chainStatus: "chain_status",
      note: "note",
      failures: "failures",
      extension: "extension",
      replayTx: "replay_tx",
    };
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    for (const [key, column] of Object.entries(columns)) {
      const value = (changes as Record<string, string | number | null | undefined>)[key];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value);
    }
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE challenges SET ${sets.join(", ")}, updated_at = ? WHERE id = ?`)
      .run(...values, Date.now(), id.toLowerCase());
  }

  /**
   * Runs `body`'s writes in one transaction: one disk sync for a round's bookkeeping of every
   * challenge (N rows a validator a round), not one a row.
   */
  batch<T>(body: () => T): T {
    return transaction(this.db, body);
  }

  /** Stores the prepared verdict (salt included) and the audit summary; the state becomes `prepared`. */
  saveVerdict(id: Hex, verdict: PreparedVerdict, audit: Record<string, unknown>): void {
    this.db
      .prepare(
        `UPDATE challenges SET state = 'prepared', verdict = ?, audit = ?, commit_tx = NULL, note = NULL,
         updated_at = ? WHERE id = ?`,
      )
      .run(JSON.stringify(verdict), JSON.stringify(audit), Date.now(), id.toLowerCase());
  }

  /** Stores the second-phase vote before it is sent. */
  saveReplay(id: Hex, decision: ReplayDecision): void {
    this.db
      .prepare("UPDATE challenges SET replay = ?, replay_tx = NULL, updated_at = ? WHERE id = ?")
      .run(JSON.stringify(decision), Date.now(), id.toLowerCase());
  }

  /** Challenges per state, and how many reached each final status. */
  counts(): { states: Record<string, number>; statuses: Record<string, number> } {
    const states: Record<string, number> = Object.fromEntries(CHALLENGE_STATES.map((s) => [s, 0]));
    for (const row of this.db
      .prepare("SELECT state, COUNT(*) AS n FROM challenges GROUP BY state")
      .all() as Row[])
      states[String(row.state)] = Number(row.n);
    const statuses: Record<string, number> = {};
    for (const row of this.db
      .prepare(
        "SELECT chain_status, COUNT(*) AS n FROM challenges WHERE chain_status IS NOT NULL GROUP BY chain_status",
      )
      .all() as Row[])
      statuses[String(row.chain_status)] = Number(row.n);
    return { states, statuses };
  }

  // --- beacon ---------------------------------------------------------------------------------

  getBeacon(round: number): BeaconRecord | undefined {
    const row = this.db.prepare("SELECT * FROM beacon WHERE round = ?").get(round) as Row | undefined;
    return row ? toBeacon(row) : undefined;
  }

  /** The latest stored contribution. */
  latestBeacon(): BeaconRecord | undefined {
    const row = this.db.prepare("SELECT * FROM beacon ORDER BY round DESC LIMIT 1").get() as Row | undefined;
    return row ? toBeacon(row) : undefined;
  }

  /** Stores a new contribution (its secret) before it is committed. */
  saveBeacon(prepared: PreparedBeaconCommit): void {
    this.db
      .prepare(`INSERT INTO beacon (round, validator, secret, commitment, updated_at) VALUES (?, ?, ?, ?, ?)`)
      .run(prepared.round, prepared.validator, prepared.secret, prepared.commitment, Date.now());
  }

  updateBeacon(
    round: number,
    changes: Partial<{ committed: boolean; revealed: boolean; commitTx: Hash; revealTx: Hash }>,
  ): void {
    const columns: [string, string | number | undefined][] = [
      ["committed", changes.committed === undefined ? undefined : Number(changes.committed)],
      ["revealed", changes.revealed === undefined ? undefined : Number(changes.revealed)],
      ["commit_tx", changes.commitTx],
      ["reveal_tx", changes.revealTx],
    ];
    const set = columns.filter(([, v]) => v !== undefined);
    const sets = set.map(([column]) => `${column} = ?`);
    const values = set.map(([, v]) => v as string | number);
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE beacon SET ${sets.join(", ")}, updated_at = ? WHERE round = ?`)
      .run(...values, Date.now(), round);
  }

  // --- missed deadlines -----------------------------------------------------------------------

  /** Whether `trainer`'s challenge of `round` was already settled (reported, submitted, not due…). */
  missedChecked(trainer: Address, round: number): boolean {
    return (
      this.db.prepare("SELECT 1 FROM missed WHERE trainer = ? AND round = ?").get(trainer, round) !==
      undefined
    );
  }

  recordMissed(trainer: Address, round: number, outcome: string, tx?: Hash): void {
    this.db.prepare(UPSERT_MISSED).run(trainer, round, outcome, tx ?? null, Date.now());
  }

  /**
   * Records many settled checks in one transaction (one disk sync instead of one a row: a round
   * settles a row for every trainer that submitted, N rows a validator a round).
   */
  recordMissedMany(rows: readonly { trainer: Address; round: number; outcome: string }[]): void {
    if (rows.length === 0) return;
    transaction(this.db, () => {
      const insert = this.db.prepare(UPSERT_MISSED);
      const at = Date.now();
      for (const r of rows) insert.run(r.trainer, r.round, r.outcome, null, at);
    });
  }

  /** Whether a result of `trainer` for `round` was seen (then it did not miss). */
  hasSubmission(trainer: Address, round: number): boolean {
    return (
      this.db.prepare("SELECT 1 FROM challenges WHERE trainer = ? AND round = ?").get(trainer, round) !==
      undefined
    );
  }

  /**
   * Records registrations (from `OperatorRegistered` events, in block order: a later one replaces an
   * earlier one's role) and moves the registration scan's cursor to `nextBlock`, in one transaction.
   */
  addOperators(rows: readonly { address: Address; role: number; block: number }[], nextBlock: bigint): void {
    transaction(this.db, () => {
      const upsert = this.db.prepare(
        "INSERT INTO operators (address, role, block) VALUES (?, ?, ?) " +
          "ON CONFLICT (address) DO UPDATE SET role = excluded.role, block = excluded.block",
      );
      for (const r of rows) upsert.run(r.address, r.role, r.block);
      this.setMeta("operatorScanBlock", String(nextBlock));
    });
  }

  /** Where the registration scan goes on from (undefined before the first scan). */
  operatorScanBlock(): bigint | undefined {
    const v = this.getMeta("operatorScanBlock");
    return v === undefined ? undefined : BigInt(v);
  }

  /** Operators registered with `role` (1 trainer, 2 validator), in registration order. */
  operatorsOf(role: number): Address[] {
    return (
      this.db
        .prepare("SELECT address FROM operators WHERE role = ? ORDER BY block, address")
        .all(role) as Row[]
    ).map((r) => String(r.address) as Address);
  }

  /**
   * The known trainers whose challenge of `round` is neither seen (no `ResultSubmitted`) nor settled
   * by an earlier check: one indexed query, where a lookup per trainer cost two queries each.
   * `among` keeps only those trainers (the ones this validator watches that round).
   */
  trainersToCheck(round: number, among?: readonly Address[]): Address[] {
    const query = (only: readonly Address[] | undefined) =>
      (
        this.db
          .prepare(
            `SELECT t.address FROM operators t
             WHERE t.role = 1${only === undefined ? "" : ` AND t.address IN (${only.map(() => "?").join(", ")})`}
               AND NOT EXISTS (SELECT 1 FROM challenges c WHERE c.trainer = t.address AND c.round = ?)
               AND NOT EXISTS (SELECT 1 FROM missed m WHERE m.trainer = t.address AND m.round = ?)
             ORDER BY t.block, t.address`,
          )
          .all(...(only ?? []), round, round) as Row[]
      ).map((r) => String(r.address) as Address);
    if (among === undefined) return query(undefined);
    // in slices, under SQLite's limit on a statement's parameters
    const out: Address[] = [];
    for (let i = 0; i < among.length; i += 500) out.push(...query(among.slice(i, i + 500)));
    return out;
  }

  // --- beacon withholding ---------------------------------------------------------------------

  /** Whether `validator`'s contribution to the beacon of `round` was already checked. */
  withholdingChecked(round: number, validator: Address): boolean {
    return (
      this.db.prepare("SELECT 1 FROM withholding WHERE round = ? AND validator = ?").get(round, validator) !==
      undefined
    );
  }

  /** Records many checked contributions of `round` in one transaction (one disk sync). */
  recordWithholdingMany(round: number, rows: readonly { validator: Address; outcome: string }[]): void {
    if (rows.length === 0) return;
    transaction(this.db, () => {
      const insert = this.db.prepare(UPSERT_WITHHOLDING);
      const at = Date.now();
      for (const r of rows) insert.run(round, r.validator, r.outcome, null, at);
    });
  }

  recordWithholding(round: number, validator: Address, outcome: string, tx?: Hash): void {
    this.db.prepare(UPSERT_WITHHOLDING).run(round, validator, outcome, tx ?? null, Date.now());
  }

  /** Withholding reports this daemon sent. */
  withholdingReports(): number {
    const row = this.db
      .prepare("SELECT COUNT(*) AS n FROM withholding WHERE outcome = 'reported'")
      .get() as Row;
    return Number(row.n);
  }

  /** Reports this daemon sent. */
  missedReports(): number {
    const row = this.db.prepare("SELECT COUNT(*) AS n FROM missed WHERE outcome = 'reported'").get() as Row;
    return Number(row.n);
  }
}
