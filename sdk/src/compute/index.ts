/**
 * `@poai/sdk/compute`: the deterministic integer training engine (engine version 1).
 * A run is fixed by (spec, seed); every backend reproduces its checkpoints bit for bit.
 * See docs/engine.md for the algorithm.
 */
export {
  ENGINE_VERSIONS,
  MAX_ACTIVATIONS,
  MAX_CHECKPOINTS,
  MAX_EVAL_SIZE,
  MAX_LAYERS,
  MAX_LR_SHIFT,
  MAX_PARAMETERS,
  MAX_STEPS,
  MAX_WIDTH,
  TRAINING_SPEC_ABI,
  TrainingSpecError,
  encodeSpec,
  macsPerStep,
  modelLayout,
  specId,
  validateSpec,
  type EngineVersion,
  type LayerShape,
  type ModelLayout,
  type TrainingSpec,
} from "./spec.js";
export { SeedError, deriveKey, philox4x32, validateSeed, type EngineKey } from "./prng.js";
export {
  CheckpointError,
  checkpointHash,
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
} from "./checkpoint.js";
export { fastKeccakLoaded, keccak256Bytes, loadFastKeccak } from "./keccak.js";
export {
  CHECKPOINT_LEAF_ENCODING,
  CommitmentError,
  checkpointLeaf,
  commit,
  verifyCheckpointProof,
  type CommittableRun,
  type RunCommitment,
} from "./merkle.js";
export { WeightsError, type EngineBackend, type EngineSession } from "./backend.js";
export {
  createBackend,
  evaluate,
  openRunSession,
  selectBackend,
  replaySegment,
  train,
  verifySegment,
  type BackendKind,
  type CheckpointRecord,
  type EngineOptions,
  type EvalScore,
  type RunSession,
  type SegmentVerification,
  type TrainOptions,
  type TrainingRun,
} from "./engine.js";
export { jsBackend } from "./reference.js";
export { wasmBackend, wasmSupported } from "./wasm/backend.js";
export {
  cudaBackend,
  cudaProbeResult,
  createCudaBackend,
  probeCuda,
  type CudaBackendOptions,
} from "./cuda/backend.js";
export { CudaError, CudaUnavailableError, type CudaProbe } from "./cuda/driver.js";
export { REFERENCE_SPEC, REFERENCE_SEED } from "./reference-spec.js";
export {
  InferenceError,
  OUTPUT_LABEL_BYTES,
  decodeInferenceInput,
  decodeInferenceOutput,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  inferenceLayout,
  type InferenceResult,
} from "./inference.js";
