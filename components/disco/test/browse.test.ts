import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Element, formValues, NS, parseForm } from "annex";
import { NS_DIRECTORY } from "../browse.js";
import { QUERY_TIMEOUT_MS, rig, USER } from "./setup.js";

const STANZAS = NS.stanzas;

async function ask(r: ReturnType<typeof rig>, kind: "info" | "items", node?: string): Promise<Element> {
  const ns = kind === "info" ? NS.discoInfo : NS.discoItems;
  const nodeAttr = node === undefined ? "" : ` node='${node}'`;
  // The first query waits for the first crawl, whose requests are sent while it is handled: pick the reply.
  const sent = await r.h.inject(`<iq type='get' id='q' from='${USER}' to='directory.localhost'><query xmlns='${ns}'${nodeAttr}/></iq>`);
  const replies = sent.filter((s) => s.attrs.id === "q" && s.attrs.to === USER);
  assert.equal(replies.length, 1, "exactly one reply");
  return replies[0]!;
}

const items = (reply: Element) => reply.getChild("query")!.getChildren("item").map((i) => [i.attrs.jid, i.attrs.node, i.attrs.name]);

describe("directory disco", () => {
  test("disco#items on the domain lists every entity found and the branches to browse", async (t) => {
    const r = rig(t);
    const reply = await ask(r, "items");
    await r.net.stop();
    assert.equal(reply.attrs.type, "result");
    assert.deepEqual(items(reply), [
      ["conference.localhost", undefined, "Chatrooms"],
      ["ghost.localhost", undefined, undefined],
      ["localhost", undefined, "Prosody"],
      ["pubsub.localhost", undefined, "Prosody PubSub Service"],
      ["sibling.localhost", undefined, "Sibling"],
      ["silent.localhost", undefined, undefined],
      ["directory.localhost", "services", "All services"],
      ["directory.localhost", "hosted", "Hosted by this Annex process"],
      ["directory.localhost", "features", "By feature"],
      ["directory.localhost", "unreachable", "Unreachable"],
    ]);
  });

  test("disco#info on the domain has its identity, the commands feature and a XEP-0128 form with the crawl's numbers", async (t) => {
    const r = rig(t);
    const snapshot = await r.cache.refresh();
    const reply = await ask(r, "info");
    await r.net.stop();
    const query = reply.getChild("query", NS.discoInfo)!;
    assert.deepEqual(query.getChild("identity")?.attrs, { category: "component", type: "generic", name: "Service directory" });
    const features = query.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features.includes("http://jabber.org/protocol/commands"));
    const forms = query.getChildren("x", NS.dataForms);
    assert.equal(forms.length, 1);
    assert.equal(forms[0]!.attrs.type, "result");
    const values = formValues(parseForm(forms[0]!));
    assert.deepEqual(values, {
      FORM_TYPE: [NS_DIRECTORY],
      servers: ["localhost"],
      "crawled-at": [snapshot.crawledAt.toISOString()],
      "crawl-duration-ms": [String(snapshot.durationMs)],
      entities: ["9"],
      hosted: ["2"],
      unreachable: ["2"],
      features: [String(new Set(snapshot.entities.flatMap((e) => e.features)).size)],
    });
  });

  test("node services lists every entity, nodes included; hosted and unreachable list theirs", async (t) => {
    const r = rig(t);
    const services = await ask(r, "items", "services");
    const hosted = await ask(r, "items", "hosted");
    const unreachable = await ask(r, "items", "unreachable");
    await r.net.stop();
    assert.equal(services.getChild("query")?.attrs.node, "services");
    assert.ok(items(services).some(([jid, node, name]) => jid === "pubsub.localhost" && node === "stocks" && name === "Stock ticker"));
    assert.equal(items(services).length, 9);
    assert.deepEqual(items(hosted).map(([jid]) => jid), ["directory.localhost", "sibling.localhost"]);
    assert.deepEqual(items(unreachable), [
      ["ghost.localhost", undefined, "ghost.localhost: remote-server-timeout: Component unavailable"],
      ["silent.localhost", undefined, `silent.localhost: timeout: no reply from silent.localhost within ${QUERY_TIMEOUT_MS} ms`],
    ]);
  });

  test("node features lists each feature with its XEP; features/<var> lists who offers it", async (t) => {
    const r = rig(t);
    const features = await ask(r, "items", "features");
    const pubsub = await ask(r, "items", "features/http://jabber.org/protocol/pubsub");
    const info = await ask(r, "info", "features/http://jabber.org/protocol/pubsub");
    await r.net.stop();
    assert.ok(
      items(features).some(([jid, node, name]) => jid === "directory.localhost" && node === "features/urn:xmpp:ping" && name === "urn:xmpp:ping (XEP-0199: XMPP Ping)"),
      JSON.stringify(items(features)),
    );
    assert.deepEqual(items(pubsub), [
      ["pubsub.localhost", undefined, "Prosody PubSub Service"],
      ["pubsub.localhost", "stocks", "Stock ticker"],
    ]);
    const query = info.getChild("query", NS.discoInfo)!;
    assert.equal(query.attrs.node, "features/http://jabber.org/protocol/pubsub");
    assert.deepEqual(query.getChild("identity")?.attrs, { category: "hierarchy", type: "branch", name: "Offering http://jabber.org/protocol/pubsub (XEP-0060: Publish-Subscribe)" });
  });

  test("disco#info on each branch node is a hierarchy branch that has items", async (t) => {
    const r = rig(t);
    for (const node of ["services", "hosted", "features", "unreachable"]) {
      const query = (await ask(r, "info", node)).getChild("query", NS.discoInfo)!;
      assert.equal(query.attrs.node, node);
      assert.equal(query.getChild("identity")?.attrs.category, "hierarchy");
      assert.deepEqual(query.getChildren("feature").map((f) => f.attrs.var), [NS.discoInfo, NS.discoItems]);
    }
    await r.net.stop();
  });

  for (const node of ["nonsense", "features/", "features/urn:nobody:offers-this", "services/extra"]) {
    test(`an unknown node (${node}) is item-not-found for info and items`, async (t) => {
      const r = rig(t);
      for (const kind of ["info", "items"] as const) {
        const reply = await ask(r, kind, node);
        assert.equal(reply.attrs.type, "error", `${kind} ${node}`);
        assert.ok(reply.getChild("error")?.getChild("item-not-found", STANZAS), reply.toString());
      }
      await r.net.stop();
    });
  }
});
