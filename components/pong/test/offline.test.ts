import assert from "node:assert/strict";
import { test } from "node:test";
import { ALICE, BOB, compactMsg, compactOf, pongHarness } from "./helpers.js";

test("when the link to the server goes down every game pauses, and resumes when both players check in again", async () => {
  const { h, pong } = pongHarness();
  await h.inject(compactMsg(ALICE, "join"));
  await h.inject(compactMsg(BOB, "join"));
  const room = [...pong.arena.rooms.values()][0]!;
  for (let i = 0; i < 200; i++) pong.arena.step();
  h.host.linkDown("socket closed");
  await new Promise((r) => setImmediate(r));
  assert.equal(room.game.phase, "paused");
  const tick = room.game.tick;
  for (let i = 0; i < 100; i++) pong.arena.step();
  assert.equal(room.game.tick, tick, "a paused game does not advance");
  await h.inject(compactMsg(ALICE, "join"));
  assert.equal(room.game.phase, "paused", "still waiting for the other player");
  await h.inject(compactMsg(BOB, "join"));
  assert.notEqual(room.game.phase, "paused");
  assert.ok(h.sent.some((s) => compactOf(s, "ev")?.attrs.k === "resume"));
});

test("a finished game is on the leaderboard before anyone is told it is over", async () => {
  const { h, pong } = pongHarness({ pointsToWin: 1 });
  await h.inject(compactMsg(ALICE, "join"));
  await h.inject(compactMsg(BOB, "join"));
  const record = pong.leaderboard.record.bind(pong.leaderboard);
  let overSentBeforeRecord: boolean | undefined;
  pong.leaderboard.record = (result) => {
    overSentBeforeRecord = h.sent.some((s) => compactOf(s, "ev")?.attrs.k === "over");
    return record(result);
  };
  for (let i = 0; i < 100_000 && pong.arena.rooms.size > 0; i++) pong.arena.step();
  assert.equal(overSentBeforeRecord, false);
  assert.ok(h.sent.some((s) => compactOf(s, "ev")?.attrs.k === "over"), "the players are told after");
});
