import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { xml } from "@xmpp/client";
import { freePort, type ManagedServer, startServer } from "annex/testing";
import { dashboardQueries, exposedNames, metricNames } from "./promql.js";
import { ANNEX_BIN, AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const execFileAsync = promisify(execFile);
const REPO = resolve(new URL("../../../", import.meta.url).pathname);

/** The value of one series in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

describeEachServer("metrics and health against a real server", (kind) => {
  let server: ManagedServer;
  let annex: AnnexProcess;
  let alice: TestClient;
  let metricsPort: number;
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();

  before(async () => {
    server = await startServer(kind, { components: [{ domain: "echo.localhost", secret: "s" }], users: [{ username: "alice", password: "pw" }] });
    metricsPort = await freePort();
    annex = await AnnexProcess.start(
      { server: { port: server.componentPort, reconnect: { initialMs: 100, maxMs: 500 } }, components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] },
      { env: { ANNEX_METRICS_PORT: String(metricsPort) } },
    );
    alice = await TestClient.connect(server, "alice", "pw");
  });

  after(async () => {
    await alice?.stop();
    await annex?.stop();
    await server?.stop();
  });

  test("/metrics counters move by exactly what flowed", async () => {
    const before = await scrape();
    const labels = { component: "echo.localhost", kind: "message" };
    for (let i = 0; i < 7; i++) await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: `m${i}` }, xml("body", {}, `n${i}`)));
    await alice.waitFor(byId("m6"));
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "unknown" }, xml("query", { xmlns: "urn:nobody" })));
    await alice.waitFor(byId("unknown"));
    const after = await scrape();
    assert.equal(sample(after, "annex_stanzas_in_total", labels) - sample(before, "annex_stanzas_in_total", labels), 7);
    assert.equal(sample(after, "annex_stanzas_out_total", labels) - sample(before, "annex_stanzas_out_total", labels), 7);
    const handler = { component: "echo.localhost", handler: "Echo.echo", outcome: "ok" };
    assert.equal(sample(after, "annex_handler_duration_seconds_count", handler) - sample(before, "annex_handler_duration_seconds_count", handler), 7);
    const errors = { component: "echo.localhost", condition: "service-unavailable" };
    assert.equal(sample(after, "annex_stanza_errors_sent_total", errors) - sample(before, "annex_stanza_errors_sent_total", errors), 1);
    assert.equal(sample(after, "annex_connection_state", { component: "echo.localhost", state: "online" }), 1);
    // Node.js and process metrics under their conventional, unprefixed names (what stock dashboards query).
    assert.match(after, /^process_resident_memory_bytes \d+/m, "default process metrics are on");
    assert.match(after, /^nodejs_heap_size_used_bytes \d+/m);
    assert.match(after, /^process_cpu_seconds_total \d/m);
    assert.doesNotMatch(after, /^annex_(process|nodejs)_/m, "Annex's prefix is only on Annex's own series");
    assert.equal(sample(after, "annex_dispatch_queued", { component: "echo.localhost" }), 0, "nothing waits for a handler when idle");
    assert.match(after, /annex_handlers_in_flight\{component="echo\.localhost"\} 0/);
  });

  test("/healthz is 200 while online, 503 naming the component while the server is down, 200 again after", async () => {
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(ok.status, 200);
    await server.kill();
    let down: Response | undefined;
    for (let i = 0; i < 50 && down?.status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      down = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    }
    assert.equal(down?.status, 503);
    const body = (await down?.json()) as { notOnline: string[] };
    assert.deepEqual(body.notOnline, ["echo.localhost"]);
    await server.launch();
    let back: Response | undefined;
    for (let i = 0; i < 100 && back?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    }
    assert.equal(back?.status, 200);
    const text = await scrape();
    assert.ok(sample(text, "annex_reconnects_total", { component: "echo.localhost" }) >= 1);
    await alice.stop();
    alice = await TestClient.connect(server, "alice", "pw");
  });

  test("every series the Grafana dashboard (docs/grafana/annex.json) queries exists in the live /metrics", async () => {
    const dashboard = JSON.parse(await readFile(join(REPO, "docs", "grafana", "annex.json"), "utf8")) as unknown;
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 15, `the dashboard has its queries (found ${queries.length})`);
    const exposed = exposedNames(await scrape());
    const used = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric name found in ${expr}`);
      for (const name of names) {
        used.add(name);
        assert.ok(exposed.has(name), `${where}: ${name} is not in /metrics (query: ${expr})`);
      }
    }
    // What the dashboard promises to show: traffic, errors, queues, latency, links, and the Node.js process.
    for (const name of ["annex_stanzas_in_total", "annex_stanzas_out_total", "annex_stanza_errors_sent_total", "annex_dispatch_queued", "annex_handler_duration_seconds_bucket", "annex_reconnects_total", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes", "process_cpu_seconds_total"]) {
      assert.ok(used.has(name), `the dashboard queries ${name}`);
    }
  });
});

describe("configuration sources", () => {
  test("flags override environment variables, which override the file", async () => {
    const config = { server: { port: 5000, timeoutMs: 1000 }, log: { level: "warn" }, components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] };
    const p = await AnnexProcess.start(config, {
      command: ["config", "print"],
      waitOnline: false,
      env: { ANNEX_SERVER_PORT: "6000", ANNEX_SERVER_TIMEOUT_MS: "2000", ANNEX_LOG_LEVEL: "debug" },
      args: ["--server-port", "7000"],
    });
    assert.equal(await p.exited, 0, p.output);
    const printed = JSON.parse(p.output) as { server: { port: number; timeoutMs: number; host: string }; log: { level: string }; components: { secret: string }[] };
    assert.equal(printed.server.port, 7000, "flag beats environment");
    assert.equal(printed.server.timeoutMs, 2000, "environment beats file");
    assert.equal(printed.server.host, "127.0.0.1", "file (default) when nobody overrides");
    assert.equal(printed.log.level, "debug");
    assert.equal(printed.components[0]?.secret, "[redacted]");
  });

  test("a bad value from the environment is named by its variable", async () => {
    const p = await AnnexProcess.start({ components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] }, { command: ["config", "check"], waitOnline: false, env: { ANNEX_SERVER_PORT: "fifty" } });
    assert.equal(await p.exited, 78);
    assert.match(p.output, /server\.port: expected number, found string "fifty" \[from ANNEX_SERVER_PORT\]/);
  });
});

/** doctor's fix for a refused handshake, in the words of the server that refused it. */
const REFUSED_FIX = {
  prosody: {
    wrongSecret: /FAIL the handshake failed \(not-authorized\)\n\s+fix: Prosody rejected the secret for echo\.localhost: check that the component's secret matches component_secret/,
    unknownDomain: /FAIL the handshake failed \(host-unknown\)\n\s+fix: .*add Component "missing\.localhost"/,
  },
  // ejabberd 23.01 answers a domain missing from the listener's hosts with not-authorized too (docs/admin.md).
  ejabberd: {
    wrongSecret: /FAIL the handshake failed \(not-authorized\)\n\s+fix: ejabberd refused echo\.localhost: check that echo\.localhost is listed under hosts of the ejabberd_service listener on that port, with password equal to the component's secret/,
    unknownDomain: /FAIL the handshake failed \(not-authorized\)\n\s+fix: ejabberd refused missing\.localhost: check that missing\.localhost is listed under hosts of the ejabberd_service listener/,
  },
} as const;

describeEachServer("annex doctor", (kind) => {
  let server: ManagedServer;
  before(async () => {
    server = await startServer(kind, { components: [{ domain: "echo.localhost", secret: "right" }] });
  });
  after(async () => {
    await server?.stop();
  });

  test("passes on a good setup", async () => {
    const p = await AnnexProcess.start({ server: { port: server.componentPort }, components: [{ type: "echo", domain: "echo.localhost", secret: "right" }] }, { command: ["doctor"], waitOnline: false });
    assert.equal(await p.exited, 0, p.output);
    assert.match(p.output, /ok {3}the handshake is accepted/);
    assert.match(p.output, /ok {3}localhost lists echo\.localhost in its disco#items/);
  });

  test("names the wrong secret and its fix", async () => {
    const p = await AnnexProcess.start({ server: { port: server.componentPort }, components: [{ type: "echo", domain: "echo.localhost", secret: "wrong" }] }, { command: ["doctor"], waitOnline: false });
    assert.equal(await p.exited, 78, p.output);
    assert.match(p.output, REFUSED_FIX[kind].wrongSecret);
    assert.ok(!p.output.includes("wrong"), "the secret is not printed");
  });

  test("names the domain the server does not know and its fix", async () => {
    const p = await AnnexProcess.start({ server: { port: server.componentPort }, components: [{ type: "echo", domain: "missing.localhost", secret: "x" }] }, { command: ["doctor"], waitOnline: false });
    assert.equal(await p.exited, 78, p.output);
    assert.match(p.output, REFUSED_FIX[kind].unknownDomain);
  });
});

describe("annex doctor without a server", () => {

  test("says when nothing listens on the component port", async () => {
    const port = await freePort();
    const p = await AnnexProcess.start({ server: { port }, components: [{ type: "echo", domain: "echo.localhost", secret: "x" }] }, { command: ["doctor"], waitOnline: false });
    assert.equal(await p.exited, 78);
    assert.match(p.output, new RegExp(`FAIL nothing accepts connections on 127\\.0\\.0\\.1:${port}\\n\\s+fix: start the server, and check its component listener: Prosody: component_ports`));
  });
});

describe("annex new", () => {
  test("a standalone component builds and its generated test passes as generated", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "annex-new-")), "demo");
    const created = await execFileAsync(process.execPath, [ANNEX_BIN, "new", "demo", "--standalone", "--dir", dir]);
    assert.match(created.stdout, /created .*demo/);
    // What `npm install` would do, offline: link this Annex and the toolchain's types.
    await mkdir(join(dir, "node_modules", "@types"), { recursive: true });
    await symlink(REPO, join(dir, "node_modules", "annex"));
    await symlink(join(REPO, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
    await execFileAsync(process.execPath, [join(REPO, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")]);
    // A test runner inside a test run reports to its parent unless NODE_TEST_CONTEXT is cleared.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const { stdout } = await execFileAsync(process.execPath, ["--test", "--test-reporter=tap", join(dir, "dist", "test", "demo.test.js")], { env });
    assert.match(stdout, /# pass 3/);
    assert.match(stdout, /# fail 0/);
  });

  test("refuses a bad name and an existing folder", async () => {
    await assert.rejects(execFileAsync(process.execPath, [ANNEX_BIN, "new", "Bad_Name"]), (err: { code: number; stderr: string }) => err.code === 64 && /lower-case letters/.test(err.stderr));
    const dir = await mkdtemp(join(tmpdir(), "annex-new-"));
    await assert.rejects(execFileAsync(process.execPath, [ANNEX_BIN, "new", "x", "--dir", dir]), (err: { code: number; stderr: string }) => err.code === 1 && /already exists/.test(err.stderr));
  });
});
