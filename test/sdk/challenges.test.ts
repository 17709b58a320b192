import { expect } from "chai";
import {
  createPublicClient,
  createWalletClient,
  custom,
  encodeAbiParameters,
  keccak256,
  parseEther,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  PoAIContractError,
  PoAIInputError,
  VERDICT,
  auditSeed,
  beaconCommitment,
  challengeId,
  challengeScore,
  challengeSeed,
  createPoAIClient,
  decodeStatus,
  decodeVerdict,
  isSelected,
  committeeBand,
  poolSize,
  newSalt,
  roundWindows,
  committeeSamples,
  memberSamples,
  committeeReplayShare,
  ownSamples,
  sampleSegments,
  sortitionDraw,
  specId,
  tallyVotes,
  voteVouchedForFraud,
  trainerPoints,
  verdictCommitment,
  voteAgrees,
  voteWeight,
  type ChallengeEvent,
  type PoAIClient,
  type PreparedBeaconCommit,
  type PreparedVerdict,
} from "../../sdk/src/index.js";
import {
  DAY,
  SPEC,
  SPEC_PARAMS,
  connectPoAI,
  mined,
  registerOperator,
  startOf,
  type PoAIFixture,
} from "./poai-fixture.js";

/** Resolves with the error a promise (or a function) rejects with; fails the test if it does not. */
async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

async function contractError(p: Promise<unknown>, errorName: string): Promise<PoAIContractError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIContractError);
  expect((err as PoAIContractError).errorName, err.message).to.equal(errorName);
  return err as PoAIContractError;
}

async function inputError(p: Promise<unknown> | (() => unknown), field: string): Promise<PoAIInputError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIInputError);
  expect((err as PoAIInputError).field, err.message).to.equal(field);
  return err as PoAIInputError;
}

/** Seals the beacon of `round` if it needs it, and waits for the seal. */
async function ensureBeacon(c: PoAIClient, round: bigint) {
  const hash = await c.challenges.ensureBeacon({ round });
  if (hash !== undefined) await c.waitForTransaction(hash);
}

const iso = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString();
const bytes32 = (n: number | bigint, tag = 0) =>
  keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [BigInt(n), BigInt(tag)]));

/** A deterministic stream of pseudo-random bigints in [0, bound) (the tests must not depend on luck). */
function randomStream(seed: number) {
  let i = 0;
  return (bound: bigint) => BigInt(bytes32(i++, seed)) % bound;
}

describe("@poai/sdk Proof-of-AI actions", () => {
  let net: Awaited<ReturnType<typeof connectPoAI>>;
  let f: PoAIFixture;

  before(async () => {
    net = await connectPoAI();
  });
  beforeEach(async () => {
    f = await net.load();
  });

  const at = (timestamp: bigint) => net.networkHelpers.time.increaseTo(timestamp);

  /**
   * A trainer (wallet 1) and three validators (wallets 2-4) registered, the small spec registered
   * and active; `r` is the first round in which the trainer is due a challenge.
   */
  async function setUpRound() {
    const trainer = await registerOperator(f, 1, "trainer", parseEther("5000"));
    const validators: Address[] = [];
    for (const i of [2, 3, 4]) validators.push(await registerOperator(f, i, "validator", parseEther("1000")));
    const gov = f.client(0);
    await mined(gov, gov.registry.registerSpec({ spec: SPEC, params: SPEC_PARAMS }));
    await mined(gov, gov.registry.activateSpec({ specId: specId(SPEC) }));
    const r = (await gov.staking.currentEpoch()) + 1n;
    return { trainer, validators, r, id: challengeId(trainer, r) };
  }

  /** Validators 2-4 commit fresh secrets to the beacon of `round` (in the first half of round `round - 1`). */
  async function commitToBeacon(round: bigint): Promise<PreparedBeaconCommit[]> {
    const prepared: PreparedBeaconCommit[] = [];
    for (const i of [2, 3, 4]) {
      const c = f.client(i);
      const p = c.beacon.prepareBeaconCommit({ round });
      await mined(c, c.beacon.commitBeacon(p));
      prepared.push(p);
    }
    return prepared;
  }

  /** Sets up a round, contributes to the next beacon, seals this one and submits the trainer's result. */
  async function submittedChallenge() {
    const s = await setUpRound();
    await at(startOf(f, s.r) + 10n);
    const secrets = await commitToBeacon(s.r + 1n);
    const t = f.client(1);
    await ensureBeacon(t, s.r);
    await mined(t, t.challenges.submitResult({ resultRoot: bytes32(1234), reportedScoreBps: 8000 }));
    await at(startOf(f, s.r) + BigInt(DAY / 2) + 1n);
    for (const [k, i] of [2, 3, 4].entries()) {
      const c = f.client(i);
      await mined(c, c.beacon.revealBeacon(secrets[k]!));
    }
    return s;
  }

  describe("one audited round", () => {
    it("runs a challenge end to end through the SDK: spec, beacon, result, committee, verdicts, judgment, points", async () => {
      const { trainer, validators, r, id } = await setUpRound();
      const gov = f.client(0);
      const t = f.client(1);
      const sid = specId(SPEC);

      // The registry returns the SDK's spec shape and the parameters; the spec is active from round r.
      expect(await t.registry.getSpec({ specId: sid })).to.deep.equal(SPEC);
      expect(await t.registry.getSpecParams({ specId: sid })).to.deep.equal(SPEC_PARAMS);
      expect(await t.registry.getActiveSpecs({ round: r })).to.deep.equal([sid]);
      expect(await t.registry.isSpecRegistered({ specId: sid })).to.equal(true);

      // Round r starts. Validators contribute to the beacon of round r + 1.
      await at(startOf(f, r) + 10n);
      const secrets = await commitToBeacon(r + 1n);
      expect(secrets[0]!.commitment).to.equal(
        await f.d.beacon.read.commitmentOf([secrets[0]!.secret, validators[0]!, r + 1n]),
      );
      let phase = await t.beacon.getBeaconPhase();
      expect(phase.round).to.equal(r + 1n);
      expect(phase.phase).to.equal("commit");
      expect(phase.commits).to.equal(3);
      expect(
        await t.beacon.getBeaconContribution({ round: r + 1n, validator: validators[0]! }),
      ).to.deep.equal({
        committed: true,
        revealed: false,
      });

      // Nobody contributed to round r: its value must be sealed before the challenge is known.
      const notReady = await contractError(t.challenges.getDueChallenge({ trainer }), "BeaconNotReady");
      expect(notReady.message).to.contain(iso(startOf(f, r)));
      expect(await t.beacon.getBeaconValue({ round: r })).to.equal(null);
      const sealHash = await t.challenges.ensureBeacon({ round: r });
      expect(sealHash).to.be.a("string");
      await t.waitForTransaction(sealHash!);
      expect(await t.challenges.ensureBeacon({ round: r })).to.equal(undefined);
      const value = await t.beacon.getBeaconValue({ round: r });
      expect(value).to.match(/^0x[0-9a-f]{64}$/);

      // The due challenge: seed, spec and deadline agree with the pure helpers.
      const due = await t.challenges.getDueChallenge({ trainer });
      const params = await t.challenges.getChallengeParams();
      const windows = roundWindows(f.genesis, DAY, r, {
        ...params,
        responseDeadline: SPEC_PARAMS.responseDeadline,
      });
      expect(due).to.deep.equal({
        trainer,
        round: r,
        id,
        due: true,
        seed: challengeSeed(value!, trainer, r),
        specId: sid,
        deadline: windows.deadline,
        status: "None",
      });
      expect(await t.registry.getSpecFor({ round: r, seed: due.seed })).to.equal(sid);
      expect(await t.challenges.getRoundWindows({ round: r, specId: sid })).to.deep.equal(windows);

      const receipt = await mined(
        t,
        t.challenges.submitResult({ resultRoot: bytes32(1234), reportedScoreBps: 8000 }),
      );
      const [submitted] = t.challenges.parseEvents({ logs: receipt.logs, eventName: "ResultSubmitted" });
      expect(submitted!.args).to.deep.include({
        id,
        trainer,
        round: r,
        resultRoot: bytes32(1234),
        reportedScoreBps: 8000,
      });
      let challenge = await t.challenges.getChallenge({ id });
      expect(challenge.status).to.equal("Submitted");
      expect(challenge.final).to.equal(false);
      expect(challenge.specId).to.equal(sid);
      expect(challenge.deadline).to.equal(windows.deadline);
      expect([challenge.commitStart, challenge.revealStart, challenge.revealEnd]).to.deep.equal([
        windows.commitStart,
        windows.revealStart,
        windows.revealEnd,
      ]);
      expect((await t.challenges.getDueChallenge({ trainer, round: r })).status).to.equal("Submitted");

      // Second half of round r: reveals to the beacon; the audit seed is still unknown.
      await at(startOf(f, r) + BigInt(DAY / 2) + 1n);
      expect((await t.beacon.getBeaconPhase({ round: r + 1n })).phase).to.equal("reveal");
      for (const [k, i] of [2, 3, 4].entries()) {
        const c = f.client(i);
        await mined(c, c.beacon.revealBeacon(secrets[k]!));
      }
      expect(await t.beacon.getBeaconValue({ round: r + 1n })).to.equal(null);
      await contractError(t.challenges.getAuditSeed({ id }), "BeaconNotReady");

      // Round r + 1: the committee. The off-chain check agrees with the contract.
      await at(windows.commitStart + 1n);
      phase = await t.beacon.getBeaconPhase({ round: r + 1n });
      expect([phase.phase, phase.reveals]).to.deep.equal(["ready", 3]);
      const seed = await t.challenges.getAuditSeed({ id });
      expect(seed).to.equal(auditSeed((await t.beacon.getBeaconValue({ round: r + 1n }))!, id));
      for (const v of validators) {
        const check = await t.challenges.checkCommittee({ id, validator: v });
        expect(check).to.deep.include({
          selected: true,
          auditSeed: seed,
          auditRound: r + 1n,
          round: r,
          isValidator: true,
        });
        expect(check.probabilityBps).to.equal(10_000); // 3 x 1000 of 3000: everyone sits
        expect(await t.challenges.isCommitteeMember({ id, validator: v })).to.equal(true);
      }
      // The whole committee, computed off-chain from every validator's stake, and the split of its
      // samples (every segment of this two-segment run) among the members, by address.
      const committee = await t.challenges.getCommittee({ id });
      const sorted = [...validators].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
      expect(committee).to.deep.include({ round: r, auditRound: r + 1n, auditSeed: seed, members: sorted });
      const segmentCount = SPEC.steps / SPEC.checkpointInterval;
      const all = committeeSamples(seed, SPEC_PARAMS.auditSamples, segmentCount);
      expect(all).to.deep.equal([0, 1]);
      const shares = sorted.map((v) =>
        memberSamples(seed, v, committee.members, SPEC_PARAMS.auditSamples, segmentCount),
      );
      expect(shares).to.deep.equal([[0], [1], []]);

      // Each validator prepares its verdict, persists it, then commits the persisted record.
      const store = new Map<number, string>();
      const scores = [8000, 8000, 8010]; // the third member measures differently and earns nothing
      for (const [k, i] of [2, 3, 4].entries()) {
        const c = f.client(i);
        const prepared = c.challenges.prepareVerdict({ id, verdict: "Valid", measuredScoreBps: scores[k]! });
        store.set(i, JSON.stringify(prepared));
        const sent = await c.challenges.commitVerdict(JSON.parse(store.get(i)!) as PreparedVerdict);
        await c.waitForTransaction(sent.hash);
        expect(sent.salt).to.equal(prepared.salt);
        expect(sent.commitment).to.equal(prepared.commitment);
        expect(sent.commitment).to.equal(
          await f.d.challenges.read.verdictCommitment([
            id,
            VERDICT.Valid,
            0,
            scores[k]!,
            prepared.salt,
            f.address(i),
          ]),
        );
      }
      const commits = await t.challenges.getEvents({ eventName: "VerdictCommitted", args: { id } });
      expect(commits.map((e) => e.args.validator)).to.deep.equal(validators);
      expect((await t.challenges.getChallenge({ id })).members).to.equal(3);

      // A finalization watcher, started before the judgment.
      const finalized: ChallengeEvent<"ChallengeFinalized">[] = [];
      const ofTrainer: ChallengeEvent<"ChallengeFinalized">[] = [];
      const errors: Error[] = [];
      const stop = t.challenges.watchEvents({
        eventName: "ChallengeFinalized",
        pollingInterval: 20,
        onEvents: (events) => finalized.push(...events),
        onError: (e) => errors.push(e),
      });
      const stopOfTrainer = t.challenges.watchFinalizations({
        trainer,
        pollingInterval: 20,
        onFinalized: (e) => ofTrainer.push(e),
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));

        // Reveal window: each validator reveals from its stored record; the last reveal judges.
        await at(windows.revealStart);
        for (const i of [2, 3]) {
          const c = f.client(i);
          await mined(c, c.challenges.revealVerdict(JSON.parse(store.get(i)!) as PreparedVerdict));
        }
        const early = await contractError(t.challenges.finalize({ id }), "DeadlineNotPassed");
        expect(early.message).to.contain(iso(windows.revealEnd)).and.to.contain("too early");
        const last = f.client(4);
        const judged = await mined(
          last,
          last.challenges.revealVerdict(JSON.parse(store.get(4)!) as PreparedVerdict),
        );
        const members = await t.challenges.getMembers({ id });
        expect(members.map((m) => [m.validator, m.verdict, m.measuredScoreBps, m.revealed])).to.deep.equal(
          validators.map((v, k) => [v, "Valid", scores[k], true]),
        );
        expect(members.map((m) => m.replayVerdict)).to.deep.equal(["None", "None", "None"]);
        await contractError(t.challenges.finalize({ id }), "ChallengeNotOpen");
        const [event] = gov.challenges.parseEvents({ logs: judged.logs, eventName: "ChallengeFinalized" });
        challenge = await t.challenges.getChallenge({ id });
        expect(challenge.status).to.equal("Valid");
        expect(challenge.final).to.equal(true);
        expect(decodeStatus(event!.args.status)).to.equal("Valid");

        // The judgment, recomputed off-chain: tally, median, score, points.
        const total = parseEther("3000");
        const votes = members.map((m) => ({
          verdict: m.verdict,
          measuredScoreBps: m.measuredScoreBps,
          weight: voteWeight(parseEther("1000"), total),
        }));
        const outcome = tallyVotes(votes, params.quorumBps, params.minReveals);
        expect(outcome.verdict).to.equal("Valid");
        expect(outcome.medianScoreBps).to.equal(event!.args.medianScoreBps).and.to.equal(8000);
        const score = challengeScore({
          medianScoreBps: outcome.medianScoreBps,
          reportedScoreBps: 8000,
          latency: challenge.latency,
          deadlineSpan: windows.deadlineSpan,
          minScoreBps: SPEC_PARAMS.minScoreBps,
          maxScoreBps: SPEC_PARAMS.maxScoreBps,
          maxDeviationBps: params.maxDeviationBps,
        });
        expect(score > 0n).to.equal(true);
        expect(event!.args.score).to.equal(score);
        const points = trainerPoints(parseEther("5000"), score);
        expect(event!.args.trainerPoints).to.equal(points);
        expect(await t.challenges.getEpochPoints({ epoch: r, operator: trainer })).to.equal(points);
        const agreeing = votes.map((v) => voteAgrees(v, outcome, params.scoreToleranceBps));
        expect(agreeing).to.deep.equal([true, true, false]);
        const validatorPoints = await Promise.all(
          validators.map((v) => t.challenges.getEpochPoints({ epoch: r, operator: v })),
        );
        expect(validatorPoints).to.deep.equal(votes.map((v, k) => (agreeing[k] ? v.weight : 0n)));
        const totals = await t.challenges.getEpochTotals({ epoch: r });
        expect(totals).to.deep.equal({
          epoch: r,
          trainer: points,
          validator: validatorPoints.reduce((a, b) => a + b, 0n),
          closesAt: windows.closesAt,
          final: false,
        });
        expect(await t.challenges.epochClosesAt({ epoch: r })).to.equal(windows.closesAt);

        for (let i = 0; i < 250 && (finalized.length === 0 || ofTrainer.length === 0); i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        stop();
        stopOfTrainer();
      }
      expect(errors).to.deep.equal([]);
      expect(finalized).to.have.length(1);
      expect(finalized[0]!.args).to.deep.include({ id, trainer, round: r });
      expect(decodeStatus(finalized[0]!.args.status)).to.equal("Valid");
      expect(ofTrainer.map((e) => e.transactionHash)).to.deep.equal([finalized[0]!.transactionHash]);
    });

    it("commits and reveals the verdicts of several challenges in one transaction each", async () => {
      const a = await submittedChallenge();
      await at(startOf(f, a.r + 1n) + 1n);
      const v = f.client(2);
      const prepared = [
        v.challenges.prepareVerdict({ id: a.id, verdict: "Invalid", segment: 1, measuredScoreBps: 0 }),
      ];
      const { hash, verdicts } = await v.challenges.commitVerdicts({ verdicts: prepared });
      await v.waitForTransaction(hash);
      expect(verdicts).to.deep.equal(prepared);
      await at(startOf(f, a.r + 1n) + BigInt(DAY / 4));
      await mined(v, v.challenges.revealVerdicts({ verdicts }));
      const [member] = await v.challenges.getMembers({ id: a.id });
      expect(member).to.deep.include({
        validator: f.address(2),
        verdict: "Invalid",
        segment: 1,
        revealed: true,
      });
    });
  });

  describe("misses", () => {
    it("reports a missed round after the deadline, and refuses it before with readable dates", async () => {
      const { trainer, r, id } = await setUpRound();
      const reporter = f.client(5);
      const windows = await reporter.challenges.getRoundWindows({ round: r, specId: specId(SPEC) });
      await at(startOf(f, r) + 10n);
      const early = await contractError(
        reporter.challenges.reportMissed({ trainer, round: r }),
        "DeadlineNotPassed",
      );
      expect(early.message).to.contain(iso(windows.deadline)).and.to.contain("too early");

      await at(windows.deadline + 1n);
      const late = await contractError(
        f.client(1).challenges.submitResult({ round: r, resultRoot: bytes32(1), reportedScoreBps: 9000 }),
        "DeadlinePassed",
      );
      expect(late.message).to.match(
        new RegExp(
          `^DeadlinePassed: the result was due by ${iso(windows.deadline)}; it is now .*Z, \\d+ s late$`,
        ),
      );
      const receipt = await mined(reporter, reporter.challenges.reportMissed({ trainer, round: r }));
      const [missed] = reporter.challenges.parseEvents({ logs: receipt.logs, eventName: "ChallengeMissed" });
      expect(missed!.args).to.deep.equal({ id, trainer, round: r, misses: 1n });
      const challenge = await reporter.challenges.getChallenge({ id });
      expect([challenge.status, challenge.final]).to.deep.equal(["Missed", true]);
      expect(await reporter.challenges.getMisses({ trainer })).to.equal(1n);
      const again = await contractError(
        reporter.challenges.reportMissed({ trainer, round: r }),
        "AlreadySubmitted",
      );
      expect(again.message).to.contain(id);

      // The next round's miss is reported too late once its epoch has closed.
      const next = await reporter.challenges.getRoundWindows({ round: r + 1n });
      await at(next.closesAt + 1n);
      const tooLate = await contractError(
        reporter.challenges.reportMissed({ trainer, round: r + 1n }),
        "ReportTooLate",
      );
      expect(tooLate.message).to.contain(iso(next.closesAt));
    });
  });

  describe("decoded errors", () => {
    it("decodes the trainer's errors: wrong round, not due", async () => {
      const { r } = await setUpRound();
      await at(startOf(f, r) + 10n);
      const t = f.client(1);
      await ensureBeacon(t, r);
      const wrong = await contractError(
        t.challenges.submitResult({ round: r + 1n, resultRoot: bytes32(1), reportedScoreBps: 1 }),
        "WrongRound",
      );
      expect(wrong.message).to.equal(
        `WrongRound: results are only accepted for the current round ${r}, not round ${r + 1n}`,
      );
      expect(wrong.functionName).to.equal("submitResult");
      expect(wrong.contractAddress).to.equal(f.deployment.contracts.challengeManager);
      const notDue = await contractError(
        f.client(2).challenges.submitResult({ resultRoot: bytes32(1), reportedScoreBps: 1 }),
        "NotDue",
      );
      expect(notDue.message).to.contain(f.address(2)).and.to.contain(`round ${r}`);
    });

    it("refuses a verdict outside its window with the window's dates, and decodes the committee errors", async () => {
      const { id, r } = await submittedChallenge();
      const windows = await f.client(2).challenges.getRoundWindows({ round: r });
      const v = f.client(2);
      const prepared = v.challenges.prepareVerdict({ id, verdict: "Valid", measuredScoreBps: 8000 });

      // Still round r: the commit window opens at the start of round r + 1.
      const tooEarly = await contractError(v.challenges.commitVerdict(prepared), "OutsideWindow");
      expect(tooEarly.message).to.contain(iso(windows.commitStart)).and.to.contain(iso(windows.commitEnd));
      expect(tooEarly.message).to.contain("before it opens");
      const args = tooEarly.args as readonly unknown[];
      expect([args[0], args[2], args[3]]).to.deep.equal([id, windows.commitStart, windows.commitEnd]);

      await at(windows.commitStart);
      // A validator registered during the audit round had no stake when it started: never selected.
      const newcomer = await registerOperator(f, 6, "validator", parseEther("1000"));
      const check = await v.challenges.checkCommittee({ id, validator: newcomer });
      expect(check).to.deep.include({ selected: false, stake: 0n, probabilityBps: 0, isValidator: true });
      expect(await v.challenges.isCommitteeMember({ id, validator: newcomer })).to.equal(false);
      const outsider = await contractError(
        f
          .client(6)
          .challenges.commitVerdict({ id, verdict: "Valid", measuredScoreBps: 8000, salt: newSalt() }),
        "NotInCommittee",
      );
      expect(outsider.message).to.contain(newcomer).and.to.contain(id);
      // A trainer is no validator.
      expect((await v.challenges.checkCommittee({ id, validator: f.address(1) })).selected).to.equal(false);
      await contractError(
        f
          .client(1)
          .challenges.commitVerdict({ id, verdict: "Valid", measuredScoreBps: 8000, salt: newSalt() }),
        "NotActiveValidator",
      );

      await v.waitForTransaction((await v.challenges.commitVerdict(prepared)).hash);
      await contractError(v.challenges.commitVerdict(prepared), "AlreadyCommitted");
      // a second member that never reveals: v's reveal is not the last one
      const silent = f.client(4);
      await silent.waitForTransaction(
        (
          await silent.challenges.commitVerdict({
            id,
            verdict: "Valid",
            measuredScoreBps: 8000,
            salt: newSalt(),
          })
        ).hash,
      );
      const revealTooEarly = await contractError(v.challenges.revealVerdict(prepared), "OutsideWindow");
      expect(revealTooEarly.message).to.contain(iso(windows.revealStart));

      await at(windows.revealStart);
      const tooLate = await contractError(
        f
          .client(3)
          .challenges.commitVerdict({ id, verdict: "Valid", measuredScoreBps: 8000, salt: newSalt() }),
        "OutsideWindow",
      );
      expect(tooLate.message).to.contain("after it closed").and.to.contain(iso(windows.commitEnd));
      const mismatch = await contractError(
        v.challenges.revealVerdict({ ...prepared, measuredScoreBps: 7999 }),
        "CommitmentMismatch",
      );
      expect(mismatch.message).to.contain(f.address(2));
      await mined(v, v.challenges.revealVerdict(prepared));
      await contractError(v.challenges.revealVerdict(prepared), "AlreadyRevealed");

      // the second phase is only for accused challenges, and only for members that revealed
      await at(windows.revealEnd);
      const noAccusation = await contractError(
        v.challenges.replayVote({ id, verdict: "Valid" }),
        "NoAccusation",
      );
      expect(noAccusation.message).to.contain(id);
      // one reveal < minReveals: the committee is extended into the next round
      const extended = await mined(v, v.challenges.finalize({ id }));
      const [event] = v.challenges.parseEvents({ logs: extended.logs, eventName: "ChallengeExtended" });
      expect(event!.args).to.deep.equal({ id, auditRound: r + 2n });
      const after = await v.challenges.getChallenge({ id });
      expect([after.status, after.extension, after.final]).to.deep.equal(["Submitted", 1, false]);
      const next = await v.challenges.getRoundWindows({ round: r, extension: 1 });
      expect(next.commitStart)
        .to.equal(after.commitStart)
        .and.to.equal(startOf(f, r + 2n));
      const again = await contractError(v.challenges.finalize({ id }), "DeadlineNotPassed");
      expect(again.message).to.contain(iso(next.revealEnd));
    });

    it("decodes the beacon's and the registry's errors", async () => {
      const { r } = await setUpRound();
      const v = f.client(2);
      const future = await contractError(v.challenges.ensureBeacon({ round: r + 5n }), "BeaconNotReady");
      expect(future.message).to.contain(iso(startOf(f, r + 5n)));

      await at(startOf(f, r) + BigInt(DAY / 2) + 5n);
      const p = v.beacon.prepareBeaconCommit({ round: r + 1n });
      const closed = await contractError(v.beacon.commitBeacon(p), "NotInCommitPhase");
      expect(closed.message)
        .to.contain(iso(startOf(f, r)))
        .and.to.contain(iso(startOf(f, r) + BigInt(DAY / 2)));
      expect(closed.message).to.contain("after it closed");

      await at(startOf(f, r + 1n) + 5n);
      const p2 = v.beacon.prepareBeaconCommit({ round: r + 2n });
      await mined(v, v.beacon.commitBeacon(p2));
      await at(startOf(f, r + 1n) + BigInt(DAY / 2) + 5n);
      const wrong = await contractError(
        v.beacon.revealBeacon({ ...p2, secret: newSalt() }),
        "RevealMismatch",
      );
      expect(wrong.message)
        .to.contain(f.address(2))
        .and.to.contain(`round ${r + 2n}`);
      await contractError(
        f.client(3).beacon.revealBeacon({ round: p2.round, secret: p2.secret }),
        "NoCommitment",
      );

      const unauthorized = await contractError(
        f.client(5).registry.registerSpec({ spec: { ...SPEC, steps: 40 }, params: SPEC_PARAMS }),
        "AccessManagedUnauthorized",
      );
      expect(unauthorized.args).to.deep.equal([f.address(5)]);
      const gov = f.client(0);
      await contractError(
        gov.registry.registerSpec({ spec: SPEC, params: SPEC_PARAMS }),
        "SpecAlreadyRegistered",
      );
      await contractError(gov.registry.activateSpec({ specId: specId(SPEC) }), "SpecAlreadyActive");
      const unknown = await contractError(gov.registry.getSpec({ specId: bytes32(9) }), "UnknownSpec");
      expect(unknown.message).to.equal(`UnknownSpec: spec ${bytes32(9)} is not registered`);
      await mined(gov, gov.registry.retireSpec({ specId: specId(SPEC) }));
      await contractError(gov.registry.retireSpec({ specId: specId(SPEC) }), "SpecNotActive");
      expect(await gov.registry.getActiveSpecs({ round: r + 2n })).to.deep.equal([]);
      const none = await contractError(
        gov.registry.getSpecFor({ round: r + 2n, seed: bytes32(1) }),
        "NoActiveSpec",
      );
      expect(none.message).to.equal(`NoActiveSpec: no training spec is active in round ${r + 2n}`);
    });
  });

  describe("pure helpers against the contracts", () => {
    it("selects exactly the committee the contract selects, over 224 random validators, stakes and committee sizes", async () => {
      const rand = randomStream(7);
      const validators: Address[] = [];
      const stakes = new Map<Address, bigint>();
      for (let i = 2; i < 16; i++) {
        const stake = parseEther("500") + rand(parseEther("40000"));
        validators.push(await registerOperator(f, i, "validator", stake));
        stakes.set(f.address(i), stake);
      }
      const trainersAt = [1, 16, 17, 18];
      for (const i of trainersAt) await registerOperator(f, i, "trainer", parseEther("5000"));
      const c = f.client(0);
      await mined(c, c.registry.registerSpec({ spec: SPEC, params: SPEC_PARAMS }));
      await mined(c, c.registry.activateSpec({ specId: specId(SPEC) }));
      // Round 1: the trainers submit; committees are drawn from the stakes at round 1's start.
      await at(startOf(f, 1n) + 1n);
      await ensureBeacon(c, 1n);
      const ids: Hex[] = [];
      for (const i of trainersAt) {
        await mined(
          f.client(i),
          f
            .client(i)
            .challenges.submitResult({ round: 1n, resultRoot: bytes32(i, 1), reportedScoreBps: 5000 }),
        );
        ids.push(challengeId(f.address(i), 1n));
      }
      await at(startOf(f, 2n) + 1n);
      await ensureBeacon(c, 2n);
      const value = (await c.beacon.getBeaconValue({ round: 2n }))!;
      const total = await c.staking.roleStakeAt({ role: "validator", epoch: 1n });
      expect(total).to.equal([...stakes.values()].reduce((a, b) => a + b, 0n));

      const params = await c.challenges.getChallengeParams();
      let cases = 0;
      const outcomes = { selected: 0, skipped: 0 };
      for (const committeeSize of [1, 3, 8, 16]) {
        // committees drawn from the round's pool (30 seats a member: a pool of
        // 2 x max(committeeSize, minReveals) of these 20 validators, some of them always in it), and
        // at size 8 without a pool
        const poolSeats = committeeSize === 8 ? 0 : params.poolSeats;
        await f.d.challenges.write.setParams([{ ...params, committeeSize, poolSeats }]);
        const size = poolSize(committeeSize, params.minReveals, poolSeats, ids.length);
        for (const id of ids) {
          for (const [k, v] of validators.entries()) {
            const band = committeeBand(value, id, v, stakes.get(v)!, total, committeeSize, size);
            const expected = band === 0n;
            expect(
              await c.challenges.isCommitteeMember({ id, validator: v }),
              `${id} ${v} size ${committeeSize}`,
            ).to.equal(expected);
            outcomes[expected ? "selected" : "skipped"]++;
            cases++;
            if (k % 5 === 0) {
              const check = await c.challenges.checkCommittee({ id, validator: v });
              expect(check.selected).to.equal(expected);
              expect(check.band).to.equal(band);
              expect(check.poolSize).to.equal(size);
              expect(check.auditSeed).to.equal(await c.challenges.getAuditSeed({ id }));
              expect([check.stake, check.totalStake, check.committeeSize]).to.deep.equal([
                stakes.get(v),
                total,
                committeeSize,
              ]);
            }
          }
        }
        // A trainer and an unregistered account are never selected, by either side.
        for (const who of [f.address(1), f.address(0)]) {
          expect(await c.challenges.isCommitteeMember({ id: ids[0], validator: who })).to.equal(false);
          expect((await c.challenges.checkCommittee({ id: ids[0], validator: who })).selected).to.equal(
            false,
          );
        }
      }
      expect(cases).to.be.at.least(200);
      // Both outcomes occur, so the comparison means something.
      expect(outcomes.selected).to.be.above(20);
      expect(outcomes.skipped).to.be.above(20);
    });

    it("computes ids, seeds, verdict commitments and beacon commitments exactly as the contracts do", async () => {
      const rand = randomStream(11);
      const address = (): Address =>
        `0x${rand(2n ** 160n)
          .toString(16)
          .padStart(40, "0")}` as Address;
      for (let k = 0; k < 24; k++) {
        const trainer = address();
        const round = rand(2n ** 32n);
        expect(challengeId(trainer, round)).to.equal(await f.d.challenges.read.challengeId([trainer, round]));
        const salt = bytes32(k, 3);
        const verdict = Number(1n + rand(3n)) as 1 | 2 | 3;
        const segment = Number(rand(2n ** 32n));
        const score = Number(rand(10_001n));
        const validator = address();
        expect(
          verdictCommitment({ id: salt, verdict, segment, measuredScoreBps: score, salt, validator }),
        ).to.equal(
          await f.d.challenges.read.verdictCommitment([salt, verdict, segment, score, salt, validator]),
        );
        expect(beaconCommitment(salt, validator, round)).to.equal(
          await f.d.beacon.read.commitmentOf([salt, validator, round]),
        );
      }
      // Seeds need a beacon value: seal round 1 and compare for many trainers.
      await at(startOf(f, 1n) + 1n);
      const c = f.client(0);
      await mined(c, c.beacon.sealBeacon({ round: 1n }));
      const value = (await c.beacon.getBeaconValue({ round: 1n }))!;
      for (let k = 0; k < 12; k++) {
        const trainer = address();
        expect(challengeSeed(value, trainer, 1n)).to.equal(
          await f.d.challenges.read.challengeSeed([trainer, 1n]),
        );
        const id = bytes32(k, 5);
        expect(auditSeed(value, id)).to.equal(await c.challenges.getAuditSeed({ id }));
      }
      // The windows of round 0 match what the contract reports for an id nobody submitted for.
      const params = await c.challenges.getChallengeParams();
      const view = await c.challenges.getChallenge({ id: bytes32(1, 5) });
      const w = roundWindows(f.genesis, DAY, 0n, params);
      expect(view.status).to.equal("None");
      expect([view.commitStart, view.revealStart, view.revealEnd]).to.deep.equal([
        w.commitStart,
        w.revealStart,
        w.revealEnd,
      ]);
      expect(await c.challenges.epochClosesAt({ epoch: 0n })).to.equal(w.closesAt);
    });

    it("samples distinct segments by the documented derivation", () => {
      const seed = bytes32(42);
      const validator: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      const segments = sampleSegments(seed, validator, 8, 1000);
      expect(segments).to.have.length(8);
      expect(new Set(segments).size).to.equal(8);
      // keccak256(abi.encode(auditSeed, validator, j)) mod segmentCount, duplicates skipped.
      const draws: number[] = [];
      for (let j = 0n; draws.length < 8; j++) {
        const d = Number(
          BigInt(
            keccak256(
              encodeAbiParameters(
                [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
                [seed, validator, j],
              ),
            ),
          ) % 1000n,
        );
        if (!draws.includes(d)) draws.push(d);
      }
      expect(segments).to.deep.equal(draws);
      // Few segments: the draws repeat and are skipped until k distinct ones are found.
      const small = sampleSegments(seed, validator, 4, 5);
      expect(new Set(small).size).to.equal(4);
      expect(small.every((s) => s >= 0 && s < 5)).to.equal(true);
      expect(sampleSegments(seed, validator, 9, 5)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(sampleSegments(seed, validator, 0, 5)).to.deep.equal([]);
      // Another validator samples other segments.
      expect(sampleSegments(seed, zeroAddress.replace(/0$/, "1") as Address, 8, 1000)).not.to.deep.equal(
        segments,
      );
    });

    it("splits the committee's samples among its members by the documented derivation", () => {
      const seed = bytes32(7);
      const all = committeeSamples(seed, 12, 1000);
      // keccak256(abi.encode(auditSeed, j)) mod segmentCount, duplicates skipped
      const draws: number[] = [];
      for (let j = 0n; draws.length < 12; j++) {
        const d = Number(
          BigInt(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [seed, j]))) %
            1000n,
        );
        if (!draws.includes(d)) draws.push(d);
      }
      expect(all).to.deep.equal(draws);
      expect(committeeSamples(seed, 9, 5)).to.deep.equal([0, 1, 2, 3, 4]);
      const members: Address[] = [
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      ];
      // ranked by address: 0x3C44…, 0x7099…, 0x90F7…
      const shares = members.map((m) => memberSamples(seed, m, members, 12, 1000));
      expect(shares[2]).to.deep.equal(all.filter((_, j) => j % 3 === 0));
      expect(shares[1]).to.deep.equal(all.filter((_, j) => j % 3 === 1));
      expect(shares[0]).to.deep.equal(all.filter((_, j) => j % 3 === 2));
      expect(shares.flat().sort((a, b) => a - b)).to.deep.equal([...all].sort((a, b) => a - b));
      // a member the caller did not know of takes the share its address would have
      const outsider: Address = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
      expect(memberSamples(seed, outsider, members, 12, 1000)).to.deep.equal(
        all.filter((_, j) => j % 4 === 0),
      );
    });

    it("draws each member's share from the audit seed and its own address: any committee of minReveals members draws k samples", () => {
      const seed = keccak256("0x6f776e20736861726573");
      const members: Address[] = [
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      ];
      // ceil(k / minReveals) of the member's own draw, whoever the other members are
      for (const m of members) {
        expect(ownSamples(seed, m, 12, 1000, 2)).to.deep.equal(sampleSegments(seed, m, 6, 1000));
        expect(ownSamples(seed, m, 13, 1000, 2)).to.deep.equal(sampleSegments(seed, m, 7, 1000));
        expect(ownSamples(seed, m, 12, 1000, 3)).to.deep.equal(sampleSegments(seed, m, 4, 1000));
      }
      // two members (the fewest that decide) draw k = 66 samples between them, 33 each
      const pair = members.slice(0, 2).map((m) => ownSamples(seed, m, 66, 2400, 2));
      expect(pair.map((p) => p.length)).to.deep.equal([33, 33]);
      expect(new Set(pair.flat()).size).to.be.greaterThan(60);
      expect(ownSamples(seed, members[0]!, 12, 5, 2)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(() => ownSamples(seed, members[0]!, 12, 1000, 0)).to.throw(/minReveals/);
      expect(() => ownSamples(seed, members[0]!, 257, 1000, 2)).to.throw(/\bk\b/);
      // what a committee replays of an honest run: its members' own shares, not k each
      expect(committeeReplayShare(3, 66, 2, 2400)).to.equal(99 / 2400);
      expect(committeeReplayShare(3, 13, 2, 1000)).to.equal(21 / 1000);
      expect(committeeReplayShare(3, 66, 2, 20)).to.equal(1);
      expect(() => committeeReplayShare(3, 66, 0, 2400)).to.throw(/minReveals/);
      expect(() => committeeReplayShare(3, 66, 2, 0)).to.throw(/segments/);
    });

    it("mirrors the second phase: one catch convicts, a refuted accusation acquits, a tie decides nothing", () => {
      const w = voteWeight(1000n, 3000n);
      const vote = (verdict: "Valid" | "Invalid", replay?: "Valid" | "Invalid" | "Unavailable") => ({
        verdict,
        ...(replay !== undefined && { replay }),
        measuredScoreBps: verdict === "Valid" ? 8000 : 0,
        weight: w,
      });
      const caught = [vote("Invalid"), vote("Valid", "Invalid"), vote("Valid", "Valid")];
      const o = tallyVotes(caught, 5001, 2);
      expect(o).to.deep.include({ verdict: "Invalid", accused: true });
      expect(caught.map((v) => voteAgrees(v, o, 0))).to.deep.equal([true, true, false]);
      expect(caught.map((v) => voteVouchedForFraud(v, o))).to.deep.equal([false, false, true]);
      const refuted = tallyVotes([vote("Invalid"), vote("Valid", "Valid"), vote("Valid", "Valid")], 5001, 2);
      expect(refuted).to.deep.include({ verdict: "Valid", medianScoreBps: 8000 });
      expect(tallyVotes([vote("Invalid"), vote("Valid", "Valid")], 5001, 2).verdict).to.equal("None");
      // a silent member's Valid reveal is no defence: the accusation stands on its voters
      expect(tallyVotes([vote("Invalid"), vote("Invalid"), vote("Valid")], 5001, 2).verdict).to.equal(
        "Invalid",
      );
      // the rule the old quorum of 6,667 vetoed: two against one of equal stake
      expect(
        tallyVotes([vote("Invalid"), vote("Invalid"), vote("Valid", "Valid")], 6666, 2).verdict,
      ).to.equal("Invalid");
    });

    it("mirrors the judgment: score band, deviation, latency, quorum and the lower weighted median", () => {
      const base = {
        medianScoreBps: 8000,
        reportedScoreBps: 8000,
        latency: 0,
        deadlineSpan: 3600,
        minScoreBps: 5000,
        maxScoreBps: 10_000,
        maxDeviationBps: 500,
      };
      const WAD = 10n ** 18n;
      expect(challengeScore(base)).to.equal(WAD);
      expect(challengeScore({ ...base, latency: 3600 })).to.equal(WAD / 2n);
      expect(challengeScore({ ...base, latency: 99_999 })).to.equal(WAD / 2n);
      expect(challengeScore({ ...base, reportedScoreBps: 8250 })).to.equal(WAD / 2n);
      expect(challengeScore({ ...base, reportedScoreBps: 8500 })).to.equal(0n);
      expect(challengeScore({ ...base, medianScoreBps: 4999, reportedScoreBps: 4999 })).to.equal(0n);
      expect(challengeScore({ ...base, deadlineSpan: 0, latency: 10 })).to.equal(WAD);

      const w = (stake: bigint) => voteWeight(stake, 1000n);
      const valid = (score: number, stake: bigint) => ({
        verdict: "Valid" as const,
        measuredScoreBps: score,
        weight: w(stake),
      });
      expect(tallyVotes([valid(7000, 100n), valid(9000, 100n), valid(8000, 300n)], 6667, 2)).to.deep.include({
        verdict: "Valid",
        medianScoreBps: 8000,
        reveals: 3,
      });
      const split = [
        valid(8000, 500n),
        { verdict: "Invalid" as const, measuredScoreBps: 0, weight: w(500n) },
      ];
      expect(tallyVotes(split, 6667, 2).verdict).to.equal("None");
      expect(tallyVotes([valid(8000, 500n)], 6667, 2).verdict).to.equal("None");
      expect(voteWeight(1n, 10n ** 30n)).to.equal(1n);
    });

    it("decodes the enums by name", () => {
      expect([0, 1, 2, 3, 4, 5, 6].map(decodeStatus)).to.deep.equal([
        "None",
        "Submitted",
        "Valid",
        "Fraud",
        "Withheld",
        "NoQuorum",
        "Missed",
      ]);
      expect([0, 1, 2, 3].map(decodeVerdict)).to.deep.equal(["None", "Valid", "Invalid", "Unavailable"]);
      expect(() => decodeStatus(7)).to.throw(PoAIInputError);
      expect(newSalt())
        .to.match(/^0x[0-9a-f]{64}$/)
        .and.not.to.equal(newSalt());
      expect(sortitionDraw(bytes32(1), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8") > 0n).to.equal(true);
    });
  });
});

describe("@poai/sdk Proof-of-AI input validation", () => {
  const ID = `0x${"ab".repeat(32)}` as Hex;
  const base = {
    chainId: 31337,
    contracts: {
      accessManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      staking: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
      stakingLens: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    },
  };
  const full = {
    ...base,
    contracts: {
      ...base.contracts,
      challengeManager: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
      taskRegistry: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
      randomnessBeacon: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
    },
  };
  let requests: string[];

  /** A client whose transport fails the test if the SDK sends anything: validation comes first. */
  function offline(deployment: unknown): PoAIClient {
    const transport = custom({
      request: async ({ method }: { method: string }) => {
        requests.push(method);
        throw new Error(`unexpected RPC request ${method}`);
      },
    });
    const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    return createPoAIClient({
      publicClient: createPublicClient({ transport }),
      walletClient: createWalletClient({ account, transport }),
      deployment,
    });
  }
  beforeEach(() => {
    requests = [];
  });
  afterEach(() => {
    expect(requests, "no request may leave before the inputs are valid").to.deep.equal([]);
  });

  it("names the missing contract address of a deployment without the Proof-of-AI contracts", async () => {
    const c = offline(base);
    const err = await inputError(
      c.challenges.getChallenge({ id: ID }),
      "deployment.contracts.challengeManager",
    );
    expect(err.message).to.contain("ChallengeManager address");
    await inputError(c.beacon.getBeaconValue({ round: 1 }), "deployment.contracts.randomnessBeacon");
    await inputError(c.registry.getSpec({ specId: ID }), "deployment.contracts.taskRegistry");
    await inputError(c.challenges.finalize({ id: ID }), "deployment.contracts.challengeManager");
  });

  it("refuses malformed verdicts, ids, scores, roots and rounds before sending", async () => {
    const c = offline(full);
    const verdict = await inputError(
      c.challenges.commitVerdict({ id: ID, verdict: "Maybe" as "Valid", measuredScoreBps: 1, salt: ID }),
      "verdict",
    );
    expect(verdict.message).to.contain('"Maybe"');
    await inputError(c.challenges.commitVerdict({ id: "0x12", verdict: "Valid", measuredScoreBps: 1 }), "id");
    await inputError(
      c.challenges.revealVerdict({ id: ID, verdict: "Valid", measuredScoreBps: 10_001, salt: ID }),
      "measuredScoreBps",
    );
    await inputError(
      c.challenges.revealVerdict({ id: ID, verdict: 0 as 1, measuredScoreBps: 1, salt: ID }),
      "verdict",
    );
    await inputError(c.challenges.submitResult({ resultRoot: "0x1234", reportedScoreBps: 1 }), "resultRoot");
    await inputError(
      c.challenges.submitResult({ resultRoot: ID, reportedScoreBps: 1.5 }),
      "reportedScoreBps",
    );
    await inputError(c.challenges.reportMissed({ trainer: "0x1" as Address, round: 1 }), "trainer");
    await inputError(
      c.challenges.getEpochPoints({ epoch: -1, operator: base.contracts.token as Address }),
      "epoch",
    );
    await inputError(c.challenges.commitVerdicts({ verdicts: [] }), "verdicts");
    await inputError(
      c.challenges.commitVerdicts({ verdicts: [{ id: ID, verdict: "Valid", measuredScoreBps: 1 } as never] }),
      "verdicts[0].salt",
    );
    await inputError(c.beacon.commitBeacon({ round: 2 ** 32, commitment: ID }), "round");
    await inputError(c.beacon.commitBeacon({ round: 2, commitment: `0x${"0".repeat(63)}1` }), "commitment");
  });

  it("refuses a prepared verdict sent by another account or altered after it was persisted", async () => {
    const c = offline(full);
    const other = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address; // not the signer
    const forOther = c.challenges.prepareVerdict({
      id: ID,
      verdict: "Valid",
      measuredScoreBps: 8000,
      validator: other,
    });
    expect(forOther.validator).to.equal(other);
    expect(forOther.commitment).to.equal(verdictCommitment(forOther));
    await inputError(c.challenges.commitVerdict(forOther), "validator");
    await inputError(c.challenges.revealVerdict(forOther), "validator");
    const mine = c.challenges.prepareVerdict({ id: ID, verdict: "Invalid", segment: 3, measuredScoreBps: 0 });
    await inputError(c.challenges.commitVerdict({ ...mine, segment: 4 }), "commitment");
    const beacon = c.beacon.prepareBeaconCommit({ round: 3 });
    expect(beacon.commitment).to.equal(beaconCommitment(beacon.secret, beacon.validator, 3));
    await inputError(c.beacon.commitBeacon({ ...beacon, validator: other }), "validator");
  });

  it("refuses specs the engine cannot run and parameters outside the contract's bounds", async () => {
    const c = offline(full);
    const steps = await inputError(
      c.registry.registerSpec({ spec: { ...SPEC, steps: 25 }, params: SPEC_PARAMS }),
      "spec.steps",
    );
    expect(steps.message).to.contain("multiple of checkpointInterval");
    await inputError(
      c.registry.registerSpec({ spec: { ...SPEC, widths: [8] }, params: SPEC_PARAMS }),
      "spec.widths",
    );
    await inputError(
      c.registry.registerSpec({
        spec: SPEC,
        params: { ...SPEC_PARAMS, minScoreBps: 9000, maxScoreBps: 8000 },
      }),
      "params.minScoreBps",
    );
    await inputError(
      c.registry.registerSpec({ spec: SPEC, params: { ...SPEC_PARAMS, responseDeadline: 0 } }),
      "params.responseDeadline",
    );
    await inputError(
      c.registry.registerSpec({ spec: SPEC, params: { ...SPEC_PARAMS, auditSamples: 257 } }),
      "params.auditSamples",
    );
    await inputError(c.registry.activateSpec({ specId: "0xabc" }), "specId");
  });

  it("validates the pure helpers' inputs", async () => {
    const v = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
    await inputError(() => sampleSegments(ID, v, 257, 1000), "k");
    await inputError(() => sampleSegments(ID, v, 2, 0), "segmentCount");
    await inputError(() => isSelected(ID, v, -1n, 10n, 3), "stake");
    await inputError(() => challengeId(v, 2 ** 32), "round");
    await inputError(() => challengeSeed("0x00", v, 1), "beaconValue");
    await inputError(
      () => roundWindows(0, 0, 1, { commitWindow: 1, revealWindow: 1, finalizeGrace: 1 }),
      "epochLength",
    );
    expect(VERDICT.Unavailable).to.equal(3);
  });
});
