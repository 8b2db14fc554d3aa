import assert from "node:assert/strict";
import { after, test } from "node:test";
import { xml } from "@xmpp/client";
import { freePort, type ManagedServer, type ServerKind, startServer } from "annex/testing";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const FEED = "feed.localhost";
const SECRET = "feed-mirror-secret";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const TOKEN = "mirror-token-1";

/**
 * A server with its own pubsub service; `allowFeed` lets the feed create nodes and publish there
 * (Prosody: admins + autocreate_on_publish, the lines the feed's error message names; ejabberd: an acl in pubsub_createnode).
 */
function startWithPubsub(kind: ServerKind, allowFeed: boolean): Promise<ManagedServer> {
  return startServer(kind, {
    components: [{ domain: FEED, secret: SECRET }],
    users: [{ username: "alice", password: "alice-pw" }],
    pubsub: { service: "pubsub.localhost", publishers: allowFeed ? [FEED] : [] },
  });
}

function feedConfig(prosody: ManagedServer, httpPort: number, mirror: { maxItems?: number } = { maxItems: 50 }) {
  return {
    server: { host: "127.0.0.1", port: prosody.componentPort },
    log: { level: "info" },
    components: [
      {
        type: "feed",
        domain: FEED,
        secret: SECRET,
        options: { storage: "memory", nodes: { "stock-data": {} }, http: { port: httpPort, token: TOKEN }, mirror: { service: "pubsub.localhost", ...mirror } },
      },
    ],
  };
}

describeEachServer("feed mirror mode against the server's pubsub.localhost", (kind) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("with the documented config, every item is also published to pubsub.localhost", async () => {
    const prosody = await startWithPubsub(kind, true);
    cleanups.push(() => prosody.stop());
    const httpPort = await freePort();
    // ejabberd 23.01 refuses pubsub#max_items as a publish-option (a test below shows it): mirror there without it.
    const annex = await AnnexProcess.start(feedConfig(prosody, httpPort, kind === "prosody" ? { maxItems: 50 } : {}));
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

  test("without it, the server refuses and the feed logs why", async () => {
    const prosody = await startWithPubsub(kind, false);
    cleanups.push(() => prosody.stop());
    const annex = await AnnexProcess.start(feedConfig(prosody, await freePort(), kind === "prosody" ? { maxItems: 50 } : {}));
    cleanups.push(() => annex.stop());
    if (kind === "prosody") {
      await annex.waitForOutput(/forbidden/, 15_000);
      assert.match(annex.output, /refused to let feed\.localhost publish to node \\"stock-data\\" \(forbidden\)/);
      assert.ok(annex.output.includes('admins = { \\"feed.localhost\\" }'), annex.output);
      assert.ok(annex.output.includes("autocreate_on_publish = true"), annex.output);
    } else {
      // ejabberd: without the component in pubsub_createnode the node cannot be auto-created on publish.
      await annex.waitForOutput(/mirror: cannot publish|refused to let/, 15_000);
      // ejabberd 23.01 answers item-not-found (XEP-0060 §7.1.3.3), not forbidden, so the feed has no fix line to give.
      assert.match(annex.output, /mirror: cannot publish to node \\"stock-data\\" on pubsub\.localhost: item-not-found/);
    }
  });

  if (kind === "ejabberd") {
    test("ejabberd 23.01 refuses pubsub#max_items as a publish-option, and the feed logs it", async () => {
      const prosody = await startWithPubsub(kind, true);
      cleanups.push(() => prosody.stop());
      const annex = await AnnexProcess.start(feedConfig(prosody, await freePort(), { maxItems: 50 }));
      cleanups.push(() => annex.stop());
      await annex.waitForOutput(/mirror: cannot publish/, 15_000);
      assert.match(annex.output, /mirror: cannot publish to node \\"stock-data\\" on pubsub\.localhost: resource-constraint/);
      assert.match(annex.output, /Unknown field 'pubsub#max_items' of type 'http:\/\/jabber\.org\/protocol\/pubsub#publish-options'/);
    });
  }
});
