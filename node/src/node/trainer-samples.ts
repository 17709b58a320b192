/**
 * The trainer's side of operation-sampling audits (docs/verifier.md, "Audit modes"): the step-state
 * root of each segment, committed in the checkpoint leaves of a run whose spec is audited by
 * sampling (`auditModeFor`), and the answers to the validators' samples, both from the states of
 * the segment as the trainer holds them (its `disputeSource`, the same states it defends a
 * dispute with).
 */
import type { Hex } from "viem";
import {
  RunStates,
  answerSample,
  fastTraceAvailable,
  segmentStepRoot as sdkSegmentStepRoot,
  traceSegment,
  stateHash,
  stepStatesRoot,
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
