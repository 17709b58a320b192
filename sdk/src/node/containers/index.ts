/**
 * Containers the inference node runs jobs on: Infernet containers over HTTP (unchanged) and the
 * built-in container for PoAI-trained integer models.
 */
export * from "./types.js";
export {
  HttpContainer,
  RESPONSE_KEYS,
  checkDeliverySize,
  serializeContainerOutput,
  type HttpContainerOptions,
} from "./http.js";
export {
  PoAIModelContainer,
  checkpointParameters,
  type CheckpointLocation,
  type PoAIModelContainerOptions,
} from "./poai-model.js";
