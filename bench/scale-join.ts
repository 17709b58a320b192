/**
 * `npx tsx bench/scale-join.ts OUT IN...`: joins `BENCH=scale` result files of different sizes
 * (e.g. N = 10 and 100 in one run, N = 1,000 in a second process of the same code) into `OUT`:
 * the sizes sorted by N (a later file's size replaces an earlier one's), the exponents refitted
 * over all of them, the first file's setup, and each input's own setup under `joined`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { COMMITTEE_SIZE, scaleExponents, verdictFit, type FittedSize } from "./scale-fit.js";

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length === 0) throw new Error("usage: tsx bench/scale-join.ts OUT IN...");
const files = inputs.map((f) => ({ file: f, data: JSON.parse(readFileSync(f, "utf8")) }));
const sizes = new Map<number, FittedSize & { verdictFit: ReturnType<typeof verdictFit> }>();
// the fit is recomputed from each size's rounds (a file written before a field of it was recorded gets it)
for (const { data } of files)
  for (const s of data.sizes as FittedSize[])
    sizes.set(s.n, { ...s, verdictFit: verdictFit(s, COMMITTEE_SIZE) });
const joined = [...sizes.values()].sort((a, b) => a.n - b.n);
writeFileSync(
  out,
  `${JSON.stringify(
    {
      setup: files[0].data.setup,
      joined: files.map(({ data }) => ({
        sizes: (data.sizes as FittedSize[]).map((s) => s.n),
        setup: data.setup,
      })),
      sizes: joined,
      exponents: scaleExponents(joined),
    },
    null,
    2,
  )}\n`,
);
console.log(`${out}: N = ${joined.map((s) => s.n).join(", ")}`, scaleExponents(joined).gasPerTrainer);
