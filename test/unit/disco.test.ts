import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Component, DiscoInfo, DiscoItems, type DiscoInfoResult, type DiscoItem, type IncomingIq, Iq, Message, NS, RegistryError, xml, HandlerRegistry } from "annex";
import { assertXmlEqual, createHarness } from "annex/testing";

@Component({ identity: { category: "game", type: "pong", name: "Pong" }, features: ["xmpp:game:pong"] })
class WithNodes {
  @Iq({ type: "set", child: "command", xmlns: "http://jabber.org/protocol/commands" })
  command() {}

  @Message({ type: "chat", child: "body" })
  chat() {}

  @DiscoItems()
  items(node: string | undefined): DiscoItem[] | undefined {
    if (node === undefined) return [{ jid: "pong.localhost", node: "rooms", name: "Rooms" }];
    if (node === "rooms") return [{ jid: "room1@pong.localhost", name: "Room 1" }];
    return undefined;
  }

  @DiscoInfo()
  info(node: string | undefined): DiscoInfoResult | undefined {
    if (node === "rooms") return { identities: [{ category: "hierarchy", type: "branch" }], features: [] };
    return undefined;
  }
}

@Component({ identity: { category: "component", type: "generic" } })
class OwnVersion {
  @Iq({ type: "get", child: "query", xmlns: NS.version })
  version(iq: IncomingIq) {
    return xml("query", { xmlns: NS.version }, xml("name", {}, "mine"), xml("version", {}, `for ${iq.from.toString()}`));
  }
}

const info = (node?: string) => `<iq type='get' id='d1'><query xmlns='${NS.discoInfo}'${node ? ` node='${node}'` : ""}/></iq>`;
const items = (node?: string) => `<iq type='get' id='d2'><query xmlns='${NS.discoItems}'${node ? ` node='${node}'` : ""}/></iq>`;

describe("built-in disco (XEP-0030), derived from the registry", () => {
  test("disco#info lists the identity and exactly the handled namespaces plus declared features", async () => {
    const h = createHarness(WithNodes, { domain: "pong.localhost" });
    const [reply] = await h.inject(info());
    assertXmlEqual(
      reply,
      `<iq type='result' id='d1' from='pong.localhost' to='user@localhost/test'>
        <query xmlns='${NS.discoInfo}'>
          <identity category='game' type='pong' name='Pong'/>
          <feature var='http://jabber.org/protocol/commands'/>
          <feature var='${NS.discoInfo}'/>
          <feature var='${NS.discoItems}'/>
          <feature var='jabber:iq:version'/>
          <feature var='urn:xmpp:ping'/>
          <feature var='urn:xmpp:time'/>
          <feature var='xmpp:game:pong'/>
        </query>
      </iq>`,
    );
  });

  test("every advertised feature has a handler and every IQ handler is advertised", () => {
    const registry = HandlerRegistry.build(WithNodes, [] as never[]);
    const handled = registry.routes.filter((r) => r.kind === "iq").map((r) => r.xmlns);
    for (const ns of handled) assert.ok(registry.features.includes(ns as string), `${ns} not advertised`);
  });

  test("disco#items and nodes come from the component's providers", async () => {
    const h = createHarness(WithNodes, { domain: "pong.localhost" });
    const [root] = await h.inject(items());
    assert.deepEqual(root?.getChild("query")?.getChildren("item").map((i) => i.attrs), [{ jid: "pong.localhost", node: "rooms", name: "Rooms" }]);
    const [rooms] = await h.inject(items("rooms"));
    assert.equal(rooms?.getChild("query")?.attrs.node, "rooms");
    assert.equal(rooms?.getChild("query")?.getChildren("item").length, 1);
    const [roomsInfo] = await h.inject(info("rooms"));
    assert.equal(roomsInfo?.getChild("query")?.getChild("identity")?.attrs.category, "hierarchy");
  });

  test("an unknown node is item-not-found, for info and items", async () => {
    const h = createHarness(WithNodes, { domain: "pong.localhost" });
    for (const q of [info("nope"), items("nope")]) {
      const [reply] = await h.inject(q);
      assert.equal(reply?.attrs.type, "error");
      assert.ok(reply?.getChild("error")?.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"), String(reply));
    }
  });

  test("disco#items is empty for a component without items", async () => {
    const h = createHarness(OwnVersion);
    const [reply] = await h.inject(items());
    assertXmlEqual(reply, `<iq type='result' id='d2' from='component.localhost' to='user@localhost/test'><query xmlns='${NS.discoItems}'/></iq>`);
  });
});

describe("built-in ping, version and time", () => {
  test("ping (XEP-0199) gets an empty result", async () => {
    const h = createHarness(WithNodes);
    const [reply] = await h.inject(`<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    assertXmlEqual(reply, `<iq type='result' id='p1' from='component.localhost' to='user@localhost/test'/>`);
  });

  test("version (XEP-0092) names annex and its version, and no OS", async () => {
    const h = createHarness(WithNodes);
    const [reply] = await h.inject(`<iq type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`);
    const query = reply?.getChild("query", NS.version);
    assert.equal(query?.getChildText("name"), "annex");
    assert.match(query?.getChildText("version") ?? "", /^\d+\.\d+\.\d+/);
    assert.equal(query?.getChild("os"), undefined);
  });

  test("time (XEP-0202) gives the UTC time and the offset", async () => {
    const h = createHarness(WithNodes);
    const [reply] = await h.inject(`<iq type='get' id='t1'><time xmlns='urn:xmpp:time'/></iq>`);
    const time = reply?.getChild("time", "urn:xmpp:time");
    assert.match(time?.getChildText("tzo") ?? "", /^[+-]\d\d:\d\d$/);
    const utc = Date.parse(time?.getChildText("utc") ?? "");
    assert.ok(Math.abs(utc - Date.now()) < 5000);
  });

  test("a component's own handler overrides a built-in", async () => {
    const h = createHarness(OwnVersion);
    const [reply] = await h.inject(`<iq type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>`);
    assert.equal(reply?.getChild("query")?.getChildText("name"), "mine");
  });

  test("a built-in switched off is neither answered nor advertised", async () => {
    const h = createHarness(WithNodes, { builtins: { version: false, time: false } });
    const [reply] = await h.inject(`<iq type='get' id='v3'><query xmlns='jabber:iq:version'/></iq>`);
    assert.ok(reply?.getChild("error")?.getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    const [disco] = await h.inject(info());
    const features = disco?.getChild("query")?.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(!features?.includes(NS.version));
    assert.ok(!features?.includes(NS.time));
    assert.ok(features?.includes(NS.ping));
  });
});

describe("the registry", () => {
  test("refuses a class without @Component, naming the fix", () => {
    class Plain {}
    assert.throws(() => HandlerRegistry.build(Plain), (err: unknown) => err instanceof RegistryError && /decorate it with @Component/.test(err.message));
  });

  test("refuses two handlers for the same IQ", () => {
    @Component({ identity: { category: "component", type: "generic" } })
    class Twice {
      @Iq({ type: "get", child: "q", xmlns: "urn:q" })
      a() {}
      @Iq({ type: "get", child: "q", xmlns: "urn:q" })
      b() {}
    }
    assert.throws(() => HandlerRegistry.build(Twice), /two handlers for iq get <q xmlns='urn:q'>: Twice.a and Twice.b/);
  });
});
