/**
 * `npx tsx bench/pool-capture.ts`: how likely a coalition holding a fraction `f` of the validators'
 * stake captures a committee, with and without a round's committee pool, computed exactly (no
 * sampling) for N equal-stake validators, committees of `c` expected members, `minReveals` and the
 * top-ups. Writes `bench/results/pool-capture.json` and prints a table (docs/protocol.md, "The
 * committee pool"; docs/scale.md).
 *
 * Model. Each validator is drawn into the pool of `P` expected members independently with
 * probability P/N (`Sortition.isSelected`, stake-weighted; equal stakes here), then into each of
 * the round's committees independently with probability c/P (`Sortition.committeeBand`); without
 * a pool, into each committee with probability c/N. A committee whose first band holds fewer than
 * `minReveals` members is topped up with further members drawn uniformly from the pool (from every
 * validator without a pool) until it holds `minReveals` (each top-up band holds one expected
 * member: taking them one at a time is the common case). The coalition **captures** a committee
 * when it holds more than half of the committee's members (its votes then reach `quorumBps` =
 * 5,001 of the voting stake whatever the others vote); every coalition member votes with it, every
 * other member honestly.
 *
 * Figures, for each f and P:
 * - `committee`: the chance that one given committee is captured. With a pool it is the same as
 *   without (a validator's chance of each seat is c/N either way, independently of the others'),
 *   but for the top-ups, drawn from the pool instead of from everyone;
 * - `poolMajority`: the chance that the coalition holds more than half of a round's pool (it then
 *   captures most of that round's committees, all drawn from the same pool);
 * - `roundShare10`, `roundShare50`: the chance that, in a round with many challenges, at least 10%
 *   (50%) of the round's committees are captured: the pool's composition decides each committee's
 *   capture probability, so the captured committees of a round are correlated. Without a pool the
 *   committees are independent and the share is the per-committee chance (0 or 1 below);
 * - `poolShort`: the chance that the pool holds fewer than `minReveals` members (its committees
 *   cannot decide in this round and are extended into the next, which draws a new pool).
 */
import { writeFileSync } from "node:fs";

const N = 1_000;
const C = 3;
const MIN_REVEALS = 2;
const FRACTIONS = [0.1, 0.2, 0.33];
const POOLS = [10, 30, 100];

/** log of n choose k. */
const logChoose = (() => {
  const lf = [0];
  for (let i = 1; i <= N + 1; i++) lf[i] = lf[i - 1] + Math.log(i);
  return (n: number, k: number) => lf[n] - lf[k] - lf[n - k];
})();

/** Binomial(n, p) probabilities, those below 1e-18 dropped. */
function binomial(n: number, p: number): [number, number][] {
  const out: [number, number][] = [];
  if (p >= 1) return [[n, 1]];
  for (let k = 0; k <= n; k++) {
    const v = Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
    if (v > 1e-18) out.push([k, v]);
  }
  return out;
}

/**
 * The chance that a committee is captured when the validators it is drawn from hold `a` coalition
 * members and `h` honest ones, each drawn into the first band with probability `q`, topped up
 * uniformly from the rest until it holds MIN_REVEALS (or the whole set, if smaller).
 */
function captureGiven(a: number, h: number, q: number): number {
  let p = 0;
  for (const [k, pk] of binomial(a, q)) {
    for (const [j, pj] of binomial(h, q)) {
      p += pk * pj * capturedAfterTopUps(k, j, a - k, h - j);
    }
  }
  return p;
}

/** Captured once topped up: k coalition and j honest members, `ra` and `rh` left to draw from. */
function capturedAfterTopUps(k: number, j: number, ra: number, rh: number): number {
  if (k + j >= MIN_REVEALS || ra + rh === 0) return k + j > 0 && k > j ? 1 : 0;
  const pa = ra / (ra + rh);
  return (
    pa * capturedAfterTopUps(k + 1, j, ra - 1, rh) + (1 - pa) * capturedAfterTopUps(k, j + 1, ra, rh - 1)
  );
}

interface Row {
  f: number;
  pool: number;
  committeeWithoutPool: number;
  committee: number;
  poolMajority: number;
  roundShare10: number;
  roundShare50: number;
  roundShare10WithoutPool: number;
  poolShort: number;
}

const rows: Row[] = [];
for (const f of FRACTIONS) {
  const coalition = Math.round(f * N);
  const honest = N - coalition;
  const without = captureGiven(coalition, honest, C / N);
  for (const P of POOLS) {
    const pa = binomial(coalition, P / N);
    const ph = binomial(honest, P / N);
    let committee = 0;
    let majority = 0;
    let share10 = 0;
    let share50 = 0;
    let short = 0;
    for (const [a, wa] of pa) {
      for (const [h, wh] of ph) {
        const w = wa * wh;
        if (w < 1e-15) continue;
        const q = a + h === 0 ? 0 : captureGiven(a, h, C / P);
        committee += w * q;
        if (a > h) majority += w;
        if (q >= 0.1) share10 += w;
        if (q >= 0.5) share50 += w;
        if (a + h < MIN_REVEALS) short += w;
      }
    }
    rows.push({
      f,
      pool: P,
      committeeWithoutPool: without,
      committee,
      poolMajority: majority,
      roundShare10: share10,
      roundShare50: share50,
      roundShare10WithoutPool: without >= 0.1 ? 1 : 0,
      poolShort: short,
    });
  }
}

const fmt = (x: number) => (x === 0 ? "0" : x >= 1e-3 ? x.toFixed(4) : x.toExponential(2));
console.table(
  rows.map((r) => ({
    f: r.f,
    pool: r.pool,
    "committee, no pool": fmt(r.committeeWithoutPool),
    "committee, pool": fmt(r.committee),
    "pool majority": fmt(r.poolMajority),
    "≥10% of a round": fmt(r.roundShare10),
    "≥50% of a round": fmt(r.roundShare50),
    "pool < minReveals": fmt(r.poolShort),
  })),
);
writeFileSync(
  new URL("./results/pool-capture.json", import.meta.url),
  `${JSON.stringify(
    {
      setup: {
        validators: N,
        equalStakes: true,
        committeeSize: C,
        minReveals: MIN_REVEALS,
        quorumBps: 5001,
        note: "exact: binomial pool draw, binomial committee draw inside the pool, top-ups one pool member at a time to minReveals; captured = the coalition holds a strict majority of the committee",
      },
      rows,
    },
    null,
    2,
  )}\n`,
);
