import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import { ManagedEjabberdCluster } from "annex/testing";
import { AnnexProcess, byId, TestClient } from "./support.js";

const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/**
 * Two ejabberd 23.01 nodes in one Erlang cluster (ManagedEjabberdCluster): the echo component connects to node 2,
 * alice logs in on node 1, so every stanza between them crosses the cluster over Erlang distribution.
 */
describe("ejabberd cluster of two nodes: a client on node 1 reaches a component on node 2", () => {
  let cluster: ManagedEjabberdCluster;
  let annex: AnnexProcess;
  let alice: TestClient;

  before(async () => {
    cluster = await ManagedEjabberdCluster.start({
      nodes: 2,
      components: [{ domain: "echo.localhost", secret: "echo-secret" }],
      users: [{ username: "alice", password: "alice-pw" }],
    });
    annex = await AnnexProcess.start(
      {
        // A quick reconnect, for the last test's relaunch of node 2.
        server: { host: "127.0.0.1", port: cluster.nodes[1].componentPort, reconnect: { initialMs: 100, maxMs: 500 } },
        components: [{ type: "echo", domain: "echo.localhost", secretFile: "echo.secret" }],
      },
      { files: { "echo.secret": "echo-secret\n" } },
    );
    alice = await TestClient.connect(cluster.nodes[0], "alice", "alice-pw");
  });

  after(async () => {
    await alice?.stop();
    await annex?.stop();
    await cluster?.stop();
  });

  test("the nodes are one cluster: list_cluster on node 1 names both", async () => {
    assert.deepEqual((await cluster.listCluster()).sort(), cluster.nodes.map((n) => n.node).sort());
    assert.notEqual(cluster.nodes[0].c2sPort, cluster.nodes[1].c2sPort);
    assert.notEqual(cluster.nodes[0].componentPort, cluster.nodes[1].componentPort);
  });

  test("a chat message from node 1 is echoed by the component on node 2", async () => {
    await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "across-1" }, xml("body", {}, "über den Cluster ✓")));
    const reply = await alice.waitFor(byId("across-1"), 5000, "the echo across the cluster");
    assert.equal(reply.attrs.from, "echo.localhost");
    assert.equal(reply.attrs.to, alice.jid);
    assert.equal(reply.getChildText("body"), "über den Cluster ✓");
  });

  test("disco#info round trip across the cluster", async () => {
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "disco-across" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
    const reply = await alice.waitFor(byId("disco-across"));
    assert.equal(reply.attrs.type, "result");
    const query = reply.getChild("query", "http://jabber.org/protocol/disco#info");
    assert.deepEqual(query?.getChild("identity")?.attrs, { category: "component", type: "generic", name: "Echo" });
    assert.ok(query?.getChildren("feature").some((f) => f.attrs.var === "urn:xmpp:ping"));
  });

  // Last: it takes node 2 away.
  test("killNode(1) crashes node 2: node 1 drops it and answers for the lost component; relaunched, node 2 rejoins and echo is back", async () => {
    await cluster.killNode(1);
    const deadline = Date.now() + 10_000;
    let members = await cluster.listCluster();
    while (members.includes(cluster.nodes[1].node) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      members = await cluster.listCluster();
    }
    assert.deepEqual(members, [cluster.nodes[0].node]);
    // The component's route died with its node, so node 1 takes echo.localhost for a remote domain and would use
    // server-to-server, which this server's config denies (s2s_access: deny): the IQ comes back as forbidden
    // (RFC 6120 §8.3.3.4), proof that no route to node 2 is left.
    await alice.send(xml("iq", { to: "echo.localhost", type: "get", id: "ping-gone" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    const reply = await alice.waitFor(byId("ping-gone"), 5000, "the server's error for the lost component");
    assert.equal(reply.attrs.type, "error");
    assert.ok(reply.getChild("error")?.getChild("forbidden", STANZAS), reply.toString());

    // Relaunched, node 2 finds the cluster through its Mnesia schema by itself; Annex reconnects to it.
    await cluster.nodes[1].launch();
    assert.deepEqual((await cluster.listCluster()).sort(), cluster.nodes.map((n) => n.node).sort());
    const back = Date.now() + 10_000;
    for (let i = 0; ; i++) {
      await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: `back-${i}` }, xml("body", {}, "back?")));
      const answer = await alice.waitFor(byId(`back-${i}`), 1000, "an answer").catch(() => undefined);
      if (answer?.attrs.type === "chat") break;
      assert.ok(Date.now() < back, `echo not back within 10 s of node 2's relaunch; last answer: ${answer?.toString()}\n${annex.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
