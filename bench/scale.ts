/**
 * `BENCH=scale npm run bench`: how PoAI's cost grows with the network. One in-process chain, N
 * trainers, N validators and N delegators (N = 10, 100, 1,000 by default; `SCALE_N=10,100` and
 * `SCALE_EPOCHS=3` choose), the real daemons (`TrainerDaemon`, `ValidatorDaemon`: real SQLite files,
 * real HTTP checkpoint servers, the SDK's real actions) sharing this process, a tiny spec so that
 * training is not the bottleneck, driven round by round on the chain's clock.
 *
 * Per round (= epoch) it records:
 * - gas of every transaction, by action (beacon, submit, verdict commits and reveals, finalize,
 *   missed reports, reward crediting, claims, …), in total and per trainer;
 * - JSON-RPC requests per daemon (each daemon talks to the chain through its own counting transport);
 * - CPU and wall time of the daemons' ticks (the in-process chain's work for their requests is
 *   included: it runs in this process);
 * - wall time of the round on the in-process chain;
 * and at the end the SQLite size per daemon and the claims (delegators', then operators'), whose
 * first calls close the epochs and credit each pool. Then it fits the growth exponent b of each
 * figure (figure ≈ a·N^b, least squares on log–log): b ≈ 0 is flat, b ≈ 1 linear.
 *
 * `SCALE_VALIDATORS_PER_TRAINER=0.3` runs 3 validators for every 10 trainers instead of one each
 * (at least 3): each validator then owes about 10 verdicts a round (committees of 3) and batches
 * them in one `commitVerdicts` / `revealVerdicts` transaction; those runs are written to
 * `bench/results/scale-batched.json` (`0.1`, one validator for every 10 trainers:
 * `bench/results/scale-1to10.json`). The headline, `bench/results/scale.json`, is one validator
 * per trainer (the default).
 *
 * Committees are drawn from each round's committee pool (`poolSeats`, 30 by default:
 * `SCALE_POOL_SEATS=0` runs without one), so that a validator serving a round holds about 30 seats
 * in it whatever the number of validators.
 *
 * The driver lets the validators look once more when each top-up band of a commit window opens
 * (`driveRounds({ topUps: true })`), so that short committees are filled in their own round.
 *
 * Writes `bench/results/scale.json` and prints tables.
 */
import { statSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  custom,
  decodeFunctionData,
  getAddress,
  keccak256,
  maxUint256,
  multicall3Abi,
  parseEther,
  parseTransaction,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { writeContract, waitForTransactionReceipt } from "viem/actions";
import {
  challengeManagerAbi,
  createPoAIClient,
  isInPool,
  parseDeployment,
  poolSize,
  poaiTokenAbi,
  randomnessBeaconAbi,
  rewardDistributorAbi,
  roundWindows,
  specId,
  stakingAbi,
  taskRegistryAbi,
  type TrainingSpec,
} from "@poai/sdk";
import { TrainerDaemon } from "@poai/node";
import { ValidatorDaemon } from "@poai/node/verifier";
import { defaultChallengeParams, deployNetwork } from "../scripts/lib/deploy.js";
import { contractsOf } from "../scripts/lib/address-book.js";
import { driveRounds, type Tickable } from "../scripts/lib/daemon-network.js";
import { multicall3Bytecode } from "../test/sdk/fixture.js";
import {
  COMMITTEE_SIZE,
  leastSquares,
  mean,
  scaleExponents,
  verdictFit,
  type FittedSize,
} from "./scale-fit.js";

/**
 * One epoch a day, as on a public chain: a round of N = 1,000 mines thousands of blocks and the
 * in-process chain moves its clock at least a second a block, so that with one-hour epochs the
 * commit window (a quarter of the epoch) closed before the validators looked.
 */
const EPOCH = 86_400;
const COMMITTEE = COMMITTEE_SIZE;
/**
 * Seats a member of a round's committee pool holds on average (`poolSeats`; `SCALE_POOL_SEATS`
 * chooses, 0 runs without a pool: every validator serves every round). The default is the
 * deployment's.
 */
const POOL_SEATS = Number(process.env.SCALE_POOL_SEATS ?? defaultChallengeParams(EPOCH).poolSeats);
/** Parties of each kind (delegators, trainers, validators) that claim at the end of a run. */
const CLAIM_SAMPLE = 100;
/** 8 segments of 10 steps of a 8-16-4 MLP: trains and replays in milliseconds. */
const SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 16, 4],
  batchSize: 8,
  steps: 80,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
const SPEC_PARAMS = { responseDeadline: EPOCH / 2 - 1, minScoreBps: 0, maxScoreBps: 10_000, auditSamples: 2 };

type Role = "trainer" | "validator" | "delegator";

/** Counts each daemon's JSON-RPC requests, and remembers every transaction it sends. */
class RpcCounter {
  requests = 0;
  last: { at: number; method: string } | undefined;
  byMethod = new Map<string, number>();
  /** Wall milliseconds the chain took to answer, by method (the in-process chain's work for this daemon). */
  msByMethod = new Map<string, number>();
  reset() {
    this.requests = 0;
    this.byMethod.clear();
    this.msByMethod.clear();
  }
}

interface SentTx {
  hash: Hex;
  to: Address;
  data: Hex;
  round: bigint;
}

interface RoundFigures {
  round: string;
  steady: boolean;
  wallSeconds: number;
  transactions: number;
  gasTotal: number;
  gasPerTrainer: number;
  /** action → { tx count, gas } */
  actions: Record<string, { count: number; gas: number }>;
  /** `Contract.function` → { tx count, gas } */
  functions: Record<string, { count: number; gas: number }>;
  rpcPerDaemon: Record<"trainer" | "validator", { mean: number; max: number }>;
  rpcByMethod: Record<"trainer" | "validator", Record<string, number>>;
  /** Wall ms the chain spent answering each method, summed over the role's daemons (all of them). */
  rpcMsByMethod: Record<"trainer" | "validator", Record<string, number>>;
  cpuMsPerDaemon: Record<"trainer" | "validator", number>;
  /**
   * The audit round's committee pool: its size (`poolSize`, members expected), the validators in it
   * (`isInPool`, from the round's beacon value and the stakes at the challenges' round), and the
   * distinct validators that committed verdicts. Absent for a round with no audits.
   */
  pool?: { size: number; members: number; committers: number; verdicts: number };
}

interface SizeFigures {
  n: number;
  /** Validators (N unless `SCALE_VALIDATORS_PER_TRAINER` says otherwise). */
  validators: number;
  epochs: number;
  setupSeconds: number;
  rounds: RoundFigures[];
  /** The steady rounds' figures (`maxTxGas`: the largest single transaction of each action). */
  steady: FittedSize["steady"];
  claims: {
    count: number;
    gasMean: number;
    gasMax: number;
    gasFirst: number;
    functions: Record<string, number>;
  };
  sqliteBytes: Record<"trainer" | "validator", { mean: number; max: number }>;
  /** `SCALE_TRACE=1`: where the gas of a submission and of the largest verdict batches goes. */
  traces?: Record<string, { items: number; gas: number; breakdown: Record<string, number> }>;
  /**
   * `SCALE_TRACE=all`: every transaction of the steady rounds by `Contract.function`, summed over
   * those rounds: transactions, items (verdicts of a batch), gas and its opcode breakdown.
   */
  traceTotals?: Record<
    string,
    { transactions: number; items: number; gas: number; breakdown: Record<string, number> }
  >;
  /** Gas per trainer against verdicts per challenge over the steady rounds (`verdictFit`). */
  verdictFit: ReturnType<typeof verdictFit>;
  /** gas ≈ perTransaction + perVerdict·verdicts, fitted over the steady rounds' batch transactions. */
  batching: Record<
    string,
    { transactions: number; verdicts: number; perTransaction: number; perVerdict: number } | null
  >;
}

/** Which protocol action a call is. */
function actionOf(contract: string, fn: string): string {
  if (contract === "RandomnessBeacon") return "beacon";
  if (contract === "ChallengeManager") {
    if (/^submit/i.test(fn)) return "submit";
    if (/^commitVerdict/i.test(fn)) return "verdict commits";
    if (/^revealVerdict/i.test(fn)) return "verdict reveals";
    if (/vote/i.test(fn)) return "second-phase votes";
    if (/^finalize/i.test(fn)) return "finalize";
    if (/missed/i.test(fn)) return "missed reports";
    return `ChallengeManager.${fn}`;
  }
  if (contract === "RewardDistributor") return "reward crediting";
  if (contract === "Staking" && /^claim/.test(fn)) return "claims";
  return `${contract}.${fn}`;
}

const ACTION_ORDER = [
  "beacon",
  "submit",
  "verdict commits",
  "verdict reveals",
  "second-phase votes",
  "finalize",
  "missed reports",
  "reward crediting",
  "claims",
];

/** Least squares gas = a + b·items over batch transactions; null without two distinct sizes. */
function linearFit(xs: { items: number; gas: number }[]) {
  const line = leastSquares(xs.map((x) => ({ x: x.items, y: x.gas })));
  if (line === null) return null;
  return {
    transactions: xs.length,
    verdicts: xs.reduce((a, x) => a + x.items, 0),
    perTransaction: Math.round(line.intercept),
    perVerdict: Math.round(line.slope),
  };
}

interface StructLog {
  op: string;
  gas: number;
  depth: number;
}

/**
 * Where a transaction's gas goes, from the node's opcode trace (`debug_traceTransaction`): each
 * top-level opcode costs the gas it leaves before the next top-level one, so a call's row holds the
 * callee's whole execution. Intrinsic gas is the receipt's `gasUsed` minus the execution (net of
 * refunds).
 */
async function gasBreakdown(
  provider: { request(a: { method: string; params: unknown[] }): Promise<unknown> },
  hash: Hex,
  gasUsed: number,
): Promise<Record<string, number>> {
  const trace = (await provider.request({
    method: "debug_traceTransaction",
    params: [hash, { disableStack: true, disableMemory: true, disableStorage: true }],
  })) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const out: Record<string, number> = {};
  const top = logs.filter((l) => l.depth === 1);
  for (let i = 0; i < top.length - 1; i++) {
    const op = top[i].op;
    const cost = top[i].gas - top[i + 1].gas;
    const kind = /CALL/.test(op)
      ? "external calls (with the callee)"
      : op === "SSTORE"
        ? "SSTORE"
        : op === "SLOAD"
          ? "SLOAD"
          : /^LOG/.test(op)
            ? "events (LOG)"
            : op === "KECCAK256" || op === "SHA3"
              ? "KECCAK256"
              : "other opcodes";
    out[kind] = (out[kind] ?? 0) + cost;
  }
  const execution = top.length ? top[0].gas - top[top.length - 1].gas : 0;
  out["intrinsic (21,000 + calldata), net of refunds"] = gasUsed - execution;
  return out;
}

async function runSize(
  n: number,
  epochs: number,
  perTrainer: number,
  log: (line: string) => void,
  onRound: (rounds: readonly RoundFigures[]) => void = () => undefined,
): Promise<SizeFigures> {
  const nv = Math.max(COMMITTEE, Math.round(n * perTrainer));
  const setupStart = performance.now();
  const connection = await network.create();
  const { viem, networkHelpers, provider } = connection;
  const dataDir = mkdtempSync(path.join(tmpdir(), `poai-scale-${n}-`));
  const stops: (() => Promise<void>)[] = [];
  try {
    const d = await deployNetwork(viem, {
      epochLength: EPOCH,
      emission: parseEther("1000"),
      challenge: { committeeSize: COMMITTEE, poolSeats: POOL_SEATS },
    });
    const publicClient = await viem.getPublicClient();
    const chain = publicClient.chain;
    // Multicall3, as on every public chain: the daemons batch their reads through it.
    const [deployer] = await viem.getWalletClients();
    const { contractAddress: multicall3 } = await publicClient.waitForTransactionReceipt({
      hash: await deployer.deployContract({ abi: [], bytecode: multicall3Bytecode() }),
    });
    const deployment = parseDeployment({
      chainId: chain.id,
      deployBlock: 0n,
      contracts: { ...contractsOf(d), multicall3: multicall3! },
    });
    const contractOf = new Map<string, { name: string; abi: Abi }>([
      [d.challenges.address.toLowerCase(), { name: "ChallengeManager", abi: challengeManagerAbi }],
      [d.beacon.address.toLowerCase(), { name: "RandomnessBeacon", abi: randomnessBeaconAbi }],
      [d.staking.address.toLowerCase(), { name: "Staking", abi: stakingAbi }],
      [d.distributor.address.toLowerCase(), { name: "RewardDistributor", abi: rewardDistributorAbi }],
      [d.token.address.toLowerCase(), { name: "PoAIToken", abi: poaiTokenAbi }],
      [d.registry.address.toLowerCase(), { name: "TaskRegistry", abi: taskRegistryAbi }],
    ]);

    // Accounts of their own (the chain's 20 default accounts are too few), funded with native currency.
    let round = 0n;
    const sent: SentTx[] = [];
    const counters = new Map<Address, RpcCounter>();
    const callStats: Record<string, { n: number; ms: number }> = {};
    const clientFor = (i: number, role: Role) => {
      const account = privateKeyToAccount(keccak256(toHex(`poai-scale:${role}:${i}`)));
      const counter = new RpcCounter();
      counters.set(account.address, counter);
      // No retries: the in-process chain has no transient failures, and a revert must not be retried.
      const transport = custom(
        {
          async request({ method, params }: { method: string; params?: unknown }) {
            counter.requests++;
            if (process.env.SCALE_DEBUG && counter.last && performance.now() - counter.last.at > 200)
              console.log(
                `    ${role} ${i} gap ${Math.round(performance.now() - counter.last.at)} ms between ${counter.last.method} and ${method}`,
              );
            if (process.env.SCALE_DEBUG) counter.last = { at: performance.now(), method };
            counter.byMethod.set(method, (counter.byMethod.get(method) ?? 0) + 1);
            const t0 = performance.now();
            const result = await provider
              .request({ method, params: params as unknown[] })
              .catch((err: unknown) => {
                if (process.env.SCALE_DEBUG)
                  console.log(
                    `    failed ${method}: ${(err as Error).constructor.name} code=${(err as { code?: unknown }).code} data=${JSON.stringify((err as { data?: unknown }).data)?.slice(0, 80)} ${(err as Error).message.slice(0, 100)}`,
                  );
                throw err;
              });
            counter.msByMethod.set(method, (counter.msByMethod.get(method) ?? 0) + performance.now() - t0);
            if (process.env.SCALE_DEBUG_CALLS && method === "eth_call") {
              const call = (params as { to?: string; data?: string }[])[0];
              let inner = "";
              if (call.data?.startsWith("0x82ad56cb")) {
                const calls = decodeFunctionData({ abi: multicall3Abi, data: call.data as Hex })
                  .args[0] as readonly {
                  callData: Hex;
                }[];
                inner = ` [${calls.length} × ${calls[0]?.callData.slice(0, 10)}]`;
              }
              const key = `${role} ${call.to?.slice(0, 8)} ${call.data?.slice(0, 10)}${inner}`;
              const e = (callStats[key] ??= { n: 0, ms: 0 });
              e.n++;
              e.ms += performance.now() - t0;
            }
            if (process.env.SCALE_DEBUG && performance.now() - t0 > 300)
              console.log(
                `    slow ${method}: ${Math.round(performance.now() - t0)} ms ${JSON.stringify(params).slice(0, 200)}`,
              );
            if (method === "eth_sendRawTransaction") {
              const tx = parseTransaction((params as Hex[])[0]);
              sent.push({ hash: result as Hex, to: tx.to!, data: tx.data ?? "0x", round });
            }
            return result;
          },
        },
        { retryCount: 0 },
      );
      const pc = createPublicClient({ chain, transport, pollingInterval: 5 });
      const wallet = createWalletClient({ chain, transport, account, pollingInterval: 5 });
      return {
        account,
        address: getAddress(account.address),
        wallet,
        counter,
        poai: createPoAIClient({ publicClient: pc, walletClient: wallet, deployment }),
      };
    };
    type Party = ReturnType<typeof clientFor>;
    const trainers: Party[] = [];
    const validators: Party[] = [];
    const delegators: Party[] = [];
    for (let i = 0; i < n; i++) {
      trainers.push(clientFor(i, "trainer"));
      delegators.push(clientFor(i, "delegator"));
    }
    for (let i = 0; i < nv; i++) validators.push(clientFor(i, "validator"));
    const all = [...trainers, ...validators, ...delegators];
    for (const p of all)
      await provider.request({
        method: "hardhat_setBalance",
        params: [p.address, toHex(parseEther("1000"))],
      });
    const send = async (
      p: Party,
      address: Address,
      abi: Abi,
      functionName: string,
      args: readonly unknown[],
    ) => {
      const hash = await writeContract(p.wallet, {
        address,
        abi,
        functionName,
        args,
        chain,
        account: p.account,
      });
      return hash;
    };
    const token = d.token.address;
    const staking = d.staking.address;
    const pending: Hex[] = [];
    for (const p of all) pending.push(await d.token.write.transfer([p.address, parseEther("10000")]));
    for (const p of all) pending.push(await send(p, token, poaiTokenAbi, "approve", [staking, maxUint256]));
    for (const p of trainers)
      pending.push(
        await send(p, staking, stakingAbi, "register", [
          1,
          parseEther("5000"),
          500,
          2000,
          "http://127.0.0.1:1",
          "CPU",
        ]),
      );
    for (const p of validators)
      pending.push(
        await send(p, staking, stakingAbi, "register", [
          2,
          parseEther("2000"),
          500,
          2000,
          "http://127.0.0.1:1",
          "CPU",
        ]),
      );
    for (const hash of pending.splice(0)) await waitForTransactionReceipt(publicClient, { hash });
    for (const [i, p] of delegators.entries())
      pending.push(await send(p, staking, stakingAbi, "delegate", [trainers[i].address, parseEther("1000")]));
    for (const hash of pending.splice(0)) await waitForTransactionReceipt(publicClient, { hash });
    // Emissions for every epoch played (1,000 POAI an epoch).
    await d.token.write.approve([d.distributor.address, maxUint256]);
    await d.distributor.write.fund([parseEther(String(1000 * (epochs + 4)))]);
    const { ...fields } = SPEC;
    await d.registry.write.registerSpec([{ ...fields, widths: [...SPEC.widths] }, SPEC_PARAMS]);
    await d.registry.write.activate([specId(SPEC)]);
    sent.length = 0;

    // The daemons, each with its own SQLite file; a trainer's checkpoint server on its own port.
    const trainerDaemons: TrainerDaemon[] = [];
    const validatorDaemons: ValidatorDaemon[] = [];
    const dbOf = new Map<object, string>();
    for (const [i, p] of trainers.entries()) {
      const databasePath = path.join(dataDir, `trainer-${i}.db`);
      const daemon = await TrainerDaemon.create({
        client: p.poai,
        databasePath,
        backend: "js",
        progress: "off",
        logLevel: process.env.SCALE_DEBUG && i === 0 ? "warn" : "silent",
      });
      stops.push(() => daemon.stop());
      trainerDaemons.push(daemon);
      dbOf.set(daemon, databasePath);
    }
    for (const [i, p] of validators.entries()) {
      const dbPath = path.join(dataDir, `validator-${i}.db`);
      const daemon = await ValidatorDaemon.create({
        client: p.poai,
        dbPath,
        backend: "js",
        fetchTimeoutMs: 5_000,
        fetchAttempts: 2,
        logLevel: process.env.SCALE_DEBUG && i === 0 ? "debug" : "silent",
      });
      stops.push(() => daemon.stop());
      validatorDaemons.push(daemon);
      dbOf.set(daemon, dbPath);
    }
    const setupSeconds = (performance.now() - setupStart) / 1000;
    log(
      `N = ${n}: ${2 * n + nv} parties registered and ${n + nv} daemons started in ${setupSeconds.toFixed(1)} s`,
    );

    // Rounds: the driver moves the chain's clock; each tick is timed and its CPU counted.
    const cpu = { trainer: 0, validator: 0 };
    const tickWall = { trainer: 0, validator: 0 };
    const timed = (daemon: Tickable, role: "trainer" | "validator"): Tickable => ({
      async tick() {
        const before = process.cpuUsage();
        const t0 = performance.now();
        try {
          await daemon.tick();
        } finally {
          if (process.env.SCALE_DEBUG && performance.now() - t0 > 500)
            log(`    slow ${role} tick: ${Math.round(performance.now() - t0)} ms`);
          tickWall[role] += performance.now() - t0;
          const used = process.cpuUsage(before);
          cpu[role] += (used.user + used.system) / 1000;
        }
      },
    });
    const genesis = await d.staking.read.genesis();
    const first = (await d.staking.read.currentEpoch()) + 1n;
    const last = first + BigInt(epochs) - 1n;
    const windows = (r: bigint) =>
      roundWindows(genesis, BigInt(EPOCH), r, {
        ...d.challengeParams,
        responseDeadline: SPEC_PARAMS.responseDeadline,
      });
    const rounds: RoundFigures[] = [];
    let roundStarted = performance.now();
    const errors: string[] = [];
    const closeRound = async () => {
      if (round === 0n) return;
      const wallSeconds = (performance.now() - roundStarted) / 1000;
      const txs = sent.filter((t) => t.round === round);
      const actions: RoundFigures["actions"] = {};
      const functions: RoundFigures["functions"] = {};
      let gasTotal = 0;
      for (const tx of txs) {
        const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
        const c = contractOf.get(tx.to.toLowerCase());
        let fn = tx.data.slice(0, 10);
        let items = 1;
        if (c) {
          const call = decodeFunctionData({ abi: c.abi, data: tx.data });
          fn = call.functionName;
          if (Array.isArray(call.args?.[0])) items = (call.args[0] as unknown[]).length;
        }
        const name = c?.name ?? tx.to;
        const gas = Number(receipt.gasUsed);
        gasTotal += gas;
        const action = actionOf(name, fn);
        (actions[action] ??= { count: 0, gas: 0 }).count++;
        actions[action].gas += gas;
        (functions[`${name}.${fn}`] ??= { count: 0, gas: 0 }).count++;
        functions[`${name}.${fn}`].gas += gas;
        if (round > first && round <= last) {
          // SCALE_TRACE=1: the gas of the first steady submission, and of the verdict batches with the
          // most gas a verdict (reveals that judge), broken down by opcode kind.
          if (process.env.SCALE_TRACE && (/^submitResult$/.test(fn) ? !traces[fn] : /Verdicts$/.test(fn)))
            if (!traces[fn] || traces[fn].gas / traces[fn].items < gas / items)
              traces[fn] = { items, gas, breakdown: await gasBreakdown(provider, tx.hash, gas) };
          // SCALE_TRACE=all: every steady transaction traced and summed by function, so that a
          // challenge's gas splits by action, by transaction and by opcode kind.
          if (process.env.SCALE_TRACE === "all") {
            const t = (traceTotals[`${name}.${fn}`] ??= { transactions: 0, items: 0, gas: 0, breakdown: {} });
            t.transactions++;
            t.items += items;
            t.gas += gas;
            for (const [k, v] of Object.entries(await gasBreakdown(provider, tx.hash, gas)))
              t.breakdown[k] = (t.breakdown[k] ?? 0) + v;
          }
          maxTx[action] = Math.max(maxTx[action] ?? 0, gas);
          if (/Verdicts$/.test(fn)) (batches[fn] ??= []).push({ items, gas });
        }
      }
      let pool: RoundFigures["pool"];
      if (round > first) {
        const size = poolSize(
          COMMITTEE,
          d.challengeParams.minReveals,
          POOL_SEATS,
          await d.challenges.read.submissions([round - 1n]),
        );
        const value = await d.beacon.read.valueOf([round]);
        const total = await d.staking.read.roleStakeAt([2, round - 1n]);
        let members = 0;
        for (const v of validators) {
          const stake = await d.staking.read.stakeAt([v.address, round - 1n]);
          if (isInPool(value, v.address, stake, total, size)) members++;
        }
        const committers = new Set<string>();
        let verdicts = 0;
        for (const tx of txs) {
          if (tx.to.toLowerCase() !== d.challenges.address.toLowerCase()) continue;
          const call = decodeFunctionData({ abi: challengeManagerAbi, data: tx.data });
          if (call.functionName !== "commitVerdicts" && call.functionName !== "commitVerdict") continue;
          const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
          committers.add(receipt.from.toLowerCase());
          verdicts += call.functionName === "commitVerdicts" ? (call.args[0] as unknown[]).length : 1;
        }
        pool = { size: Number(size), members, committers: committers.size, verdicts };
      }
      const rpcOf = (ps: Party[]) => ps.map((p) => p.counter.requests);
      const byMethod = (ps: Party[]) => {
        const out: Record<string, number> = {};
        for (const p of ps) for (const [m, c] of p.counter.byMethod) out[m] = (out[m] ?? 0) + c;
        for (const m of Object.keys(out)) out[m] = Math.round((out[m] / ps.length) * 100) / 100;
        return out;
      };
      const msByMethod = (ps: Party[]) => {
        const out: Record<string, number> = {};
        for (const p of ps) for (const [m, ms] of p.counter.msByMethod) out[m] = (out[m] ?? 0) + ms;
        for (const m of Object.keys(out)) out[m] = Math.round(out[m]);
        return out;
      };
      rounds.push({
        round: String(round),
        steady: round > first && round <= last,
        wallSeconds,
        transactions: txs.length,
        gasTotal,
        gasPerTrainer: Math.round(gasTotal / n),
        actions,
        functions,
        rpcPerDaemon: {
          trainer: { mean: mean(rpcOf(trainers)), max: Math.max(...rpcOf(trainers)) },
          validator: { mean: mean(rpcOf(validators)), max: Math.max(...rpcOf(validators)) },
        },
        rpcByMethod: { trainer: byMethod(trainers), validator: byMethod(validators) },
        rpcMsByMethod: { trainer: msByMethod(trainers), validator: msByMethod(validators) },
        cpuMsPerDaemon: { trainer: cpu.trainer / n, validator: cpu.validator / nv },
        ...(pool && { pool }),
      });
      onRound(rounds);
      log(
        `  N = ${n}, round ${round}: ${txs.length} transactions, ${gasTotal.toLocaleString("en-US")} gas ` +
          `(${Math.round(gasTotal / n).toLocaleString("en-US")} per trainer), ${wallSeconds.toFixed(1)} s ` +
          `(trainers' ticks ${(tickWall.trainer / 1000).toFixed(1)} s, validators' ${(tickWall.validator / 1000).toFixed(1)} s)` +
          (pool
            ? `; pool of ${pool.size} expected: ${pool.members} validators in it, ${pool.committers} committed ${pool.verdicts} verdicts`
            : ""),
      );
    };
    const maxTx: Record<string, number> = {};
    const traces: Record<string, { items: number; gas: number; breakdown: Record<string, number> }> = {};
    const traceTotals: NonNullable<SizeFigures["traceTotals"]> = {};
    /** Each verdict batch transaction of the steady rounds: how many verdicts, what gas. */
    const batches: Record<string, { items: number; gas: number }[]> = {};
    let next = 0n;
    const beginRound = (r: bigint) => {
      round = r;
      roundStarted = performance.now();
      cpu.trainer = 0;
      cpu.validator = 0;
      tickWall.trainer = 0;
      tickWall.validator = 0;
      for (const c of counters.values()) c.reset();
    };
    await driveRounds({
      windows,
      advanceTo: async (t) => {
        // A round's figures run from its start milestone to the next one.
        if (next !== round) {
          await closeRound();
          beginRound(next);
        }
        if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
      },
      trainers: trainerDaemons.map((t) => timed(t, "trainer")),
      validators: validatorDaemons.map((v) => timed(v, "validator")),
      from: first,
      to: last,
      topUps: true,
      onMilestone: (r, milestone) => {
        if (milestone === "start") next = r;
      },
      onError: (_, err) => errors.push((err as Error).message),
    });
    await closeRound();
    if (process.env.SCALE_DEBUG_CALLS)
      console.table(
        Object.entries(callStats)
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 25)
          .map(([k, v]) => ({
            call: k,
            n: v.n,
            ms: Math.round(v.ms),
            each: Math.round((v.ms / v.n) * 10) / 10,
          })),
      );
    if (errors.length) log(`  daemon errors: ${[...new Set(errors)].slice(0, 5).join("; ")}`);

    // Claims once the last round's points are final: the first ones close the epochs and credit each pool.
    const closesAt = await d.challenges.read.epochClosesAt([last + 1n]);
    if (BigInt(await networkHelpers.time.latest()) < closesAt + 1n)
      await networkHelpers.time.increaseTo(closesAt + 1n);
    round = -1n;
    const claimIfAny = async (p: Party, operator: Address) => {
      const position = await p.poai.staking.getPosition({ owner: p.address, operator });
      if (position.claimable > 0n) await p.poai.staking.claim({ operator });
    };
    // At most CLAIM_SAMPLE parties of each kind claim (all of them up to N = 100): a claim's gas does
    // not depend on N, and 3,000 claims would add most of an hour to the N = 1,000 run.
    for (const [i, p] of delegators.slice(0, CLAIM_SAMPLE).entries())
      await claimIfAny(p, trainers[i].address);
    for (const p of [...trainers.slice(0, CLAIM_SAMPLE), ...validators.slice(0, CLAIM_SAMPLE)])
      await claimIfAny(p, p.address);
    const claimGas: number[] = [];
    const claimFns: Record<string, number> = {};
    for (const tx of sent.filter((t) => t.round === -1n)) {
      const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
      claimGas.push(Number(receipt.gasUsed));
      const c = contractOf.get(tx.to.toLowerCase());
      const fn = c ? decodeFunctionData({ abi: c.abi, data: tx.data }).functionName : tx.data.slice(0, 10);
      claimFns[`${c?.name}.${fn}`] = (claimFns[`${c?.name}.${fn}`] ?? 0) + 1;
    }

    for (const stop of stops.splice(0)) await stop();
    const sizes = (ds: object[]) =>
      ds.map((x) => {
        const file = dbOf.get(x)!;
        let bytes = 0;
        for (const f of [file, `${file}-wal`]) {
          try {
            bytes += statSync(f).size;
          } catch {
            // no WAL file
          }
        }
        return bytes;
      });
    const steady = rounds.filter((r) => r.steady);
    const steadyActions: Record<string, number> = {};
    for (const r of steady)
      for (const [a, v] of Object.entries(r.actions))
        steadyActions[a] = (steadyActions[a] ?? 0) + v.gas / n / steady.length;
    for (const a of Object.keys(steadyActions)) steadyActions[a] = Math.round(steadyActions[a]);
    return {
      n,
      validators: nv,
      epochs,
      setupSeconds,
      rounds,
      steady: {
        gasPerTrainer: Math.round(mean(steady.map((r) => r.gasPerTrainer))),
        actionsPerTrainer: steadyActions,
        maxTxGas: maxTx,
        rpcPerTrainerPerRound: mean(steady.map((r) => r.rpcPerDaemon.trainer.mean)),
        rpcPerValidatorPerRound: mean(steady.map((r) => r.rpcPerDaemon.validator.mean)),
        validatorCpuMsPerRound: mean(steady.map((r) => r.cpuMsPerDaemon.validator)),
        trainerCpuMsPerRound: mean(steady.map((r) => r.cpuMsPerDaemon.trainer)),
        wallSecondsPerEpoch: mean(steady.map((r) => r.wallSeconds)),
      },
      claims: {
        count: claimGas.length,
        gasMean: Math.round(mean(claimGas)),
        gasMax: Math.max(0, ...claimGas),
        gasFirst: claimGas[0] ?? 0,
        functions: claimFns,
      },
      batching: Object.fromEntries(Object.entries(batches).map(([fn, xs]) => [fn, linearFit(xs)])),
      verdictFit: verdictFit({ n, rounds, validators: nv }, COMMITTEE),
      ...(Object.keys(traces).length > 0 && { traces }),
      ...(Object.keys(traceTotals).length > 0 && { traceTotals }),
      sqliteBytes: {
        trainer: { mean: Math.round(mean(sizes(trainerDaemons))), max: Math.max(...sizes(trainerDaemons)) },
        validator: {
          mean: Math.round(mean(sizes(validatorDaemons))),
          max: Math.max(...sizes(validatorDaemons)),
        },
      },
    };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await connection.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runScaleBench(): Promise<void> {
  const sizes = (process.env.SCALE_N ?? "10,100,1000").split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 2)
      throw new Error(`SCALE_N: ${JSON.stringify(s)} is not a whole number ≥ 2`);
    return n;
  });
  const epochs = Number(process.env.SCALE_EPOCHS ?? 2);
  if (!Number.isInteger(epochs) || epochs < 2)
    throw new Error(
      `SCALE_EPOCHS: ${process.env.SCALE_EPOCHS} must be a whole number ≥ 2 (one steady round at least)`,
    );
  if (!Number.isInteger(POOL_SEATS) || POOL_SEATS < 0 || POOL_SEATS > 200)
    throw new Error(`SCALE_POOL_SEATS: ${process.env.SCALE_POOL_SEATS} must be a whole number from 0 to 200`);
  const perTrainer = Number(process.env.SCALE_VALIDATORS_PER_TRAINER ?? 1);
  if (!(perTrainer > 0 && perTrainer <= 1))
    throw new Error(
      `SCALE_VALIDATORS_PER_TRAINER: ${process.env.SCALE_VALIDATORS_PER_TRAINER} must be a number in (0, 1]`,
    );
  const results: SizeFigures[] = [];
  // `SCALE_OUT=/tmp/x.json` writes elsewhere (a trial run that must not replace the recorded figures).
  const out = process.env.SCALE_OUT
    ? path.resolve(process.env.SCALE_OUT)
    : new URL(
        perTrainer === 1
          ? "./results/scale.json"
          : perTrainer === 0.3
            ? "./results/scale-batched.json"
            : `./results/scale-1to${Math.round(1 / perTrainer)}.json`,
        import.meta.url,
      );
  /** The rounds measured so far of a size still running (written too: a long run may be cut short). */
  let partial: { n: number; rounds: readonly RoundFigures[] } | undefined;
  const write = () => {
    const exponents = scaleExponents(results);
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          setup: {
            chain: "Hardhat 3 EDR, in process",
            spec: SPEC,
            specParams: SPEC_PARAMS,
            committeeSize: COMMITTEE,
            poolSeats: POOL_SEATS,
            epochs,
            validatorsPerTrainer: perTrainer,
            note: "N trainers and delegators, validatorsPerTrainer · N validators (at least 3); figures of the steady rounds (every action of a round present)",
          },
          sizes: results,
          exponents,
          ...(partial && { partial }),
        },
        null,
        2,
      )}\n`,
    );
    return exponents;
  };
  for (const n of sizes) {
    results.push(
      await runSize(
        n,
        epochs,
        perTrainer,
        (line) => console.log(line),
        (rounds) => {
          partial = { n, rounds };
          write();
        },
      ),
    );
    partial = undefined;
    write();
  }
  const exponents = write();
  console.log("\nScale: per trainer and per daemon, steady rounds (exponent b: figure ≈ a·N^b)");
  const actions = ACTION_ORDER.filter((a) => results.some((s) => a in s.steady.actionsPerTrainer)).concat(
    [...new Set(results.flatMap((s) => Object.keys(s.steady.actionsPerTrainer)))].filter(
      (a) => !ACTION_ORDER.includes(a),
    ),
  );
  const row = (label: string, f: (s: SizeFigures) => number | null | undefined, b: number | null) => ({
    figure: label,
    ...Object.fromEntries(
      results.map((s) => {
        const v = f(s);
        return [`N=${s.n}`, v === null || v === undefined ? "n/a" : Math.round(v * 100) / 100];
      }),
    ),
    b,
  });
  console.table([
    row("gas per trainer per epoch", (s) => s.steady.gasPerTrainer, exponents.gasPerTrainer),
    row("  verdicts a challenge (the rounds' mean)", (s) => s.verdictFit?.meanVerdicts, null),
    row(
      `  at ${COMMITTEE} verdicts a challenge (fit)`,
      (s) => s.verdictFit?.atCommittee,
      exponents.gasPerTrainerAtCommittee,
    ),
    row("  each verdict a challenge more (fit)", (s) => s.verdictFit?.perVerdict, null),
    row("  verdicts a challenge the draw gives on average", (s) => s.verdictFit?.expectedVerdicts, null),
    row(
      "  at those verdicts (fit): the expected gas",
      (s) => s.verdictFit?.atExpected,
      exponents.gasPerTrainerAtExpected,
    ),
    row("    its standard error (the rounds' scatter)", (s) => s.verdictFit?.atExpectedStdErr, null),
    ...actions.map((a) =>
      row(`  ${a}`, (s) => s.steady.actionsPerTrainer[a] ?? 0, exponents.actionGasPerTrainer[a]),
    ),
    row(
      "RPC requests per trainer per round",
      (s) => s.steady.rpcPerTrainerPerRound,
      exponents.rpcPerTrainerPerRound,
    ),
    row(
      "RPC requests per validator per round",
      (s) => s.steady.rpcPerValidatorPerRound,
      exponents.rpcPerValidatorPerRound,
    ),
    row(
      "validator CPU ms per round",
      (s) => s.steady.validatorCpuMsPerRound,
      exponents.validatorCpuMsPerRound,
    ),
    row("trainer CPU ms per round", (s) => s.steady.trainerCpuMsPerRound, exponents.trainerCpuMsPerRound),
    row(
      "wall s per epoch (in-process chain)",
      (s) => s.steady.wallSecondsPerEpoch,
      exponents.wallSecondsPerEpoch,
    ),
    row("SQLite bytes per trainer", (s) => s.sqliteBytes.trainer.mean, exponents.sqliteBytesPerTrainer),
    row("SQLite bytes per validator", (s) => s.sqliteBytes.validator.mean, exponents.sqliteBytesPerValidator),
    row("claim gas, mean", (s) => s.claims.gasMean, exponents.claimGasMean),
  ]);
  for (const s of results)
    for (const [fn, t] of Object.entries(s.traces ?? {}))
      console.log(`N = ${s.n}: ${fn} (${t.items} items, ${t.gas.toLocaleString("en-US")} gas)`, t.breakdown);
  for (const s of results)
    for (const [fn, fit] of Object.entries(s.batching))
      if (fit)
        console.log(
          `N = ${s.n}: ${fn} gas ≈ ${fit.perTransaction.toLocaleString("en-US")} + ${fit.perVerdict.toLocaleString("en-US")} per verdict (${fit.transactions} transactions, ${fit.verdicts} verdicts)`,
        );
}
