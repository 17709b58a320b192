/**
 * A deployed PoAI network (staking, TaskRegistry, RandomnessBeacon, ChallengeManager) with funded,
 * registered trainers and validators, plus the clock and protocol steps the challenge tests share.
 *
 * Clock rules of the in-process chain: a read sees the latest block's timestamp; `to(t)` mines a
 * block at `t`, so the next transaction lands at `t + 1`; `at(t)` makes the next transaction land
 * exactly at `t`.
 */
import { network } from "hardhat";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  maxUint256,
  parseEther,
  parseEventLogs,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { deployPoAI, type ChallengeParams, type StakingParams } from "../../../scripts/lib/deploy.js";
import type { TrainingSpec } from "../../../sdk/src/compute/index.js";
import { challengeId } from "../../../sdk/src/poai/hashes.js";

export type Connection = Awaited<ReturnType<typeof network.create>>;
export type Viem = Connection["viem"];
export type Wallet = Awaited<ReturnType<Viem["getWalletClients"]>>[number];

export const E = (n: number | string): bigint => parseEther(String(n));
export const DAY = 86_400;
export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const BURN_ADDRESS: Address = "0x000000000000000000000000000000000000dEaD";
export const TRAINER = 1;
export const VALIDATOR = 2;

export const Verdict = { None: 0, Valid: 1, Invalid: 2, Unavailable: 3 } as const;
export const Status = {
  None: 0,
  Submitted: 1,
  Valid: 2,
  Fraud: 3,
  Withheld: 4,
  NoQuorum: 5,
  Missed: 6,
} as const;

export type SpecParams = {
  responseDeadline: number;
  minScoreBps: number;
  maxScoreBps: number;
  auditSamples: number;
};

/** A small spec (milliseconds to train) and judgment parameters whose deadline is a quarter day. */
export const SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
export const SPEC_PARAMS: SpecParams = {
  responseDeadline: 6 * 3600,
  minScoreBps: 0,
  maxScoreBps: 10_000,
  auditSamples: 2,
};

/** The spec as the contracts' ABI takes it (mutable arrays). */
export const specArg = (s: TrainingSpec) => ({ ...s, widths: [...s.widths] });

export type ChallengeManager = ContractReturnType<"ChallengeManager">;

/** One account with contract instances that send from it. */
export type Actor = {
  wallet: Wallet;
  address: Address;
  staking: ContractReturnType<"Staking">;
  token: ContractReturnType<"PoAIToken">;
  beacon: ContractReturnType<"RandomnessBeacon">;
  registry: ContractReturnType<"TaskRegistry">;
  cm: ChallengeManager;
};

export type WorldOptions = {
  epochLength?: number;
  challenge?: Partial<ChallengeParams>;
  params?: Partial<StakingParams>;
  /** Self-stake of each trainer (registered in round 0). */
  trainers?: bigint[];
  /** Self-stake of each validator (registered in round 0). */
  validators?: bigint[];
  /** Specs registered and activated in round 0 (so active from round 1). */
  specs?: { spec: TrainingSpec; params: SpecParams }[];
  /** Funded, approved accounts that register nothing. */
  outsiders?: number;
};

/** One verdict a committee member commits and reveals. */
export type Vote = { v: Actor; verdict: number; segment?: number; score?: number; salt?: Hex };

export const saltOf = (v: Address, id: Hex, extra = 0n): Hex =>
  keccak256(
    encodeAbiParameters([{ type: "address" }, { type: "bytes32" }, { type: "uint256" }], [v, id, extra]),
  );

export async function deployWorld(conn: Connection, options: WorldOptions = {}) {
  const { viem, networkHelpers } = conn;
  const wallets = await viem.getWalletClients();
  const L = options.epochLength ?? DAY;
  const d = await deployPoAI(viem, { epochLength: L, challenge: options.challenge, params: options.params });
  const bind = async (w: Wallet): Promise<Actor> => {
    const client = { client: { wallet: w } };
    return {
      wallet: w,
      address: getAddress(w.account.address),
      staking: await viem.getContractAt("Staking", d.staking.address, client),
      token: await viem.getContractAt("PoAIToken", d.token.address, client),
      beacon: await viem.getContractAt("RandomnessBeacon", d.beacon.address, client),
      registry: await viem.getContractAt("TaskRegistry", d.registry.address, client),
      cm: await viem.getContractAt("ChallengeManager", d.challenges.address, client),
    };
  };
  const trainerStakes = options.trainers ?? [E(5000)];
  const validatorStakes = options.validators ?? [E(1000), E(1000), E(1000)];
  const outsiderCount = options.outsiders ?? 1;
  const needed = 1 + trainerStakes.length + validatorStakes.length + outsiderCount;
  if (needed > wallets.length)
    throw new Error(`world needs ${needed} wallets, the chain has ${wallets.length}`);
  const actors: Actor[] = [];
  for (const w of wallets.slice(1, needed)) {
    const a = await bind(w);
    await d.token.write.transfer([a.address, E(1_000_000)]);
    await a.token.write.approve([d.staking.address, maxUint256]);
    actors.push(a);
  }
  const trainers = actors.slice(0, trainerStakes.length);
  const validators = actors.slice(trainerStakes.length, trainerStakes.length + validatorStakes.length);
  const outsiders = actors.slice(trainerStakes.length + validatorStakes.length);
  for (const [i, t] of trainers.entries()) {
    await t.staking.write.register([TRAINER, trainerStakes[i], 500, 2000, "https://trainer.example", "H100"]);
  }
  for (const [i, v] of validators.entries()) {
    await v.staking.write.register([
      VALIDATOR,
      validatorStakes[i],
      500,
      2000,
      "https://validator.example",
      "CPU",
    ]);
  }
  const specs = options.specs ?? [{ spec: SPEC, params: SPEC_PARAMS }];
  const specIds: Hex[] = [];
  for (const s of specs) {
    const { result: id } = await d.registry.simulate.registerSpec([specArg(s.spec), s.params]);
    await d.registry.write.registerSpec([specArg(s.spec), s.params]);
    await d.registry.write.activate([id]);
    specIds.push(id);
  }
  const admin = await bind(wallets[0]);
  const genesis = await d.staking.read.genesis();
  const publicClient = await viem.getPublicClient();
  const epochLength = BigInt(L);
  const cp = d.challengeParams;

  const start = (r: bigint) => genesis + r * epochLength;
  const latest = async () => (await publicClient.getBlock()).timestamp;
  /** Mines a block at `t` (later transactions land after it). */
  const to = async (t: bigint) => {
    const now = await latest();
    if (now >= t) throw new Error(`clock: cannot go to ${t - genesis}s, already at ${now - genesis}s`);
    await networkHelpers.time.increaseTo(t);
  };
  /** The next transaction lands exactly at `t`. */
  const at = async (t: bigint) => {
    const now = await latest();
    if (now >= t) throw new Error(`clock: cannot land at ${t - genesis}s, already at ${now - genesis}s`);
    await networkHelpers.time.setNextBlockTimestamp(t);
  };
  /** Mines a block at `t` unless the clock is there already. */
  const reach = async (t: bigint) => {
    if ((await latest()) < t) await networkHelpers.time.increaseTo(t);
  };
  const receipt = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  const blockOf = async (hash: Hex) => {
    const r = await receipt(hash);
    return publicClient.getBlock({ blockNumber: r.blockNumber });
  };

  /** The decoded `name` events `contract` emitted in transaction `hash`. */
  const events = async (hash: Hex, contract: { address: Address; abi: Abi }, name: string) => {
    const r = await receipt(hash);
    const own = r.logs.filter((l) => l.address.toLowerCase() === contract.address.toLowerCase());
    return parseEventLogs({ abi: contract.abi, logs: own, eventName: name }).map(
      (l) => l.args as unknown as Record<string, unknown>,
    );
  };

  /** The audit windows of round `r`'s challenges (of their `extension`-th extended committee). */
  const windows = (r: bigint, extension = 0n) => {
    const commitStart = start(r + 1n + extension);
    const revealStart = commitStart + BigInt(cp.commitWindow);
    const revealEnd = revealStart + BigInt(cp.revealWindow);
    return {
      commitStart,
      revealStart,
      revealEnd,
      replayEnd: revealEnd + BigInt(cp.replayWindow),
      closes: revealEnd + BigInt(cp.finalizeGrace),
    };
  };
  /** The beacon commit phase of round `r` ends (and its reveal phase starts) here. */
  const beaconCommitEnd = (r: bigint) => start(r - 1n) + epochLength / 2n;
  /** The last second a result for round `r` under `params` is accepted. */
  const submitDeadline = (r: bigint, params: SpecParams = specs[0].params) => {
    const spec = start(r) + BigInt(params.responseDeadline);
    const cap = beaconCommitEnd(r + 1n) - 1n;
    return spec < cap ? spec : cap;
  };

  const id = (trainer: Actor, r: bigint) => challengeId(trainer.address, r);

  const commitment = (id: Hex, vote: Vote) =>
    d.challenges.read.verdictCommitment([
      id,
      vote.verdict,
      vote.segment ?? 0,
      vote.score ?? 0,
      vote.salt ?? saltOf(vote.v.address, id),
      vote.v.address,
    ]);
  const commitVote = async (id: Hex, vote: Vote) =>
    vote.v.cm.write.commitVerdict([id, await commitment(id, vote)]);
  /**
   * The transaction that judged (or extended) each challenge, when a last reveal or a last
   * second-phase vote did.
   */
  const judgedIn = new Map<Hex, Hex>();
  const noteJudgment = async (id: Hex, hash: Hex) => {
    const r = await receipt(hash);
    const own = r.logs.filter((l) => l.address.toLowerCase() === d.challenges.address.toLowerCase());
    const judged = parseEventLogs({
      abi: d.challenges.abi,
      logs: own,
      eventName: ["ChallengeFinalized", "ChallengeExtended"],
    });
    if (judged.some((l) => l.args.id === id)) judgedIn.set(id, hash);
    return hash;
  };
  const revealVote = async (id: Hex, vote: Vote) =>
    noteJudgment(
      id,
      await vote.v.cm.write.revealVerdict([
        id,
        vote.verdict,
        vote.segment ?? 0,
        vote.score ?? 0,
        vote.salt ?? saltOf(vote.v.address, id),
      ]),
    );
  /** A second-phase vote (in the replay window after an Invalid reveal). */
  const replayVote = async (id: Hex, v: Actor, verdict: number, segment = 0) =>
    noteJudgment(id, await v.cm.write.replayVote([id, verdict, segment]));
  /**
   * The transaction that judged `id` inside a reveal or a second-phase vote, if one did on the
   * current chain (a fixture's snapshot revert drops it).
   */
  const judged = async (id: Hex): Promise<Hex | undefined> => {
    const hash = judgedIn.get(id);
    if (hash === undefined) return undefined;
    const r = await publicClient.getTransactionReceipt({ hash }).catch(() => undefined);
    if (r === undefined || r.blockNumber > (await publicClient.getBlockNumber())) {
      judgedIn.delete(id);
      return undefined;
    }
    return hash;
  };

  /**
   * Runs the audit of challenge `id` (of round `r`, or of its `extension`-th extended committee):
   * every vote is committed in the commit window, those `reveal` accepts are revealed in the
   * reveal window (the last reveal judges the challenge when nobody revealed Invalid), and the
   * clock ends at the reveal window's end (finalization, or the second phase, opens).
   */
  const audit = async (
    id: Hex,
    r: bigint,
    votes: Vote[],
    reveal: (v: Vote) => boolean = () => true,
    extension = 0n,
  ) => {
    const w = windows(r, extension);
    await reach(w.commitStart);
    for (const vote of votes) await commitVote(id, vote);
    await reach(w.revealStart);
    for (const vote of votes) if (reveal(vote)) await revealVote(id, vote);
    await reach(w.revealEnd);
  };

  const secretOf = (v: Address, r: bigint): Hex =>
    keccak256(
      encodeAbiParameters([{ type: "string" }, { type: "address" }, { type: "uint256" }], ["secret", v, r]),
    );
  /** Commits `vs`'s beacon secrets for round `r` (the clock must be in its commit phase). */
  const beaconCommit = async (r: bigint, vs: Actor[]) => {
    for (const v of vs) {
      await v.beacon.write.commit([
        r,
        await d.beacon.read.commitmentOf([secretOf(v.address, r), v.address, r]),
      ]);
    }
  };
  /** Moves to the beacon reveal phase of round `r` and reveals `vs`'s secrets. */
  const beaconReveal = async (r: bigint, vs: Actor[]) => {
    await reach(beaconCommitEnd(r));
    for (const v of vs) await v.beacon.write.reveal([r, secretOf(v.address, r)]);
  };

  return {
    ...d,
    conn,
    viem,
    networkHelpers,
    publicClient,
    admin,
    actors,
    trainers,
    validators,
    outsiders,
    specIds,
    specs,
    genesis,
    epochLength,
    cp,
    bind,
    start,
    latest,
    to,
    at,
    reach,
    receipt,
    blockOf,
    events,
    windows,
    beaconCommitEnd,
    submitDeadline,
    id,
    commitment,
    commitVote,
    revealVote,
    replayVote,
    judged,
    audit,
    secretOf,
    beaconCommit,
    beaconReveal,
  };
}

export type World = Awaited<ReturnType<typeof deployWorld>>;

/** The pool of `operator`: active and unbonding tokens. */
export async function poolOf(w: World, operator: Address) {
  const p = await w.staking.read.getPool([operator]);
  return { tokens: p.tokens, unbonding: p.unbondingTokens };
}

export const ceilDiv = (a: bigint, b: bigint): bigint => (a === 0n ? 0n : (a - 1n) / b + 1n);
export const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b);
