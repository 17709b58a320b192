/**
 * The whole network (staking, Proof-of-AI, RewardDistributor) on the in-process chain with funded,
 * registered trainers and validators, delegators, and the round steps the reward tests share.
 *
 * Points come from real challenges of a small spec: a trainer submits any result root, the
 * committee members it names reveal the same verdict (Valid with one measured score, or Invalid
 * for a fraud) and anyone finalizes. Every validator whose stake is at least 1/16 of the role's
 * is on every committee (committeeSize 16), and one reveal is a quorum (minReveals 1).
 *
 * A round's timeline with one-day epochs (q = a quarter day): results for round r are due in
 * [start(r), start(r) + q]; the audit of round r commits in [start(r+1), +q), reveals in
 * [+q, +2q) and finalizes from +2q; epoch r's points are final after start(r+1) + 3q, when the
 * distributor can close it. The steps below are pipelined: in epoch r the audit of round r-1 runs
 * while round r's results come in.
 *
 * Clock rules: a read sees the latest block's timestamp; `reach(t)` mines a block at `t` (the next
 * transaction lands at `t + 1`) unless the clock is already there.
 */
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  maxUint256,
  parseEventLogs,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import {
  deployNetwork,
  type ChallengeParams,
  type RewardParams,
  type StakingParams,
} from "../../../scripts/lib/deploy.js";

export {
  BPS,
  BURN_ADDRESS,
  DAY,
  E,
  Status,
  TRAINER,
  VALIDATOR,
  Verdict,
  WAD,
  type Connection,
  type Viem,
  type Wallet,
} from "../../poai/helpers/world.js";
import { challengeId } from "../../../sdk/src/poai/hashes.js";
import {
  BPS,
  DAY,
  E,
  Status,
  TRAINER,
  VALIDATOR,
  Verdict,
  type Connection,
  type Wallet,
} from "../../poai/helpers/world.js";

/** A spec that trains in milliseconds; nobody trains it here, but the registry needs one active. */
export const SPEC = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
export const SPEC_PARAMS = {
  responseDeadline: 6 * 3600,
  minScoreBps: 0,
  maxScoreBps: 10_000,
  auditSamples: 2,
};
/** The accuracy every honest committee member measures. */
export const MEASURED_BPS = 8000;

export type Actor = {
  wallet: Wallet;
  address: Address;
  token: ContractReturnType<"PoAIToken">;
  staking: ContractReturnType<"Staking">;
  cm: ContractReturnType<"ChallengeManager">;
  distributor: ContractReturnType<"RewardDistributor">;
};

export type RewardWorldOptions = {
  epochLength?: number;
  emission?: bigint;
  rewards?: Partial<RewardParams>;
  challenge?: Partial<ChallengeParams>;
  params?: Partial<StakingParams>;
  /** Self-stake of each trainer, registered in round 0 (default two of 5,000). */
  trainers?: bigint[];
  /** Self-stake of each validator, registered in round 0 (default two of 2,000). */
  validators?: bigint[];
  /** Commission of every operator at registration (default 10%; maximum 20%). */
  commissionBps?: number;
  /** Funded, approved accounts that register nothing (default 2). */
  delegators?: number;
  /** Emission reserve funded by the treasury-side funder at deployment (default none). */
  fund?: bigint;
};

/** How a trainer plays a round. */
export type Behaviour = "honest" | "fraud" | "absent";

/** One trainer's part in a round. */
export type TrainerPlan = {
  trainer: Actor;
  behaviour: Behaviour;
  /**
   * Seconds after the round's start at which its result lands (default 600; by the deadline, a
   * quarter epoch; results with the same latency land a second apart).
   */
  latency?: number;
  /** The accuracy it reports (default MEASURED_BPS; within maxDeviationBps of it to score). */
  reportedScoreBps?: number;
};

/** A round: its trainers and the validators that audit it (the rest stay silent). */
export type RoundPlan = { round: bigint; trainers: TrainerPlan[]; auditors: Actor[] };

export async function deployRewardWorld(conn: Connection, options: RewardWorldOptions = {}) {
  const { viem, networkHelpers } = conn;
  const wallets = await viem.getWalletClients();
  const L = options.epochLength ?? DAY;
  const treasuryWallet = wallets[wallets.length - 1]!;
  const treasury = getAddress(treasuryWallet.account.address);
  const d = await deployNetwork(viem, {
    epochLength: L,
    ...(options.emission !== undefined && { emission: options.emission }),
    rewards: { treasury, ...options.rewards },
    challenge: { committeeSize: 16, minReveals: 1, ...options.challenge },
    ...(options.params !== undefined && { params: options.params }),
  });
  const bind = async (w: Wallet): Promise<Actor> => {
    const client = { client: { wallet: w } };
    return {
      wallet: w,
      address: getAddress(w.account.address),
      token: await viem.getContractAt("PoAIToken", d.token.address, client),
      staking: await viem.getContractAt("Staking", d.staking.address, client),
      cm: await viem.getContractAt("ChallengeManager", d.challenges.address, client),
      distributor: await viem.getContractAt("RewardDistributor", d.distributor.address, client),
    };
  };
  const trainerStakes = options.trainers ?? [E(5000), E(5000)];
  const validatorStakes = options.validators ?? [E(2000), E(2000)];
  const delegatorCount = options.delegators ?? 2;
  const needed = 1 + trainerStakes.length + validatorStakes.length + delegatorCount + 1;
  if (needed > wallets.length)
    throw new Error(`the world needs ${needed} wallets, the chain has ${wallets.length}`);
  const admin = await bind(wallets[0]!);
  const actors: Actor[] = [];
  for (const w of wallets.slice(1, needed - 1)) {
    const a = await bind(w);
    await d.token.write.transfer([a.address, E(1_000_000)]);
    await a.token.write.approve([d.staking.address, maxUint256]);
    actors.push(a);
  }
  await d.token.write.approve([d.distributor.address, maxUint256]);
  const trainers = actors.slice(0, trainerStakes.length);
  const validators = actors.slice(trainerStakes.length, trainerStakes.length + validatorStakes.length);
  const delegators = actors.slice(trainerStakes.length + validatorStakes.length);
  const commission = options.commissionBps ?? 1000;
  for (const [i, t] of trainers.entries())
    await t.staking.write.register([
      TRAINER,
      trainerStakes[i]!,
      commission,
      2000,
      "https://trainer.example",
      "H100",
    ]);
  for (const [i, v] of validators.entries())
    await v.staking.write.register([
      VALIDATOR,
      validatorStakes[i]!,
      commission,
      2000,
      "https://validator.example",
      "CPU",
    ]);
  const { result: specId } = await d.registry.simulate.registerSpec([SPEC, SPEC_PARAMS]);
  await d.registry.write.registerSpec([SPEC, SPEC_PARAMS]);
  await d.registry.write.activate([specId]);
  if (options.fund) await d.distributor.write.fund([options.fund]);

  const publicClient = await viem.getPublicClient();
  const genesis = await d.staking.read.genesis();
  const epochLength = BigInt(L);
  const cp = d.challengeParams;
  const start = (r: bigint) => genesis + r * epochLength;
  const latest = async () => (await publicClient.getBlock()).timestamp;
  const reach = async (t: bigint) => {
    if ((await latest()) < t) await networkHelpers.time.increaseTo(t);
  };
  const currentEpoch = () => d.staking.read.currentEpoch();
  const receipt = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  /** The decoded `name` events `contract` emitted in transaction `hash`. */
  const events = async <T = Record<string, unknown>>(
    hash: Hex,
    contract: { address: Address; abi: Abi },
    name: string,
  ): Promise<T[]> => {
    const r = await receipt(hash);
    const own = r.logs.filter((l) => l.address.toLowerCase() === contract.address.toLowerCase());
    return parseEventLogs({ abi: contract.abi, logs: own, eventName: name }).map((l) => l.args as T);
  };
  const windows = (r: bigint) => {
    const commitStart = start(r + 1n);
    const revealStart = commitStart + BigInt(cp.commitWindow);
    const revealEnd = revealStart + BigInt(cp.revealWindow);
    return { commitStart, revealStart, revealEnd, closes: revealEnd + BigInt(cp.finalizeGrace) };
  };
  const id = (trainer: Address, r: bigint) => challengeId(trainer, r);
  const salt = (v: Address, cid: Hex) =>
    keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [v, cid]));
  const verdictOf = (b: Behaviour) => (b === "fraud" ? Verdict.Invalid : Verdict.Valid);
  const scoreOf = (b: Behaviour) => (b === "fraud" ? 0 : MEASURED_BPS);

  /** Whether `trainer` owes a result in `round` (the ChallengeManager's rule, from Staking's state). */
  const isDue = async (trainer: Address, round: bigint) => {
    const s = await d.staking.read.operatorState([trainer, round]);
    if (s.role !== TRAINER || !s.active || s.stake < s.minStake) return false;
    // a trainer still in jail at the round's result deadline (the only spec's, capped at the
    // middle of the round) owes nothing for it
    const deadline = start(round) + BigInt(Math.min(SPEC_PARAMS.responseDeadline, L / 2 - 1));
    return BigInt(s.unjailedAt) <= deadline;
  };
  /**
   * Results of round `plan.round` from its working trainers that are due, in latency order (the
   * clock must be before the first).
   */
  const submitResults = async (plan: RoundPlan) => {
    const working = plan.trainers
      .filter((t) => t.behaviour !== "absent")
      .sort((a, b) => (a.latency ?? 600) - (b.latency ?? 600));
    for (const t of working) {
      if (!(await isDue(t.trainer.address, plan.round))) continue;
      const at = start(plan.round) + BigInt(t.latency ?? 600);
      if ((await latest()) < at) await networkHelpers.time.setNextBlockTimestamp(at);
      const root = keccak256(toHex(`run of ${t.trainer.address} in round ${plan.round}`));
      await t.trainer.cm.write.submitResult([plan.round, root, t.reportedScoreBps ?? MEASURED_BPS]);
    }
  };
  /** The submitted challenges of a plan (trainers that were due and sent a result). */
  const submitted = async (plan: RoundPlan) => {
    const out: { plan: TrainerPlan; id: Hex }[] = [];
    for (const t of plan.trainers) {
      if (t.behaviour === "absent") continue;
      const cid = id(t.trainer.address, plan.round);
      if ((await d.challenges.read.getChallenge([cid])).status === Status.Submitted)
        out.push({ plan: t, id: cid });
    }
    return out;
  };
  /** The auditors that the contract accepts on challenge `cid` (active validators drawn by sortition). */
  const members = async (cid: Hex, auditors: Actor[]) => {
    const out: Actor[] = [];
    for (const v of auditors) {
      const active = await d.staking.read.isActive([v.address]);
      if (active && (await d.challenges.read.isCommitteeMember([cid, v.address]))) out.push(v);
    }
    return out;
  };
  /** Committee members that committed, by challenge id. */
  const committed = new Map<Hex, { v: Actor; behaviour: Behaviour }[]>();
  /** Commits the auditors' verdicts on round `plan.round` (in the commit window). */
  const commitVerdicts = async (plan: RoundPlan) => {
    await reach(windows(plan.round).commitStart);
    await d.beacon.write.seal([plan.round + 1n]); // nobody contributes randomness here
    for (const c of await submitted(plan)) {
      const list: { v: Actor; behaviour: Behaviour }[] = [];
      for (const v of await members(c.id, plan.auditors)) {
        const b = c.plan.behaviour;
        const commitment = await d.challenges.read.verdictCommitment([
          c.id,
          verdictOf(b),
          0,
          scoreOf(b),
          salt(v.address, c.id),
          v.address,
        ]);
        await v.cm.write.commitVerdict([c.id, commitment]);
        list.push({ v, behaviour: b });
      }
      committed.set(c.id, list);
    }
  };
  /** Reveals every committed verdict of round `plan.round` (moves to its reveal window). */
  const revealVerdicts = async (plan: RoundPlan) => {
    await reach(windows(plan.round).revealStart);
    for (const c of await submitted(plan)) {
      for (const { v, behaviour: b } of committed.get(c.id) ?? []) {
        await v.cm.write.revealVerdict([c.id, verdictOf(b), 0, scoreOf(b), salt(v.address, c.id)]);
      }
    }
  };
  /**
   * Finalizes round `plan.round` (moves to the end of its reveal window) and reports its absent
   * trainers that were due; returns the finalized challenges' ids.
   */
  const finalizeRound = async (plan: RoundPlan) => {
    await reach(windows(plan.round).revealEnd);
    const ids: Hex[] = [];
    for (const c of await submitted(plan)) {
      await admin.cm.write.finalize([c.id]);
      ids.push(c.id);
    }
    for (const t of plan.trainers.filter((x) => x.behaviour === "absent")) {
      const cid = id(t.trainer.address, plan.round);
      const status = (await d.challenges.read.getChallenge([cid])).status;
      if (status === Status.None && (await isDue(t.trainer.address, plan.round)))
        await admin.cm.write.reportMissed([t.trainer.address, plan.round]);
    }
    return ids;
  };
  /** Moves to the first second epoch `r`'s points are final (`closeEpochs` can close it). */
  const toFinal = (r: bigint) => reach(windows(r).closes + 1n);
  /**
   * Plays round `plan.round` from its results to its finalization (the clock must be before the
   * first result and ends at the end of its reveal window, in round + 1).
   */
  const playRound = async (plan: RoundPlan) => {
    await submitResults(plan);
    await commitVerdicts(plan);
    await revealVerdicts(plan);
    return finalizeRound(plan);
  };

  /**
   * Plays rounds as the protocol runs them: when round r follows round r - 1, the audit of round
   * r - 1 commits at the start of round r, then round r's results come in, then round r - 1's
   * reveals and finalization. Ends at the end of the last round's reveal window.
   */
  const playRounds = async (plans: RoundPlan[]) => {
    const audit = async (plan: RoundPlan) => {
      await revealVerdicts(plan);
      await finalizeRound(plan);
    };
    let prev: RoundPlan | undefined;
    for (const plan of plans) {
      if (prev) await commitVerdicts(prev);
      if (prev && prev.round + 1n !== plan.round) await audit(prev);
      await submitResults(plan);
      if (prev && prev.round + 1n === plan.round) await audit(prev);
      prev = plan;
    }
    if (prev) {
      await commitVerdicts(prev);
      await audit(prev);
    }
  };

  /** Every trainer honest, every validator auditing. */
  const honestRound = (round: bigint, who: Actor[] = trainers): RoundPlan => ({
    round,
    trainers: who.map((trainer) => ({ trainer, behaviour: "honest" as const })),
    auditors: validators,
  });

  return {
    ...d,
    conn,
    viem,
    networkHelpers,
    publicClient,
    admin,
    treasury,
    trainers,
    validators,
    delegators,
    operators: [...trainers, ...validators],
    specId,
    genesis,
    epochLength,
    cp,
    bind,
    start,
    latest,
    reach,
    currentEpoch,
    receipt,
    events,
    windows,
    id,
    isDue,
    submitResults,
    commitVerdicts,
    revealVerdicts,
    finalizeRound,
    toFinal,
    playRound,
    playRounds,
    honestRound,
  };
}

export type RewardWorld = Awaited<ReturnType<typeof deployRewardWorld>>;

/** The `EpochClosed` event as decoded. */
export type EpochClosedEvent = {
  epoch: bigint;
  budget: bigint;
  protocolCut: bigint;
  trainerBudget: bigint;
  validatorBudget: bigint;
  carried: bigint;
};

/** Largest emission per epoch the distributor accepts (`MAX_EMISSION_PER_EPOCH`). */
export const MAX_EMISSION_PER_EPOCH = 10n ** 30n;

/** FLock's split, in bigint arithmetic: the validators' part of `rest` for role stakes `st`, `sv`. */
export function flockValidatorShare(rest: bigint, st: bigint, sv: bigint, gammaBps: bigint): bigint {
  if (st + sv === 0n) return 0n;
  return (rest * (gammaBps * (st + sv) + (BPS - 2n * gammaBps) * sv)) / (BPS * (st + sv));
}
