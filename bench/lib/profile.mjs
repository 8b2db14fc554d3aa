// Profiles Annex on the direct saturation scenario (node --cpu-prof) and ranks where its CPU goes.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedLoop, withSession } from "./session.mjs";
import { SATURATION_WINDOW } from "./scenarios.mjs";
import { echoWorkload } from "./workloads.mjs";

/** `step(gen, ctx)` is the load to profile under; default: the direct saturation scenario for 5 s. */
export async function profileAnnex({ measureMs = 5000, workload = echoWorkload(), step, mode = "direct", prosody } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "annex-cpuprof-"));
  const run = await withSession({ variant: "annex", mode, prosody, workload, cpuProfDir: dir }, (gen, ctx) =>
    step ? step(gen, ctx) : closedLoop(gen, ctx, { window: SATURATION_WINDOW, warmMs: 1000, measureMs }),
  );
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no CPU profile was written in ${dir} (did Annex exit cleanly on SIGTERM?)`);
  const path = join(dir, file);
  return { run, profilePath: path, ...analyseProfile(JSON.parse(readFileSync(path, "utf8"))) };
}

/** Where a frame's code lives, for grouping: Annex's own src/, a package, Node internals, or V8 pseudo-frames. */
export function classify(url, functionName) {
  if (!url) return functionName.startsWith("(") ? functionName : "native";
  const src = /\/dist\/((?:src|components)\/.*)\.js$/.exec(url);
  if (src) return "annex";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith("node:")) return "node";
  return "other";
}

/** Self and inclusive time per function from a .cpuprofile (Chrome DevTools format). */
export function analyseProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id -> µs
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id).callFrame.functionName === "(idle)").reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  const key = (cf) => `${cf.functionName || "(anonymous)"} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
  const fns = new Map();
  const entry = (cf) => {
    const k = key(cf);
    if (!fns.has(k)) fns.set(k, { function: cf.functionName || "(anonymous)", where: `${shortUrl(cf.url)}:${cf.lineNumber + 1}`, group: classify(cf.url, cf.functionName), selfUs: 0, inclusiveUs: 0 });
    return fns.get(k);
  };
  // Inclusive time: a node's subtree, counted once per function on each stack (recursion-safe).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, us] of self) {
    entry(byId.get(id).callFrame).selfUs += us;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const e = entry(byId.get(at).callFrame);
      if (!seen.has(e)) {
        seen.add(e);
        e.inclusiveUs += us;
      }
    }
  }
  const pct = (us) => Math.round((1000 * us) / busy) / 10;
  const list = [...fns.values()].filter((f) => f.function !== "(idle)" && f.function !== "(root)").map((f) => ({ ...f, selfPct: pct(f.selfUs), inclusivePct: pct(f.inclusiveUs) }));
  const groups = {};
  for (const f of list) groups[f.group] = Math.round(((groups[f.group] ?? 0) + f.selfPct) * 10) / 10;
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    groups: Object.fromEntries(Object.entries(groups).sort((a, b) => b[1] - a[1])),
    topSelf: [...list].sort((a, b) => b.selfUs - a.selfUs).slice(0, 20),
    annexSelf: list.filter((f) => f.group === "annex").sort((a, b) => b.selfUs - a.selfUs).slice(0, 15),
    annexInclusive: list.filter((f) => f.group === "annex").sort((a, b) => b.inclusiveUs - a.inclusiveUs).slice(0, 15),
    // Everything, for a closer look (bench/pong/profile.mjs prints more of it).
    all: list,
  };
}

function shortUrl(url) {
  if (!url) return "";
  const i = url.indexOf("/dist/");
  if (i >= 0) return url.slice(i + 1);
  const j = url.lastIndexOf("node_modules/");
  if (j >= 0) return url.slice(j + "node_modules/".length);
  return url.replace(/^file:\/\//, "");
}
