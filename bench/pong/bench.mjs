// Pong rooms-per-process benchmark (not a test). Build first: npx tsc -p tsconfig.json
//
//   node bench/pong/bench.mjs fake    50,100,200,400   # component alone, against a stand-in XEP-0114 server
//   node bench/pong/bench.mjs prosody 10,25,50         # end to end: real Prosody, one c2s client per player
//
// Each run starts `annex run` (its own process) with one pong component at 60 Hz / 20 Hz snapshots, fills N rooms
// with 2N bot players that track the ball and send compact inputs at 10 Hz, lets it warm up, then measures for
// MEASURE_S seconds: the loop's tick lateness and step duration (from the component's "pong stats" log lines)
// and the share of expected snapshots the players actually received. Prints one JSON line per room count.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import xmlPkg from "@xmpp/xml";
import clientPkg from "@xmpp/client";
import { cpuMs, pin } from "../lib/proc.mjs";

const { Parser } = xmlPkg;
const { client, xml } = clientPkg;
const ROOT = new URL("../../", import.meta.url).pathname;
// ANNEX_ROOT=<another checkout, built>: run that checkout's Annex (a before/after with the same bench code).
const ANNEX = join(process.env.ANNEX_ROOT ?? ROOT, "dist/bin/annex.js");
const NS = "urn:annex:pong:1";
const DOMAIN = "pong.bench";
const TICK_HZ = 60;
const SNAP_HZ = 20;
const WARMUP_S = Number(process.env.WARMUP_S ?? 4);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);
const INPUT_HZ = 10;

const [mode = "fake", roomList = "50,100,200"] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A bot player: remembers the latest snapshot, aims its paddle at the ball, counts snapshots while measuring. */
class Player {
  constructor(jid, send) {
    this.jid = jid;
    this.send = send;
    this.seq = 0;
    this.ballY = 300;
    this.snapshots = 0;
    this.counting = false;
  }
  onStanza(el) {
    const s = el.getChild("s", NS);
    if (!s) return;
    if (this.counting) this.snapshots++;
    this.ballY = Number(s.attrs.b.split(",")[1]);
  }
  join() {
    this.send(xml("message", { to: DOMAIN, type: "headline" }, xml("join", { xmlns: NS })), this.jid);
  }
  input() {
    const y = Math.max(0, Math.min(500, Math.round(this.ballY - 50 + (Math.random() - 0.5) * 60)));
    this.send(xml("message", { to: DOMAIN, type: "headline" }, xml("in", { xmlns: NS, seq: String(++this.seq), y: String(y) })), this.jid);
  }
}

/** A stand-in for Prosody's component port (XEP-0114): handshake, then routes stanzas to and from the bots. */
async function fakeServer(secret, onStanza) {
  let socket;
  const server = net.createServer((s) => {
    socket = s;
    const parser = new Parser();
    const id = "bench-stream";
    parser.on("start", () => s.write(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='${DOMAIN}' id='${id}'>`));
    parser.on("element", (el) => {
      if (el.name === "handshake") {
        const expected = createHash("sha1").update(id + secret, "utf8").digest("hex");
        s.write(el.getText() === expected ? "<handshake/>" : "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
        return;
      }
      onStanza(el);
    });
    s.on("data", (d) => parser.write(d.toString("utf8")));
    s.on("error", () => undefined);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    send: (el, from) => { el.attrs.from = from; socket?.write(el.toString()); },
    close: () => { socket?.destroy(); server.close(); },
  };
}

async function startAnnex(port, secret, rooms) {
  const dir = await mkdtemp(join(tmpdir(), "pong-bench-"));
  await writeFile(join(dir, "secret"), secret);
  const config = {
    server: { host: "127.0.0.1", port }, log: { level: "info" },
    // maxInFlight: the default 64 drops the rest of a TCP read carrying more stanzas than that (see REPORT.md).
    components: [{ type: "pong", domain: DOMAIN, secretFile: "secret", maxInFlight: 100000,
      options: { tickHz: TICK_HZ, snapshotHz: SNAP_HZ, maxRooms: rooms + 10, pointsToWin: 1000, statsSeconds: MEASURE_S / 2, inputRateHz: 30 } }],
  };
  await writeFile(join(dir, "annex.json"), JSON.stringify(config));
  // CPU_PROF=<dir>: the component runs under `node --cpu-prof` (analyse with bench/lib/profile.mjs analyseProfile).
  const prof = process.env.CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.CPU_PROF] : [];
  // ANNEX_NODE_ARGS="--import x.mjs …": more node options for the component's process (an allocation sampler).
  if (process.env.ANNEX_NODE_ARGS) prof.push(...process.env.ANNEX_NODE_ARGS.split(" "));
  const child = track(spawn(process.execPath, [...prof, ANNEX, "run", "--config", join(dir, "annex.json")], { stdio: ["ignore", "pipe", "pipe"] }));
  const stats = [];
  let out = "";
  child.stdout.on("data", (d) => {
    out += d.toString();
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "pong stats") stats.push({ at: Date.now(), ...rec });
      } catch { /* not JSON */ }
    }
  });
  child.stderr.on("data", () => undefined);
  return { child, stats, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
}

/**
 * `load` starts and stops the counting: `start()` returns what `stop(t0)` needs; `stop` returns { snapshots,
 * annexCpuMs?, … }. Counting starts at a stats-window boundary so both stats windows lie inside the measurement.
 */
async function measure(load, annex) {
  await sleep(WARMUP_S * 1000);
  const boundary = annex.stats.length;
  while (annex.stats.length === boundary) await sleep(5);
  const before = annex.stats.length;
  const sentBefore = annex.stats.at(-1).snapshotsSent;
  const t0 = Date.now();
  const mark = load.start();
  // Two stats windows of MEASURE_S/2 each fall inside the measurement.
  while (annex.stats.length < before + 2 && Date.now() - t0 < MEASURE_S * 3000) await sleep(100);
  const measured = (Date.now() - t0) / 1000;
  const counts = await load.stop(mark);
  const windows = annex.stats.slice(before, before + 2);
  const sent = windows.at(-1).snapshotsSent - sentBefore;
  const expected = load.players * SNAP_HZ * measured;
  const worst = (k, q) => Math.max(...windows.map((w) => w.loop[k][q]));
  const rooms = load.players / 2;
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return {
    rooms,
    latenessMs: { p50: worst("latenessMs", "p50"), p99: worst("latenessMs", "p99"), max: worst("latenessMs", "max") },
    stepMs: { p50: worst("stepMs", "p50"), p99: worst("stepMs", "p99"), max: worst("stepMs", "max") },
    // The component's counter is cumulative since start: the difference is the measured windows' share.
    droppedTicks: windows.at(-1).loop.droppedTicks - annex.stats[before - 1].loop.droppedTicks,
    roomsRunning: windows.at(-1)?.rooms,
    snapshotDelivery: r3(counts.snapshots / expected),
    snapshotsSentPerSecond: Math.round(sent / measured),
    ...(counts.annexCpuMs !== undefined
      ? {
          annexCores: r3(counts.annexCpuMs / (measured * 1000)),
          annexCpuUsPerRoomSecond: Math.round((counts.annexCpuMs * 1000) / (rooms * measured)),
          annexCpuUsPerSnapshot: Math.round((counts.annexCpuMs * 1000 * 10) / sent) / 10,
        }
      : {}),
    ...(counts.botsCpuMs !== undefined ? { generatorCores: r3(counts.botsCpuMs / (measured * 1000)) } : {}),
    ...(counts.prosodyCpuMs !== undefined ? { prosodyCores: r3(counts.prosodyCpuMs / (measured * 1000)) } : {}),
    faults: { malformed: counts.bad ?? 0, unexpected: counts.unexpected ?? 0, silentPlayers: counts.silent ?? 0 },
    measuredSeconds: Math.round(measured * 10) / 10,
  };
}

/** Tells the bots process something and waits for its answer (if `answer` names the key expected). */
function ask(child, message, answer) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (!answer || m[answer] !== undefined) {
        child.off("message", on);
        resolve(m);
      }
    };
    if (answer) child.on("message", on);
    if (message) child.send(message);
    if (!answer) resolve(undefined);
  });
}

/**
 * The component alone: `annex run` pinned to CPU 1, the stand-in server and every bot in bots.mjs pinned to CPU 0
 * (taskset), so the generator cannot steal the component's core; the component's own CPU (utime+stime from
 * /proc) over the measured window is reported per room-second and per snapshot, so the figure holds even when
 * other work on the machine steals time.
 */
// The component and the load generator die with the bench: a bench killed mid-run once left both running for ten
// minutes beside the next measurement.
const children = new Set();
function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    for (const child of children) child.kill("SIGKILL");
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

async function runFake(rooms) {
  const secret = "bench-secret";
  const bots = track(spawn(process.execPath, [join(ROOT, "bench/pong/bots.mjs"), String(rooms), secret, DOMAIN, NS, String(INPUT_HZ)], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const pinnedBots = pin(bots.pid, "0");
  const { port } = await ask(bots, undefined, "port");
  const online = ask(bots, undefined, "online");
  const annex = await startAnnex(port, secret, rooms);
  const pinnedAnnex = pin(annex.child.pid, "1");
  await online;
  await ask(bots, { cmd: "join" });
  const pid = annex.child.pid;
  const result = await measure({
    start: () => {
      bots.send({ cmd: "count" });
      return { cpu: cpuMs(pid), botsCpu: cpuMs(bots.pid) };
    },
    stop: async (t0) => {
      const counts = await ask(bots, { cmd: "stop-count" }, "snapshots");
      return { ...counts, annexCpuMs: cpuMs(pid) - t0.cpu, botsCpuMs: cpuMs(bots.pid) - t0.botsCpu };
    },
    players: rooms * 2,
  }, annex);
  await annex.stop();
  await ask(bots, { cmd: "exit" });
  return { mode: "fake", pinned: pinnedBots && pinnedAnnex, ...result };
}

async function runProsody(rooms) {
  const { ManagedProsody } = await import(join(ROOT, "dist/src/testing/index.js"));
  const secret = "bench-secret";
  const prosody = await ManagedProsody.start({ components: [{ domain: DOMAIN, secret }], web: { anonymousHost: "anon.localhost" }, logLevel: "error" });
  const annex = await startAnnex(prosody.componentPort, secret, rooms);
  await sleep(1500);
  const players = [];
  const clients = [];
  for (let i = 0; i < rooms * 2; i++) {
    const c = client({ service: `xmpp://127.0.0.1:${prosody.c2sPort}`, domain: "anon.localhost" });
    c.reconnect.stop();
    c.on("error", () => undefined);
    const p = new Player(undefined, (el) => c.send(el).catch(() => undefined));
    c.on("stanza", (el) => p.onStanza(el));
    await c.start();
    p.jid = String(c.jid);
    clients.push(c);
    players.push(p);
  }
  for (const p of players) p.join();
  const inputs = setInterval(() => { for (const p of players) p.input(); }, 1000 / INPUT_HZ);
  const result = await measure({
    start: () => {
      for (const p of players) p.counting = true;
      return { cpu: cpuMs(annex.child.pid), prosodyCpu: cpuMs(prosody.pid) };
    },
    stop: (t0) => {
      for (const p of players) p.counting = false;
      return {
        snapshots: players.reduce((n, p) => n + p.snapshots, 0),
        silent: players.filter((p) => p.snapshots === 0).length,
        annexCpuMs: cpuMs(annex.child.pid) - t0.cpu,
        prosodyCpuMs: cpuMs(prosody.pid) - t0.prosodyCpu,
      };
    },
    players: players.length,
  }, annex);
  await annex.stop();
  let ceiling;
  try {
    // The players go on sending their inputs (to the ceiling's raw link, which ignores them): Prosody routes the same
    // input load in both measurements, so the only difference is who writes the snapshots.
    ceiling = await prosodyCeiling(prosody, secret, players);
  } finally {
    clearInterval(inputs);
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await prosody.stop();
  }
  const snapshotsDeliveredPerSecond = Math.round(result.snapshotDelivery * players.length * SNAP_HZ);
  return { mode: "prosody", ...result, snapshotsDeliveredPerSecond, prosodyCeiling: ceiling,
    deliveredVsCeiling: Math.round((snapshotsDeliveredPerSecond / ceiling.routedPerSecond) * 100) / 100 };
}

/**
 * Prosody's own routing ceiling for pong's stanzas, in the same run, to the same c2s clients: with Annex stopped,
 * a raw XEP-0114 connection on pong's domain (string templates, no parser) sends snapshot-sized headlines to the
 * players round-robin, closed loop (at most CEILING_WINDOW not yet received by the bots), for CEILING_S seconds.
 * The bots parse them exactly as they parse pong's, and go on sending their inputs, so the client side and the input
 * load cost the same in both measurements.
 */
async function prosodyCeiling(prosody, secret, players) {
  const { connectComponent } = await import("../lib/links.mjs");
  // Prosody may not have seen Annex's connection close yet (a conflict, which links.mjs throws from its socket
  // handler): give a starved Prosody time first, then retry the ones that fail as a rejection.
  await sleep(Number(process.env.CEILING_DELAY_MS ?? 3000));
  let link;
  for (let attempt = 0; !link; attempt++) {
    try {
      link = await connectComponent({ port: prosody.componentPort, domain: DOMAIN, secret });
    } catch (err) {
      if (attempt >= 20 || !String(err.message).includes("conflict")) throw err;
      await sleep(250);
    }
  }
  const seconds = Number(process.env.CEILING_S ?? 5);
  const window = Number(process.env.CEILING_WINDOW ?? 2000);
  const received = () => players.reduce((n, p) => n + p.snapshots, 0);
  for (const p of players) { p.snapshots = 0; p.counting = true; }
  const stanza = (to, i) => `<message from="${DOMAIN}" to="${to}" type="headline"><s xmlns="${NS}" r="r1" t="${i}" a="${i % 1000}" b="400,300,5,-3" p="250,250" sc="0,0" ph="play"/><no-store xmlns="urn:xmpp:hints"/></message>`;
  let sent = 0;
  const c0 = cpuMs(prosody.pid);
  const t0 = performance.now();
  let warm = -1;
  let warmAt = 0;
  while (performance.now() - t0 < seconds * 1000) {
    if (warm < 0 && performance.now() - t0 > 1000) { warm = received(); warmAt = performance.now(); }
    let batch = "";
    while (sent - received() < window) batch += stanza(players[sent % players.length].jid, sent++);
    if (batch) link.socket.write(batch);
    await sleep(1);
  }
  const routed = received() - warm;
  const elapsed = (performance.now() - warmAt) / 1000;
  const result = { routedPerSecond: Math.round(routed / elapsed), window, seconds, prosodyCores: Math.round(((cpuMs(prosody.pid) - c0) / (seconds * 1000)) * 1000) / 1000 };
  for (const p of players) p.counting = false;
  link.socket.destroy();
  return result;
}

for (const n of roomList.split(",").map(Number)) {
  const result = mode === "prosody" ? await runProsody(n) : await runFake(n);
  console.log(JSON.stringify(result));
}
