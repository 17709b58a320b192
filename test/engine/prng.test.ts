import { expect } from "chai";
import fc from "fast-check";
import { deriveKey, philox4x32, SeedError, validateSeed } from "../../sdk/src/compute/index.js";
import { DOMAIN_INPUT, philoxBytes } from "../../sdk/src/compute/prng.js";
import { REFERENCE_SEED, REFERENCE_SPEC } from "../../sdk/src/compute/reference-spec.js";
import { example, teacherWeights } from "../../sdk/src/compute/reference.js";
import { modelLayout } from "../../sdk/src/compute/spec.js";

describe("engine: counter-based PRNG and data", () => {
  it("matches the Random123 known-answer vectors of Philox4x32-10", () => {
    // From Random123's kat_vectors: counter[4] key[2] -> output[4].
    const kat: [number[], number[], number[]][] = [
      [
        [0, 0, 0, 0],
        [0, 0],
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
      ],
      [
        [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        [0xffffffff, 0xffffffff],
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
      ],
      [
        [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        [0xa4093822, 0x299f31d0],
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
      ],
    ];
    const out = new Uint32Array(4);
    for (const [c, k, want] of kat) {
      philox4x32(c[0], c[1], c[2], c[3], k[0], k[1], out);
      expect([...out]).to.deep.equal(want);
    }
  });

  it("generates any example alone, identical to generating a prefix of its byte stream", () => {
    const key = deriveKey(REFERENCE_SPEC, REFERENCE_SEED);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 100 }), (item, n) => {
        const long = new Uint8Array(n + 37);
        const short = new Uint8Array(n);
        philoxBytes(key, DOMAIN_INPUT, item, long);
        philoxBytes(key, DOMAIN_INPUT, item, short);
        expect([...short]).to.deep.equal([...long.subarray(0, n)]);
      }),
      { numRuns: 50 },
    );
  });

  it("derives the key from both the spec and the seed", () => {
    const other = `0x${"00".repeat(31)}02` as const;
    const k = deriveKey(REFERENCE_SPEC, REFERENCE_SEED);
    expect(deriveKey(REFERENCE_SPEC, other)).to.not.deep.equal(k);
    expect(deriveKey({ ...REFERENCE_SPEC, steps: 1000 }, REFERENCE_SEED)).to.not.deep.equal(k);
    expect(deriveKey(REFERENCE_SPEC, REFERENCE_SEED)).to.deep.equal(k);
  });

  it("rejects seeds that are not 32-byte hex strings", () => {
    for (const bad of ["0x1234", "1234", `0x${"zz".repeat(32)}`, `0x${"00".repeat(33)}`, 7]) {
      expect(() => validateSeed(bad)).to.throw(SeedError, String(bad));
    }
  });

  it("draws labels from the teacher over all classes, roughly balanced", () => {
    const layout = modelLayout(REFERENCE_SPEC);
    const key = deriveKey(REFERENCE_SPEC, REFERENCE_SEED);
    const teacher = teacherWeights(layout, key);
    const counts = new Array<number>(layout.classes).fill(0);
    const n = 2000;
    for (let i = 0; i < n; i++) counts[example(layout, key, teacher, i).label]++;
    // Chance is n / classes = 200 per class; a degenerate teacher would put most in a few classes.
    for (const c of counts) expect(c).to.be.within(60, 500);
  });
});
