import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CAPS_NODE, capsVer } from "annex";
import { assertXmlEqual, createHarness, type Harness } from "annex/testing";
import { Echo } from "./echo.js";

const alice = "alice@localhost/phone";

describe("echo", () => {
  test("echoes a chat message with the same type, id and thread", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const out = await h.inject(`<message type='chat' id='e1' from='${alice}' to='echo.localhost'><body>héllo 🌍</body><thread parent='p'>t1</thread></message>`);
    assert.equal(out.length, 1);
    assertXmlEqual(out[0], `<message type='chat' id='e1' from='echo.localhost' to='${alice}'><body>héllo 🌍</body><thread parent='p'>t1</thread></message>`);
  });

  test("echoes normal messages, including ones without a type (RFC 6121 §5.2.2)", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const [typed] = await h.inject(`<message type='normal' from='${alice}'><body>a</body></message>`);
    const [untyped] = await h.inject(`<message from='${alice}'><body>b</body></message>`);
    assert.equal(typed?.attrs.type, "normal");
    assert.equal(untyped?.attrs.type, "normal");
    assert.equal(untyped?.getChildText("body"), "b");
  });

  test("answers from the address it was sent to", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const [reply] = await h.inject(`<message type='chat' from='${alice}' to='bot@echo.localhost'><body>x</body></message>`);
    assert.equal(reply?.attrs.from, "bot@echo.localhost");
  });

  test("ignores messages without a body, headlines, groupchat and errors", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    for (const s of [
      `<message type='chat' from='${alice}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
      `<message type='headline' from='${alice}'><body>news</body></message>`,
      `<message type='groupchat' from='${alice}'><body>all</body></message>`,
      `<message type='error' from='${alice}'><body>x</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
    ]) {
      assert.deepEqual(await h.inject(s), [], s);
    }
  });

  test("approves a subscription and says it is available (RFC 6121 §3.1.3)", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const out = await h.inject(`<presence type='subscribe' from='alice@localhost'/>`);
    assert.equal(out.length, 2);
    assertXmlEqual(out[0], `<presence from='echo.localhost' to='alice@localhost' type='subscribed'/>`);
    // The available presence carries XEP-0115 caps, so clients know echo's features without asking.
    assertXmlEqual(out[1], `<presence from='echo.localhost' to='alice@localhost'>${caps(h)}</presence>`);
  });

  test("answers a probe with available while running, and says unavailable when stopped", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    await h.start();
    const [probe] = await h.inject(`<presence type='probe' from='alice@localhost'/>`);
    assertXmlEqual(probe, `<presence from='echo.localhost' to='alice@localhost'>${caps(h)}</presence>`);
    const before = h.sent.length;
    await h.stop();
    assert.deepEqual(h.sent.slice(before).map(String), ['<presence from="echo.localhost" to="alice@localhost" type="unavailable"/>']);
  });

  test("acknowledges an unsubscribe", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const out = await h.inject(`<presence type='unsubscribe' from='alice@localhost'/>`);
    // RFC 6121 §3.3.3: unsubscribed, then unavailable so the former subscriber stops showing echo online.
    assert.deepEqual(out.map((s) => s.attrs.type), ["unsubscribed", "unavailable"]);
  });

  test("its disco#info names it", async () => {
    const h = createHarness(Echo, { domain: "echo.localhost" });
    const [reply] = await h.inject(`<iq type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    assert.deepEqual(reply?.getChild("query")?.getChild("identity")?.attrs, { category: "component", type: "generic", name: "Echo" });
  });
});

function caps(h: Harness): string {
  const ver = capsVer(h.host.registry.identities, h.host.registry.features);
  return `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${ver}'/>`;
}
