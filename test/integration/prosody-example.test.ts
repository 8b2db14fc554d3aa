import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { PROSODYCTL_BIN } from "annex/testing";

const execFileAsync = promisify(execFile);

test("prosody.cfg.example passes Prosody's own config check", async () => {
  const example = await readFile(new URL("../../../prosody.cfg.example", import.meta.url), "utf8");
  const dir = await mkdtemp(join(tmpdir(), "annex-example-"));
  const path = join(dir, "prosody.cfg.lua");
  // As root (CI), prosodyctl refuses to run without this; it is not part of the example.
  await writeFile(path, `${process.getuid?.() === 0 ? "run_as_root = true\n" : ""}${example}`);
  const { stdout, stderr } = await execFileAsync(PROSODYCTL_BIN, ["--config", path, "check", "config"]).catch((err: { stdout: string; stderr: string }) => err);
  const output = `${stdout}\n${stderr}`;
  assert.match(output, /Checking config\.\.\./);
  assert.doesNotMatch(output, /Problems found/, output);
});
