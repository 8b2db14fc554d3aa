import { SqliteStore } from "../../../components/feed/store/sqlite.js";

/** Writes n items to a node of a SQLite feed store before the feed starts (fast: synchronous=OFF). */
export async function prefillSqlite(path: string, node: string, n: number): Promise<string[]> {
  const store = new SqliteStore(path, { synchronous: "OFF" });
  await store.init();
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const { item } = await store.publish(node, { payload: `<json xmlns="urn:xmpp:json:0">{"i":${i}}</json>`, publisher: "prefill@localhost" });
      ids.push(item.id);
    }
  } finally {
    await store.close();
  }
  return ids;
}
