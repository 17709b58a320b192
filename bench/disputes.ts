/**
 * Dispute game benchmark: moves, gas and wall time of whole games on the in-process chain, both
 * parties played by the SDK (`playDispute`'s move logic), an honest challenger against a trainer
 * that forged one activation of its widest layer in the last step of the claim, so that the game
 * goes through every level: steps, the step's slots, the slot's tree, the fold's chunks, and the
 * one chunk re-executed on chain.
 *
 * Rows: the test spec at 16 and 256 steps (growth with the run's length), the reference spec, and a
 * version 1 spec of the MNIST model's shape (784-128-10, batch 32). The one-step proof's gas is the
 * last move; at the engine's largest width (65,536) a chunk still reads 64 elements of each
 * operand, so it differs from the measured ones only by its proofs' depth, given by the formula
 * row (`oneStepAtMaxWidth`), from the measured gas per proof level.
 *
 * Inference games (`runInferenceDisputesBench`, BENCH=inference-disputes, also run by
 * BENCH=disputes): PoAIVerifier.disputeByGame on a node's forged delivery, for the reference and
 * MNIST shapes and a model at the engine's largest width (65,536), written under `inference`.
 *
 * Data slots (`runDataSlotsBench`, BENCH=dispute-data, also run by BENCH=disputes): games that end
 * on the rule of X, TS or LBL, written under `dataSlots`.
 *
 * Games bound to a challenge and defences (`bench/disputes-bound.ts`, BENCH=bound-disputes) and
 * games opened at a sampled step against `openBound` (`bench/disputes-step.ts`,
 * BENCH=step-disputes) are also run by BENCH=disputes, written under `bound` and `stepGame`.
 *
 * Writes bench/results/disputes.json.   BENCH=disputes npm run bench
 */
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { keccak256, maxUint256, parseEther, type Address, type Hex } from "viem";
import { getDispute, nextDisputeMove, openDispute, sendDisputeMove } from "../sdk/src/actions/disputes.js";
import type { PoAIContext } from "../sdk/src/context.js";
import {
  deriveKey,
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
  loadFastKeccak,
  modelLayout,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import {
  ForgedInference,
  INFERENCE_PHASES,
  InferenceStates,
  inferenceMove,
  inferenceSpec,
  type InferenceGameView,
} from "../sdk/src/compute/state/inference-game.js";
import { deployInferenceGame } from "../scripts/lib/deploy-verifier.js";
import { PAYMENT, containerIdOf, deployVerifierWorld } from "../test/infernet/helpers/verifier-world.js";
import { initialWeights } from "../sdk/src/compute/reference.js";
import { RunStates, type StateSource } from "../sdk/src/compute/state/game.js";
import type { EngineData } from "../sdk/src/compute/backend.js";
import { syntheticDataset } from "../test/engine/datasets.js";
import { ForgedRun } from "../sdk/src/compute/state/forged.js";
import { actSlot, trainingSlots } from "../sdk/src/compute/state/layout.js";
import { deployStaking } from "../scripts/lib/deploy.js";
import { deployDisputeGame } from "../scripts/lib/deploy-disputes.js";

const BOND = parseEther("10");
const seed: Hex = `0x${"be9c".repeat(16)}`;

interface Row {
  spec: string;
  parameters: number;
  steps: number;
  moves: number;
  totalGas: number;
  maxMoveGas: number;
  oneStepGas: number;
  oneStepMove: string;
  proofDepth: number;
  wallSeconds: number;
  /** The one-step move's calldata: bytes, nonzero bytes, and EIP-7623's floor 21,000 + 10 · tokens. */
  oneStepCalldata?: { bytes: number; nonzero: number; floorGas: number };
}

/** EIP-7623: tokens = zero bytes + 4 · nonzero bytes; a transaction pays at least 21,000 + 10 · tokens. */
function calldataFloor(input: Hex): { bytes: number; nonzero: number; floorGas: number } {
  let nonzero = 0;
  const bytes = (input.length - 2) / 2;
  for (let i = 2; i < input.length; i += 2) if (input.slice(i, i + 2) !== "00") nonzero++;
  return { bytes, nonzero, floorGas: 21_000 + 10 * (bytes - nonzero + 4 * nonzero) };
}

const base = { steps: 1 << 20, checkpointInterval: 1 << 10, evalSize: 16 };
const SPECS: { name: string; spec: TrainingSpec; steps: number }[] = [
  {
    name: "test 20-140-5, batch 6",
    spec: { version: 1, widths: [20, 140, 5], batchSize: 6, lrShift: 3, ...base },
    steps: 16,
  },
  {
    name: "test 20-140-5, batch 6",
    spec: { version: 1, widths: [20, 140, 5], batchSize: 6, lrShift: 3, ...base },
    steps: 256,
  },
  {
    name: "reference 64-128-128-10, batch 32",
    spec: { version: 1, widths: [64, 128, 128, 10], batchSize: 32, lrShift: 4, ...base },
    steps: 64,
  },
  {
    name: "MNIST shape 784-128-10, batch 32 (version 1)",
    spec: { version: 1, widths: [784, 128, 10], batchSize: 32, lrShift: 4, ...base },
    steps: 64,
  },
];

/** Where the forger lies (default: an activation of the widest layer, with a fold lie from chunk 1). */
interface ForgeAt {
  slot: number;
  byte: number;
  cut: number;
  delta: bigint;
}

async function playOne(
  name: string,
  spec: TrainingSpec,
  steps: number,
  at?: ForgeAt,
  data?: EngineData,
): Promise<Row> {
  const { viem } = await network.create();
  const [, challenger, defender] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const s = await deployStaking(viem);
  const game = await deployDisputeGame(viem, {
    token: s.token.address,
    moveTimeout: 600n,
    bond: BOND,
    staking: s.staking.address,
  });
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
    await s.token.write.transfer([w.account.address, parseEther("1000")]);
    const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
    await token.write.approve([game.address, maxUint256]);
  }
  const key = deriveKey(spec, seed);
  const layout = modelLayout(spec);
  const honest = new RunStates(spec, key, initialWeights(layout, key), 0, data);
  // the widest hidden layer's activations of the last step: a fold with the most chunks
  let widest = 1;
  for (let l = 1; l < spec.widths.length - 1; l++)
    if (spec.widths[l - 1] > spec.widths[widest - 1]) widest = l;
  const forged = new ForgedRun(honest, {
    step: steps - 1,
    slot: at?.slot ?? actSlot(widest),
    byte: at?.byte ?? 3,
    bit: 6,
    parameter: 5,
    cut: at?.cut ?? 1,
    delta: at?.delta ?? 1000n,
  });
  const parties: { address: Address; ctx: PoAIContext; source: StateSource }[] = [
    { address: challenger.account.address, ctx: ctxOf(challenger), source: honest },
    { address: defender.account.address, ctx: ctxOf(defender), source: forged },
  ];
  const started = performance.now();
  const openHash = await openDispute(parties[0].ctx, {
    defender: defender.account.address,
    claim: {
      spec,
      firstStep: 0,
      steps,
      startRoot: honest.thetaRoot(0),
      endRoot: forged.thetaRoot(steps),
      key,
    },
  });
  let totalGas = (await publicClient.waitForTransactionReceipt({ hash: openHash })).gasUsed;
  const id = (await game.read.gameCount()) as bigint;
  let moves = 1;
  let maxMoveGas = totalGas;
  let last = { gas: 0n, fn: "", hash: "0x" as Hex };
  for (;;) {
    const view = await getDispute(parties[0].ctx, { id });
    if (view.phase === "Resolved") {
      if (view.winner.toLowerCase() !== challenger.account.address.toLowerCase())
        throw new Error(`${name}: the honest challenger lost`);
      break;
    }
    const party = parties.find((p) => p.address.toLowerCase() === view.mover.toLowerCase())!;
    const move = (await nextDisputeMove(party.ctx, view, party.source, party.address))!;
    const hash = await sendDisputeMove(party.ctx, move);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    totalGas += receipt.gasUsed;
    if (receipt.gasUsed > maxMoveGas) maxMoveGas = receipt.gasUsed;
    last = { gas: receipt.gasUsed, fn: move.functionName, hash };
    moves++;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const thetaBytes = trainingSlots(spec)[0].length;
  return {
    spec: name,
    parameters: layout.parameterCount,
    steps,
    moves,
    totalGas: Number(totalGas),
    maxMoveGas: Number(maxMoveGas),
    oneStepGas: Number(last.gas),
    oneStepMove: last.fn,
    proofDepth: Math.ceil(Math.log2(Math.ceil(thetaBytes / 136))),
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    oneStepCalldata: calldataFloor((await publicClient.getTransaction({ hash: last.hash })).input),
  };
}

export async function runDisputesBench(): Promise<void> {
  await loadFastKeccak();
  const rows: Row[] = [];
  for (const { name, spec, steps } of SPECS) {
    const row = await playOne(name, spec, steps);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  // Growth with the run's length: the same spec at 16 and 256 steps differs by 4 step bisections.
  const [short, long] = rows;
  const perStepLevel = (long.totalGas - short.totalGas) / Math.log2(long.steps / short.steps);
  // The one-step proof at the largest width: a chunk's operands are two proofs per leaf (at most
  // four leaves); each proof level adds a 32-byte sibling and a keccak. Per level, measured between
  // the reference and the MNIST-shaped rows' chunk proofs:
  const [ref, mnist] = [rows[2], rows[3]];
  const perLevel = (mnist.oneStepGas - ref.oneStepGas) / Math.max(1, mnist.proofDepth - ref.proofDepth);
  const maxDepth = Math.ceil(Math.log2(Math.ceil((8 + 2 * 2 ** 26) / 136)));
  const oneStepAtMaxWidth = Math.round(mnist.oneStepGas + perLevel * (maxDepth - mnist.proofDepth));
  const results = {
    measured:
      "in-process EDR chain (hardhat network.create), gasUsed of each transaction; wall time of the whole game with both parties played by the SDK",
    rows,
    gasPerStepBisectionLevel: Math.round(perStepLevel),
    oneStepGasPerProofLevel: Math.round(perLevel),
    oneStepAtMaxWidth: {
      proofDepth: maxDepth,
      gas: oneStepAtMaxWidth,
      how: "MNIST-shaped row's one-step gas + gas per proof level x extra levels (a 2^26-parameter Θ slot)",
    },
  };
  await writeFile(
    new URL("./results/disputes.json", import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.table(rows);
  console.log(results.oneStepAtMaxWidth, { gasPerStepBisectionLevel: results.gasPerStepBisectionLevel });
}

// --- data slots -------------------------------------------------------------------------------

/**
 * Games that end on a data slot's rule (BENCH=dispute-data, written under `dataSlots`): the forger
 * lies about one element of X, TS or LBL in the last step of the claim (with a lie in the fold's
 * accumulators from chunk 1 on), so the last move is the data rule re-executed on chain: an input
 * byte re-derived with Philox (version 1), a teacher-score chunk (64 inputs, the teacher row's chunk
 * derived with Philox: four blocks), an argmax chunk (32 scores), or a dataset example proven
 * against the training root after the keyed permutation picks it (version 2).
 */
export async function runDataSlotsBench(): Promise<void> {
  await loadFastKeccak();
  const ref = SPECS[2];
  const mnist = SPECS[3];
  const shape = (count: number) => syntheticDataset(count, 16, 784, 10, 3);
  const v2 = (data: ReturnType<typeof shape>): TrainingSpec => ({
    version: 2,
    widths: [784, 128, 10],
    batchSize: 32,
    lrShift: 4,
    ...base,
    evalSize: 16,
    dataset: data.ref,
  });
  const small = shape(1024);
  const large = shape(16384);
  // the engine's largest input width: 65,536 random int8 features an example (nonzero but for
  // about 1 in 256), 256 training examples, a 65536-8-10 model, batch 8
  const WIDE = 65_536;
  const wide = syntheticDataset(256, 16, WIDE, 10, 5);
  const wideSpec: TrainingSpec = {
    version: 2,
    widths: [WIDE, 8, 10],
    batchSize: 8,
    lrShift: 4,
    ...base,
    evalSize: 16,
    dataset: wide.ref,
  };
  const cases: { name: string; spec: TrainingSpec; at: ForgeAt; data?: EngineData; steps?: number }[] = [
    { name: `${ref.name}: X (input)`, spec: ref.spec, at: { slot: 1, byte: 70, cut: 0, delta: 0n } },
    {
      name: `${ref.name}: TS (teacher chunk)`,
      spec: ref.spec,
      at: { slot: 2, byte: 41, cut: 1, delta: 1000n },
    },
    { name: `${ref.name}: LBL (argmax chunk)`, spec: ref.spec, at: { slot: 3, byte: 8, cut: 1, delta: 1n } },
    { name: `${mnist.name}: X (input)`, spec: mnist.spec, at: { slot: 1, byte: 900, cut: 0, delta: 0n } },
    {
      name: `${mnist.name}: TS (teacher chunk)`,
      spec: mnist.spec,
      at: { slot: 2, byte: 41, cut: 1, delta: 1000n },
    },
    {
      name: "MNIST shape 784-128-10, batch 32 (version 2, 1,024 examples): X",
      spec: v2(small),
      at: { slot: 1, byte: 900, cut: 0, delta: 0n },
      data: small,
    },
    {
      name: "MNIST shape 784-128-10, batch 32 (version 2, 16,384 examples): X",
      spec: v2(large),
      at: { slot: 1, byte: 900, cut: 0, delta: 0n },
      data: large,
    },
    {
      name: "MNIST shape 784-128-10, batch 32 (version 2, 16,384 examples): LBL",
      spec: v2(large),
      at: { slot: 3, byte: 8, cut: 0, delta: 0n },
      data: large,
    },
    {
      name: "largest width 65536-8-10, batch 8 (version 2, 256 examples): X (feature 65,000 of row 5)",
      spec: wideSpec,
      at: { slot: 1, byte: 5 * WIDE + 65_000, cut: 0, delta: 0n },
      data: wide,
      steps: 16,
    },
    {
      name: "largest width 65536-8-10, batch 8 (version 2, 256 examples): LBL",
      spec: wideSpec,
      at: { slot: 3, byte: 8, cut: 0, delta: 0n },
      data: wide,
      steps: 16,
    },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const row = await playOne(c.name, c.spec, c.steps ?? 64, c.at, c.data);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  const file = new URL("./results/disputes.json", import.meta.url);
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  // Before the features tree, a version 2 check sent the whole example (label, then every feature):
  // its calldata alone at the largest width, by EIP-7623's floor (formula, for comparison).
  const wholeExample = 2 + WIDE;
  const wholeNonzero = Math.round(2 + (WIDE * 255) / 256);
  results.dataSlots = {
    measured:
      "in-process EDR chain, gasUsed of each transaction; an honest challenger against a trainer that forged one element of a data slot in the last of 64 steps (16 at the largest width) (and the fold's accumulators from chunk 1 on); oneStepGas is the last move, the data rule re-executed (pickElement for X and version 2 LBL, proveChunk for TS and version 1 LBL); oneStepCalldata is that move's calldata with EIP-7623's floor 21,000 + 10 x (zero bytes + 4 x nonzero bytes); wall time of the whole game on a shared 2-core machine",
    rows,
    wholeExampleAtLargestWidth: {
      exampleBytes: wholeExample,
      floorGas: 21_000 + 10 * (wholeExample - wholeNonzero + 4 * wholeNonzero),
      how: "formula: the example alone (label and 65,536 random features, 255 in 256 nonzero) as calldata under EIP-7623's floor; what a version 2 check cost before the features tree",
    },
  };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.table(rows);
}

// --- inference games ----------------------------------------------------------------------------

interface InferenceRow {
  model: string;
  parameters: number;
  forged: string;
  moves: number;
  openGas: number;
  totalGas: number;
  maxMoveGas: number;
  oneStepGas: number;
  oneStepMove: string;
  thetaProofDepth: number;
  wallSeconds: number;
}

const INFERENCE_MODELS: { name: string; widths: number[]; slot: number }[] = [
  { name: "reference shape 64-128-128-10", widths: [64, 128, 128, 10], slot: 3 },
  { name: "MNIST shape 784-128-10", widths: [784, 128, 10], slot: 2 },
  {
    name: "largest width 64-65536-10, forged output (fold of 1,024 chunks)",
    widths: [64, 65_536, 10],
    slot: 3,
  },
  {
    name: "largest width 64-65536-10, forged hidden activation (tree depth 9)",
    widths: [64, 65_536, 10],
    slot: 2,
  },
];

/**
 * One inference game through PoAIVerifier.disputeByGame: a node delivers an output whose forward
 * pass it forged at one activation of `slot` (later layers computed from the forged one), an honest
 * challenger disputes it, both parties played by the SDK's `inferenceMove`.
 */
async function playInference(name: string, widths: number[], slot: number): Promise<InferenceRow> {
  const conn = await network.create();
  const w = await deployVerifierWorld(conn);
  const game = await deployInferenceGame(conn.viem, { token: w.token.address, verifier: w.verifier });
  const spec = inferenceSpec(widths);
  const count = modelLayout(spec).parameterCount;
  let x = 0x2545f491;
  const weights = Int16Array.from({ length: count }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return ((x >>> 16) % 4000) - 2000;
  });
  const checkpoint = encodeCheckpoint(spec, { step: 0, weights });
  const input = Int8Array.from({ length: widths[0] }, (_, i) => ((i * 37 + 11) % 255) - 127);
  const honest = new InferenceStates(widths, checkpoint, new Uint8Array(input.buffer));
  const honestY = Int8Array.from(honest.trace.acts[widths.length - 1]);
  let forged: ForgedInference | undefined;
  for (let bit = 0; bit < 8 && !forged; bit++) {
    const f = new ForgedInference(honest, { slot, byte: 3, bit, cut: 1, delta: 1000n });
    if (f.y.some((v, c) => v !== honestY[c])) forged = f;
  }
  if (!forged) throw new Error(`${name}: no single-bit forgery of slot ${slot} changes the output`);
  const container = `bench-${widths.join("x")}-${slot}`;
  const containerId = containerIdOf(container);
  const registry = await w.as("ModelRegistry", w.models.address, w.trainer);
  await registry.write.registerModel([container, widths, keccak256(checkpoint)]);
  await registry.write.setParameterRoot([containerId, honest.tensors.roots[0]]);
  const { result: sub } = await w.coordinator.simulate.createSubscription([
    w.consumer.address,
    containerId,
    1,
    w.verifier.address,
    PAYMENT,
  ]);
  await w.coordinator.write.createSubscription(
    [w.consumer.address, containerId, 1, w.verifier.address, PAYMENT],
    {
      value: PAYMENT,
    },
  );
  await w.consumer.write.setInputs([sub, encodeInferenceInput(input)]);
  const y = forged.y;
  const label = y.reduce((best, v, c) => (v > y[best] ? c : best), 0);
  const output = encodeInferenceOutput({ output: y, label });
  await w.deliver(w.node, sub, encodeInferenceInput(input), output);
  const [, , challenger] = w.outsiders;
  for (const who of [challenger, w.node]) {
    const token = await conn.viem.getContractAt("PoAIToken", w.token.address, {
      client: { wallet: who.wallet },
    });
    await token.write.approve([game.address, maxUint256]);
  }
  const publicClient = await conn.viem.getPublicClient();
  const started = performance.now();
  const verifier = await w.as("PoAIVerifier", w.verifier.address, challenger);
  const openHash = await verifier.write.disputeByGame([
    sub,
    1,
    w.node.address,
    containerId,
    encodeInferenceInput(input),
    output,
  ]);
  const openGas = (await publicClient.waitForTransactionReceipt({ hash: openHash })).gasUsed;
  const id = await game.read.gameCount();
  const as = {
    node: await conn.viem.getContractAt("InferenceDisputeGame", game.address, {
      client: { wallet: w.node.wallet },
    }),
    challenger: await conn.viem.getContractAt("InferenceDisputeGame", game.address, {
      client: { wallet: challenger.wallet },
    }),
  };
  let roots: Hex[] | undefined;
  let leaf: Hex | undefined;
  let [moves, totalGas, maxMoveGas] = [1, openGas, openGas];
  let last = { gas: 0n, fn: "" };
  for (;;) {
    const mover = await game.read.moverOf([id]);
    if (mover === "0x0000000000000000000000000000000000000000") break;
    const g = await game.read.gameOf([id]);
    const view: InferenceGameView = { ...g, id, phase: INFERENCE_PHASES[g.phase], roots, leaf };
    const isNode = mover.toLowerCase() === w.node.address.toLowerCase();
    const move = inferenceMove(view, isNode ? forged : honest);
    if (move.functionName === "postState") roots = move.args[1];
    if (move.functionName === "revealLeaf") leaf = move.args[1];
    const contract = isNode ? as.node : as.challenger;
    const hash = await (contract.write[move.functionName] as (a: readonly unknown[]) => Promise<Hex>)(
      move.args,
    );
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    totalGas += receipt.gasUsed;
    if (receipt.gasUsed > maxMoveGas) maxMoveGas = receipt.gasUsed;
    last = { gas: receipt.gasUsed, fn: move.functionName };
    moves++;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const winner = (await game.read.gameOf([id])).winner;
  if (winner.toLowerCase() !== challenger.address.toLowerCase())
    throw new Error(`${name}: the honest challenger lost`);
  return {
    model: name,
    parameters: count,
    forged: `A_${slot - 1}`,
    moves,
    openGas: Number(openGas),
    totalGas: Number(totalGas),
    maxMoveGas: Number(maxMoveGas),
    oneStepGas: Number(last.gas),
    oneStepMove: last.fn,
    thetaProofDepth: honest.tensors.tree(0).depth,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
  };
}

/** Inference game rows, written under `inference` in bench/results/disputes.json. */
export async function runInferenceDisputesBench(): Promise<void> {
  await loadFastKeccak();
  const rows: InferenceRow[] = [];
  for (const { name, widths, slot } of INFERENCE_MODELS) {
    const row = await playInference(name, widths, slot);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  const file = new URL("./results/disputes.json", import.meta.url);
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  results.inference = {
    measured:
      "in-process EDR chain, PoAIVerifier.disputeByGame then every move's gasUsed; an honest challenger against a node that forged one activation (later layers consistent with it) and the forged element's accumulators from chunk 1 on; wall time of the whole game, both parties played by the SDK, on a shared 2-core machine",
    rows,
  };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.table(rows);
}
