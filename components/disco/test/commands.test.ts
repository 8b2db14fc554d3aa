import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Element, NS } from "annex";
import { createHarness } from "annex/testing";
import { Directory } from "../directory.js";
import { ADMIN, rig, USER } from "./setup.js";

const COMMANDS = "http://jabber.org/protocol/commands";

async function iq(r: ReturnType<typeof rig>, from: string, payload: string, type = "get"): Promise<Element> {
  const sent = await r.h.inject(`<iq type='${type}' id='c' from='${from}' to='directory.localhost'>${payload}</iq>`);
  const replies = sent.filter((s) => s.attrs.id === "c" && s.attrs.to === from);
  assert.equal(replies.length, 1, "exactly one reply");
  return replies[0]!;
}

const execute = (node: string, attrs = "") => `<command xmlns='${COMMANDS}' node='${node}' ${attrs}/>`;

function assertError(reply: Element, condition: string, application?: string): void {
  assert.equal(reply.attrs.type, "error", reply.toString());
  const error = reply.getChild("error")!;
  assert.ok(error.getChild(condition, NS.stanzas), reply.toString());
  if (application) assert.ok(error.getChild(application, COMMANDS), reply.toString());
}

describe("directory ad-hoc command refresh", () => {
  test("is listed in the commands node and described (XEP-0050 §2.2)", async (t) => {
    const r = rig(t);
    const items = await iq(r, USER, `<query xmlns='${NS.discoItems}' node='${COMMANDS}'/>`);
    assert.deepEqual(items.getChild("query")?.getChildren("item").map((i) => i.attrs), [{ jid: "directory.localhost", node: "refresh", name: "Refresh the directory" }]);
    const list = await iq(r, USER, `<query xmlns='${NS.discoInfo}' node='${COMMANDS}'/>`);
    assert.deepEqual(list.getChild("query")?.getChild("identity")?.attrs, { category: "automation", type: "command-list", name: "Commands" });
    const node = await iq(r, USER, `<query xmlns='${NS.discoInfo}' node='refresh'/>`);
    assert.deepEqual(node.getChild("query")?.getChild("identity")?.attrs, { category: "automation", type: "command-node", name: "Refresh the directory" });
    assert.deepEqual(node.getChild("query")?.getChildren("feature").map((f) => f.attrs.var), [COMMANDS]);
  });

  test("an admin's refresh crawls again and reports what changed", async (t) => {
    const r = rig(t);
    await r.cache.refresh();
    r.net.set("ghost.localhost", { info: `<identity category='component' type='generic' name='Ghost'/>`, items: "" });
    const before = r.net.asked.filter((a) => a === "items localhost").length;
    const reply = await iq(r, ADMIN, execute("refresh", "action='execute'"), "set");
    assert.equal(reply.attrs.type, "result", reply.toString());
    const command = reply.getChild("command", COMMANDS)!;
    assert.equal(command.attrs.node, "refresh");
    assert.equal(command.attrs.status, "completed");
    assert.ok(command.attrs.sessionid);
    assert.match(command.getChildText("note") ?? "", /^Refreshed in \d+ ms: 9 entities, 1 unreachable\. Added 0, removed 0, changed 1\.$/);
    assert.equal(r.net.asked.filter((a) => a === "items localhost").length, before + 1);
    assert.equal(r.cache.latest?.entities.find((e) => e.jid === "ghost.localhost")?.error, undefined);
  });

  test("execute is the default action", async (t) => {
    const reply = await iq(rig(t), ADMIN, execute("refresh"), "set");
    assert.equal(reply.getChild("command", COMMANDS)?.attrs.status, "completed");
  });

  test("anyone not listed as admin is forbidden, whatever their resource", async (t) => {
    const r = rig(t);
    const reply = await iq(r, USER, execute("refresh"), "set");
    assertError(reply, "forbidden");
    assert.equal(reply.getChild("error")?.attrs.type, "auth");
    assert.equal(reply.getChild("error")?.getChildText("text", NS.stanzas), "user@localhost is not an admin of this directory");
    assert.ok(!r.net.asked.includes("items localhost"), "no crawl for a forbidden request");
    // An admin's bare JID, not a lookalike domain.
    assertError(await iq(r, "admin@localhost.evil/x", execute("refresh"), "set"), "forbidden");
  });

  test("a directory with no admins lets nobody refresh", async () => {
    const h = createHarness(Directory, { domain: "directory.localhost" });
    const [reply] = await h.inject(`<iq type='set' id='c' from='${ADMIN}'>${execute("refresh")}</iq>`);
    assertError(reply!, "forbidden");
  });

  test("an unknown command node is item-not-found", async (t) => {
    assertError(await iq(rig(t), ADMIN, execute("reboot"), "set"), "item-not-found");
  });

  test("a malformed action is bad-request with malformed-action (XEP-0050 §4.4)", async (t) => {
    assertError(await iq(rig(t), ADMIN, execute("refresh", "action='dance'"), "set"), "bad-request", "malformed-action");
  });

  test("next/prev/complete/cancel do not apply to a one-step command: bad-action", async (t) => {
    const r = rig(t);
    for (const action of ["next", "prev", "complete", "cancel"]) {
      assertError(await iq(r, ADMIN, execute("refresh", `action='${action}'`), "set"), "bad-request", "bad-action");
    }
  });

  test("a sessionid is never valid (refresh keeps no session): bad-sessionid", async (t) => {
    assertError(await iq(rig(t), ADMIN, execute("refresh", "sessionid='old' action='complete'"), "set"), "bad-request", "bad-sessionid");
  });

  test("the options are validated: admins must be bare JIDs, servers bare domains", () => {
    assert.throws(() => createHarness(Directory, { options: { admins: ["admin@localhost/phone"] } }), /admins.*bare JID/s);
    assert.throws(() => createHarness(Directory, { options: { servers: ["user@localhost"] } }), /servers.*bare domain/s);
    assert.throws(() => createHarness(Directory, { options: { refreshIntervalMs: 10 } }), /refreshIntervalMs/);
    assert.throws(() => createHarness(Directory, { options: { typo: 1 } }), /typo/);
  });
});
