import { createRequire } from "node:module";
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = ["secret", "password", "token", "*.secret", "*.password", "*.token", "config.components[*].secret"];

export type PrettyMode = "auto" | "always" | "never";

/**
 * The process logger: pino JSON on stdout, secrets redacted; human-readable through pino-pretty
 * when stdout is a terminal (or when asked), JSON for log collectors otherwise. pino-pretty is an optional
 * peer dependency: without it "auto" logs JSON, and "always" logs JSON after one warning naming the package.
 */
export function createLogger(level: LevelWithSilent = "info", pretty: PrettyMode = "auto", destination?: DestinationStream): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  const wantPretty = pretty === "always" || (pretty === "auto" && process.stdout.isTTY === true);
  if (wantPretty && !destination) {
    if (prettyInstalled()) return pino({ ...options, transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } } });
    const log = pino(options);
    if (pretty === "always") log.warn('log.pretty is "always" but the package pino-pretty is not installed (npm install pino-pretty): logging JSON');
    return log;
  }
  return pino(options, destination);
}

function prettyInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}

export { stanzaForLog } from "../stanza/log.js";

export type { Logger };
