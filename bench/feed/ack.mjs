// Issue 17 item 4 (not a test): does the publish acknowledgement wait behind the fan-out? The feed runs in the
// server-free harness (annex/testing createHarness, memory store) with N subscribers; each publish is timed from
// the moment its IQ is handed to the component until (a) its result and (b) its last notification are handed to
// the link. Before issue 17 the result came after every notification (a ≈ b); now it comes first (a ≪ b).
// No server, so this isolates the component's own ordering from routing; the wire round trip is in
// feed-standby.test.ts's summary line.
//
// usage: node bench/feed/ack.mjs [--subscribers 100] [--publishes 400]   (after `make build`; it runs dist/)
// Writes bench/feed/results/ack-<time>.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const { createHarness } = await import(join(ROOT, "dist/src/testing/index.js"));
const { Feed } = await import(join(ROOT, "dist/components/feed/index.js"));
const { FeedService } = await import(join(ROOT, "dist/components/feed/service.js"));

const { values } = parseArgs({ options: { subscribers: { type: "string", default: "100" }, publishes: { type: "string", default: "400" } } });
const SUBSCRIBERS = Number(values.subscribers);
const PUBLISHES = Number(values.publishes);
const DOMAIN = "feed.localhost";
const PUBSUB = "http://jabber.org/protocol/pubsub";

const h = createHarness(Feed, { domain: DOMAIN, options: { storage: "memory", nodes: { n: { publishers: ["pub@localhost"] } }, notifications: { maxInFlight: 1024, maxQueued: 4096 } } });
await h.start();
for (let i = 0; i < SUBSCRIBERS; i++) {
  await h.inject(`<iq type='set' id='s${i}' from='s${i}@localhost/r'><pubsub xmlns='${PUBSUB}'><subscribe node='n' jid='s${i}@localhost/r'/></pubsub></iq>`);
}
const service = h.host.instance(FeedService);
await service.notifier.settled();

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const toResult = [];
const toLast = [];
let before = 0;
for (let k = 0; k < PUBLISHES; k++) {
  const start = h.sent.length;
  const t0 = performance.now();
  let tResult;
  let tLast;
  let notifications = 0;
  const done = new Promise((resolvePublish) => {
    const check = () => {
      for (let i = start + before; i < h.sent.length; i++) {
        const s = h.sent[i];
        if (s.name === "iq" && tResult === undefined) tResult = performance.now();
        if (s.name === "message") notifications++;
      }
      before = h.sent.length - start;
      if (tResult !== undefined && notifications >= SUBSCRIBERS) {
        tLast = performance.now();
        resolvePublish();
      } else setImmediate(check);
    };
    check();
  });
  before = 0;
  // inject() resolves once the result is handed to the link; the notifications follow.
  await h.inject(`<iq type='set' id='p${k}' from='pub@localhost/b'><pubsub xmlns='${PUBSUB}'><publish node='n'><item><v xmlns='urn:example'>${k}</v></item></publish></pubsub></iq>`);
  await done;
  toResult.push(tResult - t0);
  toLast.push(tLast - t0);
  await service.notifier.settled();
}
await h.stop();

const summary = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { p50: +quantile(sorted, 0.5).toFixed(3), p99: +quantile(sorted, 0.99).toFixed(3), max: +sorted.at(-1).toFixed(3) };
};
const report = { when: new Date().toISOString(), subscribers: SUBSCRIBERS, publishes: PUBLISHES, resultHandedMs: summary(toResult), lastNotificationHandedMs: summary(toLast) };
mkdirSync(join(HERE, "results"), { recursive: true });
const file = join(HERE, "results", `ack-${report.when.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
console.log(`written to ${file}`);
