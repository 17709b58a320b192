/**
 * The validator daemon and its audit. The test plays the trainer itself (trains with the engine,
 * submits through the SDK, serves checkpoints with `checkpointRoutes` or with a hostile server of
 * its own), so that honest, forged and hostile runs are served on purpose.
 */
import { expect } from "chai";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { gzipSync } from "node:zlib";
import {
  createPublicClient,
  custom,
  decodeFunctionData,
  encodeAbiParameters,
  getAddress,
  keccak256,
  toFunctionSelector,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import {
  PoAIInputError,
  TOP_UP_BANDS,
  bandCommitStart,
  challengeId,
  challengeManagerAbi,
  committeeBandIn,
  createPoAIClient,
  getRoundCommitteeInputs,
  isSelected,
  ownSamples,
  type PoAIClient,
  type PreparedVerdict,
} from "../../sdk/src/index.js";
import {
  byteTreeRoot,
  commitCheckpoints,
  encodeCheckpoint,
  evaluate,
  replaySegment,
  train,
  type Checkpoint,
  type RunCommitment,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import {
  CHECKPOINT_HASH_HEADER,
  MERKLE_PROOF_HEADER,
  NEXT_HASH_HEADER,
  NEXT_PROOF_HEADER,
  NEXT_ROOT_HEADER,
  PARAMETER_ROOT_HEADER,
  checkpointRoutes,
  serve,
  type CheckpointSource,
  type FetchFailureKind,
  type RunningServer,
} from "../../node/src/daemon/index.js";
import {
  ValidatorDaemon,
  auditChallenge,
  type AuditResult,
  type ChallengeToAudit,
  type FetchFailure,
  type ValidatorDaemonOptions,
} from "../../node/src/verifier/index.js";
import {
  DAEMON_SPEC,
  DAEMON_SPEC_PARAMS,
  EPOCH,
  daemonWorld,
  type DaemonWorld,
  type Operator,
} from "../fixtures/daemons.js";

// =================================================================================================
// The trainer's side, played by the test
// =================================================================================================

const SEED = keccak256(new TextEncoder().encode("validator test seed"));
const ID = keccak256(new TextEncoder().encode("validator test challenge"));
const SEGMENTS = DAEMON_SPEC.steps / DAEMON_SPEC.checkpointInterval;

/** A run as a trainer commits and serves it: the bytes of every checkpoint and their tree. */
interface Run {
  spec: TrainingSpec;
  seed: Hex;
  checkpoints: Checkpoint[];
  /** What is committed and served for each index (usually the encoding of `checkpoints[i]`). */
  bytes: Uint8Array[];
  commitment: RunCommitment;
  root: Hex;
  /** Accuracy of the last checkpoint. */
  scoreBps: number;
}

async function honestCheckpoints(spec: TrainingSpec, seed: Hex): Promise<Checkpoint[]> {
  const checkpoints: Checkpoint[] = [];
  await train(spec, seed, { backend: "js", onCheckpoint: (r) => void checkpoints.push(r.checkpoint) });
  return checkpoints;
}

/** Commits `checkpoints` (or the raw `bytes` given for some indexes) like a trainer would. */
async function commitRun(
  spec: TrainingSpec,
  seed: Hex,
  checkpoints: Checkpoint[],
  rawBytes: Record<number, Uint8Array> = {},
): Promise<Run> {
  const bytes = checkpoints.map((c, i) => rawBytes[i] ?? encodeCheckpoint(spec, c));
  const commitment = commitCheckpoints(bytes);
  const last = checkpoints[checkpoints.length - 1];
  const scoreBps = (await evaluate(spec, seed, last, { backend: "js" })).accuracyBps;
  return { spec, seed, checkpoints, bytes, commitment, root: commitment.root, scoreBps };
}

/**
 * A checkpoint the run never produced: every parameter moved by up to ±2000 (a change of one unit
 * can vanish in the engine's shifts, and then the altered run replays as well as the honest one).
 */
function tampered(c: Checkpoint): Checkpoint {
  const weights = c.weights.map((x, j) => Math.max(-32_767, Math.min(32_767, x + 1000 * ((j % 5) - 2))));
  return { step: c.step, weights };
}

/**
 * A run forged from checkpoint `from` on: checkpoint `from` is tampered and training continues
 * honestly from it, so exactly segment `from - 1` does not replay.
 */
async function forgedFrom(spec: TrainingSpec, seed: Hex, honest: Checkpoint[], from: number) {
  const checkpoints = honest.slice(0, from);
  checkpoints.push(tampered(honest[from]));
  for (let i = from; i < honest.length - 1; i++) {
    checkpoints.push(await replaySegment(spec, seed, i, checkpoints[i], { backend: "js" }));
  }
  return checkpoints;
}

/** Every checkpoint after 0 tampered: no segment replays. */
function forgedEverywhere(honest: Checkpoint[]): Checkpoint[] {
  return honest.map((c, i) => (i === 0 ? c : tampered(c)));
}

/** The checkpoint server's view of a run. */
function sourceOf(id: Hex, run: Run, round = 1n): CheckpointSource {
  return {
    run: (wanted) =>
      wanted === id.toLowerCase()
        ? {
            id: wanted,
            round: String(round),
            specId: keccak256("0x00"),
            root: run.root,
            checkpoints: run.bytes.length,
          }
        : undefined,
    checkpoint: (_id, index) => ({
      bytes: run.bytes[index],
      hash: keccak256(run.bytes[index]),
      parameterRoot: run.commitment.parameterRoots[index],
      proof: run.commitment.proof(index),
    }),
  };
}

/** A server with a handler of its own (hostile behaviour the protocol routes never show). */
async function rawServer(
  handler: (req: IncomingMessage, res: ServerResponse, index: number) => void,
): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const match = /\/checkpoints\/(\d+)$/.exec(req.url ?? "");
    handler(req, res, match ? Number(match[1]) : -1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Answers like an honest checkpoint server, with `body` and `proof` replaceable (the hash header is
 * the body's; a HEAD request gets the headers only, as Node sends no body for HEAD).
 */
function answer(res: ServerResponse, run: Run, index: number, body = run.bytes[index], proof?: string) {
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": String(body.length),
    [CHECKPOINT_HASH_HEADER]: keccak256(body),
    [PARAMETER_ROOT_HEADER]: byteTreeRoot(body),
    [MERKLE_PROOF_HEADER]: proof ?? run.commitment.proof(index).join(","),
  });
  res.end(body);
}

// =================================================================================================
// Helpers
// =================================================================================================

/** Fails if `p` has not settled after `ms` (a hostile server must never hold the audit). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

async function mined(client: PoAIClient, hash: Promise<Hash | undefined>): Promise<void> {
  const h = await hash;
  if (h !== undefined) await client.waitForTransaction(h);
}

// =================================================================================================
// auditChallenge against honest, forged and hostile trainers
// =================================================================================================

describe("auditChallenge", function () {
  this.timeout(60_000);
  let honest: Checkpoint[];
  let run: Run;
  const servers: RunningServer[] = [];

  before(async () => {
    honest = await honestCheckpoints(DAEMON_SPEC, SEED);
    run = await commitRun(DAEMON_SPEC, SEED, honest);
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const started = async (s: Promise<RunningServer>) => {
    const server = await s;
    servers.push(server);
    return server;
  };

  /** Audits `r` served at `endpoint`, collecting every failed fetch attempt. */
  async function audit(
    endpoint: string,
    samples: readonly number[],
    r: Run = run,
    options: { timeoutMs?: number; attempts?: number } = {},
  ): Promise<AuditResult & { failures: FetchFailure[] }> {
    const failures: FetchFailure[] = [];
    const result = await within(
      auditChallenge({
        spec: r.spec,
        seed: r.seed,
        id: ID,
        root: r.root,
        endpoint,
        samples,
        backend: "js",
        timeoutMs: options.timeoutMs ?? 2_000,
        attempts: options.attempts ?? 2,
        onFetchFailure: (f) => failures.push(f),
      }),
      20_000,
      "the audit",
    );
    return { ...result, failures };
  }

  const kinds = (failures: FetchFailure[]) => [...new Set(failures.map((f) => f.kind))];

  describe("honest runs", () => {
    it("judges an honest run Valid with the accuracy evaluate measures", async () => {
      const server = await started(serve(checkpointRoutes(sourceOf(ID, run))));
      const result = await audit(server.url, [3, 7, 12, 19]);
      expect(result.verdict, result.reason).to.equal("Valid");
      expect(result.measuredScoreBps).to.equal(run.scoreBps);
      expect(result.segmentsReplayed).to.equal(4);
      // checkpoints 0, 3, 7, 12, 19 and 20 whole (20, the last segment's end, is the final
      // checkpoint); of the segments' ends 4, 8 and 13 only the proven hashes
      expect(result.checkpointsFetched).to.equal(6);
      expect(result.hashesFetched).to.equal(3);
      expect(result.bytesFetched).to.equal(6 * run.bytes[0].length);
      expect(result.failures).to.deep.equal([]);
    });

    it("fetches a checkpoint shared by two samples once and ignores duplicate samples", async () => {
      let requests = 0;
      const server = await started(
        rawServer((_req, res, index) => {
          requests++;
          answer(res, run, index);
        }),
      );
      const result = await audit(server.url, [4, 5, 5, 4]);
      expect(result.verdict, result.reason).to.equal("Valid");
      expect(result.segmentsReplayed).to.equal(2);
      expect(requests).to.equal(5); // 0, 4, 5 (whole: it starts a segment), 20, and 6's hash
      expect(result.hashesFetched).to.equal(1);
    });

    it("takes a segment end's hash from the start checkpoint's next-hash headers: one request per sampled segment", async () => {
      const methods: string[] = [];
      const withNext = (
        req: IncomingMessage,
        res: ServerResponse,
        index: number,
        next: (i: number) => string,
      ) => {
        methods.push(`${req.method} ${index}`);
        const body = run.bytes[index];
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": String(body.length),
          [CHECKPOINT_HASH_HEADER]: keccak256(body),
          [PARAMETER_ROOT_HEADER]: run.commitment.parameterRoots[index],
          [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(","),
          ...(index + 1 < run.bytes.length && {
            [NEXT_HASH_HEADER]: next(index + 1),
            [NEXT_ROOT_HEADER]: run.commitment.parameterRoots[index + 1],
            [NEXT_PROOF_HEADER]: run.commitment.proof(index + 1).join(","),
          }),
        });
        res.end(body);
      };
      const honestNext = await started(
        rawServer((req, res, index) => withNext(req, res, index, (i) => keccak256(run.bytes[i]))),
      );
      const result = await audit(honestNext.url, [3, 7, 12]);
      expect(result.verdict, result.reason).to.equal("Valid");
      expect(result.hashesFetched).to.equal(3);
      expect(methods.filter((m) => m.startsWith("HEAD"))).to.deep.equal([]);
      expect(methods.sort()).to.deep.equal(["GET 0", "GET 12", "GET 20", "GET 3", "GET 7"]);
      // A next hash that is not the committed one is ignored: the end's hash is asked for itself.
      methods.length = 0;
      const lyingNext = await started(
        rawServer((req, res, index) =>
          req.method === "HEAD"
            ? (methods.push(`HEAD ${index}`), answer(res, run, index))
            : withNext(req, res, index, () => keccak256("0x01")),
        ),
      );
      const fallback = await audit(lyingNext.url, [3, 7, 12]);
      expect(fallback.verdict, fallback.reason).to.equal("Valid");
      expect(methods.filter((m) => m.startsWith("HEAD")).sort()).to.deep.equal([
        "HEAD 13",
        "HEAD 4",
        "HEAD 8",
      ]);
      // The trainer daemon's own server sends the next hash: see the routes' source.
      const served = await started(serve(checkpointRoutes(sourceOf(ID, run))));
      expect((await audit(served.url, [3])).verdict).to.equal("Valid");
    });

    it("retries a checkpoint whose first request failed and still judges the run Valid", async () => {
      const seen = new Set<number>();
      const server = await started(
        rawServer((_req, res, index) => {
          if (!seen.has(index)) {
            seen.add(index);
            res.writeHead(500).end("try again");
            return;
          }
          answer(res, run, index);
        }),
      );
      const result = await audit(server.url, [2, 9]);
      expect(result.verdict, result.reason).to.equal("Valid");
      expect(result.measuredScoreBps).to.equal(run.scoreBps);
      expect(kinds(result.failures)).to.deep.equal(["status"]);
    });
  });

  describe("forged runs", () => {
    it("judges Invalid the sampled segment of a committed run that does not replay", async () => {
      const forged = await commitRun(DAEMON_SPEC, SEED, await forgedFrom(DAEMON_SPEC, SEED, honest, 8));
      const server = await started(serve(checkpointRoutes(sourceOf(ID, forged))));
      const caught = await audit(server.url, [3, 7, 12], forged);
      expect(caught.verdict, caught.reason).to.equal("Invalid");
      expect(caught.segment).to.equal(7);
      expect(caught.reason).to.match(/segment 7 does not replay/);
      // Segments the forgery spares replay: a committee member that did not sample 7 sees a valid run.
      const missed = await audit(server.url, [3, 12], forged);
      expect(missed.verdict, missed.reason).to.equal("Valid");
    });

    it("judges Invalid a run whose committed checkpoint 0 is not the seed's initial parameters", async () => {
      const checkpoints = honest.map((c) => c);
      checkpoints[0] = tampered(honest[0]);
      const forged = await commitRun(DAEMON_SPEC, SEED, checkpoints);
      const server = await started(serve(checkpointRoutes(sourceOf(ID, forged))));
      const result = await audit(server.url, [10], forged);
      expect(result.verdict, result.reason).to.equal("Invalid");
      expect(result.segment).to.equal(0);
      expect(result.reason).to.match(/initial parameters/);
    });

    it("judges Invalid a committed checkpoint at the wrong step for its index", async () => {
      const raw = { 5: encodeCheckpoint(DAEMON_SPEC, { step: 60, weights: honest[5].weights }) };
      const forged = await commitRun(DAEMON_SPEC, SEED, honest, raw);
      const server = await started(serve(checkpointRoutes(sourceOf(ID, forged))));
      const result = await audit(server.url, [5, 11], forged);
      expect(result.verdict, result.reason).to.equal("Invalid");
      expect(result.segment).to.equal(5);
      expect(result.reason).to.match(/step 60, not 50/);
    });

    it("judges Invalid a committed checkpoint that does not decode (malformed, proven under the root)", async () => {
      const bytes = encodeCheckpoint(DAEMON_SPEC, honest[9]);
      bytes[8] = 0x00; // parameter 0 becomes -32768, outside the engine's range
      bytes[9] = 0x80;
      const forged = await commitRun(DAEMON_SPEC, SEED, honest, { 9: bytes });
      const server = await started(serve(checkpointRoutes(sourceOf(ID, forged))));
      const result = await audit(server.url, [9], forged);
      expect(result.verdict, result.reason).to.equal("Invalid");
      expect(result.segment).to.equal(9);
      expect(kinds(result.failures)).to.deep.equal(["malformed"]);
      // A malformed checkpoint is asked for once: the committed bytes cannot change.
      expect(result.failures).to.have.length(1);
      // As the end of a sampled segment only its hash is asked for: segment 8 does not replay to it.
      const asEnd = await audit(server.url, [8], forged);
      expect(asEnd.verdict, asEnd.reason).to.equal("Invalid");
      expect(asEnd.segment).to.equal(8);
      expect(asEnd.failures).to.deep.equal([]);
    });

    it("prefers fraud evidence to unavailability: a withheld checkpoint does not hide a forged segment", async () => {
      const forged = await commitRun(DAEMON_SPEC, SEED, await forgedFrom(DAEMON_SPEC, SEED, honest, 15));
      const server = await started(
        rawServer((_req, res, index) => {
          if (index === 3) res.writeHead(404).end("gone");
          else answer(res, forged, index);
        }),
      );
      const result = await audit(server.url, [2, 14], forged);
      expect(result.verdict, result.reason).to.equal("Invalid");
      expect(result.segment).to.equal(14);
    });
  });

  describe("hostile trainers: Unavailable, never Invalid, never a crash", () => {
    /** Serves the honest run badly in one way at every checkpoint (or only at `index`). */
    async function hostile(
      behave: (res: ServerResponse, index: number, req: IncomingMessage) => void,
      options: { timeoutMs?: number; attempts?: number; samples?: number[]; honestHead?: boolean } = {},
    ) {
      const server = await started(
        rawServer((req, res, index) =>
          options.honestHead && req.method === "HEAD" ? answer(res, run, index) : behave(res, index, req),
        ),
      );
      const result = await audit(server.url, options.samples ?? [4, 11], run, options);
      expect(result.verdict, result.reason).to.equal("Unavailable");
      return result;
    }

    it("refuses a body larger than the spec's checkpoint, declared or streamed", async () => {
      const big = new Uint8Array(run.bytes[0].length + 1);
      const declared = await hostile((res, index) => answer(res, run, index, big), { honestHead: true });
      expect(kinds(declared.failures)).to.deep.equal(["oversized"]);
      const streamed = await hostile(
        (res, index) => {
          res.writeHead(200, { [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(",") });
          const chunk = new Uint8Array(256);
          const more = () => {
            if (res.writableEnded || res.destroyed) return;
            if (res.write(chunk)) setImmediate(more);
            else res.once("drain", more);
          };
          more();
        },
        { honestHead: true },
      );
      expect(kinds(streamed.failures)).to.deep.equal(["oversized"]);
    });

    it("refuses a compressed body that inflates past the spec's checkpoint size", async () => {
      const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
      const result = await hostile(
        (res, index) => {
          res.writeHead(200, {
            "content-encoding": "gzip",
            "content-length": String(bomb.length),
            [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(","),
          });
          res.end(bomb);
        },
        { honestHead: true },
      );
      expect(kinds(result.failures)).to.deep.equal(["oversized"]);
    });

    it("refuses a truncated body, short or cut off mid-stream", async () => {
      const short = await hostile(
        (res, index) => answer(res, run, index, run.bytes[index].subarray(0, 100)),
        { honestHead: true },
      );
      expect(kinds(short.failures)).to.deep.equal(["unproven"]);
      const cut = await hostile(
        (res, index) => {
          res.writeHead(200, {
            "content-length": String(run.bytes[index].length),
            [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(","),
          });
          res.write(run.bytes[index].subarray(0, 100));
          setTimeout(() => res.destroy(), 20);
        },
        { honestHead: true },
      );
      expect(cut.failures.length).to.be.greaterThan(0);
    });

    it("refuses garbage bytes of the right size, and another checkpoint's bytes (wrong hash)", async () => {
      const garbage = await hostile(
        (res, index) => answer(res, run, index, new Uint8Array(run.bytes[index].length).fill(7)),
        { honestHead: true },
      );
      expect(kinds(garbage.failures)).to.deep.equal(["unproven"]);
      const swapped = await hostile(
        (res, index) => answer(res, run, index, run.bytes[(index + 1) % run.bytes.length]),
        { honestHead: true },
      );
      expect(kinds(swapped.failures)).to.deep.equal(["unproven"]);
    });

    it("refuses a bad proof header: not hex, too long, or another checkpoint's proof", async () => {
      for (const proof of [
        () => "not-a-proof",
        () => Array.from({ length: 40 }, () => `0x${"ab".repeat(32)}`).join(","),
        (index: number) => run.commitment.proof((index + 1) % run.bytes.length).join(","),
      ]) {
        const result = await hostile(
          (res, index) => answer(res, run, index, run.bytes[index], proof(index)),
          { honestHead: true },
        );
        expect(kinds(result.failures)).to.deep.equal(["unproven"]);
      }
    });

    it("gives up on a server that never answers, or answers headers then stalls, within the timeout", async () => {
      const options = { timeoutMs: 300, attempts: 2 };
      const silent = await hostile(() => undefined, options);
      expect(kinds(silent.failures)).to.deep.equal(["timeout"]);
      expect(silent.reason).to.match(/timeout/);
      const stalled = await hostile(
        (res, index) => {
          res.writeHead(200, {
            "content-length": String(run.bytes[index].length),
            [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(","),
          });
          res.write(run.bytes[index].subarray(0, 10));
        },
        { ...options, honestHead: true },
      );
      expect(kinds(stalled.failures)).to.deep.equal(["timeout"]);
    });

    it("judges Unavailable on HTTP 404 and 500, after the bounded retries", async () => {
      const missing = await hostile((res) => res.writeHead(404).end("no such run"));
      expect(kinds(missing.failures)).to.deep.equal(["status"]);
      const broken = await hostile((res) => res.writeHead(500).end("boom"), { attempts: 3 });
      expect(kinds(broken.failures)).to.deep.equal(["status"]);
      // every needed checkpoint (0, 4, 5, 11, 12, 20) was asked for 3 times
      expect(broken.failures).to.have.length(6 * 3);
    });

    it("refuses a segment end's hash that is missing, malformed, another checkpoint's, unproven or oversized", async () => {
      const head = (behave: (res: ServerResponse, index: number) => void) =>
        hostile((res, index, req) => (req.method === "HEAD" ? behave(res, index) : answer(res, run, index)));
      const headers = (index: number, extra: Record<string, string>) => ({
        "content-length": String(run.bytes[index].length),
        [MERKLE_PROOF_HEADER]: run.commitment.proof(index).join(","),
        ...extra,
      });
      const cases: [string, (res: ServerResponse, index: number) => void, FetchFailureKind][] = [
        ["no hash", (res, index) => res.writeHead(200, headers(index, {})).end(), "unproven"],
        [
          "not hex",
          (res, index) => res.writeHead(200, headers(index, { [CHECKPOINT_HASH_HEADER]: "0xzz" })).end(),
          "unproven",
        ],
        [
          "another checkpoint's hash",
          (res, index) =>
            res
              .writeHead(
                200,
                headers(index, {
                  [CHECKPOINT_HASH_HEADER]: keccak256(run.bytes[(index + 1) % run.bytes.length]),
                }),
              )
              .end(),
          "unproven",
        ],
        [
          "another checkpoint's proof",
          (res, index) =>
            res
              .writeHead(200, {
                [CHECKPOINT_HASH_HEADER]: keccak256(run.bytes[index]),
                [MERKLE_PROOF_HEADER]: run.commitment.proof((index + 1) % run.bytes.length).join(","),
              })
              .end(),
          "unproven",
        ],
        [
          "oversized",
          (res, index) =>
            res
              .writeHead(200, {
                ...headers(index, { [CHECKPOINT_HASH_HEADER]: keccak256(run.bytes[index]) }),
                "content-length": String(run.bytes[index].length + 1),
              })
              .end(),
          "oversized",
        ],
        ["gone", (res) => res.writeHead(410).end(), "status"],
      ];
      for (const [what, behave, kind] of cases) {
        const result = await head(behave);
        expect(kinds(result.failures), what).to.deep.equal([kind]);
        expect(result.segmentsReplayed, what).to.equal(0);
      }
    });

    it("judges Unavailable when only one sampled checkpoint is withheld", async () => {
      const result = await hostile((res, index) =>
        index === 12 ? res.writeHead(410).end("pruned") : answer(res, run, index),
      );
      expect(result.reason).to.match(/checkpoint 12/);
      expect(result.segmentsReplayed).to.equal(1);
    });

    it("judges Unavailable for an endpoint that is not a URL, refuses connections, or redirects", async () => {
      for (const endpoint of ["not a url", "file:///etc/passwd", "http://127.0.0.1:1"]) {
        const result = await audit(endpoint, [1]);
        expect(result.verdict, endpoint).to.equal("Unavailable");
        expect(kinds(result.failures), endpoint).to.deep.equal(["unreachable"]);
      }
      const honestServer = await started(serve(checkpointRoutes(sourceOf(ID, run))));
      const redirect = await started(
        rawServer((req, res) => res.writeHead(302, { location: `${honestServer.url}${req.url}` }).end()),
      );
      const result = await audit(redirect.url, [1]);
      expect(result.verdict).to.equal("Unavailable");
    });
  });

  it("refuses samples outside the run and throws when the caller's signal aborts", async () => {
    const server = await started(serve(checkpointRoutes(sourceOf(ID, run))));
    const base = { spec: DAEMON_SPEC, seed: SEED, id: ID, root: run.root, endpoint: server.url };
    const bad = await rejection(auditChallenge({ ...base, samples: [SEGMENTS] }));
    expect(bad.message).to.match(/samples\[0\] must be an integer in 0\.\.19, got 20/);
    const controller = new AbortController();
    controller.abort(new Error("shutting down"));
    const aborted = await rejection(auditChallenge({ ...base, samples: [1], signal: controller.signal }));
    expect(aborted.message).to.equal("shutting down");
  });
});

// =================================================================================================
// The validator daemon on the in-process chain
// =================================================================================================

/** A trainer's submitted run, served by the test's checkpoint server. */
interface Submitted {
  id: Hex;
  round: bigint;
  run: Run;
  server: RunningServer;
}

describe("ValidatorDaemon", function () {
  this.timeout(180_000);
  let w: DaemonWorld;
  const daemons: ValidatorDaemon[] = [];
  const servers: RunningServer[] = [];

  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
    w?.cleanup();
  });

  /** Starts a validator daemon (or one of a subclass) for `validator`, on `dbPath` if given. */
  async function start<D extends ValidatorDaemon>(
    validator: Operator,
    options: Partial<ValidatorDaemonOptions> & { dbPath?: string } = {},
    create: (o: ValidatorDaemonOptions) => Promise<D> = (o) => ValidatorDaemon.create(o) as Promise<D>,
  ): Promise<D> {
    const daemon = await create({
      client: validator.client,
      dbPath: options.dbPath ?? path.join(w.tempDir("validator"), "validator.db"),
      backend: "js",
      logLevel: "silent",
      fetchTimeoutMs: 2_000,
      fetchAttempts: 2,
      rpcRetryDelayMs: 10,
      ...options,
    });
    daemons.push(daemon);
    return daemon;
  }

  /** Ticks every daemon, one after the other. */
  async function tickAll(list: ValidatorDaemon[] = daemons): Promise<void> {
    for (const d of list) await d.tick();
  }

  /** Moves the chain to `t` (seconds after `round`'s start). */
  const at = (round: bigint, offset: number) => w.advanceTo(w.roundStart(round) + BigInt(offset));

  /**
   * Plays `trainer` in the current round: trains (honestly, or forged by `forge`), serves the
   * checkpoints, registers the endpoint and submits the result.
   */
  async function submit(
    trainer: Operator,
    forge?: (honest: Checkpoint[], seed: Hex) => Promise<Checkpoint[]> | Checkpoint[],
  ): Promise<Submitted> {
    const c = trainer.client;
    const round = await c.staking.currentEpoch();
    await mined(c, c.challenges.ensureBeacon({ round }));
    const due = await c.challenges.getDueChallenge({ trainer: trainer.address });
    expect(due.due).to.equal(true);
    const spec = await c.registry.getSpec({ specId: due.specId });
    const checkpoints = await honestCheckpoints(spec, due.seed);
    const run = await commitRun(spec, due.seed, forge ? await forge(checkpoints, due.seed) : checkpoints);
    const id = challengeId(trainer.address, round);
    const server = await serve(checkpointRoutes(sourceOf(id, run, round)));
    servers.push(server);
    await mined(c, c.staking.updateMetadata({ endpoint: server.url, gpuClass: "CPU" }));
    await mined(c, c.challenges.submitResult({ resultRoot: run.root, reportedScoreBps: run.scoreBps }));
    return { id, round, run, server };
  }

  /** `operator`'s points in epoch 1, as a number of 2^-32 units (or stake units). */
  async function points(operator: Address): Promise<number> {
    return Number(await w.admin.client.challenges.getEpochPoints({ epoch: 1n, operator }));
  }

  async function commitsBy(id: Hex, validator: Address) {
    return w.validators[0].client.challenges.getEvents({
      eventName: "VerdictCommitted",
      args: { id, validator },
    });
  }

  it("commits to the beacon in the first half of a round and reveals in the second, also after a restart", async () => {
    w = await daemonWorld({ trainers: 1, validators: 1 });
    const v = w.validators[0];
    const dbPath = path.join(w.tempDir("beacon"), "validator.db");
    const first = await start(v, { dbPath, reportMissed: false });

    await at(1n, 60);
    await first.tick();
    expect(await v.client.beacon.getBeaconContribution({ round: 2n, validator: v.address })).to.deep.equal({
      committed: true,
      revealed: false,
    });
    expect(first.status().beacon).to.deep.equal({ round: 2, committed: true, revealed: false });
    await first.tick(); // nothing more to do in the commit phase
    const phase = await v.client.beacon.getBeaconPhase({ round: 2n });
    expect(phase.commits).to.equal(1);

    // The process ends between commit and reveal; a new one finds the secret on disk.
    await first.stop();
    daemons.splice(daemons.indexOf(first), 1);
    await at(1n, EPOCH / 2 + 60);
    const second = await start(v, { dbPath, reportMissed: false });
    await second.tick();
    expect(await v.client.beacon.getBeaconContribution({ round: 2n, validator: v.address })).to.deep.equal({
      committed: true,
      revealed: true,
    });
    expect(second.status().beacon).to.deep.equal({ round: 2, committed: true, revealed: true });

    await at(2n, 1);
    const ready = await v.client.beacon.getBeaconPhase({ round: 2n });
    expect(ready.phase).to.equal("ready");
    expect(ready.reveals).to.equal(1);
    expect(await v.client.beacon.getBeaconValue({ round: 2n })).to.not.equal(null);
  });

  it("tops up a committee its first draw left short: the daemons join by band, and every challenge is judged in its first audit round", async () => {
    // Six validators of equal stake and committees of 1 expected member: most first draws are
    // short of minReveals = 2, and the top-up bands (one expected member each) fill them. A daemon
    // that audits only its first-band seats fails this: the short challenges stay Submitted. The
    // bands over every validator: no round pool (`poolSeats` 0), whose own top-ups are pinned in
    // test/poai/pool.test.ts (a pool of 4 expected of these 6 is short of 2 in ~2% of rounds).
    w = await daemonWorld({
      trainers: 3,
      validators: 6,
      challenge: { committeeSize: 1, poolSeats: 0 },
    });
    for (const v of w.validators) await start(v, { reportMissed: false });
    await at(1n, 60);
    const runs = [];
    for (const t of w.trainers) runs.push(await submit(t));
    await tickAll();
    await at(1n, EPOCH / 2 + 60);
    await tickAll();
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    const first = new Map<Hex, number>();
    for (const r of runs)
      first.set(r.id, (await w.admin.client.challenges.getChallenge({ id: r.id })).members);
    for (let band = 1; band <= TOP_UP_BANDS; band++) {
      await w.advanceTo(bandCommitStart(win, band) + 1n);
      await tickAll();
    }
    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    let toppedUp = 0;
    for (const r of runs) {
      const c = await w.admin.client.challenges.getChallenge({ id: r.id });
      expect([c.status, c.extension], r.id).to.deep.equal(["Valid", 0]);
      expect(c.members).to.be.at.least(2);
      if (first.get(r.id)! < 2) toppedUp++;
    }
    expect(toppedUp, "some first draw was short").to.be.greaterThan(0);
  });

  it("reports a validator that committed to the beacon and withheld its reveal, found from the round's commit events", async () => {
    // The daemon reads the contributions of the round's committers only (its `Committed` events,
    // at most the beacon's 32 contributors), not of every validator: the withholder is among them.
    w = await daemonWorld({ trainers: 1, validators: 3 });
    const [v0, withholder] = w.validators;
    await at(1n, 60);
    const prepared = withholder.client.beacon.prepareBeaconCommit({ round: 2n });
    await mined(withholder.client, withholder.client.beacon.commitBeacon(prepared));
    const d = await start(v0, { reportMissed: false });
    await d.tick(); // its own commitment
    expect(await v0.client.beacon.getBeaconCommitters({ round: 2n })).to.deep.equal([
      withholder.address,
      v0.address,
    ]);
    await at(1n, EPOCH / 2 + 60);
    await d.tick(); // its own reveal; the withholder never reveals
    await at(2n, 60);
    await d.tick();
    const slashed = await v0.client.challenges.getEvents({ eventName: "BeaconWithholdingSlashed" });
    expect(
      slashed.map((e) => [e.args.round, getAddress(e.args.validator), getAddress(e.args.reporter)]),
    ).to.deep.equal([[2n, withholder.address, v0.address]]);
  });

  it("audits an honest run with several validators: all commit Valid and reveal, the challenge is Valid and they earn points; a trainer that missed its deadline is reported", async () => {
    w = await daemonWorld({ trainers: 2, validators: 3 });
    // The daemons learn the operators from their registration events. Catches a validator that pages
    // through every operator (3 calls per 100, each O(page)) in every tick, or once a round for its
    // committee view: O(N) requests a tick.
    let pages = 0;
    for (const v of w.validators)
      v.client.staking.iterateOperators = () => {
        pages++;
        throw new Error("the validator daemon paged through every operator");
      };
    // A member's share of the samples is drawn from the audit seed and its own address: no daemon
    // reads another validator's stake. Catches the committee view that read every validator's
    // stake once a round to split the samples by rank (N stakeAt executions a validator a round).
    const stakeAt = toFunctionSelector("stakeAt(address,uint256)").slice(2);
    const othersStakeReads: string[] = [];
    const clients = w.validators.map((v) => {
      const others = w.validators.filter((o) => o !== v).map((o) => o.address.slice(2).toLowerCase());
      const inner = v.client.publicClient;
      const publicClient = createPublicClient({
        chain: inner.chain,
        transport: custom({
          request: (args: { method: string; params?: unknown }) => {
            if (args.method === "eth_call") {
              const data = JSON.stringify(args.params).toLowerCase();
              for (const o of others)
                if (data.includes(`${stakeAt}${"0".repeat(24)}${o}`)) othersStakeReads.push(o);
            }
            return inner.request(args as Parameters<typeof inner.request>[0]);
          },
        }),
      });
      return createPoAIClient({
        publicClient,
        walletClient: v.client.walletClient,
        deployment: v.client.deployment,
      });
    });
    const validators = [];
    for (const [i, v] of w.validators.entries()) validators.push(await start(v, { client: clients[i]! }));
    const [trainer, absent] = w.trainers;

    await at(1n, 60);
    const s = await submit(trainer);
    await tickAll(); // beacon(2) commits; the round's results are read once its audit round starts
    expect(validators[0].status().challenges.states.new ?? 0).to.equal(0);

    await at(1n, EPOCH / 2 + 60); // past the deadline: beacon reveals; the absent trainer is reported
    await tickAll();
    const missed = await w.admin.client.challenges.getDueChallenge({ trainer: absent.address, round: 1n });
    expect(missed.status).to.equal("Missed");
    expect(validators.reduce((n, d) => n + d.status().missedReports, 0)).to.equal(1);
    expect(pages).to.equal(0);

    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll(); // the audit round's pool holds all three: each reads round 1's results, audits and commits
    for (const v of w.validators) expect(await commitsBy(s.id, v.address)).to.have.length(1);
    expect(validators[0].status().challenges.states.committed).to.equal(1);
    expect(othersStakeReads).to.deep.equal([]);

    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    const members = await w.admin.client.challenges.getMembers({ id: s.id });
    expect(members.map((m) => m.verdict)).to.deep.equal(["Valid", "Valid", "Valid"]);
    expect(members.every((m) => m.measuredScoreBps === s.run.scoreBps)).to.equal(true);

    await w.advanceTo(win.revealEnd + 1n);
    await tickAll();
    const judged = await w.admin.client.challenges.getChallenge({ id: s.id });
    expect(judged.status).to.equal("Valid");
    for (const v of [...w.validators, trainer])
      expect(await points(v.address), v.address).to.be.greaterThan(0);

    // The daemons' own view: status and metrics over HTTP.
    const status = (await (await fetch(`${validators[0].url}/status`)).json()) as {
      challenges: { states: Record<string, number>; statuses: Record<string, number> };
      lastTick: { ok: boolean };
    };
    expect(status.challenges.states.revealed).to.equal(1);
    expect(status.challenges.statuses).to.deep.equal({ Valid: 1 });
    expect(status.lastTick.ok).to.equal(true);
    const metrics = await (await fetch(`${validators[0].url}/metrics`)).text();
    expect(metrics).to.match(/poai_validator_audits_total\{verdict="Valid"\} 1/);
    expect(metrics).to.match(/poai_validator_verdict_commits_total 1/);
    expect(metrics).to.match(/poai_validator_verdict_reveals_total 1/);
    expect(metrics).to.match(/poai_validator_segments_replayed_total [1-9]/);
    // the audit round's committee pool, which this validator is in (it served)
    expect(metrics).to.match(/poai_validator_pool_member 1/);
    expect(metrics).to.match(/poai_validator_pool_size [1-9]/);
  });

  it("records only what it may audit and watches a share of the deadlines: outside the audit round's pool a validator reads no result and writes no row", async () => {
    // Twelve validators, committees of 3: the audit round's pool holds about 6 of them. A validator
    // reads a round's results once its audit round starts, only when it is in that round's pool,
    // and records only the challenges whose committee it may join; it checks the deadlines of the
    // trainers drawn to it (about 8 validators each). Catches the daemon that recorded every
    // result of the network (a row a challenge a validator: SQLite and CPU growing with the
    // trainers), and the one that looked up every trainer's deadline.
    w = await daemonWorld({ trainers: 3, validators: 12, challenge: { committeeSize: 3 } });
    const files = w.validators.map((_, i) => path.join(w.tempDir(`validator-${i}`), "validator.db"));
    for (const [i, v] of w.validators.entries()) await start(v, { dbPath: files[i]! });
    const rows = (file: string, sql: string, ...args: (string | number)[]) => {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        return db.prepare(sql).all(...args) as Record<string, string | number>[];
      } finally {
        db.close();
      }
    };
    const [t0, t1, absent] = w.trainers;

    await at(1n, 60);
    const results = [await submit(t0), await submit(t1)];
    await tickAll();
    await at(1n, EPOCH / 2 + 60); // every deadline of round 1 passed: the watchers check theirs
    await tickAll();
    expect(
      (await w.admin.client.challenges.getDueChallenge({ trainer: absent.address, round: 1n })).status,
    ).to.equal("Missed");
    const beacon1 = (await w.admin.client.beacon.getBeaconValue({ round: 1n }))!;
    const total = await w.admin.client.staking.roleStakeAt({ role: "validator", epoch: 1n });
    let checks = 0;
    for (const [i, v] of w.validators.entries()) {
      const stake = await w.admin.client.staking.stakeAt({ operator: v.address, epoch: 1n });
      const watched = w.trainers
        .filter((t) =>
          isSelected(
            keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }], [beacon1, t.address])),
            v.address,
            stake,
            total,
            8,
          ),
        )
        .map((t) => t.address);
      const checked = rows(files[i]!, "SELECT trainer FROM missed WHERE round = 1").map((r) => r.trainer);
      expect([...checked].sort(), v.address).to.deep.equal([...watched].sort());
      checks += checked.length;
    }
    // each of the 3 trainers watched by 8 of the 12 validators on average, not by all 12
    expect(checks).to.be.within(1, 3 * 12 - 1);
    expect(daemons.reduce((n, d) => n + d.status().missedReports, 0)).to.equal(1);

    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    let inPool = 0;
    for (const [i, v] of w.validators.entries()) {
      const inputs = await getRoundCommitteeInputs(w.admin.client, { validator: v.address, round: 1n });
      if (inputs.inPool) inPool++;
      const mine = results
        .map((r) => r.id.toLowerCase())
        .filter((id) => {
          const band = committeeBandIn(inputs, id as Hex);
          return band !== null && band <= BigInt(TOP_UP_BANDS);
        });
      const recorded = rows(files[i]!, "SELECT id FROM challenges").map((r) => r.id);
      expect([...recorded].sort(), v.address).to.deep.equal([...mine].sort());
      if (!inputs.inPool) expect(recorded, v.address).to.deep.equal([]);
    }

    // a committee its first draw left short is topped up from the recorded top-up bands
    for (let band = 1; band <= TOP_UP_BANDS; band++) {
      await w.advanceTo(bandCommitStart(win, band) + 1n);
      await tickAll();
    }
    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    await w.advanceTo(win.revealEnd + 1n);
    await tickAll();
    // A pool of at least `minReveals` (2) members fills every committee (its top-up bands span the
    // pool); a smaller one (a draw of about 1 in 300 here) cannot, and the committee is extended.
    for (const r of results)
      expect(
        (await w.admin.client.challenges.getChallenge({ id: r.id })).status,
        `${r.id}, pool of ${inPool}`,
      ).to.equal(inPool >= 2 ? "Valid" : "Submitted");
  });

  it("judges a forged run Invalid and the challenge becomes Fraud after finalize", async () => {
    w = await daemonWorld({ trainers: 1, validators: 3 });
    for (const v of w.validators) await start(v, { reportMissed: false });
    await at(1n, 60);
    const s = await submit(w.trainers[0], (honest) => forgedEverywhere(honest));
    await tickAll();
    await at(1n, EPOCH / 2 + 60);
    await tickAll();
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    const members = await w.admin.client.challenges.getMembers({ id: s.id });
    expect(members.map((m) => m.verdict)).to.deep.equal(["Invalid", "Invalid", "Invalid"]);
    // Each member names the first segment of its own share of the committee's samples (drawn from
    // the audit seed and its address: 12 samples, minReveals 2, so 6 each): every segment of this
    // run is forged.
    const committee = await w.admin.client.challenges.checkCommittee({
      id: s.id,
      validator: w.validators[0].address,
    });
    for (const m of members) {
      const samples = ownSamples(
        committee.auditSeed,
        m.validator,
        w.specParams.auditSamples,
        SEGMENTS,
        committee.minReveals,
      );
      expect(samples.length).to.equal(6);
      expect(m.segment).to.equal(Math.min(...samples));
    }
    await w.advanceTo(win.revealEnd + 1n);
    await tickAll();
    expect((await w.admin.client.challenges.getChallenge({ id: s.id })).status).to.equal("Fraud");
    const op = await w.admin.client.staking.getOperator({ operator: w.trainers[0].address });
    expect(op.jailed).to.equal(true);
  });

  it("convicts a run forging 10% of its segments: one member's catch becomes the committee's verdict in the second phase", async () => {
    // Each member draws its own share of the samples, so a forgery of 10% can fall to one
    // member's share alone. Deterministic whatever the beacon: the first validator's share is
    // every segment (auditSamples = 2 x the segment count, minReveals 2), and the two others audit
    // as members whose own draws missed segments 4 and 13 (their first-phase samples without
    // them; their second-phase replay is the daemon's own), so they reveal Valid and only the
    // second phase can convict. Under the rule this replaces (each member on its own, a 6,667
    // quorum of reveals) one Invalid against two Valid was no verdict at all.
    w = await daemonWorld({
      trainers: 1,
      validators: 3,
      specParams: { ...DAEMON_SPEC_PARAMS, auditSamples: 2 * SEGMENTS },
    });
    const forgedSegments = [4, 13]; // 2 of 20: 10%
    class MissedTheForgery extends ValidatorDaemon {
      private replaying = false;
      protected override decide(challenge: ChallengeToAudit, samples: number[], signal: AbortSignal) {
        const drawn = this.replaying ? samples : samples.filter((i) => !forgedSegments.includes(i));
        return super.decide(challenge, drawn, signal);
      }
      protected override async decideReplay(
        challenge: ChallengeToAudit,
        segments: number[],
        signal: AbortSignal,
      ) {
        this.replaying = true;
        try {
          return await super.decideReplay(challenge, segments, signal);
        } finally {
          this.replaying = false;
        }
      }
    }
    const catcher = w.validators[0].address;
    await start(w.validators[0], { reportMissed: false });
    for (const v of w.validators.slice(1))
      await start(v, { reportMissed: false }, (o) => MissedTheForgery.create(o));
    await at(1n, 60);
    const s = await submit(w.trainers[0], async (honest, seed) => {
      let run = honest;
      for (const segment of forgedSegments) run = await forgedFrom(DAEMON_SPEC, seed, run, segment + 1);
      return run;
    });
    await tickAll();
    await at(1n, EPOCH / 2 + 60);
    await tickAll();
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    let members = await w.admin.client.challenges.getMembers({ id: s.id });
    const byValidator = new Map(members.map((m) => [m.validator, m]));
    expect(byValidator.get(catcher)).to.deep.include({ verdict: "Invalid", segment: 4 });
    expect(members.filter((m) => m.verdict === "Valid")).to.have.length(2);
    let c = await w.admin.client.challenges.getChallenge({ id: s.id });
    expect([c.status, c.accused]).to.deep.equal(["Submitted", true]);
    // The second phase: the two other members replay segment 4 and vote Invalid; the last vote judges.
    await w.advanceTo(win.revealEnd + 60n);
    await tickAll();
    members = await w.admin.client.challenges.getMembers({ id: s.id });
    expect(members.filter((m) => m.validator !== catcher).map((m) => m.replayVerdict)).to.deep.equal([
      "Invalid",
      "Invalid",
    ]);
    c = await w.admin.client.challenges.getChallenge({ id: s.id });
    expect(c.status).to.equal("Fraud");
    expect((await w.admin.client.staking.getOperator({ operator: w.trainers[0].address })).jailed).to.equal(
      true,
    );
    // every member earned its points: the catcher and the two that confirmed it
    for (const v of w.validators) expect(await points(v.address)).to.be.greaterThan(0);
  });

  it("reveals after a crash between commit and reveal: a new daemon on the same database reveals and the reveal counts", async () => {
    w = await daemonWorld({ trainers: 1, validators: 3 });
    const dbPath = path.join(w.tempDir("crash"), "validator.db");
    const victim = await start(w.validators[0], { dbPath, reportMissed: false });
    for (const v of w.validators.slice(1)) await start(v, { reportMissed: false });
    await at(1n, 60);
    const s = await submit(w.trainers[0]);
    await tickAll();
    await at(1n, EPOCH / 2 + 60);
    await tickAll();
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    expect(await commitsBy(s.id, w.validators[0].address)).to.have.length(1);

    // Killed: database and server closed, no reveal.
    await victim.stop();
    daemons.splice(daemons.indexOf(victim), 1);

    await w.advanceTo(win.revealStart + 60n);
    const revived = await start(w.validators[0], { dbPath, reportMissed: false });
    await tickAll();
    const members = await w.admin.client.challenges.getMembers({ id: s.id });
    const mine = members.find((m) => m.validator === w.validators[0].address);
    expect(mine?.revealed, "the revived daemon's reveal").to.equal(true);
    expect(mine?.verdict).to.equal("Valid");
    expect(revived.status().challenges.states.revealed).to.equal(1);

    await w.advanceTo(win.revealEnd + 1n);
    await tickAll();
    expect((await w.admin.client.challenges.getChallenge({ id: s.id })).status).to.equal("Valid");
    expect(await points(w.validators[0].address)).to.be.greaterThan(0);
  });

  it("extends a committee that could not decide: the member that missed the reveal window reveals in the next round's, which judges the challenge", async () => {
    // A committee of two (minReveals 2) whose second member is offline for the whole reveal
    // window: one reveal cannot decide, so the challenge is extended instead of ending NoQuorum.
    w = await daemonWorld({ trainers: 1, validators: 2 });
    const dbPath = path.join(w.tempDir("offline"), "validator.db");
    const offline = await start(w.validators[1], { dbPath, reportMissed: false, reportWithholding: false });
    const online = await start(w.validators[0], { reportMissed: false });
    await at(1n, 60);
    const s = await submit(w.trainers[0]);
    await tickAll();
    await at(1n, EPOCH / 2 + 60);
    await tickAll();
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);
    await tickAll();
    expect(await commitsBy(s.id, w.validators[1].address)).to.have.length(1);
    await offline.stop();
    daemons.splice(daemons.indexOf(offline), 1);

    await w.advanceTo(win.revealStart + 60n);
    await tickAll([online]);
    await w.advanceTo(win.revealEnd + 60n);
    await tickAll([online]); // finalize: one reveal of two cannot decide
    let c = await w.admin.client.challenges.getChallenge({ id: s.id });
    expect([c.status, c.extension, c.auditRound]).to.deep.equal(["Submitted", 1, 3]);

    // The next round: the offline member comes back on its database and reveals in the new window.
    const next = w.windows(1n, 1n);
    await w.advanceTo(next.commitStart + 60n);
    const back = await start(w.validators[1], { dbPath, reportMissed: false });
    await tickAll();
    await w.advanceTo(next.revealStart + 60n);
    await tickAll();
    c = await w.admin.client.challenges.getChallenge({ id: s.id });
    expect(c.status).to.equal("Valid");
    expect(back.status().challenges.states.revealed).to.equal(1);
    // the points go to the epoch whose close follows the extension's audit round (round 3): epoch 2
    const trainerPoints = await w.admin.client.challenges.getEpochPoints({
      epoch: 2n,
      operator: w.trainers[0].address,
    });
    expect(trainerPoints > 0n).to.equal(true);
  });

  it("commits exactly once after a crash between storing the verdict and sending it, or right after sending it", async () => {
    class CrashAfterStore extends ValidatorDaemon {
      stored: PreparedVerdict[] = [];
      protected override onVerdictPersisted(verdict: PreparedVerdict): void {
        this.stored.push(verdict);
        throw new Error("crash after storing the verdict");
      }
    }
    class CrashAfterSend extends ValidatorDaemon {
      protected override onCommitSent(): void {
        throw new Error("crash after sending the commitment");
      }
    }
    w = await daemonWorld({ trainers: 1, validators: 3 });
    const [a, b, c] = w.validators;
    const dbA = path.join(w.tempDir("crash-a"), "validator.db");
    const dbB = path.join(w.tempDir("crash-b"), "validator.db");
    // No beacon and no reports: every transaction these daemons send is a verdict's.
    const quiet = { reportMissed: false, beacon: false };
    const crashA = await start(a, { dbPath: dbA, ...quiet }, (o) => CrashAfterStore.create(o));
    const crashB = await start(b, { dbPath: dbB, ...quiet }, (o) => CrashAfterSend.create(o));
    const honestC = await start(c, quiet);
    await at(1n, 60);
    const s = await submit(w.trainers[0]);
    await tickAll([honestC]);
    const win = w.windows(1n);
    await w.advanceTo(win.commitStart + 60n);

    expect((await rejection(crashA.tick())).message).to.equal("crash after storing the verdict");
    expect(await commitsBy(s.id, a.address)).to.have.length(0);
    expect((await rejection(crashB.tick())).message).to.equal("crash after sending the commitment");
    expect(await commitsBy(s.id, b.address)).to.have.length(1);
    expect(crashB.status().lastTick?.ok).to.equal(false);
    await honestC.tick();
    for (const d of [crashA, crashB]) {
      await d.stop();
      daemons.splice(daemons.indexOf(d), 1);
    }

    const sent = (address: Address) => w.publicClient.getTransactionCount({ address });
    const [nonceA, nonceB] = [await sent(a.address), await sent(b.address)];
    const revivedA = await start(a, { dbPath: dbA, ...quiet });
    const revivedB = await start(b, { dbPath: dbB, ...quiet });
    await tickAll([revivedA, revivedB]);
    await tickAll([revivedA, revivedB]); // and again: nothing is sent twice
    expect(await commitsBy(s.id, a.address)).to.have.length(1);
    expect(await commitsBy(s.id, b.address)).to.have.length(1);
    expect(await sent(a.address), "transactions A sent after its restart").to.equal(nonceA + 1);
    expect(await sent(b.address), "transactions B sent after its restart").to.equal(nonceB);
    expect(revivedA.status().challenges.states.committed).to.equal(1);
    expect(revivedB.status().challenges.states.committed).to.equal(1);

    // The commitment sent after the restart is the one stored before the crash (same salt).
    const [event] = await commitsBy(s.id, a.address);
    const tx = await w.publicClient.getTransaction({ hash: event.transactionHash! });
    const call = decodeFunctionData({ abi: challengeManagerAbi, data: tx.input });
    expect(call.functionName).to.equal("commitVerdicts");
    expect(call.args?.[1]).to.deep.equal([crashA.stored[0].commitment]);
    await w.advanceTo(win.revealStart + 60n);
    await tickAll();
    const members = await w.admin.client.challenges.getMembers({ id: s.id });
    const revealedBy = members.filter((m) => m.revealed).map((m) => m.validator);
    expect(revealedBy).to.have.members([a.address, b.address, c.address]);
    const mineA = members.find((m) => m.validator === a.address)!;
    expect(mineA.measuredScoreBps).to.equal(crashA.stored[0].measuredScoreBps);

    await w.advanceTo(win.revealEnd + 1n);
    await tickAll();
    expect((await w.admin.client.challenges.getChallenge({ id: s.id })).status).to.equal("Valid");
  });

  it("refuses invalid options with an error naming the field and the value", async () => {
    w = await daemonWorld({ trainers: 1, validators: 2 });
    const v = w.validators[0];
    const dbPath = path.join(w.tempDir("options"), "validator.db");
    const cases: [Partial<ValidatorDaemonOptions> & Record<string, unknown>, string, RegExp][] = [
      [{ port: 70_000 }, "port", /70000/],
      [{ port: -1 }, "port", /-1/],
      [{ fetchTimeoutMs: 0 }, "fetchTimeoutMs", /got 0/],
      [{ fetchAttempts: 1.5 }, "fetchAttempts", /1\.5/],
      [{ scanBlockRange: 0 }, "scanBlockRange", /got 0/],
      [{ dbPath: "" }, "dbPath", /""/],
      [{ backend: "tpu" as never }, "backend", /"tpu"/],
      [{ host: "" }, "host", /""/],
      [{ logLevel: "loud" as never }, "logLevel", /"loud"/],
      [{ finalize: "yes" as never }, "finalize", /"yes"/],
      [{ fromBlock: -1n }, "fromBlock", /-1n/],
    ];
    for (const [override, field, value] of cases) {
      const err = await rejection(
        ValidatorDaemon.create({ client: v.client, dbPath, logLevel: "silent", ...override }),
      );
      expect(err, `${field}: ${err.message}`).to.be.instanceOf(PoAIInputError);
      expect((err as PoAIInputError).field).to.equal(field);
      expect(err.message).to.match(value);
    }
    const readOnly = createPoAIClient({ publicClient: w.publicClient, deployment: w.deployment });
    const noWallet = await rejection(
      ValidatorDaemon.create({ client: readOnly, dbPath, logLevel: "silent" }),
    );
    expect((noWallet as PoAIInputError).field).to.equal("client.walletClient.account");

    // A database belongs to one validator: another one's salts must never be used.
    const owner = await start(v, { dbPath });
    await owner.stop();
    daemons.splice(daemons.indexOf(owner), 1);
    const other = await rejection(
      ValidatorDaemon.create({ client: w.validators[1].client, dbPath, logLevel: "silent" }),
    );
    expect((other as PoAIInputError).field).to.equal("dbPath");
    expect(other.message).to.contain(v.address);
  });
});
