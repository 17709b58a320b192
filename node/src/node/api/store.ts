/**
 * What the REST API keeps in the inference node's SQLite file (tables `jobs` and `delegated`,
 * created by the node's store migrations):
 *
 * - off-chain jobs: who posted them (the client's IP: a client reads only its own jobs, as with
 *   infernet-node), the containers, the input, and the results of each container once known.
 *   A job is `running`, then `success` or `failed`; a job still `running` when the node stops is
 *   run again when it starts (a streaming job, whose client is gone, is marked failed);
 * - delegated subscriptions (signed off-chain, posted to `/api/jobs`): the signature and the
 *   input, then `tracking -> ran -> sending -> delivered` (or `refused`, `expired`, `failed`),
 *   with the output stored before the transaction is sent and the account's nonce before it is
 *   sent, so a restart neither runs the containers twice nor sends twice.
 */
import type { Address, Hex } from "viem";
import type { Database } from "../../daemon/index.js";
import type { SubscriptionStruct } from "@poai/sdk";
import { parsePythonJson, pythonJsonDumps, type ChainStep, type PyValue } from "../containers/index.js";

export type JobStatus = "running" | "success" | "failed";

export interface JobRecord {
  id: string;
  client: string;
  containers: string[];
  data: PyValue;
  requiresProof: boolean;
  stream: boolean;
  status: JobStatus;
  results: ChainStep[];
  createdAt: number;
  updatedAt: number;
}

interface JobRow {
  id: string;
  client: string;
  containers: string;
  data: string;
  requires_proof: number;
  stream: number;
  status: string;
  results: string;
  created_at: number;
  updated_at: number;
}

function stepsToPy(steps: readonly ChainStep[]): PyValue {
  return steps.map(
    (s) =>
      new Map<string, PyValue>(
        "output" in s
          ? [
              ["container", s.container],
              ["output", s.output],
            ]
          : [
              ["container", s.container],
              ["error", s.error],
            ],
      ),
  );
}

function stepsFromPy(v: PyValue): ChainStep[] {
  return (v as Map<string, PyValue>[]).map((m) =>
    m.has("output")
      ? { container: m.get("container") as string, output: m.get("output")! }
      : { container: m.get("container") as string, error: m.get("error") as string },
  );
}

const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  client: r.client,
  containers: JSON.parse(r.containers) as string[],
  data: parsePythonJson(r.data),
  requiresProof: r.requires_proof !== 0,
  stream: r.stream !== 0,
  status: r.status as JobStatus,
  results: stepsFromPy(parsePythonJson(r.results)),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export class JobStore {
  constructor(readonly db: Database) {}

  add(job: Pick<JobRecord, "id" | "client" | "containers" | "data" | "requiresProof" | "stream">): void {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO jobs (id, client, containers, data, requires_proof, stream, status, results, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'running', '[]', ?, ?)`,
      )
      .run(
        job.id,
        job.client,
        JSON.stringify(job.containers),
        pythonJsonDumps(job.data),
        job.requiresProof ? 1 : 0,
        job.stream ? 1 : 0,
        now,
        now,
      );
  }

  finish(id: string, status: Exclude<JobStatus, "running">, results: readonly ChainStep[]): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, results = ?, updated_at = ? WHERE id = ?")
      .run(status, pythonJsonDumps(stepsToPy(results)), Date.now(), id);
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  /** The ids of `client`'s jobs: running ones first, then finished ones, oldest first in each. */
  ids(client: string, pending?: boolean): string[] {
    const where = pending === undefined ? "" : pending ? "AND status = 'running'" : "AND status != 'running'";
    const rows = this.db
      .prepare(
        `SELECT id FROM jobs WHERE client = ? ${where}
         ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END, created_at, id`,
      )
      .all(client) as { id: string }[];
    return rows.map((r) => r.id);
  }

  running(): JobRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM jobs WHERE status = 'running' ORDER BY created_at")
      .all() as unknown as JobRow[];
    return rows.map(toJob);
  }

  counts(): { running: number; success: number; failed: number } {
    const out = { running: 0, success: 0, failed: 0 };
    for (const r of this.db.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as {
      status: JobStatus;
      n: number;
    }[])
      out[r.status] = Number(r.n);
    return out;
  }
}

export type DelegatedState =
  "tracking" | "ran" | "sending" | "delivered" | "created" | "refused" | "expired" | "failed";

export interface DelegatedRecord {
  owner: Address;
  nonce: number;
  expiry: number;
  subscription: SubscriptionStruct;
  v: number;
  r: Hex;
  s: Hex;
  data: PyValue;
  client: string;
  state: DelegatedState;
  interval: number | null;
  attempts: number;
  input: Hex | null;
  output: Hex | null;
  proof: Hex | null;
  txNonce: number | null;
  txHash: Hex | null;
  subscriptionId: number | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type DelegatedUpdate = Partial<
  Pick<
    DelegatedRecord,
    | "state"
    | "interval"
    | "attempts"
    | "input"
    | "output"
    | "proof"
    | "txNonce"
    | "txHash"
    | "subscriptionId"
    | "error"
  >
>;

const DELEGATED_COLUMNS: Record<keyof DelegatedUpdate, string> = {
  state: "state",
  interval: "interval",
  attempts: "attempts",
  input: "input",
  output: "output",
  proof: "proof",
  txNonce: "tx_nonce",
  txHash: "tx_hash",
  subscriptionId: "subscription_id",
  error: "error",
};

interface DelegatedRow {
  owner: string;
  nonce: number;
  expiry: number;
  subscription: string;
  v: number;
  r: string;
  s: string;
  data: string;
  client: string;
  state: string;
  interval: number | null;
  attempts: number;
  input: string | null;
  output: string | null;
  proof: string | null;
  tx_nonce: number | null;
  tx_hash: string | null;
  subscription_id: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toDelegated(r: DelegatedRow): DelegatedRecord {
  const sub = JSON.parse(r.subscription) as Record<string, unknown>;
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    owner: r.owner as Address,
    nonce: Number(r.nonce),
    expiry: Number(r.expiry),
    subscription: { ...sub, paymentAmount: BigInt(sub.paymentAmount as string) } as SubscriptionStruct,
    v: Number(r.v),
    r: r.r as Hex,
    s: r.s as Hex,
    data: parsePythonJson(r.data),
    client: r.client,
    state: r.state as DelegatedState,
    interval: num(r.interval),
    attempts: Number(r.attempts),
    input: r.input as Hex | null,
    output: r.output as Hex | null,
    proof: r.proof as Hex | null,
    txNonce: num(r.tx_nonce),
    txHash: r.tx_hash as Hex | null,
    subscriptionId: num(r.subscription_id),
    error: r.error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export class DelegatedStore {
  constructor(readonly db: Database) {}

  /** Records a delegated subscription; a second post of the same (owner, nonce) starts it over unless delivered. */
  put(
    d: Pick<
      DelegatedRecord,
      "owner" | "nonce" | "expiry" | "subscription" | "v" | "r" | "s" | "data" | "client"
    >,
    state: DelegatedState,
    error: string | null,
  ): DelegatedRecord {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO delegated (owner, nonce, expiry, subscription, v, r, s, data, client, state, error, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (owner, nonce) DO UPDATE SET state = excluded.state, error = excluded.error,
           attempts = 0, updated_at = excluded.updated_at
         WHERE delegated.state IN ('refused', 'failed', 'expired')`,
      )
      .run(
        d.owner.toLowerCase(),
        d.nonce,
        d.expiry,
        JSON.stringify({ ...d.subscription, paymentAmount: d.subscription.paymentAmount.toString() }),
        d.v,
        d.r,
        d.s,
        pythonJsonDumps(d.data),
        d.client,
        state,
        error,
        now,
        now,
      );
    return this.get(d.owner, d.nonce)!;
  }

  get(owner: Address, nonce: number): DelegatedRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM delegated WHERE owner = ? AND nonce = ?")
      .get(owner.toLowerCase(), nonce) as DelegatedRow | undefined;
    return row && toDelegated(row);
  }

  open(): DelegatedRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM delegated WHERE state IN ('tracking', 'ran', 'sending') ORDER BY created_at")
      .all() as unknown as DelegatedRow[];
    return rows.map(toDelegated);
  }

  update(owner: Address, nonce: number, update: DelegatedUpdate): DelegatedRecord {
    const keys = (Object.keys(update) as (keyof DelegatedUpdate)[]).filter((k) => update[k] !== undefined);
    const sets = keys.map((k) => `${DELEGATED_COLUMNS[k]} = ?`);
    const values = keys.map((k) => update[k] as string | number | null);
    this.db
      .prepare(`UPDATE delegated SET ${[...sets, "updated_at = ?"].join(", ")} WHERE owner = ? AND nonce = ?`)
      .run(...values, Date.now(), owner.toLowerCase(), nonce);
    return this.get(owner, nonce)!;
  }

  pending(): number {
    const row = this.db
      .prepare("SELECT count(*) AS n FROM delegated WHERE state IN ('tracking', 'ran', 'sending')")
      .get() as { n: number };
    return Number(row.n);
  }
}
