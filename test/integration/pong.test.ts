import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const PONG = "pong.localhost";
const SMALL = "pong-small.localhost";
const PUBSUB_SVC = "pubsub.localhost";
const BOOK = "xmpp:game:pong";
const COMPACT = "urn:annex:pong:1";
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const USERS = ["alice", "bob", "carol", "dave", "eve", "frank", "gina", "hank", "ivan"];

const bookCheckIn = (to = PONG) => xml("message", { to, id: "checkin" }, xml("pong", { xmlns: BOOK }, xml("action", {}, "playercheckingin")));
const bookPaddle = (y: number) => xml("message", { to: PONG, type: "headline" }, xml("pong", { xmlns: BOOK }, xml("action", {}, "paddleposition"), xml("y", {}, String(y))));
const action = (el: Element) => el.getChild("pong", BOOK)?.getChildText("action");
const isAction = (name: string) => (el: Element) => el.name === "message" && action(el) === name;
const field = (el: Element, name: string) => el.getChild("pong", BOOK)?.getChildText(name);
const compactEl = (name: string) => (el: Element) => el.name === "message" && el.getChild(name, COMPACT) !== undefined;

describeEachServer("pong against a real server", (kind) => {
  let prosody: ManagedServer;
  let annex: AnnexProcess;
  const c: Record<string, TestClient> = {};

  before(async () => {
    prosody = await startServer(kind, {
      components: [{ domain: PONG, secret: "pong-secret" }, { domain: SMALL, secret: "small-secret" }],
      users: USERS.map((u) => ({ username: u, password: `${u}-pw` })),
      // The server's own XEP-0060 service; the pong component may create the results node there and publish.
      pubsub: { service: PUBSUB_SVC, publishers: [PONG] },
    });
    const dir = await mkdtemp(join(tmpdir(), "pong-it-"));
    // pace 4: the same game four times faster, so a game to 3 takes seconds (and the ball moves up to 73 px a tick).
    const game = { pointsToWin: 3, pace: 4, tickHz: 60, snapshotHz: 20, graceSeconds: 20 };
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "info" },
      components: [
        { type: "pong", domain: PONG, secretFile: "pong.secret", options: { ...game, leaderboard: `sqlite:${join(dir, "pong.db")}`, resultsFeed: { service: PUBSUB_SVC, node: "pong-results" } } },
        { type: "pong", domain: SMALL, secretFile: "small.secret", options: { ...game, maxRooms: 1 } },
      ],
    }, { files: { "pong.secret": "pong-secret\n", "small.secret": "small-secret\n" } });
    for (const u of USERS) {
      c[u] = await TestClient.connect(prosody, u, `${u}-pw`);
      // Directed presence (RFC 6121 §4.6): the server will tell pong when this client goes offline.
      await c[u]!.send(xml("presence", {}));
      await c[u]!.send(xml("presence", { to: PONG }));
    }
  });

  after(async () => {
    for (const client of Object.values(c)) await client.stop();
    const code = await annex?.stop();
    await prosody?.stop();
    assert.equal(code, 0, `annex should stop cleanly; output:\n${annex?.output}`);
  });

  /** Waits for a book gameover on `client` after `from` stanzas and returns it with the score updates before it. */
  async function bookGame(client: TestClient, from: number) {
    const over = await client.waitFor((el) => client.received.indexOf(el) >= from && isAction("gameover")(el), 20_000, "gameover");
    const scores = client.received.slice(from).filter(isAction("scoreupdate")).map((s) => [Number(field(s, "player1")), Number(field(s, "player2"))]);
    return { over, scores };
  }

  test("two clients speaking only the book's table play a whole game to pointsToWin: 3", async () => {
    const { alice, bob } = c as Required<typeof c>;
    const [fromA, fromB] = [alice!.received.length, bob!.received.length];
    await alice!.send(bookCheckIn());
    const dimsA = await alice!.waitFor(isAction("dimensions"));
    assert.deepEqual(["width", "height", "paddlewidth", "paddleheight", "paddlemargin", "paddley", "ballradius", "side"].map((f) => field(dimsA, f)),
      ["800", "600", "20", "100", "10", "250", "3", "0"]);
    await bob!.send(bookCheckIn());
    assert.equal(field(await bob!.waitFor(isAction("dimensions")), "side"), "1");
    // Both park their paddles at the top, so most serves get through.
    await alice!.send(bookPaddle(0));
    await bob!.send(bookPaddle(0));
    const a = await bookGame(alice!, fromA);
    const b = await bookGame(bob!, fromB);
    const final = a.scores.at(-1)!;
    assert.equal(Math.max(...final), 3, `final score ${final}`);
    assert.deepEqual(b.scores, a.scores, "both players saw the same points");
    a.scores.forEach((s, i) => assert.equal(s[0] + s[1], i + 1, "one point at a time"));
    assert.equal(field(a.over, "winner"), final[0] === 3 ? "0" : "1");
    assert.equal(field(b.over, "winner"), field(a.over, "winner"));
    assert.ok(alice!.received.slice(fromA).filter(isAction("ballposition")).length > 5, "ball positions streamed");
    for (const s of alice!.received.slice(fromA).filter((el) => el.name === "message")) {
      assert.equal(s.attrs.type, "headline");
      assert.equal(s.getChild("body"), undefined);
    }
  });

  test("a book client plays a compact-protocol client", async () => {
    const { carol, dave } = c;
    const fromD = dave!.received.length;
    await carol!.send(bookCheckIn());
    await carol!.waitFor(isAction("dimensions"));
    await dave!.send(xml("message", { to: PONG, type: "headline" }, xml("join", { xmlns: COMPACT }), xml("no-store", { xmlns: "urn:xmpp:hints" })));
    const start = (await dave!.waitFor(compactEl("start"))).getChild("start", COMPACT)!;
    assert.deepEqual([start.attrs.side, start.attrs.opp, start.attrs.to], ["1", "carol@localhost", "3"]);
    await dave!.send(xml("message", { to: PONG, type: "headline" }, xml("in", { xmlns: COMPACT, seq: "1", y: "0" })));
    await carol!.send(bookPaddle(0));
    const overEv = await dave!.waitFor((el) => el.getChild("ev", COMPACT)?.attrs.k === "over", 20_000, "compact game over");
    const ev = overEv.getChild("ev", COMPACT)!;
    const { over } = await bookGame(carol!, 0);
    assert.equal(field(over, "winner"), ev.attrs.winner);
    const snapshots = dave!.received.slice(fromD).filter(compactEl("s")).map((s) => s.getChild("s", COMPACT)!);
    assert.ok(snapshots.length > 5);
    assert.ok(snapshots.some((s) => s.attrs.a === "1"), "snapshots acknowledge dave's input");
    assert.ok(snapshots.some((s) => s.attrs.p?.endsWith(",0")), "dave's paddle reached the top");
  });

  test("maxRooms: 1 gives the book's 'Game is currently full'", async () => {
    const { gina, hank, ivan } = c;
    await gina!.send(bookCheckIn(SMALL));
    await hank!.send(bookCheckIn(SMALL));
    await hank!.waitFor(isAction("dimensions"));
    await ivan!.send(bookCheckIn(SMALL));
    const err = await ivan!.waitFor((el) => el.attrs.type === "error" && el.attrs.from === SMALL);
    assert.equal(err.attrs.id, "checkin");
    assert.equal(err.getChild("error")?.attrs.type, "cancel");
    assert.ok(err.getChild("error")?.getChild("conflict", STANZAS));
    assert.equal(err.getChild("error")?.getChildText("text", STANZAS), "Game is currently full");
  });

  test("a third JID's paddleposition has no effect; a spectator found by disco#items receives snapshots", async () => {
    const { alice, bob, eve, frank } = c;
    const [fromA, fromB] = [alice!.received.length, bob!.received.length];
    await alice!.send(bookCheckIn());
    await alice!.waitFor((el) => alice!.received.indexOf(el) >= fromA && isAction("dimensions")(el), 5000, "alice's dimensions");
    await bob!.send(bookCheckIn());
    await bob!.waitFor((el) => bob!.received.indexOf(el) >= fromB && isAction("dimensions")(el), 5000, "bob's dimensions");
    await eve!.send(xml("message", { to: PONG, id: "hijack" }, xml("pong", { xmlns: BOOK }, xml("action", {}, "paddleposition"), xml("y", {}, "0"))));
    const refused = await eve!.waitFor(byId("hijack"), 5000, "the refusal");
    assert.ok(refused.getChild("error")?.getChild("forbidden", STANZAS));
    // disco#items lists the running game; frank spectates it.
    await frank!.send(xml("iq", { to: PONG, type: "get", id: "items" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" })));
    const items = (await frank!.waitFor(byId("items"), 5000, "disco#items")).getChild("query")!.getChildren("item");
    const game = items.find((i) => i.attrs.name?.startsWith("alice@localhost vs bob@localhost"));
    assert.ok(game, `listed: ${items.map((i) => i.attrs.name)}`);
    await frank!.send(xml("message", { to: PONG, type: "headline" }, xml("spectate", { xmlns: COMPACT, r: game.attrs.node })));
    await frank!.waitFor((el) => frank!.received.filter(compactEl("s")).length >= 5, 5000, "five snapshots");
    const snaps = frank!.received.filter(compactEl("s")).map((s) => s.getChild("s", COMPACT)!);
    assert.ok(snaps.every((s) => s.attrs.r === game.attrs.node));
    // Nobody seated moved: bob's paddle never left the middle, whatever eve sent.
    assert.ok(snaps.every((s) => s.attrs.p === "250,250"), snaps.map((s) => s.attrs.p).join(" "));
    assert.equal(alice!.received.slice(fromA).filter(isAction("opponentpaddleupdate")).map((s) => field(s, "y")).join(), "250");
  });

  test("a disconnect pauses the game and a return resumes it; leaving forfeits", async () => {
    const { alice } = c;
    const fromA = alice!.received.length;
    await c.bob!.stop(); // the server sends pong bob's unavailable presence (RFC 6121 §4.6)
    await alice!.waitFor((el) => alice!.received.indexOf(el) >= fromA && isAction("paused")(el), 5000, "paused");
    const bob = (c.bob = await TestClient.connect(prosody, "bob", "bob-pw"));
    await bob.send(xml("presence", {}));
    await bob.send(xml("presence", { to: PONG }));
    assert.equal(field(await bob.waitFor(isAction("dimensions")), "side"), "1", "the returning player gets its seat back");
    await alice!.waitFor((el) => alice!.received.indexOf(el) >= fromA && isAction("resumed")(el), 5000, "resumed");
    const resumedAt = alice!.received.length;
    await alice!.waitFor((el) => alice!.received.indexOf(el) >= resumedAt && isAction("ballposition")(el), 5000, "the ball moving again");
    await alice!.send(xml("message", { to: PONG }, xml("pong", { xmlns: BOOK }, xml("action", {}, "leave"))));
    const over = await bob.waitFor(isAction("gameover"));
    assert.deepEqual([field(over, "winner"), field(over, "reason")], ["1", "forfeit"]);
  });

  test("the leaderboard reflects the games played (IQ and chat 'top'), and results reach the pubsub service", async () => {
    const { frank } = c;
    await frank!.send(xml("iq", { to: PONG, type: "get", id: "lb" }, xml("leaderboard", { xmlns: BOOK, max: "10" })));
    const players = (await frank!.waitFor(byId("lb"))).getChild("leaderboard", BOOK)!.getChildren("player");
    const games = (jid: string) => players.find((p) => p.attrs.jid === jid);
    assert.equal(Number(games("alice@localhost")?.attrs.wins) + Number(games("alice@localhost")?.attrs.losses), 2);
    assert.equal(Number(games("bob@localhost")?.attrs.wins) + Number(games("bob@localhost")?.attrs.losses), 2);
    assert.equal(Number(games("bob@localhost")?.attrs.wins) >= 1, true, "bob won the forfeit");
    assert.equal(Number(games("carol@localhost")?.attrs.wins) + Number(games("dave@localhost")?.attrs.wins), 1);
    const totalWins = players.reduce((n, p) => n + Number(p.attrs.wins), 0);
    assert.equal(totalWins, 3, "three games finished on pong.localhost");
    await frank!.send(xml("message", { to: PONG, type: "chat", id: "top" }, xml("body", {}, "top")));
    const top = await frank!.waitFor(byId("top"));
    assert.match(top.getChildText("body")!, /^1\. \S+@localhost \d+ \(\d–\d\)/);
    await frank!.send(xml("iq", { to: PUBSUB_SVC, type: "get", id: "feed" }, xml("pubsub", { xmlns: "http://jabber.org/protocol/pubsub" }, xml("items", { node: "pong-results" }))));
    const feed = await frank!.waitFor(byId("feed"));
    const results = feed.getChild("pubsub")?.getChild("items")?.getChildren("item").map((i) => i.getChild("result", BOOK)) ?? [];
    assert.equal(results.length, 3, feed.toString());
    assert.deepEqual(results.map((r) => r!.attrs.reason).sort(), ["forfeit", "score", "score"]);
  });
});
