import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type FeedStore, NodeFullError, UnknownItemError } from "../store/store.js";

export interface StoreFactory {
  /** A new, empty store (already initialised). */
  create(): Promise<FeedStore>;
  /** Closes the store and opens the same storage again (durable adapters only). */
  reopen?(store: FeedStore): Promise<FeedStore>;
}

const payload = (n: number) => `<json xmlns="urn:xmpp:json:0">{"n":${n}}</json>`;
const pub = "ticker@feed.localhost";

async function fill(store: FeedStore, node: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await store.publish(node, { payload: payload(i), publisher: pub })).item.id);
  return ids;
}

/** The one storage suite every adapter must pass. */
export function storeSuite(name: string, factory: StoreFactory): void {
  const withStore = (title: string, body: (store: FeedStore) => Promise<void>) =>
    test(title, async () => {
      const store = await factory.create();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  describe(`feed store: ${name}`, () => {
    withStore("generated ids are unique, increasing and sort as strings in publish order", async (store) => {
      const ids = await fill(store, "n", 12);
      assert.equal(new Set(ids).size, 12);
      assert.deepEqual([...ids].sort(), ids);
      const page = await store.page("n", { max: 100 });
      assert.deepEqual(page.items.map((i) => i.id), ids);
      assert.equal(page.items[3]!.payload, payload(3));
      assert.equal(page.items[3]!.publisher, pub);
    });

    withStore("concurrent publishes each get their own id, none lost", async (store) => {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.publish("n", { payload: payload(i), publisher: pub })));
      assert.equal(new Set(results.map((r) => r.item.id)).size, 40);
      assert.equal(await store.count("n"), 40);
    });

    withStore("re-publishing an id overwrites the item and moves it to the newest place", async (store) => {
      const [a, b] = await fill(store, "n", 2);
      await store.publish("n", { id: "mine", payload: payload(10), publisher: pub });
      const again = await store.publish("n", { id: a!, payload: payload(99), publisher: "other@localhost" });
      assert.equal(again.replaced, true);
      assert.equal(await store.count("n"), 3);
      const page = await store.page("n", { max: 10 });
      assert.deepEqual(page.items.map((i) => i.id), [b, "mine", a]);
      assert.equal(page.items[2]!.payload, payload(99));
      assert.equal(page.items[2]!.publisher, "other@localhost");
      assert.equal((await store.publish("n", { id: "new", payload: payload(1), publisher: pub })).replaced, false);
    });

    withStore("getItems returns the known ids oldest first and skips unknown ones", async (store) => {
      const ids = await fill(store, "n", 5);
      const got = await store.getItems("n", [ids[3]!, "nope", ids[1]!, ids[3]!]);
      assert.deepEqual(got.map((i) => i.id), [ids[1], ids[3]]);
      assert.deepEqual(await store.getItems("other", [ids[1]!]), []);
    });

    withStore("RSM: forward with <after> and backward with <before> walk every item once", async (store) => {
      const ids = await fill(store, "n", 25);
      const forward: string[] = [];
      let page = await store.page("n", { max: 10 });
      assert.deepEqual({ count: page.count, firstIndex: page.firstIndex }, { count: 25, firstIndex: 0 });
      while (page.items.length > 0) {
        assert.equal(page.firstIndex, forward.length);
        forward.push(...page.items.map((i) => i.id));
        page = await store.page("n", { max: 10, after: page.items.at(-1)!.id });
      }
      assert.deepEqual(forward, ids);

      const backward: string[] = [];
      page = await store.page("n", { max: 10, before: true });
      assert.equal(page.firstIndex, 15);
      while (page.items.length > 0) {
        assert.equal(page.firstIndex, 25 - backward.length - page.items.length);
        backward.unshift(...page.items.map((i) => i.id));
        page = await store.page("n", { max: 10, before: page.items[0]!.id });
      }
      assert.deepEqual(backward, ids);
    });

    withStore("RSM: <before/> empty is the latest page, <index> jumps, <max>0 counts", async (store) => {
      const ids = await fill(store, "n", 7);
      const last = await store.page("n", { max: 3, before: true });
      assert.deepEqual(last.items.map((i) => i.id), ids.slice(4));
      assert.equal(last.firstIndex, 4);
      const mid = await store.page("n", { max: 2, index: 3 });
      assert.deepEqual(mid.items.map((i) => i.id), ids.slice(3, 5));
      assert.equal(mid.firstIndex, 3);
      const past = await store.page("n", { max: 2, index: 50 });
      assert.deepEqual(past.items, []);
      const counted = await store.page("n", { max: 0 });
      assert.deepEqual({ items: counted.items, count: counted.count }, { items: [], count: 7 });
      const before = await store.page("n", { max: 10, before: ids[2]! });
      assert.deepEqual(before.items.map((i) => i.id), ids.slice(0, 2));
      assert.equal(before.firstIndex, 0);
      const afterLast = await store.page("n", { max: 10, after: ids[6]! });
      assert.deepEqual(afterLast.items, []);
      const empty = await store.page("empty", { max: 10, before: true });
      assert.deepEqual({ items: empty.items, count: empty.count }, { items: [], count: 0 });
    });

    withStore("RSM: an unknown or trimmed <after>/<before> id is UnknownItemError (the client must refetch)", async (store) => {
      const ids = await fill(store, "n", 3);
      await assert.rejects(store.page("n", { max: 5, after: "gone" }), UnknownItemError);
      await assert.rejects(store.page("n", { max: 5, before: "gone" }), UnknownItemError);
      await store.retract("n", ids[0]!);
      await assert.rejects(store.page("n", { max: 5, after: ids[0]! }), (err: unknown) => err instanceof UnknownItemError && err.id === ids[0]);
    });

    withStore("retention by count keeps the newest items", async (store) => {
      const ids = await fill(store, "n", 4);
      const r = await store.publish("n", { payload: payload(4), publisher: pub }, { maxItems: 3 });
      assert.equal(r.evicted, 2);
      const page = await store.page("n", { max: 10 });
      assert.deepEqual(page.items.map((i) => i.id), [ids[2], ids[3], r.item.id]);
      assert.equal(await store.trim("n", { maxItems: 1 }), 2);
      assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), [r.item.id]);
      assert.equal(await store.trim("n", { maxItems: 0 }), 1);
      assert.equal(await store.count("n"), 0);
    });

    withStore("retention by age removes items older than maxAge, on publish and on trim", async (store) => {
      const t0 = 1_700_000_000_000;
      await store.publish("n", { id: "old", payload: payload(0), publisher: pub, published: t0 });
      await store.publish("n", { id: "mid", payload: payload(1), publisher: pub, published: t0 + 5_000 });
      const r = await store.publish("n", { id: "new", payload: payload(2), publisher: pub, published: t0 + 10_000 }, { maxAgeMs: 8_000 });
      assert.equal(r.evicted, 1);
      assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), ["mid", "new"]);
      assert.equal((await store.page("n", { max: 10 })).items[0]!.published, t0 + 5_000);
      assert.equal(await store.trim("n", { maxAgeMs: 8_000 }, t0 + 14_000), 1);
      assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), ["new"]);
    });

    withStore("a node that rejects when full refuses new ids but accepts overwrites", async (store) => {
      await store.publish("n", { id: "a", payload: payload(0), publisher: pub }, { maxItems: 2, rejectWhenFull: true });
      await store.publish("n", { id: "b", payload: payload(1), publisher: pub }, { maxItems: 2, rejectWhenFull: true });
      await assert.rejects(store.publish("n", { id: "c", payload: payload(2), publisher: pub }, { maxItems: 2, rejectWhenFull: true }), NodeFullError);
      await assert.rejects(store.publish("n", { payload: payload(2), publisher: pub }, { maxItems: 2, rejectWhenFull: true }), NodeFullError);
      const over = await store.publish("n", { id: "a", payload: payload(3), publisher: pub }, { maxItems: 2, rejectWhenFull: true });
      assert.equal(over.replaced, true);
      assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), ["b", "a"]);
    });

    withStore("retract, purge and latest; nodes are independent", async (store) => {
      const ids = await fill(store, "n", 3);
      await fill(store, "m", 2);
      assert.equal((await store.latest("n"))?.id, ids[2]);
      assert.equal(await store.retract("n", ids[2]!), true);
      assert.equal(await store.retract("n", ids[2]!), false);
      assert.equal((await store.latest("n"))?.id, ids[1]);
      assert.equal(await store.purge("n"), 2);
      assert.equal(await store.latest("n"), undefined);
      assert.equal(await store.count("m"), 2);
    });

    withStore("persistent subscriptions: add once, list, remove", async (store) => {
      assert.equal(await store.addSubscription("n", "alice@localhost"), true);
      assert.equal(await store.addSubscription("n", "alice@localhost"), false);
      await store.addSubscription("n", "bob@localhost/web");
      await store.addSubscription("m", "alice@localhost");
      assert.deepEqual(await store.subscriptions("n"), [
        { node: "n", jid: "alice@localhost", state: "subscribed" },
        { node: "n", jid: "bob@localhost/web", state: "subscribed" },
      ]);
      assert.equal((await store.subscriptions()).length, 3);
      assert.equal(await store.removeSubscription("n", "alice@localhost"), true);
      assert.equal(await store.removeSubscription("n", "alice@localhost"), false);
      assert.deepEqual(await store.subscriptions("n"), [{ node: "n", jid: "bob@localhost/web", state: "subscribed" }]);
    });

    withStore("subscriptions keep their state and options; saving again replaces them", async (store) => {
      await store.saveSubscription({ node: "n", jid: "carol@localhost", state: "pending" });
      await store.saveSubscription({ node: "n", jid: "dave@localhost", state: "subscribed", options: '{"deliver":false}' });
      assert.deepEqual(await store.subscriptions("n"), [
        { node: "n", jid: "carol@localhost", state: "pending" },
        { node: "n", jid: "dave@localhost", state: "subscribed", options: '{"deliver":false}' },
      ]);
      await store.saveSubscription({ node: "n", jid: "carol@localhost", state: "subscribed", options: '{"includeBody":true}' });
      await store.saveSubscription({ node: "n", jid: "dave@localhost", state: "subscribed" });
      assert.deepEqual(await store.subscriptions("n"), [
        { node: "n", jid: "carol@localhost", state: "subscribed", options: '{"includeBody":true}' },
        { node: "n", jid: "dave@localhost", state: "subscribed" },
      ]);
      assert.equal(await store.addSubscription("n", "carol@localhost"), false);
    });

    withStore("node configurations: save, replace, delete with and without a deletion mark", async (store) => {
      assert.deepEqual(await store.storedNodes(), []);
      await store.saveNode("made", '{"title":"Made"}');
      await store.saveNode("file", '{"maxItems":5}');
      await store.saveNode("made", '{"title":"Renamed"}');
      assert.deepEqual(await store.storedNodes(), [
        { name: "file", config: '{"maxItems":5}', deleted: false },
        { name: "made", config: '{"title":"Renamed"}', deleted: false },
      ]);
      await fill(store, "made", 2);
      await fill(store, "file", 2);
      await fill(store, "other", 1);
      await store.addSubscription("made", "alice@localhost");
      await store.addSubscription("other", "alice@localhost");
      await store.deleteNode("made", false);
      await store.deleteNode("file", true);
      assert.deepEqual(await store.storedNodes(), [{ name: "file", deleted: true }]);
      assert.equal(await store.count("made"), 0);
      assert.equal(await store.count("file"), 0);
      assert.equal(await store.count("other"), 1);
      assert.deepEqual(await store.subscriptions(), [{ node: "other", jid: "alice@localhost", state: "subscribed" }]);
      await store.saveNode("file", '{"maxItems":7}');
      assert.deepEqual(await store.storedNodes(), [{ name: "file", config: '{"maxItems":7}', deleted: false }]);
    });

    withStore("temporary subscriptions: bound to a full JID, listed while their lease runs, ended by unavailable", async (store) => {
      const now = 1_000_000;
      await store.addSubscription("n", "alice@localhost");
      await store.saveSubscription({ node: "n", jid: "bob@localhost/web", state: "subscribed", temporary: { boundTo: "bob@localhost/web", holder: "p1", leaseUntil: now + 30_000 } });
      await store.saveSubscription({ node: "m", jid: "bob@localhost", state: "subscribed", options: '{"deliver":false}', temporary: { boundTo: "bob@localhost/web", holder: "p1", leaseUntil: now + 30_000 } });
      await store.saveSubscription({ node: "n", jid: "carol@localhost", state: "subscribed", temporary: { boundTo: "carol@localhost/x", holder: "p1", leaseUntil: now + 30_000 } });
      assert.deepEqual(await store.subscriptions("m", now), [
        { node: "m", jid: "bob@localhost", state: "subscribed", options: '{"deliver":false}', temporary: { boundTo: "bob@localhost/web", holder: "p1", leaseUntil: now + 30_000 } },
      ]);
      assert.equal((await store.subscriptions(undefined, now)).length, 4);
      const ended = await store.endTemporary("bob@localhost/web");
      assert.deepEqual(ended.map((s) => `${s.node} ${s.jid}`).sort(), ["m bob@localhost", "n bob@localhost/web"]);
      assert.deepEqual((await store.subscriptions(undefined, now)).map((s) => s.jid), ["alice@localhost", "carol@localhost"]);
      assert.deepEqual(await store.endTemporary("alice@localhost"), [], "a persistent subscription is not presence-bound");
      // Saving it as persistent drops the lease.
      await store.saveSubscription({ node: "n", jid: "carol@localhost", state: "subscribed" });
      assert.deepEqual(await store.subscriptions("n", now + 60_000), [
        { node: "n", jid: "alice@localhost", state: "subscribed" },
        { node: "n", jid: "carol@localhost", state: "subscribed" },
      ]);
    });

    withStore("leases: the holder renews them, a dead holder's end by themselves, a successor adopts the running ones", async (store) => {
      const t0 = 1_000_000;
      const temp = (jid: string, holder: string, leaseUntil: number) => ({ node: "n", jid, state: "subscribed" as const, temporary: { boundTo: `${jid}/r`, holder, leaseUntil } });
      await store.saveSubscription(temp("live@localhost", "alive", t0 + 10_000));
      await store.saveSubscription(temp("dead@localhost", "dead", t0 + 10_000));
      await store.setPresent("live@localhost/r", { holder: "alive", leaseUntil: t0 + 10_000 });
      await store.setPresent("dead@localhost/r", { holder: "dead", leaseUntil: t0 + 10_000 });
      assert.equal(await store.renewLeases("alive", t0 + 20_000), 2);
      const at15 = t0 + 15_000;
      assert.deepEqual((await store.subscriptions("n", at15)).map((s) => s.jid), ["live@localhost"]);
      assert.deepEqual(await store.present(at15), ["live@localhost/r"]);
      assert.equal(await store.expireLeases(at15), 2, "the dead holder's subscription and presence");
      assert.equal((await store.subscriptions("n", 0)).length, 1, "expired ones are gone from the store, not only hidden");
      // "alive" dies too; a standby takes over before its lease runs out and renews from then on.
      assert.equal(await store.adoptLeases("successor", t0 + 40_000, at15), 2);
      assert.equal(await store.renewLeases("alive", t0 + 99_000), 0, "the old holder no longer holds them");
      assert.deepEqual((await store.subscriptions("n", t0 + 30_000)).map((s) => s.temporary?.holder), ["successor"]);
      assert.equal(await store.removePresent("live@localhost/r"), true);
      assert.equal(await store.removePresent("live@localhost/r"), false);
      assert.deepEqual(await store.present(at15), []);
      assert.equal(await store.adoptLeases("late", t0 + 99_000, t0 + 50_000), 0, "nothing to adopt once the lease ran out");
    });

    withStore("the presence-access set: granted and revoked bare JIDs", async (store) => {
      assert.deepEqual(await store.presenceAccess(), []);
      await store.setPresenceAccess("bob@localhost", true);
      await store.setPresenceAccess("alice@localhost", true);
      await store.setPresenceAccess("alice@localhost", true);
      assert.deepEqual(await store.presenceAccess(), ["alice@localhost", "bob@localhost"]);
      await store.setPresenceAccess("bob@localhost", false);
      await store.setPresenceAccess("nobody@localhost", false);
      assert.deepEqual(await store.presenceAccess(), ["alice@localhost"]);
    });

    withStore("last-published bookkeeping: the notified mark only grows, per node; items after a seq for the catch-up", async (store) => {
      assert.equal(await store.notifiedUpTo("n"), undefined);
      const items = await Promise.all([0, 1, 2, 3].map(async (i) => (await store.publish("n", { payload: payload(i), publisher: pub })).item));
      items.sort((a, b) => a.seq - b.seq);
      await store.markNotified("n", items[1]!.seq);
      await store.markNotified("n", items[0]!.seq);
      assert.equal(await store.notifiedUpTo("n"), items[1]!.seq, "an older mark does not move it back");
      assert.equal(await store.notifiedUpTo("m"), undefined);
      assert.deepEqual((await store.itemsAfterSeq("n", items[1]!.seq, 10)).map((i) => i.id), [items[2]!.id, items[3]!.id]);
      assert.deepEqual((await store.itemsAfterSeq("n", items[1]!.seq, 1)).map((i) => i.id), [items[2]!.id]);
      await store.deleteNode("n", false);
      assert.equal(await store.notifiedUpTo("n"), undefined, "deleting the node forgets its mark");
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      test("everything committed survives closing and reopening, and ids keep increasing", async () => {
        let store = await factory.create();
        const ids = await fill(store, "n", 5);
        await store.addSubscription("n", "alice@localhost");
        await store.saveSubscription({ node: "n", jid: "bob@localhost", state: "pending", options: '{"deliver":false}' });
        await store.saveNode("n", '{"title":"N"}');
        await store.saveNode("gone", '{"title":"G"}');
        await store.deleteNode("gone", true);
        const lease = { holder: "p1", leaseUntil: Date.now() + 600_000 };
        await store.saveSubscription({ node: "n", jid: "carol@localhost/web", state: "subscribed", temporary: { boundTo: "carol@localhost/web", ...lease } });
        await store.setPresent("carol@localhost/web", lease);
        await store.setPresenceAccess("carol@localhost", true);
        const last = (await store.latest("n"))!.seq;
        await store.markNotified("n", last);
        store = await reopen(store);
        try {
          assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), ids);
          assert.deepEqual(await store.subscriptions(), [
            { node: "n", jid: "alice@localhost", state: "subscribed" },
            { node: "n", jid: "bob@localhost", state: "pending", options: '{"deliver":false}' },
            { node: "n", jid: "carol@localhost/web", state: "subscribed", temporary: { boundTo: "carol@localhost/web", ...lease } },
          ]);
          assert.deepEqual(await store.present(), ["carol@localhost/web"]);
          assert.deepEqual(await store.presenceAccess(), ["carol@localhost"]);
          assert.equal(await store.notifiedUpTo("n"), last);
          assert.deepEqual(await store.storedNodes(), [
            { name: "gone", deleted: true },
            { name: "n", config: '{"title":"N"}', deleted: false },
          ]);
          await store.retract("n", ids[4]!);
          const next = (await store.publish("n", { payload: payload(5), publisher: pub })).item.id;
          assert.ok(next > ids[4]!, `${next} should sort after ${ids[4]}`);
        } finally {
          await store.close();
        }
      });
    }
  });
}

/**
 * A store opened on a file or database of the previous schema (one pending subscription of alice to "n", one
 * item "a"): the old rows are there, and every piece of the new subscription state can be written.
 */
export async function assertPreviousSchemaMigrated(store: FeedStore): Promise<void> {
  assert.deepEqual(await store.subscriptions(), [{ node: "n", jid: "alice@localhost", state: "pending", options: '{"deliver":false}' }]);
  assert.deepEqual((await store.page("n", { max: 10 })).items.map((i) => i.id), ["a"]);
  await store.saveSubscription({ node: "n", jid: "bob@localhost/w", state: "subscribed", temporary: { boundTo: "bob@localhost/w", holder: "h", leaseUntil: Date.now() + 60_000 } });
  await store.setPresent("bob@localhost/w", { holder: "h", leaseUntil: Date.now() + 60_000 });
  await store.setPresenceAccess("bob@localhost", true);
  await store.markNotified("n", 1);
  assert.equal((await store.subscriptions("n")).length, 2);
  assert.equal(await store.notifiedUpTo("n"), 1);
  assert.ok((await store.publish("n", { payload: "<x xmlns='urn:example'/>", publisher: "p" })).item.seq > 1);
}
