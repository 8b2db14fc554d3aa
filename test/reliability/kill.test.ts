import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import Database from "better-sqlite3";
import type { Element } from "annex";
import { freePort, type ManagedProsody } from "annex/testing";
import { AnnexProcess, byId, startProsody, TestClient } from "../integration/support.js";
import { allItemIds, BOOK, Cleanup, compactEl, eventOf, http, pongInput, pongJoin, publishedId, publishIq, sleep, until, within } from "./support.js";

// Point 3 of issue 10: `kill -9` of the Annex process while the feed is publishing and pong games are
// finishing; after a restart every acknowledged item and every finished game is there, and both SQLite
// databases pass PRAGMA integrity_check.

const PONG = "pong.localhost";
const FEED = "feed.localhost";
const NODE = "durable";
const PLAYERS = ["p0", "p1", "p2", "p3", "p4", "p5"];
const MIN_GAMES = 8;
const MIN_ACKED = 300;
/**
 * Pong announces a game's end to the players and then commits it (arena.ts: announce, then close →
 * onResult → Leaderboard.record), so a game whose `over` event arrived in the last few milliseconds
 * before the kill may be unrecorded. Games that ended at least this long before the kill must be there.
 */
const COMMIT_MARGIN_MS = 250;

interface Finished {
  room: string;
  winner: string;
  loser: string;
  at: number;
}

describe("component faults: kill -9 of annex during publishing and play", () => {
  const cleanup = new Cleanup();
  let prosody: ManagedProsody;
  let dir: string;
  let ingestPort: number;
  const token = `kill-token-${process.pid}`;
  const config = () => ({
    server: { host: "127.0.0.1", port: prosody.componentPort, reconnect: { initialMs: 50, maxMs: 500 } },
    log: { level: "info" },
    components: [
      // pace 6, one point wins: a game lasts well under a second, so many finish before the kill.
      { type: "pong", domain: PONG, secret: "pong-kill-secret", options: { pace: 6, pointsToWin: 1, seed: 3, leaderboard: `sqlite:${join(dir, "pong.db")}` } },
      {
        type: "feed", domain: FEED, secret: "feed-kill-secret",
        options: { storage: `sqlite:${join(dir, "feed.sqlite")}`, maxPageSize: 500, nodes: { [NODE]: { publishers: ["pub@localhost"], maxItems: 100_000 } }, http: { port: ingestPort, tokenFile: join(dir, "token") } },
      },
    ],
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "annex-kill-"));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "token"), token);
    ingestPort = await freePort();
    prosody = await startProsody([{ domain: PONG, secret: "pong-kill-secret" }, { domain: FEED, secret: "feed-kill-secret" }],
      ["pub", "reader", ...PLAYERS].map((u) => ({ username: u, password: `${u}-pw` })));
    cleanup.add(() => prosody.stop());
  });

  after(() => cleanup.run());

  test("after kill -9 and a restart: every acknowledged item, every finished game, both databases intact", async () => {
    let annex = await AnnexProcess.start(config());
    cleanup.add(() => annex.stop());
    const pub = await TestClient.connect(prosody, "pub", "pub-pw");
    const reader = await TestClient.connect(prosody, "reader", "reader-pw");
    const players = await Promise.all(PLAYERS.map((u) => TestClient.connect(prosody, u, `${u}-pw`)));
    cleanup.add(() => Promise.all([pub, reader, ...players].map((c) => within(c.stop(), 2_000))));
    // Each waiting worker listens on its client for a moment: 16 publishers share pub's connection.
    for (const client of [pub, ...players]) client.xmpp.setMaxListeners(64);

    let killed = false;
    let killedAt = 0;
    const acked: string[] = [];
    const finished = new Map<string, Finished>();
    const failures: string[] = [];
    const pendingWaits = new Set<() => void>();
    /** The first stanza matching on `c` (already received or arriving), or undefined at the timeout or the kill. */
    const waitUnlessKilled = (c: TestClient, match: (el: Element) => boolean, ms: number) =>
      new Promise<Element | undefined>((resolve) => {
        const seen = c.received.find(match);
        if (seen || killed) return resolve(seen);
        const onStanza = (el: Element) => match(el) && done(el);
        const done = (el?: Element) => {
          clearTimeout(timer);
          c.xmpp.off("stanza", onStanza);
          pendingWaits.delete(done);
          resolve(el);
        };
        const timer = setTimeout(done, ms);
        c.xmpp.on("stanza", onStanza);
        pendingWaits.add(done);
      });
    const started = performance.now();

    // XMPP publishers: 16 in flight, as in feed-durability.test.ts.
    let sent = 0;
    const xmppWorker = async () => {
      while (!killed) {
        const id = `k${++sent}`;
        await pub.send(publishIq(FEED, NODE, id, { n: sent }));
        const reply = await waitUnlessKilled(pub, byId(id), 5_000);
        const itemId = reply && publishedId(reply);
        if (itemId) acked.push(itemId);
        else if (!killed) failures.push(`publish ${id} failed before the kill: ${reply}`);
      }
    };
    const httpWorker = async () => {
      while (!killed) {
        const res = await http(ingestPort, "POST", `/nodes/${NODE}/items`, { headers: { authorization: `Bearer ${token}` }, body: '{"via":"http"}' }).catch(() => undefined);
        if (res?.status === 200) acked.push((JSON.parse(res.body) as { id: string }).id);
        else if (!killed) failures.push(`HTTP publish failed before the kill: ${res?.status} ${res?.body}`);
      }
    };
    // Players: check in, park the paddle at the top so points come fast, wait for the end, again.
    const player = async (c: TestClient, name: string) => {
      let seq = 0;
      while (!killed) {
        const from = c.received.length;
        const after = (el: Element) => c.received.indexOf(el) >= from;
        await c.send(pongJoin(PONG));
        const start = await waitUnlessKilled(c, (el) => after(el) && compactEl(el, "start") !== undefined, 10_000);
        if (!start) {
          if (!killed) failures.push(`${name}: no start within 10 s`);
          return;
        }
        const s = compactEl(start, "start")!;
        await c.send(pongInput(PONG, ++seq, 0));
        const over = await waitUnlessKilled(c, (el) => after(el) && eventOf(el, "over") !== undefined, 20_000);
        if (!over) {
          if (!killed) failures.push(`${name}: no game over within 20 s`);
          return;
        }
        const at = performance.now();
        const won = eventOf(over)!.attrs.winner === s.attrs.side;
        const me = `${name}@localhost`;
        const opp = s.attrs.opp as string;
        if (!finished.has(s.attrs.r as string)) finished.set(s.attrs.r as string, { room: s.attrs.r as string, winner: won ? me : opp, loser: won ? opp : me, at });
      }
    };
    for (const c of players) await c.send(xml("presence", { to: PONG }));
    const work = [
      ...Array.from({ length: 16 }, xmppWorker),
      ...Array.from({ length: 4 }, httpWorker),
      ...players.map((c, i) => player(c, PLAYERS[i]!)),
    ];
    try {
      await until(`${MIN_GAMES} finished games and ${MIN_ACKED} acknowledged items`, () => {
        if (failures.length > 0) throw new Error(failures.join("\n"));
        return finished.size >= MIN_GAMES && acked.length >= MIN_ACKED;
      }, 60_000, 20);
    } catch (err) {
      // Stop the workers before the cleanup stops their clients.
      killed = true;
      for (const done of [...pendingWaits]) done();
      await Promise.allSettled(work);
      throw err;
    }
    // Kill at an arbitrary moment a little later, with publishes in flight and games running.
    await sleep(437);
    killed = true;
    killedAt = performance.now();
    for (const done of [...pendingWaits]) done(); // nothing will answer now
    annex.child.kill("SIGKILL");
    assert.equal(await annex.exited, null, "annex died of the signal");
    const ackedAtKill = acked.length;
    await Promise.all(work);
    assert.deepEqual(failures, [], "nothing failed before the kill");
    const mustHave = [...finished.values()].filter((g) => g.at <= killedAt - COMMIT_MARGIN_MS);
    const inMargin = finished.size - mustHave.length;

    // The databases as the crash left them (opening them replays the WAL, as the next start would).
    const pongDb = new Database(join(dir, "pong.db"));
    const feedDb = new Database(join(dir, "feed.sqlite"));
    let rows: { room: string; winner: string; loser: string }[];
    let tallies: { jid: string; games: number; played: number }[];
    try {
      assert.equal(pongDb.pragma("integrity_check", { simple: true }), "ok", "pong.db integrity after kill -9");
      assert.equal(feedDb.pragma("integrity_check", { simple: true }), "ok", "feed.sqlite integrity after kill -9");
      rows = pongDb.prepare("SELECT room, winner, loser FROM games").all() as typeof rows;
      // One transaction per game: a player's wins + losses always equal the games stored with that player.
      tallies = pongDb.prepare(`SELECT p.jid, p.wins + p.losses AS played,
        (SELECT count(*) FROM games g WHERE g.winner = p.jid OR g.loser = p.jid) AS games FROM players p`).all() as typeof tallies;
    } finally {
      pongDb.close();
      feedDb.close();
    }
    const key = (g: { room: string; winner: string; loser: string }) => `${g.room} ${g.winner} beat ${g.loser}`;
    const stored = new Set(rows.map(key));
    const marginRecorded = [...finished.values()].filter((g) => g.at > killedAt - COMMIT_MARGIN_MS && stored.has(key(g))).length;
    const lostGames = mustHave.filter((g) => !stored.has(key(g))).map(key);
    assert.deepEqual(lostGames, [], "finished games missing from the leaderboard");
    for (const t of tallies) assert.equal(t.played, t.games, `${t.jid}: wins + losses match the games stored`);

    // Restart on the same files: every acknowledged item is retrievable, the leaderboard has every game.
    annex = await AnnexProcess.start(config());
    const items = new Set(await allItemIds(reader, FEED, NODE));
    const lostItems = acked.filter((id) => !items.has(id));
    assert.deepEqual(lostItems, [], "acknowledged items lost");
    await reader.send(xml("iq", { to: PONG, type: "get", id: "lb" }, xml("leaderboard", { xmlns: BOOK, max: "100" })));
    const board = (await reader.waitFor(byId("lb"))).getChild("leaderboard", BOOK)!.getChildren("player");
    const wins = board.reduce((n, p) => n + Number(p.attrs.wins), 0);
    assert.equal(wins, rows.length, "the leaderboard served after the restart counts every stored game");
    assert.equal(await annex.stop(), 0);
    for (const file of ["pong.db", "feed.sqlite"]) {
      const db = new Database(join(dir, file), { readonly: true });
      try {
        assert.equal(db.pragma("integrity_check", { simple: true }), "ok", `${file} integrity after the restart`);
      } finally {
        db.close();
      }
    }
    console.log(`kill: annex killed -9 after ${((killedAt - started) / 1000).toFixed(1)} s with ${ackedAtKill} items acknowledged (${sent} XMPP publishes sent) and ${finished.size} games seen finished; ` +
      `after restart ${items.size} items stored, ${lostItems.length} acknowledged lost; leaderboard has ${rows.length} games, ` +
      `all ${mustHave.length} that ended >= ${COMMIT_MARGIN_MS} ms before the kill (${inMargin} ended closer to it, ${marginRecorded} of those recorded too); integrity_check ok on pong.db and feed.sqlite, before and after the restart`);
  });
});
