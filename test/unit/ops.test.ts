import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { parseXml, stanzaForLog } from "annex";
import { createLogger } from "../../src/ops/logger.js";
import { resolveConfig, SETTINGS } from "../../src/config/load.js";

describe("logs", () => {
  test("stanza bodies, subjects and form values are redacted for logs at info and above", () => {
    const stanza = parseXml("<message to='a@b'><subject>secret plans</subject><body>my password is hunter2</body><x xmlns='jabber:x:data'><field var='pin'><value>1234</value></field></x></message>");
    const text = stanzaForLog(stanza);
    assert.doesNotMatch(text, /hunter2|secret plans|1234/);
    assert.match(text, /<body>\[redacted 22 chars\]<\/body>/);
    assert.equal(stanza.getChildText("body"), "my password is hunter2", "the stanza itself is untouched");
  });

  test("secrets are redacted wherever they appear in a log line", () => {
    let out = "";
    const sink = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
    const log = createLogger("info", "never", sink as never);
    log.info({ secret: "s3cr3t", config: { secret: "x1", token: "t0k" }, password: "pw" }, "hello");
    assert.doesNotMatch(out, /s3cr3t|x1|t0k|"pw"/);
  });
});

describe("config sources", () => {
  test("every scalar setting has an env var and a flag derived from its path", () => {
    const port = SETTINGS.find((s) => s.path.join(".") === "server.reconnect.maxMs");
    assert.deepEqual([port?.env, port?.flag], ["ANNEX_SERVER_RECONNECT_MAX_MS", "server-reconnect-max-ms"]);
    assert.ok(SETTINGS.some((s) => s.flag === "metrics-port"));
    assert.ok(!SETTINGS.some((s) => s.path[0] === "components"), "components come from the file only");
  });

  test("file < environment < flags, and 'false' switches keepalive off", () => {
    const raw = { server: { port: 1000, timeoutMs: 100 }, components: [{ type: "echo", domain: "e.localhost", secret: "s" }] };
    const config = resolveConfig({ raw, env: { ANNEX_SERVER_PORT: "2000", ANNEX_SERVER_TIMEOUT_MS: "200", ANNEX_SERVER_KEEPALIVE: "false" }, flags: { "server-port": "3000" }, baseDir: "/" });
    assert.equal(config.server.port, 3000);
    assert.equal(config.server.timeoutMs, 200);
    assert.equal(config.server.keepalive, false);
    assert.equal(raw.server.port, 1000, "the file's object is not modified");
  });

  test("a bad flag value names the flag", () => {
    assert.throws(
      () => resolveConfig({ raw: { components: [{ type: "echo", domain: "e.localhost", secret: "s" }] }, flags: { "log-level": "loud" }, baseDir: "/" }),
      (err: { lines: string[] }) => /^log\.level: .*"loud".* \[from --log-level\]$/.test(err.lines[0] ?? ""),
    );
  });
});
