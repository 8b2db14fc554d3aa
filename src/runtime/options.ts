import type { ZodType } from "zod";
import { formatIssues, ConfigError } from "../config/errors.js";

/** Validates a component's `options` with its own schema; no schema = must be empty-or-object, passed as is. */
export function validateOptions(schema: ZodType | undefined, raw: unknown, path: string): unknown {
  if (!schema) return raw;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error.issues, raw, path));
}
