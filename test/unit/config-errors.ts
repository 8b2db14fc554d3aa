import assert from "node:assert/strict";
import { ConfigError } from "annex";

/** The lines of the ConfigError that `fn` throws (and fails the test if it throws nothing, or something else). */
export function configErrorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.lines;
  }
  assert.fail("expected a ConfigError");
}
