/**
 * Stateful property test of the job escrow: random sequences of posts (in the staking token or
 * another ERC-20), cancellations, claims, submitted runs, finalizations, settlements and clock
 * moves, from any account. After every step, per token:
 *  - the registry's `escrowed` equals the sum of the budgets of the jobs still open;
 *  - the registry holds exactly `escrowed + totalOwed` (nothing paid twice, nothing lost);
 * and at the end, once every deadline has passed and every run is finalized, `settle` moves every
 * job to a final state (nothing is stuck) and every account withdraws what it is owed, leaving the
 * registry empty.
 *
 * JOBS_INVARIANT_RUNS and JOBS_INVARIANT_SEED override the number of runs and the seed.
 */
import { expect } from "chai";
import { network } from "hardhat";
import fc from "fast-check";
import type { Address } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import type { Connection } from "../poai/helpers/world.js";
import { E, JobState, deployJobsWorld, runOf, type JobsWorld } from "./helpers/jobs-world.js";

const RUNS = Number(process.env.JOBS_INVARIANT_RUNS ?? 4);
const SEED = Number(process.env.JOBS_INVARIANT_SEED ?? 20_261_207);

type Step =
  | { kind: "post"; trainers: number; other: boolean; budget: bigint; extraEpochs: number }
  | { kind: "cancel"; job: number }
  | { kind: "claim"; trainer: number; job: number }
  | { kind: "submit"; trainer: number }
  | { kind: "finalize"; trainer: number }
  | { kind: "settle"; job: number }
  | { kind: "advance"; fraction: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      trainers: fc.integer({ min: 1, max: 2 }),
      other: fc.boolean(),
      budget: fc.bigInt({ min: 1n, max: E(1000) }),
      extraEpochs: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), job: fc.nat(7) }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("claim" as const), trainer: fc.nat(2), job: fc.nat(7) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("submit" as const), trainer: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("finalize" as const), trainer: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("settle" as const), job: fc.nat(7) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      fraction: fc.double({ min: 0.05, max: 1.3, noNaN: true }),
    }),
  },
);

/** Reverts a step may meet by the rules (anything else fails the property). */
const EXPECTED = new Set([
  "UnknownJob",
  "JobNotOpen",
  "NotClaimRound",
  "AlreadyClaimed",
  "AlreadyAssigned",
  "Outranked",
  "NotEligibleTrainer",
  "TrainersAssigned",
  "ClaimsOpen",
  "RunNotJudged",
  "DeadlineTooSoon",
  // ChallengeManager
  "AlreadySubmitted",
  "NotDue",
  "DeadlinePassed",
  "WrongRound",
  "DeadlineNotPassed",
  "ChallengeNotOpen",
  "BeaconNotReady",
]);

describe("JobRegistry escrow invariants", function () {
  this.timeout(900_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployJobsWorld(conn);
  }

  async function check(w: JobsWorld) {
    for (const token of [w.token.address, w.other.address] as Address[]) {
      const escrowed = await w.jobs.read.escrowed([token]);
      expect(escrowed).to.equal(await w.openBudgets(token));
      const c = token === w.token.address ? w.token : w.other;
      expect(await c.read.balanceOf([w.jobs.address])).to.equal(
        escrowed + (await w.jobs.read.totalOwed([token])),
      );
    }
  }

  it("escrow equals the open jobs' budgets after every step, and every job ends", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 18 }), async (steps) => {
        const w = await conn.networkHelpers.loadFixture(fixture);
        const abi = [...w.jobs.abi, ...w.challenges.abi, ...w.token.abi];
        const round = async () => ((await w.latest()) - w.genesis) / w.epochLength;
        const run = async (p: Promise<unknown>) => {
          const o = await attempt(p, abi);
          if (!o.ok && !EXPECTED.has(o.error)) throw new Error(`unexpected revert ${o.error} (${o.message})`);
          return o.ok;
        };
        const submitted: { trainer: number; round: bigint }[] = [];
        for (const s of steps) {
          const count = Number(await w.jobs.read.jobCount());
          const jobId = (n: number) => BigInt(count === 0 ? 1 : (n % count) + 1);
          switch (s.kind) {
            case "post": {
              const claimRound = (await round()) + 1n;
              const deadline =
                (await w.jobs.read.judgedBy([claimRound])) + BigInt(s.extraEpochs) * w.epochLength;
              await run(
                w.post({
                  trainers: s.trainers,
                  budget: s.budget,
                  deadline,
                  token: s.other ? w.other.address : w.token.address,
                }),
              );
              break;
            }
            case "cancel":
              await run((await w.jobsOf(w.owner)).write.cancel([jobId(s.job)]));
              break;
            case "claim":
              await run((await w.jobsOf(w.trainers[s.trainer])).write.claim([jobId(s.job)]));
              break;
            case "submit": {
              const r = await round();
              const t = w.trainers[s.trainer];
              if (!(await w.staking.read.isActive([t.address]))) break;
              if (await run(t.cm.write.submitResult([r, runOf(`${s.trainer}/${r}`).tree.root, 9000])))
                submitted.push({ trainer: s.trainer, round: r });
              break;
            }
            case "finalize": {
              const mine = submitted.filter((x) => x.trainer === s.trainer);
              if (mine.length === 0) break;
              const last = mine[mine.length - 1];
              await run(w.bystander.cm.write.finalize([w.id(w.trainers[last.trainer], last.round)]));
              break;
            }
            case "settle":
              await run((await w.jobsOf(w.bystander)).write.settle([jobId(s.job)]));
              break;
            case "advance":
              await w.to(
                (await w.latest()) + BigInt(Math.max(1, Math.floor(Number(w.epochLength) * s.fraction))),
              );
              break;
          }
          await check(w);
        }
        // Drain: past every deadline, finalize every run, settle until every job is final.
        const count = await w.jobs.read.jobCount();
        let latest = 0n;
        for (let i = 1n; i <= count; i++) {
          const d = (await w.jobs.read.getJob([i])).deadline;
          if (d > latest) latest = d;
        }
        await w.reach(latest + 2n * w.epochLength);
        for (const x of submitted)
          await run(w.bystander.cm.write.finalize([w.id(w.trainers[x.trainer], x.round)]));
        for (let i = 1n; i <= count; i++) {
          if ((await w.jobs.read.getJob([i])).state === JobState.Open)
            await (await w.jobsOf(w.bystander)).write.settle([i]);
          expect((await w.jobs.read.getJob([i])).state).to.not.equal(JobState.Open);
        }
        await check(w);
        for (const token of [w.token.address, w.other.address] as Address[]) {
          for (const a of w.actors) {
            if ((await w.jobs.read.owed([token, a.address])) !== 0n)
              await (await w.jobsOf(a)).write.withdraw([token]);
          }
          expect(await w.jobs.read.totalOwed([token])).to.equal(0n);
          expect(await w.jobs.read.escrowed([token])).to.equal(0n);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
