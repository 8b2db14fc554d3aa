import assert from "node:assert/strict";
import { describe, mock, test } from "node:test";
import { entityKey } from "../snapshot.js";
import type { FakeEntity } from "./fake-server.js";
import { QUERY_TIMEOUT_MS, rig, until } from "./setup.js";

const NO_SILENT: Record<string, FakeEntity> = {
  localhost: { info: `<identity category='server' type='im'/>`, items: `<item jid='a.localhost'/><item jid='b.localhost'/><item jid='c.localhost'/><item jid='d.localhost'/>` },
  "a.localhost": { info: `<identity category='component' type='generic' name='A'/>`, items: "" },
  "b.localhost": { info: `<identity category='component' type='generic' name='B'/>`, items: "" },
  "c.localhost": { info: `<identity category='component' type='generic' name='C'/>`, items: "" },
  "d.localhost": { info: `<identity category='component' type='generic' name='D'/>`, items: "" },
};

describe("disco crawler", () => {
  test("walks the server's items, their info and one level of nodes; lists the hosted components", async (t) => {
    const { net, cache } = rig(t);
    const snapshot = await cache.refresh();
    await net.stop();
    assert.deepEqual(snapshot.entities.map(entityKey), [
      "conference.localhost",
      "directory.localhost",
      "ghost.localhost",
      "localhost",
      "pubsub.localhost",
      "pubsub.localhost#news",
      "pubsub.localhost#stocks",
      "sibling.localhost",
      "silent.localhost",
    ]);
    const byKey = new Map(snapshot.entities.map((e) => [entityKey(e), e]));
    assert.deepEqual(byKey.get("pubsub.localhost")?.identities, [{ category: "pubsub", type: "service", name: "Prosody PubSub Service", lang: undefined }]);
    assert.deepEqual(byKey.get("pubsub.localhost#stocks")?.listedName, "Stock ticker");
    assert.deepEqual(byKey.get("pubsub.localhost#stocks")?.foundVia, ["pubsub.localhost"]);
    assert.deepEqual(byKey.get("conference.localhost")?.items, [{ jid: "lobby@conference.localhost", node: undefined, name: "Lobby" }]);
    // The sibling is described from this process; the directory itself is listed by the server and hosted here.
    assert.deepEqual(byKey.get("sibling.localhost")?.foundVia, ["annex"]);
    assert.deepEqual(byKey.get("sibling.localhost")?.identities.map((i) => i.name), ["Sibling"]);
    assert.deepEqual(byKey.get("directory.localhost")?.foundVia, ["annex", "localhost"]);
    // One level of nodes: the nodes' own items are not asked, rooms (items without a node) are not described.
    assert.ok(net.asked.includes("info pubsub.localhost#stocks"));
    assert.ok(!net.asked.some((a) => a.startsWith("items pubsub.localhost#")));
    assert.ok(!net.asked.some((a) => a.includes("lobby@")));
    // It never asks itself over the network (it would wait on its own crawl).
    assert.ok(!net.asked.some((a) => a.includes("directory.localhost")), net.asked.join(", "));
    assert.deepEqual(snapshot.servers, [{ domain: "localhost" }]);
  });

  test("an item that errors or never answers stays listed with its error", async (t) => {
    const { net, cache } = rig(t);
    const snapshot = await cache.refresh();
    await net.stop();
    const ghost = snapshot.entities.find((e) => e.jid === "ghost.localhost");
    assert.equal(ghost?.error, "remote-server-timeout: Component unavailable");
    const silent = snapshot.entities.find((e) => e.jid === "silent.localhost");
    assert.match(silent?.error ?? "", new RegExp(`^timeout: no reply from silent\\.localhost within ${QUERY_TIMEOUT_MS} ms$`));
    // A missing disco#items alone does not make an entity unreachable.
    assert.equal(snapshot.entities.find((e) => e.jid === "localhost")?.error, undefined);
  });

  test("a server whose disco#items fails is reported with the error", async (t) => {
    const { net, cache } = rig(t, {}, { localhost: { info: `<identity category='server' type='im'/>`, items: { error: "forbidden", text: "no listing" } } });
    const snapshot = await cache.refresh();
    await net.stop();
    assert.deepEqual(snapshot.servers, [{ domain: "localhost", error: "forbidden: no listing" }]);
  });

  for (const concurrency of [1, 3]) {
    test(`never has more than ${concurrency} queries in flight (concurrency ${concurrency})`, async (t) => {
      const { net, cache } = rig(t, { concurrency }, { ...NO_SILENT });
      const snapshot = await cache.refresh();
      await net.stop();
      assert.equal(snapshot.entities.filter((e) => e.error === undefined).length, 7);
      assert.ok(net.maxOutstanding >= 1 && net.maxOutstanding <= concurrency, `max in flight ${net.maxOutstanding}`);
    });
  }

  test("queries at most maxNodesPerItem nodes of an item", async (t) => {
    const { net, cache } = rig(t, { maxNodesPerItem: 1 });
    const snapshot = await cache.refresh();
    await net.stop();
    assert.deepEqual(
      snapshot.entities.filter((e) => e.node !== undefined).map(entityKey),
      ["pubsub.localhost#stocks"],
    );
  });

  test("crawls the configured servers instead of the parent domain", async (t) => {
    const { net, cache } = rig(t, { servers: ["one.example", "two.example"] }, {
      "one.example": { info: "", items: `<item jid='svc.one.example'/>` },
      "two.example": { info: "", items: `<item jid='svc.one.example'/>` },
      "svc.one.example": { info: `<feature var='urn:xmpp:ping'/>`, items: "" },
    });
    const snapshot = await cache.refresh();
    await net.stop();
    assert.ok(!net.asked.some((a) => a.endsWith(" localhost")));
    // Listed by both servers, asked once.
    assert.equal(net.asked.filter((a) => a === "info svc.one.example").length, 1);
    assert.deepEqual(snapshot.entities.find((e) => e.jid === "svc.one.example")?.foundVia, ["one.example", "two.example"]);
  });

  test("refresh while a crawl runs waits for it, then crawls once more for everyone who asked", async (t) => {
    const { net, cache } = rig(t, {}, { ...NO_SILENT });
    const first = cache.refresh();
    const second = cache.refresh();
    const third = cache.refresh();
    const [a, b, c] = await Promise.all([first, second, third]);
    await net.stop();
    assert.notEqual(a, b);
    assert.equal(b, c);
    assert.equal(net.asked.filter((x) => x === "items localhost").length, 2);
  });

  test("crawls when started, again every refresh interval, and stops its timer on stop", async (t) => {
    mock.timers.enable({ apis: ["setTimeout"] });
    t.after(() => mock.timers.reset());
    const { h, net, cache } = rig(t, { refreshIntervalMs: 60_000 }, { ...NO_SILENT });
    await h.start();
    mock.timers.tick(0);
    await until(() => cache.latest !== undefined, "the first crawl");
    // The timer-driven crawl checks the link with a ping first (see cache.ts).
    assert.deepEqual(net.asked.slice(0, 2), ["ping localhost", "info localhost"]);
    const first = cache.latest;
    mock.timers.tick(59_999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cache.latest, first);
    mock.timers.tick(1);
    await until(() => cache.latest !== first, "the second crawl");
    await until(() => net.asked.filter((x) => x === "ping localhost").length === 2, "second probe counted");
    await h.stop();
    const asked = net.asked.length;
    mock.timers.tick(600_000);
    await new Promise((resolve) => setImmediate(resolve));
    await net.stop();
    assert.equal(net.asked.length, asked, "no crawl after stop");
  });
});
