import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { xml } from "@xmpp/client";
import type { Element } from "annex";
import { type ManagedServer, startServer } from "annex/testing";
import { AnnexProcess, byId, describeEachServer, TestClient } from "./support.js";

const execFileAsync = promisify(execFile);
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const COMMANDS = "http://jabber.org/protocol/commands";
const PUBSUB = "http://jabber.org/protocol/pubsub";
const DIRECTORY = "directory.localhost";

describeEachServer("disco directory against a real server", (kind) => {
  let prosody: ManagedServer;
  let annex: AnnexProcess;
  let alice: TestClient;
  let admin: TestClient;
  let seq = 0;

  /** Sends an IQ and waits for its one answer. */
  async function iq(client: TestClient, to: string, type: "get" | "set", payload: Element): Promise<Element> {
    const id = `q${++seq}`;
    await client.send(xml("iq", { to, type, id }, payload));
    return client.waitFor(byId(id), 10_000, `the answer to ${id}`);
  }

  async function items(client: TestClient, to: string, node?: string): Promise<[string, string | undefined, string | undefined][]> {
    const reply = await iq(client, to, "get", xml("query", { xmlns: DISCO_ITEMS, node }));
    assert.equal(reply.attrs.type, "result", reply.toString());
    return reply.getChild("query", DISCO_ITEMS)!.getChildren("item").map((i) => [i.attrs.jid, i.attrs.node, i.attrs.name]);
  }

  /** Sends a chat line to the directory and waits for its answer. */
  async function say(client: TestClient, body: string): Promise<string> {
    const id = `m${++seq}`;
    await client.send(xml("message", { to: DIRECTORY, type: "chat", id }, xml("body", {}, body)));
    const reply = await client.waitFor((el) => el.name === "message" && el.attrs.id === id, 10_000, `the answer to "${body}"`);
    return reply.getChildText("body") ?? "";
  }

  const refresh = (client: TestClient) => iq(client, DIRECTORY, "set", xml("command", { xmlns: COMMANDS, node: "refresh", action: "execute" }));

  before(async () => {
    prosody = await startServer(kind, {
      components: [
        { domain: "echo.localhost", secret: "echo-secret" },
        { domain: DIRECTORY, secret: "directory-secret" },
        // Configured, but nobody ever connects: Prosody lists it and bounces what is sent to it.
        { domain: "ghost.localhost", secret: "ghost-secret" },
      ],
      users: [
        { username: "alice", password: "alice-pw" },
        { username: "admin", password: "admin-pw" },
      ],
      admins: ["admin@localhost"],
      pubsub: { service: "pubsub.localhost" },
      muc: { service: "conference.localhost" },
      // An item in the server's disco#items naming a remote domain, which this server (s2s off) cannot reach.
      discoItems: [{ jid: "elsewhere.example", name: "Elsewhere" }],
    });
    annex = await AnnexProcess.start({
      server: { host: "127.0.0.1", port: prosody.componentPort },
      log: { level: "debug" },
      components: [
        { type: "echo", domain: "echo.localhost", secret: "echo-secret" },
        { type: "disco", domain: DIRECTORY, secret: "directory-secret", options: { admins: ["admin@localhost"], queryTimeoutMs: 3000 } },
      ],
    });
    alice = await TestClient.connect(prosody, "alice", "alice-pw");
    admin = await TestClient.connect(prosody, "admin", "admin-pw");
    // A pubsub node, so the crawl has a node to describe under pubsub.localhost.
    const created = await iq(admin, "pubsub.localhost", "set", xml("pubsub", { xmlns: PUBSUB }, xml("create", { node: "princely_musings" })));
    assert.equal(created.attrs.type, "result", created.toString());
    // The first crawl may have run before echo was online: crawl again now that everything is up.
    assert.equal((await refresh(admin)).attrs.type, "result");
  });

  after(async () => {
    await alice?.stop();
    await admin?.stop();
    const code = await annex?.stop();
    await prosody?.stop();
    assert.equal(code, 0, `annex should stop cleanly; output:\n${annex?.output}`);
  });

  test("disco#items on the directory lists the hosted components and everything the server offers", async () => {
    const root = await items(alice, DIRECTORY);
    const jids = root.filter(([, node]) => node === undefined).map(([jid]) => jid);
    for (const jid of ["localhost", "echo.localhost", "pubsub.localhost", "conference.localhost", "elsewhere.example"]) assert.ok(jids.includes(jid), `${jid} in ${jids}`);
    // Prosody lists every configured Component; ejabberd routes (and lists) an ejabberd_service host only while connected.
    assert.equal(jids.includes("ghost.localhost"), kind === "prosody", `ghost.localhost listed on ${kind}: ${jids}`);
    assert.deepEqual(
      root.filter(([, node]) => node !== undefined).map(([, node]) => node),
      ["services", "hosted", "features", "unreachable"],
    );
    assert.deepEqual((await items(alice, DIRECTORY, "hosted")).map(([jid]) => jid), [DIRECTORY, "echo.localhost"]);
    const services = await items(alice, DIRECTORY, "services");
    assert.ok(services.some(([jid, node]) => jid === "pubsub.localhost" && node === "princely_musings"), JSON.stringify(services));
  });

  test("identities and features of every entity show through the chat list and the feature nodes", async () => {
    const list = await say(alice, "list");
    assert.ok(list.includes("• echo.localhost — Echo [component/generic]"), list);
    assert.match(list, /• pubsub\.localhost — .*\[pubsub\/service\]/);
    assert.match(list, /• conference\.localhost — .*\[conference\/text\]/);
    // The server's first identity: Prosody's server/im; ejabberd lists its PEP service (pubsub/pep) first.
    assert.match(list, kind === "prosody" ? /• localhost — Prosody \[server\/im\]/ : /• localhost — ejabberd \[pubsub\/pep\]/);
    assert.match(list, /– pubsub\.localhost node "princely_musings" — .*\[pubsub\/leaf\]/);
    const offering = async (feature: string) => (await items(alice, DIRECTORY, `features/${feature}`)).map(([jid, node]) => (node ? `${jid}#${node}` : jid));
    assert.ok((await offering(PUBSUB)).includes("pubsub.localhost"));
    assert.ok((await offering("http://jabber.org/protocol/muc")).includes("conference.localhost"));
    const ping = await offering("urn:xmpp:ping");
    for (const jid of ["echo.localhost", DIRECTORY, "localhost"]) assert.ok(ping.includes(jid), `${jid} offers ping: ${ping}`);
  });

  test("disco#info on the directory carries the XEP-0128 crawl form", async () => {
    const reply = await iq(alice, DIRECTORY, "get", xml("query", { xmlns: DISCO_INFO }));
    const query = reply.getChild("query", DISCO_INFO)!;
    assert.ok(query.getChildren("feature").some((f) => f.attrs.var === COMMANDS));
    const form = query.getChild("x", "jabber:x:data")!;
    const value = (v: string) => form.getChildren("field").find((f) => f.attrs.var === v)?.getChildText("value");
    assert.equal(value("FORM_TYPE"), "urn:annex:directory:0");
    assert.ok(!Number.isNaN(Date.parse(value("crawled-at") ?? "")));
    assert.ok(Number(value("entities")) >= (kind === "prosody" ? 7 : 6), value("entities") ?? "");
    assert.equal(value("hosted"), "2");
  });

  test("an unreachable item is reported with its error, not dropped", async () => {
    const unreachable = await items(alice, DIRECTORY, "unreachable");
    if (kind === "prosody") {
      assert.deepEqual(unreachable.map(([jid]) => jid), ["elsewhere.example", "ghost.localhost"]);
      assert.match(unreachable[0]![2] ?? "", /^Elsewhere: not-allowed/);
      assert.match(unreachable[1]![2] ?? "", /^ghost\.localhost: remote-server-timeout/);
      assert.match(await say(alice, "list"), /• ghost\.localhost — UNREACHABLE: remote-server-timeout/);
      assert.match(await say(alice, "info ghost.localhost"), /^ghost\.localhost did not answer disco#info: remote-server-timeout/);
    } else {
      // ejabberd: extra_domains items carry no name, s2s_access denies the remote domain; the unconnected
      // component domain is not listed, and asking it is refused the same way (s2s) as for any unknown domain.
      assert.deepEqual(unreachable.map(([jid]) => jid), ["elsewhere.example"]);
      assert.match(unreachable[0]![2] ?? "", /^elsewhere\.example: forbidden: Access denied by service policy/);
      assert.match(await say(alice, "info ghost.localhost"), /^ghost\.localhost did not answer disco#info: forbidden: Access denied by service policy/);
    }
  });

  test("a real client (slixmpp) walks the node tree", async () => {
    const script = new URL("../../../test/integration/clients/disco_walk.py", import.meta.url).pathname;
    const { stdout } = await execFileAsync("/usr/bin/python3", [script, `127.0.0.1:${prosody.c2sPort}`, "alice@localhost", "alice-pw", DIRECTORY, "60"], { timeout: 40_000 });
    const walk = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      root: [string, string | null, string | null][];
      nodes: Record<string, { identities?: [string, string, string | null][]; items?: [string, string | null, string | null][]; error?: string }>;
    };
    assert.ok(walk.root.some(([jid]) => jid === "echo.localhost"));
    for (const node of ["services", "hosted", "features", "unreachable", `features/${PUBSUB}`, "features/urn:xmpp:ping"]) {
      const entry = walk.nodes[node];
      assert.ok(entry && !entry.error, `${node}: ${JSON.stringify(entry)}`);
      assert.equal(entry.identities?.[0]?.[0], "hierarchy");
    }
    assert.ok(walk.nodes[`features/${PUBSUB}`]!.items!.some(([jid]) => jid === "pubsub.localhost"));
    assert.ok(walk.nodes.hosted!.items!.some(([jid]) => jid === "echo.localhost"));
  });

  test("the chat commands answer in plain text", async () => {
    assert.match(await say(alice, "help"), /^I am a service directory for localhost\. Commands:/);
    const info = await say(alice, "info echo.localhost");
    assert.ok(info.startsWith("echo.localhost:\nIdentities (1):\n  • Echo [component/generic]\nFeatures ("), info);
    assert.ok(info.includes("urn:xmpp:ping (XEP-0199: XMPP Ping)"), info);
    const pubsubInfo = await say(alice, "info pubsub.localhost princely_musings");
    assert.ok(pubsubInfo.startsWith('pubsub.localhost node "princely_musings":'), pubsubInfo);
    assert.match(await say(alice, "items pubsub.localhost"), /^Items of pubsub\.localhost \(1\):\n {2}• pubsub\.localhost node "princely_musings"/);
    const malformed = await say(alice, "info");
    assert.ok(malformed.startsWith('"info" needs a JID'), malformed);
    assert.ok(malformed.includes("I am a service directory"), malformed);
  });

  test("the ad-hoc refresh is listed, works for an admin and is forbidden for another user", async () => {
    assert.deepEqual(await items(alice, DIRECTORY, COMMANDS), [[DIRECTORY, "refresh", "Refresh the directory"]]);
    const done = await refresh(admin);
    const command = done.getChild("command", COMMANDS);
    assert.equal(command?.attrs.status, "completed", done.toString());
    assert.match(command?.getChildText("note") ?? "", new RegExp(`^Refreshed in \\d+ ms: \\d+ entities, ${kind === "prosody" ? 2 : 1} unreachable\\.`));
    const refused = await refresh(alice);
    assert.equal(refused.attrs.type, "error");
    assert.ok(refused.getChild("error")?.getChild("forbidden", STANZAS), refused.toString());
  });

  test("an unknown node of the directory is item-not-found", async () => {
    for (const xmlns of [DISCO_INFO, DISCO_ITEMS]) {
      const reply = await iq(alice, DIRECTORY, "get", xml("query", { xmlns, node: "no-such-node" }));
      assert.equal(reply.attrs.type, "error");
      assert.ok(reply.getChild("error")?.getChild("item-not-found", STANZAS), reply.toString());
    }
  });
});
