import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { ManagedProsody } from "annex/testing";
import { freePort, ManagedProsody as Prosody } from "annex/testing";
import { AnnexProcess, byId, TestClient } from "./support.js";

const FEED = "feed.localhost";
const SECRET = "feed-mirror-secret";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const TOKEN = "mirror-token-1";

/** Prosody with its own pubsub service; `allowFeed` adds the config line the feed's error message names. */
function startProsody(allowFeed: boolean): Promise<ManagedProsody> {
  const pubsub = `Component "pubsub.localhost" "pubsub"\n${allowFeed ? `    admins = { "${FEED}" }\n    autocreate_on_publish = true\n` : ""}`;
  return Prosody.start({ components: [{ domain: FEED, secret: SECRET }], users: [{ username: "alice", password: "alice-pw" }], extraHosts: pubsub });
}

function feedConfig(prosody: ManagedProsody, httpPort: number) {
  return {
    server: { host: "127.0.0.1", port: prosody.componentPort },
    log: { level: "info" },
    components: [
      {
        type: "feed",
        domain: FEED,
        secret: SECRET,
        options: { storage: "memory", nodes: { "stock-data": {} }, http: { port: httpPort, token: TOKEN }, mirror: { service: "pubsub.localhost", maxItems: 50 } },
      },
    ],
  };
}

describe("feed mirror mode against Prosody's pubsub.localhost", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("with the documented config, every item is also published to pubsub.localhost", async () => {
    const prosody = await startProsody(true);
    cleanups.push(() => prosody.stop());
    const httpPort = await freePort();
    const annex = await AnnexProcess.start(feedConfig(prosody, httpPort));
    cleanups.push(() => annex.stop());
    await annex.waitForOutput(/mirror: may publish/, 15_000);
    const res = await fetch(`http://127.0.0.1:${httpPort}/nodes/stock-data/items?id=tick-1`, { method: "POST", body: '{"value":501}', headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const alice = await TestClient.connect(prosody, "alice", "alice-pw");
    cleanups.push(() => alice.stop());
    // The mirror publish is asynchronous: ask until the item is there (bounded).
    let ids: string[] = [];
    for (let attempt = 0; attempt < 50 && !ids.includes("tick-1"); attempt++) {
      const id = `m${attempt}`;
      await alice.send(xml("iq", { to: "pubsub.localhost", type: "get", id }, xml("pubsub", { xmlns: PUBSUB }, xml("items", { node: "stock-data" }))));
      const reply = await alice.waitFor(byId(id));
      ids = reply.getChild("pubsub", PUBSUB)?.getChild("items")?.getChildren("item").map((i) => i.attrs.id as string) ?? [];
      if (!ids.includes("tick-1")) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(ids, ["tick-1"], "the mirrored item, and not the check item");
  });

  test("without it, Prosody answers forbidden and the feed logs the exact config line", async () => {
    const prosody = await startProsody(false);
    cleanups.push(() => prosody.stop());
    const annex = await AnnexProcess.start(feedConfig(prosody, await freePort()));
    cleanups.push(() => annex.stop());
    await annex.waitForOutput(/forbidden/, 15_000);
    assert.match(annex.output, /refused to let feed\.localhost publish to node \\"stock-data\\" \(forbidden\)/);
    assert.ok(annex.output.includes('admins = { \\"feed.localhost\\" }'), annex.output);
    assert.ok(annex.output.includes("autocreate_on_publish = true"), annex.output);
  });
});
