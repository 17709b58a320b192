/**
 * One Proof-of-AI round played by scripted actors on a live chain: trainers train their challenge
 * with the integer engine and commit the checkpoint Merkle root; validators contribute to the
 * beacon, prove their committee membership, re-execute sampled segments against the committed
 * root, evaluate the final model, and commit then reveal their verdicts; anyone finalizes.
 *
 * Checkpoints travel in memory here; the trainer and validator daemons serve and fetch them over
 * HTTP. The protocol steps and checks are the same.
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import {
  checkpointHash,
  commit,
  evaluate,
  train,
  verifyCheckpointProof,
  verifySegment,
  type Checkpoint,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { encodeAbiParameters, keccak256, toHex, type Address, type Hex } from "viem";
import type { PoAIDeployment } from "./deploy.js";

export type TrainerBehaviour = "honest" | "lazy" | "absent";

export interface TrainerActor {
  wallet: Awaited<ReturnType<HardhatViemHelpers["getWalletClients"]>>[number];
  behaviour: TrainerBehaviour;
}

export interface ValidatorActor {
  wallet: Awaited<ReturnType<HardhatViemHelpers["getWalletClients"]>>[number];
}

export interface ChallengeReport {
  trainer: Address;
  behaviour: TrainerBehaviour;
  id: Hex;
  status: string;
  reportedScoreBps: number;
  verdicts: { validator: Address; verdict: string; segment: number; measuredScoreBps: number }[];
  score: bigint;
  points: bigint;
  trainMs: number;
}

const STATUS = ["None", "Submitted", "Valid", "Fraud", "Withheld", "NoQuorum", "Missed"];
const VERDICT = ["None", "Valid", "Invalid", "Unavailable"];

/** Segment indices a validator re-executes: keccak256(abi.encode(auditSeed, validator, j)) mod segments. */
export function sampleSegments(auditSeed: Hex, validator: Address, k: number, segments: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const h = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
        [auditSeed, validator, BigInt(j)],
      ),
    );
    out.push(Number(BigInt(h) % BigInt(segments)));
  }
  return out;
}

/** A trainer's run as its checkpoint server would hold it. */
interface Run {
  checkpoints: Checkpoint[];
  hashes: Hex[];
  root: Hex;
  proof: (i: number) => Hex[];
}

async function runChallenge(
  spec: TrainingSpec,
  seed: Hex,
  behaviour: TrainerBehaviour,
): Promise<{ run: Run; scoreBps: number; ms: number }> {
  const t0 = performance.now();
  const checkpoints: Checkpoint[] = [];
  const honest = await train(spec, seed, {
    backend: "wasm",
    onCheckpoint: (r) => void checkpoints.push(r.checkpoint),
  });
  let hashes = [...honest.checkpointHashes];
  let scoreBps = (await evaluate(spec, seed, honest.final, { backend: "wasm" })).accuracyBps;
  if (behaviour === "lazy") {
    // Trains the first two segments, then repeats those weights under later step numbers.
    for (let i = 3; i < checkpoints.length; i++)
      checkpoints[i] = { step: checkpoints[i].step, weights: checkpoints[2].weights };
    hashes = checkpoints.map((cp) => checkpointHash(spec, cp));
    scoreBps = 9000; // claims a plausible accuracy
  }
  const c = commit({ checkpointHashes: hashes });
  return {
    run: { checkpoints, hashes, root: c.root, proof: (i) => c.proof(i) },
    scoreBps,
    ms: performance.now() - t0,
  };
}

/** What a validator concludes about one challenge after re-executing its samples. */
async function audit(
  spec: TrainingSpec,
  seed: Hex,
  root: Hex,
  run: Run | undefined,
  samples: number[],
): Promise<{ verdict: 1 | 2 | 3; segment: number; measuredScoreBps: number }> {
  if (!run) return { verdict: 3, segment: 0, measuredScoreBps: 0 };
  const proven = (i: number) => {
    const hash = checkpointHash(spec, run.checkpoints[i]);
    return verifyCheckpointProof(root, i, hash, run.proof(i));
  };
  for (const i of samples) {
    if (!proven(i) || !proven(i + 1)) return { verdict: 2, segment: i, measuredScoreBps: 0 };
    const replay = await verifySegment(
      spec,
      seed,
      i,
      run.checkpoints[i],
      checkpointHash(spec, run.checkpoints[i + 1]),
      { backend: "wasm" },
    );
    if (!replay.ok) return { verdict: 2, segment: i, measuredScoreBps: 0 };
  }
  const last = run.checkpoints.length - 1;
  if (!proven(last)) return { verdict: 2, segment: last - 1, measuredScoreBps: 0 };
  const score = await evaluate(spec, seed, run.checkpoints[last], { backend: "wasm" });
  return { verdict: 1, segment: 0, measuredScoreBps: score.accuracyBps };
}

/**
 * Plays round `round` (which must not have started yet) and the audit in round `round + 1`, and
 * leaves the chain just after the reveal window with every challenge finalized.
 */
export async function playRound(args: {
  viem: HardhatViemHelpers;
  networkHelpers: NetworkHelpers;
  d: PoAIDeployment;
  round: bigint;
  specs: Map<Hex, TrainingSpec>;
  trainers: TrainerActor[];
  validators: ValidatorActor[];
  log: (line: string) => void;
}): Promise<ChallengeReport[]> {
  const { viem, networkHelpers, d, round, specs, trainers, validators, log } = args;
  const genesis = await d.staking.read.genesis();
  const epoch = d.epochLength;
  const start = (r: bigint) => genesis + r * epoch;
  const until = async (t: bigint) => {
    if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
  };
  const cm = (w: ValidatorActor["wallet"]) =>
    viem.getContractAt("ChallengeManager", d.challenges.address, { client: { wallet: w } });
  const beacon = (w: ValidatorActor["wallet"]) =>
    viem.getContractAt("RandomnessBeacon", d.beacon.address, { client: { wallet: w } });
  const params = await d.challenges.read.params();

  // Round r: validators commit to the beacon of round r + 1; trainers work.
  await until(start(round) + 1n);
  if (!(await d.beacon.read.isReady([round]))) throw new Error(`round ${round} has not started`);
  await d.beacon.write.seal([round]); // a no-op when validators contributed to round r
  const secrets = new Map<Address, Hex>();
  for (const v of validators) {
    const secret = keccak256(
      toHex(`beacon secret ${v.wallet.account.address} ${round + 1n} ${Math.random()}`),
    );
    secrets.set(v.wallet.account.address, secret);
    await (
      await beacon(v.wallet)
    ).write.commit([
      round + 1n,
      await d.beacon.read.commitmentOf([secret, v.wallet.account.address, round + 1n]),
    ]);
  }
  log(`  beacon: ${validators.length} validators committed to round ${round + 1n}`);

  const runs = new Map<Address, Run>();
  const reports: ChallengeReport[] = [];
  for (const t of trainers) {
    const address = t.wallet.account.address;
    const [due, seed, specIdHex, deadline] = await d.challenges.read.dueChallenge([address, round]);
    const spec = specs.get(specIdHex);
    if (!due || !spec) throw new Error(`trainer ${address} is not due a known challenge in round ${round}`);
    const id = await d.challenges.read.challengeId([address, round]);
    const report: ChallengeReport = {
      trainer: address,
      behaviour: t.behaviour,
      id,
      status: "",
      reportedScoreBps: 0,
      verdicts: [],
      score: 0n,
      points: 0n,
      trainMs: 0,
    };
    reports.push(report);
    if (t.behaviour === "absent") {
      log(`  trainer ${short(address)}: absent (deadline ${iso(deadline)})`);
      continue;
    }
    const { run, scoreBps, ms } = await runChallenge(spec, seed, t.behaviour);
    runs.set(address, run);
    report.reportedScoreBps = scoreBps;
    report.trainMs = ms;
    await (await cm(t.wallet)).write.submitResult([round, run.root, scoreBps]);
    log(
      `  trainer ${short(address)}: trained ${spec.steps} steps in ${ms.toFixed(0)} ms, root ${run.root.slice(0, 10)}…, reports ${(scoreBps / 100).toFixed(2)}%${t.behaviour === "lazy" ? " (faked after segment 2)" : ""}`,
    );
  }

  // Second half of round r: reveals; absent trainers are reported after their deadline.
  await until(start(round) + epoch / 2n + 1n);
  for (const v of validators)
    await (await beacon(v.wallet)).write.reveal([round + 1n, secrets.get(v.wallet.account.address)!]);
  for (const r of reports.filter((x) => x.behaviour === "absent")) {
    await (await cm(validators[0].wallet)).write.reportMissed([r.trainer, round]);
  }

  // Round r + 1: the audit.
  await until(start(round + 1n) + 1n);
  const salts = new Map<string, Hex>();
  const decisions = new Map<string, { verdict: 1 | 2 | 3; segment: number; measuredScoreBps: number }>();
  for (const r of reports.filter((x) => x.behaviour !== "absent")) {
    const ch = await d.challenges.read.getChallenge([r.id]);
    const spec = specs.get(ch.specId)!;
    const sp = await d.registry.read.specParams([ch.specId]);
    const auditSeed = await d.challenges.read.auditSeed([r.id]);
    const segments = spec.steps / spec.checkpointInterval;
    for (const v of validators) {
      const address = v.wallet.account.address;
      if (!(await d.challenges.read.isCommitteeMember([r.id, address]))) continue;
      const samples = sampleSegments(auditSeed, address, sp.auditSamples, segments);
      const decision = await audit(spec, ch.seed, ch.resultRoot, runs.get(r.trainer), samples);
      const salt = keccak256(toHex(`verdict salt ${address} ${r.id} ${Math.random()}`));
      salts.set(`${r.id}:${address}`, salt);
      decisions.set(`${r.id}:${address}`, decision);
      const commitment = await d.challenges.read.verdictCommitment([
        r.id,
        decision.verdict,
        decision.segment,
        decision.measuredScoreBps,
        salt,
        address,
      ]);
      await (await cm(v.wallet)).write.commitVerdict([r.id, commitment]);
    }
  }
  await until(start(round + 1n) + BigInt(params.commitWindow) + 1n);
  for (const [key, decision] of decisions) {
    const [id, address] = key.split(":") as [Hex, Address];
    const v = validators.find((x) => x.wallet.account.address === address)!;
    await (
      await cm(v.wallet)
    ).write.revealVerdict([
      id,
      decision.verdict,
      decision.segment,
      decision.measuredScoreBps,
      salts.get(key)!,
    ]);
  }
  await until(start(round + 1n) + BigInt(params.commitWindow) + BigInt(params.revealWindow) + 1n);

  const publicClient = await viem.getPublicClient();
  for (const r of reports) {
    if (r.behaviour !== "absent") {
      const hash = await d.challenges.write.finalize([r.id]);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const logs = await d.challenges.getEvents.ChallengeFinalized({}, { blockHash: receipt.blockHash });
      r.score = logs[0]?.args.score ?? 0n;
    }
    const ch = await d.challenges.read.getChallenge([r.id]);
    r.status = STATUS[ch.status];
    r.points = await d.challenges.read.epochPoints([round, r.trainer]);
    for (const [key, decision] of decisions) {
      const [id, address] = key.split(":") as [Hex, Address];
      if (id === r.id)
        r.verdicts.push({
          validator: address,
          verdict: VERDICT[decision.verdict],
          segment: decision.segment,
          measuredScoreBps: decision.measuredScoreBps,
        });
    }
  }
  return reports;
}

const short = (a: Address) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const iso = (t: bigint) => new Date(Number(t) * 1000).toISOString();
