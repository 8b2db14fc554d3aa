import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import { freePort, ManagedEjabberd } from "annex/testing";
import { AnnexProcess, byId, logWhen, TestClient } from "./support.js";

const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/**
 * What docs/admin.md says about ejabberd_service, checked on ejabberd 23.01: three listeners on one server,
 * one with the default global_routes (true), one with false, one with a listener-wide password beside hosts.
 */
describe("ejabberd 23.01's ejabberd_service listener, as docs/admin.md describes it", () => {
  let server: ManagedEjabberd;
  let alice: TestClient;
  const ports = { legacy: 0, own: 0, shared: 0 };
  const running: AnnexProcess[] = [];

  before(async () => {
    ports.legacy = await freePort();
    ports.own = await freePort();
    ports.shared = await freePort();
    const yaml = `loglevel: info
hosts:
  - "localhost"
auth_method: internal
auth_password_format: plain
listen:
  - port: {{C2S_PORT}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
  # global_routes left at its default (true)
  - port: ${ports.legacy}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      "echo.localhost":
        password: "echo-secret"
      "other.localhost":
        password: "other-secret"
  - port: ${ports.own}
    ip: "127.0.0.1"
    module: ejabberd_service
    global_routes: false
    hosts:
      "echo2.localhost":
        password: "echo2-secret"
      "other2.localhost":
        password: "other2-secret"
  # a listener-wide password beside hosts
  - port: ${ports.shared}
    ip: "127.0.0.1"
    module: ejabberd_service
    global_routes: false
    password: "listener-secret"
    hosts:
      "listed.localhost":
        password: "listed-secret"
s2s_access: s2s
access_rules:
  s2s:
    deny: all
  c2s:
    allow: all
modules:
  mod_disco: {}
  mod_roster: {}
  mod_ping: {}
`;
    server = await ManagedEjabberd.start({ configYaml: yaml, ports: { component: ports.legacy } });
    await server.register("alice", "pw");
    alice = await TestClient.connect(server, "alice", "pw");
  });

  after(async () => {
    await alice?.stop();
    for (const p of running) await p.stop();
    await server?.stop();
  });

  const run = async (port: number, domain: string, secret: string, waitOnline = true) => {
    const p = await AnnexProcess.start({ server: { host: "127.0.0.1", port }, components: [{ type: "echo", domain, secret }] }, { waitOnline });
    running.push(p);
    return p;
  };

  test("global_routes true (the default): a connection for one host also gets the stanzas of the listener's other hosts, and Annex cannot answer them", async () => {
    const echo = await run(ports.legacy, "echo.localhost", "echo-secret");
    await alice.send(xml("message", { to: "other.localhost", type: "chat", id: "stray-1" }, xml("body", {}, "for other")));
    // The echo process receives it, and its reply (from other.localhost) is outside its domain: refused, logged.
    await echo.waitForOutput(/ANNEX_ERR_FOREIGN_FROM|outside the component's domain/, 5_000);
    assert.match(echo.output, /outbound 'from' other\.localhost is outside the component's domain echo\.localhost/);
    // alice gets no answer for other.localhost; the echo to echo.localhost still works.
    await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "own-1" }, xml("body", {}, "for echo")));
    assert.equal((await alice.waitFor(byId("own-1"))).attrs.from, "echo.localhost");
    assert.equal(alice.all(byId("stray-1")).length, 0, "no answer for the stray message");
  });

  test("global_routes false: only the authenticated domain is routed; a stanza for a host nobody connected bounces with an error", async () => {
    await run(ports.own, "echo2.localhost", "echo2-secret");
    await alice.send(xml("iq", { to: "other2.localhost", type: "get", id: "stray-2" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    const bounce = await alice.waitFor(byId("stray-2"), 5_000, "the bounce");
    assert.equal(bounce.attrs.type, "error", bounce.toString());
    // Unrouted, the domain counts as remote: it goes the s2s way, which this server denies (s2s_access).
    assert.ok(bounce.getChild("error")?.getChild("forbidden", STANZAS), bounce.toString());
    assert.equal(bounce.getChild("error")?.getChildText("text", STANZAS), "Access denied by service policy");
    await alice.send(xml("message", { to: "echo2.localhost", type: "chat", id: "own-2" }, xml("body", {}, "for echo2")));
    assert.equal((await alice.waitFor(byId("own-2"))).attrs.from, "echo2.localhost");
  });

  test("with hosts present, a listener-wide password admits no other domain: not-authorized (exit 78), logged as unconfigured", async () => {
    const listed = await run(ports.shared, "listed.localhost", "listed-secret");
    assert.match(listed.output, /all components online/);
    const unlisted = await run(ports.shared, "unlisted.localhost", "listener-secret", false);
    assert.equal(await unlisted.exited, 78, unlisted.output);
    assert.match(unlisted.output, /not-authorized/);
    assert.match(await logWhen(server, /unlisted\.localhost/), /Domain unlisted\.localhost is unconfigured for external component/);
  });
});

describe("ejabberd 23.01: a component domain that is a host, and domain_balancing", () => {
  let server: ManagedEjabberd;
  let port: number;
  const running: AnnexProcess[] = [];

  before(async () => {
    port = await freePort();
    const yaml = `loglevel: info
hosts:
  - "localhost"
  - "local.localhost"
listen:
  - port: {{C2S_PORT}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
  - port: ${port}
    ip: "127.0.0.1"
    module: ejabberd_service
    global_routes: false
    hosts:
      "local.localhost":
        password: "s"
      "bal.localhost":
        password: "s"
      "nobal.localhost":
        password: "s"
domain_balancing:
  "bal.localhost":
    type: source
    component_number: 2
  "nobal.localhost":
    type: source
access_rules:
  c2s:
    allow: all
modules:
  mod_disco: {}
  mod_roster: {}
`;
    server = await ManagedEjabberd.start({ configYaml: yaml, ports: { component: port } });
    await server.register("alice", "pw");
  });

  after(async () => {
    for (const p of running) await p.stop();
    await server?.stop();
  });

  const run = async (domain: string, waitOnline = true) => {
    const p = await AnnexProcess.start({ server: { host: "127.0.0.1", port }, components: [{ type: "echo", domain, secret: "s" }] }, { waitOnline });
    running.push(p);
    return p;
  };

  test("a component domain that is also an ejabberd host is refused with conflict, which Annex makes fatal (exit 78)", async () => {
    const local = await run("local.localhost", false);
    assert.equal(await local.exited, 78, local.output);
    assert.match(local.output, /^annex: conflict: ejabberd already serves local\.localhost as one of its own hosts/m);
    assert.doesNotMatch(local.output, /retryInMs|all components online/);
  });

  test("domain_balancing with component_number: two connections on one domain, every message answered once", async () => {
    await run("bal.localhost");
    await run("bal.localhost");
    const alice = await TestClient.connect(server, "alice", "pw");
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `bal-${i}`);
      for (const id of ids) await alice.send(xml("message", { to: "bal.localhost", type: "chat", id }, xml("body", {}, id)));
      for (const id of ids) await alice.waitFor(byId(id), 5_000, id);
      for (const id of ids) assert.equal(alice.all(byId(id)).length, 1);
    } finally {
      await alice.stop();
    }
  });

  test("domain_balancing without component_number: ejabberd 23.01 crashes the session (badkey component_number) and Annex never gets online", async () => {
    const nobal = await run("nobal.localhost", false);
    await nobal.waitForOutput(/"condition":"disconnected"/, 10_000);
    assert.doesNotMatch(nobal.output, /"msg":"online"/);
    assert.match(await logWhen(server, /badkey,component_number/), /\{badkey,component_number\}/);
  });
});
