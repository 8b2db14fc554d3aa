import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError, formatIssues } from "./errors.js";
import { type AnnexConfig, type ComponentEntry, ConfigSchema } from "./schema.js";

export interface LoadedConfig extends AnnexConfig {
  /** The directory relative paths (secretFile, module) are resolved against. */
  baseDir: string;
}

/** Reads and validates a config file; throws ConfigError with one line per problem. */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${path}: not valid JSON (${(err as Error).message})`]);
  }
  return { ...parseConfig(raw), baseDir: dirname(resolve(path)) };
}

export function parseConfig(raw: unknown): AnnexConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, raw));
  return result.data;
}

/** Resolves a component's secret from `secret`, `secretFile` (one trailing newline dropped) or `secretEnv`. */
export async function resolveSecret(entry: ComponentEntry, index: number, baseDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const where = `components[${index}]`;
  if (entry.secret !== undefined) return entry.secret;
  if (entry.secretFile !== undefined) {
    const file = resolve(baseDir, entry.secretFile);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError([`${where}.secretFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
    const secret = text.replace(/\r?\n$/, "");
    if (!secret) throw new ConfigError([`${where}.secretFile: ${file} is empty`]);
    return secret;
  }
  const name = entry.secretEnv as string;
  const value = env[name];
  if (!value) throw new ConfigError([`${where}.secretEnv: the environment variable ${name} is not set`]);
  return value;
}
