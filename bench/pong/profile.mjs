#!/usr/bin/env node
// Profiles the pong component under `bench.mjs fake <rooms>` and prints where its CPU goes.
// usage: node bench/pong/profile.mjs 250
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyseProfile } from "../lib/profile.mjs";

const rooms = process.argv[2] ?? "250";
const dir = mkdtempSync(join(tmpdir(), "pong-cpuprof-"));
const out = execFileSync(process.execPath, [new URL("bench.mjs", import.meta.url).pathname, "fake", rooms], {
  env: { ...process.env, CPU_PROF: dir, WARMUP_S: process.env.WARMUP_S ?? "3", MEASURE_S: process.env.MEASURE_S ?? "6" },
  encoding: "utf8",
});
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
const p = analyseProfile(JSON.parse(readFileSync(join(dir, file), "utf8")));
const brief = (f) => `${f.selfPct}% self, ${f.inclusivePct}% incl  ${f.function}  ${f.where}`;
console.log(out.trim());
console.log(JSON.stringify({ busyMs: p.busyMs, groups: p.groups }));
console.log(["top self:", ...p.topSelf.slice(0, 22).map(brief), "annex inclusive:", ...p.annexInclusive.slice(0, 22).map(brief)].join("\n"));
