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

const { Parser } = xmlPkg;
const { client, xml } = clientPkg;
const ROOT = new URL("../../", import.meta.url).pathname;
const ANNEX = join(ROOT, "dist/bin/annex.js");
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
  const child = spawn(process.execPath, [ANNEX, "run", "--config", join(dir, "annex.json")], { stdio: ["ignore", "pipe", "pipe"] });
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

async function measure(players, annex) {
  const inputs = setInterval(() => { for (const p of players) p.input(); }, 1000 / INPUT_HZ);
  await sleep(WARMUP_S * 1000);
  // Start counting at a stats-window boundary so both windows lie inside the measurement.
  const boundary = annex.stats.length;
  while (annex.stats.length === boundary) await sleep(5);
  const before = annex.stats.length;
  for (const p of players) p.counting = true;
  const t0 = Date.now();
  // Two stats windows of MEASURE_S/2 each fall inside the measurement.
  while (annex.stats.length < before + 2 && Date.now() - t0 < MEASURE_S * 3000) await sleep(100);
  const measured = (Date.now() - t0) / 1000;
  for (const p of players) p.counting = false;
  clearInterval(inputs);
  const windows = annex.stats.slice(before, before + 2);
  const received = players.reduce((n, p) => n + p.snapshots, 0);
  const expected = players.length * SNAP_HZ * measured;
  const worst = (k, q) => Math.max(...windows.map((w) => w.loop[k][q]));
  return {
    rooms: players.length / 2,
    latenessMs: { p50: worst("latenessMs", "p50"), p99: worst("latenessMs", "p99"), max: worst("latenessMs", "max") },
    stepMs: { p50: worst("stepMs", "p50"), p99: worst("stepMs", "p99"), max: worst("stepMs", "max") },
    droppedTicks: windows.at(-1)?.loop.droppedTicks,
    roomsRunning: windows.at(-1)?.rooms,
    snapshotDelivery: Math.round((received / expected) * 1000) / 1000,
    measuredSeconds: Math.round(measured * 10) / 10,
  };
}

async function runFake(rooms) {
  const secret = "bench-secret";
  const byJid = new Map();
  const server = await fakeServer(secret, (el) => byJid.get(el.attrs.to)?.onStanza(el));
  const annex = await startAnnex(server.port, secret, rooms);
  while (!byJid.size && annex.child.exitCode === null) {
    await sleep(200);
    if (annex.child.exitCode !== null) throw new Error("annex exited");
    break;
  }
  await sleep(1500); // connected and online
  const players = [];
  for (let i = 0; i < rooms * 2; i++) {
    const p = new Player(`p${i}@bench.test/bot`, server.send);
    byJid.set(p.jid, p);
    players.push(p);
    p.join();
  }
  const result = await measure(players, annex);
  await annex.stop();
  server.close();
  return { mode: "fake", ...result };
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
  const result = await measure(players, annex);
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await annex.stop();
  await prosody.stop();
  return { mode: "prosody", ...result };
}

for (const n of roomList.split(",").map(Number)) {
  const result = mode === "prosody" ? await runProsody(n) : await runFake(n);
  console.log(JSON.stringify(result));
}
