import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FeedService } from "../service.js";
import { ALICE, ask, assertError, DOMAIN, feedHarness, json, notificationsTo, OWNER, publish, PUBSUB, pubsubIq, RSM, settle } from "./helpers.js";

const PUBLISHER = "ticker@localhost/bot";
const publishOptions = (fields: Record<string, string>) =>
  `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${PUBSUB}#publish-options</value></field>${Object.entries(
    fields,
  )
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join("")}</x></publish-options>`;

const nodes = {
  open: { publishers: ["ticker@localhost"], owners: ["admin@localhost"] },
  members: { access: "whitelist", whitelist: ["bob@localhost"] },
  friends: { access: "service-presence" },
  private: { itemsRequireSubscription: true },
  live: { persistItems: false, publishers: ["ticker@localhost"] },
  json: { publishers: ["ticker@localhost"], payloadNamespace: "urn:xmpp:json:0" },
  capped: { publishers: ["ticker@localhost"], maxItems: 1, whenFull: "reject" },
};

/** Items stay as they were after a refused request: nothing is lost or half-done. */
async function itemCount(h: Awaited<ReturnType<typeof feedHarness>>, node: string) {
  return h.host.instance(FeedService).count(node);
}

// One test per row of the research's error table (pubsub.md §4), plus the related request errors.
describe("feed: the XEP-0060 error table", () => {
  test("node does not exist: cancel/item-not-found for subscribe, items and publish", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<subscribe node='nope' jid='${ALICE}'/>`)), "cancel", "item-not-found");
    assertError(await ask(h, pubsubIq("get", `<items node='nope'/>`)), "cancel", "item-not-found");
    assertError(await ask(h, pubsubIq("set", `<publish node='nope'><item>${json(1)}</item></publish>`, PUBLISHER)), "cancel", "item-not-found");
  });

  test("subscribe/unsubscribe jid other than the sender's: modify/bad-request + invalid-jid", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<subscribe node='open' jid='mallory@localhost'/>`)), "modify", "bad-request", "invalid-jid");
    assertError(await ask(h, pubsubIq("set", `<subscribe node='open'/>`)), "modify", "bad-request", "invalid-jid");
    assertError(await ask(h, pubsubIq("set", `<subscribe node='open' jid='not a jid@@'/>`)), "modify", "bad-request", "invalid-jid");
    assert.deepEqual(h.host.instance(FeedService).subscriptionsOf("open"), []);
  });

  test("unsubscribing another entity's JID: auth/forbidden (XEP-0060 §6.2.3.3), and the subscription stays", async () => {
    const h = await feedHarness({ nodes });
    await ask(h, pubsubIq("set", `<subscribe node='open' jid='bob@localhost'/>`, "bob@localhost/x"));
    assertError(await ask(h, pubsubIq("set", `<unsubscribe node='open' jid='bob@localhost'/>`)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("set", `<unsubscribe node='open' jid='not a jid@@'/>`)), "modify", "bad-request", "invalid-jid");
    assert.equal(h.host.instance(FeedService).subscriptionsOf("open").length, 1);
  });

  test("no subscription ids (one subscription per JID and node): a subid is not-acceptable + invalid-subid (§6.2.3.5, §6.3.4.5, §6.5.9.2)", async () => {
    const h = await feedHarness({ nodes });
    await ask(h, pubsubIq("set", `<subscribe node='open' jid='${ALICE}'/>`));
    assertError(await ask(h, pubsubIq("set", `<unsubscribe node='open' jid='${ALICE}' subid='123-abc'/>`)), "modify", "not-acceptable", "invalid-subid");
    assertError(await ask(h, pubsubIq("get", `<options node='open' jid='${ALICE}' subid='123-abc'/>`)), "modify", "not-acceptable", "invalid-subid");
    assertError(await ask(h, pubsubIq("get", `<items node='open' subid='123-abc'/>`)), "modify", "not-acceptable", "invalid-subid");
    // A second subscribe returns the one subscription; there is never a choice that would need a subid.
    await ask(h, pubsubIq("set", `<subscribe node='open' jid='${ALICE}'/>`));
    assert.equal(h.host.instance(FeedService).subscriptionsOf("open").length, 1);
  });

  test("insufficient privileges: auth/forbidden for publish, retract, purge and the owner's list", async () => {
    const h = await feedHarness({ nodes });
    const id = await publish(h, "open", json(1));
    assertError(await ask(h, pubsubIq("set", `<publish node='open'><item>${json(2)}</item></publish>`)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("set", `<retract node='open'><item id='${id}'/></retract>`)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("set", `<purge node='open'/>`, ALICE, OWNER)), "auth", "forbidden");
    assertError(await ask(h, pubsubIq("get", `<subscriptions node='open'/>`, ALICE, OWNER)), "auth", "forbidden");
    assert.equal(await itemCount(h, "open"), 1);
  });

  test("presence access model without a presence subscription: auth/not-authorized + presence-subscription-required", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<subscribe node='friends' jid='${ALICE}'/>`)), "auth", "not-authorized", "presence-subscription-required");
    assertError(await ask(h, pubsubIq("get", `<items node='friends'/>`)), "auth", "not-authorized", "presence-subscription-required");
    // After a presence subscription to the feed (RFC 6121 §3.1) access is granted.
    const out = await h.inject(`<presence type='subscribe' from='alice@localhost' to='${DOMAIN}'/>`);
    assert.equal(out[0]?.attrs.type, "subscribed");
    assert.equal((await ask(h, pubsubIq("set", `<subscribe node='friends' jid='${ALICE}'/>`))).attrs.type, "result");
  });

  test("whitelist node, not on the list: cancel/not-allowed + closed-node", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<subscribe node='members' jid='${ALICE}'/>`)), "cancel", "not-allowed", "closed-node");
    assertError(await ask(h, pubsubIq("get", `<items node='members'/>`)), "cancel", "not-allowed", "closed-node");
    assert.equal((await ask(h, pubsubIq("set", `<subscribe node='members' jid='bob@localhost'/>`, "bob@localhost/x"))).attrs.type, "result");
  });

  test("items from an unsubscribed entity where subscription is required: auth/not-authorized + not-subscribed", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("get", `<items node='private'/>`)), "auth", "not-authorized", "not-subscribed");
    await ask(h, pubsubIq("set", `<subscribe node='private' jid='alice@localhost'/>`));
    assert.equal((await ask(h, pubsubIq("get", `<items node='private'/>`))).attrs.type, "result");
  });

  test("unsubscribe without a subscription: cancel/unexpected-request + not-subscribed", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<unsubscribe node='open' jid='${ALICE}'/>`)), "cancel", "unexpected-request", "not-subscribed");
  });

  test("items of a node that keeps none: cancel/feature-not-implemented + unsupported persistent-items", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("get", `<items node='live'/>`)), "cancel", "feature-not-implemented", "unsupported", { feature: "persistent-items" });
    // Publishing still notifies.
    await ask(h, pubsubIq("set", `<subscribe node='live' jid='${ALICE}'/>`));
    await h.inject(pubsubIq("set", `<publish node='live'><item>${json(1)}</item></publish>`, PUBLISHER));
    await settle(h);
    assert.equal(notificationsTo(h, ALICE).length, 1);
  });

  test("payload too big: modify/not-acceptable + payload-too-big, nothing stored", async () => {
    const h = await feedHarness({ nodes, maxPayloadBytes: 100 });
    assertError(await ask(h, pubsubIq("set", `<publish node='open'><item>${json("x".repeat(200))}</item></publish>`, PUBLISHER)), "modify", "not-acceptable", "payload-too-big");
    assert.equal(await itemCount(h, "open"), 0);
  });

  test("not exactly one payload, or the wrong namespace: modify/bad-request + invalid-payload", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<publish node='open'><item/></publish>`, PUBLISHER)), "modify", "bad-request", "invalid-payload");
    assertError(await ask(h, pubsubIq("set", `<publish node='open'><item>${json(1)}${json(2)}</item></publish>`, PUBLISHER)), "modify", "bad-request", "invalid-payload");
    assertError(await ask(h, pubsubIq("set", `<publish node='json'><item><x xmlns='urn:other'/></item></publish>`, PUBLISHER)), "modify", "bad-request", "invalid-payload");
    assertError(
      await ask(h, pubsubIq("set", `<publish node='open'><item>${json(1)}</item><item>${json(2)}</item></publish>`, PUBLISHER)),
      "modify",
      "bad-request",
      "invalid-payload",
    );
    assert.equal(await itemCount(h, "open"), 0);
    assert.equal(await itemCount(h, "json"), 0);
  });

  test("publish-options that do not match: cancel/conflict + precondition-not-met, nothing stored", async () => {
    const h = await feedHarness({ nodes });
    const pub = (opts: Record<string, string>) => pubsubIq("set", `<publish node='open'><item>${json(1)}</item></publish>${publishOptions(opts)}`, PUBLISHER);
    assertError(await ask(h, pub({ "pubsub#access_model": "whitelist" })), "cancel", "conflict", "precondition-not-met");
    assertError(await ask(h, pub({ "pubsub#persist_items": "0" })), "cancel", "conflict", "precondition-not-met");
    assertError(await ask(h, pub({ "pubsub#made_up": "1" })), "cancel", "conflict", "precondition-not-met");
    assert.equal(await itemCount(h, "open"), 0);
  });

  test("node full and rejecting: cancel/conflict + node-full; overwriting is still allowed", async () => {
    const h = await feedHarness({ nodes });
    await publish(h, "capped", json(1), "a");
    assertError(await ask(h, pubsubIq("set", `<publish node='capped'><item id='b'>${json(2)}</item></publish>`, PUBLISHER)), "cancel", "conflict", "node-full");
    await publish(h, "capped", json(3), "a");
    assert.equal(await itemCount(h, "capped"), 1);
  });

  test("no items or unknown ids on retrieval: an empty <items/> result, not an error", async () => {
    const h = await feedHarness({ nodes });
    const reply = await ask(h, pubsubIq("get", `<items node='open'><item id='nope'/></items>`));
    assert.equal(reply.attrs.type, "result");
    assert.equal(reply.getChild("pubsub")!.getChild("items")!.getChildren("item").length, 0);
  });

  test("what the service does not do: cancel/feature-not-implemented + unsupported naming the feature", async () => {
    const h = await feedHarness({ nodes });
    // XEP-0060 §8.9.2.4.2: the one affiliation this service does not have.
    const cases: [string, string, string, string][] = [["set", `<affiliations node='open'><affiliation jid='bob@localhost' affiliation='publish-only'/></affiliations>`, OWNER, "publish-only-affiliation"]];
    for (const [type, inner, ns, feature] of cases) {
      assertError(await ask(h, pubsubIq(type as "get" | "set", inner, "admin@localhost/x", ns)), "cancel", "feature-not-implemented", "unsupported", { feature });
    }
  });

  test("malformed requests: bad-request with a text (node missing, item required, unknown action, bad max_items, bad RSM)", async () => {
    const h = await feedHarness({ nodes });
    assertError(await ask(h, pubsubIq("set", `<subscribe jid='${ALICE}'/>`)), "modify", "bad-request", "nodeid-required");
    assertError(await ask(h, pubsubIq("set", `<publish node='open'/>`, PUBLISHER)), "modify", "bad-request", "item-required");
    assertError(await ask(h, pubsubIq("set", `<retract node='open'/>`, PUBLISHER)), "modify", "bad-request", "item-required");
    assertError(await ask(h, pubsubIq("get", `<frobnicate/>`)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("get", ``)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("get", `<items node='open' max_items='lots'/>`)), "modify", "bad-request");
    assertError(await ask(h, pubsubIq("get", `<items node='open'/><set xmlns='${RSM}'><max>-1</max></set>`)), "modify", "bad-request");
  });

  test("RSM <after> an id that is gone: cancel/item-not-found (the client must refetch)", async () => {
    const h = await feedHarness({ nodes });
    const id = await publish(h, "open", json(1));
    await ask(h, pubsubIq("set", `<retract node='open'><item id='${id}'/></retract>`, PUBLISHER));
    assertError(await ask(h, pubsubIq("get", `<items node='open'/><set xmlns='${RSM}'><max>5</max><after>${id}</after></set>`)), "cancel", "item-not-found");
    assertError(await ask(h, pubsubIq("set", `<retract node='open'><item id='${id}'/></retract>`, PUBLISHER)), "cancel", "item-not-found");
  });

  test("over the node's publish rate: wait/resource-constraint, nothing stored", async () => {
    const h = await feedHarness({ nodes: { slow: { publishers: ["ticker@localhost"], rate: { perSecond: 0.001, burst: 1 } } } });
    await publish(h, "slow", json(1));
    assertError(await ask(h, pubsubIq("set", `<publish node='slow'><item>${json(2)}</item></publish>`, PUBLISHER)), "wait", "resource-constraint");
    assert.equal(await itemCount(h, "slow"), 1);
  });
});

describe("feed: publisher lists", () => {
  test("JIDs in the config compare case-insensitively (RFC 7622), a full JID allows only that resource", async () => {
    const h = await feedHarness({ nodes: { n: { publishers: ["Ticker@LOCALHOST", "bot@localhost/only"] } } });
    const pub = (from: string) => ask(h, pubsubIq("set", `<publish node='n'><item>${json(1)}</item></publish>`, from));
    assert.equal((await pub("ticker@localhost/any")).attrs.type, "result");
    assert.equal((await pub("bot@localhost/only")).attrs.type, "result");
    assertError(await pub("bot@localhost/other"), "auth", "forbidden");
  });
});
