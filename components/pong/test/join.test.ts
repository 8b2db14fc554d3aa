import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ALICE, BOB, compactMsg, compactOf, errorCondition, pongHarness, toOf } from "./helpers.js";

const GUEST_1 = "x1y2@anon.localhost/web";
const GUEST_2 = "z9w8@anon.localhost/web";

describe("pong: join options", () => {
  test("opponent='bot' starts a game against the computer at once", async () => {
    const { h, pong } = pongHarness();
    const out = await h.inject(compactMsg(ALICE, "join", { opponent: "bot" }));
    const start = out.map((s) => compactOf(s, "start")).find(Boolean);
    assert.ok(start, "a start right away, no queue");
    assert.match(String(start?.attrs.opp), /^bot@pong\.localhost$/);
    assert.equal(pong.arena.rooms.size, 1);
    assert.equal(pong.arena.waitingCount, 0);
  });

  test("an opponent other than bot is a bad-request", async () => {
    const { h } = pongHarness();
    const [reply] = await h.inject(compactMsg(ALICE, "join", { opponent: "alice" }));
    assert.equal(errorCondition(reply), "bad-request");
  });

  test("a guest who comes back with a new address takes its seat back with the start token", async () => {
    const { h, pong } = pongHarness();
    await h.inject(compactMsg(GUEST_1, "join"));
    const opened = await h.inject(compactMsg(BOB, "join"));
    const mine = h.sent.map((s) => ({ to: toOf(s), start: compactOf(s, "start") })).find((s) => s.to === GUEST_1 && s.start);
    const token = mine?.start?.attrs.token as string;
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.ok(opened.length > 0);
    // The guest's connection drops: the game pauses.
    await h.inject(`<presence type='unavailable' from='${GUEST_1}' to='pong.localhost'/>`);
    const room = [...pong.arena.rooms.values()][0]!;
    assert.notEqual(room.seats[0].awaySince, undefined);
    // A new anonymous session: a new bare JID, with the token.
    const back = await h.inject(compactMsg(GUEST_2, "join", { token }));
    assert.ok(back.some((s) => toOf(s) === GUEST_2 && compactOf(s, "start")), "the new address gets the game again");
    assert.equal(room.seats[0].jid, GUEST_2);
    assert.equal(room.seats[0].awaySince, undefined, "the game resumes");
    // The old address moves nothing any more.
    const [refused] = await h.inject(compactMsg(GUEST_1, "in", { seq: 1, y: 10 }));
    assert.equal(errorCondition(refused), "forbidden");
  });

  test("a token that holds no seat is item-not-found; another player's token is never sent to you", async () => {
    const { h } = pongHarness();
    const [reply] = await h.inject(compactMsg(GUEST_2, "join", { token: "0".repeat(32) }));
    assert.equal(errorCondition(reply), "item-not-found");
    await h.inject(compactMsg(ALICE, "join"));
    await h.inject(compactMsg(BOB, "join"));
    const tokensTo = h.sent.filter((s) => compactOf(s, "start")).map((s) => [toOf(s), compactOf(s, "start")?.attrs.token]);
    assert.equal(new Set(tokensTo.map(([, t]) => t)).size, 2, "each seat has its own token");
  });
});
