/**
 * The growth exponents of `BENCH=scale` (`figure ≈ a·N^b`, least squares on log–log), shared by
 * `bench/scale.ts` and `bench/scale-join.ts` (which joins runs of different sizes into one file).
 */

/** What the exponents are fitted from: one size's steady figures, SQLite sizes and claims. */
export interface FittedSize {
  n: number;
  steady: {
    gasPerTrainer: number;
    actionsPerTrainer: Record<string, number>;
    /** The largest single transaction of each action: no action may grow with N. */
    maxTxGas: Record<string, number>;
    rpcPerTrainerPerRound: number;
    rpcPerValidatorPerRound: number;
    validatorCpuMsPerRound: number;
    trainerCpuMsPerRound: number;
    wallSecondsPerEpoch: number;
  };
  claims: { gasMean: number };
  sqliteBytes: Record<"trainer" | "validator", { mean: number }>;
  /** The validators (equal stakes), for the verdicts a challenge the draw gives on average. */
  validators?: number;
  /** Each round's gas per trainer and committee pool (its expected size, its verdicts), for `verdictFit`. */
  rounds?: readonly {
    steady: boolean;
    gasPerTrainer: number;
    pool?: { verdicts: number; size?: number };
  }[];
}

/**
 * Gas per trainer against verdicts per challenge over a size's steady rounds (least squares):
 * `gasPerTrainer ≈ base + perVerdict · verdicts`. A round's verdicts follow its committee pool's
 * realized size (a stake-weighted draw, `poolSize` expected), so a few rounds' mean is the mean of
 * their draws; `atCommittee` is the fit's value at `committeeSize` verdicts a challenge, the mean
 * of the rounds' verdicts is `meanVerdicts`. The fit's figures are null unless the rounds' verdicts
 * differ; the whole is null without a round with audits. `atExpectedStdErr` is the standard error
 * of the fitted line at the expected verdicts (from the rounds' scatter about the line; null with
 * fewer than 3 rounds): how far another run of as many rounds may put `atExpected`.
 */
export function verdictFit(size: Pick<FittedSize, "n" | "rounds" | "validators">, committeeSize: number) {
  const steady = (size.rounds ?? []).filter((r) => r.steady && r.pool !== undefined);
  const points = steady.map((r) => ({ x: r.pool!.verdicts / size.n, y: r.gasPerTrainer }));
  if (points.length === 0) return null;
  const meanVerdicts = Math.round(mean(points.map((p) => p.x)) * 1000) / 1000;
  const poolSize = steady[0].pool!.size;
  const expected =
    size.validators !== undefined && poolSize !== undefined
      ? Math.round(expectedVerdicts(size.validators, poolSize, committeeSize) * 1000) / 1000
      : null;
  const line = leastSquares(points);
  const at = (verdicts: number) =>
    line === null ? null : Math.round(line.intercept + line.slope * verdicts);
  const stdErr = expected === null ? null : lineStdErr(points, expected);
  return {
    rounds: points.length,
    meanVerdicts,
    expectedVerdicts: expected,
    perVerdict: line === null ? null : Math.round(line.slope),
    base: line === null ? null : Math.round(line.intercept),
    atCommittee: at(committeeSize),
    atExpected: expected === null ? null : at(expected),
    atExpectedStdErr: stdErr === null ? null : Math.round(stdErr),
  };
}

/**
 * The standard error of the least-squares line's value at `x` (`sqrt(s² · (1/n + (x − x̄)² / Sxx))`,
 * `s²` the residuals' variance with n − 2 degrees of freedom); null with fewer than 3 points or
 * equal x's.
 */
export function lineStdErr(points: readonly { x: number; y: number }[], x: number): number | null {
  const line = leastSquares(points);
  if (line === null || points.length < 3) return null;
  const mx = mean(points.map((p) => p.x));
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const s2 =
    points.reduce((a, p) => a + (p.y - line.intercept - line.slope * p.x) ** 2, 0) / (points.length - 2);
  return Math.sqrt(s2 * (1 / points.length + (x - mx) ** 2 / sxx));
}

/** The deployment's default `minReveals`, and the ChallengeManager's `TOP_UP_BANDS`. */
export const MIN_REVEALS = 2;
export const TOP_UP_BANDS = 6;

/**
 * The verdicts a challenge its committee draw gives on average (every drawn member live and
 * committing in its band's part of the window), with `validators` of equal stake and a committee
 * pool of `poolSize` expected members (0: no pool), by the rule of `Sortition.committeeBand` and
 * `ChallengeManager.TOP_UP_BANDS`: a validator is in the pool with probability
 * `min(1, poolSize / validators)`; each pool member is in a challenge's first band with probability
 * `min(1, committeeSize / poolSize)` and in top-up band `m` (1 to `bands`) in the next slice of
 * `1 / poolSize`; a top-up member joins only while the bands below it hold fewer than `minReveals`.
 * A pool of the whole set (`poolSize` 0 or at least `validators`) draws over all validators.
 * Exact: the pool's size is binomial, and the bands are counted with the members of the bands below
 * capped at `minReveals` (beyond it no band joins).
 */
export function expectedVerdicts(
  validators: number,
  poolSize: number,
  committeeSize = COMMITTEE_SIZE,
  minReveals = MIN_REVEALS,
  bands = TOP_UP_BANDS,
): number {
  const whole = poolSize === 0 || poolSize >= validators;
  const slots = whole ? validators : poolSize;
  const q0 = Math.min(1, committeeSize / slots);
  // each band's share of the draw space (the slices beyond it fall outside)
  const shares = [q0];
  for (let m = 1; m <= bands; m++)
    shares.push(Math.max(0, Math.min(1, q0 + m / slots) - Math.min(1, q0 + (m - 1) / slots)));
  /** The expected verdicts of a challenge whose pool holds `members`. */
  const given = (members: number) => {
    // below[u]: probability that the bands so far hold u members (u < minReveals), or more (u = minReveals)
    const first = binomial(members, shares[0]);
    let below = Array.from({ length: minReveals + 1 }, (_, u) => first[u] ?? 0);
    below[minReveals] = 1 - below.slice(0, minReveals).reduce((a, b) => a + b, 0);
    let expected = members * shares[0];
    let used = shares[0];
    for (let m = 1; m <= bands && used < 1; m++) {
      const c = shares[m] / (1 - used); // a member not in the bands so far is in band m
      used += shares[m];
      const next = new Array<number>(minReveals + 1).fill(0);
      next[minReveals] = below[minReveals];
      for (let u = 0; u < minReveals; u++) {
        if (below[u] === 0) continue;
        expected += below[u] * (members - u) * c;
        const joined = binomial(members - u, c);
        for (let k = 0; k < joined.length; k++) next[Math.min(minReveals, u + k)] += below[u] * joined[k];
      }
      below = next;
    }
    return expected;
  };
  if (whole) return given(validators);
  const pool = binomial(validators, poolSize / validators);
  let total = 0;
  for (let members = 0; members <= validators; members++)
    if (pool[members] > 1e-15) total += pool[members] * given(members);
  return total;
}

/** The probabilities of 0 to `n` successes in `n` draws of probability `p`. */
export function binomial(n: number, p: number): number[] {
  if (p <= 0) return [1, ...new Array<number>(n).fill(0)];
  if (p >= 1) return [...new Array<number>(n).fill(0), 1];
  const out = new Array<number>(n + 1);
  let logC = 0; // log of n choose k
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    out[k] = Math.exp(logC + k * Math.log(p) + (n - k) * Math.log(1 - p));
  }
  return out;
}

/** The bench's committee size (the deployment's default). */
export const COMMITTEE_SIZE = 3;

/** The mean of `xs` (0 for none). */
export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The least-squares line `y ≈ intercept + slope·x` through `points`; null when every x is the same. */
export function leastSquares(points: readonly { x: number; y: number }[]) {
  const mx = mean(points.map((p) => p.x));
  const my = mean(points.map((p) => p.y));
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  if (points.length === 0 || den === 0) return null;
  return { slope: num / den, intercept: my - (num / den) * mx };
}

/** Least-squares slope of log(y) on log(x): the exponent b of y ≈ a·x^b. */
export function growthExponent(points: readonly { n: number; value: number }[]): number | null {
  const ps = points.filter((p) => p.value > 0 && p.n > 0);
  if (ps.length < 2) return null;
  const line = leastSquares(ps.map((p) => ({ x: Math.log(p.n), y: Math.log(p.value) })));
  return line === null ? null : Math.round(line.slope * 1000) / 1000;
}

/** Every figure's exponent over `results` (one entry a size). */
export function scaleExponents(results: readonly FittedSize[]) {
  const series = (f: (s: FittedSize) => number) => results.map((s) => ({ n: s.n, value: f(s) }));
  const actions = new Set(results.flatMap((s) => Object.keys(s.steady.actionsPerTrainer)));
  return {
    gasPerTrainer: growthExponent(series((s) => s.steady.gasPerTrainer)),
    gasPerTrainerAtCommittee: growthExponent(series((s) => verdictFit(s, COMMITTEE_SIZE)?.atCommittee ?? 0)),
    gasPerTrainerAtExpected: growthExponent(series((s) => verdictFit(s, COMMITTEE_SIZE)?.atExpected ?? 0)),
    rpcPerTrainerPerRound: growthExponent(series((s) => s.steady.rpcPerTrainerPerRound)),
    rpcPerValidatorPerRound: growthExponent(series((s) => s.steady.rpcPerValidatorPerRound)),
    validatorCpuMsPerRound: growthExponent(series((s) => s.steady.validatorCpuMsPerRound)),
    trainerCpuMsPerRound: growthExponent(series((s) => s.steady.trainerCpuMsPerRound)),
    wallSecondsPerEpoch: growthExponent(series((s) => s.steady.wallSecondsPerEpoch)),
    sqliteBytesPerTrainer: growthExponent(series((s) => s.sqliteBytes.trainer.mean)),
    sqliteBytesPerValidator: growthExponent(series((s) => s.sqliteBytes.validator.mean)),
    claimGasMean: growthExponent(series((s) => s.claims.gasMean)),
    actionGasPerTrainer: Object.fromEntries(
      [...actions].map((a) => [a, growthExponent(series((s) => s.steady.actionsPerTrainer[a] ?? 0))]),
    ),
    maxTxGas: Object.fromEntries(
      [...actions].map((a) => [a, growthExponent(series((s) => s.steady.maxTxGas[a] ?? 0))]),
    ),
  };
}
