import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { limiter } from "../limit.js";
import { defaultServers } from "../options.js";
import { diffSnapshots, type Entity, type Snapshot } from "../snapshot.js";

const entity = (jid: string, extra: Partial<Entity> = {}): Entity => ({ jid, foundVia: ["localhost"], identities: [], features: [], ...extra });
const snap = (...entities: Entity[]): Snapshot => ({ crawledAt: new Date(0), durationMs: 1, servers: [], entities });

describe("directory snapshots", () => {
  test("a diff names added, removed and changed entities (features, identities, reachability)", () => {
    const before = snap(entity("a"), entity("b"), entity("c", { features: ["x"] }), entity("d"), entity("e", { node: "n" }));
    const after = snap(entity("a"), entity("c", { features: ["x", "y"] }), entity("d", { error: "timeout" }), entity("e", { node: "n" }), entity("f"));
    assert.deepEqual(diffSnapshots(before, after), { added: ["f"], removed: ["b"], changed: ["c", "d"] });
    assert.deepEqual(diffSnapshots(undefined, snap(entity("a"))), { added: ["a"], removed: [], changed: [] });
  });

  test("the default server is the parent domain; a domain without one has none", () => {
    assert.deepEqual(defaultServers("directory.localhost"), ["localhost"]);
    assert.deepEqual(defaultServers("dir.xmpp.example.org"), ["xmpp.example.org"]);
    assert.deepEqual(defaultServers("directory"), []);
  });

  test("the limiter runs at most max tasks at once and passes results and failures through", async () => {
    const run = limiter(2);
    let active = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = (i: number) => () =>
      new Promise<number>((resolve, reject) => {
        active++;
        peak = Math.max(peak, active);
        releases.push(() => {
          active--;
          if (i === 3) reject(new Error("three"));
          else resolve(i);
        });
      });
    const all = Promise.allSettled([1, 2, 3, 4, 5].map((i) => run(task(i))));
    while (releases.length > 0 || active > 0) {
      await new Promise((r) => setImmediate(r));
      releases.shift()?.();
    }
    const results = await all;
    assert.equal(peak, 2);
    assert.deepEqual(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)), [1, 2, "three", 4, 5]);
  });
});
