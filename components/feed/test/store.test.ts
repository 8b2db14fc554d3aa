import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
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
