/**
 * Escape benchmark: how often a run that forges a fraction `f` of its segments escapes conviction
 * (the slash, not one member's sampling), by seeded Monte Carlo over everything the protocol
 * leaves to chance: which segments are forged, which validators the sortition draws, which
 * segments each member samples, and, when a committee cannot decide, the extended committees.
 *
 * Each trial plays one challenge the way the contracts judge it. Each member samples its own
 * share of the committee's `k` segments (`ownSamples`: ceil(k / minReveals) distinct segments drawn
 * from the audit seed and its own address, independent of the other members' draws),
 * an honest member that draws a forged segment reveals `Invalid(segment)`, and every member that
 * replays the named segment in the second phase votes on it; the verdict is the SDK's
 * `tallyVotes`, the rule of `Judgment.sol`, with the shipped `quorumBps`, `minReveals` and
 * `maxExtensions`. Adversarial members come in two kinds:
 *  - lazy: replays nothing in the audit and reveals Valid; in the second phase it replays the one
 *    named segment and votes honestly (a Valid vote on a proven fraud is slashed);
 *  - dishonest: colludes with the forger: Valid in both phases.
 * With `d` of them in a committee (every committee drawn for the challenge, extensions included,
 * has `min(d, size)` of them), the table gives the escape probability for d = 0..3.
 *
 * Designs compared (docs/protocol.md explains the choice):
 *  - `before`: the rule this replaces: each member samples `k` segments of its own, a verdict
 *    needs `quorumBps` 6,667 of the revealed stake, no second phase, no extension;
 *  - `shared`: committee-wide shared samples (every member checks the same `k` segments), a
 *    verdict needs a majority of the revealed stake, no second phase;
 *  - `second phase`: the shipped rule (each member's own ceil(k / minReveals) samples, second
 *    phase, majority, extensions).
 * The cost of a design is the committee's CPU per honest run (every member honest, f = 0) over
 * the trainer's, from the per-sample and per-member audit costs measured by the verification
 * benchmark (`bench/results/verification.json`: run `BENCH=verification` first).
 *
 * Writes bench/results/escape.json and prints the table.
 *   BENCH=escape npm run bench          (BENCH_ESCAPE_TRIALS=200000 to change the trial count)
 */
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tallyVotes, voteWeight, type Vote } from "../sdk/src/poai/judgment.js";

/** The reference run of the verification benchmark: 2,400 segments. */
export const SEGMENTS = 2400;
/** The forged fraction the protocol is judged on. */
export const FORGED_FRACTION = 0.1;
/** The shipped defaults (scripts/lib/deploy.ts, and the reference spec's auditSamples). */
export const DEFAULTS = {
  committeeSize: 3,
  auditSamples: 66,
  quorumBps: 5001,
  minReveals: 2,
  maxExtensions: 3,
};
const TRIALS = Number(process.env.BENCH_ESCAPE_TRIALS ?? 100_000);
const SEED = 0x9e3779b9;
const RESULTS = fileURLToPath(new URL("./results/escape.json", import.meta.url));
const VERIFICATION = fileURLToPath(new URL("./results/verification.json", import.meta.url));

export interface Design {
  name: string;
  scheme: "before" | "shared" | "second-phase";
  committeeSize: number;
  /**
   * Segments the committee re-executes: second phase, `k` (each member replays its own
   * ceil(k / minReveals)); `before`, per member; `shared`, the same `k` for every member.
   */
  samples: number;
  quorumBps: number;
  minReveals: number;
  maxExtensions: number;
  /** Validators in the network, equal stakes (each drawn with probability committeeSize / V). */
  validators: number;
}

export type Adversary = "lazy" | "dishonest";

/** sfc32: a small seeded generator; every trial's randomness comes from it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  let b = 0x243f6a88;
  let c = 0x85a308d3;
  let d = 1;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/**
 * `count` distinct segments, uniform. The forged segments of a trial are `0 .. forged - 1`: the
 * samples are uniform and independent of the labels, so this is the same as forging a uniform set.
 */
function distinct(random: () => number, count: number, segments: number): number[] {
  if (count >= segments) return Array.from({ length: segments }, (_, i) => i);
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < count) {
    const s = Math.floor(random() * segments);
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

interface Member {
  kind: "honest" | Adversary;
  verdict: "Valid" | "Invalid";
  replay: "None" | "Valid" | "Invalid";
}

/** The verdict of `before` and `shared`: a quorum of the revealed stake, no second phase. */
function revealedQuorum(members: Member[], quorumBps: number, minReveals: number): "Invalid" | "other" {
  if (members.length < minReveals) return "other";
  const invalid = members.filter((m) => m.verdict === "Invalid").length;
  return invalid * 10_000 >= quorumBps * members.length ? "Invalid" : "other";
}

export interface Cell {
  trials: number;
  escapes: number;
  escape: number;
  /** Mean members and replayed segments per challenge (honest members' audits). */
  members: number;
  replayed: number;
}

/**
 * Plays `trials` challenges of a run forging `forged` of `segments` segments under `design`, with
 * `d` adversarial members of kind `adversary` in each committee. `forged = 0` measures the cost of
 * an honest run.
 */
export function simulate(
  design: Design,
  adversary: Adversary,
  d: number,
  forged: number,
  trials: number,
  seed: number,
  segments = SEGMENTS,
): Cell {
  const random = rng(seed);
  const selectP = Math.min(1, design.committeeSize / design.validators);
  const weight = voteWeight(1n, BigInt(design.validators));
  const extensions = design.scheme === "second-phase" ? design.maxExtensions : 0;
  let escapes = 0;
  let members = 0;
  let replayed = 0;
  for (let t = 0; t < trials; t++) {
    const committee: Member[] = [];
    let drawn = new Set<number>();
    let convicted = false;
    for (let round = 0; round <= extensions; round++) {
      // The committee of this audit round: every validator not yet a member, by sortition.
      const fresh: number[] = [];
      for (let v = 0; v < design.validators; v++) if (!drawn.has(v) && random() < selectP) fresh.push(v);
      drawn = new Set([...drawn, ...fresh]);
      const m = fresh.length;
      const adversaries = Math.min(d, m);
      const own = Math.ceil(design.samples / design.minReveals);
      const shared = design.scheme === "shared" ? distinct(random, design.samples, segments) : undefined;
      for (let i = 0; i < m; i++) {
        const kind: Member["kind"] = i < adversaries ? adversary : "honest";
        let samples: number[] = [];
        if (kind === "honest") {
          if (design.scheme === "second-phase") samples = distinct(random, own, segments);
          else if (shared) samples = shared;
          else samples = distinct(random, design.samples, segments);
        }
        replayed += samples.length;
        const caught = samples.some((s) => s < forged);
        committee.push({ kind, verdict: caught ? "Invalid" : "Valid", replay: "None" });
      }
      members += m;
      if (design.scheme !== "second-phase") {
        convicted = revealedQuorum(committee, design.quorumBps, design.minReveals) === "Invalid";
        break;
      }
      // The second phase: once a member accused, every member votes on the named segment (it is
      // forged: a member accuses only what it caught), except the dishonest ones.
      if (committee.some((x) => x.verdict === "Invalid")) {
        for (const x of committee)
          if (x.replay === "None") x.replay = x.kind === "dishonest" ? "Valid" : "Invalid";
      }
      const votes: Vote[] = committee.map((x) => ({
        verdict: x.verdict,
        replay: x.replay,
        measuredScoreBps: 9000,
        weight,
      }));
      const o = tallyVotes(votes, design.quorumBps, design.minReveals);
      if (o.verdict !== "None") {
        convicted = o.verdict === "Invalid";
        break;
      }
    }
    if (!convicted) escapes++;
  }
  return {
    trials,
    escapes,
    escape: escapes / trials,
    members: members / trials,
    replayed: replayed / trials,
  };
}

/** The exact escape of `k` distinct samples, all honest: C(S - F, k) / C(S, k). */
export function hypergeometricEscape(k: number, forged: number, segments = SEGMENTS): number {
  let p = 1;
  for (let i = 0; i < k && p > 0; i++) p *= (segments - forged - i) / (segments - i);
  return p;
}

interface AuditCosts {
  trainerCpuMs: number;
  perSampleCpuMs: number;
  perMemberCpuMs: number;
  source: string;
}

/** Per-sample and per-member audit CPU from the verification benchmark's measurement. */
async function auditCosts(): Promise<AuditCosts> {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(await readFile(VERIFICATION, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      "the escape benchmark prices audits with bench/results/verification.json: run BENCH=verification first",
      { cause: err },
    );
  }
  const num = (key: string) => {
    const v = r[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      throw new Error(`bench/results/verification.json has no positive number "${key}" (got ${String(v)})`);
    return v;
  };
  const cpu = num("validatorCpuMs");
  const replayShare = num("validator.replayMs") / num("validatorMs");
  const perSample = (cpu * Math.min(1, replayShare)) / num("validator.segmentsReplayed");
  return {
    trainerCpuMs: num("trainerCpuMs"),
    perSampleCpuMs: perSample,
    perMemberCpuMs: cpu - perSample * num("validator.segmentsReplayed"),
    source: `verification.json: trainer ${num("trainerCpuMs")} ms CPU, one audit ${cpu} ms CPU for ${num("validator.segmentsReplayed")} segments`,
  };
}

export async function runEscapeBench(): Promise<void> {
  const costs = await auditCosts();
  const forged = Math.round(FORGED_FRACTION * SEGMENTS);
  const base: Design = {
    name: "",
    scheme: "second-phase",
    ...DEFAULTS,
    samples: DEFAULTS.auditSamples,
    validators: DEFAULTS.committeeSize,
  };
  // The most samples a committee of 3 affords within 5% of the trainer's CPU, at the measured costs:
  // each member replays ceil(k / minReveals) segments.
  const budget = Math.floor(
    (((0.05 * costs.trainerCpuMs - DEFAULTS.committeeSize * costs.perMemberCpuMs) / costs.perSampleCpuMs) *
      DEFAULTS.minReveals) /
      DEFAULTS.committeeSize,
  );
  const designs: Design[] = [
    {
      ...base,
      name: "before: k = 16 per member, quorum 6,667, no second phase",
      scheme: "before",
      samples: 16,
      quorumBps: 6667,
    },
    {
      ...base,
      name: "shared samples: the same 22 segments for every member, majority",
      scheme: "shared",
      samples: 22,
    },
    {
      ...base,
      name: "shared samples: the same 66 segments for every member, majority",
      scheme: "shared",
      samples: 66,
    },
    { ...base, name: "second phase, defaults (committee 3 of 3 validators, k = 66)" },
    { ...base, name: "second phase, defaults, 30 validators (sortition)", validators: 30 },
    {
      ...base,
      name: "second phase, defaults, 30 validators, maxExtensions 2",
      validators: 30,
      maxExtensions: 2,
    },
    { ...base, name: `second phase, k = ${budget} (the 5% CPU budget)`, samples: budget },
    { ...base, name: "second phase, quorum 6,666", quorumBps: 6666 },
    { ...base, name: "second phase, committee 5 of 5", committeeSize: 5, validators: 5 },
    { ...base, name: "second phase, committee 7 of 7", committeeSize: 7, validators: 7 },
    {
      ...base,
      name: "second phase, committee 7 of 7, k = 96",
      committeeSize: 7,
      validators: 7,
      samples: 96,
    },
  ];
  const rows: Record<string, unknown>[] = [];
  let seed = SEED;
  console.log(
    `escape bench: ${TRIALS} trials per cell, f = ${FORGED_FRACTION} (${forged} of ${SEGMENTS} segments); costs from ${costs.source}`,
  );
  for (const design of designs) {
    const honest = simulate(design, "lazy", 0, 0, Math.min(TRIALS, 20_000), seed++);
    const cpu = honest.replayed * costs.perSampleCpuMs + honest.members * costs.perMemberCpuMs;
    const row: Record<string, unknown> = {
      design: design.name,
      scheme: design.scheme,
      committeeSize: design.committeeSize,
      validators: design.validators,
      samples: design.samples,
      quorumBps: design.quorumBps,
      minReveals: design.minReveals,
      maxExtensions: design.scheme === "second-phase" ? design.maxExtensions : 0,
      overheadCpu: Number((cpu / costs.trainerCpuMs).toFixed(4)),
      membersPerChallenge: Number(honest.members.toFixed(3)),
      segmentsReplayedPerChallenge: Number(honest.replayed.toFixed(2)),
    };
    for (const adversary of ["lazy", "dishonest"] as const) {
      for (let d = adversary === "lazy" ? 0 : 1; d <= 3; d++) {
        const cell = simulate(design, adversary, d, forged, TRIALS, seed++);
        row[d === 0 ? "escape.d0" : `escape.${adversary}${d}`] = cell.escape;
        row[d === 0 ? "escapes.d0" : `escapes.${adversary}${d}`] = cell.escapes;
      }
    }
    if (design.scheme === "second-phase" && design.validators === design.committeeSize)
      row["escape.d0.exact"] = hypergeometricEscape(design.samples, forged);
    rows.push(row);
    console.log(
      `  ${design.name.padEnd(70)} overhead ${(Number(row.overheadCpu) * 100).toFixed(2).padStart(6)}%  escape d=0 ${fmt(row["escape.d0"])}`,
    );
  }
  const results = {
    segments: SEGMENTS,
    forgedFraction: FORGED_FRACTION,
    trials: TRIALS,
    seed: SEED,
    defaults: DEFAULTS,
    costs,
    goal: { escape: 1e-3, overheadCpu: 0.05 },
    samplesWithinBudget: budget,
    rows,
  };
  await mkdir(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  print(rows);
}

function fmt(x: unknown): string {
  const v = Number(x);
  if (v === 0) return `< ${(1 / TRIALS).toExponential(0)}`;
  return v >= 0.01 ? v.toFixed(3) : v.toExponential(2);
}

function print(rows: Record<string, unknown>[]): void {
  console.log(
    "\nEscape probability of a run forging 10% of 2,400 segments (conviction = slash), by adversarial members per committee",
  );
  console.log(
    "design".padEnd(72) +
      "CPU".padStart(7) +
      ["d=0", "lazy 1", "lazy 2", "lazy 3", "dish. 1", "dish. 2", "dish. 3"]
        .map((h) => h.padStart(10))
        .join(""),
  );
  for (const r of rows) {
    const cells = [
      "escape.d0",
      "escape.lazy1",
      "escape.lazy2",
      "escape.lazy3",
      "escape.dishonest1",
      "escape.dishonest2",
      "escape.dishonest3",
    ];
    console.log(
      String(r.design).padEnd(72) +
        `${(Number(r.overheadCpu) * 100).toFixed(2)}%`.padStart(7) +
        cells.map((c) => fmt(r[c]).padStart(10)).join(""),
    );
  }
  console.log("goal: escape < 1e-3 at the defaults (d = 0) with the committee's CPU <= 5% of the trainer's");
}

if (import.meta.url === `file://${process.argv[1]}`) await runEscapeBench();
