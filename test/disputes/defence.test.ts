import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { getAddress, maxUint256, zeroAddress, type Address } from "viem";
import {
  getDefence,
  getDispute,
  nextDisputeMove,
  openDefence,
  sendDisputeMove,
  settleDefence,
  timeoutDispute,
} from "../../sdk/src/actions/disputes.js";
import { getSlashes, getSlashSummary } from "../../sdk/src/actions/slashes.js";
import { releaseHeldSlash } from "../../sdk/src/actions/staking.js";
import type { PoAIContext } from "../../sdk/src/context.js";
import type { StateSource } from "../../sdk/src/compute/state/game.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { E, Status, type Actor } from "../poai/helpers/world.js";
import {
  BOND,
  DISPUTE_WINDOW,
  MOVE_TIMEOUT,
  R,
  SLASH,
  committedRunsWorld,
  interval,
  judge as judgeRun,
  openBound,
  play as playGame,
  refusal,
  segments,
  stakeOf,
} from "./helpers/committed-runs.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPoAIClient } from "../../sdk/src/index.js";
import { TrainerStore } from "../../node/src/node/index.js";
import { DefenderDisputes, DisputeStore } from "../../node/src/disputes/index.js";
import { createLogger } from "../../node/src/daemon/log.js";

/**
 * The defence of a run convicted as Fraud (DisputeGame.openDefence / openBound seats /
 * settleDefence, ChallengeManager.overrule, Staking.slashTo / pardon). One world, snapshotted
 * before the committee votes: two trainers (a forger and an honest one) commit their round-1 runs of
 * the world's spec 8-8-4 (two segments of 10 steps); three validators of 3,000 each form the
 * committee. Each test convicts a run with the committee it needs.
 */
/** The custom error's name a raw contract call is refused with (`"ok"` when it is not refused). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return /custom error '(\w+)/.exec(String(e))?.[1] ?? String(e);
  }
}

describe("DisputeGame: a trainer convicted as Fraud defends its run", () => {
  const conn = network.create();

  const fixture = async () => committedRunsWorld(await conn, { validators: [E(3000), E(3000), E(3000)] });
  type Fixture = Awaited<ReturnType<typeof fixture>>;
  type Run = Fixture["fair"];
  const load = async () => (await conn).networkHelpers.loadFixture(fixture);

  const ctxOf = (f: Fixture, a: Actor): PoAIContext => f.ctxOf(a);
  const statusOf = async (f: Fixture, run: Run) => (await f.w.challenges.read.getChallenge([run.id])).status;

  const judge = (f: Fixture, run: Run, accusers: Actor[], segment = 1) => judgeRun(f, run, accusers, segment);

  const seat = (f: Fixture, by: Actor, run: Run, segment: number) => openBound(f, by, run, segment);
  const play = async (
    f: Fixture,
    id: bigint,
    defender: [Actor, StateSource],
    challenger: [Actor, StateSource],
  ) => (await playGame(f, id, defender, challenger)).winner;

  /** A replay that disagrees with the honest run inside `segment` (what a lying accuser claims). */
  const wrongReplay = (run: Run, segment: number, bit: number) =>
    new ForgedRun(run.honest, { step: segment * interval + 5, slot: 5, byte: 1, bit, parameter: 2 });

  const pastSeats = async (f: Fixture, run: Run) => {
    const d = await getDefence(ctxOf(f, run.trainer), { challengeId: run.id });
    await f.w.reach(d.seatEnd + 1n);
  };

  it("a colluding committee that convicted an honest trainer is overruled: the trainer repaid and unjailed, the colluders slashed, the points follow", async () => {
    await fc.assert(
      fc.asyncProperty(
        // which members collude (a majority of the three), the segment each names when it takes its
        // seat, and whether it takes one at all (a silent accuser loses by the seats' close)
        fc.subarray([0, 1, 2], { minLength: 2 }),
        fc.array(
          fc.record({
            segment: fc.integer({ min: 0, max: segments - 1 }),
            sits: fc.boolean(),
            bit: fc.nat(7),
          }),
          {
            minLength: 3,
            maxLength: 3,
          },
        ),
        async (colluding, plays) => {
          const f = await load();
          const colluders = colluding.map((i) => f.w.validators[i]);
          const trainer = f.fair.trainer.address;
          const before = await stakeOf(f, trainer);
          const colluderStakes = await Promise.all(colluders.map((c) => stakeOf(f, c.address)));
          const honestMembers = f.w.validators.filter((v) => !colluders.includes(v));
          const honestStakes = await Promise.all(honestMembers.map((v) => stakeOf(f, v.address)));
          await judge(f, f.fair, colluders);
          // the member that vouched for the run was slashed verdictSlash at the judgment (held)
          for (const v of honestMembers)
            expect((await stakeOf(f, v.address)) < honestStakes[honestMembers.indexOf(v)]).to.equal(true);
          expect(await statusOf(f, f.fair)).to.equal(Status.Fraud);
          const convicted = await stakeOf(f, trainer);
          expect(convicted < before).to.equal(true);
          expect((await f.w.lens.read.getOperator([trainer])).jailed).to.equal(true);
          // the verdict's points: each colluder earned its weight in epoch R, the trainer nothing
          expect(await f.w.challenges.read.epochPoints([R, colluders[0].address])).to.not.equal(0n);

          await f.w.receipt(await openDefence(ctxOf(f, f.fair.trainer), { challengeId: f.fair.id }));
          for (const [k, c] of colluders.entries()) {
            if (!plays[k].sits) continue;
            const id = await seat(f, c, f.fair, plays[k].segment);
            const winner = await play(
              f,
              id,
              [f.fair.trainer, f.fair.honest],
              [c, wrongReplay(f.fair, plays[k].segment, plays[k].bit)],
            );
            expect(winner).to.equal(trainer);
          }
          await pastSeats(f, f.fair);
          await f.w.receipt(await settleDefence(ctxOf(f, f.w.outsiders[0]), { challengeId: f.fair.id }));

          expect(await statusOf(f, f.fair)).to.equal(Status.Valid);
          // repaid in full: what the fraud slash took is back in the trainer's pool
          expect(await stakeOf(f, trainer)).to.equal(before);
          expect((await f.w.lens.read.getOperator([trainer])).jailed).to.equal(false);
          const after = await Promise.all(colluders.map((c) => stakeOf(f, c.address)));
          after.forEach((s, i) => expect(s < colluderStakes[i], `colluder ${i} slashed`).to.equal(true));
          // the points follow the proven result, in the verdict's epoch (still open)
          expect(await f.w.challenges.read.epochPoints([R, trainer])).to.not.equal(0n);
          for (const c of colluders)
            expect(await f.w.challenges.read.epochPoints([R, c.address])).to.equal(0n);
          // every member that voted with the proven result is made whole: its verdict slash
          // returned, its weight credited (a naive overrule repaid only the trainer)
          for (const [i, v] of honestMembers.entries()) {
            expect(await stakeOf(f, v.address), `member ${i} repaid`).to.equal(honestStakes[i]);
            expect(await f.w.challenges.read.epochPoints([R, v.address])).to.not.equal(0n);
          }
          expect(await f.w.staking.read.heldTokens()).to.equal(0n);
          const [overruled] = await f.game.getEvents.ConvictionOverruled({ challengeId: f.fair.id });
          expect(overruled.args.repaid).to.equal(overruled.args.owed);
          expect(overruled.args.accusersSlashed).to.equal(BigInt(colluders.length));
        },
      ),
      { numRuns: 3 },
    );
  });

  it("a forger that opens a defence loses it against one honest accuser, whatever a sybil accuser's seat does", async () => {
    const f = await load();
    const [sybil, honest, other] = f.w.validators;
    await judge(f, f.forged, [sybil, honest, other]);
    expect(await statusOf(f, f.forged)).to.equal(Status.Fraud);
    const convicted = await stakeOf(f, f.forged.trainer.address);
    await f.w.receipt(await openDefence(ctxOf(f, f.forged.trainer), { challengeId: f.forged.id }));
    // the forger's sybil takes the first seat on a segment the forger trained honestly and loses
    // it; a naive defence that gave the conviction to the first seat's game would overrule here
    const thrown = await seat(f, sybil, f.forged, 0);
    expect(
      await play(f, thrown, [f.forged.trainer, f.forged.claimed], [sybil, wrongReplay(f.forged, 0, 1)]),
    ).to.equal(f.forged.trainer.address);
    // one honest accuser, late in the seat window (many move timeouts after the opening: the seats
    // are not a move, so a forger cannot escape by a defence nobody answers within one timeout)
    const d = await getDefence(ctxOf(f, f.forged.trainer), { challengeId: f.forged.id });
    await f.w.reach(d.seatEnd - 30n);
    const id = await seat(f, honest, f.forged, 1);
    const bondBefore = await f.w.token.read.balanceOf([honest.address]);
    expect(await play(f, id, [f.forged.trainer, f.forged.claimed], [honest, f.forged.honest])).to.equal(
      honest.address,
    );
    // the defence failed for good: the honest accuser takes its bond back and the opener's
    expect(await f.w.token.read.balanceOf([honest.address])).to.equal(bondBefore + 2n * BOND);
    expect((await getDefence(ctxOf(f, honest), { challengeId: f.forged.id })).state).to.equal("Failed");
    await f.w.reach(d.seatEnd + 1n);
    expect(
      await refusal(settleDefence(ctxOf(f, f.forged.trainer), { challengeId: f.forged.id })),
    ).to.deep.equal(["NoOpenDefence", [f.forged.id]]);
    expect(await statusOf(f, f.forged)).to.equal(Status.Fraud);
    expect(await stakeOf(f, f.forged.trainer.address)).to.equal(convicted);
    // no second defence of the same conviction
    expect(
      await refusal(openDefence(ctxOf(f, f.forged.trainer), { challengeId: f.forged.id })),
    ).to.deep.equal(["DefenceExists", [f.forged.id, 2]]);
  });

  it("a trainer silent in a seat loses it, and the defence with it", async () => {
    const f = await load();
    await judge(f, f.forged, f.w.validators);
    await f.w.receipt(await openDefence(ctxOf(f, f.w.outsiders[0]), { challengeId: f.forged.id }));
    const id = await seat(f, f.w.validators[2], f.forged, 0);
    await f.w.networkHelpers.time.increase(Number(MOVE_TIMEOUT) + 1);
    await f.w.receipt(await timeoutDispute(ctxOf(f, f.w.validators[2]), { id }));
    expect((await getDefence(ctxOf(f, f.w.validators[2]), { challengeId: f.forged.id })).state).to.equal(
      "Failed",
    );
    // the conviction stands: its holds are unlocked and released once due (never stuck)
    expect(await f.w.staking.read.holdLock([f.w.challenges.address, f.forged.id])).to.equal(zeroAddress);
    const ctx = ctxOf(f, f.w.outsiders[0]);
    const [hold] = (await getSlashSummary(ctx, { operator: f.forged.trainer.address })).slashes;
    await f.w.reach(hold.hold!.releaseAt);
    await f.w.receipt(await releaseHeldSlash(ctx, { ...hold.hold!, operator: f.forged.trainer.address }));
    expect((await getSlashSummary(ctx, { operator: f.forged.trainer.address })).slashes[0].state).to.equal(
      "released",
    );
  });

  it("keeps a conviction's holds while its defence is open, past their release time, so the settlement returns them whole", async () => {
    const f = await load();
    const trainer = f.fair.trainer.address;
    const before = await stakeOf(f, trainer);
    const [a, b, c] = f.w.validators;
    const vouched = await stakeOf(f, c.address);
    await judge(f, f.fair, [a, b]);
    const ctx = ctxOf(f, f.w.outsiders[0]);
    const [hold] = (await getSlashSummary(ctx, { operator: trainer })).slashes;
    // a defence opens only before the holds are due: the dispute window closes first
    const cv = await f.w.challenges.read.getChallenge([f.fair.id]);
    const closes = (await f.w.challenges.read.epochClosesAt([BigInt(cv.auditRound)])) + DISPUTE_WINDOW;
    expect(hold.hold!.releaseAt > closes).to.equal(true);
    await f.w.receipt(await openDefence(ctxOf(f, f.fair.trainer), { challengeId: f.fair.id }));
    expect(await f.w.staking.read.holdLock([f.w.challenges.address, f.fair.id])).to.equal(
      getAddress(f.game.address),
    );
    // nobody settles the defence before the holds' release time; a release then is refused (the
    // naive Staking released them, and the settlement fell back to the accusers' capped slashes)
    await pastSeats(f, f.fair);
    await f.w.reach(hold.hold!.releaseAt);
    const vouchedHold = (await getSlashSummary(ctx, { operator: c.address })).slashes[0].hold!;
    for (const [who, h] of [
      [trainer, hold.hold!],
      [c.address, vouchedHold],
    ] as const)
      expect(await failure(f.w.staking.write.releaseHeld([h.source, h.key, who, [...h.reporters]]))).to.equal(
        "HoldLocked",
      );
    await f.w.receipt(await settleDefence(ctx, { challengeId: f.fair.id }));
    expect(await stakeOf(f, trainer)).to.equal(before);
    expect(await stakeOf(f, c.address)).to.equal(vouched);
    const [overruled] = await f.game.getEvents.ConvictionOverruled({ challengeId: f.fair.id });
    expect(overruled.args.repaid).to.equal(overruled.args.owed);
    expect(await f.w.staking.read.heldTokens()).to.equal(0n);
    expect(await f.w.staking.read.holdLock([f.w.challenges.address, f.fair.id])).to.equal(zeroAddress);
    expect((await getSlashSummary(ctx, { operator: trainer })).slashes.map((x) => x.state)).to.deep.equal([
      "returned",
    ]);
  });

  it("refuses a defence of a run not convicted, after the dispute window, or twice; seats of non-accusers, twice, or after the seats closed; a settlement before the seats closed", async () => {
    const f = await load();
    const [a, b, c] = f.w.validators;
    // the honest trainer convicted by a and b; c voted Valid and is no accuser
    await judge(f, f.fair, [a, b]);
    // the forger's run is still open (nobody judged it): no defence
    const t = ctxOf(f, f.fair.trainer);
    expect(await refusal(openDefence(t, { challengeId: f.forged.id }))).to.deep.equal([
      "NotDisputable",
      [f.forged.id, Status.Submitted],
    ]);
    // a seat needs an open defence
    expect(await refusal(seat(f, a, f.fair, 0))).to.deep.equal(["NoOpenDefence", [f.fair.id]]);
    await f.w.receipt(await openDefence(t, { challengeId: f.fair.id }));
    expect(await refusal(openDefence(t, { challengeId: f.fair.id }))).to.deep.equal([
      "DefenceExists",
      [f.fair.id, 1],
    ]);
    // only an accuser sits, once
    expect(await refusal(seat(f, c, f.fair, 0))).to.deep.equal(["NotAnAccuser", [f.fair.id, c.address]]);
    expect(await refusal(seat(f, f.w.outsiders[0], f.fair, 0))).to.deep.equal([
      "NotAnAccuser",
      [f.fair.id, f.w.outsiders[0].address],
    ]);
    const id = await seat(f, a, f.fair, 0);
    expect(await refusal(seat(f, a, f.fair, 1))).to.deep.equal(["AlreadySeated", [f.fair.id, a.address]]);
    // the trainer makes its first move in a's seat; a then falls silent
    const view = await getDispute(t, { id });
    await f.w.receipt(
      await sendDisputeMove(t, (await nextDisputeMove(t, view, f.fair.honest, f.fair.trainer.address))!),
    );
    // the settlement waits for the seats to close and every seated game to end
    const d = await getDefence(t, { challengeId: f.fair.id });
    expect(await refusal(settleDefence(t, { challengeId: f.fair.id }))).to.deep.equal([
      "DefencePending",
      [f.fair.id, d.seatEnd, 1n],
    ]);
    await f.w.reach(d.seatEnd + 1n);
    expect(await refusal(seat(f, b, f.fair, 0))).to.deep.equal(["SeatsClosed", [f.fair.id, d.seatEnd]]);
    expect(await refusal(settleDefence(t, { challengeId: f.fair.id }))).to.deep.equal([
      "DefencePending",
      [f.fair.id, d.seatEnd, 1n],
    ]);
    // a silent accuser loses its seat by timeout; with no seat left the conviction falls
    await f.w.receipt(await timeoutDispute(t, { id }));
    expect((await getDispute(t, { id })).winner).to.equal(f.fair.trainer.address);
    await f.w.receipt(await settleDefence(t, { challengeId: f.fair.id }));
    expect((await getDefence(t, { challengeId: f.fair.id })).state).to.equal("Overruled");
    expect(await statusOf(f, f.fair)).to.equal(Status.Valid);
    // settled once: no second settlement, defence or forger-path game on the overruled challenge
    expect(await refusal(settleDefence(t, { challengeId: f.fair.id }))).to.deep.equal([
      "NoOpenDefence",
      [f.fair.id],
    ]);
    expect(await refusal(openDefence(t, { challengeId: f.fair.id }))).to.deep.equal([
      "AlreadyOverruled",
      [f.fair.id],
    ]);
    expect(await refusal(seat(f, c, f.fair, 0))).to.deep.equal(["AlreadyOverruled", [f.fair.id]]);
  });

  it("closes the defence disputeWindow seconds after the conviction's points close", async () => {
    const f = await load();
    await judge(f, f.fair, f.w.validators.slice(0, 2));
    const c = await f.w.challenges.read.getChallenge([f.fair.id]);
    const closes = (await f.w.challenges.read.epochClosesAt([BigInt(c.auditRound)])) + DISPUTE_WINDOW;
    // the game's slash window reaches the last seat: the dispute window, the seats, the longest game
    const moves = await f.game.read.MAX_MOVES();
    expect(await f.game.read.slashWindow()).to.equal(
      f.w.epochLength +
        moves * MOVE_TIMEOUT +
        (await f.w.challenges.read.slashWindow()) +
        2n * DISPUTE_WINDOW,
    );
    await f.w.reach(closes + 1n);
    expect(await refusal(openDefence(ctxOf(f, f.fair.trainer), { challengeId: f.fair.id }))).to.deep.equal([
      "DisputeWindowClosed",
      [f.fair.id, closes],
    ]);
  });

  it("the trainer's daemon finds the conviction of any run it holds from the chain's events, and defends it", async () => {
    const f = await load();
    const trainer = f.fair.trainer;
    await judge(f, f.fair, f.w.validators.slice(0, 2));
    const store = new TrainerStore(join(mkdtempSync(join(tmpdir(), "poai-defence-")), "trainer.db"), {
      trainer: trainer.address,
      chainId: 31337,
      challengeManager: f.w.challenges.address,
    });
    const ctx = ctxOf(f, trainer);
    const defender = new DefenderDisputes({
      client: createPoAIClient({
        publicClient: f.w.publicClient,
        walletClient: trainer.wallet,
        deployment: {
          ...ctx.deployment,
          contracts: { ...ctx.deployment.contracts, challengeManager: f.w.challenges.address },
        },
      }),
      trainer: trainer.address,
      store: new DisputeStore(store.db),
      log: createLogger("defence-test", { level: "silent" }),
      ownsRun: (id) => id === f.fair.id,
      sourceOf: async () => f.fair.honest,
      // the daemon holds this run, whatever its age: a daemon that looked only at its 8 latest
      // submitted runs (the naive watch) never saw a conviction of an older one
      rootOf: (id) => (id.toLowerCase() === f.fair.id.toLowerCase() ? f.fair.commitment.root : undefined),
    });
    try {
      await defender.step();
      expect((await getDefence(ctx, { challengeId: f.fair.id })).state).to.equal("Open");
      expect(defender.defence.status().map((d) => d.status)).to.deep.equal(["open"]);
    } finally {
      store.db.close();
    }
  });

  it("repays the trainer in full from the held fraud slash, however little stake the accusers have", async () => {
    const f = await load();
    const trainer = f.fair.trainer.address;
    const before = await stakeOf(f, trainer);
    await judge(f, f.fair, f.w.validators);
    const owed = before - (await stakeOf(f, trainer));
    expect(owed).to.equal(await f.w.staking.read.heldTokens());
    // governance lowers Staking's cap: the accusers' slashes can now repay only a tenth of their
    // stake (3 x 300 of the 2,500 owed). A repayment drawn from the accusers' stake (the naive
    // settlement, which paid the trainer 2,000 of 2,500 in the daemons' defence) falls short.
    const p = await f.w.staking.read.params();
    await f.w.staking.write.setParams([{ ...p, maxSlashFraction: E("0.1") }]);
    await f.w.receipt(await openDefence(ctxOf(f, f.fair.trainer), { challengeId: f.fair.id }));
    await pastSeats(f, f.fair);
    const accusers = await Promise.all(f.w.validators.map((v) => stakeOf(f, v.address)));
    await f.w.receipt(await settleDefence(ctxOf(f, f.w.outsiders[0]), { challengeId: f.fair.id }));
    expect(await stakeOf(f, trainer)).to.equal(before);
    const [overruled] = await f.game.getEvents.ConvictionOverruled({ challengeId: f.fair.id });
    expect([overruled.args.owed, overruled.args.repaid]).to.deep.equal([owed, owed]);
    // the accusers are still slashed (slashFraction, burned: nothing is owed any more)
    for (const [i, v] of f.w.validators.entries())
      expect(await stakeOf(f, v.address)).to.equal(accusers[i] - (accusers[i] * SLASH) / E(1));
    expect(await f.w.staking.read.heldTokens()).to.equal(0n);
    // what users read (getSlashes): the returned hold is no slash of the trainer (a reader that
    // counted every SlashHeld showed the overruled trainer as slashed), the accusers' are
    const slashes = await getSlashes(ctxOf(f, f.w.outsiders[0]));
    const t = slashes.get(trainer)!;
    expect(t.slashes.map((x) => [x.state, x.amount])).to.deep.equal([["returned", owed]]);
    expect([t.count, t.slashed, t.held, t.returned]).to.deep.equal([0, 0n, 0n, owed]);
    for (const [i, v] of f.w.validators.entries()) {
      const s = slashes.get(v.address)!;
      expect(s.slashes.map((x) => x.state)).to.deep.equal(["paid"]);
      expect([s.count, s.slashed]).to.deep.equal([1, (accusers[i] * SLASH) / E(1)]);
    }
    expect(await getSlashSummary(ctxOf(f, f.w.outsiders[0]), { operator: trainer })).to.deep.equal(t);
  });

  it("a conviction nobody defends is released after the unbonding period, and read as slashed from then on", async () => {
    const f = await load();
    const trainer = f.fair.trainer.address;
    const before = await stakeOf(f, trainer);
    const [a, b, c] = f.w.validators;
    await judge(f, f.fair, [a, b]);
    const ctx = ctxOf(f, f.w.outsiders[0]);
    // held: neither slashed nor returned yet
    const held = await getSlashSummary(ctx, { operator: trainer });
    const owed = before - (await stakeOf(f, trainer));
    expect([held.count, held.slashed, held.held]).to.deep.equal([1, owed, owed]);
    const [hold] = held.slashes;
    expect(hold.state).to.equal("held");
    const vouched = (await getSlashSummary(ctx, { operator: c.address })).slashes[0];
    expect(vouched.state).to.equal("held");
    await f.w.reach(hold.hold!.releaseAt);
    for (const [who, h] of [
      [trainer, hold],
      [c.address, vouched],
    ] as const)
      await f.w.receipt(
        await releaseHeldSlash(ctx, {
          source: h.hold!.source,
          key: h.hold!.key,
          operator: who,
          reporters: h.hold!.reporters,
        }),
      );
    const after = await getSlashes(ctx);
    const t = after.get(trainer)!;
    expect(t.slashes.map((x) => x.state)).to.deep.equal(["released"]);
    expect([t.count, t.slashed, t.held, t.returned]).to.deep.equal([1, owed, 0n, 0n]);
    expect(t.slashes[0].finderFee + t.slashes[0].burned).to.equal(owed);
    expect(after.get(c.address)!.slashes.map((x) => x.state)).to.deep.equal(["released"]);
    expect(after.has(a.address)).to.equal(false);
    expect(await f.w.staking.read.heldTokens()).to.equal(0n);
  });

  it("lets only the dispute game overrule a verdict, once; and only a slasher repay or pardon", async () => {
    const f = await load();
    await judge(f, f.fair, f.w.validators.slice(0, 2));
    const stranger = f.w.outsiders[0];
    // a naive hook without `restricted` would let anyone reverse any verdict
    for (const who of [stranger, f.fair.trainer, f.w.validators[2]]) {
      expect(await failure(who.cm.write.overrule([f.fair.id]))).to.equal("AccessManagedUnauthorized");
      expect(await failure(who.staking.write.pardon([f.fair.trainer.address]))).to.equal(
        "AccessManagedUnauthorized",
      );
      expect(
        await failure(
          who.staking.write.slashTo([f.w.validators[0].address, SLASH, R + 1n, who.address, E(1)]),
        ),
      ).to.equal("AccessManagedUnauthorized");
      // a naive returnHeld open to anyone would let a convicted forger take its slash back
      expect(
        await failure(
          who.staking.write.returnHeld([f.w.challenges.address, f.fair.id, f.fair.trainer.address]),
        ),
      ).to.equal("AccessManagedUnauthorized");
      expect(
        await failure(
          who.staking.write.slashHeld([f.w.validators[0].address, SLASH, [], false, R + 1n, f.fair.id]),
        ),
      ).to.equal("AccessManagedUnauthorized");
      // a lock open to anyone would let a forger keep its conviction's holds from release for ever
      expect(await failure(who.staking.write.lockHolds([f.w.challenges.address, f.fair.id]))).to.equal(
        "AccessManagedUnauthorized",
      );
    }
    // a lock is lifted only by its locker, and taken once
    await f.w.staking.write.lockHolds([f.w.challenges.address, f.fair.id]);
    expect(await failure(f.w.staking.write.lockHolds([f.w.challenges.address, f.fair.id]))).to.equal(
      "HoldLocked",
    );
    expect(await failure(stranger.staking.write.unlockHolds([f.w.challenges.address, f.fair.id]))).to.equal(
      "NotHoldLocker",
    );
    await f.w.staking.write.unlockHolds([f.w.challenges.address, f.fair.id]);
    expect(await failure(f.w.staking.write.unlockHolds([f.w.challenges.address, f.fair.id]))).to.equal(
      "NotHoldLocker",
    );
    // a hold is returned once: the second return finds nothing (no double repayment)
    const held = (
      await f.w.staking.read.heldSlash([f.w.challenges.address, f.fair.id, f.fair.trainer.address])
    )[0];
    expect(held > 0n).to.equal(true);
    const pool = await stakeOf(f, f.fair.trainer.address);
    await f.w.staking.write.returnHeld([f.w.challenges.address, f.fair.id, f.fair.trainer.address]);
    expect(await stakeOf(f, f.fair.trainer.address)).to.equal(pool + held);
    await f.w.staking.write.returnHeld([f.w.challenges.address, f.fair.id, f.fair.trainer.address]);
    expect(await stakeOf(f, f.fair.trainer.address)).to.equal(pool + held);
    expect(
      await failure(
        f.w.staking.write.releaseHeld([f.w.challenges.address, f.fair.id, f.fair.trainer.address, []]),
      ),
    ).to.equal("NothingHeld");
    // an account granted the role overrules once; a second overrule is refused (a hook that did
    // not record it would credit the trainer and strip the members twice)
    await f.w.manager.write.grantRole([ROLES.DISPUTES, f.w.admin.address, 0]);
    await f.w.admin.cm.write.overrule([f.fair.id]);
    expect(await statusOf(f, f.fair)).to.equal(Status.Valid);
    expect(await failure(f.w.admin.cm.write.overrule([f.fair.id]))).to.equal("NotOverrulable");
    // a challenge neither Valid nor Fraud (the forger's run is unjudged) is not overrulable
    expect(await failure(f.w.admin.cm.write.overrule([f.forged.id]))).to.equal("NotOverrulable");
  });

  it("Staking.slashTo pays at most its cap to the beneficiary's pool (up to one token a share) and burns the rest; pardon lifts a jail once", async () => {
    const f = await load();
    const [a] = f.w.validators;
    const trainer = f.fair.trainer.address;
    // the trainer's pool was slashed (500 of 5,000): a repayment fills it back to one token a share
    await f.w.staking.write.slash([trainer, SLASH, [], false]);
    const pool = await stakeOf(f, trainer);
    const victim = await stakeOf(f, a.address);
    const burn = "0x000000000000000000000000000000000000dEaD" as Address;
    const burnt = await f.w.token.read.balanceOf([burn]);
    // the world's deployer holds SLASHER
    await f.w.staking.write.slashTo([a.address, SLASH, 0n, trainer, E(100)]);
    const taken = victim - (await stakeOf(f, a.address));
    expect(taken).to.equal((victim * SLASH) / E(1));
    expect(await stakeOf(f, trainer)).to.equal(pool + E(100));
    expect(await f.w.token.read.balanceOf([burn])).to.equal(burnt + taken - E(100));
    // beyond one token a share (400 more fill the pool to 5,000 tokens for 5,000 shares) the rest
    // goes to the trainer's address: no repayment inflates a share (a naive credit would)
    const cash = await f.w.token.read.balanceOf([trainer]);
    await f.w.staking.write.slashTo([a.address, E("0.5"), 0n, trainer, E(1000)]); // cuts 1,350
    expect(await stakeOf(f, trainer)).to.equal(E(5000));
    expect((await f.w.token.read.balanceOf([trainer])) - cash).to.equal(E(600));
    // a beneficiary that is not an operator is paid to its address
    const outsider = f.w.outsiders[0].address;
    const held = await f.w.token.read.balanceOf([outsider]);
    await f.w.staking.write.slashTo([a.address, SLASH, 0n, outsider, maxUint256]);
    expect((await f.w.token.read.balanceOf([outsider])) > held).to.equal(true);
    // pardon: only a jailed operator
    expect(await failure(f.w.staking.write.pardon([trainer]))).to.equal("OperatorNotJailed");
    await f.w.staking.write.slash([trainer, SLASH, [], true]);
    await f.w.staking.write.pardon([trainer]);
    expect((await f.w.lens.read.getOperator([trainer])).jailed).to.equal(false);
    expect(await failure(f.w.staking.write.pardon([trainer]))).to.equal("OperatorNotJailed");
  });
});
