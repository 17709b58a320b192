/**
 * The life of a federated job on chain: posting escrows the budget; each training round the
 * participants commit then reveal their update hashes, the committee commits then reveals the base
 * model's hash and score and a score per update; `finalizeRound` fixes the global model the stake
 * majority agreed on, excludes updates far from the median score (strikes, then a slash), pays the
 * included ones by contribution and the agreeing members; the evaluation round completes the job
 * and returns the rest to the owner. Every test checks the escrow: the contract holds exactly
 * `escrowed + totalOwed`, and `escrowed` is the sum of the open jobs' `remaining`.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { parseEventLogs, type Address, type Hex } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import type { Connection } from "../poai/helpers/world.js";
import { FedState, INITIAL, deployFedWorld, modelOf, type FedWorld } from "./helpers/fed-world.js";

describe("FederatedJobs life cycle", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployFedWorld(conn);
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  const abiOf = (w: FedWorld) => [...w.federated.abi, ...w.staking.abi];
  const outcome = async (w: FedWorld, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : o.error;
  };
  const escrowBalances = async (w: FedWorld, token: Address = w.token.address) => {
    const escrowed = await w.federated.read.escrowed([token]);
    expect(escrowed).to.equal(await w.openRemaining(token));
    const erc = token === w.token.address ? w.token : w.other;
    expect(await erc.read.balanceOf([w.federated.address])).to.equal(
      escrowed + (await w.federated.read.totalOwed([token])),
    );
  };
  /** Fees the distributor credited to each operator in transaction `hash`. */
  const credits = async (w: FedWorld, hash: Hex) => {
    const r = await w.receipt(hash);
    const out = new Map<string, bigint>();
    for (const e of parseEventLogs({ abi: w.distributor.abi, logs: r.logs, eventName: "FeesCredited" })) {
      const k = e.args.operator.toLowerCase();
      out.set(k, (out.get(k) ?? 0n) + e.args.amount);
    }
    return out;
  };

  it("runs two rounds, excludes and then slashes the poisoning participant, pays by contribution and refunds the rest", async () => {
    const w = await load();
    const [A, B, P] = w.trainers;
    const { jobId } = await w.post();
    await escrowBalances(w);
    const budget = E(900);
    // Round 0: P's update scores far below the others.
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    await w.score(jobId, 0n, w.unanimous(INITIAL, 1000, [8000, 7600, 1000]));
    const h0 = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const r0 = await w.federated.read.getRound([jobId, 0n]);
    expect(r0.agreed).to.equal(true);
    // Stake-weighted median of the update scores (stakes 5000, 3000, 2000): 7600.
    expect(r0.referenceScoreBps).to.equal(7600);
    expect(r0.updates.map((u) => u.included)).to.deep.equal([true, true, false]);
    // Pool per training round: (900 - 10% committee) / 2 = 405, by contribution over the base's 1000.
    const pool = E(405);
    const payA = (pool * 7000n) / 13600n;
    const payB = (pool * 6600n) / 13600n;
    const c0 = await credits(w, h0);
    expect(c0.get(A.address.toLowerCase())).to.equal(payA);
    expect(c0.get(B.address.toLowerCase())).to.equal(payB);
    expect(c0.has(P.address.toLowerCase())).to.equal(false);
    // Committee: 90 over three rounds, three agreeing members: 10 each.
    for (const v of w.validators) expect(c0.get(v.address.toLowerCase())).to.equal(E(10));
    let job = await w.federated.read.getJob([jobId]);
    expect(job.round).to.equal(1);
    expect(job.globalModel).to.equal(INITIAL);
    expect(job.participants[2].strikes).to.equal(1);
    await escrowBalances(w);

    // Round 1: the committee attests the aggregate of round 0; P deviates again and is slashed.
    const stakeBefore = await w.staking.read.stakeAt([P.address, await w.staking.read.currentEpoch()]);
    const poolBefore = (await w.staking.read.getPool([P.address])).tokens;
    await w.submitUpdates(jobId, 1n, [modelOf("A1"), modelOf("B1"), modelOf("P1")]);
    await w.score(jobId, 1n, w.unanimous(modelOf("aggregate 0"), 7800, [8600, 8400, 900]));
    const h1 = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    job = await w.federated.read.getJob([jobId]);
    expect(job.globalModel).to.equal(modelOf("aggregate 0"));
    expect(job.globalScoreBps).to.equal(7800);
    expect(job.participants[2].strikes).to.equal(2);
    expect(job.participants[2].slashed).to.equal(true);
    const slashed = await w.events(h1, w.staking, "Slashed");
    expect(slashed.map((e) => e.operator)).to.deep.equal([P.address]);
    expect((await w.staking.read.getPool([P.address])).tokens < poolBefore).to.equal(true);
    expect(stakeBefore > 0n).to.equal(true);
    const c1 = await credits(w, h1);
    expect(c1.get(A.address.toLowerCase())).to.equal((pool * 800n) / 1400n);
    expect(c1.get(B.address.toLowerCase())).to.equal((pool * 600n) / 1400n);

    // Evaluation round: the final model's hash and score; the rest goes back to the owner.
    await w.score(jobId, 2n, w.unanimous(modelOf("aggregate 1"), 8500, []));
    const h2 = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    job = await w.federated.read.getJob([jobId]);
    expect(job.state).to.equal(FedState.Completed);
    expect(job.globalModel).to.equal(modelOf("aggregate 1"));
    expect(job.remaining).to.equal(0n);
    const [done] = await w.events(h2, w.federated, "FederatedJobCompleted");
    const paid = payA + payB + (pool * 800n) / 1400n + (pool * 600n) / 1400n + E(90);
    expect(done.refunded).to.equal(budget - paid);
    expect(await w.federated.read.owed([w.token.address, w.owner.address])).to.equal(budget - paid);
    await escrowBalances(w);
    expect(await w.federated.read.escrowed([w.token.address])).to.equal(0n);
    await (await w.fedOf(w.owner)).write.withdraw([w.token.address]);
    expect(await w.token.read.balanceOf([w.federated.address])).to.equal(0n);
    expect(await outcome(w, (await w.fedOf(w.owner)).write.finalizeRound([jobId]))).to.equal(
      "FederatedJobNotOpen",
    );
  });

  it("voids a round whose committee has no stake majority on the base model: nothing included, nothing paid", async () => {
    const w = await load();
    const { jobId } = await w.post();
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    const [V0, V1, V2] = w.validators; // stakes 1000, 1500, 2000: no hash holds more than half
    await w.score(jobId, 0n, [
      { v: V0, base: modelOf("x"), baseScore: 1000, scores: [8000, 8000, 8000] },
      { v: V1, base: modelOf("y"), baseScore: 1000, scores: [8000, 8000, 8000] },
      { v: V2, base: modelOf("z"), baseScore: 1000, scores: [8000, 8000, 8000] },
    ]);
    const h = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const [fin] = await w.events(h, w.federated, "RoundFinalized");
    expect(fin.agreed).to.equal(false);
    expect(fin.paid).to.equal(0n);
    expect(fin.includedMask).to.equal(0n);
    const job = await w.federated.read.getJob([jobId]);
    expect(job.remaining).to.equal(E(900));
    expect(job.globalModel).to.equal(INITIAL);
    await escrowBalances(w);
  });

  it("ends a job nobody works on with every round void and the whole budget back to the owner", async () => {
    const w = await load();
    const { jobId } = await w.post({ rounds: 1, token: w.other.address });
    for (const r of [0n, 1n]) {
      await w.reach(await w.phaseAt(jobId, r, 4));
      expect(await outcome(w, (await w.fedOf(w.bystander)).write.finalizeRound([jobId]))).to.equal("ok");
    }
    expect((await w.federated.read.getJob([jobId])).state).to.equal(FedState.Completed);
    expect(await w.federated.read.owed([w.other.address, w.owner.address])).to.equal(E(900));
    await escrowBalances(w, w.other.address);
    await (await w.fedOf(w.owner)).write.withdraw([w.other.address]);
    expect(await w.other.read.balanceOf([w.federated.address])).to.equal(0n);
  });

  it("pays nothing to an update committed but not revealed, and the included ones equally when none improves", async () => {
    const w = await load();
    const [A, B, P] = w.trainers;
    const { jobId } = await w.post({ rounds: 1 });
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), undefined]);
    const c = await w.federated.read.updateCommitment([
      jobId,
      0n,
      P.address,
      modelOf("P0"),
      w.salt(P.address, jobId, 0n),
    ]);
    await w.reach(await w.phaseAt(jobId, 0n, 0));
    expect(await outcome(w, (await w.fedOf(P)).write.commitUpdate([jobId, c]))).to.equal("WrongPhase");
    await w.score(jobId, 0n, w.unanimous(INITIAL, 9000, [8000, 8100, 9900]));
    const h = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const judged = await w.events(h, w.federated, "UpdateJudged");
    const pool = E(810);
    expect(judged.map((e) => [e.participant, e.included, e.reward])).to.deep.equal([
      [A.address, true, pool / 2n],
      [B.address, true, pool / 2n],
      [P.address, false, 0n],
    ]);
    await escrowBalances(w);
  });

  it("does not slash a deviation finalized after the slash window (its stake may have unbonded)", async () => {
    // Naive code slashes at maxStrikes whenever finalization happens, reaching stake that left
    // after the window Staking's unbonding period was sized for.
    const w = await load();
    const { jobId } = await w.post({ maxStrikes: 1 });
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    await w.score(jobId, 0n, w.unanimous(INITIAL, 1000, [8000, 7600, 1000]));
    const round = await w.federated.read.getRound([jobId, 0n]);
    const epoch = await w.staking.read.epochAt([round.start]);
    const late = (await w.staking.read.epochStart([epoch])) + (await w.federated.read.slashWindow()) + 1n;
    await w.reach(late);
    const h = await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    expect(await w.events(h, w.staking, "Slashed")).to.deep.equal([]);
    const job = await w.federated.read.getJob([jobId]);
    expect(job.participants[2].strikes).to.equal(1);
    expect(job.participants[2].slashed).to.equal(false);
  });
});

const E = (n: number) => BigInt(n) * 10n ** 18n;
