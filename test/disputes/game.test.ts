import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import {
  bytesToHex,
  concat,
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  toHex,
  type Address,
  type Hex,
} from "viem";
import {
  getDispute,
  nextDisputeMove,
  openDispute,
  sendDisputeMove,
  timeoutDispute,
  type DisputeMove,
  type DisputeView,
} from "../../sdk/src/actions/disputes.js";
import type { PoAIContext } from "../../sdk/src/context.js";
import { deriveKey, modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import {
  RunStates,
  claimData,
  elementOf,
  elementProofs,
  foldRanges,
  isFold,
  proofsOf,
  type StateSource,
} from "../../sdk/src/compute/state/game.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import type { StateTensors } from "../../sdk/src/compute/state/trace.js";
import { LEAF_BYTES } from "../../sdk/src/compute/state/tree.js";
import { trainingSlots } from "../../sdk/src/compute/state/layout.js";
import { deployStaking } from "../../scripts/lib/deploy.js";
import { deployDisputeGame } from "../../scripts/lib/deploy-disputes.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { syntheticDataset, v2Spec } from "../engine/datasets.js";

/**
 * DisputeGame end to end on the in-process chain, both parties played through the SDK: an honest
 * party wins against any lie. Small spec: the forward fold of layer 1 has 3 chunks (140 inputs).
 */
const spec: TrainingSpec = {
  version: 1,
  widths: [20, 140, 5],
  batchSize: 6,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 12,
};
const seed: Hex = `0x${"d15e".repeat(16)}`;
const key = deriveKey(spec, seed);
const layout = modelLayout(spec);
const STEPS = 4;
const BOND = parseEther("10");
/** Fraction of a losing trainer's stake slashed (1e18 = 100%). */
const SLASH = parseEther("0.1");
const TRAINER = 1;
const honest = new RunStates(spec, key, initialWeights(layout, key), 0);
const slots = trainingSlots(spec);
const thetaOut = slots.length - 1;
/** Slots a game can descend into: every present slot after Θ_in, the data slots X, TS, LBL included. */
const disputable = slots.filter((s) => s.present && s.index > 0).map((s) => s.index);

/** A deterministic pseudo-random sequence in [0, 1). */
function seeded(seed: number): () => number {
  let state = (seed % 2 ** 31) + 1;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** A trainer that forged one bit of step `step` (see ForgedRun). */
class LyingTrainer extends ForgedRun {
  constructor(
    step: number,
    slot: number,
    byte: number,
    bit: number,
    parameter: number,
    cut: number,
    delta: bigint,
  ) {
    super(honest, { step, slot, byte, bit, parameter, cut, delta });
  }
}

/**
 * A challenger that disputes an honest run with random (valid) choices, proving with the run's own
 * data: whatever it picks, the re-executed operation agrees with the trainer.
 */
async function randomChallengerMove(
  f: Fixture,
  view: DisputeView,
  rand: () => number,
  run: RunStates = honest,
  slots?: number[],
): Promise<DisputeMove> {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const id = view.id;
  const spec = run.spec;
  const disputable =
    slots ??
    trainingSlots(spec)
      .filter((s) => s.present && s.index > 0)
      .map((s) => s.index);
  const tensors = run.tensors(view.lo);
  const roots = tensors.roots;
  switch (view.phase) {
    case "StepChoose":
      return { functionName: "chooseStep", args: [id, rand() < 0.5] };
    case "PickSlot":
      return { functionName: "pickSlot", args: [id, roots, pick(disputable)] };
    case "PickChild": {
      // a right child past the slot's last leaf is refused (EmptySubtree)
      const leaves = tensors.tree(view.slot).leafCount;
      const rightOk = (2 * Number(view.node) + 1) * 2 ** (view.height - 1) < leaves;
      return { functionName: "pickChild", args: [id, rightOk && rand() < 0.5] };
    }
    case "PickElement": {
      const node = Number(view.node);
      const b = Math.floor(rand() * LEAF_BYTES);
      const ref = elementOf(spec, tensors, view.slot, node * LEAF_BYTES + b);
      const proofs = isFold(ref) ? [] : elementProofs(run, view.lo, ref);
      return {
        functionName: "pickElement",
        args: [id, roots, bytesToHex(tensors.tree(view.slot).leaf(node)), BigInt(b), proofs],
      };
    }
    case "FoldChoose": {
      const ref = elementOf(spec, tensors, view.slot, view.offset);
      const part = pick([0, 1, 2] as const);
      const proofs = part === 1 ? [] : proofsOf(tensors, foldRanges(spec, ref, part));
      return { functionName: "challengeFold", args: [id, part, roots, proofs] };
    }
    case "FoldPick":
      return { functionName: "chooseFold", args: [id, rand() < 0.5] };
    default:
      return (await nextDisputeMove(f.challenger.ctx, view, run, f.challenger.address))!;
  }
}

/** Fails unless `promise` rejects with a message matching `pattern`. */
async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a rejection matching ${pattern}`).to.be.instanceOf(Error);
  expect(
    String((error as Error).message) + String((error as { shortMessage?: string }).shortMessage),
  ).to.match(pattern);
}

async function fixture() {
  const { viem, networkHelpers } = await network.create();
  const [, challenger, defender] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const s = await deployStaking(viem);
  const game = await deployDisputeGame(viem, {
    token: s.token.address,
    moveTimeout: 600n,
    bond: BOND,
    staking: s.staking.address,
    slashFraction: SLASH,
  });
  await s.manager.write.grantRole([ROLES.SLASHER, game.address, 0]);
  await s.staking.write.addSlashSource([game.address]);
  const contracts = {
    accessManager: s.manager.address,
    token: s.token.address,
    staking: s.staking.address,
    stakingLens: s.lens.address,
    disputeGame: game.address,
  };
  const chainId = await publicClient.getChainId();
  const ctxOf = (wallet: typeof challenger): PoAIContext => ({
    publicClient,
    walletClient: wallet,
    deployment: { chainId, contracts },
  });
  for (const w of [challenger, defender]) {
    await s.token.write.transfer([w.account.address, parseEther("3000")]);
    const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
    await token.write.approve([game.address, maxUint256]);
    await token.write.approve([s.staking.address, maxUint256]);
  }
  // the trainer is a registered operator with stake at risk
  const trainerStaking = await viem.getContractAt("Staking", s.staking.address, {
    client: { wallet: defender },
  });
  await trainerStaking.write.register([
    TRAINER,
    parseEther("1500"),
    1000,
    2000,
    "https://trainer.example",
    "CPU",
  ]);
  return {
    viem,
    networkHelpers,
    publicClient,
    game,
    token: s.token,
    staking: s.staking,
    challenger: { address: getAddress(challenger.account.address), ctx: ctxOf(challenger) },
    defender: { address: getAddress(defender.account.address), ctx: ctxOf(defender) },
  };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

async function open(f: Fixture, claimed: StateSource, run: RunStates = honest): Promise<bigint> {
  const hash = await openDispute(f.challenger.ctx, {
    defender: f.defender.address,
    claim: {
      spec: run.spec,
      firstStep: 0,
      steps: STEPS,
      startRoot: run.thetaRoot(0),
      endRoot: claimed.thetaRoot(STEPS),
      key: run.key,
    },
  });
  await f.publicClient.waitForTransactionReceipt({ hash });
  return (await f.game.read.gameCount()) as bigint;
}

/** Plays game `id` to the end; returns the winner and the number of moves. */
async function play(
  f: Fixture,
  id: bigint,
  defenderSource: StateSource,
  challenger: { source: StateSource; rand?: () => number; run?: RunStates; slots?: number[] },
): Promise<{ winner: Address; moves: number }> {
  let moves = 0;
  for (;;) {
    const view = await getDispute(f.defender.ctx, { id });
    if (view.phase === "Resolved") return { winner: view.winner, moves };
    const isDefender = view.mover.toLowerCase() === f.defender.address.toLowerCase();
    const party = isDefender ? f.defender : f.challenger;
    const move =
      !isDefender && challenger.rand
        ? await randomChallengerMove(f, view, challenger.rand, challenger.run, challenger.slots)
        : await nextDisputeMove(
            party.ctx,
            view,
            isDefender ? defenderSource : challenger.source,
            party.address,
          );
    if (!move) throw new Error(`no move in phase ${view.phase}`);
    const hash = await sendDisputeMove(party.ctx, move);
    await f.publicClient.waitForTransactionReceipt({ hash });
    moves++;
    if (moves > 200) throw new Error("the game did not end");
  }
}

describe("DisputeGame: one honest party is enough", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });

  it("an honest challenger wins against a trainer that corrupted one element, and takes both bonds", async () => {
    const liar = new LyingTrainer(2, 4, 17, 3, 40, 0, 0n); // A_1 of step 2
    const id = await open(f, liar);
    const before = await f.token.read.balanceOf([f.challenger.address]);
    const staked = await f.token.read.balanceOf([f.staking.address]);
    const { winner, moves } = await play(f, id, liar, { source: honest });
    expect(winner).to.equal(f.challenger.address);
    // both bonds, plus the finder's fee of the trainer's slash
    expect((await f.token.read.balanceOf([f.challenger.address])) > before + 2n * BOND).to.equal(true);
    const slashed = await f.game.getEvents.DefenderSlashed({ id });
    expect(slashed.length).to.equal(1);
    expect(slashed[0].args.defender).to.equal(f.defender.address);
    expect((await f.token.read.balanceOf([f.staking.address])) < staked).to.equal(true);
    // log2(4) steps + slot + tree depth + element + fold: bounded by the logarithms
    expect(moves).to.be.below(40);
  });

  it("an honest trainer wins against a challenger disputing a correct run", async () => {
    const id = await open(f, honest);
    const before = await f.token.read.balanceOf([f.defender.address]);
    const { winner } = await play(f, id, honest, { source: honest, rand: seeded(7) });
    expect(winner).to.equal(f.defender.address);
    expect(await f.token.read.balanceOf([f.defender.address])).to.equal(before + BOND);
  });

  it("for random single-bit faults at any step, slot and element, the honest side wins every time", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: STEPS - 1 }),
        fc.constantFrom(...disputable),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.nat({ max: layout.parameterCount - 1 }),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom(0n, 1n, -300n),
        fc.boolean(),
        async (step, slot, at0, bit, param, cut, delta, liarIsChallenger) => {
          const at = at0 % slots[slot].length;
          // a wrong Θ_out header changes nothing a later step reads: it is a lie only in the claimed end
          if (slot === thetaOut && at < 8) step = STEPS - 1;
          const liar = new LyingTrainer(step, slot, at, bit, param, cut, delta);
          if (!liarIsChallenger) {
            const id = await open(f, liar);
            const { winner } = await play(f, id, liar, { source: honest });
            expect(winner).to.equal(f.challenger.address);
          } else {
            const id = await open(f, honest);
            const { winner } = await play(f, id, honest, { source: honest, rand: seeded(at0 + bit) });
            expect(winner).to.equal(f.defender.address);
          }
        },
      ),
      {
        numRuns: Number(process.env.DISPUTE_PROPERTY_RUNS ?? 8),
        // A flipped Θ_out header byte at the last step: the forged run's claimed end root once left
        // the header out, so the liar could not post the state of its own claim (RootsMismatch).
        examples: [
          [0, thetaOut, 0, 0, 0, 0, 0n, false],
          // the data slots: an input byte, a teacher score (with a lie in its fold), a label
          [1, 1, 25, 2, 3, 0, 0n, false],
          [0, 2, 9, 4, 11, 1, 1n, false],
          [2, 3, 4, 0, 5, 0, 0n, false],
        ],
      },
    );
  });

  it("a trainer that trained on batches its seed does not select loses on the data slot X", async () => {
    // Naive code (no rule for X) cannot refute a run trained from the right start on other data.
    const otherKey = deriveKey(spec, `0x${"0b".repeat(32)}`);
    const other = new RunStates(spec, otherKey, initialWeights(layout, key), 0);
    const substituted: StateSource = {
      spec,
      key,
      thetaRoot: (step) => other.thetaRoot(step),
      tensors: (step) => other.tensors(step),
      foldAccs: (step, ref) => other.foldAccs(step, ref),
    };
    const id = await open(f, substituted);
    const { winner } = await play(f, id, substituted, { source: honest });
    expect(winner).to.equal(f.challenger.address);
    expect((await f.game.getEvents.SlotPicked({ id }, { fromBlock: 0n }))[0].args.slot).to.equal(1);
    expect((await f.game.getEvents.GameResolved({ id }))[0].args.reason).to.equal("element");
  });

  it("an honest trainer does not accept a claim whose data is not its run's", async () => {
    // The game decides X, TS and LBL from the claim's key: accepting another key would let a
    // challenger win on the data slots against an honest run.
    const hash = await openDispute(f.challenger.ctx, {
      defender: f.defender.address,
      claim: {
        spec,
        firstStep: 0,
        steps: STEPS,
        startRoot: honest.thetaRoot(0),
        endRoot: honest.thetaRoot(STEPS),
        key: deriveKey(spec, `0x${"0c".repeat(32)}`),
      },
    });
    await f.publicClient.waitForTransactionReceipt({ hash });
    const view = await getDispute(f.defender.ctx, { id: (await f.game.read.gameCount()) as bigint });
    await rejects(nextDisputeMove(f.defender.ctx, view, honest, f.defender.address), /is not this run's/);
  });

  describe("engine version 2: the batch is the permuted dataset examples, proven against the root", () => {
    // 37 training examples of 6 features, 3 classes
    const dataset = syntheticDataset(37, 8, 6, 3, 5, 8);
    const v2 = v2Spec(dataset, {
      hidden: [10],
      batchSize: 4,
      steps: 8,
      checkpointInterval: 4,
      lrShift: 2,
      evalSize: 4,
    });
    const v2Key = deriveKey(v2, seed);
    const honestV2 = new RunStates(v2, v2Key, initialWeights(modelLayout(v2), v2Key), 0, dataset);

    it("a trainer that swapped a batch row for another example loses", async () => {
      // the example row 2 of step 1 reads, swapped with another whose label differs
      const a = honestV2.trace(1).examples[2];
      const b = [...Array(37).keys()].find((n) => dataset.train.labels[n] !== dataset.train.labels[a])!;
      const inputs = dataset.train.inputs.slice();
      const labels = dataset.train.labels.slice();
      const f6 = (n: number) => dataset.train.inputs.subarray(6 * n, 6 * n + 6);
      inputs.set(f6(b), 6 * a);
      inputs.set(f6(a), 6 * b);
      [labels[a], labels[b]] = [labels[b], labels[a]];
      const swapped = {
        train: { ...dataset.train, count: 37, features: 6, inputs, labels },
        eval: dataset.eval,
      };
      const liar = new RunStates(v2, v2Key, initialWeights(modelLayout(v2), v2Key), 0, swapped);
      const id = await open(f, liar, honestV2);
      const { winner } = await play(f, id, liar, { source: honestV2 });
      expect(winner).to.equal(f.challenger.address);
      expect((await f.game.getEvents.SlotPicked({ id }, { fromBlock: 0n }))[0].args.slot).to.equal(1);
    });

    it("a challenger that disputes the honest trainer's inputs or labels loses", async () => {
      for (const slot of [1, 3]) {
        const id = await open(f, honestV2, honestV2);
        const { winner } = await play(f, id, honestV2, {
          source: honestV2,
          rand: seeded(slot),
          run: honestV2,
          slots: [slot],
        });
        expect(winner).to.equal(f.defender.address);
        expect((await f.game.getEvents.GameResolved({ id }))[0].args.reason).to.equal("element");
      }
    });
  });

  it("pays the bonds even when Staking refuses the slash (the losing defender is not an operator)", async () => {
    const [, , , outsider] = await f.viem.getWalletClients();
    await f.token.write.transfer([outsider.account.address, parseEther("100")]);
    const token = await f.viem.getContractAt("PoAIToken", f.token.address, { client: { wallet: outsider } });
    await token.write.approve([f.game.address, maxUint256]);
    const liar = new LyingTrainer(1, 4, 30, 1, 7, 0, 0n);
    const hash = await openDispute(f.challenger.ctx, {
      defender: outsider.account.address,
      claim: {
        spec,
        firstStep: 0,
        steps: STEPS,
        startRoot: honest.thetaRoot(0),
        endRoot: liar.thetaRoot(STEPS),
        key,
      },
    });
    await f.publicClient.waitForTransactionReceipt({ hash });
    const id = (await f.game.read.gameCount()) as bigint;
    const outsiderParty = {
      address: getAddress(outsider.account.address),
      ctx: { ...f.defender.ctx, walletClient: outsider },
    };
    const before = await f.token.read.balanceOf([f.challenger.address]);
    const { winner } = await play({ ...f, defender: outsiderParty }, id, liar, { source: honest });
    expect(winner).to.equal(f.challenger.address);
    expect(await f.token.read.balanceOf([f.challenger.address])).to.equal(before + 2n * BOND);
    expect((await f.game.getEvents.SlashRefused({ id })).length).to.equal(1);
  });

  it("a party that lets its deadline pass loses: a silent trainer forfeits its claim", async () => {
    const id = await open(f, honest);
    await rejects(timeoutDispute(f.challenger.ctx, { id }), /DeadlineNotPassed/);
    const before = await f.token.read.balanceOf([f.challenger.address]);
    await f.networkHelpers.time.increase(601);
    const hash = await timeoutDispute(f.challenger.ctx, { id });
    await f.publicClient.waitForTransactionReceipt({ hash });
    const view = await getDispute(f.challenger.ctx, { id });
    expect(view.phase).to.equal("Resolved");
    expect(view.winner).to.equal(f.challenger.address);
    // no acceptance: the challenger's own bond comes back, nothing more
    expect(await f.token.read.balanceOf([f.challenger.address])).to.equal(before + BOND);
    await rejects(timeoutDispute(f.challenger.ctx, { id }), /WrongPhase/);
  });

  it("a silent challenger loses mid-game, and the trainer takes both bonds", async () => {
    const id = await open(f, honest);
    const before = await f.token.read.balanceOf([f.defender.address]);
    // accept, then the first step root: the challenger must answer
    for (let k = 0; k < 2; k++) {
      const view = await getDispute(f.defender.ctx, { id });
      const move = (await nextDisputeMove(f.defender.ctx, view, honest, f.defender.address))!;
      await f.publicClient.waitForTransactionReceipt({ hash: await sendDisputeMove(f.defender.ctx, move) });
    }
    expect((await getDispute(f.defender.ctx, { id })).mover).to.equal(f.challenger.address);
    await f.networkHelpers.time.increase(601);
    await f.publicClient.waitForTransactionReceipt({ hash: await timeoutDispute(f.defender.ctx, { id }) });
    expect((await getDispute(f.defender.ctx, { id })).winner).to.equal(f.defender.address);
    expect(await f.token.read.balanceOf([f.defender.address])).to.equal(before - BOND + 2n * BOND);
  });

  it("refuses a move out of turn, after its deadline, or with a forged leaf or proof", async () => {
    const liar = new LyingTrainer(0, slots.length - 1, 9, 0, 0, 0, 0n);
    const id = await open(f, liar);
    // the challenger cannot accept for the trainer
    await rejects(sendDisputeMove(f.challenger.ctx, { functionName: "accept", args: [id] }), /NotYourMove/);
    await f.publicClient.waitForTransactionReceipt({
      hash: await sendDisputeMove(f.defender.ctx, { functionName: "accept", args: [id] }),
    });
    // children that do not hash to the disputed node
    let view = await getDispute(f.defender.ctx, { id });
    while (view.phase !== "Children") {
      const isDefender = view.mover.toLowerCase() === f.defender.address.toLowerCase();
      const party = isDefender ? f.defender : f.challenger;
      const move = (await nextDisputeMove(party.ctx, view, isDefender ? liar : honest, party.address))!;
      await f.publicClient.waitForTransactionReceipt({ hash: await sendDisputeMove(party.ctx, move) });
      view = await getDispute(f.defender.ctx, { id });
    }
    const zero = `0x${"00".repeat(32)}` as Hex;
    await rejects(
      sendDisputeMove(f.defender.ctx, { functionName: "revealChildren", args: [id, zero, zero] }),
      /BadChildren/,
    );
    await f.networkHelpers.time.increase(601);
    const move = (await nextDisputeMove(f.defender.ctx, view, liar, f.defender.address))!;
    await rejects(sendDisputeMove(f.defender.ctx, move), /DeadlinePassed/);
  });

  it("refuses a pick of a subtree past the slot's last leaf", async () => {
    // Naive code lets a lying challenger descend into an empty subtree (its hash is 0): the honest
    // trainer can reveal no leaf there and loses on its deadline.
    const id = await open(f, honest);
    const defenderMove = async () => {
      const view = await getDispute(f.defender.ctx, { id });
      const move = (await nextDisputeMove(f.defender.ctx, view, honest, f.defender.address))!;
      await f.publicClient.waitForTransactionReceipt({ hash: await sendDisputeMove(f.defender.ctx, move) });
    };
    const challengerMove = async (functionName: string, ...args: unknown[]) =>
      f.publicClient.waitForTransactionReceipt({
        hash: await sendDisputeMove(f.challenger.ctx, { functionName, args: [id, ...args] }),
      });
    await defenderMove(); // accept
    for (let k = 0; k < 2; k++) {
      await defenderMove();
      await challengerMove("chooseStep", true);
    }
    await defenderMove(); // the step's roots
    await challengerMove("pickSlot", honest.tensors(STEPS - 1).roots, thetaOut);
    // Θ_out: 7,298 bytes, 54 leaves under a tree of height 6; right, right, right is leaves 56..63
    await defenderMove();
    await challengerMove("pickChild", true);
    await defenderMove();
    await challengerMove("pickChild", true);
    await defenderMove();
    await rejects(
      sendDisputeMove(f.challenger.ctx, { functionName: "pickChild", args: [id, true] }),
      /EmptySubtree/,
    );
    await challengerMove("pickChild", false);
  });

  it("a root with a non-empty subtree past the slot's last leaf loses when the challenger picks it", async () => {
    // Naive code refuses every pick past the last leaf: a trainer then commits a root whose real
    // leaves are all honest and hides its difference in an empty subtree, and the honest challenger
    // (whose only differing child is that one) cannot move and loses.
    const last = STEPS - 1;
    const tree = honest.tensors(last).tree(thetaOut); // 54 leaves, height 6
    const fake = new Map<string, Hex>();
    let node: Hex = keccak256(toHex("hidden"));
    fake.set("3:7", node);
    for (let k = 3, i = 7; k < tree.depth; k++, i >>= 1) {
      const sibling = bytesToHex(tree.node(k, i ^ 1));
      node = keccak256(concat(i & 1 ? [sibling, node] : [node, sibling]));
      fake.set(`${k + 1}:${i >> 1}`, node);
    }
    const nodeOf = (k: number, i: number) => fake.get(`${k}:${i}`) ?? bytesToHex(tree.node(k, i));
    const roots = [...honest.tensors(last).roots];
    roots[thetaOut] = nodeOf(tree.depth, 0);
    const forgedTree = {
      children: (k: number, i: number) => [nodeOf(k - 1, 2 * i), nodeOf(k - 1, 2 * i + 1)],
    };
    const trainer: StateSource = {
      spec,
      thetaRoot: (step) => (step === STEPS ? roots[thetaOut] : honest.thetaRoot(step)),
      tensors: (step) =>
        step === last ? ({ roots, tree: () => forgedTree } as unknown as StateTensors) : honest.tensors(step),
      foldAccs: (step, ref) => honest.foldAccs(step, ref),
    };
    const id = await open(f, trainer);
    const { winner } = await play(f, id, trainer, { source: honest });
    expect(winner).to.equal(f.challenger.address);
    const resolved = await f.game.getEvents.GameResolved({ id });
    expect(resolved[0].args.reason).to.equal("empty subtree");
  });

  it("refuses to open a game on an invalid claim, naming the field", async () => {
    await rejects(
      sendDisputeMove(f.challenger.ctx, {
        functionName: "open",
        args: [
          f.defender.address,
          {
            spec: { widths: [20], batchSize: 6, lrShift: 3, version: 1 },
            firstStep: 0,
            steps: 4,
            startRoot: honest.thetaRoot(0),
            endRoot: honest.thetaRoot(4),
            data: claimData(spec, key),
          },
        ],
      }),
      /InvalidClaim/,
    );
  });
});
