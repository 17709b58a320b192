/**
 * The off-chain half of PoAI end to end: trainer and validator daemons on the in-process chain,
 * checkpoints over real HTTP, state in real SQLite files. One honest trainer and one trainer per
 * cheat; three honest validators, a lazy one (Valid without auditing, in both phases) and a silent
 * one. After the round is audited and finalized, every party has the outcome the protocol defines
 * for it.
 */
import { expect } from "chai";
import path from "node:path";
import type { Address, Hex } from "viem";
import { challengeId, challengeScore, trainerPoints, type PoAIClient } from "../../sdk/src/index.js";
import { evaluate, train } from "../../sdk/src/compute/index.js";
import { TrainerDaemon } from "../../sdk/src/node/index.js";
import { ValidatorDaemon } from "../../sdk/src/verifier/index.js";
import {
  CopyingTrainer,
  ForgingTrainer,
  InflatingTrainer,
  LateTrainer,
  LazyValidator,
  NoTrainingTrainer,
  SilentValidator,
  WithholdingTrainer,
  WrongSeedTrainer,
} from "../../scripts/lib/adversaries.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { daemonWorld, type DaemonWorld } from "../fixtures/daemons.js";

const ROUND = 1n;

type TrainerKind =
  "honest" | "noTraining" | "forging" | "wrongSeed" | "copying" | "withholding" | "late" | "inflating";
type ValidatorKind = "honest" | "lazy" | "silent";

const TRAINER_CLASSES = {
  honest: TrainerDaemon,
  noTraining: NoTrainingTrainer,
  forging: ForgingTrainer,
  wrongSeed: WrongSeedTrainer,
  copying: CopyingTrainer,
  withholding: WithholdingTrainer,
  late: LateTrainer,
  inflating: InflatingTrainer,
} as const;
const TRAINER_KINDS = Object.keys(TRAINER_CLASSES) as TrainerKind[];
const VALIDATOR_KINDS: ValidatorKind[] = ["honest", "honest", "honest", "lazy", "silent"];

describe("daemons end to end: honest nodes earn, every cheat is caught", function () {
  this.timeout(300_000);

  let w: DaemonWorld;
  const trainers = new Map<TrainerKind, { daemon: TrainerDaemon; address: Address; client: PoAIClient }>();
  const validators: { kind: ValidatorKind; daemon: ValidatorDaemon; address: Address }[] = [];
  const stakeBefore = new Map<Address, bigint>();
  const errors: string[] = [];

  before(async () => {
    w = await daemonWorld({ trainers: TRAINER_KINDS.length, validators: VALIDATOR_KINDS.length });
    for (const [i, kind] of TRAINER_KINDS.entries()) {
      const op = w.trainers[i];
      const daemon = await TRAINER_CLASSES[kind].create({
        client: op.client,
        databasePath: path.join(w.tempDir(`trainer-${kind}`), "trainer.db"),
        backend: "wasm",
        progress: "off",
        logLevel: "silent",
      });
      trainers.set(kind, { daemon, address: op.address, client: op.client });
    }
    const victim = trainers.get("honest")!;
    (trainers.get("copying")!.daemon as CopyingTrainer).victim = {
      address: victim.address,
      endpoint: victim.daemon.endpoint,
    };
    for (const [i, kind] of VALIDATOR_KINDS.entries()) {
      const op = w.validators[i];
      const Class = kind === "lazy" ? LazyValidator : kind === "silent" ? SilentValidator : ValidatorDaemon;
      const daemon = await Class.create({
        client: op.client,
        dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
        backend: "wasm",
        fetchTimeoutMs: 2_000,
        fetchAttempts: 2,
        logLevel: "silent",
      });
      validators.push({ kind, daemon, address: op.address });
    }
    for (const op of [...w.trainers, ...w.validators]) {
      stakeBefore.set(op.address, (await op.client.staking.getOperator({ operator: op.address })).totalStake);
    }

    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers: [...trainers.values()].map((t) => t.daemon),
      validators: validators.map((v) => v.daemon),
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const t of trainers.values()) await t.daemon.stop();
    for (const v of validators) await v.daemon.stop();
    w?.cleanup();
  });

  const challengeOf = (kind: TrainerKind) => {
    const t = trainers.get(kind)!;
    return t.client.challenges.getChallenge({ id: challengeId(t.address, ROUND) });
  };
  const operatorOf = (kind: TrainerKind) => {
    const t = trainers.get(kind)!;
    return t.client.staking.getOperator({ operator: t.address });
  };
  const points = (address: Address) =>
    w.admin.client.challenges.getEpochPoints({ epoch: ROUND, operator: address });

  it("runs every daemon through the round without a failed tick", () => {
    expect(errors).to.deep.equal([]);
  });

  it("gives the honest trainer a valid challenge with no deviation penalty, and the points of its latency", async () => {
    const t = trainers.get("honest")!;
    const c = await challengeOf("honest");
    expect(c.status).to.equal("Valid");
    const due = await t.client.challenges.getDueChallenge({ trainer: t.address, round: ROUND });
    const run = await train(w.spec, due.seed, { backend: "wasm" });
    const measured = (await evaluate(w.spec, due.seed, run.final, { backend: "wasm" })).accuracyBps;
    expect(c.reportedScoreBps).to.equal(measured);
    const windows = w.windows(ROUND);
    const score = challengeScore({
      medianScoreBps: measured,
      reportedScoreBps: measured,
      latency: c.latency,
      deadlineSpan: windows.deadlineSpan,
      minScoreBps: w.specParams.minScoreBps,
      maxScoreBps: w.specParams.maxScoreBps,
      maxDeviationBps: w.challengeParams.maxDeviationBps,
    });
    expect(score > 0n).to.equal(true);
    const stake = stakeBefore.get(t.address)!;
    expect(await points(t.address)).to.equal(trainerPoints(stake, score));
    expect((await operatorOf("honest")).totalStake).to.equal(stake);
  });

  for (const kind of ["noTraining", "forging", "wrongSeed", "copying"] as const) {
    it(`judges the ${kind} trainer's run Fraud: slashed, jailed, no points`, async () => {
      const t = trainers.get(kind)!;
      expect((await challengeOf(kind)).status).to.equal("Fraud");
      const op = await operatorOf(kind);
      expect(op.jailed).to.equal(true);
      expect(op.totalStake < stakeBefore.get(t.address)!).to.equal(true);
      expect(await points(t.address)).to.equal(0n);
      const members = await t.client.challenges.getMembers({ id: challengeId(t.address, ROUND) });
      const honest = validators.filter((v) => v.kind === "honest").map((v) => v.address);
      for (const m of members.filter((x) => honest.includes(x.validator)))
        expect(m.verdict).to.equal("Invalid");
    });
  }

  it("judges the withholding trainer Withheld: the smaller slash, jailed or not, no points", async () => {
    const t = trainers.get("withholding")!;
    expect((await challengeOf("withholding")).status).to.equal("Withheld");
    const lost = stakeBefore.get(t.address)! - (await operatorOf("withholding")).totalStake;
    const fraudLost =
      stakeBefore.get(trainers.get("forging")!.address)! - (await operatorOf("forging")).totalStake;
    expect(lost > 0n && lost < fraudLost).to.equal(true);
    expect(await points(t.address)).to.equal(0n);
  });

  it("refuses the late trainer's result: the round is reported Missed and earns nothing", async () => {
    const t = trainers.get("late")!;
    const c = await challengeOf("late");
    expect(c.status).to.equal("Missed");
    expect(await points(t.address)).to.equal(0n);
    expect((await t.client.challenges.getMisses({ trainer: t.address })) > 0n).to.equal(true);
    expect((t.daemon as LateTrainer).sentRounds, "the late trainer did send its result").to.include(ROUND);
  });

  it("penalises the inflated report by its deviation from the committee's median", async () => {
    const t = trainers.get("inflating")!;
    const c = await challengeOf("inflating");
    expect(c.status).to.equal("Valid");
    const due = await t.client.challenges.getDueChallenge({ trainer: t.address, round: ROUND });
    const run = await train(w.spec, due.seed, { backend: "wasm" });
    const measured = (await evaluate(w.spec, due.seed, run.final, { backend: "wasm" })).accuracyBps;
    expect(c.reportedScoreBps).to.equal(Math.min(10_000, measured + 300));
    const args = {
      medianScoreBps: measured,
      latency: c.latency,
      deadlineSpan: w.windows(ROUND).deadlineSpan,
      minScoreBps: w.specParams.minScoreBps,
      maxScoreBps: w.specParams.maxScoreBps,
      maxDeviationBps: w.challengeParams.maxDeviationBps,
    };
    const penalised = challengeScore({ ...args, reportedScoreBps: c.reportedScoreBps });
    const truthful = challengeScore({ ...args, reportedScoreBps: measured });
    expect(penalised < truthful).to.equal(true);
    expect(await points(t.address)).to.equal(trainerPoints(stakeBefore.get(t.address)!, penalised));
  });

  it("gives every honest validator accuracy points for each judged challenge, the lazy one only where it happened to be right, the silent one none", async () => {
    const judged = TRAINER_KINDS.filter((k) => k !== "late").length; // 7 challenges finalized
    const honest = validators.filter((v) => v.kind === "honest");
    const honestPoints = await Promise.all(honest.map((v) => points(v.address)));
    for (const p of honestPoints) expect(p).to.equal(honestPoints[0]);
    expect(honestPoints[0] > 0n).to.equal(true);
    const perChallenge = honestPoints[0] / BigInt(judged);
    expect(perChallenge * BigInt(judged)).to.equal(honestPoints[0]);
    const lazy = validators.find((v) => v.kind === "lazy")!;
    // Right only on the honest trainer's challenge (Valid, reported = measured).
    expect(await points(lazy.address)).to.equal(perChallenge);
    const silent = validators.find((v) => v.kind === "silent")!;
    expect(await points(silent.address)).to.equal(0n);
    const members = await w.admin.client.challenges.getMembers({
      id: challengeId(trainers.get("forging")!.address, ROUND),
    });
    // Five committed; the silent member's slot still holds only its commitment.
    expect(members).to.have.length(5);
    expect(members.filter((m) => m.revealed)).to.have.length(4);
    expect(members.some((m) => m.validator === silent.address)).to.equal(false);
    expect(members.find((m) => m.validator === lazy.address)?.verdict).to.equal("Valid");
  });

  it("slashes the lazy validator verdictSlash for each fraud it vouched for, and no honest or silent validator's stake", async () => {
    // A Valid vote that stands on a proven fraud costs stake (it cost nothing under the rule this
    // replaces): the lazy validator reveals Valid without auditing and votes Valid again in the
    // second phase, on each of the four frauds.
    const frauds = (["noTraining", "forging", "wrongSeed", "copying"] as const).length;
    const lazy = validators.find((v) => v.kind === "lazy")!;
    const slashes = await w.admin.client.challenges.getEvents({
      eventName: "ValidatorSlashed",
      args: { validator: lazy.address },
    });
    expect(slashes).to.have.length(frauds);
    let expected = stakeBefore.get(lazy.address)!;
    for (let k = 0; k < frauds; k++) {
      const cut = (expected * w.challengeParams.verdictSlash + 10n ** 18n - 1n) / 10n ** 18n; // rounded against it
      expected -= cut;
    }
    expect((await w.admin.client.staking.getOperator({ operator: lazy.address })).totalStake).to.equal(
      expected,
    );
    for (const v of validators.filter((x) => x.kind !== "lazy")) {
      const op = await w.admin.client.staking.getOperator({ operator: v.address });
      expect(op.totalStake).to.equal(stakeBefore.get(v.address));
    }
    for (const kind of ["honest", "inflating", "late"] as const) {
      const t = trainers.get(kind)!;
      const expected = stakeBefore.get(t.address)!;
      const now = (await operatorOf(kind)).totalStake;
      if (kind === "late") expect(now <= expected).to.equal(true);
      else expect(now).to.equal(expected);
    }
  });

  it("serves the honest trainer's checkpoints until its round closes", async () => {
    const t = trainers.get("honest")!;
    const id: Hex = challengeId(t.address, ROUND);
    const res = await fetch(`${t.daemon.endpoint}/v1/challenges/${id}`);
    expect(res.status).to.equal(200);
  });
});
