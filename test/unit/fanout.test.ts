import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { Component, type IncomingMessage, Message, Sender, xml, type Element } from "annex";
import { createHarness } from "annex/testing";
import { IqCaller } from "../../src/dispatch/iq-caller.js";
import { AnnexMetrics } from "../../src/ops/metrics.js";
import { serialize } from "../../src/pipeline/fanout.js";
import { toXml } from "../../src/stanza/serialized.js";
import { type Middleware, Pipeline } from "../../src/pipeline/pipeline.js";
import { TcpTransport } from "../../src/connection/transport.js";
import { parseJid } from "../../src/stanza/jid.js";

const DOMAIN = "fan.localhost";

/** A Sender whose link records the bytes the TCP link would write for each stanza. */
function recordingSender(middleware: Middleware[] = []): { sender: Sender; wire: string[]; outbound: Pipeline } {
  const outbound = new Pipeline("outbound").use(...middleware);
  const sender = new Sender(DOMAIN, outbound, new IqCaller());
  const wire: string[] = [];
  sender.bind((stanza) => {
    wire.push(serialize(stanza));
    return Promise.resolve();
  });
  return { sender, wire, outbound };
}

/** The snapshot-like payload: attributes and text that need escaping, a nested tree. */
function payload(to: string): Element {
  return xml(
    "message",
    { to, type: "headline", id: "n1" },
    xml("body", {}, "a < b & \"c\" 'd' é€𝄞"),
    xml("event", { xmlns: "http://jabber.org/protocol/pubsub#event" }, xml("items", { node: "x&y" }, xml("item", { id: "<1>" }, "text"))),
  );
}

const addressees = ["a@localhost", "b@localhost/phone", "c@localhost/a'b\"c&d<e>f", "localhost", "d@example.org/r é"];

test("the link's serialiser gives exactly ltx's bytes (attribute order, quoting, escaping of attributes and text)", () => {
  const cases = [
    payload("a@localhost/x'y"),
    xml("presence", {}),
    xml("iq", { type: "result", id: "1", to: "a@b", from: "c" }, xml("query", { xmlns: "jabber:iq:version" }, xml("name", {}, "Annex <&> \"'"), xml("empty", {}))),
    xml("message", { to: "a@b" }, "text & <more> 'q' \"dq\"", xml("b", {}, 42), "tail"),
  ];
  const withNumber = xml("message", { to: "a@b" });
  withNumber.children.push(7 as unknown as Element);
  (withNumber.attrs as Record<string, unknown>).n = 3;
  (withNumber.attrs as Record<string, unknown>).skipped = undefined;
  cases.push(withNumber);
  for (const el of cases) assert.equal(toXml(el), el.toString());
});

describe("fan-out (Sender.fanOut): one payload serialised once, only the addressing per copy", () => {
  test("every copy's bytes equal the one-by-one path's, addresses XML-escaped", async () => {
    const one = recordingSender();
    for (const to of addressees) await one.sender.send(payload(to));
    const many = recordingSender();
    await Promise.all(many.sender.fanOut(payload(addressees[0]!), addressees));
    assert.equal(many.wire.length, addressees.length);
    assert.deepEqual(many.wire, one.wire);
    assert.match(many.wire[2]!, / to="c@localhost\/a&apos;b&quot;c&amp;d&lt;e&gt;f"/);
  });

  test("without a `to` in the template the address goes last; with ids each copy gets its own", async () => {
    const one = recordingSender();
    const ids = addressees.map((_, i) => `id-${i}&`);
    for (const [i, to] of addressees.entries()) {
      const el = payload(to);
      delete el.attrs.to;
      el.attrs.id = ids[i]!;
      el.attrs.from = DOMAIN;
      el.attrs.to = to;
      await one.sender.send(el);
    }
    const many = recordingSender();
    const template = payload("x@localhost");
    delete template.attrs.to;
    await Promise.all(many.sender.fanOut(template, addressees, ids));
    assert.deepEqual(many.wire, one.wire);
    assert.match(many.wire[0]!, / id="id-0&amp;"/);
  });

  test("parsed JIDs are taken as they are (no re-parse) and give the same bytes as strings", async () => {
    const a = recordingSender();
    const b = recordingSender();
    await Promise.all(a.sender.fanOut(payload("x@localhost"), addressees));
    await Promise.all(b.sender.fanOut(payload("x@localhost"), addressees.map((s) => parseJid(s))));
    assert.deepEqual(b.wire, a.wire);
  });

  test("a malformed address fails that copy alone with ANNEX_ERR_JID; the others are sent", async () => {
    const { sender, wire } = recordingSender();
    const results = await Promise.allSettled(sender.fanOut(payload("x@localhost"), ["ok@localhost", "@localhost", "", "u@localhost/", "ok2@localhost"]));
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "rejected", "rejected", "fulfilled"]);
    for (const r of results) if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "ANNEX_ERR_JID");
    assert.equal(wire.length, 2);
  });

  test("the template gets the same checks as send(): foreign from, not a stanza, stopped", async () => {
    const { sender, wire } = recordingSender();
    const foreign = await Promise.allSettled(sender.fanOut(xml("message", { from: "evil.localhost" }), ["a@localhost", "b@localhost"]));
    assert.deepEqual(foreign.map((r) => r.status === "rejected" && (r.reason as { code?: string }).code), ["ANNEX_ERR_FOREIGN_FROM", "ANNEX_ERR_FOREIGN_FROM"]);
    const nonza = await Promise.allSettled(sender.fanOut(xml("handshake", {}), ["a@localhost"]));
    assert.equal(nonza[0]!.status === "rejected" && (nonza[0]!.reason as { code?: string }).code, "ANNEX_ERR_NOT_STANZA");
    assert.throws(() => sender.fanOut(xml("message", {}), ["a@localhost"], []), /1 addressees but 0 ids/);
    sender.close();
    const stopped = await Promise.allSettled(sender.fanOut(xml("message", {}), ["a@localhost"]));
    assert.equal(stopped[0]!.status === "rejected" && (stopped[0]!.reason as { code?: string }).code, "ANNEX_ERR_STOPPING");
    assert.equal(wire.length, 0);
  });

  test("outbound middleware sees every copy as a stanza: counts it, may drop it, may change it (that copy is serialised afresh)", async () => {
    const seen: string[] = [];
    const middleware: Middleware = ({ stanza }, next) => {
      seen.push(stanza.attrs.to as string);
      if (stanza.attrs.to === "drop@localhost") return;
      if (stanza.attrs.to === "tag@localhost") stanza.append(xml("tag", { xmlns: "urn:example:tag" }));
      if (stanza.attrs.to === "retype@localhost") stanza.attrs.type = "chat";
      return next();
    };
    const { sender, wire } = recordingSender([middleware]);
    const to = ["a@localhost", "drop@localhost", "tag@localhost", "retype@localhost", "b@localhost"];
    await Promise.all(sender.fanOut(payload("x@localhost"), to));
    assert.deepEqual(seen, to);
    assert.equal(wire.length, 4);
    assert.match(wire[1]!, /<tag xmlns="urn:example:tag"\/><\/message>$/);
    assert.match(wire[2]!, / type="chat"/);
    assert.doesNotMatch(wire[0]! + wire[3]!, /<tag|type="chat"/);
    // The change to one copy did not leak into the template's other copies.
    assert.equal(wire[3]!.replace('to="b@localhost"', 'to="a@localhost"'), wire[0]);
  });

  test("the metrics middleware counts each copy as one stanza sent", async () => {
    const metrics = new AnnexMetrics({ defaultMetrics: false });
    const counters = metrics.middlewareFor(DOMAIN);
    const { sender } = recordingSender([counters.outbound]);
    await Promise.all(sender.fanOut(payload("x@localhost"), addressees));
    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`stanzas_out_total\\{component="${DOMAIN}",kind="message"\\} ${addressees.length}`));
  });

  test("through the harness: a handler's fan-out reaches every addressee, attributed to the stanza that caused it", async () => {
    @Component({ identity: { category: "component", type: "generic", name: "Fan" } })
    class Fan {
      constructor(readonly sender: Sender) {}
      @Message({ type: "chat", child: "body" })
      async chat(msg: IncomingMessage) {
        const to = (msg.body ?? "").split(",");
        await Promise.all(this.sender.fanOut(xml("message", { type: "chat" }, xml("body", {}, "hi")), to));
      }
    }
    const h = createHarness(Fan, { domain: DOMAIN });
    await h.start();
    const out = await h.inject(xml("message", { type: "chat" }, xml("body", {}, "a@localhost,b@localhost/x,c@localhost")));
    assert.deepEqual(out.map((s) => s.attrs.to), ["a@localhost", "b@localhost/x", "c@localhost"]);
    for (const s of out) {
      assert.equal(s.attrs.from, DOMAIN);
      assert.equal(s.getChildText("body"), "hi");
    }
    await h.stop();
  });

  test("back-pressure: copies beyond the link's queue are refused with ANNEX_ERR_QUEUE_FULL, the rest arrive whole and in order", async () => {
    let serverSide: Socket | undefined;
    const server = createServer((s) => {
      serverSide = s;
      s.pause(); // a server that reads slowly
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const transport = new TcpTransport({ service: `xmpp://127.0.0.1:${port}`, domain: DOMAIN, secret: "x", maxQueueBytes: 200_000 });
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    (transport as unknown as { _attachSocket(s: Socket): void })._attachSocket(socket);
    try {
      const sender = new Sender(DOMAIN, new Pipeline("outbound"), new IqCaller());
      sender.bind((s) => transport.send(s));
      const big = "x".repeat(10_000);
      const to = Array.from({ length: 100 }, (_, i) => `u${i}@localhost`);
      const results = await Promise.allSettled(sender.fanOut(xml("message", { type: "chat" }, xml("body", {}, big)), to));
      const accepted = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      const refused = results.filter((r) => r.status === "rejected");
      assert.ok(accepted.length >= 2 && refused.length >= 50, `accepted ${accepted.length}, refused ${refused.length}`);
      for (const r of refused) assert.equal((r as PromiseRejectedResult).reason.code, "ANNEX_ERR_QUEUE_FULL");
      // Accepted copies are a prefix: the queue refuses only once it is full, and nothing overtakes.
      assert.deepEqual(accepted, accepted.map((_, i) => i));
      const expected = accepted.map((i) => `<message type="chat" from="${DOMAIN}" to="u${i}@localhost"><body>${big}</body></message>`).join("");
      let received = "";
      serverSide!.setEncoding("utf8");
      serverSide!.on("data", (chunk: string) => {
        received += chunk;
      });
      serverSide!.resume();
      while (received.length < expected.length) await new Promise((r) => setTimeout(r, 5));
      assert.equal(received, expected);
    } finally {
      socket.destroy();
      serverSide?.destroy();
      server.close();
    }
  });
});
