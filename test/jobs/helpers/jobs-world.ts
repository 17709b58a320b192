/**
 * A PoAI network with paid jobs: the challenge world (staking, TaskRegistry, beacon,
 * ChallengeManager, trainers and validators), a RewardDistributor, a ModelRegistry and the
 * JobRegistry wired as `deployJobs` wires them, plus the steps the job tests share.
 *
 * Rounds: a job posted in round 0 is claimed in round 1 (its claim round), run in round 2 (the run
 * round) and judged in round 3 (its committee's commit and reveal windows).
 */
import { keccak256, maxUint256, parseEther, toFunctionSelector, toHex, type Address, type Hex } from "viem";
import { commit } from "../../../sdk/src/compute/index.js";
import type { TrainingSpec } from "../../../sdk/src/compute/index.js";
import { deployJobs } from "../../../scripts/lib/deploy-jobs.js";
import type { ScoreGameArgs } from "../../../scripts/lib/deploy-disputes.js";
import { ROLES } from "../../../scripts/lib/roles.js";
import { attempt } from "../../staking/helpers/revert.js";
import {
  DAY,
  E,
  SPEC,
  Status,
  Verdict,
  deployWorld,
  specArg,
  type Actor,
  type Connection,
  type Vote,
} from "../../poai/helpers/world.js";

/** A job's spec: engine version 2 over a committed dataset (roots only: nothing is trained here). */
export const JOB_DATASET = {
  trainRoot: keccak256(toHex("job train shard")),
  trainCount: 8000,
  evalRoot: keccak256(toHex("job held-out set")),
  evalCount: 2000,
  features: SPEC.widths[0],
  classes: SPEC.widths[SPEC.widths.length - 1],
};
export const JOB_SPEC: TrainingSpec = { ...SPEC, version: 2, evalSize: 2000, dataset: JOB_DATASET };
export const JOB_SOURCES = ["https://data.example/job-1"];

export const JobState = { None: 0, Open: 1, Completed: 2, Refunded: 3, Cancelled: 4 } as const;

/**
 * The checkpoint hashes of a (pretend) run of JOB_SPEC: steps 20, interval 10, so checkpoints 0..2.
 * With `evalRoot`, a run audited by operation sampling: its final leaf commits that evaluation root
 * (docs/verifier.md, "The score"), the other leaves pretend step-state roots.
 */
export function runOf(label: string, evalRoot?: Hex) {
  const checkpointHashes = [0, 1, 2].map((i) => keccak256(toHex(`${label} checkpoint ${i}`)));
  const parameterRoots = [0, 1, 2].map((i) => keccak256(toHex(`${label} parameter root ${i}`)));
  const stepRoots = evalRoot
    ? [keccak256(toHex(`${label} step root 0`)), keccak256(toHex(`${label} step root 1`)), evalRoot]
    : undefined;
  const tree = commit({ checkpointHashes, parameterRoots, ...(stepRoots && { stepRoots }) });
  return {
    checkpointHashes,
    parameterRoots,
    evalRoot,
    tree,
    finalHash: checkpointHashes[2],
    finalRoot: parameterRoots[2],
    finalProof: tree.proof(2),
  };
}

export type JobsWorldOptions = {
  trainers?: bigint[];
  validators?: bigint[];
  /** The score game's settings (`deployJobs`' option; default: none, the committee's median decides). */
  scoreGame?: Partial<ScoreGameArgs> | false;
};

export async function deployJobsWorld(conn: Connection, options: JobsWorldOptions = {}) {
  const w = await deployWorld(conn, {
    epochLength: DAY,
    challenge: { committeeSize: 16 },
    trainers: options.trainers ?? [E(5000), E(3000), E(2000)],
    validators: options.validators ?? [E(1000), E(1500), E(2000)],
    outsiders: 3,
  });
  const { viem } = w;
  const admin = w.admin.address;
  const selector = (sig: string) => toFunctionSelector(sig);
  // The reward distributor, as deployNetwork wires it (the admin reports usage fees).
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
      treasury: admin,
    },
  ]);
  await w.manager.write.setTargetFunctionRole([
    distributor.address,
    [selector("notifyUsage(address,address,uint256)")],
    ROLES.COORDINATOR,
  ]);
  await w.staking.write.setRewardDistributor([distributor.address]);
  await w.manager.write.grantRole([ROLES.COORDINATOR, admin, 0]);
  const models = await viem.deployContract("ModelRegistry", [
    w.staking.address,
    w.challenges.address,
    w.manager.address,
  ]);
  const treasury = w.outsiders[2].address;
  const { jobs, jobParams, scoreGame, scoreInference, scoreArgs } = await deployJobs(
    viem,
    { ...w, distributor, epochLength: w.epochLength },
    { models: models.address, jobs: { treasury }, scoreGame: options.scoreGame ?? false },
  );
  const [owner, bystander] = w.outsiders;
  const as = async <N extends "JobRegistry" | "ModelRegistry" | "RewardDistributor" | "PlainERC20">(
    name: N,
    address: Address,
    who: Actor,
  ) => viem.getContractAt(name, address, { client: { wallet: who.wallet } });
  const jobsOf = (who: Actor) => as("JobRegistry", jobs.address, who);
  for (const a of w.actors) {
    await a.token.write.approve([jobs.address, maxUint256]);
    if (scoreGame && scoreInference) {
      await a.token.write.approve([scoreGame.address, maxUint256]);
      await a.token.write.approve([scoreInference.address, maxUint256]);
    }
  }
  const other = await viem.deployContract("PlainERC20", [owner.address, E(1_000_000)]);
  await (await as("PlainERC20", other.address, owner)).write.approve([jobs.address, maxUint256]);

  const terms = (patch: Partial<JobTerms> = {}): JobTerms => ({
    trainers: 1,
    token: w.token.address,
    budget: E(100),
    deadline: 0n,
    minAccuracyBps: 8000,
    ownerRoyaltyBps: 3000,
    ...patch,
  });
  /** Posts a job from `who` (default the owner); the deadline defaults to two attempts' worth
   *  (the second claimed the round after the first is judged). */
  const post = async (
    patch: Partial<JobTerms> = {},
    who: Actor = owner,
    job: { spec: TrainingSpec; sources?: string[] } = { spec: JOB_SPEC },
  ) => {
    const now = await w.latest();
    const claimRound = (now - w.genesis) / w.epochLength + 1n;
    const deadline = patch.deadline ?? (await jobs.read.judgedBy([claimRound])) + 3n * w.epochLength;
    if (!job.spec.dataset) throw new Error("a job's spec is engine version 2, over a dataset");
    const args = [
      specArg({ ...job.spec, dataset: undefined }),
      job.spec.dataset,
      job.sources ?? JOB_SOURCES,
      terms({ ...patch, deadline }),
    ] as const;
    const j = await jobsOf(who);
    const hash = await j.write.postJob(args);
    return { jobId: await jobs.read.jobCount(), hash, claimRound, deadline };
  };
  /** Every trainer in `ts` tries to claim; those outranked are reported, not thrown. */
  const claimAll = async (jobId: bigint, ts: Actor[]) => {
    const out: string[] = [];
    for (const t of ts) {
      const o = await attempt((await jobsOf(t)).write.claim([jobId]), jobs.abi);
      out.push(o.ok ? "ok" : o.error);
    }
    return out;
  };
  /**
   * Judges runs of round `r`: every vote is committed, then revealed (the last reveal of a
   * unanimous committee judges the run), and a run still open after the reveal window is finalized
   * by the bystander. `runs` maps a challenge id to its votes.
   */
  const judge = async (r: bigint, runs: [Hex, Vote[]][]) => {
    const win = w.windows(r);
    await w.reach(win.commitStart);
    for (const [id, votes] of runs) for (const v of votes) await w.commitVote(id, v);
    await w.reach(win.revealStart);
    for (const [id, votes] of runs) for (const v of votes) await w.revealVote(id, v);
    await w.reach(win.revealEnd);
    for (const [id] of runs)
      if ((await w.challenges.read.getChallenge([id])).status === Status.Submitted)
        await bystander.cm.write.finalize([id]);
  };
  const votesOf = (verdict: number, score = 0): Vote[] => w.validators.map((v) => ({ v, verdict, score }));
  const valid = (score: number) => votesOf(Verdict.Valid, score);
  const invalid = () => votesOf(Verdict.Invalid);
  /** The sum of the budgets of the open jobs in `token` (what escrow must hold). */
  const openBudgets = async (token: Address) => {
    let sum = 0n;
    const count = await jobs.read.jobCount();
    for (let i = 1n; i <= count; i++) {
      const j = await jobs.read.getJob([i]);
      if (j.state === JobState.Open && j.token.toLowerCase() === token.toLowerCase()) sum += j.budget;
    }
    return sum;
  };

  return {
    ...w,
    distributor,
    models,
    jobs,
    jobParams,
    scoreGame,
    scoreInference,
    scoreArgs,
    treasury,
    owner,
    bystander,
    other,
    as,
    jobsOf,
    terms,
    post,
    claimAll,
    judge,
    valid,
    invalid,
    openBudgets,
  };
}

export type JobTerms = {
  trainers: number;
  token: Address;
  budget: bigint;
  deadline: bigint;
  minAccuracyBps: number;
  ownerRoyaltyBps: number;
};

export type JobsWorld = Awaited<ReturnType<typeof deployJobsWorld>>;
export { DAY, E };
