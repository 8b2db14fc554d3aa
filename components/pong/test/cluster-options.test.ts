import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DOMAIN, errorCondition, errorText, pongHarness } from "./helpers.js";

const cluster = { postgres: "postgres://pong@127.0.0.1:5432/pong", frontDoor: DOMAIN };

describe("pong: cluster options and the shards' stanzas", () => {
  test("bad cluster options are refused with the field named and the fix", () => {
    assert.throws(() => pongHarness({ cluster: { ...cluster, postgres: "sqlite:pong.db" } }), /cluster\.postgres.*postgres:\/\/user@host:port\/database/s);
    assert.throws(() => pongHarness({ cluster: { postgres: cluster.postgres } }), /cluster\.frontDoor/);
    assert.throws(() => pongHarness({ cluster: { ...cluster, heartbeatMs: 2000, deadAfterMs: 1000 } }), /deadAfterMs must exceed heartbeatMs/);
    assert.throws(() => pongHarness({ cluster, leaderboard: "sqlite:pong.db" }), /leaderboard.*cluster\.postgres/s);
    assert.throws(() => pongHarness({ cluster: { ...cluster, shard: "pong-1" } }), /shard/);
  });

  test("a single-process pong refuses the shards' relay and open with feature-not-implemented", async () => {
    const { h } = pongHarness();
    for (const name of ["relay", "open"]) {
      const [reply] = await h.inject(`<message from='pong-1.localhost' to='${DOMAIN}' id='x-${name}'><${name} xmlns='urn:annex:pong:shard:1'/></message>`);
      assert.equal(errorCondition(reply), "feature-not-implemented");
      assert.match(errorText(reply) ?? "", /single process/);
    }
  });
});
