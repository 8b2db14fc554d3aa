import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createHarness } from "annex/testing";
import { Feed } from "../feed.js";
import { describeStorage, openStore } from "../store/open.js";

describe("feed: options", () => {
  test("bad options are refused with the path of each problem", () => {
    assert.throws(
      () => createHarness(Feed, { options: { storage: "redis://x", nodes: { "bad node": {} }, http: { port: 1 } } }),
      (err: Error) => /storage/.test(err.message) && /nodes/.test(err.message) && /token or tokenFile/.test(err.message),
    );
    assert.throws(() => createHarness(Feed, { options: { nodes: { n: { publishers: ["not a jid@@"] } } } }), /expected a JID/);
    assert.throws(() => createHarness(Feed, { options: { nodes: { n: { maxItems: 0 } } } }), /maxItems/);
    assert.throws(() => createHarness(Feed, { options: { nodes: { n: { unit: "a unit name that is far too long" } } } }), /unit/);
  });

  test("an unknown storage scheme is a clear error; passwords never reach the logs", async () => {
    await assert.rejects(openStore("mysql://x"), /expected "memory", "sqlite:<path>" or "postgres:\/\/…"/);
    await assert.rejects(openStore("sqlite:"), /needs a file path/);
    assert.equal(describeStorage("postgres://feed:s3cret@db:5432/feed"), "postgres://feed:***@db:5432/feed");
    assert.equal(describeStorage("sqlite:data/x.sqlite"), "sqlite:data/x.sqlite");
  });
});
