import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../store/open.js";
import { SqliteStore } from "../store/sqlite.js";
import { assertPreviousSchemaMigrated, storeSuite } from "./store-suite.js";

storeSuite("memory", { create: () => openStore("memory") });

const dir = mkdtempSync(join(tmpdir(), "feed-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
storeSuite("sqlite", {
  create: () => openStore(`sqlite:${join(dir, `s${++n}.sqlite`)}`),
  reopen: async (store) => {
    await store.close();
    return openStore(`sqlite:${(store as SqliteStore).path}`);
  },
});

test("sqlite: a file from before subscription states and node configs gets the new columns and table on open", async () => {
  const path = join(dir, "old.sqlite");
  const old = new Database(path);
  old.exec("CREATE TABLE feed_subscriptions (node TEXT NOT NULL, jid TEXT NOT NULL, PRIMARY KEY (node, jid)); INSERT INTO feed_subscriptions VALUES ('n', 'alice@localhost');");
  old.close();
  const store = await openStore(`sqlite:${path}`);
  try {
    assert.deepEqual(await store.subscriptions(), [{ node: "n", jid: "alice@localhost", state: "subscribed" }]);
    await store.saveNode("n", "{}");
    assert.deepEqual(await store.storedNodes(), [{ name: "n", config: "{}", deleted: false }]);
  } finally {
    await store.close();
  }
});

// The schema of the release before subscription state moved into the store (issue 17): no temporary
// subscriptions, presence, presence-access or notified tables and columns.
const PREVIOUS_SQLITE_SCHEMA = `
CREATE TABLE feed_items (node TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, publisher TEXT NOT NULL, published INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (node, id));
CREATE UNIQUE INDEX feed_items_order ON feed_items (node, seq);
CREATE TABLE feed_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO feed_counters (name, value) VALUES ('seq', 1);
CREATE TABLE feed_subscriptions (node TEXT NOT NULL, jid TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'subscribed', options TEXT, PRIMARY KEY (node, jid));
CREATE TABLE feed_nodes (name TEXT PRIMARY KEY, config TEXT, deleted INTEGER NOT NULL DEFAULT 0);
INSERT INTO feed_items VALUES ('n', 'a', 1, 'pub@localhost', 1000, '<x xmlns="urn:example"/>');
INSERT INTO feed_subscriptions VALUES ('n', 'alice@localhost', 'pending', '{"deliver":false}');
`;

test("sqlite: a file of the previous schema opens, keeps its items and subscriptions, and takes the new state", async () => {
  const path = join(dir, "previous.sqlite");
  const old = new Database(path);
  old.exec(PREVIOUS_SQLITE_SCHEMA);
  old.close();
  const store = await openStore(`sqlite:${path}`);
  try {
    await assertPreviousSchemaMigrated(store);
  } finally {
    await store.close();
  }
});
