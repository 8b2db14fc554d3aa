import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { freePort, ManagedEjabberd, ManagedEjabberdCluster, ManagedPostgres, type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, byId, SERVERS, TestClient } from "./support.js";

// Issue 17 items 2-3: three feed processes for one domain on one PostgreSQL (`standby`: one serves, the others
// wait for the domain's lease). Under 4 Hz publishing (XMPP to the domain, and the HTTP ingest of whichever
// process answers, as a load balancer would) the active process is killed with -9, twice. Each time a standby
// serves within 10 s, no acknowledged item is lost (a subscriber pages back with RSM), every subscriber is still
// subscribed, live notifications resume, and every subscriber got every acknowledged item exactly once.
// FEED_STANDBY_SUBSCRIBERS sets the subscriber count (default 10; the 100 is run by hand, see the feed README).

const FEED = "feed.localhost";
const SECRET = "feed-standby-secret";
const TOKEN = "standby-ingest-token";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const EVENT = "http://jabber.org/protocol/pubsub#event";
const RSM = "http://jabber.org/protocol/rsm";
const SUBSCRIBERS = Number(process.env.FEED_STANDBY_SUBSCRIBERS ?? 10);
const PROCESSES = 3;
const PUBLISH_EVERY_MS = 250;

let postgres: ManagedPostgres;
before(async () => {
  postgres = await ManagedPostgres.start();
});
after(async () => {
  await postgres?.stop();
});

/** Where clients log in and where the feed processes connect (the same server, or two nodes of a cluster). */
interface Target {
  clients: Pick<ManagedServer, "c2sPort" | "host">;
  componentPort: number;
  stop(): Promise<void>;
}

const users = [{ username: "pub", password: "pub-pw" }, ...Array.from({ length: SUBSCRIBERS }, (_, i) => ({ username: `s${i}`, password: `s${i}-pw` }))];
const components = [{ domain: FEED, secret: SECRET }];

// In `make test`: Prosody and the two-node ejabberd cluster (issue 17 item 5); a single ejabberd node too with
// FEED_STANDBY_ALL=1 (it adds ~30 s, and the cluster covers ejabberd's side of the takeover).
const kinds = SERVERS.filter((kind) => kind === "prosody" || process.env.FEED_STANDBY_ALL === "1");
const targets: [string, () => Promise<Target>][] = kinds.map((kind) => [
  kind,
  async () => {
    // ejabberd registers accounts one ejabberdctl (one Erlang VM) each: ten at a time, not a hundred at once.
    const server = await startServer(kind, { components, users: kind === "ejabberd" ? [] : users });
    try {
      if (server instanceof ManagedEjabberd) for (let i = 0; i < users.length; i += 10) await Promise.all(users.slice(i, i + 10).map((u) => server.register(u.username, u.password)));
    } catch (err) {
      await server.stop();
      throw err;
    }
    return { clients: server, componentPort: server.componentPort, stop: () => server.stop() };
  },
]);
if (SERVERS.includes("ejabberd")) {
  targets.push([
    "ejabberd cluster: clients on node 1, feed processes on node 2",
    async () => {
      const cluster = await ManagedEjabberdCluster.start({ nodes: 2, components, users });
      return { clients: cluster.nodes[0], componentPort: cluster.nodes[1].componentPort, stop: () => cluster.stop() };
    },
  ]);
}

let seq = 0;
async function iq(client: TestClient, type: "get" | "set", inner: Element | Element[], timeoutMs = 10_000): Promise<Element> {
  const id = `sb${++seq}`;
  await client.send(xml("iq", { to: FEED, type, id }, xml("pubsub", { xmlns: PUBSUB }, ...[inner].flat())));
  return client.waitFor(byId(id), timeoutMs, `answer to ${id}`);
}

for (const [name, startTarget] of targets) {
  describe(`[${name}] feed standby: kill -9 of the active process under 4 Hz publishing, ${SUBSCRIBERS} subscribers`, () => {
    let target: Target;
    let url: string;
    const processes: AnnexProcess[] = [];
    const httpPorts: number[] = [];
    let pub: TestClient;
    let subscribers: TestClient[] = [];

    before(async () => {
      target = await startTarget();
      url = await postgres.createDatabase("feedstandby");
    });
    after(async () => {
      await Promise.all([pub?.stop(), ...subscribers.map((s) => s.stop())]);
      for (const p of processes) p.child.kill("SIGKILL");
      await target?.stop();
    });

    test("a standby serves within 10 s, nothing acknowledged is lost, every subscriber stays subscribed and gets each item exactly once", async (t) => {
      const config = async () => {
        const port = await freePort();
        httpPorts.push(port);
        return {
          server: { host: "127.0.0.1", port: target.componentPort, reconnect: { initialMs: 50, maxMs: 500 } },
          log: { level: "info" },
          components: [
            {
              type: "feed",
              domain: FEED,
              secret: SECRET,
              standby: { postgres: url, retryMs: 200 },
              options: { storage: url, maxPageSize: 500, http: { port, token: TOKEN }, nodes: { ticks: { publishers: ["pub@localhost"], maxItems: 5_000 } } },
            },
          ],
        };
      };
      const active = () => processes.find((p) => p.child.exitCode === null && p.child.signalCode === null && /lease on feed\.localhost acquired/.test(p.output));
      processes.push(await AnnexProcess.start(await config(), { waitOnline: false }));
      await processes[0]!.waitForOutput(/"msg":"online"/, 15_000);
      for (let i = 1; i < PROCESSES; i++) processes.push(await AnnexProcess.start(await config(), { waitOnline: false }));
      for (const p of processes.slice(1)) await p.waitForOutput(/another process holds the lease on feed\.localhost/, 15_000);

      pub = await TestClient.connect(target.clients, "pub", "pub-pw");
      // Ten logins at a time: a hundred SCRAM handshakes at once overload a shared two-core machine.
      for (let i = 0; i < SUBSCRIBERS; i += 10) {
        subscribers.push(...(await Promise.all(Array.from({ length: Math.min(10, SUBSCRIBERS - i) }, (_, j) => TestClient.connect(target.clients, `s${i + j}`, `s${i + j}-pw`)))));
      }
      // Persistent subscriptions of the full JID (no directed presence, so not temporary): they must survive the takeovers.
      for (const s of subscribers) {
        const reply = await iq(s, "set", xml("subscribe", { node: "ticks", jid: s.jid }));
        assert.equal(reply.attrs.type, "result", reply.toString());
      }

      /** Acknowledged publishes: when each was sent and answered. */
      const acked: { id: string; sent: number; at: number; via: string }[] = [];
      let stop = false;
      let n = 0;
      const publishOnce = async () => {
        const k = ++n;
        const sent = Date.now();
        if (k % 2 === 0) {
          // The HTTP ingest of whichever process serves it (only the active one listens: a standby starts nothing).
          for (const port of httpPorts) {
            try {
              const res = await fetch(`http://127.0.0.1:${port}/nodes/ticks/items`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ k }), signal: AbortSignal.timeout(2_000) });
              if (res.status !== 200) continue;
              acked.push({ id: ((await res.json()) as { id: string }).id, sent, at: Date.now(), via: `http:${port}` });
              return;
            } catch {
              // not this one
            }
          }
          return;
        }
        try {
          const reply = await iq(pub, "set", xml("publish", { node: "ticks" }, xml("item", {}, xml("json", { xmlns: "urn:xmpp:json:0" }, JSON.stringify({ k })))), 2_000);
          if (reply.attrs.type === "result") acked.push({ id: reply.getChild("pubsub", PUBSUB)!.getChild("publish")!.getChild("item")!.attrs.id as string, sent, at: Date.now(), via: "xmpp" });
        } catch {
          // no answer while nobody serves the domain: not acknowledged
        }
      };
      const publisher = (async () => {
        while (!stop) {
          const next = Date.now() + PUBLISH_EVERY_MS;
          await publishOnce();
          await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
        }
      })();

      const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const takeovers: number[] = [];
      try {
        await wait(2_000);
        for (let kill = 0; kill < PROCESSES - 1; kill++) {
          const victim = active();
          assert.ok(victim, "one process serves");
          const killedAt = Date.now();
          victim.child.kill("SIGKILL");
          await victim.exited;
          const exitedAt = Date.now();
          // Served again: a publish sent after the killed process was gone got its result.
          const servedAgain = () => acked.find((a) => a.sent >= exitedAt);
          while (!servedAgain()) {
            assert.ok(Date.now() - killedAt < 10_000, `no publish acknowledged within 10 s of kill -9 #${kill + 1}`);
            await wait(20);
          }
          takeovers.push(servedAgain()!.at - killedAt);
          await wait(2_000);
        }
      } finally {
        stop = true;
        await publisher;
      }
      await wait(1_000);
      const lastTakeover = Math.max(...acked.map((a) => a.at)) - 2_000;

      // 0 acknowledged items lost: page back through everything with RSM.
      const stored = new Set<string>();
      let afterId: string | undefined;
      for (let page = 0; page < 50; page++) {
        const reply = await iq(subscribers[0]!, "get", [xml("items", { node: "ticks" }), xml("set", { xmlns: RSM }, xml("max", {}, "500"), afterId ? xml("after", {}, afterId) : null)]);
        assert.equal(reply.attrs.type, "result", reply.toString());
        const ids = reply.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item").map((i) => i.attrs.id as string);
        if (ids.length === 0) break;
        for (const id of ids) stored.add(id);
        afterId = ids.at(-1);
      }
      const lost = acked.filter((a) => !stored.has(a.id));

      // Every subscriber still subscribed, and its notifications: each acknowledged item once.
      let duplicates = 0;
      let missing = 0;
      let resumed = 0;
      for (const [i, s] of subscribers.entries()) {
        const list = await iq(s, "get", xml("subscriptions", { node: "ticks" }));
        assert.deepEqual(
          list.getChild("pubsub", PUBSUB)!.getChild("subscriptions")!.getChildren("subscription").map((x) => x.attrs.subscription),
          ["subscribed"],
          `s${i} is still subscribed: ${list}`,
        );
        const got = s.received
          .filter((m) => m.name === "message" && m.getChild("event", EVENT))
          .flatMap((m) => m.getChild("event", EVENT)!.getChild("items")?.getChildren("item").map((x) => x.attrs.id as string) ?? []);
        const unique = new Set(got);
        duplicates += got.length - unique.size;
        missing += acked.filter((a) => !unique.has(a.id)).length;
        if (acked.some((a) => a.at > lastTakeover && unique.has(a.id))) resumed++;
      }
      const roundTrips = acked.filter((a) => a.via === "xmpp").map((a) => a.at - a.sent).sort((x, y) => x - y);
      const summary = `[${name}] ${SUBSCRIBERS} subscribers, XMPP publish round trip median ${roundTrips[roundTrips.length >> 1]} ms, ${acked.length} acknowledged (${acked.filter((a) => a.via === "xmpp").length} XMPP, ${acked.filter((a) => a.via !== "xmpp").length} HTTP), takeovers after kill -9: ${takeovers.join(" ms, ")} ms; lost ${lost.length}; notifications: ${duplicates} duplicates, ${missing} missing over ${SUBSCRIBERS * acked.length} expected; live notifications resumed for ${resumed}/${SUBSCRIBERS}`;
      t.diagnostic(summary);
      console.log(summary);
      assert.deepEqual(lost, [], "acknowledged items lost");
      assert.equal(resumed, SUBSCRIBERS, "live notifications resume for every subscriber");
      // The one documented window (components/feed/README.md, "Several processes"): an item fanned out less than
      // one PostgreSQL round trip before the kill, whose notified mark was not yet written, is notified again by
      // the successor. At most one such item per takeover; anything more is a bug.
      assert.ok(duplicates <= (PROCESSES - 1) * SUBSCRIBERS, `${duplicates} duplicate notifications`);
      assert.equal(missing, 0, "missing notifications");
      for (const ms of takeovers) assert.ok(ms < 10_000);
    });
  });
}
