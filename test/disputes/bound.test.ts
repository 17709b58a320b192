import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, maxUint256, parseEther, type Address, type Hex } from "viem";
import {
  getDispute,
  nextDisputeMove,
  openBoundDispute,
  sendDisputeMove,
  timeoutDispute,
  type CheckpointLeafProof,
} from "../../sdk/src/actions/disputes.js";
import type { PoAIContext } from "../../sdk/src/context.js";
import {
  commitCheckpoints,
  deriveKey,
  modelLayout,
  specId,
  type RunCommitment,
} from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import { RunStates, claimData, type StateSource } from "../../sdk/src/compute/state/game.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { deployDisputeGame } from "../../scripts/lib/deploy-disputes.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { PoAIContractError } from "../../sdk/src/errors.js";
import { E, SPEC, Status, Verdict, deployWorld, type Actor } from "../poai/helpers/world.js";

/**
 * Games bound to a challenge (DisputeGame.openBound): the claim is the committed run's, so the
 * trainer cannot refuse it, and a game won against the trainer overrules the committee that
 * cleared it. One world: two trainers (a forger and an honest one) judged Valid by a colluding
 * (or merely wrong) committee of three in round 1, on the world's spec 8-8-4 (10 steps a segment).
 */
const R = 1n;
const BOND = E(10);
const SLASH = parseEther("0.1");
const DISPUTE_WINDOW = 3600n;
const MOVE_TIMEOUT = 600n;
const interval = SPEC.checkpointInterval;
const segments = SPEC.steps / interval;

/** The checkpoints of a run as a state source holds them: Θ_in of each segment's first step, then the last Θ_out. */
function checkpointsOf(source: StateSource): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < segments; i++) out.push(source.tensors(i * interval).encodings[0]);
  const last = source.tensors(SPEC.steps - 1).encodings;
  out.push(last[last.length - 1]);
  return out;
}

function leafOf(c: RunCommitment, hashes: readonly Hex[], i: number): CheckpointLeafProof {
  return { hash: hashes[i], parameterRoot: c.parameterRoots[i], proof: c.proof(i) };
}

async function fixture() {
  const conn = await network.create();
  const w = await deployWorld(conn, { trainers: [E(5000), E(5000)], outsiders: 1 });
  const game = await deployDisputeGame(w.viem, {
    token: w.token.address,
    moveTimeout: MOVE_TIMEOUT,
    bond: BOND,
    staking: w.staking.address,
    slashFraction: SLASH,
    challenges: w.challenges.address,
    disputeWindow: DISPUTE_WINDOW,
  });
  await w.manager.write.grantRole([ROLES.SLASHER, game.address, 0]);
  await w.manager.write.grantRole([ROLES.DISPUTES, game.address, 0]);
  await w.staking.write.addSlashSource([game.address]);
  const chainId = await w.publicClient.getChainId();
  const ctxOf = (a: Actor): PoAIContext => ({
    publicClient: w.publicClient,
    walletClient: a.wallet,
    deployment: {
      chainId,
      contracts: {
        accessManager: w.manager.address,
        token: w.token.address,
        staking: w.staking.address,
        stakingLens: w.lens.address,
        disputeGame: game.address,
      },
    },
  });
  for (const a of w.actors) await a.token.write.approve([game.address, maxUint256]);
  const [forger, honestTrainer] = w.trainers;
  const challenger = w.outsiders[0];

  // Round 1: both trainers commit their runs; the committee votes Valid on both.
  await w.to(w.start(R));
  await w.beaconCommit(R + 1n, w.validators);
  const runOf = async (t: Actor, forge: boolean) => {
    // The forgery is in an activation, so these games never reach the data slots, whose rules read
    // the key of the challenge's spec and seed (checked below): the replay's seed only has to be
    // the one both parties train with.
    const seed = keccak256(t.address);
    const key = deriveKey(SPEC, seed);
    const honest = new RunStates(SPEC, key, initialWeights(modelLayout(SPEC), key), 0);
    // the forger corrupts one activation bit in step 13 (segment 1) and trains on from there
    const claimed = forge
      ? new ForgedRun(honest, { step: 13, slot: 4, byte: 5, bit: 2, parameter: 3 })
      : honest;
    const bytes = checkpointsOf(claimed);
    const commitment = commitCheckpoints(bytes);
    const hashes = bytes.map((b) => keccak256(b));
    await t.cm.write.submitResult([R, commitment.root, 5000]);
    return { id: w.id(t, R), honest, claimed, commitment, hashes };
  };
  const forged = await runOf(forger, true);
  const fair = await runOf(honestTrainer, false);
  await w.beaconReveal(R + 1n, w.validators);
  const votes = w.validators.map((v) => ({ v, verdict: Verdict.Valid, score: 5000 }));
  const win = w.windows(R);
  await w.reach(win.commitStart);
  for (const run of [forged, fair]) for (const vote of votes) await w.commitVote(run.id, vote);
  await w.reach(win.revealStart);
  for (const run of [forged, fair]) for (const vote of votes) await w.revealVote(run.id, vote);
  await w.reach(win.revealEnd);
  for (const run of [forged, fair]) {
    if ((await w.challenges.read.getChallenge([run.id])).status === Status.Submitted)
      await w.outsiders[0].cm.write.finalize([run.id]);
    expect((await w.challenges.read.getChallenge([run.id])).status).to.equal(Status.Valid);
  }
  return { w, game, ctxOf, forger, honestTrainer, challenger, forged, fair };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

async function openBound(f: Fixture, by: Actor, run: Fixture["forged"], segment: number): Promise<bigint> {
  const hash = await openBoundDispute(f.ctxOf(by), {
    challengeId: run.id,
    segment,
    start: leafOf(run.commitment, run.hashes, segment),
    end: leafOf(run.commitment, run.hashes, segment + 1),
  });
  await f.w.receipt(hash);
  return (await f.game.read.gameCount()) as bigint;
}

/** Plays game `id` to the end, each side from its own source. */
async function play(
  f: Fixture,
  id: bigint,
  defender: [Actor, StateSource],
  challenger: [Actor, StateSource],
) {
  let moves = 0;
  for (;;) {
    const view = await getDispute(f.ctxOf(defender[0]), { id });
    if (view.phase === "Resolved") return { winner: view.winner, moves };
    const [actor, source] =
      view.mover.toLowerCase() === defender[0].address.toLowerCase() ? defender : challenger;
    const move = await nextDisputeMove(f.ctxOf(actor), view, source, actor.address);
    if (!move) throw new Error(`no move in phase ${view.phase}`);
    await f.w.receipt(await sendDisputeMove(f.ctxOf(actor), move));
    if (++moves > 200) throw new Error("the game did not end");
  }
}

/** The operator's pool's stake now (a slash lowers it at once). */
const stakeOf = async (f: Fixture, a: Address) => (await f.w.lens.read.getOperator([a])).totalStake;

/** The decoded error a call is refused with (`"ok"` when it is not refused). */
async function refusal(p: Promise<unknown>): Promise<"ok" | [string, unknown[]]> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof PoAIContractError) return [e.errorName, [...(e.args as readonly unknown[])]];
    throw e;
  }
}

describe("DisputeGame: games bound to a challenge overrule the committee", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });

  it("reads the claim from the chain: the spec, the segment's steps, the committed roots, the trainer as defender", async () => {
    const id = await openBound(f, f.challenger, f.fair, 1);
    const view = await getDispute(f.ctxOf(f.challenger), { id });
    expect(view.defender).to.equal(f.honestTrainer.address);
    expect(view.challengeId).to.equal(f.fair.id);
    expect([view.lo, view.hi]).to.deep.equal([interval, 2 * interval]);
    // no acceptance: the trainer moves first, its stake at risk
    expect(view.phase).to.equal("StepMid");
    expect(view.bond).to.equal(BOND);
    const g = await f.game.read.gameOf([id]);
    expect(g.loRoot).to.equal(f.fair.commitment.parameterRoots[1]);
    expect(g.hiRoot).to.equal(f.fair.commitment.parameterRoots[2]);
    expect(g.spec.widths).to.deep.equal([...SPEC.widths]);
    // the run's data: the key of the challenge's spec and seed
    const c = await f.w.challenges.read.getChallenge([f.fair.id]);
    expect(c.specId).to.equal(specId(SPEC));
    expect(g.data.key).to.equal(claimData(SPEC, deriveKey(SPEC, c.seed)).key);
    expect(g.epoch).to.equal(R);
  });

  it("refuses a claim that is not the run's: a leaf not under the root, another index, a segment past the run, an unjudged challenge", async () => {
    const c = f.ctxOf(f.challenger);
    const run = f.fair;
    const leaf = (i: number) => leafOf(run.commitment, run.hashes, i);
    const err = refusal;
    // the end leaf of another run (the forger's end root) is not under this run's root
    const other = leafOf(f.forged.commitment, f.forged.hashes, 2);
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 1, start: leaf(1), end: other })),
    ).to.deep.equal(["CheckpointNotProven", [run.id, 2n]]);
    // checkpoint 0's leaf offered as checkpoint 1's
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 1, start: leaf(0), end: leaf(2) })),
    ).to.deep.equal(["CheckpointNotProven", [run.id, 1n]]);
    expect(
      await err(openBoundDispute(c, { challengeId: run.id, segment: 2, start: leaf(2), end: leaf(2) })),
    ).to.deep.equal(["SegmentOutOfRange", [2n, 2n]]);
    const unknown = f.w.id(f.challenger, R);
    expect(
      await err(openBoundDispute(c, { challengeId: unknown, segment: 0, start: leaf(0), end: leaf(1) })),
    ).to.deep.equal(["NotDisputable", [unknown, Status.None]]);
    // the trainer cannot dispute its own run
    expect(
      await err(
        openBoundDispute(f.ctxOf(f.honestTrainer), {
          challengeId: run.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["InvalidClaim", ["defender"]]);
  });

  it("an honest trainer wins a bound game against a wrong challenger and takes its bond; nobody is slashed", async () => {
    const id = await openBound(f, f.challenger, f.fair, 1);
    // the challenger replays the forger's run as if it were this trainer's: it disputes a correct segment
    const wrong = new ForgedRun(f.fair.honest, { step: 15, slot: 5, byte: 1, bit: 0, parameter: 2 });
    const before = await f.w.token.read.balanceOf([f.honestTrainer.address]);
    const stake = await stakeOf(f, f.honestTrainer.address);
    const { winner } = await play(f, id, [f.honestTrainer, f.fair.honest], [f.challenger, wrong]);
    expect(winner).to.equal(f.honestTrainer.address);
    expect(await f.w.token.read.balanceOf([f.honestTrainer.address])).to.equal(before + BOND);
    expect(await stakeOf(f, f.honestTrainer.address)).to.equal(stake);
    expect(await f.game.getEvents.CommitteeOverruled({ id })).to.have.length(0);
  });

  it("a colluding committee that cleared a forger is overruled: the forger and every member that voted Valid are slashed", async () => {
    const id = await openBound(f, f.challenger, f.forged, 1);
    const members = f.w.validators.map((v) => v.address);
    const before = await Promise.all(members.map((m) => stakeOf(f, m)));
    const forgerStake = await stakeOf(f, f.forger.address);
    const points = (a: Address) => f.w.challenges.read.epochPoints([R, a]);
    const memberPoints = await Promise.all(members.map(points));
    expect(await points(f.forger.address)).to.not.equal(0n);
    const { winner, moves } = await play(
      f,
      id,
      [f.forger, f.forged.claimed],
      [f.challenger, f.forged.honest],
    );
    expect(winner).to.equal(f.challenger.address);
    expect(moves).to.be.below(40);
    expect((await f.game.getEvents.DefenderSlashed({ id }))[0].args.offenceEpoch).to.equal(R);
    expect(await stakeOf(f, f.forger.address)).to.equal(forgerStake - (forgerStake * SLASH) / E(1));
    const overruled = await f.game.getEvents.CommitteeOverruled({ id });
    expect(overruled[0].args).to.deep.include({ challengeId: f.forged.id, membersSlashed: 3n });
    const after = await Promise.all(members.map((m) => stakeOf(f, m)));
    after.forEach((s, i) => expect(s < before[i], `member ${i} slashed`).to.equal(true));
    // the verdict's points follow the proven result (ChallengeManager.overrule): the forger loses
    // its points and each member the weight it earned for this verdict (it keeps the honest run's);
    // the status is Fraud. Without the hook a cleared forger kept the rewards of its forgery.
    expect(await f.w.challenges.read.getChallenge([f.forged.id])).to.deep.include({ status: Status.Fraud });
    expect(await points(f.forger.address)).to.equal(0n);
    const kept = await Promise.all(members.map(points));
    kept.forEach((p, i) => expect(p * 2n).to.equal(memberPoints[i]));
    // once overruled, the challenge is settled: no second game slashes anyone again (a naive game
    // would let every further challenger slash the forger and the committee once more)
    const leaf = (i: number) => leafOf(f.forged.commitment, f.forged.hashes, i);
    expect(
      await refusal(
        openBoundDispute(f.ctxOf(f.w.outsiders[0]), {
          challengeId: f.forged.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["AlreadyOverruled", [f.forged.id]]);
  });

  it("a bound trainer that does not defend loses by timeout and is slashed, but a timeout overrules no committee", async () => {
    const id = await openBound(f, f.challenger, f.fair, 0);
    const stake = await stakeOf(f, f.honestTrainer.address);
    const members = await Promise.all(f.w.validators.map((v) => stakeOf(f, v.address)));
    await f.w.networkHelpers.time.increase(Number(MOVE_TIMEOUT) + 1);
    await f.w.receipt(await timeoutDispute(f.ctxOf(f.challenger), { id }));
    expect((await getDispute(f.ctxOf(f.challenger), { id })).winner).to.equal(f.challenger.address);
    expect((await stakeOf(f, f.honestTrainer.address)) < stake).to.equal(true);
    expect(await Promise.all(f.w.validators.map((v) => stakeOf(f, v.address)))).to.deep.equal(members);
    expect(await f.game.getEvents.CommitteeOverruled({ id })).to.have.length(0);
    // a second silent game on the same challenge pays the bonds but slashes the trainer no more
    const again = await openBound(f, f.challenger, f.fair, 1);
    const slashedOnce = await stakeOf(f, f.honestTrainer.address);
    await f.w.networkHelpers.time.increase(Number(MOVE_TIMEOUT) + 1);
    await f.w.receipt(await timeoutDispute(f.ctxOf(f.challenger), { id: again }));
    expect(await stakeOf(f, f.honestTrainer.address)).to.equal(slashedOnce);
    expect(await f.game.getEvents.DefenderSlashed({ id: again })).to.have.length(0);
  });

  it("closes the dispute window disputeWindow seconds after the challenge's points close", async () => {
    const c = await f.w.challenges.read.getChallenge([f.fair.id]);
    const closes = (await f.w.challenges.read.epochClosesAt([BigInt(c.auditRound)])) + DISPUTE_WINDOW;
    await f.w.reach(closes + 1n);
    const leaf = (i: number) => leafOf(f.fair.commitment, f.fair.hashes, i);
    expect(
      await refusal(
        openBoundDispute(f.ctxOf(f.challenger), {
          challengeId: f.fair.id,
          segment: 0,
          start: leaf(0),
          end: leaf(1),
        }),
      ),
    ).to.deep.equal(["DisputeWindowClosed", [f.fair.id, closes]]);
  });
});
