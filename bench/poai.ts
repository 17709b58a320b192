/**
 * Gas of the Proof-of-AI layer: a whole audited challenge (submit, committee commits and reveals;
 * the last reveal judges it) with committees of 3 and 7, a fraud convicted through the second
 * phase, a finalization after the reveal window (a member did not reveal), the beacon's commit and
 * reveal (a validator's first, and its next one in a later round: `.again`), a withheld beacon
 * reveal slashed, a missed-round report, and a trainer's submission with
 * 1 and with 12 trainers in the round.
 *
 * Warm state, as a live network runs: the figures are those of the round's second challenge (the
 * round's beacon value and validator stake, read once per round, and the epoch's point slots of
 * these operators are written by the first); the first challenge's costs are their own rows
 * (`firstInRound`).
 */
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, maxUint256, parseEther, type Hash, type Hex } from "viem";
import { deployNetwork, deployPoAI } from "../scripts/lib/deploy.js";

const DAY = 86_400;
const SPEC = {
  version: 1,
  widths: [64, 128, 128, 10],
  batchSize: 32,
  steps: 2000,
  checkpointInterval: 100,
  lrShift: 4,
  evalSize: 4000,
};
const SPEC_PARAMS = { responseDeadline: 6 * 3600, minScoreBps: 8500, maxScoreBps: 10_000, auditSamples: 12 };
const word = (n: number | bigint) => keccak256(encodeAbiParameters([{ type: "uint256" }], [BigInt(n)]));
const VALID = 1;
const INVALID = 2;

/** What the committee does with each audited challenge. */
export type Scenario =
  | "valid" // every member reveals Valid (the last reveal judges)
  | "silent" // the last member does not reveal: `finalize` after the reveal window judges
  | "fraud"; // the first member reveals Invalid, the others vote Invalid in the second phase

/**
 * One deployment, `trainers` trainers and `committee` validators, run through one audited round:
 * the first two trainers' challenges one by one (or every trainer's, batched, when `batch`).
 */
export async function auditedRound(
  committee: number,
  trainers: number,
  batch = false,
  withRewards = false,
  scenario: Scenario = "valid",
) {
  const options = { batch, withRewards };
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const deployOptions = {
    epochLength: DAY,
    challenge: { committeeSize: committee, minReveals: Math.min(committee, 2) },
  };
  const d = options.withRewards
    ? await deployNetwork(viem, deployOptions)
    : await deployPoAI(viem, deployOptions);
  const wallets = await viem.getWalletClients();
  if (wallets.length < 1 + trainers + committee) throw new Error("not enough accounts");
  const ts = wallets.slice(1, 1 + trainers);
  const vs = wallets.slice(1 + trainers, 1 + trainers + committee);
  const gas = async (hash: Promise<Hash>) => {
    const r = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (r.status !== "success") throw new Error("reverted");
    return Number(r.gasUsed);
  };
  const as = async (w: (typeof wallets)[number]) => ({
    staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
    token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
    beacon: await viem.getContractAt("RandomnessBeacon", d.beacon.address, { client: { wallet: w } }),
    cm: await viem.getContractAt("ChallengeManager", d.challenges.address, { client: { wallet: w } }),
  });
  for (const w of [...ts, ...vs]) {
    await d.token.write.transfer([w.account.address, parseEther("10000")]);
    await (await as(w)).token.write.approve([d.staking.address, maxUint256]);
  }
  for (const t of ts)
    await (await as(t)).staking.write.register([1, parseEther("5000"), 500, 2000, "", "H100"]);
  for (const v of vs)
    await (await as(v)).staking.write.register([2, parseEther("1000"), 500, 2000, "", "CPU"]);
  await d.registry.write.registerSpec([SPEC, SPEC_PARAMS]);
  await d.registry.write.activate([await specIdOf(d)]);

  const genesis = await d.staking.read.genesis();
  const until = async (t: bigint) => {
    if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
  };
  const start = (e: bigint) => genesis + e * BigInt(DAY);
  const r = (await d.staking.read.currentEpoch()) + 1n;
  await until(start(r) + 10n);
  const out: Record<string, number> = {};

  // Every validator contributes to the beacon of `round` with secret `word(secrets + i)`; the
  // second validator's gas is the figure (the round's slot written by the first, as in a live round).
  const beacon = async (step: "commit" | "reveal", round: bigint, secrets: number, row: string) => {
    for (const [i, v] of vs.entries()) {
      const secret = word(secrets + i);
      const b = (await as(v)).beacon;
      const g = await gas(
        step === "commit"
          ? b.write.commit([round, await d.beacon.read.commitmentOf([secret, v.account.address, round])])
          : b.write.reveal([round, secret]),
      );
      if (i === 1) out[row] = g;
    }
  };
  // Beacon for round r + 1: commits in the first half of round r, reveals in the second.
  await beacon("commit", r + 1n, 1, "RandomnessBeacon.commit");
  await d.beacon.write.seal([r]);
  const submits: number[] = [];
  for (const [i, t] of ts.entries())
    submits.push(await gas((await as(t)).cm.write.submitResult([r, word(1000 + i), 9000])));
  out["ChallengeManager.submitResult"] = submits[submits.length - 1];
  await until(start(r) + BigInt(DAY / 2) + 1n);
  await beacon("reveal", r + 1n, 1, "RandomnessBeacon.reveal");

  // Audit in round r + 1. One by one: trainers 0 and 1, the second being the warm state (the
  // round's cached values and the epoch's point slots of these validators written by the first).
  // Batched: every trainer's challenge, each validator committing and revealing all in one call.
  const audited = options.batch ? ts : ts.slice(0, Math.min(2, trainers));
  const ids = await Promise.all(audited.map((t) => d.challenges.read.challengeId([t.account.address, r])));
  const salt = (k: number, i: number) => word(500 + 100 * k + i);
  const verdictOf = (i: number) => (scenario === "fraud" && i === 0 ? INVALID : VALID);
  const scoreOf = (i: number) => (verdictOf(i) === VALID ? 9000 : 0);
  const segmentOf = (i: number) => (verdictOf(i) === INVALID ? 7 : 0);
  const revealing = vs.filter((_, i) => scenario !== "silent" || i < vs.length - 1);
  await until(start(r + 1n) + 1n);
  const commits: number[][] = ids.map(() => []);
  const batchCommits: number[] = [];
  if (options.batch) {
    for (const [i, v] of vs.entries()) {
      const cs = await Promise.all(
        ids.map((id, k) =>
          d.challenges.read.verdictCommitment([
            id,
            verdictOf(i),
            segmentOf(i),
            scoreOf(i),
            salt(k, i),
            v.account.address,
          ]),
        ),
      );
      batchCommits.push(await gas((await as(v)).cm.write.commitVerdicts([ids, cs])));
    }
  } else {
    for (const [k, id] of ids.entries()) {
      for (const [i, v] of vs.entries()) {
        const c = await d.challenges.read.verdictCommitment([
          id,
          verdictOf(i),
          segmentOf(i),
          scoreOf(i),
          salt(k, i),
          v.account.address,
        ]);
        commits[k].push(await gas((await as(v)).cm.write.commitVerdict([id, c])));
      }
    }
  }
  // The validators' next beacon contribution, for round r + 2 (commits in the first half of
  // round r + 1): each one's commitment slot is written already, as in a network's steady rounds.
  await beacon("commit", r + 2n, 11, "RandomnessBeacon.commit.again");
  await until(start(r + 1n) + BigInt(DAY / 4) + 1n);
  const reveals: number[][] = ids.map(() => []);
  const batchReveals: number[] = [];
  if (options.batch) {
    for (const [i, v] of revealing.entries()) {
      batchReveals.push(
        await gas(
          (await as(v)).cm.write.revealVerdicts([
            ids,
            ids.map(() => verdictOf(i)),
            ids.map(() => segmentOf(i)),
            ids.map(() => scoreOf(i)),
            ids.map((_, k) => salt(k, i)),
          ]),
        ),
      );
    }
  } else {
    for (const [k, id] of ids.entries()) {
      for (const [i, v] of revealing.entries())
        reveals[k].push(
          await gas(
            (await as(v)).cm.write.revealVerdict([id, verdictOf(i), segmentOf(i), scoreOf(i), salt(k, i)]),
          ),
        );
    }
  }
  // The second phase: every member but the accuser votes Invalid on the named segment (the last
  // vote judges).
  await until(start(r + 1n) + BigInt(DAY / 2) + 1n);
  const replays: number[][] = ids.map(() => []);
  if (scenario === "fraud") {
    for (const [k, id] of ids.entries()) {
      for (const v of vs.slice(1))
        replays[k].push(await gas((await as(v)).cm.write.replayVote([id, INVALID, 7])));
    }
  }
  const fin: number[] = [];
  if (scenario === "fraud") await until(start(r + 1n) + BigInt(DAY / 2 + DAY / 8) + 1n);
  for (const id of ids) {
    const open = (await d.challenges.read.getChallenge([id])).status === 1;
    fin.push(open ? await gas(d.challenges.write.finalize([id])) : 0);
  }

  // A trainer that did not submit in round r + 1 is reported after its deadline.
  let missed = 0;
  if (trainers > 1 && scenario !== "fraud") {
    await until(start(r + 1n) + BigInt(DAY / 2) + 60n);
    await d.beacon.write.seal([r + 1n]).catch(() => undefined);
    missed = await gas(d.challenges.write.reportMissed([ts[1].account.address, r + 1n]));
  }
  await until(start(r + 1n) + BigInt(DAY / 2) + 120n);
  await beacon("reveal", r + 2n, 11, "RandomnessBeacon.reveal.again");
  return {
    out,
    submits,
    commits,
    reveals,
    replays,
    fin,
    missed,
    batchCommits,
    batchReveals,
    d,
    r,
    viem,
    networkHelpers,
    ts,
    vs,
    gas,
    as,
    until,
    start,
  };
}

async function specIdOf(d: Pick<Awaited<ReturnType<typeof deployPoAI>>, "registry">): Promise<Hex> {
  const logs = await d.registry.getEvents.SpecRegistered();
  return logs[logs.length - 1].args.specId as Hex;
}

/** A validator commits to the beacon and withholds its reveal; a reporter has it slashed. */
async function withheldBeacon(): Promise<number> {
  const t = await auditedRound(3, 1);
  const r = (await t.d.staking.read.currentEpoch()) + 2n;
  await t.until(t.start(r - 1n) + 10n);
  const [v0] = t.vs;
  await (
    await t.as(v0)
  ).beacon.write.commit([r, await t.d.beacon.read.commitmentOf([word(99), v0.account.address, r])]);
  await t.until(t.start(r) + 1n);
  return t.gas(t.d.challenges.write.reportBeaconWithholding([r, v0.account.address]));
}

export async function runPoAIGasBench(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const three = await auditedRound(3, 2);
  Object.assign(results, three.out);
  results["ChallengeManager.submitResult.firstInRound"] = three.submits[0];
  results["ChallengeManager.commitVerdict.firstInRound"] = three.commits[0][0];
  results["ChallengeManager.commitVerdict"] = three.commits[1][1];
  results["ChallengeManager.revealVerdict"] = three.reveals[1][1];
  results["ChallengeManager.revealVerdict.judging"] = three.reveals[1][2];
  results["ChallengeManager.revealVerdict.judging.firstInEpoch"] = three.reveals[0][2];
  results["ChallengeManager.reportMissed"] = three.missed;
  results["ChallengeManager.auditedChallenge.committee3.total"] =
    three.submits[1] + sum(three.commits[1]) + sum(three.reveals[1]) + three.fin[1];
  results["ChallengeManager.auditedChallenge.committee3.firstInRound.total"] =
    three.submits[0] + sum(three.commits[0]) + sum(three.reveals[0]) + three.fin[0];
  const silent = await auditedRound(3, 2, false, false, "silent");
  results["ChallengeManager.finalize.committee3.firstInEpoch"] = silent.fin[0];
  results["ChallengeManager.finalize.committee3"] = silent.fin[1];
  const fraud = await auditedRound(3, 2, false, false, "fraud");
  results["ChallengeManager.replayVote"] = fraud.replays[1][0];
  results["ChallengeManager.replayVote.judging"] = fraud.replays[1][1];
  results["ChallengeManager.fraudChallenge.committee3.total"] =
    fraud.submits[1] + sum(fraud.commits[1]) + sum(fraud.reveals[1]) + sum(fraud.replays[1]) + fraud.fin[1];
  const seven = await auditedRound(7, 2);
  results["ChallengeManager.revealVerdict.judging.committee7"] = seven.reveals[1][6];
  results["ChallengeManager.auditedChallenge.committee7.total"] =
    seven.submits[1] + sum(seven.commits[1]) + sum(seven.reveals[1]) + seven.fin[1];
  const batched = await auditedRound(3, 10, true);
  const perCommit = Math.round(sum(batched.batchCommits) / batched.batchCommits.length / 10);
  const perReveal = Math.round(sum(batched.batchReveals) / batched.batchReveals.length / 10);
  results["ChallengeManager.commitVerdicts.batch10.perChallenge"] = perCommit;
  results["ChallengeManager.revealVerdicts.batch10.perChallenge"] = perReveal;
  results["ChallengeManager.auditedChallenge.committee3.batch10.perChallenge.total"] =
    batched.submits[batched.submits.length - 1] + 3 * perCommit + 3 * perReveal;
  const one = await auditedRound(3, 1);
  results["ChallengeManager.submitResult.trainers1"] = one.submits[0];
  const many = await auditedRound(3, 12);
  results["ChallengeManager.submitResult.trainers12"] = many.submits[many.submits.length - 1];
  results["ChallengeManager.reportBeaconWithholding"] = await withheldBeacon();
  return results;
}
