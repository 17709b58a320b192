/**
 * `@poai/sdk/compute`: the deterministic integer training engine (engine versions 1 and 2).
 * A run is fixed by (spec, seed); every backend reproduces its checkpoints bit for bit.
 * See docs/engine.md for the algorithm.
 */
export {
  DATASET_REF_ABI,
  ENGINE_VERSIONS,
  MAX_ACTIVATIONS,
  MAX_DATASET_EXAMPLES,
  MAX_CHECKPOINTS,
  MAX_EVAL_SIZE,
  MAX_LAYERS,
  MAX_LR_SHIFT,
  MAX_PARAMETERS,
  MAX_STEPS,
  MAX_WIDTH,
  TRAINING_SPEC_ABI,
  TRAINING_SPEC_V2_ABI,
  TrainingSpecError,
  encodeSpec,
  macsPerStep,
  modelLayout,
  specDataset,
  specId,
  validateSpec,
  type DatasetRef,
  type EngineVersion,
  type LayerShape,
  type ModelLayout,
  type TrainingSpec,
} from "./spec.js";
export {
  PERMUTATION_ROUNDS,
  SeedError,
  deriveKey,
  permuteIndex,
  permutationHalfBits,
  philox4x32,
  stepExamples,
  trainingExampleAt,
  validateSeed,
  type EngineKey,
} from "./prng.js";
export {
  DATASET_FORMAT,
  DATASET_PARTS,
  DEFAULT_CHUNK_BYTES,
  DatasetData,
  DatasetError,
  DatasetPartData,
  EXAMPLE_LEAF_ENCODING,
  MAX_CHUNK_EXAMPLES,
  checkManifest,
  checkRows,
  chunkCountOf,
  chunkRange,
  commitDataset,
  datasetManifestSchema,
  decodeChunkInto,
  defaultChunkExamples,
  encodeChunk,
  encodeExample,
  exampleLeaf,
  hashPair,
  manifestRef,
  parseManifest,
  recordBytes,
  treeLevels,
  treeProof,
  treeRoot,
  verifyExampleProof,
  type DatasetInput,
  type DatasetManifest,
  type DatasetPart,
  type DatasetPartManifest,
  type DatasetQuantization,
  type ExampleRows,
} from "./dataset.js";
export {
  CheckpointError,
  checkpointHash,
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
} from "./checkpoint.js";
export { fastKeccakLoaded, keccak256Bytes, keccak256Raw, loadFastKeccak } from "./keccak.js";
export {
  CHECKPOINT_LEAF_ENCODING,
  CommitmentError,
  checkpointLeaf,
  commit,
  commitCheckpoints,
  verifyCheckpointProof,
  type CommittableRun,
  type RunCommitment,
} from "./merkle.js";
export {
  DataUnavailableError,
  WeightsError,
  type EngineBackend,
  type EngineData,
  type EngineSession,
} from "./backend.js";
export {
  createBackend,
  evaluate,
  openRunSession,
  selectBackend,
  replaySegment,
  segmentExamples,
  train,
  trainingExamples,
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
export {
  RunStates,
  elementOf,
  firstDisputedByte,
  firstDisputedSlot,
  foldRanges,
  elementRanges,
  proofsOf,
  type LeafProof,
  type StateSource,
} from "./state/game.js";
export {
  elementAt,
  inferenceSlots,
  trainingSlots,
  type ElementRef,
  type OpKind,
  type Slot,
} from "./state/layout.js";
export {
  StateTensors,
  stateHash,
  thetaBytes,
  thetaRoot,
  traceInference,
  traceStep,
  type StepTrace,
} from "./state/trace.js";
export { ByteTree, LEAF_BYTES, byteTreeRoot, verifyLeafProof } from "./state/tree.js";
