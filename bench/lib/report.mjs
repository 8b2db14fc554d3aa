// Renders bench/REPORT.md from the result files: machine, targets with verdicts, every number with its spread.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SATURATION_WINDOW } from "./scenarios.mjs";
import { median } from "./stats.mjs";
import { BENCH_DIR, VARIANTS } from "./variants.mjs";

const MODE_TITLE = { direct: "Direct (the generator is the server; isolates the component)", prosody: "Through Prosody (the generator is a second component, load.localhost)" };

function num(x, digits = 0) {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }).replace(/,/g, " ");
}

function sp(s, digits = 0) {
  if (!s || !Number.isFinite(s.median)) return "–";
  if (s.n === 1 || s.min === s.max) return num(s.median, digits);
  return `${num(s.median, digits)} [${num(s.min, digits)}–${num(s.max, digits)}]`;
}

function label(unitLabel) {
  const [variant, handlers] = unitLabel.split("/");
  const v = VARIANTS[variant];
  return v ? `${v.short} ${v.label}${handlers ? ` (${handlers} handler${handlers === "1" ? "" : "s"})` : ""}` : unitLabel;
}

function faults(c) {
  if (!c) return "–";
  const parts = ["lost", "backlog", "duplicates", "corrupt", "wrong", "errors", "unexpected"].filter((k) => c[k]).map((k) => `${c[k]} ${k}`);
  return parts.length ? `**${parts.join(", ")}**` : "0";
}

/** Per-repetition ratios a/b of a metric (pairs made by repetition index: the interleaved runs). */
function ratio(raw, aLabel, bLabel, key, get) {
  const a = raw?.[aLabel]?.[key] ?? [];
  const b = raw?.[bLabel]?.[key] ?? [];
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!a[i].error && !b[i].error) r.push(get(a[i]) / get(b[i]));
  if (!r.length) return undefined;
  return { median: median(r), min: Math.min(...r), max: Math.max(...r), n: r.length };
}

function verdict(r, target, higherIsBetter = true) {
  if (!r) return "not measured";
  const met = higherIsBetter ? r.median >= target : r.median <= target;
  const by = higherIsBetter ? r.median / target : target / r.median;
  return met ? `**met** (${num(r.median, 2)}× vs ${target}×)` : `**missed** by ${num((1 - by) * 100, 0)} % (${num(r.median, 2)}× vs ${target}×)`;
}

const rps = (x) => x.repliesPerSec;
const cpu = (x) => x.cpuUsPerStanza;
const p50 = (x) => x.latency.p50Us;
const p99 = (x) => x.latency.p99Us;

function targets(all) {
  const sat = all.saturation;
  const w = `w${SATURATION_WINDOW}`;
  const rows = [];
  const add = (what, r, target, higher, note = "") => rows.push(`| ${what} | ${r ? sp(r, 2) : "–"} | ${higher ? "≥" : "≤"} ${target} | ${verdict(r, target, higher)} | ${note} |`);
  add("Saturation, direct: Annex / raw throughput", ratio(sat?.raw?.direct, "annex", "raw", w, rps), 1.5, true, "issue 9 target");
  add("Saturation, through Prosody: Annex / floor throughput", ratio(sat?.raw?.prosody, "annex", "floor", w, rps), 0.95, true, "issue 9 target (never the bottleneck)");
  // Window 1 is the latency scenario (one stanza in flight): its throughput is one over the round trip.
  add("Latency, direct, window 1: Annex / raw throughput", ratio(all.latency?.raw?.direct, "annex", "raw", "w1", rps), 1.5, true, "issue 20 goal (every window 1–256)");
  for (const k of ["w8", "w128", "w256"]) add(`Saturation, direct, window ${k.slice(1)}: Annex / raw throughput`, ratio(sat?.raw?.direct, "annex", "raw", k, rps), 1.5, true, "issue 20 goal (every window 1–256)");
  add("Saturation, direct: Annex CPU per stanza, window 256 / window 32", ratioAcross(sat?.raw?.direct, "annex", "annex", "w256", w, cpu), 1.2, false, "issue 20 goal (no slow path under bursts)");
  add("Saturation, through Prosody, window 256: Annex / floor throughput", ratio(sat?.raw?.prosody, "annex", "floor", "w256", rps), 0.95, true, "issue 20 goal (saturates Prosody)");
  if (sat?.raw?.direct?.before) {
    add("Saturation, direct, window 32: Annex / Annex before, throughput", ratio(sat.raw.direct, "annex", "before", w, rps), 1, true, "before/after, same run");
    add("Saturation, direct, window 256: Annex / Annex before, CPU per stanza", ratio(sat.raw.direct, "annex", "before", "w256", cpu), 1, false, "before/after, same run");
  }
  add("Saturation, direct: Annex / raw CPU per stanza", ratio(sat?.raw?.direct, "annex", "raw", w, cpu), 1.1, false, "research S2 goal");
  add("Latency, direct: Annex / raw p50", ratio(all.latency?.raw?.direct, "annex", "raw", "w1", p50), 1.2, false, "research S1 goal");
  add("Latency, direct: Annex / raw p99", ratio(all.latency?.raw?.direct, "annex", "raw", "w1", p99), 1.5, false, "research S1 goal");
  add("Open loop at 50 %, direct: Annex / raw p99", ratio(all.openloop?.raw?.direct, "annex", "raw", "r50", p99), 1.25, false, "research S3 goal");
  add("IQ, 50 vs 1 handlers: Annex 50 / Annex 1", ratioAcross(all.iq?.raw?.direct, "annex/50", "annex/1", "h50", "h1"), 0.8, true, "research S4 goal");
  add("IQ, 50 handlers: Annex / raw", ratio(all.iq?.raw?.direct ? { a: all.iq.raw.direct["annex/50"], b: all.iq.raw.direct["raw/50"] } : undefined, "a", "b", "h50", rps), 0.9, true, "research S4 goal");
  const corrupt = ["direct", "prosody"].map((m) => Object.values(all.large?.summary?.[m]?.annex ?? {}).reduce((n, s) => n + (s.counts?.corrupt ?? 0), 0));
  const loss = lossOf(all, "annex");
  return [
    "| Target | Measured (median [min–max] of per-repetition ratios) | Goal | Verdict | Source |",
    "|---|---|---|---|---|",
    ...rows,
    `| Large non-ASCII stanzas: Annex corrupted bodies | direct ${corrupt[0]}, through Prosody ${corrupt[1]} | 0 | ${all.large ? (corrupt[0] + corrupt[1] === 0 ? "**met**" : "**missed**") : "not measured"} | issue 9 target |`,
    `| Annex: lost + duplicate + unexpected replies, all scenarios | ${loss.text} | 0 | ${loss.total === 0 ? "**met**" : "**missed**"} | research §4.1 (must be 0) |`,
  ].join("\n");
}

function ratioAcross(raw, aLabel, bLabel, aKey, bKey, metric = rps) {
  if (!raw?.[aLabel] || !raw?.[bLabel]) return undefined;
  return ratio({ a: { k: raw[aLabel][aKey] }, b: { k: raw[bLabel][bKey] } }, "a", "b", "k", metric);
}

function lossOf(all, variant) {
  const parts = [];
  let total = 0;
  for (const name of ["latency", "saturation", "openloop", "iq", "large"]) {
    for (const [mode, units] of Object.entries(all[name]?.summary ?? {})) {
      for (const [unitLabel, steps] of Object.entries(units)) {
        if (unitLabel.split("/")[0] !== variant) continue;
        for (const [key, s] of Object.entries(steps)) {
          const n = (s.counts?.lost ?? 0) + (s.counts?.duplicates ?? 0) + (s.counts?.unexpected ?? 0);
          if (n) parts.push(`${name} ${mode} ${unitLabel} ${key}: ${n}`);
          total += n;
        }
      }
    }
  }
  return { total, text: parts.length ? parts.join("; ") : "0" };
}

function latencyTable(summary) {
  const out = [];
  for (const [mode, units] of Object.entries(summary)) {
    out.push(`\n**${MODE_TITLE[mode]}**\n`, "| Variant | p50 µs | p99 µs | p99.9 µs | max µs | round trips/s | CPU µs/stanza | faults |", "|---|---|---|---|---|---|---|---|");
    for (const [u, steps] of Object.entries(units)) {
      const s = steps.w1;
      out.push(`| ${label(u)} | ${sp(s.p50Us)} | ${sp(s.p99Us)} | ${sp(s.p999Us)} | ${sp(s.maxUs)} | ${sp(s.repliesPerSec)} | ${sp(s.cpuUsPerStanza, 1)} | ${faults(s.counts)}${failures(s)} |`);
    }
    const f = units.annex?.w1?.p50Us?.median;
    const c = units.floor?.w1?.p50Us?.median;
    if (Number.isFinite(f) && Number.isFinite(c)) out.push(`\nAnnex − floor at p50: ${num(f - c)} µs (the framework's own share of one round trip).`);
  }
  return out.join("\n");
}

function failures(s) {
  return s.failed?.length ? ` (${s.failed.length} failed: ${s.failed[0].slice(0, 120)})` : "";
}

function saturationTable(summary, raw) {
  const out = [];
  for (const [mode, units] of Object.entries(summary)) {
    const keys = [...new Set(Object.values(units).flatMap((s) => Object.keys(s)))];
    for (const key of keys) {
      const prosody = mode === "prosody";
      out.push(
        `\n**${MODE_TITLE[mode]}, window ${key.slice(1)}**\n`,
        `| Variant | replies/s | CPU µs/stanza | CPU use (1 = one core) |${prosody ? " Prosody µs/stanza | Prosody CPU use |" : ""} p50 µs | p99 µs | RSS KiB | faults |`,
        `|---|---|---|---|${prosody ? "---|---|" : ""}---|---|---|---|`,
      );
      for (const [u, steps] of Object.entries(units)) {
        const s = steps[key];
        if (!s) continue;
        out.push(
          `| ${label(u)} | ${sp(s.repliesPerSec)} | ${sp(s.cpuUsPerStanza, 1)} | ${sp(s.cpuUtilisation, 2)} |${prosody ? ` ${sp(s.prosodyCpuUsPerStanza, 1)} | ${sp(s.prosodyCpuUtilisation, 2)} |` : ""} ${sp(s.p50Us)} | ${sp(s.p99Us)} | ${sp(s.rssKiB)} | ${faults(s.counts)}${failures(s)} |`,
        );
      }
      const r = raw[mode];
      const lines = [
        ["Annex / raw, throughput", ratio(r, "annex", "raw", key, rps)],
        ["Annex / raw, CPU per stanza", ratio(r, "annex", "raw", key, cpu)],
        ["Annex / floor, throughput", ratio(r, "annex", "floor", key, rps)],
        ["Annex / floor, CPU per stanza", ratio(r, "annex", "floor", key, cpu)],
        ["Annex / Slixmpp, throughput", ratio(r, "annex", "slixmpp", key, rps)],
      ].filter(([, x]) => x);
      if (lines.length) out.push("", ...lines.map(([t, x]) => `- ${t}: ${sp(x, 2)}`));
    }
  }
  return out.join("\n");
}

function openLoopTable(data) {
  const out = [`Capacity of the raw variant used for the rates: ${num(data.params?.capacity)} replies/s (${data.params?.capacityFrom}).`];
  for (const [mode, units] of Object.entries(data.summary)) {
    out.push(`\n**${MODE_TITLE[mode]}**\n`, "| Variant | share | rate /s | achieved /s | sustained (reps) | p50 µs | p99 µs | p99.9 µs | max µs | CPU µs/stanza | faults |", "|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [u, steps] of Object.entries(units))
      for (const [key, s] of Object.entries(steps))
        out.push(`| ${label(u)} | ${key.slice(1)} % | ${num(s.rate)} | ${sp(s.repliesPerSec)} | ${s.sustained ?? 0}/${s.reps} | ${sp(s.p50Us)} | ${sp(s.p99Us)} | ${sp(s.p999Us)} | ${sp(s.maxUs)} | ${sp(s.cpuUsPerStanza, 1)} | ${faults(s.counts)}${failures(s)} |`);
  }
  return out.join("\n");
}

function iqTable(data) {
  const out = [];
  for (const [mode, units] of Object.entries(data.summary)) {
    out.push(`\n**${MODE_TITLE[mode]}, window ${SATURATION_WINDOW}; 1 in 20 requests to an unregistered namespace**\n`, "| Variant | replies/s | CPU µs/stanza | p99 µs | wrong replies (kind) | faults |", "|---|---|---|---|---|---|");
    for (const [u, steps] of Object.entries(units)) {
      const s = Object.values(steps)[0];
      const wrong = Object.entries(s.wrongKinds ?? {}).map(([k, v]) => `${v.count}× ${k}`).join("; ") || "none";
      out.push(`| ${label(u)} | ${sp(s.repliesPerSec)} | ${sp(s.cpuUsPerStanza, 1)} | ${sp(s.p99Us)} | ${wrong} | ${faults({ ...s.counts, wrong: 0 })}${failures(s)} |`);
    }
    out.push("");
    for (const v of ["annex", "raw", "slixmpp"]) {
      const r = ratioAcross(data.raw[mode], `${v}/50`, `${v}/1`, "h50", "h1");
      if (r) out.push(`- ${VARIANTS[v].short} ${v}: 50 handlers / 1 handler throughput ${sp(r, 2)}`);
    }
  }
  return out.join("\n");
}

function largeTable(summary) {
  const out = [];
  for (const [mode, units] of Object.entries(summary)) {
    out.push(`\n**${MODE_TITLE[mode]}${mode === "direct" ? "; every stanza written in 1 000-byte slices" : ""}**\n`, "| Variant | body bytes | MB/s (body, one way) | p99 µs | peak RSS KiB | CPU µs/stanza | corrupted | faults |", "|---|---|---|---|---|---|---|---|");
    for (const [u, steps] of Object.entries(units))
      for (const [key, s] of Object.entries(steps))
        out.push(`| ${label(u)} | ${num(Number(key))} | ${sp(s.mbPerSec, 1)} | ${sp(s.p99Us)} | ${sp(s.rssKiB)} | ${sp(s.cpuUsPerStanza, 0)} | ${s.counts?.corrupt ? `**${s.counts.corrupt} of ${s.counts.sent}**` : "0"} | ${faults({ ...s.counts, corrupt: 0 })}${failures(s)} |`);
  }
  return out.join("\n");
}

function profileSection(p) {
  const row = (f) => `| ${f.function} | ${f.where} | ${num(f.selfPct, 1)} | ${num(f.inclusivePct, 1)} |`;
  return [
    `Annex on the direct saturation scenario (window ${SATURATION_WINDOW}) under \`node --cpu-prof\`: ${num(p.run?.repliesPerSec)} replies/s, ${num(p.run?.cpuUsPerStanza, 1)} CPU µs/stanza while profiled; ${num(p.busyMs)} ms of samples on CPU (${num(p.idleMs)} ms idle). Percentages are of on-CPU samples.`,
    "",
    "Self time by where the code lives: " + Object.entries(p.groups).map(([g, v]) => `${g} ${num(v, 1)} %`).join(", ") + ".",
    "",
    "**Top functions by self time (all code)**",
    "",
    "| Function | Where | self % | inclusive % |",
    "|---|---|---|---|",
    ...p.topSelf.map(row),
    "",
    "**Annex's own code (dist/src, dist/components) by inclusive time**",
    "",
    "| Function | Where | self % | inclusive % |",
    "|---|---|---|---|",
    ...p.annexInclusive.map(row),
  ].join("\n");
}

function machineSection(m) {
  if (!m) return "(no results yet)";
  return [
    "| | |",
    "|---|---|",
    `| CPUs (nproc) | ${m.nproc} × ${m.cpuModel} |`,
    `| Kernel | ${m.kernel} |`,
    `| Memory | ${m.memGiB} GiB |`,
    `| Node | ${m.node} |`,
    `| Python / Slixmpp | ${m.python} / ${m.slixmpp} (Debian) |`,
    `| Prosody / Lua | ${m.prosody} / ${m.lua} (Debian) |`,
    `| @xmpp/component | ${m.xmppComponent} |`,
    `| Annex commit | ${m.annexCommit} |`,
    `| Pinning | generator${m.pinned ? " and Prosody on CPU 0, each variant on CPU 1 (taskset)" : ": taskset failed, nothing pinned"} |`,
    `| Load average at start | ${m.loadAvgAtStart?.join(" / ")} (the machine is shared with other work) |`,
  ].join("\n");
}

export function renderReport(all) {
  const latest = Object.values(all).sort((a, b) => (a.date < b.date ? 1 : -1))[0];
  const findingsPath = join(BENCH_DIR, "findings.md");
  const sections = [
    "# Annex benchmarks: report",
    "",
    "Generated by `node bench/run.mjs` from `bench/results/*.json` (method: `bench/README.md`, research `performance.md` §2 and §4).",
    "Every number is the median over interleaved repetitions, with [min–max]; ratios are medians of per-repetition ratios.",
    "Runs: " + Object.values(all).map((d) => `${d.scenario} ${d.date?.slice(0, 16).replace("T", " ")} UTC${d.reps ? ` (${d.reps} reps, ${d.seconds} s)` : ""}`).join("; ") + ".",
    "",
    "## Machine",
    "",
    machineSection(latest?.machine),
    "",
    "## Targets",
    "",
    targets(all),
  ];
  if (existsSync(findingsPath)) sections.push("", readFileSync(findingsPath, "utf8").trim());
  if (all.latency) sections.push("", `## ${all.latency.title}`, "", "M(100) chat messages, one in flight, 0.5 s warm-up then 2.5 s measured per repetition.", latencyTable(all.latency.summary));
  if (all.saturation) sections.push("", `## ${all.saturation.title}`, "", "M(100) chat messages from 16 JIDs, a fixed window in flight, 1 s warm-up then 3 s measured (window 256: 0.3 s + 1.5 s). CPU is utime+stime of the variant's process from /proc/<pid>/stat over the measured window.", saturationTable(all.saturation.summary, all.saturation.raw));
  if (all.openloop) sections.push("", `## ${all.openloop.title}`, "", "Stanza i is due at t0 + i/rate and its latency counts from that scheduled time (no coordinated omission). 0.5 s warm-up, 2.5 s measured. Sustained = all answered and ≥ 97 % of the rate achieved.", openLoopTable(all.openloop));
  if (all.iq) sections.push("", `## ${all.iq.title}`, "", "IQ gets spread evenly over the registered namespaces; 5 % go to an unregistered one and must be answered service-unavailable (RFC 6120 §8.4); the others an empty result.", iqTable(all.iq));
  if (all.large) sections.push("", `## ${all.large.title}`, "", "Bodies of mixed 1-, 2-, 3- and 4-byte UTF-8 characters (\"aé€𝄞\"), 4 in flight; 200 × 4 KiB, 60 × 64 KiB, 15 × 400 KiB. Each echoed body is compared with the sent one.", largeTable(all.large.summary));
  if (all.profile) sections.push("", "## Where Annex spends its CPU (profile)", "", profileSection(all.profile));
  return sections.join("\n") + "\n";
}
