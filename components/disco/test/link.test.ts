import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { ComponentHost, type Element, NS } from "annex";
import { pino } from "pino";
import { DirectoryCache } from "../cache.js";
import { Directory } from "../directory.js";
import { until } from "./setup.js";

test("a timer-driven crawl waits for the link, checking with a backing-off ping, before sending any request", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  let up = false;
  const attempts: Element[] = [];
  const delivered: Element[] = [];
  // A link that refuses everything until it is up, as the runner's link does before it is online.
  const host = new ComponentHost({
    component: Directory,
    domain: "directory.localhost",
    log: pino({ level: "silent" }),
  });
  host.bindSink(async (stanza) => {
    attempts.push(stanza);
    if (!up) throw new Error("not online");
    delivered.push(stanza);
  });
  await host.start();
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  mock.timers.tick(0);
  await until(() => attempts.length === 1, "the first probe");
  await turn(); // let the failed probe schedule its retry before the clock moves
  mock.timers.tick(999);
  await turn();
  assert.equal(attempts.length, 1, "the retry waits one second");
  mock.timers.tick(1);
  await until(() => attempts.length === 2, "the second probe");
  await turn();
  mock.timers.tick(1_999);
  await turn();
  assert.equal(attempts.length, 2, "then two seconds");
  assert.ok(attempts.every((a) => a.getChild("ping", NS.ping)), "only pings while the link is down");
  up = true;
  mock.timers.tick(1);
  await until(() => delivered.some((s) => s.getChild("query", NS.discoItems)), "the crawl's first requests");
  assert.ok(delivered[0]!.getChild("ping", NS.ping));
  assert.equal(delivered[0]!.attrs.to, "localhost");
  assert.equal(host.instance(DirectoryCache).latest, undefined, "no answers yet, no snapshot yet");
  await host.stop({ drainMs: 0 });
  // The crawl's queued queries are dropped at stop, not sent through a closed sender.
  const after = attempts.length;
  for (let i = 0; i < 50; i++) await turn();
  mock.timers.tick(600_000);
  await turn();
  assert.equal(attempts.length, after);
});
