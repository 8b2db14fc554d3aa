import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = ["secret", "password", "*.secret", "*.password", "config.components[*].secret"];

/** The process logger: pino JSON on stdout (or the given stream), secrets redacted. */
export function createLogger(level: LevelWithSilent = "info", destination?: DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, destination);
}

export type { Logger };
