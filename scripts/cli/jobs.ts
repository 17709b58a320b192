/**
 * `poai job …`: paid training jobs from the command line.
 *
 * An AI engineer posts a job (`job post`: a version 2 spec file with its dataset roots, the
 * dataset's source URLs, the budget, the number of trainers, the deadline, the accuracy floor and
 * its share of the model's royalties; the budget is approved and escrowed), follows it
 * (`job list`, `job status`), cancels it before any trainer claimed it (`job cancel`), and, once
 * completed, fetches the model (`job fetch`: the final checkpoint from the winning trainer, proven
 * under the run's root on chain before it is written). Trainers claim jobs (`job claim`); anyone
 * settles a job whose runs are judged (`job settle`) and registers a completed job's model
 * (`job register-model`); `job withdraw` pays out refunds and payments in another ERC-20.
 *
 * Each command checks what a person can get wrong before anything is signed and names the flag
 * and the value; reverts arrive as the SDK's decoded errors.
 */
import { readFile, writeFile } from "node:fs/promises";
import {
  approveJobBudget,
  cancelJob,
  claimJob,
  getJob,
  getJobCount,
  jobRegistryAbi,
  listJobs,
  postJob,
  registerJobModel,
  settleJob,
  withdrawJobFunds,
  type JobInfo,
  type JobStateName,
  type PoAIClient,
} from "@poai/sdk";
import { specId as specIdOf, type TrainingSpec } from "@poai/sdk/compute";
import { fetchJobModel } from "@poai/node";
import { formatUnits, parseEventLogs, type Address, type Hash } from "viem";
import { getBlock } from "viem/actions";
import type { Command } from "commander";
import { OperatorCommandError, parseAddress, signer, type CommandResult } from "./commands.js";
import type { MarketCommandHelpers } from "./market.js";
import { parseToken, parseTokenAmount } from "./market.js";
import type { CommonOptions } from "./session.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

const STATES: readonly JobStateName[] = ["Open", "Completed", "Refunded", "Cancelled"];

async function mined(client: PoAIClient, hash: Hash, action: string, txs: unknown[]) {
  const receipt = await client.waitForTransaction(hash);
  txs.push({ action, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
  return receipt;
}

function needRegistry(client: PoAIClient): Address {
  const address = client.deployment.contracts.jobRegistry;
  if (!address)
    fail(
      "the address book has no jobRegistry (paid jobs): deploy with poai deploy, or pass an address book that has it",
    );
  return address!;
}

function parseJobId(value: string): bigint {
  if (!/^[1-9]\d*$/.test(value))
    fail(`--job must be a job id (a positive integer), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

function parseIntIn(field: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    fail(`--${field} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A percentage such as 30 or 92.5 as basis points. */
function parsePercent(field: string, value: string): number {
  if (!/^\d+(\.\d{1,2})?$/.test(value) || Number(value) > 100)
    fail(`--${field} must be a percentage from 0 to 100 (at most 2 decimals), got ${JSON.stringify(value)}`);
  return Math.round(Number(value) * 100);
}

/** A deadline: a duration from now (`36h`, `3d`, `90m`) or an ISO date. Returns unix seconds. */
function parseDeadline(value: string, now: bigint): bigint {
  const m = /^(\d+)([mhd])$/.exec(value);
  if (m) return now + BigInt(Number(m[1]) * { m: 60, h: 3600, d: 86_400 }[m[2] as "m" | "h" | "d"]);
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value))
    fail(`--deadline must be a duration such as 36h or 3d, or an ISO date, got ${JSON.stringify(value)}`);
  return BigInt(Math.floor(t / 1000));
}

async function readSpec(file: string): Promise<TrainingSpec> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return fail(`--spec ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as TrainingSpec;
  } catch (err) {
    return fail(`--spec ${file} is not JSON: ${(err as Error).message}`);
  }
}

function describe(j: JobInfo, decimals: number, symbol: string): string[] {
  const lines = [
    `job ${j.id}: ${j.state} (attempt ${j.attempt}), owner ${j.owner}`,
    `  spec ${j.specId}, ${j.trainers} trainer(s), floor ${(j.minAccuracyBps / 100).toFixed(2)}%, owner royalty share ${(j.ownerRoyaltyBps / 100).toFixed(2)}%`,
    `  budget ${formatUnits(j.budget, decimals)} ${symbol}, deadline ${new Date(Number(j.deadline) * 1000).toISOString()}`,
  ];
  if (j.state === "Open")
    lines.push(
      `  claims in round ${j.claimRound}, runs in round ${j.runRound}; assigned: ${j.assigned.length ? j.assigned.join(", ") : "none yet"}`,
    );
  if (j.state === "Completed") {
    lines.push(
      `  completed by ${j.winner} in round ${j.winnerRound} at ${(j.winnerScoreBps / 100).toFixed(2)}% accuracy`,
    );
    lines.push(
      /^0x0+$/.test(j.containerId)
        ? "  model not registered yet (poai job register-model)"
        : `  model job/${j.id} (container ${j.containerId})`,
    );
  }
  return lines;
}

async function jobPost(
  client: PoAIClient,
  o: {
    spec: string;
    source: string[];
    budget: string;
    token?: string;
    trainers: string;
    deadline: string;
    minAccuracy: string;
    ownerRoyalty: string;
  },
): Promise<CommandResult> {
  needRegistry(client);
  const from = signer(client);
  const spec = await readSpec(o.spec);
  const token = await parseToken(client, o.token);
  if (token.symbol === "ETH") fail("--token must be poai or an ERC-20 address: jobs escrow ERC-20 budgets");
  const budget = parseTokenAmount("budget", o.budget, token);
  const now = (await getBlock(client.publicClient)).timestamp;
  const terms = {
    trainers: parseIntIn("trainers", o.trainers, 1, 8),
    token: token.address,
    budget,
    deadline: parseDeadline(o.deadline, now),
    minAccuracyBps: parsePercent("min-accuracy", o.minAccuracy),
    ownerRoyaltyBps: parsePercent("owner-royalty", o.ownerRoyalty),
  };
  const txs: unknown[] = [];
  await mined(
    client,
    await approveJobBudget(client, { amount: budget, token: token.address }),
    "approve",
    txs,
  );
  const receipt = await mined(client, await postJob(client, { spec, sources: o.source, terms }), "post", txs);
  const [posted] = parseEventLogs({ abi: jobRegistryAbi, logs: receipt.logs, eventName: "JobPosted" });
  const jobId = posted!.args.jobId;
  const job = await getJob(client, { jobId });
  return {
    lines: [
      `posted job ${jobId} from ${from}: ${formatUnits(job.budget, token.decimals)} ${token.symbol} escrowed`,
      ...describe(job, token.decimals, token.symbol).slice(1),
    ],
    data: { action: "job-post", jobId, specId: specIdOf(spec), job, transactions: txs },
  };
}

async function jobList(client: PoAIClient, o: { owner?: Address; state?: string; limit?: string }) {
  needRegistry(client);
  if (o.state !== undefined && !STATES.includes(o.state as JobStateName))
    fail(`--state must be one of ${STATES.join(", ")}, got ${JSON.stringify(o.state)}`);
  const limit = o.limit === undefined ? 20 : parseIntIn("limit", o.limit, 1, 1000);
  const jobs = await listJobs(client, {
    ...(o.owner && { owner: o.owner }),
    ...(o.state && { state: o.state as JobStateName }),
    limit,
  });
  const total = await getJobCount(client);
  const lines = jobs.length
    ? jobs.map(
        (j) =>
          `job ${j.id}: ${j.state}, ${formatUnits(j.budget, 18)} budget, ${j.trainers} trainer(s), owner ${j.owner}`,
      )
    : ["no jobs match"];
  return { lines: [...lines, `${total} job(s) posted in all`], data: { action: "job-list", total, jobs } };
}

async function jobStatus(client: PoAIClient, o: { job: string }) {
  needRegistry(client);
  const job = await getJob(client, { jobId: parseJobId(o.job) });
  const token = await parseToken(client, job.token);
  return { lines: describe(job, token.decimals, token.symbol), data: { action: "job-status", job } };
}

async function simple(
  client: PoAIClient,
  action: "cancel" | "claim" | "settle",
  jobId: bigint,
): Promise<CommandResult> {
  needRegistry(client);
  const txs: unknown[] = [];
  const send = { cancel: cancelJob, claim: claimJob, settle: settleJob }[action];
  await mined(client, await send(client, { jobId }), action, txs);
  const job = await getJob(client, { jobId });
  const token = await parseToken(client, job.token);
  const head = {
    cancel: `cancelled job ${jobId}: its budget is yours to withdraw (poai job withdraw)`,
    claim: `claimed job ${jobId} for round ${job.runRound}${job.assigned.includes(signer(client)) ? "" : " (outranked since)"}`,
    settle: `settled job ${jobId}: ${job.state}`,
  }[action];
  return {
    lines: [head, ...describe(job, token.decimals, token.symbol)],
    data: { action: `job-${action}`, job, transactions: txs },
  };
}

async function jobFetch(
  client: PoAIClient,
  o: { job: string; out: string; endpoint?: string; register?: boolean },
) {
  needRegistry(client);
  const jobId = parseJobId(o.job);
  const model = await fetchJobModel(client, { jobId, ...(o.endpoint && { endpoint: o.endpoint }) });
  await writeFile(o.out, model.bytes);
  await writeFile(
    `${o.out}.proof.json`,
    JSON.stringify(
      {
        jobId: jobId.toString(),
        challengeId: model.challengeId,
        index: model.index,
        weightsHash: model.weightsHash,
        root: model.root,
        proof: model.proof,
        widths: model.spec.widths,
      },
      null,
      2,
    ) + "\n",
  );
  const lines = [
    `job ${jobId}'s model: ${model.bytes.length} bytes to ${o.out}, hash ${model.weightsHash}`,
    `  proven as checkpoint ${model.index} under root ${model.root} of run ${model.challengeId} (trainer ${model.trainer})`,
  ];
  const txs: unknown[] = [];
  if (o.register) {
    const job = await getJob(client, { jobId });
    if (!/^0x0+$/.test(job.containerId)) lines.push(`  already registered as job/${jobId}`);
    else {
      await mined(
        client,
        await registerJobModel(client, {
          jobId,
          weightsHash: model.weightsHash,
          parameterRoot: model.parameterRoot,
          evalRoot: model.evalRoot,
          proof: model.proof,
        }),
        "register-model",
        txs,
      );
      lines.push(`  registered as model job/${jobId}`);
    }
  }
  return {
    lines,
    data: {
      action: "job-fetch",
      jobId,
      out: o.out,
      bytes: model.bytes.length,
      weightsHash: model.weightsHash,
      challengeId: model.challengeId,
      transactions: txs,
    },
  };
}

async function jobWithdraw(client: PoAIClient, o: { token?: string }) {
  needRegistry(client);
  const token = await parseToken(client, o.token);
  const txs: unknown[] = [];
  await mined(client, await withdrawJobFunds(client, { token: token.address }), "withdraw", txs);
  return {
    lines: [`withdrew what the job registry owed ${signer(client)} in ${token.symbol}`],
    data: { action: "job-withdraw", transactions: txs },
  };
}

/** Registers `poai job`. */
export function registerJobCommands(p: Command, h: MarketCommandHelpers): void {
  const job = p
    .command("job")
    .description("Paid training jobs: post, list, status, cancel, fetch, claim, settle")
    .exitOverride();
  const sub = (name: string, description: string) =>
    h.common(job.command(name).description(description).exitOverride());
  const act =
    <O extends CommonOptions>(work: (client: PoAIClient, o: O) => Promise<CommandResult>, needsKey = true) =>
    async (o: O) =>
      h.run(o.json, async (config) => work((await h.session(o, config, needsKey)).client, o), o);
  const collect = (v: string, prev: string[] = []) => [...prev, v];

  sub("post", "Post a training job: escrow its budget; trainers are assigned by stake-weighted draws")
    .requiredOption("--spec <file>", "the training spec (engine version 2 JSON, with its dataset roots)")
    .requiredOption("--source <url>", "a base URL the dataset is served from (repeatable)", collect)
    .requiredOption("--budget <amount>", "the budget, e.g. 100 (in the token's units)")
    .option("--token <token>", "poai (default) or an ERC-20 address")
    .option("--trainers <n>", "independent trainers, 1..8", "1")
    .requiredOption("--deadline <when>", "by when a run must be judged: a duration (36h, 3d) or an ISO date")
    .option("--min-accuracy <percent>", "held-out accuracy a run must reach", "0")
    .option("--owner-royalty <percent>", "your share of the model's usage royalties", "0")
    .action(act((c, o: Parameters<typeof jobPost>[1] & CommonOptions) => jobPost(c, o)));
  sub("list", "List jobs, newest first")
    .option("--owner <address>", "only this owner's jobs", (v) => parseAddress("owner", v))
    .option("--state <state>", `only jobs in this state (${STATES.join(", ")})`)
    .option("--limit <n>", "at most this many (default 20)")
    .action(
      act(
        (c, o: { owner?: Address; state?: string; limit?: string } & CommonOptions) => jobList(c, o),
        false,
      ),
    );
  sub("status", "Show a job: its state, assignment, winner and model")
    .requiredOption("--job <id>", "the job id")
    .action(act((c, o: { job: string } & CommonOptions) => jobStatus(c, o), false));
  sub("cancel", "Cancel your job before any trainer claimed it")
    .requiredOption("--job <id>", "the job id")
    .action(act((c, o: { job: string } & CommonOptions) => simple(c, "cancel", parseJobId(o.job))));
  sub("claim", "Claim a place on a job in its claim round (trainers)")
    .requiredOption("--job <id>", "the job id")
    .action(act((c, o: { job: string } & CommonOptions) => simple(c, "claim", parseJobId(o.job))));
  sub("settle", "Complete, re-assign or refund a job whose runs are judged (anyone)")
    .requiredOption("--job <id>", "the job id")
    .action(act((c, o: { job: string } & CommonOptions) => simple(c, "settle", parseJobId(o.job))));
  sub("fetch", "Fetch a completed job's model from its trainer, proven against the chain, and write it")
    .requiredOption("--job <id>", "the job id")
    .requiredOption("--out <file>", "where the checkpoint goes (its proof goes to <file>.proof.json)")
    .option("--endpoint <url>", "the trainer's checkpoint server (default: its endpoint in Staking)")
    .option("--register", "also register the model as job/<id> in the ModelRegistry if nobody has")
    .action(async (o: { job: string; out: string; endpoint?: string; register?: boolean } & CommonOptions) =>
      h.run(
        o.json,
        async (config) => jobFetch((await h.session(o, config, o.register === true)).client, o),
        o,
      ),
    );
  sub("withdraw", "Withdraw what the job registry owes you (refunds, payments in another ERC-20)")
    .option("--token <token>", "poai (default) or an ERC-20 address")
    .action(act((c, o: { token?: string } & CommonOptions) => jobWithdraw(c, o)));
}
