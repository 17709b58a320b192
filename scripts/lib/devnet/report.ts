/**
 * The devnet's final report: what every operator, delegator and the dApp did and hold, and the
 * checks that the books balance. `formatReport` writes it for a person; `--json` prints the object
 * itself (token amounts as decimal strings of wei, so nothing loses precision).
 */
import { formatEther } from "viem";
import type { FederatedSummary } from "./federated.js";
import type { DisputeSummary } from "./disputes.js";
import { formatFederated } from "./federated-report.js";

export type Wei = string;

export interface OperatorReport {
  name: string;
  address: string;
  role: "trainer" | "validator";
  behaviour: string;
  /** Challenges per final status (trainers) or verdicts revealed (validators). */
  challenges: Record<string, number>;
  points: Wei;
  /** The net amount slashed (the SDK's `getSlashes`): held slashes included, returned ones not. */
  slashed: Wei;
  /** Of `slashed`, what a slash still holds through its dispute window. */
  held: Wei;
  /** Slashed and returned whole (an overruled conviction): not in `slashed`. */
  returned: Wei;
  jailed: boolean;
  /**
   * What the operator's pool was credited with (its share of the epochs' budgets by points and the
   * usage fees of the epochs credited), of it the operator's commission and the rest for the
   * pool's shares, and the usage fees paid into the pool.
   */
  rewards: { credited: Wei; commission: Wei; toPool: Wei; usageFees: Wei };
  selfStake: Wei;
  totalStake: Wei;
}

export interface DelegatorReport {
  name: string;
  address: string;
  operator: string;
  delegated: Wei;
  stake: Wei;
  claimed: Wei;
  claimable: Wei;
  unbonding: Wei;
}

export interface RoundRow {
  round: string;
  trainer: string;
  status: string;
  reportedScoreBps: number | null;
  verdicts: string[];
  score: number;
  points: Wei;
}

export interface InferenceSummary {
  deliveries: number;
  requests: number;
  payments: Wei;
  usage: { containerId: string; epoch: string; node: string; deliveries: number; fees: Wei }[];
  royalties: Wei;
  disputes: { node: string; outcome: string; slashed: Wei }[];
  lines: string[];
  /** The marketplace's contracts, as address-book entries. */
  contracts?: Record<string, string>;
}

/** The devnet's paid job: its runs, payouts, model, royalties and books (`scripts/lib/devnet/jobs.ts`). */
export interface JobSummary {
  jobId: string;
  jobRegistry: string;
  engineer: string;
  state: string;
  winner: string | null;
  /** `scoreBps`: the run's reported held-out accuracy (what the job counts); `medianScoreBps`: the committee's. */
  runs: {
    trainer: string;
    name: string;
    behaviour: string;
    status: string;
    scoreBps: number;
    medianScoreBps: number;
  }[];
  payouts: { account: string; name: string; role: "trainer" | "committee"; amount: Wei }[];
  /** The model the engineer fetched, proven, checked and registered (null unless Completed). */
  model: {
    containerId: string;
    trainer: string;
    weightsHash: string;
    bytes: number;
    /** Held-out accuracy the engineer measured on the committed evaluation set. */
    accuracyBps: number;
    /** The committee's stake-weighted median of the winning run. */
    committeeAccuracyBps: number;
  } | null;
  /** The usage fees of the model and the royalty split (null unless it was sold). */
  royalties: {
    fees: Wei;
    nodeFee: Wei;
    royalty: Wei;
    toEngineer: Wei;
    toTrainer: Wei;
    /** The engineer's balance change at the flush. */
    engineerReceived: Wei;
    /** royalty × ownerRoyaltyBps / 10,000 (rounded down). */
    expectedToEngineer: Wei;
  } | null;
  /** escrowed = paidOut + refunded + protocol, and what the registry still holds. */
  books: { escrowed: Wei; paidOut: Wei; refunded: Wei; protocol: Wei; registryHolds: Wei; balanced: boolean };
  lines: string[];
  /** The job's contracts (and the marketplace's, when the devnet deployed it for the job), as address-book entries. */
  contracts: Record<string, string>;
}

export interface DevnetReport {
  chainId: number;
  mode: "in-process" | "multi-process";
  options: Record<string, unknown>;
  spec: { id: string; widths: number[]; steps: number; checkpointInterval: number; auditSamples: number };
  /** The run's address book (marketplace included): what `poai … --deployment` and the dashboard read. */
  deployment: { chainId: number; deployBlock: string; contracts: Record<string, string> };
  wallSeconds: number;
  rounds: RoundRow[];
  operators: OperatorReport[];
  delegators: DelegatorReport[];
  inference: InferenceSummary | null;
  /** The paid job (null with `--no-jobs` or when the devnet is too short to judge it). */
  jobs: JobSummary | null;
  verification: {
    trainingSeconds: number;
    runsTrained: number;
    auditSeconds: number;
    audits: number;
    /** Σ audit seconds of all validators / Σ training seconds of all trainers. */
    overhead: number | null;
  };
  accounting: {
    funded: Wei;
    usageFees: Wei;
    /** Rewards nobody could earn, returned by Staking to the distributor's carry. */
    returned: Wei;
    creditedToPools: Wei;
    protocol: Wei;
    /** Royalty shares paid to job owners at once (the RewardDistributor's `totalToOwners`). */
    toOwners: Wei;
    reserve: Wei;
    carried: Wei;
    /** Budgets of closed epochs not credited to a pool yet (credited at the pool's next touch). */
    unsettled: Wei;
    /** Usage fees in pools for epochs not closed or not credited yet. */
    pendingInPools: Wei;
    distributorHolds: Wei;
    burnedBySlashes: Wei;
    /** Claimed and compounded by everybody (operators' commission included). */
    claimed: Wei;
    claimedByDelegators: Wei;
    /** What every position can claim now (operators' commission included). */
    claimable: Wei;
    dust: Wei;
    /** credited - claimed - claimable - dust: the positions' floor roundings (a few wei). */
    rounding: Wei;
    balanced: boolean;
  };
  checks: { name: string; ok: boolean; detail: string }[];
  /** The federated MNIST job (`scripts/lib/devnet/federated.ts`), unless left out. */
  federated?: FederatedSummary | null;
  /** The dispute game (`scripts/lib/devnet/disputes.ts`; null with `--no-disputes` or `--rpc`). */
  disputes?: DisputeSummary | null;
}

export const fmt = (wei: Wei | bigint): string =>
  `${Number(formatEther(BigInt(wei))).toLocaleString("en-US", { maximumFractionDigits: 4 })} POAI`;
export const short = (a: string): string => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** An operator's net slashed amount, with what of it is held and what was returned. */
function slashedCell(o: OperatorReport): string {
  const notes = [
    ...(BigInt(o.held) > 0n ? [`${fmt(o.held)} held`] : []),
    ...(BigInt(o.returned) > 0n ? [`${fmt(o.returned)} returned`] : []),
  ];
  return notes.length ? `${fmt(o.slashed)} (${notes.join(", ")})` : fmt(o.slashed);
}

/**
 * A trainer's points are stake × challenge score (token units); a validator's are its committee
 * weight, the stake share of its role in units of 2^-32, once per verdict that agreed.
 */
function points(o: OperatorReport): string {
  return o.role === "trainer" ? fmt(o.points) : `${(Number(BigInt(o.points)) / 2 ** 32).toFixed(4)} share`;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join("  ")}`.trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The report as text for a terminal. */
export function formatReport(r: DevnetReport): string {
  const out: string[] = [];
  const section = (title: string) => out.push("", title);
  section(`Judgments (${r.rounds.length} challenges over ${r.options.epochs as number} rounds)`);
  out.push(
    ...table(
      ["round", "trainer", "status", "reported", "committee verdicts", "score", "points"],
      r.rounds.map((x) => [
        x.round,
        x.trainer,
        x.status,
        x.reportedScoreBps === null ? "-" : `${(x.reportedScoreBps / 100).toFixed(2)}%`,
        x.verdicts.join(", ") || "-",
        x.score.toFixed(4),
        fmt(x.points),
      ]),
    ),
  );
  section("Operators");
  out.push(
    ...table(
      [
        "operator",
        "address",
        "role",
        "behaviour",
        "challenges",
        "points",
        "slashed",
        "status",
        "rewards (commission)",
        "usage fees",
        "stake",
      ],
      r.operators.map((o) => [
        o.name,
        short(o.address),
        o.role,
        o.behaviour,
        Object.entries(o.challenges)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "-",
        points(o),
        slashedCell(o),
        o.jailed ? "jailed" : "active",
        `${fmt(o.rewards.credited)} (${fmt(o.rewards.commission)})`,
        fmt(o.rewards.usageFees),
        fmt(o.totalStake),
      ]),
    ),
  );
  section("Delegators");
  out.push(
    ...table(
      ["delegator", "pool", "delegated", "stake now", "claimed", "claimable", "unbonding"],
      r.delegators.map((d) => [
        `${d.name} ${short(d.address)}`,
        d.operator,
        fmt(d.delegated),
        fmt(d.stake),
        fmt(d.claimed),
        fmt(d.claimable),
        fmt(d.unbonding),
      ]),
    ),
  );
  if (r.inference) {
    section("Inference marketplace");
    out.push(...r.inference.lines.map((l) => `  ${l}`));
  }
  if (r.jobs) {
    section("Paid job");
    out.push(...r.jobs.lines.map((l) => `  ${l}`));
  }
  if (r.disputes) {
    section("Dispute game: one honest validator overrules a colluding committee");
    out.push(...r.disputes.lines.map((l) => `  ${l}`));
  }
  if (r.federated) out.push("", ...formatFederated(r.federated));
  section("Verification cost (measured by the daemons' own metrics)");
  const v = r.verification;
  out.push(
    `  ${v.runsTrained} runs trained in ${v.trainingSeconds.toFixed(2)} s; ${v.audits} audits took ${v.auditSeconds.toFixed(2)} s in all`,
    `  overhead: every validator's audit time / every trainer's training time = ${v.overhead === null ? "n/a" : `${(v.overhead * 100).toFixed(2)}%`}`,
    `  (the committee replays ${r.spec.auditSamples} of the spec's ${r.spec.steps / r.spec.checkpointInterval} segments, each member its own share of them; bench/results/verification.json measures a run of 1,200)`,
  );
  section("Reward accounting");
  const a = r.accounting;
  out.push(
    `  funded ${fmt(a.funded)} + usage fees ${fmt(a.usageFees)} + returned dust ${fmt(a.returned)}`,
    `  = credited to pools ${fmt(a.creditedToPools)} + protocol ${fmt(a.protocol)} + job owners' royalties ${fmt(a.toOwners)} + reserve ${fmt(a.reserve)} + carried ${fmt(a.carried)} + unsettled ${fmt(a.unsettled)} + pending in pools ${fmt(a.pendingInPools)}`,
    `  ${a.balanced ? "balanced" : "NOT BALANCED"}; the distributor holds ${fmt(a.distributorHolds)} (reserve + carried)`,
    `  credited = claimed ${fmt(a.claimed)} + claimable ${fmt(a.claimable)} + dust ${fmt(a.dust)} + ${a.rounding} wei of rounding`,
    `  delegators claimed ${fmt(a.claimedByDelegators)}; slashes burned ${fmt(a.burnedBySlashes)}`,
  );
  section("Checks");
  for (const c of r.checks) out.push(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
  out.push("", `Devnet finished in ${r.wallSeconds.toFixed(1)} s (${r.mode}, chain ${r.chainId}).`);
  return out.join("\n");
}
