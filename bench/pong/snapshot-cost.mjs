#!/usr/bin/env node
// The cost of one snapshot stanza, all of it: build (pong's gameMessage + compact payload), stamp (Sender's from/to
// checks), the outbound pipeline the runner installs (presence tracker, metrics counter), serialise, and write
// to a real TCP socket (read by a separate process that discards it). CPU of this process (process.cpuUsage) per
// snapshot, for the one-by-one path (build and send per recipient) and fan-out (build once, Sender.fanOut).
//   node bench/pong/snapshot-cost.mjs            prints one JSON line per case
// Sent in batches of one "tick" (ticks of 500 snapshots, then setImmediate so the socket writes), like the loop.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { once } from "node:events";
import { pin } from "../lib/proc.mjs";

// ANNEX_ROOT=<another checkout, built> measures that code instead (a before/after in one run).
const ROOT = process.env.ANNEX_ROOT ? `${process.env.ANNEX_ROOT.replace(/\/$/, "")}/` : new URL("../../", import.meta.url).pathname;
const { Sender, PresenceTracker } = await import(`${ROOT}dist/src/dispatch/sender.js`);
const { IqCaller } = await import(`${ROOT}dist/src/dispatch/iq-caller.js`);
const { Pipeline } = await import(`${ROOT}dist/src/pipeline/pipeline.js`);
const { AnnexMetrics } = await import(`${ROOT}dist/src/ops/metrics.js`);
const { TcpTransport } = await import(`${ROOT}dist/src/connection/transport.js`);
const { gameMessage } = await import(`${ROOT}dist/components/pong/protocol.js`);
// Before the arena split (main) the compact payload was built by compact() in arena.ts; same attributes.
const { compactCodec } = await import(`${ROOT}dist/components/pong/codec-compact.js`).catch(async () => {
  const { compact } = await import(`${ROOT}dist/components/pong/protocol.js`);
  const px = Math.round;
  return { compactCodec: { snapshot: (r, g, seat) => [compact("s", { r, t: g.tick, a: seat?.lastSeq, b: `${px(g.ball.x)},${px(g.ball.y)},${px(g.ball.vx)},${px(g.ball.vy)}`, p: `${px(g.paddles[0])},${px(g.paddles[1])}`, sc: g.score.join(","), ph: g.phase })] } };
});

pin(process.pid, process.env.CPU ?? "1");
const DOMAIN = "pong.bench";
const sink = spawn(process.execPath, ["-e", `
  const s = require("net").createServer((c) => c.on("data", () => {}));
  s.listen(0, "127.0.0.1", () => process.send(s.address().port));`], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
pin(sink.pid, process.env.SINK_CPU ?? "0");
const [port] = await once(sink, "message");
const socket = connect(port, "127.0.0.1");
await once(socket, "connect");
const transport = new TcpTransport({ service: `xmpp://127.0.0.1:${port}`, domain: DOMAIN, secret: "x" });
transport._attachSocket(socket);

const metrics = new AnnexMetrics({ defaultMetrics: false });
const outbound = new Pipeline("outbound").use(new PresenceTracker().middleware, metrics.middlewareFor(DOMAIN).outbound);
const sender = new Sender(DOMAIN, outbound, new IqCaller());
sender.bind((s) => transport.send(s));

let tick = 0;
const outcome = { ok: 0, failed: 0, lastError: undefined };
const count = (p) => p.then(() => void outcome.ok++, (err) => { outcome.failed++; outcome.lastError = String(err.message ?? err); });
// A game in play as pong's compact codec sees it (the codec builds the payload, as the room does each tick).
const game = { tick: 0, ball: { x: 312.4, y: 201.7, vx: 5.2, vy: -3.1 }, paddles: [250.2, 260.8], score: [3, 4], phase: "play" };
const payload = (room, seat) => {
  game.tick = tick;
  return compactCodec.snapshot(`r${room}`, game, seat)[0];
};

/** One tick's worth: `rooms` rooms, each with `perRoom` recipients of the same payload. */
function oneByOne(rooms, perRoom) {
  for (let r = 0; r < rooms; r++) for (let k = 0; k < perRoom; k++) count(sender.send(gameMessage(DOMAIN, `p${r}-${k}@bench.test/bot`, payload(r, undefined))));
}
const recipients = new Map();
function fanOut(rooms, perRoom) {
  for (let r = 0; r < rooms; r++) {
    const key = `${perRoom}:${r}`;
    let to = recipients.get(key);
    if (!to) recipients.set(key, (to = Array.from({ length: perRoom }, (_, k) => `p${r}-${k}@bench.test/bot`)));
    for (const p of sender.fanOut(gameMessage(DOMAIN, to[0], payload(r, undefined)), to)) count(p);
  }
}

async function measure(name, fn, perRoom) {
  const perTick = 500;
  const rooms = Math.max(1, Math.round(perTick / perRoom));
  const ticks = 400;
  for (let i = 0; i < 50; i++) { fn(rooms, perRoom); tick++; await new Promise((r) => setImmediate(r)); }
  const t0 = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    fn(rooms, perRoom);
    tick++;
    await new Promise((r) => setImmediate(r));
    // The reader is another process on a busy machine: let it catch up rather than fill the link's queue.
    while (transport.queuedBytes > 1_000_000) await new Promise((r) => setTimeout(r, 1));
  }
  const c = process.cpuUsage(t0);
  const n = ticks * rooms * perRoom;
  return { case: name, recipientsPerPayload: perRoom, snapshots: n, cpuUsPerSnapshot: Math.round(((c.user + c.system) / n) * 100) / 100 };
}

const reps = Number(process.env.REPS ?? 3);
const results = [];
for (let rep = 0; rep < reps; rep++) {
  // Interleaved: each repetition runs every case once, the order reversed every other repetition.
  const hasFanOut = typeof sender.fanOut === "function";
  const cases = [["one-by-one", oneByOne, 2], ["fan-out", fanOut, 2], ["one-by-one", oneByOne, 10], ["fan-out", fanOut, 10], ["one-by-one", oneByOne, 100], ["fan-out", fanOut, 100]].filter(([name]) => hasFanOut || name !== "fan-out");
  if (rep % 2 === 1) cases.reverse();
  for (const [name, fn, k] of cases) results.push(await measure(name, fn, k));
  while (transport.queuedBytes > 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const groups = new Map();
for (const r of results) {
  const key = `${r.case} ×${r.recipientsPerPayload}`;
  groups.set(key, [...(groups.get(key) ?? []), r.cpuUsPerSnapshot]);
}
console.log(JSON.stringify({ outcome }));
for (const [key, xs] of groups) console.log(JSON.stringify({ case: key, cpuUsPerSnapshot: { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }, reps: xs.length }));
socket.destroy();
sink.kill();
