import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { parseXml, stanzaForLog } from "annex";
import { Histogram, Registry } from "prom-client";
import { createLogger } from "../../src/ops/logger.js";
import { AnnexMetrics, PlainHistogram } from "../../src/ops/metrics.js";
import { Pipeline } from "../../src/pipeline/pipeline.js";
import { xml } from "../../src/stanza/xml.js";
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

describe("metrics", () => {
  test("handler durations scrape to the same text as prom-client's own Histogram for the same observations", async () => {
    const options = { name: "annex_handler_duration_seconds", help: "Time spent in each handler", labelNames: ["component", "handler", "outcome"] as const, buckets: [0.0005, 0.001, 0.0025, 0.5, 1, 2.5] };
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ ...options, labelNames: [...options.labelNames], registers: [theirs] });
    const plain = new PlainHistogram({ ...options, registry: ours });
    // Values on bucket bounds, between them, above the last one; series first seen in different orders.
    const values = [0.0001, 0.0005, 0.0007, 0.003, 0.3, 2.5, 7, 0];
    values.forEach((v, i) => {
      const labels = { component: "echo.localhost", handler: i % 2 ? "Echo.chat" : "Echo.ping", outcome: i % 3 ? "ok" : "error" };
      reference.labels(labels).observe(v);
      plain.labels(labels).observe(v);
    });
    plain.labels({ component: "echo.localhost", handler: "Echo.ping", outcome: "ok" }).observe(Number.NaN); // not a duration: ignored
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /annex_handler_duration_seconds_bucket\{le="\+Inf",component="echo.localhost",handler="Echo.chat",outcome="ok"\} 3/);
    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /_bucket/);
  });

  test("the dispatcher's handled hook counts each handler's outcomes apart", async () => {
    const metrics = new AnnexMetrics({ defaultMetrics: false });
    const hooks = metrics.hooksFor("echo.localhost");
    for (const [handler, outcome] of [["Echo.chat", "ok"], ["Echo.chat", "error"], ["Echo.chat", "ok"], ["Echo.ping", "error"]] as const) hooks.handled!(handler, "message", 0.001, outcome);
    const text = await metrics.registry.metrics();
    const count = (handler: string, outcome: string) => Number(new RegExp(`annex_handler_duration_seconds_count\\{component="echo.localhost",handler="${handler}",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    assert.deepEqual([count("Echo.chat", "ok"), count("Echo.chat", "error"), count("Echo.ping", "ok"), count("Echo.ping", "error")], [2, 1, 0, 1]);
  });
});

describe("outbound stanza counts", () => {
  const DOMAIN = "count.localhost";
  async function counted(metrics: AnnexMetrics): Promise<Record<string, number>> {
    const text = await metrics.registry.metrics();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/annex_stanzas_out_total\{component="count\.localhost",kind="(\w+)"\} (\d+)/g)) out[m[1]!] = Number(m[2]);
    for (const m of text.matchAll(/annex_stanza_errors_sent_total\{component="count\.localhost",condition="([\w-]+)"\} (\d+)/g)) out[`error ${m[1]}`] = Number(m[2]);
    return out;
  }
  const send = (outbound: Pipeline, sink: () => Promise<void>, stanza = xml("message", { to: "a@b" })) =>
    outbound.run({ stanza, direction: "outbound", domain: DOMAIN, send: () => Promise.resolve() }, sink);

  test("stanzas that share the link's batch promise are counted once it settles, each one; a refused batch counts none", async () => {
    const metrics = new AnnexMetrics({ defaultMetrics: false });
    const outbound = new Pipeline("outbound").use(metrics.middlewareFor(DOMAIN).outbound);
    let take!: () => void;
    const batch = new Promise<void>((resolve) => (take = resolve));
    const error = xml("message", { to: "a@b", type: "error" }, xml("error", { type: "cancel" }, xml("item-not-found", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" })));
    const results = [send(outbound, () => batch), send(outbound, () => batch, xml("presence", { to: "a@b" })), send(outbound, () => batch, error)];
    for (const r of results) assert.equal(r, batch, "the caller gets the link's own promise");
    assert.deepEqual(await counted(metrics), {}, "nothing counted before the link took them");
    take();
    await Promise.all(results);
    assert.deepEqual(await counted(metrics), { message: 2, presence: 1, "error item-not-found": 1 });

    const refused = Promise.reject(new Error("queue full"));
    await assert.rejects(send(outbound, () => refused), /queue full/);
    await assert.rejects(send(outbound, () => refused), /queue full/);
    assert.deepEqual(await counted(metrics), { message: 2, presence: 1, "error item-not-found": 1 });

    // A sink that hands out one settled promise again and again: each stanza is still counted.
    const settled = Promise.resolve();
    for (let i = 0; i < 3; i++) await send(outbound, () => settled);
    assert.deepEqual(await counted(metrics), { message: 5, presence: 1, "error item-not-found": 1 });
  });
});
