import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Pong } from "../pong.js";
import { ALICE, BOB, CAROL, DOMAIN, compactMsg, compactOf, errorCondition, errorText, pongHarness, toOf } from "./helpers.js";
import type { Harness } from "annex/testing";

// A pause asked for between points (issue 18; PROTOCOL.md §Pause).

async function game(options: Record<string, unknown> = {}): Promise<{ h: Harness; pong: Pong }> {
  const ctx = pongHarness({ pauseSeconds: 2, tickHz: 60, ...options });
  await ctx.h.inject(compactMsg(ALICE, "join"));
  await ctx.h.inject(compactMsg(BOB, "join"));
  return ctx;
}
const room = (pong: Pong) => [...pong.arena.rooms.values()][0]!;
const events = (h: Harness, to: string, k: string) => h.sent.filter((s) => toOf(s) === to && compactOf(s, "ev")?.attrs.k === k).map((s) => compactOf(s, "ev")!.attrs);
const stepUntil = (pong: Pong, done: () => boolean, max = 60 * 60) => {
  for (let i = 0; i < max && !done(); i++) pong.arena.step();
  assert.ok(done(), "the condition came within the step budget");
};

describe("pong: pause between points", () => {
  test("asked for while the ball waits for a serve, the game pauses at once; the asker resumes it", async () => {
    const { h, pong } = await game();
    assert.equal(room(pong).game.phase, "serve");
    const out = await h.inject(compactMsg(ALICE, "pause"));
    assert.ok(out.length > 0 && out.every((s) => s.attrs.type !== "error"), "no refusal, only the pause event");
    assert.equal(room(pong).game.phase, "paused");
    for (const to of [ALICE, BOB]) assert.deepEqual(events(h, to, "pause").map((e) => [e.side, e.by, e.grace]), [["0", "request", "2"]]);
    await h.inject(compactMsg(ALICE, "resume"));
    assert.equal(room(pong).game.phase, "serve", "back to the serve it paused");
    assert.equal(events(h, BOB, "resume").length, 1);
  });

  test("asked for during a rally, it starts at the next serve", async () => {
    const { h, pong } = await game({ pace: 4 });
    stepUntil(pong, () => room(pong).game.phase === "play");
    await h.inject(compactMsg(BOB, "pause"));
    assert.equal(room(pong).game.phase, "play", "not in the middle of a point");
    stepUntil(pong, () => room(pong).game.phase !== "play");
    assert.equal(room(pong).game.phase, "paused");
    assert.equal(events(h, ALICE, "pause")[0]?.side, "1");
    // No snapshot goes out while paused, so the last one each player got is the paused state: the ball back at
    // the centre for the serve, not where it crossed the goal line.
    const { width, height } = room(pong).game.field;
    for (const to of [ALICE, BOB]) {
      const last = h.sent.filter((s) => toOf(s) === to && compactOf(s, "s")).at(-1)!;
      const snap = compactOf(last, "s")!.attrs;
      assert.equal(snap.ph, "paused");
      assert.equal(snap.b.split(",").slice(0, 2).join(","), `${width / 2},${height / 2}`);
    }
  });

  test("a player who goes offline mid-rally freezes the opponent's picture where the game froze", async () => {
    const { h, pong } = await game({ pace: 4 });
    stepUntil(pong, () => room(pong).game.phase === "play");
    pong.arena.step();
    await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
    const { ball, tick } = room(pong).game;
    const last = h.sent.filter((s) => toOf(s) === BOB && compactOf(s, "s")).at(-1)!;
    const snap = compactOf(last, "s")!.attrs;
    assert.deepEqual([snap.ph, Number(snap.t)], ["paused", tick]);
    assert.deepEqual(snap.b.split(",").slice(0, 2).map(Number), [ball.x, ball.y].map(Math.round));
  });

  test("the game goes on by itself after pauseSeconds", async () => {
    const { h, pong } = await game();
    await h.inject(compactMsg(ALICE, "pause"));
    stepUntil(pong, () => room(pong).game.phase !== "paused", 2 * 60 + 2);
    assert.equal(events(h, BOB, "resume").length, 1);
  });

  test("refusals: not seated, turned off, too many pauses, resuming someone else's pause", async () => {
    const { h, pong } = await game();
    const [spectator] = await h.inject(compactMsg(CAROL, "pause"));
    assert.equal(errorCondition(spectator), "forbidden");
    assert.equal(errorText(spectator), "only a seated player may ask for a pause");
    await h.inject(compactMsg(ALICE, "pause"));
    const [other] = await h.inject(compactMsg(BOB, "resume"));
    assert.equal(errorCondition(other), "unexpected-request");
    assert.equal(errorText(other), "the game is not paused at your request");
    await h.inject(compactMsg(ALICE, "resume"));
    await h.inject(compactMsg(ALICE, "pause"));
    await h.inject(compactMsg(ALICE, "resume"));
    const [third] = await h.inject(compactMsg(ALICE, "pause"));
    assert.equal(errorCondition(third), "not-allowed");
    assert.equal(errorText(third), "a player may ask for 2 pauses a game");
    assert.notEqual(room(pong).game.phase, "paused");
    const [resumeOutside] = await h.inject(compactMsg(CAROL, "resume"));
    assert.equal(errorCondition(resumeOutside), "forbidden");

    const off = await game({ pauseSeconds: 0 });
    const [turnedOff] = await off.h.inject(compactMsg(ALICE, "pause"));
    assert.equal(errorCondition(turnedOff), "not-allowed");
    assert.equal(errorText(turnedOff), "this service takes no pause requests (pauseSeconds is 0)");
  });

  test("a request taken back before it started never pauses", async () => {
    const { h, pong } = await game({ pace: 4 });
    stepUntil(pong, () => room(pong).game.phase === "play");
    await h.inject(compactMsg(ALICE, "pause"));
    await h.inject(compactMsg(ALICE, "resume"));
    stepUntil(pong, () => room(pong).game.phase !== "play");
    assert.equal(room(pong).game.phase, "serve");
    assert.deepEqual(events(h, BOB, "pause"), []);
  });
});
