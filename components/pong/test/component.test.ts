import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertXmlEqual } from "annex/testing";
import { Game } from "../game.js";
import { HINTS_NS } from "../protocol.js";
import { ALICE, actionOf, BOB, bookMsg, CAROL, compactMsg, compactOf, DOMAIN, errorCondition, errorText, fieldsOf, pongHarness, toOf } from "./helpers.js";

/** Steps the arena until `done` or `max` ticks; returns the stanzas sent meanwhile. */
function run(pong: ReturnType<typeof pongHarness>["pong"], h: ReturnType<typeof pongHarness>["h"], done: () => boolean, max = 100_000) {
  const from = h.sent.length;
  for (let i = 0; i < max && !done(); i++) pong.arena.step();
  return h.sent.slice(from);
}

describe("pong: the book's protocol", () => {
  test("check-in answers with the book's dimensions, side 0 then side 1; actions are case-insensitive; a body is accepted", async () => {
    const { h, pong } = pongHarness();
    const [a] = await h.inject(bookMsg(ALICE, "PlayerCheckingIn", {}, "<body>playercheckingin</body>"));
    assertXmlEqual(a, `<message from='${DOMAIN}' to='${ALICE}' type='headline'><pong xmlns='xmpp:game:pong'><action>dimensions</action>
      <width>800</width><height>600</height><paddlewidth>20</paddlewidth><paddleheight>100</paddleheight><paddlemargin>10</paddlemargin>
      <paddley>250</paddley><ballradius>3</ballradius><side>0</side></pong><no-store xmlns='${HINTS_NS}'/></message>`);
    const [b] = await h.inject(bookMsg(BOB, "PLAYERCHECKINGIN"));
    assert.equal(fieldsOf(b!).side, "1");
    assert.equal(pong.arena.rooms.size, 1);
  });

  test("a further check-in while maxRooms games run gets the book's error: cancel/conflict 'Game is currently full'", async () => {
    const { h } = pongHarness({ maxRooms: 1 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    const [full] = await h.inject(bookMsg(CAROL, "playercheckingin"));
    assert.equal(full?.attrs.type, "error");
    assert.equal(full?.attrs.id, "m-playercheckingin");
    assert.equal(full?.getChild("error")?.attrs.type, "cancel");
    assert.equal(errorCondition(full), "conflict");
    assert.equal(errorText(full), "Game is currently full");
  });

  test("two book clients play a whole game to pointsToWin: ball positions, score updates, game over with the winner, leaderboard", async () => {
    const { h, pong } = pongHarness({ pointsToWin: 3 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    // Both park their paddles at the top: most balls get through, so points come quickly.
    await h.inject(bookMsg(ALICE, "paddleposition", { y: 0 }));
    await h.inject(bookMsg(BOB, "paddleposition", { y: 0 }));
    const out = run(pong, h, () => pong.arena.rooms.size === 0);
    assert.equal(pong.arena.rooms.size, 0, "the finished room is disposed");
    for (const jid of [ALICE, BOB]) {
      const mine = out.filter((s) => toOf(s) === jid);
      assert.ok(mine.filter((s) => actionOf(s) === "ballposition").length > 10, "ball positions at the snapshot rate");
      const scores = mine.filter((s) => actionOf(s) === "scoreupdate").map(fieldsOf).map((f) => [Number(f.player1), Number(f.player2)]);
      assert.ok(scores.length >= 3 && scores.length <= 5);
      scores.reduce((prev, cur) => (assert.equal(cur[0] + cur[1], prev[0] + prev[1] + 1), cur), [0, 0]);
      const over = mine.filter((s) => actionOf(s) === "gameover").map(fieldsOf);
      assert.equal(over.length, 1);
      const final = scores.at(-1)!;
      assert.equal(over[0]!.winner, final[0] === 3 ? "0" : "1");
      assert.equal(Math.max(...final), 3);
      assert.equal(over[0]!.reason, "score");
      for (const s of mine) {
        assert.equal(s.attrs.type, "headline");
        assert.equal(s.getChild("body"), undefined, "no body on game traffic");
        assert.ok(s.getChild("no-store", HINTS_NS));
      }
    }
    assert.equal(pong.leaderboard.gamesPlayed, 1);
    const top = pong.leaderboard.top(10);
    assert.deepEqual(top.map((s) => [s.wins, s.losses]), [[1, 0], [0, 1]]);
    assert.ok(top[0]!.rating > 1500 && top[1]!.rating < 1500);
  });

  test("the opponent's paddle is sent on change only, and the server moves paddles at the speed limit (no teleporting)", async () => {
    const { h, pong } = pongHarness();
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    await h.inject(bookMsg(ALICE, "paddleposition", { y: 0 }));
    pong.arena.step();
    const game = [...pong.arena.rooms.values()][0]!.game;
    assert.equal(game.paddles[0], 250 - 900 / 60, "one tick moves 15 px toward the target, not 250");
    const out = run(pong, h, () => game.tick >= 60);
    const updates = out.filter((s) => toOf(s) === BOB && actionOf(s) === "opponentpaddleupdate").map((s) => Number(fieldsOf(s).y));
    assert.deepEqual(updates.slice(-1), [0]);
    assert.ok(updates.every((y, i) => i === 0 || y < updates[i - 1]!), `strictly decreasing while moving: ${updates}`);
    assert.equal(out.filter((s) => toOf(s) === ALICE && actionOf(s) === "opponentpaddleupdate").length, 1, "bob's paddle never moved: one update");
  });

  test("an unknown action is a bad-request naming the actions", async () => {
    const { h } = pongHarness();
    const [err] = await h.inject(bookMsg(ALICE, "cheat"));
    assert.equal(errorCondition(err), "bad-request");
    assert.match(errorText(err)!, /unknown action "cheat"/);
  });
});

describe("pong: anti-cheat and limits", () => {
  async function seated() {
    const ctx = pongHarness();
    await ctx.h.inject(bookMsg(ALICE, "playercheckingin"));
    await ctx.h.inject(bookMsg(BOB, "playercheckingin"));
    return { ...ctx, game: [...ctx.pong.arena.rooms.values()][0]!.game };
  }

  test("a third JID's paddleposition is refused (forbidden), counted, and moves nothing", async () => {
    const { h, pong, game } = await seated();
    for (const stranger of [CAROL, "alice@localhost/other-resource"]) {
      const [err] = await h.inject(bookMsg(stranger, "paddleposition", { y: 0 }));
      assert.equal(errorCondition(err), "forbidden");
    }
    for (let i = 0; i < 30; i++) pong.arena.step();
    assert.deepEqual(game.paddles, [250, 250]);
    assert.equal(pong.arena.drops.notSeated, 2);
  });

  test("non-numeric and out-of-field inputs are refused with bad-request and counted", async () => {
    const { h, pong, game } = await seated();
    for (const y of ["abc", "", "NaN", "Infinity"]) assert.equal(errorCondition((await h.inject(bookMsg(ALICE, "paddleposition", { y })))[0]), "bad-request", y);
    const [far] = await h.inject(bookMsg(ALICE, "paddleposition", { y: 10_000 }));
    assert.equal(errorCondition(far), "bad-request");
    assert.match(errorText(far)!, /outside the field/);
    assert.equal(errorCondition((await h.inject(bookMsg(ALICE, "paddleposition")))[0]), "bad-request", "no y at all");
    pong.arena.step();
    assert.deepEqual(game.paddles, [250, 250]);
    assert.deepEqual({ invalid: pong.arena.drops.invalid, outOfRange: pong.arena.drops.outOfRange }, { invalid: 5, outOfRange: 1 });
  });

  test("oversized game stanzas are refused with policy-violation", async () => {
    const { h, pong } = await seated();
    const [err] = await h.inject(bookMsg(ALICE, "paddleposition", { y: 1 }, `<junk>${"x".repeat(3000)}</junk>`));
    assert.equal(errorCondition(err), "policy-violation");
    assert.match(errorText(err)!, /exceeds the limit of 2048/);
    assert.equal(pong.arena.drops.oversized, 1);
  });

  test("compact inputs need a rising seq: stale ones are dropped and counted; snapshots acknowledge the last applied", async () => {
    const { h, pong } = pongHarness({ snapshotHz: 60 });
    await h.inject(compactMsg(ALICE, "join"));
    await h.inject(compactMsg(BOB, "join"));
    await h.inject(compactMsg(ALICE, "in", { seq: 5, y: 100 }));
    assert.deepEqual(await h.inject(compactMsg(ALICE, "in", { seq: 5, y: 400 })), []);
    assert.deepEqual(await h.inject(compactMsg(ALICE, "in", { seq: 3, y: 400 })), []);
    assert.equal(errorCondition((await h.inject(compactMsg(ALICE, "in", { seq: "x", y: 400 })))[0]), "bad-request");
    assert.equal(pong.arena.drops.stale, 2);
    const out = run(pong, h, () => false, 3);
    const s = out.filter((x) => toOf(x) === ALICE).map((x) => compactOf(x, "s")).find(Boolean)!;
    assert.equal(s.attrs.a, "5");
    const room = [...pong.arena.rooms.values()][0]!;
    assert.equal(room.game.targets[0], 100);
  });
});

describe("pong: rooms", () => {
  test("a book client and a compact client play each other", async () => {
    const { h, pong } = pongHarness({ pointsToWin: 2 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    const [queued, start] = await h.inject(compactMsg(BOB, "join"));
    assert.equal(compactOf(queued!, "queued")?.attrs.side, "1");
    const st = compactOf(start!, "start")!;
    assert.deepEqual([st.attrs.r, st.attrs.side, st.attrs.opp, st.attrs.field, st.attrs.to], ["r1", "1", "alice@localhost", "800,600", "2"]);
    await h.inject(bookMsg(ALICE, "paddleposition", { y: 0 }));
    await h.inject(compactMsg(BOB, "in", { seq: 1, y: 0 }));
    const out = run(pong, h, () => pong.arena.rooms.size === 0);
    const toBob = out.filter((s) => toOf(s) === BOB);
    assert.ok(toBob.filter((s) => compactOf(s, "s")).length > 10);
    assert.ok(toBob.every((s) => s.attrs.type === "headline" && !s.getChild("body") && s.getChild("no-store", HINTS_NS)));
    const over = toBob.map((s) => compactOf(s, "ev")).filter((e) => e?.attrs.k === "over");
    assert.equal(over.length, 1);
    const aliceOver = out.filter((s) => toOf(s) === ALICE && actionOf(s) === "gameover").map(fieldsOf);
    assert.equal(aliceOver[0]!.winner, over[0]!.attrs.winner, "both protocols report the same game");
  });

  test("many rooms run side by side, and disco#items lists the running games", async () => {
    const { h, pong } = pongHarness();
    for (let i = 0; i < 10; i++) await h.inject(bookMsg(`p${i}@localhost/x`, "playercheckingin"));
    assert.equal(pong.arena.rooms.size, 5);
    const [items] = await h.inject(`<iq type='get' id='d1' from='${CAROL}' to='${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`);
    const listed = items!.getChild("query")!.getChildren("item").map((i) => [i.attrs.jid, i.attrs.node, i.attrs.name]);
    assert.deepEqual(listed[0], [DOMAIN, "r1", "p0@localhost vs p1@localhost (0–0)"]);
    assert.equal(listed.length, 5);
    const [info] = await h.inject(`<iq type='get' id='d2' from='${CAROL}' to='${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#info' node='r3'/></iq>`);
    assert.equal(info?.attrs.type, "result");
    const [missing] = await h.inject(`<iq type='get' id='d3' from='${CAROL}' to='${DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items' node='r99'/></iq>`);
    assert.equal(errorCondition(missing), "item-not-found");
  });

  test("a spectator joins by room id, receives snapshots, and cannot move anything", async () => {
    const { h, pong } = pongHarness();
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    const [first] = await h.inject(compactMsg(CAROL, "spectate", { r: "r1" }));
    assert.equal(compactOf(first!, "s")?.attrs.r, "r1");
    assert.equal(compactOf(first!, "s")?.attrs.a, undefined, "no input acknowledgement for a spectator");
    const out = run(pong, h, () => false, 30);
    assert.equal(out.filter((s) => toOf(s) === CAROL && compactOf(s, "s")).length, 10, "20 Hz of 60 Hz ticks");
    assert.equal(errorCondition((await h.inject(compactMsg(CAROL, "in", { seq: 1, y: 0 })))[0]), "forbidden");
    assert.equal(errorCondition((await h.inject(compactMsg(CAROL, "spectate", { r: "r7" })))[0]), "item-not-found");
    const bookSpectator = "dave@localhost/d";
    await h.inject(bookMsg(bookSpectator, "spectate", { room: "r1" }));
    const seen = run(pong, h, () => false, 3).filter((s) => toOf(s) === bookSpectator).map(actionOf);
    assert.deepEqual(seen, ["ballposition", "paddlepositions"]);
  });

  test("unavailable presence pauses the game; coming back within the grace period resumes it", async () => {
    const { h, pong } = pongHarness({ graceSeconds: 2 });
    await h.inject(compactMsg(ALICE, "join"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    const game = [...pong.arena.rooms.values()][0]!.game;
    run(pong, h, () => game.phase === "play");
    const [pause] = await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
    assert.equal(actionOf(pause!), "paused");
    assert.equal(toOf(pause!), BOB);
    assert.equal(game.phase, "paused");
    const frozen = game.hash();
    const during = run(pong, h, () => false, 60);
    assert.equal(game.hash(), frozen);
    assert.equal(during.length, 0, "nothing is sent while paused");
    // Back from another resource of the same account: the seat follows the new full JID.
    const back = await h.inject(`<presence from='alice@localhost/new' to='${DOMAIN}'/>`);
    assert.equal(compactOf(back.find((s) => toOf(s) === "alice@localhost/new")!, "start")?.attrs.r, "r1");
    assert.equal(actionOf(back.find((s) => toOf(s) === BOB)!), "resumed");
    assert.equal(game.phase, "serve");
    run(pong, h, () => game.phase === "play", 120);
    assert.equal(game.phase, "play");
    assert.equal(errorCondition((await h.inject(compactMsg(ALICE, "in", { seq: 1, y: 0 })))[0]), "forbidden", "the old resource lost the seat");
  });

  test("a player who stays away past the grace period forfeits; the win is recorded", async () => {
    const { h, pong } = pongHarness({ graceSeconds: 1 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    await h.inject(`<presence type='unavailable' from='${BOB}' to='${DOMAIN}'/>`);
    const out = run(pong, h, () => pong.arena.rooms.size === 0, 61);
    assert.equal(pong.arena.rooms.size, 0);
    const over = out.filter((s) => actionOf(s) === "gameover");
    assert.deepEqual(over.map(toOf), [ALICE]);
    assert.deepEqual([fieldsOf(over[0]!).winner, fieldsOf(over[0]!).reason], ["0", "forfeit"]);
    assert.deepEqual(pong.leaderboard.top(1).map((s) => s.jid), ["alice@localhost"]);
  });

  test("a waiting player who goes offline leaves the queue", async () => {
    const { h, pong } = pongHarness();
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
    assert.equal(pong.arena.waitingCount, 0);
    const [dims] = await h.inject(bookMsg(BOB, "playercheckingin"));
    assert.equal(fieldsOf(dims!).side, "0", "bob waits instead of meeting a ghost");
  });

  test("with the bot option, a lonely player gets a computer opponent that returns balls", async () => {
    const { h, pong } = pongHarness({ bot: { skill: 1, afterSeconds: 0 }, pointsToWin: 3 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    run(pong, h, () => pong.arena.rooms.size === 1, 120);
    const room = [...pong.arena.rooms.values()][0]!;
    assert.equal(room.seats[1].bare, `bot@${DOMAIN}`);
    await h.inject(bookMsg(ALICE, "paddleposition", { y: 0 }));
    let hits = 0;
    run(pong, h, () => {
      if (room.game.rallyHits > hits) hits = room.game.rallyHits;
      return pong.arena.rooms.size === 0;
    });
    assert.equal(room.game.winner, 1, "a perfect bot beats a player who never moves");
    assert.ok(hits >= 1, "the bot hit the ball");
  });
});

describe("pong: leaderboard", () => {
  async function played() {
    const ctx = pongHarness({ pointsToWin: 1 });
    for (const [a, b] of [[ALICE, BOB], [ALICE, CAROL]] as const) {
      await ctx.h.inject(bookMsg(a, "playercheckingin"));
      await ctx.h.inject(bookMsg(b, "playercheckingin"));
      await ctx.h.inject(`<presence type='unavailable' from='${b}' to='${DOMAIN}'/>`);
      ctx.pong.arena.leave(b);
    }
    return ctx;
  }

  test("the IQ in the pong namespace lists players by rating", async () => {
    const { h } = await played();
    const [res] = await h.inject(`<iq type='get' id='l1' from='${CAROL}' to='${DOMAIN}'><leaderboard xmlns='xmpp:game:pong' max='2'/></iq>`);
    const players = res!.getChild("leaderboard", "xmpp:game:pong")!.getChildren("player").map((p) => ({ ...p.attrs }));
    assert.deepEqual(players[0], { rank: "1", jid: "alice@localhost", rating: "1531", wins: "2", losses: "0" });
    assert.equal(players.length, 2);
    const [bad] = await h.inject(`<iq type='get' id='l2' from='${CAROL}' to='${DOMAIN}'><leaderboard xmlns='xmpp:game:pong' max='lots'/></iq>`);
    assert.equal(errorCondition(bad), "bad-request");
  });

  test("the chat command top answers with the standings; other text gets help", async () => {
    const { h } = await played();
    const [top] = await h.inject(`<message type='chat' id='t1' from='${CAROL}' to='${DOMAIN}'><body> TOP </body></message>`);
    assert.equal(top!.getChildText("body")!.split("\n")[0], "1. alice@localhost 1531 (2–0)");
    const [help] = await h.inject(`<message type='chat' id='t2' from='${CAROL}' to='${DOMAIN}'><body>hello</body></message>`);
    assert.match(help!.getChildText("body")!, /Commands: "top"/);
  });

  test("a finished game is published to the results feed with a pubsub publish IQ", async () => {
    const { h, pong } = pongHarness({ pointsToWin: 1, resultsFeed: { service: "feed.localhost", node: "pong-results" } });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(bookMsg(BOB, "playercheckingin"));
    pong.arena.leave(BOB);
    const publish = h.sent.find((s) => s.name === "iq")!;
    assert.equal(publish.attrs.to, "feed.localhost");
    assert.equal(publish.attrs.type, "set");
    const item = publish.getChild("pubsub", "http://jabber.org/protocol/pubsub")!.getChild("publish")!;
    assert.equal(item.attrs.node, "pong-results");
    const result = item.getChild("item")!.getChild("result", "xmpp:game:pong")!;
    assert.deepEqual([result.attrs.winner, result.attrs.loser, result.attrs.score, result.attrs.reason], ["alice@localhost", "bob@localhost", "0-0", "forfeit"]);
    // The service's answer settles the request (nothing left pending or logged as failed).
    await h.inject(`<iq type='result' id='${publish.attrs.id}' from='feed.localhost' to='${DOMAIN}'/>`);
  });
});

describe("pong: options", () => {
  test("bad options are refused with the field named", () => {
    assert.throws(() => pongHarness({ tickHz: 5 }), /tickHz/);
    assert.throws(() => pongHarness({ snapshotHz: 120 }), /snapshotHz/);
    assert.throws(() => pongHarness({ leaderboard: "mysql://x" }), /leaderboard/);
    assert.throws(() => pongHarness({ pointsToWni: 3 }), /pointsToWni/);
  });
});

describe("pong: replays of real games", () => {
  test("a stored game (inputs in both protocols, a pause and a resume) replays from the leaderboard to the same final state", async () => {
    const { h, pong } = pongHarness({ pointsToWin: 2, graceSeconds: 5 });
    await h.inject(bookMsg(ALICE, "playercheckingin"));
    await h.inject(compactMsg(BOB, "join"));
    const game = [...pong.arena.rooms.values()][0]!.game;
    let seq = 0;
    for (let i = 0; pong.arena.rooms.size > 0 && i < 100_000; i++) {
      if (i % 7 === 0) await h.inject(bookMsg(ALICE, "paddleposition", { y: (i * 37) % 500 }));
      if (i % 11 === 0) await h.inject(compactMsg(BOB, "in", { seq: ++seq, y: (i * 53) % 500 }));
      if (i === 200) await h.inject(`<presence type='unavailable' from='${ALICE}' to='${DOMAIN}'/>`);
      if (i === 260) await h.inject(`<presence from='${ALICE}' to='${DOMAIN}'/>`);
      pong.arena.step();
    }
    assert.equal(game.phase, "over");
    const stored = pong.leaderboard.replayOf(1)!;
    assert.ok(stored.log.some((e) => e[1] === "pause") && stored.log.some((e) => e[1] === "resume"));
    const again = Game.replay(stored.settings, stored.log, stored.ticks);
    assert.equal(again.hash(), game.hash());
    assert.deepEqual(again.score, game.score);
  });
});
