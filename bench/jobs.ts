/**
 * Paid jobs benchmark: the reference MNIST job end to end on the in-process chain against the same
 * training run locally, and the gas of a job's life.
 *
 * 1. Overhead. The reference job is the devnet's: the engine version 2 MNIST spec (all 10,000
 *    digits of the `mnist` package, [784, 64, 10], 1,000 steps of 32, a checkpoint every 50), one
 *    trainer. Set-up (not timed): the network deployed, one trainer and three validators
 *    registered with their daemons in this process (own SQLite files and HTTP servers, the wasm
 *    backend), the regular challenges on a tiny spec ([8, 8, 4], 20 steps) so that they cost next
 *    to nothing, the dataset built and served over HTTP. Timed, from the engineer's `postJob` to
 *    the model in its hands: the post, the trainer daemon's claim, its run of the job (dataset
 *    fetched over HTTP and proven, trained, committed, submitted), the committee's audits, commits,
 *    reveals and finalization, `settle`, and `fetchJobModel` (downloaded from the trainer's server
 *    and proven under the run's root). Excluded: the chain's clock, which the devnet compresses (a
 *    real job waits for its claim round, run round and judgment windows, about three epochs): the
 *    time jumps (`evm_setNextBlockTimestamp` + mine) are measured apart and subtracted. Two figures:
 *    `sequential`, every daemon's work one after the other on this machine, and `criticalPath`,
 *    where the validators' work at each milestone counts once, as its slowest member's (each
 *    validator is its own machine in a real network). Local: `train` + `evaluate` of the same spec
 *    and seed, data in memory, the same backend, no chain, no network. overhead = e2e / local.
 * 2. Gas (`gasUsed` of each transaction): `postJob` the first time a spec is posted (it registers
 *    the spec in the TaskRegistry) and again for a spec already registered, `cancel`, `claim`,
 *    `settle` completing a job (paying the trainer's pool, the committee's pools and the
 *    treasury), `registerModel`, and the treasury's `withdraw` (first-time costs as their own rows).
 *
 * Writes the `jobs` key of bench/results/jobs.json (other keys of the file are kept).
 *   BENCH=jobs npm run bench
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEther, parseEventLogs, type Address, type Hex } from "viem";
import {
  cancelJob,
  createPoAIClient,
  getJob,
  jobRegistryAbi,
  parseDeployment,
  postJob,
  registerJobModel,
  roundWindows,
  settleJob,
  withdrawJobFunds,
} from "../sdk/src/index.js";
import {
  checkpointHash,
  deriveKey,
  evaluate,
  replaySegment,
  specId,
  train,
  validateSeed,
  wasmBackend,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { TrainerDaemon, fetchJobModel } from "../node/src/node/index.js";
import { ValidatorDaemon } from "../node/src/verifier/index.js";
import { deployNetwork } from "../scripts/lib/deploy.js";
import { deployJobs } from "../scripts/lib/deploy-jobs.js";
import { deployModelRegistry } from "../scripts/lib/deploy-verifier.js";
import { contractsOf } from "../scripts/lib/address-book.js";
import { driveRounds, type Tickable } from "../scripts/lib/daemon-network.js";
import { devnetMnist } from "../scripts/lib/devnet/mnist.js";

const EPOCH = 3600;
const RESULTS = new URL("./results/jobs.json", import.meta.url);
/** The regular challenges' spec while the job runs: next to nothing to train or audit. */
const TINY: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};

/** Wraps daemons so each tick's wall time is recorded under the current milestone. */
class Timed implements Tickable {
  constructor(
    private readonly inner: Tickable,
    private readonly log: (ms: number) => void,
  ) {}
  async tick(): Promise<void> {
    const t = performance.now();
    try {
      await this.inner.tick();
    } finally {
      this.log(performance.now() - t);
    }
  }
}

export async function runJobsBench() {
  const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
  const connection = await network.create();
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [admin, trainerW, v1, v2, v3, engineerW] = wallets;
  const validatorWs = [v1!, v2!, v3!];
  const addr = (w: (typeof wallets)[number]): Address => getAddress(w.account.address);
  const gas: Record<string, number> = {};
  const gasOf = async (label: string, hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`${label} reverted`);
    gas[label] = Number(r.gasUsed);
    return r;
  };

  // --- set-up (not timed) ------------------------------------------------------------------------
  const d = await deployNetwork(viem, { epochLength: EPOCH, emission: parseEther("1000") });
  for (const [i, w] of [trainerW!, ...validatorWs].entries()) {
    await d.token.write.transfer([addr(w), parseEther("10000")]);
    const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
    await token.write.approve([d.staking.address, maxUint256]);
    const staking = await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } });
    await staking.write.register([
      i === 0 ? 1 : 2,
      parseEther(i === 0 ? "5000" : "2000"),
      500,
      2000,
      `http://127.0.0.1:${7300 + i}`,
      "CPU",
    ]);
  }
  await d.token.write.approve([d.distributor.address, maxUint256]);
  await d.distributor.write.fund([parseEther("10000")]);
  await d.registry.write.registerSpec([
    { ...TINY, widths: [...TINY.widths] },
    { responseDeadline: 1200, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 3 },
  ]);
  await d.registry.write.activate([specId(TINY)]);
  const models = await deployModelRegistry(viem, d);
  const { jobs, scoreGame } = await deployJobs(
    viem,
    { ...d, epochLength: BigInt(EPOCH) },
    { models: models.address },
  );
  await d.token.write.transfer([addr(engineerW!), parseEther("1000")]);
  const mnist = await devnetMnist(root);
  const spec = mnist.spec;
  const deployment = parseDeployment({
    chainId: publicClient.chain.id,
    deployBlock: 0n,
    contracts: { ...contractsOf(d), jobRegistry: jobs.address },
  });
  const clientOf = (w: (typeof wallets)[number]) =>
    createPoAIClient({ publicClient, walletClient: w, deployment });
  const engineer = clientOf(engineerW!);
  const dataDir = mkdtempSync(path.join(tmpdir(), "poai-bench-jobs-"));
  const trainer = await TrainerDaemon.create({
    client: clientOf(trainerW!),
    databasePath: path.join(dataDir, "trainer.db"),
    progress: "off",
    logLevel: "silent",
    backend: "wasm",
  });
  const validators: ValidatorDaemon[] = [];
  for (const [i, w] of validatorWs.entries())
    validators.push(
      await ValidatorDaemon.create({
        client: clientOf(w),
        dbPath: path.join(dataDir, `validator-${i}.db`),
        logLevel: "silent",
        backend: "wasm",
      }),
    );

  let result: Record<string, unknown>;
  try {
    const approve = await viem.getContractAt("PoAIToken", d.token.address, {
      client: { wallet: engineerW! },
    });
    await approve.write.approve([jobs.address, maxUint256]);
    const genesis = await d.staking.read.genesis();
    const current = await d.staking.read.currentEpoch();
    const terms = async () => ({
      trainers: 1,
      budget: parseEther("300"),
      deadline: await jobs.read.judgedBy([current + 1n]),
      minAccuracyBps: 8000,
      ownerRoyaltyBps: 3000,
    });

    // --- the job, timed ---------------------------------------------------------------------------
    let clockMs = 0;
    let trainerMs = 0;
    let validatorSum = 0;
    let validatorMax = 0;
    let milestoneMax = 0;
    const closeMilestone = () => {
      validatorMax += milestoneMax;
      milestoneMax = 0;
    };
    const t0 = performance.now();
    const posted = await gasOf(
      "postJob (first of its spec: registers the spec)",
      await postJob(engineer, { spec, sources: [mnist.source], terms: await terms() }),
    );
    const jobId = parseEventLogs({ abi: jobRegistryAbi, logs: posted.logs, eventName: "JobPosted" })[0]!.args
      .jobId;
    const first = current + 1n;
    await driveRounds({
      windows: (r) =>
        roundWindows(genesis, BigInt(EPOCH), r, { ...d.challengeParams, responseDeadline: 1200 }),
      advanceTo: async (t) => {
        closeMilestone();
        const c = performance.now();
        if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
        clockMs += performance.now() - c;
      },
      trainers: [new Timed(trainer, (ms) => (trainerMs += ms))],
      validators: validators.map(
        (v) =>
          new Timed(v, (ms) => {
            validatorSum += ms;
            milestoneMax = Math.max(milestoneMax, ms);
          }),
      ),
      from: first,
      to: first + 1n,
    });
    closeMilestone();
    // The trainer daemon's own measure of its training (its /metrics histogram; the tiny regular
    // challenges included, a few milliseconds).
    const metrics = await (await fetch(`${trainer.serverUrl.replace(/\/+$/, "")}/metrics`)).text();
    const trainingSeconds = Number(
      /^poai_trainer_training_seconds_sum(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? 0,
    );
    // the run's reported accuracy counts once the score game's window has passed undisputed
    const judgedJob = await getJob(engineer, { jobId });
    const runId = await d.challenges.read.challengeId([judgedJob.assigned[0]!, judgedJob.runRound]);
    const until = await scoreGame!.read.openUntil([runId]);
    if (BigInt(await networkHelpers.time.latest()) <= until) await networkHelpers.time.increaseTo(until + 1n);
    await gasOf(
      "settle (completes: pays the trainer's, the committee's pools and the treasury)",
      await settleJob(engineer, { jobId }),
    );
    const model = await fetchJobModel(engineer, { jobId });
    const e2eMs = performance.now() - t0;
    if ((await getJob(engineer, { jobId })).state !== "Completed")
      throw new Error("the reference job did not complete");

    // The claim's gas, from the trainer daemon's transaction.
    const [claimed] = await publicClient.getContractEvents({
      address: jobs.address,
      abi: jobRegistryAbi,
      eventName: "JobClaimed",
      fromBlock: 0n,
    });
    gas["claim (the trainer daemon's)"] = Number(
      (await publicClient.getTransactionReceipt({ hash: claimed!.transactionHash })).gasUsed,
    );
    await gasOf(
      "registerModel (job/<id> in the ModelRegistry)",
      await registerJobModel(engineer, {
        jobId,
        weightsHash: model.weightsHash,
        parameterRoot: model.parameterRoot,
        proof: model.proof,
      }),
    );
    await gasOf("withdraw (the treasury's share, first)", await withdrawJobFunds(clientOf(admin!), {}));
    const again = await gasOf(
      "postJob (spec already registered)",
      await postJob(engineer, {
        spec,
        sources: [mnist.source],
        terms: {
          ...(await terms()),
          deadline: await jobs.read.judgedBy([(await d.staking.read.currentEpoch()) + 1n]),
        },
      }),
    );
    const second = parseEventLogs({ abi: jobRegistryAbi, logs: again.logs, eventName: "JobPosted" })[0]!.args
      .jobId;
    await gasOf("cancel (before any claim)", await cancelJob(engineer, { jobId: second }));

    // --- the same training, locally ------------------------------------------------------------------
    const seed = (await d.challenges.read.dueChallenge([addr(trainerW!), first + 1n]))[1];
    const l0 = performance.now();
    const run = await train(spec, seed, { backend: wasmBackend, data: mnist.data });
    const score = await evaluate(spec, seed, run.final, { backend: wasmBackend, data: mnist.data });
    const localMs = performance.now() - l0;
    // The same run the way the daemon trains it: one `replaySegment` per checkpoint interval (a
    // crash loses at most a segment), data in memory, nothing stored.
    const s0 = performance.now();
    const init = await wasmBackend.open(spec, deriveKey(spec, validateSeed(seed)));
    let from = { step: 0, weights: await init.getWeights() };
    init.close();
    for (let i = 0; i < spec.steps / spec.checkpointInterval; i++)
      from = await replaySegment(spec, seed, i, from, { backend: wasmBackend, data: mnist.data });
    const localSegmentedMs = performance.now() - s0;
    if (checkpointHash(spec, from) !== checkpointHash(spec, run.final))
      throw new Error("the segmented run differs from the whole run");

    const sequential = e2eMs - clockMs;
    const criticalPath = sequential - validatorSum + validatorMax;
    result = {
      spec: {
        widths: [...spec.widths],
        steps: spec.steps,
        batchSize: spec.batchSize,
        checkpointInterval: spec.checkpointInterval,
        trainCount: spec.dataset!.trainCount,
        evalCount: spec.dataset!.evalCount,
      },
      backend: "wasm",
      localMs: Math.round(localMs),
      localAccuracyBps: score.accuracyBps,
      /** The same run segment by segment, as the daemon trains it (data in memory, nothing stored). */
      localSegmentedMs: Math.round(localSegmentedMs),
      e2eWallMs: Math.round(e2eMs),
      clockJumpsMs: Math.round(clockMs),
      trainerDaemonMs: Math.round(trainerMs),
      /** Of it, training as the daemon measures it (poai_trainer_training_seconds). */
      trainerTrainingMs: Math.round(trainingSeconds * 1000),
      validatorsSequentialMs: Math.round(validatorSum),
      validatorsSlowestMemberMs: Math.round(validatorMax),
      sequentialMs: Math.round(sequential),
      /** The engineer's transactions and reads, the fetch, and the driver: the rest of the sequential time. */
      engineerAndChainMs: Math.round(sequential - trainerMs - validatorSum),
      criticalPathMs: Math.round(criticalPath),
      overheadSequential: Number((sequential / localMs).toFixed(3)),
      overheadCriticalPath: Number((criticalPath / localMs).toFixed(3)),
      goal: 1.3,
      gas,
    };
  } finally {
    await trainer.stop();
    for (const v of validators) await v.stop();
    await mnist.server.close();
    rmSync(dataDir, { recursive: true, force: true });
    await connection.close();
  }

  const existing = existsSync(RESULTS)
    ? (JSON.parse(await readFile(RESULTS, "utf8")) as Record<string, unknown>)
    : {};
  await writeFile(RESULTS, `${JSON.stringify({ ...existing, jobs: result }, null, 2)}\n`);
  console.log("\nPaid jobs: the reference MNIST job end to end against the same run locally");
  const { gas: gasRows, ...times } = result as { gas: Record<string, number> };
  console.table(
    Object.entries(times)
      .filter(([, v]) => typeof v !== "object")
      .map(([key, value]) => ({ key, value })),
  );
  console.table(Object.entries(gasRows).map(([action, gasUsed]) => ({ action, gasUsed })));
}
