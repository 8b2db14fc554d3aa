import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FEED_FEATURES } from "../feed.js";
import { FeedService } from "../service.js";
import {
  ALICE,
  ask,
  DOMAIN,
  EVENT,
  feedHarness,
  json,
  notificationsTo,
  OWNER,
  OWNER_JID,
  publish,
  PUBSUB,
  pubsubIq,
  RSM,
  settle,
} from "./helpers.js";

const itemIds = (reply: { getChild: (n: string, ns?: string) => any }) =>
  (reply.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item") as { attrs: { id: string } }[]).map((i) => i.attrs.id);
const rsmSet = (reply: { getChild: (n: string, ns?: string) => any }) => reply.getChild("pubsub", PUBSUB)!.getChild("set", RSM);

describe("feed: discovery", () => {
  test("disco#info: pubsub/service identity and exactly the implemented features", async () => {
    const h = await feedHarness();
    const reply = await ask(h, `<iq type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    const query = reply.getChild("query")!;
    assert.deepEqual(query.getChild("identity")!.attrs, { category: "pubsub", type: "service", name: "Annex feed" });
    const features = query.getChildren("feature").map((f) => f.attrs.var as string);
    for (const f of [...FEED_FEATURES, PUBSUB, `${PUBSUB}#rsm`, "http://jabber.org/protocol/rsm"]) assert.ok(features.includes(f), f);
    assert.equal(features.filter((f) => f.startsWith(`${PUBSUB}#`)).length, FEED_FEATURES.length, features.join(" "));
    // Not implemented, so not advertised: the owner's-presence model, subids, collections.
    for (const f of ["access-presence", "access-roster", "multi-subscribe", "collections", "get-pending"]) assert.ok(!features.includes(`${PUBSUB}#${f}`), f);
  });

  test("disco#items lists the nodes; disco#info on a node is a leaf with a meta-data form", async () => {
    const h = await feedHarness();
    const items = await ask(h, `<iq type='get' id='d2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`);
    assert.deepEqual(
      items.getChild("query")!.getChildren("item").map((i) => i.attrs),
      [
        { jid: DOMAIN, node: "stocks", name: "Stocks" },
        { jid: DOMAIN, node: "news" },
      ],
    );
    const info = await ask(h, `<iq type='get' id='d3'><query xmlns='http://jabber.org/protocol/disco#info' node='stocks'/></iq>`);
    const q = info.getChild("query")!;
    assert.deepEqual(q.getChild("identity")!.attrs, { category: "pubsub", type: "leaf" });
    const form = q.getChild("x", "jabber:x:data")!;
    const field = (v: string) => form.getChildren("field").find((f) => f.attrs.var === v)?.getChildren("value").map((x) => x.getText());
    assert.deepEqual(field("FORM_TYPE"), [`${PUBSUB}#meta-data`]);
    assert.deepEqual(field("pubsub#title"), ["Stocks"]);
    assert.deepEqual(field("pubsub#type"), ["urn:xmpp:json:0"]);
    assert.deepEqual(field("pubsub#owner"), [OWNER_JID]);
    const unknown = await ask(h, `<iq type='get' id='d4'><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>`);
    assert.equal(unknown.getChild("error")?.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas")?.name, "item-not-found");
  });

  test("a node's unit is in its meta-data form (urn:annex:feed:unit), and only when configured", async () => {
    const h = await feedHarness({ nodes: { prices: { unit: "USD" }, plain: {} } });
    const unitOf = async (node: string) => {
      const info = await ask(h, `<iq type='get' id='u-${node}'><query xmlns='http://jabber.org/protocol/disco#info' node='${node}'/></iq>`);
      const form = info.getChild("query")!.getChild("x", "jabber:x:data")!;
      return form.getChildren("field").find((f) => f.attrs.var === "urn:annex:feed:unit")?.getChildren("value").map((v) => v.getText());
    };
    assert.deepEqual(await unitOf("prices"), ["USD"]);
    assert.equal(await unitOf("plain"), undefined);
  });

  test("disco#items on a node lists its item ids", async () => {
    const h = await feedHarness();
    const id = await publish(h, "news", "<entry xmlns='urn:example'/>");
    const items = await ask(h, `<iq type='get' id='d5'><query xmlns='http://jabber.org/protocol/disco#items' node='news'/></iq>`);
    assert.deepEqual(items.getChild("query")!.getChildren("item").map((i) => i.attrs), [{ jid: DOMAIN, name: id }]);
  });
});

describe("feed: subscriptions", () => {
  test("subscribe with the bare or full JID, list them, unsubscribe", async () => {
    const h = await feedHarness();
    const sub = await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='alice@localhost'/>`));
    assert.deepEqual(sub.getChild("pubsub")!.getChild("subscription")!.attrs, { node: "stocks", jid: "alice@localhost", subscription: "subscribed" });
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    const list = await ask(h, pubsubIq("get", `<subscriptions/>`));
    assert.deepEqual(
      list.getChild("pubsub")!.getChild("subscriptions")!.getChildren("subscription").map((s) => s.attrs),
      [
        { node: "stocks", jid: "alice@localhost", subscription: "subscribed" },
        { node: "news", jid: ALICE, subscription: "subscribed" },
      ],
    );
    const one = await ask(h, pubsubIq("get", `<subscriptions node='news'/>`));
    assert.equal(one.getChild("pubsub")!.getChild("subscriptions")!.getChildren("subscription").length, 1);
    assert.equal((await ask(h, pubsubIq("set", `<unsubscribe node='stocks' jid='alice@localhost'/>`))).attrs.type, "result");
    const after = await ask(h, pubsubIq("get", `<subscriptions/>`));
    assert.deepEqual(after.getChild("pubsub")!.getChild("subscriptions")!.getChildren("subscription").map((s) => s.attrs.node), ["news"]);
  });

  test("the last item is sent to a new subscriber after the result (send_last_published_item on_sub)", async () => {
    const h = await feedHarness();
    await publish(h, "stocks", json({ value: 1 }));
    const last = await publish(h, "stocks", json({ value: 2 }));
    await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/>`));
    await settle(h);
    const got = notificationsTo(h, ALICE);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.attrs.type, "headline");
    const item = got[0]!.getChild("event", EVENT)!.getChild("items")!.getChild("item")!;
    assert.equal(item.attrs.id, last);
    assert.equal(item.getChildText("json", "urn:xmpp:json:0"), '{"value":2}');
  });

  test("with sendLastPublishedItem never, a new subscriber gets nothing until the next publish", async () => {
    const h = await feedHarness({ sendLastPublishedItem: "never" });
    await publish(h, "stocks", json({ value: 1 }));
    await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/>`));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).length, 0);
  });

  test("owners list a node's subscriptions", async () => {
    const h = await feedHarness();
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    const list = await ask(h, pubsubIq("get", `<subscriptions node='news'/>`, `${OWNER_JID}/desk`, OWNER));
    assert.deepEqual(list.getChild("pubsub", OWNER)!.getChild("subscriptions")!.getChildren("subscription").map((s) => s.attrs), [
      { jid: ALICE, subscription: "subscribed" },
    ]);
  });
});

describe("feed: temporary subscriptions (XEP-0060 §12.4)", () => {
  test("a subscriber that sent directed presence is unsubscribed by its unavailable; persistent ones stay", async () => {
    const h = await feedHarness();
    await h.inject(`<presence from='${ALICE}' to='${DOMAIN}'/>`);
    await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/>`));
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='bob@localhost'/>`, "bob@localhost/phone"));
    const service = h.host.instance(FeedService);
    assert.equal(service.subscriptionsOf("stocks")[0]?.temporary, true);
    await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
    assert.deepEqual(service.subscriptionsOf("stocks"), []);
    await h.inject(`<presence type='unavailable' from='bob@localhost/phone' to='${DOMAIN}'/>`);
    assert.equal(service.subscriptionsOf("news").length, 1, "a subscription made without presence is persistent");
  });

  test("pubsub#expire=presence in the subscribe options makes the subscription temporary", async () => {
    const h = await feedHarness();
    const form = `<options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${PUBSUB}#subscribe_options</value></field><field var='pubsub#expire'><value>presence</value></field></x></options>`;
    await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/>${form}`));
    await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
    assert.deepEqual(h.host.instance(FeedService).subscriptionsOf("stocks"), []);
  });

  test("a persistent subscription survives a restart of the feed (SQLite)", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "feed-subs-"));
    try {
      const storage = `sqlite:${join(dir, "f.sqlite")}`;
      const h1 = await feedHarness({ storage });
      await ask(h1, pubsubIq("set", `<subscribe node='news' jid='alice@localhost'/>`));
      await h1.stop();
      const h2 = await feedHarness({ storage });
      assert.deepEqual(h2.host.instance(FeedService).subscriptionsOf("news").map((s) => s.jid), ["alice@localhost"]);
      await h2.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("feed: publish and notifications", () => {
  test("publish without an id gets a monotonic, sortable id; subscribers get a headline with the payload", async () => {
    const h = await feedHarness();
    await ask(h, pubsubIq("set", `<subscribe node='stocks' jid='alice@localhost'/>`));
    const ids = [await publish(h, "stocks", json({ v: 1 })), await publish(h, "stocks", json({ v: 2 }))];
    assert.ok(ids[0]! < ids[1]!, ids.join(" < "));
    await settle(h);
    const events = notificationsTo(h, "alice@localhost");
    assert.equal(events.length, 2);
    assert.equal(events[1]!.attrs.from, DOMAIN);
    assert.equal(events[1]!.attrs.type, "headline");
    const item = events[1]!.getChild("event", EVENT)!.getChild("items")!;
    assert.equal(item.attrs.node, "stocks");
    assert.equal(item.getChild("item")!.attrs.id, ids[1]);
    assert.equal(item.getChild("item")!.getChildText("json", "urn:xmpp:json:0"), '{"v":2}');
  });

  test("re-publishing an id overwrites the item and notifies again (XEP-0060 §7.1.2)", async () => {
    const h = await feedHarness();
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='alice@localhost'/>`));
    await publish(h, "news", "<a xmlns='urn:example'>1</a>", "same");
    await publish(h, "news", "<a xmlns='urn:example'>2</a>", "same");
    await settle(h);
    assert.equal(notificationsTo(h, "alice@localhost").length, 2);
    const items = await ask(h, pubsubIq("get", `<items node='news'/>`));
    assert.deepEqual(itemIds(items), ["same"]);
    assert.equal(items.getChild("pubsub")!.getChild("items")!.getChild("item")!.getChildText("a", "urn:example"), "2");
  });

  test("retract with notify sends a retract event; without notify, none", async () => {
    const h = await feedHarness();
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='alice@localhost'/>`));
    const a = await publish(h, "news", "<a xmlns='urn:example'/>");
    const b = await publish(h, "news", "<b xmlns='urn:example'/>");
    await ask(h, pubsubIq("set", `<retract node='news' notify='true'><item id='${a}'/></retract>`, "ticker@localhost/bot"));
    await ask(h, pubsubIq("set", `<retract node='news'><item id='${b}'/></retract>`, "ticker@localhost/bot"));
    await settle(h);
    const retracts = notificationsTo(h, "alice@localhost").filter((m) => m.getChild("event", EVENT)!.getChild("items")!.getChild("retract"));
    assert.deepEqual(retracts.map((m) => m.getChild("event", EVENT)!.getChild("items")!.getChild("retract")!.attrs.id), [a]);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='news'/>`))), []);
  });

  test("owners purge a node; subscribers are told", async () => {
    const h = await feedHarness();
    await ask(h, pubsubIq("set", `<subscribe node='news' jid='alice@localhost'/>`));
    await publish(h, "news", "<a xmlns='urn:example'/>");
    const reply = await ask(h, pubsubIq("set", `<purge node='news'/>`, `${OWNER_JID}/desk`, OWNER));
    assert.equal(reply.attrs.type, "result");
    await settle(h);
    assert.ok(notificationsTo(h, "alice@localhost").some((m) => m.getChild("event", EVENT)!.getChild("purge")?.attrs.node === "news"));
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='news'/>`))), []);
  });

  test("retention by count applies on publish", async () => {
    const h = await feedHarness({ nodes: { small: { publishers: ["ticker@localhost"], maxItems: 3 } } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publish(h, "small", `<n xmlns='urn:example'>${i}</n>`));
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='small'/>`))), ids.slice(2));
  });

  test("matching publish-options are accepted", async () => {
    const h = await feedHarness();
    const form = `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${PUBSUB}#publish-options</value></field><field var='pubsub#access_model'><value>open</value></field><field var='pubsub#persist_items'><value>1</value></field></x></publish-options>`;
    const reply = await ask(h, pubsubIq("set", `<publish node='news'><item id='x'><a xmlns='urn:example'/></item></publish>${form}`, "ticker@localhost/bot"));
    assert.equal(reply.attrs.type, "result", reply.toString());
  });
});

describe("feed: items retrieval and RSM", () => {
  async function filled(n: number) {
    const h = await feedHarness();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await publish(h, "news", `<n xmlns='urn:example'>${i}</n>`));
    return { h, ids };
  }

  test("max_items returns the N most recent, oldest first", async () => {
    const { h, ids } = await filled(6);
    const reply = await ask(h, pubsubIq("get", `<items node='news' max_items='2'/>`));
    assert.deepEqual(itemIds(reply), ids.slice(4));
    assert.equal(rsmSet(reply), undefined);
  });

  test("items by id: the known ones; unknown ids and empty nodes are an empty result, not an error", async () => {
    const { h, ids } = await filled(3);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='news'><item id='${ids[2]}'/><item id='nope'/><item id='${ids[0]}'/></items>`))), [ids[0], ids[2]]);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='news'><item id='nope'/></items>`))), []);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='stocks'/>`))), []);
  });

  test("a request over the page cap returns the latest page with an RSM set", async () => {
    const h = await feedHarness({ maxPageSize: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publish(h, "news", `<n xmlns='urn:example'>${i}</n>`));
    const reply = await ask(h, pubsubIq("get", `<items node='news'/>`));
    assert.deepEqual(itemIds(reply), ids.slice(2));
    const set = rsmSet(reply)!;
    assert.equal(set.getChildText("count"), "5");
    assert.equal(set.getChild("first").attrs.index, "2");
  });

  test("RSM <before/> is the latest page, <before>id pages back, <after>id forward, with first index and count", async () => {
    const { h, ids } = await filled(7);
    const last = await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>3</max><before/></set>`));
    assert.deepEqual(itemIds(last), ids.slice(4));
    const set = rsmSet(last)!;
    assert.equal(set.getChildText("first"), ids[4]);
    assert.equal(set.getChild("first").attrs.index, "4");
    assert.equal(set.getChildText("last"), ids[6]);
    assert.equal(set.getChildText("count"), "7");
    const back = await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>3</max><before>${ids[4]}</before></set>`));
    assert.deepEqual(itemIds(back), ids.slice(1, 4));
    assert.equal(rsmSet(back)!.getChild("first").attrs.index, "1");
    const fwd = await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>2</max><after>${ids[1]}</after></set>`));
    assert.deepEqual(itemIds(fwd), ids.slice(2, 4));
    assert.equal(rsmSet(fwd)!.getChild("first").attrs.index, "2");
  });

  test("RSM <index> jumps, <max>0 returns only the count, an empty page carries only the count", async () => {
    const { h, ids } = await filled(5);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>2</max><index>3</index></set>`))), ids.slice(3));
    const count = await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>0</max></set>`));
    assert.deepEqual(itemIds(count), []);
    assert.equal(rsmSet(count)!.getChildText("count"), "5");
    assert.equal(rsmSet(count)!.getChild("first"), undefined);
    const end = await ask(h, pubsubIq("get", `<items node='news'/><set xmlns='${RSM}'><max>5</max><after>${ids[4]}</after></set>`));
    assert.deepEqual(itemIds(end), []);
  });
});

describe("feed: retention by age and catch-up", () => {
  test("the retention sweep drops items older than maxAgeSeconds", async () => {
    const h = await feedHarness({ nodes: { recent: { publishers: ["ticker@localhost"], maxAgeSeconds: 60 } } });
    const id = await publish(h, "recent", "<n xmlns='urn:example'/>");
    const service = h.host.instance(FeedService);
    assert.equal(await service.trimAll(Date.now() + 30_000), 0);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='recent'/>`))), [id]);
    assert.equal(await service.trimAll(Date.now() + 61_000), 1);
    assert.deepEqual(itemIds(await ask(h, pubsubIq("get", `<items node='recent'/>`))), []);
  });

  test("a subscriber that missed items catches up with <after>lastSeenId; a trimmed id means refetch", async () => {
    const h = await feedHarness({ nodes: { small: { publishers: ["ticker@localhost"], maxItems: 3 } } });
    const seen = await publish(h, "small", "<n xmlns='urn:example'>0</n>");
    const missed = [await publish(h, "small", "<n xmlns='urn:example'>1</n>"), await publish(h, "small", "<n xmlns='urn:example'>2</n>")];
    const caughtUp = await ask(h, pubsubIq("get", `<items node='small'/><set xmlns='${RSM}'><max>10</max><after>${seen}</after></set>`));
    assert.deepEqual(itemIds(caughtUp), missed);
    await publish(h, "small", "<n xmlns='urn:example'>3</n>");
    const gone = await ask(h, pubsubIq("get", `<items node='small'/><set xmlns='${RSM}'><max>10</max><after>${seen}</after></set>`));
    assert.equal(gone.attrs.type, "error");
    assert.ok(gone.getChild("error")!.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
  });
});
