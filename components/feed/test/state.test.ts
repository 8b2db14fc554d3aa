import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PresenceRoster } from "annex";
import { createHarness, type Harness } from "annex/testing";
import { Feed } from "../feed.js";
import { FeedService } from "../service.js";
import { openStore } from "../store/open.js";
import { ALICE, ask, baseNodes, DOMAIN, EVENT, json, notificationsTo, PUBLISHER, publish, pubsubIq, settle } from "./helpers.js";

// Issue 17: every piece of subscription state is in the store, so a process that starts on it (a restart,
// a standby taking over) has it all; the publish acknowledgement does not wait behind the fan-out.

const dir = mkdtempSync(join(tmpdir(), "feed-state-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => `sqlite:${join(dir, `f${++files}.sqlite`)}`;

async function harnessOn(storage: string, options: Record<string, unknown> = {}): Promise<Harness> {
  const h = createHarness(Feed, { domain: DOMAIN, from: ALICE, options: { storage, nodes: baseNodes, ...options } });
  await h.start();
  return h;
}

describe("feed: the acknowledgement does not wait behind the fan-out", () => {
  test("the publish result goes out before any of its 50 notifications", async () => {
    const h = await harnessOn("memory");
    try {
      const subscribers = Array.from({ length: 50 }, (_, i) => `s${i}@localhost/r`);
      for (const jid of subscribers) await ask(h, pubsubIq("set", `<subscribe node='news' jid='${jid}'/>`, jid));
      await settle(h);
      const before = h.sent.length;
      const out = await h.inject(pubsubIq("set", `<publish node='news'><item id='x'>${json(1)}</item></publish>`, PUBLISHER));
      assert.deepEqual(out.map((s) => `${s.name} ${s.attrs.type}`), ["iq result"], "publishing answers with the result only; notifications follow");
      await settle(h);
      const sent = h.sent.slice(before);
      assert.equal(sent[0]!.name, "iq", "the result is the first stanza sent");
      assert.equal(sent.filter((s) => s.getChild("event", EVENT)).length, 50);
    } finally {
      await h.stop();
    }
  });

  test("a subscriber that subscribes after the acknowledgement gets the item once, as its last published item", async () => {
    const h = await harnessOn("memory");
    try {
      await h.inject(pubsubIq("set", `<publish node='news'><item id='x'>${json(1)}</item></publish>`, PUBLISHER));
      await ask(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
      await settle(h);
      assert.equal(notificationsTo(h, ALICE).length, 1);
    } finally {
      await h.stop();
    }
  });
});

describe("feed: subscription state lives in the store", () => {
  test("temporary subscriptions, presence and presence-access grants are in the store and back after a restart", async () => {
    const storage = newFile();
    const a = await harnessOn(storage);
    await a.inject(`<presence from='${ALICE}' to='${DOMAIN}'/>`);
    await ask(a, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    await a.inject(`<presence type='subscribe' from='bob@localhost' to='${DOMAIN}'/>`);
    const holder = a.host.instance(FeedService).holder;
    // The process dies (stop sends no unavailable on the subscribers' behalf): nothing is ended.
    await a.stop();
    const store = await openStore(storage);
    try {
      const [sub] = await store.subscriptions("news");
      assert.equal(sub?.jid, ALICE);
      assert.equal(sub?.temporary?.boundTo, ALICE);
      assert.equal(sub?.temporary?.holder, holder);
      assert.deepEqual(await store.present(), [ALICE]);
      assert.deepEqual(await store.presenceAccess(), ["bob@localhost"]);
    } finally {
      await store.close();
    }
    // A successor adopts the running leases: the subscription is there, and the unavailable ends it.
    const b = await harnessOn(storage);
    try {
      const service = b.host.instance(FeedService);
      assert.equal(service.subscription("news", ALICE)?.temporary, true);
      assert.ok(service.present.has(ALICE));
      assert.ok(b.host.instance(PresenceRoster).has("bob@localhost"), "the presence-access set survived");
      assert.equal((await (await service.ready()).subscriptions("news"))[0]?.temporary?.holder, service.holder, "adopted");
      await b.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
      assert.equal(service.subscriptionsOf("news").length, 0);
      assert.deepEqual(await (await service.ready()).subscriptions("news"), []);
      assert.deepEqual(await (await service.ready()).present(), []);
      await b.inject(`<presence type='unsubscribe' from='bob@localhost' to='${DOMAIN}'/>`);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(await (await service.ready()).presenceAccess(), []);
    } finally {
      await b.stop();
    }
  });

  test("a dead process's temporary subscriptions end by themselves once its lease ran out", async () => {
    const storage = newFile();
    const a = await harnessOn(storage, { leaseSeconds: 3 });
    await a.inject(`<presence from='${ALICE}' to='${DOMAIN}'/>`);
    await ask(a, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
    await ask(a, pubsubIq("set", `<subscribe node='news' jid='carol@localhost'/>`, "carol@localhost/x"));
    await a.stop();
    await new Promise((r) => setTimeout(r, 3_100));
    const b = await harnessOn(storage, { leaseSeconds: 3 });
    try {
      const service = b.host.instance(FeedService);
      assert.deepEqual(service.subscriptionsOf("news").map((s) => s.jid), ["carol@localhost"], "the persistent one stays");
      assert.equal(service.present.size, 0);
      await service.renewLeases();
      assert.deepEqual((await (await service.ready()).subscriptions("news", 0)).map((s) => s.jid), ["carol@localhost"], "and the expired one is removed from the store");
    } finally {
      await b.stop();
    }
  });

  test("a live process renews its leases: they outlast the lease period", async () => {
    const h = await harnessOn(newFile(), { leaseSeconds: 3 });
    try {
      await h.inject(`<presence from='${ALICE}' to='${DOMAIN}'/>`);
      await ask(h, pubsubIq("set", `<subscribe node='news' jid='${ALICE}'/>`));
      const service = h.host.instance(FeedService);
      const first = (await (await service.ready()).subscriptions("news"))[0]!.temporary!.leaseUntil;
      await new Promise((r) => setTimeout(r, 3_300));
      const [sub] = await (await service.ready()).subscriptions("news");
      assert.ok(sub, "still subscribed after the lease period");
      assert.ok(sub.temporary!.leaseUntil > first, "renewed");
    } finally {
      await h.stop();
    }
  });

  test("after a takeover, items committed but not notified by the previous process are notified once, in order", async () => {
    const storage = newFile();
    const store = await openStore(storage);
    await store.addSubscription("news", ALICE);
    const notified = (await store.publish("news", { id: "done", payload: json(0), publisher: PUBLISHER })).item;
    await store.markNotified("news", notified.seq);
    for (const id of ["late1", "late2", "late3"]) await store.publish("news", { id, payload: json(id), publisher: PUBLISHER });
    await store.close();
    const h = await harnessOn(storage);
    try {
      await settle(h);
      const ids = () => notificationsTo(h, ALICE).map((m) => m.getChild("event", EVENT)!.getChild("items")!.getChild("item")!.attrs.id as string);
      assert.deepEqual(ids(), ["late1", "late2", "late3"]);
      const id = await publish(h, "news", json(4));
      await settle(h);
      assert.deepEqual(ids(), ["late1", "late2", "late3", id], "live notifications follow, nothing twice");
      await new Promise((r) => setTimeout(r, 50));
      const seq = (await (await h.host.instance(FeedService).ready()).latest("news"))!.seq;
      assert.equal(await (await h.host.instance(FeedService).ready()).notifiedUpTo("news"), seq, "the mark follows the fan-out");
    } finally {
      await h.stop();
    }
  });
});
