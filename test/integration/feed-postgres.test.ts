import { after, before } from "node:test";
import { PostgresStore } from "../../components/feed/store/postgres.js";
import { storeSuite } from "../../components/feed/test/store-suite.js";
import { PrivatePostgres } from "./feed/postgres.js";

// The PostgreSQL adapter passes the same storage suite as memory and SQLite, against a real server.
let server: PrivatePostgres;
before(async () => {
  server = await PrivatePostgres.start();
});
after(async () => {
  await server?.stop();
});

const urls = new WeakMap<PostgresStore, string>();
storeSuite("postgres", {
  create: async () => {
    const url = await server.createDatabase();
    const store = new PostgresStore(url);
    await store.init();
    urls.set(store, url);
    return store;
  },
  reopen: async (store) => {
    const url = urls.get(store as PostgresStore)!;
    await store.close();
    const again = new PostgresStore(url);
    await again.init();
    return again;
  },
});

import assert from "node:assert/strict";
import { test } from "node:test";

test("two feed processes sharing one database: every publish kept, ids unique and increasing per process", async () => {
  const url = await server.createDatabase();
  const a = new PostgresStore(url);
  const b = new PostgresStore(url);
  await Promise.all([a.init(), b.init()]);
  try {
    const publishFrom = async (store: PostgresStore, who: string) => {
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push((await store.publish("shared", { payload: `<x xmlns="urn:example">${who}${i}</x>`, publisher: who }, { maxItems: 1000 })).item.id);
      return ids;
    };
    const [fromA, fromB] = await Promise.all([publishFrom(a, "a"), publishFrom(b, "b")]);
    assert.deepEqual([...fromA].sort(), fromA);
    assert.deepEqual([...fromB].sort(), fromB);
    const all = (await a.page("shared", { max: 1000 })).items.map((i) => i.id);
    assert.equal(all.length, 100);
    assert.deepEqual(new Set(all), new Set([...fromA, ...fromB]));
    assert.deepEqual([...all].sort(), all, "one order for both processes");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("the feed itself runs on a postgres:// storage URL", async () => {
  const { createHarness } = await import("annex/testing");
  const { Feed } = await import("../../components/feed/index.js");
  const url = await server.createDatabase();
  const h = createHarness(Feed, { domain: "feed.localhost", options: { storage: url, nodes: { n: { publishers: ["pub@localhost"] } } } });
  await h.start();
  try {
    const out = await h.inject(`<iq type='set' id='p1' from='pub@localhost/x'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='a'><v xmlns='urn:example'>1</v></item></publish></pubsub></iq>`);
    assert.equal(out[0]?.attrs.type, "result", String(out[0]));
    const [items] = await h.inject(`<iq type='get' id='g1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='n'/></pubsub></iq>`);
    assert.deepEqual(items!.getChild("pubsub")!.getChild("items")!.getChildren("item").map((i) => i.attrs.id), ["a"]);
  } finally {
    await h.stop();
  }
});
