#!/usr/bin/env node
// Profiles Annex in one case outside the main run and prints the hot spots.
// usage: node bench/profile-one.mjs large        400 KiB non-ASCII stanzas in 1 000-byte slices (direct)
//        node bench/profile-one.mjs prosody-w1   one message in flight through Prosody
//        node bench/profile-one.mjs direct-w32   direct saturation, window 32 (below maxInFlight)
//        node bench/profile-one.mjs direct-w256  direct saturation, window 256 (a burst beyond maxInFlight: the queued path)
import { pin } from "./lib/proc.mjs";
import { profileAnnex } from "./lib/profile.mjs";
import { closedLoop, largeRun, startProsody } from "./lib/session.mjs";
import { largeWorkload } from "./lib/workloads.mjs";

pin(process.pid, "0");
const which = process.argv[2] ?? "large";
let prosody;
let options;
if (which === "large") {
  const workload = largeWorkload({ bytes: 409600, sliceBytes: 1000 });
  options = { step: (gen, ctx) => largeRun(gen, ctx, { workload, bytes: 409600, count: 15, window: 4 }) };
} else if (which === "prosody-w1") {
  prosody = await startProsody();
  options = { mode: "prosody", prosody, step: (gen, ctx) => closedLoop(gen, ctx, { window: 1, warmMs: 500, measureMs: 3000 }) };
} else if (/^direct-w\d+$/.test(which)) {
  const window = Number(which.slice("direct-w".length));
  options = { step: (gen, ctx) => closedLoop(gen, ctx, { window, warmMs: 1000, measureMs: 5000 }) };
} else throw new Error(`unknown case ${which}`);
try {
  const p = await profileAnnex(options);
  const brief = (f) => `${f.selfPct}% self, ${f.inclusivePct}% incl  ${f.function}  ${f.where}`;
  const { latency, counts, cpuUsPerStanza, mbPerSec, repliesPerSec } = p.run;
  console.log(JSON.stringify({ run: { repliesPerSec, mbPerSec, cpuUsPerStanza, latency, counts }, busyMs: p.busyMs, idleMs: p.idleMs, groups: p.groups }));
  console.log(["top self:", ...p.topSelf.slice(0, 14).map(brief), "annex inclusive:", ...p.annexInclusive.slice(0, 12).map(brief)].join("\n"));
} finally {
  await prosody?.stop();
}
