import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { freePort, ManagedProsody } from "annex/testing";
import { AnnexProcess, byId, TestClient } from "../integration/support.js";
import {
  allItemIds, Cleanup, eventOf, healthz, http, percentile, pongInput, pongJoin, publishedId, publishIq, type Snapshot, snapshotOf, sleep, until, within,
} from "./support.js";

// Point 2 of issue 10: Prosody crashes (SIGKILL) and comes back on the same ports, 10 times, while
// echo traffic, a pong game and feed publishing (XMPP and HTTP ingest) are running.

const ECHO = "echo.localhost";
const PONG = "pong.localhost";
const FEED = "feed.localhost";
const NODE = "live";
// bench/reliability/README.md: a longer run sets ANNEX_FAULT_ROUNDS (the suite's own run uses 10).
const ROUNDS = Number(process.env.ANNEX_FAULT_ROUNDS || 10);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`ANNEX_FAULT_ROUNDS must be a positive integer, got ${JSON.stringify(process.env.ANNEX_FAULT_ROUNDS)}`);
const ECHOES_PER_ROUND = 50;
const PUBLISHES_PER_ROUND = 20;
const USERS = ["echoer", "alice", "bob", "pub", "reader"];

describe(`server faults: Prosody killed and restarted ${ROUNDS} times under load`, () => {
  const cleanup = new Cleanup();
  let prosody: ManagedProsody;
  let annex: AnnexProcess;
  let metricsPort: number;
  let ingestPort: number;
  const token = `ingest-token-${process.pid}-faults`;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-faults-"));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "ingest.token"), `${token}\n`);
    [metricsPort, ingestPort] = [await freePort(), await freePort()];
    prosody = await ManagedProsody.start({
      components: [ECHO, PONG, FEED].map((domain) => ({ domain, secret: `${domain}-secret` })),
      users: USERS.map((u) => ({ username: u, password: `${u}-pw` })),
    });
    cleanup.add(() => prosody.stop());
    annex = await AnnexProcess.start({
      // A short backoff cap: the test measures how fast components return, not how patient the defaults are.
      server: { host: "127.0.0.1", port: prosody.componentPort, reconnect: { initialMs: 50, maxMs: 500, stableMs: 500 } },
      metrics: { port: metricsPort },
      log: { level: "info" },
      components: [
        { type: "echo", domain: ECHO, secret: `${ECHO}-secret` },
        // pace 4 and 1000 points: the game is fast but cannot end within the test.
        { type: "pong", domain: PONG, secret: `${PONG}-secret`, options: { pace: 4, pointsToWin: 1000, graceSeconds: 30, seed: 11 } },
        {
          type: "feed", domain: FEED, secret: `${FEED}-secret`,
          options: { storage: `sqlite:${join(dir, "feed.sqlite")}`, maxPageSize: 500, nodes: { [NODE]: { publishers: ["pub@localhost"], maxItems: 100_000 } }, http: { port: ingestPort, tokenFile: join(dir, "ingest.token") } },
        },
      ],
    });
    cleanup.add(() => annex.stop());
  });

  after(() => cleanup.run());

  test("components come back after every restart; the game goes on; no acknowledged feed item is lost", async () => {
    // HTTP ingest publishes all along, outages included: it does not depend on Prosody.
    const httpAcked: string[] = [];
    let httpFailed = 0;
    let publishing = true;
    const ingest = (async () => {
      for (let n = 0; publishing; n++) {
        const res = await http(ingestPort, "POST", `/nodes/${NODE}/items`, { headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ n, via: "http" }) }).catch(() => undefined);
        if (res?.status === 200) httpAcked.push((JSON.parse(res.body) as { id: string }).id);
        else httpFailed++;
        await sleep(20);
      }
    })();

    const xmppAcked: string[] = [];
    const reconnectMs: number[] = [];
    const echoBackMs: number[] = [];
    let echoes = 0;
    let room: string | undefined;
    const sides: Record<string, string> = {};
    const seq: Record<string, number> = { alice: 0, bob: 0 };
    let lastBefore: Snapshot | undefined;
    const pongEvents: Element[] = [];
    let snapshotsSeen = 0;
    let listenedAt: number | undefined;
    let lateAckedTotal = 0;
    const lastAck: Record<string, number> = { alice: -1, bob: -1 };

    try {
      for (let round = 0; round < ROUNDS; round++) {
        const connect = (u: string) => TestClient.connect(prosody, u, `${u}-pw`, `r${round}`);
        const [echoer, alice, bob, pub] = await Promise.all(["echoer", "alice", "bob", "pub"].map(connect)) as [TestClient, TestClient, TestClient, TestClient];
        const clients = [echoer, alice, bob, pub];
        try {
          // Back online: time from Prosody listening to a client's first echo is part of the recovery.
          if (listenedAt !== undefined) {
            await echoRoundTrip(echoer!, round);
            echoBackMs.push(performance.now() - listenedAt);
          }

          // Pong: both players (a new resource each round) check in; the first round starts the game, later
          // rounds rejoin the same room on the same side.
          const players = { alice: alice!, bob: bob! };
          for (const [name, c] of Object.entries(players)) {
            await c.send(xml("presence", {}));
            await c.send(xml("presence", { to: PONG }));
            await c.send(pongJoin(PONG));
          }
          for (const [name, c] of Object.entries(players)) {
            const start = (await c.waitFor((el) => el.getChild("start", "urn:annex:pong:1") !== undefined, 10_000, `${name}'s start in round ${round}`)).getChild("start", "urn:annex:pong:1")!;
            room ??= start.attrs.r as string;
            sides[name] ??= start.attrs.side as string;
            assert.equal(start.attrs.r, room, `round ${round}: ${name} rejoined the same game`);
            assert.equal(start.attrs.side, sides[name], `round ${round}: ${name} kept its side`);
            // The seat remembers the last input applied: at least the last one acknowledged before the crash.
            const a = Number(start.attrs.a);
            assert.ok(a >= lastAck[name]! && a <= seq[name]!, `round ${round}: ${name}'s seat says last input ${a}, acknowledged before ${lastAck[name]}, sent ${seq[name]}`);
          }
          // Each player steers toward the ball from its new resource; snapshots must acknowledge the inputs.
          const seqAtStart = { ...seq };
          for (const [name, c] of Object.entries(players)) {
            c.xmpp.on("stanza", (el: Element) => {
              const s = snapshotOf(el);
              if (!s || s.room !== room) return;
              snapshotsSeen++;
              if (s.ack !== undefined) lastAck[name] = Math.max(lastAck[name]!, s.ack);
              if (s.tick % 2 === 0) void c.send(pongInput(PONG, ++seq[name]!, Math.min(500, Math.max(0, (s.ball[1] ?? 300) - 50)))).catch(() => undefined);
            });
          }

          // Echo traffic and XMPP publishes, each answered in full before the crash.
          const echoIds = Array.from({ length: ECHOES_PER_ROUND }, (_, i) => `r${round}-e${i}`);
          for (const id of echoIds) await echoer!.send(xml("message", { to: ECHO, type: "chat", id }, xml("body", {}, id)));
          const pubIds = Array.from({ length: PUBLISHES_PER_ROUND }, (_, i) => `r${round}-p${i}`);
          for (const id of pubIds) await pub!.send(publishIq(FEED, NODE, id, { id, via: "xmpp" }));
          for (const id of echoIds) assert.equal((await echoer!.waitFor(byId(id), 10_000, `echo ${id}`)).getChildText("body"), id);
          echoes += echoIds.length;
          for (const id of pubIds) {
            const reply = await pub!.waitFor(byId(id), 10_000, `publish ${id}`);
            const itemId = publishedId(reply);
            assert.ok(itemId, `round ${round}: publish ${id} failed: ${reply}`);
            xmppAcked.push(itemId);
          }

          // The game paused when the component lost its link and resumed once both players were back:
          // it runs again in both views, and the score never went back.
          for (const [name, c] of Object.entries(players)) {
            const mine = () => c.received.map(snapshotOf).filter((s): s is Snapshot => s?.room === room);
            await until(`${name}: 5 snapshots acknowledging inputs of its new resource in round ${round}`, () => mine().filter((s) => (s.ack ?? -1) > seqAtStart[name]!).length >= 5, 10_000);
            const first = mine()[0]!;
            if (lastBefore) {
              assert.ok(first.tick >= lastBefore.tick, `round ${round}: the same game, never rewound (tick ${lastBefore.tick} -> ${first.tick})`);
              assert.ok(first.score[0]! + first.score[1]! >= lastBefore.score[0]! + lastBefore.score[1]!, "the score never goes back");
            }
          }
          lastBefore = alice!.received.map(snapshotOf).filter((s): s is Snapshot => s?.room === room).at(-1);
          for (const c of Object.values(players)) pongEvents.push(...c.received.filter((el) => eventOf(el) !== undefined));
          // A last burst still in flight when the server dies: whatever was acknowledged must survive.
          for (let i = 0; i < PUBLISHES_PER_ROUND; i++) {
            void pub!.send(publishIq(FEED, NODE, `r${round}-late${i}`, { round, late: i })).catch(() => undefined);
            void echoer!.send(xml("message", { to: ECHO, type: "chat", id: `r${round}-late${i}` }, xml("body", {}, "late"))).catch(() => undefined);
          }
          await sleep(round * 3); // a different moment of the burst each round
        } finally {
          // The crash: SIGKILL, then the same ports again.
          await prosody.kill();
          await Promise.all(clients.map((c) => within(c.stop(), 1_000)));
        }
        const lateAcked = pub!.received.filter((el) => String(el.attrs.id).startsWith(`r${round}-late`)).map(publishedId).filter((id): id is string => id !== undefined);
        xmppAcked.push(...lateAcked);
        lateAckedTotal += lateAcked.length;
        await until("annex to notice the crash", async () => (await healthz(metricsPort)) === 503, 10_000);
        await prosody.launch();
        listenedAt = performance.now();
        reconnectMs.push(await until(`components back after restart ${round + 1}`, async () => (await healthz(metricsPort)) === 200, 15_000));
      }

      publishing = false;
      await ingest;
      const reader = await TestClient.connect(prosody, "reader", "reader-pw");
      cleanup.add(() => reader.stop());
      const stored = new Set(await allItemIds(reader, FEED, NODE));
      const lostXmpp = xmppAcked.filter((id) => !stored.has(id));
      const lostHttp = httpAcked.filter((id) => !stored.has(id));

      // Prosody's crash sends no unavailable presence (RFC 6121 §4.6 needs a live server); pong pauses every game
      // when its own link drops (onOffline) and resumes each when both players have checked in again.
      const kinds = pongEvents.map((el) => eventOf(el)!.attrs.k);
      console.log(`faults: ${ROUNDS} Prosody restarts survived; component reconnect p50 ${percentile(reconnectMs, 50).toFixed(0)} ms p99 ${percentile(reconnectMs, 99).toFixed(0)} ms (max ${Math.max(...reconnectMs).toFixed(0)}); ` +
        `first echo after restart p50 ${percentile(echoBackMs, 50).toFixed(0)} ms p99 ${percentile(echoBackMs, 99).toFixed(0)} ms; ${echoes} echoes; ` +
        `pong room ${room} rejoined ${ROUNDS}× (${snapshotsSeen} snapshots, score ${lastBefore?.score.join("-")}, events: ${[...new Set(kinds)].join(",") || "none"}); ` +
        `feed ${xmppAcked.length} XMPP (${lateAckedTotal} of them acknowledged just before a crash) + ${httpAcked.length} HTTP acknowledged items, ${stored.size} stored, ${lostXmpp.length + lostHttp.length} lost (${httpFailed} HTTP publishes refused or failed)`);
      assert.deepEqual(lostXmpp, [], "acknowledged XMPP publishes lost");
      assert.deepEqual(lostHttp, [], "acknowledged HTTP publishes lost");
      assert.ok(xmppAcked.length >= ROUNDS * PUBLISHES_PER_ROUND);
      assert.ok(httpAcked.length > 0, "the HTTP ingest published during the test");
      assert.equal(httpFailed, 0, "the HTTP ingest never failed, Prosody down or not");
      assert.deepEqual(kinds.filter((k) => k === "over"), [], "no game over: the game survived every crash");
      assert.ok(kinds.filter((k) => k === "resume").length >= ROUNDS, `the game resumed after each crash (${kinds.filter((k) => k === "resume").length} resume events)`);
      assert.equal(reconnectMs.length, ROUNDS);
      assert.equal(annex.child.exitCode, null, "annex is still running");
      assert.doesNotMatch(annex.output, /unhandled|uncaught|"level":60/i);
      for (const domain of [ECHO, PONG, FEED]) {
        const online = annex.output.split("\n").filter((l) => l.includes('"msg":"online"') && l.includes(`"component":"${domain}"`)).length;
        assert.equal(online, ROUNDS + 1, `${domain} came online at start and after each restart`);
      }
    } finally {
      publishing = false;
      await ingest;
    }
  });
});

let echoSeq = 0;
/** Sends echoes until one comes back; the milliseconds from the first send to that reply. */
async function echoRoundTrip(client: TestClient, round: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const id = `back-${round}-${++echoSeq}`;
    await client.send(xml("message", { to: ECHO, type: "chat", id }, xml("body", {}, "back?")));
    if (await client.waitFor(byId(id), 250).then(() => true, () => false)) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error(`round ${round}: no echo within 10 s`);
  }
}
