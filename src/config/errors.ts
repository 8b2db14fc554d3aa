import type { core, ZodType } from "zod";
import { ConfigError } from "../errors.js";

export { ConfigError };

type Path = readonly PropertyKey[];

export function formatPath(prefix: string, path: Path): string {
  let out = prefix;
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || "(top level)";
}

function valueAt(input: unknown, path: Path): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  const shown = json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
  const kind = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return `${kind} ${shown}`;
}

/**
 * One line per issue. `sources` maps a dotted path to where its value came from (an environment
 * variable or a flag), so a bad override is named as the admin typed it. `schema` is the schema that
 * produced the issues: with it, an unknown key gets the closest key that object does take.
 */
export function formatIssues(issues: readonly core.$ZodIssue[], input: unknown, prefix = "", sources?: Map<string, string>, schema?: ZodType): string[] {
  return expandUnions(issues, input).flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      const valid = schema ? keysAt(schema, issue.path) : [];
      return issue.keys.map((key) => `${formatPath(prefix, issue.path)}: unknown key ${JSON.stringify(key)}${suggestKey(key, valid)}`);
    }
    const line = formatIssue(issue, input, prefix);
    const source = sources?.get(issue.path.map(String).join("."));
    return [source ? `${line} [from ${source}]` : line];
  });
}

/**
 * An object that matches no branch of a union (`false | {…}`, `"name" | {module}`) is reported by the one
 * object branch it was meant for, so its own mistakes (an unknown key, a wrong type) get their usual lines.
 */
function expandUnions(issues: readonly core.$ZodIssue[], input: unknown): core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union") return [issue];
    const value = valueAt(input, issue.path);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [issue];
    const objectBranches = issue.errors.filter((branch) => !branch.some((i) => i.path.length === 0 && (i.code === "invalid_type" || i.code === "invalid_value")));
    if (objectBranches.length !== 1) return [issue];
    return expandUnions(
      (objectBranches[0] as core.$ZodIssue[]).map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as core.$ZodIssue),
      input,
    );
  });
}

function formatIssue(issue: core.$ZodIssue, input: unknown, prefix: string): string {
  const where = formatPath(prefix, issue.path);
  const found = describeValue(valueAt(input, issue.path));
  if (issue.code === "invalid_type") return `${where}: expected ${issue.expected}, found ${found}`;
  if (issue.code === "invalid_union" && issue.message === "Invalid input") {
    // zod's generic union message: say what each branch takes instead (e.g. "false or object").
    const expected = issue.errors.map((branch) => {
      const root = branch.find((i) => i.path.length === 0);
      return root?.code === "invalid_value" ? root.values.map((v) => JSON.stringify(v)).join(" or ") : root?.code === "invalid_type" ? root.expected : "object";
    });
    return `${where}: expected ${[...new Set(expected)].join(" or ")}, found ${found}`;
  }
  return `${where}: ${issue.message} (found ${found})`;
}

/** " (did you mean "maxInFlight"?)" for a near miss, else the keys that object takes. */
export function suggestKey(key: string, valid: readonly string[]): string {
  if (valid.length === 0) return "";
  const scored = valid.map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d);
  const best = scored[0] as { k: string; d: number };
  // A slip of the keyboard or of case, not a different word: at most a third of the key's letters.
  if (best.d <= Math.max(1, Math.floor(key.length / 3))) return ` (did you mean ${JSON.stringify(best.k)}?)`;
  return ` (expected one of ${[...valid].sort().map((k) => JSON.stringify(k)).join(", ")})`;
}

/** Levenshtein distance, transpositions counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, ZodType>;
  innerType?: ZodType;
  in?: ZodType;
  element?: ZodType;
  valueType?: ZodType;
  options?: ZodType[];
  left?: ZodType;
  right?: ZodType;
}

const defOf = (schema: ZodType): SchemaDef => (schema as unknown as { def: SchemaDef }).def;

/** The object schemas a value at `path` is checked by (through defaults, unions, arrays and records). */
function objectsAt(schema: ZodType, path: readonly PropertyKey[]): SchemaDef[] {
  const d = defOf(schema);
  switch (d.type) {
    case "default":
    case "optional":
    case "nullable":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return objectsAt(d.innerType as ZodType, path);
    case "pipe":
      return objectsAt(d.in as ZodType, path);
    case "union":
      return (d.options ?? []).flatMap((o) => objectsAt(o, path));
    case "intersection":
      return [...objectsAt(d.left as ZodType, path), ...objectsAt(d.right as ZodType, path)];
    case "object": {
      if (path.length === 0) return [d];
      const child = d.shape?.[String(path[0])];
      return child ? objectsAt(child, path.slice(1)) : [];
    }
    case "array":
      return path.length > 0 && typeof path[0] === "number" ? objectsAt(d.element as ZodType, path.slice(1)) : [];
    case "record":
      return path.length > 0 ? objectsAt(d.valueType as ZodType, path.slice(1)) : [];
    default:
      return [];
  }
}

/** The keys the object at `path` takes. */
export function keysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((o) => Object.keys(o.shape ?? {})))];
}

/**
 * Gathers configuration problems from several checks (files, modules, options of every component), so a
 * config with three mistakes is reported once with three lines, not over three runs.
 */
export class ConfigProblems {
  readonly lines: string[] = [];

  /** Runs a check; a ConfigError becomes lines here (result undefined), anything else is thrown. */
  async check<T>(run: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.lines.push(...err.lines);
      return undefined;
    }
  }

  /** Throws one ConfigError with every line gathered, if any. */
  throwIfAny(): void {
    if (this.lines.length > 0) throw new ConfigError(this.lines);
  }
}
