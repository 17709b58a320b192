/**
 * The arithmetic of `BENCH=scale` (bench/scale-fit.ts): the growth exponents and the fit of gas per
 * trainer on verdicts per challenge, on figures whose answers are known.
 */
import { expect } from "chai";
import { growthExponent, verdictFit } from "../../bench/scale-fit.js";

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
      perVerdict: 80_000,
      base: 160_000,
      atCommittee: 400_000,
    });
    // rounds with the same verdicts: their mean, no fit; no audited round: nothing
    const flat = verdictFit({ n: 10, rounds: [round(30), round(30)] }, 3);
    expect(flat).to.deep.equal({
      rounds: 2,
      meanVerdicts: 3,
      perVerdict: null,
      base: null,
      atCommittee: null,
    });
    expect(verdictFit({ n: 10, rounds: [{ steady: true, gasPerTrainer: 1 }] }, 3)).to.equal(null);
  });
});
