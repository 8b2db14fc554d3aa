// Feed benchmark (not a test): publish→notification latency for 100 subscribers at 4 Hz (after a warm-up), the
// same bursts sent by the load component itself through Prosody (Prosody's share of that latency), the same stamped
// POSTs to a plain HTTP server in this process (the HTTP hop's share, client included), the maximum
// sustained fan-out through Prosody, and Prosody's own component→component routing ceiling measured in the same
// run with stanzas of the same size and shape. Subscribers are JIDs of a second component (load.localhost), so
// nothing is throttled by c2s limits (research performance.md §2.2).
//
// usage: node bench/feed/fanout.mjs [--subs 100] [--hz 4] [--warmup-s 2] [--latency-s 15] [--fanout-s 10] [--storage memory|sqlite]
// Needs `npx tsc -p tsconfig.json` first (it runs dist/). Writes bench/feed/results/fanout-<time>.json.
import { spawn } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Histogram } from "../lib/histogram.mjs";
import { connectComponent } from "../lib/links.mjs";
import { cpuMs } from "../lib/proc.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const { ManagedProsody, freePort } = await import(join(ROOT, "dist/src/testing/index.js"));

const { values: args } = parseArgs({
  options: {
    subs: { type: "string", default: "100" },
    hz: { type: "string", default: "4" },
    "latency-s": { type: "string", default: "15" },
    "warmup-s": { type: "string", default: "2" },
    "fanout-s": { type: "string", default: "10" },
    "ceiling-s": { type: "string", default: "10" },
    storage: { type: "string", default: "sqlite" },
  },
});
const SUBS = Number(args.subs);
const HZ = Number(args.hz);
const SECRET = "bench-feed-secret";
const TOKEN = "bench-feed-token";
const FEED = "feed.localhost";
const LOAD = "load.localhost";
const NODE = "bench";
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), "feed-bench-"));
const prosody = await ManagedProsody.start({ components: [{ domain: FEED, secret: SECRET }, { domain: LOAD, secret: SECRET }], logLevel: "warn" });
const httpPort = await freePort();
const storage = args.storage === "memory" ? "memory" : `sqlite:${join(dir, "feed.sqlite")}`;
const config = {
  server: { host: "127.0.0.1", port: prosody.componentPort },
  log: { level: "warn" },
  components: [{ type: "feed", domain: FEED, secret: SECRET, options: { storage, nodes: { [NODE]: { maxItems: 1000 } }, http: { port: httpPort, token: TOKEN } } }],
};
writeFileSync(join(dir, "annex.json"), JSON.stringify(config));
// ANNEX_ROOT=<another built checkout>: run its Annex with this bench (a before/after in one session).
const annex = spawn(process.execPath, [join(process.env.ANNEX_ROOT ?? ROOT, "dist/bin/annex.js"), "run", "--config", join(dir, "annex.json")], { stdio: ["ignore", "pipe", "pipe"] });
let annexOut = "";
annex.stdout.on("data", (d) => (annexOut += d));
annex.stderr.on("data", (d) => (annexOut += d));

// Ctrl-C or a kill must not leave Prosody or annex running.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  annex.kill("SIGTERM");
  await new Promise((r) => (annex.exitCode !== null ? r() : annex.once("exit", r)));
  await prosody.stop();
  rmSync(dir, { recursive: true, force: true });
}

try {
  // Online = the feed answers a disco#info routed through Prosody.
  const load = await connectComponent({ port: prosody.componentPort, domain: LOAD, secret: SECRET });
  let buffer = load.rest;
  const state = { notifications: 0, ceiling: 0, results: new Set(), hist: null, ceilingInFlight: 0, floorReceived: 0, floorHist: null };
  const onStanza = (s) => {
    if (process.env.FEED_BENCH_DEBUG) console.error("IN", s.slice(0, 300));
    if (s.startsWith("<message")) {
      if (s.includes("id='ceil-") || s.includes('id="ceil-')) {
        state.ceiling++;
        state.ceilingInFlight--;
        return;
      }
      if (s.includes("id='floor-")) {
        state.floorReceived++;
        const at = s.indexOf("&quot;t&quot;:");
        const t = Number.parseFloat(s.slice(at + 14));
        if (state.floorHist && Number.isFinite(t)) state.floorHist.recordMs(now() - t);
        return;
      }
      state.notifications++;
      const at = s.indexOf("&quot;t&quot;:");
      const t = at >= 0 ? Number.parseFloat(s.slice(at + 14)) : Number.parseFloat(s.slice(s.indexOf('"t":') + 4));
      if (state.hist && Number.isFinite(t)) state.hist.recordMs(now() - t);
    } else if (s.startsWith("<iq")) {
      const m = /id=['"]([^'"]+)['"]/.exec(s);
      if (m) state.results.add(m[1] + (s.includes("type='error'") || s.includes('type="error"') ? ":error" : ""));
    }
  };
  load.socket.on("data", (d) => {
    buffer += load.decoder.write(d);
    for (;;) {
      const m = /<\/message>|<\/iq>|<iq[^>]*\/>/.exec(buffer);
      if (!m) break;
      const end = m.index + m[0].length;
      const start = buffer.search(/<(message|iq)[\s>]/);
      onStanza(buffer.slice(start, end));
      buffer = buffer.slice(end);
    }
  });
  const waitFor = async (pred, ms, what) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${annexOut.slice(-2000)}`);
      await sleep(20);
    }
  };
  for (let attempt = 0; ; attempt++) {
    load.socket.write(`<iq type='get' id='ping${attempt}' from='${LOAD}' to='${FEED}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await sleep(200);
    if (state.results.has(`ping${attempt}`)) break;
    if (attempt > 100) throw new Error(`the feed did not come online\n${annexOut}`);
  }
  // In windows of 20: the framework answers resource-constraint beyond its in-flight bound.
  for (let k0 = 0; k0 < SUBS; k0 += 20) {
    const ks = [...Array(Math.min(20, SUBS - k0)).keys()].map((i) => k0 + i);
    for (const k of ks) {
      load.socket.write(`<iq type='set' id='s${k}' from='sub${k}@${LOAD}' to='${FEED}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='${NODE}' jid='sub${k}@${LOAD}'/></pubsub></iq>`);
    }
    await waitFor(() => ks.every((k) => state.results.has(`s${k}`)), 10_000, "subscriptions");
  }

  // A lean keep-alive client (node:http): fetch (undici) spent ≈ 0.9 ms more of the bench's own time per request on
  // this machine, inside the measured latency. Resolves with the status and the body once the answer is whole.
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const postTo = (port, path, body) =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const post = (body) => postTo(httpPort, `/nodes/${NODE}/items`, body);
  const cpu = () => ({ annex: cpuMs(annex.pid), prosody: cpuMs(prosody.pid) });
  const cpuDelta = (a, b) => ({ annexMs: Math.round(b.annex - a.annex), prosodyMs: Math.round(b.prosody - a.prosody) });

  // 1. Latency at HZ with SUBS subscribers (open loop, one publish every 1000/HZ ms), after `--warmup-s` of the same
  // load that is not recorded: the first publishes of a fresh process pay for compiling the publish path (one
  // publish is 100 of the 4 000 samples, so a cold one alone is the p99).
  /** Open loop: `step(k)` for k = 0, 1, … at HZ (on a fixed schedule, not after each other) for `seconds`; how many ran. */
  const paced = async (seconds, step) => {
    let k = 0;
    const tEnd = Date.now() + seconds * 1000;
    let next = performance.now();
    while (Date.now() < tEnd) {
      await step(k++);
      next += 1000 / HZ;
      await sleep(Math.max(0, next - performance.now()));
    }
    return k;
  };
  const openLoop = (seconds, from) =>
    paced(seconds, async (k) => {
      const res = await post(JSON.stringify({ t: now(), n: from + k }));
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text}`);
    });
  const w0 = state.notifications;
  const warmed = await openLoop(Number(args["warmup-s"]), 0);
  await waitFor(() => state.notifications - w0 >= warmed * SUBS, 10_000, "warm-up notifications");
  state.hist = new Histogram(5_000_000);
  const latencyS = Number(args["latency-s"]);
  let c0 = cpu();
  const n0 = state.notifications;
  const published = await openLoop(latencyS, warmed);
  await waitFor(() => state.notifications - n0 >= published * SUBS, 10_000, "latency-phase notifications");
  const latency = { subscribers: SUBS, hz: HZ, published, notifications: state.notifications - n0, ...state.hist.summary(), cpu: cpuDelta(c0, cpu()) };
  state.hist = null;

  // 1b. Prosody's part of that latency: the load component itself sends the same bursts (SUBS notification-shaped
  // messages in one write, HZ times a second, each stamped) to the same subscribers through Prosody. What the feed
  // adds on top (ingest, store, fan-out, its link) is the difference.
  const burst = (k) => {
    const stamp = now();
    let out = "";
    for (let i = 0; i < SUBS; i++) {
      out += `<message from='pub@${LOAD}' to='sub${i}@${LOAD}' id='floor-${k}-${i}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${NODE}'><item id='${String(k).padStart(16, "0")}'><json xmlns='urn:xmpp:json:0'>{&quot;t&quot;:${stamp},&quot;n&quot;:${k}}</json></item></items></event></message>`;
    }
    load.socket.write(out);
  };
  const floorBursts = (seconds) => paced(seconds, burst);
  const f0 = state.floorReceived;
  const floorWarm = await floorBursts(Number(args["warmup-s"]));
  await waitFor(() => state.floorReceived - f0 >= floorWarm * SUBS, 10_000, "floor warm-up messages");
  state.floorHist = new Histogram(5_000_000);
  const f1 = state.floorReceived;
  const floorSent = await floorBursts(latencyS);
  await waitFor(() => state.floorReceived - f1 >= floorSent * SUBS, 10_000, "floor messages");
  const latencyFloor = { bursts: floorSent, messages: state.floorReceived - f1, ...state.floorHist.summary() };
  state.floorHist = null;

  // 1c. The HTTP hop's part: the same open loop of stamped POSTs to a plain node:http server in this process, which
  // reads and parses the body (as the ingest does) and answers 200; latency = stamp → body parsed. Prosody alone
  // plus this is what the feed's p50 cannot go below with this client on this machine.
  const httpHist = new Histogram(5_000_000);
  let httpRecording = false;
  const plain = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      const t = JSON.parse(text).t;
      if (httpRecording) httpHist.recordMs(now() - t);
      res.statusCode = 200;
      res.end(JSON.stringify({ node: NODE, id: "x" }));
    });
  });
  await new Promise((r) => plain.listen(0, "127.0.0.1", r));
  const httpLoop = (seconds) => paced(seconds, (k) => postTo(plain.address().port, "/", JSON.stringify({ t: now(), n: k })));
  await httpLoop(Number(args["warmup-s"]));
  httpRecording = true;
  const httpSent = await httpLoop(latencyS);
  httpRecording = false;
  plain.close();
  const latencyHttp = { requests: httpSent, ...httpHist.summary() };

  // 2. Maximum sustained fan-out: closed loop, 4 concurrent publishers as fast as the ingest acknowledges.
  const fanoutS = Number(args["fanout-s"]);
  const base = state.notifications;
  c0 = cpu();
  let fanPublished = 0;
  let ingestErrors = 0;
  const started = performance.now();
  const stopAt = Date.now() + fanoutS * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < stopAt) {
        const res = await post(JSON.stringify({ t: now(), n: fanPublished }));
        // An ingest that answers anything but 200 is reported, not silently left out of the offered load.
        if (res.status === 200) fanPublished++;
        else ingestErrors++;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const receivedDuring = state.notifications - base;
  // Drain: what arrives after the publishers stopped was queued somewhere (feed or Prosody).
  let last = -1;
  while (state.notifications !== last) {
    last = state.notifications;
    await sleep(500);
  }
  const drained = state.notifications - base;
  const fanout = {
    seconds: Math.round(elapsedS * 10) / 10,
    publishedPerS: Math.round(fanPublished / elapsedS),
    offeredNotificationsPerS: Math.round((fanPublished * SUBS) / elapsedS),
    deliveredNotificationsPerS: Math.round(receivedDuring / elapsedS),
    deliveredIncludingDrain: drained,
    coalescedOrDropped: fanPublished * SUBS - drained,
    ingestErrors,
    cpu: cpuDelta(c0, cpu()),
  };

  // 3. Prosody's routing ceiling: load.localhost → load.localhost messages of the notification's size and shape (the
  // same pubsub event, the JSON's entities included: Prosody's parser pays for each), closed loop.
  const sample = `<message from='${FEED}' to='sub0@${LOAD}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${NODE}'><item id='0000000000001234'><json xmlns='urn:xmpp:json:0'>{&quot;t&quot;:1763790000000.123,&quot;n&quot;:123}</json></item></items></event></message>`;
  const payload = sample.slice(sample.indexOf("<event"), sample.lastIndexOf("</message>"));
  const ceilingS = Number(args["ceiling-s"]);
  const WINDOW = 500;
  c0 = cpu();
  const cBase = state.ceiling;
  let sent = 0;
  const cStart = performance.now();
  const cStop = Date.now() + ceilingS * 1000;
  while (Date.now() < cStop) {
    let batch = "";
    while (state.ceilingInFlight < WINDOW) {
      batch += `<message from='a@${LOAD}' to='sub${sent % SUBS}@${LOAD}' id='ceil-${sent++}' type='headline'>${payload}</message>`;
      state.ceilingInFlight++;
    }
    if (batch) load.socket.write(batch);
    await sleep(1);
  }
  const cElapsed = (performance.now() - cStart) / 1000;
  const ceiling = { stanzaBytes: sample.length, window: WINDOW, routedPerS: Math.round((state.ceiling - cBase) / cElapsed), cpu: cpuDelta(c0, cpu()) };

  const report = {
    when: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    storage: args.storage,
    latency,
    latencyFloor,
    latencyHttp,
    fanout,
    prosodyCeiling: ceiling,
    fanoutVsCeiling: Math.round((fanout.deliveredNotificationsPerS / ceiling.routedPerS) * 100) / 100,
  };
  console.log(JSON.stringify(report, null, 2));
  mkdirSync(join(HERE, "results"), { recursive: true });
  writeFileSync(join(HERE, "results", `fanout-${report.when.replace(/[:.]/g, "-")}.json`), JSON.stringify(report, null, 2) + "\n");
  load.socket.destroy();
  agent.destroy();
} finally {
  await cleanup();
}
