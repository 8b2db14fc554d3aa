import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { LeaseRequest } from "../lease/lease.js";
import { ConfigError, formatIssues } from "./errors.js";
import { findJsonSyntaxError } from "./json.js";
import { type AnnexConfig, type ComponentEntry, ConfigSchema } from "./schema.js";
import { applyOverrides, collectOverrides, type Setting, settingsOf } from "./sources.js";

/** Every setting that can also come from the environment (ANNEX_…) or a flag (--…). */
export const SETTINGS: Setting[] = settingsOf(ConfigSchema);

export interface ConfigSources {
  /** Parsed file contents (or a config built from flags); default {}. */
  raw?: unknown;
  env?: NodeJS.ProcessEnv;
  /** Flag values by flag name without dashes, e.g. {"server-port": "5348"}. */
  flags?: Record<string, unknown>;
  /** Where relative paths in the file are resolved. */
  baseDir: string;
}

export interface LoadedConfig extends AnnexConfig {
  /** The directory relative paths (secretFile, module) are resolved against. */
  baseDir: string;
}

/** File, then environment, then flags; validated as one. Throws ConfigError naming each bad field and its source. */
export function resolveConfig(sources: ConfigSources): LoadedConfig {
  const overrides = collectOverrides(SETTINGS, sources.env ?? {}, sources.flags ?? {});
  const raw = applyOverrides(sources.raw ?? {}, overrides);
  const origin = new Map(overrides.map((o) => [o.setting.path.join("."), o.source]));
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, raw, "", origin, ConfigSchema));
  return { ...result.data, baseDir: sources.baseDir };
}

/** Reads a config file as JSON (no validation yet). */
export async function readConfigFile(path: string): Promise<{ raw: unknown; baseDir: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  // An editor's byte order mark is not part of the JSON.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  try {
    return { raw: JSON.parse(text), baseDir: dirname(resolve(path)) };
  } catch (err) {
    const at = findJsonSyntaxError(text);
    // The scanner and JSON.parse read the same grammar; should they ever disagree, JSON.parse's words stand.
    throw new ConfigError([at ? `${path}:${at.line}:${at.column}: not valid JSON: ${at.message}` : `${path}: not valid JSON (${(err as Error).message})`]);
  }
}

/** Reads and validates a config file (no environment or flags); throws ConfigError with one line per problem. */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  return resolveConfig(await readConfigFile(path));
}

export function parseConfig(raw: unknown): AnnexConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, raw, "", undefined, ConfigSchema));
  return result.data;
}

/** Resolves a component's secret from `secret`, `secretFile` (one trailing newline dropped) or `secretEnv`. */
/** The server.tls options with the CA file read (relative to the config file); undefined = plain TCP. */
export async function resolveTls(config: LoadedConfig): Promise<{ ca?: string; servername?: string; rejectUnauthorized: boolean } | undefined> {
  const tls = config.server.tls;
  if (tls === false) return undefined;
  if (tls.caFile === undefined) return { servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized };
  const file = resolve(config.baseDir, tls.caFile);
  try {
    return { ca: await readFile(file, "utf8"), servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized };
  } catch (err) {
    throw new ConfigError([`server.tls.caFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
}

/** The lease request of an entry with `standby`, its URL read from the environment if so configured. */
export function resolveStandby(entry: ComponentEntry, index: number, env: NodeJS.ProcessEnv = process.env): LeaseRequest | undefined {
  const standby = entry.standby;
  if (!standby) return undefined;
  let url = standby.postgres;
  if (url === undefined) {
    const name = standby.postgresEnv as string;
    url = env[name];
    if (!url) throw new ConfigError([`components[${index}].standby.postgresEnv: the environment variable ${name} is not set`]);
  }
  return { domain: entry.domain, key: standby.key ?? entry.domain, url, retryMs: standby.retryMs };
}

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
