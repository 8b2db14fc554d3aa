import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { ManagedEjabberdCluster, ManagedPostgres, type ManagedServer, startServer } from "annex/testing";
import pg from "pg";
import { AnnexProcess, byId, TestClient } from "./support.js";

// A sharded pong service (components/pong/README.md §Shards) on one real PostgreSQL: the front door on
// pong.localhost (active and standby), shards on pong-1/2/3.localhost, each an `annex run` process. Once through
// Prosody with three shards, once through a two-node ejabberd cluster with two shards (clients on node 1, every
// pong process on node 2, so every stanza crosses the cluster).

const PONG = "pong.localhost";
const ALL_SHARDS = ["pong-1.localhost", "pong-2.localhost", "pong-3.localhost"];
const BOOK = "xmpp:game:pong";
const COMPACT = "urn:annex:pong:1";
const USERS = Array.from({ length: 14 }, (_, i) => `p${i}`);
// pace 4: a game to 3 takes seconds. Shards heartbeat every 300 ms and are dead after 1.5 s silent.
const GAME = { pointsToWin: 3, pace: 4, tickHz: 60, snapshotHz: 20, graceSeconds: 20, pauseSeconds: 60 };

const action = (el: Element) => el.getChild("pong", BOOK)?.getChildText("action");
const field = (el: Element, name: string) => el.getChild("pong", BOOK)?.getChildText(name);
const compactEl = (el: Element, name: string) => (el.name === "message" ? el.getChild(name, COMPACT) : undefined);
const bookMsg = (to: string, name: string, fields: Record<string, string> = {}) =>
  xml("message", { to, type: "headline" }, xml("pong", { xmlns: BOOK }, xml("action", {}, name), ...Object.entries(fields).map(([k, v]) => xml(k, {}, v))));
const compactMsg = (to: string, name: string, attrs: Record<string, string> = {}) => xml("message", { to, type: "headline" }, xml(name, { xmlns: COMPACT, ...attrs }));

interface Topology {
  /** Where the clients log in. */
  clients: Pick<ManagedServer, "c2sPort" | "host">;
  /** Where the pong processes connect. */
  componentPort: number;
  stop(): Promise<void>;
}

function shardSuite(title: string, shardCount: number, startXmpp: (components: { domain: string; secret: string }[], users: { username: string; password: string }[]) => Promise<Topology>) {
describe(title, () => {
  const SHARDS = ALL_SHARDS.slice(0, shardCount);
  let server: Topology;
  let postgres: ManagedPostgres;
  let url: string;
  const procs = new Map<string, AnnexProcess>();
  const c: Record<string, TestClient> = {};
  const secrets = Object.fromEntries([PONG, ...SHARDS].map((d) => [d, `${d}-secret`]));

  // The front door's entry is the same in its active and its standby process: the lease decides who serves.
  const entry = (domain: string) => ({ type: "pong", domain, secretFile: "secret", options: { ...GAME, cluster: { postgres: url, frontDoor: PONG, heartbeatMs: 300, deadAfterMs: 1500 } },
    ...(domain === PONG ? { standby: { postgres: url, retryMs: 200 } } : {}) });
  const startProcess = async (domain: string, name = domain, waitOnline = true) => {
    const p = await AnnexProcess.start({ server: { host: "127.0.0.1", port: server.componentPort, reconnect: { initialMs: 100, maxMs: 500 } }, log: { level: "info" }, components: [entry(domain)] },
      { files: { secret: `${secrets[domain]}\n` }, waitOnline });
    procs.set(name, p);
    return p;
  };
  const sql = async (text: string, values: unknown[] = []) => {
    const client = new pg.Client(url);
    await client.connect();
    try {
      return (await client.query(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  /** Waits until every shard has heartbeat (rooms are placed only on live shards). */
  const shardsLive = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while ((await sql("SELECT domain FROM pong_shards WHERE seen > now() - interval '1 second'")).length < n) {
      assert.ok(Date.now() < deadline, `${n} live shards within 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    postgres = await ManagedPostgres.start();
    url = await postgres.createDatabase();
    server = await startXmpp([PONG, ...SHARDS].map((domain) => ({ domain, secret: secrets[domain]! })), USERS.map((u) => ({ username: u, password: `${u}-pw` })));
    await Promise.all(SHARDS.map((d) => startProcess(d)));
    const front = await startProcess(PONG, PONG, false);
    await front.waitForOutput(/"msg":"online"/, 10_000);
    // The standby front door: same config, waits for the lease.
    const standby = await startProcess(PONG, "standby", false);
    await standby.waitForOutput(/another process holds the lease/, 10_000);
    await shardsLive(shardCount);
    for (const u of USERS) {
      c[u] = await TestClient.connect(server.clients, u, `${u}-pw`);
      await c[u]!.send(xml("presence", {}));
      await c[u]!.send(xml("presence", { to: PONG }));
    }
  });

  after(async () => {
    for (const client of Object.values(c)) await client.stop();
    const codes = [];
    for (const [domain, p] of procs) codes.push([domain, await p.stop(), p.output] as const);
    await server?.stop();
    await postgres?.stop();
    for (const [domain, code, output] of codes) if (code !== null) assert.equal(code, 0, `${domain} should stop cleanly; output:\n${output}`);
  });

  /** A compact check-in at the front door; resolves with the `<start/>` (which names the room's shard in `at`). */
  async function compactStart(client: TestClient, from: number, to = PONG, attrs: Record<string, string> = {}) {
    await client.send(compactMsg(to, "join", attrs));
    const msg = await client.waitFor((el) => client.received.indexOf(el) >= from && compactEl(el, "start") !== undefined, 15_000, "start").catch(async (err: Error) => {
      // What the directory and the processes knew, for whoever reads the failure.
      const rooms = await sql("SELECT r.id, r.shard, s.side, s.jid FROM pong_rooms r JOIN pong_seats s ON s.room = r.id ORDER BY r.id, s.side");
      const queue = await sql("SELECT bare, contact FROM pong_queue");
      const tails = [...procs].map(([name, p]) => `--- ${name}\n${p.output.split("\n").filter((l) => !l.includes('"game over"')).slice(-15).join("\n")}`);
      throw new Error(`${err.message}; rooms ${JSON.stringify(rooms)}; queue ${JSON.stringify(queue)}; received ${client.received.slice(from).map(String).join(" ")}\n${tails.join("\n")}`);
    });
    return { msg, start: compactEl(msg, "start")!.attrs as Record<string, string> };
  }

  test("a book client and a compact client are matched across processes and play a whole game; the board agrees everywhere", async () => {
    const { p0: book, p1: compact } = c as Required<typeof c>;
    const [fromA, fromB] = [book!.received.length, compact!.received.length];
    await book!.send(bookMsg(PONG, "playercheckingin"));
    const dims = await book!.waitFor((el) => book!.received.indexOf(el) >= fromA && action(el) === "dimensions");
    assert.equal(dims.attrs.from, PONG);
    assert.equal(field(dims, "side"), "0");
    const { msg, start } = await compactStart(compact!, fromB);
    assert.ok(SHARDS.includes(start.at!), `start names the room's shard: ${start.at}`);
    assert.equal(msg.attrs.from, start.at, "the compact client hears from the shard directly");
    assert.equal(start.side, "1");
    assert.equal(start.opp, "p0@localhost");
    // Both park their paddles at the top, so serves get through; the book's paddle goes through the front door.
    await book!.send(bookMsg(PONG, "paddleposition", { y: "0" }));
    await compact!.send(compactMsg(start.at!, "in", { seq: "1", y: "0" }));
    const over = await book!.waitFor((el) => book!.received.indexOf(el) >= fromA && action(el) === "gameover", 20_000, "book gameover");
    assert.equal(over.attrs.from, PONG, "the book client hears only the front door (relayed)");
    assert.ok(book!.received.slice(fromA).some((el) => action(el) === "ballposition" && el.attrs.from === PONG), "snapshots relayed to the book client");
    const ev = await compact!.waitFor((el) => compact!.received.indexOf(el) >= fromB && compactEl(el, "ev")?.attrs.k === "over", 20_000, "compact over");
    assert.equal(compactEl(ev, "ev")!.attrs.reason, "score");
    // The shared leaderboard answers the same on the front door and on every shard.
    const boards: string[] = [];
    for (const to of [PONG, ...SHARDS]) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const id = `lb-${to}-${Date.now()}`;
        await book!.send(xml("iq", { type: "get", to, id }, xml("leaderboard", { xmlns: BOOK, max: "10" })));
        const players = (await book!.waitFor(byId(id))).getChild("leaderboard", BOOK)!.getChildren("player").map((p) => `${p.attrs.jid}:${p.attrs.rating}:${p.attrs.wins}-${p.attrs.losses}`);
        if (players.length === 2 || Date.now() > deadline) {
          boards.push(players.join(" "));
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(new Set(boards).size, 1, `one board: ${boards.join(" | ")}`);
    assert.match(boards[0]!, /p0@localhost:\d+:\d-\d p1@localhost|p1@localhost:\d+:\d-\d p0@localhost/);
  });

  test("rooms spread over the shards; disco#items on the front door lists them all; a spectator watches through the front door", async () => {
    const players = ["p2", "p3", "p4", "p5", "p6", "p7"].slice(0, 2 * shardCount).map((u) => c[u]!);
    const from = players.map((p) => p.received.length);
    const starts: Record<string, string>[] = [];
    for (let i = 0; i < players.length; i += 2) {
      // XEP-0172 §4.3: a nick beside the check-in at the front door names the player on the room's shard too.
      await players[i]!.send(xml("message", { to: PONG, type: "headline" }, xml("join", { xmlns: COMPACT }), xml("nick", { xmlns: "http://jabber.org/protocol/nick" }, `Left ${i}`)));
      await players[i]!.waitFor((el) => players[i]!.received.indexOf(el) >= from[i]! && compactEl(el, "queued") !== undefined);
      const { start } = await compactStart(players[i + 1]!, from[i + 1]!);
      assert.equal(start.oppnick, `Left ${i}`);
      starts.push(start);
      // Paused at the serve: the game stays running until the test ends it.
      await players[i + 1]!.send(compactMsg(start.at!, "pause"));
    }
    assert.deepEqual(new Set(starts.map((s) => s.at)).size, shardCount, `rooms on every shard (least loaded): ${starts.map((s) => s.at).join(", ")}`);
    const id = "disco-all";
    await c.p8!.send(xml("iq", { type: "get", to: PONG, id }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" })));
    const items = (await c.p8!.waitFor(byId(id))).getChild("query")!.getChildren("item");
    for (const s of starts) assert.ok(items.some((it) => it.attrs.node === s.r && it.attrs.jid === PONG), `disco lists ${s.r}`);
    // A book spectator at the front door: the first snapshot comes at once, relayed from the room's shard.
    const watcher = c.p8!;
    const fromW = watcher.received.length;
    await watcher.send(bookMsg(PONG, "spectate", { room: starts[0]!.r! }));
    const ball = await watcher.waitFor((el) => watcher.received.indexOf(el) >= fromW && action(el) === "ballposition");
    assert.equal(ball.attrs.from, PONG);
    // Leave the games: each forfeit ends its room and frees the shard.
    const gamesBefore = Number((await sql("SELECT count(*) AS n FROM pong_games"))[0].n);
    for (let i = 0; i < players.length; i += 2) await players[i]!.send(compactMsg(starts[i / 2]!.at!, "leave"));
    const deadline = Date.now() + 5000;
    while ((await sql("SELECT id FROM pong_rooms")).length > 0) {
      assert.ok(Date.now() < deadline, "the directory forgets finished rooms");
      await new Promise((r) => setTimeout(r, 100));
    }
    // Every game finished on its shard is stored once and rates both players on the one board.
    for (const until = Date.now() + 5000; Number((await sql("SELECT count(*) AS n FROM pong_games"))[0].n) < gamesBefore + shardCount;) {
      assert.ok(Date.now() < until, "every finished game is stored");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(Number((await sql("SELECT count(*) AS n FROM pong_games"))[0].n), gamesBefore + shardCount);
    const board = new Set((await sql("SELECT jid FROM pong_players")).map((r) => r.jid as string));
    for (const u of ["p2", "p3", "p4", "p5", "p6", "p7"].slice(0, 2 * shardCount)) assert.ok(board.has(`${u}@localhost`), `${u} is on the board`);
  });

  test("kill -9 of a shard mid-game: its players are told server-lost within 5 s, unrated; the other games go on; it comes back empty", async (t) => {
    const pairs = [["p2", "p3"], ["p4", "p5"], ["p6", "p7"]].slice(0, shardCount).map(([a, b]) => [c[a!]!, c[b!]!] as const);
    const starts: Record<string, string>[] = [];
    for (const [a, b] of pairs) {
      const [fa, fb] = [a.received.length, b.received.length];
      await a.send(compactMsg(PONG, "join"));
      await a.waitFor((el) => a.received.indexOf(el) >= fa && compactEl(el, "queued") !== undefined);
      const { start } = await compactStart(b, fb);
      await b.send(compactMsg(start.at!, "pause"));
      starts.push(start);
    }
    assert.equal(new Set(starts.map((s) => s.at)).size, shardCount, "one room per shard");
    const boardBefore = await sql("SELECT jid, rating, wins, losses FROM pong_players ORDER BY jid");
    const victim = starts[0]!.at!;
    const [a0, b0] = pairs[0]!;
    const [fa, fb] = [a0.received.length, b0.received.length];
    const killedAt = Date.now();
    procs.get(victim)!.child.kill("SIGKILL");
    await procs.get(victim)!.exited;
    procs.delete(victim);
    const lost = (client: TestClient, from: number) => client.waitFor((el) => client.received.indexOf(el) >= from && compactEl(el, "ev")?.attrs.k === "over", 5000, "server-lost");
    const [la, lb] = await Promise.all([lost(a0, fa), lost(b0, fb)]);
    const toldMs = Date.now() - killedAt;
    assert.ok(toldMs < 5000, `told within 5 s (${toldMs} ms)`);
    t.diagnostic(`players told server-lost ${toldMs} ms after kill -9 of ${victim}`);
    for (const el of [la, lb]) assert.equal(compactEl(el, "ev")!.attrs.reason, "server-lost");
    assert.deepEqual(await sql("SELECT jid, rating, wins, losses FROM pong_players ORDER BY jid"), boardBefore, "no rating changes for the lost game");
    assert.deepEqual((await sql("SELECT id FROM pong_rooms WHERE shard = $1", [victim])), [], "the directory forgot the dead shard's rooms");
    // Another shard's game goes on: its player resumes, snapshots flow again, and it ends normally.
    const [a1, b1] = pairs[1]!;
    const fb1 = b1.received.length;
    await b1.send(compactMsg(starts[1]!.at!, "resume"));
    await b1.waitFor((el) => b1.received.indexOf(el) >= fb1 && compactEl(el, "s")?.attrs.ph === "play", 5000, "snapshots after the other shard died");
    await a1.send(compactMsg(starts[1]!.at!, "leave"));
    await b1.waitFor((el) => b1.received.indexOf(el) >= fb1 && compactEl(el, "ev")?.attrs.reason === "forfeit", 5000, "a normal end");
    // The shard starts again, empty, and takes the next room (with three shards the third game still runs).
    await startProcess(victim);
    await shardsLive(shardCount);
    const [x, y] = [c.p9!, c.p10!];
    const [fx, fy] = [x.received.length, y.received.length];
    await x.send(compactMsg(PONG, "join"));
    await x.waitFor((el) => x.received.indexOf(el) >= fx && compactEl(el, "queued") !== undefined);
    const { start } = await compactStart(y, fy);
    assert.ok(start.at === victim || start.at === starts[1]!.at, `a new room on an empty shard: ${start.at}`);
    for (const [p, s] of [[x, start], ...pairs.slice(2).map(([a]) => [a, starts[2]!] as const)] as const) await p.send(compactMsg(s.at!, "leave"));
  });

  test("a seat token works on whichever shard the client reaches first", async () => {
    const [a, b] = [c.p11!, c.p12!];
    const [fa, fb] = [a.received.length, b.received.length];
    await a.send(compactMsg(PONG, "join"));
    await a.waitFor((el) => a.received.indexOf(el) >= fa && compactEl(el, "queued") !== undefined);
    const { start } = await compactStart(b, fb);
    await b.send(compactMsg(start.at!, "pause"));
    // b comes back from another account's address (a guest after a reconnection) through a shard that does not run the room.
    const other = SHARDS.find((s) => s !== start.at && procs.has(s))!;
    const guest = c.p13!;
    const { msg, start: again } = await compactStart(guest, guest.received.length, other, { token: start.token! });
    assert.equal(again.r, start.r);
    assert.equal(again.side, "1");
    assert.equal(msg.attrs.from, start.at, "the room's own shard answers");
    await guest.send(compactMsg(start.at!, "leave"));
    const unknown = "bad-token";
    await guest.send(xml("message", { to: other, type: "headline", id: unknown }, xml("join", { xmlns: COMPACT, token: "0000" })));
    const err = await guest.waitFor((el) => el.attrs.id === unknown && el.attrs.type === "error");
    assert.equal(err.getChild("error")!.getChildElements()[0]!.name, "item-not-found");
    // Only the service's own processes may relay or hand over rooms: a client that tries is refused.
    for (const name of ["relay", "open"]) {
      const id = `forged-${name}`;
      await guest.send(xml("message", { to: other, type: "headline", id }, xml(name, { xmlns: "urn:annex:pong:shard:1", from: "p0@localhost/x", protocol: "compact" }, xml("leave", { xmlns: COMPACT }))));
      const refused = await guest.waitFor((el) => el.attrs.id === id && el.attrs.type === "error");
      assert.equal(refused.getChild("error")!.getChildElements()[0]!.name, "forbidden");
    }
  });

  test("a check-in forwarded to a shard for a seat it no longer has goes into the shared queue and is matched", async () => {
    const [a, b] = [c.p11!, c.p12!];
    // The directory still lists a finished game of a (the moment between its end and its removal), on a live shard.
    const shard = SHARDS.find((s) => procs.has(s))!;
    await sql("INSERT INTO pong_rooms (id, shard) VALUES ('stale', $1)", [shard]);
    await sql(`INSERT INTO pong_seats (room, side, jid, bare, protocol, contact, token, name, bot)
      VALUES ('stale', 0, $1, 'p11@localhost', 'compact', NULL, 'stale-token', 'p11@localhost', false)`, [a.jid]);
    const [fa, fb] = [a.received.length, b.received.length];
    await a.send(compactMsg(PONG, "join"));
    const queued = await a.waitFor((el) => a.received.indexOf(el) >= fa && compactEl(el, "queued") !== undefined);
    assert.equal(queued.attrs.from, shard, "the shard it was forwarded to answers");
    await sql("DELETE FROM pong_rooms WHERE id = 'stale'");
    const { start } = await compactStart(b, fb);
    assert.equal(start.opp, "p11@localhost", "matched through the shared queue");
    await b.send(compactMsg(start.at!, "leave"));
    for (const [p, from] of [[a, fa], [b, fb]] as const) await p.waitFor((el) => p.received.indexOf(el) >= from && compactEl(el, "ev")?.attrs.reason === "forfeit");
  });

  test("a shard stopped with SIGTERM ends its games with server-lost itself and leaves the directory", async () => {
    const [a, b] = [c.p11!, c.p12!];
    const [fa, fb] = [a.received.length, b.received.length];
    await a.send(compactMsg(PONG, "join"));
    await a.waitFor((el) => a.received.indexOf(el) >= fa && compactEl(el, "queued") !== undefined);
    const { start } = await compactStart(b, fb);
    await b.send(compactMsg(start.at!, "pause"));
    const shard = procs.get(start.at!)!;
    assert.equal(await shard.stop(), 0, shard.output);
    procs.delete(start.at!);
    for (const [p, from] of [[a, fa], [b, fb]] as const) {
      const ev = await p.waitFor((el) => p.received.indexOf(el) >= from && compactEl(el, "ev")?.attrs.k === "over", 5000, "server-lost");
      assert.equal(compactEl(ev, "ev")!.attrs.reason, "server-lost");
      assert.equal(ev.attrs.from, start.at, "told by the stopping shard itself");
    }
    assert.deepEqual(await sql("SELECT domain FROM pong_shards WHERE domain = $1", [start.at]), []);
    await startProcess(start.at!);
    await shardsLive(shardCount);
  });

  test("kill -9 of the front door: the standby serves pong.localhost within 10 s, new check-ins are matched, running games go on", async (t) => {
    const { p0: book, p1: compact } = c as Required<typeof c>;
    const [fromA, fromB] = [book!.received.length, compact!.received.length];
    await book!.send(bookMsg(PONG, "playercheckingin"));
    await book!.waitFor((el) => book!.received.indexOf(el) >= fromA && action(el) === "dimensions");
    const { start } = await compactStart(compact!, fromB);
    await compact!.send(compactMsg(start.at!, "pause"));
    const active = procs.get(PONG)!;
    const killedAt = Date.now();
    active.child.kill("SIGKILL");
    await active.exited;
    procs.delete(PONG);
    // New check-ins at pong.localhost: until the standby connects the server answers with an error; then they are matched.
    const [x, y] = [c.p9!, c.p10!];
    for (let attempt = 0; ; attempt++) {
      assert.ok(Date.now() - killedAt < 10_000, "the standby serves within 10 s");
      const from = x.received.length;
      const id = `after-kill-${attempt}`;
      await x.send(xml("message", { to: PONG, type: "headline", id }, xml("join", { xmlns: COMPACT })));
      const answer = await x.waitFor((el) => x.received.indexOf(el) >= from && (compactEl(el, "queued") !== undefined || el.attrs.id === id), 2000, "queued or an error").catch(() => undefined);
      if (answer && compactEl(answer, "queued")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const servedMs = Date.now() - killedAt;
    assert.ok(servedMs < 10_000, `standby served after ${servedMs} ms`);
    t.diagnostic(`the standby front door matched a check-in ${servedMs} ms after kill -9 of the active one`);
    const { start: next } = await compactStart(y, y.received.length);
    assert.ok(SHARDS.includes(next.at!));
    // The game that ran across the failover goes on: the book client's stanzas now go through the new front door.
    const fromBook = book!.received.length;
    await compact!.send(compactMsg(start.at!, "resume"));
    await book!.send(bookMsg(PONG, "paddleposition", { y: "0" }));
    const ball = await book!.waitFor((el) => book!.received.indexOf(el) >= fromBook && action(el) === "ballposition", 5000, "relayed snapshots after the failover");
    assert.equal(ball.attrs.from, PONG);
    const fromC = compact!.received.length;
    await book!.send(bookMsg(PONG, "leave"));
    const over = await compact!.waitFor((el) => compact!.received.indexOf(el) >= fromC && compactEl(el, "ev")?.attrs.k === "over", 5000, "forfeit relayed by the new front door");
    assert.equal(compactEl(over, "ev")!.attrs.reason, "forfeit");
    for (const p of [x, y]) await p.send(compactMsg(next.at!, "leave"));
  });
});
}

shardSuite("[prosody] pong shards: a front door (active and standby) and three shards on one PostgreSQL", 3, async (components, users) => {
  const prosody = await startServer("prosody", { components, users });
  return { clients: prosody, componentPort: prosody.componentPort, stop: () => prosody.stop() };
});

shardSuite("[ejabberd] pong shards on a two-node cluster: clients on node 1, a front door (active and standby) and two shards on node 2", 2, async (components, users) => {
  const cluster = await ManagedEjabberdCluster.start({ nodes: 2, components, users });
  return { clients: cluster.nodes[0]!, componentPort: cluster.nodes[1]!.componentPort, stop: () => cluster.stop() };
});
