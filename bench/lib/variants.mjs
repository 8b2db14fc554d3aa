// The components under test, each its own process, started on CPU 1 (the generator keeps CPU 0).
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, writeFileSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.mjs";

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = resolve(BENCH_DIR, "..");
// ASCII: @xmpp/component 0.13.1 hashes the handshake as latin1, so a non-ASCII secret would lock variant A out.
export const SECRET = "bench-secret";
export const ECHO_DOMAIN = "echo.localhost";
const workDir = mkdtempSync(join(tmpdir(), "annex-bench-"));

/** Variant ids, labels and what each runs. `iq` = number of IQ handlers (IQ scenario), else echo. */
export const VARIANTS = {
  annex: { label: "Annex (echo, all features)", short: "F" },
  raw: { label: "raw @xmpp/component 0.13.1", short: "A" },
  slixmpp: { label: "Slixmpp 1.8.3 ComponentXMPP", short: "B" },
  floor: { label: "floor (string scanning, no parser)", short: "C1" },
  // ANNEX_BEFORE=<a built checkout of an earlier commit>: the same echo, run from that checkout (before/after in one run).
  before: { label: `Annex before (${process.env.ANNEX_BEFORE_LABEL ?? "ANNEX_BEFORE"})`, short: "F0" },
};

/**
 * Starts variant `name` against host:port. Options: iq (handler count), cpuProfDir (Annex only).
 * Resolves with {pid, child, stop()}; its log goes to a file in a temporary folder.
 */
export async function startVariant(name, { port, host = "127.0.0.1", iq, cpuProfDir, pinCpu = "1" }) {
  const server = `${host}:${port}`;
  let argv;
  if (name === "annex") argv = await annexArgv({ server, port, host, iq, cpuProfDir });
  else if (name === "before") {
    if (!process.env.ANNEX_BEFORE) throw new Error("variant 'before' needs ANNEX_BEFORE=<a built checkout>");
    argv = await annexArgv({ server, port, host, iq, cpuProfDir, root: process.env.ANNEX_BEFORE });
  }
  else if (name === "raw") argv = ["node", join(BENCH_DIR, "variants/raw-echo.mjs"), server, ECHO_DOMAIN, ...(iq ? ["iq", String(iq)] : [])];
  else if (name === "slixmpp") argv = ["/usr/bin/python3", join(BENCH_DIR, "variants/slix-echo.py"), server, ECHO_DOMAIN, ...(iq ? ["iq", String(iq)] : [])];
  else if (name === "floor") {
    if (iq) throw new Error("the floor variant has no IQ mode");
    argv = ["node", join(BENCH_DIR, "variants/floor-echo.mjs"), server, ECHO_DOMAIN];
  } else throw new Error(`unknown variant ${name}`);
  const logPath = join(workDir, `${name}-${Date.now()}.log`);
  const log = openSync(logPath, "a");
  const cmd = pinCpu ? ["taskset", "-c", pinCpu, ...argv] : argv;
  // taskset execs the command, so the pid is the variant's own.
  // In its own checkout: `annex run echo` finds the echo package from the working folder, and "before" must get its own.
  const cwd = name === "before" ? process.env.ANNEX_BEFORE : ROOT;
  const child = spawn(cmd[0], cmd.slice(1), { cwd, stdio: ["ignore", log, log], env: { ...process.env, BENCH_SECRET: SECRET } });
  closeSync(log);
  let exited = false;
  const exit = new Promise((r) => child.once("exit", () => ((exited = true), r())));
  return {
    pid: child.pid,
    logPath,
    get exited() {
      return exited;
    },
    /** SIGTERM (a clean close, and Annex writes its CPU profile), then SIGKILL after `graceMs`. */
    async stop(graceMs = 3000) {
      if (exited) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function annexArgv({ server, port, host, iq, cpuProfDir, root = ROOT }) {
  const node = ["node", ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : []), join(root, "dist/bin/annex.js"), "run"];
  // Every feature on: dispatch with reply rules, the built-ins, metrics over HTTP, info-level logs.
  const metricsPort = await freePort();
  if (!iq) {
    return [...node, "echo", "--domain", ECHO_DOMAIN, "--server", server, "--secret-env", "BENCH_SECRET", "--metrics-port", String(metricsPort), "--log-level", "info", "--log-pretty", "never"];
  }
  const config = {
    server: { host, port },
    log: { level: "info", pretty: "never" },
    metrics: { port: metricsPort },
    components: [{ type: { module: join(BENCH_DIR, "variants/annex-iq.mjs"), export: iq === 1 ? "Iq1" : "Iq50" }, domain: ECHO_DOMAIN, secretEnv: "BENCH_SECRET" }],
  };
  if (iq !== 1 && iq !== 50) throw new Error("the Annex IQ component comes with 1 or 50 handlers");
  const path = join(workDir, `annex-iq${iq}.json`);
  writeFileSync(path, JSON.stringify(config));
  return [...node, "--config", path];
}
