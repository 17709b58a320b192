import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { bytesToHex, keccak256, maxUint256, type Address, type Hex } from "viem";
import {
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
} from "../../sdk/src/compute/index.js";
import {
  ForgedInference,
  InferenceStates,
  inferenceGameView,
  inferenceFoldProofs,
  inferenceMove,
  inferenceSpec,
  parameterRoot,
  type InferenceGameView,
  type InferenceMove,
  type InferenceSource,
} from "../../sdk/src/compute/state/inference-game.js";
import { LEAF_BYTES } from "../../sdk/src/compute/state/tree.js";
import { deployInferenceGame } from "../../scripts/lib/deploy-verifier.js";
import { DAY, type Connection } from "../poai/helpers/world.js";
import { attempt } from "../staking/helpers/revert.js";
import { PAYMENT, containerIdOf, deployVerifierWorld } from "../infernet/helpers/verifier-world.js";

/**
 * InferenceDisputeGame through the PoAIVerifier on the in-process chain: a node's delivery of a
 * registered model is disputed by bisection over the forward pass (slot, byte tree, fold chunks)
 * down to one re-executed chunk, start or finish of one dot product. Both parties are played by the
 * SDK's `inferenceMove`; the honest side wins against any single-bit lie, bonds go to the winner,
 * and a won dispute settles the delivery as the whole-model dispute does (refund, slash).
 *
 * Model: widths 150-300-70-10 with deterministic pseudo-random weights (67,080 parameters): the
 * fold of A_1 has 3 chunks, the tree of A_1 depth 2, that of Θ depth 10.
 */
const WIDTHS = [150, 300, 70, 10];
const CONTAINER = "poai-game-150x300x70x10";
const CONTAINER_ID = containerIdOf(CONTAINER);
const STATUS_INVALID = 3;
const BOND = 10n ** 19n;

function seeded(seed: number): () => number {
  let state = (seed % 2 ** 31) + 1;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const spec = inferenceSpec(WIDTHS);
const weights = (() => {
  const rand = seeded(7);
  let count = 0;
  for (let l = 0; l + 1 < WIDTHS.length; l++) count += (WIDTHS[l] + 1) * WIDTHS[l + 1];
  return Int16Array.from({ length: count }, () => Math.floor(rand() * 4000) - 2000);
})();
const checkpoint = encodeCheckpoint(spec, { step: 0, weights });
const INPUT = Int8Array.from({ length: WIDTHS[0] }, (_, i) => ((i * 37 + 11) % 255) - 127);
const inputBytes = new Uint8Array(INPUT.buffer);
const honest = new InferenceStates(WIDTHS, checkpoint, inputBytes);
const labelOf = (y: Int8Array) => y.reduce((best, v, c) => (v > y[best] ? c : best), 0);
const outputOf = (y: Int8Array, label = labelOf(y)) => encodeInferenceOutput({ output: y, label });
const honestY = Int8Array.from(honest.trace.acts[WIDTHS.length - 1]);

describe("InferenceDisputeGame", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployVerifierWorld(conn);
    const game = await deployInferenceGame(conn.viem, { token: w.token.address, verifier: w.verifier });
    const trainerRegistry = await w.as("ModelRegistry", w.models.address, w.trainer);
    await trainerRegistry.write.registerModel([CONTAINER, WIDTHS, keccak256(checkpoint)]);
    await trainerRegistry.write.setParameterRoot([CONTAINER_ID, parameterRoot(WIDTHS, checkpoint)]);
    const { result: sub } = await w.coordinator.simulate.createSubscription([
      w.consumer.address,
      CONTAINER_ID,
      2,
      w.verifier.address,
      PAYMENT,
    ]);
    await w.coordinator.write.createSubscription(
      [w.consumer.address, CONTAINER_ID, 2, w.verifier.address, PAYMENT],
      {
        value: 2n * PAYMENT,
      },
    );
    await w.consumer.write.setInputs([sub, encodeInferenceInput(INPUT)]);
    const [, , challenger] = w.outsiders;
    for (const who of [challenger, w.node]) {
      const token = await conn.viem.getContractAt("PoAIToken", w.token.address, {
        client: { wallet: who.wallet },
      });
      await token.write.approve([game.address, maxUint256]);
    }
    return { ...w, game, sub, challenger };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;
  type Actor = W["challenger"];

  const abiOf = (w: W) => [...w.game.abi, ...w.verifier.abi, ...w.staking.abi, ...w.models.abi];
  const outcome = async (w: W, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : [o.error, o.args];
  };
  const gameAs = (w: W, who: Actor) =>
    conn.viem.getContractAt("InferenceDisputeGame", w.game.address, { client: { wallet: who.wallet } });
  const verifierAs = (w: W, who: Actor) => w.as("PoAIVerifier", w.verifier.address, who);
  const input = encodeInferenceInput(INPUT);

  /** The node delivers `output`; `challenger` opens a game on it; returns the game id. */
  async function openOn(w: W, output: Hex, challenger: Actor = w.challenger) {
    await w.deliver(w.node, w.sub, input, output);
    const v = await verifierAs(w, challenger);
    const args = [w.sub, 1, w.node.address, CONTAINER_ID, input, output] as const;
    await v.write.disputeByGame(args);
    return w.game.read.gameCount();
  }

  async function viewOf(w: W, id: bigint, roots?: Hex[], leaf?: Hex): Promise<InferenceGameView> {
    return inferenceGameView(id, await w.game.read.gameOf([id]), { roots, leaf });
  }

  type Chooser = (view: InferenceGameView) => InferenceMove;
  /** Plays game `id` to the end: `defender` and `challenger` compute each move. */
  async function play(w: W, id: bigint, defender: Chooser, challenger: Chooser) {
    let roots: Hex[] | undefined;
    let leaf: Hex | undefined;
    let moves = 0;
    const games = new Map<Address, Awaited<ReturnType<typeof gameAs>>>();
    for (;;) {
      const mover = await w.game.read.moverOf([id]);
      if (mover === "0x0000000000000000000000000000000000000000") break;
      const view = await viewOf(w, id, roots, leaf);
      const isDefender = mover.toLowerCase() === w.node.address.toLowerCase();
      const move = (isDefender ? defender : challenger)(view);
      if (move.functionName === "postState") roots = move.args[1];
      if (move.functionName === "revealLeaf") leaf = move.args[1];
      const who = isDefender ? w.node : w.challenger;
      let g = games.get(who.address);
      if (!g) games.set(who.address, (g = await gameAs(w, who)));
      await (g.write[move.functionName] as (a: readonly unknown[]) => Promise<Hex>)(move.args);
      moves++;
      if (moves > 60) throw new Error("game did not end");
    }
    const g = await w.game.read.gameOf([id]);
    return { winner: g.winner.toLowerCase(), moves };
  }
  const by =
    (source: InferenceSource): Chooser =>
    (v) =>
      inferenceMove(v, source);

  it("registers the parameter root the SDK computes, and refuses to set it twice or by another", async () => {
    const w = await load();
    expect(await w.models.read.parameterRootOf([CONTAINER_ID])).to.equal(parameterRoot(WIDTHS, checkpoint));
    const asTrainer = await w.as("ModelRegistry", w.models.address, w.trainer);
    const asNode = await w.as("ModelRegistry", w.models.address, w.node);
    const root = parameterRoot(WIDTHS, checkpoint);
    expect(await outcome(w, asTrainer.write.setParameterRoot([CONTAINER_ID, root]))).to.deep.equal([
      "ParameterRootAlreadySet",
      [CONTAINER_ID, root],
    ]);
    expect(await outcome(w, asNode.write.setParameterRoot([CONTAINER_ID, root]))).to.deep.equal([
      "NotModelTrainer",
      [CONTAINER_ID, w.node.address, w.trainer.address],
    ]);
  });

  it("convicts a node that forged its output scores: the delivery is settled invalid, the node slashed, the challenger takes both bonds", async () => {
    const w = await load();
    const forged = new ForgedInference(honest, { slot: WIDTHS.length, byte: 3, bit: 2, cut: 0, delta: 0n });
    const id = await openOn(w, outputOf(forged.y));
    const pool = await w.staking.read.getPool([w.node.address]);
    const before = await w.token.read.balanceOf([w.challenger.address]);
    const { winner, moves } = await play(w, id, by(forged), by(honest));
    expect(winner).to.equal(w.challenger.address.toLowerCase());
    expect(moves).to.be.greaterThan(4);
    expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(STATUS_INVALID);
    expect((await w.staking.read.getPool([w.node.address])).tokens < pool.tokens).to.equal(true);
    // both bonds, plus the finder's fee of the slash
    expect((await w.token.read.balanceOf([w.challenger.address])) - before > 2n * BOND).to.equal(true);
  });

  it("settles an output whose label is not its scores' first maximum at once, without a game", async () => {
    const w = await load();
    const label = (labelOf(honestY) + 1) % WIDTHS[WIDTHS.length - 1];
    const id = await openOn(w, outputOf(honestY, label));
    expect(id).to.equal(0n);
    expect(await w.game.read.gameCount()).to.equal(0n);
    expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(STATUS_INVALID);
  });

  // Property: whatever single bit of whatever activation (hidden or output) a node forges, and
  // whatever accumulators it posts for the forged element, the honest challenger wins.
  it("lets an honest challenger win against any single-bit forgery of the output or an intermediate", async () => {
    const w = await load();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: WIDTHS.length }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(0n, 1n, -5n),
        async (slot, b, bit, cut, delta) => {
          const byte = b % WIDTHS[slot - 1];
          const forged = new ForgedInference(honest, { slot, byte, bit, cut, delta });
          if (bytesToHex(new Uint8Array(forged.y.buffer)) === bytesToHex(new Uint8Array(honestY.buffer)))
            return;
          const snapshot = await conn.networkHelpers.takeSnapshot();
          try {
            const id = await openOn(w, outputOf(forged.y));
            const { winner } = await play(w, id, by(forged), by(honest));
            expect(winner).to.equal(w.challenger.address.toLowerCase());
          } finally {
            await snapshot.restore();
          }
        },
      ),
      { numRuns: 5, seed: 19 },
    );
  });

  it("lets an honest node win against a challenger that disputes a correct output with any choices", async () => {
    const w = await load();
    for (const seed of [1, 2, 3]) {
      const rand = seeded(seed);
      const snapshot = await conn.networkHelpers.takeSnapshot();
      const id = await openOn(w, outputOf(honestY));
      const t = honest.tensors;
      const random: Chooser = (v) => {
        switch (v.phase) {
          case "PickSlot":
            return {
              functionName: "pickSlot",
              args: [v.id, [...v.roots!], 2 + Math.floor(rand() * (WIDTHS.length - 1))],
            };
          case "PickChild": {
            const leaves = t.tree(v.slot).leafCount;
            const rightOk = (2 * Number(v.node) + 1) * 2 ** (v.height - 1) < leaves;
            return { functionName: "pickChild", args: [v.id, rightOk && rand() < 0.5] };
          }
          case "PickElement": {
            const width = WIDTHS[v.slot - 1];
            const b = Math.min(
              LEAF_BYTES - 1,
              Math.floor(rand() * Math.min(LEAF_BYTES, width - Number(v.node) * LEAF_BYTES)),
            );
            return { functionName: "pickElement", args: [v.id, v.leaf!, BigInt(b)] };
          }
          case "FoldChoose": {
            const part = Math.floor(rand() * 3);
            const proofs = part === 0 ? inferenceFoldProofs(t, WIDTHS, v.slot, v.offset) : [];
            return { functionName: "challengeFold", args: [v.id, part, [...v.roots!], proofs] };
          }
          case "FoldPick":
            return { functionName: "chooseFold", args: [v.id, rand() < 0.5] };
          default:
            return inferenceMove(v, honest);
        }
      };
      const { winner } = await play(w, id, by(honest), random);
      expect(winner).to.equal(w.node.address.toLowerCase());
      expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(1);
      await snapshot.restore();
    }
  });

  it("keeps a delivery with a game in progress from being finalized, and finalizes it once the node won", async () => {
    const w = await load();
    const id = await openOn(w, outputOf(honestY));
    // the challenger never moves after the node's state: the node wins by timeout, with both bonds
    await (await gameAs(w, w.node)).write.postState([id, honest.tensors.roots]);
    const { deadline } = await w.game.read.gameOf([id]);
    expect(await outcome(w, w.game.write.timeout([id]))).to.deep.equal(["DeadlineNotPassed", [id, deadline]]);
    await conn.networkHelpers.time.increase(2 * DAY);
    expect(await outcome(w, w.verifier.write.finalize([w.sub, 1, w.node.address]))).to.deep.equal([
      "DisputeInProgress",
      [w.sub, 1, w.node.address, 1n],
    ]);
    const before = await w.token.read.balanceOf([w.node.address]);
    await w.game.write.timeout([id]);
    expect((await w.token.read.balanceOf([w.node.address])) - before).to.equal(2n * BOND);
    expect(await outcome(w, w.verifier.write.finalize([w.sub, 1, w.node.address]))).to.equal("ok");
  });

  it("convicts a node that does not defend: the challenger's bond comes back and the delivery is invalid", async () => {
    const w = await load();
    const before = await w.token.read.balanceOf([w.challenger.address]);
    const id = await openOn(w, outputOf(honestY));
    expect((await w.token.read.balanceOf([w.challenger.address])) - before).to.equal(-BOND);
    await conn.networkHelpers.time.increase(3601);
    await w.game.write.timeout([id]);
    expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(STATUS_INVALID);
    expect((await w.token.read.balanceOf([w.challenger.address])) >= before).to.equal(true);
    expect(await outcome(w, w.game.write.timeout([id]))).to.deep.equal(["WrongPhase", [id, 12]]);
  });

  it("refuses moves out of turn, forged roots, leaves and proofs, and games the verifier did not open", async () => {
    const w = await load();
    const id = await openOn(w, outputOf(honestY));
    const asNode = await gameAs(w, w.node);
    const asChallenger = await gameAs(w, w.challenger);
    const roots = honest.tensors.roots;
    expect(await outcome(w, asChallenger.write.postState([id, roots]))).to.deep.equal([
      "NotYourMove",
      [w.challenger.address, w.node.address],
    ]);
    const bad = [...roots];
    bad[0] = keccak256("0x01");
    expect(await outcome(w, asNode.write.postState([id, bad]))).to.deep.equal(["RootsMismatch", [id]]);
    expect(await outcome(w, asNode.write.postState([id, roots.slice(1)]))).to.deep.equal([
      "WrongRootCount",
      [BigInt(roots.length), BigInt(roots.length - 1)],
    ]);
    await asNode.write.postState([id, roots]);
    expect(await outcome(w, asChallenger.write.pickSlot([id, roots, 1]))).to.deep.equal(["BadSlot", [1n]]);
    expect(await outcome(w, asNode.write.postState([id, roots]))).to.deep.equal(["WrongPhase", [id, 2]]);
    expect(
      await outcome(
        w,
        asChallenger.write.open([
          keccak256("0x"),
          w.challenger.address,
          w.node.address,
          WIDTHS,
          roots[0],
          input,
          input,
        ]),
      ),
    ).to.deep.equal(["NotHost", [w.challenger.address]]);
    // down to the fold of A_1[0], then a chunk proof with a forged leaf
    await asChallenger.write.pickSlot([id, roots, 2]);
    const t = honest.tensors;
    const [l, r] = t.tree(2).children(2, 0);
    await asNode.write.revealChildren([id, l, r]);
    await asChallenger.write.pickChild([id, false]);
    await asNode.write.revealChildren([id, ...t.tree(2).children(1, 0)]);
    await asChallenger.write.pickChild([id, false]);
    const leaf = bytesToHex(t.tree(2).leaf(0));
    expect(
      await outcome(w, asNode.write.revealLeaf([id, bytesToHex(new Uint8Array(LEAF_BYTES))])),
    ).to.deep.equal(["BadLeaf", [id]]);
    await asNode.write.revealLeaf([id, leaf]);
    await asChallenger.write.pickElement([id, leaf, 0n]);
    const accs = honest.foldAccs(2, 0);
    await asNode.write.postFoldEnds([id, accs[0], accs[accs.length - 1]]);
    await asChallenger.write.challengeFold([id, 1, roots, []]);
    await asNode.write.postFoldAccumulator([id, accs[1]]);
    await asChallenger.write.chooseFold([id, false]);
    const proofs = inferenceFoldProofs(t, WIDTHS, 2, 0, 0);
    const forged = proofs.map((p, k) =>
      k === 0 ? { ...p, leaf: bytesToHex(new Uint8Array(LEAF_BYTES)) } : p,
    );
    expect(await outcome(w, asChallenger.write.proveChunk([id, roots, forged]))).to.deep.equal([
      "BadProof",
      [0n, proofs[0].index],
    ]);
    expect(await outcome(w, asChallenger.write.proveChunk([id, roots, proofs.slice(0, 1)]))).to.deep.equal([
      "MissingProof",
      [1n, 0n],
    ]);
    // the honest chunk agrees with the node: the challenger loses
    await asChallenger.write.proveChunk([id, roots, proofs]);
    expect((await w.game.read.gameOf([id])).winner).to.equal(w.node.address);
  });

  it("covers the longest game in the slash window, and refuses games on models without a parameter root", async () => {
    const w = await load();
    const params = await w.verifier.read.params();
    const epochLength = await w.verifier.read.epochLength();
    expect(await w.verifier.read.slashWindow()).to.equal(
      epochLength + BigInt(params.disputeWindow) + (await w.game.read.maxDuration()),
    );
    // the verifier world's own model has no root: its deliveries are disputed by recomputation
    const small = await w.subscribe(Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    const smallInput = encodeInferenceInput(Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    const out = w.correctOutput(Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    await w.deliver(w.node, small, smallInput, out);
    const v = await verifierAs(w, w.challenger);
    const smallId = containerIdOf("poai-mlp-8x8x4");
    expect(
      await outcome(w, v.write.disputeByGame([small, 1, w.node.address, smallId, smallInput, out])),
    ).to.deep.equal(["ParameterRootUnset", [smallId]]);
  });
});
