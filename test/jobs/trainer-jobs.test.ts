/**
 * The trainer daemon's job claiming (`claimJobs`, run each tick): in a job's claim round a trainer
 * claims the best-paid open job it can hold, falls back to the next when its draw is outranked,
 * claims again when a better draw took its place, sends nothing while it holds one, and its challenge of the run round then names the job's spec
 * (what the daemon trains).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { createPoAIClient, getDueChallenge, parseDeployment } from "../../sdk/src/index.js";
import { claimJobs, isJobRun, rankJobs } from "../../node/src/node/trainer-jobs.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import type { Connection, Actor } from "../poai/helpers/world.js";
import { E, deployJobsWorld } from "./helpers/jobs-world.js";

describe("trainer daemon: claiming paid jobs", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  it("claims the best-paid job it can hold, once per round, and trains the job's spec in the run round", async () => {
    const w = await deployJobsWorld(conn);
    const deployment = parseDeployment({
      chainId: await w.publicClient.getChainId(),
      deployBlock: "0",
      contracts: contractsOf({ ...w, distributor: w.distributor, models: w.models, jobs: w.jobs }),
    });
    const clientOf = (a: Actor) =>
      createPoAIClient({
        publicClient: w.publicClient as never,
        walletClient: a.wallet as never,
        deployment,
      });
    const small = await w.post({ budget: E(10) });
    const big = await w.post({ budget: E(300), trainers: 2 }); // 150 per trainer
    const other = await w.post({ budget: E(1000), token: w.other.address }); // another token: last
    const round = small.claimRound;
    // Before the claim round nothing is claimable.
    const early = await claimJobs(clientOf(w.trainers[0]!), {
      trainer: w.trainers[0]!.address,
      round: round - 1n,
    });
    expect(early).to.deep.equal({ held: 0n, refused: [] });
    const ranked = rankJobs(
      await Promise.all(
        [small, big, other].map(async (j) => {
          const v = await w.jobs.read.getJob([j.jobId]);
          return {
            ...v,
            state: "Open" as const,
            claimRound: BigInt(v.claimRound),
            runRound: BigInt(v.runRound),
            winnerRound: BigInt(v.winnerRound),
          };
        }),
      ),
      round,
      w.token.address,
    );
    expect(ranked.map((j) => j.id)).to.deep.equal([big.jobId, small.jobId, other.jobId]);

    await w.to(w.start(round));
    const held = new Map<string, bigint>();
    // Each tick every trainer passes; a trainer whose place a better draw took claims again.
    for (let tick = 0; tick < 3; tick++) {
      for (const t of w.trainers) {
        const r = await claimJobs(clientOf(t), { trainer: t.address, round });
        held.set(t.address, r.held);
      }
    }
    // Two places on the big job, then the small one: three trainers, three places, whatever the draws.
    const bigJob = await w.jobs.read.getJob([big.jobId]);
    const smallJob = await w.jobs.read.getJob([small.jobId]);
    expect(bigJob.assigned.length).to.equal(2);
    expect(smallJob.assigned.length).to.equal(1);
    for (const t of w.trainers) {
      const j = held.get(t.address)!;
      expect((j === big.jobId ? bigJob : smallJob).assigned).to.include(t.address);
      // A pass of a trainer that holds a job sends nothing.
      expect(await claimJobs(clientOf(t), { trainer: t.address, round })).to.deep.equal({
        held: j,
        refused: [],
      });
    }
    // In the run round, each trainer's due challenge names its job's spec.
    await w.to(w.start(round + 1n));
    await w.beacon.write.seal([round + 1n]); // what the daemon does when nobody contributed
    for (const t of w.trainers) {
      const due = await getDueChallenge(clientOf(t), { trainer: t.address, round: round + 1n });
      expect(due.specId).to.equal((await w.jobs.read.getJob([held.get(t.address)!])).specId);
      // The daemon keeps a job run's checkpoints past the retention (the owner fetches the model
      // from them; a daemon that pruned them answered 410 Gone to the owner) and prunes the others.
      expect(await isJobRun(clientOf(t), { trainer: t.address, round: round + 1n })).to.equal(true);
      expect(await isJobRun(clientOf(t), { trainer: t.address, round })).to.equal(false);
    }
  });
});
