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
