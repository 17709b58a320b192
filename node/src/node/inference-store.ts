/**
 * The inference node's state: one SQLite file holding every subscription the node has seen and
 * every (subscription, interval) it worked on. What the node must not lose is a row here before
 * the step that depends on it: the container's output before the delivery is sent (a restart
 * delivers that output instead of running the container again), the `sending` state with the
 * account's nonce before `deliverCompute` is sent, the transaction hash as soon as it is known.
 *
 * Delivery states of one (subscription, interval):
 *
 * ```
 * running -> ran -> sending -> delivered
 *    |        |        '-----> ran          (nothing landed: the transaction was dropped or reverted; retried)
 *    |        |-> committing -> committed -> sending   (redundancy > 1: commit, then reveal)
 *    |        '--------------> skipped      (the simulated delivery reverts, or the interval is full)
 *    '-----------------------> failed       (the container failed `maxAttempts` times)
 * ```
 *
 * For redundancy > 1 the salt and the commitment are stored before `commitCompute` is sent, so a
 * restart can always reveal what it committed to.
 *
 * Subscription states: `tracking` (the node serves it), `ignored` (a filter refused it; the reason
 * is kept), `cancelled`, `completed` (past its last interval).
 */
import type { Address, Hex } from "viem";
import { openDatabase, transaction, type Database } from "../daemon/index.js";
import type { SubscriptionStruct } from "@poai/sdk";
import { INFERENCE_GAME_TABLES } from "../disputes/inference.js";

export type SubscriptionState = "tracking" | "ignored" | "cancelled" | "completed";
export type DeliveryState =
  "running" | "ran" | "committing" | "committed" | "sending" | "delivered" | "skipped" | "failed";

/** Delivery states the node still moves on from. */
export const OPEN_DELIVERY_STATES: readonly DeliveryState[] = [
  "running",
  "ran",
  "committing",
  "committed",
  "sending",
];

/** A subscription as the Coordinator holds it (Infernet v1.1.0's `Subscription`). */
export type SubscriptionData = SubscriptionStruct;

export interface SubscriptionRecord extends SubscriptionData {
  id: number;
  state: SubscriptionState;
  /** Why the node ignores it, or what went wrong last. */
  reason: string | null;
  /** The container id string, when the node serves `containerId`. */
  container: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryRecord {
  subscriptionId: number;
  interval: number;
  state: DeliveryState;
  /** Container runs and sends tried so far. */
  attempts: number;
  input: Hex | null;
  output: Hex | null;
  proof: Hex | null;
  /** Redundancy > 1: the salt and the commitment sent with `commitCompute`. */
  salt: Hex | null;
  commitment: Hex | null;
  /** The account's pending nonce recorded before `deliverCompute` was sent. */
  nonce: number | null;
  txHash: Hex | null;
  block: bigint | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryUpdate = Partial<
  Pick<
    DeliveryRecord,
    | "state"
    | "attempts"
    | "input"
    | "output"
    | "proof"
    | "salt"
    | "commitment"
    | "nonce"
    | "txHash"
    | "block"
    | "error"
  >
>;

const MIGRATIONS = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY,
    owner          TEXT NOT NULL,
    active_at      INTEGER NOT NULL,
    period         INTEGER NOT NULL,
    frequency      INTEGER NOT NULL,
    redundancy     INTEGER NOT NULL,
    container_id   TEXT NOT NULL,
    lazy           INTEGER NOT NULL,
    verifier       TEXT NOT NULL,
    payment_amount TEXT NOT NULL,
    payment_token  TEXT NOT NULL,
    wallet         TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    container      TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  );
  CREATE INDEX subscriptions_state ON subscriptions (state);
  CREATE TABLE deliveries (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    interval        INTEGER NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    input           TEXT,
    output          TEXT,
    proof           TEXT,
    salt            TEXT,
    commitment      TEXT,
    nonce           INTEGER,
    tx_hash         TEXT,
    block           INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, interval)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_state ON deliveries (state);
  `,
  // 2: off-chain jobs (the REST API) and delegated subscriptions posted to it.
  `
  CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    client         TEXT NOT NULL,
    containers     TEXT NOT NULL,
    data           TEXT NOT NULL,
    requires_proof INTEGER NOT NULL,
    stream         INTEGER NOT NULL,
    status         TEXT NOT NULL,
    results        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX jobs_client ON jobs (client, status, created_at);
  CREATE TABLE delegated (
    owner           TEXT NOT NULL,
    nonce           INTEGER NOT NULL,
    expiry          INTEGER NOT NULL,
    subscription    TEXT NOT NULL,
    v               INTEGER NOT NULL,
    r               TEXT NOT NULL,
    s               TEXT NOT NULL,
    data            TEXT NOT NULL,
    client          TEXT NOT NULL,
    state           TEXT NOT NULL,
    interval        INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    input           TEXT,
    output          TEXT,
    proof           TEXT,
    tx_nonce        INTEGER,
    tx_hash         TEXT,
    subscription_id INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (owner, nonce)
  ) WITHOUT ROWID;
  CREATE INDEX delegated_state ON delegated (state);
  `,
  INFERENCE_GAME_TABLES,
];

interface SubscriptionRow {
  id: number;
  owner: string;
  active_at: number;
  period: number;
  frequency: number;
  redundancy: number;
  container_id: string;
  lazy: number;
  verifier: string;
  payment_amount: string;
  payment_token: string;
  wallet: string;
  state: string;
  reason: string | null;
  container: string | null;
  created_at: number;
  updated_at: number;
}

interface DeliveryRow {
  subscription_id: number;
  interval: number;
  state: string;
  attempts: number;
  input: string | null;
  output: string | null;
  proof: string | null;
  salt: string | null;
  commitment: string | null;
  nonce: number | null;
  tx_hash: string | null;
  block: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: Number(row.id),
    owner: row.owner as Address,
    activeAt: Number(row.active_at),
    period: Number(row.period),
    frequency: Number(row.frequency),
    redundancy: Number(row.redundancy),
    containerId: row.container_id as Hex,
    lazy: row.lazy !== 0,
    verifier: row.verifier as Address,
    paymentAmount: BigInt(row.payment_amount),
    paymentToken: row.payment_token as Address,
    wallet: row.wallet as Address,
    state: row.state as SubscriptionState,
    reason: row.reason,
    container: row.container,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    subscriptionId: Number(row.subscription_id),
    interval: Number(row.interval),
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    input: row.input as Hex | null,
    output: row.output as Hex | null,
    proof: row.proof as Hex | null,
    salt: row.salt as Hex | null,
    commitment: row.commitment as Hex | null,
    nonce: row.nonce === null ? null : Number(row.nonce),
    txHash: row.tx_hash as Hex | null,
    block: row.block === null ? null : BigInt(row.block),
    error: row.error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const DELIVERY_COLUMNS: Record<keyof DeliveryUpdate, string> = {
  state: "state",
  attempts: "attempts",
  input: "input",
  output: "output",
  proof: "proof",
  salt: "salt",
  commitment: "commitment",
  nonce: "nonce",
  txHash: "tx_hash",
  block: "block",
  error: "error",
};

export class InferenceStore {
  readonly db: Database;

  constructor(
    readonly path: string,
    /** Who the database belongs to: a database of another node or deployment is refused. */
    owner: { node: Address; chainId: number; coordinator: Address },
  ) {
    this.db = openDatabase(path, MIGRATIONS);
    try {
      const expected: Record<string, string> = {
        node: owner.node.toLowerCase(),
        chainId: String(owner.chainId),
        coordinator: owner.coordinator.toLowerCase(),
      };
      transaction(this.db, () => {
        const get = this.db.prepare("SELECT value FROM meta WHERE key = ?");
        const put = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
        for (const [key, value] of Object.entries(expected)) {
          const row = get.get(key) as { value: string } | undefined;
          if (row === undefined) put.run(key, value);
          else if (row.value !== value) {
            throw new Error(
              `database ${path} belongs to ${key} ${row.value}, not ${value}: give each node and deployment its own database`,
            );
          }
        }
      });
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  // --- the chain cursor --------------------------------------------------------------------------

  /** The last block whose subscriptions the node has read (undefined before the first scan). */
  cursor(): bigint | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'cursor'").get() as
      { value: string } | undefined;
    return row === undefined ? undefined : BigInt(row.value);
  }

  setCursor(block: bigint): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(block.toString());
  }

  // --- subscriptions -------------------------------------------------------------------------------

  /** Records subscription `id` unless it is known already; returns the stored record. */
  addSubscription(
    id: number,
    data: SubscriptionData,
    state: SubscriptionState,
    container: string | null,
    reason: string | null,
  ): SubscriptionRecord {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO subscriptions (id, owner, active_at, period, frequency, redundancy, container_id, lazy,
           verifier, payment_amount, payment_token, wallet, state, reason, container, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        id,
        data.owner,
        data.activeAt,
        data.period,
        data.frequency,
        data.redundancy,
        data.containerId.toLowerCase(),
        data.lazy ? 1 : 0,
        data.verifier,
        data.paymentAmount.toString(),
        data.paymentToken,
        data.wallet,
        state,
        reason,
        container,
        now,
        now,
      );
    return this.subscription(id)!;
  }

  subscription(id: number): SubscriptionRecord | undefined {
    const row = this.db.prepare("SELECT * FROM subscriptions WHERE id = ?").get(id) as
      SubscriptionRow | undefined;
    return row && toSubscription(row);
  }

  /** Subscriptions in `states` (all by default), lowest id first, at most `limit`. */
  subscriptions(states?: readonly SubscriptionState[], limit = 1_000_000): SubscriptionRecord[] {
    const where = states ? `WHERE state IN (${states.map(() => "?").join(", ")})` : "";
    const rows = this.db
      .prepare(`SELECT * FROM subscriptions ${where} ORDER BY id LIMIT ?`)
      .all(...(states ?? []), limit) as unknown as SubscriptionRow[];
    return rows.map(toSubscription);
  }

  setSubscriptionState(id: number, state: SubscriptionState, reason: string | null): void {
    this.db
      .prepare("UPDATE subscriptions SET state = ?, reason = ?, updated_at = ? WHERE id = ?")
      .run(state, reason, Date.now(), id);
  }

  /** Subscriptions by state. */
  subscriptionCounts(): Record<SubscriptionState, number> {
    const out: Record<SubscriptionState, number> = { tracking: 0, ignored: 0, cancelled: 0, completed: 0 };
    for (const row of this.db
      .prepare("SELECT state, count(*) AS n FROM subscriptions GROUP BY state")
      .all() as {
      state: SubscriptionState;
      n: number;
    }[])
      out[row.state] = Number(row.n);
    return out;
  }

  // --- deliveries ----------------------------------------------------------------------------------

  delivery(subscriptionId: number, interval: number): DeliveryRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM deliveries WHERE subscription_id = ? AND interval = ?")
      .get(subscriptionId, interval) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  /** Starts work on (subscription, interval): the `running` row exists before the container runs. */
  startDelivery(subscriptionId: number, interval: number): DeliveryRecord {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO deliveries (subscription_id, interval, state, created_at, updated_at)
         VALUES (?, ?, 'running', ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(subscriptionId, interval, now, now);
    return this.delivery(subscriptionId, interval)!;
  }

  updateDelivery(subscriptionId: number, interval: number, update: DeliveryUpdate): DeliveryRecord {
    const keys = (Object.keys(update) as (keyof DeliveryUpdate)[]).filter((k) => update[k] !== undefined);
    const sets = keys.map((k) => `${DELIVERY_COLUMNS[k]} = ?`);
    const values = keys.map((k) => {
      const v = update[k];
      return typeof v === "bigint" ? Number(v) : (v as string | number | null);
    });
    this.db
      .prepare(
        `UPDATE deliveries SET ${[...sets, "updated_at = ?"].join(", ")} WHERE subscription_id = ? AND interval = ?`,
      )
      .run(...values, Date.now(), subscriptionId, interval);
    return this.delivery(subscriptionId, interval)!;
  }

  /** Deliveries in `states`, oldest first. */
  deliveries(states?: readonly DeliveryState[], limit = 1_000_000): DeliveryRecord[] {
    const where = states ? `WHERE state IN (${states.map(() => "?").join(", ")})` : "";
    const rows = this.db
      .prepare(`SELECT * FROM deliveries ${where} ORDER BY subscription_id, interval LIMIT ?`)
      .all(...(states ?? []), limit) as unknown as DeliveryRow[];
    return rows.map(toDelivery);
  }

  /** Deliveries of one subscription, by interval. */
  deliveriesOf(subscriptionId: number): DeliveryRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM deliveries WHERE subscription_id = ? ORDER BY interval")
      .all(subscriptionId) as unknown as DeliveryRow[];
    return rows.map(toDelivery);
  }

  /** Deliveries by state. */
  deliveryCounts(): Record<DeliveryState, number> {
    const out: Record<DeliveryState, number> = {
      running: 0,
      ran: 0,
      committing: 0,
      committed: 0,
      sending: 0,
      delivered: 0,
      skipped: 0,
      failed: 0,
    };
    for (const row of this.db.prepare("SELECT state, count(*) AS n FROM deliveries GROUP BY state").all() as {
      state: DeliveryState;
      n: number;
    }[])
      out[row.state] = Number(row.n);
    return out;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
