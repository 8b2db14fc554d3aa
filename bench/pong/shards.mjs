// Pong shards benchmark: the same load through 1, 2 and 3 shards (plus the front door) on one Prosody (or a
// two-node ejabberd cluster) and one PostgreSQL, all on this machine. Not a test: nothing here asserts timing.
// Results and method: docs/scaling.md.
//
//   npx tsc -p tsconfig.json && node bench/pong/shards.mjs [shardCounts=1,2,3] [rooms=100]
//   SERVER=ejabberd-cluster node bench/pong/shards.mjs [shardCounts] [rooms]
//
// SERVER=prosody (the default): one Prosody. SERVER=ejabberd-cluster: two ejabberd nodes joined in one Erlang
// cluster (ManagedEjabberdCluster); the bots connect to node 1, the front door and the shards to node 2, so every
// stanza between a player and a game crosses the cluster. The JSON line then says "server":"ejabberd-cluster" and
// its cpuPercent has each node's beam.smp ("ejabberd1", "ejabberd2") where the Prosody line has "prosody".
//
// Per shard count: starts a private PostgreSQL database, Prosody (anonymous host for the bots), K shard processes
// and the front door (`annex run` each), connects 2N anonymous bot clients speaking the compact protocol, checks
// them in at the front door (every one must get a <start at>), sends inputs at 10 Hz to the room's shard, and
// measures snapshots received per shard and the CPU of every process (/proc/<pid>/stat) over MEASURE_S. Then one
// player of each room leaves, and the bench checks that every game finished and is on the shared leaderboard.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import clientPkg from "@xmpp/client";
import pg from "pg";

const { client, xml } = clientPkg;
const ROOT = new URL("../../", import.meta.url).pathname;
const ANNEX = join(ROOT, "dist/bin/annex.js");
const NS = "urn:annex:pong:1";
const FRONT = "pong.bench";
const WARMUP_S = Number(process.env.WARMUP_S ?? 4);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);
const INPUT_HZ = 10;
const SNAP_HZ = 20;
const [shardList = "1,2,3", roomArg = "100"] = process.argv.slice(2);
const ROOMS = Number(roomArg);
const SERVER = process.env.SERVER ?? "prosody";
if (SERVER !== "prosody" && SERVER !== "ejabberd-cluster") {
  console.error(`SERVER must be "prosody" or "ejabberd-cluster", got ${JSON.stringify(SERVER)}`);
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) of a process so far, from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The pid of the beam.smp (the Erlang VM) below an ejabberd node: ManagedEjabberd's pid is ejabberdctl's shell,
 * the leader of its own process group, and the VM is the group's beam.smp.
 */
function beamPid(groupLeader) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const pgrp = Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[2]);
      if (comm === "beam.smp" && pgrp === groupLeader) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no beam.smp in process group ${groupLeader}`);
}

/**
 * The XMPP server of one run: where the bots connect (c2sPort, anonymous domain), where the components connect,
 * the processes whose CPU the line reports, and stop().
 */
async function startXmpp(components) {
  const testing = await import(join(ROOT, "dist/src/testing/index.js"));
  if (SERVER === "prosody") {
    const prosody = await testing.ManagedProsody.start({ components, web: { anonymousHost: "anon.localhost" }, logLevel: "error" });
    return { c2sPort: prosody.c2sPort, componentPort: prosody.componentPort, pids: { prosody: prosody.pid }, stop: () => prosody.stop() };
  }
  const cluster = await testing.ManagedEjabberdCluster.start({ nodes: 2, components, web: { anonymousHost: "anon.localhost" } });
  try {
    const pids = Object.fromEntries(cluster.nodes.map((n, i) => [`ejabberd${i + 1}`, beamPid(n.pid)]));
    return { c2sPort: cluster.nodes[0].c2sPort, componentPort: cluster.nodes[1].componentPort, pids, stop: () => cluster.stop() };
  } catch (e) {
    await cluster.stop();
    throw e;
  }
}

async function startAnnex(port, domain, secret, postgres) {
  const dir = await mkdtemp(join(tmpdir(), "pong-shards-bench-"));
  await writeFile(join(dir, "secret"), secret);
  const config = {
    server: { host: "127.0.0.1", port }, log: { level: "info" },
    components: [{ type: "pong", domain, secretFile: "secret", maxInFlight: 100000,
      options: { tickHz: 60, snapshotHz: SNAP_HZ, maxRooms: ROOMS + 10, pointsToWin: 1000, statsSeconds: 0, inputRateHz: 30, queueTimeoutSeconds: 600,
        cluster: { postgres, frontDoor: FRONT } } }],
  };
  await writeFile(join(dir, "annex.json"), JSON.stringify(config));
  const child = spawn(process.execPath, [ANNEX, "run", "--config", join(dir, "annex.json")], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d.toString()));
  child.stderr.on("data", (d) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!/"msg":"online"/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${domain} did not come online:\n${out}`);
    await sleep(50);
  }
  if (process.env.KEEP_LOGS) child.once("exit", () => void writeFile(`/tmp/pong-shards-bench-${domain}.log`, out));
  return { domain, child, stop: () => new Promise((r) => { if (child.exitCode !== null) return r(); child.once("exit", r); child.kill("SIGTERM"); }) };
}

class Player {
  constructor(c) {
    this.c = c;
    this.seq = 0;
    this.ballY = 300;
    this.snapshots = 0;
    this.counting = false;
    this.start = undefined;
    this.over = undefined;
  }
  onStanza(el) {
    if (process.env.DEBUG_STANZAS) console.error(String(el).slice(0, 200));
    const start = el.getChild("start", NS);
    if (start) this.start = start.attrs;
    const ev = el.getChild("ev", NS);
    if (ev?.attrs.k === "over") this.over = ev.attrs.reason;
    const s = el.getChild("s", NS);
    if (!s) return;
    if (this.counting) this.snapshots++;
    this.ballY = Number(s.attrs.b.split(",")[1]);
  }
  send(to, name, attrs = {}) {
    return this.c.send(xml("message", { to, type: "headline" }, xml(name, { xmlns: NS, ...attrs }))).catch(() => undefined);
  }
  input() {
    if (!this.start || this.over) return;
    const y = Math.max(0, Math.min(500, Math.round(this.ballY - 50 + (Math.random() - 0.5) * 60)));
    void this.send(this.start.at, "in", { seq: String(++this.seq), y: String(y) });
  }
}

async function run(shardCount, pgServer) {
  const url = await pgServer.createDatabase();
  const shards = Array.from({ length: shardCount }, (_, i) => `pong-${i + 1}.bench`);
  const secret = "bench-secret";
  const xmpp = await startXmpp([FRONT, ...shards].map((domain) => ({ domain, secret })));
  const procs = [];
  const players = [];
  try {
    return await measureWith(shardCount, shards, url, xmpp, procs, players);
  } finally {
    await Promise.all(players.map((p) => p.c.stop().catch(() => undefined)));
    for (const p of procs) await p.stop();
    await xmpp.stop();
  }
}

async function measureWith(shardCount, shards, url, xmpp, procs, players) {
  const secret = "bench-secret";
  for (const d of shards) procs.push(await startAnnex(xmpp.componentPort, d, secret, url));
  procs.push(await startAnnex(xmpp.componentPort, FRONT, secret, url));
  const db = new pg.Client(url);
  await db.connect();
  while ((await db.query("SELECT 1 FROM pong_shards")).rowCount < shardCount) await sleep(100);

  for (let i = 0; i < ROOMS * 2; i++) {
    const c = client({ service: `xmpp://127.0.0.1:${xmpp.c2sPort}`, domain: "anon.localhost" });
    c.reconnect.stop();
    c.on("error", () => undefined);
    const p = new Player(c);
    c.on("stanza", (el) => p.onStanza(el));
    await c.start();
    players.push(p);
  }
  const t0 = Date.now();
  for (const p of players) await p.send(FRONT, "join");
  while (players.some((p) => !p.start) && Date.now() - t0 < 60_000) await sleep(100);
  const seated = players.filter((p) => p.start).length;
  const seatedMs = Date.now() - t0;

  const inputs = setInterval(() => { for (const p of players) p.input(); }, 1000 / INPUT_HZ);
  await sleep(WARMUP_S * 1000);
  const pids = { ...Object.fromEntries(procs.map((p) => [p.domain, p.child.pid])), ...xmpp.pids, bench: process.pid };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  for (const p of players) p.counting = true;
  const m0 = Date.now();
  await sleep(MEASURE_S * 1000);
  const seconds = (Date.now() - m0) / 1000;
  for (const p of players) p.counting = false;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, Math.round(((cpuSeconds(pid) - cpu0[k]) / seconds) * 1000) / 10]));
  clearInterval(inputs);

  const perShard = {};
  for (const d of shards) {
    const mine = players.filter((p) => p.start?.at === d);
    const received = mine.reduce((n, p) => n + p.snapshots, 0);
    perShard[d] = { rooms: mine.length / 2, snapshotsPerSecond: Math.round(received / seconds), delivery: mine.length ? Math.round((received / (mine.length * SNAP_HZ * seconds)) * 1000) / 1000 : null, cpuPercent: cpu[d] };
  }
  const received = players.reduce((n, p) => n + p.snapshots, 0);

  // Every game finishes: the left player of each room leaves (a forfeit), and the result goes on the shared board.
  for (const p of players) if (p.start?.side === "0") await p.send(p.start.at, "leave");
  const f0 = Date.now();
  while (players.some((p) => p.start && !p.over) && Date.now() - f0 < 30_000) await sleep(100);
  let games = 0;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
    games = Number((await db.query("SELECT count(*) AS n FROM pong_games")).rows[0].n);
    if (games >= ROOMS) break;
  }
  const onBoard = Number((await db.query("SELECT count(*) AS n FROM pong_players")).rows[0].n);
  const roomsLeft = Number((await db.query("SELECT count(*) AS n FROM pong_rooms")).rows[0].n);
  await db.end();
  const serverCpu = Object.fromEntries(Object.keys(xmpp.pids).map((k) => [k, cpu[k]]));
  return {
    ...(SERVER === "prosody" ? {} : { server: SERVER }),
    shards: shardCount, rooms: ROOMS, seated, seatedMs, measuredSeconds: Math.round(seconds * 10) / 10,
    snapshotsPerSecond: Math.round(received / seconds), delivery: Math.round((received / (players.length * SNAP_HZ * seconds)) * 1000) / 1000,
    perShard, cpuPercent: { frontDoor: cpu[FRONT], ...serverCpu, bench: cpu.bench },
    finished: players.filter((p) => p.over).length / 2, gamesStored: games, playersOnBoard: onBoard, roomsLeftInDirectory: roomsLeft,
  };
}

const { ManagedPostgres } = await import(join(ROOT, "dist/src/testing/index.js"));
const pgServer = await ManagedPostgres.start();
try {
  for (const k of shardList.split(",").map(Number)) console.log(JSON.stringify(await run(k, pgServer)));
} finally {
  await pgServer.stop();
}
