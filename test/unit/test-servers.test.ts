import assert from "node:assert/strict";
import { test } from "node:test";
import { testServerKinds } from "annex/testing";

test("ANNEX_TEST_SERVER picks the servers a run covers; an unknown name is an error naming the choices", () => {
  assert.deepEqual(testServerKinds({}), ["prosody", "ejabberd"]);
  assert.deepEqual(testServerKinds({ ANNEX_TEST_SERVER: "ejabberd" }), ["ejabberd"]);
  assert.deepEqual(testServerKinds({ ANNEX_TEST_SERVER: " prosody , ejabberd " }), ["prosody", "ejabberd"]);
  assert.throws(() => testServerKinds({ ANNEX_TEST_SERVER: "openfire" }), /ANNEX_TEST_SERVER: unknown server "openfire" \(use prosody, ejabberd or a comma-separated list\)/);
});
