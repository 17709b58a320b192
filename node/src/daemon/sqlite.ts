/**
 * SQLite for daemon state (`node:sqlite`, built into Node 22). Every daemon keeps what it must not
 * lose (checkpoints, salts, what it sent) in one database file, written in WAL mode with
 * `synchronous = FULL`, so a row that `run()` returned is on disk before the transaction that
 * depends on it is sent.
 */
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync as DatabaseSyncType } from "node:sqlite";

export type Database = DatabaseSyncType;

let sqlite: typeof import("node:sqlite") | undefined;

/** Loads `node:sqlite` without its one-time ExperimentalWarning (the module is stable enough for us). */
function loadSqlite(): typeof import("node:sqlite") {
  if (sqlite) return sqlite;
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    sqlite = createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite");
  } finally {
    process.emitWarning = emit;
  }
  return sqlite;
}

/**
 * Opens (creating if needed) the database at `path` (`":memory:"` for a throwaway one) and brings
 * its schema up to date: `migrations[i]` runs once, in a transaction, when `PRAGMA user_version`
 * is `i`. A database written by a newer version of the daemon is refused.
 */
export function openDatabase(path: string, migrations: readonly string[]): Database {
  const { DatabaseSync } = loadSqlite();
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    );
    const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
    const version = Number(row.user_version);
    if (version > migrations.length) {
      throw new Error(
        `database ${path} has schema version ${version}, newer than this daemon's ${migrations.length}: upgrade the daemon`,
      );
    }
    for (let v = version; v < migrations.length; v++) {
      transaction(db, () => {
        db.exec(migrations[v]);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Runs `body` in one transaction: all of its writes land, or none. */
export function transaction<T>(db: Database, body: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = body();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

/**
 * The store's health probe: the database is open and its write lock can be taken within
 * `busyMs` (then released at once, nothing written). Throws with the reason otherwise: closed,
 * locked by another connection or process, or an I/O error.
 */
export function probeDatabase(db: Database, busyMs = 250): void {
  if (!db.isOpen) throw new Error("the database is closed");
  const row = db.prepare("PRAGMA busy_timeout").get() as Record<string, unknown> | undefined;
  const previous = Number(row ? Object.values(row)[0] : 5000);
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyMs))}`);
  try {
    db.exec("BEGIN IMMEDIATE");
    db.exec("ROLLBACK");
  } catch (err) {
    throw new Error(`the database cannot take its write lock: ${(err as Error).message}`, { cause: err });
  } finally {
    db.exec(`PRAGMA busy_timeout = ${Number.isFinite(previous) ? previous : 5000}`);
  }
}
