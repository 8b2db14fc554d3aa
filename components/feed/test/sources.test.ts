import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, mock, test } from "node:test";
import { freePort } from "annex/testing";
import { FeedService } from "../service.js";
import { seededRandom, ValueWalk } from "../sources/ticker.js";
import { ask, feedHarness, pubsubIq } from "./helpers.js";

describe("feed: the book's ticker", () => {
  test("the value walk starts at 500, moves at most 10 per tick, mostly by small steps, never below 0", () => {
    const walk = new ValueWalk(500, seededRandom(42));
    let previous = 500;
    const steps: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const { value, change } = walk.next();
      assert.equal(value - previous, change);
      assert.ok(Math.abs(change) <= 10 && value >= 0);
      steps.push(Math.abs(change));
      previous = value;
    }
    const small = steps.filter((s) => s <= 2).length;
    const large = steps.filter((s) => s >= 8).length;
    assert.ok(small > 3 * large, `small ${small} vs large ${large}`);
    const low = new ValueWalk(0, seededRandom(1));
    for (let i = 0; i < 200; i++) assert.ok(low.next().value >= 0);
  });

  test("a seeded walk is reproducible", () => {
    const a = new ValueWalk(500, seededRandom(7));
    const b = new ValueWalk(500, seededRandom(7));
    for (let i = 0; i < 50; i++) assert.deepEqual(a.next(), b.next());
  });

  test("the ticker publishes {value, change, timestamp} JSON to its node every intervalMs, and stops on stop", async () => {
    mock.timers.enable({ apis: ["setInterval"] });
    try {
      const h = await feedHarness({ sources: [{ type: "ticker", node: "stock-data", intervalMs: 250, seed: 3 }] });
      const service = h.host.instance(FeedService);
      for (let i = 0; i < 4; i++) {
        mock.timers.tick(250);
        await new Promise((r) => setImmediate(r));
      }
      const items = await ask(h, pubsubIq("get", `<items node='stock-data'/>`));
      const payloads = items.getChild("pubsub")!.getChild("items")!.getChildren("item").map((i) => JSON.parse(i.getChildText("json", "urn:xmpp:json:0")!));
      assert.equal(payloads.length, 4);
      assert.deepEqual(Object.keys(payloads[0]), ["value", "change", "timestamp"]);
      assert.equal(payloads[0].value, 500 + payloads[0].change);
      await h.stop();
      mock.timers.tick(1000);
      assert.equal(service.nodes.has("stock-data"), true);
    } finally {
      mock.timers.reset();
    }
  });
});

describe("feed: HTTP ingest", () => {
  const TOKEN = "s3cret-token";

  async function withIngest(http: Record<string, unknown>, body: (base: string, h: Awaited<ReturnType<typeof feedHarness>>) => Promise<void>, node: object = {}) {
    const port = await freePort();
    const h = await feedHarness({ http: { port, ...http }, nodes: { prices: { maxItems: 100, ...node } } });
    try {
      await body(`http://127.0.0.1:${port}`, h);
    } finally {
      await h.stop();
    }
  }
  /** token "" = no Authorization header. */
  const post = (url: string, body: string, token = TOKEN) =>
    fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) } });

  test("a POST with the token publishes the JSON body as XEP-0335 and answers 200 with the item id", async () => {
    await withIngest({ token: TOKEN }, async (base, h) => {
      const res = await post(`${base}/nodes/prices/items?id=p1`, JSON.stringify({ price: 12.5, name: "Ünïcode" }));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { node: "prices", id: "p1" });
      const [item] = await h.host.instance(FeedService).itemsById("prices", ["p1"]);
      assert.equal(item?.payload, '<json xmlns="urn:xmpp:json:0">{"price":12.5,"name":"Ünïcode"}</json>');
    });
  });

  test("401 for a missing or wrong token, 400 for malformed JSON, 404 unknown node, 405 wrong method: nothing published", async () => {
    const dir = mkdtempSync(join(tmpdir(), "feed-token-"));
    try {
      writeFileSync(join(dir, "token"), `${TOKEN}\n`);
      await withIngest({ tokenFile: join(dir, "token") }, async (base, h) => {
        assert.equal((await post(`${base}/nodes/prices/items`, "{}", "")).status, 401);
        const wrong = await post(`${base}/nodes/prices/items`, "{}", "nope");
        assert.equal(wrong.status, 401);
        assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="annex-feed"');
        const bad = await post(`${base}/nodes/prices/items`, "{not json");
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error, /malformed JSON/);
        assert.equal((await post(`${base}/nodes/other/items`, "{}")).status, 404);
        assert.equal((await post(`${base}/elsewhere`, "{}")).status, 404);
        assert.equal((await fetch(`${base}/nodes/prices/items`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 405);
        assert.equal(await h.host.instance(FeedService).count("prices"), 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("413 for a body over maxBodyBytes, 429 over the node's rate", async () => {
    await withIngest({ token: TOKEN, maxBodyBytes: 50 }, async (base, h) => {
      assert.equal((await post(`${base}/nodes/prices/items`, JSON.stringify("x".repeat(100)))).status, 413);
      assert.equal((await post(`${base}/nodes/prices/items`, "1")).status, 200);
      assert.equal((await post(`${base}/nodes/prices/items`, "2")).status, 200);
      const limited = await post(`${base}/nodes/prices/items`, "3");
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("retry-after"), "1");
      assert.equal(await h.host.instance(FeedService).count("prices"), 2);
    }, { rate: { perSecond: 0.001, burst: 2 } });
  });
});
