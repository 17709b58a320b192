/**
 * The node's part in federated jobs (`FederatedJobs`): a participant trains the current global
 * model on its private shard and commits, then reveals, its update, serving the update's bytes
 * over HTTP once revealed; a validator on a round's committee fetches every revealed update,
 * checks it against its on-chain hash, scores it and the round's base model on its held-out set,
 * and commits, then reveals, the scores; anyone finalizes a round once it is over. Both roles keep
 * the global model of every round with `FederatedModels`: round 0's is the job's initial model,
 * round r+1's the integer FedAvg of round r's included updates (round r's if none was included).
 *
 * Each role is driven by `tick()`: it reads the job's phase from the chain and does what is due
 * (nothing when nothing is). What a commitment needs to be revealed (the update bytes, the salt,
 * the scores) is written to the role's state directory before the commit is sent, so a restarted
 * node reveals what it committed.
 */
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import {
  bytesToHex,
  getAddress,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { federatedJobsAbi } from "@poai/sdk";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  fedAvg,
  localSeed,
  localUpdate,
  modelHash,
  scoreCommitment,
  scoreModel,
  updateCommitment,
  type BackendKind,
  type DatasetData,
  type TrainingSpec,
} from "@poai/sdk/compute";

export const FED_STATE = { None: 0, Open: 1, Completed: 2, Cancelled: 3 } as const;

/** The HTTP path a participant serves its update of `round` of `jobId` at. */
export const updatePath = (jobId: bigint, round: bigint) => `/federated/${jobId}/${round}/update`;

/** What a federated role talks to. */
export interface FederatedChain {
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  /** The FederatedJobs contract. */
  address: Address;
}

export interface FederatedJobRef {
  jobId: bigint;
  /** The job's engine spec (steps = checkpointInterval: one local segment per round). */
  spec: TrainingSpec;
  /** The round-0 global model (its hash is the job's `initialModel`). */
  initial: Int16Array;
  /** Where each participant serves its updates (base URL). */
  endpointOf: (participant: Address) => string;
}

type JobView = Awaited<ReturnType<typeof readJob>>;

async function readJob(chain: FederatedChain, jobId: bigint) {
  return chain.publicClient.readContract({
    address: chain.address,
    abi: federatedJobsAbi,
    functionName: "getJob",
    args: [jobId],
  });
}

async function readRound(chain: FederatedChain, jobId: bigint, round: bigint) {
  return chain.publicClient.readContract({
    address: chain.address,
    abi: federatedJobsAbi,
    functionName: "getRound",
    args: [jobId, round],
  });
}

async function now(chain: FederatedChain): Promise<bigint> {
  return (await chain.publicClient.getBlock()).timestamp;
}

/** The phase (0..3, 4 once over) the current round of `job` is in at `t`; -1 before it opens. */
function phaseOf(job: JobView, roundStart: bigint, t: bigint): number {
  const p = BigInt(job.terms.phase);
  const skipped = job.round === job.terms.rounds ? 2 : 0;
  if (t < roundStart) return -1;
  return Math.min(4, Number((t - roundStart) / p) + skipped);
}

async function send(
  chain: FederatedChain,
  functionName:
    "commitUpdate" | "revealUpdate" | "commitScores" | "revealScores" | "finalizeRound" | "fixSeed",
  args: readonly unknown[],
): Promise<Hex> {
  const { request } = await chain.publicClient.simulateContract({
    address: chain.address,
    abi: federatedJobsAbi,
    functionName,
    args: args as never,
    account: chain.wallet.account,
  });
  const hash = await chain.wallet.writeContract(request as never);
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted in ${hash}`);
  return hash;
}

/** Fetches participant `who`'s update of `round` and checks it against `expected` (its on-chain hash). */
export async function fetchUpdate(
  ref: FederatedJobRef,
  who: Address,
  round: bigint,
  expected: Hex,
): Promise<Int16Array> {
  const url = new URL(updatePath(ref.jobId, round), ref.endpointOf(who)).toString();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return decodeCheckpoint(ref.spec, bytes, expected).weights;
}

/** The global model of every round of a job, recomputed from the chain and the served updates. */
export class FederatedModels {
  private readonly models = new Map<bigint, Int16Array>();

  constructor(
    private readonly chain: FederatedChain,
    private readonly ref: FederatedJobRef,
  ) {
    this.models.set(0n, ref.initial);
  }

  /** The global model round `round` starts from (every earlier round must be finalized). */
  async at(round: bigint): Promise<Int16Array> {
    const have = this.models.get(round);
    if (have) return have;
    const previous = await this.at(round - 1n);
    const job = await readJob(this.chain, this.ref.jobId);
    const r = await readRound(this.chain, this.ref.jobId, round - 1n);
    if (!r.finalized) throw new Error(`round ${round - 1n} of job ${this.ref.jobId} is not finalized`);
    const included = r.updates.flatMap((u, i) => (u.included ? [i] : []));
    let model = previous;
    if (included.length > 0) {
      const updates = [];
      for (const i of included) {
        const p = job.participants[i];
        const weights = await fetchUpdate(this.ref, p.operator, round - 1n, r.updates[i].updateHash);
        updates.push({ weights, samples: p.samples });
      }
      model = fedAvg(updates);
    }
    this.models.set(round, model);
    return model;
  }
}

function readState<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
}

function writeState(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
}

export interface ParticipantOptions {
  chain: FederatedChain;
  job: FederatedJobRef;
  /** The private shard (its train part is what is trained on). */
  shard: DatasetData;
  /** Where commitments' openings are kept across restarts. */
  stateDir: string;
  backend?: BackendKind;
  /** A dishonest participant's data (e.g. flipped labels): trained instead of `shard`. */
  trainOn?: DatasetData;
  /** Called after each local training with its duration. */
  onTrained?: (round: bigint, seconds: number) => void;
}

/** A participant of one federated job. */
export class FederatedParticipant {
  readonly address: Address;
  private server?: Server;
  private readonly models: FederatedModels;

  constructor(private readonly o: ParticipantOptions) {
    this.address = getAddress(o.chain.wallet.account.address);
    this.models = new FederatedModels(o.chain, o.job);
  }

  private file(round: bigint) {
    return path.join(this.o.stateDir, `federated-${this.o.job.jobId}-${round}.json`);
  }

  /** Serves this participant's revealed updates over HTTP on `port` (0: any); returns the base URL. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    this.server = createServer((req, res) => {
      const m = /^\/federated\/(\d+)\/(\d+)\/update$/.exec(req.url ?? "");
      const saved =
        m && BigInt(m[1]) === this.o.job.jobId ? readState<Saved>(this.file(BigInt(m[2]))) : undefined;
      // An update is served only once revealed: before that, its bytes would let others copy it.
      if (!saved || !saved.revealed) {
        res.writeHead(404).end();
        return;
      }
      const bytes = Buffer.from(saved.bytes.slice(2), "hex");
      res
        .writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
        .end(bytes);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("the update server has no port");
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Does what the current phase asks of this participant; returns what it did. */
  async tick(): Promise<string | undefined> {
    const { chain, job: ref } = this.o;
    const job = await readJob(chain, ref.jobId);
    if (job.state !== FED_STATE.Open || job.round >= job.terms.rounds) return undefined;
    const round = BigInt(job.round);
    const phase = phaseOf(job, job.roundStart, await now(chain));
    const file = this.file(round);
    let saved = readState<Saved>(file);
    if (phase === 0 && saved === undefined) {
      const global = await this.models.at(round);
      const started = performance.now();
      const weights = await localUpdate(
        ref.spec,
        this.o.trainOn ?? this.o.shard,
        global,
        localSeed(ref.jobId, job.round, this.address),
        { backend: this.o.backend },
      );
      this.o.onTrained?.(round, (performance.now() - started) / 1000);
      const hash = modelHash(ref.spec, weights);
      saved = {
        hash,
        salt: bytesToHex(randomBytes(32)),
        bytes: bytesToHex(encodeCheckpoint(ref.spec, { step: 0, weights })),
        revealed: false,
      };
      // Written before the commit: a restart still reveals what was committed.
      writeState(file, saved);
      await send(chain, "commitUpdate", [
        ref.jobId,
        updateCommitment(ref.jobId, round, this.address, saved.hash, saved.salt),
      ]);
      return `committed update ${hash.slice(0, 10)} for round ${round}`;
    }
    if (phase === 1 && saved !== undefined && !saved.revealed) {
      const r = await readRound(chain, ref.jobId, round);
      const index = job.participants.findIndex((p) => getAddress(p.operator) === this.address);
      if (index >= 0 && r.updates[index].committed && !r.updates[index].revealed) {
        await send(chain, "revealUpdate", [ref.jobId, saved.hash, saved.salt]);
      }
      writeState(file, { ...saved, revealed: true });
      return `revealed update for round ${round}`;
    }
    return undefined;
  }
}

interface Saved {
  hash: Hex;
  salt: Hex;
  bytes: Hex;
  revealed: boolean;
}

export interface ScorerOptions {
  chain: FederatedChain;
  job: FederatedJobRef;
  /** The held-out set (its eval part) this validator scores on. */
  heldOut: DatasetData;
  stateDir: string;
  backend?: BackendKind;
  /** Finalize a round once it is over (anyone may; validators do by default). */
  finalize?: boolean;
}

interface SavedScores {
  base: Hex;
  baseScore: number;
  scores: number[];
  salt: Hex;
  revealed: boolean;
}

/** A validator's part in one federated job: scoring on the rounds' committees, and finalizing. */
export class FederatedScorer {
  readonly address: Address;
  private readonly models: FederatedModels;
  /** Held-out accuracy of every model this scorer evaluated, by hash. */
  readonly accuracy = new Map<Hex, number>();

  constructor(private readonly o: ScorerOptions) {
    this.address = getAddress(o.chain.wallet.account.address);
    this.models = new FederatedModels(o.chain, o.job);
  }

  private file(round: bigint) {
    return path.join(this.o.stateDir, `federated-scores-${this.o.job.jobId}-${round}.json`);
  }

  private async score(weights: Int16Array): Promise<number> {
    const hash = modelHash(this.o.job.spec, weights);
    const known = this.accuracy.get(hash);
    if (known !== undefined) return known;
    const s = await scoreModel(this.o.job.spec, this.o.heldOut, weights, { backend: this.o.backend });
    this.accuracy.set(hash, s.accuracyBps);
    return s.accuracyBps;
  }

  async tick(): Promise<string | undefined> {
    const { chain, job: ref } = this.o;
    const job = await readJob(chain, ref.jobId);
    if (job.state !== FED_STATE.Open) return undefined;
    const round = BigInt(job.round);
    const phase = phaseOf(job, job.roundStart, await now(chain));
    const file = this.file(round);
    const saved = readState<SavedScores>(file);
    if (phase === 2 && saved === undefined) {
      await send(chain, "fixSeed", [ref.jobId]);
      const selected = await chain.publicClient.readContract({
        address: chain.address,
        abi: federatedJobsAbi,
        functionName: "isSelected",
        args: [ref.jobId, round, this.address],
      });
      if (!selected) return undefined;
      const base = await this.models.at(round);
      const baseScore = await this.score(base);
      const scores: number[] = [];
      if (job.round < job.terms.rounds) {
        const r = await readRound(chain, ref.jobId, round);
        for (const [i, u] of r.updates.entries()) {
          if (!u.revealed) {
            scores.push(0);
            continue;
          }
          const p = job.participants[i].operator;
          // An update that cannot be fetched or does not match its hash scores 0.
          const w = await fetchUpdate(ref, p, round, u.updateHash).catch(() => undefined);
          scores.push(w === undefined ? 0 : await this.score(w));
        }
      }
      const s: SavedScores = {
        base: modelHash(ref.spec, base),
        baseScore,
        scores,
        salt: bytesToHex(randomBytes(32)),
        revealed: false,
      };
      writeState(file, s);
      await send(chain, "commitScores", [
        ref.jobId,
        scoreCommitment(ref.jobId, round, this.address, s.base, s.baseScore, s.scores, s.salt),
      ]);
      return `committed scores for round ${round}: base ${baseScore}, updates ${scores.join(", ")}`;
    }
    if (phase === 3 && saved !== undefined && !saved.revealed) {
      await send(chain, "revealScores", [ref.jobId, saved.base, saved.baseScore, saved.scores, saved.salt]);
      writeState(file, { ...saved, revealed: true });
      return `revealed scores for round ${round}`;
    }
    if (phase === 4 && (this.o.finalize ?? true)) {
      await send(chain, "finalizeRound", [ref.jobId]);
      return `finalized round ${round}`;
    }
    return undefined;
  }
}
