import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { freePort, type ManagedProsody } from "annex/testing";
import { AnnexProcess, byId, startProsody, TestClient } from "../integration/support.js";
import { RawComponent } from "./clients/raw-component.js";
import {
  BOOK, Cleanup, COMPACT, errorCondition, eventOf, http, itemCount, PUBSUB, pongInput, pongJoin, publishedId, publishIq, type Snapshot, snapshotOf, sleep, until, within,
} from "./support.js";

// Point 5 of issue 10: non-players cannot touch a game, nobody unauthorized publishes, a spoofed `from`
// never reaches a component as such, secrets stay out of the logs, the HTTP endpoints refuse bad input.

const ECHO = "echo.localhost";
const PONG = "pong.localhost";
const FEED = "feed.localhost";
const ROGUE = "rogue.localhost"; // a component domain with no Annex behind it: the raw spoofing test uses it
const NODE = "secure";
const SPOOF = "admin@elsewhere";
const USERS = ["alice", "bob", "eve", "pub"];
const secret = (name: string) => `${name}-${randomBytes(12).toString("hex")}`;

describe("security: non-players, unauthorized publishers, spoofed senders, secrets, HTTP endpoints", () => {
  const cleanup = new Cleanup();
  const secrets = { echo: secret("echo"), pong: secret("pong"), feed: secret("feed"), rogue: secret("rogue"), token: secret("token") };
  /** Near-secrets the test sends and that must not be echoed into a log either (a mistyped token is almost the token). */
  const wrongTokens = [`${secrets.token}x`, secret("guess"), secrets.token.slice(0, -1)];
  let prosody: ManagedProsody;
  let annex: AnnexProcess;
  let metricsPort: number;
  let ingestPort: number;
  const c: Record<string, TestClient> = {};

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "annex-security-"));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    [metricsPort, ingestPort] = [await freePort(), await freePort()];
    await writeFile(join(dir, "token"), `${secrets.token}\n`);
    prosody = await startProsody([
      { domain: ECHO, secret: secrets.echo }, { domain: PONG, secret: secrets.pong }, { domain: FEED, secret: secrets.feed }, { domain: ROGUE, secret: secrets.rogue },
    ], USERS.map((u) => ({ username: u, password: `${u}-pw` })));
    cleanup.add(() => prosody.stop());
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      metrics: { port: metricsPort },
      log: { level: "debug" }, // the most Annex ever says: no secret may be in it
      components: [
        { type: "echo", domain: ECHO, secretFile: "echo.secret" },
        { type: "pong", domain: PONG, secretFile: "pong.secret", options: { pace: 2, pointsToWin: 1000, seed: 5 } },
        {
          type: "feed", domain: FEED, secretFile: "feed.secret",
          // admin@elsewhere may publish: if a spoofed from were trusted, its publish would go through.
          options: { storage: "memory", nodes: { [NODE]: { publishers: ["pub@localhost", SPOOF], owners: [SPOOF] } }, http: { port: ingestPort, tokenFile: join(dir, "token"), maxBodyBytes: 1024 } },
        },
      ],
    }, { files: { "echo.secret": `${secrets.echo}\n`, "pong.secret": `${secrets.pong}\n`, "feed.secret": `${secrets.feed}\n` } });
    cleanup.add(() => annex.stop());
    for (const u of USERS) {
      c[u] = await TestClient.connect(prosody, u, `${u}-pw`, "sec");
      await c[u]!.send(xml("presence", {}));
    }
    cleanup.add(() => Promise.all(Object.values(c).map((x) => x.stop())));
  });

  after(() => cleanup.run());

  test("no stanza from a non-player affects a running game", async () => {
    const { alice, bob, eve } = c as Required<typeof c>;
    for (const p of [alice!, bob!]) {
      await p.send(xml("presence", { to: PONG }));
      await p.send(pongJoin(PONG));
    }
    const room = (await alice!.waitFor((el) => el.getChild("start", COMPACT) !== undefined)).getChild("start", COMPACT)!.attrs.r as string;
    await bob!.waitFor((el) => el.getChild("start", COMPACT)?.attrs.r === room);
    const aliceFrom = alice!.received.length;
    const attempts: [string, Element][] = [
      ["compact input", pongInput(PONG, 1, 0)],
      ["book paddleposition", xml("message", { to: PONG }, xml("pong", { xmlns: BOOK }, xml("action", {}, "paddleposition"), xml("y", {}, "0")))],
      ["input with alice's JID as from", xml("message", { to: PONG, from: "alice@localhost/sec" }, xml("in", { xmlns: COMPACT, seq: "2", y: "0" }))],
      ["input from outside the server", xml("message", { to: PONG, from: `${SPOOF}/x` }, xml("in", { xmlns: COMPACT, seq: "3", y: "0" }))],
    ];
    for (const [what, stanza] of attempts) {
      stanza.attrs.id = `eve-${attempts.findIndex(([w]) => w === what)}`;
      await eve!.send(stanza);
      const reply = await eve!.waitFor(byId(stanza.attrs.id as string), 5_000, `the refusal of eve's ${what}`);
      assert.equal(errorCondition(reply), "forbidden", `${what}: ${reply}`);
      assert.equal(reply.attrs.to, "eve@localhost/sec", `${what}: the refusal goes to eve, the real sender`);
    }
    // Stanzas that are not refused but must change nothing: leaving, going offline (also "as alice"), spectating then steering.
    await eve!.send(xml("message", { to: PONG }, xml("leave", { xmlns: COMPACT })));
    await eve!.send(xml("message", { to: PONG }, xml("pong", { xmlns: BOOK }, xml("action", {}, "leave"))));
    await eve!.send(xml("presence", { to: PONG, type: "unavailable" }));
    await eve!.send(xml("presence", { to: PONG, type: "unavailable", from: "alice@localhost/sec" }));
    await eve!.send(xml("presence", { to: PONG, type: "unavailable", from: "bob@localhost/sec" }));
    await eve!.send(xml("message", { to: PONG }, xml("spectate", { xmlns: COMPACT, r: room })));
    await eve!.waitFor((el) => snapshotOf(el)?.room === room, 5_000, "eve spectating");
    await eve!.send(xml("message", { to: PONG, id: "eve-spectator-input" }, xml("in", { xmlns: COMPACT, seq: "9", y: "0" })));
    assert.equal(errorCondition(await eve!.waitFor(byId("eve-spectator-input"))), "forbidden", "a spectator cannot steer");
    await eve!.send(xml("message", { to: PONG }, xml("leave", { xmlns: COMPACT })));
    await sleep(1_000); // a second of play at 20 snapshots a second after everything eve tried

    const aliceView = alice!.received.slice(aliceFrom);
    const snaps = aliceView.map(snapshotOf).filter((s): s is Snapshot => s?.room === room);
    assert.ok(snaps.length >= 10, `${snaps.length} snapshots`);
    assert.deepEqual([...new Set(snaps.map((s) => s.paddles))], ["250,250"], "no paddle moved: nobody seated sent input");
    assert.deepEqual([...new Set(snaps.map((s) => s.ack))], [-1], "no input was applied to alice's seat");
    assert.deepEqual(aliceView.filter((el) => eventOf(el, "pause") || eventOf(el, "over")).map(String), [], "the game was not paused or ended");
    assert.ok(snaps.every((s) => s.phase === "play" || s.phase === "serve"));
    assert.equal(bob!.all((el) => eventOf(el, "pause") !== undefined || eventOf(el, "over") !== undefined).length, 0);
    const refusals = annex.output.split("\n").filter((l) => l.includes("handler answered with a stanza error") && l.includes('"component":"pong.localhost"'));
    assert.equal(refusals.length, attempts.length + 1, refusals.join("\n"));
    assert.ok(refusals.every((l) => l.includes('"from":"eve@localhost/sec"')), `pong saw eve as the sender every time:\n${refusals.join("\n")}`);
    // Control: the seated player's own input does move the paddle, so the checks above could fail.
    const controlFrom = alice!.received.length;
    await alice!.send(pongInput(PONG, 1, 0));
    await until("alice's own input to move her paddle", () => alice!.received.slice(controlFrom).map(snapshotOf).some((s) => s?.ack === 1 && s.paddles !== "250,250"), 5_000);
    console.log(`security: ${attempts.length + 6} stanzas from a non-player (eve) changed nothing in ${room} over ${snaps.length} snapshots`);
  });

  test("no unauthorized publish: XMPP from a non-publisher or with a spoofed from, HTTP with a bad token or body", async () => {
    const { alice, eve, pub } = c as Required<typeof c>;
    await pub!.send(publishIq(FEED, NODE, "legit", { ok: true }, "legit-1"));
    assert.equal(publishedId(await pub!.waitFor(byId("legit"))), "legit-1");
    const before = await itemCount(alice!, FEED, NODE);
    const xmppAttempts: [string, Element, string][] = [
      ["publish by a non-publisher", publishIq(FEED, NODE, "x1", { evil: 1 }), "forbidden"],
      ["publish as pub@localhost", publishIq(FEED, NODE, "x2", { evil: 2 }), "forbidden"],
      [`publish as ${SPOOF}`, publishIq(FEED, NODE, "x3", { evil: 3 }), "forbidden"],
      ["overwrite the legit item", publishIq(FEED, NODE, "x4", { evil: 4 }, "legit-1"), "forbidden"],
      ["retract", xml("iq", { to: FEED, type: "set", id: "x5" }, xml("pubsub", { xmlns: PUBSUB }, xml("retract", { node: NODE }, xml("item", { id: "legit-1" })))), "forbidden"],
      ["purge", xml("iq", { to: FEED, type: "set", id: "x6" }, xml("pubsub", { xmlns: `${PUBSUB}#owner` }, xml("purge", { node: NODE }))), "forbidden"],
    ];
    xmppAttempts[1]![1].attrs.from = "pub@localhost/sec";
    xmppAttempts[2]![1].attrs.from = SPOOF;
    xmppAttempts[5]![1].attrs.from = SPOOF; // owners: [admin@elsewhere]
    for (const [what, iq, condition] of xmppAttempts) {
      await eve!.send(iq);
      const reply = await eve!.waitFor(byId(iq.attrs.id as string), 5_000, what);
      assert.equal(reply.attrs.type, "error", `${what}: ${reply}`);
      assert.equal(errorCondition(reply), condition, `${what}: ${reply}`);
    }

    const post = (headers: Record<string, string>, body: string, path = `/nodes/${NODE}/items`, method = "POST") => http(ingestPort, method, path, { headers, body });
    const bearer = { authorization: `Bearer ${secrets.token}` };
    const httpAttempts: [string, Promise<{ status: number; body: string }>, number][] = [
      ["no token", post({}, '{"evil":1}'), 401],
      ...wrongTokens.map((t, i): [string, Promise<{ status: number; body: string }>, number] => [`wrong token ${i}`, post({ authorization: `Bearer ${t}` }, '{"evil":1}'), 401]),
      ["the token as Basic credentials", post({ authorization: `Basic ${Buffer.from(`x:${secrets.token}`).toString("base64")}` }, '{"evil":1}'), 401],
      ["the token in the query", post({}, '{"evil":1}', `/nodes/${NODE}/items?token=${secrets.token}`), 401],
      ["malformed JSON", post(bearer, '{"evil":'), 400],
      ["a body over maxBodyBytes", post(bearer, JSON.stringify({ evil: "x".repeat(2_000) })), 413],
      ["GET", post(bearer, "", `/nodes/${NODE}/items`, "GET"), 405],
      ["an unknown node", post(bearer, "{}", "/nodes/nope/items"), 404],
      ["an encoded path escape", post(bearer, "{}", `/nodes/..%2F${NODE}/items`), 404],
      ["an empty item id", post(bearer, "{}", `/nodes/${NODE}/items?id=`), 400],
    ];
    for (const [what, res, status] of httpAttempts) {
      const r = await res;
      assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
    }
    assert.equal(await itemCount(alice!, FEED, NODE), before, "no refused publish stored anything");
    // Control: the real token publishes, so the count above could have moved.
    assert.equal((await post(bearer, '{"good":true}')).status, 200);
    assert.equal(await itemCount(alice!, FEED, NODE), before + 1);
    const errorLines = annex.output.split("\n").filter((l) => l.includes("handler answered with a stanza error") && l.includes('"component":"feed.localhost"'));
    assert.ok(errorLines.length >= xmppAttempts.length && errorLines.every((l) => l.includes('"from":"eve@localhost/sec"')), `the feed saw eve as the sender every time:\n${errorLines.join("\n")}`);
    console.log(`security: ${xmppAttempts.length} XMPP and ${httpAttempts.length} HTTP unauthorized or malformed publishes refused, ${before} items before and after`);
  });

  test("a spoofed from outside the server's domains: rewritten for clients, refused for components, never seen by Annex", async () => {
    const { alice } = c as Required<typeof c>;
    await alice!.send(xml("message", { to: ECHO, type: "chat", id: "spoof-echo", from: `${SPOOF}/x` }, xml("body", {}, "who am I?")));
    const echoed = await alice!.waitFor(byId("spoof-echo"));
    assert.equal(echoed.attrs.to, "alice@localhost/sec", "echo answered the real sender: Prosody stamped the from (RFC 6120 §8.1.2.1)");
    // A component may only send from its own domain (Prosody's mod_component validate_from_addresses).
    const rogue = await RawComponent.connect(prosody.componentPort, ROGUE, secrets.rogue);
    try {
      rogue.send(`<message from='${SPOOF}' to='alice@localhost/sec' id='rogue-1' type='chat'><body>trust me</body></message>`);
      await rogue.waitFor(/invalid-from/, "the stream error");
      await rogue.closed;
    } finally {
      rogue.close();
    }
    await sleep(300);
    assert.equal(alice!.all(byId("rogue-1")).length, 0, "the spoofed message never reached alice");
    const fromSpoof = annex.output.split("\n").filter((l) => l.includes(`"from":"${SPOOF}`));
    assert.deepEqual(fromSpoof, [], `Annex never logged ${SPOOF} as a sender`);
    console.log(`security: spoofed from ${SPOOF}: rewritten to alice's JID by Prosody's c2s, invalid-from stream error for a component`);
  });

  test("the metrics endpoint refuses what it does not serve", async () => {
    const cases: [string, string, string, number, string?][] = [
      ["GET /metrics", "GET", "/metrics", 200],
      ["GET /healthz", "GET", "/healthz", 200],
      ["POST /metrics with a body", "POST", "/metrics", 405, "x=1"],
      ["PUT /healthz", "PUT", "/healthz", 405, "{}"],
      ["DELETE /metrics", "DELETE", "/metrics", 405],
      ["GET an unknown path", "GET", "/admin", 404],
      ["GET a path escape", "GET", "/../etc/passwd", 404],
    ];
    for (const [what, method, path, status, body] of cases) {
      const r = await http(metricsPort, method, path, { body });
      assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
      for (const s of Object.values(secrets)) assert.ok(!r.body.includes(s), `${what}: the answer holds a secret`);
    }
    // Oversized request headers are refused by Node's HTTP parser on both endpoints (431).
    const huge = { "x-filler": "y".repeat(20_000) };
    assert.equal((await http(metricsPort, "GET", "/metrics", { headers: huge })).status, 431);
    assert.equal((await http(ingestPort, "POST", `/nodes/${NODE}/items`, { headers: { ...huge, authorization: `Bearer ${secrets.token}` }, body: "{}" })).status, 431);
    console.log(`security: metrics endpoint: ${cases.length + 1} requests answered as documented (it has no token: it binds to 127.0.0.1 by default)`);
  });

  test("secrets and tokens never appear in Annex's output, at debug level, nor when a secret is refused", async () => {
    const code = await annex.stop();
    assert.equal(code, 0);
    const output = annex.output;
    const debugLines = output.split("\n").filter((l) => l.includes('"level":20')).length;
    assert.ok(debugLines >= 1, `the log is at debug level (${debugLines} debug lines)`);
    // A second run whose secret the server refuses (exit 78): the rejected secret is not printed either.
    const wrong = secret("wrong");
    const refused = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "debug" },
      components: [{ type: "echo", domain: ECHO, secretFile: "echo.secret" }],
    }, { waitOnline: false, files: { "echo.secret": wrong } });
    cleanup.add(() => refused.stop());
    assert.equal(await within(refused.exited, 15_000), 78, refused.output);
    const all = [...Object.values(secrets), ...wrongTokens, wrong];
    const leaked = all.filter((s) => output.includes(s) || refused.output.includes(s));
    console.log(`security: ${all.length} secrets and tokens grepped in ${output.length + refused.output.length} bytes of debug output (${output.split("\n").length} lines, ${debugLines} at debug, + a refused start): ${leaked.length} found`);
    assert.deepEqual(leaked, [], "secrets in the logs");
  });
});
