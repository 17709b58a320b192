/**
 * Containers the inference node runs jobs on: Infernet containers over HTTP (unchanged) and the
 * built-in container for PoAI-trained integer models, and the Python-compatible JSON reading and
 * printing that makes their deliveries byte-identical to infernet-node's.
 */
export * from "./types.js";
export {
  HttpContainer,
  RESPONSE_KEYS,
  bytesFromHex,
  checkDeliverySize,
  serializeContainerOutput,
  type HttpContainerOptions,
  type RedirectPolicy,
} from "./http.js";
export {
  PoAIModelContainer,
  checkpointParameters,
  type CheckpointLocation,
  type PoAIModelContainerOptions,
} from "./poai-model.js";
export {
  MAX_DEPTH,
  MAX_INT_DIGITS,
  PyJsonError,
  compareCodePoints,
  fromPyValue,
  isPythonUnprintable,
  parsePythonJson,
  pythonJsonDumps,
  pythonRepr,
  reprFloat,
  reprString,
  toPyValue,
  type DumpsOptions,
  type PyDict,
  type PyValue,
} from "./python-json.js";
export { chainHash, chainLookup, runChain, type ChainResult, type ChainStep } from "./pipeline.js";
