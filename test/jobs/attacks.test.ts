/**
 * Adversarial tests of every JobRegistry function that moves value or changes who is paid, and of
 * the job hooks in the contracts it calls: each refuses the wrong caller, the wrong time and the
 * wrong input with an error naming it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import type { Connection } from "../poai/helpers/world.js";
import {
  E,
  JOB_DATASET,
  JOB_SOURCES,
  JOB_SPEC,
  deployJobsWorld,
  runOf,
  type JobsWorld,
} from "./helpers/jobs-world.js";
import { specArg } from "../poai/helpers/world.js";

describe("JobRegistry attacks", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployJobsWorld(conn);
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  const outcome = async (w: JobsWorld, p: Promise<unknown>) => {
    const o = await attempt(p, [...w.jobs.abi, ...w.models.abi, ...w.manager.abi, ...w.distributor.abi]);
    return o.ok ? "ok" : [o.error, o.args];
  };

  it("postJob names the bad field and value, and escrows nothing when it refuses", async () => {
    const w = await load();
    const claimRound = ((await w.latest()) - w.genesis) / w.epochLength + 1n;
    const earliest = await w.jobs.read.judgedBy([claimRound]);
    const j = await w.jobsOf(w.owner);
    const post = (patch: Parameters<JobsWorld["terms"]>[0]) =>
      j.write.postJob([
        specArg({ ...JOB_SPEC, dataset: undefined }),
        JOB_DATASET,
        JOB_SOURCES,
        w.terms({ deadline: earliest, ...patch }),
      ]);
    const cases: [Parameters<JobsWorld["terms"]>[0], unknown][] = [
      [{ trainers: 0 }, ["InvalidTerms", ["trainers", 0n]]],
      [{ trainers: 9 }, ["InvalidTerms", ["trainers", 9n]]],
      [{ budget: 0n }, ["InvalidTerms", ["budget", 0n]]],
      [{ token: "0x0000000000000000000000000000000000000000" }, ["InvalidTerms", ["token", 0n]]],
      [{ minAccuracyBps: 10_001 }, ["InvalidTerms", ["minAccuracyBps", 10_001n]]],
      [{ ownerRoyaltyBps: 8001 }, ["InvalidTerms", ["ownerRoyaltyBps", 8001n]]],
      [{ deadline: earliest - 1n }, ["DeadlineTooSoon", [earliest - 1n, earliest]]],
      [
        { deadline: (await w.latest()) + 366n * 86_400n },
        ["InvalidTerms", ["deadline", (await w.latest()) + 366n * 86_400n]],
      ],
    ];
    for (const [patch, expected] of cases) expect(await outcome(w, post(patch))).to.deep.equal(expected);
    expect(await w.jobs.read.jobCount()).to.equal(0n);
    expect(await w.token.read.balanceOf([w.jobs.address])).to.equal(0n);
  });

  // A model beyond the whole-model dispute bound is registered with the parameter root proven under
  // its run's result root, so the inference dispute game covers it: such a job is accepted (a
  // registry refusing it would keep large models out of jobs for nothing).
  it("accepts a job whose model is beyond the whole-model dispute (the inference game covers it), escrowing its budget", async () => {
    const w = await load();
    const widths = [4096, 4096, 4];
    const gas = await w.models.read.disputeGasBound([widths]);
    const max = await w.models.read.MAX_DISPUTE_GAS();
    expect(gas > max).to.equal(true);
    const claimRound = ((await w.latest()) - w.genesis) / w.epochLength + 1n;
    const big = { ...JOB_SPEC, widths, dataset: { ...JOB_DATASET, features: 4096 } };
    const j = await w.jobsOf(w.owner);
    const terms = w.terms({ deadline: await w.jobs.read.judgedBy([claimRound]) });
    expect(
      await outcome(
        w,
        j.write.postJob([specArg({ ...big, dataset: undefined }), big.dataset, JOB_SOURCES, terms]),
      ),
    ).to.equal("ok");
    expect(await w.token.read.balanceOf([w.jobs.address])).to.equal(terms.budget);
  });

  it("claims: only in the claim round, only active trainers with stake, once, one job per run round, and the lowest draws win", async () => {
    const w = await load();
    const a = await w.post({ trainers: 1 });
    const b = await w.post({ trainers: 1 });
    const [T0, T1, T2] = w.trainers;
    expect(await outcome(w, (await w.jobsOf(T0)).write.claim([a.jobId]))).to.deep.equal([
      "NotClaimRound",
      [a.jobId, a.claimRound - 1n, a.claimRound],
    ]);
    await w.to(w.start(a.claimRound));
    expect(await outcome(w, (await w.jobsOf(w.validators[0])).write.claim([a.jobId]))).to.deep.equal([
      "NotEligibleTrainer",
      [w.validators[0].address],
    ]);
    expect(await outcome(w, (await w.jobsOf(w.bystander)).write.claim([a.jobId]))).to.deep.equal([
      "NotEligibleTrainer",
      [w.bystander.address],
    ]);
    expect(await outcome(w, (await w.jobsOf(T0)).write.claim([99n]))).to.deep.equal(["UnknownJob", [99n]]);
    // The draws: the lowest holds the single place, whoever claims first.
    const draws = await Promise.all(
      [T0, T1, T2].map(async (t) => {
        await w.beacon.write.seal([a.claimRound]);
        return { t, d: await w.jobs.read.priorityOf([a.jobId, t.address]) };
      }),
    );
    draws.sort((x, y) => (x.d < y.d ? -1 : 1));
    const [best, mid, worst] = draws.map((x) => x.t);
    await (await w.jobsOf(mid)).write.claim([a.jobId]);
    expect(await outcome(w, (await w.jobsOf(mid)).write.claim([a.jobId]))).to.deep.equal([
      "AlreadyClaimed",
      [a.jobId, mid.address],
    ]);
    expect(await outcome(w, (await w.jobsOf(mid)).write.claim([b.jobId]))).to.deep.equal([
      "AlreadyAssigned",
      [mid.address, a.claimRound + 1n, a.jobId],
    ]);
    expect(await outcome(w, (await w.jobsOf(worst)).write.claim([a.jobId]))).to.deep.equal([
      "Outranked",
      [a.jobId, draws[2].d, draws[1].d],
    ]);
    const tx = await (await w.jobsOf(best)).write.claim([a.jobId]);
    expect(await w.events(tx, w.jobs, "ClaimOutranked")).to.deep.equal([
      { jobId: a.jobId, trainer: mid.address, runRound: a.claimRound + 1n },
    ]);
    expect((await w.jobs.read.getJob([a.jobId])).assigned).to.deep.equal([best.address]);
    // The outranked trainer is free again for the other job.
    await (await w.jobsOf(mid)).write.claim([b.jobId]);
    expect(await w.jobs.read.assignmentOf([mid.address, a.claimRound + 1n])).to.equal(b.jobId);
  });

  it("only the ChallengeManager reports a run's judgment (a forged Valid report would complete a job unpaid for)", async () => {
    const w = await load();
    const { jobId, claimRound } = await w.post();
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const [holder] = (await w.jobs.read.getJob([jobId])).assigned;
    const id = keccak256(toHex("forged"));
    expect(
      await outcome(
        w,
        (await w.jobsOf(w.bystander)).write.onRunFinalized([id, holder, claimRound + 1n, 2, 10_000]),
      ),
    ).to.deep.equal(["NotChallengeManager", [w.bystander.address]]);
    expect(await outcome(w, (await w.jobsOf(w.bystander)).write.settle([jobId]))).to.deep.equal([
      "RunNotJudged",
      [
        jobId,
        w.id(
          w.trainers.find((t) => t.address === holder)!,
          claimRound + 1n,
        ),
      ],
    ]);
  });

  it("settle waits for the claims to close; registerModel waits for completion", async () => {
    const w = await load();
    const { jobId, claimRound } = await w.post();
    expect(await outcome(w, (await w.jobsOf(w.bystander)).write.settle([jobId]))).to.deep.equal([
      "ClaimsOpen",
      [jobId, claimRound],
    ]);
    const run = runOf("early");
    expect(
      await outcome(
        w,
        (await w.jobsOf(w.bystander)).write.registerModel([
          jobId,
          run.finalHash,
          run.finalRoot,
          run.finalProof,
        ]),
      ),
    ).to.deep.equal(["JobNotCompleted", [jobId, 1]]);
  });

  it("the hooks the job registry uses are its own: nobody else registers job specs or job models, credits pools or sets royalty splits", async () => {
    const w = await load();
    const X = w.bystander;
    const unauthorized = ["AccessManagedUnauthorized", [X.address]];
    const distributor = await w.as("RewardDistributor", w.distributor.address, X);
    expect(await outcome(w, distributor.write.creditFees([[X.address], [1n]]))).to.deep.equal(unauthorized);
    expect(
      await outcome(w, distributor.write.setRoyaltySplit([X.address, X.address, X.address, 10_000])),
    ).to.deep.equal(unauthorized);
    const models = await w.as("ModelRegistry", w.models.address, X);
    expect(
      await outcome(
        w,
        models.write.registerJobModel([
          "job/1",
          X.address,
          [8, 8, 4],
          keccak256(toHex("w")),
          keccak256(toHex("r")),
          keccak256(toHex("c")),
          1n,
          X.address,
        ]),
      ),
    ).to.deep.equal(unauthorized);
    expect(
      await outcome(
        w,
        X.registry.write.registerJobSpec([
          specArg({ ...JOB_SPEC, dataset: undefined }),
          JOB_DATASET,
          { responseDeadline: 3600, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 2 },
          [],
        ]),
      ),
    ).to.deep.equal(unauthorized);
  });

  it("a trainer cannot squat a job's model name before the job completes", async () => {
    const w = await load();
    const models = await w.as("ModelRegistry", w.models.address, w.trainers[0]);
    expect(
      await outcome(w, models.write.registerModel(["job/1", [8, 8, 4], keccak256(toHex("w"))])),
    ).to.deep.equal(["ReservedContainerId", ["job/1"]]);
    expect(await outcome(w, models.write.registerModel(["jobs", [8, 8, 4], keccak256(toHex("w"))]))).to.equal(
      "ok",
    );
    void E;
  });
});
