import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { client, xml } from "@xmpp/client";
import type { Element } from "annex";
import { freePort, ManagedEjabberd, ManagedProsody } from "annex/testing";
import { ANNEX_BIN, AnnexProcess, byId, TestClient } from "./support.js";

const execFileAsync = promisify(execFile);

/** An Annex config with echo, a mirroring feed and pong publishing results, as an admin would write it. */
async function annexConfig(componentPort: number): Promise<{ path: string; config: unknown }> {
  const dir = await mkdtemp(join(tmpdir(), "annex-server-config-"));
  await writeFile(join(dir, "pong.secret"), "pong-sécret\n");
  const config = {
    server: { host: "127.0.0.1", port: componentPort },
    log: { level: "info" },
    components: [
      { type: "echo", domain: "echo.localhost", secret: "echo-secret" },
      { type: "feed", domain: "feed.localhost", secret: "feed-secret", options: { storage: "memory", nodes: { ticks: {} }, mirror: { service: "pubsub.localhost" } } },
      { type: "pong", domain: "pong.localhost", secretFile: join(dir, "pong.secret"), options: { resultsFeed: { service: "pubsub.localhost" } } },
    ],
  };
  const path = join(dir, "annex.config.json");
  await writeFile(path, JSON.stringify(config));
  return { path, config };
}

const annex = (...args: string[]) => execFileAsync(process.execPath, [ANNEX_BIN, ...args]);

describe("annex server-config", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("--server ejabberd: ejabberd 23.01 starts with exactly that output, the components connect, mirror may publish, a browser-style client logs in anonymously over WebSocket", async () => {
    const [componentPort, httpPort] = [await freePort(), await freePort()];
    const { path, config } = await annexConfig(componentPort);
    const { stdout: yaml } = await annex("server-config", "--config", path, "--server", "ejabberd", "--with-secrets", "--http-port", String(httpPort));
    assert.match(yaml, /module: ejabberd_service\n(.*\n)*? {4}global_routes: false/);
    assert.match(yaml, / {6}"pong\.localhost": {3}# pong\n {8}password: "pong-sécret"/);
    const server = await ManagedEjabberd.start({ configYaml: yaml, ports: { component: componentPort, http: httpPort } });
    cleanups.push(() => server.stop());
    const run = await AnnexProcess.start(config);
    cleanups.push(() => run.stop());
    // The mirror's start-up check publishes to and retracts from pubsub.localhost: the pubsub_createnode acl works.
    await run.waitForOutput(/mirror: may publish/, 15_000);
    assert.doesNotMatch(run.output, /cannot publish|refused/);

    // The pages' way in: XMPP over WebSocket (RFC 7395) to the anonymous host (SASL ANONYMOUS, RFC 4505).
    const visitor = client({ service: `ws://127.0.0.1:${httpPort}/xmpp-websocket`, domain: "anon.localhost" });
    visitor.reconnect.stop();
    visitor.on("error", () => undefined);
    const received: Element[] = [];
    visitor.on("stanza", (el: Element) => received.push(el));
    const jid = (await visitor.start()) as { domain: string };
    cleanups.push(() => visitor.stop().catch(() => undefined));
    assert.equal(jid.domain, "anon.localhost");
    await visitor.send(xml("message", { to: "echo.localhost", type: "chat", id: "ws-1" }, xml("body", {}, "über WebSocket")));
    const deadline = Date.now() + 5_000;
    while (!received.some(byId("ws-1")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const echo = received.find(byId("ws-1"));
    assert.equal(echo?.getChildText("body"), "über WebSocket");
    assert.equal(echo?.attrs.from, "echo.localhost");
  });

  test("--server prosody and the old name prosody-config print the same Component lines, and Prosody runs with them", async () => {
    const componentPort = await freePort();
    const { path } = await annexConfig(componentPort);
    const { stdout: lua } = await annex("server-config", "--config", path, "--server", "prosody", "--with-secrets");
    const { stdout: old } = await annex("prosody-config", "--config", path, "--with-secrets");
    assert.equal(lua, old);
    assert.match(lua, /Component "pong\.localhost"\n {2}component_secret = "pong-sécret"/);
    // The global lines go to the global section, the Component blocks after the VirtualHost.
    const [global, ...components] = lua.split("\n\n");
    const prosody = await ManagedProsody.start({ ports: { component: componentPort }, extraGlobal: global, extraHosts: components.join("\n\n"), users: [{ username: "alice", password: "pw" }] });
    cleanups.push(() => prosody.stop());
    const run = await AnnexProcess.start({ server: { host: "127.0.0.1", port: componentPort }, components: [{ type: "echo", domain: "echo.localhost", secret: "echo-secret" }] });
    cleanups.push(() => run.stop());
    const alice = await TestClient.connect(prosody, "alice", "pw");
    cleanups.push(() => alice.stop());
    await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "p-1" }, xml("body", {}, "hi")));
    assert.equal((await alice.waitFor(byId("p-1"))).getChildText("body"), "hi");
  });

  test("a bad --server or --http-port is a usage error (64) naming the choices", async () => {
    const { path } = await annexConfig(await freePort());
    await assert.rejects(annex("server-config", "--config", path, "--server", "openfire"), (err: { code: number; stderr: string }) => err.code === 64 && /--server must be one of prosody, ejabberd \(got "openfire"\)/.test(err.stderr));
    await assert.rejects(annex("server-config", "--config", path, "--server", "ejabberd", "--http-port", "http"), (err: { code: number; stderr: string }) => err.code === 64 && /--http-port must be a port number 1-65535 \(got "http"\)/.test(err.stderr));
  });
});
