import { ConfigError, ErrorCode, RegistryError } from "../errors.js";

/** sysexits.h codes, so service managers can tell "fix the config" from "crashed". */
export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78 } as const;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const defaultIo: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export function reportStartupError(err: unknown, io: CliIo): number {
  // A component package that is not installed, or a second copy of annex: one problem, one line with the fix.
  if (err instanceof ConfigError && err.lines.length === 1 && (err.code === ErrorCode.ComponentNotInstalled || err.code === ErrorCode.ForeignCopy)) {
    io.err(`annex: ${err.message}`);
    return EXIT.config;
  }
  if (err instanceof ConfigError) {
    io.err(`annex: the configuration is not valid:\n${err.lines.map((l) => `  ${l}`).join("\n")}`);
    return EXIT.config;
  }
  // A component that cannot be assembled (missing decorator metadata, duplicate routes…) is fixed in its
  // code or build: one line naming the class and the fix, exit 78 like any other configuration problem.
  if (err instanceof RegistryError) {
    io.err(`annex: ${err.message}`);
    return EXIT.config;
  }
  io.err(`annex: ${(err as Error).message}`);
  return EXIT.failure;
}

export class UsageError extends Error {}
