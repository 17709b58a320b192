/**
 * The trainer daemon defends a run a colluding majority convicted (node/src/disputes/defence.ts):
 * two framing members reveal Invalid on an honest run, naming segment 1; the trainer daemon opens
 * the defence by itself; the framer whose validator daemon takes seats finds its own replay honest
 * and sits out; the other framer's seat (taken and played by hand with a lying replay) is won by
 * the trainer daemon; once the seats close the trainer settles: the conviction is overruled, the
 * trainer unjailed and repaid in full from its held fraud slash, both framers slashed. A forger convicted in the same round
 * defends too, and loses: the accusers' validator daemons take their seats and win them. One world, one round, the small daemon spec.
 */
import { expect } from "chai";
import path from "node:path";
import { parseEther, type Address } from "viem";
import {
  challengeId,
  disputeGameAbi,
  getDefence,
  getDispute,
  nextDisputeMove,
  openBoundDispute,
  sendDisputeMove,
  type PoAIClient,
} from "../../sdk/src/index.js";
import { RunStates, deriveKey, validateSeed } from "../../sdk/src/compute/index.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { TrainerDaemon } from "../../node/src/node/index.js";
import { ValidatorDaemon } from "../../node/src/verifier/index.js";
import { DisputeStore } from "../../node/src/disputes/index.js";
import { fetchCheckpoint } from "../../node/src/daemon/protocol.js";
import { DisputingForger, FramingValidator } from "../../scripts/lib/adversaries.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { daemonWorld, withDisputeGame, type DaemonWorld } from "../fixtures/daemons.js";

const ROUND = 1n;
const BOND = parseEther("10");
const SLASH = parseEther("0.1");
const MOVE_TIMEOUT = 600n;
const SEGMENT = 1;

/** A trainer daemon whose dispute store the test reads. */
class OpenTrainer extends TrainerDaemon {
  get defences() {
    return this.disputes;
  }
  get db() {
    return this.store.db;
  }
}

describe("the trainer daemon defends a run a colluding majority convicted", function () {
  this.timeout(300_000);

  let w: DaemonWorld;
  let game: Address;
  let clientOf: (op: { wallet: DaemonWorld["admin"]["wallet"] }) => PoAIClient;
  let trainer: OpenTrainer;
  let forger: DisputingForger;
  let honest: ValidatorDaemon;
  let sitsOut: FramingValidator;
  let sits: FramingValidator;
  const stakeBefore = new Map<Address, bigint>();
  let convicted = 0n;
  let honestConvicted = 0n;
  const errors: string[] = [];

  const stakeOf = async (a: Address) =>
    (await w.admin.client.staking.getOperator({ operator: a })).totalStake;
  const id = () => challengeId(w.trainers[0].address, ROUND);

  before(async () => {
    w = await daemonWorld({ trainers: 2, validators: 3 });
    ({ game, clientOf } = await withDisputeGame(w, {
      moveTimeout: MOVE_TIMEOUT,
      bond: BOND,
      slashFraction: SLASH,
    }));
    trainer = await OpenTrainer.create({
      client: clientOf(w.trainers[0]),
      databasePath: path.join(w.tempDir("trainer"), "trainer.db"),
      backend: "js",
      progress: "off",
      logLevel: "silent",
    });
    forger = await DisputingForger.create({
      client: clientOf(w.trainers[1]),
      databasePath: path.join(w.tempDir("forger"), "trainer.db"),
      backend: "js",
      progress: "off",
      logLevel: "silent",
    });
    const options = (i: number) => ({
      client: clientOf(w.validators[i]),
      dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
      backend: "js" as const,
      fetchTimeoutMs: 2_000,
      fetchAttempts: 2,
      logLevel: "silent" as const,
    });
    honest = await ValidatorDaemon.create(options(0));
    sitsOut = await FramingValidator.create(options(1));
    // the second framer's daemon takes no seat: the test takes it, with a lying replay
    sits = await FramingValidator.create({ ...options(2), disputes: false });
    for (const v of [sitsOut, sits]) v.targets.add(w.trainers[0].address.toLowerCase());
    for (const op of [...w.trainers, ...w.validators]) stakeBefore.set(op.address, await stakeOf(op.address));
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers: [trainer, forger],
      validators: [honest, sitsOut, sits],
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const d of [trainer, forger, honest, sitsOut, sits]) await d?.stop();
    w?.cleanup();
  });

  it("the framing majority convicts the honest trainer: slashed and jailed", async () => {
    expect(errors).to.deep.equal([]);
    expect((await w.admin.client.challenges.getChallenge({ id: id() })).status).to.equal("Fraud");
    const op = await w.admin.client.staking.getOperator({ operator: w.trainers[0].address });
    expect(op.jailed).to.equal(true);
    convicted = op.totalStake;
    honestConvicted = await stakeOf(w.validators[0].address);
    expect(convicted < stakeBefore.get(w.trainers[0].address)!).to.equal(true);
  });

  it("the trainer daemon opens the defence by itself, once: a defence written but not sent at a crash is found on chain", async () => {
    await trainer.tick();
    expect((await getDefence(clientOf(w.trainers[0]), { challengeId: id() })).state).to.equal("Open");
    expect(trainer.status().disputes.defences).to.deep.include({
      challengeId: id().toLowerCase(),
      status: "open",
      txHash: trainer.status().disputes.defences[0].txHash,
      note: undefined,
    });
    // a crash after the opening was sent but before its hash reached the disk: the row says
    // `persisted`; a naive resume that sends openDefence again without asking the chain first takes
    // its refusal (DefenceExists) as final, and never settles the defence
    new DisputeStore(trainer.db).setDefence(id(), { status: "persisted" });
    await trainer.tick();
    expect(new DisputeStore(trainer.db).defence(id())!.status).to.equal("open");
  });

  it("the framer's validator daemon replays the segment it named, finds it honest and takes no seat", async () => {
    await sitsOut.tick();
    const opens = sitsOut.status().disputes!.opens.filter((o) => o.challengeId === id().toLowerCase());
    expect(opens).to.have.length(1);
    expect(opens[0]).to.deep.include({ challengeId: id().toLowerCase(), status: "refused" });
    expect(opens[0].note).to.match(/replays to the committed parameter root/);
  });

  it("the other framer's seat, played with a lying replay, is won by the trainer daemon", async () => {
    const framer = w.validators[2];
    const client = clientOf(framer);
    const token = await w.viem.getContractAt("PoAIToken", w.d.token.address, {
      client: { wallet: framer.wallet },
    });
    await token.write.approve([game, BOND]);
    const c = await w.admin.client.challenges.getChallenge({ id: id() });
    const leaf = (index: number) =>
      fetchCheckpoint({ endpoint: trainer.endpoint, id: id(), index, spec: w.spec, root: c.resultRoot });
    const [start, end] = await Promise.all([leaf(SEGMENT), leaf(SEGMENT + 1)]);
    const strip = (p: typeof start) => ({ hash: p.hash, parameterRoot: p.parameterRoot, proof: p.proof });
    await w.publicClient.waitForTransactionReceipt({
      hash: await openBoundDispute(client, {
        challengeId: id(),
        segment: SEGMENT,
        start: strip(start),
        end: strip(end),
      }),
    });
    const gameId = await w.publicClient.readContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "gameCount",
    });
    expect((await getDispute(client, { id: gameId })).challenger).to.equal(framer.address);
    const interval = w.spec.checkpointInterval;
    const replay = new RunStates(
      w.spec,
      deriveKey(w.spec, validateSeed(c.seed)),
      start.checkpoint.weights,
      SEGMENT * interval,
    );
    const lying = new ForgedRun(replay, {
      step: SEGMENT * interval + 5,
      slot: 5,
      byte: 1,
      bit: 3,
      parameter: 2,
    });
    for (let i = 0; i < 200; i++) {
      const view = await getDispute(client, { id: gameId });
      if (view.phase === "Resolved") break;
      if (view.mover.toLowerCase() === framer.address.toLowerCase()) {
        const move = await nextDisputeMove(client, view, lying, framer.address);
        if (!move) throw new Error(`no lying move in phase ${view.phase}`);
        await w.publicClient.waitForTransactionReceipt({ hash: await sendDisputeMove(client, move) });
      } else await trainer.tick();
    }
    const view = await getDispute(client, { id: gameId });
    expect(view.phase).to.equal("Resolved");
    expect(view.winner).to.equal(w.trainers[0].address);
  });

  it("a forger's daemon that defends its conviction loses it: the accusers' validator daemons take their seats and win", async () => {
    const fid = challengeId(w.trainers[1].address, ROUND);
    expect((await w.admin.client.challenges.getChallenge({ id: fid })).status).to.equal("Fraud");
    const ctx = clientOf(w.validators[0]);
    for (let i = 0; i < 60; i++) {
      if ((await getDefence(ctx, { challengeId: fid })).state === "Failed") break;
      await forger.tick().catch(() => undefined); // a lost seat fails the tick (logged)
      for (const v of [honest, sitsOut]) await v.tick();
    }
    expect((await getDefence(ctx, { challengeId: fid })).state).to.equal("Failed");
    // both members whose replay refutes the forged segment sat, by themselves
    for (const v of [honest, sitsOut])
      expect(v.status().disputes!.opens.find((o) => o.challengeId === fid.toLowerCase())).to.deep.include({
        status: "opened",
      });
    await forger.tick().catch(() => undefined);
    expect(
      forger.status().disputes.defences.find((d) => d.challengeId === fid.toLowerCase())!.status,
    ).to.equal("failed");
    expect((await w.admin.client.challenges.getChallenge({ id: fid })).status).to.equal("Fraud");
  });

  it("after the seats close the trainer daemon settles: Valid, the trainer unjailed and repaid in full, both framers slashed", async () => {
    const d = await getDefence(clientOf(w.trainers[0]), { challengeId: id() });
    await trainer.tick(); // seats still open: nothing is settled
    expect((await getDefence(clientOf(w.trainers[0]), { challengeId: id() })).state).to.equal("Open");
    await w.advanceTo(d.seatEnd + 1n);
    await trainer.tick();
    expect((await getDefence(clientOf(w.trainers[0]), { challengeId: id() })).state).to.equal("Overruled");
    expect(new DisputeStore(trainer.db).defence(id())!.status).to.equal("overruled");
    expect((await w.admin.client.challenges.getChallenge({ id: id() })).status).to.equal("Valid");
    const op = await w.admin.client.staking.getOperator({ operator: w.trainers[0].address });
    expect(op.jailed).to.equal(false);
    const [overruled] = await w.publicClient.getContractEvents({
      address: game,
      abi: disputeGameAbi,
      eventName: "ConvictionOverruled",
      fromBlock: 0n,
    });
    // repaid in full from the held fraud slash (the framers' capped slashes, 2,000 of the 2,500
    // the conviction took, were the repayment before slashes were held)
    const { owed, repaid } = overruled.args;
    expect(owed).to.equal(stakeBefore.get(w.trainers[0].address)! - convicted);
    expect(repaid).to.equal(owed);
    expect(op.totalStake).to.equal(convicted + repaid!);
    for (const framer of w.validators.slice(1))
      expect((await stakeOf(framer.address)) < stakeBefore.get(framer.address)!).to.equal(true);
    // the member that voted Valid gets its held verdict slash back
    expect(honestConvicted < stakeBefore.get(w.validators[0].address)!).to.equal(true);
    expect(await stakeOf(w.validators[0].address)).to.equal(stakeBefore.get(w.validators[0].address)!);
  });
});
