#!/usr/bin/env node
// Runs the benchmarks and writes bench/results/<scenario>.json and bench/REPORT.md.
// usage: node bench/run.mjs [latency|saturation|openloop|iq|large|profile ...] [--reps N] [--variants a,b]
//        node bench/run.mjs report   (re-renders REPORT.md from results/ and findings.md)
// Needs `npx tsc -p tsconfig.json` first (Annex runs from dist/). See bench/README.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { describeMachine } from "./lib/machine.mjs";
import { pin } from "./lib/proc.mjs";
import { profileAnnex } from "./lib/profile.mjs";
import { renderReport } from "./lib/report.mjs";
import { DEFAULT_ORDER, SATURATION_WINDOW, SCENARIOS, interleave } from "./lib/scenarios.mjs";
import { closedLoop, startProsody, withSession } from "./lib/session.mjs";
import { summariseReps } from "./lib/stats.mjs";
import { BENCH_DIR, ROOT } from "./lib/variants.mjs";
import { echoWorkload } from "./lib/workloads.mjs";

const RESULTS = join(BENCH_DIR, "results");

function parseArgs(argv) {
  const opts = { scenarios: [], reps: 3, variants: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--reps") opts.reps = Number(argv[++i]);
    else if (a === "--variants") opts.variants = argv[++i].split(",");
    else if (a === "--help" || a === "-h") opts.help = true;
    else if (a === "report") opts.reportOnly = true;
    else if (a in SCENARIOS || a === "profile") opts.scenarios.push(a);
    else throw new Error(`unknown argument ${a} (scenarios: ${[...DEFAULT_ORDER, "profile"].join(", ")})`);
  }
  if (!opts.scenarios.length) opts.scenarios = [...DEFAULT_ORDER, "profile"];
  if (!(opts.reps >= 1)) throw new Error("--reps expects a number ≥ 1");
  return opts;
}

async function runScenario(name, opts, ctx) {
  const scenario = SCENARIOS[name];
  const started = performance.now();
  const raw = {}; // mode -> unit label -> step key -> [rep results]
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const mode of scenario.modes) {
      if (mode === "prosody" && !ctx.prosody) ctx.prosody = await startProsody();
      let units = scenario.units(mode, ctx);
      if (opts.variants) units = units.filter((u) => opts.variants.includes(u.variant));
      for (const unit of interleave(units, rep)) {
        const label = unit.label ?? unit.variant;
        const steps = ((raw[mode] ??= {})[label] ??= {});
        process.stdout.write(`${name} ${mode} rep ${rep + 1}/${opts.reps} ${label}: `);
        try {
          await withSession({ variant: unit.variant, mode, prosody: ctx.prosody, iq: unit.iq, workload: unit.workload }, async (gen, sctx) => {
            for (const step of unit.steps) {
              const r = await step.run(gen, sctx);
              (steps[step.key] ??= []).push(r);
              process.stdout.write(`${step.key} ${r.repliesPerSec ?? r.mbPerSec}${r.mbPerSec !== undefined ? " MB/s" : "/s"} `);
              gen.resetCounters();
            }
          });
        } catch (err) {
          for (const step of unit.steps) (steps[step.key] ??= []).push({ error: err.message });
          process.stdout.write(`FAILED: ${err.message}`);
        }
        process.stdout.write("\n");
      }
    }
  }
  const summary = {};
  for (const [mode, units] of Object.entries(raw))
    for (const [label, steps] of Object.entries(units)) for (const [key, reps] of Object.entries(steps)) ((summary[mode] ??= {})[label] ??= {})[key] = summariseReps(reps);
  return {
    scenario: name,
    title: scenario.title,
    date: new Date().toISOString(),
    reps: opts.reps,
    seconds: Math.round((performance.now() - started) / 1000),
    params: name === "openloop" ? { capacity: ctx.capacity, capacityFrom: ctx.capacityFrom } : undefined,
    machine: ctx.machine,
    summary,
    raw,
  };
}

/** The raw variant's direct saturation rate: from this run's saturation results, or measured now. */
async function rawCapacity(ctx, results) {
  const fromRun = results.saturation?.summary?.direct?.raw?.[`w${SATURATION_WINDOW}`]?.repliesPerSec?.median;
  if (Number.isFinite(fromRun)) return { capacity: Math.round(fromRun), capacityFrom: "this run's saturation scenario (median, direct mode)" };
  const r = await withSession({ variant: "raw", mode: "direct", workload: echoWorkload() }, (gen, sctx) => closedLoop(gen, sctx, { window: SATURATION_WINDOW, warmMs: 1000, measureMs: 3000 }));
  return { capacity: r.repliesPerSec, capacityFrom: "a saturation measurement of the raw variant just before (direct mode, one run)" };
}

function writeResult(name, data) {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify(data, null, 1) + "\n");
}

function loadResults() {
  const all = {};
  for (const name of [...DEFAULT_ORDER, "profile"]) {
    const path = join(RESULTS, `${name}.json`);
    if (existsSync(path)) all[name] = JSON.parse(readFileSync(path, "utf8"));
  }
  return all;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(readFileSync(new URL(import.meta.url), "utf8").split("\n").slice(1, 4).join("\n"));
    return;
  }
  if (opts.reportOnly) {
    writeFileSync(join(BENCH_DIR, "REPORT.md"), renderReport(loadResults()));
    return console.log("wrote bench/REPORT.md from bench/results/");
  }
  if (!existsSync(join(ROOT, "dist/bin/annex.js"))) throw new Error("dist/bin/annex.js is missing: run `npx tsc -p tsconfig.json` first");
  // The generator (and Prosody) on CPU 0, each variant on CPU 1 (research §4.1 pinning).
  const machine = describeMachine(); // before pinning, or nproc would count one CPU
  const pinned = pin(process.pid, "0");
  const ctx = { machine: { ...machine, pinned } };
  const started = performance.now();
  const thisRun = {};
  try {
    for (const name of opts.scenarios) {
      if (name === "profile") {
        console.log("profile: Annex on the direct saturation scenario with --cpu-prof");
        const p = await profileAnnex();
        thisRun.profile = { scenario: "profile", date: new Date().toISOString(), machine: ctx.machine, ...p };
        writeResult("profile", thisRun.profile);
        continue;
      }
      if (SCENARIOS[name].needsCapacity && ctx.capacity === undefined) Object.assign(ctx, await rawCapacity(ctx, thisRun));
      thisRun[name] = await runScenario(name, opts, ctx);
      writeResult(name, thisRun[name]);
      console.log(`${name}: ${thisRun[name].seconds} s`);
    }
  } finally {
    await ctx.prosody?.stop();
  }
  writeFileSync(join(BENCH_DIR, "REPORT.md"), renderReport(loadResults()));
  console.log(`done in ${Math.round((performance.now() - started) / 1000)} s; wrote bench/REPORT.md and bench/results/`);
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
