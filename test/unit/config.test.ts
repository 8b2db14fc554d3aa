import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Component, ConfigError, ANNEX_VERSION } from "annex";
import { createHarness } from "annex/testing";
import { z } from "zod";
import { loadConfigFile, parseConfig, resolveSecret } from "../../src/config/load.js";
import { resolveComponentClass } from "../../src/runtime/catalogue.js";
import { readFileSync } from "node:fs";
import { configErrorLines } from "./config-errors.js";


describe("config file", () => {
  test("a valid file gets defaults for server and log", () => {
    const config = parseConfig({ components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] });
    assert.equal(config.server.host, "127.0.0.1");
    assert.equal(config.server.port, 5347);
    assert.deepEqual(config.server.reconnect, { initialMs: 250, maxMs: 30_000, stableMs: 10_000, conflictRetryMs: 60_000 });
    assert.deepEqual(config.server.keepalive, { intervalMs: 30_000, timeoutMs: 10_000 });
    assert.equal(config.server.maxStanzaBytes, 512 * 1024);
    assert.equal(config.components[0]?.maxInFlight, 64);
    assert.equal(config.log.level, "info");
    assert.deepEqual(config.components[0]?.options, {});
  });

  test("every bad field gets one line with its path, what was expected and what was found", () => {
    const lines = configErrorLines(() =>
      parseConfig({
        server: { host: "127.0.0.1", port: "5347" },
        log: { level: "loud" },
        components: [{ type: "echo", domain: "not a domain", secret: "s", colour: "red" }, { type: 5, domain: "b.localhost" }],
      }),
    );
    assert.ok(lines.includes('server.port: expected number, found string "5347"'), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("log.level:") && l.includes('"loud"')), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("components[0].domain: expected a domain such as echo.localhost")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith('components[0]: unknown key "colour" (expected one of ')), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("components[1].type:") && l.includes("number 5")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("components[1].secret: expected one of secret, secretFile or secretEnv")), lines.join("\n"));
  });

  test("two secret sources at once are refused", () => {
    const lines = configErrorLines(() => parseConfig({ components: [{ type: "echo", domain: "e.localhost", secret: "a", secretEnv: "B" }] }));
    assert.deepEqual(lines.map((l) => l.split(" (found")[0]), ["components[0].secret: expected only one of secret, secretFile or secretEnv, not secret and secretEnv"]);
  });

  test("no components at all is refused", () => {
    const lines = configErrorLines(() => parseConfig({ components: [] }));
    assert.match(lines[0] ?? "", /^components: expected at least one component/);
  });

  test("a missing file and a file that is not JSON say so, with the path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-config-"));
    await assert.rejects(loadConfigFile(join(dir, "nope.json")), (err: ConfigError) => /nope\.json: cannot read the config file \(ENOENT\)/.test(err.lines[0] ?? ""));
    await writeFile(join(dir, "bad.json"), "{ components: [");
    await assert.rejects(loadConfigFile(join(dir, "bad.json")), (err: ConfigError) => /bad\.json:1:3: not valid JSON: property names take double quotes in JSON$/.test(err.lines[0] ?? ""));
  });
});

describe("secrets", () => {
  test("secretFile is read relative to the config file, without its trailing newline", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-secret-"));
    await writeFile(join(dir, "echo.secret"), "pässwörd€\n");
    const entry = parseConfig({ components: [{ type: "echo", domain: "e.localhost", secretFile: "echo.secret" }] }).components[0]!;
    assert.equal(await resolveSecret(entry, 0, dir), "pässwörd€");
  });

  test("a missing secret file names the field and the path", async () => {
    const entry = parseConfig({ components: [{ type: "echo", domain: "e.localhost", secretFile: "missing.secret" }] }).components[0]!;
    await assert.rejects(resolveSecret(entry, 0, "/nonexistent"), (err: ConfigError) => err.lines[0] === "components[0].secretFile: cannot read /nonexistent/missing.secret (ENOENT)");
  });

  test("secretEnv reads the environment and names a missing variable", async () => {
    const entry = parseConfig({ components: [{ type: "echo", domain: "e.localhost", secretEnv: "ECHO_SECRET" }] }).components[0]!;
    assert.equal(await resolveSecret(entry, 0, "/", { ECHO_SECRET: "x" }), "x");
    await assert.rejects(resolveSecret(entry, 0, "/", {}), (err: ConfigError) => err.lines[0] === "components[0].secretEnv: the environment variable ECHO_SECRET is not set");
  });
});

describe("component types", () => {
  test("an unknown type names the known ones and how to load your own", async () => {
    await assert.rejects(resolveComponentClass("ecko", { echo: async () => class {} }, "/", 2), (err: ConfigError) =>
      /^components\[2\]\.type: unknown component type "ecko" \(known: echo; for your own class use \{"module": "\.\/path\.js"\}\)$/.test(err.lines[0] ?? ""),
    );
  });

  test("a module that does not load, or has no @Component class, is named", async () => {
    await assert.rejects(resolveComponentClass({ module: "./missing.js" }, {}, "/tmp", 0), (err: ConfigError) => /components\[0\]\.type\.module: cannot load \/tmp\/missing\.js/.test(err.lines[0] ?? ""));
    const dir = await mkdtemp(join(tmpdir(), "annex-mod-"));
    await writeFile(join(dir, "plain.mjs"), "export class NotAComponent {}\n");
    await assert.rejects(resolveComponentClass({ module: "./plain.mjs" }, {}, dir, 0), /no export of .*plain\.mjs is a class decorated with @Component \(its exports: NotAComponent\)/);
  });

  test("a component's options are validated by its own schema, with the config path", () => {
    @Component({ identity: { category: "component", type: "generic" }, options: z.strictObject({ maxRooms: z.int().min(1).default(10) }) })
    class WithOptions {}
    assert.deepEqual(createHarness(WithOptions).host.config.options, { maxRooms: 10 });
    assert.throws(
      () => createHarness(WithOptions, { options: { maxRooms: 0 } }),
      (err: ConfigError) => err.lines.length === 1 && /^options\.maxRooms: .*found number 0/.test(err.lines[0] ?? ""),
    );
  });
});

test("ANNEX_VERSION matches package.json", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(ANNEX_VERSION, pkg.version);
});
