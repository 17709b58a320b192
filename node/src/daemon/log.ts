/**
 * Structured logs for the daemons (pino): one JSON object per line, or silence in tests.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from "pino";

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

/** A pino logger named after the daemon; `level` defaults to `$POAI_LOG_LEVEL` or `info`. */
export function createLogger(
  name: string,
  options: { level?: LogLevel; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = options.level ?? ((process.env.POAI_LOG_LEVEL as LogLevel | undefined) || "info");
  return pino({ name, level, base: { name } }, options.destination ?? process.stdout);
}
