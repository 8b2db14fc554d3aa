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
