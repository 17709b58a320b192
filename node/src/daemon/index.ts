/**
 * The runtime the PoAI daemons share: SQLite state, structured logs, metrics and status over
 * HTTP, the daemon loop, bounded retries, progress display and the checkpoint protocol.
 */
export { openDatabase, probeDatabase, transaction, type Database } from "./sqlite.js";
export { createLogger, type LogLevel, type Logger } from "./log.js";
export { sleep, withRetry, type RetryOptions } from "./retry.js";
export { createProgress, type Progress } from "./progress.js";
export {
  DEFAULT_STUCK_AFTER_MS,
  DaemonLoop,
  probeChain,
  type HealthCheck,
  type HealthProbe,
  type HealthReport,
  type LoopOptions,
  type TickState,
} from "./loop.js";
export {
  httpError,
  json,
  serve,
  standardRoutes,
  type HttpHandler,
  type HttpReply,
  type HttpRequest,
  type Route,
  type RunningServer,
  type Watched,
} from "./http.js";
export * from "./protocol.js";
export {
  BodyReadError,
  fetchBody,
  fetchWithDeadline,
  readBody,
  startDeadline,
  type BodyFailureKind,
  type Deadline,
  type ReadBodyOptions,
} from "./body.js";
export * from "./samples.js";
export * from "./eval-samples.js";
