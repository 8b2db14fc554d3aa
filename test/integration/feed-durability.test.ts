import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import type { ManagedProsody } from "annex/testing";
import { AnnexProcess, byId, startProsody, TestClient } from "./support.js";

const FEED = "feed.localhost";
const SECRET = "feed-durability-secret";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const RSM = "http://jabber.org/protocol/rsm";
const ACKED = 1_000;
const IN_FLIGHT = 32;

describe("feed durability: kill -9 after acknowledged publishes", () => {
  let prosody: ManagedProsody;
  let dir: string;
  let annex: AnnexProcess | undefined;
  let pub: TestClient;
  let alice: TestClient;

  const config = () => ({
    server: { host: "127.0.0.1", port: prosody.componentPort },
    log: { level: "info" },
    components: [
      {
        type: "feed",
        domain: FEED,
        secret: SECRET,
        options: { storage: `sqlite:${join(dir, "feed.sqlite")}`, maxPageSize: 500, nodes: { durable: { publishers: ["pub@localhost"], maxItems: 5_000 } } },
      },
    ],
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "feed-durable-"));
    prosody = await startProsody([{ domain: FEED, secret: SECRET }], [
      { username: "pub", password: "pub-pw" },
      { username: "alice", password: "alice-pw" },
    ]);
    annex = await AnnexProcess.start(config());
    [pub, alice] = await Promise.all([TestClient.connect(prosody, "pub", "pub-pw"), TestClient.connect(prosody, "alice", "alice-pw")]);
  });

  after(async () => {
    await Promise.all([pub?.stop(), alice?.stop()]);
    await annex?.stop();
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("every publish that got a result is retrievable after kill -9 and a restart", async (t) => {
    const acked: string[] = [];
    let sent = 0;
    let killed = false;
    // Publishers keep going while the component is killed: acknowledged ones must survive, the rest may not.
    const worker = async () => {
      while (!killed) {
        const id = `d${++sent}`;
        await pub.send(xml("iq", { to: FEED, type: "set", id }, xml("pubsub", { xmlns: PUBSUB }, xml("publish", { node: "durable" }, xml("item", {}, xml("json", { xmlns: "urn:xmpp:json:0" }, `{"n":${sent}}`))))));
        const reply = await pub.waitFor(byId(id), 10_000).catch(() => undefined);
        if (killed || !reply) return;
        assert.equal(reply.attrs.type, "result", reply.toString());
        acked.push(reply.getChild("pubsub", PUBSUB)!.getChild("publish")!.getChild("item")!.attrs.id as string);
        if (acked.length >= ACKED && !killed) {
          killed = true;
          annex!.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    assert.ok(killed, `only ${acked.length} of ${sent} publishes were acknowledged; annex output:\n${annex!.output.slice(-3000)}`);
    assert.equal(await annex!.exited, null, "killed by a signal");
    t.diagnostic(`${acked.length} acknowledged, ${sent} sent before kill -9`);

    annex = await AnnexProcess.start(config());
    const stored: string[] = [];
    let afterId: string | undefined;
    for (let page = 0; page < 100; page++) {
      const id = `page-${page}`;
      const set = xml("set", { xmlns: RSM }, xml("max", {}, "500"), afterId ? xml("after", {}, afterId) : null);
      await alice.send(xml("iq", { to: FEED, type: "get", id }, xml("pubsub", { xmlns: PUBSUB }, xml("items", { node: "durable" }), set)));
      const reply: Element = await alice.waitFor(byId(id), 10_000);
      assert.equal(reply.attrs.type, "result", reply.toString());
      const items = reply.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item").map((i) => i.attrs.id as string);
      if (items.length === 0) break;
      stored.push(...items);
      afterId = items.at(-1);
    }
    const have = new Set(stored);
    const lost = acked.filter((id) => !have.has(id));
    t.diagnostic(`${stored.length} items stored after restart`);
    assert.deepEqual(lost, [], "acknowledged publishes lost");
    assert.ok(stored.length >= ACKED);
  });
});
