import type { core } from "zod";

export { ConfigError } from "../errors.js";

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
 * variable or a flag), so a bad override is named as the admin typed it.
 */
export function formatIssues(issues: readonly core.$ZodIssue[], input: unknown, prefix = "", sources?: Map<string, string>): string[] {
  return issues.map((issue) => {
    const line = formatIssue(issue, input, prefix);
    const source = sources?.get(issue.path.map(String).join("."));
    return source ? `${line} [from ${source}]` : line;
  });
}

function formatIssue(issue: core.$ZodIssue, input: unknown, prefix: string): string {
  {
    if (issue.code === "unrecognized_keys") {
      return `${formatPath(prefix, issue.path)}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    }
    const where = formatPath(prefix, issue.path);
    const found = describeValue(valueAt(input, issue.path));
    if (issue.code === "invalid_type") return `${where}: expected ${issue.expected}, found ${found}`;
    return `${where}: ${issue.message} (found ${found})`;
  }
}
