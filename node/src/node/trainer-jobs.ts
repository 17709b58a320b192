/**
 * The trainer daemon's part in paid jobs: in each round it claims, among the open jobs whose claim
 * round this is, the one that pays it most per trainer (budget / trainers, in the staking token
 * first), unless it already holds a job for the next round. The claim is idempotent on chain (the
 * registry refuses a second claim, a second job in the same run round and a draw outranked by the
 * holders) and every refusal is decoded before anything is signed, so a crash between two ticks
 * loses nothing: the next tick reads the assignment back. Once assigned, nothing else is needed:
 * the run round's challenge (`getDueChallenge`) names the job's spec, which the daemon trains,
 * commits and serves like any challenge.
 */
import { zeroHash, type Address, type Hash } from "viem";
import { readContract } from "viem/actions";
import {
  claimJob,
  isPoAIContractError,
  jobRegistryAbi,
  listJobs,
  type JobInfo,
  type PoAIClient,
} from "@poai/sdk";

/** Refusals that only mean "not this job, not now". */
const EXPECTED = [
  "Outranked",
  "AlreadyClaimed",
  "AlreadyAssigned",
  "NotClaimRound",
  "JobNotOpen",
  "NotEligibleTrainer",
] as const;

export interface JobClaimResult {
  /** The job the trainer holds for `round + 1` after this pass (0n: none). */
  held: bigint;
  /** The claim sent in this pass, if any. */
  claimed?: { jobId: bigint; hash: Hash };
  /** Jobs tried and refused, with the registry's reason. */
  refused: { jobId: bigint; reason: string }[];
}

/** The job `trainer` holds for run round `runRound` (0n: none). */
export async function getJobAssignment(
  client: PoAIClient,
  args: { trainer: Address; runRound: bigint },
): Promise<bigint> {
  const address = client.deployment.contracts.jobRegistry;
  if (address === undefined) return 0n;
  return readContract(client.publicClient, {
    address,
    abi: jobRegistryAbi,
    functionName: "assignmentOf",
    args: [args.trainer, args.runRound],
  });
}

/**
 * Whether `trainer`'s challenge of `round` is a paid job's run (the JobRegistry names a job spec
 * for it): the trainer daemon keeps such a run's checkpoints, since the job's owner fetches the
 * model from its server.
 */
export async function isJobRun(
  client: PoAIClient,
  args: { trainer: Address; round: bigint },
): Promise<boolean> {
  const address = client.deployment.contracts.jobRegistry;
  if (address === undefined) return false;
  const spec = await readContract(client.publicClient, {
    address,
    abi: jobRegistryAbi,
    functionName: "jobSpecOf",
    args: [args.trainer, args.round],
  });
  return spec !== zeroHash;
}

/** The open jobs claimable in `round`, best paid per trainer first (the staking token before others). */
export function rankJobs(jobs: readonly JobInfo[], round: bigint, stakingToken: Address): JobInfo[] {
  const per = (j: JobInfo) => j.budget / BigInt(j.trainers);
  return jobs
    .filter((j) => j.state === "Open" && j.claimRound === round)
    .sort((a, b) => {
      const ta = a.token.toLowerCase() === stakingToken.toLowerCase() ? 0 : 1;
      const tb = b.token.toLowerCase() === stakingToken.toLowerCase() ? 0 : 1;
      if (ta !== tb) return ta - tb;
      const d = per(b) - per(a);
      return d > 0n ? 1 : d < 0n ? -1 : Number(a.id - b.id);
    });
}

/**
 * One pass of job claiming for `trainer` in `round` (see the module comment). `scan` bounds how
 * many of the newest jobs are read (default 50). Returns what it held, sent and was refused.
 */
export async function claimJobs(
  client: PoAIClient,
  args: { trainer: Address; round: bigint; scan?: number; waitForReceipt?: boolean },
): Promise<JobClaimResult> {
  const refused: JobClaimResult["refused"] = [];
  if (client.deployment.contracts.jobRegistry === undefined) return { held: 0n, refused };
  const runRound = args.round + 1n;
  const held = await getJobAssignment(client, { trainer: args.trainer, runRound });
  if (held !== 0n) return { held, refused };
  const open = await listJobs(client, { state: "Open", limit: args.scan ?? 50 });
  for (const job of rankJobs(open, args.round, client.deployment.contracts.token)) {
    try {
      const hash = await claimJob(client, { jobId: job.id });
      if (args.waitForReceipt ?? true) await client.waitForTransaction(hash);
      return { held: job.id, claimed: { jobId: job.id, hash }, refused };
    } catch (err) {
      const name = EXPECTED.find((n) => isPoAIContractError(err, n));
      if (name === undefined) throw err;
      refused.push({ jobId: job.id, reason: name });
      if (name === "NotEligibleTrainer") break;
    }
  }
  return { held: 0n, refused };
}
