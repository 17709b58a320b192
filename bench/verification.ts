/**
 * Verification benchmark: what an audit costs against the training it checks, and how often it
 * catches a cheater.
 *
 * 1. Cost. A trainer runs the verification spec (the reference model family, many segments) in
 *    full: every SGD step, every checkpoint encoded and hashed, the Merkle commitment and the
 *    final evaluation (`trainerMs`). One committee member then audits that run the way the
 *    validator daemon does (`auditChallenge`): it fetches the sampled segments' checkpoints over
 *    HTTP from a checkpoint server (a separate OS process, as the trainer is another machine),
 *    proves each under the root, re-executes the segments and evaluates the final checkpoint.
 *    Five members audit the run, each with a member's share of the committee's samples
 *    (`ownSamples`: ceil(auditSamples / minReveals) segments drawn from the audit seed and its own
 *    address, as the validator daemon takes them); `validatorMs` is the median.
 *    overhead = validatorMs × committee / trainerMs (wall clock); `overheadCpu` is the same ratio
 *    of CPU time (user + system of this process: the checkpoint server is another process), which
 *    other load on the machine disturbs much less.
 * 2. Detection, sampled. For many simulated cheaters that fake a fraction f of the segments, the
 *    protocol's own sampling (`ownSamples` from a random audit seed) decides whether a faked
 *    segment is drawn: by one member's share (`detection`), and by the committee (`protocol`: with
 *    the second phase, one member's catch convicts an honest committee), against
 *    1 − (1 − f)^k. `BENCH=escape` measures the conviction with dishonest and lazy members.
 * 3. Detection, executed. Smaller runs, really forged and really audited over HTTP by a full
 *    committee: the observed detection rate, and how many honest runs were ever judged Invalid.
 * 4. Engine version 2 (`v2.*`): the same cost measurement on an MNIST spec, each audit now also
 *    fetching the training examples of its segments and the held-out examples from the dataset
 *    owner's HTTP server and proving them against the spec's roots: with a cold cache (the first
 *    audit of a dataset: every needed chunk downloaded) and a warm one (chunks cached, as for every
 *    later audit of the same spec), with the bytes each downloads.
 *
 * Writes bench/results/verification.json and prints a table beside the anchors.
 *   BENCH=verification npm run bench
 */
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex, getAddress, type Address, type Hex } from "viem";
import {
  byteTreeRoot,
  checkpointHash,
  commit,
  decodeCheckpoint,
  deriveKey,
  encodeCheckpoint,
  evaluate,
  modelLayout,
  replaySegment,
  train,
  validateSeed,
  wasmBackend,
  type Checkpoint,
  type DatasetData,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { checkpointRoutes, serve, type CheckpointSource, type RunInfo } from "../node/src/daemon/index.js";
import { DatasetFetcher, DatasetMemory, directoryDataset, serveDatasets } from "../node/src/data/index.js";
import { datasetSpec, mnistDataset } from "../scripts/lib/datasets.js";
import { ownSamples } from "../sdk/src/poai/audit.js";
import { auditChallenge, type AuditResult } from "../node/src/verifier/audit.js";

/**
 * The reference model family over 2,400 segments (a checkpoint every 50 steps): tens of seconds of
 * training on one core. The committee's samples are fixed by the escape target, not by the run's
 * length, so more segments make each sample a smaller share of the training (docs/protocol.md).
 */
export const VERIFICATION_SPEC: TrainingSpec = {
  version: 1,
  widths: [64, 128, 128, 10],
  batchSize: 32,
  steps: 120_000,
  checkpointInterval: 50,
  lrShift: 4,
  evalSize: 4000,
};
/**
 * Segments the committee re-executes (the spec's `auditSamples`), split among its members: 66 of
 * 2,400 leave a run that forges 10% of them less than a 10⁻³ chance to escape (docs/protocol.md).
 */
export const AUDIT_SAMPLES = 66;
/** Audits of the cost run, each by another committee member; `validatorMs` is their median. */
export const AUDITS = 5;
/** Committee size (the deployment default). */
export const COMMITTEE = 3;
/** The shipped `minReveals`: each member replays ceil(AUDIT_SAMPLES / MIN_REVEALS) segments. */
export const MIN_REVEALS = 2;

/** Small runs for the executed detection table: 100 segments of 10 steps. */
const SMALL_SPEC: TrainingSpec = {
  version: 1,
  widths: [16, 32, 4],
  batchSize: 8,
  steps: 1000,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 256,
};

const FRACTIONS = [0.01, 0.05, 0.1, 0.25];
const SAMPLED_CHEATERS = Number(process.env.BENCH_CHEATERS ?? 20_000);
const EXECUTED_CHEATERS = Number(process.env.BENCH_EXECUTED_CHEATERS ?? 25);
const EXECUTED_HONEST = Number(process.env.BENCH_EXECUTED_HONEST ?? 25);

const RESULTS = fileURLToPath(new URL("./results/verification.json", import.meta.url));

/** CPU milliseconds (user + system) of a `process.cpuUsage` difference. */
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const randomSeed = (): Hex => bytesToHex(randomBytes(32));
const randomAddress = (): Address => getAddress(bytesToHex(randomBytes(20)));
const theory = (f: number, k: number) => 1 - (1 - f) ** k;
/** The committee of a simulated audit: `COMMITTEE` random validators. */
const committeeOf = (): Address[] => Array.from({ length: COMMITTEE }, randomAddress);

/** A run as its trainer's checkpoint server holds it. */
interface HeldRun {
  id: Hex;
  spec: TrainingSpec;
  seed: Hex;
  checkpoints: Uint8Array[];
  hashes: Hex[];
  parameterRoots: readonly Hex[];
  root: Hex;
  proof: (i: number) => Hex[];
}

/** A checkpoint server over runs held in memory, on a real HTTP port. */
async function startServer(runs: Map<Hex, HeldRun>) {
  const source: CheckpointSource = {
    run(id): RunInfo | undefined {
      const r = runs.get(id);
      return r && { id, round: "1", specId: id, root: r.root, checkpoints: r.checkpoints.length };
    },
    checkpoint(id, index) {
      const r = runs.get(id);
      if (!r || index >= r.checkpoints.length) return undefined;
      return {
        bytes: r.checkpoints[index],
        hash: r.hashes[index],
        parameterRoot: r.parameterRoots[index],
        proof: r.proof(index),
      };
    },
  };
  return serve(checkpointRoutes(source));
}

/**
 * The trainer's checkpoint server for `run` as a separate OS process (`checkpoint-server.ts`), as
 * a real trainer is on another machine: its serving is not counted in the validator's time.
 */
async function startServerProcess(run: HeldRun): Promise<{ url: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "poai-bench-"));
  const json = join(dir, "run.json");
  const bin = join(dir, "run.bin");
  const checkpointBytes = modelLayout(run.spec).checkpointBytes;
  await writeFile(json, JSON.stringify({ id: run.id, root: run.root, hashes: run.hashes, checkpointBytes }));
  const all = new Uint8Array(run.checkpoints.length * checkpointBytes);
  run.checkpoints.forEach((c, i) => all.set(c, i * checkpointBytes));
  await writeFile(bin, all);
  const script = fileURLToPath(new URL("./checkpoint-server.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, json, bin], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`checkpoint server exited with code ${String(code)}`)));
  });
  return {
    url,
    async close() {
      child.stdin.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Trains (spec, seed) as a trainer does; `faked` segments are forged: their end checkpoint is
 * the start checkpoint's parameters under the later step (no training), and training goes on
 * honestly from the forged parameters, so only the faked segments fail to replay.
 */
async function trainRun(
  spec: TrainingSpec,
  seed: Hex,
  faked: ReadonlySet<number> = new Set(),
  data?: DatasetData,
): Promise<HeldRun> {
  const checkpoints: Uint8Array[] = [];
  const hashes: Hex[] = [];
  if (faked.size === 0) {
    await train(spec, seed, {
      backend: "wasm",
      data,
      onCheckpoint: ({ checkpoint, hash }) => {
        checkpoints.push(encodeCheckpoint(spec, checkpoint));
        hashes.push(hash);
      },
    });
  } else {
    const session = await wasmBackend.open(spec, deriveKey(spec, validateSeed(seed)));
    let current: Checkpoint = { step: 0, weights: await session.getWeights() };
    session.close();
    const push = (cp: Checkpoint) => {
      checkpoints.push(encodeCheckpoint(spec, cp));
      hashes.push(checkpointHash(spec, cp));
    };
    push(current);
    const segments = spec.steps / spec.checkpointInterval;
    for (let i = 0; i < segments; i++) {
      current = faked.has(i)
        ? { step: (i + 1) * spec.checkpointInterval, weights: current.weights }
        : await replaySegment(spec, seed, i, current, { backend: "wasm" });
      push(current);
    }
  }
  // Each checkpoint hashed once, as the trainer daemon does (the hash from training, the parameter
  // tree's root from the stored bytes): the trainer's cost is not inflated by a second hash.
  const c = commit({ checkpointHashes: hashes, parameterRoots: checkpoints.map((b) => byteTreeRoot(b)) });
  return {
    id: randomSeed(),
    spec,
    seed,
    checkpoints,
    hashes,
    parameterRoots: c.parameterRoots,
    root: c.root,
    proof: (i) => c.proof(i),
  };
}

function pickFaked(segments: number, f: number): Set<number> {
  const count = Math.max(1, Math.round(f * segments));
  const out = new Set<number>();
  while (out.size < count) out.add(Math.floor(Math.random() * segments));
  return out;
}

/** The version 2 cost spec: MNIST [784, 128, 10] (the reference MNIST widths) over 3,125 segments (a checkpoint every 64 steps). */
export const VERIFICATION_V2 = {
  hidden: [128],
  batchSize: 32,
  steps: 200_000,
  checkpointInterval: 64,
  lrShift: 4,
} as const;

async function runV2Cost(results: Record<string, unknown>): Promise<void> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dir = join(root, "cache", "datasets", "mnist");
  const data = await mnistDataset(dir);
  const spec = datasetSpec(data, VERIFICATION_V2);
  const segments = spec.steps / spec.checkpointInterval;
  console.log(
    `verification bench, version 2: training MNIST [${spec.widths.join(", ")}] for ${spec.steps} steps (${segments} segments)…`,
  );
  const owner = await serveDatasets([await directoryDataset(dir)]);
  const source = [...owner.sources.values()][0]!;
  const seed = randomSeed();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const run = await trainRun(spec, seed, new Set(), data);
  const last = modelLayout(spec).checkpointCount - 1;
  const score = await evaluate(spec, seed, decodeCheckpoint(spec, run.checkpoints[last]), {
    backend: "wasm",
    data,
  });
  const trainerMs = performance.now() - t0;
  const trainerCpuMs = cpuMs(process.cpuUsage(c0));
  const server = await startServerProcess(run);
  try {
    const audit = async (fetcher: DatasetFetcher) => {
      const c = process.cpuUsage();
      const committee = committeeOf();
      const samples = ownSamples(randomSeed(), committee[0]!, AUDIT_SAMPLES, segments, MIN_REVEALS);
      const a = await auditChallenge({
        spec,
        seed,
        id: run.id,
        root: run.root,
        endpoint: server.url,
        samples,
        backend: "wasm",
        dataset: fetcher,
      });
      if (a.verdict !== "Valid" || a.measuredScoreBps !== score.accuracyBps) {
        throw new Error(
          `the honest version 2 run was judged ${a.verdict} (${a.reason}): the benchmark is broken`,
        );
      }
      return { ...a, cpuMs: cpuMs(process.cpuUsage(c)) };
    };
    // cold: a validator's first audit of the spec (nothing cached); steady: its next audits (of other
    // trainers of the spec) in the same process, the dataset already in memory (`DatasetMemory`, as
    // the validator daemon shares it); disk: the first audit after a restart, read back from the
    // disk cache and checked again.
    const cold: Awaited<ReturnType<typeof audit>>[] = [];
    let steady: Awaited<ReturnType<typeof audit>> | undefined;
    let warm: Awaited<ReturnType<typeof audit>> | undefined;
    for (let a = 0; a < AUDITS; a++) {
      const cache = await mkdtemp(join(tmpdir(), "poai-bench-cache-"));
      const memory = new DatasetMemory();
      const fetcher = () =>
        new DatasetFetcher({ ref: spec.dataset!, sources: [source], cacheDir: cache, memory });
      cold.push(await audit(fetcher()));
      if (a === 0) {
        steady = await audit(fetcher());
        warm = await audit(new DatasetFetcher({ ref: spec.dataset!, sources: [source], cacheDir: cache }));
      }
      await rm(cache, { recursive: true, force: true });
    }
    cold.sort((x, y) => x.ms - y.ms);
    const median = cold[Math.floor(cold.length / 2)];
    Object.assign(results, {
      "v2.spec.widths": spec.widths.join("x"),
      "v2.spec.steps": spec.steps,
      "v2.spec.segments": segments,
      "v2.spec.checkpointBytes": modelLayout(spec).checkpointBytes,
      "v2.dataset.trainCount": data.ref.trainCount,
      "v2.dataset.evalCount": data.ref.evalCount,
      "v2.dataset.bytes": (data.ref.trainCount + data.ref.evalCount) * (2 + data.ref.features),
      "v2.trainerMs": Math.round(trainerMs),
      "v2.trainerCpuMs": Math.round(trainerCpuMs),
      "v2.cold.validatorMs": median.ms,
      "v2.cold.validatorCpuMs": Math.round(median.cpuMs),
      "v2.cold.datasetMs": median.timings.datasetMs,
      "v2.cold.datasetBytesFetched": median.datasetBytesFetched,
      "v2.cold.datasetChunks": median.datasetChunks,
      "v2.cold.checkpointBytesFetched": median.bytesFetched,
      "v2.cold.bytesPerAudit": median.bytesFetched + median.datasetBytesFetched,
      "v2.cold.replayMs": median.timings.replayMs,
      "v2.cold.evaluateMs": median.timings.evaluateMs,
      "v2.cold.overhead": Number(((median.ms * COMMITTEE) / trainerMs).toFixed(4)),
      "v2.cold.overheadCpu": Number(((median.cpuMs * COMMITTEE) / trainerCpuMs).toFixed(4)),
      "v2.steady.validatorMs": steady!.ms,
      "v2.steady.validatorCpuMs": Math.round(steady!.cpuMs),
      "v2.steady.datasetMs": steady!.timings.datasetMs,
      "v2.steady.replayMs": steady!.timings.replayMs,
      "v2.steady.bytesPerAudit": steady!.bytesFetched + steady!.datasetBytesFetched,
      "v2.steady.overhead": Number(((steady!.ms * COMMITTEE) / trainerMs).toFixed(4)),
      "v2.steady.overheadCpu": Number(((steady!.cpuMs * COMMITTEE) / trainerCpuMs).toFixed(4)),
      "v2.warm.validatorMs": warm!.ms,
      "v2.warm.validatorCpuMs": Math.round(warm!.cpuMs),
      "v2.warm.datasetMs": warm!.timings.datasetMs,
      "v2.warm.datasetBytesFetched": warm!.datasetBytesFetched,
      "v2.warm.bytesPerAudit": warm!.bytesFetched + warm!.datasetBytesFetched,
      "v2.warm.overhead": Number(((warm!.ms * COMMITTEE) / trainerMs).toFixed(4)),
      "v2.warm.overheadCpu": Number(((warm!.cpuMs * COMMITTEE) / trainerCpuMs).toFixed(4)),
      "v2.accuracyBps": score.accuracyBps,
      "v2.detectionTheory.f0.1": theory(0.1, AUDIT_SAMPLES),
    });
  } finally {
    await server.close();
    await owner.close();
  }
}

export async function runVerificationBench(): Promise<void> {
  const results: Record<string, unknown> = {};
  const segments = VERIFICATION_SPEC.steps / VERIFICATION_SPEC.checkpointInterval;

  // 1. Cost of one audit against the full run.
  console.log(
    `verification bench: training [${VERIFICATION_SPEC.widths.join(", ")}] for ${VERIFICATION_SPEC.steps} steps (${segments} segments)…`,
  );
  const seed = randomSeed();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const run = await trainRun(VERIFICATION_SPEC, seed);
  const last = modelLayout(VERIFICATION_SPEC).checkpointCount - 1;
  const trainerScore = await evaluate(
    VERIFICATION_SPEC,
    seed,
    decodeCheckpoint(VERIFICATION_SPEC, run.checkpoints[last]),
    {
      backend: "wasm",
    },
  );
  const trainerMs = performance.now() - t0;
  const trainerCpuMs = cpuMs(process.cpuUsage(c0));
  const server = await startServerProcess(run);
  try {
    // Several committee members' audits of the same run (each its own samples); the median is
    // the figure, so one slow audit (a busy core, a garbage collection) does not make it.
    const audits: (AuditResult & { cpuMs: number })[] = [];
    for (let a = 0; a < AUDITS; a++) {
      const committee = committeeOf();
      const samples = ownSamples(randomSeed(), committee[0], AUDIT_SAMPLES, segments, MIN_REVEALS);
      const c = process.cpuUsage();
      const audit = await auditChallenge({
        spec: VERIFICATION_SPEC,
        seed,
        id: run.id,
        root: run.root,
        endpoint: server.url,
        samples,
        backend: "wasm",
      });
      if (audit.verdict !== "Valid" || audit.measuredScoreBps !== trainerScore.accuracyBps) {
        throw new Error(
          `the honest run was judged ${audit.verdict} (${audit.reason}): the benchmark is broken`,
        );
      }
      audits.push({ ...audit, cpuMs: cpuMs(process.cpuUsage(c)) });
    }
    audits.sort((x, y) => x.ms - y.ms);
    const audit = audits[Math.floor(audits.length / 2)];
    const validatorMs = audit.ms;
    Object.assign(results, {
      "spec.widths": VERIFICATION_SPEC.widths.join("x"),
      "spec.steps": VERIFICATION_SPEC.steps,
      "spec.segments": segments,
      "spec.checkpointBytes": modelLayout(VERIFICATION_SPEC).checkpointBytes,
      auditSamples: AUDIT_SAMPLES,
      committeeSize: COMMITTEE,
      trainerMs: Math.round(trainerMs),
      validatorMs: Math.round(validatorMs),
      "validator.checkpointsFetched": audit.checkpointsFetched,
      "validator.bytesFetched": audit.bytesFetched,
      "validator.segmentsReplayed": audit.segmentsReplayed,
      "validator.audits": AUDITS,
      "validator.msEach": audits.map((x) => x.ms),
      "validator.fetchWaitMs": audit.timings.fetchWaitMs,
      "validator.initialMs": audit.timings.initialMs,
      "validator.replayMs": audit.timings.replayMs,
      "validator.evaluateMs": audit.timings.evaluateMs,
      overhead: Number(((validatorMs * COMMITTEE) / trainerMs).toFixed(4)),
      trainerCpuMs: Math.round(trainerCpuMs),
      validatorCpuMs: Math.round(audit.cpuMs),
      overheadCpu: Number(((audit.cpuMs * COMMITTEE) / trainerCpuMs).toFixed(4)),
      "reference.accuracyBps": trainerScore.accuracyBps,
    });
  } finally {
    await server.close();
  }

  // 4. Engine version 2: an MNIST spec; audits fetch and prove their examples.
  await runV2Cost(results);

  // 2. Detection by the protocol's sampling, many cheaters: by one member's share, and by the
  // committee (the second phase turns any member's catch into the honest committee's verdict).
  type Rate = { cheaters: number; detected: number; rate: number; theory: number };
  const sampled: Record<string, Rate> = {};
  const protocol: Record<string, Rate> = {};
  for (const f of FRACTIONS) {
    let byMember = 0;
    let byCommittee = 0;
    for (let c = 0; c < SAMPLED_CHEATERS; c++) {
      const faked = pickFaked(segments, f);
      const auditSeed = randomSeed();
      // every member's own share of the samples (`ownSamples`: its address and the audit seed)
      const caught = committeeOf().map((member) =>
        ownSamples(auditSeed, member, AUDIT_SAMPLES, segments, MIN_REVEALS).some((s) => faked.has(s)),
      );
      if (caught[0]) byMember++;
      if (caught.some(Boolean)) byCommittee++;
    }
    const share = Math.ceil(AUDIT_SAMPLES / MIN_REVEALS);
    sampled[String(f)] = {
      cheaters: SAMPLED_CHEATERS,
      detected: byMember,
      rate: byMember / SAMPLED_CHEATERS,
      theory: theory(f, share),
    };
    protocol[String(f)] = {
      cheaters: SAMPLED_CHEATERS,
      detected: byCommittee,
      rate: byCommittee / SAMPLED_CHEATERS,
      // the members draw independently: the committee misses only if every member misses
      theory: 1 - (1 - theory(f, share)) ** COMMITTEE,
    };
  }
  results.detection = sampled;
  results.protocolDetection = protocol;

  // 3. Detection with real forgeries and real audits over HTTP, and honest runs never Invalid.
  const smallSegments = SMALL_SPEC.steps / SMALL_SPEC.checkpointInterval;
  const executed: Record<string, { cheaters: number; detected: number; rate: number; theory: number }> = {};
  const small = new Map<Hex, HeldRun>();
  const smallServer = await startServer(small);
  let honestInvalid = 0;
  try {
    const auditAll = async (r: HeldRun) => {
      const verdicts = [];
      const auditSeed = randomSeed();
      const committee = committeeOf();
      for (const member of committee) {
        const samples = ownSamples(auditSeed, member, AUDIT_SAMPLES, smallSegments, MIN_REVEALS);
        verdicts.push(
          await auditChallenge({
            spec: SMALL_SPEC,
            seed: r.seed,
            id: r.id,
            root: r.root,
            endpoint: smallServer.url,
            samples,
            backend: "wasm",
          }),
        );
      }
      return verdicts;
    };
    for (let h = 0; h < EXECUTED_HONEST; h++) {
      const r = await trainRun(SMALL_SPEC, randomSeed());
      small.set(r.id, r);
      if ((await auditAll(r)).some((v) => v.verdict !== "Valid")) honestInvalid++;
      small.delete(r.id);
    }
    for (const f of FRACTIONS) {
      let detected = 0;
      for (let c = 0; c < EXECUTED_CHEATERS; c++) {
        const r = await trainRun(SMALL_SPEC, randomSeed(), pickFaked(smallSegments, f));
        small.set(r.id, r);
        if ((await auditAll(r)).some((v) => v.verdict === "Invalid")) detected++;
        small.delete(r.id);
      }
      executed[String(f)] = {
        cheaters: EXECUTED_CHEATERS,
        detected,
        rate: detected / EXECUTED_CHEATERS,
        theory: theory(Math.max(1, Math.round(f * smallSegments)) / smallSegments, AUDIT_SAMPLES),
      };
    }
  } finally {
    await smallServer.close();
  }
  results.executedDetection = {
    spec: `${SMALL_SPEC.widths.join("x")}, ${smallSegments} segments`,
    honestRuns: EXECUTED_HONEST,
    honestJudgedNotValid: honestInvalid,
    byFraction: executed,
  };

  await mkdir(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  await writeFile(RESULTS, JSON.stringify(results, null, 2) + "\n");
  print(results, sampled, protocol, executed, honestInvalid);
}

function print(
  r: Record<string, unknown>,
  sampled: Record<string, { rate: number; theory: number }>,
  protocol: Record<string, { rate: number; theory: number }>,
  executed: Record<string, { rate: number; theory: number; cheaters: number }>,
  honestInvalid: number,
): void {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  console.log(
    `\nVerification, spec [${String(r["spec.widths"])}] ${String(r["spec.steps"])} steps, ${String(r["spec.segments"])} segments, k = ${AUDIT_SAMPLES}: ceil(k / minReveals ${MIN_REVEALS}) = ${Math.ceil(AUDIT_SAMPLES / MIN_REVEALS)} segments a member, committee of ${COMMITTEE}`,
  );
  console.log(`  trainer full run            ${String(r.trainerMs)} ms`);
  console.log(
    `  one member's audit          ${String(r.validatorMs)} ms (median of ${String(r["validator.audits"])}: ` +
      `replay ${String(r["validator.replayMs"])}, fetch wait ${String(r["validator.fetchWaitMs"])}, ` +
      `initial ${String(r["validator.initialMs"])}, evaluate ${String(r["validator.evaluateMs"])})`,
  );
  console.log(
    `  overhead (committee)        ${pct(r.overhead as number)}   goal <= 5%   anchors: Proof-of-Learning ~50% re-executed, Truebit 500-5000%`,
  );
  console.log(
    `  on CPU time                 trainer ${String(r.trainerCpuMs)} ms, audit ${String(r.validatorCpuMs)} ms, ` +
      `overhead ${pct(r.overheadCpu as number)} (robust to other load on the machine)`,
  );
  console.log(
    "\n  faked f   one member   committee (protocol)   theory 1-(1-f)^(share·members)   executed detection (small runs)",
  );
  for (const f of FRACTIONS) {
    const s = sampled[String(f)];
    const p = protocol[String(f)];
    const e = executed[String(f)];
    console.log(
      `  ${String(f).padEnd(8)}  ${pct(s.rate).padStart(10)}   ${pct(p.rate).padStart(20)}   ${pct(p.theory).padStart(16)}   ${pct(e.rate).padStart(10)} of ${e.cheaters}`,
    );
  }
  console.log(`  honest runs judged other than Valid: ${honestInvalid}   goal: 0`);
  if (r["v2.trainerMs"] !== undefined) {
    const mb = (x: unknown) => `${((x as number) / 1e6).toFixed(2)} MB`;
    console.log(
      `\nVersion 2 (MNIST [${String(r["v2.spec.widths"])}], ${String(r["v2.spec.segments"])} segments, dataset ${mb(r["v2.dataset.bytes"])}): trainer ${String(r["v2.trainerMs"])} ms`,
    );
    console.log(
      `  cold cache: audit ${String(r["v2.cold.validatorMs"])} ms (fetch and prove ${String(r["v2.cold.datasetChunks"])} chunks ${String(r["v2.cold.datasetMs"])} ms), ` +
        `${mb(r["v2.cold.bytesPerAudit"])} per audit (${mb(r["v2.cold.datasetBytesFetched"])} of examples), overhead ${pct(r["v2.cold.overhead"] as number)} (CPU ${pct(r["v2.cold.overheadCpu"] as number)})`,
    );
    console.log(
      `  warm cache: audit ${String(r["v2.warm.validatorMs"])} ms, ${mb(r["v2.warm.bytesPerAudit"])} per audit, overhead ${pct(r["v2.warm.overhead"] as number)} (CPU ${pct(r["v2.warm.overheadCpu"] as number)}); detection at f = 0.1: ${pct(r["v2.detectionTheory.f0.1"] as number)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runVerificationBench();

// --- operation sampling -------------------------------------------------------------------------

/** Specs of the sampling figures: batch 32, the reference family up to the 2.1M model. */
const SAMPLING_SPECS: number[][] = [
  [64, 128, 128, 10],
  [784, 128, 10],
  [256, 768, 512, 10],
  [1024, 1024, 1024, 10],
];

/**
 * Operation-sampling audits (`sdk/src/compute/state/sampling.ts`) against segment replay, per
 * model size: for a two-step segment of each spec, the trainer's answer bytes and the validator's
 * check time of the costliest samples (a forward element of the widest layer, a Θ_out weight, a
 * backward element) and of 64 uniform samples, measured; the replay's bytes (the segment's start
 * checkpoint) beside them; and for a 1B-parameter spec (widths 32768-30000-…, computed) the bytes
 * from the formula `32·(2·slots + 2·log2(steps)) + Σ leaves·(136 + 32·depth)`.
 * Writes `sampling` into bench/results/verification.json.   BENCH=sampling npm run bench
 */
export async function runSamplingBench(): Promise<void> {
  const { readFile } = await import("node:fs/promises");
  const { RunStates } = await import("../sdk/src/compute/state/game.js");
  const { actSlot, thetaOutSlot, backwardBase, trainingSlots } =
    await import("../sdk/src/compute/state/layout.js");
  const { answerSample, answerBytes, checkSample, sampleableSlots, stateHash, stepStatesRoot } =
    await import("../sdk/src/compute/state/sampling.js");
  const { initialWeights } = await import("../sdk/src/compute/reference.js");
  const rows = [];
  for (const widths of SAMPLING_SPECS) {
    const spec: TrainingSpec = {
      version: 1,
      widths,
      batchSize: 32,
      steps: 1024,
      checkpointInterval: 2,
      lrShift: 4,
      evalSize: 32,
    };
    const key = deriveKey(spec, bytesToHex(randomBytes(32)));
    const layout = modelLayout(spec);
    const t0 = performance.now();
    const run = new RunStates(spec, key, initialWeights(layout, key), 0);
    const states = [run.tensors(0), run.tensors(1)];
    const commitment = {
      firstStep: 0,
      steps: 2,
      startRoot: run.thetaRoot(0),
      endRoot: run.thetaRoot(2),
      stepStatesRoot: stepStatesRoot(states.map((t) => stateHash(t.roots))),
    };
    const commitMs = performance.now() - t0;
    const L = widths.length - 1;
    let widest = 1;
    for (let l = 1; l < L; l++) if (widths[l - 1] > widths[widest - 1]) widest = l;
    const measure = (sample: { step: number; slot: number; byte: number }) => {
      const answer = answerSample(spec, states, sample);
      const t = performance.now();
      checkSample(spec, commitment, sample, answer);
      return { bytes: answerBytes(answer), checkMs: performance.now() - t };
    };
    const forward = measure({ step: 0, slot: actSlot(widest), byte: 1 });
    const update = measure({ step: 1, slot: thetaOutSlot(L), byte: 8 + 2 * 7 });
    const backward = L > 1 ? measure({ step: 1, slot: backwardBase(L, 1) + 3, byte: 5 }) : undefined;
    const slots = trainingSlots(spec);
    const sampleable = sampleableSlots(spec);
    let [bytes, ms] = [0, 0];
    for (let k = 0; k < 64; k++) {
      const slot = sampleable[k % sampleable.length];
      const m = measure({ step: k % 2, slot, byte: (k * 7919) % slots[slot].length });
      bytes += m.bytes;
      ms += m.checkMs;
    }
    const row: Record<string, unknown> & { widths: number[]; widest: number } = {
      widths,
      widest,
      parameters: layout.parameterCount,
      replayBytesPerSegment: layout.checkpointBytes,
      forwardSampleBytes: forward.bytes,
      updateSampleBytes: update.bytes,
      backwardSampleBytes: backward?.bytes,
      meanSampleBytes: Math.round(bytes / 64),
      meanSampleCheckMs: Math.round((ms / 64) * 1000) / 1000,
      trainerStateMsPerStep: Math.round(commitMs / 2),
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  // 1B parameters, computed by the formula of an answer's bytes, checked against the measured rows
  // (`formulaForwardBytes` beside `forwardSampleBytes`): a forward element of the widest fold.
  const billion = [32_768, 30_000, 512, 10];
  const billionForward = forwardAnswerBytes(billion, 32, 1, 1024);
  for (const row of rows) row.formulaForwardBytes = forwardAnswerBytes(row.widths, 32, row.widest);
  let P = 0;
  for (let l = 0; l + 1 < billion.length; l++) P += (billion[l] + 1) * billion[l + 1];
  const file = fileURLToPath(new URL("./results/verification.json", import.meta.url));
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  results.sampling = {
    measured:
      "rows: two-step segments traced by the SDK (batch 32), each sample answered by the trainer's answerSample and checked by checkSample on this shared 2-core machine; bytes = leaves and siblings and slot roots the answer holds",
    rows,
    billion: {
      widths: billion,
      parameters: P,
      computed: true,
      replayBytesPerSegment: 8 + 2 * P,
      forwardSampleBytes: billionForward,
      samplesIn10MB: Math.floor((10 * 2 ** 20) / billionForward),
      how: "forwardAnswerBytes: the two state openings (32·(slots + log2(1,024 steps)) each), the element's leaf, the bias leaf and every chunk's weight and activation leaves, each 136 bytes + 32 per tree level; it gives formulaForwardBytes, equal to the measured forwardSampleBytes, for every measured row",
    },
  };
  await writeFile(file, JSON.stringify(results, null, 2) + "\n");
  console.table(rows);
  console.log(results.sampling);
}

/**
 * Bytes of the answer to a sample of a forward element A_l[0][1] (`l` = `layer`) of a spec of
 * `widths` and batch `B`, in segments of `steps` steps (not the last step): exactly what `answerSample` holds, by construction.
 */
function forwardAnswerBytes(widths: number[], B: number, layer: number, steps = 2): number {
  const depth = (bytes: number) => Math.ceil(Math.log2(Math.max(1, Math.ceil(bytes / 136))));
  const leaves = (offset: number, length: number) =>
    Math.floor((offset + length - 1) / 136) - Math.floor(offset / 136) + 1;
  const L = widths.length - 1;
  let P = 0;
  let weightOffset = 0;
  for (let l = 0; l < L; l++) {
    if (l < layer - 1) weightOffset += (widths[l] + 1) * widths[l + 1];
    P += (widths[l] + 1) * widths[l + 1];
  }
  const n = widths[layer - 1];
  const o = 1;
  const theta = 136 + 32 * depth(8 + 2 * P);
  const act = (w: number) => 136 + 32 * depth(B * w);
  const slots = 6 + 5 * L;
  let bytes = 2 * 32 * (slots + Math.ceil(Math.log2(steps))) + act(widths[layer]);
  bytes += leaves(8 + 2 * (weightOffset + n * widths[layer] + o), 2) * theta; // the bias
  for (let k0 = 0; k0 < n; k0 += 64) {
    const m = Math.min(64, n - k0);
    bytes += leaves(8 + 2 * (weightOffset + o * n + k0), 2 * m) * theta + leaves(k0, m) * act(n);
  }
  return bytes;
}
