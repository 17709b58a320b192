/**
 * Adversarial tests of every FederatedJobs function that moves value or decides who is paid:
 * postJob (bad terms, bad participants), cancel (someone else's job, a started job), the update
 * and score commit/reveal steps (outsiders, wrong phases, copied commitments, wrong counts,
 * unselected or non-validator scorers), finalizeRound (too early, a lying committee minority),
 * withdraw (nothing owed, re-entry through a token callback) and governance (bounds, roles).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { decodeErrorResult, encodeFunctionData, keccak256, toHex, zeroAddress } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import type { Connection } from "../poai/helpers/world.js";
import { E } from "../poai/helpers/world.js";
import { INITIAL, SPEC_BYTES, deployFedWorld, modelOf, type FedWorld } from "./helpers/fed-world.js";

describe("FederatedJobs attacks", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployFedWorld(conn);
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  const abiOf = (w: FedWorld) => [...w.federated.abi, ...w.staking.abi, ...w.manager.abi];
  const outcome = async (w: FedWorld, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : [o.error, ...o.args.map((a) => (typeof a === "bigint" ? a : String(a)))];
  };
  const name = async (w: FedWorld, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : o.error;
  };

  it("refuses terms out of bounds, naming the field, and escrows nothing", async () => {
    const w = await load();
    const fed = await w.fedOf(w.owner);
    const now = await w.latest();
    const good = w.terms({ startAt: now + 100n });
    const bad: [string, Partial<typeof good>][] = [
      ["specHash", { specHash: keccak256(toHex("another spec")) }],
      ["initialModel", { initialModel: `0x${"00".repeat(32)}` }],
      ["token", { token: zeroAddress }],
      ["budget", { budget: 0n }],
      ["startAt", { startAt: now - 1n }],
      ["phase", { phase: 10 }],
      ["rounds", { rounds: 0 }],
      ["committeeSize", { committeeSize: 17 }],
      ["bandBps", { bandBps: 10_001 }],
      ["committeeBps", { committeeBps: 5_001 }],
      ["maxStrikes", { maxStrikes: 0 }],
    ];
    for (const [field, patch] of bad) {
      const o = await outcome(w, fed.write.postJob([SPEC_BYTES, { ...good, ...patch }, w.participants()]));
      expect(o[0], field).to.equal("InvalidFedTerms");
      expect(o[1], field).to.equal(field);
    }
    expect((await outcome(w, fed.write.postJob([SPEC_BYTES, good, []])))[1]).to.equal("participants");
    const dup = [...w.participants(), w.participants()[0]];
    expect((await outcome(w, fed.write.postJob([SPEC_BYTES, good, dup])))[0]).to.equal("InvalidParticipant");
    const empty = w.participants().map((p, i) => (i === 1 ? { ...p, samples: 0 } : p));
    expect(await outcome(w, fed.write.postJob([SPEC_BYTES, good, empty]))).to.deep.equal([
      "InvalidParticipant",
      1n,
      w.trainers[1].address,
    ]);
    expect(await w.federated.read.escrowed([w.token.address])).to.equal(0n);
  });

  it("lets only the owner cancel, only before round 0 opens, and pays the refund once", async () => {
    const w = await load();
    const { jobId } = await w.post();
    expect(await name(w, (await w.fedOf(w.bystander)).write.cancel([jobId]))).to.equal("NotJobOwner");
    const before = await w.token.read.balanceOf([w.owner.address]);
    await (await w.fedOf(w.owner)).write.cancel([jobId]);
    expect(await name(w, (await w.fedOf(w.owner)).write.cancel([jobId]))).to.equal("FederatedJobNotOpen");
    await (await w.fedOf(w.owner)).write.withdraw([w.token.address]);
    expect((await w.token.read.balanceOf([w.owner.address])) - before).to.equal(E(900));
    expect(await name(w, (await w.fedOf(w.owner)).write.withdraw([w.token.address]))).to.equal("NothingOwed");
    const second = await w.post();
    await w.reach(second.terms.startAt);
    expect(await name(w, (await w.fedOf(w.owner)).write.cancel([second.jobId]))).to.equal("JobStarted");
  });

  it("takes updates only from staked participants in their phase, once, and binds each commitment to its participant", async () => {
    const w = await load();
    const [A, , P] = w.trainers;
    const outsider = w.outsiders[2];
    const ps = [
      ...w.participants().slice(0, 2),
      { operator: outsider.address, shardRoot: keccak256(toHex("o")), samples: 10 },
    ];
    const { jobId } = await w.post({}, w.owner, ps);
    const salt = w.salt(A.address, jobId, 0n);
    const c = await w.federated.read.updateCommitment([jobId, 0n, A.address, modelOf("A0"), salt]);
    expect(await name(w, (await w.fedOf(A)).write.commitUpdate([jobId, c]))).to.equal("WrongPhase");
    await w.reach(await w.phaseAt(jobId, 0n, 0));
    expect(await name(w, (await w.fedOf(P)).write.commitUpdate([jobId, c]))).to.equal("NotParticipant");
    // A participant without stake (it could never be slashed) is refused.
    expect(await name(w, (await w.fedOf(outsider)).write.commitUpdate([jobId, c]))).to.equal(
      "NotEligibleOperator",
    );
    await (await w.fedOf(A)).write.commitUpdate([jobId, c]);
    expect(await name(w, (await w.fedOf(A)).write.commitUpdate([jobId, c]))).to.equal("AlreadyCommitted");
    // B copies A's commitment from the mempool: it cannot open it, the commitment names A.
    const B = w.trainers[1];
    await (await w.fedOf(B)).write.commitUpdate([jobId, c]);
    expect(await name(w, (await w.fedOf(A)).write.revealUpdate([jobId, modelOf("A0"), salt]))).to.equal(
      "WrongPhase",
    );
    await w.reach(await w.phaseAt(jobId, 0n, 1));
    expect(await name(w, (await w.fedOf(B)).write.revealUpdate([jobId, modelOf("A0"), salt]))).to.equal(
      "CommitmentMismatch",
    );
    expect(await name(w, (await w.fedOf(A)).write.revealUpdate([jobId, modelOf("other"), salt]))).to.equal(
      "CommitmentMismatch",
    );
    await (await w.fedOf(A)).write.revealUpdate([jobId, modelOf("A0"), salt]);
    expect(await name(w, (await w.fedOf(A)).write.revealUpdate([jobId, modelOf("A0"), salt]))).to.equal(
      "AlreadyRevealed",
    );
    expect(await name(w, (await w.fedOf(w.bystander)).write.finalizeRound([jobId]))).to.equal("RoundOpen");
  });

  it("takes scores only from validators the round's sortition selects, in phase, with one score per participant in range", async () => {
    const w = await load();
    const { jobId } = await w.post({ committeeSize: 1 });
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    const [V0, V1] = w.validators;
    const scores = [8000, 8000, 8000];
    const c = (v: typeof V0, s = scores, base = INITIAL) =>
      w.federated.read.scoreCommitment([jobId, 0n, v.address, base, 1000, s, w.salt(v.address, jobId, 0n)]);
    expect(await name(w, (await w.fedOf(V0)).write.commitScores([jobId, await c(V0)]))).to.equal(
      "WrongPhase",
    );
    await w.reach(await w.phaseAt(jobId, 0n, 2));
    // A trainer is no scorer.
    expect(await name(w, (await w.fedOf(w.trainers[0])).write.commitScores([jobId, await c(V0)]))).to.equal(
      "NotEligibleOperator",
    );
    // With a target committee of one, each validator is drawn with probability stake / total.
    const members = [];
    for (const v of w.validators) {
      const r = await name(w, (await w.fedOf(v)).write.commitScores([jobId, await c(v)]));
      const selected = await w.federated.read.isSelected([jobId, 0n, v.address]);
      expect(r).to.equal(selected ? "ok" : "NotSelected");
      if (selected) members.push(v);
    }
    if (members.length === 0) return;
    const m = members[0];
    expect(await name(w, (await w.fedOf(m)).write.commitScores([jobId, await c(m)]))).to.equal(
      "AlreadyCommitted",
    );
    await w.reach(await w.phaseAt(jobId, 0n, 3));
    const salt = w.salt(m.address, jobId, 0n);
    const fed = await w.fedOf(m);
    expect(
      await outcome(w, fed.write.revealScores([jobId, INITIAL, 1000, [8000, 8000], salt])),
    ).to.deep.equal(["ScoreCount", 3n, 2n]);
    expect(
      await outcome(w, fed.write.revealScores([jobId, INITIAL, 1000, [8000, 10_001, 8000], salt])),
    ).to.deep.equal(["ScoreOutOfRange", 1n, 10_001n]);
    expect(await name(w, fed.write.revealScores([jobId, INITIAL, 1000, [8000, 8000, 7999], salt]))).to.equal(
      "CommitmentMismatch",
    );
    expect(await name(w, fed.write.revealScores([jobId, INITIAL, 1000, scores, salt]))).to.equal("ok");
    expect(await name(w, fed.write.revealScores([jobId, INITIAL, 1000, scores, salt]))).to.equal(
      "AlreadyRevealed",
    );
    void V1;
  });

  it("keeps a poisoned update out when a committee minority by stake scores it high", async () => {
    const w = await load();
    const { jobId } = await w.post();
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    const [V0, V1, V2] = w.validators; // stakes 1000, 1500, 2000
    await w.score(jobId, 0n, [
      { v: V0, base: INITIAL, baseScore: 1000, scores: [8000, 7600, 9900] }, // colludes with P
      { v: V1, base: INITIAL, baseScore: 1000, scores: [8000, 7600, 1000] },
      { v: V2, base: INITIAL, baseScore: 1000, scores: [8000, 7600, 1000] },
    ]);
    await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const r = await w.federated.read.getRound([jobId, 0n]);
    expect(r.updates.map((u) => [u.included, u.scoreBps])).to.deep.equal([
      [true, 8000],
      [true, 7600],
      [false, 1000],
    ]);
    expect(r.updates[2].reward).to.equal(0n);
  });

  it("keeps an update that scores far above the median: the best-spread data of a non-IID federation", async () => {
    // Naive code excludes any score farther than the band from the median, in both directions:
    // with one poisoned and one non-IID participant the median is the non-IID score, and the IID
    // participant's better model was excluded (what the devnet's MNIST job measured).
    const w = await load();
    const { jobId } = await w.post();
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    // Stakes 5000, 3000, 2000 on scores 8100, 4900, 60: the stake-weighted median is B's 4900.
    await w.score(jobId, 0n, w.unanimous(INITIAL, 1000, [8100, 4900, 60]));
    await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const r = await w.federated.read.getRound([jobId, 0n]);
    expect(r.referenceScoreBps).to.equal(4900);
    expect(r.updates.map((u) => u.included)).to.deep.equal([true, true, false]);
    expect(r.updates[0].reward > r.updates[1].reward).to.equal(true);
  });

  it("pays no member that attested another base model", async () => {
    const w = await load();
    const { jobId } = await w.post({ rounds: 1 });
    await w.submitUpdates(jobId, 0n, [modelOf("A0"), modelOf("B0"), modelOf("P0")]);
    const [V0, V1, V2] = w.validators;
    await w.score(jobId, 0n, [
      { v: V0, base: modelOf("wrong"), baseScore: 9000, scores: [10_000, 10_000, 10_000] },
      { v: V1, base: INITIAL, baseScore: 1000, scores: [8000, 7600, 7000] },
      { v: V2, base: INITIAL, baseScore: 1000, scores: [8000, 7600, 7000] },
    ]);
    await (await w.fedOf(w.bystander)).write.finalizeRound([jobId]);
    const r = await w.federated.read.getRound([jobId, 0n]);
    expect(r.members.map((m) => m.agreed)).to.deep.equal([false, true, true]);
    expect(r.baseScoreBps).to.equal(1000);
    expect(r.updates.map((u) => u.scoreBps)).to.deep.equal([8000, 7600, 7000]);
  });

  it("bounds the slash fraction and leaves it to governance", async () => {
    const w = await load();
    expect(await name(w, (await w.fedOf(w.bystander)).write.setSlashFraction([1n]))).to.equal(
      "AccessManagedUnauthorized",
    );
    expect(await name(w, w.federated.write.setSlashFraction([E(0.6)]))).to.equal("InvalidParameter");
    expect(await name(w, w.federated.write.setSlashFraction([E(0.1)]))).to.equal("ok");
    // The slash source fits inside Staking's unbonding period.
    const unbonding = (await w.staking.read.params()).unbondingPeriod;
    expect((await w.federated.read.slashWindow()) < BigInt(unbonding)).to.equal(true);
  });

  it("refuses re-entry from a token callback into the value-moving functions", async () => {
    const w = await load();
    const token = await w.viem.deployContract("ReentrantToken", [w.owner.address, E(1000)]);
    const asOwner = await w.viem.getContractAt("ReentrantToken", token.address, {
      client: { wallet: w.owner.wallet },
    });
    await asOwner.write.approve([w.federated.address, E(1000)]);
    const first = await w.post({ token: token.address, budget: E(100) });
    const second = await w.post({ token: token.address, budget: E(100) });
    await (await w.fedOf(w.owner)).write.cancel([first.jobId]);
    // While each refund is transferred out, the token calls back into the contract.
    for (const fn of ["cancel", "finalizeRound"] as const) {
      await asOwner.write.arm([
        w.federated.address,
        encodeFunctionData({ abi: w.federated.abi, functionName: fn, args: [second.jobId] }),
        false,
      ]);
      const calls = await token.read.hookCalls();
      await (await w.fedOf(w.owner)).write.withdraw([token.address]);
      expect(await token.read.hookCalls()).to.equal(calls + 1n);
      expect(await token.read.lastHookOk()).to.equal(false);
      const raw = await token.read.lastHookReturn();
      expect(decodeErrorResult({ abi: w.federated.abi, data: raw }).errorName).to.equal(
        "ReentrancyGuardReentrantCall",
      );
      if (fn === "cancel") await (await w.fedOf(w.owner)).write.cancel([second.jobId]);
    }
    expect(await w.federated.read.escrowed([token.address])).to.equal(0n);
    expect(await token.read.balanceOf([w.federated.address])).to.equal(0n);
  });
});
