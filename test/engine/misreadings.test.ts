import { expect } from "chai";
import { readFileSync } from "node:fs";
import { VECTORS_PATH, type Vector, type VectorFile } from "../../sdk/src/compute/vectors/generate.js";
import { MISREADINGS, differences, runMisread, type Misreading } from "./misreadings.js";

const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;
const byName = new Map(file.vectors.map((v) => [v.name, v]));
const datasetOf = (v: Vector) => (v.dataset ? file.datasets[v.dataset] : undefined);

/**
 * The vector(s) that pin each rule: an implementation with that misreading gets a different spec id,
 * key, first batch, checkpoint hash, root or score on each listed vector (a version 1 vector and a
 * version 2 vector wherever the rule applies to both). docs/engine.md, "Test vectors", has the same
 * table. `npx tsx test/engine/misreadings.ts` lists every vector each misreading fails.
 */
export const PINS: Record<Misreading, readonly string[]> = {
  "spec.no-offset-word": ["tiny", "v2-wrap"],
  "spec.v2-nested": ["v2-wrap"],
  "key.big-endian": ["tiny", "v2-wrap"],
  "key.seed-only": ["tiny", "v2-wrap"],
  "stream.big-endian-bytes": ["tiny", "v2-wrap"],
  "stream.item-in-c2": ["tiny", "v2-wrap"],
  "input.offset-binary": ["tiny"],
  "label.ties-high": ["ties"],
  "eval.v1-from-zero": ["tiny"],
  "init.signed-byte": ["tiny", "v2-wrap"],
  "init.signed-no-offset": ["tiny", "v2-wrap"],
  "init.no-scale": ["tiny", "v2-wrap"],
  "round.half-away": ["ties", "v2-ties"],
  "round.half-even": ["ties", "v2-ties"],
  "round.truncate": ["tiny", "v2-wrap"],
  "round.floor": ["tiny", "v2-wrap"],
  "weight.clamp-128": ["ties", "v2-saturating"],
  "forward.floor-log": ["tiny", "v2-wrap"],
  "forward.shift-of-outputs": ["ties", "v2-output-clamp"],
  "forward.bias-input-128": ["tiny", "v2-output-clamp"],
  "forward.output-clamp-128": ["output-clamp", "v2-output-clamp"],
  "forward.hidden-signed": ["tiny", "v2-wrap"],
  "loss.no-clamp": ["ties", "v2-wrap"],
  "loss.clamp-128": ["ties", "v2-wrap"],
  "loss.target-127": ["tiny", "v2-wrap"],
  "backward.shift-of-inputs": ["odd-shapes", "v2-odd-shapes"],
  "backward.no-relu-mask": ["tiny", "v2-wrap"],
  "backward.updated-weights": ["tiny", "v2-wrap"],
  "backward.bias-grad-unscaled": ["tiny", "v2-wrap"],
  "update.clamp-32768": ["ties", "v2-wrap"],
  "update.bias-no-lr": ["ties", "v2-ties"],
  "eval.ties-high": ["tiny", "v2-output-clamp"],
  "eval.round-bps": ["odd-shapes", "v2-odd-shapes"],
  "checkpoint.step-u32": ["tiny", "v2-wrap"],
  "checkpoint.big-endian": ["tiny", "v2-wrap"],
  "merkle.unsorted-leaves": ["tiny", "v2-wrap"],
  "merkle.single-hash-leaf": ["tiny", "v2-wrap"],
  "perm.identity": ["v2-wrap"],
  "perm.three-rounds": ["v2-wrap"],
  "perm.halves-swapped": ["v2-wrap"],
  "perm.h-full-bits": ["v2-wrap"],
  "perm.mod-not-walk": ["v2-wrap"],
  "perm.same-every-epoch": ["v2-wrap"],
  "perm.round-in-c2": ["v2-wrap"],
  "perm.word-1": ["v2-wrap"],
  "eval.v2-permuted": ["v2-output-clamp"],
  "dataset.packed-leaf": ["v2-wrap"],
  "dataset.features-unpadded": ["v2-wrap"],
  "dataset.duplicate-odd": ["v2-wrap"],
  "dataset.standard-tree": ["v2-wrap"],
};

describe("engine: the vectors pin every rule of docs/engine.md", () => {
  it("names a pinning vector for every misreading, for both versions where the rule applies to both", () => {
    expect(Object.keys(PINS).sort()).to.deep.equal(Object.keys(MISREADINGS).sort());
    for (const names of Object.values(PINS))
      for (const name of names) expect(byName.has(name), name).to.equal(true);
  });

  it("reproduces every vector with an independent implementation written from the document", function () {
    this.timeout(120_000);
    // reference-prefix is the slowest and pins nothing the others do not; `npx tsx test/engine/misreadings.ts` runs it too.
    for (const v of file.vectors.filter((x) => x.name !== "reference-prefix")) {
      expect(differences(v, datasetOf(v), runMisread(v, datasetOf(v))), v.name).to.deep.equal([]);
    }
  });

  for (const [misreading, names] of Object.entries(PINS) as [Misreading, readonly string[]][]) {
    it(`fails ${names.join(" and ")} when ${MISREADINGS[misreading]}`, () => {
      for (const name of names) {
        const v = byName.get(name)!;
        expect(
          differences(v, datasetOf(v), runMisread(v, datasetOf(v), [misreading])),
          name,
        ).to.not.deep.equal([]);
      }
    });
  }
});
