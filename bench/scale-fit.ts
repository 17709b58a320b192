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
  /** Each round's gas per trainer and committee pool (its verdicts), for `verdictFit`. */
  rounds?: readonly {
    steady: boolean;
    gasPerTrainer: number;
    pool?: { verdicts: number };
  }[];
}

/**
 * Gas per trainer against verdicts per challenge over a size's steady rounds (least squares):
 * `gasPerTrainer ≈ base + perVerdict · verdicts`. A round's verdicts follow its committee pool's
 * realized size (a stake-weighted draw, `poolSize` expected), so a few rounds' mean is the mean of
 * their draws; `atCommittee` is the fit's value at `committeeSize` verdicts a challenge, the mean
 * of the rounds' verdicts is `meanVerdicts`. The fit's figures are null unless the rounds' verdicts
 * differ; the whole is null without a round with audits.
 */
export function verdictFit(size: Pick<FittedSize, "n" | "rounds">, committeeSize: number) {
  const points = (size.rounds ?? [])
    .filter((r) => r.steady && r.pool !== undefined)
    .map((r) => ({ x: r.pool!.verdicts / size.n, y: r.gasPerTrainer }));
  if (points.length === 0) return null;
  const meanVerdicts = Math.round(mean(points.map((p) => p.x)) * 1000) / 1000;
  const line = leastSquares(points);
  if (line === null)
    return { rounds: points.length, meanVerdicts, perVerdict: null, base: null, atCommittee: null };
  const { slope: perVerdict, intercept: base } = line;
  return {
    rounds: points.length,
    meanVerdicts,
    perVerdict: Math.round(perVerdict),
    base: Math.round(base),
    atCommittee: Math.round(base + perVerdict * committeeSize),
  };
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
