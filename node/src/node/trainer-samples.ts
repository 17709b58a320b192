/**
 * The trainer's side of operation-sampling audits (docs/verifier.md, "Audit modes"): the step-state
 * root of each segment, committed in the checkpoint leaves of a run whose spec is audited by
 * sampling (`auditModeFor`), and the answers to the validators' samples, both from the states of
 * the segment as the trainer holds them (its `disputeSource`, the same states it defends a
 * dispute with). For such a run it also commits, in the final checkpoint's leaf, the evaluation
 * root of its final parameters (`EvalTrace`, docs/verifier.md "The score") and answers the
 * validators' evaluation samples from that trace.
 */
import type { Hex } from "viem";
import {
  EvalTrace,
  RunStates,
  answerEvalSamples,
  answerSample,
  fastTraceAvailable,
  segmentStepRoot as sdkSegmentStepRoot,
  traceSegment,
  stateHash,
  stepStatesRoot,
  type EngineKey,
  type EvalAnswers,
  type EvalSample,
  type Sample,
  type SampleAnswer,
  type StateSource,
  type StateTensors,
  type TrainingSpec,
} from "@poai/sdk/compute";

/**
 * The engine's own run starting at segment `segment` (an honest `disputeSource`), which the wasm
 * engine traces far faster than `source.tensors` does step by step; undefined for any other
 * source (a subclass or another `StateSource` answers for its states itself). The run is traced
 * with its own spec (`run.spec`), which is what `source.tensors` would trace: a source built for
 * other training settings than the challenge's answers for those, never the challenge's.
 */
function engineRun(source: StateSource, spec: TrainingSpec, segment: number): RunStates | undefined {
  return source instanceof RunStates &&
    source.constructor === RunStates &&
    source.firstStep === segment * spec.checkpointInterval &&
    fastTraceAvailable()
    ? source
    : undefined;
}

/** The states of segment `segment`'s steps, first to last, from `source`. */
export function segmentStates(source: StateSource, spec: TrainingSpec, segment: number): StateTensors[] {
  const first = segment * spec.checkpointInterval;
  const run = engineRun(source, spec, segment);
  if (run) {
    const states: StateTensors[] = [];
    traceSegment(run.spec, run.key, run.start, segment, (_, t) => void states.push(t), run.data);
    return states;
  }
  return Array.from({ length: spec.checkpointInterval }, (_, t) => source.tensors(first + t));
}

/** The step-state root of segment `segment` (the fourth word of its start checkpoint's leaf). */
export function segmentStepRoot(source: StateSource, spec: TrainingSpec, segment: number): Hex {
  const run = engineRun(source, spec, segment);
  if (run) return sdkSegmentStepRoot(run.spec, run.key, run.start, segment, run.data);
  return stepStatesRoot(segmentStates(source, spec, segment).map((t) => stateHash(t.roots)));
}

/** The answers to `samples` of segment `segment`, in order. */
export function answerSamples(
  source: StateSource,
  spec: TrainingSpec,
  segment: number,
  samples: readonly Sample[],
): SampleAnswer[] {
  const states = segmentStates(source, spec, segment);
  return samples.map((s) => answerSample(spec, states, s));
}

/** Evaluation traces the trainer answers from, the latest few runs' kept (one trace is a run's predictions and example hashes). */
export class EvalTraces {
  private readonly traces = new Map<Hex, Promise<EvalTrace>>();

  constructor(private readonly keep = 2) {}

  /** The trace of run `id`, built by `build` unless held. */
  get(id: Hex, build: () => EvalTrace | Promise<EvalTrace>): Promise<EvalTrace> {
    const key = id.toLowerCase() as Hex;
    let trace = this.traces.get(key);
    if (!trace) {
      trace = Promise.resolve().then(build);
      trace.catch(() => this.traces.delete(key));
      this.traces.set(key, trace);
      while (this.traces.size > this.keep) this.traces.delete(this.traces.keys().next().value!);
    }
    return trace;
  }
}

/** The trainer's answers to evaluation samples of its run, from the run's evaluation trace. */
export function answerEvaluation(trace: EvalTrace, samples: readonly EvalSample[]): EvalAnswers {
  return answerEvalSamples(trace, samples);
}

/** The evaluation trace of final parameters `weights` of a run of (spec, key): the honest trainer's. */
export function evaluationTrace(
  spec: TrainingSpec,
  key: EngineKey,
  weights: Int16Array,
  data?: ConstructorParameters<typeof EvalTrace>[3],
): EvalTrace {
  return new EvalTrace(spec, key, weights, data);
}
