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
 *   operation samples drawn from the audit seed, answered and checked, and the score checked from
 *   the evaluation samples (the predictions and `DEFAULT_EVAL_EXAMPLES` examples, each with its
 *   outputs and `DEFAULT_EVAL_HIDDEN_OPS` hidden elements): no checkpoint fetched whole.
 * Bytes are the bodies received (checkpoints, the answers' JSON); `segmentCheckBytes` leaves the
 * score's part out (replay: the final checkpoint; sampling: the evaluation answers).
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
import { checkpointRoutes, evalSampleRoutes, sampleRoutes, serve } from "../node/src/daemon/index.js";
import {
  EvalTrace,
  answerEvalSamples,
  drawEvalSamples,
  evalAnswerBytes,
  type EvalSample,
} from "../sdk/src/compute/state/evaluation.js";
import { DEFAULT_EVAL_EXAMPLES, DEFAULT_EVAL_HIDDEN_OPS } from "../node/src/verifier/eval-sampling.js";
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
 * The binary bytes of the answers to evaluation samples `samples` of a model of `widths` with
 * `evalSize` examples (what `evalAnswerBytes` counts), from the layout alone: the predictions
 * (4 bytes an example) and the examples root; per example its slot roots and path, every output
 * element's leaf with its bias, weight-row and input leaves (X is not sent: the validator has it),
 * and the same for each sampled hidden element. Needs no spec, so it prices a 1B-parameter model;
 * the bench checks it against the answers measured on the trained specs.
 */
export function structuralEvalBytes(
  widths: readonly number[],
  evalSize: number,
  samples: readonly EvalSample[],
): number {
  const L = widths.length - 1;
  const offsets: number[] = [];
  let P = 0;
  for (let l = 0; l < L; l++) {
    offsets.push(P);
    P += (widths[l] + 1) * widths[l + 1];
  }
  const thetaLeaf = LEAF_BYTES + 32 * depthOf(leafCountOf(8 + 2 * P));
  const actLeaf = (l: number) => LEAF_BYTES + 32 * depthOf(leafCountOf(widths[l]));
  /** Distinct leaves covering the byte ranges [offset, offset + length) of `ranges`. */
  const leaves = (...ranges: [number, number][]) => {
    const set = new Set<number>();
    for (const [offset, length] of ranges)
      for (let j = Math.floor(offset / LEAF_BYTES); j <= Math.floor((offset + length - 1) / LEAF_BYTES); j++)
        set.add(j);
    return set.size;
  };
  /** A_l[o]: its leaf, the bias, and the weight row and inputs, each leaf once (inputs of layer 0: X, not sent). */
  const element = (l: number, o: number) => {
    const j = l - 1;
    const n = widths[j];
    const theta = leaves(
      [8 + 2 * (offsets[j] + n * widths[l] + o), 2],
      [8 + 2 * (offsets[j] + o * n), 2 * n],
    );
    return actLeaf(l) + theta * thetaLeaf + (j > 0 ? leaves([0, n]) * actLeaf(j) : 0);
  };
  const opening = 32 * (L + 2 + Math.ceil(Math.log2(Math.max(1, evalSize))));
  let outputs = 0;
  for (let c = 0; c < widths[L]; c++) outputs += element(L, c);
  return (
    4 * evalSize +
    32 +
    samples.reduce(
      (n, s) => n + opening + outputs + s.ops.reduce((m, op) => m + element(op.slot - 1, op.byte), 0),
      0,
    )
  );
}

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
    t = performance.now();
    const evaluation = new EvalTrace(spec, key, checkpoints[checkpoints.length - 1].weights);
    const evalTraceMs = performance.now() - t;
    const commitment = commitCheckpoints(bytes, [...stepRoots, evaluation.root]);
    let evalJsonBytes = 0;
    let evalBinaryBytes = 0;
    let evalAnswerMs = 0;
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
      ...evalSampleRoutes({
        run: lookup,
        spec: () => spec,
        answer: async (_id, samples) => {
          const at = performance.now();
          const answers = answerEvalSamples(evaluation, samples);
          evalAnswerMs += performance.now() - at;
          evalBinaryBytes += evalAnswerBytes(answers);
          evalJsonBytes += JSON.stringify(answers, (_k, v: unknown) =>
            typeof v === "bigint" ? v.toString() : v,
          ).length;
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
      const evalDrawn = drawEvalSamples(spec, auditSeed, DEFAULT_EVAL_EXAMPLES, DEFAULT_EVAL_HIDDEN_OPS);
      const evalPredicted = structuralEvalBytes(widths, spec.evalSize, evalDrawn);
      if (evalBinaryBytes !== evalPredicted)
        throw new Error(
          `structuralEvalBytes gives ${evalPredicted} bytes, the answers hold ${evalBinaryBytes}`,
        );
      if (replay.verdict !== "Valid" || sampled.verdict !== "Valid")
        throw new Error(`an honest run was judged ${replay.verdict} / ${sampled.verdict}: ${sampled.reason}`);
      if (sampled.measuredScoreBps !== replay.measuredScoreBps || sampled.bytesFetched !== 0)
        throw new Error(
          `sampling measured ${sampled.measuredScoreBps} bps with ${sampled.bytesFetched} checkpoint bytes, replay ${replay.measuredScoreBps} bps`,
        );
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
        samplingSegmentCheckBytes: (sampled.answerBytes ?? 0) - evalJsonBytes,
        samplingAnswerBinaryBytes: predicted,
        jsonOverBinary: Math.round((((sampled.answerBytes ?? 0) - evalJsonBytes) / predicted) * 100) / 100,
        samplingEvalBytes: evalJsonBytes,
        samplingEvalBinaryBytes: evalBinaryBytes,
        samplingCheckpointBytes: sampled.bytesFetched,
        samplingMs: sampled.ms,
        samplingCheckMs: sampled.timings.replayMs,
        samplingEvalCheckMs: sampled.timings.evaluateMs,
        trainerAnswerMs: Math.round(answerMs),
        trainerEvalTraceMs: Math.round(evalTraceMs),
        trainerEvalAnswerMs: Math.round(evalAnswerMs),
        samples: sampled.samplesChecked,
        measuredScoreBps: sampled.measuredScoreBps,
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
  // The score's part at 1B: the evaluation answers priced by structuralEvalBytes (checked above
  // against every measured row), for an evaluation set of BILLION_EVAL_SIZE examples; a hidden
  // element is drawn uniformly over the hidden activations, so its bytes are the width-weighted mean
  // over the hidden layers (element 1 of each, as the measured check prices any element).
  const BILLION_EVAL_SIZE = 10_000;
  const base = structuralEvalBytes(widths, BILLION_EVAL_SIZE, []);
  const perExample = structuralEvalBytes(widths, BILLION_EVAL_SIZE, [{ example: 0, ops: [] }]) - base;
  const hiddenWidth = widths.slice(1, L).reduce((a, b) => a + b, 0);
  let perHidden = 0;
  for (let l = 1; l < L; l++)
    perHidden +=
      (widths[l] / hiddenWidth) *
      (structuralEvalBytes(widths, BILLION_EVAL_SIZE, [{ example: 0, ops: [{ slot: l + 1, byte: 1 }] }]) -
        base -
        perExample);
  const evalBinary = base + DEFAULT_EVAL_EXAMPLES * (perExample + DEFAULT_EVAL_HIDDEN_OPS * perHidden);
  const evalJson = Math.max(
    ...rows.map((r) => (r.samplingEvalBytes as number) / (r.samplingEvalBinaryBytes as number)),
  );
  const segmentCheck = Math.round(OPERATION_SAMPLES * meanSample * json);
  const scoreCheck = Math.round(evalBinary * evalJson);
  results.samplingAudits = {
    measured:
      "one validator auditing segment 1 of a 2-segment run (batch 32, 2 steps a segment, 256 evaluation examples) over HTTP on this shared 2-core machine: replay = auditChallenge (wasm, the final checkpoint fetched and evaluated), sampling = auditBySampling with 32 operation samples and the score from the evaluation samples (answers as JSON, hex; no checkpoint fetched whole); bytes are bodies received; trainMs: wasm training (4 steps and the evaluation); stepRootMs: the trainer's step-state roots of both segments as it computes them (the wasm tracer: kernels train each step, pack its slots and hash their byte trees in linear memory), stepRootReferenceMs: the same roots by the TypeScript reference (traceStep, TypeScript byte trees), in the same run, checked equal; trainerEvalTraceMs: its evaluation trace of the final parameters; trainerAnswerMs: the trainer retracing the segment (wasm tracer) and building the answers' proofs (wasm byte trees); trainerEvalAnswerMs: the trainer answering the evaluation samples; before: the previous run of this bench with TypeScript traces and per-node hash-wasm calls (where recorded); samplingAnswerBinaryBytes, samplingEvalBinaryBytes: the same answers priced by structuralAnswerBytes and structuralEvalBytes (layout only, equal to the answers' binary bytes)",
    operationSamples: OPERATION_SAMPLES,
    evalExamples: DEFAULT_EVAL_EXAMPLES,
    evalHiddenOps: DEFAULT_EVAL_HIDDEN_OPS,
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
      samplingSegmentCheckBytesAtMost: segmentCheck,
      evalSize: BILLION_EVAL_SIZE,
      evalExampleBytes: Math.round(perExample),
      evalHiddenOpBytes: Math.round(perHidden),
      samplingEvalBinaryBytes: Math.round(evalBinary),
      samplingEvalBytes: scoreCheck,
      samplingAuditBytesAtMost: segmentCheck + scoreCheck,
      underTenMB: segmentCheck + scoreCheck < 10 * 2 ** 20,
      finalCheckpointBytes: billionCheckpoint,
      replayAuditBytes: 3 * billionCheckpoint,
      how: `slot lengths of the 1B layout; a Θ_out sample (share thetaOutShareOfSamples of the uniform draw) priced by structuralAnswerBytes as the same update of a measured-depth spec with the 1B proofs' depths, every other sample as the widest forward element (upper bound); times ${OPERATION_SAMPLES} samples and the largest measured JSON/binary ratio (${json}). The score: structuralEvalBytes of ${DEFAULT_EVAL_EXAMPLES} examples (each: every output element, ${DEFAULT_EVAL_HIDDEN_OPS} hidden element at the width-weighted mean) over ${BILLION_EVAL_SIZE} evaluation examples, times the largest measured JSON/binary ratio of the evaluation answers (${Math.round(evalJson * 100) / 100}). samplingAuditBytesAtMost = segment check + score check: the whole sampling audit (the leaves are HEAD requests, no body). Replay: checkpoint 0, the segment's start checkpoint and the final checkpoint whole (replayAuditBytes)`,
    },
  };
  await writeFile(file, JSON.stringify(results, null, 2) + "\n");
  console.table(rows);
}
