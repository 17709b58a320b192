/**
 * fast-check arbitraries shared by the cross-backend tests: small random runs of engine version 2
 * (a spec over a random committed dataset), odd widths and batch sizes, every lrShift regime,
 * datasets smaller and larger than a batch (epochs wrap inside a step).
 */
import fc from "fast-check";
import type { DatasetData, TrainingSpec } from "../../sdk/src/compute/index.js";
import { syntheticDataset, v2Spec } from "./datasets.js";

export interface V2Run {
  readonly spec: TrainingSpec;
  readonly data: DatasetData;
}

/** A version 2 spec and its dataset; `maxWidth` bounds the widths. */
export function v2RunArb(maxWidth: number): fc.Arbitrary<V2Run> {
  return fc
    .record({
      hidden: fc.array(fc.integer({ min: 1, max: maxWidth }), { minLength: 0, maxLength: 2 }),
      inputs: fc.integer({ min: 1, max: maxWidth }),
      classes: fc.integer({ min: 2, max: 12 }),
      trainCount: fc.integer({ min: 1, max: 70 }),
      evalCount: fc.integer({ min: 1, max: 50 }),
      evalFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      chunkLog: fc.integer({ min: 0, max: 5 }),
      batchSize: fc.integer({ min: 1, max: 20 }),
      checkpointInterval: fc.integer({ min: 1, max: 4 }),
      segments: fc.integer({ min: 1, max: 3 }),
      lrShift: fc.integer({ min: 0, max: 10 }),
      salt: fc.nat({ max: 1_000_000 }),
    })
    .map((r) => {
      const data = syntheticDataset(r.trainCount, r.evalCount, r.inputs, r.classes, r.salt, 2 ** r.chunkLog);
      const spec = v2Spec(data, {
        hidden: r.hidden,
        batchSize: r.batchSize,
        steps: r.checkpointInterval * r.segments,
        checkpointInterval: r.checkpointInterval,
        lrShift: r.lrShift,
        evalSize: Math.max(1, Math.ceil(r.evalFraction * r.evalCount)),
      });
      return { spec, data };
    });
}
