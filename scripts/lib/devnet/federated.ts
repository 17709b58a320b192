/**
 * The devnet's federated job (FLock FL Alliance style): MNIST's training digits split across three
 * participants (A: an IID third; B: a non-IID split, mostly digits 0-4; C: the rest, trained with
 * flipped labels: a poisoned update), each holding its shard privately and committing only its
 * root. Every round each participant trains the global model on its shard and commits, then
 * reveals, its update (served over HTTP by its node); the validators fetch the updates, check
 * their hashes, score them on the held-out digits and commit, then reveal, their scores; a
 * validator finalizes the round: C's update is excluded and unpaid, then slashed for repeating
 * it. The report gives the global model's held-out accuracy per round, who got paid what, and the
 * same training on the pooled honest data for comparison.
 *
 * Also the body of `BENCH=federated` (gas per round per participant, accuracy against pooled
 * training) and of the multi-process test against `npx hardhat node`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  parseEventLogs,
  toHex,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import {
  commitDataset,
  fedAvg,
  initialModel,
  localSeed,
  localUpdate,
  modelHash,
  scoreModel,
  type BackendKind,
  type DatasetData,
  type ExampleRows,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { federatedJobsAbi } from "@poai/sdk";
import {
  FED_STATE,
  FederatedParticipant,
  FederatedScorer,
  fetchUpdate,
  type FederatedChain,
} from "@poai/node/federated";

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/** The federated job's shape: [784, 32, 10], 3 rounds of 120 local steps, phases of 5 minutes. */
export const DEVNET_FEDERATED = {
  hidden: [32],
  batchSize: 32,
  localSteps: 120,
  lrShift: 4,
  rounds: 3,
  phase: 300,
  budget: parseEther("900"),
  bandBps: 1500,
  committeeBps: 1000,
  maxStrikes: 2,
} as const;

export interface FederatedRoundReport {
  round: number;
  /** Held-out accuracy of the global model this round ended with (the aggregate of its included updates). */
  globalAccuracyBps: number;
  /** The on-chain reference: the committee's stake-weighted median base score. */
  baseScoreBps: number;
  updates: { participant: string; scoreBps: number; included: boolean; reward: string }[];
  gasPerParticipant: number;
}

export interface FederatedSummary {
  jobId: string;
  contract: Address;
  spec: { widths: number[]; localSteps: number; rounds: number };
  participants: {
    name: string;
    split: string;
    samples: number;
    earned: string;
    strikes: number;
    slashed: boolean;
  }[];
  rounds: FederatedRoundReport[];
  initialAccuracyBps: number;
  finalAccuracyBps: number;
  /** The same steps of training on the pooled honest shards (no federation, nobody excluded). */
  pooledAccuracyBps: number;
  finalModel: Hex;
  /** Budget = paid to participants + paid to the committee + refunded, and the escrow is empty. */
  balanced: boolean;
  paidParticipants: string;
  paidCommittee: string;
  refunded: string;
  /** Gas of each step, summed over the job. */
  gas: Record<string, number>;
  trainingSeconds: number;
  wallSeconds: number;
}

export interface FederatedInput {
  publicClient: PublicClient;
  /** Mines a block at `t` (the devnet's clock). */
  advanceTo: (t: bigint) => Promise<void>;
  contract: Address;
  token: Address;
  owner: Wallet;
  /** Three staked trainers: A (IID), B (non-IID), C (poisoned). */
  participants: Wallet[];
  /** Staked validators (the committee). */
  validators: Wallet[];
  /** MNIST (train and held-out parts loaded). */
  data: DatasetData;
  backend?: BackendKind;
  log?: (line: string) => void;
}

function subset(rows: ExampleRows, indices: number[], relabel?: (l: number) => number): ExampleRows {
  const f = rows.features;
  const inputs = new Int8Array(indices.length * f);
  const labels = new Uint16Array(indices.length);
  for (const [k, i] of indices.entries()) {
    inputs.set(rows.inputs.subarray(i * f, (i + 1) * f), k * f);
    labels[k] = relabel ? relabel(rows.labels[i]) : rows.labels[i];
  }
  return { count: indices.length, features: f, inputs, labels };
}

/** The three shards: an IID third, a non-IID split (90% digits 0-4), and the rest. */
export function federatedShards(data: DatasetData) {
  const train = data.train;
  const n = train.count;
  const all = [...Array(n).keys()];
  const a = all.filter((i) => i % 3 === 0);
  const rest = all.filter((i) => i % 3 !== 0);
  const low = rest.filter((i) => train.labels[i] < 5);
  const high = rest.filter((i) => train.labels[i] >= 5);
  const bHigh = high.slice(0, Math.floor(low.length / 9));
  const b = [...low, ...bHigh].sort((x, y) => x - y);
  const inB = new Set(b);
  const c = rest.filter((i) => !inB.has(i));
  const shard = (name: string, idx: number[], relabel?: (l: number) => number) =>
    commitDataset({
      name,
      features: data.ref.features,
      classes: data.ref.classes,
      train: subset(train, idx, relabel),
      eval: subset(train, idx.slice(0, 64)),
      quantization: data.manifest.quantization,
    });
  return {
    shards: [shard("fed-a", a), shard("fed-b", b), shard("fed-c", c)],
    /** What C actually trains on: its shard with every label shifted by one (flipped). */
    poisoned: shard("fed-c-poisoned", c, (l) => (l + 1) % data.ref.classes),
    pooled: shard(
      "fed-pooled",
      [...a, ...b].sort((x, y) => x - y),
    ),
    splits: ["IID third", "non-IID (90% digits 0-4)", "the rest, labels flipped (poisoned)"],
  };
}

export function federatedSpec(data: DatasetData): TrainingSpec {
  const F = DEVNET_FEDERATED;
  return {
    version: 2,
    widths: [data.ref.features, ...F.hidden, data.ref.classes],
    batchSize: F.batchSize,
    steps: F.localSteps,
    checkpointInterval: F.localSteps,
    lrShift: F.lrShift,
    evalSize: data.ref.evalCount,
    dataset: data.ref,
  };
}

const INIT_SEED: Hex = keccak256(toHex("poai devnet federated job: initial model"));

/** Runs one federated job end to end on the chain behind `input`; see the module comment. */
export async function runFederatedJob(input: FederatedInput): Promise<FederatedSummary> {
  const started = performance.now();
  const F = DEVNET_FEDERATED;
  const log = input.log ?? (() => undefined);
  const { publicClient } = input;
  const stateDir = mkdtempSync(path.join(tmpdir(), "poai-federated-"));
  const { shards, poisoned, pooled, splits } = federatedShards(input.data);
  const spec = federatedSpec(input.data);
  const initial = await initialModel(spec, shards[0], INIT_SEED, { backend: input.backend });
  const names = ["participant A", "participant B", "participant C"];
  const gas: Record<string, number> = {};
  const noteGas = async (step: string, hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    gas[step] = (gas[step] ?? 0) + Number(r.gasUsed);
    return r;
  };
  const write = async (
    w: Wallet,
    functionName: string,
    args: readonly unknown[],
    address = input.contract,
  ) => {
    const { request } = await publicClient.simulateContract({
      address,
      abi: federatedJobsAbi,
      functionName: functionName as "postJob",
      args: args as never,
      account: w.account,
    });
    return w.writeContract(request as never);
  };

  const participants: FederatedParticipant[] = [];
  const scorers: FederatedScorer[] = [];
  let trainingSeconds = 0;
  try {
    // --- post -----------------------------------------------------------------------------------
    const erc20 = [
      {
        type: "function",
        name: "approve",
        stateMutability: "nonpayable",
        inputs: [
          { name: "s", type: "address" },
          { name: "a", type: "uint256" },
        ],
        outputs: [{ type: "bool" }],
      },
    ] as const;
    await publicClient.waitForTransactionReceipt({
      hash: await input.owner.writeContract({
        address: input.token,
        abi: erc20,
        functionName: "approve",
        args: [input.contract, maxUint256],
        account: input.owner.account,
        chain: input.owner.chain,
      }),
    });
    const specBytes = toHex(
      JSON.stringify({
        widths: spec.widths,
        batchSize: spec.batchSize,
        steps: spec.steps,
        lrShift: spec.lrShift,
        initSeed: INIT_SEED,
      }),
    );
    const t0 = (await publicClient.getBlock()).timestamp;
    const terms = {
      specHash: keccak256(specBytes),
      initialModel: modelHash(spec, initial),
      evalRoot: input.data.ref.evalRoot,
      token: input.token,
      budget: F.budget,
      startAt: t0 + 60n,
      phase: F.phase,
      rounds: F.rounds,
      committeeSize: 16,
      bandBps: F.bandBps,
      committeeBps: F.committeeBps,
      maxStrikes: F.maxStrikes,
    };
    const ps = input.participants.map((w, i) => ({
      operator: getAddress(w.account.address),
      shardRoot: shards[i].ref.trainRoot,
      samples: shards[i].ref.trainCount,
    }));
    const posted = await noteGas("post", await write(input.owner, "postJob", [specBytes, terms, ps]));
    const [event] = parseEventLogs({
      abi: federatedJobsAbi,
      logs: posted.logs,
      eventName: "FederatedJobPosted",
    });
    const jobId = event.args.jobId;
    log(`job ${jobId} posted: ${F.rounds} rounds, budget ${F.budget / 10n ** 18n} POAI escrowed`);

    // --- nodes ----------------------------------------------------------------------------------
    const endpoints = new Map<string, string>();
    const ref = { jobId, spec, initial, endpointOf: (a: Address) => endpoints.get(getAddress(a))! };
    const chainOf = (wallet: Wallet): FederatedChain => ({ publicClient, wallet, address: input.contract });
    for (const [i, w] of input.participants.entries()) {
      const p = new FederatedParticipant({
        chain: chainOf(w),
        job: ref,
        shard: shards[i],
        trainOn: i === 2 ? poisoned : undefined,
        stateDir: path.join(stateDir, `p${i}`),
        backend: input.backend,
        onTrained: (_r, s) => (trainingSeconds += s),
      });
      endpoints.set(p.address, await p.listen());
      participants.push(p);
    }
    for (const [i, w] of input.validators.entries()) {
      scorers.push(
        new FederatedScorer({
          chain: chainOf(w),
          job: ref,
          heldOut: input.data,
          stateDir: path.join(stateDir, `v${i}`),
          backend: input.backend,
          finalize: i === 0,
        }),
      );
    }

    // --- rounds ---------------------------------------------------------------------------------
    const phaseAt = (round: bigint, phase: number) =>
      publicClient.readContract({
        address: input.contract,
        abi: federatedJobsAbi,
        functionName: "phaseStart",
        args: [jobId, round, phase],
      });
    const reach = async (t: bigint) => {
      if ((await publicClient.getBlock()).timestamp < t) await input.advanceTo(t);
    };
    const rounds: FederatedRoundReport[] = [];
    const accuracy = async (w: Int16Array) =>
      (await scoreModel(spec, input.data, w, { backend: input.backend })).accuracyBps;
    const initialAccuracyBps = await accuracy(initial);
    const gasBefore = () => Object.values(gas).reduce((a, b) => a + b, 0);
    const tracked = async (step: string, body: () => Promise<unknown>) => {
      const from = await publicClient.getBlockNumber();
      await body();
      const to = await publicClient.getBlockNumber();
      for (let b = from + 1n; b <= to; b++) {
        const block = await publicClient.getBlock({ blockNumber: b, includeTransactions: true });
        for (const tx of block.transactions) {
          if (typeof tx === "string" || tx.to?.toLowerCase() !== input.contract.toLowerCase()) continue;
          await noteGas(step, tx.hash);
        }
      }
    };
    for (let r = 0n; r <= BigInt(F.rounds); r++) {
      const training = r < BigInt(F.rounds);
      const before = gasBefore();
      if (training) {
        await reach(await phaseAt(r, 0));
        await tracked("commitUpdate", async () => {
          for (const p of participants) await p.tick();
        });
        await reach(await phaseAt(r, 1));
        await tracked("revealUpdate", async () => {
          for (const p of participants) await p.tick();
        });
      }
      await reach(await phaseAt(r, 2));
      await tracked("commitScores", async () => {
        for (const s of scorers) await s.tick();
      });
      await reach(await phaseAt(r, 3));
      await tracked("revealScores", async () => {
        for (const s of scorers) await s.tick();
      });
      await reach(await phaseAt(r, 4));
      await tracked("finalizeRound", async () => {
        await scorers[0].tick();
      });
      const view = await publicClient.readContract({
        address: input.contract,
        abi: federatedJobsAbi,
        functionName: "getRound",
        args: [jobId, r],
      });
      if (!training) continue;
      // The global model this round produced, as every node recomputes it.
      const included = view.updates.flatMap((u, i) => (u.included ? [i] : []));
      const global =
        included.length === 0
          ? undefined
          : fedAvg(
              await Promise.all(
                included.map(async (i) => ({
                  weights: await fetchUpdate(ref, ps[i].operator, r, view.updates[i].updateHash),
                  samples: ps[i].samples,
                })),
              ),
            );
      const globalAccuracyBps = global
        ? await accuracy(global)
        : (rounds.at(-1)?.globalAccuracyBps ?? initialAccuracyBps);
      rounds.push({
        round: Number(r),
        globalAccuracyBps,
        baseScoreBps: view.baseScoreBps,
        updates: view.updates.map((u, i) => ({
          participant: names[i],
          scoreBps: u.scoreBps,
          included: u.included,
          reward: String(u.reward),
        })),
        gasPerParticipant: Math.round((gasBefore() - before) / ps.length),
      });
      log(
        `round ${r}: global accuracy ${(globalAccuracyBps / 100).toFixed(2)}%; ` +
          view.updates
            .map(
              (u, i) =>
                `${names[i]} ${(u.scoreBps / 100).toFixed(2)}% ${u.included ? "included" : "EXCLUDED"}`,
            )
            .join(", "),
      );
    }

    // --- outcome --------------------------------------------------------------------------------
    const job = await publicClient.readContract({
      address: input.contract,
      abi: federatedJobsAbi,
      functionName: "getJob",
      args: [jobId],
    });
    if (job.state !== FED_STATE.Completed) throw new Error(`federated job ${jobId} did not complete`);
    const logs = await publicClient.getContractEvents({
      address: input.contract,
      abi: federatedJobsAbi,
      eventName: "RoundFinalized",
      args: { jobId },
      fromBlock: posted.blockNumber,
    });
    const paidTotal = logs.reduce((s, l) => s + l.args.paid!, 0n);
    const paidParticipants = job.participants.reduce((s, p) => s + p.earned, 0n);
    const [done] = await publicClient.getContractEvents({
      address: input.contract,
      abi: federatedJobsAbi,
      eventName: "FederatedJobCompleted",
      args: { jobId },
      fromBlock: posted.blockNumber,
    });
    const refunded = done.args.refunded!;
    const escrowed = await publicClient.readContract({
      address: input.contract,
      abi: federatedJobsAbi,
      functionName: "escrowed",
      args: [input.token],
    });
    const finalAccuracyBps = rounds.at(-1)!.globalAccuracyBps;

    // Pooled: the honest shards together, trained for as many steps as one participant did.
    const pooledSpec = {
      ...spec,
      steps: F.localSteps * F.rounds,
      checkpointInterval: F.localSteps * F.rounds,
    };
    const pooledModel = await localUpdate(
      pooledSpec,
      pooled,
      initial,
      localSeed(0n, 0, getAddress(input.contract)),
      {
        backend: input.backend,
      },
    );
    const pooledAccuracyBps = await accuracy(pooledModel);
    return {
      jobId: String(jobId),
      contract: input.contract,
      spec: { widths: [...spec.widths], localSteps: F.localSteps, rounds: F.rounds },
      participants: job.participants.map((p, i) => ({
        name: names[i],
        split: splits[i],
        samples: p.samples,
        earned: String(p.earned),
        strikes: p.strikes,
        slashed: p.slashed,
      })),
      rounds,
      initialAccuracyBps,
      finalAccuracyBps,
      pooledAccuracyBps,
      finalModel: job.globalModel,
      balanced: paidTotal + refunded === job.terms.budget && escrowed === 0n,
      paidParticipants: String(paidParticipants),
      paidCommittee: String(paidTotal - paidParticipants),
      refunded: String(refunded),
      gas,
      trainingSeconds,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const p of participants) await p.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** What the devnet needs to run its federated section on its own deployment. */
export interface DevnetFederatedInput {
  viem: {
    deployContract: (...args: never[]) => Promise<unknown>;
    getContractAt: (...args: never[]) => Promise<unknown>;
    getWalletClients: () => Promise<unknown[]>;
    getPublicClient: () => Promise<unknown>;
  };
  advanceTo: (t: bigint) => Promise<void>;
  deployed: {
    manager: { address: Address };
    staking: {
      address: Address;
      read: { epochStart: (a: [bigint]) => Promise<bigint>; currentEpoch: () => Promise<bigint> };
    };
    beacon: { address: Address };
    distributor: { address: Address };
    token: { address: Address; write: { transfer: (a: [Address, bigint]) => Promise<Hex> } };
  };
  /** Three unused funded accounts: they register as trainers and take part. */
  spare: Wallet[];
  owner: Wallet;
  validators: Wallet[];
  data: DatasetData;
  backend?: BackendKind;
  log?: (line: string) => void;
}

/** The devnet's federated section: deploys FederatedJobs, registers the participants, runs the job. */
export async function runDevnetFederated(input: DevnetFederatedInput) {
  const { deployFederated } = await import("../deploy-federated.js");
  const viem = input.viem as unknown as Parameters<typeof deployFederated>[0];
  const d = input.deployed;
  const { federated } = await deployFederated(viem, d);
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const stakingAbi = (await viem.getContractAt("Staking", d.staking.address)).abi;
  const tokenAbi = (await viem.getContractAt("PoAIToken", d.token.address)).abi;
  const wait = async (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  for (const [i, w] of input.spare.entries()) {
    await wait(await d.token.write.transfer([w.account.address, parseEther("6000")]));
    await wait(
      await w.writeContract({
        address: d.token.address,
        abi: tokenAbi,
        functionName: "approve",
        args: [d.staking.address, maxUint256],
        account: w.account,
        chain: w.chain,
      }),
    );
    await wait(
      await w.writeContract({
        address: d.staking.address,
        abi: stakingAbi,
        functionName: "register",
        args: [1, parseEther(String(5000 - 500 * i)), 500, 2000, "http://127.0.0.1", "CPU"],
        account: w.account,
        chain: w.chain,
      }),
    );
  }
  await wait(await d.token.write.transfer([input.owner.account.address, DEVNET_FEDERATED.budget]));
  // Stake counts from the epoch after registration.
  await input.advanceTo(await d.staking.read.epochStart([(await d.staking.read.currentEpoch()) + 1n]));
  const summary = await runFederatedJob({
    publicClient,
    advanceTo: input.advanceTo,
    contract: federated.address,
    token: d.token.address,
    owner: input.owner,
    participants: input.spare,
    validators: input.validators,
    data: input.data,
    backend: input.backend,
    log: input.log,
  });
  const excluded = summary.rounds.map((r) => r.updates.filter((u) => !u.included).map((u) => u.participant));
  const checks = [
    {
      name: "the federated job excludes the poisoned update every round and slashes its repetition",
      ok:
        excluded.every((e) => e.length === 1 && e[0] === "participant C") &&
        summary.participants[2].slashed &&
        summary.participants[2].earned === "0",
      detail: `excluded per round: ${excluded.map((e) => e.join(", ") || "none").join(" | ")}; participant C slashed: ${summary.participants[2].slashed}`,
    },
    {
      name: "the federated model learns and its books balance",
      ok: summary.finalAccuracyBps > summary.initialAccuracyBps + 3000 && summary.balanced,
      detail: `held-out accuracy ${(summary.initialAccuracyBps / 100).toFixed(2)}% -> ${summary.rounds.map((r) => `${(r.globalAccuracyBps / 100).toFixed(2)}%`).join(" -> ")} (pooled training: ${(summary.pooledAccuracyBps / 100).toFixed(2)}%); budget = participants + committee + refund: ${summary.balanced}`,
    },
  ];
  return { summary, checks };
}
