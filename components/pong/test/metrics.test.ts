import assert from "node:assert/strict";
import { test } from "node:test";
import { Metrics } from "annex";
import { ALICE, BOB, bookMsg, pongHarness } from "./helpers.js";

test("pong reports rooms, players and waiting players as metrics", async () => {
  const { h, pong } = pongHarness();
  await h.inject(bookMsg(ALICE, "playercheckingin"));
  pong.updateGauges();
  const metrics = h.host.instance(Metrics);
  let text = await metrics.text();
  assert.match(text, /annex_pong_players_waiting\{component="pong\.localhost"\} 1/);
  assert.match(text, /annex_pong_rooms\{component="pong\.localhost"\} 0/);
  await h.inject(bookMsg(BOB, "playercheckingin"));
  pong.updateGauges();
  text = await metrics.text();
  assert.match(text, /annex_pong_rooms\{component="pong\.localhost"\} 1/);
  assert.match(text, /annex_pong_players\{component="pong\.localhost"\} 2/);
  assert.match(text, /annex_pong_players_waiting\{component="pong\.localhost"\} 0/);
});
