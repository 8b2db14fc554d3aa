#!/usr/bin/env node
// Sums up bench/before-after.sh's logs: lines "<variant> {json}" from bench/pong/bench.mjs, snapshot-cost.mjs and
// bench/feed/fanout.mjs become median [min–max] per variant and case, as Markdown table rows.
//   node bench/summarize.mjs /tmp/perf-runs
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "/tmp/perf-runs";
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs, d = 1) => xs.length === 0 ? "–" : `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;

function lines(file) {
  if (!existsSync(join(dir, file))) return [];
  const out = [];
  for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
    const m = /^(before|after) (\{.*)$/.exec(line);
    if (m) try { out.push({ v: m[1], r: JSON.parse(m[2]) }); } catch { /* a pretty-printed report: see below */ }
  }
  return out;
}
function group(rows, key) {
  const g = new Map();
  for (const row of rows) { const k = key(row); if (k === undefined) continue; g.set(k, [...(g.get(k) ?? []), row.r]); }
  return g;
}

// Pong, fake mode
const pong = group(lines("pong-fake.log").filter((x) => x.r.mode === "fake"), (x) => `${x.r.rooms} ${x.v}`);
if (pong.size) {
  console.log("| rooms | Annex | lateness p99 ms | dropped ticks | snapshot delivery | Annex cores | Annex µs per room-second | Annex µs per snapshot | generator cores | faults |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const [k, rs] of [...pong].sort((a, b) => parseInt(a[0]) - parseInt(b[0]) || a[0].localeCompare(b[0]))) {
    const [rooms, v] = k.split(" ");
    const faults = rs.reduce((n, r) => n + r.faults.malformed + r.faults.unexpected + r.faults.silentPlayers, 0);
    console.log(`| ${rooms} | ${v} | ${fmt(rs.map((r) => r.latenessMs.p99))} | ${fmt(rs.map((r) => r.droppedTicks), 0)} | ${fmt(rs.map((r) => r.snapshotDelivery), 3)} | ${fmt(rs.map((r) => r.annexCores), 3)} | ${fmt(rs.map((r) => r.annexCpuUsPerRoomSecond), 0)} | ${fmt(rs.map((r) => r.annexCpuUsPerSnapshot))} | ${fmt(rs.map((r) => r.generatorCores), 3)} | ${faults} (n=${rs.length}) |`);
  }
  console.log();
}

// Pong through Prosody
// Pong through Prosody: every run, in the order they ran (pong-prosody*.log)
const pp = readdirSync(dir).filter((f) => /^pong-prosody.*\.log$/.test(f)).sort().flatMap((f) => lines(f)).filter((x) => x.r.mode === "prosody" && x.r.prosodyCeiling);
if (pp.length) {
  console.log("| rooms | Annex | snapshot delivery | delivered/s | Prosody ceiling/s (same run) | delivered / ceiling | Annex cores | Prosody cores (pong / ceiling) | lateness p99 ms |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const { v, r } of pp) {
    console.log(`| ${r.rooms} | ${v} | ${r.snapshotDelivery} | ${r.snapshotsDeliveredPerSecond} | ${r.prosodyCeiling.routedPerSecond} | ${r.deliveredVsCeiling} | ${r.annexCores} | ${r.prosodyCores} / ${r.prosodyCeiling.prosodyCores} | ${r.latenessMs.p99} |`);
  }
  console.log();
}

// Snapshot cost
const sc = group(lines("snapshot-cost.log").filter((x) => x.r.case), (x) => `${x.r.case}|${x.v}`);
if (sc.size) {
  console.log("| case | Annex | CPU µs per snapshot |");
  console.log("|---|---|---|");
  for (const [k, rs] of sc) { const [c, v] = k.split("|"); console.log(`| ${c} | ${v} | ${fmt(rs.map((r) => r.cpuUsPerSnapshot.median), 2)} (n=${rs.length}) |`); }
  console.log();
}

// Input cost (input-cost.mjs: one line per invocation, its repetitions' median)
const ic = group(lines("input-cost.log").filter((x) => x.r.cpuUsPerInput), (x) => x.v);
if (ic.size) {
  console.log("| Annex | CPU µs per input (median of each invocation's repetitions) | errors, error replies, drops |");
  console.log("|---|---|---|");
  for (const [v, rs] of ic) {
    const faults = rs.reduce((n, r) => n + r.errors + r.errorReplies + Object.values(r.drops).reduce((a, b) => a + b, 0), 0);
    console.log(`| ${v} | ${fmt(rs.map((r) => r.cpuUsPerInput.median), 2)} (n=${rs.length}) | ${faults} |`);
  }
  console.log();
}

// Feed: fanout.mjs prints a pretty JSON report after its "<variant>" prefix only on the first line.
if (existsSync(join(dir, "feed.log"))) {
  const text = readFileSync(join(dir, "feed.log"), "utf8");
  const reports = [];
  for (const m of text.matchAll(/^(before|after) \{\n([\s\S]*?)\n\1 \}$/gm)) {
    const body = m[2].split("\n").map((l) => l.replace(/^(before|after) /, "")).join("\n");
    try { reports.push({ v: m[1], r: JSON.parse(`{${body}}`) }); } catch { /* skip */ }
  }
  const fg = group(reports, (x) => `${x.r.storage ?? "sqlite"} ${x.v}`);
  console.log("| storage, Annex | latency p50 ms | latency p99 ms | Prosody alone p50 / p99 ms | HTTP alone p50 / p99 ms | publishes/s | fan-out offered/s | delivered/s | coalesced | Prosody ceiling/s | fan-out / ceiling | Annex / Prosody CPU ms (fan-out phase) |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const [v, rs] of [...fg].sort((a, b) => a[0].localeCompare(b[0]))) {
    const f = (get, d = 0) => fmt(rs.map(get), d);
    const floor = rs.filter((r) => r.latencyFloor);
    const floorText = floor.length ? `${fmt(floor.map((r) => r.latencyFloor.p50Us / 1000), 1)} / ${fmt(floor.map((r) => r.latencyFloor.p99Us / 1000), 1)}` : "–";
    const http = rs.filter((r) => r.latencyHttp);
    const httpText = http.length ? `${fmt(http.map((r) => r.latencyHttp.p50Us / 1000), 2)} / ${fmt(http.map((r) => r.latencyHttp.p99Us / 1000), 2)}` : "–";
    console.log(`| ${v} | ${f((r) => r.latency.p50Us / 1000, 1)} | ${f((r) => r.latency.p99Us / 1000, 1)} | ${floorText} | ${httpText} | ${f((r) => r.fanout.publishedPerS)} | ${f((r) => r.fanout.offeredNotificationsPerS)} | ${f((r) => r.fanout.deliveredNotificationsPerS)} | ${f((r) => r.fanout.coalescedOrDropped)} | ${f((r) => r.prosodyCeiling.routedPerS)} | ${f((r) => r.fanoutVsCeiling, 2)} | ${f((r) => r.fanout.cpu.annexMs)} / ${f((r) => r.fanout.cpu.prosodyMs)} (n=${rs.length}) |`);
  }
}
