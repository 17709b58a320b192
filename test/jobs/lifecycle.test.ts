/**
 * The life of a paid training job on chain: posting escrows the budget; the claim round's
 * stake-weighted draws assign the trainers; each assigned trainer's challenge of the run round
 * trains the job's spec and is judged by its committee like any challenge; `settle` completes
 * the job (budget split among the qualifying trainers' pools, the agreeing committee members'
 * pools and the treasury), or re-assigns it, or refunds it; the owner cancels before any claim.
 * Every test ends with the escrow equal to the sum of the open jobs' budgets.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import { specId } from "../../sdk/src/compute/index.js";
import { BPS, Status } from "../poai/helpers/world.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { E, JOB_SPEC, JobState, deployJobsWorld, runOf, type JobsWorld } from "./helpers/jobs-world.js";
import type { Connection } from "../poai/helpers/world.js";

describe("JobRegistry life cycle", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployJobsWorld(conn);
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  const abiOf = (w: JobsWorld) => [...w.jobs.abi, ...w.challenges.abi, ...w.models.abi, ...w.manager.abi];
  const outcome = async (w: JobsWorld, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : [o.error, o.args];
  };
  const escrowBalances = async (w: JobsWorld, token: Address = w.token.address) => {
    expect(await w.jobs.read.escrowed([token])).to.equal(await w.openBudgets(token));
    const held = await w.token.read.balanceOf([w.jobs.address]);
    if (token === w.token.address)
      expect(held).to.equal((await w.jobs.read.escrowed([token])) + (await w.jobs.read.totalOwed([token])));
  };
  /** The events `RewardNotified` Staking emitted in `hash`, as operator => amount. */
  const poolCredits = async (w: JobsWorld, hash: Hex) => {
    const out = new Map<string, bigint>();
    for (const e of await w.events(hash, w.staking, "RewardNotified")) {
      const k = (e.operator as string).toLowerCase();
      out.set(k, (out.get(k) ?? 0n) + (e.amount as bigint));
    }
    return out;
  };

  it("assigns by the lowest stake-weighted draws, judges both runs, slashes the forger and completes with the honest run", async () => {
    const w = await load();
    const [T0, T1, T2] = w.trainers;
    const { jobId, claimRound } = await w.post({ trainers: 2 });
    expect(jobId).to.equal(1n);
    await escrowBalances(w);
    expect(await w.token.read.balanceOf([w.jobs.address])).to.equal(E(100));

    await w.to(w.start(claimRound));
    await w.claimAll(jobId, [T0, T1, T2]);
    // The two lowest draws hold the job, whatever the order of the claims.
    const draws = await Promise.all([T0, T1, T2].map((t) => w.jobs.read.priorityOf([jobId, t.address])));
    const expected = [T0, T1, T2]
      .map((t, i) => ({ t: t.address, d: draws[i] }))
      .sort((a, b) => (a.d < b.d ? -1 : 1))
      .slice(0, 2)
      .map((x) => x.t);
    const job = await w.jobs.read.getJob([jobId]);
    expect(job.assigned).to.deep.equal(expected);
    const [honest, forger] = job.assigned.map((a) => w.trainers.find((t) => t.address === a)!);
    const runRound = claimRound + 1n;
    // The ChallengeManager trains the job's spec for the assigned trainers only.
    expect(job.specId).to.equal(specId(JOB_SPEC));
    expect(await w.registry.read.isRegistered([job.specId])).to.equal(true);
    expect(await w.jobs.read.jobSpecOf([honest.address, runRound])).to.equal(job.specId);
    const loser = [T0, T1, T2].find((t) => !job.assigned.includes(t.address))!;
    expect(await w.jobs.read.jobSpecOf([loser.address, runRound])).to.equal(
      "0x0000000000000000000000000000000000000000000000000000000000000000",
    );

    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    // The winner's run is audited by operation sampling: its final leaf commits its evaluation root.
    const run = runOf("honest", keccak256(toHex("honest evaluation root")));
    await honest.cm.write.submitResult([runRound, run.tree.root, 9100]);
    await forger.cm.write.submitResult([runRound, runOf("forged").tree.root, 9900]);
    const hid = w.id(honest, runRound);
    const fid = w.id(forger, runRound);
    expect((await w.challenges.read.getChallenge([hid])).specId).to.equal(job.specId);
    await w.beaconReveal(runRound + 1n, w.validators);
    // The job cannot settle while a run can still be judged.
    expect(
      await outcome(
        w,
        w.jobsOf(w.bystander).then((j) => j.write.settle([jobId])),
      ),
    ).to.deep.equal(["RunNotJudged", [jobId, job.assigned[0] === honest.address ? hid : fid]]);
    await w.judge(runRound, [
      [hid, w.valid(9000)],
      [fid, w.invalid()],
    ]);
    expect((await w.challenges.read.getChallenge([fid])).status).to.equal(Status.Fraud);
    expect(await w.staking.read.isActive([forger.address])).to.equal(false);
    expect((await w.jobs.read.runOf([hid])).medianScoreBps).to.equal(9000);

    const settled = await (await w.jobsOf(w.bystander)).write.settle([jobId]);
    const done = await w.jobs.read.getJob([jobId]);
    expect(done.state).to.equal(JobState.Completed);
    expect(done.winner).to.equal(honest.address);
    expect(done.winnerScoreBps).to.equal(9000);
    // Budget 100: protocol 5% (to the treasury), committee 10% over the agreeing verdicts (3 per
    // run, 6 in all), the trainers the rest (one qualifying run).
    const perVote = E(10) / 6n;
    const toTrainer = E(85);
    const toTreasury = E(100) - toTrainer - perVote * 6n;
    const credits = await poolCredits(w, settled);
    expect(credits.get(honest.address.toLowerCase())).to.equal(toTrainer);
    for (const v of w.validators) expect(credits.get(v.address.toLowerCase())).to.equal(perVote * 2n);
    expect(credits.has(forger.address.toLowerCase())).to.equal(false);
    expect(await w.jobs.read.owed([w.token.address, w.treasury])).to.equal(toTreasury);
    await escrowBalances(w);

    // The model: the winning run's final checkpoint, proven under its root, bound to the job.
    const reg = await w.jobsOf(w.bystander);
    expect(
      await outcome(w, reg.write.registerModel([jobId, run.finalHash, run.finalRoot, runOf("x").finalProof])),
    ).to.deep.equal(["JobCheckpointNotProven", [jobId, 2n, run.finalHash]]);
    // Catches a registry that proves the final leaf with a zero fourth word only: a run audited by
    // operation sampling commits its evaluation root there, so its model could never be registered.
    expect(
      await outcome(w, reg.write.registerModel([jobId, run.finalHash, run.finalRoot, run.finalProof])),
    ).to.deep.equal(["JobCheckpointNotProven", [jobId, 2n, run.finalHash]]);
    expect(
      await outcome(
        w,
        reg.write.registerModelWithEvalRoot([
          jobId,
          run.finalHash,
          run.finalRoot,
          keccak256(toHex("another evaluation root")),
          run.finalProof,
        ]),
      ),
    ).to.deep.equal(["JobCheckpointNotProven", [jobId, 2n, run.finalHash]]);
    await reg.write.registerModelWithEvalRoot([
      jobId,
      run.finalHash,
      run.finalRoot,
      run.evalRoot!,
      run.finalProof,
    ]);
    const cid = (await w.jobs.read.getJob([jobId])).containerId;
    const account = await w.jobs.read.royaltyAccount([jobId]);
    expect(await w.models.read.jobOf([cid])).to.equal(jobId);
    expect(await w.models.read.challengeOf([cid])).to.equal(hid);
    expect((await w.models.read.getModel([cid])).trainer).to.equal(honest.address);
    expect(await w.models.read.trainerOf([cid])).to.equal(account);
    expect(
      await outcome(w, reg.write.registerModel([jobId, run.finalHash, run.finalRoot, run.finalProof])),
    ).to.deep.equal(["JobModelAlreadyRegistered", [jobId, cid]]);

    // Royalties: a usage fee of the model (the coordinator's report) pays the owner its 30% of the
    // royalty at once and the trainer's pool the rest.
    const before = await w.token.read.balanceOf([w.owner.address]);
    const fee = E(10);
    await w.token.write.approve([w.distributor.address, fee]);
    const node = T2 === honest || T2 === forger ? loser : T2;
    const usage = await w.distributor.write.notifyUsage([node.address, account, fee]);
    const royalty = (fee * 2000n) / BPS;
    const toOwner = (royalty * 3000n) / BPS;
    expect((await w.token.read.balanceOf([w.owner.address])) - before).to.equal(toOwner);
    const usageCredits = await poolCredits(w, usage);
    expect(usageCredits.get(honest.address.toLowerCase())).to.equal(royalty - toOwner);
    expect(usageCredits.get(node.address.toLowerCase())).to.equal((fee * 7000n) / BPS);
    expect(await w.distributor.read.totalToOwners()).to.equal(toOwner);

    // The treasury withdraws its share; nothing is left in the registry but what is owed.
    await (await w.jobsOf(w.outsiders[2])).write.withdraw([w.token.address]);
    expect(await w.token.read.balanceOf([w.jobs.address])).to.equal(0n);
  });
  it("hears an overrule of a job run in either direction: an open job settles on the proven status, a settled one records it", async () => {
    const w = await load();
    const { jobId, claimRound } = await w.post({ trainers: 2 });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers.slice(0, 2));
    const job = await w.jobs.read.getJob([jobId]);
    const [honest, forger] = job.assigned.map((a) => w.trainers.find((t) => t.address === a)!);
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    await honest.cm.write.submitResult([runRound, runOf("honest").tree.root, 9100]);
    await forger.cm.write.submitResult([runRound, runOf("forged").tree.root, 9900]);
    const hid = w.id(honest, runRound);
    const fid = w.id(forger, runRound);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [
      [hid, w.valid(9000)],
      [fid, w.invalid()],
    ]);
    // the dispute game's role (held here by the admin) overrules the honest run's Valid verdict
    // while the job is open: a board that was not told would complete the job with it
    await w.manager.write.grantRole([ROLES.DISPUTES, w.admin.address, 0]);
    const valid = await w.challenges.write.overrule([hid]);
    expect(await w.events(valid, w.jobs, "RunOverruled")).to.deep.equal([
      { jobId, challengeId: hid, status: Status.Fraud, state: JobState.Open },
    ]);
    expect(await w.jobs.read.runOf([hid])).to.deep.include({
      judged: true,
      status: Status.Fraud,
      overruled: true,
    });
    await (await w.jobsOf(w.bystander)).write.settle([jobId]);
    const after = await w.jobs.read.getJob([jobId]);
    expect(after.state).to.not.equal(JobState.Completed);
    // the other direction, after the job moved on: the forger's conviction overruled is recorded
    // (the job's settlement already happened and is not reversed)
    const fraud = await w.challenges.write.overrule([fid]);
    expect(await w.events(fraud, w.jobs, "RunOverruled")).to.deep.equal([
      { jobId, challengeId: fid, status: Status.Valid, state: after.state },
    ]);
    expect(await w.jobs.read.runOf([fid])).to.deep.include({ status: Status.Valid, overruled: true });
    expect((await w.jobs.read.getJob([jobId])).state).to.equal(after.state);
    await escrowBalances(w);
  });

  it("re-assigns after a fraud to the next round's claims, then refunds at the deadline: the forger never holds it again", async () => {
    const w = await load();
    const { jobId, claimRound, deadline } = await w.post({ trainers: 1 });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const [holder] = (await w.jobs.read.getJob([jobId])).assigned;
    const forger = w.trainers.find((t) => t.address === holder)!;
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    await forger.cm.write.submitResult([runRound, runOf("forged").tree.root, 9900]);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [[w.id(forger, runRound), w.invalid()]]);
    await (await w.jobsOf(w.bystander)).write.settle([jobId]);
    const again = await w.jobs.read.getJob([jobId]);
    expect(again.state).to.equal(JobState.Open);
    expect(again.attempt).to.equal(2);
    expect(again.assigned).to.deep.equal([]);
    expect(BigInt(again.claimRound)).to.equal(((await w.latest()) - w.genesis) / w.epochLength + 1n);
    await escrowBalances(w);
    // The jailed forger cannot claim the new attempt; nobody else does; at the deadline it refunds.
    await w.to(w.start(BigInt(again.claimRound)));
    expect(await outcome(w, (await w.jobsOf(forger)).write.claim([jobId]))).to.deep.equal([
      "NotEligibleTrainer",
      [forger.address],
    ]);
    await w.to(w.start(BigInt(again.claimRound) + 1n));
    // No claim: a third attempt could not be judged by the deadline, so the budget goes back.
    await w.to(deadline - 1n);
    const settled = await (await w.jobsOf(w.bystander)).write.settle([jobId]);
    expect(await w.events(settled, w.jobs, "JobRefunded")).to.deep.equal([
      { jobId, owner: w.owner.address, amount: E(100) },
    ]);
    expect((await w.jobs.read.getJob([jobId])).state).to.equal(JobState.Refunded);
    await escrowBalances(w);
    const before = await w.token.read.balanceOf([w.owner.address]);
    await (await w.jobsOf(w.owner)).write.withdraw([w.token.address]);
    expect((await w.token.read.balanceOf([w.owner.address])) - before).to.equal(E(100));
    expect(await outcome(w, (await w.jobsOf(w.owner)).write.settle([jobId]))).to.deep.equal([
      "JobNotOpen",
      [jobId, JobState.Refunded],
    ]);
  });

  it("a run that misses its deadline, or is valid below the accuracy floor, does not complete the job", async () => {
    const w = await load();
    const { jobId, claimRound } = await w.post({ trainers: 2 });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const [a, b] = (await w.jobs.read.getJob([jobId])).assigned.map((x) =>
      w.trainers.find((t) => t.address === x)!,
    );
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    await a.cm.write.submitResult([runRound, runOf("weak").tree.root, 7000]);
    await w.beaconReveal(runRound + 1n, w.validators);
    // b never submits: its run stays unjudged until its epoch closes.
    await w.judge(runRound, [[w.id(a, runRound), w.valid(7000)]]);
    const settle = async () => (await w.jobsOf(w.bystander)).write.settle([jobId]);
    expect(await outcome(w, settle())).to.deep.equal(["RunNotJudged", [jobId, w.id(b, runRound)]]);
    await w.reach(w.windows(runRound).closes + 1n);
    await settle();
    const j = await w.jobs.read.getJob([jobId]);
    // 7000 < the 8000 floor and b missed: nobody qualifies, the deadline still allows an attempt.
    expect(j.state).to.equal(JobState.Open);
    expect(j.attempt).to.equal(2);
    expect(j.winner).to.equal(zeroAddress);
    await escrowBalances(w);
  });

  it("the owner cancels before any claim, and only then; the budget becomes the owner's", async () => {
    const w = await load();
    const first = await w.post();
    const second = await w.post({ budget: E(40) });
    const ownerJobs = await w.jobsOf(w.owner);
    expect(await outcome(w, (await w.jobsOf(w.bystander)).write.cancel([first.jobId]))).to.deep.equal([
      "NotJobOwner",
      [first.jobId, w.bystander.address, w.owner.address],
    ]);
    const tx = await ownerJobs.write.cancel([first.jobId]);
    expect(await w.events(tx, w.jobs, "JobCancelled")).to.deep.equal([
      { jobId: first.jobId, owner: w.owner.address, amount: E(100) },
    ]);
    expect(await outcome(w, ownerJobs.write.cancel([first.jobId]))).to.deep.equal([
      "JobNotOpen",
      [first.jobId, JobState.Cancelled],
    ]);
    await escrowBalances(w);
    expect(await w.jobs.read.escrowed([w.token.address])).to.equal(E(40));
    await w.to(w.start(second.claimRound));
    await (await w.jobsOf(w.trainers[0])).write.claim([second.jobId]);
    expect(await outcome(w, ownerJobs.write.cancel([second.jobId]))).to.deep.equal([
      "TrainersAssigned",
      [second.jobId, 1n],
    ]);
    expect(await w.jobs.read.owed([w.token.address, w.owner.address])).to.equal(E(100));
  });

  it("a job in another ERC-20 pays everyone through withdrawals", async () => {
    const w = await load();
    const { jobId, claimRound } = await w.post({ token: w.other.address, budget: 1000n });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const [holder] = (await w.jobs.read.getJob([jobId])).assigned;
    const t = w.trainers.find((x) => x.address === holder)!;
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    await t.cm.write.submitResult([runRound, runOf("other").tree.root, 9000]);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [[w.id(t, runRound), w.valid(9000)]]);
    await (await w.jobsOf(w.bystander)).write.settle([jobId]);
    // 1000: 50 protocol, 100 committee (3 votes: 33 each, 1 of dust to the treasury), 850 trainer.
    expect(await w.jobs.read.owed([w.other.address, t.address])).to.equal(850n);
    for (const v of w.validators) expect(await w.jobs.read.owed([w.other.address, v.address])).to.equal(33n);
    expect(await w.jobs.read.owed([w.other.address, w.treasury])).to.equal(51n);
    expect(await w.jobs.read.escrowed([w.other.address])).to.equal(0n);
    await (await w.jobsOf(t)).write.withdraw([w.other.address]);
    expect(await w.other.read.balanceOf([t.address])).to.equal(850n);
    expect(await outcome(w, (await w.jobsOf(t)).write.withdraw([w.other.address]))).to.deep.equal([
      "NothingOwed",
      [getAddress(w.other.address), t.address],
    ]);
  });
});
