import assert from "node:assert/strict";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Component, ConfigError, ErrorCode, Message, resolveConfig, runCli, Runner, Service, type CliIo } from "annex";
import { createHarness } from "annex/testing";
import { pino } from "pino";
import { z } from "zod";
import { COMMANDS } from "../../src/cli/usage.js";
import { editDistance, suggestKey } from "../../src/config/errors.js";
import { findJsonSyntaxError } from "../../src/config/json.js";
import { loadConfigFile, parseConfig } from "../../src/config/load.js";
import { configErrorLines } from "./config-errors.js";

// Item 5 of issue 14: each message a newcomer meets names the place, what is wrong and the fix.

const silent = pino({ level: "silent" });


async function rejectedLines(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.lines;
  }
  assert.fail("expected a ConfigError");
}

@Component({ identity: { category: "component", type: "generic" } })
class Plain {
  @Message({ type: "chat" })
  chat() {}
}

describe("a mistyped key gets the closest valid key, at every level of the schema", () => {
  test("top level, server, its nested objects and unions, each component and its nested objects", () => {
    const lines = configErrorLines(() =>
      parseConfig({
        sever: {},
        server: { prot: 5347, reconnect: { maxms: 1000 }, keepalive: { intervalMS: 5000 }, tls: { caFle: "ca.pem" } },
        shutdown: { drainMS: 10 },
        log: { levl: "info" },
        metrics: { prot: 9464 },
        components: [
          { type: "echo", domain: "a.localhost", secret: "s", maxInflight: 8, maxqueued: 10, optoins: {}, log: { levle: "debug" }, builtins: { pings: false } },
          { type: { modul: "./mine.js" }, domain: "b.localhost", secretfile: "b.secret" },
        ],
      }),
    );
    for (const expected of [
      '(top level): unknown key "sever" (did you mean "server"?)',
      'server: unknown key "prot" (did you mean "port"?)',
      'server.reconnect: unknown key "maxms" (did you mean "maxMs"?)',
      'server.keepalive: unknown key "intervalMS" (did you mean "intervalMs"?)',
      'server.tls: unknown key "caFle" (did you mean "caFile"?)',
      'shutdown: unknown key "drainMS" (did you mean "drainMs"?)',
      'log: unknown key "levl" (did you mean "level"?)',
      'metrics: unknown key "prot" (did you mean "port"?)',
      'components[0]: unknown key "maxInflight" (did you mean "maxInFlight"?)',
      'components[0]: unknown key "maxqueued" (did you mean "maxQueued"?)',
      'components[0]: unknown key "optoins" (did you mean "options"?)',
      'components[0].log: unknown key "levle" (did you mean "level"?)',
      'components[0].builtins: unknown key "pings" (did you mean "ping"?)',
      'components[1].type: unknown key "modul" (did you mean "module"?)',
      'components[1]: unknown key "secretfile" (did you mean "secretFile"?)',
    ]) {
      assert.ok(lines.includes(expected), `missing: ${expected}\nin:\n${lines.join("\n")}`);
    }
  });

  test("a key that is no near miss lists the keys that object takes", () => {
    const lines = configErrorLines(() => parseConfig({ metrics: { colour: "red" }, components: [{ type: "echo", domain: "a.localhost", secret: "s" }] }));
    assert.deepEqual(lines, ['metrics: unknown key "colour" (expected one of "host", "port")']);
  });

  test("a component's own options schema, at its nested levels too", () => {
    @Component({
      identity: { category: "component", type: "generic" },
      options: z.strictObject({ maxRooms: z.int().default(10), limits: z.strictObject({ perUser: z.int().default(1) }).default({ perUser: 1 }) }),
    })
    class Rooms {}
    const lines = configErrorLines(() => createHarness(Rooms, { options: { maxroom: 3, limits: { perUsr: 2 } } }));
    assert.deepEqual(lines.sort(), ['options.limits: unknown key "perUsr" (did you mean "perUser"?)', 'options: unknown key "maxroom" (did you mean "maxRooms"?)']);
  });

  test("a plugin name in plugins: the nearest plugin of the component", () => {
    const lines = configErrorLines(() => createHarness(Plain, { plugins: { pnig: {} } }));
    assert.deepEqual(lines, ['plugins.pnig: Plain has no plugin "pnig": did you mean "ping"? (its plugins: caps, disco, ping, time, version)']);
  });

  test("wrong kinds of value for a union say what each branch takes", () => {
    const lines = configErrorLines(() => parseConfig({ server: { keepalive: true, tls: "yes" }, components: [{ type: "echo", domain: "a.localhost", secret: "s" }] }));
    assert.deepEqual(lines, ["server.keepalive: expected false or object, found boolean true", 'server.tls: expected false or object, found string "yes"']);
  });

  test("the distance: case and one slip are near, another word is not", () => {
    assert.equal(editDistance("maxinflight", "maxinflight"), 0);
    assert.equal(editDistance("prot", "port"), 1, "a transposition is one edit");
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(suggestKey("maxInflight", ["maxInFlight", "maxQueued"]), ' (did you mean "maxInFlight"?)');
    assert.equal(suggestKey("colour", ["log", "type"]), ' (expected one of "log", "type")');
    assert.equal(suggestKey("x", []), "");
  });
});

describe("a config file that is not JSON: line and column", () => {
  const cases: [string, string, string][] = [
    ["trailing comma", '{\n  "components": [\n    { "type": "echo", },\n  ]\n}\n', '3:21: not valid JSON: a trailing comma is not allowed in JSON: remove the comma before }'],
    ["comment", '{\n  // the echo component\n  "components": []\n}\n', "2:3: not valid JSON: comments are not allowed in JSON: remove it"],
    ["unquoted key", "{ components: [] }", "1:3: not valid JSON: property names take double quotes in JSON"],
    ["single quotes", "{\n\t'components': []\n}", "2:2: not valid JSON: property names take double quotes in JSON, not single quotes"],
    ["missing comma", '{\n  "a": 1\n  "b": 2\n}', '3:3: not valid JSON: expected "," or "}" after a property value, found "\\""'],
    ["missing value", '{"a": }', '1:7: not valid JSON: expected a value (a string, number, object, array, true, false or null), found "}"'],
    ["cut short", '{"components": [', "1:17: not valid JSON: expected a value (a string, number, object, array, true, false or null), found the end of the file"],
    ["open string", '{"a": "b\n}', '1:7: not valid JSON: this string is not closed: add the closing double quote'],
    ["two values", "{}\n{}", "2:1: not valid JSON: expected the end of the file after the top-level value, found \"{\""],
  ];
  for (const [what, text, message] of cases) {
    test(what, async () => {
      assert.throws(() => JSON.parse(text), "JSON.parse refuses it too");
      const dir = await mkdtemp(join(tmpdir(), "annex-json-"));
      const file = join(dir, "annex.config.json");
      await writeFile(file, text);
      assert.deepEqual(await rejectedLines(loadConfigFile(file)), [`${file}:${message}`]);
    });
  }

  test("valid JSON (with a byte order mark, escapes, numbers, nesting) is valid to the scanner too", async () => {
    for (const text of ['{"a":[1,-2.5e3,true,false,null,{"b":"\\u00e9\\n\\"x\\""}]}', " [ ] ", '"just a string"', "0"]) {
      JSON.parse(text);
      assert.equal(findJsonSyntaxError(text), undefined, text);
    }
    const dir = await mkdtemp(join(tmpdir(), "annex-json-"));
    await writeFile(join(dir, "bom.json"), '\uFEFF{"components":[{"type":"echo","domain":"a.localhost","secret":"s"}]}');
    assert.equal((await loadConfigFile(join(dir, "bom.json"))).components.length, 1);
  });
});

describe("every secret, file, module and options problem of a config in one pass", () => {
  test("Runner.create lists them all, one line each, in config order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-pass-"));
    const config = resolveConfig({
      raw: {
        server: { tls: { caFile: "missing-ca.pem" } },
        components: [
          { type: "plain", domain: "a.localhost", secretFile: "a.secret", options: { greeting: "hi" } },
          { type: "plian", domain: "b.localhost", secretEnv: "ANNEX_TEST_NO_SUCH_VARIABLE", standby: { postgresEnv: "ANNEX_TEST_NO_SUCH_PG_URL" } },
          { type: { module: "./nowhere.js" }, domain: "c.localhost", secret: "s" },
        ],
      },
      baseDir: dir,
    });
    const lines = await rejectedLines(Runner.create(config, { catalogue: { plain: async () => Plain }, log: silent }));
    assert.deepEqual(lines, [
      `server.tls.caFile: cannot read ${join(dir, "missing-ca.pem")} (ENOENT)`,
      `components[0].secretFile: cannot read ${join(dir, "a.secret")} (ENOENT)`,
      'components[0].options: plain takes no options (it declares no options schema), found key "greeting": remove "options", or check the component type',
      'components[1].type: unknown component type "plian" (known: plain; for your own class use {"module": "./path.js"})',
      "components[1].secretEnv: the environment variable ANNEX_TEST_NO_SUCH_VARIABLE is not set",
      "components[1].standby.postgresEnv: the environment variable ANNEX_TEST_NO_SUCH_PG_URL is not set",
      `components[2].type.module: cannot load ${join(dir, "nowhere.js")} (Cannot find module '${join(dir, "nowhere.js")}' imported from ${new URL("../../src/runtime/catalogue.js", import.meta.url).pathname})`,
    ]);
  });
});

describe("every unreadable secret of server-config --with-secrets in one pass", () => {
  test("both missing secret files are listed, exit 78", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-sc-"));
    const file = join(dir, "annex.config.json");
    await writeFile(file, JSON.stringify({ components: [{ type: "echo", domain: "a.localhost", secretFile: "a.secret" }, { type: "echo", domain: "b.localhost", secretEnv: "ANNEX_TEST_NO_SUCH_VARIABLE" }] }));
    const lines: string[] = [];
    assert.equal(await runCli(["server-config", "--config", file, "--with-secrets"], {}, { out: (l) => lines.push(l), err: (l) => lines.push(l) }, {}), 78);
    assert.equal(
      lines.join("\n"),
      `annex: the configuration is not valid:\n  components[0].secretFile: cannot read ${join(dir, "a.secret")} (ENOENT)\n  components[1].secretEnv: the environment variable ANNEX_TEST_NO_SUCH_VARIABLE is not set`,
    );
  });
});

describe("a component without an options schema", () => {
  test("refuses non-empty options, naming the component and the fix; empty options pass", () => {
    const lines = configErrorLines(() => createHarness(Plain, { options: { greting: "hi", extra: 1 } }));
    assert.deepEqual(lines, ['options: Plain takes no options (it declares no options schema), found keys "greting", "extra": remove "options", or check the component type']);
    assert.deepEqual(createHarness(Plain, { options: {} }).host.config.options, {});
    assert.deepEqual(createHarness(Plain).host.config.options, {});
  });
});

describe("a throwing onStart", () => {
  test("names the component's domain and the class, keeps what it threw as the cause", async () => {
    @Service()
    class Database {
      onStart() {
        throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      }
    }
    @Component({ identity: { category: "component", type: "generic" }, providers: [Database] })
    class Store {}
    const h = createHarness(Store, { domain: "store.localhost" });
    await assert.rejects(h.start(), (err: Error & { code?: string; cause?: unknown }) => {
      assert.equal(err.code, ErrorCode.StartFailed);
      assert.equal(err.message, "store.localhost: Database.onStart() failed, so the component does not start: connect ECONNREFUSED 127.0.0.1:5432");
      assert.match(String(err.cause), /ECONNREFUSED/);
      return true;
    });
  });
});

describe("the metrics port taken", () => {
  test("Runner.start says metrics.port, the address and the fix, as a config error", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const config = resolveConfig({ raw: { metrics: { port }, components: [{ type: "plain", domain: "a.localhost", secret: "s" }] }, baseDir: "/" });
      const runner = await Runner.create(config, { catalogue: { plain: async () => Plain }, log: silent });
      try {
        assert.deepEqual(await rejectedLines(runner.start()), [
          `metrics.port: 127.0.0.1:${port} is already in use by another process (EADDRINUSE): set metrics.port (or ANNEX_METRICS_PORT, --metrics-port) to a free port, or 0 to serve no metrics`,
        ]);
      } finally {
        await runner.stop({ drainMs: 0 });
      }
    } finally {
      holder.close();
    }
  });
});

describe("annex <command> --help prints that command's usage", () => {
  function capture(): CliIo & { text: () => string } {
    const lines: string[] = [];
    return { out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`), text: () => lines.join("\n") };
  }

  for (const command of COMMANDS) {
    test(`annex ${command.name} --help`, async () => {
      const io = capture();
      assert.equal(await runCli([...command.name.split(" "), "--help"], {}, io), 0);
      const text = io.text();
      assert.ok(text.startsWith(`Usage:\n  annex ${command.name} `), text);
      for (const [flag] of command.flags) assert.ok(text.includes(flag), `lists ${flag}`);
      for (const other of COMMANDS.filter((c) => c.name !== command.name)) assert.ok(!text.includes(`annex ${other.name} `), `not the usage of ${other.name}:\n${text}`);
      assert.ok(!text.includes("ANNEX_SERVER_PORT"), "not the global settings list");
      const viaHelp = capture();
      assert.equal(await runCli(["help", ...command.name.split(" ")], {}, viaHelp), 0);
      assert.equal(viaHelp.text(), text, "annex help <command> is the same");
    });
  }

  test("annex new <name> --help writes nothing; -h works; annex config --help shows both subcommands", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-help-"));
    const io = capture();
    assert.equal(await runCli(["new", "weather", "--dir", join(dir, "weather"), "-h"], {}, io), 0);
    assert.match(io.text(), /^Usage:\n {2}annex new <name>/);
    assert.deepEqual(await readdir(dir), [], "nothing was created");
    const config = capture();
    assert.equal(await runCli(["config", "--help"], {}, config), 0);
    assert.match(config.text(), /annex config check --config <file>[\s\S]*annex config print --config <file>/);
  });

  test("a usage error shows that command's usage; the global --help still lists every command and setting", async () => {
    const io = capture();
    assert.equal(await runCli(["doctor"], {}, io), 64);
    assert.match(io.text(), /^ERR annex doctor: --config <file> is required\n\nUsage:\n {2}annex doctor --config <file>\n/);
    assert.ok(!io.text().includes("annex run "));
    const global = capture();
    assert.equal(await runCli(["--help"], {}, global), 0);
    for (const command of COMMANDS) assert.ok(global.text().includes(`annex ${command.name} `), command.name);
    assert.match(global.text(), /ANNEX_SERVER_PORT/);
  });

  test("an unknown command names the nearest one", async () => {
    const io = capture();
    assert.equal(await runCli(["doctr", "--config", "x.json"], {}, io), 64);
    assert.match(io.text(), /^ERR annex: unknown command "doctr" \(did you mean "doctor"\?\)/);
    const sub = capture();
    assert.equal(await runCli(["config", "chek", "--config", "x.json"], {}, sub), 64);
    assert.match(sub.text(), /^ERR annex: unknown command "config chek" \(did you mean "check"\?\)/);
  });
});
