import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../store/open.js";
import { SqliteStore } from "../store/sqlite.js";
import { storeSuite } from "./store-suite.js";

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
