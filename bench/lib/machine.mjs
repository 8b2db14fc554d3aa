// The machine and versions a run was made on (research §4.1: record them with the results).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).trim();
  } catch {
    return "unknown";
  }
}

function debVersion(pkg) {
  return run("dpkg-query", ["-W", "-f=${Version}", pkg]);
}

export function describeMachine() {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  return {
    nproc: Number(run("nproc", [])),
    cpuModel,
    kernel: os.release(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    python: run("/usr/bin/python3", ["--version"]).replace("Python ", ""),
    slixmpp: debVersion("python3-slixmpp"),
    prosody: debVersion("prosody"),
    lua: debVersion("lua5.4"),
    xmppComponent: JSON.parse(readFileSync(new URL("../../node_modules/@xmpp/component/package.json", import.meta.url), "utf8")).version,
    annexCommit: run("git", ["-C", new URL("../..", import.meta.url).pathname, "rev-parse", "--short", "HEAD"]),
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
