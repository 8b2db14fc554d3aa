import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Element } from "annex";
import type { Harness } from "annex/testing";
import { FeedService } from "../service.js";
import { ALICE, ask, assertError, DOMAIN, EVENT, feedHarness, json, notificationsTo, OWNER, OWNER_JID, publish, PUBSUB, pubsubIq, RSM, settle } from "./helpers.js";

const ADMIN = "root@localhost/x";
const form = (formType: string, fields: Record<string, string>, type = "submit") =>
  `<x xmlns='jabber:x:data' type='${type}'><field var='FORM_TYPE' type='hidden'><value>${formType}</value></field>${Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join("")}</x>`;
const nodeConfig = (fields: Record<string, string>, type = "submit") => form(`${PUBSUB}#node_config`, fields, type);
const subOptions = (fields: Record<string, string>) => form(`${PUBSUB}#subscribe_options`, fields);
const fieldValue = (x: Element | undefined, v: string) => x?.getChildren("field").find((f) => f.attrs.var === v)?.getChildText("value");
const service = (h: Harness) => h.host.instance(FeedService);

async function ok(h: Harness, stanza: string): Promise<Element> {
  const reply = await ask(h, stanza);
  assert.equal(reply.attrs.type, "result", reply.toString());
  return reply;
}

describe("feed: node lifecycle (XEP-0060 §8.1-8.4)", () => {
  test("§8.1.2 instant node: the service names it and the creator owns it", async () => {
    const h = await feedHarness({ admins: ["root@localhost"] });
    const reply = await ok(h, pubsubIq("set", `<create/>`, ADMIN));
    const name = reply.getChild("pubsub")!.getChild("create")!.attrs.node as string;
    assert.match(name, /^[0-9a-f-]{36}$/);
    assert.deepEqual(service(h).nodes.get(name)?.owners, ["root@localhost"]);
    const disco = await ok(h, `<iq type='get' id='d' from='${ALICE}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`);
    assert.ok(disco.getChild("query")!.getChildren("item").some((i) => i.attrs.node === name));
  });

  test("§8.1.1 named node; §8.1.3.2 an existing name is cancel/conflict; who may create is createNodes", async () => {
    const h = await feedHarness({ admins: ["root@localhost"] });
    const reply = await ok(h, pubsubIq("set", `<create node='princely_musings'/>`, ADMIN));
    assert.equal(reply.getChildElements().length, 0);
    assertError(await ask(h, pubsubIq("set", `<create node='princely_musings'/>`, ADMIN)), "cancel", "conflict");
    assertError(await ask(h, pubsubIq("set", `<create node='stocks'/>`, ADMIN)), "cancel", "conflict");
    // §8.1.3.1: createNodes "admins" (the default): alice may not.
    assertError(await ask(h, pubsubIq("set", `<create node='mine'/>`)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("set", `<create node='bad name!?'/>`, ADMIN)), "modify", "not-acceptable");

    const local = await feedHarness({ createNodes: "local" });
    await ok(local, pubsubIq("set", `<create node='mine'/>`));
    assertError(await ask(local, pubsubIq("set", `<create node='theirs'/>`, "eve@elsewhere.example/x")), "auth", "forbidden");
    const nobody = await feedHarness({ createNodes: "nobody", admins: ["root@localhost"] });
    // Admins always may; "nobody" refers to everyone else.
    assertError(await ask(nobody, pubsubIq("set", `<create node='x'/>`)), "auth", "forbidden");
    await ok(nobody, pubsubIq("set", `<create node='x'/>`, ADMIN));
  });

  test("§8.1.3 create and configure in one request; a bad value creates nothing", async () => {
    const h = await feedHarness({ admins: ["root@localhost"] });
    await ok(h, pubsubIq("set", `<create node='conf'/><configure>${nodeConfig({ "pubsub#title": "Configured", "pubsub#max_items": "5", "pubsub#access_model": "whitelist" })}</configure>`, ADMIN));
    const node = service(h).nodes.get("conf")!;
    assert.deepEqual([node.title, node.maxItems, node.access], ["Configured", 5, "whitelist"]);
    assertError(await ask(h, pubsubIq("set", `<create node='bad'/><configure>${nodeConfig({ "pubsub#max_items": "-3" })}</configure>`, ADMIN)), "modify", "not-acceptable");
    assert.equal(service(h).nodes.has("bad"), false);
    // An empty <configure/> is the default configuration.
    await ok(h, pubsubIq("set", `<create node='plain'/><configure/>`, ADMIN));
    assert.equal(service(h).nodes.get("plain")!.maxItems, 10_000);
  });

  test("§8.2 configure: the form, submit applies at once, cancel changes nothing; nodeid-required, forbidden, item-not-found", async () => {
    const h = await feedHarness();
    const got = await ok(h, pubsubIq("get", `<configure node='stocks'/>`, OWNER_JID, OWNER));
    const x = got.getChild("pubsub")!.getChild("configure")!.getChild("x", "jabber:x:data")!;
    assert.equal(x.attrs.type, "form");
    assert.equal(fieldValue(x, "FORM_TYPE"), `${PUBSUB}#node_config`);
    assert.equal(fieldValue(x, "pubsub#title"), "Stocks");
    assert.equal(fieldValue(x, "pubsub#type"), "urn:xmpp:json:0");
    assert.equal(fieldValue(x, "pubsub#max_items"), "10000");
    await ok(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#max_items": "2", "pubsub#title": "Two" })}</configure>`, OWNER_JID, OWNER));
    for (let i = 0; i < 4; i++) await publish(h, "stocks", json(i));
    assert.equal(await service(h).count("stocks"), 2, "max_items applies at once");
    await ok(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#max_items": "9" }, "cancel")}</configure>`, OWNER_JID, OWNER));
    assert.equal(service(h).nodes.get("stocks")!.maxItems, 2);
    assertError(await ask(h, pubsubIq("get", `<configure/>`, OWNER_JID, OWNER)), "modify", "bad-request", "nodeid-required");
    assertError(await ask(h, pubsubIq("get", `<configure node='stocks'/>`, ALICE, OWNER)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#max_items": "3" })}</configure>`, ALICE, OWNER)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("get", `<configure node='nope'/>`, OWNER_JID, OWNER)), "cancel", "item-not-found");
    // §8.2.5.2: a value the service cannot take.
    assertError(await ask(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#access_model": "roster" })}</configure>`, OWNER_JID, OWNER)), "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#collection": "x" })}</configure>`, OWNER_JID, OWNER)), "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("set", `<configure node='stocks'>${nodeConfig({ "pubsub#deliver_payloads": "maybe" })}</configure>`, OWNER_JID, OWNER)), "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("set", `<configure node='stocks'/>`, OWNER_JID, OWNER)), "modify", "bad-request");
    assert.equal(service(h).nodes.get("stocks")!.title, "Two");
  });

  test("§8.3 default node configuration", async () => {
    const h = await feedHarness();
    const reply = await ok(h, pubsubIq("get", `<default/>`, ALICE, OWNER));
    const x = reply.getChild("pubsub")!.getChild("default")!.getChild("x", "jabber:x:data")!;
    assert.equal(fieldValue(x, "pubsub#access_model"), "open");
    assert.equal(fieldValue(x, "pubsub#max_items"), "10000");
    assert.equal(fieldValue(x, "pubsub#send_last_published_item"), "on_sub");
  });

  test("§8.4 delete: subscribers get the delete event; forbidden, item-not-found; file nodes only when deletable", async () => {
    const h = await feedHarness({
      admins: ["root@localhost"],
      nodes: { fixed: { owners: [OWNER_JID] }, removable: { owners: [OWNER_JID], deletable: true } },
    });
    await ok(h, pubsubIq("set", `<create node='made'/>`, ADMIN));
    await ok(h, pubsubIq("set", `<subscribe node='made' jid='${ALICE}'/>`));
    assertError(await ask(h, pubsubIq("set", `<delete node='made'/>`, ALICE, OWNER)), "auth", "forbidden");
    await ok(h, pubsubIq("set", `<delete node='made'/>`, ADMIN, OWNER));
    await settle(h);
    const events = notificationsTo(h, ALICE);
    assert.equal(events.at(-1)!.getChild("event", EVENT)!.getChild("delete")!.attrs.node, "made");
    assert.equal(service(h).nodes.has("made"), false);
    assertError(await ask(h, pubsubIq("set", `<delete node='made'/>`, ADMIN, OWNER)), "cancel", "item-not-found");
    assertError(await ask(h, pubsubIq("set", `<delete node='fixed'/>`, OWNER_JID, OWNER)), "auth", "forbidden");
    await ok(h, pubsubIq("set", `<delete node='removable'/>`, OWNER_JID, OWNER));
    assertError(await ask(h, pubsubIq("set", `<delete/>`, OWNER_JID, OWNER)), "modify", "bad-request", "nodeid-required");
  });

  test("created, configured and deleted nodes persist across a restart (SQLite); a deleted file node stays deleted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "feed-nodes-"));
    try {
      const options = { storage: `sqlite:${join(dir, "f.sqlite")}`, admins: ["root@localhost"], nodes: { file: { owners: [OWNER_JID], deletable: true }, kept: { owners: [OWNER_JID] } } };
      const h1 = await feedHarness(options);
      await ok(h1, pubsubIq("set", `<create node='made'/><configure>${nodeConfig({ "pubsub#title": "Made here" })}</configure>`, ADMIN));
      await ok(h1, pubsubIq("set", `<configure node='kept'>${nodeConfig({ "pubsub#item_expire": "60" })}</configure>`, OWNER_JID, OWNER));
      await ok(h1, pubsubIq("set", `<delete node='file'/>`, OWNER_JID, OWNER));
      await h1.stop();
      const h2 = await feedHarness(options);
      const nodes = service(h2).nodes;
      assert.equal(nodes.get("made")?.title, "Made here");
      assert.deepEqual(nodes.get("made")?.owners, ["root@localhost"]);
      assert.equal(nodes.get("kept")?.maxAgeSeconds, 60);
      assert.equal(nodes.has("file"), false);
      await h2.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("feed: node configuration options apply at once", () => {
  const configure = (h: Harness, node: string, fields: Record<string, string>) => ok(h, pubsubIq("set", `<configure node='${node}'>${nodeConfig(fields)}</configure>`, OWNER_JID, OWNER));

  test("deliver_payloads off: notifications carry the item id only", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    await configure(h, "news", { "pubsub#deliver_payloads": "0" });
    const id = await publish(h, "news", json(1));
    await settle(h);
    const item = notificationsTo(h, ALICE).at(-1)!.getChild("event", EVENT)!.getChild("items")!.getChild("item")!;
    assert.equal(item.attrs.id, id);
    assert.equal(item.getChildElements().length, 0);
  });

  test("notify_retract on: a retract without notify='true' is notified", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    const id = await publish(h, "news", json(1));
    await configure(h, "news", { "pubsub#notify_retract": "true" });
    await ok(h, pubsubIq("set", `<retract node='news'><item id='${id}'/></retract>`, "ticker@localhost/bot"));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).at(-1)!.getChild("event", EVENT)!.getChild("items")!.getChild("retract")!.attrs.id, id);
  });

  test("notify_delete off: deleting sends no event", async () => {
    const h = await feedHarness({ admins: ["root@localhost"] });
    await ok(h, pubsubIq("set", `<create node='quiet'/><configure>${nodeConfig({ "pubsub#notify_delete": "false" })}</configure>`, ADMIN));
    await ok(h, pubsubIq("set", `<subscribe node='quiet' jid='${ALICE}'/>`));
    await ok(h, pubsubIq("set", `<delete node='quiet'/>`, ADMIN, OWNER));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).length, 0);
  });

  test("presence_based_delivery: only subscribers that sent presence get notifications", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='alice@localhost'/>`));
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='bob@localhost'/>`, "bob@localhost/x"));
    await configure(h, "news", { "pubsub#presence_based_delivery": "1" });
    await h.inject(`<presence from='bob@localhost/x' to='${DOMAIN}'/>`);
    await publish(h, "news", json(1));
    await settle(h);
    assert.equal(notificationsTo(h, "alice@localhost").length, 0);
    assert.equal(notificationsTo(h, "bob@localhost").length, 1);
  });

  test("send_last_published_item never on one node; publish_model open and subscribers; access_model whitelist at once", async () => {
    const h = await feedHarness();
    await publish(h, "news", json(1));
    await configure(h, "news", { "pubsub#send_last_published_item": "never", "pubsub#publish_model": "subscribers" });
    assertError(await ask(h, pubsubIq("set", `<publish node='news'><item>${json(2)}</item></publish>`)), "auth", "forbidden");
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).length, 0, "no last item");
    await ok(h, pubsubIq("set", `<publish node='news'><item>${json(2)}</item></publish>`));
    await configure(h, "news", { "pubsub#publish_model": "open" });
    await ok(h, pubsubIq("set", `<publish node='news'><item>${json(3)}</item></publish>`, "carol@localhost/x"));
    await configure(h, "news", { "pubsub#access_model": "whitelist" });
    assertError(await ask(h, pubsubIq("get", `<items node='news'/>`, "carol@localhost/x")), "cancel", "not-allowed", "closed-node");
  });

  test("meta-data and publish-options follow the configuration", async () => {
    const h = await feedHarness();
    await configure(h, "news", { "pubsub#title": "Renamed", "pubsub#publish_model": "open" });
    const info = await ok(h, `<iq type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#info' node='news'/></iq>`);
    const x = info.getChild("query")!.getChild("x", "jabber:x:data")!;
    assert.equal(fieldValue(x, "pubsub#title"), "Renamed");
    assert.equal(fieldValue(x, "pubsub#publish_model"), "open");
  });
});

describe("feed: affiliations (XEP-0060 §5.7, §8.9)", () => {
  test("§8.9.1 owners list them; §8.9.2 modify; §5.7 each entity sees its own", async () => {
    const h = await feedHarness({ nodes: { club: { owners: [OWNER_JID], publishers: ["pub@localhost"], access: "whitelist", whitelist: ["bob@localhost"] } } });
    const list = await ok(h, pubsubIq("get", `<affiliations node='club'/>`, OWNER_JID, OWNER));
    assert.deepEqual(
      list.getChild("pubsub")!.getChild("affiliations")!.getChildren("affiliation").map((a) => [a.attrs.jid, a.attrs.affiliation]),
      [
        ["admin@localhost", "owner"],
        ["bob@localhost", "member"],
        ["pub@localhost", "publisher"],
      ],
    );
    assertError(await ask(h, pubsubIq("get", `<affiliations node='club'/>`, ALICE, OWNER)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("get", `<affiliations node='nope'/>`, OWNER_JID, OWNER)), "cancel", "item-not-found");
    await ok(h, pubsubIq("set", `<affiliations node='club'><affiliation jid='alice@localhost' affiliation='member'/><affiliation jid='pub@localhost' affiliation='none'/></affiliations>`, OWNER_JID, OWNER));
    await ok(h, pubsubIq("get", `<items node='club'/>`));
    assertError(await ask(h, pubsubIq("set", `<publish node='club'><item>${json(1)}</item></publish>`, "pub@localhost/x")), "auth", "forbidden");
    const mine = await ok(h, pubsubIq("get", `<affiliations/>`));
    assert.deepEqual(mine.getChild("pubsub")!.getChild("affiliations")!.getChildren("affiliation").map((a) => a.attrs), [{ node: "club", affiliation: "member" }]);
    const one = await ok(h, pubsubIq("get", `<affiliations node='club'/>`, OWNER_JID));
    assert.equal(one.getChild("pubsub")!.getChild("affiliations")!.getChild("affiliation")!.attrs.affiliation, "owner");
    // An outcast loses its subscription and may not come back.
    await ok(h, pubsubIq("set", `<subscribe node='club' jid='${ALICE}'/>`));
    await ok(h, pubsubIq("set", `<affiliations node='club'><affiliation jid='alice@localhost' affiliation='outcast'/></affiliations>`, OWNER_JID, OWNER));
    assert.equal(service(h).subscriptionsOf("club").length, 0);
    assertError(await ask(h, pubsubIq("set", `<subscribe node='club' jid='${ALICE}'/>`)), "auth", "forbidden");
  });

  test("§8.9.2.4: invalid entries are not-acceptable with the entries as they are, and nothing changes; the last owner stays", async () => {
    const h = await feedHarness();
    const reply = await ask(h, pubsubIq("set", `<affiliations node='news'><affiliation jid='bob@localhost' affiliation='publisher'/><affiliation jid='eve@localhost' affiliation='king'/></affiliations>`, OWNER_JID, OWNER));
    assertError(reply, "modify", "not-acceptable");
    const entry = reply.getChild("error")!.getChild("pubsub", OWNER)!.getChild("affiliations")!.getChild("affiliation")!;
    assert.deepEqual(entry.attrs, { jid: "eve@localhost", affiliation: "none" });
    assert.deepEqual(service(h).nodes.get("news")!.publishers, ["ticker@localhost"]);
    assertError(await ask(h, pubsubIq("set", `<affiliations node='news'><affiliation jid='${OWNER_JID}' affiliation='none'/></affiliations>`, OWNER_JID, OWNER)), "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("set", `<affiliations node='news'><affiliation jid='bob@localhost' affiliation='member'/></affiliations>`, ALICE, OWNER)), "auth", "forbidden");
  });

  test("service admins manage a file node that has no owners", async () => {
    const h = await feedHarness({ admins: ["root@localhost"], nodes: { ownerless: {} } });
    await ok(h, pubsubIq("set", `<affiliations node='ownerless'><affiliation jid='bob@localhost' affiliation='publisher'/></affiliations>`, ADMIN, OWNER));
    assert.deepEqual(service(h).nodes.get("ownerless")!.publishers, ["bob@localhost"]);
    await ok(h, pubsubIq("get", `<configure node='ownerless'/>`, ADMIN, OWNER));
  });
});

describe("feed: subscriptions managed by the owner, and the authorize model (XEP-0060 §8.6, §8.8)", () => {
  test("§8.8.2 owners add and remove subscriptions; the entity is told (§8.8.4)", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscriptions node='news'><subscription jid='bob@localhost' subscription='subscribed'/></subscriptions>`, OWNER_JID, OWNER));
    assert.deepEqual(service(h).subscriptionsOf("news").map((s) => [s.jid, s.state]), [["bob@localhost", "subscribed"]]);
    await settle(h);
    assert.equal(notificationsTo(h, "bob@localhost").at(-1)!.getChild("event", EVENT)!.getChild("subscription")!.attrs.subscription, "subscribed");
    await ok(h, pubsubIq("set", `<subscriptions node='news'><subscription jid='bob@localhost' subscription='none'/></subscriptions>`, OWNER_JID, OWNER));
    assert.equal(service(h).subscriptionsOf("news").length, 0);
    const bad = await ask(h, pubsubIq("set", `<subscriptions node='news'><subscription jid='bob@localhost' subscription='unconfigured'/></subscriptions>`, OWNER_JID, OWNER));
    assertError(bad, "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("set", `<subscriptions node='news'><subscription jid='bob@localhost' subscription='subscribed'/></subscriptions>`, ALICE, OWNER)), "auth", "forbidden");
  });

  test("authorize: the subscription is pending, owners get the §8.6 form; approval subscribes, denial removes", async () => {
    const h = await feedHarness({ nodes: { gated: { owners: [OWNER_JID], publishers: ["ticker@localhost"], access: "authorize" } } });
    const reply = await ok(h, pubsubIq("set", `<subscribe node='gated' jid='alice@localhost'/>`));
    assert.equal(reply.getChild("pubsub")!.getChild("subscription")!.attrs.subscription, "pending");
    const request = h.sent.find((s) => s.name === "message" && s.attrs.to === OWNER_JID)!;
    const x = request.getChild("x", "jabber:x:data")!;
    assert.equal(fieldValue(x, "FORM_TYPE"), `${PUBSUB}#subscribe_authorization`);
    assert.equal(fieldValue(x, "pubsub#subscriber_jid"), "alice@localhost");
    // Pending: no items, no notifications.
    assertError(await ask(h, pubsubIq("get", `<items node='gated'/>`)), "auth", "not-authorized", "not-subscribed");
    await publish(h, "gated", json(1));
    await settle(h);
    assert.equal(notificationsTo(h, "alice@localhost").length, 0);
    const owners = await ok(h, pubsubIq("get", `<subscriptions node='gated'/>`, OWNER_JID, OWNER));
    assert.equal(owners.getChild("pubsub")!.getChild("subscriptions")!.getChild("subscription")!.attrs.subscription, "pending");
    // Only an owner's answer counts.
    const answer = (from: string, allow: string, jid = "alice@localhost") =>
      `<message from='${from}' to='${DOMAIN}' id='${request.attrs.id}'>${form(`${PUBSUB}#subscribe_authorization`, { "pubsub#node": "gated", "pubsub#subscriber_jid": jid, "pubsub#allow": allow })}</message>`;
    const refused = await h.inject(answer(ALICE, "true"));
    assert.equal(refused[0]?.attrs.type, "error");
    assert.equal(service(h).subscription("gated", "alice@localhost")!.state, "pending");
    await h.inject(answer(`${OWNER_JID}/desk`, "true"));
    assert.equal(service(h).subscription("gated", "alice@localhost")!.state, "subscribed");
    await settle(h);
    assert.equal(notificationsTo(h, "alice@localhost").at(-1)!.getChild("event", EVENT)!.getChild("subscription")!.attrs.subscription, "subscribed");
    await ok(h, pubsubIq("get", `<items node='gated'/>`));
    // Denial.
    await ok(h, pubsubIq("set", `<subscribe node='gated' jid='bob@localhost'/>`, "bob@localhost/x"));
    await h.inject(answer(`${OWNER_JID}/desk`, "false", "bob@localhost"));
    assert.equal(service(h).subscription("gated", "bob@localhost"), undefined);
    const unknown = await h.inject(answer(`${OWNER_JID}/desk`, "true", "nobody@localhost"));
    assert.equal(unknown[0]?.getChild("error")?.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas") !== undefined, true);
  });
});

describe("feed: subscription options (XEP-0060 §6.3, §6.4)", () => {
  test("§6.3.2 get the form; §6.3.5 submit; deliver=false stops delivery, include_body adds a body", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    const got = await ok(h, pubsubIq("get", `<options node='news' jid='${ALICE}'/>`));
    const x = got.getChild("pubsub")!.getChild("options")!.getChild("x", "jabber:x:data")!;
    assert.equal(fieldValue(x, "FORM_TYPE"), `${PUBSUB}#subscribe_options`);
    assert.equal(fieldValue(x, "pubsub#deliver"), "1");
    await ok(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#include_body": "1" })}</options>`));
    await publish(h, "news", json(1));
    await settle(h);
    assert.match(notificationsTo(h, ALICE).at(-1)!.getChildText("body") ?? "", /^New item \S+ in node news$/);
    await ok(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#deliver": "false" })}</options>`));
    const before = notificationsTo(h, ALICE).length;
    await publish(h, "news", json(2));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).length, before);
    const again = await ok(h, pubsubIq("get", `<options node='news' jid='${ALICE}'/>`));
    assert.equal(fieldValue(again.getChild("pubsub")!.getChild("options")!.getChild("x", "jabber:x:data")!, "pubsub#deliver"), "0");
  });

  test("§6.3.4 errors: forbidden, not-subscribed, jid-required, item-not-found; §6.3.5 invalid-options", async () => {
    const h = await feedHarness();
    assertError(await ask(h, pubsubIq("get", `<options node='news' jid='${ALICE}'/>`)), "modify", "unexpected-request", "not-subscribed");
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    assertError(await ask(h, pubsubIq("get", `<options node='news' jid='bob@localhost'/>`)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("get", `<options node='news'/>`)), "modify", "bad-request", "jid-required");
    assertError(await ask(h, pubsubIq("get", `<options node='nope' jid='${ALICE}'/>`)), "cancel", "item-not-found");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#deliver": "perhaps" })}</options>`)), "modify", "bad-request", "invalid-options");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#digest": "1" })}</options>`)), "modify", "bad-request", "invalid-options");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#expire": "tomorrow" })}</options>`)), "modify", "bad-request", "invalid-options");
  });

  test("pubsub#expire as a date-time ends the subscription then; options persist across a restart (SQLite)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "feed-subopt-"));
    try {
      const storage = `sqlite:${join(dir, "f.sqlite")}`;
      const h1 = await feedHarness({ storage });
      const soon = new Date(Date.now() + 60_000).toISOString();
      await ok(h1, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/><options>${subOptions({ "pubsub#expire": soon, "pubsub#include_body": "true" })}</options>`));
      await h1.stop();
      const h2 = await feedHarness({ storage });
      const sub = service(h2).subscription("news", ALICE)!;
      assert.equal(sub.options.includeBody, true);
      assert.equal(sub.options.expiresAt, Date.parse(soon));
      assert.equal(await service(h2).expireSubscriptions(Date.now() + 120_000), 1);
      assert.equal(service(h2).subscription("news", ALICE), undefined);
      await h2.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("§6.4 default subscription options", async () => {
    const h = await feedHarness();
    const reply = await ok(h, pubsubIq("get", `<default node='news'/>`));
    assert.equal(fieldValue(reply.getChild("pubsub")!.getChild("default")!.getChild("x", "jabber:x:data")!, "pubsub#deliver"), "1");
    assertError(await ask(h, pubsubIq("get", `<default node='nope'/>`)), "cancel", "item-not-found");
  });
});

describe("feed: notification details", () => {
  test("§7.1.2 every notification has an id; §6.1.7 the last item on subscribe carries a urn:xmpp:delay stamp", async () => {
    const h = await feedHarness();
    await publish(h, "news", json(1));
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    await settle(h);
    await publish(h, "news", json(2));
    await settle(h);
    const [last, live] = notificationsTo(h, ALICE);
    const delay = last!.getChild("delay", "urn:xmpp:delay")!;
    assert.ok(delay, last!.toString());
    assert.ok(Math.abs(Date.parse(delay.attrs.stamp as string) - Date.now()) < 60_000);
    assert.equal(delay.attrs.from, DOMAIN);
    assert.equal(live!.getChild("delay", "urn:xmpp:delay"), undefined, "a live notification is not delayed");
    assert.ok(last!.attrs.id && live!.attrs.id && last!.attrs.id !== live!.attrs.id);
  });

  test("disco#items on a node pages with RSM (XEP-0059 §2.5)", async () => {
    const h = await feedHarness({ maxPageSize: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await publish(h, "news", json(i)));
    const disco = (set: string) => ok(h, `<iq type='get' id='di' from='${ALICE}'><query xmlns='http://jabber.org/protocol/disco#items' node='news'>${set}</query></iq>`);
    const latest = (await disco("")).getChild("query")!;
    assert.deepEqual(latest.getChildren("item").map((i) => i.attrs.name), ids.slice(4));
    assert.equal(latest.getChild("set", RSM)!.getChildText("count"), "7");
    const walked: string[] = [];
    let after = "";
    for (;;) {
      const q = (await disco(`<set xmlns='${RSM}'><max>2</max>${after ? `<after>${after}</after>` : ""}</set>`)).getChild("query")!;
      const names = q.getChildren("item").map((i) => i.attrs.name as string);
      if (names.length === 0) break;
      walked.push(...names);
      after = q.getChild("set", RSM)!.getChildText("last")!;
    }
    assert.deepEqual(walked, ids);
    const unknown = await ask(h, `<iq type='get' id='dx' from='${ALICE}'><query xmlns='http://jabber.org/protocol/disco#items' node='nope'/></iq>`);
    assertError(unknown, "cancel", "item-not-found");
  });
});

describe("feed: the presence access model needs XEP-0356 roster access", () => {
  const privilege = (from: string, type: string) =>
    `<message from='${from}' to='${DOMAIN}'><privilege xmlns='urn:xmpp:privilege:2'><perm access='roster' type='${type}'/><perm access='message' type='outgoing'/></privilege></message>`;
  const features = async (h: Harness) =>
    (await ok(h, `<iq type='get' id='f' from='${ALICE}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)).getChild("query")!.getChildren("feature").map((f) => f.attrs.var as string);
  const presenceConfig = (h: Harness) => ask(h, pubsubIq("set", `<configure node='news'>${nodeConfig({ "pubsub#access_model": "presence" })}</configure>`, OWNER_JID, OWNER));

  test("without the server's grant: no access-presence in disco, and the model is not-acceptable", async () => {
    const h = await feedHarness();
    assert.ok(!(await features(h)).includes(`${PUBSUB}#access-presence`));
    assertError(await presenceConfig(h), "modify", "not-acceptable");
    // A user cannot grant privileges; a grant without roster access grants nothing.
    await h.inject(privilege("alice@localhost", "get"));
    await h.inject(privilege("localhost", "none"));
    assert.ok(!(await features(h)).includes(`${PUBSUB}#access-presence`));
  });

  test("with the server's roster grant (XEP-0356 §4): access-presence is advertised and the model can be configured", async () => {
    const h = await feedHarness();
    await h.inject(privilege("localhost", "get"));
    assert.ok((await features(h)).includes(`${PUBSUB}#access-presence`));
    assert.equal((await presenceConfig(h)).attrs.type, "result");
    assert.equal(service(h).nodes.get("news")!.access, "presence");
    // The owner itself always may.
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${OWNER_JID}'/>`, `${OWNER_JID}/desk`));
    // Withdrawn: no longer offered.
    await h.inject(privilege("localhost", "none"));
    assert.ok(!(await features(h)).includes(`${PUBSUB}#access-presence`));
  });
});

describe("feed: malformed owner and subscriber requests get a specific error", () => {
  test("configure: a form that is not submitted, or of another FORM_TYPE", async () => {
    const h = await feedHarness();
    assertError(await ask(h, pubsubIq("set", `<configure node='news'>${nodeConfig({ "pubsub#title": "x" }, "form")}</configure>`, OWNER_JID, OWNER)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("set", `<configure node='news'>${form("urn:example:other", { "pubsub#title": "x" })}</configure>`, OWNER_JID, OWNER)), "modify", "not-acceptable");
    assertError(await ask(h, pubsubIq("get", `<frobnicate node='news'/>`, OWNER_JID, OWNER)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("set", `<frobnicate node='news'/>`, OWNER_JID, OWNER)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("set", ``, OWNER_JID, OWNER)), "modify", "bad-request");
  });

  test("subscriptions and affiliations: an empty change list is bad-request", async () => {
    const h = await feedHarness();
    assertError(await ask(h, pubsubIq("set", `<subscriptions node='news'/>`, OWNER_JID, OWNER)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("set", `<affiliations node='news'/>`, OWNER_JID, OWNER)), "modify", "bad-request");
  });

  test("options: no form, another FORM_TYPE, a form not submitted, an expiry in the past: bad-request + invalid-options", async () => {
    const h = await feedHarness();
    await ok(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'/>`)), "modify", "bad-request", "invalid-options");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${form("urn:example:other", { "pubsub#deliver": "1" })}</options>`)), "modify", "bad-request", "invalid-options");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${form(`${PUBSUB}#subscribe_options`, { "pubsub#deliver": "1" }, "form")}</options>`)), "modify", "bad-request", "invalid-options");
    assertError(await ask(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#expire": "2001-01-01T00:00:00Z" })}</options>`)), "modify", "bad-request", "invalid-options");
    // And a bad subscribe-with-options subscribes nobody.
    assertError(await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/><options>${subOptions({ "pubsub#deliver": "x" })}</options>`)), "modify", "bad-request", "invalid-options");
    assert.equal(service(h).subscription("stocks", ALICE), undefined);
    // Switching to pubsub#expire=presence makes it temporary (and back to persistent with an empty value).
    await ok(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#expire": "presence" })}</options>`));
    assert.equal(service(h).subscription("news", ALICE)!.temporary, true);
    await ok(h, pubsubIq("set", `<options node='news' jid='${ALICE}'>${subOptions({ "pubsub#expire": "" })}</options>`));
    assert.equal(service(h).subscription("news", ALICE)!.temporary, false);
  });

  test("approval answers: another form is ignored, a form not submitted or a bad pubsub#allow is bad-request, cancel postpones", async () => {
    const h = await feedHarness({ nodes: { gated: { owners: [OWNER_JID], access: "authorize" } } });
    await ok(h, pubsubIq("set", `<subscribe node='gated' jid='alice@localhost'/>`));
    const answer = (fields: Record<string, string>, type = "submit", formType = `${PUBSUB}#subscribe_authorization`) =>
      h.inject(`<message from='${OWNER_JID}/desk' to='${DOMAIN}' id='a1'>${form(formType, { "pubsub#node": "gated", "pubsub#subscriber_jid": "alice@localhost", ...fields }, type)}</message>`);
    assert.deepEqual(await answer({ "pubsub#allow": "true" }, "submit", "urn:example:other"), []);
    assert.deepEqual(await answer({ "pubsub#allow": "true" }, "cancel"), []);
    const notSubmitted = await answer({ "pubsub#allow": "true" }, "form");
    assert.ok(notSubmitted[0]?.getChild("error")?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"), String(notSubmitted[0]));
    const badAllow = await answer({ "pubsub#allow": "perhaps" });
    assert.ok(badAllow[0]?.getChild("error")?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"), String(badAllow[0]));
    assert.equal(service(h).subscription("gated", "alice@localhost")!.state, "pending");
  });
});
