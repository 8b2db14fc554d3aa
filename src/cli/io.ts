import { ConfigError } from "../config/errors.js";

/** sysexits.h codes, so service managers can tell "fix the config" from "crashed". */
export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78 } as const;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const defaultIo: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export function reportStartupError(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    io.err(`annex: the configuration is not valid:\n${err.lines.map((l) => `  ${l}`).join("\n")}`);
    return EXIT.config;
  }
  io.err(`annex: ${(err as Error).message}`);
  return EXIT.failure;
}

export class UsageError extends Error {}
