import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { freePort, type ManagedServer, startServer } from "annex/testing";
import { prefillSqlite } from "./feed/prefill.js";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const FEED = "feed.localhost";
const SECRET = "feed-secret";
const TOKEN = "ingest-token-4f9a2c";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const OWNER = "http://jabber.org/protocol/pubsub#owner";
const ERRORS = "http://jabber.org/protocol/pubsub#errors";
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const RSM = "http://jabber.org/protocol/rsm";
const ITEMS = 10_000;
const PAGER = new URL("../../../test/integration/clients/feed_pager.py", import.meta.url).pathname;

const nodes = {
  big: { title: "Ten thousand", maxItems: 20_000, publishers: ["pub@localhost"], owners: ["admin@localhost"] },
  open: { publishers: ["pub@localhost"], owners: ["admin@localhost"] },
  members: { access: "whitelist", whitelist: ["bob@localhost"] },
  friends: { access: "service-presence" },
  private: { itemsRequireSubscription: true },
  live: { persistItems: false, publishers: ["pub@localhost"] },
  json: { publishers: ["pub@localhost"], payloadNamespace: "urn:xmpp:json:0" },
  capped: { publishers: ["pub@localhost"], maxItems: 1, whenFull: "reject" },
};

let seq = 0;
/** Sends an IQ to the feed and waits for its answer. */
async function iq(client: TestClient, type: "get" | "set", inner: Element | Element[], ns = PUBSUB): Promise<Element> {
  const id = `f${++seq}`;
  await client.send(xml("iq", { to: FEED, type, id }, xml("pubsub", { xmlns: ns }, ...[inner].flat())));
  return client.waitFor(byId(id), 10_000, `answer to ${id}`);
}

function assertWireError(reply: Element, type: string, condition: string, app?: string, feature?: string): void {
  assert.equal(reply.attrs.type, "error", reply.toString());
  assert.equal(reply.attrs.from, FEED);
  const error = reply.getChild("error")!;
  assert.equal(error.attrs.type, type, reply.toString());
  assert.ok(error.getChild(condition, STANZAS), `expected ${condition}: ${reply}`);
  if (app) {
    const appEl = error.getChild(app, ERRORS);
    assert.ok(appEl, `expected ${app}: ${reply}`);
    if (feature) assert.equal(appEl.attrs.feature, feature);
  }
}

const json = (v: unknown) => xml("json", { xmlns: "urn:xmpp:json:0" }, JSON.stringify(v));
const item = (payload: Element, id?: string) => xml("item", id ? { id } : {}, payload);

describeEachServer("feed against a real server", (kind) => {
  let prosody: ManagedServer;
  let annex: AnnexProcess;
  let dir: string;
  let httpPort: number;
  let alice: TestClient;
  let pub: TestClient;
  let admin: TestClient;
  let prefilled: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "feed-it-"));
    prefilled = await prefillSqlite(join(dir, "feed.sqlite"), "big", ITEMS);
    prosody = await startServer(kind, { components: [{ domain: FEED, secret: SECRET }], users: ["alice", "bob", "carol", "pub", "admin", "slix"].map((u) => ({ username: u, password: `${u}-pw` })) });
    httpPort = await freePort();
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "info" },
      components: [
        {
          type: "feed",
          domain: FEED,
          secret: SECRET,
          options: {
            storage: `sqlite:${join(dir, "feed.sqlite")}`,
            nodes,
            maxPageSize: 250,
            http: { port: httpPort, token: TOKEN },
            sources: [{ type: "ticker", node: "stock-data", intervalMs: 50, seed: 6 }],
          },
        },
      ],
    });
    [alice, pub, admin] = await Promise.all([
      TestClient.connect(prosody, "alice", "alice-pw"),
      TestClient.connect(prosody, "pub", "pub-pw"),
      TestClient.connect(prosody, "admin", "admin-pw"),
    ]);
  });

  after(async () => {
    await Promise.all([alice?.stop(), pub?.stop(), admin?.stop()]);
    const code = await annex?.stop();
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `annex should stop cleanly; output:\n${annex?.output}`);
    assert.ok(!annex.output.includes(TOKEN), "the ingest token must not be logged");
  });

  const ingest = (node: string, body: string, token = TOKEN) =>
    fetch(`http://127.0.0.1:${httpPort}/nodes/${node}/items`, { method: "POST", body, headers: { Authorization: `Bearer ${token}` } });

  test("slixmpp subscribes, pages 10 000 items forward and backward with RSM (no gap, no duplicate), gets the count and live notifications", async (t) => {
    const child = spawn("/usr/bin/python3", [PAGER, `127.0.0.1:${prosody.c2sPort}`, "slix@localhost/pager", "slix-pw", FEED, "big", "4", "250"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // Every line is queued as it arrives, so none is lost when the pager prints and exits quickly.
    const lines = createInterface({ input: child.stdout });
    const queue: Record<string, unknown>[] = [];
    const waiting: ((msg: Record<string, unknown>) => void)[] = [];
    lines.on("line", (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      const w = waiting.shift();
      if (w) w(msg);
      else queue.push(msg);
    });
    const closed = new Promise<void>((resolve) => lines.once("close", () => resolve()));
    const next = async (): Promise<Record<string, unknown>> => {
      const queued = queue.shift();
      if (queued) return queued;
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve)),
        closed.then(() => {
          const late = queue.shift();
          if (late) return late;
          throw new Error(`the pager ended without another line: ${stderr}`);
        }),
      ]);
    };
    const started = Date.now();
    const ready = (await next()) as { ready?: { rsm_feature: boolean; count: number; forward: string[]; backward: string[]; forward_pages: number; backward_pages: number; first_index_of_last_page: string }; error?: string };
    assert.ok(ready.ready, JSON.stringify(ready).slice(0, 500) + stderr);
    const r = ready.ready;
    t.diagnostic(`paged ${r.forward.length} forward in ${r.forward_pages} pages and ${r.backward.length} backward in ${r.backward_pages} pages, ${Date.now() - started} ms`);
    assert.equal(r.rsm_feature, true);
    assert.equal(r.count, ITEMS);
    assert.equal(r.forward.length, ITEMS);
    assert.equal(new Set(r.forward).size, ITEMS, "no duplicate forward");
    assert.deepEqual(r.forward, prefilled, "forward: every item once, in order");
    assert.deepEqual(r.backward, prefilled, "backward: every item once, in order");
    assert.equal(r.first_index_of_last_page, String(ITEMS - 250));

    // Live: the last item on subscribe, then three pushed through the HTTP ingest.
    const pushed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await ingest("big", JSON.stringify({ live: i }));
      assert.equal(res.status, 200);
      pushed.push(((await res.json()) as { id: string }).id);
    }
    const live = (await next()) as { live: { node: string; id: string; type: string; payload: string }[] };
    assert.deepEqual(live.live.map((l) => l.id), [prefilled.at(-1), ...pushed]);
    assert.ok(live.live.every((l) => l.type === "headline" && l.node === "big"));
    assert.equal(live.live[3]!.payload, '{"live":2}');
    assert.ok(pushed.every((id) => id > prefilled.at(-1)!), "generated ids keep sorting after the prefilled ones");
  });

  test("HTTP ingest: 401 for a bad token and 400 for malformed JSON publish nothing", async () => {
    const countOf = async () => {
      const reply = await iq(alice, "get", [xml("items", { node: "open" }), xml("set", { xmlns: RSM }, xml("max", {}, "0"))]);
      return Number(reply.getChild("pubsub", PUBSUB)!.getChild("set", RSM)!.getChildText("count"));
    };
    const before = await countOf();
    assert.equal((await ingest("open", '{"a":1}', "wrong")).status, 401);
    assert.equal((await ingest("open", "{oops")).status, 400);
    assert.equal(await countOf(), before);
    assert.equal((await ingest("open", '{"a":1}')).status, 200);
    assert.equal(await countOf(), before + 1);
  });

  test("a temporary subscription (directed presence) is gone within 1 s of the subscriber going offline", async (t) => {
    const carol = await TestClient.connect(prosody, "carol", "carol-pw", "web");
    await carol.send(xml("presence", { to: FEED }));
    const sub = await iq(carol, "set", xml("subscribe", { node: "open", jid: carol.jid }));
    assert.equal(sub.attrs.type, "result", sub.toString());
    const list = async () => {
      const reply = await iq(admin, "get", xml("subscriptions", { node: "open" }), OWNER);
      return reply.getChild("pubsub", OWNER)!.getChild("subscriptions")!.getChildren("subscription").map((s) => s.attrs.jid as string);
    };
    assert.ok((await list()).includes(carol.jid));
    await carol.stop();
    const offline = Date.now();
    let jids = await list();
    while (jids.includes(carol.jid) && Date.now() - offline < 1000) jids = await list();
    t.diagnostic(`subscription gone ${Date.now() - offline} ms after the client went offline`);
    assert.ok(!jids.includes(carol.jid), "the temporary subscription must be gone within 1 s");
  });

  test("the book's chapter 6 flow: presence, subscribe, fetch the latest history, chart live ticker values", async () => {
    const bob = await TestClient.connect(prosody, "bob", "bob-pw", "page");
    try {
      await bob.send(xml("presence", { to: FEED }));
      assert.equal((await iq(bob, "set", xml("subscribe", { node: "stock-data", jid: bob.jid }))).attrs.type, "result");
      const history = await iq(bob, "get", [xml("items", { node: "stock-data" }), xml("set", { xmlns: RSM }, xml("max", {}, "20"), xml("before"))]);
      const past = history.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item");
      assert.ok(past.length > 0, "the ticker has published");
      const lastSeen = past.at(-1)!.attrs.id as string;
      const isTick = (el: Element) => el.name === "message" && el.attrs.from === FEED && el.getChild("event")?.getChild("items")?.attrs.node === "stock-data";
      const newer = (el: Element) => isTick(el) && (el.getChild("event")!.getChild("items")!.getChild("item")!.attrs.id as string) > lastSeen;
      const tick = await bob.waitFor(newer, 5_000, "a live tick");
      assert.equal(tick.attrs.type, "headline");
      const value = JSON.parse(tick.getChild("event")!.getChild("items")!.getChild("item")!.getChildText("json", "urn:xmpp:json:0")!);
      assert.deepEqual(Object.keys(value), ["value", "change", "timestamp"]);
      assert.ok(value.value >= 0 && Math.abs(value.change) <= 10);
    } finally {
      await bob.stop();
    }
  });

  test("every row of the error table on the wire", async () => {
    assertWireError(await iq(alice, "set", xml("subscribe", { node: "nope", jid: alice.jid })), "cancel", "item-not-found");
    assertWireError(await iq(alice, "get", xml("items", { node: "nope" })), "cancel", "item-not-found");
    assertWireError(await iq(pub, "set", xml("publish", { node: "nope" }, item(json(1)))), "cancel", "item-not-found");
    assertWireError(await iq(alice, "set", xml("subscribe", { node: "open", jid: "bob@localhost" })), "modify", "bad-request", "invalid-jid");
    assertWireError(await iq(alice, "set", xml("publish", { node: "open" }, item(json(1)))), "auth", "forbidden");
    assertWireError(await iq(alice, "set", xml("purge", { node: "open" }), OWNER), "auth", "forbidden");
    assertWireError(await iq(alice, "set", xml("subscribe", { node: "friends", jid: alice.jid })), "auth", "not-authorized", "presence-subscription-required");
    assertWireError(await iq(alice, "set", xml("subscribe", { node: "members", jid: alice.jid })), "cancel", "not-allowed", "closed-node");
    assertWireError(await iq(alice, "get", xml("items", { node: "private" })), "auth", "not-authorized", "not-subscribed");
    assertWireError(await iq(alice, "set", xml("unsubscribe", { node: "open", jid: alice.jid })), "cancel", "unexpected-request", "not-subscribed");
    assertWireError(await iq(alice, "get", xml("items", { node: "live" })), "cancel", "feature-not-implemented", "unsupported", "persistent-items");
    assertWireError(await iq(pub, "set", xml("publish", { node: "open" }, item(json("x".repeat(70_000))))), "modify", "not-acceptable", "payload-too-big");
    assertWireError(await iq(pub, "set", xml("publish", { node: "open" }, item(json(1)), item(json(2)))), "modify", "bad-request", "invalid-payload");
    assertWireError(await iq(pub, "set", xml("publish", { node: "json" }, item(xml("x", { xmlns: "urn:other" })))), "modify", "bad-request", "invalid-payload");
    const options = xml(
      "publish-options",
      {},
      xml(
        "x",
        { xmlns: "jabber:x:data", type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, `${PUBSUB}#publish-options`)),
        xml("field", { var: "pubsub#access_model" }, xml("value", {}, "whitelist")),
      ),
    );
    assertWireError(await iq(pub, "set", [xml("publish", { node: "open" }, item(json(1))), options]), "cancel", "conflict", "precondition-not-met");
    assert.equal((await iq(pub, "set", xml("publish", { node: "capped" }, item(json(1), "a")))).attrs.type, "result");
    assertWireError(await iq(pub, "set", xml("publish", { node: "capped" }, item(json(2), "b"))), "cancel", "conflict", "node-full");
    const none = await iq(alice, "get", xml("items", { node: "open" }, xml("item", { id: "no-such-id" })));
    assert.equal(none.attrs.type, "result");
    assert.deepEqual(none.getChild("pubsub", PUBSUB)!.getChild("items")!.getChildren("item"), []);
    // XEP-0060 §8.1.3.1: only the feed's admins may create nodes (createNodes: "admins", the default).
    assertWireError(await iq(alice, "set", xml("create", { node: "new" })), "auth", "forbidden");
    // §6.2.3.3: unsubscribing someone else.
    assertWireError(await iq(alice, "set", xml("unsubscribe", { node: "open", jid: "bob@localhost" })), "auth", "forbidden");
    assertWireError(await iq(alice, "get", [xml("items", { node: "big" }), xml("set", { xmlns: RSM }, xml("after", {}, "trimmed-or-unknown"))]), "cancel", "item-not-found");
  });
});
