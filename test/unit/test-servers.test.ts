import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedEjabberd, ManagedEjabberdCluster, testServerKinds } from "annex/testing";

test("ANNEX_TEST_SERVER picks the servers a run covers; an unknown name is an error naming the choices", () => {
  assert.deepEqual(testServerKinds({}), ["prosody", "ejabberd"]);
  assert.deepEqual(testServerKinds({ ANNEX_TEST_SERVER: "ejabberd" }), ["ejabberd"]);
  assert.deepEqual(testServerKinds({ ANNEX_TEST_SERVER: " prosody , ejabberd " }), ["prosody", "ejabberd"]);
  assert.throws(() => testServerKinds({ ANNEX_TEST_SERVER: "openfire" }), /ANNEX_TEST_SERVER: unknown server "openfire" \(use prosody, ejabberd or a comma-separated list\)/);
});

test("ManagedEjabberd refuses Erlang options that are not plain words before it starts anything, naming the field", async () => {
  await assert.rejects(ManagedEjabberd.start({ erlang: { cookie: "a b; rm" } }), /erlang\.cookie must be letters, digits, _ or -/);
  await assert.rejects(ManagedEjabberd.start({ erlang: { node: "ejabberd@host.example" } }), /erlang\.node must be name@host \(a short name/);
  await assert.rejects(ManagedEjabberd.start({ erlang: { interface: "localhost" } }), /erlang\.interface must be an IPv4 address/);
  await assert.rejects(ManagedEjabberd.start({ erlang: { hosts: { node2: "::1" } } }), /erlang\.hosts entry "node2"/);
});

test("ManagedEjabberdCluster takes 2 or 3 nodes and says so", async () => {
  await assert.rejects(ManagedEjabberdCluster.start({ nodes: 4 }), /ManagedEjabberdCluster: nodes must be 2 or 3, got 4/);
  await assert.rejects(ManagedEjabberdCluster.start({ nodes: 1 }), /nodes must be 2 or 3, got 1/);
});
