import { isAbsolute, resolve } from "node:path";
import { MemoryStore } from "./memory.js";
import type { FeedStore } from "./store.js";

/**
 * Opens the store a `storage` option names: "memory", "sqlite:<path>" (relative paths from the
 * working directory) or "postgres://…" / "postgresql://…". Throws a clear error for anything else.
 */
export async function openStore(storage: string): Promise<FeedStore> {
  let store: FeedStore;
  if (storage === "memory") {
    store = new MemoryStore();
  } else if (storage.startsWith("sqlite:")) {
    const path = storage.slice("sqlite:".length);
    if (!path) throw new Error('storage "sqlite:" needs a file path, e.g. "sqlite:data/feed.sqlite"');
    const { SqliteStore } = await import("./sqlite.js");
    store = new SqliteStore(path === ":memory:" || isAbsolute(path) ? path : resolve(path));
  } else if (/^postgres(ql)?:\/\//.test(storage)) {
    const { PostgresStore } = await import("./postgres.js");
    store = new PostgresStore(storage);
  } else {
    throw new Error(`unknown storage ${JSON.stringify(storage)}: expected "memory", "sqlite:<path>" or "postgres://…"`);
  }
  await store.init();
  return store;
}

/** The storage URL with any password hidden, for logs. */
export function describeStorage(storage: string): string {
  return storage.replace(/(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, "$1***@");
}
