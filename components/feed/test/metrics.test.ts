import assert from "node:assert/strict";
import { test } from "node:test";
import { Metrics } from "annex";
import { FeedService } from "../service.js";
import { ALICE, feedHarness, json, publish, pubsubIq } from "./helpers.js";

test("feed reports items published, subscribers and notifications as metrics", async () => {
  const h = await feedHarness();
  await h.inject(pubsubIq("set", `<subscribe node='stocks' jid='${ALICE}'/>`));
  await publish(h, "stocks", json({ value: 1 }));
  await publish(h, "stocks", json({ value: 2 }));
  await new Promise((r) => setTimeout(r, 20));
  h.host.instance(FeedService).updateGauges();
  const text = await h.host.instance(Metrics).text();
  assert.match(text, /annex_feed_items_published_total\{node="stocks",component="feed\.localhost"\} 2/);
  assert.match(text, /annex_feed_subscribers\{node="stocks",kind="persistent",component="feed\.localhost"\} 1/);
  assert.match(text, /annex_feed_notifications\{outcome="sent",component="feed\.localhost"\} [1-9]/);
  await h.stop();
});
