/**
 * The devnet: the PoAI network end to end on a chain whose clock the devnet controls.
 *
 * 1. Deploys the suite; funds the operators, two delegators and a dApp; operators register and
 *    delegators join; the treasury funds emissions; governance registers the MNIST spec (engine
 *    version 2: the digits of the `mnist` package, built and served by the dataset owner).
 * 2. Starts the daemons, each with its own SQLite database and HTTP server: honest trainers,
 *    forging trainers (`--cheaters`: they train two segments and forge the rest), validators; the
 *    absent trainers (`--absent`) are registered and run nothing.
 * 3. Plays `--epochs` Proof-of-AI rounds: trainers train and submit, validators feed the beacon,
 *    audit the sampled segments, commit and reveal verdicts and finalize; misses are reported.
 * 3b. Plays a dispute game (`./disputes.ts`, unless `--no-disputes`; in-process): a colluding
 *    committee clears a forger, the honest validator's daemon disputes and wins by itself.
 * 4. Runs the inference marketplace (a consumer dApp buying classifications from the staked
 *    trainers, usage recorded), when the scenario is given.
 * 5. Nobody settles anything: once the last round's points are final, the operators claim their
 *    commission and a delegator claims (each claim closes the final epochs and credits that pool,
 *    epoch by epoch, with what it earned); another delegator undelegates and keeps what it earned.
 * 6. Reports every party's outcome and checks the books.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import {
  challengeId,
  challengeManagerAbi,
  createPoAIClient,
  iJobBoardAbi,
  parseDeployment,
  rewardDistributorAbi,
  roundWindows,
  stakingAbi,
  type PoAIClient,
  type PoAIDeployment,
} from "@poai/sdk";
import { specId, type TrainingSpec } from "@poai/sdk/compute";
import { devnetMnist, fetchTrainedModel, type TrainedModel } from "./mnist.js";
import { runDevnetFederated } from "./federated.js";
import { TrainerDaemon } from "@poai/node";
import { ValidatorDaemon } from "@poai/node/verifier";
import { getAddress, maxUint256, parseEther, zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { ColludingValidator, DisputingForger, ForgingTrainer } from "../adversaries.js";
import { deployDevnetDisputes, disputeChecks, playDevnetDisputes, type DisputeSummary } from "./disputes.js";
import { driveRounds, type Tickable } from "../daemon-network.js";
import { addressBookJson } from "../ignition.js";
import { hardhatAccountAddress, hardhatAccountKey, startDaemonProcesses } from "../multiprocess.js";
import { deployNetwork, type NetworkDeployment } from "../deploy.js";
import type { DevnetOptions } from "./options.js";
import {
  fmt,
  short,
  type DevnetReport,
  type InferenceSummary,
  type OperatorReport,
  type RoundRow,
} from "./report.js";
import { contractsOf } from "../address-book.js";
import { finishDevnetJob, jobChecks, postDevnetJob, type DevnetJob } from "./jobs.js";

export const EPOCH = 3600; // seconds per epoch (= challenge round) on the devnet
export const RESPONSE_DEADLINE = 1200; // seconds a trainer has to submit after its round starts
/** The committee's samples of a run (each member replays its own 12 / minReveals = 6 of them). */
export const AUDIT_SAMPLES = 12;
const BURN = "0x000000000000000000000000000000000000dEaD";

/** What the devnet shows while it runs (a terminal bar, log lines, or nothing for `--json`). */
export interface DevnetUi {
  /** A heading and its detail lines. */
  step(title: string, lines?: string[]): void;
  /** Progress over `total` units of work. */
  progress(label: string, total: number): { tick(detail: string): void; stop(): void };
}

/** Everything a later stage of the devnet (the inference scenario) may use. */
export interface DevnetWorld {
  viem: HardhatViemHelpers;
  networkHelpers: NetworkHelpers;
  deployed: NetworkDeployment;
  deployment: PoAIDeployment;
  wallets: WalletClient[];
  admin: WalletClient;
  trainers: { name: string; wallet: WalletClient; behaviour: string }[];
  dapp: WalletClient;
  clientOf(wallet: WalletClient): PoAIClient;
  dataDir: string;
  logLevel: DevnetOptions["logLevel"];
  backend: DevnetOptions["backend"];
  /** The honest trainer's final model of the last round (Valid, proven), when there is one. */
  model?: TrainedModel;
}

export interface DevnetChain {
  viem: HardhatViemHelpers;
  networkHelpers: NetworkHelpers;
  mode: DevnetReport["mode"];
  /** The JSON-RPC URL the daemon processes connect to (multi-process mode). */
  rpc?: string;
}

/** The inference stage: given the world, serves a dApp and reports what happened. */
export type InferenceStage = (world: DevnetWorld, ui: DevnetUi) => Promise<InferenceSummary>;

interface Operator {
  name: string;
  wallet: WalletClient;
  role: 1 | 2;
  stake: bigint;
  commissionBps: number;
  behaviour: string;
}

/** A funded account of the chain, as Hardhat's viem helpers give it. */
export type WalletClient = Awaited<ReturnType<HardhatViemHelpers["getWalletClients"]>>[number];

const addr = (w: WalletClient): Address => getAddress(w.account!.address);

/** Sum and count of a Prometheus histogram in a `/metrics` text. */
function histogram(text: string, name: string): { sum: number; count: number } {
  const value = (suffix: string) => {
    const m = new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { sum: value("sum"), count: value("count") };
}

async function scrape(url: string, name: string): Promise<{ sum: number; count: number }> {
  const res = await fetch(`${url.replace(/\/+$/, "")}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}/metrics answered HTTP ${res.status}`);
  return histogram(await res.text(), name);
}

export async function runDevnet(
  o: DevnetOptions,
  chain: DevnetChain,
  ui: DevnetUi,
  stages: { inference?: InferenceStage } = {},
): Promise<DevnetReport> {
  const started = performance.now();
  const { viem, networkHelpers } = chain;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const needed = 1 + o.trainers + o.validators + 3;
  if (wallets.length < needed) {
    throw new Error(`the chain offers ${wallets.length} accounts; this devnet needs ${needed}`);
  }
  const [admin] = wallets;
  const trainerWallets = wallets.slice(1, 1 + o.trainers);
  const validatorWallets = wallets.slice(1 + o.trainers, 1 + o.trainers + o.validators);
  const [dave, erin, dapp] = wallets.slice(1 + o.trainers + o.validators);

  // --- 1. deploy, fund, register ---------------------------------------------------------------
  const d = await deployNetwork(viem, { epochLength: EPOCH, emission: parseEther("1000") });
  // The dispute game's forger: one more trainer, from an account nothing else uses; every
  // validator but the first colludes with it (so it needs three validators at least).
  const disputer =
    o.disputes && chain.mode === "in-process" && o.validators >= 3 ? wallets[needed + 3] : undefined;
  const disputeGame = disputer ? await deployDevnetDisputes(viem, d, EPOCH) : undefined;
  ui.step(`Deployed on chain ${publicClient.chain.id} (epoch ${EPOCH} s)`, [
    `PoAIToken ${d.token.address}, Staking ${d.staking.address}`,
    `ChallengeManager ${d.challenges.address}, RewardDistributor ${d.distributor.address}`,
  ]);
  const as = async (w: WalletClient) => ({
    token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
    staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
  });
  for (const w of [
    ...trainerWallets,
    ...validatorWallets,
    dave,
    erin,
    dapp,
    ...(disputer ? [disputer] : []),
  ]) {
    await d.token.write.transfer([addr(w), parseEther("100000")]);
    await (await as(w)).token.write.approve([d.staking.address, maxUint256]);
  }

  const letter = (i: number) => String.fromCharCode(65 + i);
  const honestCount = o.trainers - o.cheaters - o.absent;
  const operators: Operator[] = [
    ...trainerWallets.map((wallet, i): Operator => {
      const behaviour = i < honestCount ? "honest" : i < honestCount + o.cheaters ? "forger" : "absent";
      return {
        name: `trainer ${letter(i)}`,
        wallet,
        role: 1,
        stake: parseEther(String(5000 - ((i * 1000) % 4000))),
        commissionBps: i === 0 ? 1000 : 500,
        behaviour,
      };
    }),
    ...validatorWallets.map((wallet, i): Operator => ({
      name: `validator ${i + 1}`,
      wallet,
      role: 2,
      stake: parseEther("2000"),
      commissionBps: 800,
      behaviour: "honest",
    })),
  ];
  if (disputer) {
    // after the validators: the operators' indices (ports, databases) of the others do not move
    operators.push({
      name: `trainer ${letter(o.trainers)}`,
      wallet: disputer,
      role: 1,
      stake: parseEther("5000"),
      commissionBps: 500,
      behaviour: "cleared forger",
    });
  }
  for (const [i, op] of operators.entries()) {
    const endpoint = `http://127.0.0.1:${op.role === 1 ? 7101 + i : 7201 + i}`;
    await (
      await as(op.wallet)
    ).staking.write.register([
      op.role,
      op.stake,
      op.commissionBps,
      2000,
      endpoint,
      op.role === 1 ? "H100" : "CPU",
    ]);
  }
  ui.step(
    "Operators register",
    operators.map(
      (op) =>
        `${op.name.padEnd(12)} ${short(addr(op.wallet))} ${op.behaviour.padEnd(7)} self-stake ${fmt(op.stake)}, commission ${op.commissionBps / 100}%`,
    ),
  );

  const cheaterIndex = honestCount < o.trainers - o.absent ? honestCount : 0;
  const delegations: { name: string; wallet: WalletClient; operator: Operator; amount: bigint }[] = [
    { name: "Dave", wallet: dave, operator: operators[0], amount: parseEther("8000") },
    {
      name: "Erin",
      wallet: erin,
      operator: operators[o.trainers > 1 ? cheaterIndex || 1 : 0],
      amount: parseEther("6000"),
    },
  ];
  for (const x of delegations)
    await (await as(x.wallet)).staking.write.delegate([addr(x.operator.wallet), x.amount]);
  ui.step(
    "Delegators join",
    delegations.map(
      (x) => `${x.name} delegates ${fmt(x.amount)} to ${x.operator.name} (${x.operator.behaviour})`,
    ),
  );

  await d.token.write.approve([d.distributor.address, maxUint256]);
  await d.distributor.write.fund([parseEther("20000")]);
  const mnist = await devnetMnist(path.resolve(fileURLToPath(new URL("../../..", import.meta.url))));
  const spec: TrainingSpec = mnist.spec;
  const { dataset, ...specFields } = spec;
  await d.registry.write.registerDatasetSpec([
    { ...specFields, widths: [...spec.widths] },
    dataset!,
    {
      responseDeadline: RESPONSE_DEADLINE,
      minScoreBps: 8000,
      maxScoreBps: 10_000,
      auditSamples: AUDIT_SAMPLES,
    },
    [mnist.source],
  ]);
  const id = specId(spec);
  await d.registry.write.activate([id]);
  ui.step(
    "The treasury funds 20,000 POAI of emissions (1,000 per epoch); governance activates the MNIST spec",
    [
      `dataset mnist: ${dataset!.trainCount} training and ${dataset!.evalCount} held-out digits (28 × 28, the mnist package), train root ${dataset!.trainRoot.slice(0, 10)}…, served at ${mnist.source}`,
      `spec ${id.slice(0, 10)}… (engine version 2): MLP [${spec.widths.join(", ")}], ${spec.steps} steps of ${spec.batchSize} digits, checkpoint every ${spec.checkpointInterval}, ${AUDIT_SAMPLES} sampled segments per committee, each member its own share`,
    ],
  );

  // The paid job (scripts/lib/devnet/jobs.ts): posted now, claimed in the first round, run in the
  // second, judged in the third; its claimers are the first honest trainer and the first forger.
  let job: DevnetJob | undefined;
  const engineer = wallets[needed];
  if (o.jobs && o.epochs >= 2 && engineer) {
    const active = operators.filter((op) => op.role === 1 && op.behaviour !== "absent");
    const claimers = [
      active.find((op) => op.behaviour === "honest")!,
      active.find((op) => op.behaviour === "forger") ?? active.filter((op) => op.behaviour === "honest")[1],
    ].filter((op) => op !== undefined);
    job = await postDevnetJob({
      viem,
      deployed: d,
      engineer,
      mnist,
      claimers: claimers.map((op) => addr(op.wallet)),
      epochLength: BigInt(EPOCH),
    });
  }
  const claims = (op: Operator) => job?.claimers.includes(addr(op.wallet)) ?? false;

  // --- 2. daemons ------------------------------------------------------------------------------
  const deployment = parseDeployment({
    chainId: publicClient.chain.id,
    deployBlock: 0n,
    contracts: {
      ...contractsOf(d),
      ...(job && { jobRegistry: job.jobRegistry }),
      ...(disputeGame && { disputeGame }),
    },
  });
  const clientOf = (w: WalletClient) => createPoAIClient({ publicClient, walletClient: w, deployment });
  const dataDir = mkdtempSync(path.join(tmpdir(), "poai-devnet-"));
  const failures: string[] = [];
  let report: DevnetReport | undefined;
  let daemons: DaemonSet | undefined;
  try {
    daemons =
      chain.mode === "multi-process"
        ? await startProcesses(o, chain, operators, deployment, dataDir, claims)
        : await startInProcess(o, operators, clientOf, dataDir, claims);
    ui.step(
      chain.mode === "multi-process"
        ? "Daemons start as separate OS processes, each with its own key, SQLite database and HTTP server"
        : "Daemons start, each with its own SQLite database and HTTP server",
      daemons.lines,
    );

    // --- 3. rounds ---------------------------------------------------------------------------
    const genesis = await d.staking.read.genesis();
    const first = (await d.staking.read.currentEpoch()) + 1n;
    const last = first + BigInt(o.epochs) - 1n;
    const windows = (r: bigint) =>
      roundWindows(genesis, BigInt(EPOCH), r, { ...d.challengeParams, responseDeadline: RESPONSE_DEADLINE });
    const bar = ui.progress("Proof-of-AI rounds", (o.epochs + 1) * 4);
    const t0 = performance.now();
    await driveRounds({
      windows,
      advanceTo: async (t) => {
        if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
      },
      trainers: daemons.trainers,
      validators: daemons.validators,
      from: first,
      to: last,
      onMilestone: (r, milestone) =>
        bar.tick(
          milestone === "start"
            ? `round ${r}: ${r <= last ? "trainers train and submit, " : ""}validators audit round ${r - 1n}`
            : milestone === "reveal"
              ? `round ${r}: validators reveal their verdicts on round ${r - 1n}`
              : milestone === "judge"
                ? `round ${r}: round ${r - 1n} is judged (or in its second phase), misses reported`
                : `round ${r}: round ${r - 1n}'s second phase closes and the rest is finalized`,
        ),
      onError: (daemon, err) => failures.push(`${daemon.constructor.name}: ${(err as Error).message}`),
    });
    bar.stop();
    if (failures.length) throw new Error(`daemon ticks failed:\n  ${failures.join("\n  ")}`);
    ui.step(
      `${o.epochs} rounds played and audited in ${((performance.now() - t0) / 1000).toFixed(1)} s of wall time`,
    );

    // --- 3b. the dispute game ----------------------------------------------------------------
    let disputes: DisputeSummary | null = null;
    if (disputeGame) {
      const forger = daemons.trainers.find((t) => t instanceof DisputingForger) as DisputingForger;
      const validator = daemons.validators.find(
        (v) => v instanceof ValidatorDaemon && !(v instanceof ColludingValidator),
      ) as ValidatorDaemon;
      const names = new Map(operators.map((op) => [addr(op.wallet), op.name]));
      disputes = await playDevnetDisputes({
        publicClient,
        game: disputeGame,
        staking: d.staking.address,
        forger,
        validator,
        nameOf: (a) => names.get(a) ?? short(a),
      });
      ui.step(
        "A colluding committee cleared a forger; the honest validator's daemon disputed and won by itself",
        disputes.lines,
      );
    }

    // Verification cost from the daemons' own /metrics.
    let trainingSeconds = 0;
    let runsTrained = 0;
    for (const url of daemons.trainerUrls) {
      const h = await scrape(url, "poai_trainer_training_seconds");
      trainingSeconds += h.sum;
      runsTrained += h.count;
    }
    let auditSeconds = 0;
    let audits = 0;
    for (const url of daemons.validatorUrls) {
      const h = await scrape(url, "poai_validator_audit_seconds");
      auditSeconds += h.sum;
      audits += h.count;
    }

    // --- 4. inference ------------------------------------------------------------------------
    // The model the marketplace sells: the first honest trainer's latest Valid run that is not a paid
    // job's (a job's run is registered by its job, as `job/<id>`, never under another name).
    let model: TrainedModel | undefined;
    const jobBoard = await d.challenges.read.jobBoard();
    const isJobRun = async (trainer: Address, round: bigint) =>
      jobBoard !== zeroAddress &&
      (await publicClient.readContract({
        address: jobBoard,
        abi: iJobBoardAbi,
        functionName: "jobSpecOf",
        args: [trainer, round],
      })) !== zeroHash;
    // Latest rounds first; a trainer prunes runs past its retention, so an older run may be gone.
    for (let round = last; round >= first && !model; round--) {
      for (const op of operators.filter((o) => o.role === 1 && o.behaviour === "honest")) {
        const trainer = addr(op.wallet);
        const c = await clientOf(admin).challenges.getChallenge({ id: challengeId(trainer, round) });
        if (c.status !== "Valid" || (await isJobRun(trainer, round))) continue;
        const meta = await clientOf(admin).staking.getOperator({ operator: trainer });
        model = await fetchTrainedModel({
          spec,
          data: mnist.data,
          trainer,
          round,
          endpoint: meta.endpoint,
          root: c.resultRoot,
        }).catch(() => undefined);
        if (model) break;
      }
    }
    const world: DevnetWorld = {
      viem,
      networkHelpers,
      deployed: d,
      deployment,
      wallets,
      admin,
      trainers: operators
        .filter((op) => op.role === 1)
        .map((op) => ({ name: op.name, wallet: op.wallet, behaviour: op.behaviour })),
      dapp,
      clientOf,
      dataDir,
      logLevel: o.logLevel,
      backend: o.backend,
      ...(model && { model }),
    };
    const inference = o.inference && stages.inference ? await stages.inference(world, ui) : null;
    const jobs = job ? await finishDevnetJob(world, job, ui, inference?.contracts) : null;

    // --- 5. rewards --------------------------------------------------------------------------
    // No settlement script: the first actions on the pools after the epochs' points are final
    // (here the operators claiming their commission, then Dave claiming) close the epochs in the
    // RewardDistributor and credit each pool with what it earned, epoch by epoch.
    const closesAt = await d.challenges.read.epochClosesAt([last]);
    if (BigInt(await networkHelpers.time.latest()) < closesAt + 1n)
      await networkHelpers.time.increaseTo(closesAt + 1n);
    const clientOfAdmin = clientOf(admin);
    const rewardLines: string[] = [];
    for (const op of operators) {
      const own = await clientOfAdmin.staking.getPosition({
        owner: addr(op.wallet),
        operator: addr(op.wallet),
      });
      if (own.claimable === 0n) continue;
      await (await as(op.wallet)).staking.write.claim([addr(op.wallet)]);
      rewardLines.push(`${op.name} claims ${fmt(own.claimable)} (its commission and its own stake's part)`);
    }

    const [daveX, erinX] = delegations;
    const davePos = await clientOfAdmin.staking.getPosition({
      owner: addr(daveX.wallet),
      operator: addr(daveX.operator.wallet),
    });
    if (davePos.claimable > 0n)
      await (await as(daveX.wallet)).staking.write.claim([addr(daveX.operator.wallet)]);
    const erinPos = await d.staking.read.getPosition([addr(erinX.wallet), addr(erinX.operator.wallet)]);
    if (erinPos.shares > 0n)
      await (await as(erinX.wallet)).staking.write.undelegate([addr(erinX.operator.wallet), erinPos.shares]);
    for (const e of await publicClient.getContractEvents({
      address: d.distributor.address,
      abi: rewardDistributorAbi,
      eventName: "EpochClosed",
      fromBlock: 0n,
    })) {
      const a = e.args as { epoch: bigint; budget: bigint; trainerBudget: bigint; validatorBudget: bigint };
      if (a.trainerBudget + a.validatorBudget === 0n) continue;
      rewardLines.push(
        `epoch ${a.epoch} closed: ${fmt(a.trainerBudget)} to trainers and ${fmt(a.validatorBudget)} to validators by points`,
      );
    }
    rewardLines.push(
      `${daveX.name} claims ${fmt(davePos.claimable)} from ${daveX.operator.name}'s pool; ${erinX.name} undelegates from ${erinX.operator.name} and keeps what her shares earned`,
    );
    ui.step(
      "Rewards: nobody settles anything; the first claims after the points are final close the epochs and credit each pool",
      rewardLines,
    );

    // --- 6. report ---------------------------------------------------------------------------
    const events = async (
      eventName: string,
      address: Address,
      abi: typeof stakingAbi | typeof rewardDistributorAbi,
    ) =>
      (await publicClient.getContractEvents({
        address,
        abi,
        eventName,
        fromBlock: 0n,
      } as never)) as unknown as {
        args: Record<string, unknown>;
      }[];
    // paid, held, returned and released slashes: a returned hold (an overruled conviction) is none
    const slashes = await clientOfAdmin.staking.getSlashes();
    const commission = new Map<string, bigint>();
    const credited = new Map<string, bigint>();
    let creditedTotal = 0n;
    for (const e of await events("RewardCredited", d.staking.address, stakingAbi)) {
      const k = getAddress(e.args.operator as string);
      commission.set(k, (commission.get(k) ?? 0n) + (e.args.commission as bigint));
      credited.set(k, (credited.get(k) ?? 0n) + (e.args.amount as bigint));
      creditedTotal += e.args.amount as bigint;
    }
    const feesIntoPools = new Map<string, bigint>();
    for (const e of await events("RewardNotified", d.staking.address, stakingAbi)) {
      const k = getAddress(e.args.operator as string);
      feesIntoPools.set(k, (feesIntoPools.get(k) ?? 0n) + (e.args.amount as bigint));
    }
    let claimedTotal = 0n;
    const claimedBy = new Map<string, bigint>();
    for (const e of await events("RewardClaimed", d.staking.address, stakingAbi)) {
      const k = `${getAddress(e.args.owner as string)}:${getAddress(e.args.operator as string)}`;
      claimedBy.set(k, (claimedBy.get(k) ?? 0n) + (e.args.amount as bigint));
      claimedTotal += e.args.amount as bigint;
    }
    for (const e of await events("Compounded", d.staking.address, stakingAbi))
      claimedTotal += e.args.amount as bigint;

    const adminClient = clientOf(admin);
    const rounds: RoundRow[] = [];
    const statusCounts = new Map<string, Record<string, number>>();
    for (let r = first; r <= last; r++) {
      for (const op of operators.filter((x) => x.role === 1)) {
        const trainer = addr(op.wallet);
        const cid = challengeId(trainer, r);
        const c = await adminClient.challenges.getChallenge({ id: cid });
        const due = await d.challenges.read.dueChallenge([trainer, r]);
        const counts = statusCounts.get(trainer) ?? {};
        statusCounts.set(trainer, counts);
        if (c.status === "None" && !due[0]) {
          counts["not due (jailed)"] = (counts["not due (jailed)"] ?? 0) + 1;
          rounds.push({
            round: String(r),
            trainer: op.name,
            status: "not due (jailed)",
            reportedScoreBps: null,
            verdicts: [],
            score: 0,
            points: "0",
          });
          continue;
        }
        counts[c.status] = (counts[c.status] ?? 0) + 1;
        const members = c.status === "None" ? [] : await adminClient.challenges.getMembers({ id: cid });
        const verdicts = members
          .filter((m) => m.revealed)
          .map((m) =>
            m.verdict === "Valid"
              ? `Valid ${(m.measuredScoreBps / 100).toFixed(2)}%`
              : m.verdict === "Invalid"
                ? `Invalid@${m.segment}`
                : m.verdict,
          );
        const pts = await adminClient.challenges.getEpochPoints({ epoch: r, operator: trainer });
        const stake = await d.staking.read.stakeAt([trainer, r]);
        const score = c.status === "Valid" && stake > 0n ? Number((pts * 10n ** 18n) / stake) / 1e18 : 0;
        rounds.push({
          round: String(r),
          trainer: op.name,
          status: c.status,
          reportedScoreBps: c.reportedScoreBps || null,
          verdicts,
          score,
          points: String(pts),
        });
      }
    }
    const validatorReveals = new Map<string, Record<string, number>>();
    for (const e of await publicClient.getContractEvents({
      address: d.challenges.address,
      abi: challengeManagerAbi,
      eventName: "VerdictRevealed",
      fromBlock: 0n,
    })) {
      const args = e.args as { validator?: Address; verdict?: number };
      const k = getAddress(args.validator!);
      const counts = validatorReveals.get(k) ?? {};
      const name = ["None", "Valid", "Invalid", "Unavailable"][Number(args.verdict)] ?? String(args.verdict);
      counts[`revealed ${name}`] = (counts[`revealed ${name}`] ?? 0) + 1;
      validatorReveals.set(k, counts);
    }

    const operatorReports: OperatorReport[] = [];
    for (const op of operators) {
      const a = addr(op.wallet);
      const info = await d.lens.read.getOperator([a]);
      let points = 0n;
      for (let r = first; r <= last; r++) points += await d.challenges.read.epochPoints([r, a]);
      operatorReports.push({
        name: op.name,
        address: a,
        role: op.role === 1 ? "trainer" : "validator",
        behaviour: op.behaviour,
        challenges: (op.role === 1 ? statusCounts.get(a) : validatorReveals.get(a)) ?? {},
        points: String(points),
        slashed: String(slashes.get(a)?.slashed ?? 0n),
        held: String(slashes.get(a)?.held ?? 0n),
        returned: String(slashes.get(a)?.returned ?? 0n),
        jailed: info.jailed,
        rewards: {
          credited: String(credited.get(a) ?? 0n),
          commission: String(commission.get(a) ?? 0n),
          toPool: String((credited.get(a) ?? 0n) - (commission.get(a) ?? 0n)),
          usageFees: String(feesIntoPools.get(a) ?? 0n),
        },
        selfStake: String(info.selfStake),
        totalStake: String(info.totalStake),
      });
    }
    const delegatorReports = [];
    let claimableTotal = 0n;
    let delegatorsClaimed = 0n;
    for (const x of delegations) {
      const pos = await clientOfAdmin.staking.getPosition({
        owner: addr(x.wallet),
        operator: addr(x.operator.wallet),
      });
      let unbonding = 0n;
      for (const u of await d.lens.read.getUnbonding([addr(x.wallet), 10n])) unbonding += u.tokens;
      delegatorsClaimed += claimedBy.get(`${addr(x.wallet)}:${addr(x.operator.wallet)}`) ?? 0n;
      delegatorReports.push({
        name: x.name,
        address: addr(x.wallet),
        operator: x.operator.name,
        delegated: String(x.amount),
        stake: String(pos.tokens),
        claimed: String(claimedBy.get(`${addr(x.wallet)}:${addr(x.operator.wallet)}`) ?? 0n),
        claimable: String(pos.claimable),
        unbonding: String(unbonding),
      });
    }

    // Every position's claimable (operators' commission included), every closed epoch counted.
    for (const op of operators) {
      for (const owner of [op.wallet, ...delegations.map((x) => x.wallet)]) {
        const pos = await clientOfAdmin.staking.getPosition({
          owner: addr(owner),
          operator: addr(op.wallet),
        });
        claimableTotal += pos.claimable;
      }
    }
    const funded = await d.distributor.read.totalFunded();
    const feesIn = await d.distributor.read.totalFees();
    const returned = await d.distributor.read.totalReturned();
    const forwarded = await d.distributor.read.totalForwarded();
    const protocol = await d.distributor.read.totalToProtocol();
    const toOwners = await d.distributor.read.totalToOwners();
    const reserve = await d.distributor.read.reserve();
    const carried = await d.distributor.read.carry();
    const closedBefore = await d.distributor.read.nextEpochToClose();
    const current = await d.staking.read.currentEpoch();
    let unsettled = 0n; // budgets of closed epochs no pool was credited with yet
    for (let r = 0n; r < closedBefore; r++)
      for (const role of [1, 2] as const) unsettled += (await d.staking.read.epochBudget([r, role]))[0];
    let pending = 0n; // fees added to pools for epochs not credited yet
    for (const op of operators) {
      const pool = await d.staking.read.getPool([addr(op.wallet)]);
      for (let r = pool.creditedThrough; r <= current; r++)
        pending += await d.staking.read.poolRewardAt([addr(op.wallet), r]);
    }
    const dust = returned + (await d.staking.read.rewardDust());
    const held = await d.token.read.balanceOf([d.distributor.address]);
    // Distributor side, to the wei: what came in is with the protocol, in the reserve or the carry,
    // or went to Staking, where it is credited to a pool, waiting for an unclosed epoch or for a
    // pool's next touch.
    const balanced =
      funded + feesIn + returned === protocol + toOwners + reserve + carried + forwarded &&
      forwarded === creditedTotal + unsettled + pending &&
      held === reserve + carried;
    // Pool side: what was credited is claimed, claimable, or dust nobody could earn, but for the
    // rounding of each position's floor (a few wei).
    const rounding = creditedTotal - claimedTotal - claimableTotal - dust;

    const forgers = operatorReports.filter((x) => x.behaviour === "forger");
    const honest = operatorReports.filter((x) => x.role === "trainer" && x.behaviour === "honest");
    const absent = operatorReports.filter((x) => x.behaviour === "absent");
    const checks = [
      {
        name: "every forging trainer is slashed and jailed",
        ok: forgers.every((x) => BigInt(x.slashed) > 0n && x.jailed && (x.challenges.Fraud ?? 0) > 0),
        detail:
          forgers
            .map(
              (x) =>
                `${x.name}: ${Object.entries(x.challenges)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ")}, slashed ${fmt(x.slashed)}`,
            )
            .join("; ") || "no forger in this run",
      },
      {
        name: "every honest trainer passes every challenge and earns points",
        ok: honest.every((x) => (x.challenges.Valid ?? 0) === o.epochs && BigInt(x.points) > 0n && !x.jailed),
        detail: honest.map((x) => `${x.name}: Valid ${x.challenges.Valid ?? 0} of ${o.epochs}`).join("; "),
      },
      {
        name: "every absent trainer is reported missed",
        ok: absent.every((x) => (x.challenges.Missed ?? 0) > 0),
        detail:
          absent
            .map(
              (x) =>
                `${x.name}: ${Object.entries(x.challenges)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ")}`,
            )
            .join("; ") || "no absent trainer in this run",
      },
      {
        name: "the reward books balance",
        ok: balanced && rounding >= 0n && rounding < 1000n,
        detail: `funded + fees + returned = protocol + job owners' royalties + reserve + carried + credited to pools + unsettled + pending, to the wei; credited = claimed + claimable + dust + ${rounding} wei of rounding; the distributor holds ${fmt(held)}`,
      },
      {
        name: "delegators are paid without anybody settling",
        ok: delegatorsClaimed > 0n,
        detail: `${delegations[0]!.name} claimed ${fmt(delegatorsClaimed)} with no settlement call`,
      },
      ...(inference
        ? [
            {
              name: "the dApp's requests are delivered, paid and recorded as usage",
              ok: inference.deliveries > 0 && inference.usage.length > 0,
              detail: `${inference.deliveries} deliveries for ${inference.requests} requests, payments ${fmt(inference.payments)}`,
            },
          ]
        : []),
      ...jobChecks(jobs),
      ...disputeChecks(
        disputes,
        addr(operators.find((op) => op.role === 2)!.wallet),
        disputer ? addr(disputer) : zeroAddress,
        operators
          .filter((op) => op.role === 2)
          .slice(1)
          .map((op) => addr(op.wallet)),
      ),
    ];

    report = {
      chainId: publicClient.chain.id,
      mode: chain.mode,
      options: { ...o },
      spec: {
        id,
        widths: [...spec.widths],
        steps: spec.steps,
        checkpointInterval: spec.checkpointInterval,
        auditSamples: AUDIT_SAMPLES,
      },
      deployment: {
        chainId: publicClient.chain.id,
        deployBlock: String(deployment.deployBlock ?? 0n),
        contracts: {
          ...(deployment.contracts as Record<string, string>),
          ...inference?.contracts,
          ...jobs?.contracts,
        },
      },
      wallSeconds: 0,
      rounds,
      operators: operatorReports,
      delegators: delegatorReports,
      inference,
      jobs,
      disputes,
      verification: {
        trainingSeconds,
        runsTrained,
        auditSeconds,
        audits,
        overhead: trainingSeconds > 0 ? auditSeconds / trainingSeconds : null,
      },
      accounting: {
        funded: String(funded),
        usageFees: String(feesIn),
        returned: String(returned),
        creditedToPools: String(creditedTotal),
        protocol: String(protocol),
        toOwners: String(toOwners),
        reserve: String(reserve),
        carried: String(carried),
        unsettled: String(unsettled),
        pendingInPools: String(pending),
        distributorHolds: String(held),
        burnedBySlashes: String(await d.token.read.balanceOf([BURN])),
        claimed: String(claimedTotal),
        claimedByDelegators: String(delegatorsClaimed),
        claimable: String(claimableTotal),
        dust: String(dust),
        rounding: String(rounding),
        balanced,
      },
      checks,
    };
  } finally {
    await daemons?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await mnist.server.close();
  }
  // The federated job, once the daemons have stopped (its own participants, the same validators).
  const spare = wallets.slice(needed, needed + 3);
  if (o.federated && spare.length === 3) {
    ui.step("Federated MNIST job (three participants, one non-IID, one poisoning)");
    const fed = await runDevnetFederated({
      viem,
      advanceTo: (t) => networkHelpers.time.increaseTo(t),
      deployed: d,
      spare,
      owner: erin,
      validators: validatorWallets,
      data: mnist.data,
      backend: o.backend,
      log: (line) => ui.step(line),
    });
    report.federated = fed.summary;
    report.checks.push(...fed.checks);
  }
  report.wallSeconds = (performance.now() - started) / 1000;
  return report;
}

/** The daemons of a devnet, however they run. */
interface DaemonSet {
  trainers: Tickable[];
  validators: Tickable[];
  /** Base URLs of their status and metrics servers. */
  trainerUrls: string[];
  validatorUrls: string[];
  lines: string[];
  stop(): Promise<void>;
}

async function startInProcess(
  o: DevnetOptions,
  operators: Operator[],
  clientOf: (w: WalletClient) => PoAIClient,
  dataDir: string,
  claims: (op: Operator) => boolean,
): Promise<DaemonSet> {
  const trainers: TrainerDaemon[] = [];
  const validators: ValidatorDaemon[] = [];
  const stop = async () => {
    for (const daemon of [...trainers, ...validators]) await daemon.stop();
  };
  try {
    for (const [i, op] of operators.entries()) {
      if (op.role !== 1 || op.behaviour === "absent") continue;
      const options = {
        client: clientOf(op.wallet),
        databasePath: path.join(dataDir, `trainer-${i}.db`),
        progress: "off" as const,
        logLevel: o.logLevel,
        backend: o.backend,
        claimJobs: claims(op),
      };
      trainers.push(
        op.behaviour === "forger"
          ? await ForgingTrainer.create(options)
          : op.behaviour === "cleared forger"
            ? await DisputingForger.create(options)
            : await TrainerDaemon.create(options),
      );
    }
    // With a dispute game, every validator but the first colludes with the cleared forger.
    const friend = operators.find((op) => op.behaviour === "cleared forger");
    for (const [i, op] of operators.entries()) {
      if (op.role !== 2) continue;
      const options = {
        client: clientOf(op.wallet),
        dbPath: path.join(dataDir, `validator-${i}.db`),
        logLevel: o.logLevel,
        backend: o.backend,
      };
      if (friend && validators.length > 0) {
        const colluder = await ColludingValidator.create(options);
        colluder.friends.add(addr(friend.wallet).toLowerCase());
        validators.push(colluder);
      } else validators.push(await ValidatorDaemon.create(options));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    trainers,
    validators,
    trainerUrls: trainers.map((t) => t.serverUrl),
    validatorUrls: validators.map((v) => v.url!),
    lines: [
      ...trainers.map(
        (t) => `trainer ${short(t.address)} (${t.status().backend}): checkpoints at ${t.endpoint}`,
      ),
      ...validators.map((v) => `validator ${short(v.validator)}: status and metrics at ${v.url}`),
    ],
    stop,
  };
}

/** The key of `address` among `hardhat node`'s default accounts: what its daemon process signs with. */
function keyOf(address: Address): Hex {
  for (let i = 0; i < 64; i++) if (hardhatAccountAddress(i) === address) return hardhatAccountKey(i);
  throw new Error(
    `--rpc: account ${address} is not one of the node's default accounts; the devnet starts its daemons with those keys (run \`npx hardhat node\`)`,
  );
}

async function startProcesses(
  o: DevnetOptions,
  chain: DevnetChain,
  operators: Operator[],
  deployment: PoAIDeployment,
  dataDir: string,
  claims: (op: Operator) => boolean,
): Promise<DaemonSet> {
  const rpc = chain.rpc!;
  const book = path.join(dataDir, "deployment.json");
  writeFileSync(book, addressBookJson(deployment));
  const backend = ["--backend", o.backend];
  const fleet = await startDaemonProcesses({
    rpc,
    deployment: book,
    dataDir,
    logLevel: o.logLevel === "silent" ? "warn" : o.logLevel,
    daemons: operators
      .filter((op) => op.behaviour !== "absent")
      .map((op) => ({
        role: op.role === 1 ? ("trainer" as const) : ("validator" as const),
        key: keyOf(addr(op.wallet)),
        label: op.name.replace(" ", "-"),
        args: op.role === 1 && !claims(op) ? [...backend, "--no-claim-jobs"] : backend,
        ...(op.behaviour === "forger" && { script: FORGING_TRAINER }),
      })),
  });
  return {
    trainers: fleet.trainers,
    validators: fleet.validators,
    trainerUrls: fleet.trainers.map((t) => t.url),
    validatorUrls: fleet.validators.map((v) => v.url),
    lines: fleet.daemons.map((d) => `${d.label.replace("-", " ")}: pid ${d.pid}, ${d.url}, log ${d.logFile}`),
    async stop() {
      const codes = await fleet.stop();
      const bad = Object.entries(codes).filter(([, code]) => code !== 0);
      if (bad.length)
        throw new Error(`daemon processes did not stop cleanly: ${JSON.stringify(Object.fromEntries(bad))}`);
    },
  };
}

const FORGING_TRAINER = path.resolve(import.meta.dirname, "forging-trainer.js");
