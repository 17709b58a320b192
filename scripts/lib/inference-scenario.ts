/**
 * The devnet's inference stage: a consumer dApp buys classifications from the staked trainers.
 *
 * 1. Deploys the marketplace over the devnet's network (`deployInference`: ModelRegistry,
 *    Coordinator with its Inbox, WalletFactory and Reader, PoAIVerifier as a Staking slasher; the
 *    Coordinator reports usage fees to the RewardDistributor).
 * 2. The model: the honest trainer's final checkpoint of the devnet's last round (MNIST, a Valid
 *    challenge), registered with its Merkle proof under the committed root (`registerTrainedModel`:
 *    a model bound to a valid challenge earns royalties) when the devnet has one; otherwise the
 *    first honest trainer trains a small model and registers it, and governance approves its
 *    royalties (a model not bound to a challenge earns none until it does). With the MNIST model
 *    the dApp classifies real digit images from the held-out set.
 * 3. The dApp deploys the example consumers (ClassifierConsumer, RecurringPredictor) and funds a
 *    payment Wallet in the staking token.
 * 4. Every honest trainer runs an InferenceNode (in-process, ticked here) with the built-in PoAI
 *    container; a rogue trainer registered for the scenario runs one whose container lies.
 * 5. The dApp asks for several classifications (served in turn by the honest nodes), one verified
 *    classification that the rogue node answers wrongly, and one recurring prediction over three
 *    intervals (chain time advanced a period at a time).
 * 6. The wrong answer is recomputed off chain and disputed with the model's checkpoint: the rogue
 *    node is slashed and jailed and the dApp refunded. The usage fees are flushed into the
 *    RewardDistributor, split between node pools, the model's trainer (royalties) and the protocol.
 */
import {
  checkOutput,
  classifierConsumerAbi,
  containerIdOf,
  createPoAIClient,
  rewardDistributorAbi,
  stakingAbi,
  type PoAIClient,
  type PoAIDeployment,
} from "@poai/sdk";
import {
  REFERENCE_SEED,
  byteTreeRoot,
  decodeInferenceOutput,
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  train,
  type TrainingSpec,
} from "@poai/sdk/compute";
import {
  InferenceNode,
  PoAIModelContainer,
  type ContainerDelivery,
  type ContainerJob,
  type ResolvedPipeline,
} from "@poai/node";
import {
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  parseEventLogs,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { deployInference } from "./deploy-inference.js";
import type { DevnetUi, DevnetWorld, WalletClient } from "./devnet/run.js";
import { fmt, short, type InferenceSummary } from "./devnet/report.js";
import { digitArt } from "./devnet/mnist.js";

/** The model the dApp buys from when the devnet has no trained MNIST model: a small spec of the reference family. */
export const SCENARIO_MODEL = "poai-devnet-classifier";
export const SMALL_SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
export const SCENARIO_PRICE = parseEther("5");
const RECURRING_PERIOD = 60;
const RECURRING_INTERVALS = 3;
const CLASSIFICATIONS = 4;
const ROGUE_STAKE = parseEther("2000");

/** A node whose container lies: each output is the model's with its first score moved by one. */
class LyingInferenceNode extends InferenceNode {
  protected override async runContainer(c: ResolvedPipeline, job: ContainerJob): Promise<ContainerDelivery> {
    const honest = await super.runContainer(c, job);
    const bytes = Buffer.from(honest.output.slice(2), "hex");
    bytes[4] = bytes[4] === 127 ? 126 : (bytes[4]! + 1) & 0xff;
    return { ...honest, output: `0x${bytes.toString("hex")}` as Hex };
  }
}

const addr = (w: WalletClient): Address => getAddress(w.account!.address);

/** A deterministic int8 input vector for request `i` of the small model. */
function smallInput(i: number): Int8Array {
  return Int8Array.from({ length: SMALL_SPEC.widths[0]! }, (_, j) => ((i * 37 + j * 23) % 200) - 100);
}

export async function runInferenceScenario(world: DevnetWorld, ui: DevnetUi): Promise<InferenceSummary> {
  const { viem, networkHelpers, deployed: d } = world;
  const publicClient = await viem.getPublicClient();
  const startBlock = await publicClient.getBlockNumber();
  const lines: string[] = [];

  // --- 1. contracts ------------------------------------------------------------------------------
  const inf = await deployInference(viem, d, { verifier: { disputeWindow: 600, jail: true } });
  const deployment: PoAIDeployment = {
    ...world.deployment,
    contracts: { ...world.deployment.contracts, ...inf.contracts },
  };
  const clientOf = (w: WalletClient): PoAIClient =>
    createPoAIClient({ publicClient, walletClient: w, deployment });
  const mined = async (c: PoAIClient, send: Promise<Hex>) => c.waitForTransaction(await send);
  ui.step("Inference marketplace deployed", [
    `Coordinator ${inf.coordinator.address}, ModelRegistry ${inf.models.address}`,
    `PoAIVerifier ${inf.verifier.address} (dispute window ${inf.verifierParams.disputeWindow} s, slashes ${Number((inf.verifierParams.slashFraction * 10_000n) / 10n ** 18n) / 100}% of a wrong node's stake)`,
  ]);

  // --- 2. the model --------------------------------------------------------------------------------
  const honest = [];
  for (const t of world.trainers) {
    if (t.behaviour === "honest" && (await d.staking.read.isActive([addr(t.wallet)]))) honest.push(t);
  }
  if (honest.length === 0) throw new Error("the inference scenario needs an active honest trainer");
  const trained = world.model;
  const modelTrainer = (trained && honest.find((t) => addr(t.wallet) === trained.trainer)) ?? honest[0]!;
  const SCENARIO_SPEC: TrainingSpec = trained?.spec ?? SMALL_SPEC;
  const run = trained ? { final: trained.checkpoint } : await train(SCENARIO_SPEC, REFERENCE_SEED);
  const checkpoint = trained?.bytes ?? encodeCheckpoint(SCENARIO_SPEC, run.final);
  const weightsHash = keccak256(checkpoint);
  const trainerClient = clientOf(modelTrainer.wallet);
  /** The model's input for request `i`: held-out digit `i` of the devnet's MNIST model, else a deterministic vector. */
  const inputOf = trained
    ? (i: number) => trained.data.eval.example(i % trained.data.eval.count).features
    : smallInput;
  if (trained) {
    await mined(
      trainerClient,
      trainerClient.inference.registerTrainedModel({
        containerId: SCENARIO_MODEL,
        weightsHash,
        parameterRoot: byteTreeRoot(checkpoint),
        challengeId: trained.challengeId,
        proof: trained.proof,
      }),
    );
  } else {
    await mined(
      trainerClient,
      trainerClient.inference.registerModel({
        containerId: SCENARIO_MODEL,
        widths: SCENARIO_SPEC.widths,
        weightsHash,
      }),
    );
    // Governance (the devnet's deployer) approves the model's royalties.
    await inf.models.write.setApproved([containerIdOf(SCENARIO_MODEL), true]);
  }
  const model = await trainerClient.inference.getModel({ containerId: SCENARIO_MODEL });
  lines.push(
    `model ${SCENARIO_MODEL} [${model.widths.join(", ")}] registered by ${modelTrainer.name} (weights ${short(weightsHash)})`,
  );

  // --- 3. the dApp -------------------------------------------------------------------------------
  const dapp = clientOf(world.dapp);
  const classifier = await viem.deployContract(
    "ClassifierConsumer",
    [inf.registry.address, SCENARIO_MODEL, addr(world.dapp)],
    { client: { wallet: world.dapp } },
  );
  const predictor = await viem.deployContract(
    "RecurringPredictor",
    [inf.registry.address, SCENARIO_MODEL, addr(world.dapp)],
    { client: { wallet: world.dapp } },
  );
  const dappWallet = dapp.inference.walletFromLogs({
    logs: (await mined(dapp, dapp.inference.createWallet({ owner: addr(world.dapp) }))).logs,
  });
  const budget = SCENARIO_PRICE * BigInt(CLASSIFICATIONS + 1 + RECURRING_INTERVALS + 2);
  await mined(
    dapp,
    dapp.inference.depositToken({ wallet: dappWallet, token: d.token.address, amount: budget }),
  );
  for (const spender of [classifier.address, predictor.address]) {
    await mined(
      dapp,
      dapp.inference.approveSpender({
        wallet: dappWallet,
        spender,
        token: d.token.address,
        amount: maxUint256,
      }),
    );
  }

  // --- 4. the nodes ------------------------------------------------------------------------------
  const container = await PoAIModelContainer.load({
    id: SCENARIO_MODEL,
    widths: SCENARIO_SPEC.widths,
    checkpoint,
    weightsHash,
  });
  const nodeOf = async <N extends typeof InferenceNode>(Kind: N, name: string, w: WalletClient) => {
    const c = clientOf(w);
    const paymentWallet = c.inference.walletFromLogs({
      logs: (await mined(c, c.inference.createWallet({ owner: addr(w) }))).logs,
    });
    // Collateral for verified deliveries: the node's wallet lets the node lock up to a payment.
    await mined(
      c,
      c.inference.depositToken({
        wallet: paymentWallet,
        token: d.token.address,
        amount: SCENARIO_PRICE * 2n,
      }),
    );
    await mined(
      c,
      c.inference.approveSpender({
        wallet: paymentWallet,
        spender: addr(w),
        token: d.token.address,
        amount: maxUint256,
      }),
    );
    const node = await Kind.create({
      client: c,
      databasePath: `${world.dataDir}/inference-${addr(w).slice(2, 10)}.db`,
      containers: [{ container, acceptedPayments: { [d.token.address]: SCENARIO_PRICE } }],
      paymentWallet,
      logLevel: world.logLevel,
    });
    return { name, address: addr(w), node };
  };

  // A rogue trainer, registered for this scenario from an account no one uses.
  const used = new Set([addr(world.admin), addr(world.dapp), ...world.trainers.map((t) => addr(t.wallet))]);
  let rogueWallet: WalletClient | undefined;
  for (const w of [...world.wallets].reverse()) {
    if (used.has(addr(w))) continue;
    if ((await d.staking.read.roleOf([addr(w)])) !== 0) continue;
    if ((await d.token.read.balanceOf([addr(w)])) !== 0n) continue;
    rogueWallet = w;
    break;
  }

  type Served = { name: string; address: Address; node: InferenceNode };
  const honestNodes: Served[] = [];
  const nodes: InferenceNode[] = [];
  let rogue: Served | undefined;
  try {
    for (const t of honest) {
      const n = await nodeOf(InferenceNode, t.name, t.wallet);
      honestNodes.push(n);
      nodes.push(n.node);
    }
    if (rogueWallet) {
      await d.token.write.transfer([addr(rogueWallet), ROGUE_STAKE + SCENARIO_PRICE * 4n]);
      const rc = clientOf(rogueWallet);
      await mined(rc, rc.token.approve({ amount: ROGUE_STAKE }));
      await mined(
        rc,
        rc.staking.register({
          role: "trainer",
          stake: ROGUE_STAKE,
          commissionBps: 500,
          maxCommissionBps: 2000,
          endpoint: "http://127.0.0.1:7999",
          gpuClass: "H100",
        }),
      );
      rogue = await nodeOf(LyingInferenceNode, "rogue trainer", rogueWallet);
      nodes.push(rogue.node);
    }
    ui.step("Inference nodes start", [
      ...honestNodes.map(
        (n) => `${n.name.padEnd(12)} ${short(n.address)} built-in container, ${n.node.serverUrl}`,
      ),
      ...(rogue
        ? [
            `${rogue.name.padEnd(12)} ${short(rogue.address)} a container that lies (stake ${fmt(ROGUE_STAKE)})`,
          ]
        : []),
    ]);

    // --- 5. requests -----------------------------------------------------------------------------
    const tickAll = async (first = 0) => {
      for (let k = 0; k < honestNodes.length; k++)
        await honestNodes[(first + k) % honestNodes.length]!.node.tick();
    };
    const classify = async (input: Int8Array, verifier: Address) => {
      await classifier.write.setPayment([d.token.address, SCENARIO_PRICE, dappWallet, verifier], {
        account: world.dapp.account!,
      });
      const hash = await world.dapp.writeContract({
        address: classifier.address,
        abi: classifierConsumerAbi,
        functionName: "classify",
        args: [encodeInferenceInput(input)],
        account: world.dapp.account!,
        chain: world.dapp.chain,
      });
      return dapp.inference.subscriptionIdFromLogs({ logs: (await dapp.waitForTransaction(hash)).logs });
    };
    const bar = ui.progress("classifications", CLASSIFICATIONS + (rogue ? 1 : 0) + RECURRING_INTERVALS);
    let requests = 0;
    const answered: string[] = [];
    for (let i = 0; i < CLASSIFICATIONS; i++) {
      const input = inputOf(i);
      const id = await classify(input, zeroAddress);
      requests++;
      await tickAll(i);
      const [ok, label, node] = await classifier.read.answers([id]);
      const expected = infer(SCENARIO_SPEC, run.final.weights, input).label;
      if (!ok || label !== expected)
        throw new Error(`classification ${id} was not answered with label ${expected}`);
      const who = honestNodes.find((n) => n.address === getAddress(node))?.name ?? short(node);
      answered.push(`request ${id}: label ${label} by ${who}`);
      bar.tick(`request ${id} answered by ${who}`);
    }
    lines.push(
      `${CLASSIFICATIONS} classifications, each answered with the model's label: ${answered.join("; ")}`,
    );
    if (trained) {
      const shown = Array.from({ length: CLASSIFICATIONS }, (_, i) => trained.data.eval.example(i));
      const answers = shown.map((ex) => infer(SCENARIO_SPEC, run.final.weights, ex.features).label);
      lines.push(
        `the digits the dApp sent (held-out examples 0..${CLASSIFICATIONS - 1}) and the answers delivered on chain; the model classifies ${(trained.accuracyBps / 100).toFixed(2)}% of the ${trained.data.eval.count} held-out digits correctly:`,
        ...digitArt(
          shown.map((ex) => ex.features),
          shown.map((ex, i) => `digit ${ex.label}: model says ${answers[i]}`),
        ),
      );
    }

    // The verified classification the rogue node answers first.
    const disputes: InferenceSummary["disputes"] = [];
    if (rogue) {
      const input = inputOf(100);
      const id = await classify(input, inf.verifier.address);
      requests++;
      await rogue.node.tick();
      await tickAll(); // the honest nodes find the interval full
      const [req] = await dapp.inference.getVerifierEvents({
        eventName: "OutputVerificationRequested",
        args: { subscriptionId: id },
      });
      const a = req!.args as {
        subscriptionId: number;
        interval: number;
        node: Address;
        containerId: Hex;
        input: Hex;
        output: Hex;
      };
      const verdict = checkOutput({
        widths: model.widths,
        checkpoint,
        input: a.input,
        output: a.output,
        weightsHash,
      });
      const walletBefore = await d.token.read.balanceOf([dappWallet]);
      let outcome = "correct: not disputed";
      let slashed = 0n;
      if (!verdict.correct) {
        const receipt = await mined(dapp, dapp.inference.disputeOutput({ ...a, checkpoint }));
        for (const e of parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "Slashed" })) {
          slashed += e.args.activeAmount + e.args.unbondingAmount;
        }
        const refund = (await d.token.read.balanceOf([dappWallet])) - walletBefore;
        const status = await dapp.inference.getOutputVerification({
          subscriptionId: id,
          interval: 1,
          node: rogue.address,
        });
        outcome = `proven wrong (${status.status}), slashed and jailed; the dApp got ${fmt(refund)} back`;
        lines.push(
          `verified request ${id}: ${rogue.name} delivered ${describeOutput(a.output)} where the model computes ${describeOutput(verdict.expected)}; disputed with the checkpoint: slashed ${fmt(slashed)}, the dApp refunded ${fmt(refund)}`,
        );
      }
      disputes.push({ node: rogue.address, outcome, slashed: String(slashed) });
      bar.tick(`verified request ${id}: ${outcome}`);
    }

    // The recurring prediction.
    const features = inputOf(7);
    await predictor.write.setFeatures([encodeInferenceInput(features)], { account: world.dapp.account! });
    await predictor.write.start(
      [RECURRING_INTERVALS, RECURRING_PERIOD, d.token.address, SCENARIO_PRICE, dappWallet, zeroAddress],
      { account: world.dapp.account! },
    );
    const recurringId = Number(await predictor.read.subscriptionId());
    requests += RECURRING_INTERVALS;
    for (let interval = 1; interval <= RECURRING_INTERVALS; interval++) {
      await networkHelpers.time.increase(RECURRING_PERIOD);
      await tickAll(interval);
      const rotated = Int8Array.from(features, (_, j) => features[(j + interval) % features.length]!);
      const want = encodeInferenceOutput(infer(SCENARIO_SPEC, run.final.weights, rotated));
      const got = await predictor.read.predictions([interval]);
      if (got !== want)
        throw new Error(
          `recurring subscription ${recurringId}: interval ${interval} got ${got}, want ${want}`,
        );
      bar.tick(`recurring subscription ${recurringId}: interval ${interval} delivered`);
    }
    bar.stop();
    lines.push(
      `recurring subscription ${recurringId}: ${RECURRING_INTERVALS} intervals of ${RECURRING_PERIOD} s, each delivered with the model's output`,
    );

    // --- 6. usage, fees, royalties ---------------------------------------------------------------
    const fulfilled = await dapp.inference.getEvents({
      eventName: "SubscriptionFulfilled",
      fromBlock: startBlock,
    });
    const served = [...honestNodes, ...(rogue ? [rogue] : [])];
    // Usage per (node, epoch), from the Coordinator's record of each node's use of the model read
    // at each of its deliveries (a verified delivery counts only once settled valid).
    const usage: InferenceSummary["usage"] = [];
    let payments = 0n;
    for (const n of served) {
      const byEpoch = new Map<bigint, { deliveries: bigint; pending: bigint }>();
      for (const e of fulfilled) {
        if (getAddress((e.args as { node: Address }).node) !== n.address) continue;
        const u = await dapp.inference.getUsage({
          node: n.address,
          containerId: SCENARIO_MODEL,
          blockNumber: e.blockNumber,
        });
        if (u.deliveries > 0n) byEpoch.set(u.epoch, { deliveries: u.deliveries, pending: u.pendingFees });
      }
      let before = 0n;
      for (const [epoch, u] of [...byEpoch].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
        const fees = u.pending - before;
        before = u.pending;
        payments += fees;
        usage.push({
          containerId: model.containerId,
          epoch: String(epoch),
          node: n.address,
          deliveries: Number(u.deliveries),
          fees: String(fees),
        });
      }
    }
    let royalties = 0n;
    for (const n of served) {
      const pending = await dapp.inference.getPendingUsageFees({
        node: n.address,
        containerId: SCENARIO_MODEL,
      });
      if (pending === 0n) continue;
      const receipt = await mined(
        dapp,
        dapp.inference.flushUsageFees({ node: n.address, containerId: SCENARIO_MODEL }),
      );
      for (const e of parseEventLogs({
        abi: rewardDistributorAbi,
        logs: receipt.logs,
        eventName: "UsageFee",
      })) {
        royalties += e.args.royalty;
      }
    }
    lines.push(
      `${fulfilled.length} deliveries; ${fmt(payments)} of usage fees sent to the RewardDistributor, ${fmt(royalties)} of them royalties for ${modelTrainer.name}`,
      ...usage.map(
        (u) =>
          `usage epoch ${u.epoch}: ${served.find((n) => n.address === u.node)?.name ?? short(u.node)} ${u.deliveries} deliveries, ${fmt(u.fees)}`,
      ),
    );
    ui.step("Inference: the dApp's requests are served", lines);
    return {
      deliveries: fulfilled.length,
      requests,
      payments: String(payments),
      usage,
      royalties: String(royalties),
      disputes,
      lines,
      contracts: { ...inf.contracts },
    };
  } finally {
    for (const n of nodes) await n.stop();
  }
}

/** An output in the PoAI model format, for a person: its label and its class scores. */
function describeOutput(output: Hex): string {
  try {
    const { label, output: scores } = decodeInferenceOutput(output);
    return `label ${label} (scores ${[...scores].join(", ")})`;
  } catch {
    return output.length > 42 ? `${output.slice(0, 42)}…` : output;
  }
}
