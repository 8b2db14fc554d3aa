import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCommand } from "../chat.js";
import { specName } from "../xep-names.js";
import { QUERY_TIMEOUT_MS, rig, USER } from "./setup.js";

async function say(r: ReturnType<typeof rig>, body: string, type = "chat"): Promise<string> {
  const sent = await r.h.inject(`<message type='${type}' id='m' from='${USER}' to='directory.localhost'><body>${body}</body></message>`);
  const replies = sent.filter((s) => s.name === "message" && s.attrs.to === USER);
  assert.equal(replies.length, 1, "exactly one answer");
  assert.equal(replies[0]!.attrs.type, type);
  return replies[0]!.getChildText("body") ?? "";
}

describe("directory chat", () => {
  test("help explains the commands", async (t) => {
    const text = await say(rig(t), "help");
    assert.match(text, /^I am a service directory for localhost\. Commands:/);
    for (const cmd of ["list", "info <jid> [node]", "items <jid> [node]", "help"]) assert.ok(text.includes(cmd), cmd);
    assert.ok(text.includes("refreshed every 5 min"));
  });

  test("list shows what was found, grouped, with unreachable entities and their errors", async (t) => {
    const text = await say(rig(t), "list");
    assert.match(text, /^Service directory, crawled \S+ in \d+ ms: 9 entities, 2 unreachable\./);
    assert.ok(text.includes("Hosted by this Annex process:\n  • directory.localhost (this directory) — Service directory [component/generic]\n  • sibling.localhost — Sibling [component/generic]"), text);
    assert.ok(text.includes("Found on localhost:\n  • localhost — Prosody [server/im]"), text);
    assert.ok(text.includes('  • pubsub.localhost — Prosody PubSub Service [pubsub/service]\n      – pubsub.localhost node "news" — News [pubsub/leaf]\n      – pubsub.localhost node "stocks" — Stock ticker [pubsub/leaf]'), text);
    assert.ok(text.includes("  • ghost.localhost — UNREACHABLE: remote-server-timeout: Component unavailable"), text);
    assert.ok(text.includes(`  • silent.localhost — UNREACHABLE: timeout: no reply from silent.localhost within ${QUERY_TIMEOUT_MS} ms`), text);
  });

  test("list shows a hosted component once, though the server lists it too", async (t) => {
    const text = await say(rig(t), "list");
    for (const jid of ["directory.localhost", "sibling.localhost"]) {
      assert.equal(text.split("\n").filter((l) => l.startsWith(`  • ${jid} `)).length, 1, `${jid} once:\n${text}`);
    }
    assert.ok(text.includes("\n  (and the 1 hosted above)"), text);
  });

  test("info asks the entity now and names the XEPs of its features", async (t) => {
    const r = rig(t);
    const text = await say(r, "info pubsub.localhost");
    assert.equal(
      text,
      [
        "pubsub.localhost:",
        "Identities (1):",
        "  • Prosody PubSub Service [pubsub/service]",
        "Features (3):",
        "  • http://jabber.org/protocol/disco#info (XEP-0030: Service Discovery (info))",
        "  • http://jabber.org/protocol/pubsub (XEP-0060: Publish-Subscribe)",
        "  • http://jabber.org/protocol/pubsub#publish (XEP-0060: Publish-Subscribe (publish))",
      ].join("\n"),
    );
    assert.ok(r.net.asked.includes("info pubsub.localhost"));
  });

  test("info with a node, and an entity's extended information form", async (t) => {
    const r = rig(t);
    r.net.set("server.example#caps", {
      info: `<identity category='server' type='im'/><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/network/serverinfo</value></field><field var='admin-addresses'><value>mailto:a@example</value></field></x>`,
    });
    const text = await say(r, "info server.example caps");
    assert.ok(text.startsWith('server.example node "caps":\nIdentities (1):\n  • [server/im]\nFeatures (0):\nExtended information (XEP-0128):'), text);
    assert.ok(text.includes("  • FORM_TYPE: http://jabber.org/network/serverinfo\n  • admin-addresses: mailto:a@example"), text);
  });

  test("info on a JID that does not answer reports the timeout", async (t) => {
    const text = await say(rig(t), "info silent.localhost");
    assert.equal(text, `silent.localhost did not answer disco#info: timeout: no reply from silent.localhost within ${QUERY_TIMEOUT_MS} ms`);
  });

  test("info on a JID that answers with an error reports it", async (t) => {
    const text = await say(rig(t), "info ghost.localhost");
    assert.equal(text, "ghost.localhost did not answer disco#info: remote-server-timeout: Component unavailable");
  });

  test("items lists an entity's items, with nodes and names", async (t) => {
    const r = rig(t);
    assert.equal(await say(r, "items pubsub.localhost"), 'Items of pubsub.localhost (2):\n  • pubsub.localhost node "stocks" — Stock ticker\n  • pubsub.localhost node "news"');
    r.net.set("pubsub.localhost#stocks", { items: "" });
    assert.equal(await say(r, "ITEMS pubsub.localhost stocks", "normal"), 'pubsub.localhost node "stocks" lists no items.');
    assert.equal(await say(r, "items silent.localhost"), `silent.localhost did not answer disco#items: timeout: no reply from silent.localhost within ${QUERY_TIMEOUT_MS} ms`);
  });

  for (const [body, problem] of [
    ["frobnicate", 'Unknown command "frobnicate".'],
    ["info", '"info" needs a JID, e.g. "info pubsub.localhost".'],
    ["items @bad", '"@bad" is not a valid JID.'],
    ["list everything", '"list" takes no arguments.'],
    ["   ", "The message was empty."],
  ]) {
    test(`a malformed command (${JSON.stringify(body)}) gets what is wrong and the help text`, async (t) => {
      const text = await say(rig(t), body!);
      assert.ok(text.startsWith(`${problem}\n\nI am a service directory`), text);
    });
  }

  test("an error message, a headline or a groupchat gets no answer", async (t) => {
    const r = rig(t);
    for (const s of [
      `<message type='error' from='${USER}'><body>list</body><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
      `<message type='headline' from='${USER}'><body>list</body></message>`,
      `<message type='groupchat' from='${USER}'><body>list</body></message>`,
    ]) {
      assert.deepEqual(await r.h.inject(s), [], s);
    }
  });

  test("parseCommand keeps the rest of the line as the node", () => {
    assert.deepEqual(parseCommand("info pubsub.localhost a node with spaces "), { name: "info", jid: "pubsub.localhost", node: "a node with spaces" });
    assert.deepEqual(parseCommand("  Help "), { name: "help" });
  });

  test("the XEP table knows exact namespaces and pubsub/muc feature families, and nothing it should not", () => {
    assert.equal(specName("urn:xmpp:ping"), "XEP-0199: XMPP Ping");
    assert.equal(specName("http://jabber.org/protocol/muc#unmoderated"), "XEP-0045: Multi-User Chat (unmoderated)");
    assert.equal(specName("urn:example:unknown"), undefined);
    assert.equal(specName("http://example.com/x#y"), undefined);
  });
});
