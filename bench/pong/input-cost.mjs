#!/usr/bin/env node
// The cost of one game input, in one process: N compact `<in>` stanzas parsed from stream text by the XML
// parser the link uses (Annex's StreamParser, or @xmpp/xml's ltx Parser in a checkout that predates it), then host.receive (inbound pipeline, dispatch, the guard
// admitGameStanza with the size check and the rate limit, pong's input handler, arena/room validation), into a
// running Pong component (server-free harness; its players seated against the built-in bot; their 20
// rooms tick meanwhile, ≈ 1 % of the measured CPU). CPU of this
// process (process.cpuUsage) per input. No socket: what a real link adds is the read syscall and the transport's
// chunk handling (see snapshot-cost.mjs for the write side).
//   node bench/pong/input-cost.mjs      REPS=3 PLAYERS=20 N=40000
// ANNEX_ROOT=<another checkout, built> measures that code instead (a before/after in one run).
import xmlPkg from "@xmpp/xml";
import { pin } from "../lib/proc.mjs";

const ROOT = process.env.ANNEX_ROOT ? `${process.env.ANNEX_ROOT.replace(/\/$/, "")}/` : new URL("../../", import.meta.url).pathname;
const { createHarness } = await import(`${ROOT}dist/src/testing/harness.js`);
const { Pong } = await import(`${ROOT}dist/components/pong/pong.js`);
// The parser the link of that checkout uses: Annex's own stream parser where it has one, else @xmpp/xml's.
const { StreamParser } = await import(`${ROOT}dist/src/stanza/parser.js`).catch(() => ({}));
const Parser = StreamParser ?? xmlPkg.Parser;

pin(process.pid, process.env.CPU ?? "1");
const DOMAIN = "pong.bench";
const NS = "urn:annex:pong:1";
const PLAYERS = Number(process.env.PLAYERS ?? 20);
const N = Number(process.env.N ?? 40_000);
// A budget no input reaches, so every input goes the whole way (the rate limiter still takes a token for each).
const h = createHarness(Pong, { domain: DOMAIN, options: { seed: 1, inputRateHz: 1e9, inputBurst: 1e9 } });
await h.start();
const pong = h.host.instance(Pong);
const players = Array.from({ length: PLAYERS }, (_, i) => `p${i}@bench.test/bot`);
for (const p of players) await h.inject(`<message from='${p}' to='${DOMAIN}'><join xmlns='${NS}' opponent='bot'/></message>`);

const host = h.host;
let seq = 0;
let errors = 0;
const pending = [];
const parser = new Parser();
parser.on("element", (el) => pending.push(host.receive(el)));
parser.write(`<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>`);
/** One read's worth of inputs (as the link would see a chunk), parsed and received, then their promises awaited. */
async function batch(count) {
  let text = "";
  for (let i = 0; i < count; i++) {
    const p = players[seq % PLAYERS];
    seq++;
    text += `<message from='${p}' to='${DOMAIN}' type='normal'><in xmlns='${NS}' seq='${seq}' y='${100 + (seq % 300)}'/></message>`;
  }
  parser.write(text);
  const all = pending.splice(0);
  for (const r of await Promise.allSettled(all)) if (r.status === "rejected") errors++;
}
async function measure() {
  for (let i = 0; i < 50; i++) await batch(50);
  const t0 = process.cpuUsage();
  for (let done = 0; done < N; done += 50) await batch(50);
  const c = process.cpuUsage(t0);
  return Math.round(((c.user + c.system) / N) * 100) / 100;
}
const reps = Number(process.env.REPS ?? 3);
const xs = [];
for (let rep = 0; rep < reps; rep++) xs.push(await measure());
const median = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ root: ROOT, inputs: N, players: PLAYERS, cpuUsPerInput: { median, min: Math.min(...xs), max: Math.max(...xs), all: xs }, errors, errorReplies: h.sent.filter((s) => s.attrs.type === "error").length, accepted: pong.arena.stats.inputsAccepted, drops: pong.arena.drops }));
await h.stop({ drainMs: 0 }).catch(() => undefined);
process.exit(0);
