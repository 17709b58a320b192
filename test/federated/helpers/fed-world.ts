/**
 * A PoAI network with federated jobs: the challenge world (staking, beacon, three trainers that
 * take part in federated jobs, three validators that score), a RewardDistributor and the
 * FederatedJobs contract wired as `deployFederated` wires it, plus the steps the tests share.
 *
 * Jobs start in epoch 1 (stake counts from the epoch after registration). With `phase` seconds a
 * training round is: commit [0, p), reveal [p, 2p), score commit [2p, 3p), score reveal [3p, 4p).
 */
import {
  encodeAbiParameters,
  keccak256,
  maxUint256,
  parseEther,
  toFunctionSelector,
  toHex,
  type Address,
  type Hex,
} from "viem";
import { deployFederated } from "../../../scripts/lib/deploy-federated.js";
import { ROLES } from "../../../scripts/lib/roles.js";
import { E, deployWorld, type Actor, type Connection } from "../../poai/helpers/world.js";

export const FedState = { None: 0, Open: 1, Completed: 2, Cancelled: 3 } as const;
export const PHASE = 600n;
export const SPEC_BYTES = toHex("federated spec: 784-32-10, 30 local steps");
export const INITIAL = keccak256(toHex("initial global model"));
export const modelOf = (label: string) => keccak256(toHex(`model ${label}`));

export type FedTermsArg = {
  specHash: Hex;
  initialModel: Hex;
  evalRoot: Hex;
  token: Address;
  budget: bigint;
  startAt: bigint;
  phase: number;
  rounds: number;
  committeeSize: number;
  bandBps: number;
  committeeBps: number;
  maxStrikes: number;
};

export async function deployFedWorld(conn: Connection) {
  const w = await deployWorld(conn, {
    trainers: [E(5000), E(3000), E(2000)],
    validators: [E(1000), E(1500), E(2000)],
    outsiders: 3,
  });
  const { viem } = w;
  const distributor = await viem.deployContract("RewardDistributor", [
    w.staking.address,
    w.challenges.address,
    w.manager.address,
    parseEther("1000"),
    {
      gammaBps: 1000,
      protocolCutBps: 500,
      nodeFeeBps: 7000,
      royaltyBps: 2000,
      noticeEpochs: 2,
      treasury: w.admin.address,
    },
  ]);
  await w.manager.write.setTargetFunctionRole([
    distributor.address,
    [toFunctionSelector("notifyUsage(address,address,uint256)")],
    ROLES.COORDINATOR,
  ]);
  await w.staking.write.setRewardDistributor([distributor.address]);
  const { federated } = await deployFederated(viem, { ...w, distributor });
  const [owner, bystander] = w.outsiders;
  const fedOf = (who: Actor) =>
    viem.getContractAt("FederatedJobs", federated.address, { client: { wallet: who.wallet } });
  for (const a of w.actors) await a.token.write.approve([federated.address, maxUint256]);
  const other = await viem.deployContract("PlainERC20", [owner.address, E(1_000_000)]);
  await (
    await viem.getContractAt("PlainERC20", other.address, { client: { wallet: owner.wallet } })
  ).write.approve([federated.address, maxUint256]);

  const participants = (ts: Actor[] = w.trainers) =>
    ts.map((t, i) => ({
      operator: t.address,
      shardRoot: keccak256(toHex(`shard ${i}`)),
      samples: [600, 400, 500][i] ?? 100,
    }));
  const terms = (patch: Partial<FedTermsArg> = {}): FedTermsArg => ({
    specHash: keccak256(SPEC_BYTES),
    initialModel: INITIAL,
    evalRoot: keccak256(toHex("held-out set")),
    token: w.token.address,
    budget: E(900),
    startAt: 0n,
    phase: Number(PHASE),
    rounds: 2,
    committeeSize: 16,
    bandBps: 1500,
    committeeBps: 1000,
    maxStrikes: 2,
    ...patch,
  });
  /** Posts a job from `who` (default the owner), starting at `startAt` (default: epoch 1 + 100 s). */
  const post = async (patch: Partial<FedTermsArg> = {}, who: Actor = owner, ps = participants()) => {
    const startAt =
      patch.startAt ?? ((await w.latest()) < w.start(1n) ? w.start(1n) + 100n : (await w.latest()) + 100n);
    const t = terms({ ...patch, startAt });
    const hash = await (await fedOf(who)).write.postJob([SPEC_BYTES, t, ps]);
    return { jobId: await federated.read.jobCount(), hash, terms: t };
  };
  const salt = (who: Address, jobId: bigint, round: bigint) =>
    keccak256(
      encodeAbiParameters(
        [{ type: "address" }, { type: "uint256" }, { type: "uint256" }],
        [who, jobId, round],
      ),
    );
  const phaseAt = (jobId: bigint, round: bigint, phase: number) =>
    federated.read.phaseStart([jobId, round, phase]);

  /** Commits then reveals `updates[i]` for participant i (undefined: no commit). */
  const submitUpdates = async (
    jobId: bigint,
    round: bigint,
    updates: (Hex | undefined)[],
    ts: Actor[] = w.trainers,
  ) => {
    await w.reach(await phaseAt(jobId, round, 0));
    for (const [i, u] of updates.entries()) {
      if (u === undefined) continue;
      const c = await federated.read.updateCommitment([
        jobId,
        round,
        ts[i].address,
        u,
        salt(ts[i].address, jobId, round),
      ]);
      await (await fedOf(ts[i])).write.commitUpdate([jobId, c]);
    }
    await w.reach(await phaseAt(jobId, round, 1));
    for (const [i, u] of updates.entries()) {
      if (u === undefined) continue;
      await (await fedOf(ts[i])).write.revealUpdate([jobId, u, salt(ts[i].address, jobId, round)]);
    }
  };
  type Score = { v: Actor; base: Hex; baseScore: number; scores: number[] };
  /** Commits then reveals each member's scores, and moves to the round's end. */
  const score = async (jobId: bigint, round: bigint, votes: Score[]) => {
    await w.reach(await phaseAt(jobId, round, 2));
    for (const s of votes) {
      const c = await federated.read.scoreCommitment([
        jobId,
        round,
        s.v.address,
        s.base,
        s.baseScore,
        s.scores,
        salt(s.v.address, jobId, round),
      ]);
      await (await fedOf(s.v)).write.commitScores([jobId, c]);
    }
    await w.reach(await phaseAt(jobId, round, 3));
    for (const s of votes)
      await (
        await fedOf(s.v)
      ).write.revealScores([jobId, s.base, s.baseScore, s.scores, salt(s.v.address, jobId, round)]);
    await w.reach(await phaseAt(jobId, round, 4));
  };
  const unanimous = (base: Hex, baseScore: number, scores: number[]): Score[] =>
    w.validators.map((v) => ({ v, base, baseScore, scores }));
  /** Sum of `remaining` of the open jobs in `token` (what escrow must hold). */
  const openRemaining = async (token: Address) => {
    let sum = 0n;
    const count = await federated.read.jobCount();
    for (let i = 1n; i <= count; i++) {
      const j = await federated.read.getJob([i]);
      if (j.state === FedState.Open && j.terms.token.toLowerCase() === token.toLowerCase())
        sum += j.remaining;
    }
    return sum;
  };

  return {
    ...w,
    distributor,
    federated,
    owner,
    bystander,
    other,
    fedOf,
    participants,
    terms,
    post,
    salt,
    phaseAt,
    submitUpdates,
    score,
    unanimous,
    openRemaining,
  };
}

export type FedWorld = Awaited<ReturnType<typeof deployFedWorld>>;
