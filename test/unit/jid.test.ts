import assert from "node:assert/strict";
import { test } from "node:test";
import { parseJid, tryParseJid } from "annex";

test("well-formed JIDs parse into their parts", () => {
  const j = parseJid("alice@localhost/phone");
  assert.equal(j.local, "alice");
  assert.equal(j.domain, "localhost");
  assert.equal(j.resource, "phone");
  assert.equal(j.bare().toString(), "alice@localhost");
  assert.equal(parseJid("pong.localhost").toString(), "pong.localhost");
});

test("malformed JIDs are refused with a coded error (RFC 7622 §3)", () => {
  for (const bad of ["", "@localhost", "alice@", "alice@localhost/", "a@b@c", "al ice@localhost"]) {
    assert.throws(() => parseJid(bad), { code: "ANNEX_ERR_JID" }, bad);
    assert.equal(tryParseJid(bad), undefined, bad);
  }
});

test("parseAddress gives the parse and the cache's own copy of the text (what the dispatcher hands handlers as from)", async () => {
  const { parseAddress, tryParseAddress } = await import("../../src/stanza/jid.js");
  // An address as the stream parser gives it: a slice of the read it came in.
  const read = `<message from="someone.with.a.long.name@example.org/resource-1" to="x"/>`;
  const sliced = read.slice(15, read.indexOf('"', 15));
  const first = parseAddress(sliced);
  assert.equal(first.address, "someone.with.a.long.name@example.org/resource-1");
  assert.equal(first.jid.resource, "resource-1");
  assert.equal(parseAddress(first.address), first, "the copy finds the same entry");
  assert.equal(parseJid(sliced), first.jid);
  for (const bad of ["", "@localhost", "a@b@c"]) assert.equal(tryParseAddress(bad), undefined, bad);
  assert.equal(tryParseAddress(undefined), undefined);
});
