/**
 * The trainer daemon's state: one SQLite file holding every run (one per round the trainer was
 * due) and every checkpoint of the runs it still serves, one row per checkpoint, written as
 * training goes. Whatever the daemon must not lose is a row here before the step that depends on
 * it: a checkpoint before the next segment starts from it, the `submitting` state (with the
 * account's nonce) before `submitResult` is sent, the transaction hash as soon as it is known.
 *
 * Run states:
 *
 * ```
 * training -> trained -> submitting -> submitted
 *     |          |           |-------> rejected   (the chain refused the result; nothing landed)
 *     '----------'-----------'-------> missed     (the deadline passed without a submission)
 * ```
 *
 * Pruning deletes a run's checkpoints and keeps its row (flagged `pruned`), so the checkpoint
 * server can answer 410 Gone for it.
 */
import { zeroHash, type Address, type Hex } from "viem";
import { byteTreeRoot, type TrainingSpec } from "@poai/sdk/compute";
import { openDatabase, transaction, type Database } from "../daemon/index.js";
import { DEFENCE_TABLES, DISPUTE_TABLES, SCORE_DISPUTE_TABLES } from "../disputes/store.js";

export type RunState = "training" | "trained" | "submitting" | "submitted" | "missed" | "rejected";

/** States a run still moves on from. */
export const UNFINISHED_STATES: readonly RunState[] = ["training", "trained", "submitting"];

/** One challenge the daemon works on, as stored. */
export interface RunRecord {
  /** Challenge id, lowercase hex. */
  id: Hex;
  round: bigint;
  specId: Hex;
  spec: TrainingSpec;
  /** The challenge seed (`dueChallenge`): evaluation uses it. */
  seed: Hex;
  /** The seed the run was trained from (`trainingSeed(due)`; the challenge seed unless overridden). */
  trainingSeed: Hex;
  /** Results are accepted until this chain time (inclusive). */
  deadline: bigint;
  /** After this chain time the round's points are final: the run's checkpoints may be pruned. */
  closesAt: bigint;
  /** Checkpoints in a complete run (segments + 1). */
  checkpointCount: number;
  state: RunState;
  root: Hex | null;
  measuredScoreBps: number | null;
  reportedScoreBps: number | null;
  /** The account's pending nonce recorded before `submitResult` was sent. */
  submitNonce: number | null;
  txHash: Hex | null;
  /** Why the run was missed or rejected, or what went wrong last. */
  error: string | null;
  pruned: boolean;
  /** Wall-clock milliseconds, for people reading the status. */
  createdAt: number;
  updatedAt: number;
}

export type NewRun = Pick<
  RunRecord,
  "id" | "round" | "specId" | "spec" | "seed" | "trainingSeed" | "deadline" | "closesAt" | "checkpointCount"
> &
  Partial<Pick<RunRecord, "state" | "error">>;

export type RunUpdate = Partial<
  Pick<
    RunRecord,
    "state" | "root" | "measuredScoreBps" | "reportedScoreBps" | "submitNonce" | "txHash" | "error"
  >
>;

/** A stored checkpoint: its canonical bytes and their hash. */
export interface StoredCheckpoint {
  index: number;
  hash: Hex;
  bytes: Uint8Array;
}

const MIGRATIONS = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE runs (
    id                 TEXT PRIMARY KEY,
    round              INTEGER NOT NULL UNIQUE,
    spec_id            TEXT NOT NULL,
    spec               TEXT NOT NULL,
    seed               TEXT NOT NULL,
    training_seed      TEXT NOT NULL,
    deadline           INTEGER NOT NULL,
    closes_at          INTEGER NOT NULL,
    checkpoint_count   INTEGER NOT NULL,
    state              TEXT NOT NULL,
    root               TEXT,
    measured_score_bps INTEGER,
    reported_score_bps INTEGER,
    submit_nonce       INTEGER,
    tx_hash            TEXT,
    error              TEXT,
    pruned             INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
  );
  CREATE INDEX runs_state ON runs (state);
  CREATE TABLE checkpoints (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    hash   TEXT NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (run_id, idx)
  ) WITHOUT ROWID;
  `,
  DISPUTE_TABLES,
  DEFENCE_TABLES,
  // The step-state root of the segment starting at a checkpoint (an operation-sampling run's
  // fourth leaf word); NULL: none computed yet, or a segment-replay run's (zero).
  `ALTER TABLE checkpoints ADD COLUMN step_root TEXT;`,
  // The score games on its job runs' reported accuracy, and the inference games they host.
  SCORE_DISPUTE_TABLES,
];

interface RunRow {
  id: string;
  round: number;
  spec_id: string;
  spec: string;
  seed: string;
  training_seed: string;
  deadline: number;
  closes_at: number;
  checkpoint_count: number;
  state: string;
  root: string | null;
  measured_score_bps: number | null;
  reported_score_bps: number | null;
  submit_nonce: number | null;
  tx_hash: string | null;
  error: string | null;
  pruned: number;
  created_at: number;
  updated_at: number;
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id as Hex,
    round: BigInt(row.round),
    specId: row.spec_id as Hex,
    spec: JSON.parse(row.spec) as TrainingSpec,
    seed: row.seed as Hex,
    trainingSeed: row.training_seed as Hex,
    deadline: BigInt(row.deadline),
    closesAt: BigInt(row.closes_at),
    checkpointCount: Number(row.checkpoint_count),
    state: row.state as RunState,
    root: row.root as Hex | null,
    measuredScoreBps: row.measured_score_bps === null ? null : Number(row.measured_score_bps),
    reportedScoreBps: row.reported_score_bps === null ? null : Number(row.reported_score_bps),
    submitNonce: row.submit_nonce === null ? null : Number(row.submit_nonce),
    txHash: row.tx_hash as Hex | null,
    error: row.error,
    pruned: row.pruned === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const UPDATE_COLUMNS: Record<keyof RunUpdate, string> = {
  state: "state",
  root: "root",
  measuredScoreBps: "measured_score_bps",
  reportedScoreBps: "reported_score_bps",
  submitNonce: "submit_nonce",
  txHash: "tx_hash",
  error: "error",
};

/** Chain times are stored as SQLite integers (exact up to 2^53 seconds). */
function seconds(value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`chain time ${value} does not fit in the trainer database`);
  }
  return Number(value);
}

export class TrainerStore {
  readonly db: Database;

  constructor(
    readonly path: string,
    /** Who the database belongs to: a database of another trainer or deployment is refused. */
    owner: { trainer: Address; chainId: number; challengeManager: Address },
  ) {
    this.db = openDatabase(path, MIGRATIONS);
    try {
      this.claim(owner);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  private claim(owner: { trainer: Address; chainId: number; challengeManager: Address }): void {
    const expected: Record<string, string> = {
      trainer: owner.trainer.toLowerCase(),
      chainId: String(owner.chainId),
      challengeManager: owner.challengeManager.toLowerCase(),
    };
    transaction(this.db, () => {
      const get = this.db.prepare("SELECT value FROM meta WHERE key = ?");
      const put = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
      for (const [key, value] of Object.entries(expected)) {
        const row = get.get(key) as { value: string } | undefined;
        if (row === undefined) put.run(key, value);
        else if (row.value !== value) {
          throw new Error(
            `database ${this.path} belongs to ${key} ${row.value}, not ${value}: give each trainer and deployment its own database`,
          );
        }
      }
    });
  }

  insertRun(run: NewRun): RunRecord {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO runs (id, round, spec_id, spec, seed, training_seed, deadline, closes_at,
           checkpoint_count, state, error, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.id.toLowerCase(),
        seconds(run.round),
        run.specId,
        JSON.stringify({ ...run.spec, widths: [...run.spec.widths] }),
        run.seed,
        run.trainingSeed,
        seconds(run.deadline),
        seconds(run.closesAt),
        run.checkpointCount,
        run.state ?? "training",
        run.error ?? null,
        now,
        now,
      );
    return this.run(run.id)!;
  }

  run(id: Hex): RunRecord | undefined {
    const row = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id.toLowerCase()) as
      RunRow | undefined;
    return row && toRecord(row);
  }

  runOfRound(round: bigint): RunRecord | undefined {
    const row = this.db.prepare("SELECT * FROM runs WHERE round = ?").get(seconds(round)) as
      RunRow | undefined;
    return row && toRecord(row);
  }

  /** Runs that still move on (training, trained, submitting), oldest round first. */
  unfinishedRuns(): RunRecord[] {
    const marks = UNFINISHED_STATES.map(() => "?").join(", ");
    const rows = this.db
      .prepare(`SELECT * FROM runs WHERE state IN (${marks}) ORDER BY round`)
      .all(...UNFINISHED_STATES) as unknown as RunRow[];
    return rows.map(toRecord);
  }

  /** The latest runs in `states`, newest round first. */
  recentRuns(states: readonly RunState[], limit: number): RunRecord[] {
    const marks = states.map(() => "?").join(", ");
    const rows = this.db
      .prepare(`SELECT * FROM runs WHERE state IN (${marks}) ORDER BY round DESC LIMIT ?`)
      .all(...states, limit) as unknown as RunRow[];
    return rows.map(toRecord);
  }

  /** Runs not pruned yet whose round closed before `cutoff` (chain time). */
  prunableRuns(cutoff: bigint): RunRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM runs WHERE pruned = 0 AND closes_at < ? ORDER BY round")
      .all(seconds(cutoff < 0n ? 0n : cutoff)) as unknown as RunRow[];
    return rows.map(toRecord);
  }

  updateRun(id: Hex, update: RunUpdate): RunRecord {
    const keys = (Object.keys(update) as (keyof RunUpdate)[]).filter((k) => update[k] !== undefined);
    const sets = keys.map((k) => `${UPDATE_COLUMNS[k]} = ?`);
    const values = keys.map((k) => update[k] as string | number | null);
    this.db
      .prepare(`UPDATE runs SET ${[...sets, "updated_at = ?"].join(", ")} WHERE id = ?`)
      .run(...values, Date.now(), id.toLowerCase());
    return this.run(id)!;
  }

  /** Stores checkpoint `index` of run `id` (durable once this returns). */
  putCheckpoint(id: Hex, checkpoint: StoredCheckpoint): void {
    this.db
      .prepare("INSERT INTO checkpoints (run_id, idx, hash, bytes) VALUES (?, ?, ?, ?)")
      .run(id.toLowerCase(), checkpoint.index, checkpoint.hash, checkpoint.bytes);
  }

  /** The hash of checkpoint `index` of run `id` (without reading its bytes). */
  checkpointHash(id: Hex, index: number): Hex | undefined {
    const row = this.db
      .prepare("SELECT hash FROM checkpoints WHERE run_id = ? AND idx = ?")
      .get(id.toLowerCase(), index) as { hash: string } | undefined;
    return row?.hash as Hex | undefined;
  }

  checkpoint(id: Hex, index: number): StoredCheckpoint | undefined {
    const row = this.db
      .prepare("SELECT idx, hash, bytes FROM checkpoints WHERE run_id = ? AND idx = ?")
      .get(id.toLowerCase(), index) as { idx: number; hash: string; bytes: Uint8Array } | undefined;
    return row && { index: Number(row.idx), hash: row.hash as Hex, bytes: row.bytes };
  }

  /** The highest-indexed checkpoint stored for run `id`. */
  lastCheckpoint(id: Hex): StoredCheckpoint | undefined {
    const row = this.db
      .prepare("SELECT idx, hash, bytes FROM checkpoints WHERE run_id = ? ORDER BY idx DESC LIMIT 1")
      .get(id.toLowerCase()) as { idx: number; hash: string; bytes: Uint8Array } | undefined;
    return row && { index: Number(row.idx), hash: row.hash as Hex, bytes: row.bytes };
  }

  /** Hashes of run `id`'s stored checkpoints, checkpoint 0 first. */
  checkpointHashes(id: Hex): Hex[] {
    const rows = this.db
      .prepare("SELECT idx, hash FROM checkpoints WHERE run_id = ? ORDER BY idx")
      .all(id.toLowerCase()) as unknown as { idx: number; hash: string }[];
    rows.forEach((row, i) => {
      if (Number(row.idx) !== i) throw new Error(`run ${id} is missing checkpoint ${i} in ${this.path}`);
    });
    return rows.map((row) => row.hash as Hex);
  }

  /**
   * Parameter-tree roots of run `id`'s stored checkpoints (`byteTreeRoot` of each checkpoint's
   * bytes), checkpoint 0 first: the second word of each leaf of the run's commitment.
   */
  parameterRoots(id: Hex): Hex[] {
    const rows = this.db
      .prepare("SELECT idx, bytes FROM checkpoints WHERE run_id = ? ORDER BY idx")
      .all(id.toLowerCase()) as unknown as { idx: number; bytes: Uint8Array }[];
    return rows.map((row, i) => {
      if (Number(row.idx) !== i) throw new Error(`run ${id} is missing checkpoint ${i} in ${this.path}`);
      return byteTreeRoot(row.bytes);
    });
  }

  /**
   * Step-state roots of run `id`'s stored checkpoints, checkpoint 0 first: the fourth word of each
   * leaf (zero where none was stored: the last checkpoint, a segment-replay run).
   */
  stepRoots(id: Hex): Hex[] {
    const rows = this.db
      .prepare("SELECT idx, step_root FROM checkpoints WHERE run_id = ? ORDER BY idx")
      .all(id.toLowerCase()) as unknown as { idx: number; step_root: string | null }[];
    return rows.map((row, i) => {
      if (Number(row.idx) !== i) throw new Error(`run ${id} is missing checkpoint ${i} in ${this.path}`);
      return (row.step_root ?? zeroHash) as Hex;
    });
  }

  /** The stored step-state root of the segment starting at checkpoint `index`, if computed. */
  stepRoot(id: Hex, index: number): Hex | undefined {
    const row = this.db
      .prepare("SELECT step_root FROM checkpoints WHERE run_id = ? AND idx = ?")
      .get(id.toLowerCase(), index) as { step_root: string | null } | undefined;
    return (row?.step_root ?? undefined) as Hex | undefined;
  }

  /** Stores the step-state root of the segment starting at checkpoint `index` of run `id`. */
  setStepRoot(id: Hex, index: number, root: Hex): void {
    const r = this.db
      .prepare("UPDATE checkpoints SET step_root = ? WHERE run_id = ? AND idx = ?")
      .run(root.toLowerCase(), id.toLowerCase(), index);
    if (Number(r.changes) !== 1) throw new Error(`run ${id} has no checkpoint ${index} in ${this.path}`);
  }

  checkpointCount(id: Hex): number {
    const row = this.db
      .prepare("SELECT count(*) AS n FROM checkpoints WHERE run_id = ?")
      .get(id.toLowerCase()) as { n: number };
    return Number(row.n);
  }

  /** Checkpoints on disk and their size in bytes, over every run. */
  totals(): { checkpoints: number; bytes: number } {
    const row = this.db
      .prepare("SELECT count(*) AS n, coalesce(sum(length(bytes)), 0) AS b FROM checkpoints")
      .get() as { n: number; b: number };
    return { checkpoints: Number(row.n), bytes: Number(row.b) };
  }

  /**
   * Flags run `id` kept: its checkpoints stay served and it is never offered for pruning again
   * (a paid job's run, whose owner fetches the model from it).
   */
  keep(id: Hex): void {
    this.db
      .prepare("UPDATE runs SET pruned = 2, updated_at = ? WHERE id = ?")
      .run(Date.now(), id.toLowerCase());
  }

  /** Deletes run `id`'s checkpoints and flags it pruned, in one transaction. */
  prune(id: Hex): void {
    transaction(this.db, () => {
      this.db.prepare("DELETE FROM checkpoints WHERE run_id = ?").run(id.toLowerCase());
      this.db
        .prepare("UPDATE runs SET pruned = 1, updated_at = ? WHERE id = ?")
        .run(Date.now(), id.toLowerCase());
    });
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
