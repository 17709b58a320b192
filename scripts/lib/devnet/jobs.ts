/**
 * The devnet's paid job, end to end: an AI engineer pays for a training job and gets a verified
 * model that earns from its use.
 *
 * Before the rounds (`postDevnetJob`):
 * 1. The JobRegistry is deployed and wired (`deployJobs`); an engineer posts an MNIST job (the
 *    devnet's engine version 2 spec over the digits its dataset owner serves) for two trainers with
 *    the budget escrowed, a 80% held-out accuracy floor and a 30% royalty share for itself.
 *
 * In the rounds (nothing here: the daemons do it by themselves): the trainers chosen to claim it
 * (the first honest trainer and the first forger) claim it in its claim round with their
 * stake-weighted draws; their run-round challenges train the job's spec with the job's seed; the
 * committees audit both; the forger is convicted, slashed and jailed.
 *
 * After the rounds (`finishDevnetJob`):
 * 2. Anyone settles the job: Completed with the honest trainer's run, the budget split among the
 *    winning trainer's pool, the agreeing committee members' pools and the treasury.
 * 3. The engineer fetches the model from the winner's checkpoint server (`fetchJobModel`: proven
 *    under the run's root on chain before it is used), checks its held-out accuracy, and registers
 *    it as `job/<id>` in the marketplace's ModelRegistry.
 * 4. The winning trainer's inference node serves `job/<id>` (`loadJobModelContainer`); the example
 *    dApp (`ClassifierConsumer`) buys classifications of held-out digit images through the
 *    Coordinator; the usage fees are flushed into the RewardDistributor, which pays the royalty
 *    part by the job's split: the engineer at once, the winning trainer's pool the rest.
 * 5. The books of the job: the budget that entered escrow equals the payouts plus refunds plus the
 *    protocol's share, to the wei, and the registry holds nothing once the treasury withdrew.
 */
import {
  classifierConsumerAbi,
  createPoAIClient,
  getJob,
  getJobFundsOwed,
  jobRegistryAbi,
  scoreGameAbi,
  parseDeployment,
  postJob,
  rewardDistributorAbi,
  settleJob,
  registerJobModel,
  withdrawJobFunds,
  type PoAIClient,
  type PoAIDeployment,
} from "@poai/sdk";
import {
  decodeCheckpoint,
  encodeInferenceInput,
  evaluate,
  infer,
  type DatasetData,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { fetchJobModel, InferenceNode, loadJobModelContainer } from "@poai/node";
import {
  getAddress,
  maxUint256,
  parseEther,
  parseEventLogs,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { deployJobs, wireJobModels } from "../deploy-jobs.js";
import { deployInference } from "../deploy-inference.js";
import type { NetworkDeployment } from "../deploy.js";
import type { DevnetUi, DevnetWorld, WalletClient } from "./run.js";
import type { DevnetMnist } from "./mnist.js";
import { digitArt } from "./mnist.js";
import { fmt, short, type JobSummary } from "./report.js";
import { contractsOf } from "../address-book.js";

/** The job's budget, in the staking token. */
export const JOB_BUDGET = parseEther("600");
/** The held-out accuracy the model must reach (basis points). */
export const JOB_MIN_ACCURACY_BPS = 8000;
/** The engineer's share of the model's royalties (basis points; the rest goes to the trainer). */
export const JOB_OWNER_ROYALTY_BPS = 3000;
/** What the dApp pays per classification of the job's model. */
export const JOB_PRICE = parseEther("4");
/** Classifications the dApp buys from the job's model. */
export const JOB_CLASSIFICATIONS = 3;

const addr = (w: WalletClient): Address => getAddress(w.account!.address);

/** A posted devnet job: what the rounds and `finishDevnetJob` need. */
export interface DevnetJob {
  jobId: bigint;
  jobRegistry: Address;
  engineer: WalletClient;
  spec: TrainingSpec;
  /** The budget that entered escrow (the `JobPosted` amount). */
  escrowed: bigint;
  /** The trainers the devnet lets claim it (the others' daemons do not claim jobs). */
  claimers: Address[];
  claimRound: bigint;
  /** The MNIST digits the job's spec commits to (its held-out set checks the model). */
  data: DatasetData;
  lines: string[];
}

/**
 * Deploys the JobRegistry over the devnet's network and posts the MNIST job from `engineer`.
 * `claimers` are the trainers whose daemons will claim it (the job asks for as many trainers).
 */
export async function postDevnetJob(args: {
  viem: DevnetWorld["viem"];
  deployed: NetworkDeployment;
  engineer: WalletClient;
  mnist: DevnetMnist;
  claimers: Address[];
  epochLength: bigint;
}): Promise<DevnetJob> {
  const { viem, deployed: d, engineer, mnist } = args;
  const publicClient = await viem.getPublicClient();
  const { jobs, jobParams } = await deployJobs(viem, { ...d, epochLength: args.epochLength });
  await d.token.write.transfer([addr(engineer), JOB_BUDGET + parseEther("400")]);
  const deployment = parseDeployment({
    chainId: publicClient.chain.id,
    deployBlock: 0n,
    contracts: { ...contractsOf(d), jobRegistry: jobs.address },
  });
  const client = createPoAIClient({ publicClient, walletClient: engineer, deployment });
  const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: engineer } });
  await token.write.approve([jobs.address, JOB_BUDGET]);
  const now = BigInt((await publicClient.getBlock()).timestamp);
  const claimRound = (now - (await d.staking.read.genesis())) / args.epochLength + 1n;
  // The earliest deadline: the first attempt is judged in time, and nothing else could be.
  const deadline = await jobs.read.judgedBy([claimRound]);
  const receipt = await client.waitForTransaction(
    await postJob(client, {
      spec: mnist.spec,
      sources: [mnist.source],
      terms: {
        trainers: args.claimers.length,
        budget: JOB_BUDGET,
        deadline,
        minAccuracyBps: JOB_MIN_ACCURACY_BPS,
        ownerRoyaltyBps: JOB_OWNER_ROYALTY_BPS,
      },
    }),
  );
  const [posted] = parseEventLogs({ abi: jobRegistryAbi, logs: receipt.logs, eventName: "JobPosted" });
  const jobId = posted!.args.jobId;
  return {
    jobId,
    jobRegistry: jobs.address,
    engineer,
    spec: mnist.spec,
    escrowed: posted!.args.budget,
    claimers: args.claimers,
    claimRound,
    data: mnist.data,
    lines: [
      `JobRegistry ${jobs.address}: committee ${jobParams.committeeBps / 100}%, protocol ${jobParams.protocolBps / 100}%, owner royalty at most ${jobParams.maxOwnerRoyaltyBps / 100}%`,
      `the engineer ${short(addr(engineer))} posts job ${jobId}: the MNIST spec for ${args.claimers.length} trainers, ${fmt(posted!.args.budget)} escrowed, held-out accuracy at least ${JOB_MIN_ACCURACY_BPS / 100}%, ${JOB_OWNER_ROYALTY_BPS / 100}% of the model's royalties to the engineer; claimed in round ${claimRound}, run in round ${claimRound + 1n}, judged by ${new Date(Number(deadline) * 1000).toISOString()}`,
    ],
  };
}

/** Settles the devnet's job, fetches and checks its model, sells it through the marketplace, balances its books. */
export async function finishDevnetJob(
  world: DevnetWorld,
  job: DevnetJob,
  ui: DevnetUi,
  marketplace: Record<string, string> | undefined,
): Promise<JobSummary> {
  const { viem, deployed: d } = world;
  const publicClient = await viem.getPublicClient();
  const lines: string[] = [];

  // --- the marketplace: the inference stage's, or deployed here --------------------------------
  let contracts = marketplace;
  if (!contracts?.modelRegistry) {
    const inf = await deployInference(viem, d, { verifier: { disputeWindow: 600, jail: true } });
    contracts = inf.contracts;
  }
  const models = contracts.modelRegistry as Address;
  await wireJobModels(
    viem,
    { manager: d.manager, jobs: await viem.getContractAt("JobRegistry", job.jobRegistry) },
    models,
  );
  const deployment: PoAIDeployment = parseDeployment({
    ...world.deployment,
    contracts: { ...world.deployment.contracts, ...contracts, jobRegistry: job.jobRegistry },
  });
  const clientOf = (w: WalletClient): PoAIClient =>
    createPoAIClient({ publicClient, walletClient: w, deployment });
  const engineer = clientOf(job.engineer);
  const mined = async (c: PoAIClient, send: Promise<Hex>) => c.waitForTransaction(await send);
  const nameOf = (a: Address) =>
    world.trainers.find((t) => addr(t.wallet) === getAddress(a))?.name ?? short(a);

  // --- settle ----------------------------------------------------------------------------------
  const before = await getJob(engineer, { jobId: job.jobId });
  const assigned = before.assigned.map((a) => getAddress(a));
  const runs: JobSummary["runs"] = [];
  for (const trainer of assigned) {
    const id = await d.challenges.read.challengeId([trainer, before.runRound]);
    const run = await publicClient.readContract({
      address: job.jobRegistry,
      abi: jobRegistryAbi,
      functionName: "runOf",
      args: [id],
    });
    const c = await world.clientOf(world.admin).challenges.getChallenge({ id });
    const behaviour = world.trainers.find((t) => addr(t.wallet) === trainer)?.behaviour ?? "unknown";
    runs.push({
      trainer,
      name: nameOf(trainer),
      behaviour,
      status: c.status,
      scoreBps: c.reportedScoreBps,
      medianScoreBps: run.medianScoreBps,
    });
  }
  // A Valid run's reported accuracy counts once the score game's window after its judgment has
  // passed with no game pending (docs/disputes.md, "Score games"): wait it out on the chain.
  const scoreGame = await publicClient.readContract({
    address: job.jobRegistry,
    abi: jobRegistryAbi,
    functionName: "scoreGame",
  });
  let windowEnd = 0n;
  if (scoreGame !== zeroAddress)
    for (const r of runs) {
      if (r.status !== "Valid") continue;
      const id = await d.challenges.read.challengeId([getAddress(r.trainer), before.runRound]);
      const until = await publicClient.readContract({
        address: scoreGame,
        abi: scoreGameAbi,
        functionName: "openUntil",
        args: [id],
      });
      if (until > windowEnd) windowEnd = until;
    }
  if (windowEnd > 0n && BigInt(await world.networkHelpers.time.latest()) <= windowEnd)
    await world.networkHelpers.time.increaseTo(windowEnd + 1n);
  lines.push(
    `round ${before.claimRound}: ${assigned.map(nameOf).join(" and ")} claimed the job by their stake-weighted draws; round ${before.runRound}: each trained it as its challenge`,
    ...runs.map(
      (r) =>
        `${r.name} (${r.behaviour}): judged ${r.status}${r.status === "Valid" ? `, reported held-out accuracy ${(r.scoreBps / 100).toFixed(2)}% (the committee's median ${(r.medianScoreBps / 100).toFixed(2)}%)` : ""}`,
    ),
    ...(windowEnd > 0n
      ? [
          `the score game's window (anyone could dispute a reported accuracy on chain) closed at ${new Date(Number(windowEnd) * 1000).toISOString()} with no game opened`,
        ]
      : []),
  );
  const settled = await mined(engineer, settleJob(engineer, { jobId: job.jobId }));
  const after = await getJob(engineer, { jobId: job.jobId });
  const paid = parseEventLogs({ abi: jobRegistryAbi, logs: settled.logs, eventName: "JobPaid" });
  const completed = parseEventLogs({ abi: jobRegistryAbi, logs: settled.logs, eventName: "JobCompleted" });
  const refunded = parseEventLogs({ abi: jobRegistryAbi, logs: settled.logs, eventName: "JobRefunded" });
  const payouts: JobSummary["payouts"] = paid.map((e) => ({
    account: getAddress(e.args.account),
    name: e.args.committee ? `validator ${short(e.args.account)}` : nameOf(e.args.account),
    role: e.args.committee ? "committee" : "trainer",
    amount: String(e.args.amount),
  }));
  const toProtocol = completed[0]?.args.toProtocol ?? 0n;
  const refund = refunded.reduce((s, e) => s + e.args.amount, 0n);
  const paidOut = paid.reduce((s, e) => s + e.args.amount, 0n);
  // One line per account (a committee member is paid once per agreeing verdict).
  const byAccount = new Map<string, bigint>();
  for (const p of payouts) byAccount.set(p.name, (byAccount.get(p.name) ?? 0n) + BigInt(p.amount));
  lines.push(
    after.state === "Completed"
      ? `settled: Completed with ${nameOf(after.winner)}'s run; ${fmt(paidOut)} paid into pools (${[...byAccount].map(([name, amount]) => `${name} ${fmt(amount)}`).join(", ")}), ${fmt(toProtocol)} to the treasury`
      : `settled: ${after.state}${refund > 0n ? `, ${fmt(refund)} back to the engineer` : ""}`,
  );

  // --- the model ---------------------------------------------------------------------------------
  let model: JobSummary["model"] = null;
  let usage: JobSummary["royalties"] = null;
  if (after.state === "Completed") {
    const fetched = await fetchJobModel(engineer, { jobId: job.jobId });
    const checkpoint = decodeCheckpoint(fetched.spec, fetched.bytes, fetched.weightsHash);
    const data = job.data;
    const score = await evaluate(fetched.spec, `0x${"00".repeat(32)}`, checkpoint, { data });
    await mined(
      engineer,
      registerJobModel(engineer, {
        jobId: job.jobId,
        weightsHash: fetched.weightsHash,
        parameterRoot: fetched.parameterRoot,
        evalRoot: fetched.evalRoot,
        proof: fetched.proof,
      }),
    );
    const containerId = `job/${job.jobId}`;
    model = {
      containerId,
      trainer: fetched.trainer,
      weightsHash: fetched.weightsHash,
      bytes: fetched.bytes.length,
      accuracyBps: score.accuracyBps,
      committeeAccuracyBps: after.winnerScoreBps,
    };
    lines.push(
      `the engineer fetches the model from ${nameOf(fetched.trainer)}'s checkpoint server: ${fetched.bytes.length.toLocaleString("en-US")} bytes, proven under the run's root (checkpoint ${fetched.index}, weights ${short(fetched.weightsHash)}); held-out accuracy ${(score.accuracyBps / 100).toFixed(2)}% on the ${data.eval.count} committed digits (the committee measured ${(after.winnerScoreBps / 100).toFixed(2)}%); registered as ${containerId}`,
    );

    // --- the marketplace: the winner's inference node serves job/<id> -------------------------
    const winner = world.trainers.find((t) => addr(t.wallet) === fetched.trainer)!;
    const node = clientOf(winner.wallet);
    const nodeWallet = node.inference.walletFromLogs({
      logs: (await mined(node, node.inference.createWallet({ owner: fetched.trainer }))).logs,
    });
    const container = await loadJobModelContainer(node, { jobId: job.jobId });
    const served = await InferenceNode.create({
      client: node,
      databasePath: `${world.dataDir}/inference-job-${job.jobId}.db`,
      containers: [{ container, acceptedPayments: { [d.token.address]: JOB_PRICE } }],
      paymentWallet: nodeWallet,
      logLevel: world.logLevel,
    });
    try {
      const dapp = clientOf(world.dapp);
      const classifier = await viem.deployContract(
        "ClassifierConsumer",
        [contracts.infernetRegistry as Address, containerId, addr(world.dapp)],
        { client: { wallet: world.dapp } },
      );
      const dappWallet = dapp.inference.walletFromLogs({
        logs: (await mined(dapp, dapp.inference.createWallet({ owner: addr(world.dapp) }))).logs,
      });
      await mined(
        dapp,
        dapp.inference.depositToken({
          wallet: dappWallet,
          token: d.token.address,
          amount: JOB_PRICE * BigInt(JOB_CLASSIFICATIONS),
        }),
      );
      await mined(
        dapp,
        dapp.inference.approveSpender({
          wallet: dappWallet,
          spender: classifier.address,
          token: d.token.address,
          amount: maxUint256,
        }),
      );
      await classifier.write.setPayment([d.token.address, JOB_PRICE, dappWallet, zeroAddress], {
        account: world.dapp.account!,
      });
      const digits = Array.from({ length: JOB_CLASSIFICATIONS }, (_, i) => data.eval.example(10 + i));
      const answers: number[] = [];
      for (const digit of digits) {
        const hash = await world.dapp.writeContract({
          address: classifier.address,
          abi: classifierConsumerAbi,
          functionName: "classify",
          args: [encodeInferenceInput(digit.features)],
          account: world.dapp.account!,
          chain: world.dapp.chain,
        });
        const id = dapp.inference.subscriptionIdFromLogs({
          logs: (await dapp.waitForTransaction(hash)).logs,
        });
        await served.tick();
        const [ok, label] = await classifier.read.answers([id]);
        const expected = infer(fetched.spec, checkpoint.weights, digit.features).label;
        if (!ok || label !== expected)
          throw new Error(
            `job ${job.jobId}: classification ${id} was not answered with the model's label ${expected}`,
          );
        answers.push(label);
      }
      lines.push(
        `the dApp's ClassifierConsumer buys ${JOB_CLASSIFICATIONS} classifications of held-out digits from ${containerId} at ${fmt(JOB_PRICE)} each, served by ${winner.name}'s inference node through the Coordinator:`,
        ...digitArt(
          digits.map((x) => x.features),
          digits.map((x, i) => `digit ${x.label}: model says ${answers[i]}`),
        ),
      );

      // --- usage fees and the royalty split -------------------------------------------------------
      const engineerBefore = await d.token.read.balanceOf([addr(job.engineer)]);
      const flushed = await mined(
        dapp,
        dapp.inference.flushUsageFees({ node: fetched.trainer, containerId }),
      );
      const fees = parseEventLogs({ abi: rewardDistributorAbi, logs: flushed.logs, eventName: "UsageFee" });
      const split = parseEventLogs({
        abi: rewardDistributorAbi,
        logs: flushed.logs,
        eventName: "RoyaltySplitPaid",
      });
      const fee = fees.reduce((s, e) => s + e.args.amount, 0n);
      const royalty = fees.reduce((s, e) => s + e.args.royalty, 0n);
      const nodeFee = fees.reduce((s, e) => s + e.args.nodeFee, 0n);
      const toOwner = split.reduce((s, e) => s + e.args.toOwner, 0n);
      const toTrainer = split.reduce((s, e) => s + e.args.toTrainer, 0n);
      const received = (await d.token.read.balanceOf([addr(job.engineer)])) - engineerBefore;
      usage = {
        fees: String(fee),
        nodeFee: String(nodeFee),
        royalty: String(royalty),
        toEngineer: String(toOwner),
        toTrainer: String(toTrainer),
        engineerReceived: String(received),
        expectedToEngineer: String((royalty * BigInt(after.ownerRoyaltyBps)) / 10_000n),
      };
      lines.push(
        `usage fees ${fmt(fee)} flushed to the RewardDistributor: ${fmt(nodeFee)} to ${winner.name}'s pool as the node, royalty ${fmt(royalty)} split ${after.ownerRoyaltyBps / 100}% / ${100 - after.ownerRoyaltyBps / 100}%: ${fmt(toOwner)} to the engineer (its balance rose by ${fmt(received)}), ${fmt(toTrainer)} to ${nameOf(fetched.trainer)}'s pool`,
      );
    } finally {
      await served.stop();
    }
  }

  // --- the books ---------------------------------------------------------------------------------
  // The treasury takes its share out; then the registry holds what it still owes (nothing here).
  const treasury = (
    await publicClient.readContract({
      address: job.jobRegistry,
      abi: jobRegistryAbi,
      functionName: "params",
    })
  ).treasury;
  const admin = clientOf(world.admin);
  if (getAddress(treasury) === addr(world.admin)) {
    const owed = await getJobFundsOwed(admin, { account: treasury });
    if (owed > 0n) await mined(admin, withdrawJobFunds(admin, {}));
  }
  const held = await d.token.read.balanceOf([job.jobRegistry]);
  const owedEngineer = await getJobFundsOwed(admin, { account: addr(job.engineer) });
  const owedTreasury = await getJobFundsOwed(admin, { account: treasury });
  const balanced = job.escrowed === paidOut + refund + toProtocol && held === owedEngineer + owedTreasury;
  lines.push(
    `books: ${fmt(job.escrowed)} escrowed = ${fmt(paidOut)} paid + ${fmt(refund)} refunded + ${fmt(toProtocol)} protocol share, to the wei: ${balanced ? "balanced" : "NOT balanced"}; the registry holds ${fmt(held)}`,
  );
  ui.step(`Paid job ${job.jobId}: an engineer's MNIST job, trained, proven, sold`, [...job.lines, ...lines]);

  return {
    jobId: String(job.jobId),
    jobRegistry: job.jobRegistry,
    engineer: addr(job.engineer),
    state: after.state,
    winner: after.state === "Completed" ? after.winner : null,
    runs,
    payouts,
    model,
    royalties: usage,
    books: {
      escrowed: String(job.escrowed),
      paidOut: String(paidOut),
      refunded: String(refund),
      protocol: String(toProtocol),
      registryHolds: String(held),
      balanced,
    },
    lines: [...job.lines, ...lines],
    contracts: { ...contracts, jobRegistry: job.jobRegistry },
  };
}

/** The devnet's checks of its job (empty when it ran none). */
export function jobChecks(s: JobSummary | null): { name: string; ok: boolean; detail: string }[] {
  if (!s) return [];
  const forgers = s.runs.filter((r) => r.behaviour === "forger");
  const r = s.royalties;
  return [
    {
      name: "the paid job completes with an honest trainer's model and every forging run is convicted",
      ok:
        s.state === "Completed" &&
        s.runs.some(
          (x) => x.behaviour === "honest" && getAddress(x.trainer) === getAddress(s.winner ?? zeroAddress),
        ) &&
        forgers.every((x) => x.status === "Fraud"),
      detail: s.runs.map((x) => `${x.name} (${x.behaviour}): ${x.status}`).join("; "),
    },
    {
      name: "the job's model is proven, meets its accuracy floor and is sold through the marketplace",
      ok:
        s.model !== null && s.model.accuracyBps >= JOB_MIN_ACCURACY_BPS && r !== null && BigInt(r.fees) > 0n,
      detail: s.model
        ? `${s.model.containerId}: ${(s.model.accuracyBps / 100).toFixed(2)}% held-out accuracy`
        : "no model",
    },
    {
      name: "the usage fees reach the engineer and the trainer by the royalty split",
      ok:
        r !== null &&
        BigInt(r.toEngineer) > 0n &&
        r.toEngineer === r.expectedToEngineer &&
        r.toEngineer === r.engineerReceived &&
        BigInt(r.toEngineer) + BigInt(r.toTrainer) === BigInt(r.royalty),
      detail: r
        ? `royalty ${fmt(r.royalty)}: engineer ${fmt(r.toEngineer)}, trainer ${fmt(r.toTrainer)}`
        : "no usage",
    },
    {
      name: "the job's books balance: escrow in = payouts + refunds + protocol share",
      ok: s.books.balanced,
      detail: `${fmt(s.books.escrowed)} = ${fmt(s.books.paidOut)} + ${fmt(s.books.refunded)} + ${fmt(s.books.protocol)}`,
    },
  ];
}
