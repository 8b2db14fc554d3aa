import type { ZodType } from "zod";

// One schema, three sources. Every scalar setting of the config schema (outside the components list)
// is also an environment variable ANNEX_<PATH> and a flag --<path>; later sources win:
// config file < environment < command line.

export type SettingKind = "string" | "number" | "boolean" | "enum" | "off";

export interface Setting {
  /** Path in the config file, e.g. ["server", "reconnect", "maxMs"]. */
  path: string[];
  kind: SettingKind;
  /** ANNEX_SERVER_RECONNECT_MAX_MS */
  env: string;
  /** server-reconnect-max-ms (used as --server-reconnect-max-ms) */
  flag: string;
  values?: string[];
}

interface ZodDef {
  type: string;
  shape?: Record<string, ZodType>;
  innerType?: ZodType;
  options?: ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
}

const def = (schema: ZodType): ZodDef => (schema as unknown as { def: ZodDef }).def;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** Lists the settings of a schema: scalars inside nested objects (lists and records are left to the file). */
export function settingsOf(schema: ZodType, path: string[] = []): Setting[] {
  const d = def(schema);
  const make = (kind: SettingKind, values?: string[]): Setting[] => [
    { path, kind, env: `ANNEX_${path.map(snake).join("_")}`, flag: path.map(kebab).join("-"), values },
  ];
  switch (d.type) {
    case "default":
    case "optional":
      return settingsOf(d.innerType as ZodType, path);
    case "object":
      return Object.entries(d.shape ?? {}).flatMap(([key, child]) => settingsOf(child, [...path, key]));
    case "union": {
      // `false | {…}` (e.g. keepalive): "false" switches it off, the object's fields stay settable.
      const options = d.options ?? [];
      const off = options.some((o) => def(o).type === "literal" && def(o).values?.includes(false));
      const objects = options.filter((o) => def(o).type === "object");
      return [...(off ? make("off") : []), ...objects.flatMap((o) => settingsOf(o, path))];
    }
    case "string":
      return make("string");
    case "number":
    case "int":
      return make("number");
    case "boolean":
      return make("boolean");
    case "enum":
      return make("enum", Object.values(d.entries ?? {}));
    default:
      return [];
  }
}

export interface Override {
  setting: Setting;
  /** Where the value came from, for error messages: "ANNEX_SERVER_PORT" or "--server-port". */
  source: string;
  value: unknown;
}

/** Values from the environment and from flags (flags last, so they win). */
export function collectOverrides(settings: Setting[], env: NodeJS.ProcessEnv, flags: Record<string, unknown>): Override[] {
  const out: Override[] = [];
  for (const setting of settings) {
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined && fromEnv !== "") out.push({ setting, source: setting.env, value: coerce(setting, fromEnv) });
  }
  for (const setting of settings) {
    const fromFlag = flags[setting.flag];
    if (typeof fromFlag === "string") out.push({ setting, source: `--${setting.flag}`, value: coerce(setting, fromFlag) });
  }
  return out;
}

/** Text to typed value; what cannot be read is passed through, so the schema reports it with the usual message. */
function coerce(setting: Setting, text: string): unknown {
  switch (setting.kind) {
    case "number":
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case "boolean":
      return text === "true" || text === "1" ? true : text === "false" || text === "0" ? false : text;
    case "off":
      return text === "false" || text === "off" || text === "0" ? false : text;
    default:
      return text;
  }
}

/** Writes the overrides into a raw config object (a copy), creating objects on the way. */
export function applyOverrides(raw: unknown, overrides: Override[]): Record<string, unknown> {
  const root = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const { setting, value } of overrides) {
    let cursor = root;
    for (const key of setting.path.slice(0, -1)) {
      const next = cursor[key];
      if (typeof next !== "object" || next === null) cursor[key] = {};
      cursor = cursor[key] as Record<string, unknown>;
    }
    cursor[setting.path.at(-1) as string] = value;
  }
  return root;
}
