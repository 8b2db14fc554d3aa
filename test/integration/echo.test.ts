import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { xml } from "@xmpp/client";
import { type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const execFileAsync = promisify(execFile);
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
// A non-ASCII secret: @xmpp/component-core 0.13.1 alone fails the handshake with it (latin1 digest).
const SECRET = "sëcret-€-🔑";

describeEachServer("echo against a real server", (kind) => {
  let prosody: ManagedServer;
  let annex: AnnexProcess;
  let alice: TestClient;

  before(async () => {
    prosody = await startServer(kind, {
      components: [{ domain: "echo.localhost", secret: SECRET }],
      users: [
        { username: "alice", password: "alice-pw" },
        { username: "bob", password: "bob-pw" },
      ],
    });
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "debug" },
      components: [{ type: "echo", domain: "echo.localhost", secretFile: "echo.secret" }],
    }, { files: { "echo.secret": `${SECRET}\n` } });
    alice = await TestClient.connect(prosody, "alice", "alice-pw");
  });

  after(async () => {
    await alice?.stop();
    const code = await annex?.stop();
    await prosody?.stop();
    assert.equal(code, 0, `annex should stop cleanly on SIGTERM; output:\n${annex?.output}`);
    assert.ok(!annex.output.includes(SECRET), "the secret must never appear in the logs");
  });

  test("echoes a chat message with non-ASCII text, keeping type, id and thread", async () => {
    const body = "Grüße, 世界! 🎉 ǅ — ∑ 𝄞";
    await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "chat-1" }, xml("body", {}, body), xml("thread", {}, "th-1")));
    const reply = await alice.waitFor((el) => el.name === "message" && el.attrs.id === "chat-1", 5000, "the echo");
    assert.equal(reply.attrs.from, "echo.localhost");
    assert.equal(reply.attrs.type, "chat");
    assert.equal(reply.getChildText("body"), body);
    assert.equal(reply.getChildText("thread"), "th-1");
  });

  test("disco#info names the component and lists disco, ping, version and time", async () => {
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "disco-1" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
    const reply = await alice.waitFor(byId("disco-1"));
    assert.equal(reply.attrs.type, "result");
    const query = reply.getChild("query", "http://jabber.org/protocol/disco#info");
    assert.deepEqual(query?.getChild("identity")?.attrs, { category: "component", type: "generic", name: "Echo" });
    const features = query?.getChildren("feature").map((f) => f.attrs.var);
    for (const ns of ["http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time"]) {
      assert.ok(features?.includes(ns), `missing feature ${ns}`);
    }
  });

  test("answers ping and version", async () => {
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "ping-1" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    const pong = await alice.waitFor(byId("ping-1"));
    assert.equal(pong.attrs.type, "result");
    assert.equal(pong.attrs.from, "echo.localhost");
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "version-1" }, xml("query", { xmlns: "jabber:iq:version" })));
    const version = await alice.waitFor(byId("version-1"));
    assert.equal(version.getChild("query", "jabber:iq:version")?.getChildText("name"), "annex");
  });

  test("an IQ get in an unknown namespace gets exactly one service-unavailable", async () => {
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "unknown-1" }, xml("query", { xmlns: "urn:example:nobody-handles-this" })));
    const reply = await alice.waitFor(byId("unknown-1"));
    assert.equal(reply.attrs.type, "error");
    assert.ok(reply.getChild("error")?.getChild("service-unavailable", STANZAS));
    // A ping round trip after it proves nothing else was in flight for that id.
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "ping-after" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    await alice.waitFor(byId("ping-after"));
    assert.equal(alice.all(byId("unknown-1")).length, 1);
  });

  test("a malformed IQ (two children) gets bad-request", async () => {
    await alice.send(
      xml("iq", { to: "echo.localhost", type: "get", id: "malformed-1" }, xml("ping", { xmlns: "urn:xmpp:ping" }), xml("query", { xmlns: "jabber:iq:version" })),
    );
    const reply = await alice.waitFor(byId("malformed-1"));
    assert.equal(reply.attrs.type, "error");
    assert.ok(reply.getChild("error")?.getChild("bad-request", STANZAS), reply.toString());
    assert.equal(alice.all(byId("malformed-1")).length, 1);
  });

  test("an error message sent to echo gets no reply", async () => {
    await alice.send(
      xml("message", { to: "echo.localhost", type: "error", id: "err-1" }, xml("body", {}, "bounced"), xml("error", { type: "cancel" }, xml("item-not-found", { xmlns: STANZAS }))),
    );
    await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "after-err" }, xml("body", {}, "still there?")));
    await alice.waitFor(byId("after-err"));
    assert.equal(alice.all(byId("err-1")).length, 0);
  });

  test("a subscription request is approved and echo shows online", async () => {
    // Presence reaches only available resources (RFC 6121 §4.2), so alice says she is online first.
    await alice.send(xml("presence", {}));
    await alice.send(xml("presence", { to: "echo.localhost", type: "subscribe" }));
    const available = await alice.waitFor((el) => el.name === "presence" && el.attrs.from === "echo.localhost" && el.attrs.type === undefined, 5000, "echo's presence");
    assert.ok(available);
    // The server turns the component's "subscribed" into a roster change (RFC 6121 §3.1.6): echo is in alice's roster.
    await alice.send(xml("iq", { type: "get", id: "roster-1" }, xml("query", { xmlns: "jabber:iq:roster" })));
    const roster = await alice.waitFor(byId("roster-1"));
    const item = roster.getChild("query", "jabber:iq:roster")?.getChildren("item").find((i) => i.attrs.jid === "echo.localhost");
    assert.equal(item?.attrs.subscription, "to");
  });

  test("a second, independent client (slixmpp) gets its message echoed", async () => {
    const script = new URL("../../../test/integration/clients/slix_echo.py", import.meta.url).pathname;
    const { stdout } = await execFileAsync("/usr/bin/python3", [script, `127.0.0.1:${prosody.c2sPort}`, "bob@localhost", "bob-pw", "echo.localhost", "héllo from slixmpp ✓"], { timeout: 20_000 });
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"), { echoed: "héllo from slixmpp ✓", from: "echo.localhost" });
  });
});
