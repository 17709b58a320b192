/**
 * Audits against model size, in both audit modes, as the daemons run them (`BENCH=sampling-audit`,
 * also run by `BENCH=sampling` and `BENCH=verification`): for each spec of the reference family (batch
 * 32, two segments of two steps), a trainer trains the run (wasm), computes its step-state roots
 * (the operation-sampling commitment, JS state traces) and serves it over HTTP with the trainer
 * daemon's routes (`checkpointRoutes`, `sampleRoutes`, answers from the segment's traced states).
 * One validator then audits segment 1 both ways, over HTTP:
 * - segment replay (`auditChallenge`): checkpoint 0, the segment's start checkpoint and the final
 *   checkpoint fetched whole, the segment re-executed, the final checkpoint evaluated;
 * - operation sampling (`auditBySampling`): the leaves of checkpoints 0, 1 and 2 (HEAD), 32
 *   operation samples drawn from the audit seed, answered and checked, the final checkpoint
 *   fetched and evaluated.
 * Bytes are the bodies received (checkpoints, the answers' JSON); `segmentCheckBytes` leaves the
 * final checkpoint out (what the segment check itself costs, the part that grows differently).
 * The 1B-parameter row is computed: the measured per-sample bytes follow the formula of
 * `forwardAnswerBytes` (bench/verification.ts), and an operation sample's answer is at most the
 * widest forward element's.
 * Writes `samplingAudits` into bench/results/verification.json.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { bytesToHex, keccak256, type Hex } from "viem";
import {
  RunStates,
  commitCheckpoints,
  deriveKey,
  encodeCheckpoint,
  modelLayout,
  train,
  type Checkpoint,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { checkpointRoutes, sampleRoutes, serve } from "../node/src/daemon/index.js";
import { elementAt, trainingSlots } from "../sdk/src/compute/state/layout.js";
import {
  answerBytes,
  drawOperationSamples,
  ruleRanges,
  segmentStepRoot as referenceStepRoot,
  type Sample,
} from "../sdk/src/compute/state/sampling.js";
import { LEAF_BYTES, depthOf, leafCountOf } from "../sdk/src/compute/state/tree.js";
import { answerSamples, segmentStepRoot } from "../node/src/node/trainer-samples.js";
import { auditChallenge } from "../node/src/verifier/audit.js";
import { auditBySampling } from "../node/src/verifier/sampling.js";

const WIDTHS: number[][] = [
  [64, 128, 128, 10],
  [256, 768, 512, 10],
  [1024, 1024, 1024, 10],
];
const OPERATION_SAMPLES = 32;

/**
 * The bytes of the answer to `sample` (what `answerBytes` counts), from the spec's layout alone: the
 * state openings, the element's leaf and every operand leaf of its rule, each with its siblings. No
 * states are needed, so it prices a 1B-parameter spec's samples; the bench checks it against the
 * answers measured on the trained specs.
 */
export function structuralAnswerBytes(
  spec: TrainingSpec,
  sample: Sample,
  steps: number,
  /** Slot lengths to price the proofs' depths with (another spec's of the same depth L); default the spec's. */
  lengths?: readonly number[],
): number {
  const slots = trainingSlots(spec);
  const leaf = (slot: number) =>
    LEAF_BYTES + 32 * depthOf(leafCountOf(lengths ? lengths[slot] : slots[slot].length));
  const stateDepth = Math.ceil(Math.log2(Math.max(1, steps)));
  const opening = 32 * (slots.length + stateDepth);
  let bytes = opening * (sample.step + 1 < steps ? 2 : 1) + leaf(sample.slot);
  const ref = elementAt(spec, slots, sample.slot, sample.byte);
  for (const r of ruleRanges(spec, ref).flat())
    bytes +=
      (Math.floor((r.offset + r.length - 1) / LEAF_BYTES) - Math.floor(r.offset / LEAF_BYTES) + 1) *
      leaf(r.slot);
  return bytes;
}

export async function runSamplingAuditBench(): Promise<void> {
  const only = process.env.SAMPLING_WIDTHS ? JSON.parse(process.env.SAMPLING_WIDTHS) : WIDTHS;
  const rows: Record<string, unknown>[] = [];
  for (const widths of only as number[][]) {
    const spec: TrainingSpec = {
      version: 1,
      widths,
      batchSize: 32,
      steps: 4,
      checkpointInterval: 2,
      lrShift: 4,
      evalSize: 256,
    };
    const seed = bytesToHex(randomBytes(32));
    const auditSeed = bytesToHex(randomBytes(32));
    const key = deriveKey(spec, seed);
    const layout = modelLayout(spec);
    let t = performance.now();
    const checkpoints: Checkpoint[] = [];
    await train(spec, seed, { backend: "wasm", onCheckpoint: (r) => void checkpoints.push(r.checkpoint) });
    const trainMs = performance.now() - t;
    t = performance.now();
    const sources = checkpoints.slice(0, -1).map((c) => new RunStates(spec, key, c.weights, c.step));
    const stepRoots = sources.map((s, i) => segmentStepRoot(s, spec, i));
    const stepRootMs = performance.now() - t;
    // the same roots by the TypeScript reference (traceStep and TypeScript byte trees), as every
    // trainer computed them before the wasm tracer
    t = performance.now();
    const referenceRoots = checkpoints
      .slice(0, -1)
      .map((c, i) => referenceStepRoot(spec, key, c.weights, i, undefined, true));
    const stepRootReferenceMs = performance.now() - t;
    if (referenceRoots.join() !== stepRoots.join())
      throw new Error(`the wasm tracer's step roots ${stepRoots} are not the reference's ${referenceRoots}`);
    const bytes = checkpoints.map((c) => encodeCheckpoint(spec, c));
    const commitment = commitCheckpoints(bytes, [...stepRoots, `0x${"00".repeat(32)}`]);
    const id = keccak256(bytes[0]);
    let answerMs = 0;
    let answeredBytes = 0;
    const run = { id, round: "1", specId: id, root: commitment.root, checkpoints: bytes.length };
    const lookup = (wanted: Hex) => (wanted === id ? run : undefined);
    const server = await serve([
      ...checkpointRoutes({
        run: lookup,
        checkpoint: (_id, index) => ({
          bytes: bytes[index],
          hash: keccak256(bytes[index]),
          parameterRoot: commitment.parameterRoots[index],
          stepRoot: commitment.stepRoots[index],
          proof: commitment.proof(index),
        }),
      }),
      ...sampleRoutes({
        run: lookup,
        spec: () => spec,
        answer: async (_id, segment, samples) => {
          const at = performance.now();
          // a fresh trace, as the trainer daemon recomputes the segment's states for each request
          const fresh = new RunStates(spec, key, checkpoints[segment].weights, checkpoints[segment].step);
          const answers = answerSamples(fresh, spec, segment, samples);
          answerMs += performance.now() - at;
          for (const a of answers) answeredBytes += answerBytes(a);
          return answers;
        },
      }),
    ]);
    try {
      const drawn = drawOperationSamples(spec, auditSeed, 1, OPERATION_SAMPLES);
      const predicted = drawn.reduce(
        (n, x) => n + structuralAnswerBytes(spec, x, spec.checkpointInterval),
        0,
      );
      const common = { spec, seed, id, root: commitment.root, endpoint: server.url, samples: [1] };
      const replay = await auditChallenge({ ...common, backend: "wasm" });
      const sampled = await auditBySampling({
        ...common,
        backend: "wasm",
        auditSeed,
        operationSamples: OPERATION_SAMPLES,
        timeoutMs: 600_000,
      });
      if (answeredBytes !== predicted)
        throw new Error(`structuralAnswerBytes gives ${predicted} bytes, the answers hold ${answeredBytes}`);
      if (replay.verdict !== "Valid" || sampled.verdict !== "Valid")
        throw new Error(`an honest run was judged ${replay.verdict} / ${sampled.verdict}: ${sampled.reason}`);
      const row = {
        widths,
        parameters: layout.parameterCount,
        checkpointBytes: layout.checkpointBytes,
        trainMs: Math.round(trainMs),
        stepRootMs: Math.round(stepRootMs),
        stepRootOverhead: Math.round((stepRootMs / trainMs) * 10) / 10,
        stepRootReferenceMs: Math.round(stepRootReferenceMs),
        stepRootReferenceOverhead: Math.round((stepRootReferenceMs / trainMs) * 10) / 10,
        replayBytes: replay.bytesFetched,
        replaySegmentCheckBytes: replay.bytesFetched - layout.checkpointBytes,
        replayMs: replay.ms,
        replaySegmentMs: replay.timings.replayMs,
        samplingBytes: sampled.bytesFetched + (sampled.answerBytes ?? 0),
        samplingSegmentCheckBytes: sampled.answerBytes ?? 0,
        samplingAnswerBinaryBytes: predicted,
        jsonOverBinary: Math.round(((sampled.answerBytes ?? 0) / predicted) * 100) / 100,
        samplingMs: sampled.ms,
        samplingCheckMs: sampled.timings.replayMs,
        trainerAnswerMs: Math.round(answerMs),
        samples: sampled.samplesChecked,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    } finally {
      await server.close();
    }
  }
  const file = fileURLToPath(new URL("./results/verification.json", import.meta.url));
  const results = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  // the trainer's figures before the wasm tracer, as the last run of this bench measured them
  type Row = {
    widths: number[];
    before?: unknown;
    stepRootMs: number;
    stepRootOverhead: number;
    trainerAnswerMs: number;
    trainMs: number;
  };
  const previous = ((results.samplingAudits as { rows?: Row[] } | undefined)?.rows ?? []).map((r) => [
    JSON.stringify(r.widths),
    r.before ??
      ({
        trainMs: r.trainMs,
        stepRootMs: r.stepRootMs,
        stepRootOverhead: r.stepRootOverhead,
        trainerAnswerMs: r.trainerAnswerMs,
      } as unknown),
  ]) as [string, unknown][];
  const before = new Map(previous);
  // 1B parameters, computed (the engine's specs stop at 2^26 parameters, so no 1B spec can be laid
  // out or traced here). Its slot lengths follow docs/disputes.md's layout; a sample lands in a slot
  // with probability length / total. A Θ_out sample (an update: a fold over the batch, whatever the
  // width) is priced as the same sample of a measured spec of the same depth and batch, with the
  // 1B slots' proof depths; every other sample at the costliest one, the widest forward element
  // (sampling.billion.forwardSampleBytes): an upper bound on the mean.
  const widths = [32_768, 30_000, 512, 10];
  const B = 32;
  const L = widths.length - 1;
  let P = 0;
  for (let l = 0; l < L; l++) P += (widths[l] + 1) * widths[l + 1];
  const C = widths[L];
  const lengths: number[] = [8 + 2 * P, B * widths[0], B * C * 4, B * 4];
  for (let l = 1; l <= L; l++) lengths.push(B * widths[l]);
  lengths.push(B * C);
  for (let l = L - 1; l >= 0; l--)
    lengths.push(
      widths[l + 1] * B,
      widths[l] * B,
      l > 0 ? widths[l] * widths[l + 1] : 0,
      l > 0 ? B * widths[l] : 0,
    );
  lengths.push(8 + 2 * P);
  const sampleable = lengths.slice(4).reduce((a, b) => a + b, 0);
  const pTheta = lengths[lengths.length - 1] / sampleable;
  const proxy: TrainingSpec = {
    version: 1,
    widths: [64, 128, 128, 10],
    batchSize: B,
    steps: 2048,
    checkpointInterval: 1024,
    lrShift: 4,
    evalSize: 32,
  };
  const thetaOut = trainingSlots(proxy).length - 1;
  const updateBytes = structuralAnswerBytes(
    proxy,
    { step: 3, slot: thetaOut, byte: 8 + 2 * 77 },
    1024,
    lengths,
  );
  const forwardMax = (results.sampling as { billion: { forwardSampleBytes: number } }).billion
    .forwardSampleBytes;
  const meanSample = pTheta * updateBytes + (1 - pTheta) * forwardMax;
  const json = Math.max(...rows.map((r) => r.jsonOverBinary as number));
  const billionCheckpoint = 8 + 2 * P;
  results.samplingAudits = {
    measured:
      "one validator auditing segment 1 of a 2-segment run (batch 32, 2 steps a segment) over HTTP on this shared 2-core machine: replay = auditChallenge (wasm), sampling = auditBySampling with 32 operation samples (answers as JSON, hex); bytes are bodies received; trainMs: wasm training (4 steps and the evaluation); stepRootMs: the trainer's step-state roots of both segments as it computes them (the wasm tracer: kernels train each step, pack its slots and hash their byte trees in linear memory), stepRootReferenceMs: the same roots by the TypeScript reference (traceStep, TypeScript byte trees), in the same run, checked equal; trainerAnswerMs: the trainer retracing the segment (wasm tracer) and building the answers' proofs (wasm byte trees); before: the previous run of this bench (TypeScript traces and per-node hash-wasm calls); samplingAnswerBinaryBytes: the same answers priced by structuralAnswerBytes (layout only)",
    operationSamples: OPERATION_SAMPLES,
    rows: rows.map((r) => ({ ...r, before: before.get(JSON.stringify(r.widths)) })),
    billion: {
      computed: true,
      widths,
      parameters: P,
      checkpointInterval: 1024,
      replaySegmentCheckBytes: 2 * billionCheckpoint,
      thetaOutShareOfSamples: Math.round(pTheta * 1e6) / 1e6,
      updateSampleBytes: updateBytes,
      forwardSampleBytes: forwardMax,
      meanSampleBytesAtMost: Math.round(meanSample),
      samplingSegmentCheckBytesAtMost: Math.round(OPERATION_SAMPLES * meanSample * json),
      finalCheckpointBytes: billionCheckpoint,
      how: `slot lengths of the 1B layout; a Θ_out sample (share thetaOutShareOfSamples of the uniform draw) priced by structuralAnswerBytes as the same update of a measured-depth spec with the 1B proofs' depths, every other sample as the widest forward element (upper bound); times ${OPERATION_SAMPLES} samples and the largest measured JSON/binary ratio (${json}). Replay: checkpoint 0 and the segment's start checkpoint whole. Both modes also fetch the final checkpoint (finalCheckpointBytes) to evaluate it: not counted in the segment check`,
    },
  };
  await writeFile(file, JSON.stringify(results, null, 2) + "\n");
  console.table(rows);
}
