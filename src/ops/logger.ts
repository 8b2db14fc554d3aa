import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = ["secret", "password", "token", "*.secret", "*.password", "*.token", "config.components[*].secret"];

export type PrettyMode = "auto" | "always" | "never";

/**
 * The process logger: pino JSON on stdout, secrets redacted; human-readable through pino-pretty
 * when stdout is a terminal (or when asked), JSON for log collectors otherwise.
 */
export function createLogger(level: LevelWithSilent = "info", pretty: PrettyMode = "auto", destination?: DestinationStream): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  const wantPretty = pretty === "always" || (pretty === "auto" && process.stdout.isTTY === true);
  if (wantPretty && !destination) return pino({ ...options, transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } } });
  return pino(options, destination);
}

export { stanzaForLog } from "../stanza/log.js";

export type { Logger };
