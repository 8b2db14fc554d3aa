// One measured session: a variant process connected to the generator, directly or through Prosody.
import { performance } from "node:perf_hooks";
import { connectComponent, listenDirect } from "./links.mjs";
import { LoadGenerator, sleep } from "./loadgen.mjs";
import { cpuMs, pin, rssKiB } from "./proc.mjs";
import { ECHO_DOMAIN, ROOT, SECRET, startVariant } from "./variants.mjs";
import { LOAD_DOMAIN, nonAsciiBody } from "./workloads.mjs";

/** A private Prosody with echo.localhost and load.localhost, pinned to CPU 0 with the generator. */
export async function startProsody() {
  const { ManagedProsody } = await import(`${ROOT}/dist/src/testing/index.js`);
  const prosody = await ManagedProsody.start({
    components: [
      { domain: ECHO_DOMAIN, secret: SECRET },
      { domain: LOAD_DOMAIN, secret: SECRET },
    ],
    logLevel: "warn",
  });
  pin(prosody.pid, "0");
  return prosody;
}

/**
 * Runs `fn(gen, ctx)` with variant `variant` online. ctx: {pid, prosodyPid, sample()}.
 * mode: "direct" (the generator is the server) or "prosody" (the generator is load.localhost).
 */
export async function withSession({ variant, mode, prosody, iq, workload, cpuProfDir }, fn) {
  let listener;
  let proc;
  let gen;
  try {
    let link;
    if (mode === "direct") {
      listener = await listenDirect({ domain: ECHO_DOMAIN, secret: SECRET });
      proc = await startVariant(variant, { port: listener.port, iq, cpuProfDir });
      link = await withTimeout(listener.accept(), 20_000, `${variant} did not connect (log: ${proc.logPath})`);
    } else {
      link = await connectComponent({ port: prosody.componentPort, domain: LOAD_DOMAIN, secret: SECRET });
      proc = await startVariant(variant, { port: prosody.componentPort, iq, cpuProfDir });
    }
    gen = new LoadGenerator(link, workload);
    await waitUntilAnswering(gen, proc, variant);
    const ctx = {
      pid: proc.pid,
      prosodyPid: mode === "prosody" ? prosody.pid : undefined,
      /** CPU (ms) of the variant and of Prosody, and the wall clock, at this instant. */
      sample: () => ({ t: performance.now(), cpu: cpuMs(proc.pid), prosodyCpu: mode === "prosody" ? cpuMs(prosody.pid) : NaN }),
      rss: () => rssKiB(proc.pid),
    };
    return await fn(gen, ctx);
  } finally {
    if (gen) await closeGenerator(gen);
    if (proc) await proc.stop();
    if (listener) await listener.close();
    // Let Prosody see both streams gone before the next session claims the same domains.
    if (mode === "prosody") await sleep(300);
  }
}

/** Sends one probe at a time until a correct reply arrives (Prosody bounces them until the variant is online). */
async function waitUntilAnswering(gen, proc, variant) {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (proc.exited) throw new Error(`${variant} exited (log: ${proc.logPath})`);
    if (gen.nextId % 20 === 0) gen.nextId++; // ids that are multiples of 20 are the IQ workload's unregistered ones
    const before = gen.ok;
    gen.send(1);
    const until = performance.now() + 250;
    while (gen.ok === before && performance.now() < until) await sleep(5);
    if (gen.ok > before) {
      await gen.drain(1000);
      gen.resetCounters();
      return;
    }
  }
  throw new Error(`${variant} never answered (log: ${proc.logPath})`);
}

async function closeGenerator(gen) {
  gen.sending = false;
  if (gen.closed) return gen.socket.destroy();
  const closed = new Promise((r) => gen.socket.once("close", r));
  gen.socket.end("</stream:stream>");
  await Promise.race([closed, sleep(1000)]);
  gen.socket.destroy();
}

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * Closed loop: `window` stanzas always in flight; `warmMs` discarded, then `measureMs` measured.
 * Returns replies/s, CPU per stanza (variant and Prosody), latency percentiles and the error counts.
 */
export async function closedLoop(gen, ctx, { window, warmMs, measureMs, drainMs = 3000 }) {
  gen.window = window;
  gen.sending = true;
  gen.fill();
  await sleep(warmMs);
  gen.resetCounters();
  const a = ctx.sample();
  await sleep(measureMs);
  const b = ctx.sample();
  const okInWindow = gen.ok;
  gen.stopRecording();
  gen.sending = false;
  const rss = ctx.rss();
  await gen.drain(drainMs);
  return summarise(gen, ctx, a, b, okInWindow, { window, rssKiB: rss });
}

/**
 * Open loop at a fixed rate (research §4.2 S3): stanza i is due at t0 + i/rate and its latency is
 * counted from that scheduled time, so a slow variant cannot slow the generator down (no coordinated
 * omission). `spin` = poll with setImmediate (direct mode, CPU 0 is the generator's alone); otherwise
 * 1 ms timers (through Prosody, which shares CPU 0).
 */
export async function openLoop(gen, ctx, { rate, warmMs, measureMs, spin, drainMs = 3000 }) {
  const perMs = rate / 1000;
  const warmCount = Math.round(perMs * warmMs);
  const total = Math.round(perMs * (warmMs + measureMs));
  let i = 0;
  let a;
  const t0 = performance.now();
  const timeOf = (k) => t0 + k / perMs;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) * perMs) + 1);
      if (i < warmCount && due >= warmCount) {
        gen.sendScheduled(i, warmCount, timeOf);
        i = warmCount;
        gen.resetCounters();
        a = ctx.sample();
      }
      if (due > i) {
        gen.sendScheduled(i, due, timeOf);
        i = due;
      }
      if (i >= total) return resolve();
      if (spin) setImmediate(tick);
      else setTimeout(tick, 0);
    };
    tick();
  });
  // The window ends when the last stanza is due; replies to measured stanzas are timed whenever they come.
  const b = ctx.sample();
  const okInWindow = gen.ok;
  gen.stopRecording();
  const rss = ctx.rss();
  await gen.drain(drainMs);
  const result = summarise(gen, ctx, a, b, okInWindow, { rate, rssKiB: rss });
  // Sustained = every measured stanza answered and the backlog did not grow past one second's worth.
  result.sustained = result.counts.lost === 0 && result.repliesPerSec >= 0.97 * rate;
  if (!result.sustained && result.repliesPerSec < 0.97 * rate) {
    // A variant that fell behind still owes its backlog: unanswered after the drain is backlog, not proven loss.
    result.counts.backlog = result.counts.lost;
    result.counts.lost = 0;
  }
  return result;
}

function summarise(gen, ctx, a, b, okInWindow, extra) {
  const seconds = (b.t - a.t) / 1000;
  const cpuMsUsed = b.cpu - a.cpu;
  const prosodyMs = b.prosodyCpu - a.prosodyCpu;
  return {
    ...extra,
    seconds: round(seconds, 3),
    repliesPerSec: Math.round(okInWindow / seconds),
    cpuUsPerStanza: okInWindow ? round((cpuMsUsed * 1000) / okInWindow, 2) : NaN,
    cpuUtilisation: round(cpuMsUsed / (b.t - a.t), 3),
    prosodyCpuUsPerStanza: ctx.prosodyPid && okInWindow ? round((prosodyMs * 1000) / okInWindow, 2) : undefined,
    prosodyCpuUtilisation: ctx.prosodyPid ? round(prosodyMs / (b.t - a.t), 3) : undefined,
    latency: gen.histogram.summary(),
    counts: gen.counts(),
  };
}

export function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Large stanzas (research §4.2 S5): `count` messages of about `bytes` body bytes, `window` in flight,
 * every echoed body compared with what was sent. Returns MB/s of echoed body, latency, peak RSS and counts.
 */
export async function largeRun(gen, ctx, { workload, bytes, count, window, timeoutMs = 20_000 }) {
  gen.workload = workload;
  gen.resetCounters();
  gen.sendLimit = count;
  gen.window = window;
  let peakRss = ctx.rss();
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, ctx.rss())), 50);
  const a = ctx.sample();
  gen.sending = true;
  gen.fill();
  const deadline = performance.now() + timeoutMs;
  while ((gen.sent < count || gen.outstanding > 0) && !gen.closed && performance.now() < deadline) await sleep(5);
  const b = ctx.sample();
  clearInterval(rssTimer);
  gen.sending = false;
  gen.sendLimit = Infinity;
  const bodyBytes = Buffer.byteLength(nonAsciiBody(1, bytes));
  workload.bodies.clear();
  const seconds = (b.t - a.t) / 1000;
  return {
    bytes,
    count,
    window,
    sliceBytes: workload.sliceBytes ?? null,
    seconds: round(seconds, 3),
    mbPerSec: round((gen.ok * bodyBytes) / seconds / 1e6, 2),
    cpuUsPerStanza: gen.ok ? round(((b.cpu - a.cpu) * 1000) / gen.ok, 1) : NaN,
    peakRssKiB: peakRss,
    latency: gen.histogram.summary(),
    counts: gen.counts(),
  };
}
