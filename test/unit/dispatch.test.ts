import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Component,
  ComponentConfig,
  type IncomingIq,
  type IncomingMessage,
  Iq,
  Logger,
  Message,
  Sender,
  StanzaError,
  xml,
} from "annex";
import { assertXmlEqual, createHarness } from "annex/testing";
import { z } from "zod";

const NS_TEST = "urn:example:test";

// Its options schema lets the injection test see the parsed options (a component without one takes none).
@Component({ identity: { category: "component", type: "generic", name: "Rules" }, options: z.strictObject({ a: z.int().optional() }) })
class Rules {
  calls = 0;
  constructor(
    readonly log: Logger,
    readonly config: ComponentConfig,
    readonly sender: Sender,
  ) {}

  @Iq({ type: "get", child: "payload", xmlns: NS_TEST })
  payload(iq: IncomingIq) {
    this.calls++;
    return xml("payload", { xmlns: NS_TEST }, `hello ${iq.from.bare().toString()}`);
  }

  @Iq({ type: "set", child: "nothing", xmlns: NS_TEST })
  nothing() {
    this.calls++;
  }

  @Iq({ type: "get", child: "boom", xmlns: NS_TEST })
  boom(): never {
    throw new Error("kaboom");
  }

  @Iq({ type: "get", child: "typed", xmlns: NS_TEST })
  typed(): never {
    throw new StanzaError("item-not-found", "no such thing");
  }

  @Iq({ type: "get", child: "slow", xmlns: NS_TEST })
  async slow() {
    await new Promise((r) => setTimeout(r, 50));
    return xml("slow", { xmlns: NS_TEST });
  }

  @Message({ type: "chat", child: "body" })
  chat(msg: IncomingMessage) {
    if (msg.body === "throw") throw new Error("message handler failed");
    if (msg.body === "forbidden") throw new StanzaError("forbidden", "not you");
    return msg.reply({ body: `got ${msg.body}` });
  }

  @Message({ type: "error" })
  bounced(msg: IncomingMessage): never {
    throw new StanzaError("bad-request", `cannot handle ${msg.id}`);
  }
}

async function harness() {
  const h = createHarness(Rules, { domain: "rules.localhost" });
  await h.start();
  return h;
}

const from = "user@localhost/res";

describe("IQ reply rules (RFC 6120 §8.2.3, §8.4)", () => {
  test("a handler's return value is the result payload", async () => {
    const h = await harness();
    const out = await h.inject(`<iq type='get' id='a1' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`);
    assert.equal(out.length, 1);
    assertXmlEqual(out[0], `<iq type='result' id='a1' from='rules.localhost' to='${from}'><payload xmlns='${NS_TEST}'>hello user@localhost</payload></iq>`);
  });

  test("a handler that returns nothing gives an empty result", async () => {
    const h = await harness();
    const out = await h.inject(`<iq type='set' id='a2' from='${from}'><nothing xmlns='${NS_TEST}'/></iq>`);
    assert.equal(out.length, 1);
    assertXmlEqual(out[0], `<iq type='result' id='a2' from='rules.localhost' to='${from}'/>`);
  });

  test("a handler that throws gives internal-server-error", async () => {
    const h = await harness();
    const out = await h.inject(`<iq type='get' id='a3' from='${from}'><boom xmlns='${NS_TEST}'/></iq>`);
    assert.equal(out.length, 1);
    assertXmlEqual(
      out[0],
      `<iq type='error' id='a3' from='rules.localhost' to='${from}'><error type='cancel'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    );
  });

  test("a thrown StanzaError is the error reply, with its type and text", async () => {
    const h = await harness();
    const out = await h.inject(`<iq type='get' id='a4' from='${from}'><typed xmlns='${NS_TEST}'/></iq>`);
    assert.equal(out.length, 1);
    assertXmlEqual(
      out[0],
      `<iq type='error' id='a4' from='rules.localhost' to='${from}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no such thing</text></error></iq>`,
    );
  });

  test("an unhandled namespace gets exactly one service-unavailable", async () => {
    const h = await harness();
    const out = await h.inject(`<iq type='get' id='a5' from='${from}'><query xmlns='urn:nobody'/></iq>`);
    assert.equal(out.length, 1);
    assertXmlEqual(
      out[0],
      `<iq type='error' id='a5' from='rules.localhost' to='${from}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    );
  });

  test("a known element name in the wrong namespace is unhandled too", async () => {
    const h = await harness();
    const [reply] = await h.inject(`<iq type='get' id='a6' from='${from}'><payload xmlns='urn:other'/></iq>`);
    assert.equal(reply?.getChild("error")?.getChildElements()[0]?.name, "service-unavailable");
  });

  for (const [what, body] of [
    ["no child", ""],
    ["two children", `<payload xmlns='${NS_TEST}'/><payload xmlns='${NS_TEST}'/>`],
  ] as const) {
    test(`a get with ${what} gets bad-request and no handler runs`, async () => {
      const h = await harness();
      const out = await h.inject(`<iq type='get' id='b1' from='${from}'>${body}</iq>`);
      assert.equal(out.length, 1);
      assert.equal(out[0]?.attrs.type, "error");
      assert.equal(out[0]?.getChild("error")?.attrs.type, "modify");
      assert.ok(out[0]?.getChild("error")?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"));
      const rules = h.host.instance(Rules);
      assert.equal(rules.calls, 0);
    });
  }

  test("an IQ with an unknown type gets bad-request", async () => {
    const h = await harness();
    const [reply] = await h.inject(`<iq type='fetch' id='b2' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`);
    assert.ok(reply?.getChild("error")?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"));
  });

  test("results and errors are never answered", async () => {
    const h = await harness();
    assert.deepEqual(await h.inject(`<iq type='result' id='c1' from='${from}'/>`), []);
    assert.deepEqual(
      await h.inject(`<iq type='error' id='c2' from='${from}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`),
      [],
    );
  });

  test("the reply comes from the address the request was sent to", async () => {
    const h = await harness();
    const [reply] = await h.inject(`<iq type='get' id='c3' from='${from}' to='room@rules.localhost'><payload xmlns='${NS_TEST}'/></iq>`);
    assert.equal(reply?.attrs.from, "room@rules.localhost");
  });
});

describe("message and presence rules", () => {
  test("a message handler's return value is sent", async () => {
    const h = await harness();
    const out = await h.inject(`<message type='chat' id='m1' from='${from}'><body>hi</body></message>`);
    assertXmlEqual(out[0], `<message type='chat' id='m1' from='rules.localhost' to='${from}'><body>got hi</body></message>`);
  });

  test("a message handler that throws gets an internal-server-error message back", async () => {
    const h = await harness();
    const out = await h.inject(`<message type='chat' id='m2' from='${from}'><body>throw</body></message>`);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.attrs.type, "error");
    assert.ok(out[0]?.getChild("error")?.getChild("internal-server-error", "urn:ietf:params:xml:ns:xmpp-stanzas"));
  });

  test("a message handler's StanzaError is the error message", async () => {
    const h = await harness();
    const [reply] = await h.inject(`<message type='chat' id='m3' from='${from}'><body>forbidden</body></message>`);
    assert.equal(reply?.name, "message");
    assert.equal(reply?.getChild("error")?.attrs.type, "auth");
    assert.equal(reply?.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas"), "not you");
  });

  test("an error is never answered with an error, even when its handler throws", async () => {
    const h = await harness();
    assert.deepEqual(await h.inject(`<message type='error' id='m4' from='${from}'><body>x</body></message>`), []);
  });

  test("a message without a matching handler is ignored (RFC 6121 §8.5.2.1)", async () => {
    const h = await harness();
    assert.deepEqual(await h.inject(`<message type='chat' from='${from}'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`), []);
    assert.deepEqual(await h.inject(`<presence from='${from}'/>`), []);
  });

  test("stanzas without a valid from are dropped, not answered", async () => {
    const h = await harness();
    assert.deepEqual(await h.inject(xml("iq", { type: "get", id: "x", from: "@@bad", to: "rules.localhost" }, xml("payload", { xmlns: NS_TEST }))), []);
  });
});

describe("injection and outbound rules", () => {
  test("handlers get the logger, their config and a sender from the component's container", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", options: { a: 1 } });
    const rules = h.host.instance(Rules);
    assert.equal(typeof rules.log.info, "function");
    assert.equal(rules.config.domain, "rules.localhost");
    assert.deepEqual(rules.config.options, { a: 1 });
    assert.ok(rules.sender instanceof Sender);
  });

  test("two harnesses of one class get separate instances", async () => {
    const a = createHarness(Rules, { domain: "a.localhost" });
    const b = createHarness(Rules, { domain: "b.localhost" });
    assert.notEqual(a.host.instance(Rules), b.host.instance(Rules));
    assert.equal((b.host.instance(Rules)).config.domain, "b.localhost");
  });

  test("outbound stanzas get the component's domain as from", async () => {
    const h = await harness();
    await h.host.sender.send(xml("message", { to: from }, xml("body", {}, "x")));
    assert.equal(h.sent.at(-1)?.attrs.from, "rules.localhost");
  });

  test("an outbound from outside the domain is refused with a coded error", async () => {
    const h = await harness();
    await assert.rejects(h.host.sender.send(xml("message", { to: from, from: "evil.localhost" })), { code: "ANNEX_ERR_FOREIGN_FROM" });
    await assert.rejects(h.host.sender.send(xml("message", { to: from, from: "rules.localhost.evil" })), { code: "ANNEX_ERR_FOREIGN_FROM" });
    assert.equal(h.sent.length, 0);
  });

  test("an outbound stanza without to is refused with a coded error", async () => {
    const h = await harness();
    await assert.rejects(h.host.sender.send(xml("message", {})), { code: "ANNEX_ERR_NO_TO" });
    await assert.rejects(h.host.sender.send(xml("handshake", { to: from })), { code: "ANNEX_ERR_NOT_STANZA" });
  });
});

describe("our own IQ requests", () => {
  test("resolve with the response from the addressee, matched on id and sender", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", iqTimeoutMs: 1000 });
    const pending = h.host.sender.request(xml("iq", { type: "get", to: "localhost", id: "q1" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    // A response with the right id from someone else must not settle it (xmpp.js matches on id alone).
    await h.inject(`<iq type='result' id='q1' from='mallory@localhost/x'/>`);
    await h.inject(`<iq type='result' id='q1' from='localhost'/>`);
    const response = await pending;
    assert.equal(response.attrs.from, "localhost");
  });

  test("reject with the addressee's StanzaError", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost" });
    const pending = h.host.sender.request(xml("iq", { type: "get", to: "localhost", id: "q2" }, xml("x", { xmlns: "urn:x" })));
    await h.inject(`<iq type='error' id='q2' from='localhost'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
    await assert.rejects(pending, (err: unknown) => err instanceof StanzaError && err.condition === "feature-not-implemented");
  });

  test("time out with a coded error", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", iqTimeoutMs: 30 });
    await assert.rejects(h.host.sender.request(xml("iq", { type: "get", to: "localhost" }, xml("x", { xmlns: "urn:x" }))), { code: "ANNEX_ERR_IQ_TIMEOUT" });
  });

  test("are rejected, not left hanging, when the link goes down", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost" });
    const pending = h.host.sender.request(xml("iq", { type: "get", to: "localhost" }, xml("x", { xmlns: "urn:x" })));
    h.host.linkDown("socket closed");
    await assert.rejects(pending, /went down: socket closed/);
  });
});

describe("shutdown", () => {
  test("waits for handlers in flight, then answers new IQs with service-unavailable", async () => {
    const h = await harness();
    const slow = h.inject(`<iq type='get' id='s1' from='${from}'><slow xmlns='${NS_TEST}'/></iq>`);
    const stopping = h.stop({ drainMs: 1000 });
    const late = await h.inject(`<iq type='get' id='s2' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`);
    assert.equal(late[0]?.attrs.type, "error");
    assert.ok(late[0]?.getChild("error")?.getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    const [slowReply] = await slow;
    assert.equal(slowReply?.attrs.type, "result");
    await stopping;
  });

  test("sends unavailable to every address it told available, then refuses to send", async () => {
    const h = await harness();
    await h.host.sender.send(xml("presence", { to: "a@localhost" }));
    await h.host.sender.send(xml("presence", { to: "b@localhost", from: "room@rules.localhost" }));
    await h.host.sender.send(xml("presence", { to: "b@localhost", from: "room@rules.localhost", type: "unavailable" }));
    const before = h.sent.length;
    await h.stop();
    const after = h.sent.slice(before).map(String);
    assert.deepEqual(after, ['<presence from="rules.localhost" to="a@localhost" type="unavailable"/>']);
    await assert.rejects(h.host.sender.send(xml("message", { to: from })), { code: "ANNEX_ERR_STOPPING" });
  });
});

describe("hosted components", () => {
  test("every host of a process is listed, with its identities and features", async () => {
    const { HostedComponents } = await import("annex");
    const hosted = new HostedComponents();
    createHarness(Rules, { domain: "b.localhost", hosted });
    const a = createHarness(Rules, { domain: "a.localhost", hosted });
    const list = a.host.instance(HostedComponents).list();
    assert.deepEqual(list.map((c) => c.domain), ["a.localhost", "b.localhost"]);
    assert.equal(list[0]?.identities[0]?.name, "Rules");
    assert.ok(list[0]?.features.includes(NS_TEST));
  });
});

describe("handlers in flight are bounded", () => {
  test("a burst beyond maxInFlight waits its turn in order, nothing is dropped", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", maxInFlight: 2 });
    const outs = await Promise.all(Array.from({ length: 100 }, (_, i) => h.inject(`<iq type='get' id='b${i}' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`)));
    assert.deepEqual(outs.map((o) => o[0]?.attrs.type), Array(100).fill("result"));
    assert.deepEqual(h.sent.map((s) => s.attrs.id), Array.from({ length: 100 }, (_, i) => `b${i}`), "answered in arrival order");
  });

  test("beyond maxInFlight and maxQueued, IQ requests get a wait-type resource-constraint at once", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", maxInFlight: 2, maxQueued: 0 });
    const slow1 = h.inject(`<iq type='get' id='f1' from='${from}'><slow xmlns='${NS_TEST}'/></iq>`);
    const slow2 = h.inject(`<iq type='get' id='f2' from='${from}'><slow xmlns='${NS_TEST}'/></iq>`);
    const [third] = await h.inject(`<iq type='get' id='f3' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`);
    assertXmlEqual(
      third,
      `<iq type='error' id='f3' from='rules.localhost' to='${from}'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>too many requests in progress; retry later</text></error></iq>`,
    );
    assert.equal((await slow1)[0]?.attrs.type, "result");
    assert.equal((await slow2)[0]?.attrs.type, "result");
    const [later] = await h.inject(`<iq type='get' id='f4' from='${from}'><payload xmlns='${NS_TEST}'/></iq>`);
    assert.equal(later?.attrs.type, "result", "capacity is back once the slow ones finished");
  });

  test("responses to our own requests are never refused for load", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost", maxInFlight: 1, maxQueued: 0 });
    const busy = h.inject(`<iq type='get' id='g1' from='${from}'><slow xmlns='${NS_TEST}'/></iq>`);
    const pending = h.host.sender.request(xml("iq", { type: "get", to: "localhost", id: "mine" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    await h.inject(`<iq type='result' id='mine' from='localhost'/>`);
    assert.equal((await pending).attrs.id, "mine");
    await busy;
  });
});

describe("requests whose send fails", () => {
  test("reject with the send's coded error and leave nothing pending that could crash the process later", async () => {
    const { ComponentHost } = await import("annex");
    const { pino } = await import("pino");
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on("unhandledRejection", onUnhandled);
    const host = new ComponentHost({
      component: Rules,
      domain: "rules.localhost",
      log: pino({ level: "silent" }),
      iqTimeoutMs: 30,
    });
    host.bindSink(async () => {
      throw Object.assign(new Error("the link to the server went down: not online"), { code: "ANNEX_ERR_LINK_DOWN" });
    });
    await assert.rejects(host.sender.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" }))), { code: "ANNEX_ERR_LINK_DOWN" });
    assert.equal(host.iqCaller.size, 0);
    await new Promise((r) => setTimeout(r, 60));
    process.off("unhandledRejection", onUnhandled);
    assert.deepEqual(unhandled, []);
  });

  test("pending requests are rejected with coded errors when the link drops or the component stops", async () => {
    const h = createHarness(Rules, { domain: "rules.localhost" });
    const a = h.host.sender.request(xml("iq", { type: "get", to: "localhost" }, xml("x", { xmlns: "urn:x" })));
    h.host.linkDown("socket closed");
    await assert.rejects(a, { code: "ANNEX_ERR_LINK_DOWN" });
    const b = h.host.sender.request(xml("iq", { type: "get", to: "localhost" }, xml("x", { xmlns: "urn:x" })));
    await h.stop();
    await assert.rejects(b, { code: "ANNEX_ERR_STOPPING" });
  });
});

describe("lifecycle hooks", () => {
  test("onStart runs once, onOnline after it (and on every reconnection), onOffline when the link drops, onStop at the end", async () => {
    const calls: string[] = [];
    @Component({ identity: { category: "component", type: "generic" } })
    class Hooks {
      onStart() {
        calls.push("start");
      }
      onOnline() {
        calls.push("online");
      }
      onOffline(reason: string) {
        calls.push(`offline: ${reason}`);
      }
      onStop() {
        calls.push("stop");
      }
    }
    const h = createHarness(Hooks);
    await h.start();
    h.host.linkDown("socket closed");
    await new Promise((r) => setImmediate(r));
    await h.host.online();
    await h.stop();
    assert.deepEqual(calls, ["start", "online", "offline: socket closed", "online", "stop"]);
  });
});
