/**
 * The arithmetic of `BENCH=scale` (bench/scale-fit.ts): the growth exponents and the fit of gas per
 * trainer on verdicts per challenge, on figures whose answers are known.
 */
import { expect } from "chai";
import { binomial, expectedVerdicts, growthExponent, lineStdErr, verdictFit } from "../../bench/scale-fit.js";

describe("BENCH=scale arithmetic", () => {
  it("fits the growth exponent of a power law, and is null for fewer than two sizes", () => {
    const law = (a: number, b: number) => [10, 100, 1000].map((n) => ({ n, value: a * n ** b }));
    expect(growthExponent(law(5, 0))).to.equal(0);
    expect(growthExponent(law(3, 1))).to.equal(1);
    expect(growthExponent(law(7, 0.5))).to.equal(0.5);
    expect(growthExponent([{ n: 10, value: 4 }])).to.equal(null);
    // a size without the figure (0) is left out, not fitted as a fall
    expect(growthExponent([...law(2, 1), { n: 10_000, value: 0 }])).to.equal(1);
  });

  it("fits gas per trainer on the steady rounds' verdicts per challenge, and its value at the committee's size", () => {
    // gas = 160,000 + 80,000 per verdict a challenge, N = 100: 250, 300 and 350 verdicts
    const round = (verdicts: number, steady = true) => ({
      steady,
      gasPerTrainer: 160_000 + (80_000 * verdicts) / 100,
      pool: { verdicts },
    });
    const fit = verdictFit({ n: 100, rounds: [round(250), round(300), round(350), round(900, false)] }, 3);
    expect(fit).to.deep.equal({
      rounds: 3,
      meanVerdicts: 3,
      expectedVerdicts: null,
      perVerdict: 80_000,
      base: 160_000,
      atCommittee: 400_000,
      atExpected: null,
      atExpectedStdErr: null,
    });
    // with the validators and the pool's size known, the fit's value at the draw's average too
    const pooled = (verdicts: number) => ({ ...round(verdicts), pool: { verdicts, size: 10 } });
    const withPool = verdictFit({ n: 100, validators: 100, rounds: [pooled(250), pooled(350)] }, 3);
    const e = expectedVerdicts(100, 10);
    expect(withPool?.expectedVerdicts).to.equal(Math.round(e * 1000) / 1000);
    expect(withPool?.atExpected).to.equal(Math.round(160_000 + 80_000 * (Math.round(e * 1000) / 1000)));
    expect(withPool?.atExpectedStdErr).to.equal(null); // two rounds: no scatter to measure
    // rounds off the line: y = 100 + 10x ± 3 at x = 0, 1, 2, 3 (residuals +3, −3, −3, +3); fitted
    // again by hand: slope 10, intercept 100, s² = 36 / 2 = 18, Sxx = 5, at x = 4:
    // sqrt(18 · (1/4 + 2.5² / 5)) = sqrt(27)
    const scatter = [103, 107, 117, 133].map((y, x) => ({ x, y }));
    expect(lineStdErr(scatter, 4)).to.be.closeTo(Math.sqrt(27), 1e-9);
    expect(lineStdErr(scatter.slice(0, 2), 4)).to.equal(null);
    const offLine = verdictFit(
      {
        n: 100,
        validators: 100,
        rounds: [250, 300, 350, 320].map((v, i) => ({
          steady: true,
          gasPerTrainer: 160_000 + (80_000 * v) / 100 + (i % 2 === 0 ? 1000 : -1000),
          pool: { verdicts: v, size: 10 },
        })),
      },
      3,
    );
    const xs = [2.5, 3, 3.5, 3.2].map((x, i) => ({
      x,
      y: 160_000 + 80_000 * x + (i % 2 === 0 ? 1000 : -1000),
    }));
    expect(offLine?.atExpectedStdErr).to.equal(Math.round(lineStdErr(xs, Math.round(e * 1000) / 1000)!));
    expect(offLine?.atExpectedStdErr).to.be.greaterThan(0);
    // rounds with the same verdicts: their mean, no fit; no audited round: nothing
    const flat = verdictFit({ n: 10, rounds: [round(30), round(30)] }, 3);
    expect(flat).to.deep.equal({
      rounds: 2,
      meanVerdicts: 3,
      expectedVerdicts: null,
      perVerdict: null,
      base: null,
      atCommittee: null,
      atExpected: null,
      atExpectedStdErr: null,
    });
    expect(verdictFit({ n: 10, rounds: [{ steady: true, gasPerTrainer: 1 }] }, 3)).to.equal(null);
  });

  it("computes the verdicts a challenge the committee draw gives on average: by hand on small cases, and as a simulation of the draw on large ones", () => {
    // 2 validators, no pool: both are always in the first band (3 expected of 2)
    expect(expectedVerdicts(2, 0)).to.equal(2);
    // 4 validators, no pool, one top-up band: the first band holds each with 3/4, the top-up band
    // the rest, joining only when the first band holds fewer than 2:
    // 3 + 4·P(X0 = 0) + 3·P(X0 = 1), X0 ~ Bin(4, 3/4)
    expect(expectedVerdicts(4, 0, 3, 2, 1)).to.be.closeTo(3 + 4 / 256 + (3 * 12) / 256, 1e-12);
    // no top-up band: exactly the first band's expectation, whatever the pool
    expect(expectedVerdicts(100, 10, 3, 2, 0)).to.be.closeTo(3, 1e-9);
    for (const [k, p] of binomial(3, 0.5).entries()) expect(p).to.be.closeTo([1, 3, 3, 1][k] / 8, 1e-12);
    // a seeded simulation of the rule (pool lot, then each member's band) agrees
    let seed = 0x2545f491;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const [validators, size] of [
      [10, 6],
      [100, 10],
    ]) {
      const trials = 20_000;
      let total = 0;
      for (let t = 0; t < trials; t++) {
        let members = 0;
        for (let i = 0; i < validators; i++) if (random() < size / validators) members++;
        const bands = new Array(7).fill(0);
        for (let i = 0; i < members; i++) {
          const d = random();
          const b = d < 3 / size ? 0 : Math.floor((d - 3 / size) * size) + 1;
          if (b <= 6) bands[b]++;
        }
        let below = bands[0];
        total += bands[0];
        for (let m = 1; m <= 6; m++) {
          if (below < 2) total += bands[m];
          below += bands[m];
        }
      }
      expect(expectedVerdicts(validators, size)).to.be.closeTo(total / trials, 0.03);
    }
  });
});
