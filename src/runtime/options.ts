import type { ZodType } from "zod";
import { formatIssues, ConfigError } from "../config/errors.js";

/**
 * Validates a component's (or plugin's) `options` with its own schema. Without a schema it takes none: an
 * empty object passes, anything else is refused, since keys nobody reads are a typo or a wrong component.
 * `owner` names whose options they are, for that message.
 */
export function validateOptions(schema: ZodType | undefined, raw: unknown, path: string, owner = "this component"): unknown {
  if (!schema) {
    if (raw === undefined || (typeof raw === "object" && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0)) return raw ?? {};
    const keys = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? `key${Object.keys(raw).length > 1 ? "s" : ""} ${Object.keys(raw).map((k) => JSON.stringify(k)).join(", ")}` : JSON.stringify(raw);
    return fail(`${path}: ${owner} takes no options (it declares no options schema), found ${keys}: remove "${path.split(".").at(-1)}", or check the component type`);
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error.issues, raw, path, undefined, schema));
}

function fail(line: string): never {
  throw new ConfigError([line]);
}
